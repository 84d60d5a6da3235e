// Bit-exact software model of hw/rtl/hdr_parser.sv: the same fields, flags and corner cases.
#pragma once

#include <cstdint>
#include <span>

namespace roamgate::model {

inline constexpr size_t kWinBytes = 128;

struct HdrMeta {
  bool vlan = false, isIpv4 = false, isArp = false, isIpv6 = false;
  uint8_t l3Off = 14, ihl = 0;
  uint16_t ipTotalLen = 0;
  uint8_t ttl = 0, ipProto = 0;
  bool ipFrag = false;
  uint32_t ipDst = 0;
  uint16_t ipCsum = 0;
  uint8_t l4Off = 0;
  bool isUdp = false;
  uint16_t udpDport = 0, udpLen = 0, udpCsum = 0;
  bool isGtpu = false;
  uint8_t gtpType = 0;
  uint16_t gtpLen = 0;
  uint32_t teid = 0;
  uint8_t innerOff = 0;
  bool qfiValid = false;
  uint8_t qfi = 0;
  bool extOverflow = false, truncated = false, malformed = false;
};

// win: the frame's first bytes (at most 128; the rest reads as zero). winEnd: the frame ends
// inside the window. maxExt: extension headers walked, as the RTL's MaxExt parameter.
HdrMeta parseHeaders(std::span<const uint8_t> win, bool winEnd, int maxExt);

}  // namespace roamgate::model

namespace roamgate::model {

// Bit-exact model of hw/rtl/inner_parse.sv: IPv4 and transport headers at byte `off` of the
// header window (winLen valid bytes, zero beyond).
struct IpMeta {
  bool ok = false, trunc = false, beyond = false;
  uint8_t ihl = 0;
  uint16_t totLen = 0;
  uint8_t ttl = 0, proto = 0;
  bool frag = false;
  uint16_t ipCsum = 0;
  uint32_t src = 0, dst = 0;
  bool l4Ok = false;
  uint16_t sport = 0, dport = 0, l4Csum = 0;  // ICMP echo: sport = identifier, dport = 0
  uint8_t icmpType = 0, tcpFlags = 0;
};

IpMeta parseInner(std::span<const uint8_t> win, bool winEnd, unsigned off);

}  // namespace roamgate::model

namespace roamgate::model {

// Model of hw/rtl/frame_ingress.sv for one whole frame: its length as the RTL's saturating
// 16-bit count, the bytes received, oversize (beats past maxBeats), and the header window
// (the first one or two beats) with whether the frame ends inside it.
struct FrameIngress {
  uint32_t len = 0;
  uint64_t rxBytes = 0;
  bool oversize = false;
  std::span<const uint8_t> win;
  bool winEnd = false;
};

FrameIngress frameIngress(std::span<const uint8_t> frame, uint32_t maxBeats);

}  // namespace roamgate::model
