#include "roamgate/control/slow_path.h"

#include <algorithm>

namespace roamgate::control {

using dataplane::FlowKey;
using dataplane::UserSession;

std::string_view puntOutcomeName(PuntOutcome o) {
  static constexpr std::array<std::string_view, kPuntOutcomeCount> kNames = {
      "installed",    "retargeted",  "flow_added", "already_decided", "denied",
      "denied_no_entry", "truncated", "malformed", "unsupported",    "unknown_teid",
      "spoofed",      "no_server",   "no_port",    "over_quota",      "install_failed"};
  return o < PuntOutcome::kCount ? kNames[size_t(o)] : "unknown";
}

const char* endCauseName(EndCause c) {
  switch (c) {
    case EndCause::kIdle: return "idle";
    case EndCause::kFin: return "fin";
    case EndCause::kRst: return "rst";
    case EndCause::kSessionDeleted: return "session_deleted";
    case EndCause::kDenyExpired: return "deny_expired";
    case EndCause::kAdmin: return "admin";
  }
  return "?";
}

namespace {

uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

uint64_t mix(uint64_t x) { return mixBits(x); }

VipProto vipProtoOf(uint8_t proto) {
  return proto == 6 ? VipProto::kTcp : proto == 17 ? VipProto::kUdp : VipProto::kIcmp;
}

}  // namespace

PuntOutcome parseUplinkPunt(std::span<const uint8_t> f, uint8_t off, uint32_t teid, FlowKey& out) {
  if (off == 0) return PuntOutcome::kMalformed;  // the kernel found no T-PDU
  if (f.size() < size_t(off) + 20) return PuntOutcome::kTruncated;
  const uint8_t* ip = f.data() + off;
  if ((ip[0] >> 4) != 4) return PuntOutcome::kMalformed;
  size_t ihl = size_t(ip[0] & 0xf) * 4;
  size_t total = be16(ip + 2);
  if (ihl < 20 || total < ihl) return PuntOutcome::kMalformed;
  if (f.size() < off + total) return PuntOutcome::kTruncated;
  if ((be16(ip + 6) & 0x3fff) != 0) return PuntOutcome::kMalformed;  // MF or an offset
  out = {};
  out.teid = teid;
  out.src = be32(ip + 12);
  out.dst = be32(ip + 16);
  out.proto = ip[9];
  const uint8_t* l4 = ip + ihl;
  size_t l4len = total - ihl;
  if (out.proto == 6 || out.proto == 17) {
    if (l4len < (out.proto == 6 ? 20u : 8u)) return PuntOutcome::kTruncated;
    out.sport = be16(l4);
    out.dport = be16(l4 + 2);
    if (out.sport == 0 || out.dport == 0) return PuntOutcome::kMalformed;
    return PuntOutcome::kInstalled;
  }
  if (out.proto == 1) {
    if (l4len < 8) return PuntOutcome::kTruncated;
    if (l4[0] != 8) return PuntOutcome::kUnsupported;  // only echo requests open a user session
    out.sport = be16(l4 + 4);
    out.dport = 0;
    return PuntOutcome::kInstalled;
  }
  return PuntOutcome::kUnsupported;
}

size_t SlowPath::FlowHash::operator()(const FlowKey& k) const noexcept {
  return mix(uint64_t(k.teid) << 32 ^ k.src ^ uint64_t(k.dst) << 17 ^ uint64_t(k.sport) << 48 ^
             uint64_t(k.dport) << 8 ^ k.proto);
}
size_t SlowPath::EndpointHash::operator()(const EndpointKey& k) const noexcept {
  return mix(uint64_t(k.teid) << 32 ^ k.src ^ uint64_t(k.sport) << 40 ^ k.proto ^ uint64_t(k.dst) << 8);
}
size_t SlowPath::AffinityHash::operator()(const AffinityKey& k) const noexcept {
  return mix(k.sub ^ uint64_t(k.slot) << 52);
}
size_t SlowPath::VipHash::operator()(const Vip& v) const noexcept {
  return mix(uint64_t(v.ip) << 24 ^ uint64_t(v.port) << 2 ^ uint64_t(v.proto));
}

SlowPath::SlowPath(dataplane::GateTables& t, Authorizer& auth, std::array<uint32_t, 4> natIps,
                   SlowPathOptions opts)
    : t_(t),
      auth_(auth),
      natIps_(natIps),
      opts_(opts),
      slots_(size_t(kNatAddrCount) << 16, SlotRec{kNoInfo, 0}) {}

uint32_t SlowPath::takeInfo() {
  uint32_t i;
  if (!spare_.empty()) {
    i = spare_.back();
    spare_.pop_back();
  } else {
    i = uint32_t(pool_.size());
    pool_.emplace_back();
    slotOfInfo_.push_back(kNoInfo);
  }
  UserSessionInfo& u = pool_[i];
  u.entry = {};
  u.more.clear();
  u.external = u.denied = u.restored = false;
  u.type = UserSessionType::kConnection;
  u.services.clear();
  u.servers.clear();
  u.denyReason = DenyReason::kNone;
  return i;
}

Result<std::unique_ptr<SlowPath>> SlowPath::create(dataplane::GateTables& t, Authorizer& auth,
                                                   std::array<uint32_t, 4> natIps,
                                                   SlowPathOptions opts) {
  std::unique_ptr<SlowPath> sp(new SlowPath(t, auth, natIps, opts));
  for (uint8_t i = 0; i < kNatAddrCount; ++i) {
    if (natIps[i] == 0) continue;
    Result<PortAllocator> a = PortAllocator::create(i, opts.ports);
    if (!a.ok()) return a.status();
    sp->allocs_[i].emplace(std::move(*a));
    sp->natIndexes_.push_back(i);
  }
  if (sp->natIndexes_.empty()) {
    return Status::error(StatusCode::kInvalidArgument,
                         "the slow path needs a gate address: none of the 4 is configured");
  }
  return sp;
}

uint64_t SlowPath::subscriberId(const Terminal& t, uint32_t teid) {
  // The IMSI as a number; a session without one counts as its own.
  uint64_t v = imsiNumber(t.imsi);
  return v ? v : uint64_t(1) << 63 | teid;
}

uint8_t SlowPath::addressFor(uint64_t sub) const {
  return natIndexes_[mix(sub) % natIndexes_.size()];
}

const PortAllocator* SlowPath::allocator(uint8_t addrIndex) const {
  return addrIndex < allocs_.size() && allocs_[addrIndex] ? &*allocs_[addrIndex] : nullptr;
}

const UserSessionInfo* SlowPath::find(uint8_t addrIndex, uint16_t port) const {
  if (addrIndex >= kNatAddrCount) return nullptr;
  uint32_t i = slots_[slotOf(addrIndex, port)].info;
  return i == kNoInfo ? nullptr : &pool_[i];
}

void SlowPath::setSession(uint32_t teid, Terminal t) {
  Term& term = terminals_[teid];
  term.sub = subscriberId(t, teid);
  term.t = std::move(t);
}

Status SlowPath::removeSession(uint32_t teid, Clock::time_point now) {
  auto term = terminals_.find(teid);
  if (term == terminals_.end()) return {};
  std::vector<uint32_t> slots = term->second.slots;
  Status first;
  for (uint32_t slot : slots) {
    Status st = end(uint8_t(slot >> 16), uint16_t(slot), EndCause::kSessionDeleted, now);
    if (!st && first.ok()) first = st;
  }
  terminals_.erase(teid);  // after the ends: they take their slots off its list
  return first;
}

Status SlowPath::setServices(const std::vector<Service>& services) {
  std::vector<uint32_t> seen;
  for (const Service& s : services) {
    if (Status st = checkService(s); !st) return st;
  }
  for (const Service& s : services) {
    auto it = svcByName_.find(s.name);
    uint32_t slot;
    if (it == svcByName_.end()) {
      slot = uint32_t(svcs_.size());
      svcs_.emplace_back();
      svcByName_.emplace(s.name, slot);
    } else {
      slot = it->second;
      if (svcs_[slot].live && sameService(svcs_[slot].svc, s)) {
        seen.push_back(slot);
        continue;
      }
    }
    SvcSlot& sl = svcs_[slot];
    std::vector<Server> servers = s.servers;
    if (sl.sel) {  // health is what the checks found: it stays
      for (Server& v : servers) {
        Result<uint32_t> i = sl.sel->find(v.ip, v.port);
        if (i.ok()) v.health = sl.sel->servers()[*i].health;
      }
    }
    SelectorOptions o;
    o.policy = s.policy;
    o.hashOn = s.hashOn;
    Result<ServerSelector> sel = ServerSelector::create(std::move(servers), o);
    if (!sel.ok()) return sel.status();
    sl.svc = s;
    sl.sel.emplace(std::move(*sel));
    sl.live = true;
    seen.push_back(slot);
  }
  std::sort(seen.begin(), seen.end());
  byVip_.clear();
  for (uint32_t slot = 0; slot < svcs_.size(); ++slot) {
    svcs_[slot].live = std::binary_search(seen.begin(), seen.end(), slot);
    if (!svcs_[slot].live) continue;
    for (const Vip& v : svcs_[slot].svc.vips) byVip_[v] = slot;
  }
  recount();
  return {};
}

void SlowPath::recount() {
  for (SvcSlot& s : svcs_) {
    if (!s.sel) continue;
    for (uint32_t i = 0; i < s.sel->servers().size(); ++i) {
      while (s.sel->sessions(i) > 0) (void)s.sel->sessionEnded(i);
    }
  }
  for (uint32_t p = 0; p < pool_.size(); ++p) {
    if (slotOfInfo_[p] == kNoInfo) continue;
    const UserSessionInfo& info = pool_[p];
    if (info.services.empty()) continue;
    auto it = svcByName_.find(info.services.back());
    if (it == svcByName_.end() || !svcs_[it->second].sel) continue;
    auto [ip, port] = info.servers.back();
    Result<uint32_t> i = svcs_[it->second].sel->find(ip, port);
    if (i.ok()) (void)svcs_[it->second].sel->sessionStarted(*i);
  }
}

Status SlowPath::setHealth(const std::string& service, uint32_t ip, uint16_t port, Health h) {
  auto it = svcByName_.find(service);
  if (it == svcByName_.end() || !svcs_[it->second].sel) {
    return Status::error(StatusCode::kNotFound, "no service " + service + " on this gate");
  }
  return svcs_[it->second].sel->setHealth(ip, port, h);
}

void SlowPath::serverCounts(std::vector<std::tuple<std::string, uint32_t, uint16_t, uint64_t>>& out) const {
  out.clear();
  for (const SvcSlot& s : svcs_) {
    if (!s.live || !s.sel) continue;
    for (uint32_t i = 0; i < s.sel->servers().size(); ++i) {
      const Server& v = s.sel->servers()[i];
      out.emplace_back(s.svc.name, v.ip, v.port, s.sel->sessions(i));
    }
  }
}

std::optional<uint64_t> SlowPath::serverSessions(const std::string& service, uint32_t ip,
                                                 uint16_t port) const {
  auto it = svcByName_.find(service);
  if (it == svcByName_.end() || !svcs_[it->second].sel) return std::nullopt;
  Result<uint32_t> i = svcs_[it->second].sel->find(ip, port);
  if (!i.ok()) return std::nullopt;
  return svcs_[it->second].sel->sessions(*i);
}

PuntOutcome SlowPath::handle(std::span<const uint8_t> frame, uint32_t teid, uint8_t innerOffset,
                             Clock::time_point now, uint64_t kernelTs) {
  kernelTs_ = kernelTs;
  FlowKey key;
  PuntOutcome o = parseUplinkPunt(frame, innerOffset, teid, key);
  if (o == PuntOutcome::kInstalled) {
    if (byFlow_.find(key)) {
      o = PuntOutcome::kAlreadyDecided;
    } else if (auto term = terminals_.find(teid); term == terminals_.end()) {
      o = PuntOutcome::kUnknownTeid;
    } else if (term->second.t.ueIp != 0 && key.src != term->second.t.ueIp) {
      o = PuntOutcome::kSpoofed;
    } else {
      cur_ = &term->second;
      o = decide(key, term->second.t, term->second.sub, now);
      cur_ = nullptr;
    }
  }
  ++counters_.outcomes[size_t(o)];
  return o;
}

namespace {
bool parsePunt(const SlowPath::PuntRef& p, FlowKey& key) {
  return !p.frame.empty() &&
         parseUplinkPunt(p.frame, p.innerOffset, p.teid, key) == PuntOutcome::kInstalled;
}
}  // namespace

void SlowPath::prefetchFar(const PuntRef& p) const {
  FlowKey key;
  if (!parsePunt(p, key)) return;
  byFlow_.prefetch(key);
  t_.prefetchFlow(key);
}

void SlowPath::prefetchNear(const PuntRef& p, size_t ahead) const {
  FlowKey key;
  if (!parsePunt(p, key)) return;
  if (auto it = terminals_.find(p.teid); it != terminals_.end()) {
    const Term* term = &it->second;
    if (!term->slots.empty()) __builtin_prefetch(&term->slots.back());
    Vip vip{key.dst, key.proto == 1 ? uint16_t(0) : key.dport, vipProtoOf(key.proto)};
    auto v = byVip_.find(vip);
    if (v != byVip_.end() && svcs_[v->second].svc.type == UserSessionType::kAffinity) {
      affinity_.prefetch(AffinityKey{term->sub, v->second});
    }
  }
  if (ahead < spare_.size()) {
    uint32_t i = spare_[spare_.size() - 1 - ahead];
    __builtin_prefetch(&slotOfInfo_[i], 1);
    const UserSessionInfo& u = pool_[i];
    const char* at = reinterpret_cast<const char*>(&u);
    for (size_t off = 0; off < sizeof(UserSessionInfo); off += 64) __builtin_prefetch(at + off, 1);
    // Its lists' storage: the pointers are read from the entry just asked for (a dependent
    // load; the entry was usually brought in a batch earlier, when it was last used).
    if (!u.services.empty()) __builtin_prefetch(u.services.data(), 1);
    if (!u.servers.empty()) __builtin_prefetch(u.servers.data(), 1);
  }
}

Result<uint32_t> SlowPath::pickServer(SvcSlot& s, const SelectionKey& k, uint64_t sub,
                                      uint32_t svcSlot, Clock::time_point now) {
  if (s.sel->selectableCount() == 0) {
    return Status::error(StatusCode::kUnavailable, "no selectable server");
  }
  if (s.svc.type != UserSessionType::kAffinity) return s.sel->pick(k);
  auto until = now + std::chrono::seconds(s.svc.affinitySeconds);
  Affinity& a = affinity_[AffinityKey{sub, svcSlot}];
  if (a.until > now) {
    Result<uint32_t> i = s.sel->find(a.ip, a.port);
    if (i.ok() && s.sel->servers()[*i].selectable()) {
      a.until = until;
      return *i;
    }
  }
  Result<uint32_t> i = s.sel->pick(k);
  if (!i.ok()) return i;
  a = {s.sel->servers()[*i].ip, s.sel->servers()[*i].port, until};
  return i;
}

PuntOutcome SlowPath::decide(const FlowKey& key, const Terminal& term, uint64_t sub,
                             Clock::time_point now) {
  Vip vip{key.dst, key.proto == 1 ? uint16_t(0) : key.dport, vipProtoOf(key.proto)};
  auto v = byVip_.find(vip);
  EndpointKey ep{key.teid, key.src, 0, key.sport, key.proto};
  if (v == byVip_.end()) {
    EndpointKey extEp = ep;
    if (opts_.addressFiltering) extEp.dst = key.dst;
    if (const uint32_t* e = byExternal_.find(extEp)) {
      // Allowed when it was made; not a new user session. Endpoint-independent mapping: the
      // same port for every external destination (with address filtering: every port of
      // this destination's address).
      UserSessionInfo& info = *this->info(*e);
      Status st = t_.addFlowKnown(key, info.entry.addrIndex, info.entry.port);
      if (!st) return PuntOutcome::kInstallFailed;
      info.more.push_back(key);
      byFlow_.insert(key, *e);
      return PuntOutcome::kFlowAdded;
    }
    AuthDecision d = auth_.authorize({term.imsi, {}, now});
    if (!d.allowed()) return deny(key, term, sub, d, now);
    uint32_t i = takeInfo();
    UserSessionInfo& info = pool_[i];
    info.external = true;
    info.entry.flow = key;
    info.entry.external = true;
    info.entry.filterAddr = opts_.addressFiltering;
    PuntOutcome o = install(i, sub, now, std::nullopt, std::nullopt);
    if (o != PuntOutcome::kInstalled) auth_.release(term.imsi);
    return o;
  }
  uint32_t svcSlot = v->second;
  SvcSlot& s = svcs_[svcSlot];
  if (s.svc.type == UserSessionType::kSeries) {
    // The same user session goes on, if the service is allowed.
    if (const uint32_t* e = bySeries_.find(ep)) {
      AuthDecision d = auth_.authorize({term.imsi, s.svc.name, now, /*continuing=*/true});
      if (!d.allowed()) return deny(key, term, sub, d, now);
      return retarget(*e, key, svcSlot, sub, now);
    }
  }
  AuthDecision d = auth_.authorize({term.imsi, s.svc.name, now});
  if (!d.allowed()) return deny(key, term, sub, d, now);
  SelectionKey sk{key.src, key.sport, key.dst, key.dport, key.proto};
  Result<uint32_t> server = pickServer(s, sk, sub, svcSlot, now);
  if (!server.ok()) {
    auth_.release(term.imsi);
    return PuntOutcome::kNoServer;
  }
  const Server& srv = s.sel->servers()[*server];
  uint32_t i = takeInfo();
  UserSessionInfo& info = pool_[i];
  info.type = s.svc.type;
  info.entry.flow = key;
  info.entry.serverIp = srv.ip;
  info.entry.serverPort = key.proto == 1 ? 0 : srv.port;
  info.services.emplace_back();
  info.services.back().assign(s.svc.name);
  info.servers.emplace_back(srv.ip, srv.port);
  PuntOutcome o = install(i, sub, now, svcSlot, *server);
  if (o != PuntOutcome::kInstalled) auth_.release(term.imsi);
  return o;
}

PuntOutcome SlowPath::install(uint32_t i, uint64_t sub, Clock::time_point now,
                              std::optional<uint32_t> svcSlot, std::optional<uint32_t> server) {
  UserSessionInfo& info = pool_[i];
  Term& owner = cur_ ? *cur_ : terminals_.at(info.entry.flow.teid);
  const Terminal& term = owner.t;
  uint8_t addr = addressFor(sub);
  Result<uint16_t> port = alloc(addr).allocate(sub, now);
  if (!port.ok()) {
    spare_.push_back(i);
    return port.status().code() == StatusCode::kOverQuota ? PuntOutcome::kOverQuota
                                                          : PuntOutcome::kNoPort;
  }
  uint32_t slot = slotOf(addr, *port);
  UserSession& e = info.entry;
  e.addrIndex = addr;
  e.port = *port;
  e.gen = ++slots_[slot].gen;
  e.peerIp = term.peerIp;
  e.dlTeid = term.dlTeid;
  e.qfi = term.qfi;
  if (Status st = t_.installNew(e); !st) {
    (void)alloc(addr).free(*port, now);
    spare_.push_back(i);
    return PuntOutcome::kInstallFailed;
  }
  if (svcSlot && server) (void)svcs_[*svcSlot].sel->sessionStarted(*server);
  info.imsi.assign(term.imsi);
  info.msisdn.assign(term.msisdn);
  info.started = now;
  const FlowKey& k = e.flow;
  byFlow_.insert(k, slot);
  if (info.external || info.type == UserSessionType::kSeries) {
    endpoints(info)[endpointOf(info.entry)] = slot;
  }
  info.startTs = kernelTs_;
  slots_[slot].info = i;
  slotOfInfo_[i] = slot;
  owner.slots.push_back(slot);
  ++live_;
  if (started_ && !info.denied) started_(info);
  return PuntOutcome::kInstalled;
}

PuntOutcome SlowPath::retarget(uint32_t slot, const FlowKey& key, uint32_t svcSlot, uint64_t sub,
                               Clock::time_point now) {
  UserSessionInfo& info = *this->info(slot);
  SvcSlot& s = svcs_[svcSlot];
  SelectionKey sk{key.src, key.sport, key.dst, key.dport, key.proto};
  Result<uint32_t> server = pickServer(s, sk, sub, svcSlot, now);
  if (!server.ok()) return PuntOutcome::kNoServer;
  const Server& srv = s.sel->servers()[*server];
  UserSession e = info.entry;
  FlowKey old = e.flow;
  e.flow = key;
  e.serverIp = srv.ip;
  e.serverPort = key.proto == 1 ? 0 : srv.port;
  if (Status st = t_.retargetKnown(old, e); !st) return PuntOutcome::kInstallFailed;
  // The old service's server gives the user session up; the new one takes it.
  if (!info.services.empty()) {
    auto was = svcByName_.find(info.services.back());
    if (was != svcByName_.end() && svcs_[was->second].sel) {
      auto [ip, port] = info.servers.back();
      Result<uint32_t> i = svcs_[was->second].sel->find(ip, port);
      if (i.ok()) (void)svcs_[was->second].sel->sessionEnded(*i);
    }
  }
  (void)s.sel->sessionStarted(*server);
  byFlow_.erase(old);
  byFlow_.insert(key, slot);
  info.entry = e;
  info.services.push_back(s.svc.name);
  info.servers.emplace_back(srv.ip, srv.port);
  if (started_) started_(info);
  return PuntOutcome::kRetargeted;
}

PuntOutcome SlowPath::deny(const FlowKey& key, const Terminal&, uint64_t sub,
                           const AuthDecision& d, Clock::time_point now) {
  auto time = d.policy ? std::chrono::seconds(d.policy->denySeconds) : opts_.restoredDenyTime;
  if (time.count() == 0) return PuntOutcome::kDeniedNoEntry;
  uint32_t i = takeInfo();
  UserSessionInfo& info = pool_[i];
  info.denied = true;
  info.denyReason = d.reason;
  info.entry.flow = key;
  info.entry.allow = false;
  info.entry.external = true;  // no server: the entry only drops and counts
  PuntOutcome o = install(i, sub, now, std::nullopt, std::nullopt);
  if (o != PuntOutcome::kInstalled) return PuntOutcome::kDeniedNoEntry;
  uint32_t slot = slotOfInfo_[i];
  denies_.emplace(now + time, std::pair{slot, slots_[slot].gen});
  if (started_) started_(pool_[i]);
  return PuntOutcome::kDenied;
}

void SlowPath::forget(uint32_t slot, UserSessionInfo& info) {
  if (auto t = terminals_.find(info.entry.flow.teid); t != terminals_.end()) {
    std::vector<uint32_t>& v = t->second.slots;
    auto at = std::find(v.begin(), v.end(), slot);
    if (at != v.end()) {
      *at = v.back();
      v.pop_back();
    }
    // An emptied list stays (with its capacity) while the session does: removeSession drops it.
  }
  byFlow_.erase(info.entry.flow);
  for (const FlowKey& k : info.more) byFlow_.erase(k);
  auto& eps = endpoints(info);
  EndpointKey ek = endpointOf(info.entry);
  if (const uint32_t* e = eps.find(ek); e && *e == slot) eps.erase(ek);
  if (!info.services.empty()) {
    auto it = svcByName_.find(info.services.back());
    if (it != svcByName_.end() && svcs_[it->second].sel) {
      auto [ip, port] = info.servers.back();
      Result<uint32_t> i = svcs_[it->second].sel->find(ip, port);
      if (i.ok()) (void)svcs_[it->second].sel->sessionEnded(*i);
    }
  }
  if (!info.denied) auth_.release(info.imsi);
}

Status SlowPath::end(uint8_t addrIndex, uint16_t port, EndCause cause, Clock::time_point now) {
  uint32_t slot = addrIndex < kNatAddrCount ? slotOf(addrIndex, port) : 0;
  if (addrIndex >= kNatAddrCount || slots_[slot].info == kNoInfo) {
    return Status::error(StatusCode::kNotFound,
                         "no user session on " + dataplane::portStr(addrIndex, port));
  }
  uint32_t i = slots_[slot].info;
  UserSessionInfo& info = pool_[i];
  std::vector<FlowKey> flows;
  flows.reserve(1 + info.more.size());
  flows.push_back(info.entry.flow);
  flows.insert(flows.end(), info.more.begin(), info.more.end());
  if (Status st = t_.removeKnown(flows, info.entry); !st) {
    ++counters_.endFailures;
    return st;
  }
  forget(slot, info);
  (void)alloc(addrIndex).free(port, now);
  ++counters_.ended;
  if (ended_) ended_(info, cause);
  slots_[slot].info = kNoInfo;
  slotOfInfo_[i] = kNoInfo;
  spare_.push_back(i);
  --live_;
  return {};
}

void SlowPath::advance(Clock::time_point now) {
  while (!denies_.empty() && denies_.begin()->first <= now) {
    auto [slot, gen] = denies_.begin()->second;
    denies_.erase(denies_.begin());
    const UserSessionInfo* u = info(slot);
    if (!u || !u->denied || slots_[slot].gen != gen) continue;
    if (end(uint8_t(slot >> 16), uint16_t(slot), EndCause::kDenyExpired, now).ok()) {
      ++counters_.denyExpired;
    }
  }
  for (uint8_t i : natIndexes_) alloc(i).advance(now);
  // Affinities whose time is up, once a second at most (a walk of all of them).
  if (now >= affinitySweep_) {
    affinitySweep_ = now + std::chrono::seconds(1);
    affinity_.eraseIf([&](const AffinityKey&, const Affinity& a) { return a.until <= now; });
  }
}

Status SlowPath::restore(const std::vector<dataplane::PortState>& ports,
                         const std::vector<dataplane::GateTables::FlowEntry>& flows,
                         Clock::time_point now, size_t* restored) {
  std::unordered_map<uint32_t, std::vector<FlowKey>> flowsOf;
  for (const auto& f : flows) flowsOf[slotOf(f.addrIndex, f.port)].push_back(f.key);
  size_t n = 0;
  Status first;
  auto fail = [&](Status st) {
    if (first.ok()) first = std::move(st);
  };
  for (const dataplane::PortState& ps : ports) {
    if (!ps.valid) continue;
    const UserSession& e = ps.session;
    uint32_t slot = slotOf(e.addrIndex, e.port);
    auto fl = flowsOf.find(slot);
    std::vector<FlowKey> mine;
    if (fl != flowsOf.end()) mine = std::move(fl->second);
    flowsOf.erase(slot);
    auto it = mine.empty() ? terminals_.end() : terminals_.find(mine.front().teid);
    if (it == terminals_.end() || !allocs_[e.addrIndex]) {
      // No flow reaches it, or its session is gone: removed.
      UserSession gone = e;
      if (Status st = t_.removeKnown(mine, gone); !st) fail(st);
      continue;
    }
    Term* term = &it->second;
    uint32_t pi = takeInfo();
    UserSessionInfo& info = pool_[pi];
    info.entry = e;
    info.entry.flow = mine.front();
    // The flow the port entry was made for (its original destination) comes first.
    for (const FlowKey& k : mine) {
      if (k.dst == e.flow.dst && k.dport == e.flow.dport) info.entry.flow = k;
    }
    for (const FlowKey& k : mine) {
      if (!(k == info.entry.flow)) info.more.push_back(k);
    }
    info.imsi = term->t.imsi;
    info.msisdn = term->t.msisdn;
    info.started = now;
    info.restored = true;
    info.denied = !e.allow;
    info.external = e.allow && e.external;
    uint64_t sub = term->sub;
    if (Status st = alloc(e.addrIndex).restore(e.port, sub); !st) {
      spare_.push_back(pi);
      fail(st);
      continue;
    }
    slots_[slot].gen = e.gen;
    const FlowKey& k = info.entry.flow;
    if (info.denied) {
      denies_.emplace(now + opts_.restoredDenyTime, std::pair{slot, e.gen});
    } else {
      auth_.restore(info.imsi);
      if (!info.external) {
        Vip vip{k.dst, k.proto == 1 ? uint16_t(0) : k.dport, vipProtoOf(k.proto)};
        auto v = byVip_.find(vip);
        if (v != byVip_.end()) {
          info.type = svcs_[v->second].svc.type;
          info.services.push_back(svcs_[v->second].svc.name);
          info.servers.emplace_back(e.serverIp, e.serverPort);
        }
      }
      if (info.external || info.type == UserSessionType::kSeries) {
        endpoints(info)[endpointOf(info.entry)] = slot;
      }
    }
    byFlow_.insert(k, slot);
    for (const FlowKey& m : info.more) byFlow_.insert(m, slot);
    slots_[slot].info = pi;
    slotOfInfo_[pi] = slot;
    term->slots.push_back(slot);
    ++live_;
    ++n;
  }
  // Flows whose port holds no user session: removed (the entry they point at is not valid).
  for (auto& [slot, keys] : flowsOf) {
    for (const FlowKey& k : keys) {
      if (Status st = t_.removeFlow(k); !st) fail(st);
    }
  }
  recount();
  if (restored) *restored = n;
  return first;
}

}  // namespace roamgate::control
