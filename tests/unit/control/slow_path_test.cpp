// The gate's slow path on the bit-exact gate model: a punted first packet is parsed,
// authorized, given a server and a port, installed, and the re-injected frame leaves the
// model rewritten; every user-session type's decision (connection, affinity, series,
// external), deny entries and their expiry, refusals (unknown TEID, spoofed source, no
// server, no port, over quota, bad frames), ending, a rebuild from the device; the kernel
// clock's tick-to-UTC conversion and a user session relabelled as its accounting record.
#include "roamgate/control/slow_path.h"
#include "roamgate/control/user_session_record.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>

#include "gate_model.h"
#include "pktgen.h"
#include "roamgate/checksum.h"
#include "roamgate/regs/gate.h"

namespace roamgate::control {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace r = regs::gate;
using dataplane::FlowKey;

// hal::Device on the gate model: the register ops the host sends, counted.
class ModelDevice : public hal::Device {
 public:
  explicit ModelDevice(model::GateModel& m) : m_(m) {}
  Status transact(std::span<hal::RegOp> ops) override {
    for (hal::RegOp& op : ops) {
      if (op.write) {
        m_.writeReg(op.addr, op.value);
        ++writes;
      } else {
        op.value = m_.readReg(op.addr);
        ++reads;
      }
    }
    return {};
  }
  std::string describe() const override { return "model:gate"; }
  Status allocMem(uint64_t, uint64_t, uint64_t&) override { return Status::error("no memory"); }
  Status readMem(uint64_t, std::span<uint8_t>) override { return Status::error("no memory"); }
  Status writeMem(uint64_t, std::span<const uint8_t>) override { return Status::error("no memory"); }
  uint64_t writes = 0, reads = 0;

 private:
  model::GateModel& m_;
};

constexpr uint32_t kAccessIp = 0xc6120164;  // 198.18.1.100: pktgen's outer destination
constexpr uint32_t kNat0 = 0xc6120301;      // 198.18.3.1
constexpr uint32_t kNat1 = 0xc6120302;
constexpr uint32_t kWebVip = 0xc6120a0a;    // 198.18.10.10:443/tcp
constexpr uint32_t kApiVip = 0xc6120a0b;    // 198.18.10.11:443/tcp (series, also 8443)
constexpr uint32_t kDnsVip = 0xc6120a0c;    // 198.18.10.12:53/udp (affinity)
constexpr uint32_t kExternal = 0xc6121401;  // 198.18.20.1: no service

uint32_t be32(const std::vector<uint8_t>& f, size_t o) {
  return uint32_t(f[o]) << 24 | uint32_t(f[o + 1]) << 16 | uint32_t(f[o + 2]) << 8 | f[o + 3];
}
uint16_t be16(const std::vector<uint8_t>& f, size_t o) { return uint16_t(f[o] << 8 | f[o + 1]); }

Service service(std::string name, std::vector<Vip> vips, std::vector<Server> servers,
                SelectionPolicy p = SelectionPolicy::kRoundRobin,
                UserSessionType t = UserSessionType::kConnection) {
  Service s;
  s.name = std::move(name);
  s.vips = std::move(vips);
  s.servers = std::move(servers);
  s.policy = p;
  s.type = t;
  return s;
}

Server server(uint32_t ip, uint16_t port, uint32_t weight = 1) {
  Server s;
  s.ip = ip;
  s.port = port;
  s.weight = weight;
  return s;
}

struct Gate {
  model::GateModel m;
  ModelDevice dev{m};
  std::optional<dataplane::GateTables> t;
  std::optional<LocalAuthorizer> auth;
  std::unique_ptr<SlowPath> sp;
  Clock::time_point now{};

  explicit Gate(SlowPathOptions o = {}, bool start = true) {
    t.emplace(dev);
    dataplane::GateConfig c;
    c.accessIp = kAccessIp;
    c.ownMac = 0x021133445566;
    c.natIps = {kNat0, kNat1, 0, 0};
    EXPECT_TRUE(t->writeConfig(c));
    policies();
    if (!start) return;
    EXPECT_TRUE(t->loadFlows());
    make(o);
  }
  // A new process on the same device: tables, authorizer and slow path start empty.
  void restart(SlowPathOptions o = {}) {
    sp.reset();
    t.emplace(dev);
    policies();
    make(o);
  }
  void policies() {
    auth.emplace();
    SubscriberPolicy all;
    all.name = "default";
    all.anyService = true;
    all.external = true;
    SubscriberPolicy web;
    web.name = "web-only";
    web.services = {"web"};
    web.denySeconds = 10;
    EXPECT_TRUE(auth->setPolicies({all, web}, {{"001010000000099", "web-only"}}));
  }
  void make(SlowPathOptions o = {}) {
    auto r = SlowPath::create(*t, *auth, {kNat0, kNat1, 0, 0}, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    sp = std::move(*r);
    ASSERT_TRUE(sp->setServices({
        service("web", {{kWebVip, 443, VipProto::kTcp}},
                {server(0xc6120b01, 8443), server(0xc6120b02, 8443, 10)}),
        service("api", {{kApiVip, 443, VipProto::kTcp}, {kApiVip, 8443, VipProto::kTcp}},
                {server(0xc6120c01, 9000)}, SelectionPolicy::kMaglev, UserSessionType::kSeries),
        service("dns", {{kDnsVip, 53, VipProto::kUdp}, {kDnsVip, 0, VipProto::kIcmp}},
                {server(0xc6120d01, 5353), server(0xc6120d02, 5353), server(0xc6120d03, 5353)},
                SelectionPolicy::kRoundRobin, UserSessionType::kAffinity),
    }));
    for (uint32_t i = 1; i <= 50; ++i) addSession(i);
  }
  // TEID i: terminal 198.19.0.i, IMSI 00101000000000i (i = 99: the web-only subscriber).
  void addSession(uint32_t i) {
    Terminal term;
    char imsi[16];
    std::snprintf(imsi, sizeof imsi, "%015llu", 1010000000000ull + i);
    term.imsi = imsi;
    term.msisdn = "4915100000" + std::to_string(100 + i);
    term.ueIp = 0xc6130000 + i;
    term.peerIp = 0xc6120101;
    term.dlTeid = 0x1000 + i;
    sp->setSession(i, term);
  }

  std::vector<uint8_t> frame(uint32_t teid, uint8_t proto, uint32_t dst, uint16_t sport,
                             uint16_t dport, size_t payload = 20, uint32_t src = 0) {
    test::InnerSpec in;
    in.proto = proto;
    in.src = src ? src : 0xc6130000 + teid;
    in.dst = dst;
    in.sport = sport;
    in.dport = dport;
    in.icmpId = sport;
    in.payload = payload;
    test::GtpShape g;
    g.teid = teid;
    g.inner = &in;
    return test::buildGtp(g);
  }
  // Sends a frame in: a punt goes to the slow path, and what it says to re-inject is.
  struct Sent {
    model::GateOutput first;        // what the model did with the frame
    std::optional<PuntOutcome> outcome;
    model::GateOutput reinjected;   // when re-injected
  };
  Sent send(const std::vector<uint8_t>& f) {
    Sent s;
    s.first = m.uplink(f);
    if (s.first.port != model::GatePort::kPunt) return s;
    s.outcome = sp->handle(f, s.first.puntTeid, s.first.puntInnerOffset, now);
    if (reinject(*s.outcome)) s.reinjected = m.inject(f, uint8_t(r::InjectPort::kUplink));
    return s;
  }
};

TEST(SlowPathParse, FlowKeysAndRefusals) {
  Gate g({}, false);
  auto punt = [&](const std::vector<uint8_t>& f, FlowKey& k) {
    model::GateOutput o = g.m.uplink(f);
    EXPECT_EQ(o.port, model::GatePort::kPunt);
    return parseUplinkPunt(f, o.puntInnerOffset, o.puntTeid, k);
  };
  FlowKey k;
  EXPECT_EQ(punt(g.frame(7, 6, kWebVip, 40000, 443), k), PuntOutcome::kInstalled);
  EXPECT_EQ(k, (FlowKey{7, 0xc6130007, kWebVip, 6, 40000, 443}));
  EXPECT_EQ(punt(g.frame(7, 1, kDnsVip, 77, 0), k), PuntOutcome::kInstalled);
  EXPECT_EQ(k, (FlowKey{7, 0xc6130007, kDnsVip, 1, 77, 0})) << "ICMP: the echo identifier";
  std::vector<uint8_t> f = g.frame(7, 17, kDnsVip, 5000, 53);
  model::GateOutput o = g.m.uplink(f);
  ASSERT_EQ(o.port, model::GatePort::kPunt);
  for (size_t cut : {size_t(o.puntInnerOffset) + 10, size_t(o.puntInnerOffset) + 24}) {
    std::vector<uint8_t> s(f.begin(), f.begin() + ptrdiff_t(cut));
    EXPECT_EQ(parseUplinkPunt(s, o.puntInnerOffset, 7, k), PuntOutcome::kTruncated) << cut;
  }
  EXPECT_EQ(parseUplinkPunt(f, 0, 7, k), PuntOutcome::kMalformed) << "no T-PDU offset";
  std::vector<uint8_t> v6 = f;
  v6[o.puntInnerOffset] = 0x65;
  EXPECT_EQ(parseUplinkPunt(v6, o.puntInnerOffset, 7, k), PuntOutcome::kMalformed);
  std::vector<uint8_t> frag = f;
  frag[o.puntInnerOffset + 6] |= 0x20;  // MF
  EXPECT_EQ(parseUplinkPunt(frag, o.puntInnerOffset, 7, k), PuntOutcome::kMalformed);
  std::vector<uint8_t> gre = f;
  gre[o.puntInnerOffset + 9] = 47;
  EXPECT_EQ(parseUplinkPunt(gre, o.puntInnerOffset, 7, k), PuntOutcome::kUnsupported);
  test::InnerSpec reply;
  reply.proto = 1;
  reply.icmpType = 0;
  reply.src = 0xc6130007;
  test::GtpShape gs;
  gs.teid = 7;
  gs.inner = &reply;
  std::vector<uint8_t> echoReply = test::buildGtp(gs);
  o = g.m.uplink(echoReply);
  if (o.port == model::GatePort::kPunt) {
    EXPECT_EQ(parseUplinkPunt(echoReply, o.puntInnerOffset, 7, k), PuntOutcome::kUnsupported)
        << "only an echo request opens an ICMP user session";
  }
}

// A poll's prefetch pass changes nothing: no outcome counted, no register touched, no user
// session; frames that do not parse, of unknown TEIDs or for flows already decided are
// passed over; handling the batch afterwards decides as without it.
TEST(SlowPath, PrefetchOfABatchChangesNothing) {
  Gate g;
  ASSERT_EQ(g.send(g.frame(4, 6, kWebVip, 39999, 443)).outcome, PuntOutcome::kInstalled);
  std::vector<std::vector<uint8_t>> batch;
  for (uint16_t i = 0; i < 40; ++i) batch.push_back(g.frame(1 + i % 5, 6, kWebVip, uint16_t(30000 + i), 443));
  batch.push_back(g.frame(4, 6, kWebVip, 39999, 443));  // decided already
  batch.push_back(g.frame(999, 6, kWebVip, 30000, 443));  // unknown TEID
  std::vector<uint8_t> cut = batch[0];
  cut.resize(30);
  batch.push_back(cut);  // truncated
  std::vector<model::GateOutput> first;
  for (const auto& f : batch) first.push_back(g.m.uplink(f));
  uint64_t w0 = g.dev.writes, r0 = g.dev.reads;
  SlowPathCounters c0 = g.sp->counters();
  size_t live0 = g.sp->userSessions();
  auto at = [&](size_t i) {
    uint32_t teid = first[i].port == model::GatePort::kPunt ? first[i].puntTeid : 999;
    uint8_t off = first[i].puntInnerOffset ? first[i].puntInnerOffset : first[0].puntInnerOffset;
    return SlowPath::PuntRef{batch[i], teid, off};
  };
  for (size_t i = 0; i < batch.size(); ++i) g.sp->prefetchAhead(batch.size(), i, at);
  EXPECT_EQ(g.dev.writes, w0);
  EXPECT_EQ(g.dev.reads, r0);
  EXPECT_EQ(g.sp->counters().outcomes, c0.outcomes);
  EXPECT_EQ(g.sp->userSessions(), live0);
  for (size_t i = 0; i < 40; ++i) EXPECT_EQ(g.send(batch[i]).outcome, PuntOutcome::kInstalled) << i;
  EXPECT_EQ(g.sp->userSessions(), live0 + 40);
}

TEST(SlowPath, ConnectionIsInstalledAndTheReinjectedFrameLeavesRewritten) {
  Gate g;
  uint64_t w0 = g.dev.writes, r0 = g.dev.reads;
  std::vector<uint8_t> f = g.frame(3, 6, kWebVip, 40000, 443, 100);
  Gate::Sent s = g.send(f);
  ASSERT_EQ(s.outcome, PuntOutcome::kInstalled);
  EXPECT_LE(g.dev.writes - w0, 24u) << "port entry (10) and flow entry (8)";
  EXPECT_EQ(g.dev.reads - r0, 0u) << "no reads: the mirror knows the table, the kernel holds writes while a command runs";
  ASSERT_EQ(s.reinjected.port, model::GatePort::kService);
  const std::vector<uint8_t>& out = s.reinjected.bytes;
  uint32_t nat = be32(out, 26);
  EXPECT_TRUE(nat == kNat0 || nat == kNat1);
  uint32_t srv = be32(out, 30);
  EXPECT_TRUE(srv == 0xc6120b01u || srv == 0xc6120b02u);
  size_t l4 = 14 + 4u * (out[14] & 0xf);
  uint16_t port = be16(out, l4);
  EXPECT_GE(port, 1024);
  EXPECT_EQ(be16(out, l4 + 2), 8443);
  const UserSessionInfo* u = g.sp->find(nat == kNat0 ? 0 : 1, port);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->imsi, "001010000000003");
  EXPECT_EQ(u->services, std::vector<std::string>{"web"});
  EXPECT_EQ(u->entry.serverIp, srv);
  EXPECT_EQ(u->entry.dlTeid, 0x1003u);

  // The same frame punted again (a burst that missed while deciding, or a replay): no new
  // decision, re-injected; later packets hit in hardware and are never punted.
  Gate::Sent again = g.send(f);
  EXPECT_NE(again.first.port, model::GatePort::kPunt) << "installed: it hits now";
  EXPECT_EQ(g.sp->handle(f, 3, s.first.puntInnerOffset, g.now), PuntOutcome::kAlreadyDecided);
  EXPECT_EQ(g.sp->userSessions(), 1u);
  EXPECT_EQ(g.sp->counters().outcomes[size_t(PuntOutcome::kInstalled)], 1u);
  EXPECT_EQ(g.sp->counters().outcomes[size_t(PuntOutcome::kAlreadyDecided)], 1u);
}

TEST(SlowPath, WeightsSplitNewUserSessionsExactly) {
  Gate g;
  std::map<uint32_t, int> perServer;
  for (uint16_t i = 0; i < 110; ++i) {
    Gate::Sent s = g.send(g.frame(1 + i % 50, 6, kWebVip, uint16_t(20000 + i), 443));
    ASSERT_EQ(s.outcome, PuntOutcome::kInstalled) << i;
    ++perServer[be32(s.reinjected.bytes, 30)];
  }
  EXPECT_EQ(perServer[0xc6120b01], 10) << "weights 1:10 give 1:10";
  EXPECT_EQ(perServer[0xc6120b02], 100);
  EXPECT_EQ(g.sp->serverSessions("web", 0xc6120b02, 8443), 100u);
}

TEST(SlowPath, AffinityKeepsASubscribersConnectionsOnOneServerEachWithItsPort) {
  Gate g;
  std::set<uint16_t> ports;
  std::set<uint32_t> servers;
  for (uint16_t i = 0; i < 5; ++i) {
    Gate::Sent s = g.send(g.frame(4, 17, kDnsVip, uint16_t(5000 + i), 53));
    ASSERT_EQ(s.outcome, PuntOutcome::kInstalled);
    servers.insert(be32(s.reinjected.bytes, 30));
    ports.insert(be16(s.reinjected.bytes, 34));
  }
  Gate::Sent icmp = g.send(g.frame(4, 1, kDnsVip, 99, 0));  // another VIP of the service
  ASSERT_EQ(icmp.outcome, PuntOutcome::kInstalled);
  servers.insert(be32(icmp.reinjected.bytes, 30));
  EXPECT_EQ(servers.size(), 1u) << "one server for the subscriber's connections";
  EXPECT_EQ(ports.size(), 5u) << "each connection its own port";
  // Another subscriber is balanced on its own (round robin moves on).
  Gate::Sent other = g.send(g.frame(5, 17, kDnsVip, 5000, 53));
  ASSERT_EQ(other.outcome, PuntOutcome::kInstalled);
  EXPECT_NE(be32(other.reinjected.bytes, 30), *servers.begin());
  // After the affinity time without a new connection, a new pick.
  g.now += std::chrono::seconds(kDefaultAffinitySeconds + 1);
  std::set<uint32_t> later;
  for (uint16_t i = 0; i < 3; ++i) {
    Gate::Sent s = g.send(g.frame(4, 17, kDnsVip, uint16_t(6000 + i), 53));
    ASSERT_EQ(s.outcome, PuntOutcome::kInstalled);
    later.insert(be32(s.reinjected.bytes, 30));
  }
  EXPECT_EQ(later.size(), 1u);
  // A server that fails is replaced for the subscriber.
  uint32_t was = *later.begin();
  ASSERT_TRUE(g.sp->setHealth("dns", was, 5353, Health::kDown));
  Gate::Sent s = g.send(g.frame(4, 17, kDnsVip, 7000, 53));
  ASSERT_EQ(s.outcome, PuntOutcome::kInstalled);
  EXPECT_NE(be32(s.reinjected.bytes, 30), was);
}

// An affinity outlives nothing: once its time is up, advance() forgets it (a subscriber that
// never comes back costs no memory), and one in use stays.
TEST(SlowPath, ExpiredAffinitiesAreForgotten) {
  Gate g;
  for (uint32_t teid = 1; teid <= 6; ++teid) {
    ASSERT_EQ(g.send(g.frame(teid, 17, kDnsVip, 5000, 53)).outcome, PuntOutcome::kInstalled);
  }
  EXPECT_EQ(g.sp->affinities(), 6u);
  g.now += std::chrono::seconds(kDefaultAffinitySeconds - 1);
  ASSERT_EQ(g.send(g.frame(2, 17, kDnsVip, 5001, 53)).outcome, PuntOutcome::kInstalled);  // renews 2's
  g.sp->advance(g.now);
  EXPECT_EQ(g.sp->affinities(), 6u) << "none is due yet";
  g.now += std::chrono::seconds(2);
  g.sp->advance(g.now);
  EXPECT_EQ(g.sp->affinities(), 1u) << "only the renewed one is left";
}

TEST(SlowPath, SeriesFollowsTheTerminalToAnotherAddressWithItsPortAndCounters) {
  Gate g;
  Gate::Sent a = g.send(g.frame(6, 6, kApiVip, 41000, 443, 50));
  ASSERT_EQ(a.outcome, PuntOutcome::kInstalled);
  uint8_t addr = be32(a.reinjected.bytes, 26) == kNat0 ? 0 : 1;
  uint16_t port = be16(a.reinjected.bytes, 34);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(g.send(g.frame(6, 6, kApiVip, 41000, 443, 50)).first.port, model::GatePort::kService);
  // The terminal's same address and port to the service's other representative address.
  Gate::Sent b = g.send(g.frame(6, 6, kApiVip, 41000, 8443, 70));
  ASSERT_EQ(b.outcome, PuntOutcome::kRetargeted);
  ASSERT_EQ(b.reinjected.port, model::GatePort::kService);
  EXPECT_EQ(be16(b.reinjected.bytes, 34), port) << "the same user session: its port";
  EXPECT_EQ(be32(b.reinjected.bytes, 30), 0xc6120c01u);
  EXPECT_EQ(g.sp->userSessions(), 1u);
  const UserSessionInfo* u = g.sp->find(addr, port);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->services, (std::vector<std::string>{"api", "api"}));
  EXPECT_EQ(u->entry.flow.dport, 8443);
  dataplane::PortState ps;
  ASSERT_TRUE(g.t->readPort(addr, port, ps));
  EXPECT_EQ(ps.ulPkts, 5u) << "counters go on across the re-target";
  // The old address's flow is gone: a packet to it is a new decision (back again).
  Gate::Sent back = g.send(g.frame(6, 6, kApiVip, 41000, 443, 50));
  EXPECT_EQ(back.outcome, PuntOutcome::kRetargeted);
  EXPECT_EQ(g.sp->serverSessions("api", 0xc6120c01, 9000), 1u);
}

TEST(SlowPath, ExternalDestinationsShareTheEndpointsPortAndDeniedOnesAreDroppedInHardware) {
  Gate g;
  g.addSession(99);  // web-only: no external destinations, deny entries for 10 s
  Gate::Sent e1 = g.send(g.frame(8, 17, kExternal, 7777, 3478));
  ASSERT_EQ(e1.outcome, PuntOutcome::kInstalled);
  EXPECT_EQ(be32(e1.reinjected.bytes, 30), kExternal) << "external: destination kept";
  uint16_t port = be16(e1.reinjected.bytes, 34);
  Gate::Sent e2 = g.send(g.frame(8, 17, kExternal + 1, 7777, 3479));
  ASSERT_EQ(e2.outcome, PuntOutcome::kFlowAdded);
  EXPECT_EQ(be16(e2.reinjected.bytes, 34), port) << "endpoint-independent mapping (RFC 4787 REQ-1)";
  EXPECT_EQ(g.sp->userSessions(), 1u);

  Gate::Sent d = g.send(g.frame(99, 17, kExternal, 7777, 3478));
  ASSERT_EQ(d.outcome, PuntOutcome::kDenied);
  EXPECT_EQ(g.auth->denied(DenyReason::kExternalNotAllowed), 1u);
  for (int i = 0; i < 3; ++i) {
    model::GateOutput o = g.m.uplink(g.frame(99, 17, kExternal, 7777, 3478));
    EXPECT_EQ(o.port, model::GatePort::kDrop) << "dropped and counted, not punted";
  }
  EXPECT_EQ(g.m.stat(r::Stat::kUlDenied), 3u);
  Gate::Sent dsvc = g.send(g.frame(99, 6, kApiVip, 1000, 443));
  EXPECT_EQ(dsvc.outcome, PuntOutcome::kDenied);
  EXPECT_EQ(g.auth->denied(DenyReason::kServiceNotAllowed), 1u);
  EXPECT_EQ(g.send(g.frame(99, 6, kWebVip, 1000, 443)).outcome, PuntOutcome::kInstalled);
  // The deny time passes: the entries go, the next packet is decided again.
  g.now += 11s;
  g.sp->advance(g.now);
  EXPECT_EQ(g.sp->counters().denyExpired, 2u);
  EXPECT_EQ(g.send(g.frame(99, 17, kExternal, 7777, 3478)).outcome, PuntOutcome::kDenied);
}

// A reply from the external network to a gate address and port, as the model forwards it.
model::GatePort replyFrom(Gate& g, uint32_t from, uint16_t sport, uint32_t nat, uint16_t port) {
  test::InnerSpec in;
  in.proto = 17;
  in.src = from;
  in.dst = nat;
  in.sport = sport;
  in.dport = port;
  in.payload = 20;
  return g.m.downlink(test::buildEth(test::buildIpv4(in, 0), false)).port;
}

// Filtering of external destinations: endpoint-independent by default (replies from any
// address reach the terminal); address-dependent as an option: a destination address is
// its own port, and replies come from any port of that address only.
TEST(SlowPath, ExternalFilteringIsEndpointIndependentOrByAddress) {
  {
    Gate g;
    Gate::Sent e = g.send(g.frame(8, 17, kExternal, 7777, 3478));
    ASSERT_EQ(e.outcome, PuntOutcome::kInstalled);
    uint32_t nat = be32(e.reinjected.bytes, 26);
    uint16_t port = be16(e.reinjected.bytes, 34);
    EXPECT_EQ(replyFrom(g, kExternal + 9, 5000, nat, port), model::GatePort::kAccess) << "any address (REQ-8)";
    EXPECT_FALSE(g.sp->find(nat == kNat0 ? 0 : 1, port)->entry.filterAddr);
  }
  SlowPathOptions o;
  o.addressFiltering = true;
  Gate g(o);
  Gate::Sent e1 = g.send(g.frame(8, 17, kExternal, 7777, 3478));
  ASSERT_EQ(e1.outcome, PuntOutcome::kInstalled);
  uint32_t nat = be32(e1.reinjected.bytes, 26);
  uint16_t p1 = be16(e1.reinjected.bytes, 34);
  Gate::Sent e2 = g.send(g.frame(8, 17, kExternal, 7777, 3479));
  ASSERT_EQ(e2.outcome, PuntOutcome::kFlowAdded) << "the same address: the same mapping";
  EXPECT_EQ(be16(e2.reinjected.bytes, 34), p1);
  Gate::Sent e3 = g.send(g.frame(8, 17, kExternal + 1, 7777, 3478));
  ASSERT_EQ(e3.outcome, PuntOutcome::kInstalled) << "another address: a mapping of its own";
  uint16_t p2 = be16(e3.reinjected.bytes, 34);
  EXPECT_NE(p2, p1);
  EXPECT_EQ(g.sp->userSessions(), 2u);
  EXPECT_EQ(replyFrom(g, kExternal, 9999, nat, p1), model::GatePort::kAccess) << "any port of the address";
  uint64_t mis = g.m.stat(r::Stat::kDlMismatch);
  EXPECT_EQ(replyFrom(g, kExternal + 1, 3478, nat, p1), model::GatePort::kDrop) << "another address is filtered";
  EXPECT_EQ(g.m.stat(r::Stat::kDlMismatch), mis + 1);
  EXPECT_EQ(replyFrom(g, kExternal + 1, 3478, be32(e3.reinjected.bytes, 26), p2), model::GatePort::kAccess);
  // A restart rebuilds both mappings from the device: the same address finds its port.
  g.restart(o);
  std::vector<dataplane::GateTables::FlowEntry> flows;
  std::vector<dataplane::PortState> ports;
  ASSERT_TRUE(g.t->listFlows(flows));
  ASSERT_TRUE(g.t->listPorts(ports));
  ASSERT_TRUE(g.sp->restore(ports, flows, g.now));
  Gate::Sent e4 = g.send(g.frame(8, 17, kExternal + 1, 7777, 3480));
  ASSERT_EQ(e4.outcome, PuntOutcome::kFlowAdded);
  EXPECT_EQ(be16(e4.reinjected.bytes, 34), p2);
}

// One endpoint (terminal address and port) with an external mapping and a series user
// session: two user sessions, each with its own port, neither taken for the other.
TEST(SlowPath, AnEndpointsExternalMappingAndSeriesSessionAreApart) {
  Gate g;
  std::vector<uint8_t> ext = g.frame(8, 6, kExternal, 41000, 80);
  Gate::Sent e = g.send(ext);
  ASSERT_EQ(e.outcome, PuntOutcome::kInstalled);
  Gate::Sent s = g.send(g.frame(8, 6, kApiVip, 41000, 443));
  ASSERT_EQ(s.outcome, PuntOutcome::kInstalled) << "a series user session of its own";
  EXPECT_EQ(be32(s.reinjected.bytes, 30), 0xc6120c01u) << "to the series service's server";
  EXPECT_NE(be16(s.reinjected.bytes, 34), be16(e.reinjected.bytes, 34));
  EXPECT_EQ(g.sp->userSessions(), 2u);
  EXPECT_EQ(g.m.uplink(ext).port, model::GatePort::kService) << "the external flow stays in hardware";
  // And the other way round: a series endpoint then an external destination.
  Gate::Sent s2 = g.send(g.frame(9, 6, kApiVip, 42000, 443));
  ASSERT_EQ(s2.outcome, PuntOutcome::kInstalled);
  Gate::Sent e2 = g.send(g.frame(9, 6, kExternal, 42000, 80));
  ASSERT_EQ(e2.outcome, PuntOutcome::kInstalled) << "an external mapping of its own";
  EXPECT_NE(be16(s2.reinjected.bytes, 34), be16(e2.reinjected.bytes, 34));
  // Each ends on its own.
  uint32_t nat = be32(e.reinjected.bytes, 26);
  ASSERT_TRUE(g.sp->end(nat == kNat0 ? 0 : 1, be16(e.reinjected.bytes, 34), EndCause::kIdle, g.now));
  Gate::Sent s3 = g.send(g.frame(8, 6, kApiVip, 41000, 8443));
  EXPECT_EQ(s3.outcome, PuntOutcome::kRetargeted) << "the series session goes on after the external one ended";
}

// A series user session that goes on to another address is no new user session: the
// policy's service rule applies, its limits (concurrent, new per second) do not.
TEST(SlowPath, ASeriesRetargetSpendsNoNewSessionAllowance) {
  Gate g;
  SubscriberPolicy one;
  one.name = "one-a-second";
  one.anyService = true;
  one.newPerSecond = 1;
  one.maxUserSessions = 1;
  ASSERT_TRUE(g.auth->setPolicies({one}, {{"001010000000006", "one-a-second"}}));
  ASSERT_EQ(g.send(g.frame(6, 6, kApiVip, 41000, 443)).outcome, PuntOutcome::kInstalled);
  EXPECT_EQ(g.send(g.frame(6, 6, kApiVip, 41000, 8443)).outcome, PuntOutcome::kRetargeted);
  EXPECT_EQ(g.auth->denied(DenyReason::kRateLimited) + g.auth->denied(DenyReason::kTooManySessions), 0u);
  EXPECT_EQ(g.auth->userSessions("001010000000006"), 1u);
  EXPECT_EQ(g.send(g.frame(6, 6, kApiVip, 41001, 443)).outcome, PuntOutcome::kDenied) << "a new one is limited";
}

TEST(SlowPath, RefusalsAreCountedAndInstallNothing) {
  SlowPathOptions o;
  o.ports.quota = 2;
  Gate g(o);
  uint64_t w0 = g.dev.writes;
  EXPECT_EQ(g.send(g.frame(77, 6, kWebVip, 1000, 443)).outcome, PuntOutcome::kUnknownTeid);
  EXPECT_EQ(g.send(g.frame(9, 6, kWebVip, 1000, 443, 20, 0xc6130063)).outcome, PuntOutcome::kSpoofed);
  ASSERT_TRUE(g.sp->setHealth("api", 0xc6120c01, 9000, Health::kDown));
  EXPECT_EQ(g.send(g.frame(9, 6, kApiVip, 1000, 443)).outcome, PuntOutcome::kNoServer);
  EXPECT_EQ(g.dev.writes, w0) << "nothing written for a refusal";
  EXPECT_EQ(g.auth->userSessions("001010000000009"), 0u) << "the authorization is given back";
  EXPECT_EQ(g.send(g.frame(9, 6, kWebVip, 1000, 443)).outcome, PuntOutcome::kInstalled);
  EXPECT_EQ(g.send(g.frame(9, 6, kWebVip, 1001, 443)).outcome, PuntOutcome::kInstalled);
  EXPECT_EQ(g.send(g.frame(9, 6, kWebVip, 1002, 443)).outcome, PuntOutcome::kOverQuota);
  EXPECT_EQ(g.sp->userSessions(), 2u) << "never evicts";
  // It comes back after rise: a recovered server takes new user sessions again.
  ASSERT_TRUE(g.sp->setHealth("api", 0xc6120c01, 9000, Health::kUp));
  EXPECT_EQ(g.send(g.frame(10, 6, kApiVip, 1000, 443)).outcome, PuntOutcome::kInstalled);
}

TEST(SlowPath, OutOfPortsIsRefusedWithoutEvicting) {
  SlowPathOptions o;
  o.ports.lowestPort = 65530;  // 6 ports on each address
  Gate g(o);
  int installed = 0, noPort = 0;
  for (uint16_t i = 0; i < 40; ++i) {
    PuntOutcome out = *g.send(g.frame(1 + i % 50, 6, kWebVip, uint16_t(3000 + i), 443)).outcome;
    installed += out == PuntOutcome::kInstalled;
    noPort += out == PuntOutcome::kNoPort;
  }
  EXPECT_EQ(installed, 12);
  EXPECT_EQ(noPort, 28);
  EXPECT_EQ(g.sp->userSessions(), 12u);
}

TEST(SlowPath, EndingFreesThePortAfterItsHoldAndTheFlowMissesAgain) {
  SlowPathOptions o;
  o.ports.hold = 120s;
  Gate g(o);
  std::vector<std::pair<UserSessionInfo, EndCause>> ended;
  g.sp->onEnded([&](const UserSessionInfo& u, EndCause c) { ended.emplace_back(u, c); });
  Gate::Sent s = g.send(g.frame(11, 6, kWebVip, 1234, 443));
  ASSERT_EQ(s.outcome, PuntOutcome::kInstalled);
  uint8_t addr = be32(s.reinjected.bytes, 26) == kNat0 ? 0 : 1;
  uint16_t port = be16(s.reinjected.bytes, 34);
  ASSERT_TRUE(g.sp->end(addr, port, EndCause::kFin, g.now));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].second, EndCause::kFin);
  EXPECT_EQ(ended[0].first.imsi, "001010000000011");
  EXPECT_EQ(g.sp->allocator(addr)->state(port), PortState::kHeld);
  EXPECT_EQ(g.auth->userSessions("001010000000011"), 0u);
  EXPECT_EQ(g.sp->serverSessions("web", ended[0].first.entry.serverIp, 8443), 0u);
  EXPECT_EQ(g.m.uplink(g.frame(11, 6, kWebVip, 1234, 443)).port, model::GatePort::kPunt);
  EXPECT_FALSE(g.sp->end(addr, port, EndCause::kFin, g.now)) << "ended once";
  g.now += 121s;
  g.sp->advance(g.now);
  EXPECT_EQ(g.sp->allocator(addr)->state(port), PortState::kFree);
  // Closing the session ends its user sessions.
  ASSERT_EQ(g.send(g.frame(12, 6, kWebVip, 1, 443)).outcome, PuntOutcome::kInstalled);
  ASSERT_EQ(g.send(g.frame(12, 17, kExternal, 2, 53)).outcome, PuntOutcome::kInstalled);
  ASSERT_TRUE(g.sp->removeSession(12, g.now));
  EXPECT_EQ(ended.size(), 3u);
  EXPECT_EQ(ended.back().second, EndCause::kSessionDeleted);
  EXPECT_EQ(g.sp->userSessions(), 0u);
}

TEST(SlowPath, RestoreRebuildsFromTheDevice) {
  Gate g;
  std::vector<uint16_t> ports;
  ASSERT_EQ(g.send(g.frame(13, 6, kWebVip, 1000, 443)).outcome, PuntOutcome::kInstalled);
  ASSERT_EQ(g.send(g.frame(13, 6, kApiVip, 1001, 443)).outcome, PuntOutcome::kInstalled);
  ASSERT_EQ(g.send(g.frame(13, 17, kExternal, 1002, 53)).outcome, PuntOutcome::kInstalled);
  ASSERT_EQ(g.send(g.frame(13, 17, kExternal + 1, 1002, 53)).outcome, PuntOutcome::kFlowAdded);
  g.addSession(99);
  ASSERT_EQ(g.send(g.frame(99, 17, kExternal, 1, 53)).outcome, PuntOutcome::kDenied);
  // A new process: tables, authorizer and slow path from the device's contents.
  std::vector<dataplane::GateTables::FlowEntry> flows;
  std::vector<dataplane::PortState> portsState;
  g.restart();
  ASSERT_TRUE(g.t->listFlows(flows));
  ASSERT_TRUE(g.t->listPorts(portsState));
  EXPECT_EQ(g.t->flowBucketsUnread(), 0u) << "the walk fills the mirror";
  g.addSession(99);
  size_t n = 0;
  ASSERT_TRUE(g.sp->restore(portsState, flows, g.now, &n));
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(g.auth->userSessions("001010000000013"), 3u);
  EXPECT_EQ(g.sp->serverSessions("api", 0xc6120c01, 9000), 1u);
  // Installed flows are known: a punt of one (sent before the restart) is not decided again.
  std::vector<uint8_t> f = g.frame(13, 17, kExternal + 1, 1002, 53);
  model::GateOutput o = g.m.uplink(f);
  EXPECT_EQ(o.port, model::GatePort::kService);
  EXPECT_EQ(g.sp->handle(f, 13, 50, g.now), PuntOutcome::kAlreadyDecided);
  // The external mapping goes on; a series user session is found by its endpoint.
  EXPECT_EQ(g.send(g.frame(13, 17, kExternal + 2, 1002, 53)).outcome, PuntOutcome::kFlowAdded);
  EXPECT_EQ(g.send(g.frame(13, 6, kApiVip, 1001, 8443)).outcome, PuntOutcome::kRetargeted);
  // Ports in use stay in use: 60 new user sessions never get one of them.
  for (uint16_t i = 0; i < 60; ++i) {
    ASSERT_EQ(g.send(g.frame(14, 6, kWebVip, uint16_t(2000 + i), 443)).outcome, PuntOutcome::kInstalled);
  }
  EXPECT_EQ(g.sp->userSessions(), 64u);
}

TEST(KernelClock, TicksAndTimestampsToUtcWithOneOffset) {
  KernelClock c;
  c.ts0 = 1'000'000'000;
  c.utc0 = std::chrono::sys_days{std::chrono::year{2026} / 12 / 2} + std::chrono::hours(1);
  c.shift = 16;
  const uint64_t sec = 322'265'625;  // timestamps a second at 322.265625 MHz
  EXPECT_EQ(c.utc(c.ts0), "2026-12-02T01:00:00.000Z");
  EXPECT_EQ(c.utc(c.ts0 + sec), "2026-12-02T01:00:01.000Z");
  EXPECT_EQ(c.utc(c.ts0 + sec / 5), "2026-12-02T01:00:00.200Z");
  EXPECT_EQ(c.utc(c.ts0 + 3600 * sec), "2026-12-02T02:00:00.000Z");
  EXPECT_EQ(c.utc(c.ts0 - sec), "2026-12-02T00:59:59.000Z") << "before the sample";
  EXPECT_EQ(c.utc(c.ts0 - sec / 1000 * 1), "2026-12-02T00:59:59.999Z");
  // Ticks are the timestamp's bits above TICK_SHIFT, 32 of them: they wrap.
  uint32_t tick0 = uint32_t(c.ts0 >> 16);
  EXPECT_EQ(c.tsOfTick(tick0), c.ts0 >> 16 << 16);
  EXPECT_EQ(c.tsOfTick(tick0 + 10), (c.ts0 >> 16 << 16) + (10u << 16));
  EXPECT_EQ(c.tsOfTick(tick0 - 10), (c.ts0 >> 16 << 16) - (10u << 16));
  KernelClock w = c;
  w.ts0 = (uint64_t(0xffffffff) << 16) - 5;  // the tick counter about to wrap
  uint32_t wrapped = uint32_t(w.ts0 >> 16) + 3;  // three ticks later: past 2^32
  EXPECT_EQ(w.tsOfTick(wrapped), (w.ts0 >> 16 << 16) + (3u << 16)) << "a wrapped tick is after, not 2^32 before";
  // Scanner thresholds: 300 s is 1,475,214 ticks of 2^16 cycles; never 0 (0 means never).
  EXPECT_EQ(c.ticks(300000), 1475214u);
  EXPECT_EQ(c.ticks(1), 4u);
  EXPECT_EQ(c.ticks(0), 1u);
  KernelClock fine = c;
  fine.shift = 0;
  EXPECT_EQ(fine.ticks(86400000), 0xffffffffu) << "saturates";
}

TEST(UserSessionRecord, TheSubscriberTheServicesInOrderAndTheGatePort) {
  Gate g;
  Gate::Sent a = g.send(g.frame(6, 6, kApiVip, 41000, 443, 50));
  ASSERT_EQ(a.outcome, PuntOutcome::kInstalled);
  uint8_t addr = be32(a.reinjected.bytes, 26) == kNat0 ? 0 : 1;
  uint16_t port = be16(a.reinjected.bytes, 34);
  ASSERT_EQ(g.send(g.frame(6, 6, kApiVip, 41000, 8443, 50)).outcome, PuntOutcome::kRetargeted);
  const UserSessionInfo* u = g.sp->find(addr, port);
  ASSERT_NE(u, nullptr);
  KernelClock c;
  c.ts0 = 5000;
  c.utc0 = std::chrono::sys_days{std::chrono::year{2026} / 12 / 2};
  accounting::Record r = userSessionRecord(*u, "gate-a", addr == 0 ? kNat0 : kNat1, c);
  EXPECT_EQ(r.imsi, "001010000000006");
  EXPECT_EQ(r.msisdn, "4915100000106");
  EXPECT_EQ(r.teid, 6u);
  EXPECT_EQ(r.terminalIp, 0xc6130006u);
  EXPECT_EQ(r.terminalPort, 41000);
  EXPECT_EQ(r.natPort, port);
  EXPECT_EQ(r.services, (std::vector<std::string>{"api", "api"})) << "each re-target, in order";
  EXPECT_EQ(r.servers, (std::vector<std::string>{"198.18.12.1:9000", "198.18.12.1:9000"}));
  EXPECT_FALSE(r.external);
  EXPECT_FALSE(r.denied);
  EXPECT_EQ(r.started, "2026-12-02T00:00:00.000Z") << "no punt timestamp: the sample's time";
  EXPECT_EQ(r.id, "gate-a/" + std::string(addr == 0 ? "198.18.3.1" : "198.18.3.2") + ":" +
                      std::to_string(port) + "/g" + std::to_string(u->entry.gen) + "/2026-12-02T00:00:00.000Z");
  EXPECT_TRUE(r.cause.empty()) << "open";
  // A denied one says why; an external one has no service.
  g.addSession(99);
  Gate::Sent d = g.send(g.frame(99, 17, kExternal, 7777, 3478));
  ASSERT_EQ(d.outcome, PuntOutcome::kDenied);
  const UserSessionInfo* du = nullptr;
  for (uint8_t i = 0; i < 2 && !du; ++i) {
    for (uint32_t p = 1024; p < 65536 && !du; ++p) {
      const UserSessionInfo* x = g.sp->find(i, uint16_t(p));
      if (x && x->denied) du = x;
    }
  }
  ASSERT_NE(du, nullptr);
  accounting::Record dr = userSessionRecord(*du, "gate-a", kNat0, c);
  EXPECT_TRUE(dr.denied);
  EXPECT_EQ(dr.denyReason, "external_not_allowed");
  EXPECT_TRUE(dr.services.empty());
}

}  // namespace
}  // namespace roamgate::control
