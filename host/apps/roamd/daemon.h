// roamd's parts, wired: the store and this machine's lease, the state cache, the session
// manager, one agent per appliance, the lost-gate watcher, the API and the metrics.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config.h"
#include "roamgate/accounting/records.h"
#include "roamgate/control/agent.h"
#include "roamgate/control/session_manager.h"
#include "roamgate/control/state.h"
#include "roamgate/store/store.h"

namespace roamd {

class Daemon {
 public:
  explicit Daemon(Config cfg);
  ~Daemon();

  // Opens the store and takes the lease (kUnavailable when the store does not answer),
  // reads the state, starts the agents and the watchers.
  roamgate::Status start();
  void stop();

  const Config& config() const { return cfg_; }
  roamgate::store::Store& store() { return *store_; }
  roamgate::control::StateCache& cache() { return *cache_; }
  roamgate::accounting::AccountingStore* records() { return records_.get(); }
  roamgate::control::SessionManager& sessions() { return *manager_; }
  const std::vector<std::unique_ptr<roamgate::control::Agent>>& agents() const { return agents_; }
  roamgate::control::Agent* agent(const std::string& name);
  // Where the appliance's agent stands, for the ones the configuration names that did not
  // start (a role that could not be found).
  std::map<std::string, std::string> unstarted() const;
  uint64_t leaseRenewals() const { return leaseRenewals_; }
  uint64_t leaseLosses() const { return leaseLosses_; }
  uint64_t replaced() const { return replaced_; }
  roamgate::store::Revision storeRevision() const { return storeRevision_; }
  // The revision the store's history was last compacted to by this roamd (0: not yet).
  roamgate::store::Revision compactedTo() const { return compactedTo_; }

 private:
  void publish(const roamgate::control::Appliance& a);
  void keepAliveLoop();
  void cacheLoop();
  void lostGateLoop();
  void compactLoop();
  roamgate::Status grantLease();

  Config cfg_;
  std::unique_ptr<roamgate::store::Store> store_;
  std::unique_ptr<roamgate::accounting::AccountingStore> records_;
  std::unique_ptr<roamgate::control::StateCache> cache_;
  std::unique_ptr<roamgate::control::SessionManager> manager_;
  std::vector<std::unique_ptr<roamgate::control::Agent>> agents_;
  std::map<std::string, std::string> unstarted_;
  std::map<std::string, roamgate::control::Appliance> published_;  // for a re-announce
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  roamgate::store::LeaseId lease_ = 0;
  std::atomic<uint64_t> leaseRenewals_{0}, leaseLosses_{0}, replaced_{0};
  std::atomic<roamgate::store::Revision> storeRevision_{0}, compactedTo_{0};
  std::thread keepAlive_, cacheThread_, lostGate_, compact_;
};

}  // namespace roamd
