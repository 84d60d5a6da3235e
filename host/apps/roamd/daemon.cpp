#include "daemon.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include <cstdio>

#include "roamgate/addr.h"
#include "roamgate/regs/gate.h"
#include "roamgate/regs/steer.h"

namespace roamd {

using namespace std::chrono_literals;
using roamgate::Result;
using roamgate::Status;
using roamgate::StatusCode;
namespace control = roamgate::control;
namespace store = roamgate::store;
namespace hal = roamgate::hal;

Daemon::Daemon(Config cfg) : cfg_(std::move(cfg)) {}

Daemon::~Daemon() { stop(); }

control::Agent* Daemon::agent(const std::string& name) {
  for (auto& a : agents_) {
    if (a->appliance().name == name) return a.get();
  }
  return nullptr;
}

std::map<std::string, std::string> Daemon::unstarted() const { return unstarted_; }

Status Daemon::grantLease() {
  Result<store::LeaseId> l = store_->grantLease(std::chrono::seconds(cfg_.leaseTtl));
  if (!l.ok()) return l.status();
  lease_ = *l;
  return {};
}

Status Daemon::start() {
  store::StoreOptions so;
  so.spec = cfg_.store;
  Result<std::unique_ptr<store::Store>> s = store::openStore(so);
  if (!s.ok()) return s.status();
  store_ = std::move(*s);
  if (Status st = grantLease(); !st) return st;
  cache_ = std::make_unique<control::StateCache>(*store_);
  if (Status st = cache_->start(); !st) return st;
  bool gates = false;
  for (const ApplianceConfig& ac : cfg_.appliances) gates = gates || ac.app.role == control::Role::kGate || !ac.roleGiven;
  if (std::string path = accountingPath(cfg_); gates && !path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    auto r = roamgate::accounting::AccountingStore::open(path);
    if (!r.ok()) return r.status();
    records_ = std::move(*r);
    spdlog::info("accounting records in {}", path);
  }
  storeRevision_ = cache_->revision();
  control::SessionManagerOptions mo;
  mo.quarantine = std::chrono::seconds(cfg_.quarantine);
  mo.batch = batchFor(cfg_.store, cfg_.batch);
  mo.lostGate = cfg_.lostGate == "keep" ? control::LostGatePolicy::kKeep
                                         : control::LostGatePolicy::kReplace;
  manager_ = std::make_unique<control::SessionManager>(*store_, *cache_, mo);

  for (const ApplianceConfig& ac : cfg_.appliances) {
    control::Appliance a = ac.app;
    a.machine = cfg_.machine;
    hal::DeviceOptions dopts;
    dopts.spec = a.device;
    char t[32];
    std::snprintf(t, sizeof t, "%g", cfg_.deviceTimeout);
    dopts.timeout = t;
    control::DeviceOpener opener = [dopts] { return hal::openDevice(dopts); };
    if (!ac.roleGiven) {
      // The role is the kernel's: ask the device once now.
      hal::OpenResult r = opener();
      uint32_t id = 0;
      Status st = r.device ? r.device->read32(0, id) : Status::error(StatusCode::kUnavailable, r.message);
      if (st.ok() && id == roamgate::regs::gate::kKernelId) {
        a.role = control::Role::kGate;
      } else if (st.ok() && id == roamgate::regs::steer::kKernelId) {
        a.role = control::Role::kSteer;
      } else {
        std::string why = st.ok() ? "holds no steer or gate kernel (id " + roamgate::teidStr(id) + ")"
                                  : st.message();
        unstarted_[a.name] = "role not set and the device cannot tell it: " + why;
        spdlog::error("appliance {}: {}; set its role (--set {}.role=steer|gate)", a.name,
                      unstarted_[a.name], a.name);
        continue;
      }
    }
    uint64_t steerMac = ac.steerNextHopMac;
    std::unique_ptr<control::Agent> agent =
        a.role == control::Role::kSteer ? control::makeSteerAgent(a, opener, *cache_)
                                        : control::makeGateAgent(a, opener, *cache_, records_.get());
    agent->onAttached([this, steerMac](const control::Appliance& app) {
      const control::Appliance& p = app;
      publish(p);
      if (p.role == control::Role::kGate && p.ip == 0) {
        spdlog::warn("gate {}: no address, so no gateway for the steers yet", p.name);
      } else if (p.role == control::Role::kGate) {
        // The gateway steers send its sessions to.
        control::Gateway g{p.gatewayId, p.name, p.ip, steerMac ? steerMac : p.mac};
        Result<store::Range> cur = store_->get(control::gatewayKey(g.id));
        if (cur.ok() && !cur->kvs.empty()) {
          Result<control::Gateway> old = control::gatewayFromJson(cur->kvs[0].value);
          if (old.ok() && old->gate != g.gate) {
            spdlog::error("gate {}: gateway id {} belongs to gate {}; give it another gateway_id",
                          g.gate, g.id, old->gate);
            return;
          }
          if (old.ok() && *old == g) return;
        }
        if (Result<store::Revision> r = store_->put(control::gatewayKey(g.id), control::toJson(g)); !r.ok()) {
          spdlog::error("gate {}: cannot publish gateway {}: {}", g.gate, g.id, r.status().message());
        }
      }
    });
    agent->onDetached([this](const control::Appliance& app) {
      {
        std::lock_guard lk(mu_);
        published_.erase(app.name);
      }
      Result<store::Revision> r = store_->del(control::liveKey(app.name));
      if (!r.ok()) spdlog::error("appliance {}: cannot withdraw its live key: {}", app.name, r.status().message());
    });
    agents_.push_back(std::move(agent));
  }
  cacheThread_ = std::thread([this] { cacheLoop(); });
  for (auto& a : agents_) a->start();
  keepAlive_ = std::thread([this] { keepAliveLoop(); });
  lostGate_ = std::thread([this] { lostGateLoop(); });
  if (cfg_.compactEvery > 0) compact_ = std::thread([this] { compactLoop(); });
  spdlog::info("roamd on {}: store {} at revision {}, {} appliances, lease {:x} ({} s)",
               cfg_.machine, store_->describe(), cache_->revision(), agents_.size(), lease_,
               cfg_.leaseTtl);
  return {};
}

void Daemon::publish(const control::Appliance& a) {
  std::lock_guard lk(mu_);
  published_[a.name] = a;
  store::Txn t;
  t.success.push_back(store::TxnOp::put(control::applianceKey(a.name), control::toJson(a)));
  t.success.push_back(store::TxnOp::put(control::liveKey(a.name),
                                        control::toJson(control::Liveness{cfg_.machine, control::utcNow()}),
                                        lease_));
  Result<store::TxnResult> r = store_->txn(t);
  if (!r.ok()) spdlog::error("appliance {}: cannot publish it: {}", a.name, r.status().message());
}

void Daemon::keepAliveLoop() {
  auto every = std::chrono::milliseconds(cfg_.leaseTtl * 1000 / 3);
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, every, [&] { return stop_; });
    if (stop_) break;
    store::LeaseId l = lease_;
    lk.unlock();
    Status st = store_->keepAlive(l);
    lk.lock();
    if (st.ok()) {
      ++leaseRenewals_;
      continue;
    }
    if (st.code() != StatusCode::kNotFound) {
      spdlog::warn("lease {:x}: renewal failed: {}", l, st.message());
      continue;
    }
    // The lease ran out (the store was away longer than its TTL): our appliances were marked
    // down. Take a new one and announce them again.
    ++leaseLosses_;
    spdlog::error("lease {:x} was lost: this machine's appliances were marked down; taking a new one", l);
    lk.unlock();
    Status g = grantLease();
    lk.lock();
    if (!g.ok()) {
      spdlog::error("cannot take a new lease: {}", g.message());
      continue;
    }
    std::vector<control::Appliance> again;
    for (auto& [n, a] : published_) again.push_back(a);
    lk.unlock();
    for (auto& a : again) publish(a);
    lk.lock();
  }
}

void Daemon::cacheLoop() {
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (stop_) return;
    }
    Status st = cache_->poll(200ms);
    if (!st.ok()) {
      spdlog::warn("store watch: {} (retrying)", st.message());
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, 500ms, [&] { return stop_; });
    }
    Result<store::Range> r = store_->get(control::kRoot);  // the store's revision, for the lag
    if (r.ok()) storeRevision_ = r->revision;
  }
}

void Daemon::lostGateLoop() {
  // A gate whose live key is gone (its roamd's lease ended, or its device is absent) for
  // the grace period has its unpinned sessions re-placed. Any roamd may do it: every move
  // is a compare-and-set, so two doing it at once never move a session twice.
  auto grace = std::chrono::seconds(cfg_.lostGrace ? cfg_.lostGrace : cfg_.leaseTtl);
  std::map<std::string, std::chrono::steady_clock::time_point> downSince;
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, 1s, [&] { return stop_; });
    if (stop_) break;
    lk.unlock();
    auto now = std::chrono::steady_clock::now();
    std::vector<std::string> down = cache_->read([](const control::StateSnapshot& s) {
      std::vector<std::string> d;
      for (auto& [name, a] : s.appliances) {
        if (a.role == control::Role::kGate && !s.live.count(name) && s.sessionsPerGate.count(name)) {
          d.push_back(name);
        }
      }
      return d;
    });
    std::map<std::string, std::chrono::steady_clock::time_point> next;
    for (const std::string& g : down) {
      auto it = downSince.find(g);
      next[g] = it == downSince.end() ? now : it->second;
      if (now - next[g] < grace) continue;
      Result<size_t> moved = manager_->replaceFrom(g);
      if (moved.ok() && *moved > 0) {
        replaced_ += *moved;
        spdlog::warn("gate {} is down: {} sessions re-placed on live gates", g, *moved);
      } else if (!moved.ok()) {
        spdlog::error("gate {} is down: {}", g, moved.status().message());
      }
    }
    downSince = std::move(next);
    lk.lock();
  }
}

void Daemon::compactLoop() {
  // Without it the store's history (every change, for the watches) grows with every session
  // created, moved and deleted. A watch more than `history` revisions behind re-reads the
  // state (StateFollower) instead. With etcd every roamd does it; a compaction another one
  // did first is no error.
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::seconds(cfg_.compactEvery), [&] { return stop_; });
    if (stop_) break;
    lk.unlock();
    store::Revision to = storeRevision_ - cfg_.history;
    if (to > compactedTo_) {
      auto t0 = std::chrono::steady_clock::now();
      Status st = store_->compact(to);
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (st.ok()) {
        spdlog::info("store compacted to revision {} ({} kept, {:.1f} ms)", to, cfg_.history, ms);
        compactedTo_ = to;
      } else if (st.code() == StatusCode::kCompacted) {
        spdlog::debug("store compaction to {}: {}", to, st.message());
        compactedTo_ = to;
      } else {
        spdlog::warn("store compaction to revision {}: {}", to, st.message());
      }
    }
    lk.lock();
  }
}

void Daemon::stop() {
  {
    std::lock_guard lk(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& a : agents_) a->stop();
  for (std::thread* t : {&keepAlive_, &cacheThread_, &lostGate_, &compact_}) {
    if (t->joinable()) t->join();
  }
  // The lease is left to run out: a restart within its TTL changes nothing for the data
  // plane or the placement of sessions.
  agents_.clear();
  manager_.reset();
  cache_.reset();
  store_.reset();
}

}  // namespace roamd
