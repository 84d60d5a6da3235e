#include "roamgate/control/agent.h"

#include <spdlog/spdlog.h>

#include "roamgate/result.h"

namespace roamgate::control {

const char* agentStateName(AgentState s) {
  switch (s) {
    case AgentState::kStarting: return "starting";
    case AgentState::kOk: return "ok";
    case AgentState::kAbsent: return "absent";
    case AgentState::kWrongKernel: return "wrong-kernel";
    case AgentState::kFailed: return "failed";
  }
  return "?";
}

Agent::Agent(Appliance a, DeviceOpener open, StateCache& cache)
    : app_(std::move(a)), open_(std::move(open)), cache_(cache) {
  listener_ = cache_.addListener([this](const StateSnapshot& s, const StateChange& ch) { onChange(s, ch); });
}

Agent::~Agent() {
  cache_.removeListener(listener_);
  stop();
}

void Agent::start() { thread_ = std::thread([this] { run(); }); }

void Agent::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

AgentStatus Agent::status() const {
  std::lock_guard lk(mu_);
  AgentStatus s = status_;
  if (dev_) {
    s.registerWrites = dev_->writes();
    s.registerReads = dev_->reads();
  }
  return s;
}

void Agent::onChange(const StateSnapshot&, const StateChange& ch) {
  // The cache's thread, with the state locked: note what changed, the agent's thread works.
  std::lock_guard lk(mu_);
  if (ch.reset) needReconcile_ = true;
  // Appended here, sorted on the agent's thread (the cache's thread is a create's slowest).
  dirty_.insert(dirty_.end(), ch.sessionsPut.begin(), ch.sessionsPut.end());
  dirty_.insert(dirty_.end(), ch.sessionsDeleted.begin(), ch.sessionsDeleted.end());
  gatewaysDirty_ = gatewaysDirty_ || ch.gatewaysChanged;
  catalogDirty_ = catalogDirty_ || ch.reset || ch.policiesChanged || !ch.servicesPut.empty() ||
                  !ch.servicesDeleted.empty();
  pendingRevision_ = ch.revision;
  cv_.notify_all();
}

ReconcileReport Agent::reconcileNow(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  uint64_t ticket = ++reconcileAsked_;
  needReconcile_ = true;
  cv_.notify_all();
  if (!reconciled_.wait_for(lk, timeout, [&] { return reconcileDone_ >= ticket || stop_; })) {
    ReconcileReport r;
    r.status = Status::error(StatusCode::kUnavailable,
                             "appliance " + app_.name + " did not reconcile within the time (" +
                                 std::string(agentStateName(status_.state)) + ": " +
                                 status_.detail + ")");
    return r;
  }
  return status_.lastReconcile;
}

Status Agent::checkAdopted(const Appliance& a) {
  if (a.ip == 0) {
    spdlog::warn("appliance {}: no address configured or on the device (set {}.ip)", a.name, a.name);
    return {};
  }
  return checkAppliance(a);
}

void Agent::publishSlowPath(const std::array<uint64_t, kPuntOutcomeCount>& outcomes,
                            uint64_t userSessions, std::optional<uint64_t> restored,
                            std::map<std::string, uint64_t>* serverSessions) {
  std::lock_guard lk(mu_);
  status_.slowPunts = outcomes;
  status_.userSessions = userSessions;
  if (restored) status_.userSessionsRestored = *restored;
  if (serverSessions) status_.serverSessions.swap(*serverSessions);
}

void Agent::startPunts() {
  std::optional<PuntSetup> ps = puntSetup();
  rings_.reset();
  hk_.reset();
  if (!ps) return;
  Result<Housekeeper> hk = Housekeeper::create(ps->hk);
  if (!hk.ok()) {
    spdlog::warn("appliance {}: punts are not answered: {}", app_.name, hk.status().message());
    return;
  }
  auto rings = std::make_unique<dataplane::HostRings>(*dev_, ps->hostBase, ps->maxFrameBytes);
  // Rings that are on are kept with their frames (a restarted roamd takes them over).
  if (Status st = rings->setup({}); !st) {
    spdlog::warn("appliance {}: punts are not answered: the host port's rings: {}", app_.name,
                 st.message());
    return;
  }
  if (ps->exportSlotsLog2 && !rings->exportOn()) {
    dataplane::RingConfig rc;
    rc.expSlotsLog2 = *ps->exportSlotsLog2;
    if (Status st = rings->setup(rc); !st) {
      spdlog::warn("appliance {}: no export ring: {}", app_.name, st.message());
    }
  }
  punt_ = *ps;
  hk_ = std::move(*hk);
  rings_ = std::move(rings);
  pool_.reserve(kPuntPoll);
  std::lock_guard lk(mu_);
  status_.puntLoop = true;
}

Status Agent::servePunts() {
  // A full poll is followed by another at once, up to 16 (1024 frames, the ring's default
  // size), so a burst is drained at the device's pace, not 64 frames every 20 ms.
  for (int round = 0; round < 16; ++round) {
    size_t n = 0;
    if (Status st = servePuntsOnce(n); !st) return st;
    if (n < kPuntPoll) break;
  }
  return {};
}

Status Agent::servePuntsOnce(size_t& n) {
  if (Status st = rings_->pollInto(pool_, n, kPuntPoll); !st) return st;
  if (n == 0) return {};
  uint64_t noPort = 0, injErr = 0;
  for (size_t i = 0; i < n; ++i) {
    slowPrefetch(std::span<const dataplane::PuntedFrame>(pool_.data(), n), i);
    const dataplane::PuntedFrame& f = pool_[i];
    uint8_t again = 0;
    PuntUse use = slowPunt(f, again);
    if (use == PuntUse::kReinject) {
      Status st = rings_->inject(f.bytes, again);
      if (!st) {
        if (st.code() == StatusCode::kUnavailable) return st;
        ++injErr;  // the inject ring is full: the terminal sends again
      }
    }
    if (use != PuntUse::kNotMine) continue;
    size_t len = 0;
    Verdict v = hk_->handle(f.bytes, f.ingress, reply_, len);
    if (!Housekeeper::replied(v)) continue;
    std::optional<uint8_t> code = f.ingress < punt_.replyCode.size() ? punt_.replyCode[f.ingress] : std::nullopt;
    if (!code) {
      ++noPort;
      continue;
    }
    Status st = rings_->inject(std::span<const uint8_t>(reply_.data(), len), *code);
    if (!st) {
      if (st.code() == StatusCode::kUnavailable) return st;
      ++injErr;  // the inject ring is full: the peer asks again
    }
  }
  std::lock_guard lk(mu_);
  status_.punts = hk_->counts();
  status_.repliesWithoutPort += noPort;
  status_.injectErrors += injErr;
  return {};
}

void Agent::lost(const Status& st) {
  spdlog::error("appliance {}: device {} stopped answering: {}", app_.name, app_.device, st.message());
  status_.state = AgentState::kAbsent;
  status_.detail = st.message();
  rings_.reset();
  hk_.reset();
  status_.puntLoop = false;
  detach();
  dev_.reset();
  needReconcile_ = true;
  if (detached_) detached_(app_);
}

bool Agent::openDevice() {
  hal::OpenResult r = open_();
  std::lock_guard lk(mu_);
  if (!r.device) {
    if (status_.state != AgentState::kAbsent || status_.detail != r.message) {
      spdlog::error("appliance {}: device {} unavailable: {}", app_.name, app_.device, r.message);
    }
    status_.state = r.failure == hal::OpenFailure::kBadImage ? AgentState::kWrongKernel
                                                             : AgentState::kAbsent;
    status_.detail = r.message;
    return false;
  }
  dev_ = std::make_unique<CountingDevice>(std::move(r.device));
  return true;
}

void Agent::houseWork() {
  using namespace std::chrono_literals;
  tick();
  if (rings_) {
    Status st = servePunts();
    if (!st.ok() && st.code() == StatusCode::kUnavailable) {
      std::lock_guard lk(mu_);
      lost(st);
      return;
    }
    if (!st.ok()) spdlog::warn("appliance {}: punt ring: {}", app_.name, st.message());
  }
  if (std::chrono::steady_clock::now() - statsAt_ >= 1s) {
    statsAt_ = std::chrono::steady_clock::now();
    std::vector<std::pair<std::string, uint64_t>> stats;
    Status st = readStats(stats);
    std::lock_guard lk(mu_);
    if (st.ok()) {
      status_.stats = std::move(stats);
    } else if (st.code() == StatusCode::kUnavailable) {
      lost(st);
      return;
    }
  }
}

void Agent::run() {
  using namespace std::chrono_literals;
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (stop_) break;
    }
    if (!dev_) {
      bool ok = openDevice();
      if (ok) {
        Status st = attach(*dev_);
        bool wrongKernel = !st.ok() && st.code() == StatusCode::kInvalidArgument;
        Appliance adopted = app_;
        if (st.ok()) st = adopt(adopted);  // a refusal here is the configuration's, not the kernel's
        std::lock_guard lk(mu_);
        if (!st.ok()) {
          if (status_.detail != st.message()) {
            spdlog::error("appliance {}: {}", app_.name, st.message());
          }
          status_.state = wrongKernel                               ? AgentState::kWrongKernel
                          : st.code() == StatusCode::kUnavailable ? AgentState::kAbsent
                                                                  : AgentState::kFailed;
          status_.detail = st.message();
          detach();
          dev_.reset();
          ok = false;
        } else {
          app_ = adopted;
          needReconcile_ = true;
          spdlog::info("appliance {}: {} on {}", app_.name, roleName(app_.role), dev_->describe());
        }
      }
      if (!ok) {
        std::unique_lock lk(mu_);
        cv_.wait_for(lk, 2s, [&] { return stop_; });
        continue;
      }
      if (attached_) attached_(app_);
      startPunts();
    }
    bool doReconcile;
    bool gateways, catalog;
    std::vector<uint32_t> dirtyList;
    store::Revision rev;
    uint64_t ticket;
    {
      std::unique_lock lk(mu_);
      // With a punt loop the thread wakes every 20 ms to poll the punt ring (one register read).
      cv_.wait_for(lk, rings_ ? std::chrono::milliseconds(20) : std::chrono::milliseconds(1000),
                   [&] { return stop_ || needReconcile_ || gatewaysDirty_ || catalogDirty_ || !dirty_.empty(); });
      if (stop_) break;
      doReconcile = needReconcile_;
      gateways = gatewaysDirty_;
      catalog = catalogDirty_ && !needReconcile_;  // a reconciliation reads the catalog too
      dirtyList.swap(dirty_);
      needReconcile_ = gatewaysDirty_ = catalogDirty_ = false;
      rev = pendingRevision_;
      ticket = reconcileAsked_;
    }
    if (catalog) {
      if (Status cs = applyCatalog(cache_); !cs) spdlog::error("appliance {}: {}", app_.name, cs.message());
    }
    if (!doReconcile && !gateways && dirtyList.empty()) {
      houseWork();
      continue;
    }
    std::set<uint32_t> dirty(dirtyList.begin(), dirtyList.end());
    Status st;
    if (doReconcile) {
      ReconcileReport rep = reconcile(cache_);
      st = rep.status;
      std::lock_guard lk(mu_);
      status_.lastReconcile = rep;
      if (rep.status.ok()) {
        status_.applied = rep.atRevision;
        spdlog::info("appliance {}: reconciled at revision {}: {} missing, {} stale, {} wrong, "
                     "{} entry writes, {} register writes, {:.3f} s",
                     app_.name, rep.atRevision, rep.missing, rep.stale, rep.wrong, rep.entryWrites,
                     rep.registerWrites, rep.seconds);
      } else {
        spdlog::error("appliance {}: reconciliation failed: {}", app_.name, rep.status.message());
      }
      reconcileDone_ = std::max(reconcileDone_, ticket);
      reconciled_.notify_all();
    } else {
      st = applyChanges(cache_, dirty, gateways);
      std::lock_guard lk(mu_);
      if (st.ok()) {
        status_.applied = std::max(status_.applied, rev);
      } else {
        ++status_.applyErrors;
        spdlog::error("appliance {}: {}", app_.name, st.message());
        needReconcile_ = true;  // start again from what the device holds
      }
    }
    {
      std::lock_guard lk(mu_);
      status_.programmed = programmed();
      if (st.ok()) {
        status_.state = AgentState::kOk;
        status_.detail.clear();
      } else if (st.code() == StatusCode::kUnavailable) {
        lost(st);
      } else {
        status_.state = AgentState::kFailed;
        status_.detail = st.message();
      }
    }
    if (dev_) houseWork();
  }
  std::lock_guard lk(mu_);
  reconciled_.notify_all();
}

}  // namespace roamgate::control
