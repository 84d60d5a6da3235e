// Device memory behind an AXI4 slave port (the card's HBM/DDR as the kernel sees it), with
// back-pressure patterns on the address and data channels and a fixed response latency.
// The host reaches the same bytes directly (read/write), as XRT's buffer syncs do.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <unordered_map>

#include "axis.h"
#include "harness.h"
#include "sparse_memory.h"

namespace roamgate::sim {

template <class Top>
class AxiMemory : public Agent {
 public:
  explicit AxiMemory(Top& t, Pattern ready = always(), int latency = 8)
      : t_(t), ready_(std::move(ready)), latency_(latency) {}
  SparseMemory& mem() { return mem_; }
  // Data beats moved either way: a measure of activity for drain loops.
  uint64_t beatsMoved() const { return moved_; }

  void drive(uint64_t cycle) override {
    bool r = ready_(cycle);
    t_.m_axi_awready = r && aw_.size() < 8;
    t_.m_axi_wready = ready_(cycle + 7919) && w_.size() < 8;
    t_.m_axi_arready = r && rbeats_.size() < 64;
    t_.m_axi_bvalid = !b_.empty() && b_.front() <= cycle;
    t_.m_axi_bresp = 0;
    bool rv = !rbeats_.empty() && rbeats_.front().due <= cycle;
    t_.m_axi_rvalid = rv;
    if (rv) {
      const RBeat& b = rbeats_.front();
      for (int i = 0; i < 16; ++i) {
        uint32_t w = 0;
        for (int k = 0; k < 4; ++k) w |= uint32_t(b.data[4 * i + k]) << (8 * k);
        t_.m_axi_rdata[i] = w;
      }
      t_.m_axi_rlast = b.last;
      t_.m_axi_rresp = 0;
    }
  }

  void sample(uint64_t cycle) override {
    if (t_.m_axi_awvalid && t_.m_axi_awready) aw_.push_back({t_.m_axi_awaddr, uint32_t(t_.m_axi_awlen) + 1});
    if (t_.m_axi_wvalid && t_.m_axi_wready) {
      WBeat w;
      for (int i = 0; i < 64; ++i) {
        w.data[i] = uint8_t(t_.m_axi_wdata[i / 4] >> (8 * (i % 4)));
        w.strb[i] = (t_.m_axi_wstrb >> i) & 1;
      }
      w.last = t_.m_axi_wlast;
      w_.push_back(w);
      ++moved_;
    }
    if (t_.m_axi_bvalid && t_.m_axi_bready) b_.pop_front();
    if (t_.m_axi_rvalid && t_.m_axi_rready) {
      rbeats_.pop_front();
      ++moved_;
    }
    if (t_.m_axi_arvalid && t_.m_axi_arready) {
      uint64_t a = t_.m_axi_araddr;
      uint32_t n = uint32_t(t_.m_axi_arlen) + 1;
      for (uint32_t i = 0; i < n; ++i) {
        RBeat b;
        mem_.read(a + 64 * i, b.data.data(), 64);
        b.last = i + 1 == n;
        b.due = cycle + uint64_t(latency_);
        rbeats_.push_back(b);
      }
    }
    // A write completes when its address and all its data beats are in.
    while (!aw_.empty() && w_.size() >= aw_.front().beats) {
      Aw a = aw_.front();
      aw_.pop_front();
      for (uint32_t i = 0; i < a.beats; ++i) {
        WBeat& w = w_.front();
        mem_.write(a.addr + 64 * i, w.data.data(), 64, w.strb.data());
        w_.pop_front();
      }
      b_.push_back(cycle + uint64_t(latency_));
    }
  }

 private:
  struct Aw {
    uint64_t addr;
    uint32_t beats;
  };
  struct WBeat {
    std::array<uint8_t, 64> data;
    std::array<uint8_t, 64> strb;
    bool last;
  };
  struct RBeat {
    std::array<uint8_t, 64> data;
    bool last;
    uint64_t due;
  };
  Top& t_;
  Pattern ready_;
  int latency_;
  SparseMemory mem_;
  std::deque<Aw> aw_;
  std::deque<WBeat> w_;
  std::deque<uint64_t> b_;
  std::deque<RBeat> rbeats_;
  uint64_t moved_ = 0;
};

}  // namespace roamgate::sim
