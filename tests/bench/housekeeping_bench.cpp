// Housekeeper throughput on one core: the fixtures' frames (tests/fixtures/housekeeping, a mix
// of ARP, echo and frames to drop) handled in a loop. Prints `name value` lines:
//   control.punt_housekeeping.per_s.cpu        frames handled per second, the whole mix
//   control.punt_housekeeping.echo_per_s.cpu   Echo Requests answered per second (echo only)
//   control.punt_housekeeping.arp_per_s.cpu    ARP requests answered per second (ARP only)
// usage: housekeeping_bench [SECONDS_PER_FIGURE]  (default 0.5)
#include <pcap/pcap.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "roamgate/control/housekeeping.h"

using roamgate::control::Housekeeper;
using roamgate::control::HousekeeperConfig;
using roamgate::control::Verdict;

namespace {

struct Frame {
  std::vector<uint8_t> bytes;
  uint8_t port;
};

bool load(std::vector<Frame>& out) {
  std::string dir = HOUSEKEEPING_FIXTURES;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline((dir + "/requests.pcap").c_str(), errbuf);
  if (!p) {
    std::fprintf(stderr, "housekeeping bench: %s\n", errbuf);
    return false;
  }
  FILE* tsv = std::fopen((dir + "/cases.tsv").c_str(), "r");
  if (!tsv) {
    std::fprintf(stderr, "housekeeping bench: cannot open %s/cases.tsv\n", dir.c_str());
    pcap_close(p);
    return false;
  }
  std::vector<int> ports;
  char line[512];
  while (std::fgets(line, sizeof line, tsv)) {
    if (line[0] == '#' || line[0] == '\n') continue;
    char name[256];
    int port = 0;
    if (std::sscanf(line, "%255s %d", name, &port) == 2) ports.push_back(port);
  }
  std::fclose(tsv);
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  size_t i = 0;
  while (pcap_next_ex(p, &h, &data) == 1) {
    out.push_back({std::vector<uint8_t>(data, data + h->caplen),
                   uint8_t(i < ports.size() ? ports[i] : 0)});
    ++i;
  }
  pcap_close(p);
  return !out.empty();
}

// Frames per second over `frames`, for about `seconds`.
double rate(Housekeeper& hk, const std::vector<Frame>& frames, double seconds) {
  using Clock = std::chrono::steady_clock;
  std::array<uint8_t, Housekeeper::kMaxReplyBytes> reply{};
  size_t len = 0;
  uint64_t n = 0;
  volatile size_t sink = 0;
  auto start = Clock::now();
  double elapsed = 0;
  do {
    for (int r = 0; r < 1000; ++r)
      for (const Frame& f : frames) {
        (void)hk.handle(f.bytes, f.port, reply, len);
        sink = sink + len + reply[len ? len - 1 : 0];
      }
    n += 1000 * frames.size();
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  return double(n) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 0.5;
  if (!(seconds > 0)) seconds = 0.5;
  std::vector<Frame> all;
  if (!load(all)) return 1;
  HousekeeperConfig cfg;
  cfg.mac = 0x02005e100001ull;
  cfg.addresses = {{0xc0000201, std::nullopt, true}, {0xcb007107, uint8_t(1), false}};
  auto hk = Housekeeper::create(cfg);
  if (!hk.ok()) {
    std::fprintf(stderr, "housekeeping bench: %s\n", hk.status().message().c_str());
    return 1;
  }
  // Sort the frames by what they are, from a first pass.
  std::vector<Frame> echo, arp;
  for (const Frame& f : all) {
    std::array<uint8_t, Housekeeper::kMaxReplyBytes> reply{};
    size_t len = 0;
    Verdict v = hk->handle(f.bytes, f.port, reply, len);
    if (v == Verdict::kEchoReplied) echo.push_back(f);
    if (v == Verdict::kArpReplied) arp.push_back(f);
  }
  std::printf("control.punt_housekeeping.per_s.cpu %.0f\n", rate(*hk, all, seconds));
  std::printf("control.punt_housekeeping.echo_per_s.cpu %.0f\n", rate(*hk, echo, seconds));
  std::printf("control.punt_housekeeping.arp_per_s.cpu %.0f\n", rate(*hk, arp, seconds));
  return 0;
}
