#include "roamgate/control/state.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>

namespace roamgate::control {

namespace {
bool startsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }
}  // namespace

Status StateCache::start() { return follower_.start(*this); }

Status StateCache::poll(std::chrono::milliseconds timeout) { return follower_.poll(*this, timeout); }

bool StateCache::waitFor(store::Revision rev, std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  return advanced_.wait_for(lk, timeout, [&] { return state_.revision >= rev; });
}

int StateCache::addListener(Listener l) {
  std::lock_guard lk(mu_);
  listeners_[++nextListener_] = std::move(l);
  return nextListener_;
}

void StateCache::removeListener(int id) {
  std::lock_guard lk(mu_);
  listeners_.erase(id);
}

store::Revision StateCache::revision() const {
  std::lock_guard lk(mu_);
  return state_.revision;
}

void StateCache::expect(std::vector<std::pair<std::string, Session>> written) {
  std::lock_guard lk(mu_);
  expected_.reserve(expected_.size() + written.size());
  for (auto& w : written) {
    uint32_t teid = w.second.teid;
    expected_.insert_or_assign(teid, std::move(w));
  }
}

void StateCache::forget(const std::vector<uint32_t>& teids) {
  std::lock_guard lk(mu_);
  if (expected_.empty()) return;
  for (uint32_t t : teids) expected_.erase(t);
}

void StateCache::applyOne(const store::KeyValue& kv, bool deleted, StateChange& ch) {
  const std::string& k = kv.key;
  StateSnapshot& s = state_;
  if (startsWith(k, kSessionsPrefix)) {
    std::optional<uint32_t> teid = teidOfKey(k, kSessionsPrefix);
    if (!teid) return;
    auto old = s.sessions.find(*teid);
    if (old != s.sessions.end()) {
      if (--s.sessionsPerGate[old->second.gate] == 0) s.sessionsPerGate.erase(old->second.gate);
      s.sessions.erase(old);
    }
    if (deleted) {
      ch.sessionsDeleted.push_back(*teid);
      return;
    }
    Result<Session> ses = [&]() -> Result<Session> {
      auto hint = expected_.find(*teid);
      if (hint == expected_.end() || hint->second.first != kv.value) return sessionFromJson(kv.value);
      Session written = std::move(hint->second.second);
      expected_.erase(hint);
      return written;
    }();
    if (!ses.ok() || ses->teid != *teid) {
      ++s.badObjects;
      spdlog::warn("store key {}: {}", k, ses.ok() ? "TEID differs from the key" : ses.status().message());
      ch.sessionsDeleted.push_back(*teid);
      return;
    }
    ses->revision = kv.modRevision;
    ++s.sessionsPerGate[ses->gate];
    s.sessions[*teid] = std::move(*ses);
    ch.sessionsPut.push_back(*teid);
  } else if (startsWith(k, kQuarantinePrefix)) {
    std::optional<uint32_t> teid = teidOfKey(k, kQuarantinePrefix);
    if (!teid) return;
    if (deleted) s.quarantined.erase(*teid);
    else s.quarantined.insert(*teid);
  } else if (startsWith(k, kGatewaysPrefix)) {
    ch.gatewaysChanged = true;
    uint32_t id = static_cast<uint32_t>(std::atoi(k.c_str() + std::strlen(kGatewaysPrefix)));
    if (deleted) {
      s.gateways.erase(id);
      return;
    }
    Result<Gateway> g = gatewayFromJson(kv.value);
    if (!g.ok() || g->id != id) {
      ++s.badObjects;
      spdlog::warn("store key {}: {}", k, g.ok() ? "id differs from the key" : g.status().message());
      s.gateways.erase(id);
      return;
    }
    s.gateways[id] = *g;
  } else if (startsWith(k, kAppliancesPrefix)) {
    ch.appliancesChanged = true;
    std::string name = k.substr(std::strlen(kAppliancesPrefix));
    if (deleted) {
      s.appliances.erase(name);
      return;
    }
    Result<Appliance> a = applianceFromJson(kv.value);
    if (!a.ok()) {
      ++s.badObjects;
      spdlog::warn("store key {}: {}", k, a.status().message());
      s.appliances.erase(name);
      return;
    }
    s.appliances[name] = *a;
  } else if (startsWith(k, kServicesPrefix)) {
    std::string name = k.substr(std::strlen(kServicesPrefix));
    s.services.erase(name);
    if (deleted) {
      ch.servicesDeleted.push_back(name);
      return;
    }
    Result<Service> svc = serviceFromJson(kv.value);
    if (!svc.ok() || svc->name != name) {
      ++s.badObjects;
      spdlog::warn("store key {}: {}", k, svc.ok() ? "name differs from the key" : svc.status().message());
      ch.servicesDeleted.push_back(name);
      return;
    }
    svc->revision = kv.modRevision;
    s.services[name] = std::move(*svc);
    ch.servicesPut.push_back(name);
  } else if (startsWith(k, kPoliciesPrefix)) {
    ch.policiesChanged = true;
    std::string name = k.substr(std::strlen(kPoliciesPrefix));
    s.policies.erase(name);
    if (deleted) return;
    Result<SubscriberPolicy> p = policyFromJson(kv.value);
    if (!p.ok() || p->name != name) {
      ++s.badObjects;
      spdlog::warn("store key {}: {}", k, p.ok() ? "name differs from the key" : p.status().message());
      return;
    }
    p->revision = kv.modRevision;
    s.policies[name] = std::move(*p);
  } else if (startsWith(k, kSubscribersPrefix)) {
    ch.policiesChanged = true;
    std::string imsi = k.substr(std::strlen(kSubscribersPrefix));
    s.assignments.erase(imsi);
    if (deleted) return;
    Result<SubscriberAssignment> a = assignmentFromJson(kv.value);
    if (!a.ok() || a->imsi != imsi) {
      ++s.badObjects;
      spdlog::warn("store key {}: {}", k, a.ok() ? "IMSI differs from the key" : a.status().message());
      return;
    }
    s.assignments[imsi] = std::move(a->policy);
  } else if (startsWith(k, kLivePrefix)) {
    std::string name = k.substr(std::strlen(kLivePrefix));
    if (deleted) {
      if (s.live.erase(name)) ch.wentDown.push_back(name);
    } else if (s.live.insert(name).second) {
      ch.cameUp.push_back(name);
    }
  }
}

void StateCache::reset(const store::Range& r) {
  StateChange ch;
  ch.reset = true;
  {
    std::lock_guard lk(mu_);
    std::set<std::string> wasLive = state_.live;
    uint64_t bad = state_.badObjects;
    state_ = StateSnapshot{};
    state_.badObjects = bad;
    for (const store::KeyValue& kv : r.kvs) applyOne(kv, false, ch);
    for (const std::string& n : wasLive) {
      if (!state_.live.count(n)) ch.wentDown.push_back(n);
    }
    std::erase_if(ch.cameUp, [&](const std::string& n) { return wasLive.count(n) > 0; });
    state_.revision = r.revision;
    ch.revision = r.revision;
    ch.sessionsPut.clear();
    ch.servicesPut.clear();
    ch.servicesDeleted.clear();
    ch.gatewaysChanged = ch.appliancesChanged = ch.policiesChanged = true;
  }
  notify(ch);
}

void StateCache::apply(const std::vector<store::Event>& ev) {
  StateChange ch;
  {
    std::lock_guard lk(mu_);
    for (const store::Event& e : ev) applyOne(e.kv, e.type == store::Event::Type::kDelete, ch);
    if (!ev.empty()) state_.revision = ev.back().kv.modRevision;
    ch.revision = state_.revision;
  }
  notify(ch);
}

void StateCache::notify(const StateChange& ch) {
  std::lock_guard lk(mu_);
  for (auto& [id, l] : listeners_) l(state_, ch);
  advanced_.notify_all();
}

}  // namespace roamgate::control
