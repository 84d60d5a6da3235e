// Differential test: random frames of every kind through the Verilated steer kernel and the
// software model, programmed with the same register writes; the output bytes, ports, punt
// reasons, statistics and per-gateway counters must be identical. Seeded; the seed is printed.
// ROAMGATE_SEED and ROAMGATE_DIFF_FRAMES override the defaults.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace roamgate
