// Tests of the gate's blocks against the software model, under idle gaps and back-pressure:
// axis_realign for every strip offset and every frame length from 64 to 1518 bytes (and the
// inserts of encapsulation), its one-beat-per-cycle throughput on back-to-back strips,
// inner_parse against parseInner, and port_counters' generation restart, back-to-back
// increments and snapshots.
#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "Vtb_gate_blocks.h"
#include "axis.h"
#include "gate_model.h"
#include "harness.h"
#include "hdr_parse.h"
#include "pktgen.h"

namespace roamgate {
namespace {

using Tb = sim::Harness<Vtb_gate_blocks>;
constexpr uint64_t kSeed = 777;

struct Cmd {
  uint32_t skip = 0, hdrLen = 0, dataLen = 0, outLen = 0;
  bool drop = false;
  uint8_t dest = 0;
  std::vector<uint8_t> hdr;
  std::vector<model::RealignPatch> patches;
};

// Presents one command per frame, in order; taken when the realigner starts the frame.
class CmdAgent : public sim::Agent {
 public:
  explicit CmdAgent(Vtb_gate_blocks& t) : t_(t) {}
  void push(Cmd c) { q_.push_back(std::move(c)); }
  void drive(uint64_t) override {
    t_.r_cmd_valid_i = !q_.empty();
    if (q_.empty()) return;
    const Cmd& c = q_.front();
    t_.r_cmd_skip_i = c.skip;
    t_.r_cmd_hdr_len_i = c.hdrLen;
    for (int w = 0; w < 16; ++w) t_.r_cmd_hdr_i[w] = 0;
    for (size_t i = 0; i < c.hdr.size(); ++i) t_.r_cmd_hdr_i[i / 4] |= uint32_t(c.hdr[i]) << (8 * (i % 4));
    t_.r_cmd_data_len_i = c.dataLen;
    t_.r_cmd_out_len_i = c.outLen;
    t_.r_cmd_drop_i = c.drop;
    t_.r_cmd_dest_i = c.dest;
    for (int w = 0; w < 8; ++w) t_.r_cmd_patch_i[w] = 0;
    for (size_t p = 0; p < c.patches.size(); ++p) {
      uint32_t v = uint32_t(c.patches[p].en) << 24 | uint32_t(c.patches[p].pos) << 16 | c.patches[p].val;
      for (int b = 0; b < 25; ++b) {
        size_t bit = 25 * p + size_t(b);
        if (v >> b & 1) t_.r_cmd_patch_i[bit / 32] |= 1u << (bit % 32);
      }
    }
  }
  void sample(uint64_t) override {
    if (t_.r_cmd_valid_i && t_.r_cmd_ready_o) q_.pop_front();
  }
  bool idle() const { return q_.empty(); }

 private:
  Vtb_gate_blocks& t_;
  std::deque<Cmd> q_;
};

struct RealignBench {
  Tb h;
  CmdAgent cmd{h.top()};
  sim::AxisSource src;
  sim::AxisSink sink;
  RealignBench(sim::Pattern gaps, sim::Pattern ready)
      : src({&h.top().r_s_tdata, &h.top().r_s_tkeep, &h.top().r_s_tlast, &h.top().r_s_tvalid,
             &h.top().r_s_tready},
            nullptr, std::move(gaps)),
        sink({&h.top().r_m_tdata, &h.top().r_m_tkeep, &h.top().r_m_tlast, &h.top().r_m_tvalid,
              &h.top().r_m_tready},
             &h.top().r_m_tdest, std::move(ready)) {
    h.add(&cmd);
    h.add(&src);
    h.add(&sink);
    h.reset();
  }
};

// A command for a frame of `len` bytes: strip `skip` bytes and put `hdrLen` in front.
Cmd makeCmd(std::mt19937_64& rng, uint32_t len, uint32_t skip, uint32_t hdrLen) {
  Cmd c;
  c.skip = skip;
  c.hdrLen = hdrLen;
  uint32_t avail = len > skip ? len - skip : 0;
  c.dataLen = avail - std::min<uint32_t>(avail, uint32_t(rng() % 24));  // sometimes trailing bytes
  c.outLen = hdrLen + c.dataLen + (rng() % 4 == 0 ? uint32_t(rng() % 70) : 0);  // sometimes padding
  if (c.outLen == 0) c.outLen = 1;
  c.drop = rng() % 16 == 0;
  c.dest = uint8_t(rng() % 32);
  for (uint32_t i = 0; i < hdrLen; ++i) c.hdr.push_back(uint8_t(rng()));
  int np = int(rng() % 11);
  for (int p = 0; p < np; ++p) {
    c.patches.push_back({rng() % 5 != 0, uint8_t(2 * (rng() % 128)), uint16_t(rng())});
  }
  return c;
}

void runRealign(sim::Pattern gaps, sim::Pattern ready, const char* label) {
  RealignBench b(std::move(gaps), std::move(ready));
  std::mt19937_64 rng(kSeed);
  std::vector<std::vector<uint8_t>> want;
  std::vector<uint8_t> wantDest;
  size_t frames = 0;
  // Every frame length from 64 to 1518 bytes, four times, against every strip offset 0..127
  // in turn and headers of 0 (punt), 14 (decapsulation), 50 and 58 bytes (encapsulation).
  const uint32_t hdrs[] = {0, 14, 50, 58};
  for (uint32_t round = 0; round < 4; ++round) {
    for (uint32_t len = 64; len <= 1518; ++len) {
      uint32_t hdrLen = hdrs[(len + round) % 4];
      uint32_t skip = (hdrLen >= 50) ? (rng() % 2 ? 14 : 18) : ((len * 7 + round * 31) % 128);
      std::vector<uint8_t> f(len);
      for (auto& x : f) x = uint8_t(rng());
      Cmd c = makeCmd(rng, len, skip, hdrLen);
      if (!c.drop) {
        want.push_back(model::realignFrame(c.hdr, f, c.skip, c.dataLen, c.outLen, c.patches));
        wantDest.push_back(c.dest);
      }
      b.cmd.push(std::move(c));
      b.src.push({std::move(f), 0, 0});
      ++frames;
      if (b.src.queued() > 32) b.h.runUntil([&] { return b.src.queued() < 8; }, 1'000'000);
    }
  }
  ASSERT_TRUE(b.h.runUntil([&] { return b.src.idle() && b.cmd.idle() && b.sink.frames().size() == want.size(); },
                           5'000'000))
      << label << ": " << b.sink.frames().size() << " of " << want.size() << " frames";
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(b.sink.frames()[i].bytes, want[i]) << label << " frame " << i << " seed " << kSeed;
    ASSERT_EQ(b.sink.frames()[i].user, wantDest[i]) << label << " frame " << i;
  }
  std::printf("[%s] %zu frames, %zu out, %llu cycles\n", label, frames, want.size(),
              (unsigned long long)b.h.cycle());
}

TEST(AxisRealign, EveryOffsetAndLengthAtFullSpeed) { runRealign(sim::always(), sim::always(), "full"); }

TEST(AxisRealign, EveryOffsetAndLengthUnderGapsAndBackPressure) {
  auto gaps = [s = std::mt19937_64(kSeed * 3)](uint64_t) mutable { return s() % 3 != 0; };
  auto ready = [s = std::mt19937_64(kSeed * 5)](uint64_t) mutable { return s() % 4 != 0; };
  runRealign(gaps, ready, "gaps+backpressure");
}

// Back-to-back decapsulations (strips) take exactly one cycle per input beat: each frame's
// last output beat leaves while the next frame's first beat comes in.
TEST(AxisRealign, StripsRunAtOneBeatPerCycle) {
  RealignBench b(sim::always(), sim::always());
  std::mt19937_64 rng(kSeed + 1);
  uint64_t beats = 0;
  std::vector<uint32_t> lens;
  for (int i = 0; i < 2000; ++i) {
    uint32_t len = 78 + uint32_t(rng() % 1441);
    uint32_t skip = 36 + uint32_t(rng() % 92);
    Cmd c;
    c.skip = skip;
    c.hdrLen = 14;
    c.hdr.assign(14, 0xab);
    c.dataLen = len - skip;
    c.outLen = std::max<uint32_t>(60, 14 + c.dataLen);
    b.cmd.push(c);
    b.src.push({std::vector<uint8_t>(len, uint8_t(i)), 0, 0});
    beats += (len + 63) / 64;
    lens.push_back(len);
  }
  ASSERT_TRUE(b.h.runUntil([&] { return b.src.idle(); }, 1'000'000));
  // The source offers a beat every cycle; a stall of the realigner would delay a frame start.
  const auto& starts = b.src.startCycles();
  ASSERT_EQ(starts.size(), lens.size());
  for (size_t i = 0; i + 1 < starts.size(); ++i) {
    ASSERT_EQ(starts[i + 1] - starts[i], (lens[i] + 63) / 64) << "frame " << i;
  }
  std::printf("%llu beats in %llu cycles\n", (unsigned long long)beats,
              (unsigned long long)(starts.back() + (lens.back() + 63) / 64 - starts.front()));
}

TEST(InnerParse, MatchesTheModel) {
  Tb h;
  h.reset();
  auto& t = h.top();
  std::mt19937_64 rng(kSeed);
  struct In {
    std::vector<uint8_t> win;
    bool end;
    unsigned off;
  };
  std::deque<In> pending;
  for (int i = 0; i < 40000; ++i) {
    test::InnerSpec s;
    int k = int(rng() % 10);
    s.proto = k < 3 ? 6 : (k < 6 ? 17 : (k < 8 ? 1 : uint8_t(rng())));
    s.icmpType = rng() % 4 ? 8 : uint8_t(rng() % 16);
    s.optionsWords = rng() % 4 == 0 ? int(rng() % 11) : 0;
    s.payload = rng() % 60;
    std::vector<uint8_t> p = test::buildIpv4(s, uint32_t(rng()));
    if (rng() % 8 == 0) p[0] = uint8_t(rng());           // version / IHL
    if (rng() % 8 == 0) p[6] = uint8_t(rng() & 0x3f);    // fragments
    if (rng() % 8 == 0) p[3] = uint8_t(rng());           // total length
    unsigned off = unsigned(rng() % 128);
    std::vector<uint8_t> frame(off, 0xcc);
    frame.insert(frame.end(), p.begin(), p.end());
    if (rng() % 4 == 0) frame.resize(size_t(rng() % (frame.size() + 1)));
    bool end = frame.size() <= 128;
    std::vector<uint8_t> win(frame.begin(), frame.begin() + std::min<size_t>(frame.size(), 128));
    bool valid = rng() % 3 != 0;  // idle gaps
    t.i_valid_i = valid;
    for (int w = 0; w < 32; ++w) t.i_win_i[w] = 0;
    for (size_t j = 0; j < win.size(); ++j) t.i_win_i[j / 4] |= uint32_t(win[j]) << (8 * (j % 4));
    t.i_win_len_i = uint8_t(win.size());
    t.i_win_end_i = end;
    t.i_off_i = uint8_t(off);
    t.i_tag_i = uint32_t(i);
    if (valid) pending.push_back({win, end, off});
    h.tick();
    if (t.i_valid_o) {
      ASSERT_FALSE(pending.empty());
      In in = pending.front();
      pending.pop_front();
      model::IpMeta m = model::parseInner(in.win, in.end, in.off);
      // ip_meta_t from the most significant bit down (rg_pkg.sv order).
      auto bits = [&](int msb, int w) {
        uint64_t v = 0;
        for (int b = 0; b < w; ++b) {
          int bit = msb - w + 1 + b;
          v |= uint64_t((t.i_meta_o[bit / 32] >> (bit % 32)) & 1) << b;
        }
        return v;
      };
      int at = 184;
      auto take = [&](int w) {
        uint64_t v = bits(at, w);
        at -= w;
        return v;
      };
      std::string where = "window " + std::to_string(i) + " off " + std::to_string(in.off);
      ASSERT_EQ(take(1), m.ok) << where;
      ASSERT_EQ(take(1), m.trunc) << where;
      ASSERT_EQ(take(1), m.beyond) << where;
      ASSERT_EQ(take(4), m.ihl) << where;
      ASSERT_EQ(take(16), m.totLen) << where;
      ASSERT_EQ(take(8), m.ttl) << where;
      ASSERT_EQ(take(8), m.proto) << where;
      ASSERT_EQ(take(1), m.frag) << where;
      ASSERT_EQ(take(16), m.ipCsum) << where;
      ASSERT_EQ(take(32), m.src) << where;
      ASSERT_EQ(take(32), m.dst) << where;
      ASSERT_EQ(take(1), m.l4Ok) << where;
      ASSERT_EQ(take(16), m.sport) << where;
      ASSERT_EQ(take(16), m.dport) << where;
      ASSERT_EQ(take(16), m.l4Csum) << where;
      ASSERT_EQ(take(8), m.icmpType) << where;
      ASSERT_EQ(take(8), m.tcpFlags) << where;
    }
  }
}

TEST(PortCounters, GenerationsBackToBackIncrementsAndSnapshots) {
  Tb h;
  h.reset();
  auto& t = h.top();
  std::mt19937_64 rng(kSeed);
  struct Rec {
    uint8_t gen = 0;
    uint64_t pkts = 0, bytes = 0;
    uint32_t last = 0;
    uint8_t flags = 0;
  };
  std::vector<Rec> ref(64);
  std::deque<Rec> expectSnap;
  bool snapPending = false;
  uint32_t snapIdx = 0;
  uint64_t snaps = 0;
  for (int c = 0; c < 200000; ++c) {
    int phase = (c / 20000) % 3;  // 0: sparse, 1: every cycle (snapshots wait), 2: one hot index
    bool inc = phase == 1 ? true : rng() % 2 == 0;
    uint32_t idx = phase == 2 ? uint32_t(rng() % 3) : uint32_t(rng() % 64);
    uint8_t gen = uint8_t(rng() % 50 == 0 ? rng() % 4 : idx % 4);
    uint16_t bytes = uint16_t(rng());
    uint8_t flags = rng() % 30 == 0 ? uint8_t(1 + rng() % 3) : 0;
    t.k_inc_i = inc;
    t.k_inc_idx_i = idx;
    t.k_inc_gen_i = gen;
    t.k_inc_bytes_i = bytes;
    t.k_inc_tick_i = uint32_t(c);
    t.k_inc_flags_i = flags;
    if (!snapPending && rng() % 5 == 0) {
      snapPending = true;
      snapIdx = uint32_t(rng() % 64);
    }
    t.k_snap_req_i = snapPending;
    t.k_snap_idx_i = snapIdx;
    h.top().eval();
    bool ack = t.k_snap_ack_o;
    if (ack) {
      expectSnap.push_back(ref[snapIdx]);  // the record as of this cycle, before its increment
      snapPending = false;
    }
    if (inc) {
      Rec& r = ref[idx];
      if (r.gen != gen) r = {gen, 0, 0, 0, 0};
      r.pkts += 1;
      r.bytes += bytes;
      r.last = uint32_t(c);
      r.flags |= flags;
    }
    h.tick();
    if (t.k_snap_valid_o) {
      ASSERT_FALSE(expectSnap.empty());
      Rec e = expectSnap.front();
      expectSnap.pop_front();
      auto word = [&](int lsb, int w) {
        uint64_t v = 0;
        for (int b = 0; b < w; ++b) v |= uint64_t((t.k_snap_rec_o[(lsb + b) / 32] >> ((lsb + b) % 32)) & 1) << b;
        return v;
      };
      // {gen, pkts, bytes, last, flags}
      ASSERT_EQ(word(162, 8), e.gen) << "cycle " << c;
      ASSERT_EQ(word(98, 64), e.pkts) << "cycle " << c;
      ASSERT_EQ(word(34, 64), e.bytes) << "cycle " << c;
      ASSERT_EQ(word(2, 32), e.last) << "cycle " << c;
      ASSERT_EQ(word(0, 2), e.flags) << "cycle " << c;
      ++snaps;
    }
  }
  EXPECT_GT(snaps, 5000u);
}

}  // namespace
}  // namespace roamgate
