// Bit-exact software model of hw/rtl/gate_kernel.sv: the oracle of the RTL tests. It holds
// the same registers and tables, is programmed through the same register writes, and gives
// for every frame the same output port, bytes and counter updates, and for a scanner pass
// the same export records.
//
// Not modelled (they depend on cycle timing; the RTL tests that exercise them compare only
// where they cannot act): the punt token bucket, a busy punt port, full frame buffers, and the
// timestamp; nor where a direct inject falls among a port's pipeline frames (inject gives the
// frame and its port). Ticks are passed in by the caller.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "roamgate/regs/gate.h"

namespace roamgate::model {

// What axis_realign sends for one frame: hdr, then dataLen bytes of the frame from skip,
// zero padded to outLen, with 16-bit patches (position, value) written inside the data.
struct RealignPatch {
  bool en = false;
  uint8_t pos = 0;
  uint16_t val = 0;
};
std::vector<uint8_t> realignFrame(std::span<const uint8_t> hdr, std::span<const uint8_t> frame,
                                  uint32_t skip, uint32_t dataLen, uint32_t outLen,
                                  std::span<const RealignPatch> patches);

enum class GatePort { kDrop, kService, kAccess, kPunt };

struct GateOutput {
  GatePort port = GatePort::kDrop;
  uint8_t puntReason = 0;
  uint32_t puntTeid = 0;        // punt metadata: the TEID (0 if not GTP-U)
  uint8_t puntInnerOffset = 0;  // and the T-PDU offset
  uint8_t puntIngress = 0;      // the punt slot's INGRESS (regs::gate::IngressPort)
  regs::gate::Stat stat = regs::gate::Stat::kUlRxFrames;  // the verdict's counter
  std::vector<uint8_t> bytes;                              // as sent (empty when dropped)
};

using GateExportRecord = std::array<uint8_t, 64>;

class GateModel {
 public:
  static constexpr uint32_t kAddrs = regs::gate::kNatAddrs;
  static constexpr uint32_t kPortsLog2 = regs::gate::kPortsLog2;
  static constexpr uint32_t kEntries = kAddrs << kPortsLog2;
  static constexpr uint32_t kBuckets = 1u << regs::gate::kFlowBucketsLog2;
  static constexpr uint32_t kSlots = regs::gate::kFlowSlots;
  static constexpr uint32_t kMaxBeats = (regs::gate::kMaxFrameBytes + 63) / 64;

  GateModel();

  void writeReg(uint32_t addr, uint32_t value, uint32_t tick = 0);
  uint32_t readReg(uint32_t addr);

  // A frame from the access port (uplink), or re-injected into the uplink pipeline.
  GateOutput uplink(std::span<const uint8_t> frame, bool rxError = false, uint32_t tick = 0,
                    bool injected = false);
  // A frame from the service port (downlink).
  GateOutput downlink(std::span<const uint8_t> frame, bool rxError = false, uint32_t tick = 0);
  // A frame of the inject ring with port code `code` (regs::gate::InjectPort): UPLINK goes
  // through the uplink pipeline (as uplink(..., injected = true)); ACCESS_OUT and SERVICE_OUT
  // leave that port unchanged and are not counted in the statistics; a slot the host port
  // skips (empty, longer than the maximum frame, an unknown code) gives kDrop.
  GateOutput inject(std::span<const uint8_t> frame, uint8_t code, uint32_t tick = 0);
  // One scanner pass over the whole table at tick `now`, in index order: the records it
  // writes (NOW = now) and the scanner state it leaves.
  std::vector<GateExportRecord> scanPass(uint32_t now);

  uint64_t stat(regs::gate::Stat s) const { return stats_[uint32_t(s)]; }

 private:
  struct FlowSlot {
    bool valid = false;
    std::array<uint8_t, 17> key{};
    uint32_t val = 0;
  };
  struct Counter {
    uint8_t gen = 0;
    uint64_t pkts = 0, bytes = 0;
    uint32_t last = 0;
    uint8_t flags = 0;
  };
  struct ScanState {
    uint32_t installed = 0, exported = 0;
    bool final = false;
  };
  struct Entry {
    std::array<uint32_t, 8> w{};
  };
  struct View;  // an entry's counters and scanner verdict, as port_table computes them

  void bump(regs::gate::Stat s, uint64_t by = 1) { stats_[uint32_t(s)] += by; }
  View view(uint32_t idx, uint32_t now) const;
  static void count(Counter& c, uint8_t gen, uint16_t bytes, uint32_t tick, uint8_t flags);

  uint32_t accessIp_ = 0, ownMacLo_ = 0, ownMacHi_ = 0, svcMacLo_ = 0, svcMacHi_ = 0;
  uint32_t accMacLo_ = 0, accMacHi_ = 0, outerTtl_ = 64, tickShift_ = 16;
  uint32_t puntRate_ = 0x00100000, puntBurst_ = 64;
  std::array<uint32_t, 4> natIp_{};
  uint32_t flowAddr_ = 0, flowVal_ = 0;
  std::array<uint32_t, 5> flowKey_{}, flowRkey_{};
  uint32_t flowRval_ = 0;
  uint32_t portIndex_ = 0;
  std::array<uint32_t, 8> portData_{}, portRdata_{};
  uint64_t cUlPkts_ = 0, cUlBytes_ = 0, cDlPkts_ = 0, cDlBytes_ = 0;
  uint32_t cLast_ = 0, cFlags_ = 0;
  uint32_t scanCtrl_ = 0, idleTicks_ = 0, interimTicks_ = 0;
  uint32_t statHi_ = 0;
  std::vector<FlowSlot> flow_;  // [bank][bucket][slot]
  std::vector<Entry> port_;
  std::vector<Counter> cntUl_, cntDl_;
  std::vector<ScanState> scan_;
  std::array<uint64_t, regs::gate::kStatCount> stats_{};
};

}  // namespace roamgate::model
