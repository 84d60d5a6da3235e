// Server selection: each policy's split against the weights (1:10 included), Maglev's table
// shares and its disruption when a server leaves, the same choices whatever order the group
// comes in, draining, down and failing servers never picked, least sessions following starts
// and ends, and the group's checks.
#include "roamgate/control/selection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace roamgate::control {
namespace {

constexpr uint64_t kSeed = 20240611;

std::string seedNote(uint64_t seed) { return "seed " + std::to_string(seed); }

uint32_t serverIp(int i) { return 0xc6120400u + 10 + uint32_t(i); }  // 198.18.4.10 + i

std::vector<Server> group(const std::vector<uint32_t>& weights) {
  std::vector<Server> v;
  for (size_t i = 0; i < weights.size(); ++i) {
    Server s;
    s.ip = serverIp(int(i));
    s.port = 80;
    s.weight = weights[i];
    v.push_back(s);
  }
  return v;
}

ServerSelector make(const std::vector<Server>& servers, SelectorOptions opts) {
  auto sel = ServerSelector::create(servers, opts);
  EXPECT_TRUE(sel.ok()) << sel.status().message();
  return std::move(sel).value();
}

SelectorOptions options(SelectionPolicy p, HashOn h = HashOn::kTerminalAddress) {
  SelectorOptions o;
  o.policy = p;
  o.hashOn = h;
  return o;
}

// Terminal addresses in 10.0.0.0/8 and random 5-tuples.
std::vector<SelectionKey> keys(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<SelectionKey> v(n);
  for (auto& k : v) {
    k.terminalIp = 0x0a000000u | uint32_t(rng() & 0xffffff);
    k.terminalPort = uint16_t(rng());
    k.dstIp = 0xc6120064u;
    k.dstPort = 443;
    k.proto = 6;
  }
  return v;
}

uint32_t pickOk(ServerSelector& sel, const SelectionKey& k = {}) {
  auto r = sel.pick(k);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : 0;
}

// ---- Maglev --------------------------------------------------------------------------------

TEST(SelectionMaglev, TableShareFollowsWeights) {
  // Turns at k / weight give each server M * w / W entries within n + 1 (the table fills part
  // way through a round of turns); 1 % of the table would be 655 entries.
  for (const auto& weights : std::vector<std::vector<uint32_t>>{
           {1, 10}, {1, 1, 1, 1, 1, 1, 1, 1}, {1, 2, 3, 4, 5}, {100, 1, 37, 65535}, {1, 65535}}) {
    auto sel = make(group(weights), options(SelectionPolicy::kMaglev));
    const auto& t = sel.maglevTable();
    ASSERT_EQ(t.size(), kSelectionMaglevSize);
    std::vector<uint64_t> count(weights.size(), 0);
    for (uint16_t e : t) {
      ASSERT_LT(e, weights.size());
      ++count[e];
    }
    double total = 0;
    for (uint32_t w : weights) total += w;
    for (size_t i = 0; i < weights.size(); ++i) {
      double want = kSelectionMaglevSize * weights[i] / total;
      EXPECT_LE(std::abs(double(count[i]) - want), double(weights.size() + 1))
          << "weights[" << i << "] = " << weights[i] << ": " << count[i] << " entries, want "
          << want;
    }
  }
}

TEST(SelectionMaglev, KeysFollowWeightsOneToTen) {
  for (HashOn h : {HashOn::kTerminalAddress, HashOn::kFiveTuple}) {
    SCOPED_TRACE(std::string(hashOnName(h)) + " " + seedNote(kSeed));
    auto sel = make(group({1, 10}), options(SelectionPolicy::kMaglev, h));
    auto ks = keys(220000, kSeed);
    std::vector<uint64_t> count(2, 0);
    for (const auto& k : ks) ++count[pickOk(sel, k)];
    double light = double(count[0]) / double(ks.size());
    EXPECT_NEAR(light, 1.0 / 11, 0.01) << count[0] << " of " << ks.size();
  }
}

TEST(SelectionMaglev, HashesOnlyTheStatedPartOfTheFlow) {
  auto ks = keys(2000, kSeed);
  auto byTerminal = make(group({1, 1, 1, 1}), options(SelectionPolicy::kMaglev));
  auto byTuple = make(group({1, 1, 1, 1}), options(SelectionPolicy::kMaglev, HashOn::kFiveTuple));
  size_t tupleDiffers = 0;
  for (auto k : ks) {
    uint32_t a = pickOk(byTerminal, k), b = pickOk(byTuple, k);
    SelectionKey other = k;
    other.terminalPort ^= 0x5a5a;
    other.dstPort = 8443;
    EXPECT_EQ(pickOk(byTerminal, other), a) << "terminal hash must ignore ports";
    if (pickOk(byTuple, other) != b) ++tupleDiffers;
  }
  // Four equal servers: a changed 5-tuple lands elsewhere about 3/4 of the time.
  EXPECT_GT(tupleDiffers, ks.size() / 2) << seedNote(kSeed);
}

// One server of N leaves (health down): its keys go elsewhere, and only a little more than its
// own share of all keys moves; keys of the other servers stay where they were.
TEST(SelectionMaglev, OneServerLeavingMovesAboutOneNth) {
  for (const auto& weights :
       std::vector<std::vector<uint32_t>>{std::vector<uint32_t>(10, 1), {1, 2, 3, 4, 5, 6, 7, 8}}) {
    SCOPED_TRACE(seedNote(kSeed) + ", " + std::to_string(weights.size()) + " servers");
    auto servers = group(weights);
    auto sel = make(servers, options(SelectionPolicy::kMaglev, HashOn::kFiveTuple));
    auto ks = keys(100000, kSeed);
    std::vector<uint32_t> before;
    for (const auto& k : ks) before.push_back(pickOk(sel, k));
    const uint32_t gone = 3;
    ASSERT_TRUE(sel.setHealth(servers[gone].ip, servers[gone].port, Health::kDown).ok());
    size_t moved = 0, otherMoved = 0, ofGone = 0;
    for (size_t i = 0; i < ks.size(); ++i) {
      uint32_t now = pickOk(sel, ks[i]);
      EXPECT_NE(now, gone);
      if (before[i] == gone) ++ofGone;
      if (now != before[i]) {
        ++moved;
        if (before[i] != gone) ++otherMoved;
      }
    }
    double share = double(ofGone) / double(ks.size());
    double movedShare = double(moved) / double(ks.size());
    double otherShare = double(otherMoved) / double(ks.size());
    std::printf("maglev %zu servers: server %u held %.4f of keys; %.4f moved, %.4f of others\n",
                weights.size(), gone, share, movedShare, otherShare);
    EXPECT_LT(otherShare, 0.02);
    EXPECT_LT(movedShare, share + 0.02);
  }
}

TEST(SelectionMaglev, SameTableWhateverTheOrder) {
  auto servers = group({3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5});
  auto ref = make(servers, options(SelectionPolicy::kMaglev));
  std::mt19937 rng(kSeed);
  for (int round = 0; round < 4; ++round) {
    auto shuffled = servers;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    auto sel = make(shuffled, options(SelectionPolicy::kMaglev));
    EXPECT_EQ(sel.maglevTable(), ref.maglevTable()) << seedNote(kSeed) << " round " << round;
  }
}

TEST(SelectionMaglev, ServerBackAfterHealthDownGetsItsEntriesBack) {
  auto servers = group({1, 2, 3, 4});
  auto sel = make(servers, options(SelectionPolicy::kMaglev));
  auto original = sel.maglevTable();
  ASSERT_TRUE(sel.setHealth(servers[2].ip, 80, Health::kDown).ok());
  EXPECT_EQ(std::count(sel.maglevTable().begin(), sel.maglevTable().end(), 2), 0);
  ASSERT_TRUE(sel.setHealth(servers[2].ip, 80, Health::kUp).ok());
  EXPECT_EQ(sel.maglevTable(), original);
}

// ---- Round robin ---------------------------------------------------------------------------

TEST(SelectionRoundRobin, OneToTenExactlyInEveryElevenPicks) {
  auto sel = make(group({1, 10}), options(SelectionPolicy::kRoundRobin));
  for (int cycle = 0; cycle < 200; ++cycle) {
    int light = 0;
    for (int i = 0; i < 11; ++i) light += pickOk(sel) == 0;
    ASSERT_EQ(light, 1) << "cycle " << cycle;
  }
}

TEST(SelectionRoundRobin, EveryCycleGivesEachServerItsWeightSpreadOut) {
  auto sel = make(group({5, 1, 1}), options(SelectionPolicy::kRoundRobin));
  std::string seq;
  for (int i = 0; i < 14; ++i) seq += char('a' + pickOk(sel));
  EXPECT_EQ(seq, "aaabcaaaaabcaa");

  std::mt19937 rng(kSeed);
  std::vector<uint32_t> weights;
  for (int i = 0; i < 12; ++i) weights.push_back(1 + rng() % 40);
  uint64_t total = 0;
  for (uint32_t w : weights) total += w;
  auto wrr = make(group(weights), options(SelectionPolicy::kRoundRobin));
  for (int cycle = 0; cycle < 20; ++cycle) {
    std::vector<uint32_t> count(weights.size(), 0);
    for (uint64_t i = 0; i < total; ++i) ++count[pickOk(wrr)];
    ASSERT_EQ(count, weights) << seedNote(kSeed) << " cycle " << cycle;
  }
}

TEST(SelectionRoundRobin, SameSequenceWhateverTheOrder) {
  auto servers = group({7, 3, 1, 12, 5});
  auto a = make(servers, options(SelectionPolicy::kRoundRobin));
  std::reverse(servers.begin(), servers.end());
  auto b = make(servers, options(SelectionPolicy::kRoundRobin));
  for (int i = 0; i < 300; ++i) ASSERT_EQ(pickOk(a), pickOk(b)) << "pick " << i;
}

// ---- Least sessions ------------------------------------------------------------------------

TEST(SelectionLeastSessions, OneToTenOverStarts) {
  auto sel = make(group({1, 10}), options(SelectionPolicy::kLeastSessions));
  for (int cycle = 1; cycle <= 100; ++cycle) {
    for (int i = 0; i < 11; ++i) ASSERT_TRUE(sel.sessionStarted(pickOk(sel)).ok());
    ASSERT_EQ(sel.sessions(0), uint64_t(cycle)) << "after " << 11 * cycle << " starts";
    ASSERT_EQ(sel.sessions(1), uint64_t(10 * cycle));
  }
}

TEST(SelectionLeastSessions, FollowsStartsAndEnds) {
  auto sel = make(group({1, 1, 2}), options(SelectionPolicy::kLeastSessions));
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(sel.sessionStarted(pickOk(sel)).ok());
  EXPECT_EQ(sel.sessions(0), 10u);
  EXPECT_EQ(sel.sessions(1), 10u);
  EXPECT_EQ(sel.sessions(2), 20u);
  // Five end on server 1: the next five new user sessions go there, then the split resumes.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sel.sessionEnded(1).ok());
  for (int i = 0; i < 5; ++i) {
    uint32_t s = pickOk(sel);
    ASSERT_EQ(s, 1u) << "start " << i;
    ASSERT_TRUE(sel.sessionStarted(s).ok());
  }
  std::vector<uint64_t> got(3, 0);
  for (int i = 0; i < 40; ++i) {
    uint32_t s = pickOk(sel);
    ++got[s];
    ASSERT_TRUE(sel.sessionStarted(s).ok());
  }
  EXPECT_EQ(got, (std::vector<uint64_t>{10, 10, 20}));
  // Sessions reported on a server beyond the heap's favourite move the choice away from it.
  auto two = make(group({1, 1}), options(SelectionPolicy::kLeastSessions));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(two.sessionStarted(0).ok());
  EXPECT_EQ(pickOk(two), 1u);
}

// ---- Every policy --------------------------------------------------------------------------

TEST(Selection, NeverPicksDrainingDownOrFailingServers) {
  for (auto p :
       {SelectionPolicy::kMaglev, SelectionPolicy::kLeastSessions, SelectionPolicy::kRoundRobin}) {
    SCOPED_TRACE(std::string(policyName(p)) + " " + seedNote(kSeed));
    auto servers = group({5, 5, 5, 1, 5});
    auto sel = make(servers, options(p, HashOn::kFiveTuple));
    // Server 0 has three user sessions when it starts draining.
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(sel.sessionStarted(0).ok());
    ASSERT_TRUE(sel.setAdmin(servers[0].ip, 80, AdminState::kDrain).ok());
    ASSERT_TRUE(sel.setAdmin(servers[1].ip, 80, AdminState::kDown).ok());
    ASSERT_TRUE(sel.setHealth(servers[2].ip, 80, Health::kDown).ok());
    EXPECT_EQ(sel.selectableCount(), 2u);
    std::vector<uint64_t> count(servers.size(), 0);
    for (const auto& k : keys(6000, kSeed)) {
      uint32_t s = pickOk(sel, k);
      ++count[s];
      ASSERT_TRUE(sel.sessionStarted(s).ok());
    }
    EXPECT_EQ(count[0] + count[1] + count[2], 0u);
    EXPECT_GT(count[3], 0u);
    EXPECT_GT(count[4], count[3]);
    // The draining server still has its three; `server drain` waits for them.
    EXPECT_EQ(sel.sessions(0), 3u);
    for (int i = 0; i < 3; ++i) {
      EXPECT_FALSE(sel.drained(0));
      ASSERT_TRUE(sel.sessionEnded(0).ok());
    }
    EXPECT_TRUE(sel.drained(0));
    EXPECT_FALSE(sel.drained(3));
  }
}

TEST(Selection, NoSelectableServerIsUnavailableUntilOneRecovers) {
  for (auto p :
       {SelectionPolicy::kMaglev, SelectionPolicy::kLeastSessions, SelectionPolicy::kRoundRobin}) {
    SCOPED_TRACE(policyName(p));
    auto servers = group({1, 2});
    auto sel = make(servers, options(p));
    ASSERT_TRUE(sel.setHealth(servers[0].ip, 80, Health::kDown).ok());
    ASSERT_TRUE(sel.setAdmin(servers[1].ip, 80, AdminState::kDrain).ok());
    auto r = sel.pick({});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), StatusCode::kUnavailable);
    EXPECT_EQ(sel.selectableCount(), 0u);
    EXPECT_NE(r.status().message().find("1 draining"), std::string::npos) << r.status().message();
    // Health comes back: the server is picked again.
    ASSERT_TRUE(sel.setHealth(servers[0].ip, 80, Health::kUp).ok());
    EXPECT_EQ(pickOk(sel), 0u);
  }
}

TEST(Selection, SetServersKeepsTheCountsOfServersThatStay) {
  auto servers = group({1, 1, 1});
  auto sel = make(servers, options(SelectionPolicy::kLeastSessions));
  ASSERT_TRUE(sel.sessionStarted(1).ok());
  ASSERT_TRUE(sel.sessionStarted(1).ok());
  ASSERT_TRUE(sel.sessionStarted(2).ok());
  // Server 0 leaves, a new one (lowest address) joins.
  Server fresh;
  fresh.ip = 0xc6120401u;
  fresh.port = 80;
  std::vector<Server> next = {servers[2], fresh, servers[1]};
  ASSERT_TRUE(sel.setServers(next).ok());
  ASSERT_EQ(sel.servers().size(), 3u);
  EXPECT_EQ(sel.servers()[0].ip, fresh.ip);
  EXPECT_EQ(sel.sessions(0), 0u);
  EXPECT_EQ(sel.sessions(*sel.find(servers[1].ip, 80)), 2u);
  EXPECT_EQ(sel.sessions(*sel.find(servers[2].ip, 80)), 1u);
  EXPECT_EQ(pickOk(sel), 0u);  // the empty newcomer
  EXPECT_EQ(sel.find(servers[0].ip, 80).code(), StatusCode::kNotFound);
}

TEST(Selection, RefusesBadGroupsNamingTheValue) {
  auto expectBad = [](std::vector<Server> s, const std::string& part, SelectorOptions o = {}) {
    auto r = ServerSelector::create(std::move(s), o);
    ASSERT_FALSE(r.ok()) << part;
    EXPECT_EQ(r.code(), StatusCode::kInvalidArgument) << part;
    EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status().message();
  };
  expectBad(group({1, 0}), "weight 0 is not allowed (1..65535)");
  expectBad(group({65536}), "weight 65536");
  expectBad({}, "at least one server");
  auto dup = group({1, 2});
  dup[1].ip = dup[0].ip;
  expectBad(dup, "198.18.4.10:80 is listed twice");
  auto zero = group({1});
  zero[0].ip = 0;
  expectBad(zero, "0.0.0.0");
  SelectorOptions o;
  o.maglevSize = 65536;
  expectBad(group({1}), "65536 is not allowed: a prime", o);

  auto sel = make(group({1, 2}), options(SelectionPolicy::kRoundRobin));
  EXPECT_EQ(sel.setServers(group({1, 0})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sel.servers().size(), 2u);  // unchanged
  EXPECT_EQ(sel.servers()[1].weight, 2u);
  EXPECT_EQ(sel.setAdmin(0xc6120999u, 80, AdminState::kDown).code(), StatusCode::kNotFound);
  EXPECT_EQ(sel.sessionEnded(0).code(), StatusCode::kNotFound);
  EXPECT_EQ(sel.sessionStarted(7).code(), StatusCode::kInvalidArgument);
}

TEST(Selection, NamesRoundTrip) {
  for (auto p :
       {SelectionPolicy::kMaglev, SelectionPolicy::kLeastSessions, SelectionPolicy::kRoundRobin}) {
    EXPECT_EQ(policyFromName(policyName(p)), p);
  }
  for (auto a : {AdminState::kUp, AdminState::kDrain, AdminState::kDown}) {
    EXPECT_EQ(adminStateFromName(adminStateName(a)), a);
  }
  EXPECT_EQ(hashOnFromName("5tuple"), HashOn::kFiveTuple);
  EXPECT_FALSE(policyFromName("random").has_value());
}

}  // namespace
}  // namespace roamgate::control
