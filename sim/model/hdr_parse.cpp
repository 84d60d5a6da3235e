#include "hdr_parse.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace roamgate::model {

HdrMeta parseHeaders(std::span<const uint8_t> in, bool winEnd, int maxExt) {
  std::array<uint8_t, kWinBytes> w{};
  size_t winLen = in.size() < kWinBytes ? in.size() : kWinBytes;
  std::memcpy(w.data(), in.data(), winLen);
  auto b8 = [&](unsigned i) -> uint32_t { return i < kWinBytes ? w[i] : 0; };
  auto b16 = [&](unsigned i) -> uint32_t { return (b8(i) << 8) | b8(i + 1); };

  HdrMeta m;
  // Stage 0: Ethernet and IPv4.
  m.vlan = b16(12) == 0x8100;
  uint32_t et = m.vlan ? b16(16) : b16(12);
  uint32_t l3 = m.vlan ? 18 : 14;
  m.l3Off = uint8_t(l3);
  m.isArp = et == 0x0806;
  m.isIpv6 = et == 0x86dd;
  m.isIpv4 = et == 0x0800;
  if (winLen < 14 || (m.vlan && winLen < 18)) {
    m.truncated = true;
    m.isArp = m.isIpv6 = m.isIpv4 = false;
  }
  m.ihl = b8(l3) & 0xf;
  m.ipTotalLen = uint16_t(b16(l3 + 2));
  m.ipFrag = (b8(l3 + 6) & 0x20) || (b16(l3 + 6) & 0x1fff);
  m.ttl = uint8_t(b8(l3 + 8));
  m.ipProto = uint8_t(b8(l3 + 9));
  m.ipCsum = uint16_t(b16(l3 + 10));
  m.ipDst = (b16(l3 + 16) << 16) | b16(l3 + 18);
  uint32_t l4 = (l3 + 4u * m.ihl) & 0xff;
  m.l4Off = uint8_t(l4 & 0x7f);
  if (m.isIpv4) {
    if (winLen < l3 + 20) {
      m.truncated = true;
    } else if ((b8(l3) >> 4) != 4 || m.ihl < 5 || m.ipTotalLen < 4u * m.ihl) {
      m.malformed = true;
    } else if (winLen < l4) {
      m.truncated = true;
    }
  }

  // Stage 1: UDP and GTP-U (the 20 bytes at l4 are read only at the 12 legal offsets).
  std::array<uint8_t, 20> h{};
  uint32_t l4o = m.l4Off;
  if (l4o >= 34 && l4o <= 78 && (l4o - 34) % 4 == 0) {
    for (int j = 0; j < 20; ++j) h[j] = uint8_t(b8(l4o + j));
  }
  auto h16 = [&](int i) -> uint32_t { return (uint32_t(h[i]) << 8) | h[i + 1]; };
  uint16_t l4Len = uint16_t(m.ipTotalLen - 4u * m.ihl);
  m.udpDport = uint16_t(h16(2));
  m.udpLen = uint16_t(h16(4));
  m.udpCsum = uint16_t(h16(6));
  uint8_t flags = h[8];
  m.gtpType = h[9];
  m.gtpLen = uint16_t(h16(10));
  m.teid = (h16(12) << 16) | h16(14);
  bool opt = (flags & 0x7) != 0;
  uint32_t extType = (flags & 0x4) ? h[19] : 0;
  uint32_t extOff = l4o + 20;
  m.innerOff = uint8_t(l4o + (opt ? 20 : 16));
  m.isUdp = m.isIpv4 && !m.truncated && !m.malformed && m.ipProto == 17 && !m.ipFrag;
  if (m.isUdp) {
    if (winLen < l4o + 8) {
      m.truncated = true;
    } else if (m.udpLen < 8 || m.udpLen > l4Len) {
      m.malformed = true;
    } else if (m.udpDport == 2152) {
      if (winLen < l4o + (opt ? 20 : 16)) {
        m.truncated = true;
      } else if ((flags >> 5) != 1 || !(flags & 0x10) || uint32_t(m.gtpLen) + 16 > m.udpLen ||
                 (opt && m.gtpLen < 4)) {
        m.malformed = true;
      } else {
        m.isGtpu = true;
      }
    }
  }
  if (!m.isGtpu) extType = 0;

  // Extension headers, one per stage.
  for (int e = 0; e < maxExt; ++e) {
    if (extType == 0) continue;
    uint32_t len = extOff < 128 ? b8(extOff) : 0;
    uint32_t extEnd = extOff + 4 * len;
    if (extOff >= winLen) {
      if (winEnd) m.truncated = true;
      else m.extOverflow = true;
      extType = 0;
    } else if (len == 0) {
      m.malformed = true;
      m.isGtpu = false;
      extType = 0;
    } else if (extEnd > winLen) {
      if (winEnd) {
        m.truncated = true;
        m.isGtpu = false;
      } else {
        m.extOverflow = true;
      }
      extType = 0;
    } else {
      if (extType == 0x85) {
        m.qfiValid = true;
        uint32_t q = (extOff + 2) & 0xff;
        m.qfi = uint8_t((q < 128 ? b8(q) : 0) & 0x3f);
      }
      uint32_t t = (extEnd - 1) & 0xff;
      extType = t < 128 ? b8(t) : 0;
      extOff = extEnd & 0xff;
      m.innerOff = uint8_t(extEnd & 0xff);
    }
  }
  if (extType != 0) m.extOverflow = true;
  return m;
}

}  // namespace roamgate::model

namespace roamgate::model {

IpMeta parseInner(std::span<const uint8_t> in, bool winEnd, unsigned off) {
  std::array<uint8_t, kWinBytes> w{};
  size_t winLen = in.size() < kWinBytes ? in.size() : kWinBytes;
  std::memcpy(w.data(), in.data(), winLen);
  auto b8 = [&](unsigned i) -> uint32_t { return i < kWinBytes ? w[i] : 0; };
  auto b16 = [&](unsigned i) -> uint32_t { return (b8(i) << 8) | b8(i + 1); };
  auto b32 = [&](unsigned i) -> uint32_t { return (b16(i) << 16) | b16(i + 2); };

  IpMeta m;
  m.ihl = b8(off) & 0xf;
  m.totLen = uint16_t(b16(off + 2));
  m.ttl = uint8_t(b8(off + 8));
  m.proto = uint8_t(b8(off + 9));
  m.frag = (b8(off + 6) & 0x20) || (b16(off + 6) & 0x1fff);
  m.ipCsum = uint16_t(b16(off + 10));
  m.src = b32(off + 12);
  m.dst = b32(off + 16);
  unsigned ipEnd = off + 20;
  m.ok = (b8(off) >> 4) == 4 && m.ihl >= 5 && m.totLen >= 4u * m.ihl;
  unsigned l4 = off + 4u * m.ihl;
  m.sport = uint16_t(b16(l4));
  m.dport = uint16_t(b16(l4 + 2));
  m.icmpType = uint8_t(b8(l4));
  m.tcpFlags = uint8_t(b8(l4 + 13));
  unsigned need = 0;
  switch (m.proto) {
    case 6: need = 20; m.l4Csum = uint16_t(b16(l4 + 16)); break;
    case 17: need = 8; m.l4Csum = uint16_t(b16(l4 + 6)); break;
    case 1:
      need = 8;
      m.l4Csum = uint16_t(b16(l4 + 2));
      m.sport = uint16_t(b16(l4 + 4));
      m.dport = 0;
      break;
    default: break;
  }
  unsigned l4End = l4 + need;
  if (ipEnd > winLen || (m.ok && l4End > winLen)) {
    if (winEnd) m.trunc = true;
    else m.beyond = true;
  }
  if (ipEnd > winLen) m.ok = false;
  m.l4Ok = m.ok && !m.trunc && !m.beyond && !m.frag && need != 0 &&
           m.totLen >= 4u * m.ihl + need && (m.proto != 1 || m.icmpType == 8 || m.icmpType == 0);
  return m;
}

}  // namespace roamgate::model

namespace roamgate::model {

FrameIngress frameIngress(std::span<const uint8_t> frame, uint32_t maxBeats) {
  FrameIngress in;
  uint32_t nbeats = uint32_t((frame.size() + 63) / 64);
  if (nbeats == 0) nbeats = 1;  // an empty beat still makes a frame on the bus
  for (uint32_t b = 0; b < nbeats; ++b) {
    uint32_t bytes = uint32_t(std::min<size_t>(64, frame.size() - std::min<size_t>(frame.size(), 64 * b)));
    in.rxBytes += bytes;
    in.len = (in.len > 0xffff - 64) ? 0xffff : in.len + bytes;
  }
  in.oversize = nbeats - 1 >= maxBeats;
  in.win = frame.first(std::min<size_t>(frame.size(), nbeats == 1 ? 64 : 128));
  in.winEnd = nbeats <= 2;
  return in;
}

}  // namespace roamgate::model
