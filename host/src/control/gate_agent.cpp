// The gate appliance's agent. Desired: the appliance's configuration (access address, MAC,
// NAT addresses, next hops, punt limit) and, for every user session installed on it, the
// downlink tunnel of its session (peer and TEID, QFI). When a session moves (handover), the
// user sessions of its TEID get the new tunnel (moveTunnel: counters go on). The user
// sessions themselves come from the slow path (SlowPath: flow-miss punts decided, authorized
// by the store's policies, installed) or from an engineer's roamctl; they are found by a walk
// of the flow table (the flows of a TEID point at its ports). A reconciliation rebuilds the
// slow path from the device: the user sessions whose TEID is a session of this gate are
// restored (ports, authorizations, servers' counts), the others removed.
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "roamgate/addr.h"
#include "roamgate/control/agent.h"
#include "roamgate/control/health.h"
#include "roamgate/control/user_session_record.h"
#include "roamgate/dataplane/gate_tables.h"

namespace roamgate::control {
namespace {

using dataplane::GateTables;

struct Tunnel {
  uint32_t peer = 0, dlTeid = 0;
  std::optional<uint8_t> qfi;
  bool operator==(const Tunnel&) const = default;
};

class GateAgent : public Agent {
 public:
  GateAgent(Appliance a, DeviceOpener open, StateCache& cache, accounting::AccountingStore* records)
      : Agent(std::move(a), std::move(open), cache), acct_(records) {}
  ~GateAgent() override {
    stop();
    hc_.reset();  // its thread calls back into this agent: stopped before the members go
  }

 protected:
  Status attach(hal::Device& dev) override {
    t_ = std::make_unique<GateTables>(dev);
    Status st = t_->checkKernel();
    if (!st.ok() && st.code() != StatusCode::kUnavailable) {
      return Status::error(StatusCode::kInvalidArgument,
                           "appliance " + app_.name + " is a gate, but device " + app_.device +
                               " is not a gate kernel of this register map: " + st.message());
    }
    known_.clear();
    return st;
  }
  void detach() override {
    sp_.reset();
    t_.reset();
  }

  Status adopt(Appliance& a) override {
    dataplane::GateConfig cfg;
    if (Status st = t_->readConfig(cfg); !st) return st;
    if (a.ip == 0) a.ip = cfg.accessIp;
    if (a.mac == 0) a.mac = cfg.ownMac;
    bool anyNat = false;
    for (uint32_t ip : a.natIps) anyNat = anyNat || ip != 0;
    if (!anyNat) a.natIps = cfg.natIps;
    if (a.serviceNextHopMac == 0) a.serviceNextHopMac = cfg.svcNextHopMac;
    if (a.accessNextHopMac == 0) a.accessNextHopMac = cfg.accNextHopMac;
    if (a.punt.burst == 0) a.punt = {cfg.puntRate, cfg.puntBurst};
    return checkAdopted(a);
  }

  Status readStats(std::vector<std::pair<std::string, uint64_t>>& out) override {
    std::array<uint64_t, regs::gate::kStatCount> v;
    if (Status st = t_->readStats(v); !st) return st;
    namedCounters(regs::gate::kStatNames, v, out);
    return {};
  }

  std::optional<PuntSetup> puntSetup() const override {
    if (app_.ip == 0 || app_.mac == 0) return std::nullopt;
    PuntSetup p;
    p.hostBase = regs::gate::host::kBase;
    p.maxFrameBytes = regs::gate::kMaxFrameBytes;
    p.hk.mac = app_.mac;
    uint8_t access = uint8_t(regs::gate::IngressPort::kAccess);
    uint8_t service = uint8_t(regs::gate::IngressPort::kService);
    p.hk.addresses.push_back({app_.ip, access, true});  // G-PDUs and echo reach it
    for (uint32_t nat : app_.natIps) {
      if (nat != 0 && nat != app_.ip) p.hk.addresses.push_back({nat, service, false});
    }
    p.replyCode[access] = uint8_t(regs::gate::InjectPort::kAccessOut);
    p.replyCode[service] = uint8_t(regs::gate::InjectPort::kServiceOut);
    p.exportSlotsLog2 = 12;  // 4096 records
    return p;
  }

  uint64_t programmed() const override { return known_.size(); }

  ReconcileReport reconcile(StateCache& cache) override {
    auto t0 = std::chrono::steady_clock::now();
    ReconcileReport rep;
    std::map<uint32_t, Tunnel> want;
    rep.atRevision = cache.read([&](const StateSnapshot& s) {
      for (auto& [teid, ses] : s.sessions) {
        if (ses.gate == app_.name) want[teid] = {ses.peerIp, ses.dlTeid, ses.qfi};
      }
      return s.revision;
    });
    dataplane::GateConfig cfg;
    if (Status st = t_->readConfig(cfg); !st) return fail(rep, st);
    // Every flow (the walk also fills the flow mirror the slow path installs on).
    std::vector<GateTables::FlowEntry> flows;
    if (Status st = t_->listFlows(flows); !st) return fail(rep, st);
    // The ports of the flows and their tunnels (a port serves one session's flows).
    std::map<std::pair<uint8_t, uint16_t>, uint32_t> ports;
    for (auto& f : flows) ports[{f.addrIndex, f.port}] = f.key.teid;
    std::vector<std::pair<std::pair<uint8_t, uint16_t>, Tunnel>> moves;
    std::vector<dataplane::PortState> held;
    for (auto& [port, teid] : ports) {
      dataplane::PortState ps;
      if (Status st = t_->readPort(port.first, port.second, ps); !st) return fail(rep, st);
      if (!ps.valid) continue;
      held.push_back(ps);
      auto w = want.find(teid);
      if (w == want.end()) continue;  // not a session of this gate: the slow path removes it
      Tunnel have{ps.session.peerIp, ps.session.dlTeid, ps.session.qfi};
      if (have != w->second) moves.push_back({port, w->second});
    }
    uint64_t w0 = device()->writes();
    if (app_.ip != 0 && !sameConfig(cfg)) {
      applyConfig(cfg);
      if (Status st = t_->writeConfig(cfg); !st) return fail(rep, st);
      ++rep.wrong;
      ++rep.entryWrites;
    }
    for (auto& [port, tun] : moves) {
      if (Status st = t_->moveTunnel(port.first, port.second, tun.peer, tun.dlTeid, tun.qfi); !st) {
        return fail(rep, st);
      }
      ++rep.wrong;
      ++rep.entryWrites;
    }
    known_ = want;
    // The slow path, rebuilt from the store's catalog and what the device holds. Moved tunnels
    // are restored as they are now.
    for (auto& [port, tun] : moves) {
      for (auto& ps : held) {
        if (ps.session.addrIndex == port.first && ps.session.port == port.second) {
          ps.session.peerIp = tun.peer;
          ps.session.dlTeid = tun.dlTeid;
          ps.session.qfi = tun.qfi;
        }
      }
    }
    if (Status st = startSlowPath(cache, held, flows); !st) return fail(rep, st);
    rep.registerWrites = device()->writes() - w0;
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
  }

  Status applyChanges(StateCache& cache, const std::set<uint32_t>& teids, bool) override {
    // Sessions of this gate whose tunnel changed since it was last programmed. The state is
    // locked only to copy the tunnels out (the cache's thread waits while it is).
    std::vector<std::pair<uint32_t, std::optional<Tunnel>>> now;
    std::vector<std::pair<uint32_t, Terminal>> terminals;
    now.reserve(teids.size());
    cache.read([&](const StateSnapshot& s) {
      for (uint32_t teid : teids) {
        auto it = s.sessions.find(teid);
        if (it == s.sessions.end() || it->second.gate != app_.name) {
          now.emplace_back(teid, std::nullopt);
        } else {
          now.emplace_back(teid, Tunnel{it->second.peerIp, it->second.dlTeid, it->second.qfi});
          if (sp_) terminals.emplace_back(teid, terminalOf(it->second));
        }
      }
      return 0;
    });
    for (auto& [teid, term] : terminals) sp_->setSession(teid, std::move(term));
    std::map<uint32_t, Tunnel> moved;
    auto at = std::chrono::steady_clock::now();
    for (auto& [teid, t] : now) {
      if (!t) {
        if (known_.erase(teid) && sp_) {
          dirtyCounts_ = true;
          Status st = sp_->removeSession(teid, at);
          if (!st && st.code() == StatusCode::kUnavailable) return st;
          if (!st) spdlog::warn("gate {}: session {:#010x} ended: {}", app_.name, teid, st.message());
        }
        continue;
      }
      auto k = known_.find(teid);
      if (k == known_.end()) {
        known_.emplace(teid, *t);  // new here: no user session can exist for it yet
      } else if (k->second != *t) {
        moved[teid] = *t;
      }
    }
    if (moved.empty()) return {};
    std::vector<GateTables::FlowEntry> flows;
    if (Status st = t_->listFlows(flows, [&](const dataplane::FlowKey& k) {
          return moved.count(k.teid) > 0;
        });
        !st) {
      return st;
    }
    std::map<std::pair<uint8_t, uint16_t>, uint32_t> ports;
    for (auto& f : flows) ports[{f.addrIndex, f.port}] = f.key.teid;
    for (auto& [port, teid] : ports) {
      const Tunnel& t = moved[teid];
      Status st = t_->moveTunnel(port.first, port.second, t.peer, t.dlTeid, t.qfi);
      if (!st && st.code() != StatusCode::kNotFound) return st;
      ++tunnelsMoved_;
    }
    spdlog::info("gate {}: {} sessions moved, {} user sessions' tunnels rewritten", app_.name,
                 moved.size(), ports.size());
    for (auto& [teid, t] : moved) known_[teid] = t;
    return {};
  }

  Status applyCatalog(StateCache& cache) override {
    if (!sp_) return {};
    dirtyCounts_ = true;  // the servers' counts, published at the next tick
    return loadCatalog(cache);
  }

  void slowPrefetch(std::span<const dataplane::PuntedFrame> frames, size_t next) override {
    if (!sp_) return;
    sp_->prefetchAhead(frames.size(), next, [&](size_t j) {
      const dataplane::PuntedFrame& f = frames[j];
      if (f.reason != uint8_t(regs::gate::PuntReason::kFlowMiss)) return SlowPath::PuntRef{};
      return SlowPath::PuntRef{f.bytes, f.teid, f.innerOffset};
    });
  }

  PuntUse slowPunt(const dataplane::PuntedFrame& f, uint8_t& code) override {
    if (!sp_ || f.reason != uint8_t(regs::gate::PuntReason::kFlowMiss)) return PuntUse::kNotMine;
    PuntOutcome o = sp_->handle(f.bytes, f.teid, f.innerOffset, std::chrono::steady_clock::now(), f.timestamp);
    dirtyCounts_ = true;
    code = uint8_t(regs::gate::InjectPort::kUplink);
    return reinject(o) ? PuntUse::kReinject : PuntUse::kDrop;
  }

  void tick() override {
    if (!sp_) return;
    applyHealth();
    auto now = std::chrono::steady_clock::now();
    if (now - advancedAt_ >= std::chrono::milliseconds(100)) {
      advancedAt_ = now;
      uint64_t before = sp_->counters().ended;
      sp_->advance(now);
      dirtyCounts_ = dirtyCounts_ || sp_->counters().ended != before;
    }
    if (Status st = exports(now); !st) {
      spdlog::warn("gate {}: export records: {}", app_.name, st.message());
    }
    if (dirtyCounts_) {
      dirtyCounts_ = false;
      publishCounts();
    }
  }

  void publishCounts(std::optional<uint64_t> restored = std::nullopt) {
    std::vector<std::tuple<std::string, uint32_t, uint16_t, uint64_t>> counts;
    sp_->serverCounts(counts);
    std::map<std::string, uint64_t> byServer;
    for (auto& [svc, ip, port, n] : counts) byServer[svc + " " + serverStr(ip, port)] = n;
    publishSlowPath(sp_->counters().outcomes, sp_->userSessions(), restored, &byServer);
  }

  // The export ring's records: interims update their user session's record, final ones end
  // it (its entries removed, its port freed after the hold). The records are written, then
  // the ring's slots handed back.
  Status exports(std::chrono::steady_clock::time_point now) {
    dataplane::HostRings* r = rings();
    if (r && r->exportOn()) {
      exportBuf_.clear();
      if (Status st = r->pollExport(exportBuf_, 256, /*hold=*/true); !st) return st;
      for (const dataplane::ExportRecord& raw : exportBuf_) exported(dataplane::ExportRecordView::decode(raw), now);
      if (!exportBuf_.empty()) dirtyCounts_ = true;
    }
    if (!pending_.empty() && acct_) {
      Result<size_t> w = acct_->write(pending_);
      if (!w.ok()) return w.status();  // kept: written at the next tick, the slots still held
    }
    pending_.clear();  // written, or no accounting store to write them to
    if (r && r->exportOn() && !exportBuf_.empty()) return r->releaseExport();
    return {};
  }

  void exported(const dataplane::ExportRecordView& v, std::chrono::steady_clock::time_point now) {
    namespace rg = regs::gate;
    if (v.reason != rg::ExportReason::kIdle && v.reason != rg::ExportReason::kClosed &&
        v.reason != rg::ExportReason::kInterim) {
      return;
    }
    const UserSessionInfo* u = v.addrIndex < 4 ? sp_->find(v.addrIndex, v.port) : nullptr;
    bool final = v.reason != rg::ExportReason::kInterim;
    if (!u || u->entry.gen != v.gen) {
      // Not a user session held now: one ended before a restart whose final record was read
      // but not written. Its open record is closed from this one.
      if (!final || !acct_ || v.addrIndex >= 4) return;
      auto open = acct_->findOpen(app_.name, app_.natIps[v.addrIndex], v.port);
      if (!open.ok() || !*open) return;
      accounting::Record rec = **open;
      counters(rec, v);
      rec.ended = clock_.utc(clock_.tsOfTick(v.lastSeen));
      rec.cause = v.reason == rg::ExportReason::kIdle ? "idle" : v.rst ? "rst" : "fin";
      pending_.push_back(std::move(rec));
      return;
    }
    uint32_t slot = uint32_t(v.addrIndex) << 16 | v.port;
    if (!final) {
      auto o = open_.find(slot);
      if (o == open_.end()) return;
      accounting::Record rec = o->second;
      counters(rec, v);
      rec.interims = ++o->second.interims;
      pending_.push_back(std::move(rec));
      return;
    }
    lastExport_ = v;
    EndCause cause = v.reason == rg::ExportReason::kIdle ? EndCause::kIdle : v.rst ? EndCause::kRst : EndCause::kFin;
    if (Status st = sp_->end(v.addrIndex, v.port, cause, now); !st) {
      spdlog::warn("gate {}: ending the user session on {}: {}", app_.name, dataplane::portStr(v.addrIndex, v.port),
                   st.message());
    }
    lastExport_.reset();
  }

  static void counters(accounting::Record& r, const dataplane::ExportRecordView& v) {
    r.ulPkts = v.ulPkts;
    r.ulBytes = v.ulBytes;
    r.dlPkts = v.dlPkts;
    r.dlBytes = v.dlBytes;
  }

  // A user session's record as it starts (or, re-targeted, goes on).
  void started(const UserSessionInfo& u) {
    uint32_t slot = uint32_t(u.entry.addrIndex) << 16 | u.entry.port;
    auto o = open_.find(slot);
    if (o != open_.end() && u.services.size() > 1) {
      o->second.services.assign(u.services.begin(), u.services.end());
      o->second.servers.clear();
      for (auto [ip, port] : u.servers) o->second.servers.push_back(serverStr(ip, port));
      pending_.push_back(o->second);
      return;
    }
    accounting::Record r = userSessionRecord(u, app_.name, app_.natIps[u.entry.addrIndex], clock_);
    open_[slot] = r;
    pending_.push_back(std::move(r));
  }

  void ended(const UserSessionInfo& u, EndCause cause) {
    uint32_t slot = uint32_t(u.entry.addrIndex) << 16 | u.entry.port;
    auto o = open_.find(slot);
    accounting::Record r;
    if (o != open_.end()) {
      r = std::move(o->second);
      open_.erase(o);
    } else {
      r = userSessionRecord(u, app_.name, app_.natIps[u.entry.addrIndex], clock_);
    }
    if (lastExport_) {
      counters(r, *lastExport_);
      r.ended = clock_.utc(clock_.tsOfTick(lastExport_->lastSeen));
    } else {
      // Ended by the host (session deleted, deny time up): the counters as the port holds them.
      dataplane::PortState ps;
      if (t_ && t_->readPort(u.entry.addrIndex, u.entry.port, ps).ok()) {
        r.ulPkts = ps.ulPkts;
        r.ulBytes = ps.ulBytes;
        r.dlPkts = ps.dlPkts;
        r.dlBytes = ps.dlBytes;
      }
      uint64_t ts = 0;
      r.ended = t_ && t_->readTime(ts).ok() ? clock_.utc(ts) : utcNow();
    }
    r.cause = endCauseName(cause);
    pending_.push_back(std::move(r));
  }

 private:
  static Terminal terminalOf(const Session& s) {
    return Terminal{s.imsi, s.msisdn, s.ueIp, s.peerIp, s.dlTeid, s.qfi};
  }

  // Services and policies from the store. A subscriber assigned a policy that does not exist
  // (deleted since) falls back to "default"; said once per change.
  Status loadCatalog(StateCache& cache) {
    std::vector<Service> services;
    std::vector<SubscriberPolicy> policies;
    std::map<std::string, std::string> assignments;
    size_t dangling = 0;
    cache.read([&](const StateSnapshot& s) {
      for (auto& [name, svc] : s.services) services.push_back(svc);
      for (auto& [name, p] : s.policies) policies.push_back(p);
      for (auto& [imsi, p] : s.assignments) {
        if (s.policies.count(p)) assignments.emplace(imsi, p);
        else ++dangling;
      }
      return 0;
    });
    if (dangling) {
      spdlog::warn("gate {}: {} subscribers are assigned a policy that does not exist: they get "
                   "policy 'default'", app_.name, dangling);
    }
    if (Status st = auth_.setPolicies(std::move(policies), std::move(assignments)); !st) return st;
    if (Status st = sp_->setServices(services); !st) return st;
    syncChecks(services);
    return {};
  }

  // The health checks the services ask for, one per (service, server): added, kept (their state
  // given to the slow path again, which took the stored servers as up) or removed.
  void syncChecks(const std::vector<Service>& services) {
    if (!hc_) {
      auto hc = HealthChecker::create([this](const HealthTransition& t) {
        std::lock_guard lk(hmu_);
        transitions_.push_back(t);
      });
      if (!hc.ok()) {
        spdlog::error("gate {}: no health checks: {}", app_.name, hc.status().message());
        return;
      }
      hc_ = std::move(*hc);
      if (Status st = hc_->start(); !st) spdlog::error("gate {}: health checks: {}", app_.name, st.message());
    }
    std::map<std::tuple<std::string, uint32_t, uint16_t>, std::string> want;
    for (const Service& svc : services) {
      if (svc.check.empty()) continue;
      for (const Server& v : svc.servers) want[{svc.name, v.ip, v.port}] = svc.check;
    }
    for (auto it = checks_.begin(); it != checks_.end();) {
      auto w = want.find(it->first);
      if (w != want.end() && w->second == it->second.second) {
        ++it;
        continue;
      }
      (void)hc_->remove(it->second.first);
      checkIds_.erase(it->second.first);
      it = checks_.erase(it);
    }
    for (auto& [key, spec] : want) {
      auto& [svc, ip, port] = key;
      auto have = checks_.find(key);
      Health h = Health::kDown;
      if (have == checks_.end()) {
        Result<HealthCheckConfig> cfg = parseCheckSpec(spec);
        if (!cfg.ok()) continue;  // checkService refused it before it was stored
        uint64_t id = ++nextCheck_;
        if (Status st = hc_->add(id, HealthTarget{ip, port, 0}, *cfg); !st) {
          spdlog::warn("gate {}: health check of {} in {}: {}", app_.name, serverStr(ip, port), svc, st.message());
          continue;
        }
        checks_[key] = {id, spec};
        checkIds_[id] = key;
        h = cfg->initial;
      } else if (auto c = hc_->counters(have->second.first); c.ok()) {
        h = c->state;
      }
      (void)sp_->setHealth(svc, ip, port, h);
    }
  }

  void applyHealth() {
    std::vector<HealthTransition> ts;
    {
      std::lock_guard lk(hmu_);
      ts.swap(transitions_);
    }
    for (const HealthTransition& t : ts) {
      auto k = checkIds_.find(t.id);
      if (k == checkIds_.end()) continue;
      auto& [svc, ip, port] = k->second;
      spdlog::info("gate {}: server {} of {} is {}: {}", app_.name, serverStr(ip, port), svc,
                   t.state == Health::kUp ? "up" : "down", t.reason);
      (void)sp_->setHealth(svc, ip, port, t.state);
    }
  }

  Status startSlowPath(StateCache& cache, const std::vector<dataplane::PortState>& held,
                       const std::vector<GateTables::FlowEntry>& flows) {
    sp_.reset();
    bool anyNat = false;
    for (uint32_t ip : app_.natIps) anyNat = anyNat || ip != 0;
    if (!anyNat || app_.ip == 0) {
      spdlog::warn("gate {}: no gate address or access address: flow misses are not decided",
                   app_.name);
      return {};
    }
    SlowPathOptions so;
    so.ports.hold = std::chrono::seconds(app_.portHoldSeconds);
    so.ports.quota = app_.portQuota;
    so.addressFiltering = app_.addressFiltering;
    auto sp = SlowPath::create(*t_, auth_, app_.natIps, so);
    if (!sp.ok()) return sp.status();
    sp_ = std::move(*sp);
    sp_->onStarted([this](const UserSessionInfo& u) { started(u); });
    sp_->onEnded([this](const UserSessionInfo& u, EndCause c) { ended(u, c); });
    open_.clear();
    pending_.clear();
    dataplane::GateConfig cfg;
    if (Status st = t_->readConfig(cfg); !st) return st;
    clock_.shift = cfg.tickShift;
    if (Status st = t_->readTime(clock_.ts0); !st) return st;
    clock_.utc0 = std::chrono::system_clock::now();
    spdlog::info("gate {}: kernel timestamp {} is {} ({} MHz, a tick {} timestamps); idle after {} ms, "
                 "interim records every {} ms", app_.name, clock_.ts0, clock_.utc(clock_.ts0),
                 KernelClock::kHz / 1e6, 1u << clock_.shift, app_.idleMs, app_.interimMs);
    // The scanner as the appliance says (written only when it differs: a restart rewrites nothing).
    bool on = false;
    uint32_t idle = 0, interim = 0;
    uint32_t wantIdle = clock_.ticks(app_.idleMs), wantInterim = app_.interimMs ? clock_.ticks(app_.interimMs) : 0;
    if (Status st = t_->readScanner(on, idle, interim); !st) return st;
    if (!on || idle != wantIdle || interim != wantInterim) {
      if (Status st = t_->setScanner(true, wantIdle, wantInterim); !st) return st;
    }
    if (Status st = loadCatalog(cache); !st) {
      spdlog::error("gate {}: the catalog: {}", app_.name, st.message());
    }
    cache.read([&](const StateSnapshot& s) {
      for (auto& [teid, ses] : s.sessions) {
        if (ses.gate == app_.name) sp_->setSession(teid, terminalOf(ses));
      }
      return 0;
    });
    size_t restored = 0;
    Status st = sp_->restore(held, flows, std::chrono::steady_clock::now(), &restored);
    // Their open records go on (a user session restored without one gets one now).
    for (const dataplane::PortState& ps : held) {
      const UserSessionInfo* u = sp_->find(ps.session.addrIndex, ps.session.port);
      if (!u) continue;
      uint32_t slot = uint32_t(ps.session.addrIndex) << 16 | ps.session.port;
      std::optional<accounting::Record> open;
      if (acct_) {
        auto r = acct_->findOpen(app_.name, app_.natIps[ps.session.addrIndex], ps.session.port);
        if (r.ok() && *r && (*r)->id.find("/g" + std::to_string(u->entry.gen) + "/") != std::string::npos) open = **r;
      }
      if (open) {
        open_[slot] = std::move(*open);
      } else {
        started(*u);
      }
    }
    if (Status w = exports(std::chrono::steady_clock::now()); !w) {
      spdlog::warn("gate {}: export records: {}", app_.name, w.message());
    }
    spdlog::info("gate {}: slow path: {} user sessions restored from the device", app_.name, restored);
    publishCounts(restored);
    return st;
  }

  bool sameConfig(const dataplane::GateConfig& c) const {
    return c.accessIp == app_.ip && c.ownMac == app_.mac &&
           c.svcNextHopMac == app_.serviceNextHopMac && c.accNextHopMac == app_.accessNextHopMac &&
           c.natIps == app_.natIps && c.puntRate == app_.punt.rate &&
           c.puntBurst == app_.punt.burst;
  }
  // Keeps what the appliance does not say (outer TTL, tick length).
  void applyConfig(dataplane::GateConfig& c) const {
    c.accessIp = app_.ip;
    c.ownMac = app_.mac;
    c.svcNextHopMac = app_.serviceNextHopMac;
    c.accNextHopMac = app_.accessNextHopMac;
    c.natIps = app_.natIps;
    c.puntRate = app_.punt.rate;
    c.puntBurst = app_.punt.burst;
  }
  ReconcileReport fail(ReconcileReport& r, Status st) {
    r.status = std::move(st);
    return r;
  }

  std::unique_ptr<GateTables> t_;
  accounting::AccountingStore* acct_;
  KernelClock clock_;
  std::unordered_map<uint32_t, accounting::Record> open_;  // by slot: records of live user sessions
  std::vector<accounting::Record> pending_;                // to write at the next tick
  std::vector<dataplane::ExportRecord> exportBuf_;
  std::optional<dataplane::ExportRecordView> lastExport_;  // the final record being applied
  LocalAuthorizer auth_;
  std::unique_ptr<SlowPath> sp_;
  // Health checks: by (service, server) their checker id and spec, and back.
  std::unique_ptr<HealthChecker> hc_;
  std::map<std::tuple<std::string, uint32_t, uint16_t>, std::pair<uint64_t, std::string>> checks_;
  std::map<uint64_t, std::tuple<std::string, uint32_t, uint16_t>> checkIds_;
  uint64_t nextCheck_ = 0;
  std::mutex hmu_;
  std::vector<HealthTransition> transitions_;
  bool dirtyCounts_ = false;
  std::chrono::steady_clock::time_point advancedAt_{};
  std::map<uint32_t, Tunnel> known_;  // sessions on this gate, with their tunnel as programmed
  uint64_t tunnelsMoved_ = 0;
};

}  // namespace

std::unique_ptr<Agent> makeGateAgent(Appliance a, DeviceOpener open, StateCache& cache,
                                     accounting::AccountingStore* records) {
  return std::make_unique<GateAgent>(std::move(a), std::move(open), cache, records);
}

}  // namespace roamgate::control
