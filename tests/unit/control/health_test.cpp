// Health checks against servers this test runs on 127.0.0.1 (a listening socket on a thread of
// its own, and Python's http.server for a real HTTP stack): TCP up, refused and down after
// `fall`, a listener closed and reopened going down and back up after `rise`, rise and fall
// counted exactly on a simulated clock, HTTP 200 up with the request the server received, 503
// down with its reason, a server that accepts and never answers or drops the SYN failing by
// timeout, garbage, an endless status line and an endless header failing without unbounded
// reads, a source address bound, 200 concurrent checks on one thread, and bad configurations
// refused by name. Waits are on conditions with deadlines; the clock is simulated where the
// exact schedule matters.
#include "roamgate/control/health.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace roamgate::control {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = HealthChecker::Clock;

constexpr uint32_t kLoopback = 0x7f000001;  // 127.0.0.1

HealthCheckConfig tcpConfig(std::chrono::milliseconds interval = 100ms) {
  HealthCheckConfig c;
  c.interval = interval;
  c.timeout = interval / 2;
  return c;
}

HealthCheckConfig httpConfig(std::string path = "/", std::chrono::milliseconds interval = 100ms) {
  HealthCheckConfig c = tcpConfig(interval);
  c.kind = CheckKind::kHttp;
  c.path = std::move(path);
  return c;
}

HealthTarget loopback(uint16_t port, uint32_t source = 0) { return {kLoopback, port, source}; }

std::unique_ptr<HealthChecker> makeChecker(HealthCallback cb) {
  auto made = HealthChecker::create(std::move(cb));
  EXPECT_TRUE(made.ok()) << made.status().message();
  return made.ok() ? std::move(made).value() : nullptr;
}

// Records the transitions the checker reports, and waits for them with a deadline.
class Observer {
 public:
  HealthCallback callback() {
    return [this](const HealthTransition& t) {
      std::lock_guard lock(mu_);
      seen_.push_back(t);
      cv_.notify_all();
    };
  }
  // The n-th transition (1-based) of server `id`, or nullopt after the deadline.
  std::optional<HealthTransition> waitNth(uint64_t id, size_t n,
                                          std::chrono::milliseconds deadline = 10s) {
    std::unique_lock lock(mu_);
    std::optional<HealthTransition> found;
    cv_.wait_for(lock, deadline, [&] {
      size_t k = 0;
      for (const auto& t : seen_) {
        if (t.id == id && ++k == n) {
          found = t;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  // Waits until `n` transitions to `state` were seen (any servers).
  bool waitCount(Health state, size_t n, std::chrono::milliseconds deadline = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] {
      return size_t(std::count_if(seen_.begin(), seen_.end(),
                                  [&](const auto& t) { return t.state == state; })) >= n;
    });
  }
  std::vector<HealthTransition> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<HealthTransition> seen_;
};

// A server on 127.0.0.1 (a port of its own) on a thread, behaving as the test asks. Stopped
// and joined by its destructor, so also when a test fails.
class TestServer {
 public:
  enum class Mode {
    kAcceptClose,    // accept and close (a TCP check's server)
    kHttp,           // read the request's header, send `reply`, close
    kSilent,         // accept and never answer
    kEndlessHeader,  // "HTTP/1.1 200 OK" and then header lines, as long as the peer reads
    kEndlessLine,    // bytes without a line end, as long as the peer reads
  };

  explicit TestServer(Mode mode, std::string reply = {}, int backlog = 1024)
      : mode_(mode), reply_(std::move(reply)), backlog_(backlog) {
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    listen_ = openListener();
    thread_ = std::thread([this] { run(); });
  }
  ~TestServer() {
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    poke();
    thread_.join();
    if (listen_ >= 0) ::close(listen_);
    ::close(wake_);
  }
  uint16_t port() const { return port_; }
  bool ok() const { return port_ != 0 && wake_ >= 0; }

  // Closes the listening socket (connections are refused from then on) or opens it again on
  // the same port; returns once the server thread has done it.
  bool setListening(bool on) {
    std::unique_lock lock(mu_);
    want_ = on;
    poke();
    return cv_.wait_for(lock, 5s, [&] { return listening_ == on; });
  }
  std::string firstRequest() {
    std::lock_guard lock(mu_);
    return request_;
  }
  uint32_t lastPeer() {
    std::lock_guard lock(mu_);
    return peer_;
  }
  uint64_t accepted() {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  // The kernel completes a handshake before the server thread accepts: wait for the accept.
  bool waitAccepted(uint64_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return accepted_ >= n; });
  }

 private:
  struct Conn {
    int fd;
    std::string in;
    std::string out;
    size_t sent = 0;
  };

  void poke() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_, &one, sizeof one);
  }

  int openListener() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(kLoopback);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog_) != 0) {
      ADD_FAILURE() << "test server: bind/listen on port " << port_ << ": " << std::strerror(errno);
      ::close(fd);
      return -1;
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    return fd;
  }

  std::string filler() const {
    if (mode_ == Mode::kEndlessLine) return std::string(4096, 'a');
    std::string s;
    while (s.size() < 4096) s += "X-Filler: " + std::string(60, 'b') + "\r\n";
    return s;
  }

  void onAccept(int fd, uint32_t peer, std::vector<Conn>& conns) {
    {
      std::lock_guard lock(mu_);
      ++accepted_;
      peer_ = peer;
      cv_.notify_all();
    }
    switch (mode_) {
      case Mode::kAcceptClose:
        ::close(fd);
        return;
      case Mode::kHttp:
      case Mode::kSilent:
        conns.push_back({fd, {}, {}});
        return;
      case Mode::kEndlessHeader:
        conns.push_back({fd, {}, "HTTP/1.1 200 OK\r\n"});
        return;
      case Mode::kEndlessLine:
        conns.push_back({fd, {}, filler()});
        return;
    }
  }

  // false when the connection is done (and closed).
  bool service(Conn& c, short revents) {
    char buf[4096];
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        ::close(c.fd);
        return false;
      }
      if (n > 0 && c.in.size() < 65536) c.in.append(buf, size_t(n));
      if (mode_ == Mode::kHttp && c.in.find("\r\n\r\n") != std::string::npos) {
        {
          std::lock_guard lock(mu_);
          if (request_.empty()) request_ = c.in;
        }
        size_t off = 0;  // small replies: the socket buffer takes them whole
        while (off < reply_.size()) {
          ssize_t w = ::send(c.fd, reply_.data() + off, reply_.size() - off, MSG_NOSIGNAL);
          if (w <= 0) break;
          off += size_t(w);
        }
        ::close(c.fd);
        return false;
      }
    }
    if ((revents & POLLOUT) && !c.out.empty()) {
      ssize_t w = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EINTR) {
        ::close(c.fd);
        return false;
      }
      if (w > 0) c.sent += size_t(w);
      if (c.sent == c.out.size()) {
        c.out = filler();
        c.sent = 0;
      }
    }
    return true;
  }

  void run() {
    std::vector<Conn> conns;
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (quit_) break;
        if (want_ != listening_) {
          if (want_) {
            listen_ = openListener();
          } else {
            ::close(listen_);
            listen_ = -1;
          }
          listening_ = want_;
          cv_.notify_all();
        }
      }
      std::vector<pollfd> fds{{wake_, POLLIN, 0}};
      if (listen_ >= 0) fds.push_back({listen_, POLLIN, 0});
      size_t first = fds.size();
      for (const auto& c : conns) {
        fds.push_back({c.fd, short(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents) {
        uint64_t v;
        [[maybe_unused]] ssize_t n = ::read(wake_, &v, sizeof v);
      }
      if (listen_ >= 0 && (fds[1].revents & POLLIN)) {
        for (;;) {
          sockaddr_in peer{};
          socklen_t len = sizeof peer;
          int fd = ::accept4(listen_, reinterpret_cast<sockaddr*>(&peer), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          onAccept(fd, ntohl(peer.sin_addr.s_addr), conns);
        }
      }
      std::vector<Conn> keep;
      for (size_t i = 0; i < conns.size(); ++i) {
        // conns accepted in this round have no pollfd yet
        short rev = first + i < fds.size() ? fds[first + i].revents : 0;
        if (rev == 0 || service(conns[i], rev)) keep.push_back(std::move(conns[i]));
      }
      conns.swap(keep);
    }
    for (auto& c : conns) ::close(c.fd);
  }

  const Mode mode_;
  const std::string reply_;
  const int backlog_;
  int wake_ = -1;
  int listen_ = -1;  // the server thread's once it runs
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool quit_ = false;
  bool want_ = true;
  bool listening_ = true;
  std::string request_;
  uint32_t peer_ = 0;
  uint64_t accepted_ = 0;
};

// A port on 127.0.0.1 that nobody listens on: bound (so nobody else takes it) but not listening,
// connections to it are refused.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(kLoopback);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port_ = ntohs(a.sin_port);
    }
  }
  ~RefusingPort() { ::close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// Drives one check of each of `ids` to its end at the simulated time `t` (the sockets are real):
// polls at `t` until each server's count of ended checks has grown, within 5 s of real time.
// Every check due at `t` starts at the first poll, so servers due together run together.
std::vector<HealthCounters> runChecks(HealthChecker& hc, const std::vector<uint64_t>& ids,
                                      Clock::time_point t) {
  std::vector<uint64_t> before;
  for (uint64_t id : ids) before.push_back(hc.counters(id)->checks);
  auto allEnded = [&] {
    for (size_t i = 0; i < ids.size(); ++i) {
      if (hc.counters(ids[i])->checks == before[i]) return false;
    }
    return true;
  };
  auto deadline = Clock::now() + 5s;
  hc.poll(t);
  while (!allEnded() && Clock::now() < deadline) {
    hc.wait(50ms);
    hc.poll(t);
  }
  std::vector<HealthCounters> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    out.push_back(*hc.counters(ids[i]));
    EXPECT_EQ(out.back().checks, before[i] + 1) << "server " << ids[i] << ": no check ended in 5 s";
  }
  return out;
}

HealthCounters runOneCheck(HealthChecker& hc, uint64_t id, Clock::time_point t) {
  return runChecks(hc, {id}, t)[0];
}

// ---------------------------------------------------------------------------------------------

TEST(HealthConfig, BadValuesRefusedNamingTheValueAndTheRange) {
  EXPECT_TRUE(checkHealthConfig({}).ok());
  struct Case {
    std::function<void(HealthCheckConfig&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto& c) { c.interval = 99ms; },
       "health check interval 99 ms: allowed 100 ms .. 3600000 ms (1 h)"},
      {[](auto& c) { c.interval = 3600001ms; }, "health check interval 3600001 ms"},
      {[](auto& c) { c.timeout = c.interval; },
       "health check timeout 2000 ms: allowed 1 ms .. below the interval (2000 ms)"},
      {[](auto& c) { c.timeout = 0ms; }, "health check timeout 0 ms"},
      {[](auto& c) { c.rise = 0; }, "health check rise 0: allowed 1..100"},
      {[](auto& c) { c.rise = 101; }, "health check rise 101: allowed 1..100"},
      {[](auto& c) { c.fall = 0; }, "health check fall 0: allowed 1..100"},
      {[](auto& c) { c.fall = 101; }, "health check fall 101: allowed 1..100"},
      {[](auto& c) { c.path = "healthz"; }, "health check path \"healthz\": must start with '/'"},
      {[](auto& c) { c.path = ""; }, "health check path \"\": must start with '/'"},
      {[](auto& c) { c.path = "/a b"; }, "health check path \"/a b\""},
      {[](auto& c) { c.path = "/x HTTP/1.1\r\nX-Injected: 1"; },
       "health check path \"/x HTTP/1.1\\x0d\\x0aX-Injected: 1\""},
      {[](auto& c) { c.path = "/" + std::string(1024, 'a'); }, "at most 1024 visible ASCII"},
      {[](auto& c) { c.expectedStatus = 99; }, "health check expected status 99: allowed 100..599"},
      {[](auto& c) { c.expectedStatus = 600; },
       "health check expected status 600: allowed 100..599"},
      {[](auto& c) { c.host = "a\r\nb"; }, "health check host \"a\\x0d\\x0ab\""},
  };
  for (const auto& k : cases) {
    HealthCheckConfig c;
    k.change(c);
    Status s = checkHealthConfig(c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << k.message;
    EXPECT_THAT(s.message(), HasSubstr(k.message));
  }
  // The edges are allowed.
  HealthCheckConfig edge;
  edge.interval = 100ms;
  edge.timeout = 99ms;
  edge.rise = 100;
  edge.fall = 1;
  edge.expectedStatus = 599;
  EXPECT_TRUE(checkHealthConfig(edge).ok());
  edge.interval = 3600s;
  edge.expectedStatus = 100;
  EXPECT_TRUE(checkHealthConfig(edge).ok());
}

TEST(HealthConfig, AddRefusesBadTargetsAndDuplicateIds) {
  auto hc = makeChecker({});
  ASSERT_TRUE(hc);
  Status s = hc->add(1, {kLoopback, 0, 0}, tcpConfig());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "server port 0: allowed 1..65535");
  s = hc->add(1, {0xe0000001, 80, 0}, tcpConfig());
  EXPECT_EQ(s.message(), "server address 224.0.0.1: not a unicast address");
  s = hc->add(1, {0, 80, 0}, tcpConfig());
  EXPECT_EQ(s.message(), "server address 0.0.0.0: not a unicast address");
  s = hc->add(1, {kLoopback, 80, 0xffffffff}, tcpConfig());
  EXPECT_EQ(s.message(), "source address 255.255.255.255: not a unicast address");
  HealthCheckConfig bad = tcpConfig();
  bad.fall = 0;
  EXPECT_THAT(hc->add(1, loopback(80), bad).message(), HasSubstr("health check fall 0"));
  EXPECT_EQ(hc->size(), 0u);

  ASSERT_TRUE(hc->add(1, loopback(80), tcpConfig()).ok());
  s = hc->add(1, loopback(81), tcpConfig());
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "server id 1 already has a health check");
  EXPECT_TRUE(hc->add(2, loopback(80), tcpConfig()).ok()) << "two ids may check one address";
  EXPECT_EQ(hc->remove(3).code(), StatusCode::kNotFound);
  EXPECT_EQ(hc->counters(3).code(), StatusCode::kNotFound);
  EXPECT_TRUE(hc->remove(1).ok());
  EXPECT_EQ(hc->size(), 1u);
  EXPECT_EQ(hc->counters(1).code(), StatusCode::kNotFound);
}

TEST(HealthCheck, TcpListenerComesUpAfterRise) {
  TestServer server(TestServer::Mode::kAcceptClose);
  ASSERT_TRUE(server.ok());
  Observer seen;
  auto hc = makeChecker(seen.callback());
  HealthCheckConfig c = tcpConfig();
  c.rise = 2;
  ASSERT_TRUE(hc->add(7, loopback(server.port()), c).ok());
  EXPECT_EQ(hc->counters(7)->state, Health::kDown) << "down until checked, by default";
  ASSERT_TRUE(hc->start().ok());
  auto up = seen.waitNth(7, 1);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->state, Health::kUp);
  EXPECT_EQ(up->reason, "connected");
  EXPECT_EQ(up->outcome, CheckOutcome::kOk);
  EXPECT_EQ(up->consecutive, 2u);
  hc->stop();
  auto k = *hc->counters(7);
  EXPECT_EQ(k.state, Health::kUp);
  EXPECT_GE(k.checks, 2u);
  EXPECT_EQ(k.failures, 0u);
  EXPECT_EQ(k.lastOutcome, CheckOutcome::kOk);
  EXPECT_LT(k.lastLatency, std::chrono::microseconds(50ms));
  EXPECT_EQ(k.lastError, "");
}

TEST(HealthCheck, TcpRefusedGoesDownAfterFall) {
  RefusingPort port;
  ASSERT_NE(port.port(), 0);
  Observer seen;
  auto hc = makeChecker(seen.callback());
  HealthCheckConfig c = tcpConfig();
  c.initial = Health::kUp;
  c.fall = 3;
  ASSERT_TRUE(hc->add(1, loopback(port.port()), c).ok());
  ASSERT_TRUE(hc->start().ok());
  auto down = seen.waitNth(1, 1);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->state, Health::kDown);
  EXPECT_EQ(down->reason, "connect refused");
  EXPECT_EQ(down->outcome, CheckOutcome::kRefused);
  EXPECT_EQ(down->consecutive, 3u);
  hc->stop();
  auto k = *hc->counters(1);
  EXPECT_EQ(k.state, Health::kDown);
  EXPECT_GE(k.failures, 3u);
  EXPECT_EQ(k.failures, k.checks);
  EXPECT_EQ(k.lastError, "connect refused");
  EXPECT_EQ(seen.seen().size(), 1u) << "down once, never up";
}

// The schedule and the counting on a simulated clock: rise and fall exact, a success breaking a
// failure run (and back), recovery after `rise`, the next check one interval after the last.
TEST(HealthCheck, RiseAndFallCountedExactlyOnASimulatedClock) {
  TestServer server(TestServer::Mode::kAcceptClose);
  ASSERT_TRUE(server.ok());
  Observer seen;
  auto hc = makeChecker(seen.callback());
  HealthCheckConfig c = tcpConfig();
  c.rise = 3;
  c.fall = 2;
  ASSERT_TRUE(hc->add(5, loopback(server.port()), c).ok());
  const Clock::time_point t0 = Clock::time_point{} + 1000s;
  // Server listening (1) or not (0) at each check, and the transitions expected after it.
  struct Step {
    bool listening;
    size_t transitions;
  };
  const std::vector<Step> steps = {
      {true, 0},  {true, 0},  {true, 1},   // up at the 3rd success
      {false, 1}, {true, 1},  {false, 1},  // a success breaks the failure run
      {false, 2}, {false, 2},              // down at the 2nd failure in a row, once
      {true, 2},  {true, 2},  {false, 2},  // a failure breaks the success run
      {true, 2},  {true, 2},  {true, 3},   // recovered: up after 3 in a row
  };
  bool listening = true;
  Clock::time_point t = t0;
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE("check " + std::to_string(i + 1));
    if (steps[i].listening != listening) {
      ASSERT_TRUE(server.setListening(steps[i].listening));
      listening = steps[i].listening;
    }
    if (i > 0) {  // nothing starts before it is due
      hc->poll(t - 1us);
      EXPECT_EQ(hc->inFlight(), 0u);
    }
    auto k = runOneCheck(*hc, 5, t);
    EXPECT_EQ(k.lastOutcome, listening ? CheckOutcome::kOk : CheckOutcome::kRefused);
    EXPECT_EQ(seen.seen().size(), steps[i].transitions);
    Clock::time_point next = hc->poll(t);
    if (i == 0) {  // the second check comes early by the server's offset, below the interval
      EXPECT_GT(next, t);
      EXPECT_LE(next, t + c.interval);
    } else {
      EXPECT_EQ(next, t + c.interval) << "then one interval after the last";
    }
    t = next;
  }
  auto all = seen.seen();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].state, Health::kUp);
  EXPECT_EQ(all[0].consecutive, 3u);
  EXPECT_EQ(all[1].state, Health::kDown);
  EXPECT_EQ(all[1].consecutive, 2u);
  EXPECT_EQ(all[1].reason, "connect refused");
  EXPECT_EQ(all[2].state, Health::kUp);
  auto k = *hc->counters(5);
  EXPECT_EQ(k.checks, steps.size());
  EXPECT_EQ(k.failures, 5u);
  EXPECT_EQ(k.transitions, 3u);
  EXPECT_EQ(k.lastError, "connect refused");
}

TEST(HealthCheck, ListenerClosedThenReopenedGoesDownThenBackUp) {
  TestServer server(TestServer::Mode::kAcceptClose);
  ASSERT_TRUE(server.ok());
  Observer seen;
  auto hc = makeChecker(seen.callback());
  HealthCheckConfig c = tcpConfig();
  c.rise = 2;
  c.fall = 2;
  ASSERT_TRUE(hc->add(3, loopback(server.port()), c).ok());
  ASSERT_TRUE(hc->start().ok());
  auto up = seen.waitNth(3, 1);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->state, Health::kUp);

  ASSERT_TRUE(server.setListening(false));
  auto down = seen.waitNth(3, 2);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->state, Health::kDown);
  EXPECT_EQ(down->reason, "connect refused");

  ASSERT_TRUE(server.setListening(true));
  auto back = seen.waitNth(3, 3);
  ASSERT_TRUE(back) << "a recovered server must be re-added";
  EXPECT_EQ(back->state, Health::kUp);
  EXPECT_EQ(back->consecutive, 2u);
  hc->stop();
  EXPECT_EQ(hc->counters(3)->state, Health::kUp);
  EXPECT_EQ(seen.seen().size(), 3u);
}

TEST(HealthCheck, Http200UpWithAWellFormedRequest) {
  TestServer server(TestServer::Mode::kHttp,
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  ASSERT_TRUE(server.ok());
  Observer seen;
  auto hc = makeChecker(seen.callback());
  HealthCheckConfig c = httpConfig("/healthz?deep=1");
  c.rise = 1;
  ASSERT_TRUE(hc->add(9, loopback(server.port()), c).ok());
  ASSERT_TRUE(hc->start().ok());
  auto up = seen.waitNth(9, 1);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->state, Health::kUp);
  EXPECT_EQ(up->reason, "HTTP 200");
  hc->stop();
  std::string req = server.firstRequest();
  EXPECT_THAT(req, StartsWith("GET /healthz?deep=1 HTTP/1.1\r\n"));
  EXPECT_THAT(req, HasSubstr("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"));
  EXPECT_THAT(req, HasSubstr("\r\nConnection: close\r\n"));
  EXPECT_EQ(req.find("\r\n\r\n"), req.size() - 4) << "one header, nothing after it";
}

TEST(HealthCheck, Http503GoesDownWithTheReason) {
  TestServer server(TestServer::Mode::kHttp,
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(server.ok());
  Observer seen;
  auto hc = makeChecker(seen.callback());
  HealthCheckConfig c = httpConfig("/");
  c.initial = Health::kUp;
  c.fall = 2;
  ASSERT_TRUE(hc->add(4, loopback(server.port()), c).ok());
  ASSERT_TRUE(hc->start().ok());
  auto down = seen.waitNth(4, 1);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->state, Health::kDown);
  EXPECT_EQ(down->reason, "HTTP 503, expected 200");
  EXPECT_EQ(down->outcome, CheckOutcome::kBadStatus);
  hc->stop();
  EXPECT_EQ(hc->counters(4)->lastError, "HTTP 503, expected 200");
}

// Responses and how each check ends, one server each (simulated clock; each ends by its bytes).
TEST(HealthCheck, HttpResponsesJudgedByTheirStatusLineAndHeader) {
  struct Case {
    std::string reply;
    uint16_t expected;
    CheckOutcome outcome;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, CheckOutcome::kOk, "HTTP 200"},
      {"HTTP/1.0 200 OK\n\n", 200, CheckOutcome::kOk, "HTTP 200"},   // bare line feeds
      {"HTTP/1.1 204\r\n\r\n", 204, CheckOutcome::kOk, "HTTP 204"},  // no reason phrase
      {"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 200,
       CheckOutcome::kOk, "HTTP 200"},
      {"HTTP/1.1 200 OK\r\n\r\n", 204, CheckOutcome::kBadStatus, "HTTP 200, expected 204"},
      {"HTTP/1.1 404 Not Found\r\n\r\n", 200, CheckOutcome::kBadStatus, "HTTP 404, expected 200"},
      {"SSH-2.0-OpenSSH_9.2\r\n", 200, CheckOutcome::kMalformed,
       "malformed status line \"SSH-2.0-OpenSSH_9.2\""},
      {"HTTP/1.1 20 OK\r\n\r\n", 200, CheckOutcome::kMalformed, "malformed status line"},
      {"HTTP/1.1 700 Odd\r\n\r\n", 200, CheckOutcome::kMalformed, "malformed status line"},
      {"HTTP/1.1 200OK\r\n\r\n", 200, CheckOutcome::kMalformed, "malformed status line"},
      {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\n"s, 200, CheckOutcome::kMalformed,
       "malformed status line \"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\""},
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", 200, CheckOutcome::kClosed,
       "connection closed in the response header"},
      {"", 200, CheckOutcome::kClosed, "connection closed before the status line"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.reason);
    TestServer server(TestServer::Mode::kHttp, k.reply);
    ASSERT_TRUE(server.ok());
    auto hc = makeChecker({});
    HealthCheckConfig c = httpConfig("/");
    c.expectedStatus = k.expected;
    ASSERT_TRUE(hc->add(1, loopback(server.port()), c).ok());
    auto r = runOneCheck(*hc, 1, Clock::time_point{} + 1s);
    EXPECT_EQ(r.lastOutcome, k.outcome) << checkOutcomeName(r.lastOutcome) << ": " << r.lastError;
    if (k.outcome == CheckOutcome::kOk) {
      EXPECT_EQ(r.failures, 0u) << r.lastError;
    } else {
      EXPECT_THAT(r.lastError, StartsWith(k.reason));
    }
  }
}

TEST(HealthCheck, ServerThatAcceptsButNeverAnswersFailsByTimeout) {
  TestServer server(TestServer::Mode::kSilent);
  ASSERT_TRUE(server.ok());
  Observer seen;
  auto hc = makeChecker(seen.callback());
  HealthCheckConfig c = httpConfig("/", 200ms);
  c.timeout = 150ms;
  c.initial = Health::kUp;
  c.fall = 1;
  ASSERT_TRUE(hc->add(2, loopback(server.port()), c).ok());
  auto started = Clock::now();
  ASSERT_TRUE(hc->start().ok());
  auto down = seen.waitNth(2, 1);
  ASSERT_TRUE(down);
  EXPECT_GE(Clock::now() - started, 150ms);
  EXPECT_EQ(down->state, Health::kDown);
  EXPECT_EQ(down->reason, "timeout after 150 ms (reading the response)");
  EXPECT_EQ(down->outcome, CheckOutcome::kTimeout);
  hc->stop();
  auto k = *hc->counters(2);
  EXPECT_GE(k.lastLatency, std::chrono::microseconds(150ms));
  EXPECT_GE(server.accepted(), 1u);
}

// A listener whose accept queue is full drops the SYN: the handshake never completes.
TEST(HealthCheck, TcpHandshakeNotCompletedFailsByTimeout) {
  // Fill the queue of a listener that never accepts (backlog 0 holds one connection).
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(kLoopback);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd, 0), 0);
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 2; ++i) {
    int f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    [[maybe_unused]] int r = ::connect(f, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(f);
  }
  pollfd p{fillers[0], POLLOUT, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "the first filler connects";

  auto hc = makeChecker({});
  HealthCheckConfig c = tcpConfig(200ms);
  c.timeout = 150ms;
  ASSERT_TRUE(hc->add(1, loopback(ntohs(a.sin_port)), c).ok());
  auto t0 = Clock::time_point{} + 1s;
  hc->poll(t0);
  EXPECT_EQ(hc->inFlight(), 1u);
  // Real time passes for the SYN to be dropped; the deadline is simulated.
  hc->wait(200ms);
  hc->poll(t0 + 149ms);
  EXPECT_EQ(hc->counters(1)->checks, 0u) << hc->counters(1)->lastError;
  hc->poll(t0 + 150ms);
  auto k = *hc->counters(1);
  EXPECT_EQ(k.checks, 1u);
  EXPECT_EQ(k.lastOutcome, CheckOutcome::kTimeout);
  EXPECT_EQ(k.lastError, "timeout after 150 ms (connecting)");
  EXPECT_EQ(k.lastLatency, std::chrono::microseconds(150ms));
  EXPECT_EQ(hc->inFlight(), 0u);
  for (int f : fillers) ::close(f);
  ::close(lfd);
}

TEST(HealthCheck, EndlessStatusLineOrHeaderFailsAfterABoundedRead) {
  for (auto mode : {TestServer::Mode::kEndlessLine, TestServer::Mode::kEndlessHeader}) {
    bool line = mode == TestServer::Mode::kEndlessLine;
    SCOPED_TRACE(line ? "endless status line" : "endless header");
    TestServer server(mode);
    ASSERT_TRUE(server.ok());
    auto hc = makeChecker({});
    HealthCheckConfig c = httpConfig("/");
    ASSERT_TRUE(hc->add(1, loopback(server.port()), c).ok());
    // The simulated clock stands still: only the byte bound can end this check.
    auto k = runOneCheck(*hc, 1, Clock::time_point{} + 1s);
    EXPECT_EQ(k.lastOutcome, CheckOutcome::kMalformed);
    EXPECT_THAT(k.lastError, StartsWith(line ? "no status line in the first 1024 bytes: \"aaaa"
                                             : "response header not ended within 8192 bytes"));
  }
}

TEST(HealthCheck, SourceAddressBoundOrItsFailureReported) {
  TestServer server(TestServer::Mode::kAcceptClose);
  ASSERT_TRUE(server.ok());
  auto hc = makeChecker({});
  ASSERT_TRUE(hc->add(1, loopback(server.port(), kLoopback), tcpConfig()).ok());
  // 192.0.2.1 (TEST-NET-1) is not an address of this host: bind fails, nothing is sent.
  ASSERT_TRUE(hc->add(2, loopback(server.port(), 0xc0000201), tcpConfig()).ok());
  auto ok = runOneCheck(*hc, 1, Clock::time_point{} + 1s);  // both start; 2 fails at once
  EXPECT_EQ(ok.lastOutcome, CheckOutcome::kOk) << ok.lastError;
  ASSERT_TRUE(server.waitAccepted(1));
  EXPECT_EQ(server.lastPeer(), kLoopback);
  EXPECT_EQ(server.accepted(), 1u) << "the check from 192.0.2.1 never connected";
  auto bad = *hc->counters(2);
  EXPECT_EQ(bad.checks, 1u);
  EXPECT_EQ(bad.lastOutcome, CheckOutcome::kLocalError);
  EXPECT_EQ(bad.lastError, "bind to source 192.0.2.1: Cannot assign requested address");
}

TEST(HealthCheck, TwoHundredConcurrentChecksOnOneThreadAllComeUp) {
  TestServer server(TestServer::Mode::kAcceptClose);
  ASSERT_TRUE(server.ok());
  Observer seen;
  auto hc = makeChecker(seen.callback());
  HealthCheckConfig c = tcpConfig(200ms);
  c.rise = 2;
  for (uint64_t id = 0; id < 200; ++id) {
    ASSERT_TRUE(hc->add(id, loopback(server.port()), c).ok());
  }
  ASSERT_TRUE(hc->start().ok());
  ASSERT_TRUE(seen.waitCount(Health::kUp, 200)) << seen.seen().size() << " of 200 up";
  hc->stop();
  std::vector<bool> up(200);
  for (const auto& t : seen.seen()) {
    ASSERT_LT(t.id, 200u);
    EXPECT_EQ(t.state, Health::kUp);
    EXPECT_FALSE(up[t.id]) << "server " << t.id << " reported up twice";
    up[t.id] = true;
  }
  for (uint64_t id = 0; id < 200; ++id) {
    EXPECT_EQ(hc->counters(id)->failures, 0u) << id << ": " << hc->counters(id)->lastError;
  }
  EXPECT_GE(server.accepted(), 400u);
}

TEST(HealthCheck, RemovedServerIsNoLongerCheckedOrReported) {
  RefusingPort port;
  Observer seen;
  auto hc = makeChecker(seen.callback());
  HealthCheckConfig c = tcpConfig();
  c.initial = Health::kUp;
  c.fall = 1;
  ASSERT_TRUE(hc->add(1, loopback(port.port()), c).ok());
  auto t = Clock::time_point{} + 1s;
  hc->poll(t);  // the first check is under way (or already refused)
  ASSERT_TRUE(hc->remove(1).ok());
  hc->wait(50ms);
  EXPECT_EQ(hc->poll(t + 10s), Clock::time_point::max()) << "no timer left";
  EXPECT_EQ(hc->inFlight(), 0u);
  // Re-added under the same id: a fresh start.
  ASSERT_TRUE(hc->add(1, loopback(port.port()), c).ok());
  auto k = runOneCheck(*hc, 1, t + 20s);
  EXPECT_EQ(k.checks, 1u);
  EXPECT_EQ(k.state, Health::kDown);
  auto all = seen.seen();
  ASSERT_FALSE(all.empty());
  EXPECT_LE(all.size(), 2u);  // at most the removed check's (if it ended first) and the new one
  EXPECT_EQ(all.back().state, Health::kDown);
}

// Python's http.server (an HTTP stack that is not ours) on a free port, stopped by PID.
class PythonHttpServer {
 public:
  PythonHttpServer() {
    char tmpl[] = "/tmp/roamgate-health-XXXXXX";
    if (!::mkdtemp(tmpl)) return;
    dir_ = tmpl;
    if (FILE* f = std::fopen((dir_ + "/ok.txt").c_str(), "w")) {
      std::fputs("ok\n", f);
      std::fclose(f);
    }
    // A free port: the kernel's pick, released just before the server binds it.
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(kLoopback);
    socklen_t len = sizeof a;
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    port_ = ntohs(a.sin_port);
    std::string portText = std::to_string(port_);
    std::string log = dir_ + "/server.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execl("/usr/bin/python3", "python3", "-m", "http.server", portText.c_str(), "--bind",
              "127.0.0.1", "--directory", dir_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Up when it accepts a connection; given up after 10 s or when it exited.
    auto deadline = Clock::now() + 10s;
    while (pid_ > 0 && Clock::now() < deadline) {
      int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      bool up = ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(c);
      if (up) {
        ready_ = true;
        return;
      }
      int st;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      ::poll(nullptr, 0, 20);  // retry: the condition is polled, with the deadline above
    }
  }
  ~PythonHttpServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st;
      ::waitpid(pid_, &st, 0);
    }
    if (!dir_.empty()) {
      std::remove((dir_ + "/ok.txt").c_str());
      std::remove((dir_ + "/server.log").c_str());
      ::rmdir(dir_.c_str());
    }
  }
  bool ready() const { return ready_; }
  uint16_t port() const { return port_; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool ready_ = false;
};

TEST(HealthCheck, PythonHttpServerFileUpAndMissingPathDown) {
  PythonHttpServer py;
  ASSERT_TRUE(py.ready()) << "python3 -m http.server did not start";
  auto hc = makeChecker({});
  ASSERT_TRUE(hc->add(1, loopback(py.port()), httpConfig("/ok.txt")).ok());
  ASSERT_TRUE(hc->add(2, loopback(py.port()), httpConfig("/missing")).ok());
  auto both = runChecks(*hc, {1, 2}, Clock::time_point{} + 1s);
  const auto& ok = both[0];
  const auto& missing = both[1];
  EXPECT_EQ(ok.lastOutcome, CheckOutcome::kOk) << ok.lastError;
  EXPECT_EQ(missing.lastOutcome, CheckOutcome::kBadStatus);
  EXPECT_EQ(missing.lastError, "HTTP 404, expected 200");
}

}  // namespace
}  // namespace roamgate::control
