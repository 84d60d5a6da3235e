// The slow path's per-user-session pieces on one core, each in a plain timed loop. Prints
// `name value` lines:
//   slowpath.port_alloc.per_s            allocations per second (each with one free) on an
//                                        address kept half full (120 s hold, the clock
//                                        simulated so half the other ports are held)
//   slowpath.port_alloc.per_s.full99     the same with the address 99 % full
//   slowpath.select.per_s.<policy>       picks per second for 100 servers of weights 1..100,
//                                        each pick's session started and an older one ended
//                                        (what the punt path reports), for maglev (5-tuple),
//                                        least_sessions and round_robin
//   slowpath.select.maglev_build_ms      building the 65537-entry table for those 100 servers
// usage: slowpath_bench [SECONDS_PER_FIGURE]  (default 0.5)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "roamgate/control/port_allocator.h"
#include "roamgate/control/selection.h"

using namespace roamgate::control;
using BenchClock = std::chrono::steady_clock;

namespace {

double seconds = 0.5;

double portAllocPerS(double fullShare) {
  PortAllocatorOptions o;
  o.seed = 1;
  auto made = PortAllocator::create(0, o);
  if (!made) {
    std::fprintf(stderr, "slowpath bench: %s\n", made.status().message().c_str());
    std::exit(1);
  }
  PortAllocator a = std::move(made).value();
  // Freed ports are held for 120 s. The simulated clock advances so that about half of the
  // ports not in use are held at any time (a freed port returns after as many frees).
  PortAllocator::Clock::time_point now{};
  std::vector<uint16_t> inUse;
  uint32_t target = uint32_t(a.capacity() * fullShare);
  auto step = o.hold / ((a.capacity() - target) / 2);
  while (inUse.size() < target) inUse.push_back(*a.allocate(inUse.size(), now));
  std::mt19937_64 rng(7);
  uint64_t ops = 0;
  auto start = BenchClock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 4096; ++i) {
      now += step;
      size_t k = rng() % inUse.size();
      if (!a.free(inUse[k], now).ok()) std::exit(1);
      auto p = a.allocate(ops, now);
      if (!p.ok()) {
        std::fprintf(stderr, "slowpath bench: %s\n", p.status().message().c_str());
        std::exit(1);
      }
      inUse[k] = *p;
      ++ops;
    }
    elapsed = std::chrono::duration<double>(BenchClock::now() - start).count();
  }
  return double(ops) / elapsed;
}

std::vector<Server> hundred() {
  std::vector<Server> v;
  for (uint32_t i = 0; i < 100; ++i) {
    Server s;
    s.ip = 0xc6120400u + 10 + i;
    s.port = 80;
    s.weight = 1 + i;
    v.push_back(s);
  }
  return v;
}

double selectPerS(SelectionPolicy p) {
  SelectorOptions o;
  o.policy = p;
  o.hashOn = HashOn::kFiveTuple;
  auto made = ServerSelector::create(hundred(), o);
  if (!made) std::exit(1);
  ServerSelector sel = std::move(made).value();
  std::vector<SelectionKey> keys(4096);
  std::mt19937_64 rng(3);
  for (auto& k : keys) {
    k.terminalIp = 0x0a000000u | uint32_t(rng() & 0xffffff);
    k.terminalPort = uint16_t(rng());
    k.dstIp = 0xc6120064u;
    k.dstPort = 443;
    k.proto = 6;
  }
  std::vector<uint32_t> live(1024);  // a window of live sessions: the oldest ends
  for (auto& s : live) {
    s = *sel.pick(keys[0]);
    if (!sel.sessionStarted(s).ok()) std::exit(1);
  }
  uint64_t ops = 0;
  size_t oldest = 0;
  auto start = BenchClock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (const auto& k : keys) {
      auto s = sel.pick(k);
      if (!s.ok() || !sel.sessionStarted(*s).ok() || !sel.sessionEnded(live[oldest]).ok()) {
        std::exit(1);
      }
      live[oldest] = *s;
      oldest = (oldest + 1) % live.size();
      ++ops;
    }
    elapsed = std::chrono::duration<double>(BenchClock::now() - start).count();
  }
  return double(ops) / elapsed;
}

double maglevBuildMs() {
  int builds = 0;
  auto start = BenchClock::now();
  double elapsed = 0;
  while (elapsed < seconds || builds == 0) {
    auto made = ServerSelector::create(hundred(), {});
    if (!made) std::exit(1);
    ++builds;
    elapsed = std::chrono::duration<double>(BenchClock::now() - start).count();
  }
  return elapsed * 1000 / builds;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) seconds = std::atof(argv[1]);
  if (!(seconds > 0)) {
    std::fprintf(stderr, "usage: slowpath_bench [SECONDS_PER_FIGURE]  (a number above 0)\n");
    return 2;
  }
  std::printf("slowpath.port_alloc.per_s %.0f\n", portAllocPerS(0.5));
  std::printf("slowpath.port_alloc.per_s.full99 %.0f\n", portAllocPerS(0.99));
  for (auto p :
       {SelectionPolicy::kMaglev, SelectionPolicy::kLeastSessions, SelectionPolicy::kRoundRobin}) {
    std::printf("slowpath.select.per_s.%.*s %.0f\n", int(policyName(p).size()),
                policyName(p).data(), selectPerS(p));
  }
  std::printf("slowpath.select.maglev_build_ms %.2f\n", maglevBuildMs());
  return 0;
}
