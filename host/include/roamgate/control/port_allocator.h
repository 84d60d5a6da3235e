// The user-session ports of one gate (NAT) address. A user session is identified by its
// unique source port on a gate address (claim 13), so a port is never handed out while in use.
//
// * A freed port is held back for `hold` (RFC 6888 REQ-8 suggests 120 s) before it can be
//   handed out again, so late packets of an ended user session never reach a new one.
// * Allocations are hard to guess: each takes a port uniformly at random among the free ones
//   (a free list indexed at random, O(1) however full the address is), the randomness from
//   ChaCha20 (RFC 8439) keyed from the seed, or from std::random_device when the seed is 0.
// * Ports below `lowestPort` (default 1024) are never handed out.
// * A subscriber may hold at most `quota` ports at once (0: no limit). Held ports do not count.
// * Out of ports (kFull) and over quota (kOverQuota) are refused and counted; nothing is evicted.
// * restore() marks a port in use at start-up (roamd rebuilds the allocator from the device's
//   port table); a port already in use is refused.
//
// Time passes in through the calls (a steady-clock time point; a time earlier than one seen
// before counts as that one), so holds need no timer thread and tests no sleeps.
// Everything is sized at construction: allocate, free and restore allocate no memory (a
// refusal builds its message). Not thread-safe: one owner calls it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include "roamgate/regs/gate.h"
#include "roamgate/result.h"
#include "roamgate/status.h"

namespace roamgate::control {

inline constexpr uint32_t kNatAddrCount = regs::gate::kNatAddrs;
inline constexpr uint32_t kPortsPerAddr = 1u << regs::gate::kPortsLog2;
static_assert(regs::gate::kPortsLog2 <= 16, "user-session ports are 16-bit transport ports");

// ChaCha20's block function (RFC 8439, 2.3) run as a generator: key, nonce and a 32-bit block
// counter; the 16 words of each block are handed out in order, then the counter advances
// (and carries into the first nonce word).
class ChaCha20Rng {
 public:
  ChaCha20Rng(const std::array<uint32_t, 8>& key, const std::array<uint32_t, 3>& nonce,
              uint32_t counter = 0);
  // Key words from SplitMix64 of the seed, nonce 0; seed 0: a key from std::random_device.
  static ChaCha20Rng fromSeed(uint64_t seed);
  uint32_t next();
  uint32_t peek();  // what next() will return (the stream is the same)
  // Uniform in [0, n), n > 0 (Lemire's multiply-and-reject: no modulo bias).
  uint32_t below(uint32_t n);

 private:
  void refill();
  std::array<uint32_t, 16> state_{};
  std::array<uint32_t, 16> block_{};
  uint32_t used_ = 16;
};

using SubscriberId = uint64_t;  // e.g. the IMSI as a number

struct PortAllocatorOptions {
  uint32_t lowestPort = 1024;  // ports below are never handed out (1..65535)
  std::chrono::steady_clock::duration hold = std::chrono::seconds(120);  // RFC 6888 REQ-8
  uint32_t quota = 0;  // ports one subscriber may hold at once; 0: no limit
  uint64_t seed = 0;   // 0: from std::random_device
};

struct PortAllocatorCounters {
  uint64_t allocated = 0;     // ports handed out
  uint64_t freed = 0;         // ports given back (then held)
  uint64_t released = 0;      // held ports that became free again
  uint64_t restored = 0;      // ports marked in use by restore()
  uint64_t refusedFull = 0;   // allocations refused: no free port
  uint64_t refusedQuota = 0;  // allocations refused: the subscriber's quota was reached
};

enum class PortState : uint8_t { kReserved, kFree, kInUse, kHeld };

class PortAllocator {
 public:
  using Clock = std::chrono::steady_clock;

  // kInvalidArgument: an address index from kNatAddrCount on, lowestPort outside 1..65535
  // (of the address's ports), a negative hold, a quota above the number of ports.
  static Result<PortAllocator> create(uint8_t addrIndex, PortAllocatorOptions opts = {});

  // A free port for the subscriber's new user session. kFull: every port is in use or held;
  // kOverQuota: the subscriber already holds `quota` ports. Both are counted.
  Result<uint16_t> allocate(SubscriberId sub, Clock::time_point now);
  // Gives a port back; it is held until now + hold. kNotFound when it is not in use.
  Status free(uint16_t port, Clock::time_point now);
  // Marks a port in use for a subscriber (a user session the device still holds). A held port
  // is taken out of its hold. kInvalidArgument below lowestPort, kAlreadyExists when in use.
  // The quota is not applied: the device's state wins.
  Status restore(uint16_t port, SubscriberId sub);
  // Ends the holds that are due (allocate and free do this first).
  void advance(Clock::time_point now);

  PortState state(uint16_t port) const { return PortState(ports_[port].state); }
  SubscriberId owner(uint16_t port) const { return ports_[port].owner; }  // of a port in use
  // Ports the subscriber holds in use (counted only when a quota is set; else 0).
  uint32_t portsOf(SubscriberId sub) const;
  uint8_t addrIndex() const { return addrIndex_; }
  const PortAllocatorOptions& options() const { return opts_; }
  uint32_t capacity() const { return kPortsPerAddr - opts_.lowestPort; }
  uint32_t inUse() const { return inUse_; }
  uint32_t held() const { return holdLen_; }
  uint32_t available() const { return uint32_t(free_.size()); }
  const PortAllocatorCounters& counters() const { return counters_; }

 private:
  PortAllocator(uint8_t addrIndex, PortAllocatorOptions opts);
  void takeFree(uint16_t port);  // removes a free port from the free list
  void takeFreeAt(uint32_t i);   // removes free_[i] from it
  // The quota table: open addressing, linear probing, backward-shift deletion; an entry is
  // empty when its count is 0. Twice as many slots as ports, so it never fills.
  struct QuotaEntry {
    SubscriberId sub = 0;
    uint32_t count = 0;
  };
  size_t quotaSlot(SubscriberId sub) const;
  void quotaAdd(SubscriberId sub);
  void quotaRemove(SubscriberId sub);

  uint8_t addrIndex_ = 0;
  PortAllocatorOptions opts_;
  ChaCha20Rng rng_;
  // What is known of a port, in one record: an allocation touches one cache line of them.
  struct PortRec {
    SubscriberId owner;  // of a port in use
    uint16_t freePos;    // of a free port: its index in free_
    uint8_t state;       // PortState
  };
  std::vector<PortRec> ports_;   // per port
  std::vector<uint16_t> free_;   // the free ports, in no order
  // The hold queue: a ring in time order (the hold is one length for all), each port at most
  // once (a port is held once between two frees).
  std::vector<uint16_t> holdPort_;
  std::vector<int64_t> holdUntil_;  // Clock ticks
  uint32_t holdHead_ = 0, holdLen_ = 0;
  int64_t lastNow_ = INT64_MIN;
  uint32_t inUse_ = 0;
  std::vector<QuotaEntry> quota_;
  PortAllocatorCounters counters_;
};

}  // namespace roamgate::control
