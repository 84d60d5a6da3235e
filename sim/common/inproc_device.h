// hal::Device on a Verilated steer kernel in the same process: the host's table managers
// drive the real RTL through its AXI4-Lite port, cycle by cycle, without a socket.
#pragma once

#include "roamgate/hal/device.h"
#include "steer_dut.h"

namespace roamgate::sim {

class InprocSteerDevice : public hal::Device {
 public:
  explicit InprocSteerDevice(SteerDut& dut) : dut_(dut) {}
  Status transact(std::span<hal::RegOp> ops) override {
    for (hal::RegOp& op : ops) {
      if (op.write) dut_.write(op.addr, op.value);
      else op.value = dut_.read(op.addr);
    }
    return {};
  }
  std::string describe() const override { return "inproc:steer"; }

 private:
  SteerDut& dut_;
};

}  // namespace roamgate::sim
