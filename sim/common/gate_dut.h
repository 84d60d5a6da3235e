// The Verilated gate kernel with its agents: access- and service-port sources (MACs: no
// tready) and sinks, device memory behind the AXI4 master, AXI4-Lite master. Register access
// is blocking (it ticks the clock).
#pragma once

#include <cstdint>
#include <memory>

#include "Vgate.h"
#include "axi_mem.h"
#include "axil.h"
#include "axis.h"
#include "harness.h"

namespace roamgate::sim {

class GateDut {
 public:
  struct Options {
    HarnessOptions harness;
    Pattern accGaps = always();   // access port input (uplink)
    Pattern svcGaps = always();   // service port input (downlink)
    Pattern accReady = always();  // access port output (downlink tunnels)
    Pattern svcReady = always();  // service port output (uplink)
    Pattern memReady = always();
    Pattern axilReady = always();
  };

  explicit GateDut(Options o)
      : h_(o.harness),
        axil_(h_.top(), o.axilReady),
        accRx_({&h_.top().s_axis_rx_tdata, &h_.top().s_axis_rx_tkeep, &h_.top().s_axis_rx_tlast,
                &h_.top().s_axis_rx_tvalid, nullptr},
               &h_.top().s_axis_rx_tuser, o.accGaps),
        svcRx_({&h_.top().s_axis_svc_rx_tdata, &h_.top().s_axis_svc_rx_tkeep,
                &h_.top().s_axis_svc_rx_tlast, &h_.top().s_axis_svc_rx_tvalid, nullptr},
               &h_.top().s_axis_svc_rx_tuser, o.svcGaps),
        accTx_({&h_.top().m_axis_tx_tdata, &h_.top().m_axis_tx_tkeep, &h_.top().m_axis_tx_tlast,
                &h_.top().m_axis_tx_tvalid, &h_.top().m_axis_tx_tready},
               nullptr, o.accReady),
        svcTx_({&h_.top().m_axis_svc_tx_tdata, &h_.top().m_axis_svc_tx_tkeep,
                &h_.top().m_axis_svc_tx_tlast, &h_.top().m_axis_svc_tx_tvalid,
                &h_.top().m_axis_svc_tx_tready},
               nullptr, o.svcReady),
        mem_(h_.top(), o.memReady) {
    h_.add(&axil_);
    h_.add(&accRx_);
    h_.add(&svcRx_);
    h_.add(&accTx_);
    h_.add(&svcTx_);
    h_.add(&mem_);
    h_.add(&clock_);
    h_.reset();
  }

  Harness<Vgate>& harness() { return h_; }
  AxisSource& accRx() { return accRx_; }  // uplink in
  AxisSource& svcRx() { return svcRx_; }  // downlink in
  AxisSink& accTx() { return accTx_; }    // downlink out
  AxisSink& svcTx() { return svcTx_; }    // uplink out
  AxiMemory<Vgate>& memory() { return mem_; }
  AxilMaster<Vgate>& axil() { return axil_; }
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
  // Runs until both sources are empty and nothing has moved for `quiet` cycles.
  bool drain(uint64_t maxCycles, uint64_t quiet = 200) {
    uint64_t lastBeats = ~0ull, still = 0;
    return h_.runUntil(
        [&] {
          uint64_t b = accTx_.beats() + svcTx_.beats() + mem_.beatsMoved();
          if (!accRx_.idle() || !svcRx_.idle() || b != lastBeats) {
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
    explicit Clock(Vgate& t) : t_(t) {}
    void drive(uint64_t cycle) override { t_.timestamp_i = cycle + offset; }
    void sample(uint64_t) override {}
    uint64_t offset = 0;

   private:
    Vgate& t_;
  };

  Harness<Vgate> h_;
  AxilMaster<Vgate> axil_;
  AxisSource accRx_, svcRx_;
  AxisSink accTx_, svcTx_;
  AxiMemory<Vgate> mem_;
  Clock clock_{h_.top()};
};

}  // namespace roamgate::sim
