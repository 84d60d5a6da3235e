#include "roamgate/control/port_allocator.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <string>

#include "roamgate/control/authorizer.h"

namespace roamgate::control {

namespace {

// ChaCha's state as four rows of four words; a quarter round runs on the four columns (or,
// with the rows rotated, the four diagonals) at once.
using Row = uint32_t __attribute__((vector_size(16)));

Row rotl(Row v, int c) { return (v << c) | (v >> (32 - c)); }

void quarterRounds(Row& a, Row& b, Row& c, Row& d) {
  a += b;
  d = rotl(d ^ a, 16);
  c += d;
  b = rotl(b ^ c, 12);
  a += b;
  d = rotl(d ^ a, 8);
  c += d;
  b = rotl(b ^ c, 7);
}

// Lane i takes lane (i + K) % 4.
template <int K>
Row turn(Row v) {
#if defined(__clang__)
  return __builtin_shufflevector(v, v, K % 4, (K + 1) % 4, (K + 2) % 4, (K + 3) % 4);
#else
  return __builtin_shuffle(v, Row{K % 4, (K + 1) % 4, (K + 2) % 4, (K + 3) % 4});
#endif
}

uint64_t splitMix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string addrStr(uint8_t addrIndex) { return "gate address " + std::to_string(addrIndex); }

}  // namespace

ChaCha20Rng::ChaCha20Rng(const std::array<uint32_t, 8>& key, const std::array<uint32_t, 3>& nonce,
                         uint32_t counter) {
  state_[0] = 0x61707865;  // "expand 32-byte k"
  state_[1] = 0x3320646e;
  state_[2] = 0x79622d32;
  state_[3] = 0x6b206574;
  for (int i = 0; i < 8; ++i) state_[4 + i] = key[i];
  state_[12] = counter;
  for (int i = 0; i < 3; ++i) state_[13 + i] = nonce[i];
}

ChaCha20Rng ChaCha20Rng::fromSeed(uint64_t seed) {
  std::array<uint32_t, 8> key{};
  if (seed == 0) {
    std::random_device rd;
    for (auto& k : key) k = rd();
  } else {
    uint64_t s = seed;
    for (int i = 0; i < 8; i += 2) {
      uint64_t z = splitMix(s);
      key[i] = uint32_t(z);
      key[i + 1] = uint32_t(z >> 32);
    }
  }
  return ChaCha20Rng(key, {0, 0, 0});
}

void ChaCha20Rng::refill() {
  Row in[4];
  std::memcpy(in, state_.data(), sizeof in);
  Row a = in[0], b = in[1], c = in[2], d = in[3];
  for (int i = 0; i < 10; ++i) {
    quarterRounds(a, b, c, d);  // columns: (0, 4, 8, 12) .. (3, 7, 11, 15)
    b = turn<1>(b);
    c = turn<2>(c);
    d = turn<3>(d);
    quarterRounds(a, b, c, d);  // diagonals: (0, 5, 10, 15) .. (3, 4, 9, 14)
    b = turn<3>(b);
    c = turn<2>(c);
    d = turn<1>(d);
  }
  Row out[4] = {a + in[0], b + in[1], c + in[2], d + in[3]};
  std::memcpy(block_.data(), out, sizeof out);
  if (++state_[12] == 0) ++state_[13];
  used_ = 0;
}

uint32_t ChaCha20Rng::peek() {
  if (used_ == 16) refill();
  return block_[used_];
}

uint32_t ChaCha20Rng::next() {
  if (used_ == 16) refill();
  return block_[used_++];
}

uint32_t ChaCha20Rng::below(uint32_t n) {
  uint64_t m = uint64_t(next()) * n;
  uint32_t low = uint32_t(m);
  if (low < n) {
    uint32_t threshold = uint32_t(-n) % n;
    while (low < threshold) {
      m = uint64_t(next()) * n;
      low = uint32_t(m);
    }
  }
  return uint32_t(m >> 32);
}

Result<PortAllocator> PortAllocator::create(uint8_t addrIndex, PortAllocatorOptions opts) {
  if (addrIndex >= kNatAddrCount) {
    return Status::error(StatusCode::kInvalidArgument,
                         "gate address index " + std::to_string(addrIndex) +
                             " is not allowed: the gate has addresses 0.." +
                             std::to_string(kNatAddrCount - 1));
  }
  if (opts.lowestPort < 1 || opts.lowestPort >= kPortsPerAddr) {
    return Status::error(StatusCode::kInvalidArgument,
                         "lowest user-session port " + std::to_string(opts.lowestPort) +
                             " is not allowed (1.." + std::to_string(kPortsPerAddr - 1) + ")");
  }
  if (opts.hold.count() < 0) {
    return Status::error(StatusCode::kInvalidArgument,
                         "port hold time " +
                             std::to_string(std::chrono::duration<double>(opts.hold).count()) +
                             " s is negative; 0 or more is needed");
  }
  uint32_t capacity = kPortsPerAddr - opts.lowestPort;
  if (opts.quota > capacity) {
    return Status::error(StatusCode::kInvalidArgument,
                         "port quota " + std::to_string(opts.quota) +
                             " is more than the address has (0 for none, or 1.." +
                             std::to_string(capacity) + " from port " +
                             std::to_string(opts.lowestPort) + ")");
  }
  return PortAllocator(addrIndex, opts);
}

PortAllocator::PortAllocator(uint8_t addrIndex, PortAllocatorOptions opts)
    : addrIndex_(addrIndex),
      opts_(opts),
      rng_(ChaCha20Rng::fromSeed(opts.seed)),
      ports_(kPortsPerAddr, PortRec{0, 0, uint8_t(PortState::kReserved)}),
      holdPort_(capacity(), 0),
      holdUntil_(capacity(), 0) {
  free_.reserve(capacity());
  for (uint32_t p = opts_.lowestPort; p < kPortsPerAddr; ++p) {
    ports_[p].state = uint8_t(PortState::kFree);
    ports_[p].freePos = uint16_t(free_.size());
    free_.push_back(uint16_t(p));
  }
  if (opts_.quota > 0) {
    size_t slots = 1;
    while (slots < 2 * size_t(capacity())) slots <<= 1;
    quota_.assign(slots, QuotaEntry{});
  }
}

void PortAllocator::advance(Clock::time_point now) {
  int64_t t = std::max<int64_t>(now.time_since_epoch().count(), lastNow_);
  lastNow_ = t;
  uint32_t cap = capacity();
  while (holdLen_ > 0 && holdUntil_[holdHead_] <= t) {
    uint16_t port = holdPort_[holdHead_];
    ports_[port].state = uint8_t(PortState::kFree);
    ports_[port].freePos = uint16_t(free_.size());
    free_.push_back(port);  // within the capacity reserved
    holdHead_ = holdHead_ + 1 == cap ? 0 : holdHead_ + 1;
    --holdLen_;
    ++counters_.released;
  }
}

void PortAllocator::takeFree(uint16_t port) { takeFreeAt(ports_[port].freePos); }

void PortAllocator::takeFreeAt(uint32_t i) {
  uint16_t last = free_.back();
  free_[i] = last;
  ports_[last].freePos = uint16_t(i);
  free_.pop_back();
}

Result<uint16_t> PortAllocator::allocate(SubscriberId sub, Clock::time_point now) {
  advance(now);
  if (opts_.quota > 0 && quota_[quotaSlot(sub)].count >= opts_.quota) {
    ++counters_.refusedQuota;
    return Status::error(StatusCode::kOverQuota, "subscriber " + subscriberStr(sub) + " holds " +
                                                  std::to_string(opts_.quota) + " ports of " +
                                                  addrStr(addrIndex_) +
                                                  ", its quota: no more until one is freed");
  }
  if (free_.empty()) {
    ++counters_.refusedFull;
    return Status::error(
        StatusCode::kFull,
        addrStr(addrIndex_) + " has no free port: " + std::to_string(inUse_) + " in use and " +
            std::to_string(holdLen_) + " held of " + std::to_string(capacity()) + " (ports " +
            std::to_string(opts_.lowestPort) + ".." + std::to_string(kPortsPerAddr - 1) + ")");
  }
  uint32_t at = rng_.below(uint32_t(free_.size()));
  uint16_t port = free_[at];
  takeFreeAt(at);
  ports_[port].state = uint8_t(PortState::kInUse);
  ports_[port].owner = sub;
  if (opts_.quota > 0) quotaAdd(sub);
  ++inUse_;
  ++counters_.allocated;
  // Where the next allocation will most likely look (the same draw unless ports are freed or
  // released first), and the record of the port it moves into the gap: brought into cache
  // now, so that they are there by then.
  if (!free_.empty()) {
    __builtin_prefetch(&free_[(uint64_t(rng_.peek()) * free_.size()) >> 32]);
    __builtin_prefetch(&ports_[free_.back()], 1);
  }
  return port;
}

Status PortAllocator::free(uint16_t port, Clock::time_point now) {
  advance(now);
  if (ports_[port].state != uint8_t(PortState::kInUse)) {
    return Status::error(StatusCode::kNotFound, "port " + std::to_string(port) + " of " +
                                                    addrStr(addrIndex_) + " is not in use");
  }
  if (opts_.quota > 0) quotaRemove(ports_[port].owner);
  ports_[port].owner = 0;
  ports_[port].state = uint8_t(PortState::kHeld);
  --inUse_;
  uint32_t cap = capacity();
  uint32_t tail = holdHead_ + holdLen_;
  if (tail >= cap) tail -= cap;
  holdPort_[tail] = port;
  holdUntil_[tail] = lastNow_ + int64_t(opts_.hold.count());
  ++holdLen_;
  ++counters_.freed;
  return {};
}

Status PortAllocator::restore(uint16_t port, SubscriberId sub) {
  if (port < opts_.lowestPort) {
    return Status::error(StatusCode::kInvalidArgument,
                         "port " + std::to_string(port) + " of " + addrStr(addrIndex_) +
                             " is below the lowest user-session port " +
                             std::to_string(opts_.lowestPort));
  }
  PortState s = PortState(ports_[port].state);
  if (s == PortState::kInUse) {
    return Status::error(StatusCode::kAlreadyExists, "port " + std::to_string(port) + " of " +
                                                         addrStr(addrIndex_) +
                                                         " is already in use (subscriber " +
                                                         subscriberStr(ports_[port].owner) + ")");
  }
  if (s == PortState::kFree) {
    takeFree(port);
  } else {
    // Held: take it out of the ring, keeping the others in order (rare: a start-up restore
    // finds every port free).
    uint32_t cap = capacity();
    uint32_t k = 0;
    while (holdPort_[(holdHead_ + k) % cap] != port) ++k;
    for (; k + 1 < holdLen_; ++k) {
      uint32_t to = (holdHead_ + k) % cap, from = (holdHead_ + k + 1) % cap;
      holdPort_[to] = holdPort_[from];
      holdUntil_[to] = holdUntil_[from];
    }
    --holdLen_;
  }
  ports_[port].state = uint8_t(PortState::kInUse);
  ports_[port].owner = sub;
  if (opts_.quota > 0) quotaAdd(sub);
  ++inUse_;
  ++counters_.restored;
  return {};
}

size_t PortAllocator::quotaSlot(SubscriberId sub) const {
  size_t mask = quota_.size() - 1;
  uint64_t s = sub;
  size_t i = size_t(splitMix(s)) & mask;
  while (quota_[i].count != 0 && quota_[i].sub != sub) i = (i + 1) & mask;
  return i;
}

void PortAllocator::quotaAdd(SubscriberId sub) {
  QuotaEntry& e = quota_[quotaSlot(sub)];
  e.sub = sub;
  ++e.count;
}

void PortAllocator::quotaRemove(SubscriberId sub) {
  size_t i = quotaSlot(sub);
  if (quota_[i].count == 0 || --quota_[i].count > 0) return;
  // Backward-shift deletion: move later entries of the probe run into the hole unless their
  // home slot lies cyclically in (hole, entry].
  size_t mask = quota_.size() - 1;
  size_t j = i;
  while (true) {
    j = (j + 1) & mask;
    if (quota_[j].count == 0) break;
    uint64_t s = quota_[j].sub;
    size_t home = size_t(splitMix(s)) & mask;
    bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    quota_[i] = quota_[j];
    quota_[j].count = 0;
    i = j;
  }
}

uint32_t PortAllocator::portsOf(SubscriberId sub) const {
  return quota_.empty() ? 0 : quota_[quotaSlot(sub)].count;
}

}  // namespace roamgate::control
