// The port allocator of one gate address: no port handed out twice, a freed port held back for
// the hold time and handed out after it, the per-subscriber quota, a full address refused and
// counted (never evicting), restore at start-up, allocations that are not sequential, and
// allocation still working at 99 % full. Time is passed in; nothing sleeps.
#include "roamgate/control/port_allocator.h"

#include "roamgate/control/authorizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace roamgate::control {
namespace {

using namespace std::chrono_literals;
using Clock = PortAllocator::Clock;

constexpr uint64_t kSeed = 0x5eed0611;

std::string seedNote(uint64_t seed) { return "seed " + std::to_string(seed); }

Clock::time_point at(Clock::duration d) { return Clock::time_point{} + d; }

PortAllocator make(PortAllocatorOptions o, uint8_t addr = 0) {
  if (o.seed == 0) o.seed = kSeed;
  auto a = PortAllocator::create(addr, o);
  EXPECT_TRUE(a.ok()) << a.status().message();
  return std::move(a).value();
}

uint16_t allocOk(PortAllocator& a, SubscriberId sub, Clock::time_point now) {
  auto r = a.allocate(sub, now);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : 0;
}

TEST(PortAllocator, ChaCha20MatchesRfc8439BlockVector) {
  // RFC 8439 2.3.2: key 00:01:..:1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, counter 1.
  std::array<uint32_t, 8> key{};
  for (int i = 0; i < 8; ++i) {
    key[i] = uint32_t(4 * i) | uint32_t(4 * i + 1) << 8 | uint32_t(4 * i + 2) << 16 |
             uint32_t(4 * i + 3) << 24;
  }
  ChaCha20Rng rng(key, {0x09000000, 0x4a000000, 0}, 1);
  const uint32_t want[16] = {0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3, 0xc7f4d1c7, 0x0368c033,
                             0x9aaa2204, 0x4e6cd4c3, 0x466482d2, 0x09aa9f07, 0x05d7c214, 0xa2028bd9,
                             0xd19c12b5, 0xb94e16de, 0xe883d0cb, 0x4e3c50a2};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(rng.next(), want[i]) << "word " << i;
}

TEST(PortAllocator, ConstantsComeFromTheGateRegisterMap) {
  EXPECT_EQ(kNatAddrCount, regs::gate::kNatAddrs);
  EXPECT_EQ(kPortsPerAddr, 1u << regs::gate::kPortsLog2);
  auto a = make({});
  EXPECT_EQ(a.capacity(), kPortsPerAddr - 1024);
  EXPECT_EQ(PortAllocator::create(uint8_t(kNatAddrCount), {}).code(), StatusCode::kInvalidArgument);
}

TEST(PortAllocator, FreedPortHeldForTheHoldTimeThenReused) {
  PortAllocatorOptions o;
  o.lowestPort = kPortsPerAddr - 16;  // 16 ports, so the only free one is the one we free
  auto a = make(o);
  std::set<uint16_t> taken;
  for (int i = 0; i < 16; ++i) taken.insert(allocOk(a, 1, at(0s)));
  ASSERT_EQ(taken.size(), 16u);
  uint16_t port = *std::next(taken.begin(), 5);
  ASSERT_TRUE(a.free(port, at(10s)).ok());
  EXPECT_EQ(a.state(port), PortState::kHeld);
  auto early = a.allocate(2, at(10s + 120s - 1ms));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.code(), StatusCode::kFull);
  EXPECT_EQ(a.held(), 1u);
  EXPECT_EQ(allocOk(a, 2, at(130s)), port);  // exactly the hold time later
  EXPECT_EQ(a.counters().released, 1u);
  EXPECT_EQ(a.counters().refusedFull, 1u);
}

// Random churn over 256 ports (so ports come back often): every port handed out again was
// freed at least the hold time before, and many were.
TEST(PortAllocator, NoPortReusedWithinTheHoldTime) {
  PortAllocatorOptions o;
  o.lowestPort = kPortsPerAddr - 256;
  auto a = make(o);
  std::mt19937_64 rng(kSeed);
  std::vector<uint16_t> inUse;
  std::map<uint16_t, Clock::time_point> freedAt;
  size_t reused = 0;
  Clock::time_point now = at(0s);
  for (int step = 0; step < 40000; ++step) {
    now += 50ms;
    if (inUse.empty() || (rng() % 2 == 0)) {
      auto r = a.allocate(rng() % 50, now);
      if (!r.ok()) {
        ASSERT_EQ(r.code(), StatusCode::kFull) << seedNote(kSeed);
        continue;
      }
      auto it = freedAt.find(*r);
      if (it != freedAt.end()) {
        ASSERT_GE(now - it->second, o.hold) << "port " << *r << " " << seedNote(kSeed);
        ++reused;
      }
      inUse.push_back(*r);
    } else {
      size_t i = rng() % inUse.size();
      ASSERT_TRUE(a.free(inUse[i], now).ok());
      freedAt[inUse[i]] = now;
      inUse[i] = inUse.back();
      inUse.pop_back();
    }
  }
  EXPECT_GT(reused, 1000u) << seedNote(kSeed);
  EXPECT_EQ(a.inUse(), inUse.size());
}

TEST(PortAllocator, QuotaPerSubscriber) {
  PortAllocatorOptions o;
  o.quota = 3;
  auto a = make(o);
  std::vector<uint16_t> mine;
  for (int i = 0; i < 3; ++i) mine.push_back(allocOk(a, 1001, at(0s)));
  EXPECT_EQ(a.portsOf(1001), 3u);
  auto over = a.allocate(1001, at(1s));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.code(), StatusCode::kOverQuota);  // distinct from kFull (out of ports)
  EXPECT_NE(over.status().message().find("quota"), std::string::npos);
  EXPECT_EQ(a.counters().refusedQuota, 1u);
  EXPECT_EQ(a.inUse(), 3u);  // nothing evicted
  // Another subscriber is not limited by the first one's.
  for (int i = 0; i < 3; ++i) allocOk(a, 1002, at(1s));
  // A freed port no longer counts (held ports do not), so the first one may allocate again.
  ASSERT_TRUE(a.free(mine[0], at(2s)).ok());
  EXPECT_EQ(a.portsOf(1001), 2u);
  allocOk(a, 1001, at(2s));
  EXPECT_EQ(a.allocate(1001, at(2s)).code(), StatusCode::kOverQuota);
  EXPECT_EQ(a.counters().refusedQuota, 2u);
  // A subscriber id made from an IMSI is named by the IMSI.
  uint64_t imsi = imsiNumber("001010000000007");
  for (int i = 0; i < 3; ++i) allocOk(a, imsi, at(1s));
  EXPECT_NE(a.allocate(imsi, at(1s)).status().message().find("subscriber IMSI 001010000000007"),
            std::string::npos);
}

TEST(PortAllocator, QuotaTableSurvivesManySubscribersComingAndGoing) {
  PortAllocatorOptions o;
  o.quota = 2;
  o.hold = 0s;
  auto a = make(o);
  std::mt19937_64 rng(kSeed);
  std::map<SubscriberId, std::vector<uint16_t>> held;
  for (int step = 0; step < 60000; ++step) {
    SubscriberId sub = rng() % 5000;
    auto& ports = held[sub];
    if (ports.size() < 2 && rng() % 3 != 0) {
      ports.push_back(allocOk(a, sub, at(1s)));
    } else if (!ports.empty()) {
      ASSERT_TRUE(a.free(ports.back(), at(1s)).ok());
      ports.pop_back();
    } else {
      continue;
    }
    ASSERT_EQ(a.portsOf(sub), ports.size()) << "subscriber " << sub << " " << seedNote(kSeed);
  }
  for (const auto& [sub, ports] : held) {
    ASSERT_EQ(a.portsOf(sub), ports.size()) << "subscriber " << sub << " " << seedNote(kSeed);
  }
}

TEST(PortAllocator, FullAddressRefusedAndCountedNeverEvicting) {
  auto a = make({});
  std::vector<bool> seen(kPortsPerAddr, false);
  for (uint32_t i = 0; i < 64512; ++i) {
    uint16_t p = allocOk(a, i % 977, at(0s));
    ASSERT_GE(p, 1024u);
    ASSERT_FALSE(seen[p]) << "port " << p << " handed out twice";
    seen[p] = true;
  }
  EXPECT_EQ(a.inUse(), 64512u);
  EXPECT_EQ(a.available(), 0u);
  for (int i = 0; i < 10; ++i) {
    auto r = a.allocate(7, at(1s));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), StatusCode::kFull);
  }
  EXPECT_NE(a.allocate(7, at(1s)).status().message().find("64512 in use"), std::string::npos);
  EXPECT_EQ(a.counters().refusedFull, 11u);
  EXPECT_EQ(a.inUse(), 64512u);
  for (uint32_t p = 1024; p < kPortsPerAddr; ++p)
    ASSERT_EQ(a.state(uint16_t(p)), PortState::kInUse);
}

TEST(PortAllocator, RestoreMarksPortsInUse) {
  PortAllocatorOptions o;
  o.lowestPort = kPortsPerAddr - 8;
  o.quota = 1;
  auto a = make(o);
  const uint16_t first = uint16_t(kPortsPerAddr - 8);
  // The device's port table after a restart: three ports, two of one subscriber (over its
  // quota: the device wins).
  ASSERT_TRUE(a.restore(first, 42).ok());
  ASSERT_TRUE(a.restore(first + 3, 42).ok());
  ASSERT_TRUE(a.restore(first + 7, 43).ok());
  EXPECT_EQ(a.restore(first + 3, 44).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(a.restore(1000, 44).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a.owner(first + 3), 42u);
  EXPECT_EQ(a.portsOf(42), 2u);
  EXPECT_EQ(a.counters().restored, 3u);
  std::set<uint16_t> got;
  for (SubscriberId s = 100; s < 105; ++s) got.insert(allocOk(a, s, at(0s)));
  EXPECT_EQ(got, (std::set<uint16_t>{uint16_t(first + 1), uint16_t(first + 2), uint16_t(first + 4),
                                     uint16_t(first + 5), uint16_t(first + 6)}));
  EXPECT_EQ(a.allocate(105, at(0s)).code(), StatusCode::kFull);
  EXPECT_EQ(a.allocate(42, at(0s)).code(), StatusCode::kOverQuota);

  // A held port restored leaves its hold; it is not freed when the hold would have ended.
  ASSERT_TRUE(a.free(first + 1, at(0s)).ok());
  ASSERT_TRUE(a.free(first + 2, at(1s)).ok());
  ASSERT_TRUE(a.restore(first + 1, 50).ok());
  EXPECT_EQ(a.held(), 1u);
  a.advance(at(200s));
  EXPECT_EQ(a.state(first + 1), PortState::kInUse);
  EXPECT_EQ(a.state(first + 2), PortState::kFree);
  EXPECT_EQ(allocOk(a, 51, at(200s)), first + 2);
}

TEST(PortAllocator, SuccessiveAllocationsAreNotSequential) {
  auto a = make({});
  std::vector<uint16_t> ports;
  for (int i = 0; i < 10000; ++i) ports.push_back(allocOk(a, 1, at(0s)));
  size_t adjacent = 0, rising = 0;
  std::vector<size_t> bucket(16, 0);  // 16 equal slices of 1024..65535
  for (size_t i = 0; i < ports.size(); ++i) {
    ++bucket[(ports[i] - 1024) / 4032];
    if (i == 0) continue;
    int d = int(ports[i]) - int(ports[i - 1]);
    if (d == 1 || d == -1) ++adjacent;
    if (d > 0) ++rising;
  }
  // Uniform choices: about 0.3 adjacent pairs expected, half of the steps rising.
  EXPECT_LE(adjacent, 5u) << seedNote(kSeed);
  EXPECT_NEAR(double(rising) / double(ports.size() - 1), 0.5, 0.03) << seedNote(kSeed);
  for (size_t b = 0; b < bucket.size(); ++b) {
    EXPECT_NEAR(double(bucket[b]), 625.0, 125.0) << "slice " << b << " " << seedNote(kSeed);
  }
  // The same seed gives the same ports, another seed others.
  PortAllocatorOptions o;
  o.seed = kSeed;
  auto same = make(o);
  o.seed = kSeed + 1;
  auto other = make(o);
  size_t equalToOther = 0;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(allocOk(same, 1, at(0s)), ports[i]);
    equalToOther += allocOk(other, 1, at(0s)) == ports[i];
  }
  EXPECT_LE(equalToOther, 2u);
}

TEST(PortAllocator, AllocationStillWorksAt99PercentFull) {
  PortAllocatorOptions o;
  o.hold = 0s;  // ports come straight back, so churn keeps the address 99 % full
  auto a = make(o);
  const uint32_t fill = a.capacity() * 99 / 100;
  std::vector<uint16_t> inUse;
  for (uint32_t i = 0; i < fill; ++i) inUse.push_back(allocOk(a, i, at(0s)));
  std::mt19937_64 rng(kSeed);
  Clock::time_point now = at(0s);
  for (int step = 0; step < 100000; ++step) {
    now += 1ms;
    size_t i = rng() % inUse.size();
    ASSERT_TRUE(a.free(inUse[i], now).ok());
    uint16_t p = allocOk(a, step, now);
    ASSERT_EQ(a.state(p), PortState::kInUse);
    inUse[i] = p;
  }
  std::set<uint16_t> distinct(inUse.begin(), inUse.end());
  EXPECT_EQ(distinct.size(), inUse.size()) << seedNote(kSeed);
  // The last 1 %: exactly as many as remain, then refused.
  uint32_t left = a.capacity() - fill;
  for (uint32_t i = 0; i < left; ++i) allocOk(a, 1, now);
  EXPECT_EQ(a.allocate(1, now).code(), StatusCode::kFull);
}

TEST(PortAllocator, ClockGoingBackCountsAsTheLastTimeSeen) {
  PortAllocatorOptions o;
  o.lowestPort = kPortsPerAddr - 1;
  auto a = make(o);
  uint16_t p = allocOk(a, 1, at(100s));
  ASSERT_TRUE(a.free(p, at(50s)).ok());  // counts as 100 s: held until 220 s
  EXPECT_EQ(a.allocate(1, at(219s)).code(), StatusCode::kFull);
  EXPECT_EQ(allocOk(a, 1, at(220s)), p);
}

TEST(PortAllocator, RefusesBadOptionsAndFreesOfPortsNotInUse) {
  auto bad = [](PortAllocatorOptions o, const std::string& part) {
    auto r = PortAllocator::create(0, o);
    ASSERT_FALSE(r.ok()) << part;
    EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status().message();
  };
  PortAllocatorOptions o;
  o.lowestPort = 0;
  bad(o, "lowest user-session port 0");
  o.lowestPort = 65536;
  bad(o, "(1..65535)");
  o = {};
  o.hold = -1s;
  bad(o, "negative");
  o = {};
  o.quota = 70000;
  bad(o, "port quota 70000");

  auto a = make({});
  EXPECT_EQ(a.free(5000, at(0s)).code(), StatusCode::kNotFound);
  uint16_t p = allocOk(a, 1, at(0s));
  ASSERT_TRUE(a.free(p, at(0s)).ok());
  EXPECT_EQ(a.free(p, at(0s)).code(), StatusCode::kNotFound);  // held, not in use
  EXPECT_EQ(a.free(80, at(0s)).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace roamgate::control
