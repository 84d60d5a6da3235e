// The one device interface: registers of a kernel's 64 KiB AXI4-Lite window. Implementations:
// the simulator over a Unix socket (SimDevice), a Verilated kernel in the same process (for
// tests, in sim/), and later XRT. Nothing above hal knows which one it has.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "roamgate/status.h"

namespace roamgate::hal {

struct RegOp {
  bool write = false;
  uint32_t addr = 0;
  uint32_t value = 0;  // written value, or the value read
};

class Device {
 public:
  virtual ~Device() = default;
  // Performs the operations in order; reads fill in `value`. One round trip for the batch.
  virtual Status transact(std::span<RegOp> ops) = 0;
  virtual std::string describe() const = 0;

  // Device memory (the card's HBM/DDR, where the host port's rings live): allocation of an
  // aligned range, and copies in and out (XRT: a buffer object and its syncs).
  virtual Status allocMem(uint64_t bytes, uint64_t align, uint64_t& addr) = 0;
  virtual Status readMem(uint64_t addr, std::span<uint8_t> out) = 0;
  virtual Status writeMem(uint64_t addr, std::span<const uint8_t> in) = 0;

  Status write32(uint32_t addr, uint32_t value) {
    RegOp op{true, addr, value};
    return transact({&op, 1});
  }
  Status read32(uint32_t addr, uint32_t& value) {
    RegOp op{false, addr, 0};
    Status s = transact({&op, 1});
    value = op.value;
    return s;
  }
};

// Opens "sim:PATH" (a roamsim register socket). Returns nullptr and sets `error` otherwise.
std::unique_ptr<Device> openDevice(const std::string& spec, std::string& error);

}  // namespace roamgate::hal
