// The Verilated steer kernel with its agents: access-port source, steering-port sink,
// access-port sink (injected frames only), and what KernelDut gives every kernel (AXI4-Lite
// master, device memory, timestamp).
#pragma once

#include "Vsteer.h"
#include "kernel_dut.h"

namespace roamgate::sim {

class SteerDut : public KernelDut<Vsteer> {
 public:
  struct Options {
    HarnessOptions harness;
    Pattern rxGaps = always();
    Pattern txReady = always();
    Pattern accTxReady = always();  // the access port's output (injects with ACCESS_OUT)
    Pattern memReady = always();  // device memory's AXI4 ready pattern
    Pattern axilReady = always(); // the AXI4-Lite master's bready/rready pattern
  };

  explicit SteerDut(Options o)
      : KernelDut(o.harness, o.axilReady, o.memReady),
        rx_({&harness().top().s_axis_rx_tdata, &harness().top().s_axis_rx_tkeep,
             &harness().top().s_axis_rx_tlast, &harness().top().s_axis_rx_tvalid, nullptr},
            &harness().top().s_axis_rx_tuser, o.rxGaps),
        tx_({&harness().top().m_axis_tx_tdata, &harness().top().m_axis_tx_tkeep,
             &harness().top().m_axis_tx_tlast, &harness().top().m_axis_tx_tvalid,
             &harness().top().m_axis_tx_tready},
            nullptr, o.txReady),
        accTx_({&harness().top().m_axis_acc_tx_tdata, &harness().top().m_axis_acc_tx_tkeep,
                &harness().top().m_axis_acc_tx_tlast, &harness().top().m_axis_acc_tx_tvalid,
                &harness().top().m_axis_acc_tx_tready},
               nullptr, o.accTxReady) {
    harness().add(&rx_);
    harness().add(&tx_);
    harness().add(&accTx_);
    finish();
  }

  AxisSource& rx() { return rx_; }
  AxisSink& tx() { return tx_; }        // steering port
  AxisSink& accTx() { return accTx_; }  // access port

  // Runs until the source is empty and no beat has left either port for `quiet` cycles.
  bool drain(uint64_t maxCycles, uint64_t quiet = 200) {
    return drainQuiet([&] { return rx_.idle(); }, [&] { return tx_.beats() + accTx_.beats(); }, maxCycles,
                      quiet);
  }

 private:
  AxisSource rx_;
  AxisSink tx_, accTx_;
};

}  // namespace roamgate::sim
