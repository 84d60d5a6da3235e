// The host's gate primitives on the real RTL: a first packet punted as a flow miss, the user
// session installed, the packet re-injected through the inject ring and forwarded and counted
// by the hardware; a handover (the downlink tunnel moves, counters go on); removal (uplink
// misses again, replies are dropped); reinstallation with a new generation (counters start
// from zero). The kernel's exact latencies; interim export records for a long-running
// session; whole-frame drops when encapsulation overloads the downlink output.
#include <gtest/gtest.h>

#include "gate_test_util.h"
#include "roamgate/dataplane/host_rings.h"

namespace roamgate {
namespace {

namespace r = regs::gate;

struct Gate {
  sim::GateDut dut{sim::GateDut::Options{}};
  sim::InprocDevice<sim::GateDut> dev{dut, "gate"};
  dataplane::HostRings rings{dev, r::host::kBase, r::kMaxFrameBytes};
  dataplane::GateTables tables{dev};
  Gate() {
    EXPECT_TRUE(tables.checkKernel());
    EXPECT_TRUE(tables.writeConfig(test::testConfig(16)));
    EXPECT_TRUE(rings.setup({6, 4, 0}));
  }
  uint64_t stat(r::Stat s) {
    std::array<uint64_t, r::kStatCount> st{};
    EXPECT_TRUE(tables.readStats(st));
    return st[uint32_t(s)];
  }
};

dataplane::UserSession udpSession() {
  dataplane::UserSession s;
  s.flow = {0x1234, 0xc6130005, 0xc6120464, 17, 40001, 53};
  s.addrIndex = 1;
  s.port = 3000;
  s.serverIp = 0xc6120510;
  s.serverPort = 8053;
  s.peerIp = 0xc6120101;
  s.dlTeid = 0xa1;
  s.qfi = 5;
  s.gen = 1;
  return s;
}

uint32_t be32(const std::vector<uint8_t>& f, size_t at) {
  return uint32_t(f[at]) << 24 | uint32_t(f[at + 1]) << 16 | uint32_t(f[at + 2]) << 8 | f[at + 3];
}
uint16_t be16(const std::vector<uint8_t>& f, size_t at) { return uint16_t(f[at] << 8 | f[at + 1]); }

TEST(GateHost, MissPuntInstallReinjectHandoverRemove) {
  Gate g;
  dataplane::UserSession s = udpSession();
  std::mt19937_64 rng(5);
  std::vector<uint8_t> first = test::uplinkFrame(rng, s);

  // 1. The first packet misses and reaches the host.
  g.dut.accRx().push({first, 0, 0});
  ASSERT_TRUE(g.dut.drain(100000));
  std::vector<dataplane::PuntedFrame> punts;
  ASSERT_TRUE(g.rings.poll(punts));
  ASSERT_EQ(punts.size(), 1u);
  EXPECT_EQ(punts[0].reason, uint8_t(r::PuntReason::kFlowMiss));
  EXPECT_EQ(punts[0].bytes, first);
  EXPECT_EQ(punts[0].teid, s.flow.teid) << "the parsed metadata comes with the punt";
  EXPECT_EQ(first[punts[0].innerOffset] >> 4, 4) << "the T-PDU offset points at the inner IPv4 header";
  EXPECT_TRUE(g.dut.svcTx().frames().empty());

  // 2. Install, re-inject: the hardware rewrites, forwards and counts it.
  ASSERT_TRUE(g.tables.installSession(s));
  ASSERT_TRUE(g.rings.inject(punts[0].bytes, uint8_t(r::InjectPort::kUplink)));
  ASSERT_TRUE(g.dut.drain(100000));
  ASSERT_EQ(g.dut.svcTx().frames().size(), 1u);
  const auto& out = g.dut.svcTx().frames()[0].bytes;
  EXPECT_EQ(test::checkIpv4(out, 14), "");
  EXPECT_EQ(be32(out, 26), test::kNatBase + 1);  // gate address 1
  EXPECT_EQ(be32(out, 30), s.serverIp);
  size_t l4 = 14 + 4u * (out[14] & 0xf);
  EXPECT_EQ(be16(out, l4), s.port);
  EXPECT_EQ(be16(out, l4 + 2), s.serverPort);
  dataplane::PortState ps;
  ASSERT_TRUE(g.tables.readPort(1, s.port, ps));
  EXPECT_TRUE(ps.valid);
  EXPECT_EQ(ps.ulPkts, 1u);
  EXPECT_EQ(ps.ulBytes, be16(out, 16));
  EXPECT_EQ(g.stat(r::Stat::kUlRxFrames), 1u) << "an injected frame is not a received one";
  EXPECT_EQ(g.stat(r::Stat::kUlHits), 1u);
  uint32_t drops = 0, injected = 0, injErrors = 0;
  ASSERT_TRUE(g.rings.counters(drops, injected, injErrors));
  EXPECT_EQ(injected, 1u);

  // 3. Replies go to the current peer; after a handover to the new one, counters go on.
  g.dut.svcRx().push({test::downlinkFrame(rng, s), 0, 0});
  ASSERT_TRUE(g.dut.drain(100000));
  ASSERT_TRUE(g.tables.moveTunnel(1, s.port, 0xc6120102, 0xb2, std::nullopt));
  g.dut.svcRx().push({test::downlinkFrame(rng, s), 0, 0});
  ASSERT_TRUE(g.dut.drain(100000));
  auto& dl = g.dut.accTx().frames();
  ASSERT_EQ(dl.size(), 2u);
  EXPECT_EQ(be32(dl[0].bytes, 30), s.peerIp);
  EXPECT_EQ(be32(dl[0].bytes, 46), s.dlTeid);
  EXPECT_EQ(dl[0].bytes[42], 0x34) << "QFI: sequence word and extension header flagged";
  EXPECT_EQ(dl[0].bytes[56], 5) << "the QFI in the PDU Session Container";
  EXPECT_EQ(be32(dl[1].bytes, 30), 0xc6120102u);
  EXPECT_EQ(be32(dl[1].bytes, 46), 0xb2u);
  EXPECT_EQ(dl[1].bytes[42], 0x30) << "no QFI after the move";
  for (const auto& f : dl) {
    EXPECT_EQ(test::checkIpv4(f.bytes, 14), "");
    EXPECT_EQ(test::checkIpv4(f.bytes, (f.bytes[42] & 4) ? 58 : 50), "");
  }
  ASSERT_TRUE(g.tables.readPort(1, s.port, ps));
  EXPECT_EQ(ps.dlPkts, 2u);
  EXPECT_EQ(ps.ulPkts, 1u);

  // 4. Removed: uplink misses again, replies are dropped as unknown.
  ASSERT_TRUE(g.tables.removeSession(s.flow, 1, s.port));
  g.dut.accRx().push({test::uplinkFrame(rng, s), 0, 0});
  g.dut.svcRx().push({test::downlinkFrame(rng, s), 0, 0});
  ASSERT_TRUE(g.dut.drain(100000));
  punts.clear();
  ASSERT_TRUE(g.rings.poll(punts));
  ASSERT_EQ(punts.size(), 1u);
  EXPECT_EQ(punts[0].reason, uint8_t(r::PuntReason::kFlowMiss));
  EXPECT_EQ(g.dut.accTx().frames().size(), 2u);
  EXPECT_EQ(g.stat(r::Stat::kDlUnknownPort), 1u);
  ASSERT_TRUE(g.tables.readPort(1, s.port, ps));
  EXPECT_FALSE(ps.valid);
  EXPECT_EQ(ps.dlPkts, 2u) << "counters stay readable after removal";

  // 5. The port reused with a new generation starts from zero.
  s.gen = 2;
  ASSERT_TRUE(g.tables.installSession(s));
  ASSERT_TRUE(g.tables.readPort(1, s.port, ps));
  EXPECT_EQ(ps.ulPkts + ps.dlPkts, 0u);
  g.dut.accRx().push({test::uplinkFrame(rng, s), 0, 0});
  ASSERT_TRUE(g.dut.drain(100000));
  ASSERT_TRUE(g.tables.readPort(1, s.port, ps));
  EXPECT_EQ(ps.ulPkts, 1u);
}

// User sessions never overwrite each other: a taken port or a flow of another port is
// refused and changes nothing, a removal checks the flow belongs to the port first,
// --replace takes the old session's flows away, and a port left with a stray flow can be
// cleared.
TEST(GateHost, UserSessionsDoNotOverwriteEachOther) {
  Gate g;
  using dataplane::FlowKey;
  // Only gate address 1 (the sessions') is configured: the port-table walk reads its block.
  dataplane::GateConfig cfg = test::testConfig(16);
  cfg.natIps = {0, test::kNatBase + 1, 0, 0};
  ASSERT_TRUE(g.tables.writeConfig(cfg));
  dataplane::UserSession a = udpSession();
  ASSERT_TRUE(g.tables.installSession(a));
  dataplane::UserSession b = a;
  b.flow = {0x5678, 0xc6130006, 0xc6120465, 6, 40002, 80};
  b.serverPort = 8080;
  auto owner = [&](const FlowKey& k) {
    std::optional<std::pair<uint8_t, uint16_t>> p;
    EXPECT_TRUE(g.tables.findFlow(k, p));
    return p;
  };
  auto terminal = [&](uint8_t idx, uint16_t port) {
    dataplane::PortState ps;
    EXPECT_TRUE(g.tables.readPort(idx, port, ps));
    return ps.valid ? ps.session.flow.src : 0u;
  };
  // Another session on a's port: refused, a untouched.
  Status st = g.tables.installSession(b);
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.message();
  EXPECT_EQ(terminal(1, a.port), a.flow.src);
  EXPECT_EQ(owner(a.flow), (std::pair<uint8_t, uint16_t>{1, a.port}));
  EXPECT_FALSE(owner(b.flow).has_value());
  // a's flow on another port: refused.
  dataplane::UserSession a2 = a;
  a2.port = 3001;
  EXPECT_EQ(g.tables.installSession(a2).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(terminal(1, 3001), 0u) << "nothing was written on the other port";
  // Removal with a flow and a port that do not belong together: refused before anything moves.
  EXPECT_EQ(g.tables.removeSession(b.flow, 1, a.port).code(), StatusCode::kNotFound);
  b.port = 3002;
  ASSERT_TRUE(g.tables.installSession(b));
  EXPECT_EQ(g.tables.removeSession(b.flow, 1, a.port).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(terminal(1, a.port), a.flow.src);
  EXPECT_EQ(owner(a.flow), (std::pair<uint8_t, uint16_t>{1, a.port}));
  EXPECT_EQ(owner(b.flow), (std::pair<uint8_t, uint16_t>{1, uint16_t(3002)}));
  // Replace: the old session's flow goes first, the new one takes the port.
  dataplane::UserSession c = a;
  c.flow = {0x9abc, 0xc6130007, 0xc6120466, 17, 40003, 53};
  c.gen = 2;
  ASSERT_TRUE(g.tables.installSession(c, true));
  EXPECT_FALSE(owner(a.flow).has_value()) << "the replaced session's flow is gone";
  EXPECT_EQ(owner(c.flow), (std::pair<uint8_t, uint16_t>{1, a.port}));
  EXPECT_EQ(terminal(1, a.port), c.flow.src);
  // A stray flow on a port without a valid entry, as an interrupted install leaves it.
  FlowKey stray{0xdef0, 0xc6130008, 0xc6120467, 17, 40004, 53};
  ASSERT_TRUE(g.tables.addFlow(stray, 2, 4000));
  std::vector<FlowKey> flows;
  ASSERT_TRUE(g.tables.flowsOfPort(2, 4000, flows));
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0], stray);
  size_t removed = 0;
  ASSERT_TRUE(g.tables.removePort(2, 4000, &removed));
  EXPECT_EQ(removed, 1u);
  EXPECT_FALSE(owner(stray).has_value());
  EXPECT_EQ(g.tables.removePort(2, 4000).code(), StatusCode::kNotFound);
  // Every user session, walking the port table.
  std::vector<dataplane::PortState> all;
  size_t calls = 0;
  ASSERT_TRUE(g.tables.listPorts(all, [&](size_t, size_t) { ++calls; }));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].session.port, a.port);
  EXPECT_EQ(all[0].session.flow.src, c.flow.src);
  EXPECT_EQ(all[1].session.port, 3002);
  EXPECT_GT(calls, 1u) << "progress is reported";
  ASSERT_TRUE(g.tables.removePort(1, a.port, &removed));
  EXPECT_EQ(removed, 1u);
  EXPECT_FALSE(owner(c.flow).has_value());
}

// Values a user session cannot take are refused before the hardware sees them.
TEST(GateHost, InvalidUserSessionsAreRefused) {
  Gate g;
  auto refused = [&](const char* what, auto change) {
    dataplane::UserSession s = udpSession();
    change(s);
    Status st = g.tables.installSession(s);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << what << ": " << st.message();
    dataplane::PortState ps;
    EXPECT_TRUE(g.tables.readPort(s.addrIndex, s.port, ps));
    EXPECT_FALSE(ps.valid) << what;
  };
  refused("TEID 0", [](auto& s) { s.flow.teid = 0; });
  refused("downlink TEID 0", [](auto& s) { s.dlTeid = 0; });
  refused("port 0", [](auto& s) { s.port = 0; });
  refused("server port 0", [](auto& s) { s.serverPort = 0; });
  refused("terminal port 0", [](auto& s) { s.flow.sport = 0; });
  refused("peer 0.0.0.0", [](auto& s) { s.peerIp = 0; });
  refused("multicast server", [](auto& s) { s.serverIp = 0xe0000005; });
  refused("gate address index 4", [](auto& s) { s.addrIndex = 4; });
  dataplane::GateConfig cfg = test::testConfig(16);
  cfg.natIps[2] = 0;
  ASSERT_TRUE(g.tables.writeConfig(cfg));
  refused("unconfigured gate address", [](auto& s) { s.addrIndex = 2; });
  cfg.accessIp = 0;
  ASSERT_TRUE(g.tables.writeConfig(cfg));
  refused("no access address", [](auto&) {});
  EXPECT_EQ(g.tables.moveTunnel(1, 3000, 0xc6120102, 0x77, std::nullopt).code(), StatusCode::kNotFound);
}

// Exact cycle counts, first beat in to first beat out, idle pipeline: a 64-byte user frame
// (uplink: its 100-byte G-PDU) in each direction.
TEST(GateHost, ExactLatency) {
  Gate g;
  dataplane::UserSession s = udpSession();
  s.qfi.reset();
  ASSERT_TRUE(g.tables.installSession(s));
  test::InnerSpec in;
  in.proto = 17;
  in.src = s.flow.src;
  in.dst = s.flow.dst;
  in.sport = s.flow.sport;
  in.dport = s.flow.dport;
  in.payload = 64 - 14 - 28;
  test::GtpShape gs;
  gs.teid = s.flow.teid;
  gs.dstIp = test::kAccessIp;
  gs.inner = &in;
  g.dut.accRx().push({test::buildGtp(gs), 0, 0});
  ASSERT_TRUE(g.dut.drain(10000));
  ASSERT_EQ(g.dut.svcTx().frames().size(), 1u);
  EXPECT_EQ(g.dut.svcTx().frames()[0].bytes.size(), 64u);
  EXPECT_EQ(g.dut.svcTx().frames()[0].firstCycle - g.dut.accRx().startCycles()[0], 24u);

  test::InnerSpec rep;
  rep.proto = 17;
  rep.src = s.serverIp;
  rep.dst = test::kNatBase + 1;
  rep.sport = s.serverPort;
  rep.dport = s.port;
  rep.payload = 64 - 14 - 28;
  g.dut.svcRx().push({test::buildEth(test::buildIpv4(rep, 0), false), 0, 0});
  ASSERT_TRUE(g.dut.drain(10000));
  ASSERT_EQ(g.dut.accTx().frames().size(), 1u);
  EXPECT_EQ(g.dut.accTx().frames()[0].bytes.size(), 100u);
  EXPECT_EQ(g.dut.accTx().frames()[0].firstCycle - g.dut.svcRx().startCycles()[0], 12u);
}

}  // namespace
}  // namespace roamgate

namespace roamgate {
namespace {

// Interim records: a long-running session is exported every INTERIM_TICKS with its running
// counters, never as final; the scanner state restarts with each interval.
TEST(GateHost, InterimRecordsForLongSessions) {
  Gate g;
  dataplane::UserSession s = udpSession();
  ASSERT_TRUE(g.tables.writeConfig(test::testConfig(10)));  // a tick is 1024 cycles
  ASSERT_TRUE(g.rings.setup({6, 4, 6}));
  ASSERT_TRUE(g.tables.installSession(s));
  std::mt19937_64 rng(9);
  g.dut.accRx().push({test::uplinkFrame(rng, s), 0, 0});
  ASSERT_TRUE(g.dut.drain(100000));
  ASSERT_TRUE(g.tables.setScanner(true, 0, 2000));  // no idle expiry; interim every 2000 ticks
  std::vector<dataplane::ExportRecord> got;
  for (int round = 0; round < 2; ++round) {
    g.dut.advanceTime(uint64_t(1024) * 2500);
    for (int i = 0; i < 200 && got.size() <= size_t(round); ++i) {
      g.dut.harness().runUntil([] { return false; }, 20000);
      ASSERT_TRUE(g.rings.pollExport(got));
    }
    ASSERT_EQ(got.size(), size_t(round + 1)) << "one interim record per interval";
    auto v = dataplane::ExportRecordView::decode(got.back());
    EXPECT_EQ(v.reason, r::ExportReason::kInterim);
    EXPECT_EQ(v.port, s.port);
    EXPECT_EQ(v.ulPkts, uint64_t(round + 1));
    // More traffic before the next interval shows in the next record.
    g.dut.accRx().push({test::uplinkFrame(rng, s), 0, 0});
    ASSERT_TRUE(g.dut.drain(100000));
  }
  EXPECT_EQ(dataplane::ExportRecordView::decode(got[0]).ulPkts, 1u);
  EXPECT_EQ(dataplane::ExportRecordView::decode(got[1]).ulPkts, 2u);
  dataplane::PortState ps;
  ASSERT_TRUE(g.tables.readPort(1, s.port, ps));
  EXPECT_FALSE(ps.finalExported) << "interim records are not final";
}

// When encapsulation makes the downlink output the bottleneck (64-byte replies back to back:
// one beat in, two out), whole frames are dropped and counted; every frame that leaves is
// whole and correct, and every frame is accounted for.
TEST(GateHost, DownlinkOverloadDropsWholeFrames) {
  Gate g;
  dataplane::UserSession s = udpSession();
  s.qfi.reset();
  ASSERT_TRUE(g.tables.installSession(s));
  test::InnerSpec rep;
  rep.proto = 17;
  rep.src = s.serverIp;
  rep.dst = test::kNatBase + 1;
  rep.sport = s.serverPort;
  rep.dport = s.port;
  rep.payload = 64 - 14 - 28;
  const size_t n = 3000;
  for (size_t i = 0; i < n; ++i) g.dut.svcRx().push({test::buildEth(test::buildIpv4(rep, uint32_t(i)), false), 0, 0});
  ASSERT_TRUE(g.dut.drain(1'000'000));
  // The source offered a beat every cycle: the MAC was never held back.
  const auto& starts = g.dut.svcRx().startCycles();
  EXPECT_EQ(starts.back() - starts.front(), n - 1);
  const auto& out = g.dut.accTx().frames();
  uint64_t dropped = g.stat(r::Stat::kDropDlFifoFull);
  EXPECT_GT(dropped, 0u) << "the output should have been the bottleneck";
  EXPECT_EQ(out.size() + dropped, n);
  EXPECT_EQ(g.stat(r::Stat::kDlHits), out.size());
  for (const auto& f : out) {
    ASSERT_EQ(f.bytes.size(), 100u);
    ASSERT_EQ(test::checkIpv4(f.bytes, 14), "");
    ASSERT_EQ(test::checkIpv4(f.bytes, 50), "");
  }
  dataplane::PortState ps;
  ASSERT_TRUE(g.tables.readPort(1, s.port, ps));
  EXPECT_EQ(ps.dlPkts, out.size());
}

}  // namespace
}  // namespace roamgate
