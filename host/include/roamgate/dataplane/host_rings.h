// Driver of a kernel's host port (hw/regs/host_port.toml, at `base` in the kernel's window):
// the punt ring (frames the kernel sends to the host), the inject ring (frames the host sends
// through the kernel) and the export ring (64-byte records of the gate's scanner).
// No allocation per frame on the poll path beyond the caller's buffers.
#pragma once

#include <array>
#include <optional>
#include <cstdint>
#include <span>
#include <vector>

#include "roamgate/hal/device.h"
#include "roamgate/status.h"

namespace roamgate::dataplane {

struct PuntedFrame {
  uint8_t reason = 0;      // the kernel's punt_reason enum
  uint64_t timestamp = 0;  // kernel timestamp when the frame reached the host port
  uint32_t teid = 0;       // the TEID the kernel parsed (gate; 0 when none)
  uint8_t innerOffset = 0; // where the T-PDU starts in the frame (gate; 0 when none)
  uint8_t ingress = 0;     // the port it came in on: 0 the access port, 1 the service port
                           // (gate: regs::gate::IngressPort)
  std::vector<uint8_t> bytes;
};

// The rings `setup` (re)makes. A ring left unnamed (nullopt) stays as it is when it is on,
// and gets its default when it is off.
struct RingConfig {
  static constexpr uint32_t kDefaultPuntSlotsLog2 = 10;  // 1024 slots of 16 KiB
  static constexpr uint32_t kDefaultInjSlotsLog2 = 8;
  std::optional<uint32_t> puntSlotsLog2;
  std::optional<uint32_t> injSlotsLog2;
  std::optional<uint32_t> expSlotsLog2;  // records in the export ring; 0 turns it off
};

// What `setup` left on, and which rings it made anew.
struct RingSetup {
  uint32_t puntSlotsLog2 = 0, injSlotsLog2 = 0, expSlotsLog2 = 0;
  bool exportOn = false;
  bool puntNew = false, injNew = false, expNew = false;
};

using ExportRecord = std::array<uint8_t, 64>;

class HostRings {
 public:
  static constexpr uint32_t kSlotLog2 = 14;
  static constexpr uint32_t kHeaderBytes = 64;

  // `base`: the host block's offset in the kernel's window; `maxFrameBytes`: the kernel's.
  HostRings(hal::Device& dev, uint32_t base, uint32_t maxFrameBytes)
      : dev_(dev), base_(base), maxFrameBytes_(maxFrameBytes) {}

  // Allocates the rings `cfg` names (and those that are off) in device memory, programs and
  // enables them; a named ring's indexes restart. Rings that are on and not named are kept as
  // they are, with their frames and indexes. `done` tells what is on now.
  Status setup(const RingConfig& cfg = {}, RingSetup* done = nullptr);
  // Uses rings another process set up (reads their registers). Fails if none is on.
  Status attach();
  // Takes up to `max` punted frames, oldest first, and hands their slots back.
  Status poll(std::vector<PuntedFrame>& out, size_t max = SIZE_MAX);
  // The same into a pool the caller keeps: frames[0, n) are the punted ones. The pool grows
  // only past its largest batch and each frame's bytes keep their capacity, so a poll loop
  // allocates nothing per frame once warm.
  Status pollInto(std::vector<PuntedFrame>& pool, size_t& n, size_t max);
  // Queues one frame for the kernel's inject port `code` (steer: regs::steer::InjectPort,
  // straight out of the steering or the access port; gate: regs::gate::InjectPort: into the
  // uplink pipeline, or straight out of the access or the service port). A full ring is an
  // error (nothing written).
  Status inject(std::span<const uint8_t> frame, uint8_t code = 0);
  // Takes up to `max` export records, oldest first, and hands their slots back; with `hold`
  // the slots stay the reader's until releaseExport() (a reader that stops before it, such as
  // a killed roamd, reads the same records again: the kernel waits rather than overwrite them).
  Status pollExport(std::vector<ExportRecord>& out, size_t max = SIZE_MAX, bool hold = false);
  // Hands back the slots of the records taken with hold.
  Status releaseExport();
  bool exportOn() const { return expOn_; }
  // Records that found the export ring full and waited.
  Status exportWaits(uint32_t& waits);
  // Frames dropped because the punt ring was full or off; frames injected; bad inject slots.
  Status counters(uint32_t& puntDrops, uint32_t& injected, uint32_t& injErrors);

 private:
  struct State;
  Status readState(State& st);

  hal::Device& dev_;
  uint32_t base_;
  uint32_t maxFrameBytes_;
  uint64_t puntBase_ = 0, injBase_ = 0, expBase_ = 0;
  uint32_t puntSlotsLog2_ = 0, injSlotsLog2_ = 0, expSlotsLog2_ = 0;
  uint32_t puntCons_ = 0, injProd_ = 0, expCons_ = 0;
  uint32_t injConsSeen_ = 0;   // the inject ring's consumer index as last read
  bool injConsKnown_ = false;
  bool expOn_ = false;
  std::vector<uint8_t> injBuf_;  // an inject slot's bytes, reused
};

}  // namespace roamgate::dataplane
