// Tests of the shared RTL blocks against software references, each driven with idle gaps
// (random valid) and, where the block has a ready side, back-pressure (random pop).
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>

#include "Vtb_blocks.h"
#include "harness.h"
#include "hdr_parse.h"
#include "pktgen.h"
#include "roamgate/hash.h"

namespace roamgate {
namespace {

using Tb = sim::Harness<Vtb_blocks>;
constexpr uint64_t kSeed = 424242;

TEST(Crc32Hash, MatchesTheHostFunctions) {
  Tb h;
  h.reset();
  std::mt19937_64 rng(kSeed);
  auto& t = h.top();
  for (int i = 0; i < 20000; ++i) {
    uint32_t k4 = uint32_t(rng());
    uint8_t k17[17];
    for (auto& b : k17) b = uint8_t(rng());
    t.h4_key_i = k4;
    for (int w = 0; w < 5; ++w) t.h17_key_i[w] = 0;
    for (int j = 0; j < 17; ++j) {  // byte 0 in the most significant bits
      int bit = 8 * (16 - j);
      t.h17_key_i[bit / 32] |= uint32_t(k17[j]) << (bit % 32);
    }
    h.tick();
    ASSERT_EQ(t.h4_hash_o, teidHash0(k4)) << "key " << k4 << " seed " << kSeed;
    ASSERT_EQ(t.h17_hash_o, crc32(k17)) << "17-byte key " << i << " seed " << kSeed;
  }
}

TEST(SyncFifo, OrderAndLevelUnderGapsAndBackPressure) {
  Tb h;
  h.reset();
  std::mt19937 rng(kSeed);
  auto& t = h.top();
  std::deque<uint32_t> ref;
  uint32_t next = 1;
  for (int phase = 0; phase < 4; ++phase) {
    int pushPct = 30 + 20 * phase, popPct = 90 - 20 * phase;  // from draining to filling
    for (int c = 0; c < 20000; ++c) {
      // Level counts every word the FIFO holds.
      ASSERT_EQ(t.f_level_o, ref.size()) << "cycle " << h.cycle();
      bool push = int(rng() % 100) < pushPct && ref.size() < 16;
      bool pop = int(rng() % 100) < popPct && t.f_valid_o;
      if (pop) {
        ASSERT_EQ(t.f_rdata_o, ref.front()) << "cycle " << h.cycle();
        ref.pop_front();
      }
      t.f_push_i = push;
      t.f_wdata_i = next;
      t.f_pop_i = pop;
      if (push) ref.push_back(next++);
      h.tick();
      t.f_push_i = 0;
      t.f_pop_i = 0;
    }
  }
  EXPECT_GT(next, 30000u);
}

TEST(SyncFifo, OneWordPerCycleWhenFull) {
  Tb h;
  h.reset();
  auto& t = h.top();
  for (uint32_t i = 0; i < 16; ++i) {
    t.f_push_i = 1;
    t.f_wdata_i = i;
    h.tick();
  }
  t.f_push_i = 0;
  h.tick();
  h.tick();
  ASSERT_EQ(t.f_level_o, 16);
  // Push and pop together every cycle: the level stays, data comes in order.
  for (uint32_t i = 16; i < 1000; ++i) {
    ASSERT_TRUE(t.f_valid_o);
    ASSERT_EQ(t.f_rdata_o, i - 16);
    t.f_push_i = 1;
    t.f_wdata_i = i;
    t.f_pop_i = 1;
    h.tick();
    ASSERT_EQ(t.f_level_o, 16) << i;
  }
}

TEST(CuckooTable, LookupsSeeEveryCommittedSlot) {
  Tb h;
  h.reset();
  std::mt19937 rng(kSeed);
  auto& t = h.top();
  struct Slot {
    bool valid = false;
    uint32_t key = 0;
    uint8_t val = 0;
  };
  Slot mem[2][16][2];
  std::deque<std::tuple<uint16_t, bool, uint8_t>> expect;  // tag, hit, value
  std::vector<uint32_t> keys;
  for (int i = 0; i < 24; ++i) keys.push_back(uint32_t(rng()));
  uint64_t hits = 0, checked = 0;
  for (int c = 0; c < 50000; ++c) {
    if (t.c_lk_valid_o) {
      ASSERT_FALSE(expect.empty());
      auto [tag, hit, val] = expect.front();
      expect.pop_front();
      ASSERT_EQ(t.c_lk_tag_o, tag);
      ASSERT_EQ(bool(t.c_lk_hit_o), hit) << "cycle " << h.cycle();
      if (hit) ASSERT_EQ(t.c_lk_val_o, val);
      hits += hit;
      ++checked;
    }
    // A lookup this cycle sees the table as it stands before this cycle's host write.
    bool lk = rng() % 4 != 0;  // idle gaps
    uint32_t key = keys[rng() % keys.size()];
    uint8_t i0 = uint8_t(key & 15), i1 = uint8_t((key >> 8) & 15);
    t.c_lk_valid_i = lk;
    t.c_lk_key_i = key;
    t.c_lk_idx0_i = i0;
    t.c_lk_idx1_i = i1;
    t.c_lk_tag_i = uint16_t(c);
    if (lk) {
      bool hit = false;
      uint8_t val = 0;
      for (int w = 0; w < 4 && !hit; ++w) {
        const Slot& s = mem[w / 2][w / 2 ? i1 : i0][w % 2];
        if (s.valid && s.key == key) {
          hit = true;
          val = s.val;
        }
      }
      expect.push_back({uint16_t(c), hit, val});
    }
    bool wr = rng() % 3 == 0;
    t.c_host_en_i = wr;
    t.c_host_we_i = 1;
    if (wr) {
      uint32_t k = keys[rng() % keys.size()];
      bool bank = rng() & 1;
      uint8_t bucket = bank ? uint8_t((k >> 8) & 15) : uint8_t(k & 15);
      uint8_t slot = rng() & 1;
      bool valid = rng() % 4 != 0;
      uint8_t val = uint8_t(rng());
      t.c_host_bank_i = bank;
      t.c_host_bucket_i = bucket;
      t.c_host_slot_i = slot;
      t.c_host_wentry_i = (uint64_t(valid) << 40) | (uint64_t(k) << 8) | val;
      mem[bank][bucket][slot] = {valid, k, val};
    }
    h.tick();
  }
  EXPECT_GT(hits, 1000u);
  EXPECT_GT(checked, 30000u);
}

TEST(CounterRam, BackToBackIncrementsOfOneIndexAreAllCounted) {
  Tb h;
  h.reset();
  std::mt19937 rng(kSeed);
  auto& t = h.top();
  uint64_t pk[16] = {}, by[16] = {};
  for (int c = 0; c < 30000; ++c) {
    bool inc = rng() % 5 != 0;
    // Often the same index as the last cycle: the read-modify-write hazard.
    uint8_t idx = rng() % 3 == 0 ? uint8_t(rng() % 16) : uint8_t(c / 100 % 16);
    uint16_t bytes = uint16_t(60 + rng() % 1500);
    t.k_inc_i = inc;
    t.k_inc_idx_i = idx;
    t.k_inc_bytes_i = bytes;
    if (inc) {
      pk[idx]++;
      by[idx] += bytes;
    }
    h.tick();
  }
  t.k_inc_i = 0;
  for (int i = 0; i < 4; ++i) h.tick();
  for (uint8_t i = 0; i < 16; ++i) {
    t.k_snap_i = 1;
    t.k_snap_idx_i = i;
    h.tick();
    t.k_snap_i = 0;
    EXPECT_EQ(t.k_snap_pkts_o, pk[i]) << "index " << int(i);
    EXPECT_EQ(t.k_snap_bytes_o, by[i]) << "index " << int(i);
  }
}

TEST(TokenBucket, GrantsAtTheConfiguredRateAndBurst) {
  Tb h;
  auto& t = h.top();
  t.t_rate_i = 0x00040000;  // 1/64 token per cycle
  t.t_burst_i = 8;
  h.reset();
  // Idle long enough to fill: exactly the burst is available.
  for (int i = 0; i < 2000; ++i) h.tick();
  int burst = 0;
  while (t.t_ok_o) {
    t.t_take_i = 1;
    h.tick();
    ++burst;
    t.t_take_i = 0;
  }
  EXPECT_EQ(burst, 8);
  // Then one grant per 64 cycles, taken whenever possible.
  int grants = 0;
  for (int i = 0; i < 64000; ++i) {
    t.t_take_i = t.t_ok_o;
    grants += t.t_ok_o;
    h.tick();
  }
  EXPECT_NEAR(grants, 1000, 1);
  t.t_rate_i = 0;  // rate 0 stops punts
  t.t_take_i = 0;
  for (int i = 0; i < 100; ++i) h.tick();
  int after = 0;
  for (int i = 0; i < 1000; ++i) {
    after += t.t_ok_o;
    t.t_take_i = t.t_ok_o;
    h.tick();
  }
  EXPECT_LE(after, 1);
}

// Unpacks rg_pkg::hdr_meta_t (declaration order, most significant bits first).
model::HdrMeta unpackMeta(const VlWide<8>& w) {
  int bit = 227;
  auto take = [&](int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      --bit;
      v = (v << 1) | ((w[bit / 32] >> (bit % 32)) & 1);
    }
    return v;
  };
  model::HdrMeta m;
  m.vlan = take(1); m.isIpv4 = take(1); m.isArp = take(1); m.isIpv6 = take(1);
  m.l3Off = uint8_t(take(7)); m.ihl = uint8_t(take(4)); m.ipTotalLen = uint16_t(take(16));
  m.ttl = uint8_t(take(8)); m.ipProto = uint8_t(take(8)); m.ipFrag = take(1);
  m.ipDst = uint32_t(take(32)); m.ipCsum = uint16_t(take(16)); m.l4Off = uint8_t(take(7));
  m.isUdp = take(1); m.udpDport = uint16_t(take(16)); m.udpLen = uint16_t(take(16));
  m.udpCsum = uint16_t(take(16)); m.isGtpu = take(1); m.gtpType = uint8_t(take(8));
  m.gtpLen = uint16_t(take(16)); m.teid = uint32_t(take(32)); m.innerOff = uint8_t(take(8));
  m.qfiValid = take(1); m.qfi = uint8_t(take(6)); m.extOverflow = take(1);
  m.truncated = take(1); m.malformed = take(1);
  return m;
}

#define EXPECT_FIELD(f) ASSERT_EQ(got.f, want.f) << #f << " frame " << tag << " seed " << kSeed

TEST(HdrParser, MatchesTheModelWithExtensionChains) {
  Tb h;
  h.reset();
  auto& t = h.top();
  test::FrameGen gen(kSeed);
  std::mt19937 rng(kSeed);
  std::map<uint32_t, model::HdrMeta> pending;
  std::vector<uint32_t> pool = {1, 2, 3};
  uint32_t sent = 0, seen = 0, withQfi = 0;
  for (int c = 0; c < 60000; ++c) {
    if (t.p_valid_o) {
      uint32_t tag = t.p_tag_o;
      const model::HdrMeta got = unpackMeta(t.p_meta_o);
      const model::HdrMeta& want = pending.at(tag);
      EXPECT_FIELD(vlan); EXPECT_FIELD(isIpv4); EXPECT_FIELD(isArp); EXPECT_FIELD(isIpv6);
      EXPECT_FIELD(l3Off); EXPECT_FIELD(ihl); EXPECT_FIELD(ipTotalLen); EXPECT_FIELD(ttl);
      EXPECT_FIELD(ipProto); EXPECT_FIELD(ipFrag); EXPECT_FIELD(ipDst); EXPECT_FIELD(ipCsum);
      EXPECT_FIELD(l4Off); EXPECT_FIELD(isUdp); EXPECT_FIELD(isGtpu); EXPECT_FIELD(innerOff);
      EXPECT_FIELD(qfiValid); EXPECT_FIELD(qfi); EXPECT_FIELD(extOverflow);
      EXPECT_FIELD(truncated); EXPECT_FIELD(malformed);
      if (want.isUdp) {
        EXPECT_FIELD(udpDport); EXPECT_FIELD(udpLen); EXPECT_FIELD(udpCsum);
      }
      if (want.isGtpu) {
        EXPECT_FIELD(gtpType); EXPECT_FIELD(gtpLen); EXPECT_FIELD(teid);
      }
      withQfi += got.qfiValid;
      pending.erase(tag);
      ++seen;
    }
    bool v = rng() % 3 != 0;  // idle gaps
    t.p_valid_i = v;
    if (v) {
      std::vector<uint8_t> f = gen.next(pool);
      size_t winLen = std::min<size_t>(f.size(), 128);
      for (int w = 0; w < 32; ++w) t.p_win_i[w] = 0;
      for (size_t i = 0; i < winLen; ++i) t.p_win_i[i / 4] |= uint32_t(f[i]) << (8 * (i % 4));
      t.p_win_len_i = uint8_t(winLen);
      t.p_win_end_i = f.size() <= 128;
      t.p_tag_i = sent;
      pending[sent] = model::parseHeaders({f.data(), winLen}, f.size() <= 128, 4);
      ++sent;
    }
    h.tick();
  }
  EXPECT_GT(seen, 30000u);
  EXPECT_GT(withQfi, 1000u) << "the PDU Session Container was exercised";
}

}  // namespace
}  // namespace roamgate
