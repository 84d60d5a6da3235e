// The Verilated gate kernel with its agents: access- and service-port sources (MACs: no
// tready) and sinks, and what KernelDut gives every kernel (AXI4-Lite master, device memory,
// timestamp).
#pragma once

#include "Vgate.h"
#include "kernel_dut.h"

namespace roamgate::sim {

class GateDut : public KernelDut<Vgate> {
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
      : KernelDut(o.harness, o.axilReady, o.memReady),
        accRx_({&top().s_axis_rx_tdata, &top().s_axis_rx_tkeep, &top().s_axis_rx_tlast,
                &top().s_axis_rx_tvalid, nullptr},
               &top().s_axis_rx_tuser, o.accGaps),
        svcRx_({&top().s_axis_svc_rx_tdata, &top().s_axis_svc_rx_tkeep, &top().s_axis_svc_rx_tlast,
                &top().s_axis_svc_rx_tvalid, nullptr},
               &top().s_axis_svc_rx_tuser, o.svcGaps),
        accTx_({&top().m_axis_tx_tdata, &top().m_axis_tx_tkeep, &top().m_axis_tx_tlast,
                &top().m_axis_tx_tvalid, &top().m_axis_tx_tready},
               nullptr, o.accReady),
        svcTx_({&top().m_axis_svc_tx_tdata, &top().m_axis_svc_tx_tkeep, &top().m_axis_svc_tx_tlast,
                &top().m_axis_svc_tx_tvalid, &top().m_axis_svc_tx_tready},
               nullptr, o.svcReady) {
    harness().add(&accRx_);
    harness().add(&svcRx_);
    harness().add(&accTx_);
    harness().add(&svcTx_);
    finish();
  }

  AxisSource& accRx() { return accRx_; }  // uplink in
  AxisSource& svcRx() { return svcRx_; }  // downlink in
  AxisSink& accTx() { return accTx_; }    // downlink out
  AxisSink& svcTx() { return svcTx_; }    // uplink out

  // Runs until both sources are empty and nothing has moved for `quiet` cycles.
  bool drain(uint64_t maxCycles, uint64_t quiet = 200) {
    return drainQuiet([&] { return accRx_.idle() && svcRx_.idle(); },
                      [&] { return accTx_.beats() + svcTx_.beats(); }, maxCycles, quiet);
  }

 private:
  Vgate& top() { return harness().top(); }
  AxisSource accRx_, svcRx_;
  AxisSink accTx_, svcTx_;
};

}  // namespace roamgate::sim
