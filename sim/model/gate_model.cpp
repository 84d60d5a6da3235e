#include "gate_model.h"

#include <algorithm>

#include "hdr_parse.h"
#include "roamgate/checksum.h"
#include "roamgate/hash.h"

namespace roamgate::model {

namespace r = regs::gate;
using r::Stat;

namespace {

constexpr uint32_t kPortMask = (1u << r::kPortsLog2) - 1;

uint32_t field(const std::array<uint32_t, 8>& w, r::Field f) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < f.width; ++i) {
    uint32_t bit = f.lsb + i;
    v |= uint64_t((w[bit / 32] >> (bit % 32)) & 1) << i;
  }
  return uint32_t(v);
}

bool flag(const std::array<uint32_t, 8>& w, r::PortFlag f) {
  return (field(w, r::port_entry::kFlags) >> uint32_t(f)) & 1;
}

// Tick a later than tick b, modulo 2^32 (port_table's `later`).
bool later(uint32_t a, uint32_t b) {
  uint32_t d = a - b;
  return !(d >> 31) && d != 0;
}

using Patch = RealignPatch;

}  // namespace

std::vector<uint8_t> realignFrame(std::span<const uint8_t> hdr, std::span<const uint8_t> frame,
                                  uint32_t skip, uint32_t dataLen, uint32_t outLen,
                                  std::span<const RealignPatch> patches) {
  std::vector<uint8_t> out(outLen, 0);
  uint32_t dataEnd = uint32_t(hdr.size()) + dataLen;
  for (uint32_t j = 0; j < outLen && j < dataEnd; ++j) {
    if (j < hdr.size()) out[j] = hdr[j];
    else if (skip + j - hdr.size() < frame.size()) out[j] = frame[skip + j - hdr.size()];
  }
  for (const Patch& p : patches) {
    if (!p.en) continue;
    if (p.pos < dataEnd && p.pos < outLen) out[p.pos] = uint8_t(p.val >> 8);
    if (p.pos + 1u < dataEnd && p.pos + 1u < outLen) out[p.pos + 1] = uint8_t(p.val);
  }
  return out;
}

namespace {

void put16(std::vector<uint8_t>& b, size_t pos, uint16_t v) {
  b[pos] = uint8_t(v >> 8);
  b[pos + 1] = uint8_t(v);
}

void put48(std::vector<uint8_t>& b, size_t pos, uint64_t mac) {
  for (int i = 0; i < 6; ++i) b[pos + i] = uint8_t(mac >> (40 - 8 * i));
}

}  // namespace

struct GateModel::View {
  bool valid = false, final = false;
  uint8_t gen = 0, flags = 0;
  uint64_t ulPkts = 0, ulBytes = 0, dlPkts = 0, dlBytes = 0;
  uint32_t last = 0, installed = 0, exported = 0;
  r::ExportReason reason = r::ExportReason::kNone;
};

GateModel::GateModel()
    : flow_(2 * kBuckets * kSlots), port_(kEntries), cntUl_(kEntries), cntDl_(kEntries),
      scan_(kEntries) {}

void GateModel::count(Counter& c, uint8_t gen, uint16_t bytes, uint32_t tick, uint8_t flags) {
  if (c.gen != gen) c = {gen, 0, 0, 0, 0};
  c.pkts += 1;
  c.bytes += bytes;
  c.last = tick;
  c.flags |= flags;
}

GateModel::View GateModel::view(uint32_t idx, uint32_t now) const {
  View v;
  const auto& w = port_[idx].w;
  v.valid = flag(w, r::PortFlag::kValid);
  v.gen = uint8_t(field(w, r::port_entry::kGen));
  v.installed = scan_[idx].installed;
  v.exported = scan_[idx].exported;
  v.final = scan_[idx].final;
  const Counter& ul = cntUl_[idx];
  const Counter& dl = cntDl_[idx];
  bool ulLive = ul.gen == v.gen, dlLive = dl.gen == v.gen;
  if (ulLive) {
    v.ulPkts = ul.pkts;
    v.ulBytes = ul.bytes;
    v.flags |= ul.flags;
  }
  if (dlLive) {
    v.dlPkts = dl.pkts;
    v.dlBytes = dl.bytes;
    v.flags |= dl.flags;
  }
  v.last = v.installed;
  if (ulLive && later(ul.last, v.last)) v.last = ul.last;
  if (dlLive && later(dl.last, v.last)) v.last = dl.last;
  if (v.valid && !v.final) {
    if (v.flags) v.reason = r::ExportReason::kClosed;
    else if (idleTicks_ && now - v.last > idleTicks_) v.reason = r::ExportReason::kIdle;
    else if (interimTicks_ && now - v.exported > interimTicks_) v.reason = r::ExportReason::kInterim;
  }
  return v;
}

void GateModel::writeReg(uint32_t addr, uint32_t v, uint32_t tick) {
  switch (addr) {
    case r::ctrl::kAccessIpv4: accessIp_ = v; return;
    case r::ctrl::kOwnMacLo: ownMacLo_ = v; return;
    case r::ctrl::kOwnMacHi: ownMacHi_ = v & 0xffff; return;
    case r::ctrl::kSvcMacLo: svcMacLo_ = v; return;
    case r::ctrl::kSvcMacHi: svcMacHi_ = v & 0xffff; return;
    case r::ctrl::kAccMacLo: accMacLo_ = v; return;
    case r::ctrl::kAccMacHi: accMacHi_ = v & 0xffff; return;
    case r::ctrl::kOuterTtl: outerTtl_ = v & 0xff; return;
    case r::ctrl::kTickShift: tickShift_ = v & 0x1f; return;
    case r::ctrl::kPuntRate: puntRate_ = v; return;
    case r::ctrl::kPuntBurst: puntBurst_ = v & 0xffff; return;
    case r::flow::kAddr: flowAddr_ = v; return;
    case r::flow::kValue: flowVal_ = v; return;
    case r::flow::kCmd: {
      bool commit = r::flow::kCmdCommit.get(v), read = r::flow::kCmdRead.get(v);
      if (!commit && !read) return;
      uint32_t bank = r::flow::kAddrBank.get(flowAddr_);
      uint32_t bucket = r::flow::kAddrBucket.get(flowAddr_) & (kBuckets - 1);
      uint32_t slot = r::flow::kAddrSlot.get(flowAddr_) & (kSlots - 1);
      FlowSlot& s = flow_[(bank * kBuckets + bucket) * kSlots + slot];
      if (commit) {
        s.valid = r::flow::kValueValid.get(flowVal_);
        s.val = flowVal_ & 0x3ffff;
        uint32_t words[4] = {flowKey_[0], flowKey_[1], flowKey_[2], 0};
        for (int i = 0; i < 3; ++i)
          for (int b = 0; b < 4; ++b) s.key[4 * i + b] = uint8_t(words[i] >> (24 - 8 * b));
        s.key[12] = uint8_t(flowKey_[4]);
        for (int b = 0; b < 4; ++b) s.key[13 + b] = uint8_t(flowKey_[3] >> (24 - 8 * b));
      } else {
        auto be32 = [&](int at) {
          return (uint32_t(s.key[at]) << 24) | (uint32_t(s.key[at + 1]) << 16) |
                 (uint32_t(s.key[at + 2]) << 8) | s.key[at + 3];
        };
        flowRkey_ = {be32(0), be32(4), be32(8), be32(13), s.key[12]};
        flowRval_ = r::flow::kValueValid.put(s.valid) | s.val;
      }
      return;
    }
    case r::port::kIndex: portIndex_ = v; return;
    case r::port::kCmd: {
      uint32_t idx = (r::port::kIndexAddrIndex.get(portIndex_) % kAddrs) << kPortsLog2 |
                     (r::port::kIndexPort.get(portIndex_) & kPortMask);
      if (r::port::kCmdCommit.get(v)) {
        Entry& e = port_[idx];
        bool reset = !flag(e.w, r::PortFlag::kValid) ||
                     field(e.w, r::port_entry::kGen) != ((portData_[0] >> 16) & 0xff);
        e.w = portData_;
        if (reset) scan_[idx] = {tick, tick, false};
      }
      if (r::port::kCmdRead.get(v)) {
        View vw = view(idx, tick);
        portRdata_ = port_[idx].w;
        cUlPkts_ = vw.ulPkts;
        cUlBytes_ = vw.ulBytes;
        cDlPkts_ = vw.dlPkts;
        cDlBytes_ = vw.dlBytes;
        cLast_ = vw.last;
        cFlags_ = r::port::kCFlagsFin.put(vw.flags & 1) | r::port::kCFlagsRst.put(vw.flags >> 1) |
                  r::port::kCFlagsFinal.put(vw.final);
      }
      return;
    }
    case r::scan::kCtrl: scanCtrl_ = v & 1; return;
    case r::scan::kIdleTicks: idleTicks_ = v; return;
    case r::scan::kInterimTicks: interimTicks_ = v; return;
    default: break;
  }
  for (uint32_t i = 0; i < 5; ++i)
    if (addr == r::flow::kKey0 + 4 * i) flowKey_[i] = v;
  for (uint32_t i = 0; i < 4; ++i)
    if (addr == r::ctrl::kNatIpv4 + 4 * i) natIp_[i] = v;
  for (uint32_t i = 0; i < 8; ++i)
    if (addr == r::port::kData + 4 * i) portData_[i] = v;
}

uint32_t GateModel::readReg(uint32_t addr) {
  switch (addr) {
    case r::ctrl::kId: return r::ctrl::kIdValue;
    case r::ctrl::kVersion: return r::ctrl::kVersionValue;
    case r::ctrl::kRegmap: return r::kRegmapCrc;
    case r::ctrl::kAccessIpv4: return accessIp_;
    case r::ctrl::kOwnMacLo: return ownMacLo_;
    case r::ctrl::kOwnMacHi: return ownMacHi_;
    case r::ctrl::kSvcMacLo: return svcMacLo_;
    case r::ctrl::kSvcMacHi: return svcMacHi_;
    case r::ctrl::kAccMacLo: return accMacLo_;
    case r::ctrl::kAccMacHi: return accMacHi_;
    case r::ctrl::kOuterTtl: return outerTtl_;
    case r::ctrl::kTickShift: return tickShift_;
    case r::ctrl::kPuntRate: return puntRate_;
    case r::ctrl::kPuntBurst: return puntBurst_;
    case r::stats::kId: return r::stats::kIdValue;
    case r::stats::kVersion: return r::stats::kVersionValue;
    case r::stats::kCount: return r::kStatCount;
    case r::flow::kId: return r::flow::kIdValue;
    case r::flow::kVersion: return r::flow::kVersionValue;
    case r::flow::kGeometry:
      return r::flow::kGeometryBanks.put(2) | r::flow::kGeometrySlots.put(kSlots) |
             r::flow::kGeometryBucketsLog2.put(r::kFlowBucketsLog2);
    case r::flow::kAddr: return flowAddr_;
    case r::flow::kValue: return flowVal_;
    case r::flow::kRvalue: return flowRval_;
    case r::port::kId: return r::port::kIdValue;
    case r::port::kVersion: return r::port::kVersionValue;
    case r::port::kGeometry:
      return r::port::kGeometryAddrs.put(kAddrs) | r::port::kGeometryPortsLog2.put(kPortsLog2);
    case r::port::kStatus: return 0;
    case r::port::kIndex: return portIndex_;
    case r::port::kCUlPktsLo: return uint32_t(cUlPkts_);
    case r::port::kCUlPktsHi: return uint32_t(cUlPkts_ >> 32);
    case r::port::kCUlBytesLo: return uint32_t(cUlBytes_);
    case r::port::kCUlBytesHi: return uint32_t(cUlBytes_ >> 32);
    case r::port::kCDlPktsLo: return uint32_t(cDlPkts_);
    case r::port::kCDlPktsHi: return uint32_t(cDlPkts_ >> 32);
    case r::port::kCDlBytesLo: return uint32_t(cDlBytes_);
    case r::port::kCDlBytesHi: return uint32_t(cDlBytes_ >> 32);
    case r::port::kCLastSeen: return cLast_;
    case r::port::kCFlags: return cFlags_;
    case r::scan::kId: return r::scan::kIdValue;
    case r::scan::kVersion: return r::scan::kVersionValue;
    case r::scan::kCtrl: return scanCtrl_;
    case r::scan::kIdleTicks: return idleTicks_;
    case r::scan::kInterimTicks: return interimTicks_;
    default: break;
  }
  for (uint32_t i = 0; i < 5; ++i) {
    if (addr == r::flow::kKey0 + 4 * i) return flowKey_[i];
    if (addr == r::flow::kRkey0 + 4 * i) return flowRkey_[i];
  }
  for (uint32_t i = 0; i < 4; ++i)
    if (addr == r::ctrl::kNatIpv4 + 4 * i) return natIp_[i];
  for (uint32_t i = 0; i < 8; ++i) {
    if (addr == r::port::kData + 4 * i) return portData_[i];
    if (addr == r::port::kRdata + 4 * i) return portRdata_[i];
  }
  for (uint32_t i = 0; i < r::kStatCount; ++i) {
    if (addr == r::stats::kLo + r::stats::kLoStride * i) {
      statHi_ = uint32_t(stats_[i] >> 32);
      return uint32_t(stats_[i]);
    }
    if (addr == r::stats::kHi + r::stats::kHiStride * i) return statHi_;
  }
  return 0;
}

GateOutput GateModel::uplink(std::span<const uint8_t> frame, bool rxError, uint32_t tick,
                             bool injected) {
  GateOutput out;
  FrameIngress in = frameIngress(frame, kMaxBeats);
  if (!injected) {
    bump(Stat::kUlRxBytes, in.rxBytes);
    bump(Stat::kUlRxFrames);
  }
  HdrMeta ao = parseHeaders(in.win, in.winEnd, r::kParserMaxExt);
  IpMeta ai = parseInner(in.win, in.winEnd, ao.innerOff);

  std::array<uint8_t, 17> key{};
  for (int b = 0; b < 4; ++b) {
    key[b] = uint8_t(ao.teid >> (24 - 8 * b));
    key[4 + b] = uint8_t(ai.src >> (24 - 8 * b));
    key[8 + b] = uint8_t(ai.dst >> (24 - 8 * b));
  }
  key[12] = ai.proto;
  key[13] = uint8_t(ai.sport >> 8);
  key[14] = uint8_t(ai.sport);
  key[15] = uint8_t(ai.dport >> 8);
  key[16] = uint8_t(ai.dport);
  uint32_t h0 = crc32c(key), h1 = crc32(key);
  bool hit = false;
  uint32_t val = 0;
  for (uint32_t w = 0; w < 2 * kSlots && !hit; ++w) {
    uint32_t bank = w / kSlots, slot = w % kSlots;
    uint32_t bucket = (bank == 0 ? h0 : h1) & (kBuckets - 1);
    const FlowSlot& s = flow_[(bank * kBuckets + bucket) * kSlots + slot];
    if (s.valid && s.key == key) {
      hit = true;
      val = s.val;
    }
  }
  uint32_t idx = ((val >> 16) % kAddrs) << kPortsLog2 | (val & kPortMask);
  const auto& ew = port_[idx].w;
  bool eValid = flag(ew, r::PortFlag::kValid), eAllow = flag(ew, r::PortFlag::kAllow);
  bool ext = flag(ew, r::PortFlag::kExternal);
  uint8_t gen = uint8_t(field(ew, r::port_entry::kGen));

  enum Act { kDrop, kFwd, kPunt } act = kDrop;
  Stat st = Stat::kUlRxFrames;
  uint8_t reason = 0;
  auto punt = [&](r::PuntReason pr) {
    act = kPunt;
    reason = uint8_t(pr);
  };
  bool gpdu = ao.isGtpu && ao.gtpType == 0xff && ao.teid != 0;
  uint32_t needLen = ao.isIpv4 ? (uint32_t(ao.l3Off) + ao.ipTotalLen) & 0xffff : 0;
  uint32_t outerEnd = uint32_t(ao.l3Off) + ao.ipTotalLen;
  uint32_t innerEnd = uint32_t(ao.innerOff) + ai.totLen;
  if (ao.truncated) st = Stat::kDropTruncated;
  else if (ao.malformed) st = Stat::kDropMalformed;
  else if (ao.isArp) punt(r::PuntReason::kArp);
  else if (ao.isIpv6) punt(r::PuntReason::kIpv6);
  else if (!ao.isIpv4) st = Stat::kDropUnsupported;
  else if (ao.ipDst != accessIp_) st = Stat::kDropNotGtpu;
  else if (ao.ipFrag) punt(r::PuntReason::kFragment);
  else if (!ao.isGtpu) punt(r::PuntReason::kOwnAddress);
  else if (ao.gtpType != 0xff) punt(r::PuntReason::kGtpSignalling);
  else if (!gpdu) punt(r::PuntReason::kTeidZero);
  else if (ai.trunc) st = Stat::kDropTruncated;
  else if (ao.extOverflow || ai.beyond || !ai.ok) punt(r::PuntReason::kInnerUnsupported);
  else if (innerEnd > outerEnd) st = Stat::kDropMalformed;
  else if (ai.frag) punt(r::PuntReason::kFragment);
  else if (!ai.l4Ok) punt(r::PuntReason::kInnerUnsupported);
  else if (ai.ttl <= 1) punt(r::PuntReason::kTtlExpired);
  else if (!hit || !eValid) punt(r::PuntReason::kFlowMiss);
  else if (!eAllow) st = Stat::kUlDenied;
  else {
    act = kFwd;
    st = Stat::kUlHits;
  }

  if (rxError) {
    act = kDrop;
    st = Stat::kDropRxError;
  } else if (in.oversize) {
    act = kDrop;
    st = Stat::kDropOversize;
  } else if (act != kDrop && in.len < needLen) {
    act = kDrop;
    st = Stat::kDropTruncated;
  }
  out.stat = st;
  if (act == kDrop) {
    bump(st);
    return out;
  }
  if (act == kPunt) {
    bump(Stat::kPuntFrames);
    out.port = GatePort::kPunt;
    out.puntReason = reason;
    out.puntTeid = ao.isGtpu ? ao.teid : 0;
    out.puntInnerOffset = ao.isGtpu ? ao.innerOff : 0;
    out.stat = Stat::kPuntFrames;
    out.bytes = realignFrame({}, frame, 0, in.len, in.len, {});
    return out;
  }

  // Decapsulate and rewrite.
  bool icmp = ai.proto == 1;
  uint32_t nsrc = natIp_[idx >> kPortsLog2];
  uint16_t nsport = uint16_t(idx & kPortMask);
  uint32_t ndst = ext ? ai.dst : field(ew, r::port_entry::kServerIpv4);
  uint16_t ndport = (ext || icmp) ? ai.dport : uint16_t(field(ew, r::port_entry::kServerPort));
  uint8_t ttl = uint8_t(ai.ttl - 1);
  uint16_t ipcs = csumUpdate32(csumUpdate32(csumUpdate16(ai.ipCsum, uint16_t(ai.ttl << 8 | ai.proto),
                                                         uint16_t(ttl << 8 | ai.proto)),
                                            ai.src, nsrc),
                               ai.dst, ndst);
  uint16_t l4cs;
  if (icmp) {
    l4cs = csumUpdate16(ai.l4Csum, ai.sport, nsport);
  } else {
    l4cs = csumUpdate16(csumUpdate16(csumUpdate32(csumUpdate32(ai.l4Csum, ai.src, nsrc), ai.dst, ndst),
                                     ai.sport, nsport),
                        ai.dport, ndport);
    if (ai.proto == 17 && l4cs == 0) l4cs = 0xffff;
  }
  uint8_t l4 = uint8_t(14 + 4 * ai.ihl);
  std::vector<Patch> p = {
      {true, 22, uint16_t(ttl << 8 | ai.proto)}, {true, 24, ipcs},
      {true, 26, uint16_t(nsrc >> 16)},          {true, 28, uint16_t(nsrc)},
      {true, 30, uint16_t(ndst >> 16)},          {true, 32, uint16_t(ndst)}};
  if (icmp) {
    p.push_back({true, uint8_t(l4 + 4), nsport});
    p.push_back({true, uint8_t(l4 + 2), l4cs});
  } else {
    p.push_back({true, l4, nsport});
    p.push_back({true, uint8_t(l4 + 2), ndport});
    if (ai.proto == 6) p.push_back({true, uint8_t(l4 + 16), l4cs});
    else p.push_back({ai.l4Csum != 0, uint8_t(l4 + 6), l4cs});
  }
  std::vector<uint8_t> hdr(14, 0);
  put48(hdr, 0, (uint64_t(svcMacHi_) << 32) | svcMacLo_);
  put48(hdr, 6, (uint64_t(ownMacHi_) << 32) | ownMacLo_);
  put16(hdr, 12, 0x0800);
  uint32_t outLen = ai.totLen < 46 ? 60 : uint32_t(ai.totLen + 14) & 0xffff;
  out.bytes = realignFrame(hdr, frame, ao.innerOff, ai.totLen, outLen, p);
  out.port = GatePort::kService;
  bump(Stat::kUlTxFrames);
  bump(Stat::kUlTxBytes, outLen);
  bump(st);
  uint8_t flags = ai.proto == 6 ? uint8_t(((ai.tcpFlags >> 2) & 1) << 1 | (ai.tcpFlags & 1)) : 0;
  count(cntUl_[idx], gen, ai.totLen, tick, flags);
  return out;
}

GateOutput GateModel::downlink(std::span<const uint8_t> frame, bool rxError, uint32_t tick) {
  GateOutput out;
  FrameIngress in = frameIngress(frame, kMaxBeats);
  bump(Stat::kDlRxBytes, in.rxBytes);
  bump(Stat::kDlRxFrames);
  HdrMeta mo = parseHeaders(in.win, in.winEnd, 0);
  IpMeta mi = parseInner(in.win, in.winEnd, mo.l3Off);

  bool addrHit = false;
  uint32_t addr = 0;
  for (int i = int(kAddrs) - 1; i >= 0; --i) {
    if (mi.dst == natIp_[i]) {
      addrHit = true;
      addr = uint32_t(i);
    }
  }
  bool icmp = mi.proto == 1;
  uint16_t port = icmp ? mi.sport : mi.dport;
  bool portOk = (port >> kPortsLog2) == 0;
  uint32_t idx = addr << kPortsLog2 | (port & kPortMask);
  const auto& ew = port_[idx].w;
  bool ext = flag(ew, r::PortFlag::kExternal);
  uint32_t srvIp = field(ew, r::port_entry::kServerIpv4);
  uint16_t srvPort = uint16_t(field(ew, r::port_entry::kServerPort));
  uint32_t vip = field(ew, r::port_entry::kVipIpv4);
  uint16_t vport = uint16_t(field(ew, r::port_entry::kVipPort));
  uint32_t term = field(ew, r::port_entry::kTermIpv4);
  uint16_t tport = uint16_t(field(ew, r::port_entry::kTermPort));
  uint32_t peer = field(ew, r::port_entry::kPeerIpv4);
  uint32_t teid = field(ew, r::port_entry::kDlTeid);
  uint8_t gen = uint8_t(field(ew, r::port_entry::kGen));
  bool qfiValid = flag(ew, r::PortFlag::kQfiValid);
  uint8_t qfi = uint8_t(field(ew, r::port_entry::kQfi) & 0x3f);

  // ARP after the Ethernet header (and its tag): IPv4 over Ethernet for a gate address goes
  // to the host. 0.0.0.0 is an unconfigured address, for which no ARP is.
  auto w8 = [&](uint32_t i) -> uint32_t { return i < in.win.size() ? in.win[i] : 0; };
  uint32_t l3 = mo.l3Off;
  bool arpShort = in.win.size() < l3 + 28;
  bool arpIp = (w8(l3 + 2) << 8 | w8(l3 + 3)) == 0x0800 && w8(l3 + 4) == 6 && w8(l3 + 5) == 4;
  uint32_t tpa = w8(l3 + 24) << 24 | w8(l3 + 25) << 16 | w8(l3 + 26) << 8 | w8(l3 + 27);
  bool arpHit = false;
  for (uint32_t i = 0; i < kAddrs; ++i) arpHit |= arpIp && natIp_[i] != 0 && tpa == natIp_[i];

  enum Act { kDrop, kFwd, kPunt } act = kDrop;
  Stat st = Stat::kDlRxFrames;
  uint32_t needLen = (uint32_t(mo.l3Off) + mi.totLen) & 0xffff;
  if (mo.truncated) st = Stat::kDropTruncated;
  else if (mo.isArp) {
    needLen = l3 + 28;
    if (arpShort) st = Stat::kDropTruncated;
    else if (arpHit) act = kPunt;
    else st = Stat::kDlArpNotForUs;
  } else if (!mo.isIpv4) st = Stat::kDropUnsupported;
  else if (mi.trunc) st = Stat::kDropTruncated;
  else if (!mi.ok) st = Stat::kDropMalformed;
  else if (!addrHit) st = Stat::kDlNotForUs;
  else if (mi.beyond || mi.frag || !mi.l4Ok || (icmp && mi.icmpType != 0)) st = Stat::kDropUnsupported;
  else if (!portOk || !flag(ew, r::PortFlag::kValid)) st = Stat::kDlUnknownPort;
  else if (field(ew, r::port_entry::kProto) != mi.proto ||
           (!ext && (mi.src != srvIp || (!icmp && mi.sport != srvPort))) ||
           (ext && flag(ew, r::PortFlag::kFilterAddr) && mi.src != srvIp))
    st = Stat::kDlMismatch;
  else if (!flag(ew, r::PortFlag::kAllow)) st = Stat::kDlDenied;
  else if (mi.ttl <= 1) st = Stat::kDlTtlExpired;
  else {
    act = kFwd;
    st = Stat::kDlHits;
  }
  if (rxError) {
    act = kDrop;
    st = Stat::kDropRxError;
  } else if (in.oversize) {
    act = kDrop;
    st = Stat::kDropOversize;
  } else if (act != kDrop && in.len < needLen) {
    act = kDrop;
    st = Stat::kDropTruncated;
  }
  if (act == kPunt) {
    bump(Stat::kPuntFrames);
    out.port = GatePort::kPunt;
    out.puntReason = uint8_t(r::PuntReason::kArp);
    out.puntIngress = uint8_t(r::IngressPort::kService);
    out.stat = Stat::kPuntFrames;
    out.bytes = realignFrame({}, frame, 0, in.len, in.len, {});
    return out;
  }
  out.stat = st;
  bump(st);
  if (act != kFwd) return out;

  uint32_t nsrc = ext ? mi.src : vip;
  uint16_t nsport = (ext || icmp) ? mi.sport : vport;
  uint32_t ndst = term;
  uint16_t ndport = icmp ? mi.dport : tport;
  uint8_t ttl = uint8_t(mi.ttl - 1);
  uint16_t ipcs = csumUpdate32(csumUpdate32(csumUpdate16(mi.ipCsum, uint16_t(mi.ttl << 8 | mi.proto),
                                                         uint16_t(ttl << 8 | mi.proto)),
                                            mi.src, nsrc),
                               mi.dst, ndst);
  uint16_t l4cs;
  if (icmp) {
    l4cs = csumUpdate16(mi.l4Csum, mi.sport, tport);
  } else {
    l4cs = csumUpdate16(csumUpdate16(csumUpdate32(csumUpdate32(mi.l4Csum, mi.src, nsrc), mi.dst, ndst),
                                     mi.sport, nsport),
                        mi.dport, ndport);
    if (mi.proto == 17 && l4cs == 0) l4cs = 0xffff;
  }
  uint32_t h = qfiValid ? 58 : 50;
  uint8_t l4 = uint8_t(h + 4 * mi.ihl);
  std::vector<Patch> p = {
      {true, uint8_t(h + 8), uint16_t(ttl << 8 | mi.proto)}, {true, uint8_t(h + 10), ipcs},
      {true, uint8_t(h + 12), uint16_t(nsrc >> 16)},         {true, uint8_t(h + 14), uint16_t(nsrc)},
      {true, uint8_t(h + 16), uint16_t(ndst >> 16)},         {true, uint8_t(h + 18), uint16_t(ndst)}};
  if (icmp) {
    p.push_back({true, uint8_t(l4 + 4), tport});
    p.push_back({true, uint8_t(l4 + 2), l4cs});
  } else {
    p.push_back({true, l4, nsport});
    p.push_back({true, uint8_t(l4 + 2), ndport});
    if (mi.proto == 6) p.push_back({true, uint8_t(l4 + 16), l4cs});
    else p.push_back({mi.l4Csum != 0, uint8_t(l4 + 6), l4cs});
  }
  // The tunnel headers.
  uint16_t extLen = qfiValid ? 8 : 0;
  uint16_t ipTot = uint16_t(mi.totLen + 36 + extLen);
  std::vector<uint8_t> hdr(h, 0);
  put48(hdr, 0, (uint64_t(accMacHi_) << 32) | accMacLo_);
  put48(hdr, 6, (uint64_t(ownMacHi_) << 32) | ownMacLo_);
  put16(hdr, 12, 0x0800);
  put16(hdr, 14, 0x4500);
  put16(hdr, 16, ipTot);
  put16(hdr, 20, 0x4000);
  put16(hdr, 22, uint16_t(outerTtl_ << 8 | 17));
  put16(hdr, 26, uint16_t(accessIp_ >> 16));
  put16(hdr, 28, uint16_t(accessIp_));
  put16(hdr, 30, uint16_t(peer >> 16));
  put16(hdr, 32, uint16_t(peer));
  uint16_t sum = onesAdd(0x4500, ipTot);
  for (uint16_t w : {uint16_t(0x4000), uint16_t(outerTtl_ << 8 | 17), uint16_t(accessIp_ >> 16),
                     uint16_t(accessIp_), uint16_t(peer >> 16), uint16_t(peer)})
    sum = onesAdd(sum, w);
  put16(hdr, 24, uint16_t(~sum));
  put16(hdr, 34, 2152);
  put16(hdr, 36, 2152);
  put16(hdr, 38, uint16_t(mi.totLen + 16 + extLen));
  put16(hdr, 42, uint16_t((qfiValid ? 0x34 : 0x30) << 8 | 0xff));
  put16(hdr, 44, uint16_t(mi.totLen + extLen));
  put16(hdr, 46, uint16_t(teid >> 16));
  put16(hdr, 48, uint16_t(teid));
  if (qfiValid) {
    put16(hdr, 52, 0x0085);
    put16(hdr, 54, 0x0100);
    put16(hdr, 56, uint16_t(qfi << 8));
  }
  uint32_t outLen = (h + mi.totLen) & 0xffff;
  out.bytes = realignFrame(hdr, frame, mo.l3Off, mi.totLen, outLen, p);
  out.port = GatePort::kAccess;
  bump(Stat::kDlTxFrames);
  bump(Stat::kDlTxBytes, outLen);
  uint8_t flags = mi.proto == 6 ? uint8_t(((mi.tcpFlags >> 2) & 1) << 1 | (mi.tcpFlags & 1)) : 0;
  count(cntDl_[idx], gen, mi.totLen, tick, flags);
  return out;
}

GateOutput GateModel::inject(std::span<const uint8_t> frame, uint8_t code, uint32_t tick) {
  GateOutput out;
  if (frame.empty() || frame.size() > r::kMaxFrameBytes || code >= r::kInjectPortCount) return out;
  switch (r::InjectPort(code)) {
    case r::InjectPort::kUplink: return uplink(frame, false, tick, true);
    case r::InjectPort::kAccessOut: out.port = GatePort::kAccess; break;
    case r::InjectPort::kServiceOut: out.port = GatePort::kService; break;
  }
  out.bytes.assign(frame.begin(), frame.end());
  return out;
}

std::vector<GateExportRecord> GateModel::scanPass(uint32_t now) {
  namespace x = r::export_record;
  std::vector<GateExportRecord> recs;
  for (uint32_t idx = 0; idx < kEntries; ++idx) {
    View v = view(idx, now);
    if (v.reason == r::ExportReason::kNone) continue;
    GateExportRecord rec{};
    x::kReason.putLe(rec.data(), uint32_t(v.reason));
    x::kFlags.putLe(rec.data(), v.flags);
    x::kPort.putLe(rec.data(), idx & kPortMask);
    x::kAddrIndex.putLe(rec.data(), idx >> kPortsLog2);
    x::kGen.putLe(rec.data(), v.gen);
    x::kLastSeen.putLe(rec.data(), v.last);
    x::kNow.putLe(rec.data(), now);
    x::kUlPkts.putLe(rec.data(), v.ulPkts);
    x::kUlBytes.putLe(rec.data(), v.ulBytes);
    x::kDlPkts.putLe(rec.data(), v.dlPkts);
    x::kDlBytes.putLe(rec.data(), v.dlBytes);
    recs.push_back(rec);
    scan_[idx] = {v.installed, now, v.reason != r::ExportReason::kInterim};
    bump(Stat::kExportRecords);
  }
  bump(Stat::kScanPasses);
  return recs;
}

}  // namespace roamgate::model
