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
//   slowpath.health.checks_per_s         TCP checks completed per second for 1,000 servers on
//                                        loopback listeners (100 ms interval: 10,000 at most)
//   slowpath.health.cpu_us_per_check     the checker thread's CPU per check
//   slowpath.authorize.per_s             LocalAuthorizer decisions per second for 100,000
//                                        subscribers (a policy with 4 services, a concurrent
//                                        limit and a rate limit), each allowed one released
// usage: slowpath_bench [SECONDS_PER_FIGURE]  (default 0.5)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "roamgate/control/authorizer.h"
#include "roamgate/control/health.h"
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

// slowpath.health.checks_per_s: TCP checks completed per second for 1,000 servers (20 listening
// sockets on 127.0.0.1, 50 servers each, accepted and closed by one thread), every check at the
// shortest interval allowed (100 ms, timeout 50 ms), all on one checker polled by this thread,
// counted over 3 s (or SECONDS_PER_FIGURE if longer) after a warm-up. The interval bounds it:
// 1,000 servers / 100 ms = 10,000 a second at most. slowpath.health.cpu_us_per_check: this
// thread's CPU time per check completed (poll/wait and every socket call of the checks, with the
// kernel's loopback TCP work done inside those calls); the listeners' thread is not counted.
struct HealthFigures {
  double checksPerS = 0;
  double cpuUsPerCheck = 0;
};

HealthFigures healthChecks() {
  constexpr int kListeners = 20;
  constexpr int kServers = 1000;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;  // 1,000 check sockets, the listeners' accepted ones
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  auto fail = [](const char* what) {
    std::fprintf(stderr, "slowpath bench: health: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
  };
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  int stopFd = ::eventfd(0, EFD_CLOEXEC);
  if (ep < 0 || stopFd < 0) fail("epoll/eventfd");
  epoll_event sev{};
  sev.events = EPOLLIN;
  sev.data.fd = stopFd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, stopFd, &sev);
  std::vector<int> listeners;
  std::vector<uint16_t> ports;
  for (int i = 0; i < kListeners; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd, 4096) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      fail("listener");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    listeners.push_back(fd);
    ports.push_back(ntohs(a.sin_port));
  }
  std::thread acceptor([&] {
    epoll_event evs[64];
    for (;;) {
      int n = ::epoll_wait(ep, evs, 64, -1);
      for (int i = 0; i < n; ++i) {
        if (evs[i].data.fd == stopFd) return;
        int c;
        while ((c = ::accept4(evs[i].data.fd, nullptr, nullptr, SOCK_CLOEXEC)) >= 0) ::close(c);
      }
    }
  });

  auto made = HealthChecker::create({});
  if (!made) {
    std::fprintf(stderr, "slowpath bench: %s\n", made.status().message().c_str());
    std::exit(1);
  }
  auto hc = std::move(made).value();
  HealthCheckConfig cfg;
  cfg.interval = kMinCheckInterval;
  cfg.timeout = kMinCheckInterval / 2;
  cfg.rise = 1;
  for (int i = 0; i < kServers; ++i) {
    roamgate::Status s = hc->add(uint64_t(i), {INADDR_LOOPBACK, ports[i % kListeners], 0}, cfg);
    if (!s.ok()) {
      std::fprintf(stderr, "slowpath bench: %s\n", s.message().c_str());
      std::exit(1);
    }
  }
  auto drive = [&](double secs) {
    auto end = BenchClock::now() + std::chrono::duration_cast<BenchClock::duration>(
                                       std::chrono::duration<double>(secs));
    for (auto now = BenchClock::now(); now < end; now = BenchClock::now()) {
      auto next = std::min(hc->poll(now), end);
      hc->wait(next - BenchClock::now());
    }
    hc->poll(BenchClock::now());  // the checks that ended during the last wait count here
  };
  auto threadCpu = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
  };
  drive(0.5);  // warm-up: every server checked a few times
  double window = std::max(seconds, 3.0);
  uint64_t ended0 = hc->checksEnded();
  double cpu0 = threadCpu();
  auto t0 = BenchClock::now();
  drive(window);
  double elapsed = std::chrono::duration<double>(BenchClock::now() - t0).count();
  uint64_t checks = hc->checksEnded() - ended0;
  double cpu = threadCpu() - cpu0;
  uint64_t failures = 0;
  for (int i = 0; i < kServers; ++i) failures += hc->counters(uint64_t(i))->failures;
  if (failures > 0) {
    std::fprintf(stderr, "slowpath bench: health: %llu failed checks (e.g. %s)\n",
                 (unsigned long long)failures, hc->counters(0)->lastError.c_str());
  }
  hc.reset();
  uint64_t one = 1;
  if (::write(stopFd, &one, sizeof one) != sizeof one) fail("eventfd write");
  acceptor.join();
  for (int fd : listeners) ::close(fd);
  ::close(stopFd);
  ::close(ep);
  HealthFigures f;
  f.checksPerS = double(checks) / elapsed;
  f.cpuUsPerCheck = checks ? cpu * 1e6 / double(checks) : 0;
  return f;
}

double authorizePerS() {
  LocalAuthorizer a;
  SubscriberPolicy p;
  p.name = "default";
  p.services = {"web", "video", "mail", "dns"};
  p.maxUserSessions = 64;
  p.newPerSecond = 1000;
  if (roamgate::Status s = a.setPolicies({p}, {}); !s) {
    std::fprintf(stderr, "slowpath bench: %s\n", s.message().c_str());
    return 0;
  }
  std::vector<std::string> imsis;
  for (int i = 0; i < 100000; ++i) imsis.push_back(std::to_string(1010000000000ull + uint64_t(i) * 7919));
  const char* services[] = {"web", "video", "mail", "dns"};
  uint64_t n = 0, allowed = 0;
  auto t0 = BenchClock::now();
  auto end = t0 + std::chrono::duration_cast<BenchClock::duration>(std::chrono::duration<double>(seconds));
  BenchClock::time_point now = t0;
  while (now < end) {
    for (int i = 0; i < 4096; ++i, ++n) {
      const std::string& imsi = imsis[n % imsis.size()];
      if (a.authorize({imsi, services[n % 4], now}).allowed()) {
        ++allowed;
        a.release(imsi);
      }
    }
    now = BenchClock::now();
  }
  if (allowed == 0) std::fprintf(stderr, "slowpath bench: authorize: nothing allowed\n");
  return double(n) / std::chrono::duration<double>(now - t0).count();
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
  HealthFigures health = healthChecks();
  std::printf("slowpath.health.checks_per_s %.0f\n", health.checksPerS);
  std::printf("slowpath.health.cpu_us_per_check %.1f\n", health.cpuUsPerCheck);
  std::printf("slowpath.authorize.per_s %.0f\n", authorizePerS());
  return 0;
}
