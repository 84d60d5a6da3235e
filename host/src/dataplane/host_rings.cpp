#include "roamgate/dataplane/host_rings.h"

#include "roamgate/regs/host_port.h"

namespace roamgate::dataplane {

namespace h = regs::host_port::host;
namespace slotfmt = regs::host_port::ring_slot;
constexpr uint32_t kRingsOn = h::kCtrlPuntOn.put(1) | h::kCtrlInjectOn.put(1);
static_assert(slotfmt::kBytes == HostRings::kHeaderBytes);
using hal::RegOp;

Status HostRings::setup(const RingConfig& cfg) {
  if (cfg.puntSlotsLog2 > 16 || cfg.injSlotsLog2 > 16) return Status::error("a ring has at most 2^16 slots");
  if (cfg.expSlotsLog2 > 20) return Status::error("the export ring has at most 2^20 records");
  uint64_t slot = 1ull << kSlotLog2;
  if (Status s = dev_.allocMem(slot << cfg.puntSlotsLog2, slot, puntBase_); !s) return s;
  if (Status s = dev_.allocMem(slot << cfg.injSlotsLog2, slot, injBase_); !s) return s;
  expOn_ = cfg.expSlotsLog2 > 0;
  if (expOn_) {
    if (Status s = dev_.allocMem(64ull << cfg.expSlotsLog2, 64, expBase_); !s) return s;
  }
  puntSlotsLog2_ = cfg.puntSlotsLog2;
  injSlotsLog2_ = cfg.injSlotsLog2;
  expSlotsLog2_ = cfg.expSlotsLog2;
  std::vector<RegOp> ops = {
      {true, base_ + h::kCtrl, 0},
      {false, base_ + h::kPuntProd, 0},
      {false, base_ + h::kInjCons, 0},
      {false, base_ + h::kExpProd, 0},
  };
  if (Status s = dev_.transact(ops); !s) return s;
  puntCons_ = ops[1].value;  // start even: whatever was produced before is gone
  injProd_ = ops[2].value;
  expCons_ = ops[3].value;
  std::vector<RegOp> cfgOps = {
      {true, base_ + h::kSlotLog2, kSlotLog2},
      {true, base_ + h::kPuntBaseLo, uint32_t(puntBase_)},
      {true, base_ + h::kPuntBaseHi, uint32_t(puntBase_ >> 32)},
      {true, base_ + h::kPuntSlotsLog2, puntSlotsLog2_},
      {true, base_ + h::kPuntCons, puntCons_},
      {true, base_ + h::kInjBaseLo, uint32_t(injBase_)},
      {true, base_ + h::kInjBaseHi, uint32_t(injBase_ >> 32)},
      {true, base_ + h::kInjSlotsLog2, injSlotsLog2_},
      {true, base_ + h::kInjProd, injProd_},
      {true, base_ + h::kExpBaseLo, uint32_t(expBase_)},
      {true, base_ + h::kExpBaseHi, uint32_t(expBase_ >> 32)},
      {true, base_ + h::kExpSlotsLog2, expSlotsLog2_},
      {true, base_ + h::kExpCons, expCons_},
      {true, base_ + h::kCtrl, kRingsOn | h::kCtrlExportOn.put(expOn_ ? 1 : 0)},
  };
  return dev_.transact(cfgOps);
}

Status HostRings::attach() {
  std::vector<RegOp> ops = {{false, base_ + h::kCtrl, 0},         {false, base_ + h::kPuntBaseLo, 0},
                            {false, base_ + h::kPuntBaseHi, 0},   {false, base_ + h::kPuntSlotsLog2, 0},
                            {false, base_ + h::kPuntCons, 0},     {false, base_ + h::kInjBaseLo, 0},
                            {false, base_ + h::kInjBaseHi, 0},    {false, base_ + h::kInjSlotsLog2, 0},
                            {false, base_ + h::kInjProd, 0},      {false, base_ + h::kSlotLog2, 0},
                            {false, base_ + h::kExpBaseLo, 0},    {false, base_ + h::kExpBaseHi, 0},
                            {false, base_ + h::kExpSlotsLog2, 0}, {false, base_ + h::kExpCons, 0}};
  if (Status s = dev_.transact(ops); !s) return s;
  if ((ops[0].value & kRingsOn) != kRingsOn) return Status::error("the host port's rings are not set up (run `roamctl host setup`)");
  if (ops[9].value != kSlotLog2) return Status::error("the rings use another slot size");
  puntBase_ = (uint64_t(ops[2].value) << 32) | ops[1].value;
  puntSlotsLog2_ = ops[3].value;
  puntCons_ = ops[4].value;
  injBase_ = (uint64_t(ops[6].value) << 32) | ops[5].value;
  injSlotsLog2_ = ops[7].value;
  injProd_ = ops[8].value;
  expOn_ = h::kCtrlExportOn.get(ops[0].value) != 0;
  expBase_ = (uint64_t(ops[11].value) << 32) | ops[10].value;
  expSlotsLog2_ = ops[12].value;
  expCons_ = ops[13].value;
  return {};
}

Status HostRings::poll(std::vector<PuntedFrame>& out, size_t max) {
  uint32_t prod = 0;
  if (Status s = dev_.read32(base_ + h::kPuntProd, prod); !s) return s;
  size_t taken = 0;
  uint8_t hdr[kHeaderBytes];
  while (puntCons_ != prod && taken < max) {
    uint64_t slot = puntBase_ + (uint64_t(puntCons_ & ((1u << puntSlotsLog2_) - 1)) << kSlotLog2);
    if (Status s = dev_.readMem(slot, hdr); !s) return s;
    PuntedFrame f;
    uint32_t len = uint32_t(slotfmt::kLength.getLe(hdr));
    f.reason = uint8_t(slotfmt::kCode.getLe(hdr));
    f.timestamp = slotfmt::kTimestamp.getLe(hdr);
    f.teid = uint32_t(slotfmt::kTeid.getLe(hdr));
    f.innerOffset = uint8_t(slotfmt::kInnerOffset.getLe(hdr));
    f.bytes.resize(len);
    if (Status s = dev_.readMem(slot + kHeaderBytes, f.bytes); !s) return s;
    out.push_back(std::move(f));
    ++puntCons_;
    ++taken;
  }
  if (taken) return dev_.write32(base_ + h::kPuntCons, puntCons_);
  return {};
}

Status HostRings::inject(std::span<const uint8_t> frame, uint8_t code) {
  if (frame.empty() || frame.size() > maxFrameBytes_) {
    return Status::error("cannot inject a frame of " + std::to_string(frame.size()) + " bytes (1.." +
                         std::to_string(maxFrameBytes_) + ")");
  }
  uint32_t cons = 0;
  if (Status s = dev_.read32(base_ + h::kInjCons, cons); !s) return s;
  if (injProd_ - cons >= (1u << injSlotsLog2_)) return Status::error("inject ring full");
  uint64_t slot = injBase_ + (uint64_t(injProd_ & ((1u << injSlotsLog2_) - 1)) << kSlotLog2);
  std::vector<uint8_t> buf(kHeaderBytes + frame.size(), 0);
  slotfmt::kLength.putLe(buf.data(), frame.size());
  slotfmt::kCode.putLe(buf.data(), code);
  std::copy(frame.begin(), frame.end(), buf.begin() + kHeaderBytes);
  if (Status s = dev_.writeMem(slot, buf); !s) return s;
  ++injProd_;
  return dev_.write32(base_ + h::kInjProd, injProd_);
}

Status HostRings::counters(uint32_t& puntDrops, uint32_t& injected, uint32_t& injErrors) {
  std::vector<RegOp> ops = {{false, base_ + h::kPuntDrops, 0}, {false, base_ + h::kInjFrames, 0}, {false, base_ + h::kInjErrors, 0}};
  if (Status s = dev_.transact(ops); !s) return s;
  puntDrops = ops[0].value;
  injected = ops[1].value;
  injErrors = ops[2].value;
  return {};
}

Status HostRings::pollExport(std::vector<ExportRecord>& out, size_t max) {
  if (!expOn_) return Status::error("the export ring is not set up");
  uint32_t prod = 0;
  if (Status s = dev_.read32(base_ + h::kExpProd, prod); !s) return s;
  size_t taken = 0;
  while (expCons_ != prod && taken < max) {
    uint64_t slot = expBase_ + (uint64_t(expCons_ & ((1u << expSlotsLog2_) - 1)) << 6);
    ExportRecord rec{};
    if (Status s = dev_.readMem(slot, rec); !s) return s;
    out.push_back(rec);
    ++expCons_;
    ++taken;
  }
  if (taken) return dev_.write32(base_ + h::kExpCons, expCons_);
  return {};
}

Status HostRings::exportWaits(uint32_t& waits) { return dev_.read32(base_ + h::kExpFull, waits); }

}  // namespace roamgate::dataplane
