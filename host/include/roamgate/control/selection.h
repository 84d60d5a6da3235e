// Server selection for a service: the group of servers behind its representative addresses and
// the policy that picks one for each new user session.
//
// * Maglev (weighted consistent hashing): a lookup table of `maglevSize` entries (a prime)
//   built over the selectable servers. Population takes turns as Maglev's does (Eisenbud et
//   al., NSDI 2016, 3.4), but a server's k-th turn comes at time k / weight, so each server
//   holds a share of the table proportional to its weight (within a few entries). Servers are
//   taken sorted by (address, port), so the same group gives the same table whatever order
//   it comes in, on every roamd. The part of the flow hashed is the service's `hashOn`: the
//   terminal's address (every connection of a terminal to the same server) or the 5-tuple.
// * Least sessions (weighted): the selectable server with the fewest active user sessions
//   per weight, (sessions + 1) / weight compared exactly, ties to the lower (address, port).
//   Over starts without ends the split follows the weights exactly (D'Hondt's divisor rule:
//   with weights 1:10, every 11 starts give 1 and 10).
// * Round robin (weighted, interleaved): the j-th pick of a server (0-based) in a cycle falls
//   at time (j + 1/2) / weight; picks go in time order, ties to the lower (address, port).
//   A cycle is the sum W of the selectable weights, and every cycle gives each server exactly
//   its weight (1:10: 1 and 10 in every 11 picks), spread over the cycle (5:1:1 gives
//   a a a b c a a; nginx's smooth WRR gives a a b a c a a). A change of the group or of a
//   state starts a new cycle.
//
// Only servers admin-up and health-up are picked. A draining or down server keeps its user
// sessions; the selector counts the active sessions of every server under every policy (the
// caller reports starts and ends), so `server drain` can tell when the last one ended.
//
// Tables are built when the group or a state changes; a pick allocates nothing and takes O(1)
// (Maglev: a hash and a table read) or O(log n) (the other two: an indexed heap). A failed
// pick (no selectable server) builds its message, so a caller that must not allocate even then
// checks selectableCount() first. Not thread-safe: one owner (the punt path) calls it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roamgate/result.h"
#include "roamgate/status.h"

namespace roamgate::control {

enum class AdminState : uint8_t { kUp, kDrain, kDown };
enum class Health : uint8_t { kUp, kDown };
enum class SelectionPolicy : uint8_t { kMaglev, kLeastSessions, kRoundRobin };
// The part of the flow Maglev hashes.
enum class HashOn : uint8_t {
  kTerminalAddress,  // the terminal's (inner source) address only
  kFiveTuple,        // terminal address and port, destination address and port, protocol
};

// "maglev", "least_sessions", "round_robin"; "up", "drain", "down"; "terminal", "5tuple".
std::string_view policyName(SelectionPolicy p);
std::optional<SelectionPolicy> policyFromName(std::string_view s);
std::string_view adminStateName(AdminState s);
std::optional<AdminState> adminStateFromName(std::string_view s);
std::string_view hashOnName(HashOn h);
std::optional<HashOn> hashOnFromName(std::string_view s);

inline constexpr uint32_t kMaxServerWeight = 65535;
inline constexpr uint32_t kMaxServersPerGroup = 65535;  // the Maglev table holds 16-bit indexes
inline constexpr uint32_t kSelectionMaglevSize = 65537;

struct Server {
  uint32_t ip = 0;      // host order
  uint16_t port = 0;    // 0 for an ICMP service
  uint32_t weight = 1;  // relative, 1..65535
  AdminState admin = AdminState::kUp;
  Health health = Health::kUp;
  bool selectable() const { return admin == AdminState::kUp && health == Health::kUp; }
};

// "198.18.4.10:80"
std::string serverStr(uint32_t ip, uint16_t port);

// What a pick may be keyed by: the first packet's inner header (terminal side first).
struct SelectionKey {
  uint32_t terminalIp = 0;
  uint16_t terminalPort = 0;  // ICMP echo: the identifier
  uint32_t dstIp = 0;
  uint16_t dstPort = 0;
  uint8_t proto = 0;
};

struct SelectorOptions {
  SelectionPolicy policy = SelectionPolicy::kMaglev;
  HashOn hashOn = HashOn::kTerminalAddress;    // Maglev only
  uint32_t maglevSize = kSelectionMaglevSize;  // a prime, 3..16777213; much larger than the group
};

class ServerSelector {
 public:
  // Checks the group (kInvalidArgument: empty, more than kMaxServersPerGroup, a weight outside
  // 1..65535, an address that is not unicast, a server listed twice, maglevSize not a prime
  // in range) and builds the tables.
  static Result<ServerSelector> create(std::vector<Server> servers, SelectorOptions opts = {});

  // Replaces the group (same checks; nothing changes when they fail). Servers that stay keep
  // their active session counts; indexes refer to the new list afterwards.
  Status setServers(std::vector<Server> servers);
  // kNotFound when the group has no such server. An unchanged state rebuilds nothing.
  Status setAdmin(uint32_t ip, uint16_t port, AdminState s);
  Status setHealth(uint32_t ip, uint16_t port, Health h);

  // The index (into servers()) of the server for a new user session; kUnavailable when no
  // server is selectable. Does not count a session: report it with sessionStarted once the
  // user session is installed. Round robin advances its rotation.
  Result<uint32_t> pick(const SelectionKey& key);

  // Active user sessions per server, under every policy. sessionStarted is accepted for any
  // server (a restart reports the sessions the device still holds, draining ones included);
  // kInvalidArgument for an index out of range, kNotFound when ending on a server with none.
  Status sessionStarted(uint32_t index);
  Status sessionEnded(uint32_t index);
  uint64_t sessions(uint32_t index) const;
  // Draining with no active user session left (what `server drain` waits for).
  bool drained(uint32_t index) const;

  Result<uint32_t> find(uint32_t ip, uint16_t port) const;
  // Sorted by (address, port): index i is servers()[i].
  const std::vector<Server>& servers() const { return servers_; }
  size_t selectableCount() const { return selectable_; }
  const SelectorOptions& options() const { return opts_; }
  // Maglev: the server index of each table entry (empty under other policies or with no
  // selectable server).
  const std::vector<uint16_t>& maglevTable() const { return table_; }

 private:
  ServerSelector() = default;
  static Status check(std::vector<Server>& servers, const SelectorOptions& opts);
  void rebuild();
  void buildMaglev();
  uint64_t keyHash(const SelectionKey& k) const;
  // Indexed min-heap over the selectable servers (least sessions, round robin).
  bool before(uint32_t a, uint32_t b) const;
  void siftUp(size_t pos);
  void siftDown(size_t pos);
  void reheap(uint32_t server);

  std::vector<Server> servers_;
  SelectorOptions opts_;
  size_t selectable_ = 0;
  std::vector<uint64_t> active_;   // per server
  std::vector<uint16_t> table_;    // Maglev
  std::vector<uint32_t> heap_;     // server indexes
  std::vector<uint32_t> heapPos_;  // per server: its place in heap_, or kNoPos
  std::vector<uint32_t> rrPicks_;  // per server: round-robin picks in the current cycle
  uint64_t rrCycle_ = 0;           // sum of the selectable weights
  uint64_t rrDone_ = 0;            // picks in the current cycle
};

}  // namespace roamgate::control
