// The host's table managers drive the real steer RTL (in-process hal::Device): what they
// write is what the kernel does, what they read back is what they wrote, and session moves
// under line-rate traffic never make a lookup miss.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "inproc_device.h"
#include "pktgen.h"
#include "roamgate/checksum.h"
#include "roamgate/dataplane/host_rings.h"
#include "roamgate/dataplane/maglev.h"
#include "roamgate/dataplane/steer_tables.h"
#include "roamgate/hash.h"
#include "roamgate/regs/steer.h"
#include "steer_dut.h"

namespace roamgate {
namespace {

namespace r = regs::steer;
using dataplane::GatewayEntry;
using dataplane::SteerTables;

struct Rig {
  sim::SteerDut dut{sim::SteerDut::Options{}};
  sim::InprocDevice<sim::SteerDut> dev{dut, "steer"};
  SteerTables t{dev};
  void gateways(int n) {
    for (int g = 0; g < n; ++g) {
      ASSERT_TRUE(t.writeGateway({uint32_t(g), true, 0xc6120210u + uint32_t(g), 0x020000000210ull + uint64_t(g)}));
    }
    ASSERT_TRUE(t.rebuildMaglev());
  }
  // Sends a G-PDU for `teid` and returns the outer destination it left with (0: not sent).
  uint32_t steer(uint32_t teid) {
    test::GtpShape s;
    s.teid = teid;
    size_t before = dut.tx().frames().size();
    dut.rx().push({test::buildGtp(s), 0, 0});
    dut.drain(10000, 50);
    if (dut.tx().frames().size() == before) return 0;
    const auto& f = dut.tx().frames().back().bytes;
    return uint32_t(f[30]) << 24 | uint32_t(f[31]) << 16 | uint32_t(f[32]) << 8 | f[33];
  }
};

TEST(SteerTablesRtl, KernelCheckAndConfigRoundTrip) {
  Rig rig;
  ASSERT_TRUE(rig.t.checkKernel());
  dataplane::SteerConfig c{0xc6120164, 0x021122334455ull, 0x00200000, 17};
  ASSERT_TRUE(rig.t.writeConfig(c));
  dataplane::SteerConfig back;
  ASSERT_TRUE(rig.t.readConfig(back));
  EXPECT_EQ(back.ownIp, c.ownIp);
  EXPECT_EQ(back.ownMac, c.ownMac);
  EXPECT_EQ(back.puntRate, c.puntRate);
  EXPECT_EQ(back.puntBurst, c.puntBurst);
}

TEST(SteerTablesRtl, MaglevOnTheCardIsTheBuilderTable) {
  Rig rig;
  rig.gateways(13);
  std::vector<uint8_t> card;
  ASSERT_TRUE(rig.t.readMaglev(card));
  std::vector<dataplane::MaglevBackend> b;
  for (int g = 0; g < 13; ++g) b.push_back({0xc6120210u + uint32_t(g), uint8_t(g)});
  EXPECT_EQ(card, dataplane::buildMaglev(b));
  // And the kernel indexes it as the host computes: TEIDs land where the host predicts.
  for (uint32_t teid : {0x10u, 0x12345u, 0xdeadbeefu}) {
    EXPECT_EQ(rig.steer(teid), 0xc6120210u + card[maglevIndex(teidHash0(teid))]) << teid;
  }
}

// The gateways a test has made, and the table the host builder makes of them.
struct GatewaySet {
  std::map<uint32_t, GatewayEntry> live;
  static GatewayEntry entry(uint32_t id) {
    // 198.18.2.x / 198.18.3.x, each id its own address, in no particular order of ids.
    return {id, true, 0xc6120200u + ((id * 37u) & 0x1ffu), 0x020000000200ull + id};
  }
  std::vector<uint8_t> want() const {
    std::vector<dataplane::MaglevBackend> b;
    for (const auto& [id, g] : live) b.push_back({g.ip, uint8_t(id)});
    return dataplane::buildMaglev(b);
  }
};

// Adds or removes gateways the way roamctl does, and checks the whole table read back from
// the kernel against the builder: entry for entry, and no entry names an absent gateway.
// `rebuild` false: only the entry (many changes, then one rebuild).
void addGateway(Rig& rig, GatewaySet& set, uint32_t id, bool rebuild = true) {
  GatewayEntry g = GatewaySet::entry(id);
  ASSERT_TRUE(rig.t.writeGateway(g));
  if (rebuild) ASSERT_TRUE(rig.t.rebuildMaglev());
  set.live[id] = g;
}
void delGateway(Rig& rig, GatewaySet& set, uint32_t id, bool rebuild = true) {
  GatewayEntry g = set.live.at(id);
  if (rebuild) ASSERT_TRUE(rig.t.rebuildMaglev(nullptr, id));
  g.valid = false;
  ASSERT_TRUE(rig.t.writeGateway(g));
  set.live.erase(id);
}
void expectTableIsBuilders(Rig& rig, const GatewaySet& set, const std::string& step) {
  std::vector<uint8_t> card;
  ASSERT_TRUE(rig.t.readMaglev(card));
  std::vector<uint8_t> want = set.want();
  ASSERT_EQ(card.size(), size_t(r::kMaglevEntries));
  ASSERT_EQ(want.size(), size_t(r::kMaglevEntries));
  size_t differ = 0, absent = 0, first = SIZE_MAX;
  for (size_t i = 0; i < card.size(); ++i) {
    if (card[i] != want[i]) {
      ++differ;
      first = std::min(first, i);
    }
    absent += !set.live.count(card[i]);
  }
  EXPECT_EQ(differ, 0u) << step << ": entries that differ from buildMaglev(), the first at " << first;
  EXPECT_EQ(absent, 0u) << step << ": entries naming an absent gateway";
}

TEST(SteerTablesRtl, MaglevReadBackIsTheBuilderTableForAnyGatewaySet) {
  Rig rig;
  GatewaySet set;
  // Ids not starting at 0 and not contiguous (the case that left holes), then adds, deletes
  // and re-adds.
  addGateway(rig, set, 1);
  expectTableIsBuilders(rig, set, "gateway 1");
  addGateway(rig, set, 2);
  expectTableIsBuilders(rig, set, "gateways 1, 2");
  for (uint32_t id : {7u, 200u, 255u, 64u}) addGateway(rig, set, id);
  expectTableIsBuilders(rig, set, "gateways 1 2 7 64 200 255");
  delGateway(rig, set, 1);
  delGateway(rig, set, 200);
  expectTableIsBuilders(rig, set, "after deleting 1 and 200");
  addGateway(rig, set, 1);
  expectTableIsBuilders(rig, set, "after re-adding 1");
  // All 256 gateways, then down to one.
  for (uint32_t id = 0; id < SteerTables::kGateways; ++id) {
    if (!set.live.count(id)) addGateway(rig, set, id, false);
  }
  ASSERT_TRUE(rig.t.rebuildMaglev());
  expectTableIsBuilders(rig, set, "256 gateways");
  for (uint32_t id = 0; id < SteerTables::kGateways - 1; id += 1 + id % 3) delGateway(rig, set, id, false);
  ASSERT_TRUE(rig.t.rebuildMaglev());
  expectTableIsBuilders(rig, set, "after deleting many");
  while (set.live.size() > 2) delGateway(rig, set, set.live.begin()->first, false);
  delGateway(rig, set, set.live.begin()->first);
  expectTableIsBuilders(rig, set, "one gateway left");
}

// One TEID for every Maglev entry, so a sweep reaches all 65537 of them.
std::vector<uint32_t> teidPerEntry() {
  std::vector<uint32_t> teid(r::kMaglevEntries, 0);
  size_t left = teid.size();
  for (uint32_t t = 1; left; ++t) {
    uint32_t i = maglevIndex(teidHash0(t));
    if (!teid[i]) {
      teid[i] = t;
      --left;
    }
  }
  return teid;
}

// A G-PDU through every entry of the table: none is lost, each leaves for the gateway the
// builder's table names.
void sweepEveryEntry(Rig& rig, const GatewaySet& set, const std::string& step) {
  static const std::vector<uint32_t> teids = teidPerEntry();
  std::vector<uint8_t> want = set.want();
  size_t before = rig.dut.tx().frames().size();
  test::GtpShape s;
  s.payload = 0;
  for (uint32_t t : teids) {
    s.teid = t;
    rig.dut.rx().push({test::buildGtp(s), 0, 0});
  }
  ASSERT_TRUE(rig.dut.drain(20'000'000, 200));
  const auto& out = rig.dut.tx().frames();
  ASSERT_EQ(out.size() - before, teids.size()) << step << ": frames lost";
  size_t wrong = 0;
  for (size_t i = 0; i < teids.size(); ++i) {
    const auto& f = out[before + i].bytes;
    uint32_t dst = uint32_t(f[30]) << 24 | uint32_t(f[31]) << 16 | uint32_t(f[32]) << 8 | f[33];
    wrong += dst != set.live.at(want[i]).ip;
  }
  EXPECT_EQ(wrong, 0u) << step << ": frames sent to another gateway than the builder's table names";
  std::array<uint64_t, r::kStatCount> st;
  ASSERT_TRUE(rig.t.readStats(st));
  EXPECT_EQ(st[uint32_t(r::Stat::kDropNoGateway)], 0u) << step;
}

TEST(SteerTablesRtl, ATeidSweepThroughEveryMaglevEntryLosesNoFrame) {
  Rig rig;
  GatewaySet set;
  addGateway(rig, set, 1);
  addGateway(rig, set, 2);
  sweepEveryEntry(rig, set, "gateways 1, 2");
  addGateway(rig, set, 9);
  delGateway(rig, set, 1);
  sweepEveryEntry(rig, set, "gateways 2, 9");
}

TEST(SteerTablesRtl, SessionsInsertListFindRemove) {
  Rig rig;
  rig.gateways(4);
  std::mt19937 rng(11);
  std::map<uint32_t, uint32_t> want;
  while (want.size() < 300) want[rng() | 1] = rng() % 4;
  for (auto [teid, gw] : want) ASSERT_TRUE(rig.t.insertSession(teid, gw));
  std::vector<dataplane::SessionEntry> all;
  ASSERT_TRUE(rig.t.listSessions(all));
  ASSERT_EQ(all.size(), want.size());
  for (auto& e : all) EXPECT_EQ(want.at(e.teid), e.gateway);
  auto it = want.begin();
  for (int i = 0; i < 5; ++i, ++it) EXPECT_EQ(rig.steer(it->first), 0xc6120210u + it->second);
  ASSERT_TRUE(rig.t.removeSession(want.begin()->first));
  std::optional<uint32_t> gw;
  ASSERT_TRUE(rig.t.findSession(want.begin()->first, gw));
  EXPECT_FALSE(gw.has_value());
  EXPECT_FALSE(rig.t.insertSession(0, 1)) << "TEID 0 is signalling";
  EXPECT_FALSE(rig.t.removeSession(0x7777777));
}

TEST(SteerTablesRtl, HeldSessionWritesReachTheKernelWhenSentAndInOrder) {
  Rig rig;
  rig.gateways(4);
  std::mt19937 rng(12);
  std::map<uint32_t, uint32_t> want;
  while (want.size() < 20) want[rng() | 1] = rng() % 4;
  rig.t.holdSessionWrites();
  for (auto [teid, gw] : want) ASSERT_TRUE(rig.t.insertSession(teid, gw));
  auto onCard = [&] {  // what a reader with no mirror finds
    SteerTables fresh(rig.dev);
    std::vector<dataplane::SessionEntry> all;
    EXPECT_TRUE(fresh.listSessions(all));
    return all;
  };
  EXPECT_TRUE(onCard().empty()) << "20 sessions (80 operations) are held, not sent";
  ASSERT_TRUE(rig.t.flushSessionWrites());
  std::vector<dataplane::SessionEntry> all = onCard();
  ASSERT_EQ(all.size(), want.size());
  for (auto& e : all) EXPECT_EQ(want.at(e.teid), e.gateway);
  EXPECT_EQ(rig.steer(want.begin()->first), 0xc6120210u + want.begin()->second);
  // Past kHeldOps operations a request goes out on its own; a re-pin and a remove held after
  // the insert of the same TEID land after it.
  rig.t.holdSessionWrites();
  while (want.size() < 1500) {
    uint32_t teid = rng() | 1, gw = rng() % 4;
    if (want.count(teid)) continue;
    want[teid] = gw;
    ASSERT_TRUE(rig.t.insertSession(teid, gw));
  }
  uint32_t moved = want.rbegin()->first, gone = want.begin()->first;
  want[moved] = (want[moved] + 1) % 4;
  ASSERT_TRUE(rig.t.insertSession(moved, want[moved], true));
  ASSERT_TRUE(rig.t.removeSession(gone));
  want.erase(gone);
  EXPECT_FALSE(onCard().empty()) << "more than kHeldOps operations were held";
  ASSERT_TRUE(rig.t.flushSessionWrites());
  all = onCard();
  ASSERT_EQ(all.size(), want.size());
  for (auto& e : all) EXPECT_EQ(want.at(e.teid), e.gateway) << std::hex << e.teid;
  // Not held any more: the next write goes at once.
  ASSERT_TRUE(rig.t.insertSession(0x12345679, 2));
  EXPECT_EQ(onCard().size(), want.size() + 1);
}

TEST(SteerTablesRtl, ARePinNeedsReplaceAndBadGatewaysAreRefused) {
  Rig rig;
  rig.gateways(3);
  ASSERT_TRUE(rig.t.insertSession(0x1234, 1));
  ASSERT_TRUE(rig.t.insertSession(0x1234, 1)) << "the same pin again changes nothing";
  Status again = rig.t.insertSession(0x1234, 2);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.message();
  std::optional<uint32_t> gw;
  ASSERT_TRUE(rig.t.findSession(0x1234, gw));
  EXPECT_EQ(gw, 1u) << "a refused re-pin left the entry as it was";
  ASSERT_TRUE(rig.t.insertSession(0x1234, 2, true));
  ASSERT_TRUE(rig.t.findSession(0x1234, gw));
  EXPECT_EQ(gw, 2u);
  EXPECT_EQ(rig.t.removeSession(0x4321).code(), StatusCode::kNotFound);
  // A gateway entry needs a unicast address and MAC.
  for (uint32_t ip : {0u, 0xffffffffu, 0xe0000001u, 0x7f000001u, 0xf0000001u}) {
    EXPECT_EQ(rig.t.writeGateway({5, true, ip, 0x020000000205ull}).code(), StatusCode::kInvalidArgument) << ip;
  }
  for (uint64_t mac : {0ull, 0xffffffffffffull, 0x01005e000001ull}) {
    EXPECT_EQ(rig.t.writeGateway({5, true, 0xc6120205u, mac}).code(), StatusCode::kInvalidArgument) << mac;
  }
  std::array<GatewayEntry, SteerTables::kGateways> gws;
  ASSERT_TRUE(rig.t.readGateways(gws));
  EXPECT_FALSE(gws[5].valid) << "nothing was written";
}

TEST(SteerTablesRtl, AMoveUnderLineRateTrafficNeverMisses) {
  Rig rig;
  rig.gateways(8);
  // A TEID pinned to gateway 5, whose Maglev gateway is another one.
  std::vector<uint8_t> card;
  ASSERT_TRUE(rig.t.readMaglev(card));
  uint32_t teid = 0x100;
  while (card[maglevIndex(teidHash0(teid))] == 5) ++teid;
  uint32_t b0 = teidHash0(teid) & ((1u << r::kSessionBucketsLog2) - 1);
  uint32_t b1 = teidHash1(teid) & ((1u << r::kSessionBucketsLog2) - 1);
  auto slot = [&](uint32_t bank, uint32_t bucket, uint32_t s, bool valid) {
    rig.dut.axil().queue({true, r::sess::kAddr,
                          r::sess::kAddrBank.put(bank) | r::sess::kAddrBucket.put(bucket) | r::sess::kAddrSlot.put(s)});
    rig.dut.axil().queue({true, r::sess::kData0, teid});
    rig.dut.axil().queue({true, r::sess::kData1, r::sess::kData1Valid.put(valid) | r::sess::kData1Gateway.put(5)});
    rig.dut.axil().queue({true, r::sess::kCmd, r::sess::kCmdCommit.put(1)});
  };
  slot(0, b0, 0, true);
  rig.dut.harness().runUntil([&] { return rig.dut.axil().idle(); }, 1000);
  // Back-to-back frames of that TEID (78 bytes, two beats each) while the entry moves
  // bank 0 -> bank 1 -> bank 0 (new place written, then old place cleared), over and over.
  test::GtpShape s;
  s.teid = teid;
  s.payload = 0;
  s.innerProto = 17;
  std::vector<uint8_t> f = test::buildGtp(s);
  const int kFrames = 20000;
  for (int i = 0; i < kFrames; ++i) rig.dut.rx().push({f, 0, 0});
  for (int m = 0; m < 40; ++m) {
    uint32_t from = m % 2, to = 1 - from;
    slot(to, to ? b1 : b0, 3, true);
    slot(from, from ? b1 : b0, from ? 3 : 0, false);
    if (from == 0) slot(0, b0, 0, false);
    rig.dut.harness().runUntil([&] { return rig.dut.axil().idle(); }, 10000);
  }
  ASSERT_TRUE(rig.dut.drain(1'000'000));
  uint64_t maglev = 0, sess = 0;
  std::array<uint64_t, r::kStatCount> st;
  ASSERT_TRUE(rig.t.readStats(st));
  sess = st[uint32_t(r::Stat::kSessionHits)];
  maglev = st[uint32_t(r::Stat::kMaglevHits)];
  EXPECT_EQ(sess, uint64_t(kFrames));
  EXPECT_EQ(maglev, 0u) << "a lookup missed the session during a move";
}

}  // namespace
}  // namespace roamgate

namespace roamgate {
namespace {

// The host port through the host's ring driver: punts arrive whole with their reason, the
// token bucket limits them, a full ring drops and counts, injected frames leave unchanged.
TEST(HostPortRtl, PuntsInjectsLimitsAndFullRings) {
  sim::SteerDut::Options o;
  o.memReady = [s = std::mt19937(3)](uint64_t) mutable { return s() % 4 != 0; };
  sim::SteerDut dut(o);
  sim::InprocDevice<sim::SteerDut> dev(dut, "steer");
  dataplane::SteerTables t(dev);
  dataplane::HostRings rings(dev, regs::steer::host::kBase, regs::steer::kMaxFrameBytes);
  ASSERT_TRUE(rings.setup({1, 2}));  // 2 punt slots, 4 inject slots
  ASSERT_TRUE(t.writeConfig({0xc6120164, 0x021122334455ull, 0x01000000, 1000}));
  // An ARP request and a GTP-U echo request are punted, in order, with their reasons.
  std::vector<uint8_t> arp(60, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  test::GtpShape echo;
  echo.gtpType = 1;
  echo.teid = 0;
  std::vector<uint8_t> e = test::buildGtp(echo);
  dut.rx().push({arp, 0, 0});
  dut.rx().push({e, 0, 0});
  dut.drain(100000);
  std::vector<dataplane::PuntedFrame> got;
  ASSERT_TRUE(rings.poll(got));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].bytes, arp);
  EXPECT_EQ(got[0].reason, uint8_t(r::PuntReason::kArp));
  EXPECT_EQ(got[1].bytes, e);
  // GTP-U echo to the appliance's own address: the own-address rule comes first.
  EXPECT_EQ(got[1].reason, uint8_t(r::PuntReason::kOwnAddress));
  EXPECT_GT(got[1].timestamp, got[0].timestamp);
  // Five more without polling: two fill the ring, three are dropped and counted.
  for (int i = 0; i < 5; ++i) dut.rx().push({arp, 0, 0});
  dut.drain(100000);
  uint32_t drops = 0, injected = 0, errors = 0;
  ASSERT_TRUE(rings.counters(drops, injected, errors));
  EXPECT_EQ(drops, 3u);
  got.clear();
  ASSERT_TRUE(rings.poll(got));
  EXPECT_EQ(got.size(), 2u);
  // Inject: frames leave on the steering port byte for byte; a fifth without room is refused.
  std::vector<std::vector<uint8_t>> inj;
  for (size_t n : {60u, 64u, 65u, 1514u}) {
    std::vector<uint8_t> f(n);
    for (size_t i = 0; i < n; ++i) f[i] = uint8_t(i * 13 + n);
    inj.push_back(f);
  }
  auto& r = rings;
  for (auto& f : inj) ASSERT_TRUE(r.inject(f));
  Status full = r.inject(inj[0]);
  EXPECT_FALSE(full);
  dut.drain(100000);
  ASSERT_EQ(dut.tx().frames().size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(dut.tx().frames()[i].bytes, inj[i]) << i;
  EXPECT_FALSE(r.inject(std::vector<uint8_t>(9601, 0))) << "longer than the maximum frame";
  ASSERT_TRUE(rings.counters(drops, injected, errors));
  EXPECT_EQ(injected, 4u);
  EXPECT_EQ(errors, 0u);
  // The ring drained: the writer, which last saw it full, sees the room again.
  for (auto& f : inj) ASSERT_TRUE(r.inject(f));
  EXPECT_FALSE(r.inject(inj[0]));
  dut.drain(100000);
  ASSERT_EQ(dut.tx().frames().size(), 8u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(dut.tx().frames()[4 + i].bytes, inj[i]) << i;
  ASSERT_TRUE(rings.counters(drops, injected, errors));
  EXPECT_EQ(injected, 8u);
}

TEST(HostPortRtl, TokenBucketLimitsPunts) {
  sim::SteerDut dut(sim::SteerDut::Options{});
  sim::InprocDevice<sim::SteerDut> dev(dut, "steer");
  dataplane::SteerTables t(dev);
  dataplane::HostRings rings(dev, regs::steer::host::kBase, regs::steer::kMaxFrameBytes);
  ASSERT_TRUE(rings.setup({12, 2}));
  // One punt per 1024 cycles, burst 4; 3000 ARP frames arrive back to back (3000 cycles).
  ASSERT_TRUE(t.writeConfig({0xc6120164, 0x021122334455ull, 1u << 14, 4}));
  std::vector<uint8_t> arp(60, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  for (int i = 0; i < 3000; ++i) dut.rx().push({arp, 0, 0});
  dut.drain(100000);
  std::array<uint64_t, r::kStatCount> st;
  ASSERT_TRUE(t.readStats(st));
  uint64_t punted = st[uint32_t(r::Stat::kPuntFrames)], limited = st[uint32_t(r::Stat::kDropPuntLimit)];
  EXPECT_EQ(punted + limited, 3000u);
  // The bucket starts full at reset (it filled while the test programmed the kernel): the
  // burst plus one per 1024 cycles of the ~3000-cycle run.
  EXPECT_GE(punted, 4u);
  EXPECT_LE(punted, 4u + 3u + 1u);
  std::vector<dataplane::PuntedFrame> got;
  ASSERT_TRUE(rings.poll(got));
  EXPECT_EQ(got.size(), punted);
}

}  // namespace
}  // namespace roamgate

namespace roamgate {
namespace {

// The AXI4-Lite slave under back-pressure on its response channels: every register access of
// a table session still lands once and reads back right, while traffic flows.
TEST(AxilSlaveRtl, RegisterAccessUnderResponseBackPressure) {
  sim::SteerDut::Options o;
  o.axilReady = [s = std::mt19937(9)](uint64_t) mutable { return s() % 3 == 0; };
  o.rxGaps = [s = std::mt19937(10)](uint64_t) mutable { return s() % 2 == 0; };
  sim::SteerDut dut(o);
  sim::InprocDevice<sim::SteerDut> dev(dut, "steer");
  dataplane::SteerTables t(dev);
  ASSERT_TRUE(t.checkKernel());
  for (uint32_t g = 0; g < 8; ++g) ASSERT_TRUE(t.writeGateway({g, true, 0xc6120210u + g, 0x020000000210ull + g}));
  ASSERT_TRUE(t.rebuildMaglev());
  test::FrameGen gen(5);
  for (int i = 0; i < 2000; ++i) dut.rx().push({gen.next({}), 0, 0});
  std::mt19937 rng(12);
  std::map<uint32_t, uint32_t> want;
  while (want.size() < 200) want[rng() | 1] = rng() % 8;
  for (auto [teid, gw] : want) ASSERT_TRUE(t.insertSession(teid, gw));
  std::array<GatewayEntry, SteerTables::kGateways> gws;
  ASSERT_TRUE(t.readGateways(gws));
  for (uint32_t g = 0; g < 8; ++g) {
    EXPECT_TRUE(gws[g].valid);
    EXPECT_EQ(gws[g].ip, 0xc6120210u + g);
  }
  std::vector<dataplane::SessionEntry> all;
  ASSERT_TRUE(t.listSessions(all));
  ASSERT_EQ(all.size(), want.size());
  for (auto& e : all) EXPECT_EQ(want.at(e.teid), e.gateway);
  EXPECT_GT(dut.rx().beatsSent(), 1000u) << "traffic flowed during the register accesses";
}

}  // namespace
}  // namespace roamgate

namespace roamgate {
namespace {

// Exact cycle counts of the kernel (simulated, so they may be asserted): first beat in to
// first beat out for a 64-byte G-PDU, and back-to-back frames leaving one beat per cycle.
TEST(SteerTiming, LatencyAndOneBeatPerCycle) {
  Rig rig;
  rig.gateways(4);
  test::GtpShape s;
  s.payload = 0;
  s.innerProto = 17;
  std::vector<uint8_t> f = test::buildGtp(s);  // 78 bytes: two beats
  std::vector<uint8_t> small(f.begin(), f.begin() + 64);
  // A 64-byte frame whose headers say 64 bytes: shorten the inner packet.
  small[16] = 0;
  small[17] = 50;                       // IPv4 total length 64 - 14
  small[38] = 0;
  small[39] = 30;                       // UDP length
  small[44] = 0;
  small[45] = 14;                       // GTP-U length
  small[40] = small[41] = 0;            // no UDP checksum
  small[24] = small[25] = 0;
  uint16_t c = internetChecksum({small.data() + 14, 20});
  small[24] = uint8_t(c >> 8);
  small[25] = uint8_t(c);
  rig.dut.rx().push({small, 0, 0});
  rig.dut.drain(10000);
  ASSERT_EQ(rig.dut.tx().frames().size(), 1u);
  EXPECT_EQ(rig.dut.tx().frames()[0].firstCycle - rig.dut.rx().startCycles().back(), 13u);
  // 1000 two-beat frames back to back: 2000 beats leave in 2000 consecutive cycles.
  size_t before = rig.dut.tx().frames().size();
  for (int i = 0; i < 1000; ++i) rig.dut.rx().push({f, 0, 0});
  rig.dut.drain(100000);
  auto& out = rig.dut.tx().frames();
  ASSERT_EQ(out.size(), before + 1000);
  EXPECT_EQ(out.back().firstCycle + 1 - out[before].firstCycle + 1, 2000u);
}

}  // namespace
}  // namespace roamgate
