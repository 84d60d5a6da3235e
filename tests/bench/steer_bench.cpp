// Benchmarks of the steer kernel on its Verilated model. Prints one `name value` per line.
//   steer.saturation.beats_per_cycle.<S>  frames of S bytes offered back to back, a beat every
//                                         cycle: beats accepted without loss / cycles offered
//   steer.saturation.out_beats_per_cycle.<S>  the same run seen at the output: beats out /
//                                         cycles from first to last beat out (store-and-forward
//                                         bubbles show here)
//   steer.linerate.drops.<S>              frames lost at 100 GbE wire rate, 300 MHz clock, while
//                                         the host commits a session entry every 32 cycles.
//                                         S counts as the Ethernet frame with FCS on the wire
//                                         (S + 20 bytes of wire time: 148.8 Mpps at 64B) and as
//                                         S bytes on the bus (65B: two beats), the harder of both.
//   steer.linerate.offered_gbps.<S>       the load that run offered, in wire Gb/s (goal: 100)
//   steer.latency.cycles.64B              first beat in to first beat out, idle pipeline
//   steer.maglev.max_over_mean.<N>        most entries of one gateway / mean, N gateways
//   steer.maglev.extra_moved.<N>          share of entries that change owner when one of N
//                                         gateways goes, beyond that gateway's own
//   sim.cycles_per_second.steer.cpp       Verilated C++ model speed during the saturation runs
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "pacer.h"
#include "roamgate/checksum.h"
#include "roamgate/dataplane/maglev.h"
#include "roamgate/dataplane/steer_tables.h"
#include "roamgate/regs/steer.h"
#include "inproc_device.h"
#include "steer_dut.h"

using namespace roamgate;
namespace r = regs::steer;

namespace {

// A G-PDU of exactly `size` bytes on the bus (FCS not carried): Ethernet, IPv4, UDP 2152,
// GTP-U, and a T-PDU of filler. TEIDs vary so lookups spread over the tables.
std::vector<uint8_t> gpduOfSize(size_t size, uint32_t teid) {
  std::vector<uint8_t> f(std::max<size_t>(size, 60), 0);
  f[12] = 0x08;
  f[14] = 0x45;
  size_t ipLen = f.size() - 14;
  f[16] = uint8_t(ipLen >> 8);
  f[17] = uint8_t(ipLen);
  f[22] = 64;
  f[23] = 17;
  uint8_t src[4] = {198, 18, 1, 1}, dst[4] = {198, 18, 1, 100};
  std::copy(src, src + 4, &f[26]);
  std::copy(dst, dst + 4, &f[30]);
  uint16_t c = internetChecksum({&f[14], 20});
  f[24] = uint8_t(c >> 8);
  f[25] = uint8_t(c);
  f[34] = 0x08; f[35] = 0x68; f[36] = 0x08; f[37] = 0x68;  // 2152 -> 2152
  size_t udpLen = ipLen - 20;
  f[38] = uint8_t(udpLen >> 8);
  f[39] = uint8_t(udpLen);
  f[42] = 0x30;
  f[43] = 0xff;
  size_t gtpLen = udpLen - 16;
  f[44] = uint8_t(gtpLen >> 8);
  f[45] = uint8_t(gtpLen);
  f[46] = uint8_t(teid >> 24); f[47] = uint8_t(teid >> 16); f[48] = uint8_t(teid >> 8); f[49] = uint8_t(teid);
  f.resize(size < 60 ? 60 : size);
  return f;
}

std::vector<size_t> sizesFor(const std::string& s, std::mt19937& rng, size_t n) {
  std::vector<size_t> v;
  for (size_t i = 0; i < n; ++i) {
    if (s == "imix") {
      int k = int(rng() % 12);  // 7:4:1 of 64, 594, 1518
      v.push_back(k < 7 ? 64 : (k < 11 ? 594 : 1518));
    } else {
      v.push_back(std::stoul(s));
    }
  }
  return v;
}

// A bench on tables that did not program measures nothing: stop with the reason.
void must(const Status& s, const char* what) {
  if (!s) {
    std::fprintf(stderr, "bench: %s: %s\n", what, s.message().c_str());
    std::exit(1);
  }
}

void program(sim::SteerDut& dut) {
  sim::InprocDevice<sim::SteerDut> dev(dut, "steer");
  dataplane::SteerTables t(dev);
  must(t.writeConfig({0xc6120164, 0x021122334455ull, 0x01000000, 1024}), "steer config");
  for (uint32_t g = 0; g < 16; ++g) must(t.writeGateway({g, true, 0xc6120210u + g, 0x020000000200ull + g}), "gateway");
  must(t.rebuildMaglev(), "Maglev");
  for (uint32_t i = 0; i < 1000; ++i) must(t.insertSession(0x1000 + 2 * i, i % 16), "session");
}

uint64_t dropped(sim::SteerDut& dut) {
  uint64_t d = 0;
  for (uint32_t s = uint32_t(r::Stat::kDropTruncated); s < r::kStatCount; ++s) d += dut.read(r::stats::kLo + 8 * s);
  return d;
}

double totalCycles = 0, totalSeconds = 0;

void saturation(const std::string& label, size_t frames) {
  sim::SteerDut dut(sim::SteerDut::Options{});
  program(dut);
  std::mt19937 rng(1);
  auto sizes = sizesFor(label, rng, frames);
  for (size_t i = 0; i < sizes.size(); ++i) dut.rx().push({gpduOfSize(sizes[i], 0x1000 + uint32_t(i % 4000)), 0, 0});
  uint64_t c0 = dut.harness().cycle();
  auto t0 = std::chrono::steady_clock::now();
  dut.drain(50'000'000);
  totalSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  totalCycles += double(dut.harness().cycle() - c0);
  auto& out = dut.tx().frames();
  uint64_t first = out.front().firstCycle, beats = dut.tx().beats();
  // Cycle of the last beat out: the last frame's first beat plus its other beats.
  uint64_t last = out.back().firstCycle + (out.back().bytes.size() + 63) / 64 - 1;
  uint64_t offered = dut.rx().beatsSent();
  uint64_t inSpan = offered;  // back to back: one beat offered every cycle
  uint64_t lost = frames - out.size();
  double accepted = double(beats) / double(inSpan);  // a lost frame's beats do not count
  const char* sfx = label == "imix" ? "" : "B";
  std::printf("steer.saturation.beats_per_cycle.%s%s %.3f\n", label.c_str(), sfx, accepted);
  std::printf("steer.saturation.out_beats_per_cycle.%s%s %.3f\n", label.c_str(), sfx,
              double(beats) / double(last - first + 1));
  if (out.size() != frames || dropped(dut) != 0) {
    std::fprintf(stderr, "steer bench: %s: %zu of %zu frames out\n", label.c_str(), out.size(), frames);
  }
}

void lineRate(const std::string& label, size_t frames) {
  sim::SteerDut dut(sim::SteerDut::Options{});
  program(dut);
  sim::WirePacer pacer(100'000'000'000ull, 300'000'000ull, 20);
  dut.rx().setPacer([&](uint64_t, size_t bytes, bool first) {
    if (first) return pacer.mayStart(bytes);
    pacer.tick();
    return true;
  });
  std::mt19937 rng(2);
  auto sizes = sizesFor(label, rng, frames);
  for (size_t i = 0; i < sizes.size(); ++i) dut.rx().push({gpduOfSize(sizes[i], 0x1000 + uint32_t(i % 4000)), 0, 0});
  // The host commits one session entry every 32 cycles while traffic flows.
  uint32_t teid = 0x800000;
  uint64_t commits = 0;
  while (!dut.rx().idle()) {
    if (dut.harness().cycle() % 32 == 0 && dut.axil().idle()) {
      uint32_t bucket = (teid * 2654435761u) >> 19;
      dut.axil().queue({true, r::sess::kAddr,
                        r::sess::kAddrBank.put(1) | r::sess::kAddrBucket.put(bucket) | r::sess::kAddrSlot.put(3)});
      dut.axil().queue({true, r::sess::kData0, teid++});
      dut.axil().queue({true, r::sess::kData1, r::sess::kData1Valid.put(1) | r::sess::kData1Gateway.put(teid % 16)});
      dut.axil().queue({true, r::sess::kCmd, r::sess::kCmdCommit.put(1)});
      ++commits;
    }
    dut.harness().tick();
  }
  dut.drain(1'000'000);
  uint64_t lost = frames - dut.tx().frames().size();
  const char* sfx = label == "imix" ? "" : "B";
  std::printf("steer.linerate.drops.%s%s %llu\n", label.c_str(), sfx, (unsigned long long)lost);
  // The load actually offered: wire bits of the frames sent over the time their first beats spanned.
  const auto& starts = dut.rx().startCycles();
  double bits = 0;
  for (size_t i = 0; i + 1 < sizes.size(); ++i) bits += double(sizes[i] + 20) * 8;
  double seconds = double(starts.back() - starts.front()) / 300e6;
  std::printf("steer.linerate.offered_gbps.%s%s %.2f\n", label.c_str(), sfx, bits / seconds / 1e9);
  if (commits == 0) std::fprintf(stderr, "steer bench: no table commits during %s\n", label.c_str());
}

void latency() {
  sim::SteerDut dut(sim::SteerDut::Options{});
  program(dut);
  dut.rx().push({gpduOfSize(64, 0x1000), 0, 0});
  dut.drain(10000);
  uint64_t in = dut.rx().startCycles().back(), out = dut.tx().frames().back().firstCycle;
  std::printf("steer.latency.cycles.64B %llu\n", (unsigned long long)(out - in));
}

void maglev(int n) {
  std::vector<dataplane::MaglevBackend> b;
  for (int i = 0; i < n; ++i) b.push_back({0xc6120000u + uint32_t(i) * 7 + 10, uint8_t(i)});
  auto t = dataplane::buildMaglev(b);
  std::vector<uint32_t> count(256, 0);
  for (uint8_t v : t) count[v]++;
  double mean = double(t.size()) / n;
  double mx = *std::max_element(count.begin(), count.end());
  // Remove each of a few gateways in turn; report the worst.
  double worst = 0;
  for (int k : {0, n / 2, n - 1}) {
    auto fewer = b;
    fewer.erase(fewer.begin() + k);
    auto t2 = dataplane::buildMaglev(fewer);
    size_t extra = 0;
    for (size_t i = 0; i < t.size(); ++i) extra += (t[i] != k && t[i] != t2[i]);
    worst = std::max(worst, double(extra) / double(t.size()));
  }
  std::printf("steer.maglev.max_over_mean.%d %.4f\n", n, mx / mean);
  std::printf("steer.maglev.extra_moved.%d %.4f\n", n, worst);
}

}  // namespace

int main(int argc, char** argv) {
  size_t frames = argc > 1 ? std::stoul(argv[1]) : 20000;
  for (std::string s : {"64", "65", "128", "512", "1518", "imix"}) saturation(s, frames);
  for (std::string s : {"64", "65", "128", "512", "1518", "imix"}) lineRate(s, frames);
  latency();
  for (int n : {8, 64, 256}) maglev(n);
  std::printf("sim.cycles_per_second.steer.cpp %.0f\n", totalCycles / totalSeconds);
  return 0;
}
