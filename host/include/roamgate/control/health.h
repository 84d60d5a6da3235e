// Health checks of the servers behind a service, run from the host over its own network stack.
// Their transitions feed the selector's health state (ServerSelector::setHealth): a server that
// is down gets no new user sessions.
//
// * Kinds. TCP: success when the three-way handshake completes within the timeout. HTTP: a GET
//   of the configured path (HTTP/1.1, a Host header, `Connection: close`); success when a status
//   line with the expected code and then the end of the response header arrive within the
//   timeout. Reads are bounded and nothing the peer says about lengths is used: the status line
//   must end within kMaxStatusLine bytes and the header within kMaxResponseHeader bytes; the
//   body is never read. A different status ("HTTP 503, expected 200"), a malformed status line,
//   a header longer than the bound, a connection closed or reset before the header's end and a
//   timeout each fail the check. An interim 1xx response other than the expected code is
//   skipped (its header counts against the same bound). The header is read to its end (not
//   only the status line) so that a server sending an endless header fails.
// * Every check ends by closing its socket with RST (SO_LINGER 0): thousands of checks a second
//   leave no TIME_WAIT sockets on the gate host, and a peer's unread body does not matter.
// * Rise and fall. A server goes down after `fall` consecutive failures and back up after `rise`
//   consecutive successes; a success resets the failure run and a failure the success run, so a
//   recovered server is always re-added after `rise` good checks.
// * Initial state: down by default. A server nobody has checked gets no new user sessions: a user
//   session installed towards a dead server stays in the hardware until it idles out, while a
//   refused one is counted and the terminal retries. The first check runs as soon as the server
//   is added, so a healthy server is up at most (rise - 1) intervals plus a round trip later.
//   `initial = kUp` trusts a server until `fall` failures instead (e.g. for a group restored at
//   start-up whose servers served a moment ago). The initial state is not reported through the
//   callback; only transitions are.
// * Scheduling. poll(now) is one non-blocking step: it collects the sockets' events, fails the
//   checks whose deadline has passed, starts the checks that are due and returns when the next
//   timer falls; wait(d) blocks until a socket is ready, something was added or removed, or d
//   has passed. Time is the caller's: a test may drive poll() with a simulated clock (the sockets
//   are real). Checks run at a fixed rate: the next is due one interval after the last was due
//   (at once if that time passed before the last ended: after a late poll). The first check
//   runs at once and the second comes early by an offset below the interval (so it may follow
//   the first at once), fixed by a hash of the server's id: servers added together (all of
//   them, when roamd starts) are spread over the interval instead of sending their SYNs in one
//   burst every interval. start() runs
//   poll/wait on one thread of its own with the steady clock. Every check is a non-blocking
//   socket in one epoll set: 1,000 concurrent checks need 1,000 file descriptors, one thread.
//   An answer already waiting when poll() runs is taken as it is, even when poll() runs late;
//   the thread polls at each deadline, so late means by scheduling jitter only.
// * A local failure (no socket: e.g. the descriptor limit; the source address not the host's)
//   fails the check like any other: the host cannot vouch for the server.
//
// Thread-safe: add, remove and counters may be called from any thread while another polls.
// poll() calls are serialised; the callback runs on the polling thread, outside the checker's
// lock (it may call add, remove, counters), and must not call poll, wait or stop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "roamgate/control/selection.h"
#include "roamgate/result.h"
#include "roamgate/status.h"

namespace roamgate::control {

enum class CheckKind : uint8_t { kTcp, kHttp };
// "tcp", "http"
std::string_view checkKindName(CheckKind k);
std::optional<CheckKind> checkKindFromName(std::string_view s);

// How the last check ended (a label for metrics; the text for people is in the reason).
enum class CheckOutcome : uint8_t {
  kNone,          // no check has ended yet
  kOk,            // connected (TCP) or the expected status and a complete header (HTTP)
  kRefused,       // the connection was refused
  kConnectError,  // another connect error: unreachable, ...
  kTimeout,       // no result within the timeout
  kClosed,        // the server closed or reset the connection before the header's end
  kBadStatus,     // an HTTP status other than the expected one
  kMalformed,     // not an HTTP status line, or a header longer than the bound
  kLocalError,    // the host could not make the socket or bind the source address
};
// "none", "ok", "refused", "connect_error", "timeout", "closed", "bad_status", "malformed",
// "local_error"
std::string_view checkOutcomeName(CheckOutcome o);

inline constexpr std::chrono::milliseconds kMinCheckInterval{100};
inline constexpr std::chrono::milliseconds kMaxCheckInterval{3600 * 1000};  // 1 h
inline constexpr uint32_t kMaxRiseFall = 100;
inline constexpr size_t kMaxCheckPath = 1024;
inline constexpr size_t kMaxCheckHost = 255;
inline constexpr size_t kMaxStatusLine = 1024;      // bytes before the status line's end
inline constexpr size_t kMaxResponseHeader = 8192;  // bytes read in all, status line included

// A service's check, applied to each of its servers. Defaults are HAProxy's (inter 2 s, rise 2,
// fall 3) with a 1 s timeout.
struct HealthCheckConfig {
  CheckKind kind = CheckKind::kTcp;
  std::chrono::milliseconds interval{2000};  // kMinCheckInterval..kMaxCheckInterval
  std::chrono::milliseconds timeout{1000};   // 1 ms .. below the interval
  uint32_t rise = 2;                         // 1..kMaxRiseFall
  uint32_t fall = 3;                         // 1..kMaxRiseFall
  // HTTP only (checked whatever the kind, so a kind switched later finds them valid):
  std::string path = "/";         // starts with '/', visible ASCII, at most kMaxCheckPath
  uint16_t expectedStatus = 200;  // 100..599
  std::string host;               // the Host header; empty: the server's "address:port"
  Health initial = Health::kDown;
};

// kInvalidArgument with a message naming the value and what is allowed.
Status checkHealthConfig(const HealthCheckConfig& c);

// A check as one string, as services store it and roamctl takes it:
//   tcp|http[,interval=MS][,timeout=MS][,rise=N][,fall=N][,path=/P][,status=CODE][,host=H]
// (defaults as HealthCheckConfig). parseCheckSpec checks it whole; checkSpecStr writes every
// field, so the same check always reads back as the same text.
Result<HealthCheckConfig> parseCheckSpec(std::string_view spec);
std::string checkSpecStr(const HealthCheckConfig& c);

// One server to check.
struct HealthTarget {
  uint32_t ip = 0;        // host order; unicast (loopback allowed)
  uint16_t port = 0;      // 1..65535
  uint32_t sourceIp = 0;  // host order; 0: the host's choice (a gate host may have several)
};

struct HealthCounters {
  Health state = Health::kDown;
  uint64_t checks = 0;    // checks ended
  uint64_t failures = 0;  // of those, failed
  uint64_t transitions = 0;
  uint32_t consecutiveOk = 0;
  uint32_t consecutiveFailed = 0;
  std::chrono::microseconds lastLatency{0};  // the last ended check's start to its result
  CheckOutcome lastOutcome = CheckOutcome::kNone;
  std::string lastError;  // the last failure's reason; empty before the first failure
};

struct HealthTransition {
  uint64_t id = 0;
  Health state = Health::kDown;
  std::string reason;  // the deciding check: "connect refused", "timeout after 500 ms
                       // (connecting)", "HTTP 503, expected 200", "connected", "HTTP 200"
  CheckOutcome outcome = CheckOutcome::kNone;
  uint32_t consecutive = 0;  // the run that decided it (fall or rise)
};
using HealthCallback = std::function<void(const HealthTransition&)>;

class HealthChecker {
 public:
  using Clock = std::chrono::steady_clock;

  // kFailed when the epoll set or the wake-up descriptor cannot be made.
  static Result<std::unique_ptr<HealthChecker>> create(HealthCallback onTransition);
  ~HealthChecker();  // stops the thread and closes every socket
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Adds a check of one server under the caller's id; its first check is due at once.
  // kInvalidArgument: the configuration or the target; kAlreadyExists: the id is taken.
  // Several ids may check the same address (services sharing a server).
  Status add(uint64_t id, const HealthTarget& target, const HealthCheckConfig& config);
  // Stops the server's check (one in flight is dropped, not reported). kNotFound.
  Status remove(uint64_t id);

  // One step at `now` (never blocks); returns when the next timer falls (Clock::time_point::max()
  // with no check).
  Clock::time_point poll(Clock::time_point now);
  // Blocks until a socket has an event, add/remove/stop woke it, or `d` has passed.
  void wait(Clock::duration d);

  // poll/wait on a thread of the checker's own with the steady clock. kFailed when running.
  Status start();
  void stop();  // joins the thread; a no-op when not running

  // kNotFound for an unknown id.
  Result<HealthCounters> counters(uint64_t id) const;
  size_t size() const;
  size_t inFlight() const;       // checks with an open socket
  uint64_t checksEnded() const;  // over all servers, since creation

 private:
  struct Impl;
  explicit HealthChecker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace roamgate::control
