// The host's gate primitives on the real RTL: a first packet punted as a flow miss, the user
// session installed, the packet re-injected through the inject ring and forwarded and counted
// by the hardware; a handover (the downlink tunnel moves, counters go on); removal (uplink
// misses again, replies are dropped); reinstallation with a new generation (counters start
// from zero). The kernel's exact latencies; interim export records for a long-running
// session; whole-frame drops when encapsulation overloads the downlink output; service-side
// ARP punted with its port (and the one punt bucket both directions share); direct sends out
// of each port between hit traffic.
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

// Punts come back byte for byte whatever their length: the ring reader takes a slot's header
// and first 192 bytes in one read and the rest, if any, in a second. Frames on both sides of
// that line, read through poll() and through a reused pool (pollInto, a few at a time).
TEST(GateHost, PuntsOfEveryLengthReadBackWhole) {
  Gate g;
  std::mt19937_64 rng(11);
  std::vector<std::vector<uint8_t>> sent;
  size_t shorter = 0, longer = 0;
  for (int i = 0; i < 40; ++i) {
    dataplane::UserSession s = udpSession();
    s.flow.sport = uint16_t(41000 + i);
    sent.push_back(test::uplinkFrame(rng, s));
    (sent.back().size() <= 192 ? shorter : longer)++;
    g.dut.accRx().push({sent.back(), 0, 0});
  }
  ASSERT_GT(shorter, 3u);
  ASSERT_GT(longer, 3u);
  ASSERT_TRUE(g.dut.drain(400000));
  std::vector<dataplane::PuntedFrame> pool;
  size_t next = 0;
  while (next < 20) {
    size_t n = 0;
    ASSERT_TRUE(g.rings.pollInto(pool, n, 7));
    ASSERT_GT(n, 0u);
    for (size_t i = 0; i < n; ++i, ++next) EXPECT_EQ(pool[i].bytes, sent[next]) << "punt " << next;
  }
  std::vector<dataplane::PuntedFrame> rest;
  ASSERT_TRUE(g.rings.poll(rest));
  ASSERT_EQ(next + rest.size(), sent.size());
  for (size_t i = 0; i < rest.size(); ++i) EXPECT_EQ(rest[i].bytes, sent[next + i]) << "punt " << next + i;
}

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

namespace roamgate {
namespace {

// The ARP frames the tests build are the bytes scapy builds (the lines above test::arpFrame).
TEST(GateHost, ArpFixtureIsScapys) {
  auto hex = [](const std::vector<uint8_t>& f) {
    std::string s;
    char b[3];
    for (uint8_t c : f) {
      std::snprintf(b, sizeof b, "%02x", c);
      s += b;
    }
    return s;
  };
  // Ether(dst="ff:ff:ff:ff:ff:ff", src="02:aa:bb:cc:dd:05")/ARP(op=1, hwsrc="02:aa:bb:cc:dd:05",
  //   psrc="198.18.3.200", hwdst="00:00:00:00:00:00", pdst="198.18.3.2"), with and without
  // Dot1Q(vlan=3) after the Ethernet header.
  EXPECT_EQ(hex(test::arpFrame(1, 0x02aabbccdd05, 0xc61203c8, 0, 0xc6120302, false)),
            "ffffffffffff02aabbccdd050806000108000604000102aabbccdd05c61203c8000000000000c6120302");
  EXPECT_EQ(hex(test::arpFrame(1, 0x02aabbccdd05, 0xc61203c8, 0, 0xc6120302, true)),
            "ffffffffffff02aabbccdd05810000030806000108000604000102aabbccdd05c61203c8000000000000"
            "c6120302");
}

// Service-side ARP: for a gate address it reaches the host whole, tagged with the service
// port; any other is dropped and counted; the access side's ARP is tagged with the access
// port. Both directions spend tokens of one bucket.
TEST(GateHost, ServiceSideArpIsPuntedWithItsPort) {
  Gate g;
  dataplane::GateConfig cfg = test::testConfig(16);
  cfg.natIps[3] = 0;  // not configured: no ARP is for 0.0.0.0
  ASSERT_TRUE(g.tables.writeConfig(cfg));
  const uint64_t server = 0x02aabbcc0010;
  std::vector<uint8_t> req = test::arpFrame(1, server, 0xc6120510, 0, test::kNatBase + 1, false, 18);
  std::vector<uint8_t> tagged = test::arpFrame(2, server, 0xc6120510, test::kGateMac, test::kNatBase + 2, true, 300);
  std::vector<uint8_t> other = test::arpFrame(1, server, 0xc6120510, 0, 0xc6120377, false, 18);
  std::vector<uint8_t> zero = test::arpFrame(1, server, 0xc6120510, 0, 0, false, 18);
  std::vector<uint8_t> notIp = req;
  notIp[16] = 0x86;  // protocol type 0x86dd
  std::vector<uint8_t> cut(req.begin(), req.begin() + 40);
  std::vector<uint8_t> access = test::arpFrame(1, 0x02aabbcc0001, 0xc6120101, 0, test::kAccessIp, false, 18);
  for (const auto& f : {req, tagged, other, zero, notIp, cut}) g.dut.svcRx().push({f, 0, 0});
  g.dut.accRx().push({access, 0, 0});
  ASSERT_TRUE(g.dut.drain(100000));
  std::vector<dataplane::PuntedFrame> punts;
  ASSERT_TRUE(g.rings.poll(punts));
  ASSERT_EQ(punts.size(), 3u);
  std::vector<dataplane::PuntedFrame> svc, acc;
  for (auto& p : punts) (p.ingress == uint8_t(r::IngressPort::kService) ? svc : acc).push_back(p);
  ASSERT_EQ(svc.size(), 2u);
  ASSERT_EQ(acc.size(), 1u);
  EXPECT_EQ(svc[0].bytes, req);
  EXPECT_EQ(svc[1].bytes, tagged) << "whole, tag and padding included";
  EXPECT_EQ(acc[0].bytes, access);
  EXPECT_EQ(acc[0].ingress, uint8_t(r::IngressPort::kAccess));
  for (const auto& p : punts) {
    EXPECT_EQ(p.reason, uint8_t(r::PuntReason::kArp));
    EXPECT_EQ(p.teid, 0u);
    EXPECT_EQ(p.innerOffset, 0u);
  }
  EXPECT_EQ(g.stat(r::Stat::kPuntFrames), 3u);
  EXPECT_EQ(g.stat(r::Stat::kDlArpNotForUs), 3u) << "another target, 0.0.0.0, not IPv4";
  EXPECT_EQ(g.stat(r::Stat::kDropTruncated), 1u) << "cut inside the ARP body";
  EXPECT_EQ(g.stat(r::Stat::kDlRxFrames), 6u);
  EXPECT_TRUE(g.dut.accTx().frames().empty());

  // One bucket: with room for 4 punts, 3 ARPs from each side give 4 punts and 2 limit drops.
  cfg.puntRate = 0x00001000;  // a token every 4096 cycles
  cfg.puntBurst = 4;
  ASSERT_TRUE(g.tables.writeConfig(cfg));
  g.dut.harness().runUntil([] { return false; }, 4 * 4096 + 1000);  // the bucket fills
  for (int i = 0; i < 3; ++i) {
    g.dut.svcRx().push({req, 0, 0});
    g.dut.accRx().push({access, 0, 0});
  }
  ASSERT_TRUE(g.dut.drain(100000));
  punts.clear();
  ASSERT_TRUE(g.rings.poll(punts));
  EXPECT_EQ(punts.size(), 4u);
  EXPECT_EQ(g.stat(r::Stat::kDropPuntLimit), 2u);
  EXPECT_EQ(g.stat(r::Stat::kPuntFrames), 7u);
  // No tokens: every punt is dropped and counted, on either side.
  cfg.puntRate = 0;
  ASSERT_TRUE(g.tables.writeConfig(cfg));
  g.dut.harness().runUntil([] { return false; }, 100);
  g.dut.svcRx().push({req, 0, 0});
  g.dut.accRx().push({access, 0, 0});
  ASSERT_TRUE(g.dut.drain(100000));
  punts.clear();
  ASSERT_TRUE(g.rings.poll(punts));
  EXPECT_TRUE(punts.empty());
  EXPECT_EQ(g.stat(r::Stat::kDropPuntLimit), 4u);
}

// Watches a kernel output: a beat offered and not taken must be offered again unchanged (the
// AXI4-Stream rule), and for each frame, the idle cycles between its first and last beat.
class OutputMonitor : public sim::Agent {
 public:
  explicit OutputMonitor(sim::AxisPins p) : p_(p) {}
  void drive(uint64_t) override {}
  void sample(uint64_t) override {
    bool valid = *p_.valid, ready = *p_.ready;
    if (held_) {
      bool same = valid && *p_.keep == keep_ && *p_.last == last_;
      for (int i = 0; i < 16 && same; ++i) same = (*p_.data)[i] == data_[i];
      if (!same) ++unstable;
    }
    held_ = valid && !ready;
    if (held_) {
      keep_ = *p_.keep;
      last_ = *p_.last;
      for (int i = 0; i < 16; ++i) data_[i] = (*p_.data)[i];
    }
    if (valid && ready) {
      in_ = !*p_.last;
      if (!in_) {
        gaps.push_back(gap_);
        gap_ = 0;
      }
    } else if (in_ && !valid) {
      ++gap_;
    }
  }
  uint64_t unstable = 0;
  std::vector<uint64_t> gaps;  // per frame, in order

 private:
  sim::AxisPins p_;
  bool held_ = false, in_ = false;
  uint64_t keep_ = 0, gap_ = 0;
  uint8_t last_ = 0;
  uint32_t data_[16] = {};
};

// Direct sends: frames of the inject ring with codes ACCESS_OUT and SERVICE_OUT leave that
// port unchanged, whole and without gaps, between the frames the pipelines send under gaps
// and back-pressure, which all arrive as the model says, none dropped; an UPLINK inject in
// the same ring still goes through the uplink pipeline (an ARP: punted), and a slot with a code
// the kernel lacks is skipped and counted.
TEST(GateHost, DirectInjectsLeaveEachPortBetweenHitTraffic) {
  sim::GateDut::Options o;
  uint64_t seed = 4242;
  o.accGaps = [s = std::mt19937_64(seed * 3)](uint64_t) mutable { return s() % 2 == 0; };
  o.svcGaps = [s = std::mt19937_64(seed * 7)](uint64_t) mutable { return s() % 3 == 0; };
  o.accReady = [s = std::mt19937_64(seed * 5)](uint64_t) mutable { return s() % 5 != 0; };
  o.svcReady = [](uint64_t c) { return (c / 40) % 4 != 0; };
  o.memReady = [s = std::mt19937_64(seed * 11)](uint64_t) mutable { return s() % 3 != 0; };
  sim::GateDut dut(o);
  Vgate& top = dut.harness().top();
  OutputMonitor accMon({&top.m_axis_tx_tdata, &top.m_axis_tx_tkeep, &top.m_axis_tx_tlast,
                        &top.m_axis_tx_tvalid, &top.m_axis_tx_tready});
  OutputMonitor svcMon({&top.m_axis_svc_tx_tdata, &top.m_axis_svc_tx_tkeep, &top.m_axis_svc_tx_tlast,
                        &top.m_axis_svc_tx_tvalid, &top.m_axis_svc_tx_tready});
  dut.harness().add(&accMon);
  dut.harness().add(&svcMon);
  sim::InprocDevice<sim::GateDut> dev(dut, "gate");
  model::GateModel mdl;
  test::TeeDevice tee(dev, mdl);
  dataplane::HostRings rings(dev, r::host::kBase, r::kMaxFrameBytes);
  ASSERT_TRUE(rings.setup({6, 4, 0}));
  dataplane::GateTables tables(tee);
  ASSERT_TRUE(tables.checkKernel());
  ASSERT_TRUE(tables.writeConfig(test::testConfig(31)));
  std::mt19937_64 rng(seed);
  std::vector<dataplane::UserSession> sessions = test::randomSessions(rng, 50);
  for (auto& s : sessions) {
    s.allow = true;
    ASSERT_TRUE(tables.installSession(s));
  }

  // Hit traffic both ways, the expected outputs from the model.
  std::vector<std::vector<uint8_t>> expSvc, expAcc;
  size_t expPunts = 0;  // G-PDUs whose inner TTL runs out
  const int kFrames = 3000;
  for (int i = 0; i < kFrames; ++i) {
    const auto& s = sessions[rng() % sessions.size()];
    std::vector<uint8_t> u = test::uplinkFrame(rng, s), d = test::downlinkFrame(rng, s);
    model::GateOutput uo = mdl.uplink(u), dn = mdl.downlink(d);
    if (uo.port == model::GatePort::kService) expSvc.push_back(uo.bytes);
    if (uo.port == model::GatePort::kPunt) ++expPunts;
    if (dn.port == model::GatePort::kAccess) expAcc.push_back(dn.bytes);
    dut.accRx().push({std::move(u), 0, 0});
    dut.svcRx().push({std::move(d), 0, 0});
  }
  ASSERT_GT(expSvc.size(), size_t(kFrames / 2));
  ASSERT_GT(expAcc.size(), size_t(kFrames / 2));

  // Injects: direct sends to each port (EtherType 0x88b5, a sequence number, 60 to 1518 bytes
  // and a few maximum frames), an UPLINK ARP now and then, one slot with an unknown code.
  std::vector<std::pair<uint8_t, std::vector<uint8_t>>> inj;
  std::vector<std::vector<uint8_t>> injAcc, injSvc, injUl;
  for (int i = 0; i < 240; ++i) {
    uint8_t code = uint8_t(i % 2 ? r::InjectPort::kServiceOut : r::InjectPort::kAccessOut);
    size_t len = i % 60 == 7 ? r::kMaxFrameBytes : 60 + rng() % 1459;
    std::vector<uint8_t> f(len);
    for (auto& b : f) b = uint8_t(rng());
    f[12] = 0x88;
    f[13] = 0xb5;
    f[14] = uint8_t(i >> 8);
    f[15] = uint8_t(i);
    if (i % 25 == 3) {
      code = uint8_t(r::InjectPort::kUplink);
      f = test::arpFrame(1, 0x02aabbcc0001, 0xc6120101, 0, test::kAccessIp, false, size_t(i));
    }
    model::GateOutput out = mdl.inject(f, code);
    if (code == uint8_t(r::InjectPort::kUplink)) {
      ASSERT_EQ(out.port, model::GatePort::kPunt);
      injUl.push_back(out.bytes);
    } else {
      ASSERT_EQ(out.bytes, f) << "a direct send is unchanged";
      (out.port == model::GatePort::kAccess ? injAcc : injSvc).push_back(out.bytes);
    }
    inj.emplace_back(code, std::move(f));
    if (i == 100) inj.emplace_back(uint8_t(r::kInjectPortCount), std::vector<uint8_t>(100, 0x11));
  }
  EXPECT_EQ(mdl.inject(inj.back().second, uint8_t(r::kInjectPortCount)).port, model::GatePort::kDrop);
  size_t next = 0;
  std::vector<dataplane::PuntedFrame> punts;
  while (next < inj.size()) {
    Status st = rings.inject(inj[next].second, inj[next].first);
    if (st) {
      ++next;
    } else {
      ASSERT_EQ(st.code(), StatusCode::kFull) << st.message();
      dut.harness().runUntil([] { return false; }, 500);
      ASSERT_TRUE(rings.poll(punts));
    }
  }
  ASSERT_TRUE(dut.drain(5'000'000));
  ASSERT_TRUE(rings.poll(punts));

  // Each port: its injected frames in order and whole, its pipeline frames as the model says.
  auto split = [](const std::vector<sim::AxisFrame>& fs, const std::vector<uint64_t>& gaps,
                  std::vector<std::vector<uint8_t>>& injected, std::vector<std::vector<uint8_t>>& pipe,
                  uint64_t& injGaps) {
    for (size_t i = 0; i < fs.size(); ++i) {
      const auto& b = fs[i].bytes;
      bool isInj = b.size() > 13 && b[12] == 0x88 && b[13] == 0xb5;
      (isInj ? injected : pipe).push_back(b);
      if (isInj && i < gaps.size()) injGaps += gaps[i];
    }
  };
  std::vector<std::vector<uint8_t>> gotAccInj, gotAcc, gotSvcInj, gotSvc;
  uint64_t injGaps = 0;
  split(dut.accTx().frames(), accMon.gaps, gotAccInj, gotAcc, injGaps);
  split(dut.svcTx().frames(), svcMon.gaps, gotSvcInj, gotSvc, injGaps);
  EXPECT_EQ(accMon.unstable + svcMon.unstable, 0u) << "a beat changed while it waited for tready";
  EXPECT_EQ(injGaps, 0u) << "an injected frame left with idle cycles inside";
  ASSERT_EQ(gotAccInj.size(), injAcc.size());
  ASSERT_EQ(gotSvcInj.size(), injSvc.size());
  for (size_t i = 0; i < injAcc.size(); ++i) ASSERT_EQ(gotAccInj[i], injAcc[i]) << "access inject " << i;
  for (size_t i = 0; i < injSvc.size(); ++i) ASSERT_EQ(gotSvcInj[i], injSvc[i]) << "service inject " << i;
  std::array<uint64_t, r::kStatCount> st{};
  ASSERT_TRUE(tables.readStats(st));
  for (uint32_t i = 0; i < r::kStatCount; ++i) {
    if (st[i]) std::printf(" %s=%llu", std::string(r::kStatNames[i]).c_str(), (unsigned long long)st[i]);
  }
  std::printf("\n");
  ASSERT_EQ(gotAcc.size(), expAcc.size()) << "downlink frames lost";
  ASSERT_EQ(gotSvc.size(), expSvc.size()) << "uplink frames lost";
  for (size_t i = 0; i < expAcc.size(); ++i) ASSERT_EQ(gotAcc[i], expAcc[i]) << "access frame " << i;
  for (size_t i = 0; i < expSvc.size(); ++i) ASSERT_EQ(gotSvc[i], expSvc[i]) << "service frame " << i;
  std::vector<std::vector<uint8_t>> puntedArp;
  for (const auto& p : punts) {
    EXPECT_EQ(p.ingress, uint8_t(r::IngressPort::kAccess));
    if (p.reason == uint8_t(r::PuntReason::kArp)) puntedArp.push_back(p.bytes);
  }
  EXPECT_EQ(punts.size(), injUl.size() + expPunts);
  ASSERT_EQ(puntedArp, injUl) << "the UPLINK injects, punted in order";
  // The two ports' frames really met: some injected frames left between pipeline frames.
  auto interleaved = [](const std::vector<sim::AxisFrame>& fs) {
    size_t switches = 0;
    for (size_t i = 1; i < fs.size(); ++i) switches += (fs[i].bytes[12] == 0x88) != (fs[i - 1].bytes[12] == 0x88);
    return switches;
  };
  EXPECT_GT(interleaved(dut.accTx().frames()), 20u);
  EXPECT_GT(interleaved(dut.svcTx().frames()), 20u);
  EXPECT_EQ(st[uint32_t(r::Stat::kDropUlFifoFull)] + st[uint32_t(r::Stat::kDropDlFifoFull)], 0u);
  EXPECT_EQ(st[uint32_t(r::Stat::kUlTxFrames)], expSvc.size()) << "direct sends are not pipeline frames";
  EXPECT_EQ(st[uint32_t(r::Stat::kDlTxFrames)], expAcc.size());
  ASSERT_TRUE(tee.mismatches.empty()) << tee.mismatches.front();
  uint32_t drops = 0, injected = 0, injErrors = 0;
  ASSERT_TRUE(rings.counters(drops, injected, injErrors));
  EXPECT_EQ(drops, 0u);
  EXPECT_EQ(injected, inj.size() - 1);
  EXPECT_EQ(injErrors, 1u) << "the slot with an unknown code";
  std::printf("access: %zu pipeline + %zu injected; service: %zu + %zu; punted %zu; cycles=%llu\n",
              gotAcc.size(), gotAccInj.size(), gotSvc.size(), gotSvcInj.size(), punts.size(),
              (unsigned long long)dut.harness().cycle());
}

}  // namespace
}  // namespace roamgate

namespace roamgate {
namespace {

// Port-table commands back to back with no STATUS reads, as the slow path sends them: the
// register bus holds a write to INDEX, DATA or CMD, and a read of RDATA or C_*, while a
// command is still waiting for the controller (the scanner occupies it every cycle here), so
// no staged entry is overwritten before it is taken and no read-back is stale.
TEST(GateHost, PortCommandsBackToBackNeedNoStatusReads) {
  Gate g;
  ASSERT_TRUE(g.tables.setScanner(true, 0xffffffffu, 0));
  std::mt19937_64 rng(11);
  std::vector<dataplane::UserSession> ss = test::randomSessions(rng, 48);
  std::vector<hal::RegOp> ops;
  for (const dataplane::UserSession& s : ss) {
    std::array<uint32_t, 8> w = dataplane::encodePortEntry(s, true);
    for (uint32_t i = 0; i < 8; ++i) ops.push_back(hal::RegOp{true, r::port::kData + 4 * i, w[i]});
    ops.push_back(hal::RegOp{true, r::port::kIndex, r::port::kIndexAddrIndex.put(s.addrIndex) |
                                                     r::port::kIndexPort.put(s.port)});
    ops.push_back(hal::RegOp{true, r::port::kCmd, r::port::kCmdCommit.put(1)});
  }
  uint64_t heldBefore = g.dut.axil().heldCycles();
  ASSERT_TRUE(g.dev.transact(ops));
  EXPECT_GT(g.dut.axil().heldCycles(), heldBefore) << "the scanner kept the controller busy: some writes waited";
  ops.clear();
  for (const dataplane::UserSession& s : ss) {
    ops.push_back(hal::RegOp{true, r::port::kIndex, r::port::kIndexAddrIndex.put(s.addrIndex) |
                                                     r::port::kIndexPort.put(s.port)});
    ops.push_back(hal::RegOp{true, r::port::kCmd, r::port::kCmdRead.put(1)});
    for (uint32_t i = 0; i < 8; ++i) ops.push_back(hal::RegOp{false, r::port::kRdata + 4 * i, 0});
  }
  ASSERT_TRUE(g.dev.transact(ops));
  for (size_t k = 0; k < ss.size(); ++k) {
    std::array<uint32_t, 8> want = dataplane::encodePortEntry(ss[k], true);
    for (uint32_t i = 0; i < 8; ++i) {
      EXPECT_EQ(ops[k * 10 + 2 + i].value, want[i]) << "session " << k << " word " << i;
    }
  }
}

}  // namespace
}  // namespace roamgate

namespace roamgate {
namespace {

// External user sessions on the RTL: endpoint-independent filtering takes replies from any
// address; address-dependent filtering (FILTER_ADDR) from any port of the destination's
// address only, the rest dropped and counted as DL_MISMATCH.
TEST(GateHost, ExternalFilteringByEndpointOrAddress) {
  Gate g;
  dataplane::UserSession eif = udpSession();
  eif.external = true;
  eif.flow.dst = 0xc6120601;  // 198.18.6.1, no representative address
  dataplane::UserSession adf = eif;
  adf.flow.sport = 40002;
  adf.port = 3001;
  adf.filterAddr = true;
  ASSERT_TRUE(g.tables.installSession(eif));
  ASSERT_TRUE(g.tables.installSession(adf));
  dataplane::PortState ps;
  ASSERT_TRUE(g.tables.readPort(1, adf.port, ps));
  EXPECT_TRUE(ps.session.filterAddr) << "read back";
  auto reply = [&](const dataplane::UserSession& s, uint32_t from, uint16_t sport) {
    test::InnerSpec rep;
    rep.proto = 17;
    rep.src = from;
    rep.dst = test::kNatBase + 1;
    rep.sport = sport;
    rep.dport = s.port;
    rep.payload = 30;
    size_t before = g.dut.accTx().frames().size();
    g.dut.svcRx().push({test::buildEth(test::buildIpv4(rep, 0), false), 0, 0});
    EXPECT_TRUE(g.dut.drain(10000));
    return g.dut.accTx().frames().size() - before;
  };
  uint64_t mis0 = g.stat(r::Stat::kDlMismatch);
  EXPECT_EQ(reply(eif, eif.flow.dst, 53), 1u);
  EXPECT_EQ(reply(eif, 0xc6120777, 9999), 1u) << "endpoint-independent: any address";
  EXPECT_EQ(reply(adf, adf.flow.dst, 53), 1u);
  EXPECT_EQ(reply(adf, adf.flow.dst, 5353), 1u) << "address-dependent: any port of the address";
  EXPECT_EQ(reply(adf, 0xc6120777, 53), 0u) << "another address is filtered";
  EXPECT_EQ(g.stat(r::Stat::kDlMismatch) - mis0, 1u);
  dataplane::UserSession bad = udpSession();
  bad.port = 3002;
  bad.flow.sport = 40003;
  bad.filterAddr = true;
  EXPECT_EQ(g.tables.installSession(bad).code(), StatusCode::kInvalidArgument) << "filtering needs external";
}

}  // namespace
}  // namespace roamgate
