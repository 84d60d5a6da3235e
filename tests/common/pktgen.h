// Random frame generator for the RTL tests: GTP-U uplink frames of many shapes (VLAN, IPv4
// options, sequence/N-PDU, extension-header chains with the PDU Session Container, inner
// TCP/UDP/ICMP), plus non-GTP, ARP, IPv6, signalling, malformed and truncated frames.
// Deterministic for a seed. Checksums are correct unless the shape says otherwise.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace roamgate::test {

// An inner (or plain) IPv4 packet. Zero addresses and ports take the defaults noted.
struct InnerSpec {
  uint8_t proto = 17;            // 6, 17, 1 (ICMP echo), or anything else
  uint32_t src = 0;              // 0: 198.19.x.y from the TEID
  uint32_t dst = 0xc6120364;     // 198.18.3.100 service
  uint16_t sport = 40000;        // TCP/UDP source port
  uint16_t dport = 0;            // 0: 443 (TCP) or 53 (UDP)
  uint8_t icmpType = 8;          // echo request
  uint16_t icmpId = 0;           // 0: from the TEID
  uint8_t tcpFlags = 0x18;       // PSH ACK
  uint8_t ttl = 63;
  int optionsWords = 0;          // IPv4 options, 0..10
  size_t payload = 20;
  bool l4Checksum = true;        // false: UDP checksum 0 (TCP/ICMP: left 0, wrong)
};

// The IPv4 packet of `in` with correct header and transport checksums (unless asked not to).
std::vector<uint8_t> buildIpv4(const InnerSpec& in, uint32_t teid);
// An Ethernet frame (optionally 802.1Q tagged) around an IPv4 packet, padded to 60 bytes.
std::vector<uint8_t> buildEth(const std::vector<uint8_t>& ip, bool vlan);

struct GtpShape {
  bool vlan = false;
  int ipOptionsWords = 0;        // 0..10
  bool udpChecksum = true;       // false: zero UDP checksum
  uint8_t gtpType = 0xff;
  uint32_t teid = 1;
  bool seq = false, npdu = false;
  std::vector<std::pair<uint8_t, int>> ext;  // (type, length in 4-byte units)
  int qfi = 9;
  uint8_t innerProto = 17;       // 6, 17, 1 (when `inner` is not set)
  size_t payload = 20;
  const InnerSpec* inner = nullptr;  // the inner packet in full, if set
  uint8_t ttl = 64;
  uint32_t srcIp = 0xc6120101, dstIp = 0xc6120164;  // 198.18.1.1 -> 198.18.1.100
};

std::vector<uint8_t> buildGtp(const GtpShape& s);

class FrameGen {
 public:
  explicit FrameGen(uint64_t seed) : rng_(seed) {}
  // One frame of a random kind; teids are drawn from the pool (and sometimes outside it).
  std::vector<uint8_t> next(const std::vector<uint32_t>& teidPool, std::string* kind = nullptr);
  std::mt19937_64& rng() { return rng_; }

 private:
  GtpShape randomShape(const std::vector<uint32_t>& teidPool);
  std::mt19937_64 rng_;
};

}  // namespace roamgate::test
