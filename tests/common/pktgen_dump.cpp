// Writes one frame of every shape tests/common/pktgen makes to a pcap, with a sidecar JSON that
// names each frame's shape and the fields pktgen was asked for, so that scapy and tshark can
// check the frames the differential tests run on (tests/unit/pktgen/check_pktgen.py).
//
// Two sources: the builders (buildGtp, buildIpv4, buildEth) with every option of GtpShape and
// InnerSpec, as the steer and gate tests call them, and FrameGen::next with a fixed seed, drawn
// until one frame of every kind it names has come out (every malformed variant, truncations
// in every header).
//
// usage: pktgen_dump OUT.pcap OUT.json
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pcap_io.h"
#include "pktgen.h"

namespace roamgate::test {
namespace {

using nlohmann::json;

constexpr uint64_t kSeed = 20240915;
constexpr uint64_t kMaxDraws = 2'000'000;
constexpr uint16_t kVlanId = 100;  // buildEth and buildGtp tag with VLAN 100

std::string ip4(uint32_t a) {
  char b[16];
  std::snprintf(b, sizeof b, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
  return b;
}

size_t l4HeaderLen(uint8_t proto) { return proto == 6 ? 20 : (proto == 17 || proto == 1 ? 8 : 0); }

// What buildIpv4 was asked for, with pktgen.h's defaults resolved.
json innerIntent(const InnerSpec& in, uint32_t teid) {
  json j;
  size_t ihl = 5 + size_t(in.optionsWords);
  j["proto"] = in.proto;
  j["src"] = ip4(in.src ? in.src : (0xc6130000 | (teid & 0xffff)));
  j["dst"] = ip4(in.dst);
  j["ttl"] = in.ttl;
  j["ihl"] = ihl;
  j["id"] = teid & 0xffff;
  j["total_len"] = 4 * ihl + l4HeaderLen(in.proto) + in.payload;
  j["payload_len"] = in.payload;
  j["checksum"] = "valid";
  if (in.proto == 6 || in.proto == 17) {
    j["sport"] = in.sport;
    j["dport"] = in.dport ? in.dport : (in.proto == 6 ? 443 : 53);
  }
  if (in.proto == 6) j["tcp_flags"] = in.tcpFlags;
  if (in.proto == 1) {
    j["icmp_type"] = in.icmpType;
    j["icmp_id"] = in.icmpId ? in.icmpId : (teid & 0xffff);
  }
  if (in.proto == 6 || in.proto == 1) j["l4_checksum"] = in.l4Checksum ? "valid" : "wrong";
  if (in.proto == 17) j["l4_checksum"] = in.l4Checksum ? "valid" : "zero";
  return j;
}

// What buildGtp was asked for.
json gtpIntent(const GtpShape& s) {
  InnerSpec dflt;
  dflt.proto = s.innerProto;
  dflt.payload = s.payload;
  const InnerSpec& in = s.inner ? *s.inner : dflt;
  json j;
  j["vlan"] = s.vlan ? json(kVlanId) : json(nullptr);
  json inner = innerIntent(in, s.teid);
  size_t opt = (s.seq || s.npdu || !s.ext.empty()) ? 4 : 0;
  json ext = json::array();
  for (auto [type, len] : s.ext) {
    ext.push_back({{"type", type}, {"len", len}});
    opt += 4 * size_t(len);
  }
  size_t gtpLen = opt + inner["total_len"].get<size_t>();
  size_t udpLen = 8 + 8 + gtpLen;
  size_t ihl = 5 + size_t(s.ipOptionsWords);
  j["outer"] = {{"src", ip4(s.srcIp)}, {"dst", ip4(s.dstIp)}, {"ttl", s.ttl}, {"ihl", ihl},
                {"id", 0x1234}, {"df", true}, {"mf", false}, {"total_len", 4 * ihl + udpLen},
                {"checksum", "valid"}};
  j["udp"] = {{"sport", 2152}, {"dport", 2152}, {"len", udpLen},
              {"checksum", s.udpChecksum ? "valid" : "zero"}};
  j["gtp"] = {{"type", s.gtpType}, {"teid", s.teid}, {"length", gtpLen}, {"seq", s.seq},
              {"npdu", s.npdu}, {"ext", ext}, {"qfi", s.qfi}};
  j["inner"] = inner;
  return j;
}

json ethIntent(const InnerSpec& in, uint32_t teid, bool vlan) {
  json j;
  j["vlan"] = vlan ? json(kVlanId) : json(nullptr);
  j["inner"] = innerIntent(in, teid);
  return j;
}

struct Dump {
  std::vector<std::vector<uint8_t>> frames;
  json meta = json::array();

  void add(std::string name, const char* kernel, const char* source, std::vector<uint8_t> f,
           json intent) {
    intent["name"] = std::move(name);
    intent["kernel"] = kernel;
    intent["source"] = source;
    intent["frame_len"] = f.size();
    meta.push_back(std::move(intent));
    frames.push_back(std::move(f));
  }
  void gtp(std::string name, const char* kernel, const GtpShape& s) {
    add(std::move(name), kernel, "buildGtp", buildGtp(s), gtpIntent(s));
  }
};

// The builders, one option at a time, as the steer (FrameGen) and gate (uplinkFrame,
// downlinkFrame) tests use them.
void builderShapes(Dump& d) {
  GtpShape base;
  base.teid = 0x00a1b2c3;
  base.srcIp = 0xc6120107;  // 198.18.1.7
  base.payload = 33;
  for (uint8_t proto : {uint8_t(17), uint8_t(6), uint8_t(1), uint8_t(253)}) {
    GtpShape s = base;
    s.innerProto = proto;
    d.gtp("gpdu-inner-proto-" + std::to_string(proto), "both", s);
  }
  {
    GtpShape s = base;
    s.vlan = true;
    d.gtp("gpdu-vlan", "both", s);
  }
  for (int words : {1, 10}) {
    GtpShape s = base;
    s.ipOptionsWords = words;
    d.gtp("gpdu-outer-options-" + std::to_string(words), "both", s);
  }
  {
    GtpShape s = base;
    s.udpChecksum = false;
    d.gtp("gpdu-udp-checksum-zero", "both", s);
  }
  {
    GtpShape s = base;
    s.seq = true;
    d.gtp("gpdu-seq", "both", s);
    s.seq = false;
    s.npdu = true;
    d.gtp("gpdu-npdu", "both", s);
    s.seq = true;
    d.gtp("gpdu-seq-npdu", "both", s);
  }
  for (int len : {1, 2, 3}) {
    GtpShape s = base;
    s.ext = {{0x85, len}};
    s.qfi = 5 + len;
    d.gtp("gpdu-ext-pdu-session-len" + std::to_string(len), "both", s);
  }
  {
    GtpShape s = base;
    s.ext = {{0x85, 1}, {0x40, 2}, {0x5f, 1}};
    s.qfi = 63;
    s.vlan = true;
    s.seq = true;
    d.gtp("gpdu-ext-chain", "both", s);
    s.ext = {{0x47, 3}, {0x85, 1}};
    s.qfi = 0;
    d.gtp("gpdu-ext-other-first", "both", s);
  }
  for (size_t payload : {size_t(0), size_t(1400)}) {
    GtpShape s = base;
    s.payload = payload;
    s.innerProto = 6;
    d.gtp("gpdu-payload-" + std::to_string(payload), "both", s);
  }
  for (uint8_t ttl : {uint8_t(0), uint8_t(1)}) {
    GtpShape s = base;
    s.ttl = ttl;
    d.gtp("gpdu-outer-ttl-" + std::to_string(ttl), "both", s);
  }
  for (uint8_t type : {uint8_t(1), uint8_t(26)}) {
    GtpShape s = base;
    s.gtpType = type;
    d.gtp("signalling-type-" + std::to_string(type), "steer", s);
  }
  {
    GtpShape s = base;
    s.teid = 0;
    d.gtp("teid0", "steer", s);
  }

  // Gate uplink: the session's flow in full (uplinkFrame).
  for (uint8_t proto : {uint8_t(17), uint8_t(6), uint8_t(1)}) {
    InnerSpec in;
    in.proto = proto;
    in.src = 0xc613a1b2;  // 198.19.161.178
    in.dst = 0xc6120433;  // 198.18.4.51
    in.sport = 51000;
    in.dport = proto == 1 ? 0 : 777;
    in.icmpId = 51000;
    in.optionsWords = 2;
    in.ttl = 200;
    in.tcpFlags = 0x11;
    in.payload = 57;
    GtpShape g = base;
    g.dstIp = 0xc6120164;
    g.ext = {{0x85, 1}};
    g.qfi = 17;
    g.inner = &in;
    d.gtp("gate-uplink-" + std::to_string(proto), "gate", g);
    if (proto == 17) {
      in.l4Checksum = false;
      d.gtp("gate-uplink-inner-udp-checksum-zero", "gate", g);
    }
    if (proto == 6) {
      in.l4Checksum = false;
      d.gtp("gate-uplink-inner-tcp-checksum-wrong", "gate", g);
    }
  }

  // Gate downlink: a reply from the server to a NAT address (downlinkFrame).
  for (uint8_t proto : {uint8_t(17), uint8_t(6), uint8_t(1)}) {
    for (bool vlan : {false, true}) {
      InnerSpec in;
      in.proto = proto;
      in.src = 0xc6120507;  // 198.18.5.7
      in.dst = 0xc6120302;  // 198.18.3.2
      in.sport = 8042;
      in.dport = 31337;
      in.icmpType = 0;
      in.icmpId = 31337;
      in.optionsWords = vlan ? 1 : 0;
      in.payload = proto == 6 ? 0 : 300;  // a bare TCP segment is padded to 60 bytes
      std::string name = "gate-downlink-" + std::to_string(proto) + (vlan ? "-vlan" : "");
      d.add(name, "gate", "buildEth", buildEth(buildIpv4(in, 0), vlan), ethIntent(in, 0, vlan));
    }
  }
  {
    InnerSpec in;
    in.proto = 17;
    in.l4Checksum = false;
    in.payload = 5;
    in.src = 0;  // 198.19.10.11, from the TEID argument, as the IPv4 ID
    d.add("gate-downlink-udp-checksum-zero", "gate", "buildEth", buildEth(buildIpv4(in, 0x0a0b), false),
          ethIntent(in, 0x0a0b, false));
  }
}

// The variant of a "malformed" frame, from the byte FrameGen::next changed.
std::string malformedVariant(const std::vector<uint8_t>& f) {
  size_t l3 = f[12] == 0x81 ? 18 : 14;
  if (f[l3] == 0x65) return "ipv4-version-6";
  if (f[l3] == 0x43) return "ipv4-ihl-3";
  size_t l4 = l3 + 4 * size_t(f[l3] & 0xf);
  if (f[l4 + 4] == 0 && f[l4 + 5] == 4) return "udp-length-4";
  if ((f[l4 + 8] >> 5) == 2) return "gtp-version-2";
  return "gtp-length-past-udp";
}

// Where a "truncated" frame was cut, from its (remaining) headers.
std::string truncatedAt(const std::vector<uint8_t>& f) {
  size_t l3 = f.size() > 12 && f[12] == 0x81 ? 18 : 14;
  if (f.size() < l3) return "ethernet";
  if (f.size() < l3 + 20) return "ipv4-header";
  size_t l4 = l3 + 4 * size_t(f[l3] & 0xf);
  if (f.size() < l4) return "ipv4-header";
  if (f.size() < l4 + 8) return "udp-header";
  if (f.size() < l4 + 16) return "gtp-header";
  return "gtp-payload";
}

bool outerUdpSumZero(const std::vector<uint8_t>& f) {
  size_t l3 = f[12] == 0x81 ? 18 : 14;
  size_t l4 = l3 + 4 * size_t(f[l3] & 0xf);
  return f[l4 + 6] == 0 && f[l4 + 7] == 0;
}

bool frameGenKinds(Dump& d) {
  const std::vector<uint32_t> pool = {0x1001, 0x2003, 0x00abcdef, 0x7fff0001};
  const std::set<std::string> kinds = {"gpdu", "signalling", "teid0", "arp", "ipv6", "unsupported",
                                       "not-gtpu", "own-address", "fragment", "malformed",
                                       "truncated", "rx-error"};
  const std::set<std::string> malformed = {"ipv4-version-6", "ipv4-ihl-3", "udp-length-4",
                                           "gtp-version-2", "gtp-length-past-udp"};
  const std::set<std::string> cuts = {"ethernet", "ipv4-header", "udp-header", "gtp-header",
                                      "gtp-payload"};
  std::set<std::string> seen;
  size_t want = kinds.size() - 2 + malformed.size() + cuts.size();
  FrameGen gen(kSeed);
  for (uint64_t n = 0; n < kMaxDraws && seen.size() < want; ++n) {
    std::string kind;
    std::vector<uint8_t> f = gen.next(pool, &kind);
    std::string name = kind;
    json j;
    if (kind == "malformed") {
      j["malformed"] = malformedVariant(f);
      name += "-" + j["malformed"].get<std::string>();
    } else if (kind == "truncated") {
      j["truncated_in"] = truncatedAt(f);
      name += "-in-" + j["truncated_in"].get<std::string>();
    }
    // Where a stale UDP checksum would show, take a frame that has one.
    bool udpSum = kind == "not-gtpu" || kind == "own-address" || kind == "fragment" ||
                  name == "malformed-gtp-version-2" || name == "malformed-gtp-length-past-udp";
    if (udpSum && outerUdpSumZero(f)) continue;
    if (!seen.insert(name).second) continue;
    j["kind"] = kind;
    j["draw"] = n;
    j["seed"] = kSeed;
    j["teid_pool"] = pool;
    d.add("framegen-" + name, "both", "FrameGen", std::move(f), std::move(j));
  }
  if (seen.size() < want) {
    std::fprintf(stderr, "pktgen_dump: FrameGen(%llu) made %zu of %zu shapes in %llu draws\n",
                 (unsigned long long)kSeed, seen.size(), want, (unsigned long long)kMaxDraws);
    return false;
  }
  return true;
}

}  // namespace
}  // namespace roamgate::test

int main(int argc, char** argv) {
  using namespace roamgate;
  if (argc != 3) {
    std::fprintf(stderr, "usage: pktgen_dump OUT.pcap OUT.json\n");
    return 2;
  }
  test::Dump d;
  test::builderShapes(d);
  if (!test::frameGenKinds(d)) return 1;
  sim::PcapWriter w;
  std::string err;
  if (!w.open(argv[1], err)) {
    std::fprintf(stderr, "pktgen_dump: %s: %s\n", argv[1], err.c_str());
    return 1;
  }
  for (size_t i = 0; i < d.frames.size(); ++i) w.write(d.frames[i], 1'000'000'000ull * (i + 1));
  FILE* out = std::fopen(argv[2], "w");
  if (!out) {
    std::fprintf(stderr, "pktgen_dump: %s: cannot write\n", argv[2]);
    return 1;
  }
  std::string text = d.meta.dump(1) + "\n";
  std::fputs(text.c_str(), out);
  std::fclose(out);
  std::printf("pktgen_dump: %zu frames to %s\n", d.frames.size(), argv[1]);
  return 0;
}
