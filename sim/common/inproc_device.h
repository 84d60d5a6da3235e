// hal::Device on a Verilated kernel in the same process: the host's table managers and ring
// drivers drive the real RTL through its AXI4-Lite port, cycle by cycle, without a socket.
// Dut: SteerDut or GateDut (a KernelDut: tryWrite/tryRead/error() and memory()).
// A register access that hangs the bus fails its transact (StatusCode::kUnavailable, naming
// the access and the cycle budget), and so does every access after it (see KernelDut).
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "roamgate/hal/device.h"

namespace roamgate::sim {

template <class Dut>
class InprocDevice : public hal::Device {
 public:
  InprocDevice(Dut& dut, std::string name) : dut_(dut), name_(std::move(name)) {}
  // Performs the ops in order up to the first that fails; those after it are not attempted.
  Status transact(std::span<hal::RegOp> ops) override {
    for (hal::RegOp& op : ops) {
      if (op.write) {
        if (!dut_.tryWrite(op.addr, op.value)) return failed();
      } else if (std::optional<uint32_t> v = dut_.tryRead(op.addr)) {
        op.value = *v;
      } else {
        return failed();
      }
    }
    return {};
  }
  std::string describe() const override { return "inproc:" + name_; }
  // Device memory here is sparse and as wide as the kernel's 64-bit AXI4 address, so what
  // bounds an allocation is that address space: a range must end below 2^64.
  Status allocMem(uint64_t bytes, uint64_t align, uint64_t& addr) override {
    if (bytes == 0) return Status::error(describe() + ": device memory: cannot allocate 0 bytes");
    if (align == 0 || (align & (align - 1)) != 0) {
      return Status::error(describe() + ": device memory: alignment " + std::to_string(align) +
                           " is not a power of two");
    }
    uint64_t mask = align - 1;
    bool fits = next_ <= ~0ull - mask && bytes <= ~0ull - ((next_ + mask) & ~mask);
    if (!fits) {
      return Status::error(describe() + ": device memory exhausted: " + std::to_string(bytes) +
                           " bytes aligned to " + std::to_string(align) + " do not fit above " +
                           hex(next_) + " in the 64-bit address space");
    }
    addr = (next_ + mask) & ~mask;
    next_ = addr + bytes;
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
  Status failed() const {
    StatusCode code = dut_.hung() ? StatusCode::kUnavailable : StatusCode::kFailed;
    return Status::error(code, describe() + ": " + dut_.error());
  }
  static std::string hex(uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return b;
  }

  Dut& dut_;
  std::string name_;
  uint64_t next_ = 0x4'0000'0000ull;  // above 4 GiB, so the high address words matter
};

}  // namespace roamgate::sim
