#include "pktgen.h"

#include "roamgate/checksum.h"

namespace roamgate::test {

namespace {

void put16(std::vector<uint8_t>& f, size_t at, uint32_t v) {
  f[at] = uint8_t(v >> 8);
  f[at + 1] = uint8_t(v);
}
void put32(std::vector<uint8_t>& f, size_t at, uint32_t v) {
  put16(f, at, v >> 16);
  put16(f, at + 2, v);
}

// Recomputes the outer IPv4 header checksum, and the UDP checksum unless it is zero, of a
// frame whose headers a kind has changed: the kind changes one thing, not the checksums too.
void fixOuterSums(std::vector<uint8_t>& f, size_t l3) {
  size_t h = 4 * size_t(f[l3] & 0xf);
  put16(f, l3 + 10, 0);
  put16(f, l3 + 10, internetChecksum({f.data() + l3, h}));
  size_t u = l3 + h;
  if (f[u + 6] == 0 && f[u + 7] == 0) return;
  auto be = [&](size_t a) { return uint32_t(f[a]) << 8 | f[a + 1]; };
  uint32_t len = be(u + 4);
  uint32_t sum = be(l3 + 12) + be(l3 + 14) + be(l3 + 16) + be(l3 + 18) + 17 + len;
  put16(f, u + 6, 0);
  uint16_t c = internetChecksum({f.data() + u, len}, sum);
  put16(f, u + 6, c == 0 ? 0xffff : c);
}

}  // namespace

std::vector<uint8_t> buildIpv4(const InnerSpec& in, uint32_t teid) {
  size_t ihl = 5 + size_t(in.optionsWords);
  size_t l4len = in.proto == 6 ? 20 : (in.proto == 17 || in.proto == 1 ? 8 : 0);
  size_t h = 4 * ihl;
  std::vector<uint8_t> p(h + l4len + in.payload, 0);
  uint32_t src = in.src ? in.src : (0xc6130000 | (teid & 0xffff));  // 198.19.x.y terminal
  p[0] = uint8_t(0x40 | ihl);
  put16(p, 2, uint32_t(p.size()));
  put16(p, 4, teid & 0xffff);
  p[8] = in.ttl;
  p[9] = in.proto;
  put32(p, 12, src);
  put32(p, 16, in.dst);
  for (size_t i = 20; i < h; ++i) p[i] = 0x01;  // NOP options
  put16(p, 10, internetChecksum({p.data(), h}));
  for (size_t i = h + l4len; i < p.size(); ++i) p[i] = uint8_t(i * 7);
  uint32_t segLen = uint32_t(p.size() - h);
  uint32_t pseudo = (src >> 16) + (src & 0xffff) + (in.dst >> 16) + (in.dst & 0xffff) + in.proto + segLen;
  if (in.proto == 6) {
    put16(p, h, in.sport);
    put16(p, h + 2, in.dport ? in.dport : 443);
    put32(p, h + 4, 0x01020304);
    p[h + 12] = 0x50;
    p[h + 13] = in.tcpFlags;
    put16(p, h + 14, 8192);
    if (in.l4Checksum) put16(p, h + 16, internetChecksum({p.data() + h, segLen}, pseudo));
  } else if (in.proto == 17) {
    put16(p, h, in.sport);
    put16(p, h + 2, in.dport ? in.dport : 53);
    put16(p, h + 4, segLen);
    if (in.l4Checksum) {
      uint16_t c = internetChecksum({p.data() + h, segLen}, pseudo);
      put16(p, h + 6, c == 0 ? 0xffff : c);
    }
  } else if (in.proto == 1) {
    p[h] = in.icmpType;
    put16(p, h + 4, in.icmpId ? in.icmpId : (teid & 0xffff));
    put16(p, h + 6, 1);
    if (in.l4Checksum) put16(p, h + 2, internetChecksum({p.data() + h, segLen}));
  }
  return p;
}

std::vector<uint8_t> buildEth(const std::vector<uint8_t>& ip, bool vlan) {
  std::vector<uint8_t> f(vlan ? 18 : 14, 0);
  for (int i = 0; i < 6; ++i) {
    f[i] = uint8_t(0x02 + i);
    f[6 + i] = uint8_t(0x22 + i);
  }
  if (vlan) {
    put16(f, 12, 0x8100);
    put16(f, 14, 0x0064);
    put16(f, 16, 0x0800);
  } else {
    put16(f, 12, 0x0800);
  }
  f.insert(f.end(), ip.begin(), ip.end());
  while (f.size() < 60) f.push_back(0);
  return f;
}

std::vector<uint8_t> buildGtp(const GtpShape& s) {
  // Inner packet first.
  InnerSpec dflt;
  dflt.proto = s.innerProto;
  dflt.payload = s.payload;
  std::vector<uint8_t> inner = buildIpv4(s.inner ? *s.inner : dflt, s.teid);

  // GTP-U header.
  std::vector<uint8_t> gtp(8, 0);
  bool opt = s.seq || s.npdu || !s.ext.empty();
  gtp[0] = uint8_t(0x30 | (s.ext.empty() ? 0 : 4) | (s.seq ? 2 : 0) | (s.npdu ? 1 : 0));
  gtp[1] = s.gtpType;
  put32(gtp, 4, s.teid);
  if (opt) {
    gtp.push_back(0x12);
    gtp.push_back(0x34);
    gtp.push_back(0x00);
    gtp.push_back(s.ext.empty() ? 0 : s.ext[0].first);
    for (size_t e = 0; e < s.ext.size(); ++e) {
      size_t at = gtp.size();
      int len = s.ext[e].second;
      gtp.resize(at + 4 * len, 0);
      gtp[at] = uint8_t(len);
      if (s.ext[e].first == 0x85) {
        gtp[at + 1] = 0x10;  // UL PDU session information
        gtp[at + 2] = uint8_t(s.qfi & 0x3f);
      }
      gtp[at + 4 * len - 1] = e + 1 < s.ext.size() ? s.ext[e + 1].first : 0;
    }
  }
  put16(gtp, 2, uint32_t(gtp.size() - 8 + inner.size()));

  // Outer headers.
  size_t l2 = s.vlan ? 18 : 14;
  size_t ihl = 5 + s.ipOptionsWords;
  std::vector<uint8_t> f(l2 + 4 * ihl + 8, 0);
  for (int i = 0; i < 6; ++i) {
    f[i] = uint8_t(0x02 + i);
    f[6 + i] = uint8_t(0x12 + i);
  }
  if (s.vlan) {
    put16(f, 12, 0x8100);
    put16(f, 14, 0x0064);
    put16(f, 16, 0x0800);
  } else {
    put16(f, 12, 0x0800);
  }
  f[l2] = uint8_t(0x40 | ihl);
  size_t total = 4 * ihl + 8 + gtp.size() + inner.size();
  put16(f, l2 + 2, uint32_t(total));
  put16(f, l2 + 4, 0x1234);
  f[l2 + 6] = 0x40;  // DF
  f[l2 + 8] = s.ttl;
  f[l2 + 9] = 17;
  put32(f, l2 + 12, s.srcIp);
  put32(f, l2 + 16, s.dstIp);
  for (size_t i = 20; i < 4 * ihl; ++i) f[l2 + i] = 0x01;  // NOP options
  put16(f, l2 + 10, internetChecksum({f.data() + l2, 4 * ihl}));
  size_t u = l2 + 4 * ihl;
  put16(f, u, 2152);
  put16(f, u + 2, 2152);
  put16(f, u + 4, uint32_t(8 + gtp.size() + inner.size()));
  f.insert(f.end(), gtp.begin(), gtp.end());
  f.insert(f.end(), inner.begin(), inner.end());
  if (s.udpChecksum) {
    // Pseudo-header: src, dst, proto, UDP length.
    uint32_t sum = (s.srcIp >> 16) + (s.srcIp & 0xffff) + (s.dstIp >> 16) + (s.dstIp & 0xffff) +
                   17 + uint32_t(8 + gtp.size() + inner.size());
    uint16_t c = internetChecksum({f.data() + u, f.size() - u}, sum);
    put16(f, u + 6, c == 0 ? 0xffff : c);
  }
  while (f.size() < 60) f.push_back(0);  // Ethernet minimum (FCS not carried)
  return f;
}

GtpShape FrameGen::randomShape(const std::vector<uint32_t>& pool) {
  auto pick = [&](int n) { return int(rng_() % uint64_t(n)); };
  GtpShape s;
  s.vlan = pick(4) == 0;
  s.ipOptionsWords = pick(5) == 0 ? pick(11) : 0;
  s.udpChecksum = pick(3) != 0;
  s.teid = (!pool.empty() && pick(8) != 0) ? pool[size_t(pick(int(pool.size())))]
                                           : uint32_t(rng_() | 1);
  s.seq = pick(4) == 0;
  s.npdu = pick(8) == 0;
  int next = pick(4);
  for (int e = 0; e < next; ++e) {
    bool pdu = e == 0 ? pick(3) != 0 : pick(4) == 0;
    s.ext.push_back({pdu ? uint8_t(0x85) : uint8_t(0x40 + pick(32)), 1 + pick(3)});
  }
  s.qfi = pick(64);
  int proto = pick(3);
  s.innerProto = proto == 0 ? 6 : (proto == 1 ? 17 : 1);
  int sz = pick(10);
  s.payload = sz < 4 ? size_t(pick(16)) : (sz < 8 ? size_t(pick(400)) : size_t(pick(1400)));
  s.ttl = pick(50) == 0 ? uint8_t(pick(2)) : uint8_t(2 + pick(250));
  s.srcIp = 0xc6120100 | uint32_t(1 + pick(200));
  return s;
}

std::vector<uint8_t> FrameGen::next(const std::vector<uint32_t>& pool, std::string* kind) {
  auto pick = [&](int n) { return int(rng_() % uint64_t(n)); };
  auto say = [&](const char* k) {
    if (kind) *kind = k;
  };
  int k = pick(100);
  GtpShape s = randomShape(pool);
  if (k < 70) {
    say("gpdu");
    return buildGtp(s);
  }
  if (k < 73) {
    say("signalling");
    s.gtpType = uint8_t(pick(2) ? 1 : 26);
    return buildGtp(s);
  }
  if (k < 75) {
    say("teid0");
    s.teid = 0;
    return buildGtp(s);
  }
  if (k < 78) {
    say("arp");  // a request from 198.18.1.1 for 198.18.1.100
    std::vector<uint8_t> f(60, 0);
    for (int i = 0; i < 6; ++i) {
      f[i] = 0xff;
      f[6 + i] = f[22 + i] = uint8_t(0x12 + i);
    }
    put16(f, 12, 0x0806);
    put16(f, 14, 1);       // Ethernet
    put16(f, 16, 0x0800);  // IPv4
    f[18] = 6;
    f[19] = 4;
    put16(f, 20, 1);  // request
    put32(f, 28, 0xc6120101);
    put32(f, 38, 0xc6120164);
    return f;
  }
  if (k < 80) {
    say("ipv6");  // 2001:db8::1 -> 2001:db8::2, no next header, 40 bytes of zeros
    std::vector<uint8_t> f(94, 0);
    put16(f, 12, 0x86dd);
    f[14] = 0x60;
    put16(f, 18, 40);
    f[20] = 59;
    f[21] = 64;
    for (size_t a : {size_t(22), size_t(38)}) {
      put32(f, a, 0x20010db8);
      f[a + 15] = a == 22 ? 1 : 2;
    }
    return f;
  }
  if (k < 82) {
    say("unsupported");
    std::vector<uint8_t> f(64, 0);
    f[12] = 0x88;
    f[13] = 0xcc;
    return f;
  }
  std::vector<uint8_t> f = buildGtp(s);
  size_t l3 = s.vlan ? 18 : 14;
  size_t l4 = l3 + 4 * (5 + s.ipOptionsWords);
  if (k < 85) {
    say("not-gtpu");  // another UDP port, to another address than own-address's
    f[l4 + 3] = uint8_t(f[l4 + 3] ^ 0x10);
    f[l3 + 16] = 198; f[l3 + 17] = 18; f[l3 + 18] = 1; f[l3 + 19] = 99;
    fixOuterSums(f, l3);
    return f;
  }
  if (k < 87) {
    say("own-address");
    f[l4 + 3] = uint8_t(f[l4 + 3] ^ 0x10);
    f[l3 + 16] = 198; f[l3 + 17] = 18; f[l3 + 18] = 1; f[l3 + 19] = 100;
    fixOuterSums(f, l3);
    return f;
  }
  if (k < 89) {
    say("fragment");  // the first fragment: MF, offset 0
    f[l3 + 6] = 0x20;
    fixOuterSums(f, l3);
    return f;
  }
  if (k < 94) {
    say("malformed");
    switch (pick(5)) {
      case 0: f[l3] = 0x65; break;                    // IPv6 version in an IPv4 header
      case 1: f[l3] = 0x43; break;                    // IHL 3
      case 2: f[l4 + 4] = 0; f[l4 + 5] = 4; break;    // UDP length 4
      case 3: f[l4 + 8] = 0x50; fixOuterSums(f, l3); break;    // GTP version 2
      default: f[l4 + 10] = 0xff; fixOuterSums(f, l3); break;  // GTP length past UDP
    }
    return f;
  }
  if (k < 99) {
    say("truncated");
    size_t cut = 1 + size_t(pick(int(f.size() - 1)));
    f.resize(cut);
    return f;
  }
  say("rx-error");
  return f;
}

}  // namespace roamgate::test
