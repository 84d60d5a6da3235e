// The desired state, as versioned objects in the store. Every key lives under one versioned
// prefix; values are JSON objects (unknown fields refused, so a typo never becomes a default).
//   /roamgate/v1/appliances/NAME        Appliance   what an appliance is (written by its roamd)
//   /roamgate/v1/live/NAME              Liveness    held with the roamd's lease: gone = down
//   /roamgate/v1/gateways/ID            Gateway     a gate as the steers see it (id 0..255)
//   /roamgate/v1/sessions/TEID          Session     one per session manager session (8 hex)
//   /roamgate/v1/quarantine/TEID        (empty)     a freed TEID, held back until its lease ends
//   /roamgate/v1/services/NAME          Service     representative addresses, servers, policy
//   /roamgate/v1/vips/IP:PROTO:PORT     (name)      the service holding a VIP (an index, written
//                                                   in the transaction that writes the service)
//   /roamgate/v1/policies/NAME          SubscriberPolicy  what a subscriber (class) may use
//   /roamgate/v1/subscribers/IMSI       SubscriberAssignment  the policy of one subscriber
// Later objects (accounting records) take their own prefixes beside these.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roamgate/control/selection.h"
#include "roamgate/result.h"

namespace roamgate::control {

inline constexpr const char* kRoot = "/roamgate/v1/";
inline constexpr const char* kAppliancesPrefix = "/roamgate/v1/appliances/";
inline constexpr const char* kLivePrefix = "/roamgate/v1/live/";
inline constexpr const char* kGatewaysPrefix = "/roamgate/v1/gateways/";
inline constexpr const char* kSessionsPrefix = "/roamgate/v1/sessions/";
inline constexpr const char* kQuarantinePrefix = "/roamgate/v1/quarantine/";
inline constexpr const char* kServicesPrefix = "/roamgate/v1/services/";
inline constexpr const char* kVipsPrefix = "/roamgate/v1/vips/";
inline constexpr const char* kPoliciesPrefix = "/roamgate/v1/policies/";
inline constexpr const char* kSubscribersPrefix = "/roamgate/v1/subscribers/";

enum class Role { kSteer, kGate };
const char* roleName(Role r);

// Punt limits of an appliance's host port (the kernel's token bucket).
struct PuntLimit {
  uint32_t rate = 0x00100000;  // 8.24 frames per cycle (1/16 frame per cycle)
  uint32_t burst = 64;
  bool operator==(const PuntLimit&) const = default;
};

struct Appliance {
  std::string name;    // [a-z0-9-], 1..63 characters
  Role role = Role::kSteer;
  std::string device;  // hal device spec: sim:SOCKET, xrt:INDEX, xrt:BDF
  std::string machine; // the roamd that manages it
  // steer: the entry point's address (G-PDUs to it are steered) and MAC.
  // gate: the address G-PDUs reach it at (its gateway address) and its MAC on both ports.
  uint32_t ip = 0;
  uint64_t mac = 0;
  // gate only
  uint32_t gatewayId = 0;                 // the id steers know it by (0..255)
  std::array<uint32_t, 4> natIps{};       // gate addresses by index (0: unused)
  uint64_t serviceNextHopMac = 0;         // destination MAC of uplink frames
  uint64_t accessNextHopMac = 0;          // destination MAC of downlink tunnels
  PuntLimit punt;
  // gate only: the export scanner's thresholds, in milliseconds of the kernel's clock. A
  // user session without a packet either way for idleMs ends (its port is freed); interimMs
  // (0: none) is how often a long one's counters are recorded.
  uint32_t idleMs = 300000;
  uint32_t interimMs = 0;
  // gate only: a freed user-session port is held this long before it is handed out again
  // (RFC 6888 REQ-8 suggests 120 s), and a subscriber may hold at most portQuota ports of
  // the gate at once (0: no limit).
  uint32_t portHoldSeconds = 120;
  uint32_t portQuota = 0;
  // gate only: replies to an external user session from any address (endpoint-independent
  // filtering, RFC 4787 REQ-8's recommendation, with endpoint-independent mapping, REQ-1), or
  // only from the address the terminal sent to (address-dependent filtering; the port entry
  // holds one permitted address, so each destination address then gets its own port).
  bool addressFiltering = false;
  bool operator==(const Appliance&) const = default;
};

struct Liveness {
  std::string machine;
  std::string since;  // UTC, ISO 8601
};

// A gate as every steer programs it: gateway table entry `id`.
struct Gateway {
  uint32_t id = 0;
  std::string gate;  // the gate appliance's name
  uint32_t ip = 0;
  uint64_t mac = 0;  // the next hop's MAC towards it
  bool operator==(const Gateway&) const = default;
};

struct Session {
  uint32_t teid = 0;     // uplink TEID (assigned by the session manager; never 0)
  std::string imsi;      // up to 15 digits
  std::string msisdn;    // up to 15 digits
  uint32_t ueIp = 0;     // the terminal's address
  uint32_t peerIp = 0;   // downlink tunnel peer (RAN node or entry point)
  uint32_t dlTeid = 0;   // downlink TEID
  std::optional<uint8_t> qfi;
  std::string gate;      // the gate appliance it is placed on
  bool pinned = false;   // placed by hand: never re-placed by policy
  std::string created;   // UTC, ISO 8601 with milliseconds
  std::string modified;
  int64_t revision = 0;  // the store revision that last wrote it (from the key, not the value)
  bool operator==(const Session&) const = default;
};

// ---- The service catalog (issue 11) ----------------------------------------------------------
enum class VipProto : uint8_t { kTcp, kUdp, kIcmp };
// How a service's user sessions are formed (issue 11): one per connection; every connection of
// a subscriber to the same server for the affinity time; a series that follows the terminal
// across representative addresses. (External destinations are a policy, not a service type.)
enum class UserSessionType : uint8_t { kConnection, kAffinity, kSeries };

// "tcp", "udp", "icmp"; "connection", "affinity", "series".
const char* vipProtoName(VipProto p);
std::optional<VipProto> vipProtoFromName(std::string_view s);
const char* userSessionTypeName(UserSessionType t);
std::optional<UserSessionType> userSessionTypeFromName(std::string_view s);

inline constexpr size_t kMaxServiceVips = 16;
inline constexpr size_t kMaxServiceServers = 4096;  // one object: fits etcd's request limit
inline constexpr uint32_t kDefaultAffinitySeconds = 300;
inline constexpr uint32_t kMaxAffinitySeconds = 86400;

// A representative address: VIP:port/tcp|udp, or VIP/icmp (port 0).
struct Vip {
  uint32_t ip = 0;
  uint16_t port = 0;
  VipProto proto = VipProto::kTcp;
  bool operator==(const Vip&) const = default;
  auto operator<=>(const Vip&) const = default;
};
std::string vipStr(const Vip& v);  // "198.18.0.10:80/tcp", "198.18.0.10/icmp"

struct Service {
  std::string name;            // as an appliance's
  std::vector<Vip> vips;       // 1..16, each unique, none held by another service
  // The group, whole in the object (one transaction changes it). Health is not stored: it is
  // what the checks find; a stored server's health field is always kUp here.
  std::vector<Server> servers;
  SelectionPolicy policy = SelectionPolicy::kMaglev;
  HashOn hashOn = HashOn::kTerminalAddress;  // what Maglev hashes
  UserSessionType type = UserSessionType::kConnection;
  uint32_t affinitySeconds = kDefaultAffinitySeconds;  // affinity only: 1..86400
  // The health check of its servers (health.h's spec text: "tcp,interval=2000,..."); empty:
  // none, every server is taken as up.
  std::string check;
  std::string created;  // UTC, ISO 8601 with milliseconds
  std::string modified;
  int64_t revision = 0;  // the store revision that last wrote it (from the key, not the value)
};
// Same content (the stored fields; revision and health not compared).
bool sameService(const Service& a, const Service& b);

std::string serviceKey(const std::string& name);
std::string vipKey(const Vip& v);  // /roamgate/v1/vips/198.18.0.10:tcp:80

std::string applianceKey(const std::string& name);
std::string liveKey(const std::string& name);
std::string gatewayKey(uint32_t id);
std::string sessionKey(uint32_t teid);
std::string quarantineKey(uint32_t teid);
// The TEID of a session or quarantine key; nullopt for another key.
std::optional<uint32_t> teidOfKey(const std::string& key, const char* prefix);

std::string toJson(const Appliance& a);
std::string toJson(const Liveness& l);
std::string toJson(const Gateway& g);
std::string toJson(const Session& s);
Result<Appliance> applianceFromJson(const std::string& text);
Result<Liveness> livenessFromJson(const std::string& text);
Result<Gateway> gatewayFromJson(const std::string& text);
Result<Session> sessionFromJson(const std::string& text);
std::string toJson(const Service& s);
Result<Service> serviceFromJson(const std::string& text);

// Checks (each refusal names the field, the value and what is allowed).
Status checkName(const std::string& what, const std::string& name);
Status checkDigits(const std::string& what, const std::string& value, size_t maxLen);
Status checkAppliance(const Appliance& a);
// The name, the VIPs (unicast, 1..16, tcp/udp with a port 1..65535, icmp without one, none
// twice), the servers (at most 4096, unicast, not one of the service's VIPs, weight 1..65535,
// a port 1..65535 when a VIP is tcp or udp and none for an icmp-only service, none twice) and
// the affinity time (1..86400 s) and the health check's spec.
Status checkService(const Service& s);

// ---- Subscribers' policies (issue 11) ---------------------------------------------------------
inline constexpr uint32_t kDefaultDenySeconds = 30;
inline constexpr uint32_t kMaxDenySeconds = 86400;

// A subscriber's (or a class of subscribers') policy. A subscriber without an assignment gets
// the policy named "default"; with neither, nothing is allowed.
struct SubscriberPolicy {
  std::string name;
  bool anyService = false;            // every service of the catalog
  std::vector<std::string> services;  // else these, by name
  bool external = false;              // destinations that are no service's address
  uint32_t maxUserSessions = 0;       // at once; 0: no limit
  uint32_t newPerSecond = 0;          // new user sessions a second; 0: no limit
  uint32_t denySeconds = kDefaultDenySeconds;  // how long a deny entry stays in the hardware
  int64_t revision = 0;  // the store revision that last wrote it (not compared)
  bool operator==(const SubscriberPolicy& o) const {
    return name == o.name && anyService == o.anyService && services == o.services &&
           external == o.external && maxUserSessions == o.maxUserSessions &&
           newPerSecond == o.newPerSecond && denySeconds == o.denySeconds;
  }
};
// Checks a policy's fields (name, services named as services are and none twice, a deny time
// of 1..86400 s); the error names the field.
Status checkPolicy(const SubscriberPolicy& p);

struct SubscriberAssignment {
  std::string imsi;    // up to 15 digits
  std::string policy;  // a policy's name
  bool operator==(const SubscriberAssignment&) const = default;
};

std::string policyKey(const std::string& name);
std::string subscriberKey(const std::string& imsi);
std::string toJson(const SubscriberPolicy& p);
Result<SubscriberPolicy> policyFromJson(const std::string& text);
std::string toJson(const SubscriberAssignment& a);
Result<SubscriberAssignment> assignmentFromJson(const std::string& text);

std::string utcNow();  // 2026-12-01T11:37:50.123Z

}  // namespace roamgate::control
