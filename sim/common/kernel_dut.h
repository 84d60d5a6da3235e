// What every Verilated kernel test bench has: the harness, the AXI4-Lite master, device
// memory behind the AXI4 master and the timestamp input, with blocking register access and a
// drain that waits for quiet. SteerDut and GateDut add their stream ports.
#pragma once

#include <cstdint>
#include <functional>

#include "axi_mem.h"
#include "axil.h"
#include "axis.h"
#include "harness.h"

namespace roamgate::sim {

template <class V>
class KernelDut {
 public:
  Harness<V>& harness() { return h_; }
  AxiMemory<V>& memory() { return mem_; }
  AxilMaster<V>& axil() { return axil_; }
  // Offset added to the cycle count on the timestamp input (tests jump time forward).
  void advanceTime(uint64_t by) { clock_.offset += by; }

  void write(uint32_t addr, uint32_t data) {
    axil_.queue({true, addr, data});
    h_.runUntil([&] { return axil_.idle(); }, 1000);
  }
  uint32_t read(uint32_t addr) {
    axil_.queue({false, addr, 0});
    h_.runUntil([&] { return axil_.idle(); }, 1000);
    return axil_.lastRead();
  }

 protected:
  KernelDut(HarnessOptions ho, Pattern axilReady, Pattern memReady)
      : h_(std::move(ho)), axil_(h_.top(), std::move(axilReady)), mem_(h_.top(), std::move(memReady)) {
    h_.add(&axil_);
  }
  // After the derived bench has added its stream agents: memory, clock, reset.
  void finish() {
    h_.add(&mem_);
    h_.add(&clock_);
    h_.reset();
  }
  // Runs until the sources are idle and no beat (out or to memory) moved for `quiet` cycles.
  bool drainQuiet(const std::function<bool()>& sourcesIdle, const std::function<uint64_t()>& beatsOut,
                  uint64_t maxCycles, uint64_t quiet) {
    uint64_t lastBeats = ~0ull, still = 0;
    return h_.runUntil(
        [&] {
          uint64_t b = beatsOut() + mem_.beatsMoved();
          if (!sourcesIdle() || b != lastBeats) {
            lastBeats = b;
            still = 0;
            return false;
          }
          return ++still >= quiet;
        },
        maxCycles);
  }

 private:
  // Drives the free-running timestamp input: the cycle count plus an offset.
  class Clock : public Agent {
   public:
    explicit Clock(V& t) : t_(t) {}
    void drive(uint64_t cycle) override { t_.timestamp_i = cycle + offset; }
    void sample(uint64_t) override {}
    uint64_t offset = 0;

   private:
    V& t_;
  };

  Harness<V> h_;
  AxilMaster<V> axil_;
  AxiMemory<V> mem_;
  Clock clock_{h_.top()};
};

}  // namespace roamgate::sim
