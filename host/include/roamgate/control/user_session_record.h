// A user session's accounting record as the gate agent writes it (issue 11): the slow path's
// user session relabelled (its source as the subscriber, its destination as the service and
// the server that served it, or the external host), with the kernel's timestamps as UTC.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "roamgate/accounting/records.h"
#include "roamgate/control/slow_path.h"

namespace roamgate::control {

// The kernel's timestamp against UTC, sampled once (when the slow path starts): every tick
// and timestamp of a record is converted with this one offset. In simulation the kernel's
// clock runs slower than the wall clock, so its records' times are the simulated kernel's.
struct KernelClock {
  static constexpr double kHz = 322.265625e6;  // the kernels' nominal clock
  uint64_t ts0 = 0;                            // a timestamp ...
  std::chrono::system_clock::time_point utc0{};  // ... and the UTC time it was read at
  uint32_t shift = 16;                         // a tick is 2^shift timestamps (TICK_SHIFT)

  // "2026-12-02T01:02:03.456Z" (milliseconds truncated).
  std::string utc(uint64_t ts) const;
  // A 32-bit tick as a timestamp: the one nearest ts0 (ticks wrap after 2^32).
  uint64_t tsOfTick(uint32_t tick) const;
  // Milliseconds as ticks, at least 1 and at most 2^32 - 1 (scanner thresholds).
  uint32_t ticks(uint32_t ms) const;
};

// The record of `u` on appliance `appliance` whose gate address `natIp` it holds, started at
// the kernel time of its first punt (ts0 when unknown). Id: appliance/NAT:port/gGEN/started.
accounting::Record userSessionRecord(const UserSessionInfo& u, const std::string& appliance,
                                     uint32_t natIp, const KernelClock& clock);

}  // namespace roamgate::control
