#include "roamgate/control/session_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "roamgate/addr.h"

namespace roamgate::control {

using store::Compare;
using store::Txn;
using store::TxnOp;

SessionManager::SessionManager(store::Store& s, StateCache& cache, SessionManagerOptions opts)
    : store_(s), cache_(cache), opts_(opts),
      rng_(opts.seed ? opts.seed : (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}()) {
  if (opts_.batch == 0) opts_.batch = 1;
}

Status SessionManager::checkSpec(const SessionSpec& s) const {
  if (s.imsi.empty()) {
    return Status::error(StatusCode::kInvalidArgument, "a session needs an IMSI (1-15 digits)");
  }
  if (Status st = checkDigits("IMSI", s.imsi, 15); !st) return st;
  if (Status st = checkDigits("MSISDN", s.msisdn, 15); !st) return st;
  if (Status st = checkUnicastIpv4("terminal address", s.ueIp); !st) return st;
  if (Status st = checkUnicastIpv4("downlink peer", s.peerIp); !st) return st;
  if (s.dlTeid == 0) {
    return Status::error(StatusCode::kInvalidArgument, "downlink TEID 0 is reserved (1..0xffffffff)");
  }
  if (s.qfi && *s.qfi > 63) {
    return Status::error(StatusCode::kInvalidArgument,
                         "QFI " + std::to_string(*s.qfi) + " is not 0..63");
  }
  if (!s.gate.empty()) {
    bool known = cache_.read([&](const StateSnapshot& st) {
      auto a = st.appliances.find(s.gate);
      return a != st.appliances.end() && a->second.role == Role::kGate;
    });
    if (!known) {
      return Status::error(StatusCode::kNotFound, "no gate appliance '" + s.gate + "'");
    }
    bool live = cache_.read([&](const StateSnapshot& st) { return st.live.count(s.gate) > 0; });
    if (!live) {
      return Status::error(StatusCode::kUnavailable,
                           "gate '" + s.gate + "' is down (its roamd holds no lease)");
    }
  }
  return {};
}

std::vector<std::pair<std::string, size_t>> SessionManager::liveGates(
    const std::string& except) const {
  return cache_.read([&](const StateSnapshot& st) {
    std::vector<std::pair<std::string, size_t>> out;
    std::set<std::string> withGateway;
    for (auto& [id, g] : st.gateways) withGateway.insert(g.gate);
    for (auto& [name, a] : st.appliances) {
      if (a.role != Role::kGate || name == except || !st.live.count(name)) continue;
      if (!withGateway.count(name)) continue;  // steers cannot reach it yet
      auto c = st.sessionsPerGate.find(name);
      size_t n = c == st.sessionsPerGate.end() ? 0 : c->second;
      for (const Ahead& a : ahead_) {  // committed here, not in this snapshot yet
        if (a.revision <= st.revision) continue;
        auto p = a.perGate.find(name);
        if (p != a.perGate.end()) n += p->second;
      }
      out.emplace_back(name, n);
    }
    return out;
  });
}

void SessionManager::dropSeen(store::Revision cacheRevision) {
  while (!ahead_.empty() && ahead_.front().revision <= cacheRevision) {
    for (uint32_t t : ahead_.front().teids) aheadTeids_.erase(t);
    ahead_.pop_front();
  }
}

// Least sessions; ties go to the first name, so placement is deterministic for a state.
static std::string leastLoaded(std::vector<std::pair<std::string, size_t>>& gates) {
  auto it = std::min_element(gates.begin(), gates.end(),
                             [](auto& a, auto& b) { return a.second < b.second; });
  ++it->second;
  return it->first;
}

Result<store::LeaseId> SessionManager::quarantineLease() {
  auto now = std::chrono::steady_clock::now();
  // One lease serves the deletes of one second: each TEID rests at least `quarantine`.
  if (qLease_ != 0 && now - qLeaseAt_ < std::chrono::seconds(1)) return qLease_;
  Result<store::LeaseId> l = store_.grantLease(opts_.quarantine + std::chrono::seconds(1));
  if (!l.ok()) return l.status();
  qLease_ = *l;
  qLeaseAt_ = now;
  return qLease_;
}

CreateResult SessionManager::create(const std::vector<SessionSpec>& specs) {
  CreateResult out;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (Status st = checkSpec(specs[i]); !st) {
      out.status = specs.size() == 1
                       ? st
                       : Status::error(st.code(), "session " + std::to_string(i) + ": " + st.message());
      return out;
    }
  }
  std::unique_lock lk(mu_);
  dropSeen(cache_.revision());
  std::vector<std::pair<std::string, size_t>> gates = liveGates();
  bool needPolicy = std::any_of(specs.begin(), specs.end(), [](auto& s) { return s.gate.empty(); });
  if (needPolicy && gates.empty()) {
    out.status = Status::error(StatusCode::kUnavailable,
                               "no live gate to place a session on (none holds a lease)");
    return out;
  }
  // TEIDs drawn by this request: a batch's commit may not be in the cache when the next
  // batch draws.
  std::unordered_set<uint32_t> drawn;
  drawn.reserve(specs.size() + opts_.batch);
  store::Revision last = 0;
  for (size_t base = 0; base < specs.size(); base += opts_.batch) {
    size_t n = std::min(opts_.batch, specs.size() - base);
    bool done = false;
    for (int attempt = 0; attempt < 8 && !done; ++attempt) {
      auto gatesBefore = gates;
      std::string now = utcNow();
      // Not a session or quarantined in the cache, not committed here ahead of it, not drawn
      // before (the transaction's comparisons catch what another manager took meanwhile).
      std::vector<uint32_t> teids = cache_.read([&](const StateSnapshot& st) {
        std::vector<uint32_t> v(n);
        for (uint32_t& teid : v) {
          do {
            teid = static_cast<uint32_t>(rng_());
          } while (teid == 0 || st.sessions.count(teid) || st.quarantined.count(teid) ||
                   aheadTeids_.count(teid) || !drawn.insert(teid).second);
        }
        return v;
      });
      Txn t;
      t.compare.reserve(2 * n);
      t.success.reserve(n);
      std::vector<Session> made;
      made.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        const SessionSpec& sp = specs[base + i];
        uint32_t teid = teids[i];
        Session s;
        s.teid = teid;
        s.imsi = sp.imsi;
        s.msisdn = sp.msisdn;
        s.ueIp = sp.ueIp;
        s.peerIp = sp.peerIp;
        s.dlTeid = sp.dlTeid;
        s.qfi = sp.qfi;
        s.pinned = !sp.gate.empty();
        s.gate = s.pinned ? sp.gate : leastLoaded(gates);
        if (s.pinned) {
          for (auto& g : gates) g.second += g.first == s.gate;
        }
        s.created = s.modified = now;
        std::string key = sessionKey(teid);
        t.compare.push_back(Compare::absent(key));
        t.compare.push_back(Compare::absent(quarantineKey(teid)));
        t.success.push_back(TxnOp::put(std::move(key), toJson(s)));
        made.push_back(std::move(s));
      }
      std::vector<std::pair<std::string, Session>> written;
      written.reserve(n);
      for (size_t i = 0; i < n; ++i) written.emplace_back(t.success[i].value, made[i]);
      cache_.expect(std::move(written));
      Result<store::TxnResult> r = store_.txn(t);
      if (!r.ok() || !r->succeeded) cache_.forget(teids);
      if (!r.ok()) {
        out.status = r.status();
        if (!out.created.empty()) {
          out.status = Status::error(r.code(), "created " + std::to_string(out.created.size()) +
                                                   " of " + std::to_string(specs.size()) +
                                                   " sessions: " + r.status().message());
        }
        return out;
      }
      if (r->succeeded) {
        Ahead a{r->revision, std::move(teids), {}};
        for (Session& s : made) {
          ++a.perGate[s.gate];
          s.revision = r->revision;
          out.created.push_back(std::move(s));
        }
        aheadTeids_.insert(a.teids.begin(), a.teids.end());
        ahead_.push_back(std::move(a));
        last = r->revision;
        done = true;
      } else {
        // Another manager took one of these TEIDs (or quarantined it) since the cache saw it.
        gates = gatesBefore;
        spdlog::debug("session create: a TEID of the batch was taken meanwhile; new draw");
      }
    }
    if (!done) {
      out.status = Status::error(StatusCode::kAborted,
                                 "created " + std::to_string(out.created.size()) + " of " +
                                     std::to_string(specs.size()) +
                                     " sessions: 8 draws of TEIDs all collided");
      return out;
    }
  }
  // Read-your-writes: list and get answer from the cache. Waited for outside mu_, so that
  // another create draws, places and writes meanwhile (ahead_ stands in for what the cache
  // does not show yet).
  lk.unlock();
  if (last) cache_.waitFor(last, std::chrono::seconds(2));
  std::vector<uint32_t> mine;
  mine.reserve(out.created.size());
  for (const Session& s : out.created) mine.push_back(s.teid);
  cache_.forget(mine);  // none left, unless the cache re-read the store meanwhile
  return out;
}

Result<Session> SessionManager::get(uint32_t teid) {
  Result<store::Range> r = store_.get(sessionKey(teid));
  if (!r.ok()) return r.status();
  if (r->kvs.empty()) return Status::error(StatusCode::kNotFound, "no session " + teidStr(teid));
  Result<Session> s = sessionFromJson(r->kvs[0].value);
  if (!s.ok()) return s.status();
  s->revision = r->kvs[0].modRevision;
  return s;
}

std::vector<Session> SessionManager::list(const SessionFilter& f) const {
  return cache_.read([&](const StateSnapshot& st) {
    std::vector<Session> out;
    for (auto& [teid, s] : st.sessions) {
      if (!f.gate.empty() && s.gate != f.gate) continue;
      if (!f.imsi.empty() && s.imsi != f.imsi) continue;
      if (f.ueIp && s.ueIp != *f.ueIp) continue;
      out.push_back(s);
      if (f.limit && out.size() >= f.limit) break;
    }
    return out;
  });
}

Result<Session> SessionManager::move(uint32_t teid, uint32_t peerIp, uint32_t dlTeid,
                                     std::optional<uint8_t> qfi) {
  if (Status st = checkUnicastIpv4("downlink peer", peerIp); !st) return st;
  if (dlTeid == 0) {
    return Status::error(StatusCode::kInvalidArgument, "downlink TEID 0 is reserved (1..0xffffffff)");
  }
  if (qfi && *qfi > 63) {
    return Status::error(StatusCode::kInvalidArgument, "QFI " + std::to_string(*qfi) + " is not 0..63");
  }
  for (int attempt = 0; attempt < 8; ++attempt) {
    Result<Session> s = get(teid);
    if (!s.ok()) return s.status();
    Session n = *s;
    n.peerIp = peerIp;
    n.dlTeid = dlTeid;
    n.qfi = qfi;
    n.modified = utcNow();
    Txn t;
    t.compare.push_back(Compare::modRevisionIs(sessionKey(teid), s->revision));
    t.success.push_back(TxnOp::put(sessionKey(teid), toJson(n)));
    Result<store::TxnResult> r = store_.txn(t);
    if (!r.ok()) return r.status();
    if (r->succeeded) {
      n.revision = r->revision;
      cache_.waitFor(r->revision, std::chrono::seconds(2));
      return n;
    }
  }
  return Status::error(StatusCode::kAborted,
                       "session " + teidStr(teid) + " kept changing under 8 tries to move it");
}

Status SessionManager::remove(uint32_t teid) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    Result<store::Range> r = store_.get(sessionKey(teid));
    if (!r.ok()) return r.status();
    if (r->kvs.empty()) return Status::error(StatusCode::kNotFound, "no session " + teidStr(teid));
    Txn t;
    t.compare.push_back(Compare::modRevisionIs(sessionKey(teid), r->kvs[0].modRevision));
    t.success.push_back(TxnOp::del(sessionKey(teid)));
    if (opts_.quarantine.count() > 0) {
      std::lock_guard lk(mu_);
      Result<store::LeaseId> l = quarantineLease();
      if (!l.ok()) return l.status();
      t.success.push_back(TxnOp::put(quarantineKey(teid), "", *l));
    }
    Result<store::TxnResult> res = store_.txn(t);
    if (!res.ok() && res.code() == StatusCode::kNotFound) {
      qLease_ = 0;  // the quarantine lease ended early (a store restart): take a new one
      continue;
    }
    if (!res.ok()) return res.status();
    if (res->succeeded) {
      cache_.waitFor(res->revision, std::chrono::seconds(2));
      return {};
    }
  }
  return Status::error(StatusCode::kAborted,
                       "session " + teidStr(teid) + " kept changing under 8 tries to delete it");
}

Result<size_t> SessionManager::replaceFrom(const std::string& gate) {
  if (opts_.lostGate == LostGatePolicy::kKeep) return size_t{0};
  std::lock_guard lk(mu_);
  dropSeen(cache_.revision());
  std::vector<std::pair<std::string, size_t>> gates = liveGates(gate);
  std::vector<Session> victims = cache_.read([&](const StateSnapshot& st) {
    std::vector<Session> v;
    for (auto& [teid, s] : st.sessions) {
      if (s.gate == gate && !s.pinned) v.push_back(s);
    }
    return v;
  });
  if (victims.empty()) return size_t{0};
  if (gates.empty()) {
    return Status::error(StatusCode::kUnavailable,
                         "gate " + gate + " is down and no other gate is live: " +
                             std::to_string(victims.size()) + " sessions stay on it");
  }
  size_t moved = 0;
  std::string now = utcNow();
  for (size_t base = 0; base < victims.size(); base += opts_.batch) {
    size_t n = std::min(opts_.batch, victims.size() - base);
    auto gatesBefore = gates;
    Txn t;
    for (size_t i = 0; i < n; ++i) {
      Session s = victims[base + i];
      t.compare.push_back(Compare::modRevisionIs(sessionKey(s.teid), s.revision));
      s.gate = leastLoaded(gates);
      s.modified = now;
      t.success.push_back(TxnOp::put(sessionKey(s.teid), toJson(s)));
    }
    Result<store::TxnResult> r = store_.txn(t);
    if (!r.ok()) return r.status();
    if (r->succeeded) {
      moved += n;
      continue;
    }
    // Someone changed some of them (another roamd re-placing too): one at a time, skipping
    // those no longer on the lost gate.
    gates = gatesBefore;
    for (size_t i = 0; i < n; ++i) {
      Result<Session> cur = get(victims[base + i].teid);
      if (!cur.ok() || cur->gate != gate) continue;
      Session s = *cur;
      Txn one;
      one.compare.push_back(Compare::modRevisionIs(sessionKey(s.teid), s.revision));
      s.gate = leastLoaded(gates);
      s.modified = now;
      one.success.push_back(TxnOp::put(sessionKey(s.teid), toJson(s)));
      Result<store::TxnResult> r1 = store_.txn(one);
      if (r1.ok() && r1->succeeded) ++moved;
    }
  }
  return moved;
}

}  // namespace roamgate::control
