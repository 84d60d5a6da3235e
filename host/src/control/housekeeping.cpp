#include "roamgate/control/housekeeping.h"

#include <cstring>
#include <numeric>
#include <string>

#include "roamgate/addr.h"
#include "roamgate/checksum.h"

namespace roamgate::control {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherArp = 0x0806;
constexpr uint16_t kEtherVlan = 0x8100;   // IEEE 802.1Q
constexpr uint16_t kEtherQinQ = 0x88a8;   // IEEE 802.1ad service tag
constexpr size_t kEthBytes = 14;
constexpr size_t kTagBytes = 4;
constexpr size_t kArpBytes = 28;          // Ethernet/IPv4 ARP (RFC 826)
constexpr size_t kIpv4MinBytes = 20;
constexpr size_t kUdpBytes = 8;
constexpr size_t kGtpMinBytes = 8;        // the mandatory part of the GTP-U header
constexpr size_t kGtpOptBytes = 4;        // sequence number, N-PDU number, next extension type
constexpr uint8_t kIpProtoUdp = 17;
constexpr uint16_t kArpOpRequest = 1;
constexpr uint16_t kArpOpReply = 2;
constexpr uint8_t kGtpEchoRequest = 1;
constexpr uint8_t kGtpEchoResponse = 2;
constexpr uint8_t kGtpFlagE = 0x04, kGtpFlagS = 0x02, kGtpFlagPn = 0x01;
constexpr uint8_t kIeRecovery = 14;
constexpr uint8_t kReplyTtl = 64;
// The response's GTP-U part: the header with its optional fields, then the Recovery IE.
constexpr size_t kEchoGtpBytes = kGtpMinBytes + kGtpOptBytes + 2;
constexpr size_t kEchoIpBytes = kIpv4MinBytes + kUdpBytes + kEchoGtpBytes;

uint16_t rd16(const uint8_t* p) { return uint16_t((uint16_t(p[0]) << 8) | p[1]); }
uint32_t rd32(const uint8_t* p) { return (uint32_t(rd16(p)) << 16) | rd16(p + 2); }
void wr16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
void wr32(uint8_t* p, uint32_t v) {
  wr16(p, uint16_t(v >> 16));
  wr16(p + 2, uint16_t(v));
}

// A station address a reply may go to: not multicast or broadcast (I/G bit), not all zero.
bool unicastMac(const uint8_t* p) {
  if (p[0] & 1) return false;
  return (p[0] | p[1] | p[2] | p[3] | p[4] | p[5]) != 0;
}

// The same test as checkUnicastIpv4, without building a message.
bool unicastIpv4(uint32_t ip) {
  uint32_t top = ip >> 24;
  return top != 0 && top != 127 && top < 224;
}

// The UDP pseudo-header's words, summed (RFC 768), as internetChecksum's initial value.
uint32_t pseudoSum(uint32_t src, uint32_t dst, uint16_t udpLen) {
  return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + kIpProtoUdp + udpLen;
}

// Writes the reply's Ethernet header (and the request's 802.1Q tag) and returns its length.
size_t writeL2(uint8_t* r, const uint8_t* dstMac, const std::array<uint8_t, 6>& srcMac,
               const uint8_t* tag, uint16_t etherType) {
  std::memcpy(r, dstMac, 6);
  std::memcpy(r + 6, srcMac.data(), 6);
  size_t o = 12;
  if (tag) {
    std::memcpy(r + o, tag, kTagBytes);
    o += kTagBytes;
  }
  wr16(r + o, etherType);
  return o + 2;
}

size_t padToMinimum(uint8_t* r, size_t len) {
  if (len < Housekeeper::kMaxReplyBytes) std::memset(r + len, 0, Housekeeper::kMaxReplyBytes - len);
  return len < Housekeeper::kMaxReplyBytes ? Housekeeper::kMaxReplyBytes : len;
}

}  // namespace

Result<Housekeeper> Housekeeper::create(const HousekeeperConfig& cfg) {
  if (Status st = checkUnicastMac("housekeeper MAC", cfg.mac); !st) return st;
  if (cfg.addresses.empty())
    return Status::error(StatusCode::kInvalidArgument,
                         "housekeeper has no addresses; at least one own IPv4 address is needed");
  if (cfg.addresses.size() > kMaxAddresses)
    return Status::error(StatusCode::kInvalidArgument,
                         "housekeeper has " + std::to_string(cfg.addresses.size()) +
                             " addresses; at most " + std::to_string(kMaxAddresses) +
                             " are allowed");
  Housekeeper h;
  h.mac_ = cfg.mac;
  for (size_t i = 0; i < 6; ++i) h.macBytes_[i] = uint8_t(cfg.mac >> (8 * (5 - i)));
  for (const OwnAddress& a : cfg.addresses) {
    if (Status st = checkUnicastIpv4("housekeeper address", a.ipv4); !st) return st;
    if (h.find(a.ipv4))
      return Status::error(StatusCode::kInvalidArgument,
                           "housekeeper address " + ipv4Str(a.ipv4) +
                               " is given twice; each address may appear once");
    h.addrs_[h.nAddrs_++] = a;
  }
  return h;
}

std::string_view Housekeeper::name(Verdict v) {
  switch (v) {
    case Verdict::kArpReplied: return "arp_replied";
    case Verdict::kEchoReplied: return "echo_replied";
    case Verdict::kNotHousekeeping: return "not_housekeeping";
    case Verdict::kArpNotForUs: return "arp_not_for_us";
    case Verdict::kArpNotRequest: return "arp_not_request";
    case Verdict::kArpGratuitous: return "arp_gratuitous";
    case Verdict::kArpConflict: return "arp_conflict";
    case Verdict::kEchoNotForUs: return "echo_not_for_us";
    case Verdict::kGtpOther: return "gtp_other";
    case Verdict::kIpv4Fragment: return "ipv4_fragment";
    case Verdict::kTruncated: return "truncated";
    case Verdict::kMalformed: return "malformed";
    case Verdict::kBadChecksum: return "bad_checksum";
    case Verdict::kReplyBufferSmall: return "reply_buffer_small";
    case Verdict::kCount: break;
  }
  return "unknown";
}

uint64_t Housekeeper::total() const {
  return std::accumulate(counts_.begin(), counts_.end(), uint64_t(0));
}

const OwnAddress* Housekeeper::find(uint32_t ip) const noexcept {
  for (size_t i = 0; i < nAddrs_; ++i)
    if (addrs_[i].ipv4 == ip) return &addrs_[i];
  return nullptr;
}

Verdict Housekeeper::handle(std::span<const uint8_t> frame, uint8_t ingressPort,
                            std::span<uint8_t> reply, size_t& replyLen) noexcept {
  replyLen = 0;
  Verdict v = classify(frame, ingressPort, reply, replyLen);
  if (!replied(v)) replyLen = 0;
  ++counts_[size_t(v)];
  return v;
}

Verdict Housekeeper::classify(std::span<const uint8_t> frame, uint8_t ingressPort,
                              std::span<uint8_t> reply, size_t& replyLen) const noexcept {
  if (frame.size() < kEthBytes) return Verdict::kTruncated;
  size_t l2Len = kEthBytes;
  uint16_t type = rd16(frame.data() + 12);
  if (type == kEtherVlan) {
    if (frame.size() < kEthBytes + kTagBytes) return Verdict::kTruncated;
    type = rd16(frame.data() + 16);
    l2Len += kTagBytes;
    if (type == kEtherVlan || type == kEtherQinQ) return Verdict::kNotHousekeeping;
  }
  if (type == kEtherArp) return arp(frame, l2Len, ingressPort, reply, replyLen);
  if (type == kEtherIpv4) return ipv4(frame, l2Len, ingressPort, reply, replyLen);
  return Verdict::kNotHousekeeping;
}

Verdict Housekeeper::arp(std::span<const uint8_t> frame, size_t l2Len, uint8_t ingressPort,
                         std::span<uint8_t> reply, size_t& replyLen) const noexcept {
  if (frame.size() - l2Len < kArpBytes) return Verdict::kTruncated;
  const uint8_t* f = frame.data();
  const uint8_t* a = f + l2Len;
  if (rd16(a) != 1 || rd16(a + 2) != kEtherIpv4 || a[4] != 6 || a[5] != 4)
    return Verdict::kMalformed;
  uint16_t op = rd16(a + 6);
  const uint8_t* sha = a + 8;
  uint32_t spa = rd32(a + 14);
  uint32_t tpa = rd32(a + 24);
  if (!unicastMac(f + 6) || !unicastMac(sha)) return Verdict::kMalformed;
  if (spa != 0 && !unicastIpv4(spa)) return Verdict::kMalformed;
  // Another station claims one of our addresses (whatever it asks): tell the operator.
  if (find(spa) && std::memcmp(sha, macBytes_.data(), 6) != 0) return Verdict::kArpConflict;
  if ((op == kArpOpRequest || op == kArpOpReply) && spa != 0 && spa == tpa)
    return Verdict::kArpGratuitous;
  if (op != kArpOpRequest) return Verdict::kArpNotRequest;
  const OwnAddress* own = find(tpa);
  if (!own || (own->port && *own->port != ingressPort)) return Verdict::kArpNotForUs;
  if (reply.size() < kMaxReplyBytes) return Verdict::kReplyBufferSmall;

  uint8_t* r = reply.data();
  size_t o = writeL2(r, sha, macBytes_, l2Len > kEthBytes ? f + 12 : nullptr, kEtherArp);
  wr16(r + o, 1);
  wr16(r + o + 2, kEtherIpv4);
  r[o + 4] = 6;
  r[o + 5] = 4;
  wr16(r + o + 6, kArpOpReply);
  std::memcpy(r + o + 8, macBytes_.data(), 6);
  wr32(r + o + 14, tpa);
  std::memcpy(r + o + 18, sha, 6);
  wr32(r + o + 24, spa);
  replyLen = padToMinimum(r, o + kArpBytes);
  return Verdict::kArpReplied;
}

Verdict Housekeeper::ipv4(std::span<const uint8_t> frame, size_t l2Len, uint8_t ingressPort,
                          std::span<uint8_t> reply, size_t& replyLen) const noexcept {
  const uint8_t* f = frame.data();
  const uint8_t* ip = f + l2Len;
  size_t avail = frame.size() - l2Len;  // includes any Ethernet padding after the datagram
  if (avail < kIpv4MinBytes) return Verdict::kTruncated;
  if ((ip[0] >> 4) != 4) return Verdict::kMalformed;
  size_t ihl = size_t(ip[0] & 0x0f) * 4;
  if (ihl < kIpv4MinBytes) return Verdict::kMalformed;
  if (avail < ihl) return Verdict::kTruncated;
  size_t totLen = rd16(ip + 2);
  if (totLen < ihl) return Verdict::kMalformed;
  if (totLen > avail) return Verdict::kTruncated;
  if (internetChecksum({ip, ihl}) != 0) return Verdict::kBadChecksum;
  if (rd16(ip + 6) & 0x3fff) return Verdict::kIpv4Fragment;  // MF or a fragment offset
  if (ip[9] != kIpProtoUdp) return Verdict::kNotHousekeeping;
  uint32_t src = rd32(ip + 12);
  uint32_t dst = rd32(ip + 16);

  const uint8_t* udp = ip + ihl;
  size_t udpAvail = totLen - ihl;
  if (udpAvail < kUdpBytes) return Verdict::kTruncated;
  uint16_t sport = rd16(udp);
  uint16_t dport = rd16(udp + 2);
  if (dport != kGtpuPort) return Verdict::kNotHousekeeping;
  size_t udpLen = rd16(udp + 4);
  if (udpLen < kUdpBytes) return Verdict::kMalformed;
  if (udpLen > udpAvail) return Verdict::kTruncated;
  if (rd16(udp + 6) != 0 &&
      internetChecksum({udp, udpLen}, pseudoSum(src, dst, uint16_t(udpLen))) != 0)
    return Verdict::kBadChecksum;

  const uint8_t* g = udp + kUdpBytes;
  size_t gAvail = udpLen - kUdpBytes;
  if (gAvail < kGtpMinBytes) return Verdict::kTruncated;
  uint8_t flags = g[0];
  if ((flags >> 5) != 1 || !(flags & 0x10)) return Verdict::kMalformed;  // version 1, PT 1
  uint8_t msgType = g[1];
  size_t gEnd = kGtpMinBytes + size_t(rd16(g + 2));  // the length counts what follows byte 8
  if (gEnd > gAvail) return Verdict::kTruncated;
  uint16_t seq = 0;
  if (flags & (kGtpFlagE | kGtpFlagS | kGtpFlagPn)) {
    if (gEnd < kGtpMinBytes + kGtpOptBytes) return Verdict::kMalformed;
    // With S clear the field is not to be interpreted (TS 29.281 §5.1): the response says 0.
    if (flags & kGtpFlagS) seq = rd16(g + 8);
    if (flags & kGtpFlagE) {
      // Extension headers: a length in 4-octet units, the next type in their last octet.
      // Each step moves forward by at least 4 bytes, so the walk ends.
      uint8_t next = g[11];
      size_t pos = kGtpMinBytes + kGtpOptBytes;
      while (next != 0) {
        if (pos >= gEnd) return Verdict::kMalformed;
        size_t n = size_t(g[pos]) * 4;
        if (n == 0 || n > gEnd - pos) return Verdict::kMalformed;
        next = g[pos + n - 1];
        pos += n;
      }
    }
  }
  if (msgType != kGtpEchoRequest) return Verdict::kGtpOther;
  const OwnAddress* own = find(dst);
  if (!own || !own->gtpu || (own->port && *own->port != ingressPort))
    return Verdict::kEchoNotForUs;
  if (!unicastMac(f + 6) || !unicastIpv4(src) || sport == 0) return Verdict::kMalformed;
  if (reply.size() < kMaxReplyBytes) return Verdict::kReplyBufferSmall;

  uint8_t* r = reply.data();
  size_t o = writeL2(r, f + 6, macBytes_, l2Len > kEthBytes ? f + 12 : nullptr, kEtherIpv4);
  uint8_t* h = r + o;
  h[0] = 0x45;
  h[1] = 0;
  wr16(h + 2, uint16_t(kEchoIpBytes));
  wr16(h + 4, 0);       // ID 0 ...
  wr16(h + 6, 0x4000);  // ... with DF: an atomic datagram
  h[8] = kReplyTtl;
  h[9] = kIpProtoUdp;
  wr16(h + 10, 0);
  wr32(h + 12, dst);
  wr32(h + 16, src);
  wr16(h + 10, internetChecksum({h, kIpv4MinBytes}));

  uint8_t* u = h + kIpv4MinBytes;
  constexpr uint16_t kUdpOut = uint16_t(kUdpBytes + kEchoGtpBytes);
  wr16(u, dport);
  wr16(u + 2, sport);
  wr16(u + 4, kUdpOut);
  wr16(u + 6, 0);
  uint8_t* gr = u + kUdpBytes;
  gr[0] = 0x30 | kGtpFlagS;  // version 1, PT 1, S
  gr[1] = kGtpEchoResponse;
  wr16(gr + 2, uint16_t(kEchoGtpBytes - kGtpMinBytes));
  wr32(gr + 4, 0);  // TEID 0
  wr16(gr + 8, seq);
  gr[10] = 0;  // N-PDU number
  gr[11] = 0;  // no extension header
  gr[12] = kIeRecovery;
  gr[13] = 0;  // restart counter: set to zero by the sender (TS 29.281 §7.2.2)
  uint16_t c = internetChecksum({u, kUdpOut}, pseudoSum(dst, src, kUdpOut));
  wr16(u + 6, c == 0 ? 0xffff : c);
  replyLen = padToMinimum(r, o + kEchoIpBytes);
  return Verdict::kEchoReplied;
}

}  // namespace roamgate::control
