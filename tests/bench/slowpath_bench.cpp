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
//   slowpath.setup.per_s                 user sessions decided and installed per second by the
//                                        gate's slow path (SlowPath::handle on a punted G-PDU:
//                                        parse, terminal, VIP, authorize, select, port, install)
//                                        on a hal::Device that only records the register
//                                        operations (the host's cost, not a simulator's); 50,000
//                                        at a time from 10,000 subscribers, then ended; punts
//                                        taken 64 at a time as the agent polls them
//                                        (SlowPath::prefetchAhead before each is handled);
//                                        the median of the rounds' rates (.mean: all setups over
//                                        all their time; a VM's stolen time moves the mean)
//   slowpath.end.per_s                   those user sessions ended per second (SlowPath::end)
//   slowpath.reg_writes_per_setup        register writes, and reads, per setup on that device
//   slowpath.reg_reads_per_setup         (cuckoo moves included; the flow mirror loaded once)
//   slowpath.setup_latency_us.p50/.p99   punt arrival to entries sent, setups arriving evenly
//                                        at half the measured rate (queueing included)
//   slowpath.wrr.max_error               round robin through the slow path, servers weighted
//                                        1..10: the largest |share - weight share| / weight
//                                        share over 55,000 new user sessions
// usage: slowpath_bench [SECONDS_PER_FIGURE [GROUP]]  (default 0.5; GROUP: port_alloc, select,
//        health, authorize, setup or wrr: only those figures)
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
#include <string>
#include <thread>
#include <vector>

#include "gate_model.h"
#include "pktgen.h"
#include "roamgate/control/authorizer.h"
#include "roamgate/control/slow_path.h"
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

// Records the register operations; reads give 0 (an empty table, the port table never busy).
class RecordingDevice : public roamgate::hal::Device {
 public:
  roamgate::Status transact(std::span<roamgate::hal::RegOp> ops) override {
    for (auto& op : ops) {
      if (op.write) {
        ++writes;
      } else {
        op.value = 0;
        ++reads;
      }
    }
    return {};
  }
  std::string describe() const override { return "recording"; }
  roamgate::Status allocMem(uint64_t, uint64_t, uint64_t&) override { return roamgate::Status::error("no memory"); }
  roamgate::Status readMem(uint64_t, std::span<uint8_t>) override { return roamgate::Status::error("no memory"); }
  roamgate::Status writeMem(uint64_t, std::span<const uint8_t>) override { return roamgate::Status::error("no memory"); }
  uint64_t writes = 0, reads = 0;
};

struct SetupFigures {
  double perS = 0, meanPerS = 0, endPerS = 0, writes = 0, reads = 0, p50 = 0, p99 = 0;
  size_t rounds = 0;
};

// One slow path on a recording device: 3 services, 10,000 subscribers, and the G-PDU of every
// user session built beforehand (its T-PDU offset as the gate model's punt gives it).
struct SlowBench {
  static constexpr uint32_t kSubs = 10000;
  static constexpr size_t kBatch = 50000;
  RecordingDevice dev;
  roamgate::dataplane::GateTables t{dev};
  LocalAuthorizer auth;
  std::unique_ptr<SlowPath> sp;
  std::vector<std::vector<uint8_t>> frames;
  uint8_t innerOffset = 0;

  explicit SlowBench(std::vector<Service> services, size_t nFrames) {
    SubscriberPolicy all;
    all.name = "default";
    all.anyService = true;
    all.external = true;
    if (auto st = auth.setPolicies({all}, {}); !st) die(st.message());
    if (auto st = t.loadFlows(); !st) die(st.message());
    SlowPathOptions o;
    o.ports.seed = 7;
    o.ports.hold = std::chrono::seconds(0);
    auto made = SlowPath::create(t, auth, {0xc6120301, 0xc6120302, 0xc6120303, 0}, o);
    if (!made.ok()) die(made.status().message());
    sp = std::move(*made);
    if (auto st = sp->setServices(services); !st) die(st.message());
    for (uint32_t i = 1; i <= kSubs; ++i) {
      Terminal term;
      term.imsi = std::to_string(1010000000000ull + i);
      term.ueIp = 0xc6130000 + i;
      term.peerIp = 0xc6120101;
      term.dlTeid = i;
      sp->setSession(i, term);
    }
    std::mt19937_64 rng(3);
    roamgate::model::GateModel m;
    for (size_t n = 0; n < nFrames; ++n) {
      uint32_t teid = 1 + uint32_t(n % kSubs);
      roamgate::test::InnerSpec in;
      in.proto = 6;
      in.src = 0xc6130000 + teid;
      const Service& svc = services[n % services.size()];
      in.dst = svc.vips[0].ip;
      in.dport = svc.vips[0].port;
      in.sport = uint16_t(1024 + n / kSubs);
      in.payload = 40;
      roamgate::test::GtpShape g;
      g.teid = teid;
      g.inner = &in;
      frames.push_back(roamgate::test::buildGtp(g));
    }
    // The kernel's punt metadata for this shape of frame (the model is bit-exact).
    roamgate::dataplane::GateConfig c;
    c.accessIp = 0xc6120164;
    ModelDev md(m);
    roamgate::dataplane::GateTables mt(md);
    (void)mt.writeConfig(c);
    innerOffset = m.uplink(frames[0]).puntInnerOffset;
  }
  // The gate model behind a Device, only to configure it for the offset above.
  struct ModelDev : RecordingDevice {
    explicit ModelDev(roamgate::model::GateModel& m) : m_(m) {}
    roamgate::Status transact(std::span<roamgate::hal::RegOp> ops) override {
      for (auto& op : ops) {
        if (op.write) m_.writeReg(op.addr, op.value);
        else op.value = m_.readReg(op.addr);
      }
      return {};
    }
    roamgate::model::GateModel& m_;
  };
  static void die(const std::string& m) {
    std::fprintf(stderr, "slowpath bench: %s\n", m.c_str());
    std::exit(1);
  }
  uint32_t teidOf(size_t n) const { return 1 + uint32_t(n % kSubs); }
};

std::vector<Service> benchServices() {
  auto svc = [](std::string name, uint32_t vip, SelectionPolicy p, UserSessionType t, uint32_t firstServer) {
    Service s;
    s.name = std::move(name);
    s.vips = {{vip, 443, VipProto::kTcp}};
    for (uint32_t i = 0; i < 10; ++i) {
      Server v;
      v.ip = firstServer + i;
      v.port = 8443;
      v.weight = 1 + i;
      s.servers.push_back(v);
    }
    s.policy = p;
    s.type = t;
    return s;
  };
  return {svc("web", 0xc6120a0a, SelectionPolicy::kMaglev, UserSessionType::kConnection, 0xc6120b01),
          svc("api", 0xc6120a0b, SelectionPolicy::kLeastSessions, UserSessionType::kConnection, 0xc6120c01),
          svc("video", 0xc6120a0c, SelectionPolicy::kRoundRobin, UserSessionType::kAffinity, 0xc6120d01)};
}

constexpr size_t kPoll = 64;  // punts the agent takes from the ring at a time (Agent::kPuntPoll)

SetupFigures setupFigures() {
  SlowBench b(benchServices(), SlowBench::kBatch);
  SetupFigures f;
  double setupS = 0, endS = 0;
  std::vector<double> rounds;  // each round's rate: the median is robust to a stolen slice
  uint64_t setups = 0, ends = 0, w = 0, r = 0;
  auto until = BenchClock::now() + std::chrono::duration_cast<BenchClock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::pair<uint8_t, uint16_t>> ports;
  ports.reserve(SlowBench::kBatch);
  BenchClock::time_point now{};
  do {
    uint64_t w0 = b.dev.writes, r0 = b.dev.reads;
    auto t0 = BenchClock::now();
    for (size_t n0 = 0; n0 < b.frames.size(); n0 += kPoll) {
      size_t n1 = std::min(b.frames.size(), n0 + kPoll);
      for (size_t n = n0; n < n1; ++n) {
        b.sp->prefetchAhead(n1 - n0, n - n0, [&](size_t j) {
          return SlowPath::PuntRef{b.frames[n0 + j], b.teidOf(n0 + j), b.innerOffset};
        });
        PuntOutcome o = b.sp->handle(b.frames[n], b.teidOf(n), b.innerOffset, now);
        if (o != PuntOutcome::kInstalled) SlowBench::die("setup: " + std::string(puntOutcomeName(o)));
      }
    }
    auto t1 = BenchClock::now();
    w += b.dev.writes - w0;
    r += b.dev.reads - r0;
    setups += b.frames.size();
    setupS += std::chrono::duration<double>(t1 - t0).count();
    rounds.push_back(double(b.frames.size()) / std::chrono::duration<double>(t1 - t0).count());
    ports.clear();
    for (uint8_t a = 0; a < 3; ++a) {
      for (uint32_t p = 1024; p < 65536; ++p) {
        if (b.sp->find(a, uint16_t(p))) ports.emplace_back(a, uint16_t(p));
      }
    }
    auto t2 = BenchClock::now();
    for (auto [a, p] : ports) {
      if (auto st = b.sp->end(a, p, EndCause::kIdle, now); !st) SlowBench::die(st.message());
    }
    endS += std::chrono::duration<double>(BenchClock::now() - t2).count();
    ends += ports.size();
    now += std::chrono::seconds(1);
  } while (BenchClock::now() < until);
  std::sort(rounds.begin(), rounds.end());
  f.perS = rounds[rounds.size() / 2];
  f.meanPerS = double(setups) / setupS;
  f.rounds = rounds.size();
  f.endPerS = double(ends) / endS;
  f.writes = double(w) / double(setups);
  f.reads = double(r) / double(setups);
  // Latency at half that rate: setups due every 2/perS seconds, each timed from when it was due.
  auto gap = std::chrono::duration<double>(2.0 / f.perS);
  std::vector<double> lat;
  lat.reserve(b.frames.size());
  auto t0 = BenchClock::now();
  for (size_t n = 0; n < b.frames.size(); ++n) {
    auto due = t0 + std::chrono::duration_cast<BenchClock::duration>(gap * double(n));
    while (BenchClock::now() < due) {
    }
    (void)b.sp->handle(b.frames[n], b.teidOf(n), b.innerOffset, now);
    lat.push_back(std::chrono::duration<double, std::micro>(BenchClock::now() - due).count());
  }
  std::sort(lat.begin(), lat.end());
  f.p50 = lat[lat.size() / 2];
  f.p99 = lat[lat.size() * 99 / 100];
  return f;
}

double wrrMaxError() {
  std::vector<Service> one = {benchServices()[2]};
  one[0].type = UserSessionType::kConnection;  // every connection picked on its own
  SlowBench b(one, 55000);
  std::vector<uint64_t> got(10, 0);
  for (size_t n = 0; n < b.frames.size(); ++n) {
    PuntOutcome o = b.sp->handle(b.frames[n], b.teidOf(n), b.innerOffset, {});
    if (o != PuntOutcome::kInstalled) SlowBench::die("wrr: " + std::string(puntOutcomeName(o)));
  }
  for (uint32_t i = 0; i < 10; ++i) got[i] = *b.sp->serverSessions("video", 0xc6120d01 + i, 8443);
  double total = 0, err = 0;
  for (uint64_t g : got) total += double(g);
  for (uint32_t i = 0; i < 10; ++i) {
    double want = double(i + 1) / 55.0;
    err = std::max(err, std::abs(double(got[i]) / total - want) / want);
  }
  return err;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) seconds = std::atof(argv[1]);
  std::string only = argc > 2 ? argv[2] : "";
  auto want = [&](const char* g) { return only.empty() || only == g; };
  if (!(seconds > 0)) {
    std::fprintf(stderr, "usage: slowpath_bench [SECONDS_PER_FIGURE]  (a number above 0)\n");
    return 2;
  }
  if (want("port_alloc")) {
    std::printf("slowpath.port_alloc.per_s %.0f\n", portAllocPerS(0.5));
    std::printf("slowpath.port_alloc.per_s.full99 %.0f\n", portAllocPerS(0.99));
  }
  if (want("select")) {
    for (auto p :
         {SelectionPolicy::kMaglev, SelectionPolicy::kLeastSessions, SelectionPolicy::kRoundRobin}) {
      std::printf("slowpath.select.per_s.%.*s %.0f\n", int(policyName(p).size()),
                  policyName(p).data(), selectPerS(p));
    }
    std::printf("slowpath.select.maglev_build_ms %.2f\n", maglevBuildMs());
  }
  if (want("health")) {
    HealthFigures health = healthChecks();
    std::printf("slowpath.health.checks_per_s %.0f\n", health.checksPerS);
    std::printf("slowpath.health.cpu_us_per_check %.1f\n", health.cpuUsPerCheck);
  }
  if (want("authorize")) std::printf("slowpath.authorize.per_s %.0f\n", authorizePerS());
  if (want("wrr")) std::printf("slowpath.wrr.max_error %.4f\n", wrrMaxError());
  if (!want("setup")) return 0;
  SetupFigures setup = setupFigures();
  std::printf("slowpath.setup.per_s %.0f\n", setup.perS);
  std::printf("slowpath.setup.per_s.mean %.0f\n", setup.meanPerS);
  std::printf("slowpath.setup.rounds %zu\n", setup.rounds);
  std::printf("slowpath.end.per_s %.0f\n", setup.endPerS);
  std::printf("slowpath.reg_writes_per_setup %.2f\n", setup.writes);
  std::printf("slowpath.reg_reads_per_setup %.2f\n", setup.reads);
  std::printf("slowpath.setup_latency_us.p50 %.2f\n", setup.p50);
  std::printf("slowpath.setup_latency_us.p99 %.2f\n", setup.p99);
  return 0;
}
