#include "steer_model.h"

#include <algorithm>

#include "hdr_parse.h"
#include "roamgate/checksum.h"
#include "roamgate/hash.h"

namespace roamgate::model {

namespace r = regs::steer;
using r::Stat;

SteerModel::SteerModel() : sess_(2 * kBuckets * kSlots), maglev_(kMaglevWords, 0) {}

void SteerModel::writeReg(uint32_t addr, uint32_t v) {
  switch (addr) {
    case r::ctrl::kOwnIpv4: ownIp_ = v; break;
    case r::ctrl::kOwnMacLo: ownMacLo_ = v; break;
    case r::ctrl::kOwnMacHi: ownMacHi_ = r::ctrl::kOwnMacHiMacHi.get(v); break;
    case r::ctrl::kPuntRate: puntRate_ = v; break;
    case r::ctrl::kPuntBurst: puntBurst_ = v & 0xffff; break;
    case r::sess::kAddr: sessAddr_ = v; break;
    case r::sess::kData0: sessData0_ = v; break;
    case r::sess::kData1: sessData1_ = v; break;
    case r::sess::kCmd: {
      bool commit = r::sess::kCmdCommit.get(v), read = r::sess::kCmdRead.get(v);
      if (!commit && !read) break;
      uint32_t bank = r::sess::kAddrBank.get(sessAddr_);
      uint32_t bucket = r::sess::kAddrBucket.get(sessAddr_) & (kBuckets - 1);
      uint32_t slot = r::sess::kAddrSlot.get(sessAddr_) & (kSlots - 1);
      SessSlot& s = sess_[(bank * kBuckets + bucket) * kSlots + slot];
      if (commit) {
        s = {bool(r::sess::kData1Valid.get(sessData1_)), sessData0_,
             uint8_t(r::sess::kData1Gateway.get(sessData1_))};
      } else {
        sessR0_ = s.teid;
        sessR1_ = r::sess::kData1Valid.put(s.valid) | r::sess::kData1Gateway.put(s.gw);
      }
      break;
    }
    case r::maglev::kAddr: magAddr_ = v; break;
    case r::maglev::kWdataInc:
      if (magAddr_ % (1u << 15) < kMaglevWords) maglev_[magAddr_ % (1u << 15)] = v;
      magAddr_ += 1;
      break;
    case r::maglev::kCmd:
      if (r::maglev::kCmdRead.get(v) && magAddr_ % (1u << 15) < kMaglevWords) magRdata_ = maglev_[magAddr_ % (1u << 15)];
      break;
    case r::gw::kAddr: gwAddr_ = v; break;
    case r::gw::kData0: gwData0_ = v; break;
    case r::gw::kData1: gwData1_ = v; break;
    case r::gw::kData2: gwData2_ = v; break;
    case r::gw::kCmd: {
      bool commit = r::gw::kCmdCommit.get(v), read = r::gw::kCmdRead.get(v);
      if (!commit && !read) break;
      Gateway& g = gws_[gwAddr_ % r::kGateways];
      if (commit) {
        g = {bool(r::gw::kData2Valid.get(gwData2_)), gwData0_,
             (uint64_t(r::gw::kData2MacHi.get(gwData2_)) << 32) | gwData1_};
      } else {
        gwR0_ = g.ip;
        gwR1_ = uint32_t(g.mac);
        gwR2_ = r::gw::kData2Valid.put(g.valid) | r::gw::kData2MacHi.put(g.mac >> 32);
      }
      break;
    }
    case r::gw::kCntIndex:
      gwCntIdx_ = v;
      snapPkts_ = gwCnt_[v % r::kGateways][0];
      snapBytes_ = gwCnt_[v % r::kGateways][1];
      break;
    default: break;
  }
}

uint32_t SteerModel::readReg(uint32_t addr) {
  switch (addr) {
    case r::ctrl::kId: return r::ctrl::kIdValue;
    case r::ctrl::kVersion: return r::ctrl::kVersionValue;
    case r::ctrl::kRegmap: return r::kRegmapCrc;
    case r::ctrl::kOwnIpv4: return ownIp_;
    case r::ctrl::kOwnMacLo: return ownMacLo_;
    case r::ctrl::kOwnMacHi: return r::ctrl::kOwnMacHiMacHi.put(ownMacHi_);
    case r::ctrl::kPuntRate: return puntRate_;
    case r::ctrl::kPuntBurst: return puntBurst_;
    case r::stats::kId: return r::stats::kIdValue;
    case r::stats::kVersion: return r::stats::kVersionValue;
    case r::stats::kCount: return r::kStatCount;
    case r::sess::kId: return r::sess::kIdValue;
    case r::sess::kVersion: return r::sess::kVersionValue;
    case r::sess::kGeometry:
      return r::sess::kGeometryBanks.put(2) | r::sess::kGeometrySlots.put(kSlots) |
             r::sess::kGeometryBucketsLog2.put(r::kSessionBucketsLog2);
    case r::sess::kAddr: return sessAddr_;
    case r::sess::kData0: return sessData0_;
    case r::sess::kData1: return sessData1_;
    case r::sess::kRdata0: return sessR0_;
    case r::sess::kRdata1: return sessR1_;
    case r::maglev::kId: return r::maglev::kIdValue;
    case r::maglev::kVersion: return r::maglev::kVersionValue;
    case r::maglev::kSize: return r::kMaglevEntries;
    case r::maglev::kAddr: return magAddr_;
    case r::maglev::kRdata: return magRdata_;
    case r::gw::kId: return r::gw::kIdValue;
    case r::gw::kVersion: return r::gw::kVersionValue;
    case r::gw::kCount: return r::kGateways;
    case r::gw::kAddr: return gwAddr_;
    case r::gw::kData0: return gwData0_;
    case r::gw::kData1: return gwData1_;
    case r::gw::kData2: return gwData2_;
    case r::gw::kRdata0: return gwR0_;
    case r::gw::kRdata1: return gwR1_;
    case r::gw::kRdata2: return gwR2_;
    case r::gw::kCntIndex: return gwCntIdx_;
    case r::gw::kCntPktsLo: return uint32_t(snapPkts_);
    case r::gw::kCntPktsHi: return uint32_t(snapPkts_ >> 32);
    case r::gw::kCntBytesLo: return uint32_t(snapBytes_);
    case r::gw::kCntBytesHi: return uint32_t(snapBytes_ >> 32);
    default: break;
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

SteerOutput SteerModel::process(std::span<const uint8_t> frame, bool rxError) {
  SteerOutput out;
  // Ingress: counters and the true length as the RTL adds them; decision on the window.
  FrameIngress in = frameIngress(frame, kMaxBeats);
  bump(Stat::kRxBytes, in.rxBytes);
  bump(Stat::kRxFrames);
  uint32_t len = in.len;
  bool oversize = in.oversize;
  HdrMeta m = parseHeaders(in.win, in.winEnd, 0);

  uint32_t h0 = teidHash0(m.teid), h1 = teidHash1(m.teid);
  bool sessHit = false;
  uint8_t gwIdx = 0;
  for (uint32_t w = 0; w < 2 * kSlots && !sessHit; ++w) {
    uint32_t bank = w / kSlots, slot = w % kSlots;
    uint32_t bucket = (bank == 0 ? h0 : h1) & (kBuckets - 1);
    const SessSlot& s = sess_[(bank * kBuckets + bucket) * kSlots + slot];
    if (s.valid && s.teid == m.teid) {
      sessHit = true;
      gwIdx = s.gw;
    }
  }
  if (!sessHit) {
    uint32_t idx = maglevIndex(h0);
    gwIdx = uint8_t(maglev_[(idx >> 2) % kMaglevWords] >> (8 * (idx & 3)));
  }
  const Gateway& gw = gws_[gwIdx % r::kGateways];

  enum Act { kDrop, kFwd, kPunt } act = kDrop;
  Stat st = Stat::kRxFrames;
  uint8_t reason = 0;
  bool gpdu = m.isGtpu && m.gtpType == 0xff && m.teid != 0;
  uint32_t needLen = m.isIpv4 ? (uint32_t(m.l3Off) + m.ipTotalLen) & 0xffff : 0;
  auto punt = [&](r::PuntReason pr) {
    act = kPunt;
    reason = uint8_t(pr);
  };
  if (m.truncated) st = Stat::kDropTruncated;
  else if (m.malformed) st = Stat::kDropMalformed;
  else if (m.isArp) punt(r::PuntReason::kArp);
  else if (m.isIpv6) punt(r::PuntReason::kIpv6);
  else if (!m.isIpv4) st = Stat::kDropUnsupported;
  else if (m.ipFrag) punt(r::PuntReason::kFragment);
  else if (gpdu) {
    if (m.ttl <= 1) punt(r::PuntReason::kTtlExpired);
    else if (!gw.valid) st = Stat::kDropNoGateway;
    else {
      act = kFwd;
      st = sessHit ? Stat::kSessionHits : Stat::kMaglevHits;
    }
  } else if (m.ipDst == ownIp_) punt(r::PuntReason::kOwnAddress);
  else if (m.isGtpu && m.gtpType != 0xff) punt(r::PuntReason::kGtpSignalling);
  else if (m.isGtpu) punt(r::PuntReason::kTeidZero);
  else st = Stat::kDropNotGtpu;

  // Final verdict on the true length.
  if (rxError) {
    act = kDrop;
    st = Stat::kDropRxError;
  } else if (oversize) {
    act = kDrop;
    st = Stat::kDropOversize;
  } else if (act != kDrop && len < needLen) {
    act = kDrop;
    st = Stat::kDropTruncated;
  }

  out.stat = st;
  if (act == kDrop) {
    bump(st);
    return out;
  }
  out.bytes.assign(frame.begin(), frame.end());
  if (act == kPunt) {
    bump(Stat::kPuntFrames);
    out.port = OutPort::kPunt;
    out.puntReason = reason;
    out.stat = Stat::kPuntFrames;
    return out;
  }
  // Forward: rewrite MACs, TTL, destination, checksums.
  bump(Stat::kTxFrames);
  bump(Stat::kTxBytes, len);
  bump(st);
  gwCnt_[gwIdx][0] += 1;
  gwCnt_[gwIdx][1] += len;
  out.port = OutPort::kTx;
  std::vector<uint8_t>& f = out.bytes;
  auto put = [&](size_t pos, uint8_t v) {
    if (pos < f.size()) f[pos] = v;
  };
  uint64_t ownMac = (uint64_t(ownMacHi_) << 32) | ownMacLo_;
  for (int i = 0; i < 6; ++i) {
    put(i, uint8_t(gw.mac >> (40 - 8 * i)));
    put(6 + i, uint8_t(ownMac >> (40 - 8 * i)));
  }
  uint8_t ttl = uint8_t(m.ttl - 1);
  uint16_t ipCsum = csumUpdate16(m.ipCsum, uint16_t((m.ttl << 8) | m.ipProto),
                                 uint16_t((ttl << 8) | m.ipProto));
  ipCsum = csumUpdate32(ipCsum, m.ipDst, gw.ip);
  size_t l3 = m.l3Off;
  put(l3 + 8, ttl);
  put(l3 + 10, uint8_t(ipCsum >> 8));
  put(l3 + 11, uint8_t(ipCsum));
  for (int i = 0; i < 4; ++i) put(l3 + 16 + i, uint8_t(gw.ip >> (24 - 8 * i)));
  if (m.udpCsum != 0) {
    uint16_t uc = csumUpdate32(m.udpCsum, m.ipDst, gw.ip);
    if (uc == 0) uc = 0xffff;
    size_t pos = (m.l4Off + 6) & 0x7f;
    put(pos, uint8_t(uc >> 8));
    put(pos + 1, uint8_t(uc));
  }
  return out;
}

SteerOutput SteerModel::inject(std::span<const uint8_t> frame, uint8_t code) const {
  SteerOutput out;
  if (frame.empty() || frame.size() > r::kMaxFrameBytes || code >= r::kInjectPortCount) return out;
  switch (r::InjectPort(code)) {
    case r::InjectPort::kSteerOut: out.port = OutPort::kTx; break;
    case r::InjectPort::kAccessOut: out.port = OutPort::kAccess; break;
  }
  out.bytes.assign(frame.begin(), frame.end());
  return out;
}

}  // namespace roamgate::model
