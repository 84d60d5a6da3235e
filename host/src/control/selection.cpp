#include "roamgate/control/selection.h"

#include <algorithm>

#include "roamgate/addr.h"
#include "roamgate/hash.h"

namespace roamgate::control {

namespace {

constexpr uint32_t kNoPos = 0xffffffffu;
constexpr uint16_t kEmptyEntry = 0xffff;  // never an index: a group has at most 65535 servers

uint64_t mix(uint64_t z) { return splitMix64(z); }

uint64_t serverName(const Server& s) { return (uint64_t(s.ip) << 16) | s.port; }

bool isPrime(uint32_t m) {
  if (m < 2) return false;
  for (uint32_t d = 2; uint64_t(d) * d <= m; ++d) {
    if (m % d == 0) return false;
  }
  return true;
}

bool lessAddr(const Server& a, const Server& b) {
  return a.ip != b.ip ? a.ip < b.ip : a.port < b.port;
}

}  // namespace

std::string_view policyName(SelectionPolicy p) {
  switch (p) {
    case SelectionPolicy::kMaglev:
      return "maglev";
    case SelectionPolicy::kLeastSessions:
      return "least_sessions";
    case SelectionPolicy::kRoundRobin:
      return "round_robin";
  }
  return "?";
}

std::optional<SelectionPolicy> policyFromName(std::string_view s) {
  for (auto p :
       {SelectionPolicy::kMaglev, SelectionPolicy::kLeastSessions, SelectionPolicy::kRoundRobin}) {
    if (s == policyName(p)) return p;
  }
  return std::nullopt;
}

std::string_view adminStateName(AdminState s) {
  switch (s) {
    case AdminState::kUp:
      return "up";
    case AdminState::kDrain:
      return "drain";
    case AdminState::kDown:
      return "down";
  }
  return "?";
}

std::optional<AdminState> adminStateFromName(std::string_view s) {
  for (auto a : {AdminState::kUp, AdminState::kDrain, AdminState::kDown}) {
    if (s == adminStateName(a)) return a;
  }
  return std::nullopt;
}

std::string_view hashOnName(HashOn h) {
  return h == HashOn::kTerminalAddress ? "terminal" : "5tuple";
}

std::optional<HashOn> hashOnFromName(std::string_view s) {
  for (auto h : {HashOn::kTerminalAddress, HashOn::kFiveTuple}) {
    if (s == hashOnName(h)) return h;
  }
  return std::nullopt;
}

std::string serverStr(uint32_t ip, uint16_t port) {
  return ipv4Str(ip) + ":" + std::to_string(port);
}

Status ServerSelector::check(std::vector<Server>& servers, const SelectorOptions& opts) {
  if (opts.policy == SelectionPolicy::kMaglev &&
      (opts.maglevSize < 3 || opts.maglevSize > 16777213 || !isPrime(opts.maglevSize))) {
    return Status::error(StatusCode::kInvalidArgument,
                         "Maglev table size " + std::to_string(opts.maglevSize) +
                             " is not allowed: a prime from 3 to 16777213 is needed");
  }
  if (servers.empty()) {
    return Status::error(StatusCode::kInvalidArgument,
                         "a service's group needs at least one server (got none)");
  }
  if (servers.size() > kMaxServersPerGroup) {
    return Status::error(StatusCode::kInvalidArgument,
                         "a group of " + std::to_string(servers.size()) +
                             " servers is too large: at most " +
                             std::to_string(kMaxServersPerGroup) + " are allowed");
  }
  std::sort(servers.begin(), servers.end(), lessAddr);
  for (size_t i = 0; i < servers.size(); ++i) {
    const Server& s = servers[i];
    if (Status st = checkUnicastIpv4("server address", s.ip); !st) return st;
    if (s.weight < 1 || s.weight > kMaxServerWeight) {
      return Status::error(StatusCode::kInvalidArgument,
                           "server " + serverStr(s.ip, s.port) + ": weight " +
                               std::to_string(s.weight) + " is not allowed (1..65535)");
    }
    if (i > 0 && servers[i - 1].ip == s.ip && servers[i - 1].port == s.port) {
      return Status::error(StatusCode::kInvalidArgument,
                           "server " + serverStr(s.ip, s.port) +
                               " is listed twice; each address:port may appear once in a group");
    }
  }
  return {};
}

Result<ServerSelector> ServerSelector::create(std::vector<Server> servers, SelectorOptions opts) {
  if (Status st = check(servers, opts); !st) return st;
  ServerSelector sel;
  sel.opts_ = opts;
  sel.servers_ = std::move(servers);
  sel.active_.assign(sel.servers_.size(), 0);
  sel.rebuild();
  return sel;
}

Status ServerSelector::setServers(std::vector<Server> servers) {
  if (Status st = check(servers, opts_); !st) return st;
  std::vector<uint64_t> active(servers.size(), 0);
  for (size_t i = 0; i < servers.size(); ++i) {
    auto it = std::lower_bound(servers_.begin(), servers_.end(), servers[i], lessAddr);
    if (it != servers_.end() && it->ip == servers[i].ip && it->port == servers[i].port) {
      active[i] = active_[size_t(it - servers_.begin())];
    }
  }
  servers_ = std::move(servers);
  active_ = std::move(active);
  rebuild();
  return {};
}

Result<uint32_t> ServerSelector::find(uint32_t ip, uint16_t port) const {
  Server probe;
  probe.ip = ip;
  probe.port = port;
  auto it = std::lower_bound(servers_.begin(), servers_.end(), probe, lessAddr);
  if (it == servers_.end() || it->ip != ip || it->port != port) {
    return Status::error(StatusCode::kNotFound,
                         "server " + serverStr(ip, port) + " is not in the group");
  }
  return uint32_t(it - servers_.begin());
}

Status ServerSelector::setAdmin(uint32_t ip, uint16_t port, AdminState s) {
  auto i = find(ip, port);
  if (!i) return i.status();
  if (servers_[*i].admin == s) return {};
  servers_[*i].admin = s;
  rebuild();
  return {};
}

Status ServerSelector::setHealth(uint32_t ip, uint16_t port, Health h) {
  auto i = find(ip, port);
  if (!i) return i.status();
  if (servers_[*i].health == h) return {};
  servers_[*i].health = h;
  rebuild();
  return {};
}

void ServerSelector::rebuild() {
  size_t n = servers_.size();
  selectable_ = size_t(std::count_if(servers_.begin(), servers_.end(),
                                     [](const Server& s) { return s.selectable(); }));
  table_.clear();
  heap_.clear();
  heapPos_.assign(n, kNoPos);
  rrPicks_.assign(n, 0);
  rrDone_ = 0;
  rrCycle_ = 0;
  if (opts_.policy == SelectionPolicy::kMaglev) {
    buildMaglev();
    return;
  }
  heap_.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (!servers_[i].selectable()) continue;
    heapPos_[i] = uint32_t(heap_.size());
    heap_.push_back(i);
    rrCycle_ += servers_[i].weight;
  }
  for (size_t p = heap_.size() / 2; p-- > 0;) siftDown(p);
}

// Maglev's population, weighted: every selectable server walks its own permutation of the
// table (offset + j * skip mod M, M prime) and takes the first empty entry on its turn. The
// k-th turn (k from 1) of a server of weight w comes at time k / w; turns go in time order,
// ties to the lower index. With equal weights this is Maglev's round robin over the servers.
void ServerSelector::buildMaglev() {
  const uint32_t m = opts_.maglevSize;
  std::vector<uint32_t> sel;
  for (uint32_t i = 0; i < servers_.size(); ++i) {
    if (servers_[i].selectable()) sel.push_back(i);
  }
  if (sel.empty()) return;
  size_t n = sel.size();
  std::vector<uint32_t> pos(n), skip(n);
  std::vector<uint64_t> placed(n, 0);
  for (size_t i = 0; i < n; ++i) {
    uint64_t name = serverName(servers_[sel[i]]);
    pos[i] = uint32_t(mix(name ^ 0x6d61676c65763130ull) % m);
    skip[i] = uint32_t(mix(name ^ 0x736b697073656564ull) % (m - 1) + 1);
  }
  // Min-heap of turns: the server whose next turn, (placed + 1) / weight, comes first.
  auto later = [&](uint32_t a, uint32_t b) {
    unsigned __int128 ta = (unsigned __int128)(placed[a] + 1) * servers_[sel[b]].weight;
    unsigned __int128 tb = (unsigned __int128)(placed[b] + 1) * servers_[sel[a]].weight;
    return ta != tb ? ta > tb : a > b;
  };
  std::vector<uint32_t> turns(n);
  for (uint32_t i = 0; i < n; ++i) turns[i] = i;
  std::make_heap(turns.begin(), turns.end(), later);
  table_.assign(m, kEmptyEntry);
  uint32_t filled = 0;
  while (true) {
    std::pop_heap(turns.begin(), turns.end(), later);
    uint32_t i = turns.back();
    while (table_[pos[i]] != kEmptyEntry) {
      pos[i] += skip[i];
      if (pos[i] >= m) pos[i] -= m;
    }
    table_[pos[i]] = uint16_t(sel[i]);
    ++placed[i];
    if (++filled == m) break;
    std::push_heap(turns.begin(), turns.end(), later);
  }
}

uint64_t ServerSelector::keyHash(const SelectionKey& k) const {
  if (opts_.hashOn == HashOn::kTerminalAddress) return mix(uint64_t(k.terminalIp) ^ 0x7465726dull);
  uint64_t addrs = (uint64_t(k.terminalIp) << 32) | k.dstIp;
  uint64_t rest = (uint64_t(k.terminalPort) << 24) | (uint64_t(k.dstPort) << 8) | k.proto;
  return mix(addrs ^ mix(rest ^ 0x3574757065ull));
}

bool ServerSelector::before(uint32_t a, uint32_t b) const {
  uint64_t wa = servers_[a].weight, wb = servers_[b].weight;
  unsigned __int128 ka, kb;
  if (opts_.policy == SelectionPolicy::kLeastSessions) {
    ka = (unsigned __int128)(active_[a] + 1) * wb;
    kb = (unsigned __int128)(active_[b] + 1) * wa;
  } else {
    ka = (unsigned __int128)(2 * uint64_t(rrPicks_[a]) + 1) * wb;
    kb = (unsigned __int128)(2 * uint64_t(rrPicks_[b]) + 1) * wa;
  }
  return ka != kb ? ka < kb : a < b;
}

void ServerSelector::siftUp(size_t p) {
  uint32_t s = heap_[p];
  while (p > 0) {
    size_t parent = (p - 1) / 2;
    if (!before(s, heap_[parent])) break;
    heap_[p] = heap_[parent];
    heapPos_[heap_[p]] = uint32_t(p);
    p = parent;
  }
  heap_[p] = s;
  heapPos_[s] = uint32_t(p);
}

void ServerSelector::siftDown(size_t p) {
  uint32_t s = heap_[p];
  size_t n = heap_.size();
  while (true) {
    size_t c = 2 * p + 1;
    if (c >= n) break;
    if (c + 1 < n && before(heap_[c + 1], heap_[c])) ++c;
    if (!before(heap_[c], s)) break;
    heap_[p] = heap_[c];
    heapPos_[heap_[p]] = uint32_t(p);
    p = c;
  }
  heap_[p] = s;
  heapPos_[s] = uint32_t(p);
}

void ServerSelector::reheap(uint32_t server) {
  uint32_t p = heapPos_[server];
  if (p == kNoPos) return;
  siftUp(p);
  siftDown(heapPos_[server]);
}

Result<uint32_t> ServerSelector::pick(const SelectionKey& key) {
  if (selectable_ == 0) {
    size_t drain = 0, down = 0, sick = 0;
    for (const Server& s : servers_) {
      if (s.admin == AdminState::kDrain)
        ++drain;
      else if (s.admin == AdminState::kDown)
        ++down;
      else if (s.health == Health::kDown)
        ++sick;
    }
    return Status::error(StatusCode::kUnavailable,
                         "none of the group's " + std::to_string(servers_.size()) +
                             " servers is selectable (admin up and health up needed): " +
                             std::to_string(drain) + " draining, " + std::to_string(down) +
                             " down, " + std::to_string(sick) + " failing health checks");
  }
  switch (opts_.policy) {
    case SelectionPolicy::kMaglev:
      return uint32_t(table_[keyHash(key) % opts_.maglevSize]);
    case SelectionPolicy::kLeastSessions:
      return heap_[0];
    case SelectionPolicy::kRoundRobin: {
      uint32_t s = heap_[0];
      ++rrPicks_[s];
      siftDown(0);
      if (++rrDone_ == rrCycle_) {
        // Every server had exactly its weight: all times shift by one cycle, order kept.
        for (uint32_t i : heap_) rrPicks_[i] = 0;
        rrDone_ = 0;
      }
      return s;
    }
  }
  return Status::error(StatusCode::kFailed, "unknown selection policy");
}

Status ServerSelector::sessionStarted(uint32_t index) {
  if (index >= servers_.size()) {
    return Status::error(StatusCode::kInvalidArgument,
                         "server index " + std::to_string(index) + " is out of range (0.." +
                             std::to_string(servers_.size() - 1) + ")");
  }
  ++active_[index];
  if (opts_.policy == SelectionPolicy::kLeastSessions) reheap(index);
  return {};
}

Status ServerSelector::sessionEnded(uint32_t index) {
  if (index >= servers_.size()) {
    return Status::error(StatusCode::kInvalidArgument,
                         "server index " + std::to_string(index) + " is out of range (0.." +
                             std::to_string(servers_.size() - 1) + ")");
  }
  if (active_[index] == 0) {
    return Status::error(StatusCode::kNotFound,
                         "server " + serverStr(servers_[index].ip, servers_[index].port) +
                             " has no active user session to end");
  }
  --active_[index];
  if (opts_.policy == SelectionPolicy::kLeastSessions) reheap(index);
  return {};
}

uint64_t ServerSelector::sessions(uint32_t index) const {
  return index < active_.size() ? active_[index] : 0;
}

bool ServerSelector::drained(uint32_t index) const {
  return index < servers_.size() && servers_[index].admin == AdminState::kDrain &&
         active_[index] == 0;
}

}  // namespace roamgate::control
