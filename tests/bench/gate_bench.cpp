// Benchmarks of the gate kernel on its Verilated model. Prints one `name value` per line.
// S is the size of the user's frame on the service side (Ethernet + IPv4 packet, FCS not
// carried): an uplink G-PDU is S + 36 bytes (outer IPv4, UDP, GTP-U), a downlink tunnel frame
// S + 36 (no QFI) or S + 44 (PDU Session Container). imix: 7:4:1 of 64, 594 and 1518.
//   gate.saturation.beats_per_cycle.<dir>.<S>  frames offered back to back, a beat every
//                                         cycle: input beats of frames forwarded / cycles offered
//                                         (downlink: the longer output caps this; frames that do
//                                         not fit are dropped whole and counted)
//   gate.linerate.drops.<dir>.<S>         frames lost at 100 GbE wire rate on the input (wire
//                                         time: bus bytes + 20), 300 MHz clock, the host
//                                         installing one flow entry every 32 cycles
//   gate.linerate.offered_gbps.<dir>.<S>  the load that run offered, wire Gb/s
//   gate.latency.cycles.<dir>.64B         first beat in to first beat out, idle pipeline
//   gate.export.records_lost              user sessions that expired at once minus records
//                                         the host received (a 256-record ring drained slowly)
//   gate.export.ring_full_waits           records that found the ring full and waited
//   sim.cycles_per_second.gate.cpp        Verilated C++ model speed during the saturation runs
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "gate_dut.h"
#include "inproc_device.h"
#include "pacer.h"
#include "pktgen.h"
#include "roamgate/dataplane/gate_tables.h"
#include "roamgate/dataplane/host_rings.h"
#include "roamgate/regs/gate.h"

using namespace roamgate;
namespace r = regs::gate;

namespace {

// A bench on tables that did not program measures nothing: stop with the reason.
void must(const Status& s, const char* what) {
  if (!s) {
    std::fprintf(stderr, "bench: %s: %s\n", what, s.message().c_str());
    std::exit(1);
  }
}


constexpr uint32_t kAccessIp = 0xc6120164;
constexpr uint32_t kNat = 0xc6120301;
constexpr size_t kSessions = 1000;

dataplane::UserSession session(size_t i) {
  dataplane::UserSession s;
  s.flow = {0x10000u + uint32_t(i), 0xc6130000u + uint32_t(i), 0xc6120400u + uint32_t(i % 7), 17,
            uint16_t(20000 + i), 53};
  s.addrIndex = 0;
  s.port = uint16_t(1024 + i);
  s.serverIp = 0xc6120500u + uint32_t(i % 50);
  s.serverPort = 8053;
  s.peerIp = 0xc6120101;
  s.dlTeid = 0x50000u + uint32_t(i);
  if (i % 2) s.qfi = 9;
  return s;
}

void program(sim::GateDut& dut, uint32_t tickShift = 16) {
  sim::InprocDevice<sim::GateDut> dev(dut, "gate");
  dataplane::GateTables t(dev);
  dataplane::GateConfig c;
  c.accessIp = kAccessIp;
  c.ownMac = 0x021122334455ull;
  c.svcNextHopMac = 0x02aabbccdd01ull;
  c.accNextHopMac = 0x02aabbccdd02ull;
  c.natIps = {kNat, kNat + 1, kNat + 2, kNat + 3};
  c.tickShift = tickShift;
  must(t.writeConfig(c), "gate config");
  for (size_t i = 0; i < kSessions; ++i) must(t.installSession(session(i)), "user session");
}

std::vector<uint8_t> uplink(size_t s, size_t i) {
  const dataplane::UserSession u = session(i % kSessions);
  test::InnerSpec in;
  in.proto = 17;
  in.src = u.flow.src;
  in.dst = u.flow.dst;
  in.sport = u.flow.sport;
  in.dport = u.flow.dport;
  in.payload = s - 14 - 28;
  test::GtpShape g;
  g.teid = u.flow.teid;
  g.dstIp = kAccessIp;
  g.inner = &in;
  return test::buildGtp(g);
}

std::vector<uint8_t> downlink(size_t s, size_t i) {
  const dataplane::UserSession u = session(i % kSessions);
  test::InnerSpec in;
  in.proto = 17;
  in.src = u.serverIp;
  in.dst = kNat;
  in.sport = u.serverPort;
  in.dport = u.port;
  in.payload = s - 14 - 28;
  return test::buildEth(test::buildIpv4(in, 0), false);
}

std::vector<size_t> sizesFor(const std::string& s, std::mt19937& rng, size_t n) {
  std::vector<size_t> v;
  for (size_t i = 0; i < n; ++i) {
    if (s == "imix") {
      int k = int(rng() % 12);
      v.push_back(k < 7 ? 64 : (k < 11 ? 594 : 1518));
    } else {
      v.push_back(std::stoul(s));
    }
  }
  return v;
}

const char* sfx(const std::string& label) { return label == "imix" ? "" : "B"; }
double totalCycles = 0, totalSeconds = 0;

void saturation(bool up, const std::string& label, size_t frames) {
  sim::GateDut dut(sim::GateDut::Options{});
  program(dut);
  std::mt19937 rng(1);
  auto sizes = sizesFor(label, rng, frames);
  sim::AxisSource& src = up ? dut.accRx() : dut.svcRx();
  std::vector<size_t> inBeats;
  for (size_t i = 0; i < sizes.size(); ++i) {
    auto f = up ? uplink(sizes[i], i) : downlink(sizes[i], i);
    src.push({std::move(f), 0, 0});
  }
  uint64_t c0 = dut.harness().cycle();
  auto t0 = std::chrono::steady_clock::now();
  dut.drain(50'000'000);
  totalSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  totalCycles += double(dut.harness().cycle() - c0);
  uint64_t offered = src.beatsSent();  // back to back: one beat offered every cycle
  auto& out = (up ? dut.svcTx() : dut.accTx()).frames();
  std::array<uint64_t, r::kStatCount> st{};
  sim::InprocDevice<sim::GateDut> dev(dut, "gate");
  must(dataplane::GateTables(dev).readStats(st), "statistics");
  uint64_t fifoDrops = st[uint32_t(up ? r::Stat::kDropUlFifoFull : r::Stat::kDropDlFifoFull)];
  // Input beats of the frames that were forwarded, from each output frame's size: uplink
  // output = S (input S + 36); downlink output = S + 36, or S + 44 with a QFI (flag at 42).
  uint64_t acceptedBeats = 0;
  for (const auto& f : out) {
    size_t s = up ? f.bytes.size() : f.bytes.size() - ((f.bytes[42] & 4) ? 44 : 36);
    acceptedBeats += ((up ? s + 36 : s) + 63) / 64;
  }
  const char* dir = up ? "uplink" : "downlink";
  std::printf("gate.saturation.beats_per_cycle.%s.%s%s %.3f\n", dir, label.c_str(), sfx(label),
              double(acceptedBeats) / double(offered));
  if (out.size() != frames) {
    std::fprintf(stderr, "gate bench: %s %s: %zu of %zu frames out, %llu dropped whole at admission\n", dir,
                 label.c_str(), out.size(), frames, (unsigned long long)fifoDrops);
  }
}

void lineRate(bool up, const std::string& label, size_t frames) {
  sim::GateDut dut(sim::GateDut::Options{});
  program(dut);
  sim::WirePacer pacer(100'000'000'000ull, 300'000'000ull, 20);
  sim::AxisSource& src = up ? dut.accRx() : dut.svcRx();
  src.setPacer([&](uint64_t, size_t bytes, bool first) {
    if (first) return pacer.mayStart(bytes);
    pacer.tick();
    return true;
  });
  std::mt19937 rng(2);
  auto sizes = sizesFor(label, rng, frames);
  std::vector<size_t> wire;
  for (size_t i = 0; i < sizes.size(); ++i) {
    auto f = up ? uplink(sizes[i], i) : downlink(sizes[i], i);
    wire.push_back(f.size() + 20);
    src.push({std::move(f), 0, 0});
  }
  // The host installs one flow entry every 32 cycles while traffic flows (new flows of the
  // first user session, into slots the traffic does not use).
  uint32_t n = 0;
  uint64_t commits = 0;
  while (!src.idle()) {
    if (dut.harness().cycle() % 32 == 0 && dut.axil().idle()) {
      dataplane::FlowKey k{0x900000u + n, 0xc6130000u + n, 0xc6120400, 17, uint16_t(n), 53};
      uint32_t bucket = dataplane::flowHash(1, k.bytes()) & ((1u << r::kFlowBucketsLog2) - 1);
      dut.axil().queue({true, r::flow::kAddr, r::flow::kAddrBank.put(1) | r::flow::kAddrBucket.put(bucket) |
                                                  r::flow::kAddrSlot.put(3)});
      dut.axil().queue({true, r::flow::kKey0, k.teid});
      dut.axil().queue({true, r::flow::kKey1, k.src});
      dut.axil().queue({true, r::flow::kKey2, k.dst});
      dut.axil().queue({true, r::flow::kKey3, uint32_t(k.sport) << 16 | k.dport});
      dut.axil().queue({true, r::flow::kKey4, k.proto});
      dut.axil().queue({true, r::flow::kValue, r::flow::kValueValid.put(1) | 1024});
      dut.axil().queue({true, r::flow::kCmd, r::flow::kCmdCommit.put(1)});
      ++n;
      ++commits;
    }
    dut.harness().tick();
  }
  dut.drain(1'000'000);
  auto& out = (up ? dut.svcTx() : dut.accTx()).frames();
  const char* dir = up ? "uplink" : "downlink";
  std::printf("gate.linerate.drops.%s.%s%s %llu\n", dir, label.c_str(), sfx(label),
              (unsigned long long)(frames - out.size()));
  const auto& starts = src.startCycles();
  double bits = 0;
  for (size_t i = 0; i + 1 < wire.size(); ++i) bits += double(wire[i]) * 8;
  double seconds = double(starts.back() - starts.front()) / 300e6;
  std::printf("gate.linerate.offered_gbps.%s.%s%s %.2f\n", dir, label.c_str(), sfx(label), bits / seconds / 1e9);
  if (commits == 0) std::fprintf(stderr, "gate bench: no flow installs during %s\n", label.c_str());
}

void latency(bool up) {
  sim::GateDut dut(sim::GateDut::Options{});
  program(dut);
  (up ? dut.accRx() : dut.svcRx()).push({up ? uplink(64, 3) : downlink(64, 3), 0, 0});
  dut.drain(10000);
  uint64_t in = (up ? dut.accRx() : dut.svcRx()).startCycles().back();
  uint64_t out = (up ? dut.svcTx() : dut.accTx()).frames().back().firstCycle;
  std::printf("gate.latency.cycles.%s.64B %llu\n", up ? "uplink" : "downlink", (unsigned long long)(out - in));
}

void exportAll() {
  sim::GateDut dut(sim::GateDut::Options{});
  program(dut, 10);  // a tick is 1024 cycles
  sim::InprocDevice<sim::GateDut> dev(dut, "gate");
  dataplane::HostRings rings(dev, r::host::kBase, r::kMaxFrameBytes);
  must(rings.setup({4, 4, 8}), "rings");  // 256 export records
  dataplane::GateTables t(dev);
  for (size_t i = 0; i < kSessions; ++i) dut.accRx().push({uplink(64, i), 0, 0});
  dut.drain(1'000'000);
  // Every session goes idle at once: no packet for more than 4 ticks.
  dut.advanceTime(uint64_t(1024) * 100);
  must(t.setScanner(true, 4, 0), "scanner");
  std::vector<dataplane::ExportRecord> got;
  for (int i = 0; i < 400; ++i) {
    dut.harness().runUntil([] { return false; }, 20000);  // the host comes by every 20k cycles
    must(rings.pollExport(got), "export ring");
    uint32_t passes = dut.read(r::stats::kLo + 8 * uint32_t(r::Stat::kScanPasses));
    if (passes >= 2) break;
  }
  uint32_t waits = 0;
  must(rings.exportWaits(waits), "export waits");
  std::printf("gate.export.records_lost %lld\n", (long long)kSessions - (long long)got.size());
  std::printf("gate.export.ring_full_waits %u\n", waits);
}

}  // namespace

int main(int argc, char** argv) {
  size_t frames = argc > 1 ? std::stoul(argv[1]) : 20000;
  for (bool up : {true, false})
    for (std::string s : {"64", "65", "128", "512", "1518", "imix"}) saturation(up, s, frames);
  for (bool up : {true, false})
    for (std::string s : {"64", "65", "128", "512", "1518", "imix"}) lineRate(up, s, frames);
  latency(true);
  latency(false);
  exportAll();
  std::printf("sim.cycles_per_second.gate.cpp %.0f\n", totalCycles / totalSeconds);
  return 0;
}
