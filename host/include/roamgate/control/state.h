// The desired state as this process sees it: every object under /roamgate/v1/, read once and
// then followed through the store's watch (StateFollower: a compaction means a re-read, never
// a skip). Listeners hear each change after it is applied; the appliance programmers and the
// session manager's placement read it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "roamgate/control/objects.h"
#include "roamgate/store/follower.h"
#include "roamgate/store/store.h"

namespace roamgate::control {

struct StateSnapshot {
  std::map<std::string, Appliance> appliances;
  std::set<std::string> live;                 // appliances whose roamd holds its lease
  std::map<uint32_t, Gateway> gateways;       // by id
  std::map<uint32_t, Session> sessions;       // by TEID
  std::map<std::string, size_t> sessionsPerGate;
  std::set<uint32_t> quarantined;
  std::map<std::string, Service> services;    // by name
  std::map<std::string, SubscriberPolicy> policies;  // by name
  std::map<std::string, std::string> assignments;    // IMSI -> policy name
  store::Revision revision = 0;
  uint64_t badObjects = 0;  // values that did not parse (logged, skipped)
};

// What changed, for listeners. `reset` is true after a (re-)read: listeners then compare
// the whole state rather than these lists.
struct StateChange {
  bool reset = false;
  std::vector<uint32_t> sessionsPut, sessionsDeleted;
  bool gatewaysChanged = false;
  bool appliancesChanged = false;
  std::vector<std::string> servicesPut, servicesDeleted;  // by name
  bool policiesChanged = false;  // a policy or a subscriber's assignment
  std::vector<std::string> wentDown, cameUp;
  store::Revision revision = 0;
};

class StateCache : private store::StateFollower::Handler {
 public:
  using Listener = std::function<void(const StateSnapshot&, const StateChange&)>;

  explicit StateCache(store::Store& s) : follower_(s, kRoot) {}

  Status start();
  // Waits up to `timeout` for changes and applies them (call from one thread).
  Status poll(std::chrono::milliseconds timeout);
  // Blocks until the cache has seen revision `rev` (or the timeout passes).
  bool waitFor(store::Revision rev, std::chrono::milliseconds timeout);

  // Listeners run on the polling thread, with the state locked for reading.
  int addListener(Listener l);
  void removeListener(int id);
  // Runs `f` on the current state under the lock.
  template <class F>
  auto read(F&& f) const {
    std::lock_guard lk(mu_);
    return f(state_);
  }
  store::Revision revision() const;
  uint64_t resyncs() const { return follower_.resyncs(); }

  // Sessions this process is about to write, each with the exact text it writes. A change
  // carrying that text byte for byte takes the session from here instead of parsing it
  // (reading 10,000 sessions back was a third of the cache's work in a create). forget()
  // drops what no change took (a transaction that failed, or one already read).
  void expect(std::vector<std::pair<std::string, Session>> written);
  void forget(const std::vector<uint32_t>& teids);

 private:
  void reset(const store::Range& r) override;
  void apply(const std::vector<store::Event>& ev) override;
  void applyOne(const store::KeyValue& kv, bool deleted, StateChange& ch);
  void notify(const StateChange& ch);

  store::StateFollower follower_;
  mutable std::mutex mu_;
  std::condition_variable advanced_;
  StateSnapshot state_;
  std::map<int, Listener> listeners_;
  int nextListener_ = 0;
  std::unordered_map<uint32_t, std::pair<std::string, Session>> expected_;  // by TEID
};

}  // namespace roamgate::control
