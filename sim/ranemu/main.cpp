// ranemu: RAN nodes for the lab. Each terminal is a TUN device (moved by the lab into the
// terminal's own namespace); the IP packets it sends are wrapped in G-PDUs with the TEID the
// session manager assigned and sent from its RAN node's address to that node's entry point;
// the G-PDUs that reach a node for a terminal's downlink TEID are unwrapped into its TUN. A
// terminal moves to another node on command (a handover; the lab tells the session manager).
// GTP-U Echo: requests answered, and sent to every entry point at an interval.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gtpu.h"

namespace po = boost::program_options;
using namespace roamgate::ranemu;

namespace {

enum class Level { kError, kWarn, kInfo, kDebug };
Level logLevel = Level::kInfo;

template <class... A>
void log(Level l, const char* fmt, A... a) {
  if (l > logLevel) return;
  static const char* names[] = {"error", "warn", "info", "debug"};
  std::fprintf(stderr, "ranemu: %s: ", names[int(l)]);
  std::fprintf(stderr, fmt, a...);
  std::fputc('\n', stderr);
}

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "ranemu: error: %s\n", m.c_str());
  std::exit(2);
}

uint32_t parseIpv4(const std::string& s, const std::string& what) {
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) die(what + " '" + s + "' is not an IPv4 address");
  return ntohl(a.s_addr);
}

std::string ipStr(uint32_t ip) {
  in_addr a{htonl(ip)};
  char b[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, &a, b, sizeof b);
}

// Decimal, or hexadecimal after 0x (a leading 0 is still decimal).
uint64_t parseNumber(const std::string& s, uint64_t max, const std::string& what) {
  bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  std::string digits = hex ? s.substr(2) : s;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(digits.c_str(), &end, hex ? 16 : 10);
  bool clean = !digits.empty() && std::isxdigit(uint8_t(digits[0])) && !*end;
  if (!clean || errno || v > max) {
    die(what + " '" + s + "' is not a number from 0 to " + std::to_string(max) +
        " (decimal, or hexadecimal after 0x)");
  }
  return v;
}

struct Node {
  std::string name;
  uint32_t ip = 0;
  uint32_t peer = 0;  // its entry point
  int fd = -1;
  uint64_t echoSent = 0, echoAnswered = 0, echoRequests = 0, errorIndications = 0;
  uint64_t unknownTeid = 0, malformed = 0, other = 0;
};

struct Terminal {
  std::string name, tun;
  uint32_t teid = 0, dlTeid = 0;
  std::optional<uint8_t> qfi;
  size_t node = 0;
  int fd = -1;
  uint64_t ulPackets = 0, ulBytes = 0, dlPackets = 0, dlBytes = 0, moves = 0;
};

struct Emulator {
  std::vector<Node> nodes;
  std::vector<Terminal> terms;
  std::map<uint32_t, size_t> byDlTeid;
  uint16_t echoSeq = 0;

  size_t nodeNamed(const std::string& n) const {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].name == n) return i;
    }
    return SIZE_MAX;
  }

  void send(Node& n, const std::vector<uint8_t>& msg) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(kGtpuPort);
    to.sin_addr.s_addr = htonl(n.peer);
    auto* dst = reinterpret_cast<sockaddr*>(&to);
    if (::sendto(n.fd, msg.data(), msg.size(), 0, dst, sizeof to) < 0) {
      log(Level::kWarn, "node %s: send to %s: %s", n.name.c_str(), ipStr(n.peer).c_str(),
          std::strerror(errno));
    }
  }

  void uplink(Terminal& t) {
    uint8_t buf[65536];
    for (;;) {
      ssize_t n = ::read(t.fd, buf, sizeof buf);
      if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) {
          log(Level::kWarn, "terminal %s: read: %s", t.name.c_str(), std::strerror(errno));
        }
        return;
      }
      if (n == 0 || (buf[0] >> 4) != 4) continue;  // IPv4 only (the lab's addresses)
      ++t.ulPackets;
      t.ulBytes += uint64_t(n);
      send(nodes[t.node], encodeGpdu(t.teid, t.qfi, PduDirection::kUplink, {buf, size_t(n)}));
    }
  }

  void receive(Node& node) {
    uint8_t buf[65536];
    for (;;) {
      sockaddr_in from{};
      socklen_t fl = sizeof from;
      ssize_t n = ::recvfrom(node.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 0) return;
      std::string why;
      std::optional<Gtpu> g = parseGtpu({buf, size_t(n)}, &why);
      if (!g) {
        ++node.malformed;
        log(Level::kDebug, "node %s: from %s: %s", node.name.c_str(),
            ipStr(ntohl(from.sin_addr.s_addr)).c_str(), why.c_str());
        continue;
      }
      if (g->type == kGpdu) {
        auto it = byDlTeid.find(g->teid);
        if (it == byDlTeid.end()) {
          ++node.unknownTeid;
          continue;
        }
        Terminal& t = terms[it->second];
        ++t.dlPackets;
        t.dlBytes += g->payloadLength;
        if (::write(t.fd, buf + g->payloadOffset, g->payloadLength) < 0) {
          log(Level::kWarn, "terminal %s: write: %s", t.name.c_str(), std::strerror(errno));
        }
      } else if (g->type == kEchoRequest) {
        ++node.echoRequests;
        sockaddr_in to = from;
        auto r = encodeEchoResponse(g->seq.value_or(0));
        (void)::sendto(node.fd, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      } else if (g->type == kEchoResponse) {
        ++node.echoAnswered;
      } else if (g->type == kErrorIndication) {
        ++node.errorIndications;
        log(Level::kWarn, "node %s: error indication from %s", node.name.c_str(),
            ipStr(ntohl(from.sin_addr.s_addr)).c_str());
      } else {
        ++node.other;
      }
    }
  }

  void echo() {
    ++echoSeq;
    for (Node& n : nodes) {
      send(n, encodeEchoRequest(echoSeq));
      ++n.echoSent;
    }
  }

  nlohmann::json stats() const {
    nlohmann::json j;
    for (const Node& n : nodes) {
      j["nodes"][n.name] = {{"address", ipStr(n.ip)},
                            {"entry_point", ipStr(n.peer)},
                            {"echo_sent", n.echoSent},
                            {"echo_answered", n.echoAnswered},
                            {"echo_requests", n.echoRequests},
                            {"error_indications", n.errorIndications},
                            {"unknown_teid", n.unknownTeid},
                            {"malformed", n.malformed},
                            {"other", n.other}};
    }
    for (const Terminal& t : terms) {
      j["terminals"][t.name] = {{"node", nodes[t.node].name}, {"teid", t.teid},
                                {"dl_teid", t.dlTeid},        {"ul_packets", t.ulPackets},
                                {"ul_bytes", t.ulBytes},      {"dl_packets", t.dlPackets},
                                {"dl_bytes", t.dlBytes},      {"moves", t.moves}};
    }
    return j;
  }

  // One command line: "move TERMINAL NODE" or "stats"; the answer is one line.
  std::string command(const std::string& line) {
    std::istringstream in(line);
    std::string verb, a, b;
    in >> verb >> a >> b;
    if (verb == "stats") return stats().dump();
    if (verb == "move") {
      size_t ti = SIZE_MAX;
      for (size_t i = 0; i < terms.size(); ++i) {
        if (terms[i].name == a) ti = i;
      }
      if (ti == SIZE_MAX) return "error: no terminal '" + a + "'";
      size_t ni = nodeNamed(b);
      if (ni == SIZE_MAX) return "error: no RAN node '" + b + "'";
      Terminal& t = terms[ti];
      log(Level::kInfo, "terminal %s: handover %s -> %s", t.name.c_str(),
          nodes[t.node].name.c_str(), b.c_str());
      if (t.node != ni) ++t.moves;
      t.node = ni;
      return "ok";
    }
    return "error: unknown command '" + verb + "' (have: move TERMINAL NODE, stats)";
  }
};

int openTun(const std::string& name) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die(std::string("/dev/net/tun: ") + std::strerror(errno));
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (name.size() >= IFNAMSIZ) die("TUN name '" + name + "' is longer than 15 characters");
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUN " + name + ": " + std::strerror(errno));
  return fd;
}

int openNode(const Node& n) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(kGtpuPort);
  a.sin_addr.s_addr = htonl(n.ip);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    die("node " + n.name + ": bind " + ipStr(n.ip) + ":2152: " + std::strerror(errno));
  }
  return fd;
}

int openControl(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) die("control socket path '" + path + "' is too long");
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) die("control socket " + path + " exists and is not a socket");
    ::unlink(path.c_str());  // a socket left by an earlier run
  }
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, 8) != 0) {
    die("control socket " + path + ": " + std::strerror(errno));
  }
  return fd;
}

// Control clients: each sends one line and gets one answer, then is closed. They are read
// as their bytes come, in the event loop, so a slow one holds nothing up; at most
// kMaxClients at once (more are closed unanswered), and a line is at most 4096 bytes.
constexpr size_t kMaxClients = 16;
struct Clients {
  std::map<int, std::string> lines;  // by descriptor: what it sent so far

  void accept(int listener, int ep) {
    for (;;) {
      int c = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) return;
      if (lines.size() >= kMaxClients) {
        log(Level::kWarn, "control: %zu clients already; one more closed", lines.size());
        ::close(c);
        continue;
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = 1u << 20 | uint64_t(c);
      ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
      lines[c];
    }
  }

  void read(int c, Emulator& emu) {
    std::string& line = lines[c];
    char buf[512];
    ssize_t n;
    while ((n = ::read(c, buf, sizeof buf)) > 0) line.append(buf, size_t(n));
    size_t nl = line.find('\n');
    bool closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
    if (nl == std::string::npos && line.size() <= 4096 && !closed) return;  // more to come
    std::string answer = line.size() > 4096 && nl == std::string::npos
                             ? "error: a command line is at most 4096 bytes"
                             : emu.command(line.substr(0, nl));
    answer += "\n";
    (void)::send(c, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(c);  // also leaves the epoll set
    lines.erase(c);
  }
};

}  // namespace

int main(int argc, char** argv) {
  po::options_description opts("options");
  std::vector<std::string> nodeSpecs, termSpecs;
  std::string control, level;
  double echoSeconds = 5;
  bool json = false;
  opts.add_options()("help,h", "this text")(
      "node", po::value(&nodeSpecs),
      "a RAN node: NAME=ADDRESS,ENTRY_POINT (its GTP-U address, bound on port 2152 here, and "
      "the entry point it sends to); repeatable")(
      "terminal", po::value(&termSpecs),
      "a terminal: NAME=TUN,TEID,DL_TEID,NODE[,QFI] (its TUN device, created or attached; the "
      "session's uplink TEID; the downlink TEID it is given; its first RAN node; a QFI: PDU "
      "Session Containers both ways); numbers in decimal or, after 0x, hexadecimal; repeatable")(
      "control", po::value(&control),
      "a Unix socket taking one command per connection: 'move TERMINAL NODE' (a handover) or "
      "'stats' (counters as JSON)")(
      "echo-interval", po::value(&echoSeconds)->default_value(5),
      "seconds between Echo Requests to each entry point (0: none)")(
      "log-level", po::value(&level)->default_value("info"), "error, warn, info or debug")(
      "json", po::bool_switch(&json), "print the counters as JSON at exit");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    die(std::string(e.what()) + " (see --help)");
  }
  if (vm.count("help")) {
    std::printf("usage: ranemu --node NAME=ADDRESS,ENTRY_POINT ... --terminal SPEC ... "
                "[options]\n\n");
    std::cout << opts;
    std::printf("\nSIGTERM or SIGINT ends it (with --json, the counters are printed first).\n");
    return 0;
  }
  std::map<std::string, Level> levels = {
      {"error", Level::kError},
      {"warn", Level::kWarn},
      {"info", Level::kInfo},
      {"debug", Level::kDebug}};
  if (!levels.count(level)) die("log level '" + level + "' is not one of error, warn, info, debug");
  logLevel = levels[level];
  if (!(echoSeconds == 0 || (echoSeconds >= 0.001 && echoSeconds <= 3600))) {
    die("echo interval " + std::to_string(echoSeconds) +
        " is not 0 (none) or from 0.001 to 3600 seconds");
  }
  if (nodeSpecs.empty()) die("no --node given (at least one RAN node is needed)");

  Emulator emu;
  for (const std::string& s : nodeSpecs) {
    size_t eq = s.find('='), comma = s.find(',');
    if (eq == std::string::npos || comma == std::string::npos || comma < eq) {
      die("node '" + s + "' is not NAME=ADDRESS,ENTRY_POINT");
    }
    Node n;
    n.name = s.substr(0, eq);
    if (n.name.empty() || emu.nodeNamed(n.name) != SIZE_MAX) {
      die("node name '" + n.name + "' is empty or given twice");
    }
    n.ip = parseIpv4(s.substr(eq + 1, comma - eq - 1), "node " + n.name + " address");
    n.peer = parseIpv4(s.substr(comma + 1), "node " + n.name + " entry point");
    emu.nodes.push_back(n);
  }
  for (const std::string& s : termSpecs) {
    size_t eq = s.find('=');
    if (eq == std::string::npos) {
      die("terminal '" + s + "' is not NAME=TUN,TEID,DL_TEID,NODE[,QFI]");
    }
    Terminal t;
    t.name = s.substr(0, eq);
    std::vector<std::string> f;
    std::istringstream in(s.substr(eq + 1));
    for (std::string x; std::getline(in, x, ',');) f.push_back(x);
    if (t.name.empty() || f.size() < 4 || f.size() > 5) {
      die("terminal '" + s + "' is not NAME=TUN,TEID,DL_TEID,NODE[,QFI]");
    }
    for (const Terminal& o : emu.terms) {
      if (o.name == t.name) die("terminal name '" + t.name + "' is given twice");
    }
    t.tun = f[0];
    if (t.tun.empty()) die("terminal " + t.name + ": the TUN device name is empty");
    t.teid = uint32_t(parseNumber(f[1], 0xffffffff, "terminal " + t.name + " TEID"));
    t.dlTeid = uint32_t(parseNumber(f[2], 0xffffffff, "terminal " + t.name + " downlink TEID"));
    t.node = emu.nodeNamed(f[3]);
    if (t.node == SIZE_MAX) die("terminal " + t.name + ": no RAN node '" + f[3] + "'");
    if (f.size() == 5) t.qfi = uint8_t(parseNumber(f[4], 63, "terminal " + t.name + " QFI"));
    if (auto o = emu.byDlTeid.find(t.dlTeid); o != emu.byDlTeid.end()) {
      die("terminals " + emu.terms[o->second].name + " and " + t.name +
          " have one downlink TEID, " + f[2]);
    }
    emu.byDlTeid[t.dlTeid] = emu.terms.size();
    emu.terms.push_back(t);
  }

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigprocmask(SIG_BLOCK, &sigs, nullptr);
  int sfd = ::signalfd(-1, &sigs, SFD_CLOEXEC);
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  auto watch = [&](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
      die(std::string("epoll: ") + std::strerror(errno));
    }
  };
  // Tags: 0 signals, 1 echo timer, 2 control, 1000 + node, 2000 + terminal, 2^20 + a control
  // client's descriptor.
  watch(sfd, 0);
  int cfd = -1;  // first: a bad path is refused before any device is touched
  Clients clients;
  if (!control.empty()) {
    cfd = openControl(control);
    watch(cfd, 2);
  }
  for (size_t i = 0; i < emu.nodes.size(); ++i) {
    emu.nodes[i].fd = openNode(emu.nodes[i]);
    watch(emu.nodes[i].fd, 1000 + i);
  }
  for (size_t i = 0; i < emu.terms.size(); ++i) {
    emu.terms[i].fd = openTun(emu.terms[i].tun);
    watch(emu.terms[i].fd, 2000 + i);
  }
  int tfd = -1;
  if (echoSeconds > 0) {
    tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    itimerspec it{};
    it.it_interval.tv_sec = time_t(echoSeconds);
    it.it_interval.tv_nsec = long((echoSeconds - double(time_t(echoSeconds))) * 1e9);
    it.it_value = it.it_interval;
    ::timerfd_settime(tfd, 0, &it, nullptr);
    watch(tfd, 1);
  }
  log(Level::kInfo, "%zu RAN nodes, %zu terminals", emu.nodes.size(), emu.terms.size());
  for (bool run = true; run;) {
    epoll_event evs[32];
    int n = ::epoll_wait(ep, evs, 32, -1);
    for (int i = 0; i < n; ++i) {
      uint64_t tag = evs[i].data.u64;
      if (tag == 0) {
        run = false;
      } else if (tag == 1) {
        uint64_t ticks;
        (void)::read(tfd, &ticks, sizeof ticks);
        emu.echo();
      } else if (tag == 2) {
        clients.accept(cfd, ep);
      } else if (tag >= 1u << 20) {
        clients.read(int(tag - (1u << 20)), emu);
      } else if (tag >= 2000) {
        emu.uplink(emu.terms[tag - 2000]);
      } else {
        emu.receive(emu.nodes[tag - 1000]);
      }
    }
  }
  if (!control.empty()) ::unlink(control.c_str());
  if (json) std::printf("%s\n", emu.stats().dump(2).c_str());
  log(Level::kInfo, "stopped");
  return 0;
}
