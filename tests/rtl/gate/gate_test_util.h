// Shared pieces of the gate RTL tests: a device that programs the Verilated kernel and the
// model together (and checks every register the model knows reads the same on both), user
// sessions at random, and the frames of their traffic in both directions.
#pragma once

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gate_dut.h"
#include "gate_model.h"
#include "inproc_device.h"
#include "pktgen.h"
#include "roamgate/checksum.h"
#include "roamgate/dataplane/gate_tables.h"
#include "roamgate/regs/gate.h"

namespace roamgate::test {

namespace rg = regs::gate;

// Writes go to both; reads come from the RTL and are compared with the model's where the
// model holds the register (not the host block, STATUS, TIME or the scanner's position).
class TeeDevice : public hal::Device {
 public:
  TeeDevice(hal::Device& rtl, model::GateModel& mdl) : rtl_(rtl), mdl_(mdl) {}
  Status transact(std::span<hal::RegOp> ops) override {
    for (hal::RegOp& op : ops) {
      if (Status s = rtl_.transact({&op, 1}); !s) return s;
      if (op.write) {
        mdl_.writeReg(op.addr, op.value);
      } else if (compared(op.addr)) {
        uint32_t m = mdl_.readReg(op.addr);
        if (m != op.value && mismatches.size() < 20) {
          char b[96];
          std::snprintf(b, sizeof b, "register 0x%04x: rtl 0x%08x model 0x%08x", op.addr, op.value, m);
          mismatches.push_back(b);
        }
      }
    }
    return {};
  }
  std::string describe() const override { return "tee:" + rtl_.describe(); }
  Status allocMem(uint64_t b, uint64_t a, uint64_t& addr) override { return rtl_.allocMem(b, a, addr); }
  Status readMem(uint64_t addr, std::span<uint8_t> out) override { return rtl_.readMem(addr, out); }
  Status writeMem(uint64_t addr, std::span<const uint8_t> in) override { return rtl_.writeMem(addr, in); }

  std::vector<std::string> mismatches;

 private:
  static bool compared(uint32_t a) {
    if (a >= rg::host::kBase && a < rg::host::kBase + 0x100) return false;
    if (a == rg::port::kStatus || a == rg::ctrl::kTimeLo || a == rg::ctrl::kTimeHi) return false;
    if (a == rg::scan::kPosition) return false;
    uint32_t passes = rg::stats::kLo + rg::stats::kLoStride * uint32_t(rg::Stat::kScanPasses);
    return a != passes && a != passes + 4;
  }
  hal::Device& rtl_;
  model::GateModel& mdl_;
};

inline constexpr uint32_t kAccessIp = 0xc6120164;  // 198.18.1.100 (pktgen's outer destination)
inline constexpr uint32_t kNatBase = 0xc6120301;   // 198.18.3.1 .. .4
inline constexpr uint64_t kGateMac = 0x021133445566;

inline dataplane::GateConfig testConfig(uint32_t tickShift) {
  dataplane::GateConfig c;
  c.accessIp = kAccessIp;
  c.ownMac = kGateMac;
  c.svcNextHopMac = 0x02aabbccdd01;
  c.accNextHopMac = 0x02aabbccdd02;
  for (uint32_t i = 0; i < 4; ++i) c.natIps[i] = kNatBase + i;
  c.tickShift = tickShift;
  c.puntRate = 0xff000000;  // no punt limit: the model has no token bucket
  c.puntBurst = 0xffff;
  return c;
}

// User sessions with random parameters on distinct ports.
inline std::vector<dataplane::UserSession> randomSessions(std::mt19937_64& rng, size_t n) {
  std::vector<dataplane::UserSession> v;
  std::vector<bool> used(4u << 16, false);
  for (size_t i = 0; i < n; ++i) {
    dataplane::UserSession s;
    int proto = int(rng() % 10);
    s.flow.proto = proto < 4 ? 6 : (proto < 8 ? 17 : 1);
    s.flow.teid = uint32_t(rng()) | 1;
    s.flow.src = 0xc6130000 | uint32_t(rng() & 0xffff);  // 198.19.0.0/16 terminals
    s.flow.dst = 0xc6120400 | uint32_t(rng() % 200);     // representative or external addresses
    s.flow.sport = uint16_t(1024 + rng() % 60000);
    s.flow.dport = s.flow.proto == 1 ? 0 : uint16_t(1 + rng() % 1000);
    do {
      s.addrIndex = uint8_t(rng() % 4);
      s.port = uint16_t(1 + rng() % 65535);  // 0 reads as 'default port' in pktgen
    } while (used[size_t(s.addrIndex) << 16 | s.port]);
    used[size_t(s.addrIndex) << 16 | s.port] = true;
    s.external = rng() % 8 == 0;
    s.allow = rng() % 12 != 0;
    s.serverIp = 0xc6120500 | uint32_t(rng() % 250);
    s.serverPort = uint16_t(8000 + rng() % 100);
    s.peerIp = 0xc6120100 | uint32_t(1 + rng() % 200);
    s.dlTeid = uint32_t(rng());
    if (rng() % 2) s.qfi = uint8_t(rng() % 64);
    s.gen = uint8_t(rng());
    s.filterAddr = s.external && (s.dlTeid & 1);  // half the external ones address-filtered
    v.push_back(s);
  }
  return v;
}

// An uplink G-PDU of the session's flow, of a random outer and inner shape.
inline std::vector<uint8_t> uplinkFrame(std::mt19937_64& rng, const dataplane::UserSession& s) {
  auto pick = [&](int n) { return int(rng() % uint64_t(n)); };
  InnerSpec in;
  in.proto = s.flow.proto;
  in.src = s.flow.src;
  in.dst = s.flow.dst;
  in.sport = s.flow.sport;
  in.dport = s.flow.dport;
  in.icmpId = s.flow.sport;
  in.icmpType = 8;
  in.optionsWords = pick(8) == 0 ? pick(3) : 0;
  in.ttl = pick(60) == 0 ? uint8_t(pick(2)) : uint8_t(2 + pick(250));
  in.tcpFlags = pick(40) == 0 ? uint8_t(pick(2) ? 0x11 : 0x04) : 0x18;
  in.l4Checksum = in.proto != 17 || pick(4) != 0;
  int sz = pick(10);
  in.payload = sz < 4 ? size_t(pick(40)) : (sz < 8 ? size_t(pick(500)) : size_t(pick(1400)));
  GtpShape g;
  g.vlan = pick(5) == 0;
  g.ipOptionsWords = pick(8) == 0 ? pick(4) : 0;
  g.udpChecksum = pick(3) != 0;
  g.teid = s.flow.teid;
  g.seq = pick(4) == 0;
  g.npdu = pick(8) == 0;
  int next = pick(3);
  for (int e = 0; e < next; ++e) g.ext.push_back({e == 0 ? uint8_t(0x85) : uint8_t(0x40 + pick(8)), 1 + pick(2)});
  g.qfi = pick(64);
  g.dstIp = kAccessIp;
  g.inner = &in;
  return buildGtp(g);
}

// A reply to the session from its server (or, for an external session, the destination, now
// and then from another of its ports or another address).
inline std::vector<uint8_t> downlinkFrame(std::mt19937_64& rng, const dataplane::UserSession& s) {
  auto pick = [&](int n) { return int(rng() % uint64_t(n)); };
  InnerSpec in;
  in.proto = s.flow.proto;
  in.src = s.external ? s.flow.dst : s.serverIp;
  in.dst = kNatBase + s.addrIndex;
  in.sport = s.external ? s.flow.dport : s.serverPort;
  in.dport = s.port;
  in.icmpType = 0;  // echo reply
  in.icmpId = s.port;
  if (s.external) {
    // Replies from another port of the destination (passes either filtering) and from
    // another address (passes endpoint-independent filtering only).
    int from = pick(4);
    if (from == 1) in.sport = uint16_t(in.sport + 1 + pick(100));
    if (from == 2) in.src = 0xc6120600 | uint32_t(pick(250));
  }
  in.optionsWords = pick(8) == 0 ? pick(3) : 0;
  in.ttl = pick(60) == 0 ? uint8_t(pick(2)) : uint8_t(2 + pick(250));
  in.tcpFlags = pick(40) == 0 ? uint8_t(pick(2) ? 0x11 : 0x04) : 0x18;
  in.l4Checksum = in.proto != 17 || pick(4) != 0;
  int sz = pick(10);
  in.payload = sz < 4 ? size_t(pick(40)) : (sz < 8 ? size_t(pick(500)) : size_t(pick(1400)));
  return buildEth(buildIpv4(in, 0), pick(6) == 0);
}

// An ARP frame (RFC 826, IPv4 over Ethernet) from `sha`/`spa` asking for (op 1) or answering
// (op 2, to `tha`) `tpa`, optionally behind an 802.1Q tag (VLAN 3), with `pad` bytes of zeros
// after the 28-byte body. scapy builds the same bytes:
//   Ether(dst=DST, src=sha)/Dot1Q(vlan=3)/ARP(op=op, hwsrc=sha, psrc=spa, hwdst=tha, pdst=tpa)
// where DST is ff:ff:ff:ff:ff:ff for a request, tha for a reply (GateHost.ArpFixtureIsScapys).
inline std::vector<uint8_t> arpFrame(uint16_t op, uint64_t sha, uint32_t spa, uint64_t tha,
                                     uint32_t tpa, bool vlan, size_t pad = 0) {
  std::vector<uint8_t> f;
  auto put = [&](uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) f.push_back(uint8_t(v >> (8 * i)));
  };
  put(op == 1 ? 0xffffffffffffull : tha, 6);
  put(sha, 6);
  if (vlan) put(0x81000003, 4);
  put(0x0806, 2);
  put(0x0001, 2);  // Ethernet
  put(0x0800, 2);  // IPv4
  put(0x0604, 2);  // address lengths
  put(op, 2);
  put(sha, 6);
  put(spa, 4);
  put(tha, 6);
  put(tpa, 4);
  f.resize(f.size() + pad, 0);
  return f;
}

// Rewrites the IPv4 header checksum and the transport checksum of the packet at `off` after
// a test has changed its fields (a UDP checksum of 0 stays 0).
inline void fixChecksums(std::vector<uint8_t>& f, size_t off) {
  size_t ihl = 4u * (f[off] & 0xf);
  uint32_t tot = uint32_t(f[off + 2]) << 8 | f[off + 3];
  if (ihl < 20 || f.size() < off + tot || tot < ihl + 8) return;
  auto be = [&](size_t a) { return uint32_t(f[a]) << 8 | f[a + 1]; };
  auto put = [&](size_t a, uint16_t v) {
    f[a] = uint8_t(v >> 8);
    f[a + 1] = uint8_t(v);
  };
  put(off + 10, 0);
  put(off + 10, internetChecksum({f.data() + off, ihl}));
  uint8_t proto = f[off + 9];
  size_t l4 = off + ihl, seg = tot - ihl;
  uint32_t pseudo = be(off + 12) + be(off + 14) + be(off + 16) + be(off + 18) + proto + uint32_t(seg);
  if (proto == 6 && seg >= 20) {
    put(l4 + 16, 0);
    put(l4 + 16, internetChecksum({f.data() + l4, seg}, pseudo));
  } else if (proto == 17 && be(l4 + 6) != 0) {
    put(l4 + 6, 0);
    uint16_t c = internetChecksum({f.data() + l4, seg}, pseudo);
    put(l4 + 6, c == 0 ? 0xffff : c);
  } else if (proto == 1) {
    put(l4 + 2, 0);
    put(l4 + 2, internetChecksum({f.data() + l4, seg}));
  }
}

// Recomputes the IPv4 header checksum and the transport checksum of the IPv4 packet at `off`:
// both must verify (UDP checksum 0 is accepted). Empty string: good.
inline std::string checkIpv4(const std::vector<uint8_t>& f, size_t off) {
  if (f.size() < off + 20) return "short";
  size_t ihl = 4u * (f[off] & 0xf);
  uint32_t tot = uint32_t(f[off + 2]) << 8 | f[off + 3];
  if (internetChecksum({f.data() + off, ihl}) != 0) return "bad IPv4 header checksum";
  uint8_t proto = f[off + 9];
  size_t l4 = off + ihl;
  size_t seg = tot - ihl;
  if (f.size() < l4 + seg) return "short segment";
  auto be = [&](size_t a) { return uint32_t(f[a]) << 8 | f[a + 1]; };
  uint32_t pseudo = be(off + 12) + be(off + 14) + be(off + 16) + be(off + 18) + proto + uint32_t(seg);
  if (proto == 6 && internetChecksum({f.data() + l4, seg}, pseudo) != 0) return "bad TCP checksum";
  if (proto == 17 && be(l4 + 6) != 0 && internetChecksum({f.data() + l4, seg}, pseudo) != 0) return "bad UDP checksum";
  if (proto == 1 && internetChecksum({f.data() + l4, seg}) != 0) return "bad ICMP checksum";
  return "";
}

}  // namespace roamgate::test
