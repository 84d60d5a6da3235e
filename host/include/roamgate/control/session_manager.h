// The session manager: assigns TEIDs unique across the deployment (a transaction creates the
// session's key only if neither it nor a quarantine key for that TEID exists; TEID 0 never),
// places each session on a live gate (least sessions, or pinned by hand), moves a session's
// downlink tunnel (handover), deletes it (its TEID then rests in quarantine), and re-places
// the sessions of a gate whose lease was lost. Any number of managers may share one store:
// every write is a compare-and-set, so two of them never hand out one TEID.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "roamgate/control/objects.h"
#include "roamgate/control/state.h"
#include "roamgate/store/store.h"

namespace roamgate::control {

struct SessionSpec {
  std::string imsi, msisdn;
  uint32_t ueIp = 0;
  uint32_t peerIp = 0;
  uint32_t dlTeid = 0;
  std::optional<uint8_t> qfi;
  std::string gate;  // pinned to this gate; empty: placed by policy
};

struct SessionFilter {
  std::string gate;
  std::string imsi;
  std::optional<uint32_t> ueIp;
  size_t limit = 0;  // 0: all
};

enum class LostGatePolicy { kReplace, kKeep };

struct SessionManagerOptions {
  std::chrono::seconds quarantine{60};  // how long a freed TEID is held back (0: not at all)
  size_t batch = 64;                    // sessions per transaction (etcd: max-txn-ops / 2)
  LostGatePolicy lostGate = LostGatePolicy::kReplace;
  uint64_t seed = 0;                    // 0: from std::random_device
};

struct CreateResult {
  std::vector<Session> created;
  Status status;  // not ok: created holds the sessions written before the failure
};

class SessionManager {
 public:
  SessionManager(store::Store& s, StateCache& cache, SessionManagerOptions opts);

  // Checks every spec first (nothing is written when one is invalid).
  CreateResult create(const std::vector<SessionSpec>& specs);
  Result<Session> move(uint32_t teid, uint32_t peerIp, uint32_t dlTeid, std::optional<uint8_t> qfi);
  Status remove(uint32_t teid);
  Result<Session> get(uint32_t teid);
  std::vector<Session> list(const SessionFilter& f) const;

  // Moves the unpinned sessions of `gate` to live gates (least sessions). Returns how many
  // moved; a session another manager moved first is left to it.
  Result<size_t> replaceFrom(const std::string& gate);

  Status checkSpec(const SessionSpec& s) const;

 private:
  Result<store::LeaseId> quarantineLease();
  // The live gates and their session counts, for placement.
  std::vector<std::pair<std::string, size_t>> liveGates(const std::string& except = {}) const;

  // What this manager committed that the cache may not show yet: a create waits for the
  // cache outside mu_, so the next create can draw and place meanwhile. Under mu_; entries
  // at or below the cache's revision are dropped as they are read.
  struct Ahead {
    store::Revision revision;
    std::vector<uint32_t> teids;
    std::map<std::string, size_t> perGate;
  };
  void dropSeen(store::Revision cacheRevision);

  store::Store& store_;
  StateCache& cache_;
  SessionManagerOptions opts_;
  std::mutex mu_;
  std::deque<Ahead> ahead_;
  std::unordered_set<uint32_t> aheadTeids_;
  std::mt19937_64 rng_;
  store::LeaseId qLease_ = 0;
  std::chrono::steady_clock::time_point qLeaseAt_{};
};

}  // namespace roamgate::control
