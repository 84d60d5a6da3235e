#include "roamgate/control/health.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "roamgate/addr.h"
#include "roamgate/hash.h"

namespace roamgate::control {

namespace {

using Clock = HealthChecker::Clock;
using std::chrono::milliseconds;

constexpr uint64_t kWakeTag = ~uint64_t(0);
constexpr size_t kEventBatch = 256;
constexpr int kMaxEventRounds = 64;  // bounds one poll()'s work: 16,384 events
constexpr size_t kReadChunk = 2048;

std::string errnoText(int e) {
  char buf[128];
  return strerror_r(e, buf, sizeof buf);  // the GNU variant: returns the text
}

std::string msText(milliseconds d) { return std::to_string(d.count()) + " ms"; }

bool visibleAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; });
}

// A peer's bytes for a message: at most 64, anything not printable as \xNN.
std::string quoted(std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < 64; ++i) {
    unsigned char ch = static_cast<unsigned char>(s[i]);
    if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
      out += char(ch);
    } else {
      out += "\\x";
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  out += s.size() > 64 ? "\"..." : "\"";
  return out;
}

Status bad(std::string msg) { return Status::error(StatusCode::kInvalidArgument, std::move(msg)); }

// Loopback is allowed (a server on the gate host itself); 0/8, multicast, 240/4 and broadcast
// are not.
Status checkHostAddress(const std::string& what, uint32_t ip) {
  uint32_t top = ip >> 24;
  if (top == 0 || top >= 224) {
    return bad(what + " " + ipv4Str(ip) + ": not a unicast address");
  }
  return {};
}

// "HTTP/d.d ddd" then the end or a space and a reason; the code 100..599.
std::optional<int> parseStatusLine(std::string_view l) {
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  auto digit = [](char ch) { return ch >= '0' && ch <= '9'; };
  if (l.size() < 12 || l.substr(0, 5) != "HTTP/" || !digit(l[5]) || l[6] != '.' || !digit(l[7]) ||
      l[8] != ' ' || !digit(l[9]) || !digit(l[10]) || !digit(l[11]) ||
      (l.size() > 12 && l[12] != ' ')) {
    return std::nullopt;
  }
  int code = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
  if (code < 100 || code > 599) return std::nullopt;
  return code;
}

enum class Phase : uint8_t { kIdle, kConnecting, kSending, kReading };

const char* phaseText(Phase p) {
  switch (p) {
    case Phase::kConnecting:
      return "connecting";
    case Phase::kSending:
      return "sending the request";
    case Phase::kReading:
      return "reading the response";
    case Phase::kIdle:
      break;
  }
  return "idle";
}

struct Check {
  bool live = false;
  uint64_t id = 0;
  HealthTarget target;
  HealthCheckConfig config;
  std::string request;  // HTTP: built once at add
  HealthCounters counters;
  Phase phase = Phase::kIdle;
  int fd = -1;
  // Bumped at each start and at removal; epoll events carry it, so an event of an earlier
  // attempt (or of the slot's former check) is ignored.
  uint32_t attempt = 0;
  uint32_t timerGen = 0;                             // the only timer that counts carries this
  Clock::time_point due = Clock::time_point::min();  // the current or next start's time
  std::chrono::microseconds offset{0};               // how early the second check comes
  Clock::time_point started{};
  size_t sent = 0;
  // HTTP response so far.
  size_t received = 0;
  std::string line;  // the status line (capacity kept between checks)
  bool haveStatus = false;
  bool interim = false;  // skipping a 1xx response's header
  uint32_t headerLineLen = 0;
};

struct Timer {
  Clock::time_point t;
  uint32_t slot;
  uint32_t gen;
  bool operator>(const Timer& o) const { return t > o.t; }
};

uint64_t mix(uint64_t z) { return splitMix64(z); }

uint64_t eventTag(uint32_t slot, uint32_t attempt) { return uint64_t(slot) << 32 | attempt; }

}  // namespace

std::string_view checkKindName(CheckKind k) { return k == CheckKind::kHttp ? "http" : "tcp"; }

std::optional<CheckKind> checkKindFromName(std::string_view s) {
  if (s == "tcp") return CheckKind::kTcp;
  if (s == "http") return CheckKind::kHttp;
  return std::nullopt;
}

std::string_view checkOutcomeName(CheckOutcome o) {
  switch (o) {
    case CheckOutcome::kNone:
      return "none";
    case CheckOutcome::kOk:
      return "ok";
    case CheckOutcome::kRefused:
      return "refused";
    case CheckOutcome::kConnectError:
      return "connect_error";
    case CheckOutcome::kTimeout:
      return "timeout";
    case CheckOutcome::kClosed:
      return "closed";
    case CheckOutcome::kBadStatus:
      return "bad_status";
    case CheckOutcome::kMalformed:
      return "malformed";
    case CheckOutcome::kLocalError:
      return "local_error";
  }
  return "?";
}

Status checkHealthConfig(const HealthCheckConfig& c) {
  if (c.kind != CheckKind::kTcp && c.kind != CheckKind::kHttp) {
    return bad("health check kind " + std::to_string(int(c.kind)) + ": allowed tcp, http");
  }
  if (c.interval < kMinCheckInterval || c.interval > kMaxCheckInterval) {
    return bad("health check interval " + msText(c.interval) + ": allowed " +
               msText(kMinCheckInterval) + " .. " + msText(kMaxCheckInterval) + " (1 h)");
  }
  if (c.timeout < milliseconds(1) || c.timeout >= c.interval) {
    return bad("health check timeout " + msText(c.timeout) +
               ": allowed 1 ms .. below the interval (" + msText(c.interval) + ")");
  }
  if (c.rise < 1 || c.rise > kMaxRiseFall) {
    return bad("health check rise " + std::to_string(c.rise) + ": allowed 1.." +
               std::to_string(kMaxRiseFall));
  }
  if (c.fall < 1 || c.fall > kMaxRiseFall) {
    return bad("health check fall " + std::to_string(c.fall) + ": allowed 1.." +
               std::to_string(kMaxRiseFall));
  }
  if (c.path.empty() || c.path[0] != '/' || c.path.size() > kMaxCheckPath ||
      !visibleAscii(c.path)) {
    return bad("health check path " + quoted(c.path) + ": must start with '/', at most " +
               std::to_string(kMaxCheckPath) + " visible ASCII characters (no spaces)");
  }
  if (c.expectedStatus < 100 || c.expectedStatus > 599) {
    return bad("health check expected status " + std::to_string(c.expectedStatus) +
               ": allowed 100..599");
  }
  if (c.host.size() > kMaxCheckHost || !visibleAscii(c.host)) {
    return bad("health check host " + quoted(c.host) + ": at most " +
               std::to_string(kMaxCheckHost) + " visible ASCII characters (no spaces)");
  }
  if (c.initial != Health::kUp && c.initial != Health::kDown) {
    return bad("health check initial state " + std::to_string(int(c.initial)) +
               ": allowed up, down");
  }
  return {};
}

struct HealthChecker::Impl {
  HealthCallback onTransition;
  int epfd = -1;
  int wakefd = -1;

  mutable std::mutex mu;  // everything below
  std::vector<Check> slots;
  std::vector<uint32_t> freeSlots;
  std::unordered_map<uint64_t, uint32_t> byId;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
  std::vector<HealthTransition> pending;
  size_t inFlight = 0;
  uint64_t ended = 0;
  std::vector<epoll_event> events = std::vector<epoll_event>(kEventBatch);

  std::mutex pollMu;  // one poll() at a time, its callbacks included
  std::mutex threadMu;
  std::thread thread;
  std::atomic<bool> stopping{false};

  ~Impl() {
    for (auto& c : slots) {
      if (c.fd >= 0) ::close(c.fd);
    }
    if (epfd >= 0) ::close(epfd);
    if (wakefd >= 0) ::close(wakefd);
  }

  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wakefd, &one, sizeof one);
  }

  void schedule(uint32_t slot, Clock::time_point t) {
    Check& c = slots[slot];
    ++c.timerGen;
    timers.push({t, slot, c.timerGen});
  }

  bool stale(const Timer& t) const {
    return !slots[t.slot].live || slots[t.slot].timerGen != t.gen;
  }

  void closeSocket(Check& c) {
    if (c.fd < 0) return;
    linger lg{1, 0};  // RST: no TIME_WAIT on the gate host
    ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(c.fd);  // leaves the epoll set with it
    c.fd = -1;
  }

  void finish(uint32_t slot, Clock::time_point now, CheckOutcome outcome, std::string reason) {
    Check& c = slots[slot];
    closeSocket(c);
    if (c.phase != Phase::kIdle) --inFlight;
    c.phase = Phase::kIdle;
    HealthCounters& k = c.counters;
    ++k.checks;
    ++ended;
    k.lastLatency = std::chrono::duration_cast<std::chrono::microseconds>(now - c.started);
    k.lastOutcome = outcome;
    bool ok = outcome == CheckOutcome::kOk;
    bool flipped = false;
    if (ok) {
      k.consecutiveFailed = 0;
      if (k.consecutiveOk < kMaxRiseFall) ++k.consecutiveOk;
      flipped = k.state == Health::kDown && k.consecutiveOk >= c.config.rise;
      if (flipped) k.state = Health::kUp;
    } else {
      ++k.failures;
      k.consecutiveOk = 0;
      if (k.consecutiveFailed < kMaxRiseFall) ++k.consecutiveFailed;
      flipped = k.state == Health::kUp && k.consecutiveFailed >= c.config.fall;
      if (flipped) k.state = Health::kDown;
      k.lastError = reason;
    }
    if (flipped) {
      ++k.transitions;
      pending.push_back(
          {c.id, k.state, std::move(reason), outcome, ok ? k.consecutiveOk : k.consecutiveFailed});
    }
    // A fixed rate: one interval after the due time, or at once when that has passed; the
    // second check comes early by the server's offset.
    Clock::duration step = c.config.interval;
    if (k.checks == 1) step -= c.offset;
    c.due = std::max(c.due + step, now);
    schedule(slot, c.due);
  }

  void connectFailed(uint32_t slot, Clock::time_point now, int err) {
    switch (err) {
      case ECONNREFUSED:
        return finish(slot, now, CheckOutcome::kRefused, "connect refused");
      case EHOSTUNREACH:
        return finish(slot, now, CheckOutcome::kConnectError, "host unreachable");
      case ENETUNREACH:
        return finish(slot, now, CheckOutcome::kConnectError, "network unreachable");
      case ETIMEDOUT:  // the kernel gave up first (a timeout longer than its SYN retries)
        return finish(slot, now, CheckOutcome::kTimeout, "connect timed out");
      default:
        return finish(slot, now, CheckOutcome::kConnectError, "connect: " + errnoText(err));
    }
  }

  void startCheck(uint32_t slot, Clock::time_point now) {
    Check& c = slots[slot];
    ++c.attempt;
    if (c.due == Clock::time_point::min()) c.due = now;  // the first check
    c.started = now;
    c.sent = 0;
    c.received = 0;
    c.line.clear();
    c.haveStatus = false;
    c.interim = false;
    c.headerLineLen = 0;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return finish(slot, now, CheckOutcome::kLocalError, "socket: " + errnoText(errno));
    }
    c.fd = fd;
    c.phase = Phase::kConnecting;
    ++inFlight;
    if (c.target.sourceIp != 0) {
      int one = 1;  // the port is chosen at connect, per destination: no early exhaustion
      ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr.s_addr = htonl(c.target.sourceIp);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
        return finish(slot, now, CheckOutcome::kLocalError,
                      "bind to source " + ipv4Str(c.target.sourceIp) + ": " + errnoText(errno));
      }
    }
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(c.target.port);
    dst.sin_addr.s_addr = htonl(c.target.ip);
    bool connectedAtOnce = ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0;
    if (!connectedAtOnce && errno != EINPROGRESS) return connectFailed(slot, now, errno);
    if (connectedAtOnce && c.config.kind == CheckKind::kTcp) return connected(slot, now);
    // Registered once connect has begun: a socket not yet connecting reads as writable.
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = eventTag(slot, c.attempt);
    if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return finish(slot, now, CheckOutcome::kLocalError, "epoll: " + errnoText(errno));
    }
    schedule(slot, now + c.config.timeout);
    if (connectedAtOnce) connected(slot, now);
  }

  void connected(uint32_t slot, Clock::time_point now) {
    Check& c = slots[slot];
    if (c.config.kind == CheckKind::kTcp) return finish(slot, now, CheckOutcome::kOk, "connected");
    c.phase = Phase::kSending;
    sendMore(slot, now);
  }

  void sendMore(uint32_t slot, Clock::time_point now) {
    Check& c = slots[slot];
    while (c.sent < c.request.size()) {
      ssize_t n = ::send(c.fd, c.request.data() + c.sent, c.request.size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += size_t(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;  // still registered for EPOLLOUT
      } else {
        int err = n < 0 ? errno : EPIPE;
        return finish(slot, now, CheckOutcome::kClosed,
                      "connection " + std::string(err == ECONNRESET ? "reset" : "closed") +
                          " while sending the request");
      }
    }
    c.phase = Phase::kReading;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = eventTag(slot, c.attempt);
    if (::epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, &ev) != 0) {
      finish(slot, now, CheckOutcome::kLocalError, "epoll: " + errnoText(errno));
    }
  }

  // Feeds response bytes; true when the check ended.
  bool consume(uint32_t slot, Clock::time_point now, const char* p, size_t n) {
    Check& c = slots[slot];
    for (size_t i = 0; i < n; ++i) {
      char ch = p[i];
      if (!c.haveStatus) {
        if (ch != '\n') {
          if (c.line.size() >= kMaxStatusLine) {
            finish(slot, now, CheckOutcome::kMalformed,
                   "no status line in the first " + std::to_string(kMaxStatusLine) +
                       " bytes: " + quoted(c.line));
            return true;
          }
          c.line.push_back(ch);
          continue;
        }
        auto code = parseStatusLine(c.line);
        if (!code) {
          std::string_view l = c.line;
          if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
          finish(slot, now, CheckOutcome::kMalformed, "malformed status line " + quoted(l));
          return true;
        }
        c.haveStatus = true;
        c.headerLineLen = 0;
        c.interim = *code != c.config.expectedStatus && *code < 200 && *code != 101;
        if (*code != c.config.expectedStatus && !c.interim) {
          finish(slot, now, CheckOutcome::kBadStatus,
                 "HTTP " + std::to_string(*code) + ", expected " +
                     std::to_string(c.config.expectedStatus));
          return true;
        }
      } else if (ch == '\n') {
        if (c.headerLineLen > 0) {
          c.headerLineLen = 0;
        } else if (c.interim) {  // a 1xx response ended: its final one follows
          c.haveStatus = false;
          c.interim = false;
          c.line.clear();
        } else {
          finish(slot, now, CheckOutcome::kOk, "HTTP " + std::to_string(c.config.expectedStatus));
          return true;
        }
      } else if (ch != '\r') {
        ++c.headerLineLen;
      }
    }
    return false;
  }

  void readMore(uint32_t slot, Clock::time_point now) {
    char buf[kReadChunk];
    for (;;) {
      Check& c = slots[slot];
      size_t room = kMaxResponseHeader - c.received;
      ssize_t n = ::recv(c.fd, buf, std::min(sizeof buf, room), 0);
      if (n > 0) {
        c.received += size_t(n);
        if (consume(slot, now, buf, size_t(n))) return;
        if (c.received >= kMaxResponseHeader) {
          return finish(
              slot, now, CheckOutcome::kMalformed,
              "response header not ended within " + std::to_string(kMaxResponseHeader) + " bytes");
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      int err = n < 0 ? errno : 0;
      std::string how = err == 0 ? "closed" : err == ECONNRESET ? "reset" : errnoText(err);
      return finish(slot, now, CheckOutcome::kClosed,
                    "connection " + how +
                        (c.haveStatus ? " in the response header" : " before the status line"));
    }
  }

  void onEvent(uint64_t tag, uint32_t events, Clock::time_point now) {
    uint32_t slot = uint32_t(tag >> 32);
    if (slot >= slots.size()) return;
    Check& c = slots[slot];
    if (!c.live || c.attempt != uint32_t(tag) || c.phase == Phase::kIdle) return;
    switch (c.phase) {
      case Phase::kConnecting: {
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err != 0) return connectFailed(slot, now, err);
        if (events & (EPOLLERR | EPOLLHUP)) {
          return finish(slot, now, CheckOutcome::kClosed, "connection closed while connecting");
        }
        if (events & EPOLLOUT) connected(slot, now);
        return;
      }
      case Phase::kSending:
        return sendMore(slot, now);
      case Phase::kReading:
        return readMore(slot, now);
      case Phase::kIdle:
        return;
    }
  }

  void drainEvents(Clock::time_point now) {
    for (int round = 0; round < kMaxEventRounds; ++round) {
      int n = ::epoll_wait(epfd, events.data(), int(events.size()), 0);
      if (n <= 0) return;
      for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == kWakeTag) {
          uint64_t v;
          [[maybe_unused]] ssize_t r = ::read(wakefd, &v, sizeof v);
          continue;
        }
        onEvent(events[i].data.u64, events[i].events, now);
      }
      if (size_t(n) < events.size()) return;
    }
  }

  void fireTimers(Clock::time_point now) {
    while (!timers.empty() && timers.top().t <= now) {
      Timer t = timers.top();
      timers.pop();
      if (stale(t)) continue;
      Check& c = slots[t.slot];
      if (c.phase == Phase::kIdle) {
        startCheck(t.slot, now);
      } else {
        finish(t.slot, now, CheckOutcome::kTimeout,
               "timeout after " + msText(c.config.timeout) + " (" + phaseText(c.phase) + ")");
      }
    }
    while (!timers.empty() && stale(timers.top())) timers.pop();
  }
};

HealthChecker::HealthChecker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HealthChecker::~HealthChecker() { stop(); }

Result<std::unique_ptr<HealthChecker>> HealthChecker::create(HealthCallback onTransition) {
  auto impl = std::make_unique<Impl>();
  impl->onTransition = std::move(onTransition);
  impl->epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (impl->epfd < 0) return Status::error("health checker: epoll_create1: " + errnoText(errno));
  impl->wakefd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->wakefd < 0) return Status::error("health checker: eventfd: " + errnoText(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (::epoll_ctl(impl->epfd, EPOLL_CTL_ADD, impl->wakefd, &ev) != 0) {
    return Status::error("health checker: epoll_ctl: " + errnoText(errno));
  }
  return std::unique_ptr<HealthChecker>(new HealthChecker(std::move(impl)));
}

Status HealthChecker::add(uint64_t id, const HealthTarget& target,
                          const HealthCheckConfig& config) {
  if (auto s = checkHealthConfig(config); !s.ok()) return s;
  if (auto s = checkHostAddress("server address", target.ip); !s.ok()) return s;
  if (target.port == 0) return bad("server port 0: allowed 1..65535");
  if (target.sourceIp != 0) {
    if (auto s = checkHostAddress("source address", target.sourceIp); !s.ok()) return s;
  }
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    if (m.byId.count(id)) {
      return Status::error(StatusCode::kAlreadyExists,
                           "server id " + std::to_string(id) + " already has a health check");
    }
    uint32_t slot;
    if (!m.freeSlots.empty()) {
      slot = m.freeSlots.back();
      m.freeSlots.pop_back();
    } else {
      slot = uint32_t(m.slots.size());
      m.slots.emplace_back();
    }
    Check& c = m.slots[slot];
    c.live = true;
    c.id = id;
    c.target = target;
    c.config = config;
    c.counters = HealthCounters{};
    c.counters.state = config.initial;
    c.phase = Phase::kIdle;
    c.due = Clock::time_point::min();
    auto intervalUs = uint64_t(std::chrono::microseconds(config.interval).count());
    c.offset = std::chrono::microseconds(int64_t(mix(id) % intervalUs));
    c.request.clear();
    if (config.kind == CheckKind::kHttp) {
      c.request = "GET " + config.path + " HTTP/1.1\r\nHost: " +
                  (config.host.empty() ? serverStr(target.ip, target.port) : config.host) +
                  "\r\nUser-Agent: roamgate-health\r\nConnection: close\r\n\r\n";
      c.line.reserve(kMaxStatusLine);
    }
    m.byId.emplace(id, slot);
    m.schedule(slot, Clock::time_point::min());
  }
  m.wake();
  return {};
}

Status HealthChecker::remove(uint64_t id) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    auto it = m.byId.find(id);
    if (it == m.byId.end()) {
      return Status::error(StatusCode::kNotFound,
                           "server id " + std::to_string(id) + " has no health check");
    }
    uint32_t slot = it->second;
    Check& c = m.slots[slot];
    m.closeSocket(c);
    if (c.phase != Phase::kIdle) --m.inFlight;
    c.phase = Phase::kIdle;
    c.live = false;
    ++c.attempt;
    ++c.timerGen;
    m.byId.erase(it);
    m.freeSlots.push_back(slot);
  }
  m.wake();
  return {};
}

HealthChecker::Clock::time_point HealthChecker::poll(Clock::time_point now) {
  Impl& m = *impl_;
  std::lock_guard pollLock(m.pollMu);
  std::vector<HealthTransition> report;
  Clock::time_point next;
  {
    std::lock_guard lock(m.mu);
    m.drainEvents(now);
    m.fireTimers(now);
    next = m.timers.empty() ? Clock::time_point::max() : m.timers.top().t;
    report.swap(m.pending);
  }
  if (m.onTransition) {
    for (const auto& t : report) m.onTransition(t);
  }
  return next;
}

void HealthChecker::wait(Clock::duration d) {
  if (d <= Clock::duration::zero()) return;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::min<Clock::duration>(d, std::chrono::hours(1)))
                .count();
  timespec ts{time_t(ns / 1000000000), long(ns % 1000000000)};
  pollfd p{impl_->epfd, POLLIN, 0};
  ::ppoll(&p, 1, &ts, nullptr);
}

Status HealthChecker::start() {
  Impl& m = *impl_;
  std::lock_guard lock(m.threadMu);
  if (m.thread.joinable()) return Status::error("health checker: already running");
  m.stopping = false;
  m.thread = std::thread([this] {
    Impl& mm = *impl_;
    while (!mm.stopping.load()) {
      auto next = poll(Clock::now());
      auto d = next == Clock::time_point::max()
                   ? Clock::duration(std::chrono::seconds(1))
                   : std::clamp<Clock::duration>(next - Clock::now(), Clock::duration::zero(),
                                                 std::chrono::seconds(1));
      wait(d);
    }
  });
  return {};
}

void HealthChecker::stop() {
  Impl& m = *impl_;
  std::lock_guard lock(m.threadMu);
  if (!m.thread.joinable()) return;
  m.stopping = true;
  m.wake();
  m.thread.join();
}

Result<HealthCounters> HealthChecker::counters(uint64_t id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->byId.find(id);
  if (it == impl_->byId.end()) {
    return Status::error(StatusCode::kNotFound,
                         "server id " + std::to_string(id) + " has no health check");
  }
  return impl_->slots[it->second].counters;
}

size_t HealthChecker::size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->byId.size();
}

size_t HealthChecker::inFlight() const {
  std::lock_guard lock(impl_->mu);
  return impl_->inFlight;
}

uint64_t HealthChecker::checksEnded() const {
  std::lock_guard lock(impl_->mu);
  return impl_->ended;
}

Result<HealthCheckConfig> parseCheckSpec(std::string_view spec) {
  auto bad = [&](const std::string& m) {
    return Status::error(StatusCode::kInvalidArgument, "health check '" + std::string(spec) + "': " + m);
  };
  HealthCheckConfig c;
  size_t pos = 0;
  bool first = true;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string_view::npos) comma = spec.size();
    std::string_view part = spec.substr(pos, comma - pos);
    pos = comma + 1;
    if (first) {
      first = false;
      std::optional<CheckKind> k = checkKindFromName(part);
      if (!k) return bad("the kind '" + std::string(part) + "' is not tcp or http");
      c.kind = *k;
      continue;
    }
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) return bad("'" + std::string(part) + "' is not KEY=VALUE");
    std::string key(part.substr(0, eq)), val(part.substr(eq + 1));
    if (key == "path") { c.path = val; continue; }
    if (key == "host") { c.host = val; continue; }
    uint64_t n = 0;
    if (val.empty() || val.size() > 9 || val.find_first_not_of("0123456789") != std::string::npos) {
      return bad(key + " '" + val + "' is not a whole number");
    }
    n = std::stoull(val);
    if (key == "interval") c.interval = std::chrono::milliseconds(n);
    else if (key == "timeout") c.timeout = std::chrono::milliseconds(n);
    else if (key == "rise") c.rise = uint32_t(n);
    else if (key == "fall") c.fall = uint32_t(n);
    else if (key == "status") c.expectedStatus = uint16_t(std::min<uint64_t>(n, 65535));
    else return bad("unknown key '" + key + "' (interval, timeout, rise, fall, path, status, host)");
  }
  if (Status st = checkHealthConfig(c); !st) return bad(st.message());
  return c;
}

std::string checkSpecStr(const HealthCheckConfig& c) {
  std::string s = std::string(checkKindName(c.kind)) + ",interval=" + std::to_string(c.interval.count()) +
                  ",timeout=" + std::to_string(c.timeout.count()) + ",rise=" + std::to_string(c.rise) +
                  ",fall=" + std::to_string(c.fall);
  if (c.kind == CheckKind::kHttp) {
    s += ",path=" + c.path + ",status=" + std::to_string(c.expectedStatus);
    if (!c.host.empty()) s += ",host=" + c.host;
  }
  return s;
}

}  // namespace roamgate::control
