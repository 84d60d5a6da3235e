// AXI4-Stream agents for a 512-bit bus: a source that sends frames with an idle-gap pattern
// and a sink that collects frames under a back-pressure pattern.
#pragma once

#include <verilated.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "harness.h"

namespace roamgate::sim {

struct AxisFrame {
  std::vector<uint8_t> bytes;
  uint32_t user = 0;         // tuser: on the last beat (source) / first beat (sink)
  uint64_t firstCycle = 0;   // cycle of the first beat's transfer
};

// Pattern: returns whether the agent may move a beat in this cycle.
using Pattern = std::function<bool(uint64_t cycle)>;
inline Pattern always() {
  return [](uint64_t) { return true; };
}

struct AxisPins {
  VlWide<16>* data;
  QData* keep;
  CData* last;
  CData* valid;
  CData* ready;  // nullptr: the receiver is always ready (a MAC)
};

inline void putBeat(VlWide<16>& w, const uint8_t* bytes, size_t n) {
  for (int i = 0; i < 16; ++i) w[i] = 0;
  for (size_t j = 0; j < n; ++j) w[j / 4] |= uint32_t(bytes[j]) << (8 * (j % 4));
}

inline void getBeat(const VlWide<16>& w, uint64_t keep, std::vector<uint8_t>& out) {
  for (int j = 0; j < 64; ++j) {
    if (keep >> j & 1) out.push_back(uint8_t(w[j / 4] >> (8 * (j % 4))));
  }
}

// Frame-level pacing: asked every cycle the source has a beat to offer; `first` says it would
// start a frame of `bytes`. Returning false idles the bus for that cycle.
using Pacer = std::function<bool(uint64_t cycle, size_t bytes, bool first)>;

class AxisSource : public Agent {
 public:
  AxisSource(AxisPins pins, CData* user, Pattern gaps = always())
      : p_(pins), user_(user), gaps_(std::move(gaps)) {}
  void setPacer(Pacer p) { pacer_ = std::move(p); }
  void push(AxisFrame f) { q_.push_back(std::move(f)); }
  bool idle() const { return q_.empty() && !*p_.valid; }
  size_t queued() const { return q_.size(); }
  uint64_t beatsSent() const { return beats_; }
  // Cycle at which each frame's first beat was accepted, in order.
  const std::vector<uint64_t>& startCycles() const { return starts_; }

  void drive(uint64_t cycle) override {
    if (*p_.valid && !accepted_) return;  // hold until accepted
    accepted_ = false;
    *p_.valid = 0;
    if (q_.empty() || !gaps_(cycle)) return;
    const AxisFrame& f = q_.front();
    if (pacer_ && !pacer_(cycle, f.bytes.size(), beat_ == 0)) return;
    size_t off = size_t(beat_) * 64;
    size_t n = std::min<size_t>(64, f.bytes.size() - off);
    putBeat(*p_.data, f.bytes.data() + off, n);
    *p_.keep = n == 64 ? ~0ull : ((1ull << n) - 1);
    bool last = off + n >= f.bytes.size();
    *p_.last = last;
    if (user_) *user_ = last ? uint8_t(f.user) : 0;
    *p_.valid = 1;
  }
  void sample(uint64_t cycle) override {
    if (!*p_.valid || (p_.ready && !*p_.ready)) return;
    accepted_ = true;
    ++beats_;
    if (beat_ == 0) starts_.push_back(cycle);
    if (*p_.last) {
      q_.pop_front();
      beat_ = 0;
    } else {
      ++beat_;
    }
  }

 private:
  AxisPins p_;
  CData* user_;
  Pattern gaps_;
  Pacer pacer_;
  std::deque<AxisFrame> q_;
  uint32_t beat_ = 0;
  bool accepted_ = false;
  uint64_t beats_ = 0;
  std::vector<uint64_t> starts_;
};

class AxisSink : public Agent {
 public:
  AxisSink(AxisPins pins, CData* user, Pattern ready = always())
      : p_(pins), user_(user), ready_(std::move(ready)) {}
  std::vector<AxisFrame>& frames() { return frames_; }
  uint64_t beats() const { return beats_; }
  void drive(uint64_t cycle) override {
    if (p_.ready) *p_.ready = ready_(cycle) ? 1 : 0;
  }
  void sample(uint64_t cycle) override {
    if (!*p_.valid || (p_.ready && !*p_.ready)) return;
    ++beats_;
    if (cur_.bytes.empty()) {
      cur_.firstCycle = cycle;
      cur_.user = user_ ? *user_ : 0;
    }
    getBeat(*p_.data, *p_.keep, cur_.bytes);
    if (*p_.last) {
      frames_.push_back(std::move(cur_));
      cur_ = {};
    }
  }

 private:
  AxisPins p_;
  CData* user_;
  Pattern ready_;
  AxisFrame cur_;
  std::vector<AxisFrame> frames_;
  uint64_t beats_ = 0;
};

}  // namespace roamgate::sim
