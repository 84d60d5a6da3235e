// What every Verilated kernel test bench has: the harness, the AXI4-Lite master, device
// memory behind the AXI4 master and the timestamp input, with blocking register access that
// reports a hung bus, and a drain that waits for quiet. SteerDut and GateDut add their
// stream ports.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

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

  // Cycles one register access may take, back-pressure and accesses already queued on axil()
  // included, before the bus counts as hung.
  static constexpr uint64_t kAccessCycles = 1000;
  // The kernel's AXI4-Lite window (16 address bits).
  static constexpr uint64_t kWindowBytes = 64 * 1024;

  // Checked register access: false (nullopt) when the access was refused (an address outside
  // the window) or did not complete within kAccessCycles or the harness's cycle limit; error()
  // says which. AXI4-Lite cannot abandon a transfer, so a hung access stays outstanding and
  // the bench is broken from then on: every later access fails at once, without touching the
  // bus, and names the first hang (hung()).
  bool tryWrite(uint32_t addr, uint32_t data) { return access({true, addr, data}); }
  std::optional<uint32_t> tryRead(uint32_t addr) {
    if (!access({false, addr, 0})) return std::nullopt;
    return axil_.lastRead();
  }
  const std::string& error() const { return error_; }
  bool hung() const { return !hang_.empty(); }

  // For test benches: a failed access aborts the bench with error() on stderr, so a hang is
  // never silent. Host code goes through InprocDevice, which turns it into a failed Status.
  void write(uint32_t addr, uint32_t data) {
    if (!tryWrite(addr, data)) fail();
  }
  uint32_t read(uint32_t addr) {
    std::optional<uint32_t> v = tryRead(addr);
    if (!v) fail();
    return *v;
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
  static std::string name(const typename AxilMaster<V>::Op& op) {
    char b[40];
    std::snprintf(b, sizeof b, "AXI4-Lite %s 0x%04x", op.write ? "write to" : "read of", op.addr);
    return b;
  }
  bool access(typename AxilMaster<V>::Op op) {
    if (op.addr >= kWindowBytes) {
      error_ = name(op) + " refused: outside the 64 KiB register window (0x0000-0xffff)";
      return false;
    }
    if (hung()) {
      error_ = name(op) + " not attempted: the bus hung earlier (" + hang_ + ")";
      return false;
    }
    axil_.queue(op);
    if (h_.runUntil([&] { return axil_.idle(); }, kAccessCycles)) return true;
    if (h_.timedOut()) {
      hang_ = name(op) + " did not complete: the bench's limit of " +
              std::to_string(h_.timeoutCycles()) + " cycles has passed";
    } else {
      hang_ = name(op) + " got no response within " + std::to_string(kAccessCycles) + " cycles";
    }
    hang_ += " (" + axil_.stall() + ")";
    error_ = hang_;
    return false;
  }
  [[noreturn]] void fail() const {
    std::fprintf(stderr, "KernelDut: %s; stopping the bench\n", error_.c_str());
    std::abort();
  }

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
  std::string error_;  // why the last checked access failed
  std::string hang_;   // the access that hung the bus; empty while it works
};

}  // namespace roamgate::sim
