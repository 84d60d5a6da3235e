// The appliance agents (what roamd runs per appliance) on the real RTL, in process: a steer
// agent programs a Verilated steer kernel from a SQLite store (2 gateways, 2000 sessions),
// repairs a table tampered with by hand (missing, stale and re-pinned sessions, a changed MAC)
// counting each kind, rewrites nothing on a second pass, follows the store's changes, and a
// second steer programmed from the same store after those changes holds the identical table.
// A gate agent moves the downlink tunnel of an installed user session when its session moves,
// and repairs a tunnel or configuration changed by hand. A steer kernel given to a gate agent
// is reported as the wrong kernel and never written to.
//
// The Verilated kernels are clocked by their register accesses (each access runs the harness
// until the bus is idle), so they are not thread-safe: the agent's thread and the test's
// thread reach a kernel only through SharedDut's handles, which take one mutex per transact.
// The test tampers only while the agent is idle (its state ok and the store's last revision
// applied).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "gate_dut.h"
#include "inproc_device.h"
#include "roamgate/addr.h"
#include "roamgate/control/agent.h"
#include "roamgate/control/objects.h"
#include "roamgate/control/state.h"
#include "../../unit/control/running_cache.h"
#include "roamgate/dataplane/gate_tables.h"
#include "roamgate/dataplane/maglev.h"
#include "roamgate/dataplane/steer_tables.h"
#include "roamgate/hash.h"
#include "roamgate/store/store.h"
#include "steer_dut.h"

namespace roamgate::control {
namespace {

using namespace std::chrono_literals;
using dataplane::GateTables;
using dataplane::GatewayEntry;
using dataplane::SteerTables;
using Clock = std::chrono::steady_clock;

// ---- A kernel shared by the agent's thread and the test's ---------------------------------

template <class Dut>
class SharedDut {
 public:
  explicit SharedDut(std::string name) : name_(name), dev_(dut_, std::move(name)) {}

  // A non-owning device on the kernel: every call holds the kernel's mutex, and counts.
  class Handle : public hal::Device {
   public:
    explicit Handle(SharedDut& d) : d_(d) {}
    Status transact(std::span<hal::RegOp> ops) override {
      std::lock_guard lk(d_.mu_);
      for (const hal::RegOp& op : ops) (op.write ? d_.writes_ : d_.reads_) += 1;
      return d_.dev_.transact(ops);
    }
    std::string describe() const override { return d_.dev_.describe(); }
    Status allocMem(uint64_t bytes, uint64_t align, uint64_t& addr) override {
      std::lock_guard lk(d_.mu_);
      return d_.dev_.allocMem(bytes, align, addr);
    }
    Status readMem(uint64_t addr, std::span<uint8_t> out) override {
      std::lock_guard lk(d_.mu_);
      return d_.dev_.readMem(addr, out);
    }
    Status writeMem(uint64_t addr, std::span<const uint8_t> in) override {
      std::lock_guard lk(d_.mu_);
      ++d_.memWrites_;
      return d_.dev_.writeMem(addr, in);
    }

   private:
    SharedDut& d_;
  };

  // What an agent is given: each open hands out a new handle (the agent owns the handle,
  // the test keeps the kernel).
  DeviceOpener opener() {
    return [this] {
      ++opens_;
      hal::OpenResult r;
      r.device = std::make_unique<Handle>(*this);
      return r;
    };
  }
  Handle& handle() { return testHandle_; }
  std::string spec() const { return "inproc:" + name_; }
  uint64_t writes() const { return writes_; }
  uint64_t reads() const { return reads_; }
  uint64_t memWrites() const { return memWrites_; }
  int opens() const { return opens_; }

 private:
  std::string name_;
  Dut dut_{typename Dut::Options{}};
  sim::InprocDevice<Dut> dev_;
  std::mutex mu_;
  std::atomic<uint64_t> writes_{0}, reads_{0}, memWrites_{0};
  std::atomic<int> opens_{0};
  Handle testHandle_{*this};
};

using SteerKernel = SharedDut<sim::SteerDut>;
using GateKernel = SharedDut<sim::GateDut>;

// ---- The store, a cache with its polling thread (as roamd runs it) ------------------------

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "agent_rtl_XXXXXX").string();
    path_ = mkdtemp(t.data()) ? t : "";
    EXPECT_FALSE(path_.empty()) << "mkdtemp failed";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using control::test::RunningCache;

// Polls `done` until it holds or `limit` passes.
template <class F>
bool waitUntil(F done, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

Appliance gateAppliance(const std::string& name, uint32_t id, const std::string& device) {
  Appliance a;
  a.name = name;
  a.role = Role::kGate;
  a.device = device;
  a.machine = "m1";
  a.ip = 0xc6120200 + 10 + id;  // 198.18.2.1x
  a.mac = 0x020000000200ull + id;
  a.gatewayId = id;
  a.natIps[0] = 0xc6120300 + 100 + id;  // 198.18.3.10x
  a.serviceNextHopMac = 0x020000000301ull;
  a.accessNextHopMac = 0x020000000201ull;
  return a;
}

Appliance steerAppliance(const std::string& name, const std::string& device) {
  Appliance a;
  a.name = name;
  a.role = Role::kSteer;
  a.device = device;
  a.machine = "m1";
  a.ip = 0xc6120164;  // 198.18.1.100
  a.mac = 0x021122334455ull;
  return a;
}

Session session(uint32_t teid, const std::string& gate, int i) {
  Session s;
  s.teid = teid;
  s.imsi = "00101" + std::to_string(1000000000 + i);
  s.msisdn = "4915" + std::to_string(10000000 + i);
  s.ueIp = 0xc6130000 + 1 + uint32_t(i);  // 198.19.x.y
  s.peerIp = 0xc6120101;                  // 198.18.1.1
  s.dlTeid = 0x1000 + uint32_t(i);
  s.gate = gate;
  s.created = s.modified = utcNow();
  return s;
}

class StoreFixture {
 public:
  StoreFixture() {
    auto s = store::openStore({"sqlite:" + dir_.path() + "/state.db"});
    EXPECT_TRUE(s.ok()) << s.status().message();
    if (s.ok()) store = std::move(*s);
  }
  // Puts (and deletes) in transactions of up to 500 operations; returns the last revision.
  store::Revision write(const std::vector<store::TxnOp>& ops) {
    store::Revision rev = 0;
    for (size_t i = 0; i < ops.size(); i += 500) {
      store::Txn t;
      t.success.assign(ops.begin() + long(i), ops.begin() + long(std::min(ops.size(), i + 500)));
      Result<store::TxnResult> r = store->txn(t);
      EXPECT_TRUE(r.ok()) << r.status().message();
      if (r.ok()) rev = r->revision;
    }
    return rev;
  }
  store::Revision putGate(const Appliance& a) {
    return write({store::TxnOp::put(applianceKey(a.name), toJson(a)),
                  store::TxnOp::put(gatewayKey(a.gatewayId),
                                    toJson(Gateway{a.gatewayId, a.name, a.ip, a.mac}))});
  }
  store::Revision putSessions(const std::vector<Session>& ss) {
    std::vector<store::TxnOp> ops;
    for (const Session& s : ss) ops.push_back(store::TxnOp::put(sessionKey(s.teid), toJson(s)));
    return write(ops);
  }
  store::Revision delSessions(const std::vector<uint32_t>& teids) {
    std::vector<store::TxnOp> ops;
    for (uint32_t t : teids) ops.push_back(store::TxnOp::del(sessionKey(t)));
    return write(ops);
  }
  // What the store says, read from it directly (not through a cache).
  std::map<uint32_t, Session> sessions() {
    std::map<uint32_t, Session> out;
    Result<store::Range> r = store->list(kSessionsPrefix);
    EXPECT_TRUE(r.ok());
    for (auto& kv : r->kvs) {
      Result<Session> s = sessionFromJson(kv.value);
      EXPECT_TRUE(s.ok()) << s.status().message();
      if (s.ok()) out[s->teid] = *s;
    }
    return out;
  }
  std::map<uint32_t, Gateway> gateways() {
    std::map<uint32_t, Gateway> out;
    Result<store::Range> r = store->list(kGatewaysPrefix);
    EXPECT_TRUE(r.ok());
    for (auto& kv : r->kvs) {
      Result<Gateway> g = gatewayFromJson(kv.value);
      EXPECT_TRUE(g.ok()) << g.status().message();
      if (g.ok()) out[g->id] = *g;
    }
    return out;
  }

  std::unique_ptr<store::Store> store;

 private:
  TempDir dir_;
};

// ---- The steer's table as the device holds it, and as the store wants it ------------------

struct SteerView {
  dataplane::SteerConfig cfg;
  std::map<uint32_t, uint32_t> sessions;  // TEID -> gateway id
  std::array<GatewayEntry, SteerTables::kGateways> gateways{};
  std::vector<uint8_t> maglev;
};

SteerView readSteer(hal::Device& dev) {
  SteerTables t(dev);
  SteerView v;
  std::vector<dataplane::SessionEntry> entries;
  EXPECT_TRUE(t.readConfig(v.cfg));
  EXPECT_TRUE(t.listSessions(entries));
  EXPECT_TRUE(t.readGateways(v.gateways));
  EXPECT_TRUE(t.readMaglev(v.maglev));
  for (auto& e : entries) {
    EXPECT_TRUE(v.sessions.emplace(e.teid, e.gateway).second) << "TEID " << teidStr(e.teid)
                                                              << " twice in the table";
  }
  return v;
}

SteerView wantedSteer(StoreFixture& f, const Appliance& a) {
  SteerView v;
  v.cfg = {a.ip, a.mac, a.punt.rate, a.punt.burst};
  std::map<std::string, uint32_t> idOf;
  std::vector<dataplane::MaglevBackend> backends;
  for (uint32_t i = 0; i < SteerTables::kGateways; ++i) v.gateways[i].id = i;
  for (auto& [id, g] : f.gateways()) {
    v.gateways[id] = {id, true, g.ip, g.mac};
    idOf[g.gate] = id;
    backends.push_back({g.ip, uint8_t(id)});
  }
  v.maglev = dataplane::buildMaglev(backends, regs::steer::kMaglevEntries);
  for (auto& [teid, s] : f.sessions()) v.sessions[teid] = idOf.at(s.gate);
  return v;
}

// "" when the two agree, else what differs (the first few sessions).
std::string diff(const SteerView& have, const SteerView& want) {
  std::string out;
  if (have.cfg.ownIp != want.cfg.ownIp || have.cfg.ownMac != want.cfg.ownMac ||
      have.cfg.puntRate != want.cfg.puntRate || have.cfg.puntBurst != want.cfg.puntBurst) {
    out += "config " + ipv4Str(have.cfg.ownIp) + " " + macStr(have.cfg.ownMac) + " != " +
           ipv4Str(want.cfg.ownIp) + " " + macStr(want.cfg.ownMac) + "; ";
  }
  for (uint32_t i = 0; i < SteerTables::kGateways; ++i) {
    const GatewayEntry &h = have.gateways[i], &w = want.gateways[i];
    if (h.valid != w.valid || (w.valid && (h.ip != w.ip || h.mac != w.mac))) {
      out += "gateway " + std::to_string(i) + " differs; ";
    }
  }
  if (have.maglev != want.maglev) out += "Maglev differs; ";
  int shown = 0;
  for (auto& [teid, gw] : want.sessions) {
    auto it = have.sessions.find(teid);
    if (it == have.sessions.end() || it->second != gw) {
      if (shown++ < 5) {
        out += "TEID " + teidStr(teid) + " wants gateway " + std::to_string(gw) + ", has " +
               (it == have.sessions.end() ? std::string("none") : std::to_string(it->second)) +
               "; ";
      }
    }
  }
  for (auto& [teid, gw] : have.sessions) {
    if (!want.sessions.count(teid) && shown++ < 5) out += "TEID " + teidStr(teid) + " stale; ";
  }
  if (have.sessions.size() != want.sessions.size()) {
    out += std::to_string(have.sessions.size()) + " sessions, want " +
           std::to_string(want.sessions.size()) + "; ";
  }
  return out;
}

bool ok(Agent& a) { return a.status().state == AgentState::kOk; }

// Waits until the agent is ok and has programmed revision `rev` (or later).
::testing::AssertionResult settled(Agent& a, store::Revision rev, std::chrono::milliseconds limit) {
  if (waitUntil([&] { return ok(a) && a.status().applied >= rev; }, limit)) {
    return ::testing::AssertionSuccess();
  }
  AgentStatus s = a.status();
  return ::testing::AssertionFailure()
         << "appliance " << a.appliance().name << " is " << agentStateName(s.state) << " ("
         << s.detail << "), applied " << s.applied << ", wanted revision " << rev;
}

// ---- The steer -------------------------------------------------------------------------

// Two gates and `n` sessions on them (fixed seed: TEIDs distinct and non-zero).
struct SteerStore {
  StoreFixture f;
  Appliance gateA = gateAppliance("gate-a", 1, "sim:/run/gate-a.sock");
  Appliance gateB = gateAppliance("gate-b", 2, "sim:/run/gate-b.sock");
  std::mt19937 rng{2024};
  std::set<uint32_t> used;
  int next = 0;
  store::Revision rev = 0;

  uint32_t freshTeid() {
    for (;;) {
      uint32_t t = rng();
      if (t != 0 && used.insert(t).second) return t;
    }
  }
  std::vector<Session> newSessions(int n) {
    std::vector<Session> out;
    for (int i = 0; i < n; ++i, ++next) {
      out.push_back(session(freshTeid(), next % 2 ? gateB.name : gateA.name, next));
    }
    return out;
  }
  explicit SteerStore(int n) {
    f.putGate(gateA);
    f.putGate(gateB);
    rev = f.putSessions(newSessions(n));
  }
};

constexpr auto kSettle = 120s;  // generous: two cores, other builds running
constexpr uint32_t kBucketMask = (1u << regs::steer::kSessionBucketsLog2) - 1;

TEST(SteerAgent, ProgramsTheStoreThenRepairsOnlyWhatWasTamperedWith) {
  SteerStore st(2000);
  RunningCache cache(*st.f.store);
  SteerKernel k("steer-1");
  Appliance app = steerAppliance("steer-1", k.spec());
  std::unique_ptr<Agent> agent = makeSteerAgent(app, k.opener(), cache.cache);
  auto t0 = Clock::now();
  agent->start();
  ASSERT_TRUE(settled(*agent, st.rev, kSettle));
  double startSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
  AgentStatus s = agent->status();
  EXPECT_EQ(s.lastReconcile.missing, 2000u + 2) << "2000 sessions and 2 gateways";
  EXPECT_EQ(s.lastReconcile.stale, 0u);
  EXPECT_EQ(s.lastReconcile.wrong, 2u)
      << "the configuration and Maglev (all zero on a fresh kernel)";
  EXPECT_EQ(s.programmed, 2000u);

  SteerView want = wantedSteer(st.f, app);
  ASSERT_EQ(want.sessions.size(), 2000u);
  EXPECT_EQ(diff(readSteer(k.handle()), want), "");
  // Maglev as SteerTables builds it from the device's valid gateways: about half each.
  {
    SteerTables t(k.handle());
    std::vector<uint32_t> share;
    ASSERT_TRUE(t.rebuildMaglev(&share));
    EXPECT_EQ(share[1] + share[2], regs::steer::kMaglevEntries);
    EXPECT_LE(std::max(share[1], share[2]) - std::min(share[1], share[2]), 1u);
    std::vector<uint8_t> after;
    ASSERT_TRUE(t.readMaglev(after));
    EXPECT_EQ(after, want.maglev) << "the agent's Maglev is the one SteerTables builds";
  }

  // Tampered with by hand: 3 sessions removed, 4 the store lacks added, 5 re-pinned to the
  // other gateway, the steer's own MAC changed.
  std::vector<uint32_t> teids;
  for (auto& [teid, gw] : want.sessions) teids.push_back(teid);
  std::vector<uint32_t> removed = {teids[10], teids[500], teids[1999]};
  std::vector<uint32_t> repinned = {teids[0], teids[1], teids[700], teids[1201], teids[1500]};
  std::vector<uint32_t> added;
  {
    SteerTables t(k.handle());
    for (uint32_t teid : removed) ASSERT_TRUE(t.removeSession(teid));
    // Each in a bank-0 bucket that also holds a store session, so a bucket the agent has
    // read before: a view of the table kept from then would not see them.
    std::set<uint32_t> busy;
    for (uint32_t teid : teids) busy.insert(teidHash0(teid) & kBucketMask);
    while (added.size() < 4) {
      uint32_t teid = st.freshTeid();
      if (!busy.count(teidHash0(teid) & kBucketMask)) continue;
      added.push_back(teid);
      ASSERT_TRUE(t.insertSession(teid, 1 + uint32_t(added.size() % 2)));
    }
    for (uint32_t teid : repinned) {
      ASSERT_TRUE(t.insertSession(teid, 3 - want.sessions[teid], true));
    }
    dataplane::SteerConfig cfg;
    ASSERT_TRUE(t.readConfig(cfg));
    cfg.ownMac = 0x02aabbccddeeull;
    ASSERT_TRUE(t.writeConfig(cfg));
  }
  SteerView tampered = readSteer(k.handle());
  ASSERT_NE(diff(tampered, want), "");
  EXPECT_EQ(tampered.sessions.size(), 2000u - 3 + 4);

  ReconcileReport r = agent->reconcileNow(60s);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.missing, 3u);
  EXPECT_EQ(r.stale, 4u);
  EXPECT_EQ(r.wrong, 5u + 1) << "5 re-pinned sessions and the configuration";
  EXPECT_EQ(r.entryWrites, 3u + 4 + 5 + 1);
  EXPECT_GT(r.registerWrites, 0u);
  EXPECT_EQ(diff(readSteer(k.handle()), want), "") << "the device matches the store again";

  // Nothing differs now: nothing is written.
  ReconcileReport again = agent->reconcileNow(60s);
  ASSERT_TRUE(again.status.ok()) << again.status.message();
  EXPECT_EQ(again.missing + again.stale + again.wrong, 0u);
  EXPECT_EQ(again.entryWrites, 0u);
  EXPECT_EQ(again.registerWrites, 0u) << "a correct entry was rewritten";
  EXPECT_EQ(diff(readSteer(k.handle()), want), "");
  agent->stop();
  std::printf("steer: first programming of 2000 sessions %.2f s, repair %.2f s, check %.2f s\n",
              startSeconds, r.seconds, again.seconds);
}

TEST(SteerAgent, FollowsTheStoreAndTwoSteersHoldTheSameTable) {
  SteerStore st(2000);
  RunningCache cache(*st.f.store);
  SteerKernel k1("steer-1"), k2("steer-2");
  Appliance app1 = steerAppliance("steer-1", k1.spec());
  std::unique_ptr<Agent> a1 = makeSteerAgent(app1, k1.opener(), cache.cache);
  a1->start();
  ASSERT_TRUE(settled(*a1, st.rev, kSettle));

  // After the start: 100 new sessions, 50 deleted, 10 moved to the other gate.
  auto t0 = Clock::now();
  st.f.putSessions(st.newSessions(100));
  std::map<uint32_t, Session> now = st.f.sessions();
  std::vector<uint32_t> all;
  for (auto& [teid, s] : now) all.push_back(teid);
  std::vector<uint32_t> gone;
  for (size_t i = 0; i < 50; ++i) gone.push_back(all[i * 40 + 3]);
  st.f.delSessions(gone);
  std::vector<Session> moved;
  for (size_t i = 0; i < 10; ++i) {
    Session s = now[all[i * 200 + 7]];
    s.gate = s.gate == st.gateA.name ? st.gateB.name : st.gateA.name;
    s.modified = utcNow();
    moved.push_back(s);
  }
  store::Revision last = st.f.putSessions(moved);
  ASSERT_TRUE(settled(*a1, last, kSettle));
  double followSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
  SteerView want = wantedSteer(st.f, app1);
  ASSERT_EQ(want.sessions.size(), 2000u + 100 - 50);
  SteerView have1 = readSteer(k1.handle());
  EXPECT_EQ(diff(have1, want), "");
  EXPECT_EQ(a1->status().programmed, want.sessions.size());
  EXPECT_EQ(a1->status().applyErrors, 0u);
  // Followed without a reconciliation: the last one is still the first programming.
  EXPECT_EQ(a1->status().lastReconcile.missing, 2000u + 2);

  // A second steer started only now gets the same state in one reconciliation instead of
  // the first programming and three changes: the same table.
  Appliance app2 = app1;
  app2.name = "steer-2";
  app2.device = k2.spec();
  std::unique_ptr<Agent> a2 = makeSteerAgent(app2, k2.opener(), cache.cache);
  a2->start();
  ASSERT_TRUE(settled(*a2, last, kSettle));
  SteerView have2 = readSteer(k2.handle());
  EXPECT_EQ(diff(have2, want), "");
  EXPECT_EQ(have1.sessions, have2.sessions);
  EXPECT_EQ(have1.maglev, have2.maglev);
  for (uint32_t i = 0; i < SteerTables::kGateways; ++i) {
    EXPECT_EQ(have1.gateways[i].valid, have2.gateways[i].valid) << "gateway " << i;
    EXPECT_EQ(have1.gateways[i].ip, have2.gateways[i].ip) << "gateway " << i;
    EXPECT_EQ(have1.gateways[i].mac, have2.gateways[i].mac) << "gateway " << i;
  }
  // And the first one, asked to reconcile, finds nothing to do.
  ReconcileReport r = a1->reconcileNow(60s);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.missing + r.stale + r.wrong, 0u);
  EXPECT_EQ(r.registerWrites, 0u);
  a1->stop();
  a2->stop();
  std::printf("steer: 100 puts, 50 deletes, 10 moves followed in %.2f s\n", followSeconds);
}

// ---- The gate --------------------------------------------------------------------------

TEST(GateAgent, MovesTheTunnelOfAnInstalledUserSessionAndRepairsTampering) {
  StoreFixture f;
  GateKernel k("gate-a");
  Appliance app = gateAppliance("gate-a", 1, k.spec());
  Appliance other = gateAppliance("gate-b", 2, "sim:/run/gate-b.sock");
  f.putGate(app);
  f.putGate(other);
  Session mine = session(0x00c0ffee, app.name, 1);
  Session elsewhere = session(0x00beef01, other.name, 2);
  store::Revision rev = f.putSessions({mine, elsewhere});
  RunningCache cache(*f.store);
  std::unique_ptr<Agent> agent = makeGateAgent(app, k.opener(), cache.cache);
  auto t0 = Clock::now();
  agent->start();
  ASSERT_TRUE(settled(*agent, rev, kSettle));
  double startSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(agent->status().programmed, 1u) << "one session is placed on this gate";

  GateTables t(k.handle());
  dataplane::GateConfig cfg;
  ASSERT_TRUE(t.readConfig(cfg));
  EXPECT_EQ(cfg.accessIp, app.ip);
  EXPECT_EQ(cfg.ownMac, app.mac);
  EXPECT_EQ(cfg.natIps, app.natIps);
  EXPECT_EQ(cfg.svcNextHopMac, app.serviceNextHopMac);
  EXPECT_EQ(cfg.accNextHopMac, app.accessNextHopMac);

  // The user session of its TEID, as the slow path installs it.
  dataplane::UserSession us;
  us.flow = {mine.teid, mine.ueIp, 0xc6120464, 17, 40001, 53};
  us.addrIndex = 0;
  us.port = 3000;
  us.serverIp = 0xc6120510;
  us.serverPort = 8053;
  us.peerIp = mine.peerIp;
  us.dlTeid = mine.dlTeid;
  us.gen = 1;
  ASSERT_TRUE(t.installSession(us));
  uint64_t writesBefore = k.writes();

  // Handover: the session's tunnel moves in the store; the agent moves the user session's.
  Session moved = mine;
  moved.peerIp = 0xc6120102;
  moved.dlTeid = 0xb2b2;
  moved.qfi = 9;
  moved.modified = utcNow();
  auto t1 = Clock::now();
  store::Revision rev2 = f.putSessions({moved});
  auto tunnelIs = [&](const Session& s) {
    dataplane::PortState ps;
    if (!t.readPort(us.addrIndex, us.port, ps)) return false;
    return ps.valid && ps.session.peerIp == s.peerIp && ps.session.dlTeid == s.dlTeid &&
           ps.session.qfi == s.qfi;
  };
  ASSERT_TRUE(waitUntil([&] { return tunnelIs(moved); }, kSettle))
      << "the user session's tunnel did not move";
  double moveSeconds = std::chrono::duration<double>(Clock::now() - t1).count();
  ASSERT_TRUE(settled(*agent, rev2, kSettle));
  EXPECT_GT(k.writes(), writesBefore);
  dataplane::PortState ps;
  ASSERT_TRUE(t.readPort(us.addrIndex, us.port, ps));
  EXPECT_EQ(ps.session.serverIp, us.serverIp) << "only the tunnel changed";
  EXPECT_EQ(ps.session.serverPort, us.serverPort);
  EXPECT_EQ(ps.session.gen, us.gen) << "same generation: counters go on";

  // The tunnel put back by hand: a reconciliation moves it again (one wrong entry).
  ASSERT_TRUE(t.moveTunnel(us.addrIndex, us.port, mine.peerIp, mine.dlTeid, std::nullopt));
  ASSERT_TRUE(tunnelIs(mine));
  ReconcileReport r = agent->reconcileNow(60s);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.missing + r.stale, 0u);
  EXPECT_EQ(r.wrong, 1u);
  EXPECT_EQ(r.entryWrites, 1u);
  EXPECT_GT(r.registerWrites, 0u);
  EXPECT_TRUE(tunnelIs(moved));
  ReconcileReport again = agent->reconcileNow(60s);
  ASSERT_TRUE(again.status.ok()) << again.status.message();
  EXPECT_EQ(again.missing + again.stale + again.wrong, 0u);
  EXPECT_EQ(again.registerWrites, 0u);

  // A NAT address changed by hand: the reconciliation writes the configuration back.
  ASSERT_TRUE(t.readConfig(cfg));
  cfg.natIps[0] = 0xc61203f0;
  cfg.natIps[2] = 0xc61203f2;
  ASSERT_TRUE(t.writeConfig(cfg));
  r = agent->reconcileNow(60s);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.wrong, 1u) << "the configuration";
  EXPECT_GT(r.registerWrites, 0u);
  ASSERT_TRUE(t.readConfig(cfg));
  EXPECT_EQ(cfg.natIps, app.natIps);
  EXPECT_EQ(cfg.accessIp, app.ip);
  again = agent->reconcileNow(60s);
  ASSERT_TRUE(again.status.ok()) << again.status.message();
  EXPECT_EQ(again.missing + again.stale + again.wrong, 0u);
  EXPECT_EQ(again.registerWrites, 0u);
  EXPECT_TRUE(tunnelIs(moved));
  agent->stop();
  std::printf("gate: start %.2f s, tunnel moved %.2f s after the store write, "
              "reconcile %.2f s\n", startSeconds, moveSeconds, again.seconds);
}

// ---- The wrong kernel ------------------------------------------------------------------

TEST(Agent, AGateAgentOnASteerKernelReportsTheWrongKernelAndWritesNothing) {
  StoreFixture f;
  SteerKernel k("steer-x");
  Appliance app = gateAppliance("gate-a", 1, k.spec());
  f.putGate(app);
  store::Revision rev = f.putSessions({session(0x77, app.name, 1)});
  RunningCache cache(*f.store);
  ASSERT_TRUE(cache.cache.waitFor(rev, 10s));
  std::unique_ptr<Agent> agent = makeGateAgent(app, k.opener(), cache.cache);
  agent->start();
  ASSERT_TRUE(waitUntil([&] { return agent->status().state == AgentState::kWrongKernel; }, 30s))
      << agentStateName(agent->status().state) << ": " << agent->status().detail;
  AgentStatus s = agent->status();
  EXPECT_NE(s.detail.find("device " + k.spec()), std::string::npos) << s.detail;
  EXPECT_NE(s.detail.find("not a gate kernel"), std::string::npos) << s.detail;
  // It tries again (the card might be re-flashed) and still writes nothing.
  ASSERT_TRUE(waitUntil([&] { return k.opens() >= 2; }, 30s));
  ReconcileReport r = agent->reconcileNow(200ms);
  EXPECT_FALSE(r.status.ok()) << "a reconciliation without a device reported success";
  EXPECT_EQ(agent->status().state, AgentState::kWrongKernel);
  agent->stop();
  EXPECT_EQ(k.writes(), 0u) << "the agent wrote to a kernel that is not its own";
  EXPECT_EQ(k.memWrites(), 0u);
  EXPECT_GT(k.reads(), 0u) << "it read the kernel's id";
}

}  // namespace
}  // namespace roamgate::control
