// The gate's slow path (issue 11): the first packet of a user session misses the flow table
// and is punted; here it is parsed (TEID and inner 5-tuple, at the punt's T-PDU offset), its
// terminal found (TEID -> session -> subscriber), its destination classified (a service's
// representative address, or external), authorized, given a server and a unique port, and
// installed (port entry, then flow entry). The caller re-injects the frame into the uplink
// pipeline, where it now hits.
//
// One decision per flow: a later punt of a flow already decided (the rest of a burst that
// missed while the decision was made, or a replay) is only re-injected. The caller handles the
// frames in ring order, so a flow's punted frames are re-injected in their order.
//
// User-session types (the service's; external destinations are the policy's):
// * connection: one user session per 5-tuple, its server chosen by the service's policy.
// * affinity: each connection its own user session and port, but a subscriber's connections
//   to one service go to the server its first one got, for the service's affinity time after
//   the last new connection (a server that left the selectable set is replaced).
// * series (claim 3): one user session per terminal address and port within the session
//   (TEID); a connection from it to another representative address continues the same user
//   session: same port, same counters, re-targeted to a server of the new address's group
//   (its old flow removed, its port entry rewritten with the same generation).
// * external (claim 6): a destination that is no service's address, when the policy allows
//   it: endpoint-independent mapping (RFC 4787 REQ-1: every destination of one terminal
//   address and port shares one port: a further flow into the same entry) and the kernel's
//   endpoint-independent filtering (REQ-8) of an external entry.
// A denied user session gets a deny entry (its packets dropped and counted in hardware, no
// more punts) for the policy's deny time.
//
// A subscriber keeps one gate address (RFC 4787 REQ-2, paired pooling): the address is the
// subscriber id modulo the configured addresses. Out of ports or over quota: refused and
// counted, nothing evicted.
//
// Time comes in through the calls (steady clock). Allocation: none per re-injected frame;
// a decision allocates only when a map or a pool entry's list first grows. Not thread-safe:
// the gate agent's thread owns it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "roamgate/control/authorizer.h"
#include "roamgate/control/objects.h"
#include "roamgate/control/port_allocator.h"
#include "roamgate/control/selection.h"
#include "roamgate/dataplane/gate_tables.h"
#include "roamgate/flat_map.h"
#include "roamgate/result.h"

namespace roamgate::control {

// What became of one punted frame. A bounded set: puntOutcomeName gives its metric label.
enum class PuntOutcome : uint8_t {
  kInstalled,         // a new user session decided and installed: re-inject
  kRetargeted,        // a series user session continued to a new address: re-inject
  kFlowAdded,         // one more flow into an existing user session (external mapping): re-inject
  kAlreadyDecided,    // its flow was installed by an earlier decision: re-inject
  kDenied,            // authorization refused: a deny entry installed, frame dropped
  kDeniedNoEntry,     // refused, and no deny entry (deny time 0 or no port): frame dropped
  kTruncated,         // the frame ends inside the inner headers
  kMalformed,         // no IPv4 at the T-PDU offset, bad header length, a fragment
  kUnsupported,       // not TCP, UDP or ICMP echo request
  kUnknownTeid,       // no session on this gate has the TEID
  kSpoofed,           // the inner source is not the session's terminal address
  kNoServer,          // the service has no selectable server
  kNoPort,            // the subscriber's gate address has no free port
  kOverQuota,         // the subscriber holds its quota of ports
  kInstallFailed,     // the device refused the entries (flow table full, device gone)
  kCount
};
inline constexpr size_t kPuntOutcomeCount = size_t(PuntOutcome::kCount);
std::string_view puntOutcomeName(PuntOutcome o);  // "installed", "already_decided", ...
constexpr bool reinject(PuntOutcome o) {
  return o == PuntOutcome::kInstalled || o == PuntOutcome::kRetargeted ||
         o == PuntOutcome::kFlowAdded || o == PuntOutcome::kAlreadyDecided;
}

// Why a user session ended (its accounting record's termination cause).
enum class EndCause : uint8_t { kIdle, kFin, kRst, kSessionDeleted, kDenyExpired, kAdmin };
const char* endCauseName(EndCause c);  // "idle", "fin", "rst", "session_deleted", ...

// The inner packet of a punted G-PDU: its flow key (ICMP echo: identifier as source port,
// destination port 0). kInstalled on success, else kTruncated, kMalformed or kUnsupported.
PuntOutcome parseUplinkPunt(std::span<const uint8_t> frame, uint8_t innerOffset, uint32_t teid,
                            dataplane::FlowKey& out);

// A session of this gate, as the slow path needs it.
struct Terminal {
  std::string imsi, msisdn;
  uint32_t ueIp = 0;
  uint32_t peerIp = 0, dlTeid = 0;
  std::optional<uint8_t> qfi;
};

// One user session as the slow path keeps it (what its accounting record is made of).
struct UserSessionInfo {
  dataplane::UserSession entry;          // as installed (first flow, server, tunnel, generation)
  std::vector<dataplane::FlowKey> more;  // further flows (external mapping)
  std::string imsi, msisdn;
  bool external = false, denied = false;
  UserSessionType type = UserSessionType::kConnection;
  // Services in the order the user session used them (a series one: each re-target); empty
  // for an external or denied one. The server that served each, likewise.
  std::vector<std::string> services;
  std::vector<std::pair<uint32_t, uint16_t>> servers;
  DenyReason denyReason = DenyReason::kNone;
  std::chrono::steady_clock::time_point started{};
  uint64_t startTs = 0;   // the kernel's timestamp of the punt that started it (0: unknown)
  bool restored = false;  // rebuilt from the device at start-up
};

struct SlowPathOptions {
  PortAllocatorOptions ports;  // per gate address
  // Deny entries older than this are removed by advance() (the policy's deny time when it
  // decided; this one for entries found on the device at start-up).
  std::chrono::seconds restoredDenyTime{30};
  // External destinations: address-dependent filtering (the appliance's external_filtering)
  // instead of endpoint-independent; each destination address then has its own port.
  bool addressFiltering = false;
};

struct SlowPathCounters {
  std::array<uint64_t, kPuntOutcomeCount> outcomes{};
  uint64_t ended = 0, endFailures = 0, denyExpired = 0;
};

class SlowPath {
 public:
  using Clock = std::chrono::steady_clock;
  // Called with every user session that ends (before it is forgotten).
  using EndedFn = std::function<void(const UserSessionInfo&, EndCause)>;
  // Called when a user session starts (installed, or a deny entry) and when a series one is
  // re-targeted (its services list then has more than one).
  using StartedFn = std::function<void(const UserSessionInfo&)>;

  // `natIps`: the gate addresses by index (0: not configured); at least one is required.
  static Result<std::unique_ptr<SlowPath>> create(dataplane::GateTables& t, Authorizer& auth,
                                                  std::array<uint32_t, 4> natIps,
                                                  SlowPathOptions opts = {});

  // The gate's sessions. A changed terminal address or tunnel applies to new user sessions
  // (the agent moves installed tunnels). removeSession ends the session's user sessions.
  void setSession(uint32_t teid, Terminal t);
  Status removeSession(uint32_t teid, Clock::time_point now);
  // The catalog: services by name. Selectors of services that stay keep their counts; a
  // service that went away keeps its installed user sessions until they end.
  Status setServices(const std::vector<Service>& services);
  // A health check's verdict for a server of a service (kNotFound: no such service/server).
  Status setHealth(const std::string& service, uint32_t ip, uint16_t port, Health h);

  // Handles one flow-miss punt (`teid`, `innerOffset`: the punt's metadata; `kernelTs`: its
  // timestamp, kept as the start of a user session it starts).
  PuntOutcome handle(std::span<const uint8_t> frame, uint32_t teid, uint8_t innerOffset,
                     Clock::time_point now, uint64_t kernelTs = 0);
  // Prefetching over a batch of punts handled in order, so that their cache misses overlap
  // instead of following one another. Before handling punt i of a batch of `count`, call
  // prefetchAhead(count, i, at), where at(j) gives punt j's frame, TEID and T-PDU offset (a
  // PuntRef with an empty frame: not a flow miss, skipped). Punts kFar ahead get their frame
  // and the home slots of their lookups (flow index, terminal, the device mirror's buckets)
  // brought in; punts kNear ahead, what those slots lead to (the terminal's user-session list,
  // the affinity, the pool entry the punt would take and its lists). Each pass parses the
  // frame's headers again (cheap once the frame is in cache). Changes nothing; a frame that
  // does not parse is skipped.
  struct PuntRef {
    std::span<const uint8_t> frame;
    uint32_t teid = 0;
    uint8_t innerOffset = 0;
  };
  static constexpr size_t kNear = 4, kFar = 8;
  template <class At>
  void prefetchAhead(size_t count, size_t i, At at) const {
    if (i == 0) {
      for (size_t j = 0; j < count && j < kFar; ++j) prefetchFar(at(j));
      for (size_t j = 0; j < count && j < kNear; ++j) prefetchNear(at(j), j);
    }
    if (i + kFar < count) prefetchFar(at(i + kFar));
    if (i + kNear < count) prefetchNear(at(i + kNear), kNear);
  }
  void prefetchFar(const PuntRef& p) const;
  // `ahead`: how many punts are handled before this one (which pool entry it would take).
  void prefetchNear(const PuntRef& p, size_t ahead) const;
  // Ends a user session by its port (an export record's idle or closed, an operator).
  Status end(uint8_t addrIndex, uint16_t port, EndCause cause, Clock::time_point now);
  // Removes deny entries whose time is up; ends holds of freed ports.
  void advance(Clock::time_point now);
  // Rebuilds the user sessions the device holds (after setSession and setServices): ports
  // and authorizations restored, servers' counts started. Flows whose port holds no valid
  // entry, and entries of a TEID that is no session here, are returned for removal.
  Status restore(const std::vector<dataplane::PortState>& ports,
                 const std::vector<dataplane::GateTables::FlowEntry>& flows, Clock::time_point now,
                 size_t* restored = nullptr);

  void onEnded(EndedFn f) { ended_ = std::move(f); }
  void onStarted(StartedFn f) { started_ = std::move(f); }
  const UserSessionInfo* find(uint8_t addrIndex, uint16_t port) const;
  size_t userSessions() const { return live_; }
  size_t affinities() const { return affinity_.size(); }  // (subscriber, service) pairs held
  const SlowPathCounters& counters() const { return counters_; }
  const PortAllocator* allocator(uint8_t addrIndex) const;
  // Active user sessions of every server of every service: (service, ip, port, count).
  void serverCounts(std::vector<std::tuple<std::string, uint32_t, uint16_t, uint64_t>>& out) const;
  // Active user sessions of a server (for `server drain`); nullopt: no such service/server.
  std::optional<uint64_t> serverSessions(const std::string& service, uint32_t ip,
                                         uint16_t port) const;

 private:
  struct FlowHash {
    size_t operator()(const dataplane::FlowKey& k) const noexcept;
  };
  struct SvcSlot {
    Service svc;
    std::optional<ServerSelector> sel;
    bool live = true;  // still in the catalog
  };
  // A terminal's address and port within its session (series and external mappings).
  // With address filtering an external mapping's key holds its destination address too (0
  // otherwise).
  struct EndpointKey {
    uint32_t teid = 0, src = 0, dst = 0;
    uint16_t sport = 0;
    uint8_t proto = 0;
    bool operator==(const EndpointKey&) const = default;
  };
  static EndpointKey endpointOf(const dataplane::UserSession& e) {
    return {e.flow.teid, e.flow.src, e.filterAddr ? e.flow.dst : 0, e.flow.sport, e.flow.proto};
  }
  struct EndpointHash {
    size_t operator()(const EndpointKey& k) const noexcept;
  };
  struct AffinityKey {
    uint64_t sub = 0;
    uint32_t slot = 0;
    bool operator==(const AffinityKey&) const = default;
  };
  struct AffinityHash {
    size_t operator()(const AffinityKey& k) const noexcept;
  };
  struct Affinity {
    uint32_t ip = 0;
    uint16_t port = 0;
    Clock::time_point until{};
  };
  struct VipHash {
    size_t operator()(const Vip& v) const noexcept;
  };

  SlowPath(dataplane::GateTables& t, Authorizer& auth, std::array<uint32_t, 4> natIps,
           SlowPathOptions opts);
  static uint32_t slotOf(uint8_t addrIndex, uint16_t port) {
    return uint32_t(addrIndex) << 16 | port;
  }
  static uint64_t subscriberId(const Terminal& t, uint32_t teid);
  uint8_t addressFor(uint64_t sub) const;
  PuntOutcome decide(const dataplane::FlowKey& key, const Terminal& term, uint64_t sub,
                     Clock::time_point now);
  // install() takes pool_[i], filled by the caller; on a refusal it goes back to the spares.
  PuntOutcome install(uint32_t i, uint64_t sub, Clock::time_point now,
                      std::optional<uint32_t> svcSlot, std::optional<uint32_t> server);
  uint32_t takeInfo();  // a spare pool_ entry, its fields reset (their capacity kept)
  UserSessionInfo* info(uint32_t slot) {
    uint32_t i = slots_[slot].info;
    return i == kNoInfo ? nullptr : &pool_[i];
  }
  PuntOutcome retarget(uint32_t slot, const dataplane::FlowKey& key, uint32_t svcSlot,
                       uint64_t sub, Clock::time_point now);
  PuntOutcome deny(const dataplane::FlowKey& key, const Terminal& term, uint64_t sub,
                   const AuthDecision& d, Clock::time_point now);
  void recount();  // every selector's active sessions, from the user sessions held
  Result<uint32_t> pickServer(SvcSlot& s, const SelectionKey& k, uint64_t sub, uint32_t svcSlot,
                              Clock::time_point now);
  void forget(uint32_t slot, UserSessionInfo& info);
  PortAllocator& alloc(uint8_t addrIndex) { return *allocs_[addrIndex]; }

  dataplane::GateTables& t_;
  Authorizer& auth_;
  std::array<uint32_t, 4> natIps_;
  std::vector<uint8_t> natIndexes_;  // configured gate address indexes
  SlowPathOptions opts_;
  std::array<std::optional<PortAllocator>, 4> allocs_;
  struct Term {
    Terminal t;
    uint64_t sub = 0;             // subscriberId(t, its TEID)
    std::vector<uint32_t> slots;  // its user sessions
  };
  std::unordered_map<uint32_t, Term> terminals_;  // by TEID
  Term* cur_ = nullptr;  // the terminal of the punt being decided
  std::vector<SvcSlot> svcs_;
  std::unordered_map<std::string, uint32_t> svcByName_;
  std::unordered_map<Vip, uint32_t, VipHash> byVip_;
  static constexpr uint32_t kNoInfo = UINT32_MAX;
  // The user sessions, in a pool whose entries are reused (their strings and lists keep their
  // capacity): per slot (slotOf(address, port)) its pool index and its last generation
  // installed (one record: an install touches one cache line), per pool index its slot.
  std::vector<UserSessionInfo> pool_;
  std::vector<uint32_t> slotOfInfo_, spare_;
  struct SlotRec {
    uint32_t info;  // into pool_, kNoInfo: none
    uint8_t gen;
  };
  std::vector<SlotRec> slots_;
  size_t live_ = 0;
  FlatMap<dataplane::FlowKey, uint32_t, FlowHash> byFlow_{size_t(1) << 17};  // flow -> slot
  // Endpoints with an external mapping, and with a series user session: apart, so one
  // endpoint may have both (each its own port).
  using EndpointMap = FlatMap<EndpointKey, uint32_t, EndpointHash>;
  EndpointMap byExternal_, bySeries_;
  EndpointMap& endpoints(const UserSessionInfo& u) { return u.external ? byExternal_ : bySeries_; }
  FlatMap<AffinityKey, Affinity, AffinityHash> affinity_;
  Clock::time_point affinitySweep_{};  // advance() forgets expired affinities from then
  // Deny entries by the time they end: (slot, generation), so a port reused since is left.
  std::multimap<Clock::time_point, std::pair<uint32_t, uint8_t>> denies_;
  EndedFn ended_;
  StartedFn started_;
  uint64_t kernelTs_ = 0;  // the punt being handled
  SlowPathCounters counters_;
};

}  // namespace roamgate::control
