#include "roamgate/control/service_catalog.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "roamgate/addr.h"

namespace roamgate::control {

namespace {

Status error(StatusCode c, const std::string& m) { return Status::error(c, m); }

// After a lost compare-and-set: a random pause whose bound doubles with each loss (50 us
// up to 3.2 ms), so that two writers in tight loops fall out of step instead of each
// committing inside the other's read-to-write window (without it, one of two writers
// adding 25 servers each lost 16 times in a row).
void backOff(int attempt) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  int most = 50 << std::min(attempt, 6);
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % most + 1));
}

Status tooManyConflicts(const std::string& name, int n) {
  return error(StatusCode::kAborted, "service " + name + " was changed by another writer " +
                                         std::to_string(n) + " times in a row; try again");
}

}  // namespace

Result<std::optional<Service>> ServiceCatalog::read(const std::string& name) {
  Result<store::Range> r = store_.get(serviceKey(name));
  if (!r.ok()) return r.status();
  if (r->kvs.empty()) return std::optional<Service>();
  Result<Service> s = serviceFromJson(r->kvs[0].value);
  if (!s.ok()) return s.status();
  s->revision = r->kvs[0].modRevision;
  return std::optional<Service>(std::move(*s));
}

Result<Service> ServiceCatalog::get(const std::string& name) {
  if (Status st = checkName("service name", name); !st) return st;
  Result<std::optional<Service>> s = read(name);
  if (!s.ok()) return s.status();
  if (!*s) return error(StatusCode::kNotFound, "no service '" + name + "'");
  return std::move(**s);
}

Result<std::vector<Service>> ServiceCatalog::list() {
  Result<store::Range> r = store_.list(kServicesPrefix);
  if (!r.ok()) return r.status();
  std::vector<Service> out;
  for (const store::KeyValue& kv : r->kvs) {
    Result<Service> s = serviceFromJson(kv.value);
    if (!s.ok()) {
      spdlog::warn("store key {}: {}", kv.key, s.status().message());
      continue;
    }
    s->revision = kv.modRevision;
    out.push_back(std::move(*s));
  }
  return out;
}

Status ServiceCatalog::checkAgainstOthers(const Service& s) {
  Result<std::vector<Service>> all = list();
  if (!all.ok()) return all.status();
  for (const Service& o : *all) {
    if (o.name == s.name) continue;
    std::set<uint32_t> vipIps, serverIps;
    for (const Vip& v : o.vips) vipIps.insert(v.ip);
    for (const Server& v : o.servers) serverIps.insert(v.ip);
    for (const Server& v : s.servers) {
      if (vipIps.count(v.ip)) {
        return error(StatusCode::kInvalidArgument,
                     "service " + s.name + " server " + serverStr(v.ip, v.port) + ": " +
                         ipv4Str(v.ip) + " is a VIP of service " + o.name +
                         " (a server is not a VIP)");
      }
    }
    for (const Vip& v : s.vips) {
      if (serverIps.count(v.ip)) {
        return error(StatusCode::kInvalidArgument,
                     "service " + s.name + " VIP " + vipStr(v) + ": " + ipv4Str(v.ip) +
                         " is a server of service " + o.name + " (a VIP is not a server)");
      }
    }
  }
  return {};
}

Result<Service> ServiceCatalog::put(Service s, const PutServiceOptions& o) {
  for (Server& v : s.servers) v.health = Health::kUp;
  std::sort(s.servers.begin(), s.servers.end(), [](const Server& a, const Server& b) {
    return std::pair(a.ip, a.port) < std::pair(b.ip, b.port);
  });
  if (Status st = checkService(s); !st) return st;
  if (Status st = checkAgainstOthers(s); !st) return st;
  const std::string key = serviceKey(s.name);
  for (int attempt = 0; attempt < retries_; ++attempt) {
    Result<std::optional<Service>> cur = read(s.name);
    if (!cur.ok()) return cur.status();
    const std::optional<Service>& old = *cur;
    if (old && o.createOnly) {
      return error(StatusCode::kAlreadyExists, "service " + s.name + " exists (revision " +
                                                   std::to_string(old->revision) + ")");
    }
    int64_t at = old ? old->revision : 0;
    if (o.ifRevision && at != *o.ifRevision) {
      return error(StatusCode::kAborted,
                   "service " + s.name + " is at revision " + std::to_string(at) + ", not " +
                       std::to_string(*o.ifRevision) + " (changed meanwhile; read it again)");
    }
    std::set<Vip> had, want(s.vips.begin(), s.vips.end());
    if (old) had.insert(old->vips.begin(), old->vips.end());
    store::Txn t;
    t.compare.push_back(old ? store::Compare::modRevisionIs(key, old->revision)
                            : store::Compare::absent(key));
    std::string now = utcNow();
    s.created = old ? old->created : now;
    s.modified = now;
    t.success.push_back(store::TxnOp::put(key, toJson(s)));
    for (const Vip& v : want) {
      if (had.count(v)) continue;
      Result<store::Range> held = store_.get(vipKey(v));
      if (!held.ok()) return held.status();
      if (!held->kvs.empty() && held->kvs[0].value != s.name) {
        return error(StatusCode::kAlreadyExists, "VIP " + vipStr(v) + " belongs to service " +
                                                     held->kvs[0].value + " (a VIP has one service)");
      }
      t.compare.push_back(held->kvs.empty() ? store::Compare::absent(vipKey(v))
                                            : store::Compare::valueIs(vipKey(v), s.name));
      t.success.push_back(store::TxnOp::put(vipKey(v), s.name));
    }
    for (const Vip& v : had) {
      if (!want.count(v)) t.success.push_back(store::TxnOp::del(vipKey(v)));
    }
    Result<store::TxnResult> r = store_.txn(t);
    if (!r.ok()) return r.status();
    if (r->succeeded) {
      s.revision = r->revision;
      return s;
    }
    // The service or a VIP changed since the read: read again (a VIP another service took,
    // a create that lost, a revision that moved are then reported as such).
    backOff(attempt);
  }
  return tooManyConflicts(s.name, retries_);
}

Status ServiceCatalog::remove(const std::string& name, std::optional<int64_t> ifRevision) {
  if (Status st = checkName("service name", name); !st) return st;
  for (int attempt = 0; attempt < retries_; ++attempt) {
    Result<std::optional<Service>> cur = read(name);
    if (!cur.ok()) return cur.status();
    if (!*cur) return error(StatusCode::kNotFound, "no service '" + name + "'");
    const Service& old = **cur;
    if (ifRevision && old.revision != *ifRevision) {
      return error(StatusCode::kAborted,
                   "service " + name + " is at revision " + std::to_string(old.revision) +
                       ", not " + std::to_string(*ifRevision) + " (changed meanwhile; read it again)");
    }
    store::Txn t;
    t.compare.push_back(store::Compare::modRevisionIs(serviceKey(name), old.revision));
    t.success.push_back(store::TxnOp::del(serviceKey(name)));
    for (const Vip& v : old.vips) t.success.push_back(store::TxnOp::del(vipKey(v)));
    Result<store::TxnResult> r = store_.txn(t);
    if (!r.ok()) return r.status();
    if (r->succeeded) return {};
    backOff(attempt);
  }
  return tooManyConflicts(name, retries_);
}

Result<Service> ServiceCatalog::update(const std::string& name,
                                       const std::function<Status(Service&)>& f) {
  if (Status st = checkName("service name", name); !st) return st;
  for (int attempt = 0; attempt < retries_; ++attempt) {
    Result<std::optional<Service>> cur = read(name);
    if (!cur.ok()) return cur.status();
    if (!*cur) return error(StatusCode::kNotFound, "no service '" + name + "'");
    Service s = **cur;
    if (Status st = f(s); !st) return st;
    if (Status st = checkService(s); !st) return st;
    if (Status st = checkAgainstOthers(s); !st) return st;
    s.modified = utcNow();
    store::Txn t;
    t.compare.push_back(store::Compare::modRevisionIs(serviceKey(name), (*cur)->revision));
    t.success.push_back(store::TxnOp::put(serviceKey(name), toJson(s)));
    Result<store::TxnResult> r = store_.txn(t);
    if (!r.ok()) return r.status();
    if (r->succeeded) {
      s.revision = r->revision;
      return s;
    }
    backOff(attempt);
  }
  return tooManyConflicts(name, retries_);
}

Result<Service> ServiceCatalog::setServer(const std::string& service, const ServerChange& c,
                                          ServerWrite mode) {
  return update(service, [&](Service& s) -> Status {
    std::string sv = serverStr(c.ip, c.port);
    auto it = std::find_if(s.servers.begin(), s.servers.end(),
                           [&](const Server& v) { return v.ip == c.ip && v.port == c.port; });
    if (it != s.servers.end()) {
      if (mode == ServerWrite::kAdd) {
        return error(StatusCode::kAlreadyExists, "service " + s.name + " has server " + sv +
                                                     " already (server set changes it)");
      }
      if (c.weight) it->weight = *c.weight;
      if (c.admin) it->admin = *c.admin;
      return {};
    }
    if (mode == ServerWrite::kChange) {
      return error(StatusCode::kNotFound, "service " + s.name + " has no server " + sv);
    }
    Server v;
    v.ip = c.ip;
    v.port = c.port;
    v.weight = c.weight.value_or(1);
    v.admin = c.admin.value_or(AdminState::kUp);
    auto pos = std::lower_bound(s.servers.begin(), s.servers.end(), v, [](const Server& a, const Server& b) {
      return std::pair(a.ip, a.port) < std::pair(b.ip, b.port);
    });
    s.servers.insert(pos, v);
    return {};
  });
}

Result<Service> ServiceCatalog::removeServer(const std::string& service, uint32_t ip, uint16_t port) {
  return update(service, [&](Service& s) -> Status {
    auto it = std::find_if(s.servers.begin(), s.servers.end(),
                           [&](const Server& v) { return v.ip == ip && v.port == port; });
    if (it == s.servers.end()) {
      return error(StatusCode::kNotFound,
                   "service " + s.name + " has no server " + serverStr(ip, port));
    }
    s.servers.erase(it);
    return {};
  });
}

}  // namespace roamgate::control
