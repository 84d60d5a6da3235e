// Housekeeper against frames scapy built (tests/fixtures/housekeeping/make_fixtures.py): every
// case's verdict, and every reply byte for byte against the reply scapy built from the
// standards; then truncations and bit flips of the fixtures (fixed seed) under ASan/UBSan.
//
// `housekeeping_test --write-replies OUT.pcap` writes our replies to the fixtures (in the order
// of cases.tsv) and exits: tests/unit/control/housekeeping_tshark.sh decodes them with tshark.
#include "roamgate/control/housekeeping.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <new>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "roamgate/addr.h"
#include "roamgate/checksum.h"

// ---- Allocation counting: handle() must not allocate ---------------------------------------
// (The replacements pair malloc with free; GCC's check cannot see through the replacement.)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<bool> gCountAllocs{false};
std::atomic<size_t> gAllocs{0};
}  // namespace

void* operator new(size_t n) {
  if (gCountAllocs.load(std::memory_order_relaxed)) gAllocs.fetch_add(1);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace roamgate::control {
namespace {

using Bytes = std::vector<uint8_t>;

// The appliance make_fixtures.py assumes (OWN_MAC, ACCESS_IP, NAT_IP there).
constexpr uint64_t kOwnMac = 0x02005e100001ull;
constexpr uint32_t kAccessIp = 0xc0000201;  // 192.0.2.1: any port, GTP-U endpoint
constexpr uint32_t kNatIp = 0xcb007107;     // 203.0.113.7: port 1, not a GTP-U endpoint

HousekeeperConfig fixtureConfig() {
  HousekeeperConfig c;
  c.mac = kOwnMac;
  c.addresses = {{kAccessIp, std::nullopt, true}, {kNatIp, uint8_t(1), false}};
  return c;
}

struct Case {
  std::string name;
  uint8_t port = 0;
  std::string verdict;
  int replyIndex = -1;
};

std::string fixturePath(const std::string& file) {
  return std::string(HOUSEKEEPING_FIXTURES) + "/" + file;
}

// Every frame of a pcap file (Ethernet link type), or an error message.
bool readPcap(const std::string& path, std::vector<Bytes>& out, std::string& err) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  if (!p) {
    err = path + ": " + errbuf;
    return false;
  }
  if (pcap_datalink(p) != DLT_EN10MB) {
    err = path + ": link type " + std::to_string(pcap_datalink(p)) + ", not Ethernet";
    pcap_close(p);
    return false;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    if (h->caplen != h->len) {
      err = path + ": a frame was captured short";
      pcap_close(p);
      return false;
    }
    out.emplace_back(data, data + h->caplen);
  }
  if (rc != PCAP_ERROR_BREAK) err = path + ": " + pcap_geterr(p);
  pcap_close(p);
  return rc == PCAP_ERROR_BREAK;
}

bool readCases(std::vector<Case>& out, std::string& err) {
  std::ifstream in(fixturePath("cases.tsv"));
  if (!in) {
    err = "cannot open " + fixturePath("cases.tsv");
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    Case c;
    int port = -1;
    if (!(ls >> c.name >> port >> c.verdict >> c.replyIndex) || port < 0 || port > 255) {
      err = "cases.tsv: bad line '" + line + "'";
      return false;
    }
    c.port = uint8_t(port);
    out.push_back(c);
  }
  return true;
}

struct Fixtures {
  std::vector<Case> cases;
  std::vector<Bytes> requests, replies;
  std::string err;
  bool load() {
    return readCases(cases, err) && readPcap(fixturePath("requests.pcap"), requests, err) &&
           readPcap(fixturePath("expected_replies.pcap"), replies, err);
  }
};

std::string hex(const Bytes& b) {
  std::string s;
  char buf[4];
  for (size_t i = 0; i < b.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", b[i]);
    s += buf;
    if (i % 16 == 15) s += '\n';
    else if (i + 1 < b.size()) s += ' ';
  }
  return s;
}

// The first differing byte, for a readable failure.
std::string firstDiff(const Bytes& got, const Bytes& want) {
  size_t n = std::min(got.size(), want.size());
  for (size_t i = 0; i < n; ++i)
    if (got[i] != want[i]) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "byte %zu: got 0x%02x, scapy 0x%02x", i, got[i], want[i]);
      return buf;
    }
  return "lengths differ: got " + std::to_string(got.size()) + ", scapy " +
         std::to_string(want.size());
}

Housekeeper makeHousekeeper() {
  auto h = Housekeeper::create(fixtureConfig());
  EXPECT_TRUE(h.ok()) << h.status().message();
  return std::move(h).value();
}

class HousekeepingFixtures : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fx_.load()) << fx_.err; }
  Fixtures fx_;
};

TEST_F(HousekeepingFixtures, ManifestMatchesPcaps) {
  ASSERT_EQ(fx_.cases.size(), fx_.requests.size());
  int replies = 0;
  for (const Case& c : fx_.cases) {
    if (c.replyIndex >= 0) {
      EXPECT_EQ(c.replyIndex, replies) << c.name;
      ++replies;
    }
  }
  EXPECT_EQ(size_t(replies), fx_.replies.size());
  EXPECT_GE(fx_.cases.size(), 40u);
}

TEST_F(HousekeepingFixtures, VerdictsAndRepliesMatchScapy) {
  Housekeeper h = makeHousekeeper();
  std::map<std::string, uint64_t> want;
  for (size_t i = 0; i < fx_.cases.size(); ++i) {
    const Case& c = fx_.cases[i];
    SCOPED_TRACE(c.name);
    // Room past the reply, poisoned: nothing may be written beyond replyLen.
    Bytes reply(128, 0xa5);
    size_t len = 12345;
    Verdict v = h.handle(fx_.requests[i], c.port, {reply.data(), reply.size()}, len);
    EXPECT_EQ(Housekeeper::name(v), c.verdict);
    ++want[c.verdict];
    for (size_t k = len; k < reply.size(); ++k) ASSERT_EQ(reply[k], 0xa5) << "written at " << k;
    if (c.replyIndex < 0) {
      EXPECT_EQ(len, 0u);
      continue;
    }
    ASSERT_LT(size_t(c.replyIndex), fx_.replies.size());
    const Bytes& expected = fx_.replies[size_t(c.replyIndex)];
    Bytes got(reply.begin(), reply.begin() + std::min(len, reply.size()));
    EXPECT_EQ(got, expected) << firstDiff(got, expected) << "\nours:\n"
                             << hex(got) << "\nscapy:\n"
                             << hex(expected);
  }
  for (size_t v = 0; v < kVerdictCount; ++v) {
    std::string n(Housekeeper::name(Verdict(v)));
    EXPECT_EQ(h.count(Verdict(v)), want.count(n) ? want[n] : 0) << n;
  }
  EXPECT_EQ(h.total(), fx_.cases.size());
}

TEST_F(HousekeepingFixtures, HandleDoesNotAllocate) {
  Housekeeper h = makeHousekeeper();
  std::array<uint8_t, Housekeeper::kMaxReplyBytes> reply{};
  size_t len = 0;
  gAllocs = 0;
  gCountAllocs = true;
  for (int round = 0; round < 3; ++round)
    for (size_t i = 0; i < fx_.requests.size(); ++i)
      (void)h.handle(fx_.requests[i], fx_.cases[i].port, reply, len);
  gCountAllocs = false;
  EXPECT_EQ(gAllocs.load(), 0u);
}

TEST_F(HousekeepingFixtures, SmallReplyBufferIsAVerdictNotAnOverrun) {
  Housekeeper h = makeHousekeeper();
  for (size_t i = 0; i < fx_.cases.size(); ++i) {
    if (fx_.cases[i].replyIndex < 0) continue;
    SCOPED_TRACE(fx_.cases[i].name);
    // Exactly sized heap buffer: ASan catches a write past it.
    Bytes small(Housekeeper::kMaxReplyBytes - 1);
    size_t len = 99;
    EXPECT_EQ(h.handle(fx_.requests[i], fx_.cases[i].port, {small.data(), small.size()}, len),
              Verdict::kReplyBufferSmall);
    EXPECT_EQ(len, 0u);
    Bytes exact(Housekeeper::kMaxReplyBytes);
    EXPECT_TRUE(Housekeeper::replied(
        h.handle(fx_.requests[i], fx_.cases[i].port, {exact.data(), exact.size()}, len)));
    EXPECT_EQ(len, Housekeeper::kMaxReplyBytes);
  }
}

// ---- Fuzz-ish: truncations and bit flips of every fixture ------------------------------------

// After a mutation, makes the IPv4 header checksum right again and the UDP checksum 0, so that
// mutated GTP-U headers get past the checksum checks (bounds-checked: this is test code too).
void fixChecksums(Bytes& f) {
  size_t l2 = 14;
  if (f.size() >= 18 && f[12] == 0x81 && f[13] == 0x00) l2 = 18;
  if (f.size() < l2 + 20 || f[l2 - 2] != 0x08 || f[l2 - 1] != 0x00) return;
  size_t ihl = size_t(f[l2] & 0x0f) * 4;
  if (ihl < 20 || f.size() < l2 + ihl) return;
  if (f[l2 + 9] == 17 && f.size() >= l2 + ihl + 8) {
    f[l2 + ihl + 6] = 0;
    f[l2 + ihl + 7] = 0;
  }
  f[l2 + 10] = 0;
  f[l2 + 11] = 0;
  uint16_t c = internetChecksum({f.data() + l2, ihl});
  f[l2 + 10] = uint8_t(c >> 8);
  f[l2 + 11] = uint8_t(c);
}

// What must hold for any reply: the right length, sent from us, checksums that verify.
void checkReply(const Bytes& reply, Verdict v, const Housekeeper& h) {
  ASSERT_EQ(reply.size(), Housekeeper::kMaxReplyBytes);
  uint64_t src = 0;
  for (int i = 6; i < 12; ++i) src = (src << 8) | reply[size_t(i)];
  ASSERT_EQ(src, h.mac());
  size_t l2 = (reply[12] == 0x81 && reply[13] == 0x00) ? 18 : 14;
  auto owned = [&](uint32_t ip) {
    for (const OwnAddress& a : h.addresses())
      if (a.ipv4 == ip) return true;
    return false;
  };
  auto rd32 = [&](size_t o) {
    return (uint32_t(reply[o]) << 24) | (uint32_t(reply[o + 1]) << 16) |
           (uint32_t(reply[o + 2]) << 8) | reply[o + 3];
  };
  if (v == Verdict::kArpReplied) {
    ASSERT_EQ(reply[l2 - 2], 0x08);
    ASSERT_EQ(reply[l2 - 1], 0x06);
    ASSERT_EQ(reply[l2 + 7], 2);  // opcode reply
    ASSERT_TRUE(owned(rd32(l2 + 14)));
  } else {
    ASSERT_EQ(v, Verdict::kEchoReplied);
    ASSERT_EQ(internetChecksum({reply.data() + l2, 20}), 0);
    ASSERT_TRUE(owned(rd32(l2 + 12)));
    uint32_t s = rd32(l2 + 12), d = rd32(l2 + 16);
    uint32_t pseudo = (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + 17 + 22;
    ASSERT_EQ(internetChecksum({reply.data() + l2 + 20, 22}, pseudo), 0);
    ASSERT_EQ(reply[l2 + 28], 0x32);
    ASSERT_EQ(reply[l2 + 29], 2);
  }
}

TEST_F(HousekeepingFixtures, MutatedFixturesNeverReadOutOfBounds) {
  Housekeeper h = makeHousekeeper();
  std::mt19937_64 rng(0x686b6565ull);  // fixed seed
  constexpr int kPerFixture = 3000;
  uint64_t calls = 0;
  for (size_t i = 0; i < fx_.requests.size(); ++i) {
    const Bytes& base = fx_.requests[i];
    SCOPED_TRACE(fx_.cases[i].name);
    for (int it = 0; it < kPerFixture; ++it) {
      Bytes f = base;
      int mode = int(rng() % 4);
      if (mode != 1 && !f.empty()) {  // bit flips (1..4)
        int flips = 1 + int(rng() % 4);
        for (int k = 0; k < flips; ++k) f[rng() % f.size()] ^= uint8_t(1u << (rng() % 8));
      }
      if (mode != 0) f.resize(rng() % (base.size() + 1));  // truncation, maybe to nothing
      if (mode == 3) fixChecksums(f);
      Bytes exact(f.begin(), f.end());  // exact size: ASan flags a read one past the end
      Bytes reply(Housekeeper::kMaxReplyBytes);
      size_t len = 777;
      uint8_t port = uint8_t(rng() % 3);
      Verdict v = h.handle({exact.data(), exact.size()}, port, {reply.data(), reply.size()}, len);
      ++calls;
      ASSERT_LT(size_t(v), kVerdictCount);
      ASSERT_NE(Housekeeper::name(v), "unknown");
      if (Housekeeper::replied(v)) {
        ASSERT_EQ(len, Housekeeper::kMaxReplyBytes);
        checkReply(reply, v, h);
      } else {
        ASSERT_EQ(len, 0u);
      }
      // Deterministic: the same frame, the same verdict and reply.
      Bytes again(Housekeeper::kMaxReplyBytes);
      size_t len2 = 0;
      ASSERT_EQ(h.handle({exact.data(), exact.size()}, port, {again.data(), again.size()}, len2),
                v);
      ++calls;
      ASSERT_EQ(len2, len);
      ASSERT_TRUE(std::equal(reply.begin(), reply.begin() + long(len), again.begin()));
    }
  }
  EXPECT_EQ(h.total(), calls);
  // What the mutations reached (visible with --gtest_also_run_disabled_tests -v or in logs).
  std::string seen;
  for (size_t v = 0; v < kVerdictCount; ++v)
    seen += std::string(Housekeeper::name(Verdict(v))) + "=" +
            std::to_string(h.count(Verdict(v))) + " ";
  RecordProperty("verdicts", seen);
  std::printf("fuzz verdicts: %s\n", seen.c_str());
  // The mutations must reach the deep checks, not stop at the first ones.
  for (Verdict v : {Verdict::kEchoReplied, Verdict::kArpReplied, Verdict::kTruncated,
                    Verdict::kMalformed, Verdict::kBadChecksum, Verdict::kGtpOther,
                    Verdict::kEchoNotForUs, Verdict::kArpNotForUs})
    EXPECT_GT(h.count(v), 0u) << Housekeeper::name(v);
}

// ---- Configuration and names -----------------------------------------------------------------

TEST(Housekeeper, RefusesBadConfiguration) {
  auto refused = [](HousekeeperConfig c, const std::string& part) {
    auto h = Housekeeper::create(c);
    EXPECT_FALSE(h.ok()) << part;
    if (h.ok()) return;
    EXPECT_EQ(h.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(h.status().message().find(part), std::string::npos) << h.status().message();
  };
  HousekeeperConfig c = fixtureConfig();
  c.mac = 0x01005e000001ull;
  refused(c, "multicast");
  c = fixtureConfig();
  c.mac = 0;
  refused(c, "all zero");
  c = fixtureConfig();
  c.addresses.clear();
  refused(c, "no addresses");
  c = fixtureConfig();
  c.addresses.push_back({0xe0000001, std::nullopt, true});
  refused(c, "224.0.0.1");
  c = fixtureConfig();
  c.addresses.push_back({kNatIp, uint8_t(0), false});
  refused(c, "203.0.113.7 is given twice");
  c = fixtureConfig();
  c.addresses.clear();
  for (uint32_t i = 0; i <= Housekeeper::kMaxAddresses; ++i)
    c.addresses.push_back({0x0a000001 + i, std::nullopt, true});
  refused(c, "at most 16");
  c.addresses.pop_back();
  EXPECT_TRUE(Housekeeper::create(c).ok());
}

TEST(Housekeeper, NamesAreABoundedSetOfLabels) {
  std::set<std::string_view> seen;
  for (size_t v = 0; v < kVerdictCount; ++v) {
    std::string_view n = Housekeeper::name(Verdict(v));
    EXPECT_NE(n, "unknown") << v;
    EXPECT_TRUE(seen.insert(n).second) << n;
    for (char ch : n)
      EXPECT_TRUE((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_') << n;
  }
  EXPECT_EQ(Housekeeper::name(Verdict::kCount), "unknown");
  EXPECT_EQ(Housekeeper::name(Verdict(200)), "unknown");
  EXPECT_TRUE(Housekeeper::replied(Verdict::kArpReplied));
  EXPECT_TRUE(Housekeeper::replied(Verdict::kEchoReplied));
  EXPECT_FALSE(Housekeeper::replied(Verdict::kGtpOther));
}

TEST(Housekeeper, CountsResetAndEmptyFrames) {
  Housekeeper h = makeHousekeeper();
  size_t len = 1;
  EXPECT_EQ(h.handle({}, 0, {}, len), Verdict::kTruncated);
  EXPECT_EQ(len, 0u);
  EXPECT_EQ(h.count(Verdict::kTruncated), 1u);
  EXPECT_EQ(h.total(), 1u);
  h.resetCounts();
  EXPECT_EQ(h.total(), 0u);
}

// Writes our replies to the fixtures to `path` (for the tshark test). Returns an exit code.
int writeReplies(const char* path) {
  Fixtures fx;
  if (!fx.load()) {
    std::fprintf(stderr, "housekeeping_test: %s\n", fx.err.c_str());
    return 1;
  }
  auto hk = Housekeeper::create(fixtureConfig());
  if (!hk.ok()) {
    std::fprintf(stderr, "housekeeping_test: %s\n", hk.status().message().c_str());
    return 1;
  }
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* d = pcap_dump_open(dead, path);
  if (!d) {
    std::fprintf(stderr, "housekeeping_test: %s: %s\n", path, pcap_geterr(dead));
    pcap_close(dead);
    return 1;
  }
  int n = 0;
  for (size_t i = 0; i < fx.cases.size(); ++i) {
    std::array<uint8_t, Housekeeper::kMaxReplyBytes> reply{};
    size_t len = 0;
    if (!Housekeeper::replied(hk->handle(fx.requests[i], fx.cases[i].port, reply, len))) continue;
    pcap_pkthdr h{};
    h.ts.tv_sec = 1700000000 + n;
    h.caplen = h.len = uint32_t(len);
    pcap_dump(reinterpret_cast<u_char*>(d), &h, reply.data());
    ++n;
  }
  pcap_dump_close(d);
  pcap_close(dead);
  std::printf("%d replies written to %s\n", n, path);
  return 0;
}

}  // namespace
}  // namespace roamgate::control

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write-replies") == 0)
    return roamgate::control::writeReplies(argv[2]);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
