#include "roamgate/dataplane/host_rings.h"

#include "roamgate/regs/steer.h"

namespace roamgate::dataplane {

namespace h = regs::steer::host;
namespace slotfmt = regs::steer::ring_slot;
constexpr uint32_t kRingsOn = h::kCtrlPuntOn.put(1) | h::kCtrlInjectOn.put(1);
static_assert(slotfmt::kBytes == HostRings::kHeaderBytes);
using hal::RegOp;

Status HostRings::setup(const RingConfig& cfg) {
  if (cfg.puntSlotsLog2 > 16 || cfg.injSlotsLog2 > 16) return Status::error("a ring has at most 2^16 slots");
  uint64_t slot = 1ull << kSlotLog2;
  if (Status s = dev_.allocMem(slot << cfg.puntSlotsLog2, slot, puntBase_); !s) return s;
  if (Status s = dev_.allocMem(slot << cfg.injSlotsLog2, slot, injBase_); !s) return s;
  puntSlotsLog2_ = cfg.puntSlotsLog2;
  injSlotsLog2_ = cfg.injSlotsLog2;
  std::vector<RegOp> ops = {
      {true, h::kCtrl, 0},
      {false, h::kPuntProd, 0},
      {false, h::kInjCons, 0},
  };
  if (Status s = dev_.transact(ops); !s) return s;
  puntCons_ = ops[1].value;  // start even: whatever was produced before is gone
  injProd_ = ops[2].value;
  std::vector<RegOp> cfgOps = {
      {true, h::kSlotLog2, kSlotLog2},
      {true, h::kPuntBaseLo, uint32_t(puntBase_)},
      {true, h::kPuntBaseHi, uint32_t(puntBase_ >> 32)},
      {true, h::kPuntSlotsLog2, puntSlotsLog2_},
      {true, h::kPuntCons, puntCons_},
      {true, h::kInjBaseLo, uint32_t(injBase_)},
      {true, h::kInjBaseHi, uint32_t(injBase_ >> 32)},
      {true, h::kInjSlotsLog2, injSlotsLog2_},
      {true, h::kInjProd, injProd_},
      {true, h::kCtrl, kRingsOn},
  };
  return dev_.transact(cfgOps);
}

Status HostRings::attach() {
  std::vector<RegOp> ops = {{false, h::kCtrl, 0},         {false, h::kPuntBaseLo, 0},
                            {false, h::kPuntBaseHi, 0},   {false, h::kPuntSlotsLog2, 0},
                            {false, h::kPuntCons, 0},     {false, h::kInjBaseLo, 0},
                            {false, h::kInjBaseHi, 0},    {false, h::kInjSlotsLog2, 0},
                            {false, h::kInjProd, 0},      {false, h::kSlotLog2, 0}};
  if (Status s = dev_.transact(ops); !s) return s;
  if ((ops[0].value & kRingsOn) != kRingsOn) return Status::error("the host port's rings are not set up (run `roamctl host setup`)");
  if (ops[9].value != kSlotLog2) return Status::error("the rings use another slot size");
  puntBase_ = (uint64_t(ops[2].value) << 32) | ops[1].value;
  puntSlotsLog2_ = ops[3].value;
  puntCons_ = ops[4].value;
  injBase_ = (uint64_t(ops[6].value) << 32) | ops[5].value;
  injSlotsLog2_ = ops[7].value;
  injProd_ = ops[8].value;
  return {};
}

Status HostRings::poll(std::vector<PuntedFrame>& out, size_t max) {
  uint32_t prod = 0;
  if (Status s = dev_.read32(h::kPuntProd, prod); !s) return s;
  size_t taken = 0;
  uint8_t hdr[kHeaderBytes];
  while (puntCons_ != prod && taken < max) {
    uint64_t slot = puntBase_ + (uint64_t(puntCons_ & ((1u << puntSlotsLog2_) - 1)) << kSlotLog2);
    if (Status s = dev_.readMem(slot, hdr); !s) return s;
    PuntedFrame f;
    uint32_t len = uint32_t(slotfmt::kLength.getLe(hdr));
    f.reason = uint8_t(slotfmt::kCode.getLe(hdr));
    f.timestamp = slotfmt::kTimestamp.getLe(hdr);
    f.bytes.resize(len);
    if (Status s = dev_.readMem(slot + kHeaderBytes, f.bytes); !s) return s;
    out.push_back(std::move(f));
    ++puntCons_;
    ++taken;
  }
  if (taken) return dev_.write32(h::kPuntCons, puntCons_);
  return {};
}

Status HostRings::inject(std::span<const uint8_t> frame) {
  if (frame.empty() || frame.size() > regs::steer::kMaxFrameBytes) {
    return Status::error("cannot inject a frame of " + std::to_string(frame.size()) + " bytes (1.." +
                         std::to_string(regs::steer::kMaxFrameBytes) + ")");
  }
  uint32_t cons = 0;
  if (Status s = dev_.read32(h::kInjCons, cons); !s) return s;
  if (injProd_ - cons >= (1u << injSlotsLog2_)) return Status::error("inject ring full");
  uint64_t slot = injBase_ + (uint64_t(injProd_ & ((1u << injSlotsLog2_) - 1)) << kSlotLog2);
  std::vector<uint8_t> buf(kHeaderBytes + frame.size(), 0);
  slotfmt::kLength.putLe(buf.data(), frame.size());
  slotfmt::kCode.putLe(buf.data(), 0);  // egress: the steering port
  std::copy(frame.begin(), frame.end(), buf.begin() + kHeaderBytes);
  if (Status s = dev_.writeMem(slot, buf); !s) return s;
  ++injProd_;
  return dev_.write32(h::kInjProd, injProd_);
}

Status HostRings::counters(uint32_t& puntDrops, uint32_t& injected, uint32_t& injErrors) {
  std::vector<RegOp> ops = {{false, h::kPuntDrops, 0}, {false, h::kInjFrames, 0}, {false, h::kInjErrors, 0}};
  if (Status s = dev_.transact(ops); !s) return s;
  puntDrops = ops[0].value;
  injected = ops[1].value;
  injErrors = ops[2].value;
  return {};
}

}  // namespace roamgate::dataplane
