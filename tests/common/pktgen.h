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

struct GtpShape {
  bool vlan = false;
  int ipOptionsWords = 0;        // 0..10
  bool udpChecksum = true;       // false: zero UDP checksum
  uint8_t gtpType = 0xff;
  uint32_t teid = 1;
  bool seq = false, npdu = false;
  std::vector<std::pair<uint8_t, int>> ext;  // (type, length in 4-byte units)
  int qfi = 9;
  uint8_t innerProto = 17;       // 6, 17, 1
  size_t payload = 20;
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
