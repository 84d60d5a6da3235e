// Differential test: random frames of every kind through the Verilated steer kernel and the
// software model, programmed with the same register writes; the output bytes, ports, punt
// reasons, statistics and per-gateway counters must be identical. Seeded; the seed is printed.
// ROAMGATE_SEED and ROAMGATE_DIFF_FRAMES override the defaults. Also the host's direct sends
// out of both ports (inject codes STEER_OUT and ACCESS_OUT) under traffic and back-pressure.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <random>
#include <string>

#include "inproc_device.h"
#include "pktgen.h"
#include "roamgate/dataplane/host_rings.h"
#include "roamgate/hash.h"
#include "roamgate/regs/steer.h"
#include "steer_dut.h"
#include "steer_model.h"

namespace roamgate {
namespace {

namespace r = regs::steer;
using model::OutPort;

uint64_t envOr(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 0) : dflt;
}

struct Pair {
  sim::SteerDut& dut;
  model::SteerModel& model;
  void write(uint32_t a, uint32_t v) {
    dut.write(a, v);
    model.writeReg(a, v);
  }
};

// Programs gateways, a random Maglev table and explicit sessions into both.
std::vector<uint32_t> program(Pair& p, std::mt19937_64& rng) {
  p.write(r::ctrl::kOwnIpv4, 0xc6120164);  // 198.18.1.100
  p.write(r::ctrl::kOwnMacLo, 0x33445566);
  p.write(r::ctrl::kOwnMacHi, 0x0211);
  p.write(r::ctrl::kPuntRate, 0xff000000);  // no punt limit: the model has no bucket
  p.write(r::ctrl::kPuntBurst, 0xffff);
  for (uint32_t g = 0; g < r::kGateways; ++g) {
    bool valid = rng() % 8 != 0;
    p.write(r::gw::kAddr, g);
    p.write(r::gw::kData0, 0xc6120200 | g);
    p.write(r::gw::kData1, uint32_t(rng()));
    p.write(r::gw::kData2, r::gw::kData2Valid.put(valid) | r::gw::kData2MacHi.put(rng()));
    p.write(r::gw::kCmd, r::gw::kCmdCommit.put(1));
  }
  p.write(r::maglev::kAddr, 0);
  for (uint32_t w = 0; w < model::SteerModel::kMaglevWords; ++w) {
    p.write(r::maglev::kWdataInc, uint32_t(rng()));
  }
  std::vector<uint32_t> pool;
  for (int i = 0; i < 3000; ++i) {
    uint32_t teid = uint32_t(rng()) | 1;
    pool.push_back(teid);
    if (i % 2) continue;  // half the pool hashes through Maglev
    uint32_t bank = rng() & 1;
    uint32_t h = bank ? teidHash1(teid) : teidHash0(teid);
    uint32_t bucket = h & (model::SteerModel::kBuckets - 1);
    uint32_t slot = uint32_t(rng() % model::SteerModel::kSlots);
    p.write(r::sess::kAddr, r::sess::kAddrBank.put(bank) | r::sess::kAddrBucket.put(bucket) |
                                r::sess::kAddrSlot.put(slot));
    p.write(r::sess::kData0, teid);
    p.write(r::sess::kData1, r::sess::kData1Valid.put(1) | r::sess::kData1Gateway.put(rng()));
    p.write(r::sess::kCmd, r::sess::kCmdCommit.put(1));
  }
  return pool;
}

void runDiff(uint64_t seed, uint64_t frames, sim::Pattern gaps, sim::Pattern ready,
             const char* label, sim::Pattern memReady = sim::always()) {
  std::printf("[%s] seed=%llu frames=%llu\n", label, (unsigned long long)seed,
              (unsigned long long)frames);
  sim::SteerDut::Options o;
  o.rxGaps = gaps;
  o.txReady = ready;
  o.memReady = memReady;
  sim::SteerDut dut(o);
  // Punted frames reach the host through the punt ring in device memory, read by the host's
  // own ring driver.
  sim::InprocDevice<sim::SteerDut> dev(dut, "steer");
  dataplane::HostRings rings(dev, regs::steer::host::kBase, regs::steer::kMaxFrameBytes);
  ASSERT_TRUE(rings.setup({12, 4}));
  std::vector<dataplane::PuntedFrame> punt;
  model::SteerModel mdl;
  Pair p{dut, mdl};
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> pool = program(p, rng);

  // Register read-back agrees with the model.
  for (uint32_t a : {r::ctrl::kId, r::ctrl::kVersion, r::ctrl::kRegmap, r::sess::kGeometry,
                     r::maglev::kSize, r::gw::kCount, r::stats::kCount}) {
    ASSERT_EQ(dut.read(a), mdl.readReg(a)) << "register " << a;
  }

  test::FrameGen gen(seed);
  std::vector<model::SteerOutput> expTx, expPunt;
  uint64_t sent = 0;
  while (sent < frames) {
    // Feed in batches so the queue stays small.
    for (int i = 0; i < 256 && sent < frames; ++i, ++sent) {
      std::string kind;
      std::vector<uint8_t> f = gen.next(pool, &kind);
      if (std::getenv("NO_OVERSIZE") == nullptr && gen.rng()() % 20000 == 0) f.resize(9600 + 64 * (gen.rng()() % 4), 0x5a);  // oversize
      bool err = kind == "rx-error";
      model::SteerOutput out = mdl.process(f, err);
      if (out.port == OutPort::kTx) expTx.push_back(std::move(out));
      else if (out.port == OutPort::kPunt) expPunt.push_back(std::move(out));
      dut.rx().push({std::move(f), err ? 1u : 0u, 0});
    }
    dut.harness().runUntil([&] { return dut.rx().queued() < 64; }, 10'000'000);
    ASSERT_TRUE(rings.poll(punt));
  }
  ASSERT_TRUE(dut.drain(10'000'000)) << "seed " << seed;
  ASSERT_TRUE(rings.poll(punt));
  uint32_t ringDrops = 0, injected = 0, injErrors = 0;
  ASSERT_TRUE(rings.counters(ringDrops, injected, injErrors));
  ASSERT_EQ(ringDrops, 0u) << "punt ring overflowed (seed " << seed << ")";

  auto& tx = dut.tx().frames();
  std::printf("[%s] rtl stats:", label);
  for (uint32_t s = 0; s < r::kStatCount; ++s) {
    std::printf(" %s=%u/%llu", std::string(r::kStatNames[s]).c_str(), dut.read(r::stats::kLo + 8 * s),
                (unsigned long long)mdl.stat(r::Stat(s)));
  }
  std::printf("\n");
  ASSERT_EQ(dut.read(r::stats::kLo + 8 * uint32_t(r::Stat::kDropFifoFull)), 0u)
      << "frame buffer overflowed; the pattern is too harsh for a comparison (seed " << seed << ")";
  ASSERT_EQ(tx.size(), expTx.size()) << "seed " << seed;
  ASSERT_EQ(punt.size(), expPunt.size()) << "seed " << seed;
  ASSERT_EQ(dut.accTx().beats(), 0u) << "the access port sent what nobody injected (seed " << seed << ")";
  for (size_t i = 0; i < tx.size(); ++i) {
    ASSERT_EQ(tx[i].bytes, expTx[i].bytes) << "tx frame " << i << " seed " << seed;
  }
  for (size_t i = 0; i < punt.size(); ++i) {
    ASSERT_EQ(punt[i].bytes, expPunt[i].bytes) << "punt frame " << i << " seed " << seed;
    ASSERT_EQ(punt[i].reason, expPunt[i].puntReason) << "punt frame " << i << " seed " << seed;
  }
  for (uint32_t s = 0; s < r::kStatCount; ++s) {
    uint32_t lo = dut.read(r::stats::kLo + 8 * s);
    uint32_t hi = dut.read(r::stats::kHi + 8 * s);
    uint64_t v = (uint64_t(hi) << 32) | lo;
    EXPECT_EQ(v, mdl.stat(r::Stat(s))) << "stat " << r::kStatNames[s] << " seed " << seed;
  }
  for (uint32_t g = 0; g < r::kGateways; ++g) {
    p.write(r::gw::kCntIndex, g);
    for (uint32_t a : {r::gw::kCntPktsLo, r::gw::kCntPktsHi, r::gw::kCntBytesLo,
                       r::gw::kCntBytesHi}) {
      ASSERT_EQ(dut.read(a), mdl.readReg(a)) << "gateway " << g << " seed " << seed;
    }
  }
  std::printf("[%s] tx=%zu punt=%zu cycles=%llu\n", label, tx.size(), punt.size(),
              (unsigned long long)dut.harness().cycle());
}

uint64_t seedBase() { return envOr("ROAMGATE_SEED", 20261126); }
uint64_t frameCount() { return envOr("ROAMGATE_DIFF_FRAMES", 400'000); }

TEST(SteerDiff, FullSpeed) { runDiff(seedBase(), frameCount(), sim::always(), sim::always(), "full"); }

TEST(SteerDiff, IdleGapsAndBackPressure) {
  uint64_t seed = seedBase() + 1;
  auto gaps = [s = std::mt19937_64(seed * 3)](uint64_t) mutable { return s() % 2 == 0; };
  auto ready = [s = std::mt19937_64(seed * 5)](uint64_t) mutable { return s() % 5 != 0; };
  auto mem = [s = std::mt19937_64(seed * 11)](uint64_t) mutable { return s() % 3 != 0; };
  runDiff(seed, frameCount(), gaps, ready, "gaps+backpressure", mem);
}

TEST(SteerDiff, BurstyBackPressure) {
  uint64_t seed = seedBase() + 2;
  // The steering port stalls for runs of up to 60 cycles; input arrives at 40%.
  auto gaps = [s = std::mt19937_64(seed * 7)](uint64_t) mutable { return s() % 5 < 2; };
  auto ready = [](uint64_t c) { return (c / 60) % 3 != 0; };
  runDiff(seed, frameCount() / 2, gaps, ready, "bursty");
}

// Every beat an AXI4-Stream output hands over, with the protocol checked on the way: a beat
// offered (valid without ready) stays exactly as it is until taken, and the idle cycles inside
// each frame (a MAC's transmit side takes a frame's beats back to back) are counted per frame.
class BeatMonitor : public sim::Agent {
 public:
  struct Beat {
    std::vector<uint8_t> bytes;  // the bytes tkeep marks
    uint64_t keep = 0;
    bool last = false;
  };
  explicit BeatMonitor(sim::AxisPins p) : p_(p) {}
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
      Beat b;
      b.keep = *p_.keep;
      b.last = *p_.last;
      sim::getBeat(*p_.data, b.keep, b.bytes);
      in_ = !b.last;
      if (b.last) {
        frameGaps.push_back(gap_);
        gap_ = 0;
      }
      beats.push_back(std::move(b));
    } else if (in_ && !valid) {
      ++gap_;
    }
  }
  std::vector<Beat> beats;
  std::vector<uint64_t> frameGaps;  // per frame, in order
  uint64_t unstable = 0;

 private:
  sim::AxisPins p_;
  bool held_ = false, in_ = false;
  uint64_t keep_ = 0, gap_ = 0;
  uint8_t last_ = 0;
  uint32_t data_[16] = {};
};

// The beats a frame of `f` must leave as: 64 bytes each, the last one's tkeep its length.
std::vector<BeatMonitor::Beat> beatsOf(const std::vector<uint8_t>& f) {
  std::vector<BeatMonitor::Beat> out;
  for (size_t off = 0; off < f.size(); off += 64) {
    size_t n = std::min<size_t>(64, f.size() - off);
    BeatMonitor::Beat b;
    b.bytes.assign(f.begin() + long(off), f.begin() + long(off + n));
    b.keep = n == 64 ? ~0ull : (1ull << n) - 1;
    b.last = off + n == f.size();
    out.push_back(std::move(b));
  }
  return out;
}

// Direct sends out of both ports. Inject slots with code ACCESS_OUT leave the access port
// unchanged, beat by beat as the model says, whole and with no idle cycles inside, under
// random back-pressure on that port; STEER_OUT slots leave the steering port between the
// frames the pipeline forwards under idle gaps and back-pressure, which all arrive as the
// model says, none lost; a slot with a code the kernel lacks is skipped and counted. The two
// kinds share one inject ring, so a stalled access port holds up the steering port's injects
// behind it (never its forwarded frames).
TEST(SteerDiff, InjectsOutOfBothPortsUnderTraffic) {
  uint64_t seed = seedBase() + 3;
  std::printf("[injects] seed=%llu\n", (unsigned long long)seed);
  sim::SteerDut::Options o;
  o.rxGaps = [s = std::mt19937_64(seed * 3)](uint64_t) mutable { return s() % 2 == 0; };
  o.txReady = [s = std::mt19937_64(seed * 5)](uint64_t) mutable { return s() % 5 != 0; };
  o.accTxReady = [s = std::mt19937_64(seed * 7)](uint64_t) mutable { return s() % 3 != 0; };
  o.memReady = [s = std::mt19937_64(seed * 11)](uint64_t) mutable { return s() % 3 != 0; };
  sim::SteerDut dut(o);
  Vsteer& top = dut.harness().top();
  BeatMonitor accMon({&top.m_axis_acc_tx_tdata, &top.m_axis_acc_tx_tkeep, &top.m_axis_acc_tx_tlast,
                      &top.m_axis_acc_tx_tvalid, &top.m_axis_acc_tx_tready});
  BeatMonitor txMon({&top.m_axis_tx_tdata, &top.m_axis_tx_tkeep, &top.m_axis_tx_tlast,
                     &top.m_axis_tx_tvalid, &top.m_axis_tx_tready});
  dut.harness().add(&accMon);
  dut.harness().add(&txMon);
  sim::InprocDevice<sim::SteerDut> dev(dut, "steer");
  dataplane::HostRings rings(dev, r::host::kBase, r::kMaxFrameBytes);
  ASSERT_TRUE(rings.setup({12, 3}));  // 8 inject slots: the host waits for room now and then
  model::SteerModel mdl;
  Pair p{dut, mdl};
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> pool = program(p, rng);

  // The pipeline's traffic and what the model says leaves.
  test::FrameGen gen(seed);
  std::vector<std::vector<uint8_t>> expFwd;
  size_t expPunts = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string kind;
    std::vector<uint8_t> f = gen.next(pool, &kind);
    bool err = kind == "rx-error";
    model::SteerOutput out = mdl.process(f, err);
    if (out.port == OutPort::kTx) expFwd.push_back(std::move(out.bytes));
    if (out.port == OutPort::kPunt) ++expPunts;
    dut.rx().push({std::move(f), err ? 1u : 0u, 0});
  }

  // Injects: EtherType 0x88b5 and a sequence number; one-beat, exact-beat and one-byte-over
  // lengths, maximum frames, random ones; two in three to the access port.
  const size_t kEdges[] = {60, 63, 64, 65, 127, 128, 129, 1514, 1518, r::kMaxFrameBytes};
  std::vector<std::pair<uint8_t, std::vector<uint8_t>>> inj;
  std::vector<std::vector<uint8_t>> expAcc, expSteer;
  for (int i = 0; i < 300; ++i) {
    uint8_t code = uint8_t(i % 3 == 2 ? r::InjectPort::kSteerOut : r::InjectPort::kAccessOut);
    size_t len = i < 30 ? kEdges[i % 10] : (i % 50 == 7 ? r::kMaxFrameBytes : 60 + rng() % 1459);
    std::vector<uint8_t> f(len);
    for (auto& b : f) b = uint8_t(rng());
    f[12] = 0x88;
    f[13] = 0xb5;
    f[14] = uint8_t(i >> 8);
    f[15] = uint8_t(i);
    model::SteerOutput out = mdl.inject(f, code);
    ASSERT_EQ(out.bytes, f) << "a direct send is unchanged";
    ASSERT_EQ(out.port, code == uint8_t(r::InjectPort::kAccessOut) ? OutPort::kAccess : OutPort::kTx);
    (out.port == OutPort::kAccess ? expAcc : expSteer).push_back(std::move(out.bytes));
    inj.emplace_back(code, std::move(f));
    if (i == 100) inj.emplace_back(uint8_t(r::kInjectPortCount), std::vector<uint8_t>(100, 0x11));
  }
  EXPECT_EQ(mdl.inject(std::vector<uint8_t>(100, 0x11), uint8_t(r::kInjectPortCount)).port, OutPort::kDrop);
  std::vector<dataplane::PuntedFrame> punts;
  size_t next = 0;
  while (next < inj.size()) {
    Status st = rings.inject(inj[next].second, inj[next].first);
    if (st) {
      ++next;
    } else {
      ASSERT_EQ(st.code(), StatusCode::kFull) << st.message();
      dut.harness().runUntil([] { return false; }, 300);
      ASSERT_TRUE(rings.poll(punts));
    }
  }
  EXPECT_GT(dut.rx().queued(), 0u) << "the traffic ended before the injects: nothing was merged";
  while (dut.rx().queued() > 0) {
    dut.harness().runUntil([&] { return dut.rx().queued() == 0; }, 20000);
    ASSERT_TRUE(rings.poll(punts));
  }
  ASSERT_TRUE(dut.drain(5'000'000)) << "seed " << seed;
  ASSERT_TRUE(rings.poll(punts));

  // The access port: exactly the ACCESS_OUT injects, in order, beat by beat.
  EXPECT_EQ(accMon.unstable, 0u) << "an access-port beat changed while it waited for tready";
  size_t k = 0;
  for (size_t i = 0; i < expAcc.size(); ++i) {
    for (const BeatMonitor::Beat& want : beatsOf(expAcc[i])) {
      ASSERT_LT(k, accMon.beats.size()) << "access inject " << i << " is missing beats";
      const BeatMonitor::Beat& got = accMon.beats[k++];
      ASSERT_EQ(got.keep, want.keep) << "access inject " << i << " beat " << k;
      ASSERT_EQ(got.last, want.last) << "access inject " << i << " beat " << k;
      ASSERT_EQ(got.bytes, want.bytes) << "access inject " << i << " beat " << k;
    }
  }
  EXPECT_EQ(k, accMon.beats.size()) << "the access port sent more than was injected";
  ASSERT_EQ(accMon.frameGaps.size(), expAcc.size());
  for (size_t i = 0; i < expAcc.size(); ++i) EXPECT_EQ(accMon.frameGaps[i], 0u) << "access inject " << i;
  ASSERT_EQ(dut.accTx().frames().size(), expAcc.size());

  // The steering port: the STEER_OUT injects in order, whole and without gaps, and every
  // forwarded frame as the model says.
  EXPECT_EQ(txMon.unstable, 0u) << "a steering-port beat changed while it waited for tready";
  std::vector<std::vector<uint8_t>> gotSteer, gotFwd;
  const auto& tx = dut.tx().frames();
  ASSERT_EQ(txMon.frameGaps.size(), tx.size());
  for (size_t i = 0; i < tx.size(); ++i) {
    const auto& b = tx[i].bytes;
    bool isInj = b.size() > 13 && b[12] == 0x88 && b[13] == 0xb5;
    (isInj ? gotSteer : gotFwd).push_back(b);
    if (isInj) EXPECT_EQ(txMon.frameGaps[i], 0u) << "steering inject " << gotSteer.size() - 1;
  }
  ASSERT_EQ(gotSteer.size(), expSteer.size());
  for (size_t i = 0; i < expSteer.size(); ++i) ASSERT_EQ(gotSteer[i], expSteer[i]) << "steering inject " << i;
  ASSERT_EQ(dut.read(r::stats::kLo + 8 * uint32_t(r::Stat::kDropFifoFull)), 0u)
      << "frame buffer overflowed; the pattern is too harsh for a comparison (seed " << seed << ")";
  ASSERT_EQ(gotFwd.size(), expFwd.size()) << "forwarded frames lost";
  for (size_t i = 0; i < expFwd.size(); ++i) ASSERT_EQ(gotFwd[i], expFwd[i]) << "forwarded frame " << i;
  EXPECT_EQ(punts.size(), expPunts);

  // Injects are not in the kernel's statistics; the host block counts them and the bad slot.
  for (uint32_t s = 0; s < r::kStatCount; ++s) {
    uint32_t lo = dut.read(r::stats::kLo + 8 * s);  // latches the high word
    uint64_t v = (uint64_t(dut.read(r::stats::kHi + 8 * s)) << 32) | lo;
    EXPECT_EQ(v, mdl.stat(r::Stat(s))) << "stat " << r::kStatNames[s];
  }
  uint32_t ringDrops = 0, injected = 0, injErrors = 0;
  ASSERT_TRUE(rings.counters(ringDrops, injected, injErrors));
  EXPECT_EQ(ringDrops, 0u);
  EXPECT_EQ(injected, uint32_t(expAcc.size() + expSteer.size()));
  EXPECT_EQ(injErrors, 1u);
  std::printf("[injects] access=%zu steering=%zu+%zu forwarded, punts=%zu, cycles=%llu\n", expAcc.size(),
              expSteer.size(), gotFwd.size(), punts.size(), (unsigned long long)dut.harness().cycle());
}

}  // namespace
}  // namespace roamgate
