// hal::Device on a Verilated kernel in the same process: the host's table managers and ring
// drivers drive the real RTL through its AXI4-Lite port, cycle by cycle, without a socket.
// Dut: SteerDut or GateDut (anything with write/read and memory()).
#pragma once

#include <string>

#include "roamgate/hal/device.h"

namespace roamgate::sim {

template <class Dut>
class InprocDevice : public hal::Device {
 public:
  InprocDevice(Dut& dut, std::string name) : dut_(dut), name_(std::move(name)) {}
  Status transact(std::span<hal::RegOp> ops) override {
    for (hal::RegOp& op : ops) {
      if (op.write) dut_.write(op.addr, op.value);
      else op.value = dut_.read(op.addr);
    }
    return {};
  }
  std::string describe() const override { return "inproc:" + name_; }
  Status allocMem(uint64_t bytes, uint64_t align, uint64_t& addr) override {
    next_ = (next_ + align - 1) / align * align;
    addr = next_;
    next_ += bytes;
    return {};
  }
  Status readMem(uint64_t addr, std::span<uint8_t> out) override {
    dut_.memory().mem().read(addr, out.data(), out.size());
    return {};
  }
  Status writeMem(uint64_t addr, std::span<const uint8_t> in) override {
    dut_.memory().mem().write(addr, in.data(), in.size());
    return {};
  }

 private:
  Dut& dut_;
  std::string name_;
  uint64_t next_ = 0x4'0000'0000ull;  // above 4 GiB, so the high address words matter
};

}  // namespace roamgate::sim
