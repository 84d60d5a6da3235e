// AXI4-Lite master agent: register reads and writes queued by the caller and played on the
// bus one at a time, with valid held until ready as the protocol asks.
#pragma once

#include <verilated.h>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <optional>
#include <string>

#include "axis.h"
#include "harness.h"

namespace roamgate::sim {

template <class Top>
class AxilMaster : public Agent {
 public:
  // `ready`: when the master takes a write response or read data (back-pressure on B and R).
  explicit AxilMaster(Top& t, Pattern ready = always()) : t_(t), ready_(std::move(ready)) {}

  struct Op {
    bool write;
    uint32_t addr;
    uint32_t data;
  };
  void queue(Op op) { q_.push_back(op); }
  bool idle() const { return q_.empty() && state_ == kIdle; }
  // Data of the most recent completed read.
  uint32_t lastRead() const { return lastRead_; }
  uint64_t completed() const { return done_; }
  // Cycles an access was offered and the slave did not take it (AW/W or AR held).
  uint64_t heldCycles() const { return held_; }
  // What the bus is waiting for, for a hang report: the phase of the access in flight and that
  // phase's handshake signals as they are now (which side is holding it up).
  std::string stall() const {
    char b[96];
    switch (state_) {
      case kWrAddr:
        std::snprintf(b, sizeof b, "the slave has not taken the write: awvalid=%d awready=%d "
                      "wready=%d", t_.s_axil_awvalid, t_.s_axil_awready, t_.s_axil_wready);
        break;
      case kWrResp:
        std::snprintf(b, sizeof b, "waiting for the write response: bvalid=%d bready=%d",
                      t_.s_axil_bvalid, t_.s_axil_bready);
        break;
      case kRdAddr:
        std::snprintf(b, sizeof b, "the slave has not taken the read: arvalid=%d arready=%d",
                      t_.s_axil_arvalid, t_.s_axil_arready);
        break;
      case kRdData:
        std::snprintf(b, sizeof b, "waiting for the read data: rvalid=%d rready=%d",
                      t_.s_axil_rvalid, t_.s_axil_rready);
        break;
      default: std::snprintf(b, sizeof b, "%zu access(es) queued, none started", q_.size());
    }
    return b;
  }

  void drive(uint64_t cycle) override {
    if (clearNext_) {  // the handshake happened at the last edge: valid drops now
      t_.s_axil_awvalid = 0;
      t_.s_axil_wvalid = 0;
      t_.s_axil_arvalid = 0;
      clearNext_ = false;
    }
    t_.s_axil_bready = ready_(cycle) ? 1 : 0;
    t_.s_axil_rready = ready_(cycle + 104729) ? 1 : 0;
    if (state_ == kIdle && !q_.empty()) {
      cur_ = q_.front();
      q_.pop_front();
      if (cur_.write) {
        t_.s_axil_awaddr = uint16_t(cur_.addr);
        t_.s_axil_wdata = cur_.data;
        t_.s_axil_wstrb = 0xf;
        t_.s_axil_awvalid = 1;
        t_.s_axil_wvalid = 1;
        state_ = kWrAddr;
      } else {
        t_.s_axil_araddr = uint16_t(cur_.addr);
        t_.s_axil_arvalid = 1;
        state_ = kRdAddr;
      }
    }
  }
  void sample(uint64_t) override {
    switch (state_) {
      case kWrAddr:
        if (t_.s_axil_awready && t_.s_axil_wready) {
          clearNext_ = true;
          state_ = kWrResp;
        } else {
          ++held_;
        }
        break;
      case kWrResp:
        if (t_.s_axil_bvalid && t_.s_axil_bready) {
          state_ = kIdle;
          ++done_;
        }
        break;
      case kRdAddr:
        if (t_.s_axil_arready) {
          clearNext_ = true;
          state_ = kRdData;
        } else {
          ++held_;
        }
        break;
      case kRdData:
        if (t_.s_axil_rvalid && t_.s_axil_rready) {
          lastRead_ = t_.s_axil_rdata;
          state_ = kIdle;
          ++done_;
        }
        break;
      default: break;
    }
  }

 private:
  enum State { kIdle, kWrAddr, kWrResp, kRdAddr, kRdData };
  Top& t_;
  Pattern ready_;
  std::deque<Op> q_;
  Op cur_{};
  State state_ = kIdle;
  bool clearNext_ = false;
  uint32_t lastRead_ = 0;
  uint64_t done_ = 0;
  uint64_t held_ = 0;
};

}  // namespace roamgate::sim
