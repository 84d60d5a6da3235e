// The steer appliance's agent. Desired: the appliance's configuration, one gateway table
// entry per gateway object, Maglev built from them, and one explicit entry per session
// (TEID -> the gateway id of its gate). Every steer programmed from one store holds the same
// table whatever order the changes came in: each write is the desired value of its entry,
// not a step relative to what came before.
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "roamgate/addr.h"
#include "roamgate/control/agent.h"
#include "roamgate/dataplane/maglev.h"
#include "roamgate/dataplane/steer_tables.h"

namespace roamgate::control {
namespace {

using dataplane::GatewayEntry;
using dataplane::SteerTables;
using GatewayArray = std::array<GatewayEntry, SteerTables::kGateways>;

struct Desired {
  GatewayArray gateways{};
  std::map<std::string, uint32_t> idOfGate;
  store::Revision revision = 0;
};

Desired desiredGateways(const StateSnapshot& s) {
  Desired d;
  for (uint32_t i = 0; i < SteerTables::kGateways; ++i) d.gateways[i].id = i;
  for (auto& [id, g] : s.gateways) {
    if (id >= SteerTables::kGateways) continue;
    d.gateways[id] = {id, true, g.ip, g.mac};
    d.idOfGate[g.gate] = id;
  }
  d.revision = s.revision;
  return d;
}

std::vector<uint8_t> maglevOf(const GatewayArray& gws) {
  std::vector<dataplane::MaglevBackend> backends;
  for (const GatewayEntry& g : gws) {
    if (g.valid) backends.push_back({g.ip, uint8_t(g.id)});
  }
  std::vector<uint8_t> t = dataplane::buildMaglev(backends, regs::steer::kMaglevEntries);
  if (t.empty()) t.assign(regs::steer::kMaglevEntries, 0);
  return t;
}

bool sameGateway(const GatewayEntry& a, const GatewayEntry& b) {
  if (a.valid != b.valid) return false;
  return !a.valid || (a.ip == b.ip && a.mac == b.mac);
}

class SteerAgent : public Agent {
 public:
  using Agent::Agent;
  ~SteerAgent() override { stop(); }

 protected:
  Status attach(hal::Device& dev) override {
    t_ = std::make_unique<SteerTables>(dev);
    Status st = t_->checkKernel();
    if (!st.ok() && st.code() != StatusCode::kUnavailable) {
      return Status::error(StatusCode::kInvalidArgument,
                           "appliance " + app_.name + " is a steer, but device " + app_.device +
                               " is not a steer kernel of this register map: " + st.message());
    }
    programmed_.clear();
    return st;
  }
  void detach() override { t_.reset(); }

  Status adopt(Appliance& a) override {
    dataplane::SteerConfig cfg;
    if (Status st = t_->readConfig(cfg); !st) return st;
    if (a.ip == 0) a.ip = cfg.ownIp;
    if (a.mac == 0) a.mac = cfg.ownMac;
    if (a.punt.burst == 0) a.punt = {cfg.puntRate, cfg.puntBurst};
    return checkAdopted(a);
  }

  Status readStats(std::vector<std::pair<std::string, uint64_t>>& out) override {
    std::array<uint64_t, regs::steer::kStatCount> v;
    if (Status st = t_->readStats(v); !st) return st;
    namedCounters(regs::steer::kStatNames, v, out);
    return {};
  }

  std::optional<PuntSetup> puntSetup() const override {
    if (app_.ip == 0 || app_.mac == 0) return std::nullopt;
    PuntSetup p;
    p.hostBase = regs::steer::host::kBase;
    p.maxFrameBytes = regs::steer::kMaxFrameBytes;
    p.hk.mac = app_.mac;
    p.hk.addresses.push_back({app_.ip, std::nullopt, true});
    p.replyCode[0] = uint8_t(regs::steer::InjectPort::kAccessOut);  // INGRESS 0: the access port
    return p;
  }

  uint64_t programmed() const override { return programmed_.size(); }

  ReconcileReport reconcile(StateCache& cache) override {
    auto t0 = std::chrono::steady_clock::now();
    ReconcileReport rep;
    // The session table's mirror (buckets read lazily and kept since) goes too: a table that
    // another hand wrote would otherwise be edited where the mirror remembers its entries.
    t_ = std::make_unique<SteerTables>(*device());
    // What the store wants, copied out under the cache's lock.
    std::map<uint32_t, std::string> sessions;
    Desired want = cache.read([&](const StateSnapshot& s) {
      for (auto& [teid, ses] : s.sessions) sessions.emplace_hint(sessions.end(), teid, ses.gate);
      return desiredGateways(s);
    });
    rep.atRevision = want.revision;
    // What the device holds.
    dataplane::SteerConfig cfg;
    GatewayArray have;
    std::vector<uint8_t> maglev;
    std::vector<dataplane::SessionEntry> entries;
    if (Status st = t_->readConfig(cfg); !st) return fail(rep, st);
    if (Status st = t_->readGateways(have); !st) return fail(rep, st);
    if (Status st = t_->readMaglev(maglev); !st) return fail(rep, st);
    if (Status st = t_->listSessions(entries); !st) return fail(rep, st);
    uint64_t w0 = device()->writes();

    // 1. Configuration.
    if (app_.ip != 0 && (cfg.ownIp != app_.ip || cfg.ownMac != app_.mac || cfg.puntRate != app_.punt.rate ||
        cfg.puntBurst != app_.punt.burst)) {
      cfg.ownIp = app_.ip;
      cfg.ownMac = app_.mac;
      cfg.puntRate = app_.punt.rate;
      cfg.puntBurst = app_.punt.burst;
      if (Status st = t_->writeConfig(cfg); !st) return fail(rep, st);
      ++rep.wrong;
      ++rep.entryWrites;
    }
    // 2. Gateways that are new or changed (before any session points at them).
    for (uint32_t id = 0; id < SteerTables::kGateways; ++id) {
      if (!want.gateways[id].valid || sameGateway(want.gateways[id], have[id])) continue;
      if (Status st = t_->writeGateway(want.gateways[id]); !st) return fail(rep, st);
      ++(have[id].valid ? rep.wrong : rep.missing);
      ++rep.entryWrites;
    }
    // 3. Sessions: missing or pointing elsewhere, then stale ones, in requests of many (a
    // power-cycled card gets every session back), all sent before Maglev changes.
    std::map<uint32_t, uint32_t> onDevice;
    for (auto& e : entries) onDevice[e.teid] = e.gateway;
    programmed_.clear();
    t_->holdSessionWrites();
    auto failHeld = [&](const Status& st) {
      (void)t_->flushSessionWrites();
      return fail(rep, st);
    };
    for (auto& [teid, gate] : sessions) {
      auto id = want.idOfGate.find(gate);
      if (id == want.idOfGate.end()) continue;  // its gate has no gateway yet
      auto it = onDevice.find(teid);
      if (it == onDevice.end() || it->second != id->second) {
        if (Status st = t_->insertSession(teid, id->second, true); !st) return failHeld(st);
        ++(it == onDevice.end() ? rep.missing : rep.wrong);
        ++rep.entryWrites;
      }
      programmed_[teid] = id->second;
    }
    for (auto& [teid, gw] : onDevice) {
      if (programmed_.count(teid)) continue;
      if (Status st = t_->removeSession(teid); !st) return failHeld(st);
      ++rep.stale;
      ++rep.entryWrites;
    }
    if (Status st = t_->flushSessionWrites(); !st) return fail(rep, st);
    // 4. Maglev from the desired gateways, then gateways no longer wanted.
    if (maglev != maglevOf(want.gateways)) {
      Status st = writeMaglev(want.gateways, have);
      if (!st) return fail(rep, st);
      ++rep.wrong;
      ++rep.entryWrites;
    }
    for (uint32_t id = 0; id < SteerTables::kGateways; ++id) {
      if (want.gateways[id].valid || !have[id].valid) continue;
      if (Status st = t_->writeGateway({id, false, 0, 0}); !st) return fail(rep, st);
      ++rep.stale;
      ++rep.entryWrites;
    }
    gateways_ = want.gateways;
    rep.registerWrites = device()->writes() - w0;
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
  }

  Status applyChanges(StateCache& cache, const std::set<uint32_t>& teids, bool gateways) override {
    if (gateways) {
      // Rare: new gates or changed addresses. Gateways first, sessions re-pinned, Maglev,
      // then gateways that went away.
      Desired want = cache.read([](const StateSnapshot& s) { return desiredGateways(s); });
      for (uint32_t id = 0; id < SteerTables::kGateways; ++id) {
        if (!want.gateways[id].valid || sameGateway(want.gateways[id], gateways_[id])) continue;
        if (Status st = t_->writeGateway(want.gateways[id]); !st) return st;
      }
      std::set<uint32_t> all = teids;
      for (auto& [teid, gw] : programmed_) all.insert(teid);
      if (Status st = applySessions(cache, all, want); !st) return st;
      if (maglevOf(want.gateways) != maglevOf(gateways_)) {
        if (Status st = writeMaglev(want.gateways, gateways_); !st) return st;
      }
      for (uint32_t id = 0; id < SteerTables::kGateways; ++id) {
        if (want.gateways[id].valid || !gateways_[id].valid) continue;
        if (Status st = t_->writeGateway({id, false, 0, 0}); !st) return st;
      }
      gateways_ = want.gateways;
      return {};
    }
    Desired want = cache.read([](const StateSnapshot& s) { return desiredGateways(s); });
    return applySessions(cache, teids, want);
  }

 private:
  Status applySessions(StateCache& cache, const std::set<uint32_t>& teids, const Desired& want) {
    std::vector<std::pair<uint32_t, std::optional<uint32_t>>> todo;
    cache.read([&](const StateSnapshot& s) {
      for (uint32_t teid : teids) {
        auto ses = s.sessions.find(teid);
        std::optional<uint32_t> id;
        if (ses != s.sessions.end()) {
          auto g = want.idOfGate.find(ses->second.gate);
          if (g != want.idOfGate.end()) id = g->second;
        }
        todo.emplace_back(teid, id);
      }
      return 0;
    });
    // Many changed sessions (a batch created) go to the device in a few requests.
    t_->holdSessionWrites();
    for (auto& [teid, id] : todo) {
      auto cur = programmed_.find(teid);
      Status st;
      if (id) {
        if (cur != programmed_.end() && cur->second == *id) continue;
        st = t_->insertSession(teid, *id, true);
        if (st) programmed_[teid] = *id;
      } else if (cur != programmed_.end()) {
        st = t_->removeSession(teid);
        if (st || st.code() == StatusCode::kNotFound) {
          programmed_.erase(cur);
          st = {};
        }
      }
      if (!st) {
        (void)t_->flushSessionWrites();  // the ones before it are right
        return st;
      }
    }
    return t_->flushSessionWrites();
  }

  // Maglev from `want`. rebuildMaglev builds from the gateways valid on the device and can
  // leave one out, so a gateway that leaves is left out of the table before it is made
  // invalid: hashed traffic never meets an invalid gateway. The new ones are already in.
  Status writeMaglev(const GatewayArray& want, const GatewayArray& have) {
    std::vector<uint32_t> leaving;
    for (uint32_t id = 0; id < SteerTables::kGateways; ++id) {
      if (!want[id].valid && have[id].valid) leaving.push_back(id);
    }
    if (leaving.size() <= 1) {
      std::optional<uint32_t> ex;
      if (!leaving.empty()) ex = leaving[0];
      return t_->rebuildMaglev(nullptr, ex);
    }
    // Several leave: each in turn is left out, then made invalid; the caller invalidates the last.
    for (size_t i = 0; i + 1 < leaving.size(); ++i) {
      if (Status st = t_->rebuildMaglev(nullptr, leaving[i]); !st) return st;
      if (Status st = t_->writeGateway({leaving[i], false, 0, 0}); !st) return st;
    }
    return t_->rebuildMaglev(nullptr, leaving.back());
  }

  ReconcileReport fail(ReconcileReport& r, Status st) {
    r.status = std::move(st);
    return r;
  }

  std::unique_ptr<SteerTables> t_;
  std::map<uint32_t, uint32_t> programmed_;  // TEID -> gateway id, as on the device
  GatewayArray gateways_{};                  // as on the device
};

}  // namespace

std::unique_ptr<Agent> makeSteerAgent(Appliance a, DeviceOpener open, StateCache& cache) {
  return std::make_unique<SteerAgent>(std::move(a), std::move(open), cache);
}

}  // namespace roamgate::control
