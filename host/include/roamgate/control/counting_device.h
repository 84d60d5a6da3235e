// A hal::Device that counts the register writes and reads passing through it, so that a
// reconciliation can say what it cost (and a test can assert it rewrote nothing).
#pragma once

#include <atomic>
#include <memory>

#include "roamgate/hal/device.h"

namespace roamgate::control {

class CountingDevice : public hal::Device {
 public:
  explicit CountingDevice(std::unique_ptr<hal::Device> inner) : inner_(std::move(inner)) {}

  Status transact(std::span<hal::RegOp> ops) override {
    uint64_t w = 0;
    for (const hal::RegOp& op : ops) w += op.write;
    writes_ += w;
    reads_ += ops.size() - w;
    return inner_->transact(ops);
  }
  std::string describe() const override { return inner_->describe(); }
  Status allocMem(uint64_t bytes, uint64_t align, uint64_t& addr) override {
    return inner_->allocMem(bytes, align, addr);
  }
  Status readMem(uint64_t addr, std::span<uint8_t> out) override { return inner_->readMem(addr, out); }
  Status writeMem(uint64_t addr, std::span<const uint8_t> in) override {
    return inner_->writeMem(addr, in);
  }

  uint64_t writes() const { return writes_; }
  uint64_t reads() const { return reads_; }

 private:
  std::unique_ptr<hal::Device> inner_;
  std::atomic<uint64_t> writes_{0}, reads_{0};
};

}  // namespace roamgate::control
