// The steer kernel's tables and counters, programmed through hal::Device: session table
// (cuckoo placement on a lazily loaded mirror), gateway table, Maglev table (rebuilt from the
// valid gateways sorted by address), configuration, statistics.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "roamgate/dataplane/cuckoo.h"
#include "roamgate/hal/device.h"
#include "roamgate/regs/steer.h"
#include "roamgate/status.h"

namespace roamgate::dataplane {

struct GatewayEntry {
  uint32_t id = 0;
  bool valid = false;
  uint32_t ip = 0;
  uint64_t mac = 0;
};

struct SteerConfig {
  uint32_t ownIp = 0;
  uint64_t ownMac = 0;
  uint32_t puntRate = 0x00100000;  // 8.24 tokens per cycle: 1/16 frame per cycle
  uint32_t puntBurst = 64;
};

struct SessionEntry {
  uint32_t teid;
  uint32_t gateway;
};

class SteerTables {
 public:
  static constexpr uint32_t kGateways = regs::steer::kGateways;

  explicit SteerTables(hal::Device& dev);

  // Refuses a device that is not a steer kernel of this register map.
  Status checkKernel();

  Status readConfig(SteerConfig& cfg);
  Status writeConfig(const SteerConfig& cfg);

  Status readGateways(std::array<GatewayEntry, kGateways>& out);
  // Writes one gateway entry; a valid one needs a unicast address and next-hop MAC.
  Status writeGateway(const GatewayEntry& g);
  // Rebuilds and writes the Maglev table from the valid gateways. Returns the entry count
  // per gateway id in `share` when given.
  // `exclude` leaves one (still valid) gateway out, for an orderly removal.
  Status rebuildMaglev(std::vector<uint32_t>* share = nullptr,
                       std::optional<uint32_t> exclude = std::nullopt);
  Status readMaglev(std::vector<uint8_t>& table);

  // Pins `teid` to `gateway`. A TEID pinned elsewhere is refused (kAlreadyExists) unless
  // `replace`; pinning it again to the same gateway changes nothing.
  Status insertSession(uint32_t teid, uint32_t gateway, bool replace = false);
  Status removeSession(uint32_t teid);
  Status findSession(uint32_t teid, std::optional<uint32_t>& gateway);
  Status listSessions(std::vector<SessionEntry>& out);
  // While held, the session writes of insertSession and removeSession are kept and sent as
  // one request of up to kHeldOps register operations (one round trip for many sessions
  // rather than one each); flushSessionWrites sends the rest and ends the hold. Until then
  // an entry may not be on the device yet, and a failed request is reported by the call that
  // sent it (the mirror then no longer matches the device: read it again).
  static constexpr size_t kHeldOps = 512;
  void holdSessionWrites() { hold_ = true; }
  Status flushSessionWrites();

  Status readStats(std::array<uint64_t, regs::steer::kStatCount>& out);
  Status readGatewayCounters(uint32_t id, uint64_t& pkts, uint64_t& bytes);

 private:
  Status loadBucket(uint32_t bank, uint32_t bucket, std::vector<CuckooSlot>& out);
  Status apply(const std::vector<CuckooWrite>& writes);

  hal::Device& dev_;
  CuckooMirror sess_;
  bool hold_ = false;
  std::vector<hal::RegOp> held_;
};

}  // namespace roamgate::dataplane
