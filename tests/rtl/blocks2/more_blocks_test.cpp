// Tests of the kernels' edge blocks against software references, each under idle gaps on its
// inputs and back-pressure on its outputs (several patterns; the seed and pattern are printed
// on failure): axis_hdr_window and frame_ingress (a MAC stream with no tready: gaps only, the
// buffers' reads back-pressured), port_table (host commands, lookups, counting, the export
// scanner), host_port (punt, inject and export rings in AXI4 memory that back-pressures) and
// axil_slave (AW/W skew, B/R back-pressure). Latencies the README states are asserted exactly.
#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <map>
#include <set>
#include <random>
#include <string>

#include "Vtb_more_blocks.h"
#include "axi_mem.h"
#include "axis.h"
#include "harness.h"
#include "pktgen.h"
#include "roamgate/regs/gate.h"
#include "roamgate/regs/host_port.h"

namespace roamgate {
namespace {

using Top = Vtb_more_blocks;
using Tb = sim::Harness<Top>;
constexpr uint64_t kSeed = 90210;

uint64_t mix(uint64_t x) {  // splitmix64: a per-cycle coin that does not depend on call order
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct Pat {
  std::string name;
  sim::Pattern p;
};
// Moves in `pct` percent of cycles, chosen by a hash of (salt, cycle).
Pat coin(int pct, uint64_t salt) {
  return {"coin" + std::to_string(pct),
          [=](uint64_t c) { return int(mix(c * 1000003 + salt + kSeed) % 100) < pct; }};
}
// `on` cycles moving, then `off` cycles still.
Pat bursts(uint64_t on, uint64_t off) {
  return {"bursts" + std::to_string(on) + "/" + std::to_string(off),
          [=](uint64_t c) { return c % (on + off) < on; }};
}
Pat full() { return {"always", sim::always()}; }

template <size_t N>
void putBytes(VlWide<N>& w, const uint8_t* b, size_t n) {
  for (size_t i = 0; i < N; ++i) w[i] = 0;
  for (size_t j = 0; j < n; ++j) w[j / 4] |= uint32_t(b[j]) << (8 * (j % 4));
}
template <size_t N>
std::vector<uint8_t> getBytes(const VlWide<N>& w, size_t n) {
  std::vector<uint8_t> out(n);
  for (size_t j = 0; j < n; ++j) out[j] = uint8_t(w[j / 4] >> (8 * (j % 4)));
  return out;
}

// ---- A MAC receive stream: no tready, idle gaps, garbage past tkeep ----------------------

struct MacFrame {
  std::vector<uint8_t> bytes;
  bool err = false;  // tuser on the last beat
  bool en = true;    // axis_hdr_window's en_i while the frame arrives
};

struct MacPins {
  VlWide<16>* data;
  QData* keep;
  CData* last;
  CData* valid;
  CData* user;  // may be null
  CData* en;    // may be null
};

class MacSource : public sim::Agent {
 public:
  MacSource(MacPins p, sim::Pattern gaps) : p_(p), gaps_(std::move(gaps)), rng_(kSeed) {}
  void push(MacFrame f) { q_.push_back(std::move(f)); }
  bool idle() const { return next_ >= q_.size(); }
  const std::vector<MacFrame>& frames() const { return q_; }
  // Cycles of each frame's beats 0 and 1, and how many beats it had once sent.
  std::vector<uint64_t> beat0, beat1;

  void drive(uint64_t cycle) override {
    *p_.valid = 0;
    if (idle() || !gaps_(cycle)) return;
    const MacFrame& f = q_[next_];
    size_t off = size_t(beat_) * 64, n = std::min<size_t>(64, f.bytes.size() - off);
    uint8_t b[64];
    for (auto& x : b) x = uint8_t(rng_());  // bytes past tkeep are garbage
    std::copy_n(f.bytes.data() + off, n, b);
    putBytes(*p_.data, b, 64);
    *p_.keep = n == 64 ? ~0ull : ((1ull << n) - 1);
    *p_.last = off + n >= f.bytes.size();
    if (p_.user) *p_.user = *p_.last ? f.err : (rng_() & 1);  // read on the last beat only
    if (p_.en) *p_.en = f.en;
    *p_.valid = 1;
  }
  void sample(uint64_t cycle) override {
    if (!*p_.valid) return;
    if (beat_ == 0) beat0.push_back(cycle);
    if (beat_ == 1) beat1.push_back(cycle);
    if (*p_.last) {
      if (beat_ == 0) beat1.push_back(0);
      ++next_;
      beat_ = 0;
    } else {
      ++beat_;
    }
  }

 private:
  MacPins p_;
  sim::Pattern gaps_;
  std::mt19937_64 rng_;
  std::vector<MacFrame> q_;
  size_t next_ = 0;
  uint32_t beat_ = 0;
};

// Frames of every shape the windows care about: one beat, exactly two, longer; GTP-U frames
// from the generator and random bytes.
std::vector<uint8_t> someFrame(std::mt19937_64& rng, test::FrameGen& gen, size_t maxLen) {
  static const std::vector<uint32_t> pool = {1, 2, 3};
  std::vector<uint8_t> f;
  switch (rng() % 5) {
    case 0: f.resize(1 + rng() % 64); break;
    case 1: f.resize(65 + rng() % 64); break;
    case 2: f.resize(129 + rng() % (maxLen - 128)); break;
    default: return gen.next(pool);
  }
  for (auto& x : f) x = uint8_t(rng());
  if (f.size() > maxLen) f.resize(maxLen);
  return f;
}

// The window a frame makes: its first 128 bytes, zero past its end.
struct WantWin {
  std::vector<uint8_t> bytes;
  uint32_t len;
  bool end;
};
WantWin windowOf(const std::vector<uint8_t>& f) {
  WantWin w;
  w.len = uint32_t(std::min<size_t>(f.size(), 128));
  w.bytes.assign(128, 0);
  std::copy_n(f.begin(), w.len, w.bytes.begin());
  w.end = f.size() <= 128;
  return w;
}

// Checks one window output: the next expected frame's window, the cycle its beat 1 arrived
// (or the cycle after a one-beat frame).
struct WindowChecker {
  const MacSource& src;
  std::vector<size_t> order;  // indexes of the frames that must make a window
  size_t seen = 0;
  std::string label;
  void check(uint64_t cycle, bool valid, const VlWide<32>& win, uint32_t len, bool end) {
    if (!valid) return;
    ASSERT_LT(seen, order.size()) << "an extra window at cycle " << cycle << label;
    size_t i = order[seen++];
    const auto& f = src.frames()[i].bytes;
    WantWin w = windowOf(f);
    uint64_t when = f.size() <= 64 ? src.beat0.at(i) + 1 : src.beat1.at(i);
    ASSERT_EQ(cycle, when) << "window latency, frame " << i << " of " << f.size() << " bytes" << label;
    ASSERT_EQ(len, w.len) << "frame " << i << label;
    ASSERT_EQ(end, w.end) << "frame " << i << label;
    ASSERT_EQ(getBytes(win, 128), w.bytes) << "frame " << i << " of " << f.size() << " bytes" << label;
  }
};

// ---- axis_hdr_window ---------------------------------------------------------------------

class WindowMonitor : public sim::Agent {
 public:
  WindowMonitor(Top& t, WindowChecker& c) : t_(t), c_(c) {}
  void drive(uint64_t) override {}
  void sample(uint64_t cycle) override {
    c_.check(cycle, t_.w_win_valid_o, t_.w_win_o, t_.w_win_len_o, t_.w_win_end_o);
  }

 private:
  Top& t_;
  WindowChecker& c_;
};

TEST(AxisHdrWindow, OneWindowPerFrameAtItsSecondBeatUnderIdleGaps) {
  for (const Pat& gaps : {full(), coin(50, 1), coin(90, 2), bursts(3, 1), bursts(1, 1)}) {
    std::string label = " (gaps " + gaps.name + ", seed " + std::to_string(kSeed) + ")";
    Tb h;
    auto& t = h.top();
    MacSource src({&t.w_tdata, &t.w_tkeep, &t.w_tlast, &t.w_tvalid, nullptr, &t.w_en_i}, gaps.p);
    WindowChecker chk{src, {}, 0, label};
    WindowMonitor mon(t, chk);
    h.add(&src);
    h.add(&mon);
    h.reset();
    std::mt19937_64 rng(kSeed);
    test::FrameGen gen(kSeed);
    for (size_t i = 0; i < 3000; ++i) {
      MacFrame f{someFrame(rng, gen, 400), false, rng() % 5 != 0};  // some not admitted
      if (f.en) chk.order.push_back(i);
      src.push(std::move(f));
    }
    ASSERT_TRUE(h.runUntil([&] { return src.idle() || ::testing::Test::HasFatalFailure(); }, 200000));
    for (int i = 0; i < 4; ++i) h.tick();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    EXPECT_EQ(chk.seen, chk.order.size()) << label;
  }
}

// ---- frame_ingress -----------------------------------------------------------------------

constexpr uint32_t kInMaxBytes = 1024, kInMaxBeats = 16, kInDepth = 128;

// The reference: admission from the buffers' levels of the cycle before, the data and end
// buffers' contents in order, and the windows of admitted frames.
class IngressChecker : public sim::Agent {
 public:
  IngressChecker(Top& t, MacSource& src, Pat dataPop, Pat endPop, bool decBusy, std::string label)
      : t_(t), src_(src), dataPop_(std::move(dataPop)), endPop_(std::move(endPop)),
        decBusy_(decBusy), win_{src, {}, 0, label}, label_(std::move(label)) {}
  uint64_t admitted = 0, dropped = 0, dataOut = 0, endsOut = 0;
  bool drained() const { return dataQ_.empty() && endQ_.empty(); }
  const WindowChecker& windows() const { return win_; }

  void drive(uint64_t cycle) override {
    t_.g_data_pop_i = dataPop_.p(cycle);
    t_.g_end_pop_i = endPop_.p(cycle);
    // The decision buffer's level: low, and now and then near full for a while.
    bool busy = decBusy_ && mix(cycle / 400 + 77) % 5 == 0;
    t_.g_dec_level_i = busy ? kInDepth - 6 : uint32_t(mix(cycle) % 40);
  }

  void sample(uint64_t cycle) override {
    win_.check(cycle, t_.g_win_valid_o, t_.g_win_o, t_.g_win_len_o, t_.g_win_end_o);
    bool roomNext = dataLevel_ < kInDepth - kInMaxBeats - 10 && t_.g_dec_level_i < kInDepth - 10 &&
                    endLevel_ < kInDepth - 10;
    if (t_.g_tvalid) {
      bool sof = beat_ == 0;
      ASSERT_EQ(bool(t_.g_sof_o), sof) << "cycle " << cycle << label_;
      ASSERT_EQ(t_.g_beat_bytes_o, __builtin_popcountll(t_.g_tkeep)) << label_;
      if (sof) {
        frameIn_ = room_;
        ASSERT_EQ(bool(t_.g_fifo_full_o), !room_) << "admission at cycle " << cycle << label_;
        (room_ ? admitted : dropped)++;
        if (room_) win_.order.push_back(frame_);
        len_ = 0;
      } else {
        ASSERT_FALSE(t_.g_fifo_full_o) << label_;
      }
      len_ += __builtin_popcountll(t_.g_tkeep);
      if (frameIn_ && (beat_ < kInMaxBeats || t_.g_tlast)) {
        std::array<uint32_t, 19> w{};
        for (int i = 0; i < 16; ++i) w[i] = t_.g_tdata[i];
        w[16] = uint32_t(t_.g_tkeep);
        w[17] = uint32_t(t_.g_tkeep >> 32);
        w[18] = t_.g_tlast;
        dataQ_.push_back(w);
        ++dataLevel_;
      }
      if (frameIn_ && t_.g_tlast) {
        endQ_.push_back({uint32_t(std::min<uint64_t>(len_, 0xffff)), bool(t_.g_tuser),
                         beat_ + 1 > kInMaxBeats});
        ++endLevel_;
      }
      ++beat_;
      if (t_.g_tlast) {
        beat_ = 0;
        ++frame_;
      }
    } else {
      ASSERT_FALSE(t_.g_sof_o || t_.g_fifo_full_o) << label_;
    }
    if (t_.g_data_pop_i && t_.g_data_valid_o) {
      ASSERT_FALSE(dataQ_.empty()) << "data buffer gave a beat nobody stored" << label_;
      for (int i = 0; i < 19; ++i) {
        ASSERT_EQ(t_.g_data_o[i], dataQ_.front()[i]) << "data word " << i << " beat " << dataOut << label_;
      }
      dataQ_.pop_front();
      --dataLevel_;
      ++dataOut;
    }
    if (t_.g_end_pop_i && t_.g_end_valid_o) {
      ASSERT_FALSE(endQ_.empty()) << label_;
      ASSERT_EQ(t_.g_end_len_o, endQ_.front().len) << "end " << endsOut << label_;
      ASSERT_EQ(bool(t_.g_end_err_o), endQ_.front().err) << "end " << endsOut << label_;
      ASSERT_EQ(bool(t_.g_end_oversize_o), endQ_.front().oversize) << "end " << endsOut << label_;
      endQ_.pop_front();
      --endLevel_;
      ++endsOut;
    }
    room_ = roomNext;
  }

 private:
  struct End {
    uint32_t len;
    bool err, oversize;
  };
  Top& t_;
  MacSource& src_;
  Pat dataPop_, endPop_;
  bool decBusy_;
  WindowChecker win_;
  std::string label_;
  bool room_ = true, frameIn_ = false;
  uint32_t beat_ = 0, dataLevel_ = 0, endLevel_ = 0;
  uint64_t len_ = 0;
  size_t frame_ = 0;
  std::deque<std::array<uint32_t, 19>> dataQ_;
  std::deque<End> endQ_;
};

struct IngressCase {
  Pat gaps, dataPop, endPop;
  bool decBusy;
};

TEST(FrameIngress, AdmitsWholeFramesAndKeepsOrderUnderGapsAndSlowReaders) {
  const IngressCase cases[] = {
      {full(), full(), full(), false},                  // line rate, readers keep up
      {coin(70, 3), coin(60, 4), coin(50, 5), true},    // buffers fill: whole frames dropped
      {bursts(7, 2), bursts(20, 40), coin(90, 6), true},
      {coin(95, 7), full(), coin(8, 8), false},         // the end buffer is the one that fills
  };
  for (const IngressCase& c : cases) {
    std::string label = " (gaps " + c.gaps.name + ", data pop " + c.dataPop.name + ", end pop " +
                        c.endPop.name + ", seed " + std::to_string(kSeed) + ")";
    Tb h;
    auto& t = h.top();
    MacSource src({&t.g_tdata, &t.g_tkeep, &t.g_tlast, &t.g_tvalid, &t.g_tuser, nullptr}, c.gaps.p);
    IngressChecker chk(t, src, c.dataPop, c.endPop, c.decBusy, label);
    h.add(&src);
    h.add(&chk);
    h.reset();
    std::mt19937_64 rng(kSeed);
    test::FrameGen gen(kSeed);
    for (int i = 0; i < 1500; ++i) {
      MacFrame f{someFrame(rng, gen, 1300), rng() % 10 == 0, true};  // > 1024: oversize
      if (i == 700) f.bytes.resize(70000, 0x5a);                       // the length saturates
      src.push(std::move(f));
    }
    auto done = [&] { return (src.idle() && chk.drained()) || ::testing::Test::HasFatalFailure(); };
    ASSERT_TRUE(h.runUntil(done, 800000)) << label;
    for (int i = 0; i < 4; ++i) h.tick();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    EXPECT_EQ(chk.windows().seen, chk.admitted) << label;
    EXPECT_EQ(chk.endsOut, chk.admitted) << label;
    if (c.gaps.name == "always" && c.dataPop.name == "always") {
      EXPECT_EQ(chk.dropped, 0u) << "one beat per cycle in and out loses nothing" << label;
    } else {
      EXPECT_GT(chk.dropped, 10u) << "the buffers filled" << label;
      EXPECT_GT(chk.admitted, 100u) << label;
    }
  }
}

// ---- port_table ----------------------------------------------------------------------------

namespace ge = regs::gate;
constexpr uint32_t kPtPortsLog2 = 7, kPtDepth = 2u << kPtPortsLog2;

bool later(uint32_t a, uint32_t b) {
  uint32_t d = a - b;
  return !(d >> 31) && d != 0;
}

// The port table as the README describes it: entries, per-direction counter records with a
// generation, the scanner's state per entry, and the export verdict.
struct PtRef {
  struct Cnt {
    uint8_t gen = 0;
    uint64_t pkts = 0, bytes = 0;
    uint32_t last = 0;
    uint8_t flags = 0;
  };
  struct Scan {
    uint32_t installed = 0, exported = 0;
    bool final = false;
  };
  struct View {
    bool valid, final;
    uint8_t gen, flags;
    uint64_t ulPkts = 0, ulBytes = 0, dlPkts = 0, dlBytes = 0;
    uint32_t last;
    uint32_t reason;
  };
  std::vector<std::array<uint8_t, 32>> ent = std::vector<std::array<uint8_t, 32>>(kPtDepth);
  std::vector<Cnt> ul = std::vector<Cnt>(kPtDepth), dl = std::vector<Cnt>(kPtDepth);
  std::vector<Scan> scan = std::vector<Scan>(kPtDepth);
  uint32_t idle = 0, interim = 0;

  static bool flag(const std::array<uint8_t, 32>& e, ge::PortFlag f) {
    return (ge::port_entry::kFlags.getLe(e.data()) >> uint32_t(f)) & 1;
  }
  static void count(Cnt& c, uint8_t gen, uint16_t bytes, uint32_t tick, uint8_t flags) {
    if (c.gen != gen) c = {gen, 0, 0, 0, 0};
    c.pkts++;
    c.bytes += bytes;
    c.last = tick;
    c.flags |= flags;
  }
  void commit(uint32_t idx, const std::array<uint8_t, 32>& e, uint32_t tick) {
    bool restart = !flag(ent[idx], ge::PortFlag::kValid) ||
                   ge::port_entry::kGen.getLe(ent[idx].data()) != ge::port_entry::kGen.getLe(e.data());
    ent[idx] = e;
    if (restart) scan[idx] = {tick, tick, false};
  }
  View view(uint32_t idx, uint32_t now) const {
    View v{};
    v.valid = flag(ent[idx], ge::PortFlag::kValid);
    v.gen = uint8_t(ge::port_entry::kGen.getLe(ent[idx].data()));
    v.final = scan[idx].final;
    v.last = scan[idx].installed;
    v.flags = 0;
    for (const Cnt* c : {&ul[idx], &dl[idx]}) {
      if (c->gen != v.gen) continue;
      v.flags |= c->flags;
      if (later(c->last, v.last)) v.last = c->last;
    }
    if (ul[idx].gen == v.gen) {
      v.ulPkts = ul[idx].pkts;
      v.ulBytes = ul[idx].bytes;
    }
    if (dl[idx].gen == v.gen) {
      v.dlPkts = dl[idx].pkts;
      v.dlBytes = dl[idx].bytes;
    }
    v.reason = uint32_t(ge::ExportReason::kNone);
    if (v.valid && !v.final) {
      if (v.flags) v.reason = uint32_t(ge::ExportReason::kClosed);
      else if (idle && now - v.last > idle) v.reason = uint32_t(ge::ExportReason::kIdle);
      else if (interim && now - scan[idx].exported > interim) v.reason = uint32_t(ge::ExportReason::kInterim);
    }
    return v;
  }
  std::array<uint8_t, 64> record(uint32_t idx, uint32_t now) const {
    namespace x = ge::export_record;
    View v = view(idx, now);
    std::array<uint8_t, 64> r{};
    x::kReason.putLe(r.data(), v.reason);
    x::kFlags.putLe(r.data(), v.flags);
    x::kPort.putLe(r.data(), idx & ((1u << kPtPortsLog2) - 1));
    x::kAddrIndex.putLe(r.data(), idx >> kPtPortsLog2);
    x::kGen.putLe(r.data(), v.gen);
    x::kLastSeen.putLe(r.data(), v.last);
    x::kNow.putLe(r.data(), now);
    x::kUlPkts.putLe(r.data(), v.ulPkts);
    x::kUlBytes.putLe(r.data(), v.ulBytes);
    x::kDlPkts.putLe(r.data(), v.dlPkts);
    x::kDlBytes.putLe(r.data(), v.dlBytes);
    return r;
  }
};

// Drives port_table cycle by cycle and checks every output against PtRef.
struct PtBench {
  Tb h;
  Top& t = h.top();
  PtRef ref;
  std::mt19937_64 rng{kSeed};
  std::string label;
  uint32_t tick = 1000;
  bool traffic = false, host = false, scanOn = false;
  bool exactLatency = true;  // the controller is idle when a command comes: assert its latency
  bool readsOnly = false;     // host commands are reads (the table does not change)
  uint64_t withdrawn = 0;     // records offered, not taken, and withdrawn for a host command
  Pat incPat = coin(60, 11), hostPat = coin(5, 12), expReady = full();
  // One host command at a time.
  enum { kNone, kCommit, kRead } op = kNone;
  uint32_t opIdx = 0, opHigh = 0;
  std::array<uint8_t, 32> opEntry{};
  uint64_t commits = 0, reads = 0, records = 0, incs = 0, passes = 0;
  std::vector<uint64_t> passCycles;
  std::array<uint8_t, 32> wantUl{}, wantDl{};
  uint32_t ulIdx = 0, dlIdx = 0;

  PtBench() { h.reset(); }

  std::array<uint8_t, 32> randomEntry() {
    std::array<uint8_t, 32> e;
    for (auto& b : e) b = uint8_t(rng());
    uint8_t flags = uint8_t(rng() & 0xe) | (rng() % 4 != 0);  // mostly valid
    ge::port_entry::kFlags.putLe(e.data(), flags);
    ge::port_entry::kGen.putLe(e.data(), rng() % 3);          // often the same generation again
    return e;
  }

  void step() {
    uint64_t cycle = h.cycle();
    t.t_tick_i = tick;
    t.t_scan_on_i = scanOn;
    t.t_idle_ticks_i = ref.idle;
    t.t_interim_ticks_i = ref.interim;
    // Lookups every cycle: they see the table as it stands before this cycle's writes.
    ulIdx = uint32_t(rng() % kPtDepth);
    dlIdx = uint32_t(rng() % kPtDepth);
    t.t_ul_idx_i = ulIdx;
    t.t_dl_idx_i = dlIdx;
    wantUl = ref.ent[ulIdx];
    wantDl = ref.ent[dlIdx];
    // Counting, in idle-gap patterns; the index being read by the host is left alone so its
    // snapshot has one right answer.
    t.t_ul_inc_i = 0;
    t.t_dl_inc_i = 0;
    for (int dir = 0; dir < 2 && traffic; ++dir) {
      if (!incPat.p(cycle + uint64_t(dir) * 31)) continue;
      uint32_t idx = uint32_t(rng() % 16);  // a few busy entries: back-to-back increments
      if (rng() % 4 == 0) idx = uint32_t(rng() % kPtDepth);
      if (op == kRead && idx == opIdx) continue;
      uint8_t gen = rng() % 8 == 0 ? uint8_t(rng() % 3)
                                   : uint8_t(ge::port_entry::kGen.getLe(ref.ent[idx].data()));
      uint16_t bytes = uint16_t(40 + rng() % 1460);
      uint8_t flags = rng() % 200 == 0 ? uint8_t(1 + rng() % 3) : 0;
      if (dir == 0) {
        t.t_ul_inc_i = 1;
        t.t_ul_inc_idx_i = idx;
        t.t_ul_inc_gen_i = gen;
        t.t_ul_inc_bytes_i = bytes;
        t.t_ul_inc_flags_i = flags;
      } else {
        t.t_dl_inc_i = 1;
        t.t_dl_inc_idx_i = idx;
        t.t_dl_inc_gen_i = gen;
        t.t_dl_inc_bytes_i = bytes;
        t.t_dl_inc_flags_i = flags;
      }
      PtRef::count(dir == 0 ? ref.ul[idx] : ref.dl[idx], gen, bytes, tick, flags);
      ++incs;
    }
    // Host commands.
    t.t_commit_i = 0;
    t.t_read_i = 0;
    if (host && op == kNone && hostPat.p(cycle)) {
      opIdx = uint32_t(rng() % 16);
      if (rng() % 3 == 0) opIdx = uint32_t(rng() % kPtDepth);
      t.t_host_idx_i = opIdx;
      opHigh = 0;
      if (!readsOnly && rng() % 2) {
        op = kCommit;
        opEntry = randomEntry();
        putBytes(t.t_host_wdata_i, opEntry.data(), 32);
        t.t_commit_i = 1;
      } else {
        op = kRead;
        t.t_read_i = 1;
      }
    } else if (op == kNone) {
      t.t_host_idx_i = uint32_t(rng() % kPtDepth);  // staged values change freely when idle
    }
    // The scanner's record, taken under back-pressure.
    bool ready = expReady.p(cycle);
    t.t_exp_ready_i = ready;
    if (t.t_exp_valid_o && ready) checkRecord();
    bool offered = t.t_exp_valid_o && !ready;
    uint32_t tickNow = tick;
    h.tick();
    if (::testing::Test::HasFatalFailure()) return;
    if (offered && !t.t_exp_valid_o) ++withdrawn;
    checkLookups();
    if (t.t_scan_pass_o) {
      ++passes;
      passCycles.push_back(h.cycle());
    }
    if (op != kNone) {
      if (t.t_busy_o) {
        ++opHigh;
      } else {
        finishOp(tickNow);
      }
    }
  }

  void checkLookups() {
    const auto& e = wantUl;
    uint64_t want = uint64_t(PtRef::flag(e, ge::PortFlag::kValid)) << 58 |
                    uint64_t(PtRef::flag(e, ge::PortFlag::kAllow)) << 57 |
                    uint64_t(PtRef::flag(e, ge::PortFlag::kExternal)) << 56 |
                    ge::port_entry::kGen.getLe(e.data()) << 48 |
                    ge::port_entry::kServerIpv4.getLe(e.data()) << 16 |
                    ge::port_entry::kServerPort.getLe(e.data());
    ASSERT_EQ(t.t_ul_ent_o, want)
        << "uplink lookup of " << ulIdx << " at cycle " << h.cycle() << label;
    ASSERT_EQ(getBytes(t.t_dl_ent_o, 32), std::vector<uint8_t>(wantDl.begin(), wantDl.end()))
        << "downlink lookup of " << dlIdx << " at cycle " << h.cycle() << label;
  }

  // busy_o fell: the command is done (a commit wrote in the cycle before).
  void finishOp(uint32_t tickOfLastCycle) {
    if (op == kCommit) {
      if (exactLatency) { ASSERT_EQ(opHigh, 3u) << "commit latency" << label; }
      ref.commit(opIdx, opEntry, tickOfLastCycle);
      ++commits;
    } else {
      PtRef::View v = ref.view(opIdx, tick);
      ASSERT_EQ(getBytes(t.t_rd_entry_o, 32), std::vector<uint8_t>(ref.ent[opIdx].begin(), ref.ent[opIdx].end()))
          << "read of " << opIdx << label;
      ASSERT_EQ(t.t_rd_ul_pkts_o, v.ulPkts) << "read of " << opIdx << label;
      ASSERT_EQ(t.t_rd_ul_bytes_o, v.ulBytes) << "read of " << opIdx << label;
      ASSERT_EQ(t.t_rd_dl_pkts_o, v.dlPkts) << "read of " << opIdx << label;
      ASSERT_EQ(t.t_rd_dl_bytes_o, v.dlBytes) << "read of " << opIdx << label;
      ASSERT_EQ(t.t_rd_last_o, v.last) << "read of " << opIdx << label;
      ASSERT_EQ(t.t_rd_flags_o, uint32_t(v.final) << 2 | v.flags) << "read of " << opIdx << label;
      ++reads;
    }
    op = kNone;
  }

  void checkRecord() {
    std::vector<uint8_t> got = getBytes(t.t_exp_data_o, 64);
    uint32_t idx = uint32_t(ge::export_record::kAddrIndex.getLe(got.data())) << kPtPortsLog2 |
                   uint32_t(ge::export_record::kPort.getLe(got.data()));
    ASSERT_LT(idx, kPtDepth) << label;
    ASSERT_EQ(ge::export_record::kNow.getLe(got.data()), tick) << label;
    std::array<uint8_t, 64> want = ref.record(idx, tick);
    ASSERT_NE(ge::export_record::kReason.getLe(want.data()), uint32_t(ge::ExportReason::kNone))
        << "a record for entry " << idx << " that is not due one" << label;
    ASSERT_EQ(got, std::vector<uint8_t>(want.begin(), want.end())) << "record of entry " << idx << label;
    PtRef::View v = ref.view(idx, tick);
    ref.scan[idx] = {ref.scan[idx].installed, tick, v.reason != uint32_t(ge::ExportReason::kInterim)};
    ++records;
  }

  bool anyDue() const {
    for (uint32_t i = 0; i < kPtDepth; ++i)
      if (ref.view(i, tick).reason != uint32_t(ge::ExportReason::kNone)) return true;
    return false;
  }
  void run(uint64_t cycles) {
    for (uint64_t i = 0; i < cycles && !::testing::Test::HasFatalFailure(); ++i) step();
  }
  void settle() {  // the host command in flight completes
    host = false;
    for (int i = 0; i < 200 && op != kNone && !::testing::Test::HasFatalFailure(); ++i) step();
    ASSERT_EQ(op, kNone) << label;
  }
};

TEST(PortTable, CommitsReadsAndLookupsUnderTraffic) {
  for (const Pat& hostPat : {coin(30, 21), coin(5, 22), bursts(2, 9)}) {
    PtBench b;
    b.label = " (host " + hostPat.name + ", seed " + std::to_string(kSeed) + ")";
    b.hostPat = hostPat;
    b.traffic = true;
    b.host = true;
    for (int i = 0; i < 40 && !HasFatalFailure(); ++i) {
      b.run(500);
      b.tick += 3;
    }
    b.settle();
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_GT(b.commits, 300u) << b.label;
    EXPECT_GT(b.reads, 300u) << b.label;
    EXPECT_GT(b.incs, 10000u) << b.label;
  }
}

TEST(PortTable, ScannerExportsEveryDueEntryOnceUnderBackPressure) {
  for (const Pat& ready : {full(), coin(30, 31), bursts(1, 20)}) {
    PtBench b;
    b.label = " (export ready " + ready.name + ", seed " + std::to_string(kSeed) + ")";
    b.expReady = ready;
    b.ref.idle = 50;
    b.ref.interim = 200;
    // An idle pass with nothing due: 7 cycles an entry.
    b.scanOn = true;
    b.exactLatency = false;
    b.run(3 * 7 * kPtDepth);
    ASSERT_GE(b.passCycles.size(), 2u) << b.label;
    EXPECT_EQ(b.passCycles[1] - b.passCycles[0], 7 * kPtDepth) << "a scanner pass" << b.label;
    EXPECT_EQ(b.records, 0u) << b.label;
    for (int round = 0; round < 6 && !HasFatalFailure(); ++round) {
      // Install and count with the scanner off, then scan at a fixed tick with host reads and
      // commits withdrawing waiting records. Entries with recent traffic come due interim
      // records, the others idle ones (every third round all of them).
      b.tick = 1000 + 120 * uint32_t(round);
      b.scanOn = false;
      b.run(300);  // the scanner's last step (and a waiting record) completes
      b.exactLatency = true;
      b.traffic = true;
      b.host = true;
      b.hostPat = coin(10, 32 + uint64_t(round));
      b.run(3000);
      b.settle();
      b.traffic = false;
      b.tick += round % 3 == 2 ? 80 : 30;
      b.scanOn = true;
      b.exactLatency = false;
      // Two pulses: every entry visited at least once, with host reads withdrawing records.
      b.host = true;
      b.readsOnly = true;
      b.hostPat = coin(4, 40 + uint64_t(round));
      uint64_t start = b.passes;
      while (b.passes < start + 2 && !HasFatalFailure()) b.run(20);
      b.settle();
      ASSERT_FALSE(HasFatalFailure());
      EXPECT_FALSE(b.anyDue()) << "an entry due a record was passed over in round " << round << b.label;
      // One more pass with commits as well (new installations restart the scanner state).
      b.readsOnly = false;
      b.host = true;
      b.hostPat = coin(2, 50 + uint64_t(round));
      start = b.passes;
      while (b.passes < start + 1 && !HasFatalFailure()) b.run(20);
      b.settle();
    }
    EXPECT_GT(b.records, 100u) << b.label;
    if (ready.name != "always") {
      EXPECT_GT(b.withdrawn, 5u) << b.label;
    }
  }
}

// ---- host_port -----------------------------------------------------------------------------

namespace hp = regs::host_port;
constexpr uint32_t kHpBase = 0x0500, kHpMaxBytes = 2048;
constexpr uint64_t kPuntRing = 0x10000000, kInjRing = 0x20000000, kExpRing = 0x30000000;
constexpr uint32_t kPuntSlotsLog2 = 3, kInjSlotsLog2 = 2, kExpSlotsLog2 = 2, kSlotBytes = 1u << 14;

struct PuntFrame {
  std::vector<uint8_t> bytes;
  uint8_t code;
  uint32_t teid;
  uint8_t inner;
};

// The punt stream as the kernel drives it: a frame starts only while punt_room_o says it fits;
// tuser ({inner offset, TEID, reason}) is held for the whole frame.
class PuntSource : public sim::Agent {
 public:
  PuntSource(Top& t, sim::Pattern gaps)
      : t_(t), src_({&t.h_punt_tdata, &t.h_punt_tkeep, &t.h_punt_tlast, &t.h_punt_tvalid, &t.h_punt_tready},
                    nullptr, std::move(gaps)) {
    src_.setPacer([this](uint64_t, size_t, bool first) { return !first || t_.h_punt_room_o; });
  }
  void push(PuntFrame f) {
    src_.push({f.bytes});
    q_.push_back(f);
  }
  bool idle() const { return src_.idle(); }
  const std::vector<uint64_t>& starts() const { return src_.startCycles(); }
  uint64_t stalls = 0;  // beats offered and not taken
  void drive(uint64_t cycle) override {
    src_.drive(cycle);
    if (!q_.empty()) {
      const PuntFrame& f = q_.front();
      t_.h_punt_tuser = uint64_t(f.inner) << 40 | uint64_t(f.teid) << 8 | f.code;
    }
  }
  void sample(uint64_t cycle) override {
    if (t_.h_punt_tvalid && !t_.h_punt_tready) ++stalls;
    if (t_.h_punt_tvalid && t_.h_punt_tready && t_.h_punt_tlast) q_.pop_front();
    src_.sample(cycle);
  }

 private:
  Top& t_;
  sim::AxisSource src_;
  std::deque<PuntFrame> q_;
};

// Export records offered one at a time, valid held until ready.
class ExpSource : public sim::Agent {
 public:
  ExpSource(Top& t, sim::Pattern gaps) : t_(t), gaps_(std::move(gaps)) {}
  std::deque<std::array<uint8_t, 64>> q;
  void drive(uint64_t cycle) override {
    if (t_.h_exp_valid_i && !taken_) return;  // held until taken
    taken_ = false;
    t_.h_exp_valid_i = 0;
    if (q.empty() || !gaps_(cycle)) return;
    putBytes(t_.h_exp_data_i, q.front().data(), 64);
    t_.h_exp_valid_i = 1;
  }
  void sample(uint64_t) override {
    if (t_.h_exp_valid_i && t_.h_exp_ready_o) {
      q.pop_front();
      taken_ = true;
    }
  }

 private:
  Top& t_;
  sim::Pattern gaps_;
  bool taken_ = false;
};

// The host: register writes one a cycle, register reads in rotation, the punt and export
// rings consumed and the inject ring filled in device memory, checked as they go.
class HostAgent : public sim::Agent {
 public:
  HostAgent(Top& t, sim::AxiMemory<Top>& mem, std::string label)
      : t_(t), mem_(mem), label_(std::move(label)) {}
  sim::Pattern puntTake = sim::always(), expTake = sim::always(), injPut = sim::always();
  bool puntOn = true, expOn = true;
  std::deque<PuntFrame> wantPunt;
  std::vector<uint64_t> puntStarts;  // cycle each punted frame's first beat was taken
  std::deque<std::array<uint8_t, 64>> wantExp;
  std::deque<std::pair<std::vector<uint8_t>, uint8_t>> injQ;  // slot contents: frame, code
  uint32_t puntCons = 0, expCons = 0, injProd = 0, puntsSeen = 0, expSeen = 0;
  std::map<uint32_t, uint32_t> reg;  // latest value read of each rotated register

  void write(uint32_t off, uint32_t v) { wq_.push_back({kHpBase + off, v}); }
  bool idle() const { return wq_.empty() && injQ.empty(); }

  void drive(uint64_t cycle) override {
    t_.h_timestamp_i = cycle;
    t_.h_reg_wr_i = 0;
    if (!wq_.empty()) {
      t_.h_reg_wr_i = 1;
      t_.h_reg_waddr_i = uint16_t(wq_.front().first);
      t_.h_reg_wdata_i = wq_.front().second;
      wq_.pop_front();
    }
    static const uint32_t rot[] = {hp::host::kPuntProd, hp::host::kInjCons, hp::host::kExpProd,
                                   hp::host::kPuntDrops, hp::host::kInjFrames, hp::host::kInjErrors,
                                   hp::host::kExpFull};
    raddr_ = rot[cycle % 7];
    t_.h_reg_raddr_i = uint16_t(kHpBase + raddr_);
  }

  void sample(uint64_t cycle) override {
    ASSERT_TRUE(t_.h_reg_hit_o) << label_;
    reg[raddr_] = t_.h_reg_rdata_o;
    if (raddr_ == hp::host::kPuntProd && puntOn && puntTake(cycle)) takePunts(cycle);
    if (raddr_ == hp::host::kExpProd && expOn && expTake(cycle)) takeExports();
    if (raddr_ == hp::host::kInjCons && !injQ.empty() && injPut(cycle)) putInjects();
  }

 private:
  void takePunts(uint64_t cycle) {
    uint32_t prod = reg[hp::host::kPuntProd];
    while (puntCons != prod) {
      ASSERT_FALSE(wantPunt.empty()) << "a punt slot nobody sent" << label_;
      uint64_t slot = kPuntRing + uint64_t(puntCons & ((1u << kPuntSlotsLog2) - 1)) * kSlotBytes;
      uint8_t hdr[64];
      mem_.mem().read(slot, hdr, 64);
      const PuntFrame& f = wantPunt.front();
      uint8_t want[64] = {};
      hp::ring_slot::kLength.putLe(want, f.bytes.size());
      hp::ring_slot::kCode.putLe(want, f.code);
      hp::ring_slot::kTeid.putLe(want, f.teid);
      hp::ring_slot::kInnerOffset.putLe(want, f.inner);
      uint64_t ts = hp::ring_slot::kTimestamp.getLe(hdr);
      hp::ring_slot::kTimestamp.putLe(want, ts);
      ASSERT_EQ(std::vector<uint8_t>(hdr, hdr + 64), std::vector<uint8_t>(want, want + 64))
          << "punt slot header of frame " << puntsSeen << label_;
      ASSERT_GE(ts, puntStarts.at(puntsSeen)) << label_;
      ASSERT_LT(ts, cycle) << label_;
      std::vector<uint8_t> data(f.bytes.size());
      mem_.mem().read(slot + 64, data.data(), data.size());
      ASSERT_EQ(data, f.bytes) << "punt frame " << puntsSeen << label_;
      wantPunt.pop_front();
      ++puntCons;
      ++puntsSeen;
    }
    write(hp::host::kPuntCons, puntCons);
  }
  void takeExports() {
    uint32_t prod = reg[hp::host::kExpProd];
    if (expCons == prod) return;
    while (expCons != prod) {
      ASSERT_FALSE(wantExp.empty()) << "an export record nobody offered" << label_;
      uint8_t rec[64];
      mem_.mem().read(kExpRing + 64 * uint64_t(expCons & ((1u << kExpSlotsLog2) - 1)), rec, 64);
      ASSERT_EQ(std::vector<uint8_t>(rec, rec + 64),
                std::vector<uint8_t>(wantExp.front().begin(), wantExp.front().end()))
          << "export record " << expSeen << label_;
      wantExp.pop_front();
      ++expCons;
      ++expSeen;
    }
    write(hp::host::kExpCons, expCons);
  }
  void putInjects() {
    uint32_t cons = reg[hp::host::kInjCons];
    bool wrote = false;
    while (!injQ.empty() && injProd - cons < (1u << kInjSlotsLog2)) {
      auto& [frame, code] = injQ.front();
      uint64_t slot = kInjRing + uint64_t(injProd & ((1u << kInjSlotsLog2) - 1)) * kSlotBytes;
      uint8_t hdr[64] = {};
      hp::ring_slot::kLength.putLe(hdr, frame.size());
      hp::ring_slot::kCode.putLe(hdr, code);
      mem_.mem().write(slot, hdr, 64);
      if (!frame.empty()) mem_.mem().write(slot + 64, frame.data(), std::min<size_t>(frame.size(), 4096));
      injQ.pop_front();
      ++injProd;
      wrote = true;
    }
    if (wrote) write(hp::host::kInjProd, injProd);
  }

  Top& t_;
  sim::AxiMemory<Top>& mem_;
  std::string label_;
  std::deque<std::pair<uint32_t, uint32_t>> wq_;
  uint32_t raddr_ = 0;
};

struct HpBench {
  Tb h;
  Top& t = h.top();
  PuntSource punt;
  sim::AxisSink inj;
  sim::AxiMemory<Top> mem;
  ExpSource exp;
  HostAgent host;
  HpBench(const Pat& gaps, const Pat& memReady, const Pat& injReady, std::string label)
      : punt(t, gaps.p),
        inj({&t.h_inj_tdata, &t.h_inj_tkeep, &t.h_inj_tlast, &t.h_inj_tvalid, &t.h_inj_tready},
            &t.h_inj_tuser, injReady.p),
        mem(t, memReady.p, 8),
        exp(t, gaps.p),
        host(t, mem, std::move(label)) {
    h.add(&punt);
    h.add(&inj);
    h.add(&mem);
    h.add(&exp);
    h.add(&host);
    h.reset();
    namespace r = hp::host;
    host.write(r::kSlotLog2, 14);
    host.write(r::kPuntBaseLo, uint32_t(kPuntRing));
    host.write(r::kPuntBaseHi, uint32_t(kPuntRing >> 32));
    host.write(r::kPuntSlotsLog2, kPuntSlotsLog2);
    host.write(r::kInjBaseLo, uint32_t(kInjRing));
    host.write(r::kInjSlotsLog2, kInjSlotsLog2);
    host.write(r::kExpBaseLo, uint32_t(kExpRing));
    host.write(r::kExpSlotsLog2, kExpSlotsLog2);
    host.write(r::kCtrl, r::kCtrlPuntOn.put(1) | r::kCtrlInjectOn.put(1) | r::kCtrlExportOn.put(1));
    for (int i = 0; i < 12; ++i) h.tick();
  }
  void punt1(PuntFrame f) {
    host.wantPunt.push_back(f);
    punt.push(std::move(f));
  }
  void exp1(const std::array<uint8_t, 64>& r) {
    host.wantExp.push_back(r);
    exp.q.push_back(r);
  }
  uint32_t reg(uint32_t off) { return host.reg[off]; }
};

TEST(HostPort, PuntInjectAndExportRingsUnderMemoryBackPressure) {
  struct Case {
    Pat gaps, mem, injReady;
  };
  const Case cases[] = {
      {full(), full(), full()},
      {coin(60, 51), coin(50, 52), coin(70, 53)},
      {bursts(5, 3), bursts(2, 6), bursts(9, 30)},
      {full(), coin(15, 54), coin(30, 55)},
  };
  for (const Case& c : cases) {
    std::string label = " (gaps " + c.gaps.name + ", memory " + c.mem.name + ", inject ready " +
                        c.injReady.name + ", seed " + std::to_string(kSeed) + ")";
    HpBench b(c.gaps, c.mem, c.injReady, label);
    b.host.puntTake = coin(40, 56).p;  // the host drains the rings late, never so late they fill
    std::mt19937_64 rng(kSeed);
    std::vector<std::pair<std::vector<uint8_t>, uint8_t>> wantInj;
    uint32_t badSlots = 0;
    for (int i = 0; i < 120; ++i) {
      size_t len = rng() % 4 == 0 ? 1 + rng() % kHpMaxBytes : 60 + rng() % 200;
      std::vector<uint8_t> f(len);
      for (auto& x : f) x = uint8_t(rng());
      b.punt1({f, uint8_t(rng()), uint32_t(rng()), uint8_t(rng())});
      std::array<uint8_t, 64> r;
      for (auto& x : r) x = uint8_t(rng());
      if (i % 2) b.exp1(r);
      // Inject slots, a few of them bad: length 0, too long, a port code this kernel lacks.
      uint8_t code = uint8_t(rng() % 2);
      switch (rng() % 12) {
        case 0: f.clear(); ++badSlots; break;
        case 1: f.resize(kHpMaxBytes + 1 + rng() % 100); ++badSlots; break;
        case 2: code = uint8_t(2 + rng() % 254); ++badSlots; break;
        default: wantInj.push_back({f, code}); break;
      }
      b.host.injQ.push_back({f, code});
    }
    auto done = [&] {
      return (b.host.wantPunt.empty() && b.host.wantExp.empty() && b.host.idle() &&
              b.inj.frames().size() == wantInj.size() &&
              b.reg(hp::host::kInjErrors) == badSlots) || HasFatalFailure();
    };
    // The punt start cycles are known once taken; the host checks timestamps against them.
    bool ok = b.h.runUntil([&] {
      b.host.puntStarts = b.punt.starts();
      return done();
    }, 400000);
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(ok) << "punts left " << b.host.wantPunt.size() << ", exports left "
                    << b.host.wantExp.size() << ", injected " << b.inj.frames().size() << label;
    for (int i = 0; i < 20; ++i) b.h.tick();
    EXPECT_EQ(b.punt.stalls, 0u) << "the punt side back-pressured a started frame" << label;
    EXPECT_EQ(b.reg(hp::host::kPuntDrops), 0u) << label;
    EXPECT_EQ(b.reg(hp::host::kInjFrames), wantInj.size()) << label;
    EXPECT_EQ(b.reg(hp::host::kInjCons), 120u) << label;
    EXPECT_EQ(b.reg(hp::host::kExpFull), 0u) << label;
    for (size_t i = 0; i < wantInj.size(); ++i) {
      ASSERT_EQ(b.inj.frames()[i].bytes, wantInj[i].first) << "injected frame " << i << label;
      ASSERT_EQ(b.inj.frames()[i].user, wantInj[i].second) << "injected frame " << i << label;
    }
  }
}

TEST(HostPort, FullRingsDropPuntsWholeAndHoldExportRecords) {
  HpBench b(coin(70, 61), coin(50, 62), full(), " (seed " + std::to_string(kSeed) + ")");
  b.host.puntOn = false;
  b.host.expOn = false;
  std::mt19937_64 rng(kSeed);
  std::vector<PuntFrame> sent;
  for (int i = 0; i < 20; ++i) {
    std::vector<uint8_t> f(60 + rng() % 300);
    for (auto& x : f) x = uint8_t(rng());
    sent.push_back({f, uint8_t(i), uint32_t(i), 0});
    b.punt.push(sent.back());
  }
  std::vector<std::array<uint8_t, 64>> recs(6);
  for (auto& r : recs) {
    for (auto& x : r) x = uint8_t(rng());
    b.exp.q.push_back(r);
  }
  b.h.runUntil([&] { return b.punt.idle() && b.exp.q.size() == 2 && b.t.h_exp_valid_i; }, 100000);
  for (int i = 0; i < 200; ++i) b.h.tick();
  // Eight slots filled with the first eight frames, the other twelve dropped and counted; four
  // records written, the fifth waits, counted once.
  EXPECT_EQ(b.reg(hp::host::kPuntProd), 8u);
  EXPECT_EQ(b.reg(hp::host::kPuntDrops), 12u);
  EXPECT_EQ(b.reg(hp::host::kExpProd), 4u);
  EXPECT_EQ(b.reg(hp::host::kExpFull), 1u);
  EXPECT_EQ(b.exp.q.size(), 2u);
  for (int i = 0; i < 8; ++i) b.host.wantPunt.push_back(sent[size_t(i)]);
  b.host.puntStarts = b.punt.starts();
  for (auto& r : recs) b.host.wantExp.push_back(r);
  b.host.puntOn = true;
  b.host.expOn = true;
  ASSERT_TRUE(b.h.runUntil([&] { return (b.host.wantPunt.empty() && b.host.wantExp.empty()) || HasFatalFailure(); }, 20000));
  ASSERT_FALSE(HasFatalFailure());
  for (int i = 0; i < 20; ++i) b.h.tick();
  EXPECT_EQ(b.reg(hp::host::kExpFull), 1u) << "the records after the first wait found room";
}

// ---- axil_slave ----------------------------------------------------------------------------

// An AXI4-Lite master with AW and W presented apart (either first, by up to three cycles),
// reads issued alongside writes, B and R back-pressured. It keeps its own copy of the
// registers, updated at each write's handshake, and expects each read to return the copy at
// its address handshake; the register bus behind the slave is a plain register file.
class SkewMaster : public sim::Agent {
 public:
  SkewMaster(Top& t, sim::Pattern bReady, sim::Pattern rReady, std::string label)
      : t_(t), bReady_(std::move(bReady)), rReady_(std::move(rReady)), label_(std::move(label)) {}
  struct Op {
    uint16_t addr;
    uint32_t data;
  };
  std::deque<Op> writes, reads;
  uint64_t writesDone = 0, readsDone = 0, lastArCycle = 0, lastAwCycle = 0;
  std::vector<uint64_t> arCycles, awCycles;
  bool skew = true;
  bool idle() const { return writes.empty() && reads.empty() && !wCur_ && !rCur_ && !bWait_ && !rWait_; }

  void drive(uint64_t cycle) override {
    t_.s_axil_bready = bReady_(cycle);
    t_.s_axil_rready = rReady_(cycle);
    if (!wCur_ && !writes.empty()) {
      w_ = writes.front();
      writes.pop_front();
      wCur_ = true;
      awDone_ = wDone_ = false;
      awWait_ = skew ? int(rng_() % 4) : 0;
      wWait_ = skew ? int(rng_() % 4) : 0;
    }
    if (wCur_) {
      t_.s_axil_awaddr = w_.addr;
      t_.s_axil_wdata = w_.data;
      t_.s_axil_wstrb = uint8_t(rng_());
      t_.s_axil_awvalid = !awDone_ && awWait_ == 0;
      t_.s_axil_wvalid = !wDone_ && wWait_ == 0;
      if (awWait_) --awWait_;
      if (wWait_) --wWait_;
    } else {
      t_.s_axil_awvalid = 0;
      t_.s_axil_wvalid = 0;
    }
    if (!rCur_ && !reads.empty()) {
      r_ = reads.front();
      reads.pop_front();
      rCur_ = true;
      arWait_ = skew ? int(rng_() % 3) : 0;
    }
    t_.s_axil_araddr = rCur_ ? r_.addr : uint16_t(rng_());
    t_.s_axil_arvalid = rCur_ && arWait_ == 0;
    if (rCur_ && arWait_) --arWait_;
  }

  void sample(uint64_t cycle) override {
    // The slave takes AW and W together.
    ASSERT_EQ(bool(t_.s_axil_awready), bool(t_.s_axil_wready)) << "cycle " << cycle << label_;
    if (t_.s_axil_awvalid && t_.s_axil_awready) {
      ASSERT_TRUE(t_.s_axil_wvalid) << label_;
      awDone_ = wDone_ = true;
    }
    bool wrote = wCur_ && awDone_ && wDone_;
    if (t_.s_axil_bvalid) {
      ASSERT_TRUE(bWait_) << "a write response with no write, cycle " << cycle << label_;
      if (!bSeen_) { ASSERT_EQ(cycle, bFrom_ + 1) << "write response latency" << label_; }
      bSeen_ = true;
      ASSERT_EQ(t_.s_axil_bresp, 0) << label_;
      if (t_.s_axil_bready) {
        bWait_ = false;
        ++writesDone;
      }
    }
    if (t_.s_axil_rvalid) {
      ASSERT_TRUE(rWait_) << "read data with no read, cycle " << cycle << label_;
      if (!rSeen_) { ASSERT_EQ(cycle, rFrom_ + 2) << "read latency" << label_; }
      rSeen_ = true;
      ASSERT_EQ(t_.s_axil_rdata, rWant_) << "read " << readsDone << " of " << std::hex << r_.addr << label_;
      ASSERT_EQ(t_.s_axil_rresp, 0) << label_;
      if (t_.s_axil_rready) {
        rWait_ = false;
        ++readsDone;
      }
    }
    if (t_.s_axil_arvalid && t_.s_axil_arready) {
      ASSERT_FALSE(rWait_) << label_;
      rWant_ = regs_[r_.addr];  // the copy before this cycle's write
      rWait_ = true;
      rSeen_ = false;
      rFrom_ = cycle;
      rCur_ = false;
      arCycles.push_back(cycle);
    }
    if (wrote) {
      ASSERT_FALSE(bWait_) << label_;
      regs_[w_.addr] = w_.data;
      bWait_ = true;
      bSeen_ = false;
      bFrom_ = cycle;
      wCur_ = false;
      awCycles.push_back(cycle);
    }
  }

 private:
  Top& t_;
  sim::Pattern bReady_, rReady_;
  std::string label_;
  std::mt19937_64 rng_{kSeed};
  std::map<uint16_t, uint32_t> regs_;
  Op w_{}, r_{};
  bool wCur_ = false, rCur_ = false, awDone_ = false, wDone_ = false;
  bool bWait_ = false, bSeen_ = false, rWait_ = false, rSeen_ = false;
  int awWait_ = 0, wWait_ = 0, arWait_ = 0;
  uint64_t bFrom_ = 0, rFrom_ = 0;
  uint32_t rWant_ = 0;
};

// The register file behind the slave: writes land at wr_o, reads return the word at rd_o's
// address on rd_data_i in the next cycle (garbage otherwise); both in the order the bus saw.
class RegFile : public sim::Agent {
 public:
  explicit RegFile(Top& t) : t_(t) {}
  uint64_t wrs = 0, rds = 0, wrHeld = 0, rdHeld = 0;
  // Holds, from the address offered: high in the cycles the pattern says and the address is
  // one of `heldAddrs` (none by default).
  sim::Pattern wrHold = [](uint64_t) { return false; }, rdHold = [](uint64_t) { return false; };
  std::set<uint16_t> heldAddrs;
  void drive(uint64_t cycle) override {
    t_.a_rd_data_i = pending_ ? value_ : uint32_t(rng_());
    t_.a_wr_hold_i = wrHold(cycle) && heldAddrs.count(uint16_t(t_.s_axil_awaddr));
    t_.a_rd_hold_i = rdHold(cycle) && heldAddrs.count(uint16_t(t_.s_axil_araddr));
  }
  void sample(uint64_t cycle) override {
    if (t_.a_wr_hold_i) {
      ASSERT_FALSE(t_.s_axil_awready || t_.s_axil_wready || t_.a_wr_o) << "a held write was taken, cycle " << cycle;
      if (t_.s_axil_awvalid && t_.s_axil_wvalid) ++wrHeld;
    }
    if (t_.a_rd_hold_i) {
      ASSERT_FALSE(t_.s_axil_arready || t_.a_rd_o) << "a held read was taken, cycle " << cycle;
      if (t_.s_axil_arvalid) ++rdHeld;
    }
    pending_ = t_.a_rd_o;
    if (t_.a_rd_o) {
      value_ = regs_[t_.a_rd_addr_o];
      ++rds;
    }
    if (t_.a_wr_o) {
      regs_[t_.a_wr_addr_o] = t_.a_wr_data_o;
      ++wrs;
    }
  }

 private:
  Top& t_;
  std::mt19937_64 rng_{kSeed + 1};
  std::map<uint16_t, uint32_t> regs_;
  bool pending_ = false;
  uint32_t value_ = 0;
};

TEST(AxilSlave, EveryTransactionInOrderWithSkewAndBackPressure) {
  const std::pair<Pat, Pat> cases[] = {
      {full(), full()}, {coin(50, 71), coin(30, 72)}, {bursts(1, 7), bursts(3, 2)}, {coin(10, 73), full()}};
  for (const auto& [bp, rp] : cases) {
    std::string label = " (bready " + bp.name + ", rready " + rp.name + ", seed " + std::to_string(kSeed) + ")";
    Tb h;
    auto& t = h.top();
    SkewMaster m(t, bp.p, rp.p, label);
    RegFile rf(t);
    h.add(&m);
    h.add(&rf);
    h.reset();
    std::mt19937_64 rng(kSeed);
    const uint16_t addrs[] = {0x0000, 0x0004, 0x0008, 0x0500, 0x0504, 0x1234 & 0xfffc, 0xfff8, 0xfffc};
    for (int i = 0; i < 4000; ++i) {
      m.writes.push_back({addrs[rng() % 8], uint32_t(rng())});
      m.reads.push_back({addrs[rng() % 8], 0});
    }
    ASSERT_TRUE(h.runUntil([&] { return m.idle() || HasFatalFailure(); }, 200000)) << label;
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(m.writesDone, 4000u) << label;
    EXPECT_EQ(m.readsDone, 4000u) << label;
    EXPECT_EQ(rf.wrs, 4000u) << label;
    EXPECT_EQ(rf.rds, 4000u) << label;
  }
}

TEST(AxilSlave, BackToBackReadsEveryThreeCyclesWritesEveryTwo) {
  Tb h;
  auto& t = h.top();
  SkewMaster m(t, sim::always(), sim::always(), "");
  m.skew = false;
  RegFile rf(t);
  h.add(&m);
  h.add(&rf);
  h.reset();
  for (uint16_t i = 0; i < 100; ++i) m.reads.push_back({uint16_t(4 * i), 0});
  ASSERT_TRUE(h.runUntil([&] { return m.idle(); }, 10000));
  for (size_t i = 1; i < m.arCycles.size(); ++i) ASSERT_EQ(m.arCycles[i] - m.arCycles[i - 1], 3u) << i;
  for (uint16_t i = 0; i < 100; ++i) m.writes.push_back({uint16_t(4 * i), i});
  ASSERT_TRUE(h.runUntil([&] { return m.idle(); }, 10000));
  for (size_t i = 1; i < m.awCycles.size(); ++i) ASSERT_EQ(m.awCycles[i] - m.awCycles[i - 1], 2u) << i;
  EXPECT_EQ(m.awCycles.size(), 100u);
}

// Holds from the register file (the gate's port table busy): a held write or read waits with
// its valid up and is taken, in order and intact, once the hold drops; accesses to other
// addresses are never held, whatever the skew and back-pressure.
TEST(AxilSlave, HeldAccessesWaitAndLandInOrder) {
  const std::pair<Pat, Pat> holds[] = {{coin(70, 81), coin(60, 82)}, {bursts(2, 9), bursts(11, 3)}};
  for (const auto& [wh, rh] : holds) {
    std::string label = " (write hold " + wh.name + ", read hold " + rh.name + ", seed " + std::to_string(kSeed) + ")";
    Tb h;
    auto& t = h.top();
    SkewMaster m(t, coin(50, 83).p, coin(50, 84).p, label);
    RegFile rf(t);
    rf.wrHold = wh.p;
    rf.rdHold = rh.p;
    rf.heldAddrs = {0x0410, 0x0414, 0x0420, 0x0440};
    h.add(&m);
    h.add(&rf);
    h.reset();
    std::mt19937_64 rng(kSeed);
    const uint16_t addrs[] = {0x0410, 0x0414, 0x0420, 0x0440, 0x0000, 0x040c, 0x0504, 0xfffc};
    for (int i = 0; i < 3000; ++i) {
      m.writes.push_back({addrs[rng() % 8], uint32_t(rng())});
      m.reads.push_back({addrs[rng() % 8], 0});
    }
    ASSERT_TRUE(h.runUntil([&] { return m.idle() || HasFatalFailure(); }, 400000)) << label;
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(m.writesDone, 3000u) << label;
    EXPECT_EQ(m.readsDone, 3000u) << label;
    EXPECT_EQ(rf.wrs, 3000u) << label;
    EXPECT_EQ(rf.rds, 3000u) << label;
    EXPECT_GT(rf.wrHeld, 500u) << label;
    EXPECT_GT(rf.rdHeld, 500u) << label;
  }
}

}  // namespace
}  // namespace roamgate
