// The Verilated steer kernel with its agents: access-port source, steering-port and punt
// sinks, AXI4-Lite master. Register access is blocking (it ticks the clock).
#pragma once

#include <cstdint>
#include <memory>

#include "Vsteer.h"
#include "axi_mem.h"
#include "axil.h"
#include "axis.h"
#include "harness.h"

namespace roamgate::sim {

class SteerDut {
 public:
  struct Options {
    HarnessOptions harness;
    Pattern rxGaps = always();
    Pattern txReady = always();
    Pattern memReady = always();  // device memory's AXI4 ready pattern
    Pattern axilReady = always(); // the AXI4-Lite master's bready/rready pattern
  };

  explicit SteerDut(Options o)
      : h_(o.harness),
        axil_(h_.top(), o.axilReady),
        rx_({&h_.top().s_axis_rx_tdata, &h_.top().s_axis_rx_tkeep, &h_.top().s_axis_rx_tlast,
             &h_.top().s_axis_rx_tvalid, nullptr},
            &h_.top().s_axis_rx_tuser, o.rxGaps),
        tx_({&h_.top().m_axis_tx_tdata, &h_.top().m_axis_tx_tkeep, &h_.top().m_axis_tx_tlast,
             &h_.top().m_axis_tx_tvalid, &h_.top().m_axis_tx_tready},
            nullptr, o.txReady),
        mem_(h_.top(), o.memReady) {
    h_.add(&axil_);
    h_.add(&rx_);
    h_.add(&tx_);
    h_.add(&mem_);
    h_.add(&clock_);
    h_.reset();
  }

  Harness<Vsteer>& harness() { return h_; }
  AxisSource& rx() { return rx_; }
  AxisSink& tx() { return tx_; }
  AxiMemory<Vsteer>& memory() { return mem_; }
  AxilMaster<Vsteer>& axil() { return axil_; }

  void write(uint32_t addr, uint32_t data) {
    axil_.queue({true, addr, data});
    h_.runUntil([&] { return axil_.idle(); }, 1000);
  }
  uint32_t read(uint32_t addr) {
    axil_.queue({false, addr, 0});
    h_.runUntil([&] { return axil_.idle(); }, 1000);
    return axil_.lastRead();
  }
  // Runs until the source is empty and no frame has left for `quiet` cycles.
  bool drain(uint64_t maxCycles, uint64_t quiet = 200) {
    uint64_t lastBeats = ~0ull, still = 0;
    return h_.runUntil(
        [&] {
          uint64_t b = tx_.beats() + mem_.beatsMoved();
          if (!rx_.idle() || b != lastBeats) {
            lastBeats = b;
            still = 0;
            return false;
          }
          return ++still >= quiet;
        },
        maxCycles);
  }

 private:
  // Drives the free-running timestamp input: the cycle count.
  class Clock : public Agent {
   public:
    explicit Clock(Vsteer& t) : t_(t) {}
    void drive(uint64_t cycle) override { t_.timestamp_i = cycle; }
    void sample(uint64_t) override {}

   private:
    Vsteer& t_;
  };

  Harness<Vsteer> h_;
  AxilMaster<Vsteer> axil_;
  AxisSource rx_;
  AxisSink tx_;
  AxiMemory<Vsteer> mem_;
  Clock clock_{h_.top()};
};

}  // namespace roamgate::sim
