// The etcd test backend: an etcd server of its own (Debian's etcd-server, /usr/bin/etcd) on
// 127.0.0.1, with its data and its log in a fresh temporary folder. It waits until the server
// answers; the destructor stops the server by its PID and removes the folder. A server whose
// test process dies is killed too (PR_SET_PDEATHSIG).
//
// makeEtcdBackend() reports a server that does not start as a gtest failure (with the end of
// its log) and returns nullptr, as open() does for a client that does not open: callers
// ASSERT_NE(..., nullptr).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "backend.h"

extern char** environ;

namespace roamgate::store::test {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kEtcdBinary = "/usr/bin/etcd";
constexpr auto kStartDeadline = 30s;  // a loaded 2-core machine; it usually answers in 1 s
constexpr auto kStopDeadline = 10s;   // SIGTERM, then SIGKILL
constexpr int kStartTries = 3;        // a free port may be taken before etcd binds it

// A free TCP port on 127.0.0.1: bound to port 0, read back and released (0 on failure).
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

std::string logTail(const std::string& path, size_t maxBytes = 4000) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  return s.size() > maxBytes ? "..." + s.substr(s.size() - maxBytes) : s;
}

class EtcdBackend : public TestBackend {
 public:
  ~EtcdBackend() override {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  // Makes the folder and starts the server; false with `error` when it does not answer.
  bool start(std::string* error) {
    char tmpl[] = "/tmp/roamgate-etcd-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      *error = std::string("mkdtemp /tmp/roamgate-etcd-XXXXXX: ") + std::strerror(errno);
      return false;
    }
    dir_ = tmpl;
    log_ = dir_ + "/etcd.log";
    for (int attempt = 1; attempt <= kStartTries; ++attempt) {
      std::string why;
      if (launch(attempt, &why)) return true;
      stop();
      *error = "etcd (try " + std::to_string(attempt) + " of " + std::to_string(kStartTries) +
               ") " + why + "\n--- " + log_ + " ---\n" + logTail(log_);
    }
    return false;
  }

  std::string name() const override { return "etcd"; }
  std::string spec() const override { return "etcd:127.0.0.1:" + std::to_string(clientPort_); }

  std::unique_ptr<Store> open() override {
    Result<std::unique_ptr<Store>> s = openStore({spec(), std::chrono::milliseconds(5000)});
    if (!s.ok()) {
      ADD_FAILURE() << "open " << spec() << ": " << s.status().message();
      return nullptr;
    }
    return std::move(s).value();
  }

 private:
  bool launch(int attempt, std::string* why) {
    clientPort_ = freePort();
    peerPort_ = freePort();
    if (clientPort_ == 0 || peerPort_ == 0 || clientPort_ == peerPort_) {
      *why = "found no two free ports on 127.0.0.1";
      return false;
    }
    const std::string client = "http://127.0.0.1:" + std::to_string(clientPort_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peerPort_);
    const std::string name = "roamgate-test";
    std::vector<std::string> args = {
        kEtcdBinary,
        "--name=" + name,
        "--data-dir=" + dir_ + "/data-" + std::to_string(attempt),  // empty on each try
        "--listen-client-urls=" + client,
        "--advertise-client-urls=" + client,
        "--listen-peer-urls=" + peer,
        "--initial-advertise-peer-urls=" + peer,
        "--initial-cluster=" + name + "=" + peer,
        "--initial-cluster-state=new",
        // Our batches (the control plane's table writes) are larger than etcd's default of
        // 128 operations in one transaction.
        "--max-txn-ops=1024",
        // A one-member cluster elects itself after one election timeout: a short one starts
        // the server sooner. etcd's shortest lease TTL follows (1.5 election timeouts, rounded
        // up to whole seconds: 1 s here, as SQLite's).
        "--heartbeat-interval=25",
        "--election-timeout=250",
        "--logger=zap",
        "--log-outputs=stderr",
    };
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // The environment without ETCD_* variables (etcd reads its flags from them too).
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e) {
      if (std::strncmp(*e, "ETCD_", 5) != 0) envp.push_back(*e);
    }
    envp.push_back(nullptr);

    int logFd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logFd < 0) {
      *why = "cannot open its log " + log_ + ": " + std::strerror(errno);
      return false;
    }
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      *why = std::string("fork: ") + std::strerror(errno);
      ::close(logFd);
      return false;
    }
    if (pid == 0) {  // the child: async-signal-safe calls only, up to exec
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, 0);
      ::dup2(logFd, 1);
      ::dup2(logFd, 2);
      ::execve(kEtcdBinary, argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(logFd);
    pid_ = pid;

    // Polls until the server answers a read (a condition, with a deadline).
    const auto deadline = Clock::now() + kStartDeadline;
    std::string last;
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        *why = "exited (status " + std::to_string(status) + ") before it answered on " + client;
        return false;
      }
      Result<std::unique_ptr<Store>> s =
          openStore({spec(), std::chrono::milliseconds(1000)});
      if (s.ok()) {
        Result<Range> r = (*s)->get("/roamgate-test-probe");
        if (r.ok()) return true;
        last = r.status().message();
      } else {
        last = s.status().message();
      }
      std::this_thread::sleep_for(20ms);  // the poll's period, not a synchronisation
    }
    *why = "did not answer on " + client + " within " +
           std::to_string(std::chrono::seconds(kStartDeadline).count()) + " s (last: " + last +
           ")";
    return false;
  }

  // Stops the server by its PID: SIGTERM, SIGKILL after a deadline, and waits for it.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + kStopDeadline;
    while (Clock::now() < deadline) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno == ECHILD)) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(10ms);  // the poll's period
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  std::string dir_;
  std::string log_;
  int clientPort_ = 0;
  int peerPort_ = 0;
  pid_t pid_ = -1;
};

}  // namespace

std::unique_ptr<TestBackend> makeEtcdBackend() {
  auto b = std::make_unique<EtcdBackend>();
  std::string error;
  if (!b->start(&error)) {
    ADD_FAILURE() << "the etcd test backend did not start: " << error;
    return nullptr;
  }
  return b;
}

}  // namespace roamgate::store::test
