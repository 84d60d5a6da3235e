#include "roamgate/dataplane/host_rings.h"

#include <algorithm>
#include <cstring>

#include "roamgate/regs/host_port.h"

namespace roamgate::dataplane {

namespace h = regs::host_port::host;
namespace slotfmt = regs::host_port::ring_slot;
constexpr uint32_t kRingsOn = h::kCtrlPuntOn.put(1) | h::kCtrlInjectOn.put(1);
static_assert(slotfmt::kBytes == HostRings::kHeaderBytes);
using hal::RegOp;

struct HostRings::State {
  uint32_t ctrl = 0, slotLog2 = 0;
  uint64_t puntBase = 0, injBase = 0, expBase = 0;
  uint32_t puntSlotsLog2 = 0, puntCons = 0, puntProd = 0;
  uint32_t injSlotsLog2 = 0, injProd = 0, injCons = 0;
  uint32_t expSlotsLog2 = 0, expCons = 0, expProd = 0;
};

Status HostRings::readState(State& st) {
  std::vector<RegOp> ops = {{false, base_ + h::kCtrl, 0},         {false, base_ + h::kSlotLog2, 0},
                            {false, base_ + h::kPuntBaseLo, 0},   {false, base_ + h::kPuntBaseHi, 0},
                            {false, base_ + h::kPuntSlotsLog2, 0}, {false, base_ + h::kPuntCons, 0},
                            {false, base_ + h::kPuntProd, 0},     {false, base_ + h::kInjBaseLo, 0},
                            {false, base_ + h::kInjBaseHi, 0},    {false, base_ + h::kInjSlotsLog2, 0},
                            {false, base_ + h::kInjProd, 0},      {false, base_ + h::kInjCons, 0},
                            {false, base_ + h::kExpBaseLo, 0},    {false, base_ + h::kExpBaseHi, 0},
                            {false, base_ + h::kExpSlotsLog2, 0}, {false, base_ + h::kExpCons, 0},
                            {false, base_ + h::kExpProd, 0}};
  if (Status s = dev_.transact(ops); !s) return s;
  auto v = [&](size_t i) { return ops[i].value; };
  st.ctrl = v(0);
  st.slotLog2 = v(1);
  st.puntBase = uint64_t(v(3)) << 32 | v(2);
  st.puntSlotsLog2 = v(4);
  st.puntCons = v(5);
  st.puntProd = v(6);
  st.injBase = uint64_t(v(8)) << 32 | v(7);
  st.injSlotsLog2 = v(9);
  st.injProd = v(10);
  st.injCons = v(11);
  st.expBase = uint64_t(v(13)) << 32 | v(12);
  st.expSlotsLog2 = v(14);
  st.expCons = v(15);
  st.expProd = v(16);
  return {};
}

Status HostRings::setup(const RingConfig& cfg, RingSetup* done) {
  auto bad = [](const char* what, uint32_t v, uint32_t max) {
    return Status::error(StatusCode::kInvalidArgument, std::string(what) + " " + std::to_string(v) +
                                                           " is out of range 0.." + std::to_string(max));
  };
  if (cfg.puntSlotsLog2 && *cfg.puntSlotsLog2 > 16) return bad("punt ring slots log2", *cfg.puntSlotsLog2, 16);
  if (cfg.injSlotsLog2 && *cfg.injSlotsLog2 > 16) return bad("inject ring slots log2", *cfg.injSlotsLog2, 16);
  if (cfg.expSlotsLog2 && *cfg.expSlotsLog2 > 20) return bad("export ring records log2", *cfg.expSlotsLog2, 20);
  State st;
  if (Status s = readState(st); !s) return s;
  // A ring that is on and not named stays as it is (a ring of another slot size is remade).
  bool sameSlots = st.slotLog2 == kSlotLog2;
  bool puntNew = cfg.puntSlotsLog2 || !h::kCtrlPuntOn.get(st.ctrl) || !sameSlots;
  bool injNew = cfg.injSlotsLog2 || !h::kCtrlInjectOn.get(st.ctrl) || !sameSlots;
  bool expWasOn = h::kCtrlExportOn.get(st.ctrl) != 0;
  bool expNew = cfg.expSlotsLog2.has_value();
  puntSlotsLog2_ = puntNew ? cfg.puntSlotsLog2.value_or(RingConfig::kDefaultPuntSlotsLog2) : st.puntSlotsLog2;
  injSlotsLog2_ = injNew ? cfg.injSlotsLog2.value_or(RingConfig::kDefaultInjSlotsLog2) : st.injSlotsLog2;
  expSlotsLog2_ = expNew ? *cfg.expSlotsLog2 : (expWasOn ? st.expSlotsLog2 : 0);
  expOn_ = expNew ? expSlotsLog2_ > 0 : expWasOn;

  uint64_t slot = 1ull << kSlotLog2;
  puntBase_ = st.puntBase;
  injBase_ = st.injBase;
  expBase_ = st.expBase;
  if (puntNew) {
    if (Status s = dev_.allocMem(slot << puntSlotsLog2_, slot, puntBase_); !s) return s;
  }
  if (injNew) {
    if (Status s = dev_.allocMem(slot << injSlotsLog2_, slot, injBase_); !s) return s;
  }
  if (expNew && expOn_) {
    if (Status s = dev_.allocMem(64ull << expSlotsLog2_, 64, expBase_); !s) return s;
  }
  // The rings being remade go off first; the others keep running.
  uint32_t keep = st.ctrl & ((puntNew ? 0 : h::kCtrlPuntOn.put(1)) | (injNew ? 0 : h::kCtrlInjectOn.put(1)) |
                             (expNew ? 0 : h::kCtrlExportOn.put(1)));
  std::vector<RegOp> ops = {{true, base_ + h::kCtrl, keep},
                            {false, base_ + h::kPuntProd, 0},
                            {false, base_ + h::kInjCons, 0},
                            {false, base_ + h::kExpProd, 0}};
  if (Status s = dev_.transact(ops); !s) return s;
  // A remade ring starts even: whatever was produced before is gone.
  puntCons_ = puntNew ? ops[1].value : st.puntCons;
  injProd_ = injNew ? ops[2].value : st.injProd;
  injConsKnown_ = false;
  expCons_ = expNew ? ops[3].value : st.expCons;
  std::vector<RegOp> cfgOps;
  if (puntNew || injNew) cfgOps.push_back({true, base_ + h::kSlotLog2, kSlotLog2});
  if (puntNew) {
    cfgOps.insert(cfgOps.end(), {{true, base_ + h::kPuntBaseLo, uint32_t(puntBase_)},
                                 {true, base_ + h::kPuntBaseHi, uint32_t(puntBase_ >> 32)},
                                 {true, base_ + h::kPuntSlotsLog2, puntSlotsLog2_},
                                 {true, base_ + h::kPuntCons, puntCons_}});
  }
  if (injNew) {
    cfgOps.insert(cfgOps.end(), {{true, base_ + h::kInjBaseLo, uint32_t(injBase_)},
                                 {true, base_ + h::kInjBaseHi, uint32_t(injBase_ >> 32)},
                                 {true, base_ + h::kInjSlotsLog2, injSlotsLog2_},
                                 {true, base_ + h::kInjProd, injProd_}});
  }
  if (expNew) {
    cfgOps.insert(cfgOps.end(), {{true, base_ + h::kExpBaseLo, uint32_t(expBase_)},
                                 {true, base_ + h::kExpBaseHi, uint32_t(expBase_ >> 32)},
                                 {true, base_ + h::kExpSlotsLog2, expSlotsLog2_},
                                 {true, base_ + h::kExpCons, expCons_}});
  }
  cfgOps.push_back({true, base_ + h::kCtrl, kRingsOn | h::kCtrlExportOn.put(expOn_ ? 1 : 0)});
  if (Status s = dev_.transact(cfgOps); !s) return s;
  if (done) *done = {puntSlotsLog2_, injSlotsLog2_, expSlotsLog2_, expOn_, puntNew, injNew, expNew && expOn_};
  return {};
}

Status HostRings::attach() {
  State st;
  if (Status s = readState(st); !s) return s;
  if ((st.ctrl & kRingsOn) != kRingsOn) {
    return Status::error(StatusCode::kNotFound, "the host port's rings are not set up (run `roamctl host setup`)");
  }
  if (st.slotLog2 != kSlotLog2) return Status::error("the rings use another slot size");
  puntBase_ = st.puntBase;
  puntSlotsLog2_ = st.puntSlotsLog2;
  puntCons_ = st.puntCons;
  injBase_ = st.injBase;
  injSlotsLog2_ = st.injSlotsLog2;
  injProd_ = st.injProd;
  injConsKnown_ = false;
  expOn_ = h::kCtrlExportOn.get(st.ctrl) != 0;
  expBase_ = st.expBase;
  expSlotsLog2_ = st.expSlotsLog2;
  expCons_ = st.expCons;
  return {};
}

Status HostRings::poll(std::vector<PuntedFrame>& out, size_t max) {
  std::vector<PuntedFrame> pool;
  size_t n = 0;
  Status st = pollInto(pool, n, max);
  for (size_t i = 0; i < n; ++i) {
    pool[i].bytes.shrink_to_fit();
    out.push_back(std::move(pool[i]));
  }
  return st;
}

Status HostRings::pollInto(std::vector<PuntedFrame>& pool, size_t& n, size_t max) {
  n = 0;
  uint32_t prod = 0;
  if (Status s = dev_.read32(base_ + h::kPuntProd, prod); !s) return s;
  // One read takes the header and the first bytes of the frame: all of an ARP or echo
  // request (a device read is a round trip, the slower part of a punt's answer).
  constexpr size_t kFirstRead = 256;
  while (puntCons_ != prod && n < max) {
    uint64_t slot = puntBase_ + (uint64_t(puntCons_ & ((1u << puntSlotsLog2_) - 1)) << kSlotLog2);
    if (n == pool.size()) pool.emplace_back();
    PuntedFrame& f = pool[n];
    if (f.bytes.capacity() < std::max<size_t>(maxFrameBytes_, kFirstRead)) {
      f.bytes.reserve(std::max<size_t>(maxFrameBytes_, kFirstRead));
    }
    f.bytes.resize(kFirstRead);
    if (Status s = dev_.readMem(slot, f.bytes); !s) return s;
    const uint8_t* hdr = f.bytes.data();
    uint32_t len = uint32_t(slotfmt::kLength.getLe(hdr));
    if (len > maxFrameBytes_) len = maxFrameBytes_;
    f.reason = uint8_t(slotfmt::kCode.getLe(hdr));
    f.timestamp = slotfmt::kTimestamp.getLe(hdr);
    f.teid = uint32_t(slotfmt::kTeid.getLe(hdr));
    f.innerOffset = uint8_t(slotfmt::kInnerOffset.getLe(hdr));
    f.ingress = uint8_t(slotfmt::kIngress.getLe(hdr));
    if (len <= kFirstRead - kHeaderBytes) {
      std::memmove(f.bytes.data(), f.bytes.data() + kHeaderBytes, len);
      f.bytes.resize(len);
    } else {
      f.bytes.resize(len);
      if (Status s = dev_.readMem(slot + kHeaderBytes, f.bytes); !s) return s;
    }
    ++puntCons_;
    ++n;
  }
  if (n) return dev_.write32(base_ + h::kPuntCons, puntCons_);
  return {};
}

Status HostRings::inject(std::span<const uint8_t> frame, uint8_t code) {
  if (frame.empty() || frame.size() > maxFrameBytes_) {
    return Status::error("cannot inject a frame of " + std::to_string(frame.size()) + " bytes (1.." +
                         std::to_string(maxFrameBytes_) + ")");
  }
  // The consumer index only grows: while the one last read leaves room, there is room, and
  // the register is read again only when that copy says the ring is full.
  const uint32_t slots = 1u << injSlotsLog2_;
  if (!injConsKnown_ || injProd_ - injConsSeen_ >= slots) {
    if (Status s = dev_.read32(base_ + h::kInjCons, injConsSeen_); !s) return s;
    injConsKnown_ = true;
  }
  if (injProd_ - injConsSeen_ >= slots) return Status::error(StatusCode::kFull, "inject ring full");
  uint64_t slot = injBase_ + (uint64_t(injProd_ & ((1u << injSlotsLog2_) - 1)) << kSlotLog2);
  injBuf_.assign(kHeaderBytes + frame.size(), 0);  // within its capacity once warm
  std::vector<uint8_t>& buf = injBuf_;
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

Status HostRings::releaseExport() {
  if (!expOn_) return {};
  return dev_.write32(base_ + h::kExpCons, expCons_);
}

Status HostRings::pollExport(std::vector<ExportRecord>& out, size_t max, bool hold) {
  if (!expOn_) return Status::error(StatusCode::kNotFound, "the export ring is not set up (roamctl host setup --export-slots-log2 N)");
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
  if (taken && !hold) return dev_.write32(base_ + h::kExpCons, expCons_);
  return {};
}

Status HostRings::exportWaits(uint32_t& waits) { return dev_.read32(base_ + h::kExpFull, waits); }

}  // namespace roamgate::dataplane
