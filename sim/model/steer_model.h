// Bit-exact software model of hw/rtl/steer_kernel.sv: the oracle of the RTL tests.
// It holds the same registers and tables, is programmed through the same register writes,
// and gives for every frame the same output port, bytes and counter updates.
//
// Not modelled (they depend on cycle timing, and the RTL tests that exercise them compare
// only where they cannot act): the punt token bucket, a busy punt port and a full frame
// buffer. The model assumes each admits the frame.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "roamgate/regs/steer.h"

namespace roamgate::model {

// kTx: the steering port; kAccess: the access port (injected frames only).
enum class OutPort { kDrop, kTx, kPunt, kAccess };

struct SteerOutput {
  OutPort port = OutPort::kDrop;
  uint8_t puntReason = 0;
  regs::steer::Stat stat = regs::steer::Stat::kRxFrames;  // the counter the verdict bumped
  std::vector<uint8_t> bytes;                               // as sent (empty when dropped)
};

class SteerModel {
 public:
  SteerModel();

  void writeReg(uint32_t addr, uint32_t value);
  uint32_t readReg(uint32_t addr);

  // One frame from the access port; rxError is the MAC's bad-frame mark on the last beat.
  SteerOutput process(std::span<const uint8_t> frame, bool rxError = false);
  // A frame of the inject ring with port code `code` (regs::steer::InjectPort): STEER_OUT
  // leaves the steering port (kTx), ACCESS_OUT the access port (kAccess), both unchanged and
  // not counted in the statistics; a slot the host port skips (empty, longer than the maximum
  // frame, an unknown code) gives kDrop.
  SteerOutput inject(std::span<const uint8_t> frame, uint8_t code) const;

  uint64_t stat(regs::steer::Stat s) const { return stats_[uint32_t(s)]; }

  static constexpr uint32_t kBuckets = 1u << regs::steer::kSessionBucketsLog2;
  static constexpr uint32_t kSlots = regs::steer::kSessionSlots;
  static constexpr uint32_t kMaglevWords = (regs::steer::kMaglevEntries + 3) / 4;
  static constexpr uint32_t kMaxBeats = (regs::steer::kMaxFrameBytes + 63) / 64;

 private:
  struct SessSlot {
    bool valid = false;
    uint32_t teid = 0;
    uint8_t gw = 0;
  };
  struct Gateway {
    bool valid = false;
    uint32_t ip = 0;
    uint64_t mac = 0;
  };

  void bump(regs::steer::Stat s, uint64_t by = 1) { stats_[uint32_t(s)] += by; }

  uint32_t ownIp_ = 0, ownMacLo_ = 0, ownMacHi_ = 0;
  uint32_t puntRate_ = 0x00100000, puntBurst_ = 64;
  uint32_t sessAddr_ = 0, sessData0_ = 0, sessData1_ = 0, sessR0_ = 0, sessR1_ = 0;
  uint32_t magAddr_ = 0, magRdata_ = 0;
  uint32_t gwAddr_ = 0, gwData0_ = 0, gwData1_ = 0, gwData2_ = 0;
  uint32_t gwR0_ = 0, gwR1_ = 0, gwR2_ = 0, gwCntIdx_ = 0;
  uint64_t snapPkts_ = 0, snapBytes_ = 0;
  uint32_t statHi_ = 0;
  std::vector<SessSlot> sess_;  // [bank][bucket][slot]
  std::vector<uint32_t> maglev_;
  std::array<Gateway, regs::steer::kGateways> gws_{};
  std::array<std::array<uint64_t, 2>, regs::steer::kGateways> gwCnt_{};
  std::array<uint64_t, regs::steer::kStatCount> stats_{};
};

}  // namespace roamgate::model
