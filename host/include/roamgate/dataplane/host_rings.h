// Driver of the kernel's host port: the punt ring (frames the kernel sends to the host) and
// the inject ring (frames the host sends out through the kernel), in device memory.
// No allocation per frame on the poll path beyond the caller's buffers.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "roamgate/hal/device.h"
#include "roamgate/status.h"

namespace roamgate::dataplane {

struct PuntedFrame {
  uint8_t reason = 0;      // regs::steer::PuntReason
  uint64_t timestamp = 0;  // kernel timestamp when the frame reached the host port
  std::vector<uint8_t> bytes;
};

struct RingConfig {
  uint32_t puntSlotsLog2 = 10;  // 1024 slots of 16 KiB
  uint32_t injSlotsLog2 = 8;
};

class HostRings {
 public:
  static constexpr uint32_t kSlotLog2 = 14;
  static constexpr uint32_t kHeaderBytes = 64;

  explicit HostRings(hal::Device& dev) : dev_(dev) {}

  // Allocates both rings in device memory, programs and enables them. Indexes restart.
  Status setup(const RingConfig& cfg = {});
  // Uses rings another process set up (reads their registers). Fails if none is on.
  Status attach();
  // Takes up to `max` punted frames, oldest first, and hands their slots back.
  Status poll(std::vector<PuntedFrame>& out, size_t max = SIZE_MAX);
  // Queues one frame for the steering port. A full ring is an error (nothing written).
  Status inject(std::span<const uint8_t> frame);
  // Frames dropped because the punt ring was full or off; frames injected; bad inject slots.
  Status counters(uint32_t& puntDrops, uint32_t& injected, uint32_t& injErrors);

 private:
  hal::Device& dev_;
  uint64_t puntBase_ = 0, injBase_ = 0;
  uint32_t puntSlotsLog2_ = 0, injSlotsLog2_ = 0;
  uint32_t puntCons_ = 0, injProd_ = 0;
};

}  // namespace roamgate::dataplane
