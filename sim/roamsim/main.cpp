// roamsim: the platform model. A Verilated kernel (SystemC; steer or gate) inside models of
// what the card's shell gives it: MAC ports paced at 100 GbE wire rate (or saturating), device
// memory behind the AXI4 master, the AXI4-Lite register bus served over a Unix socket to the
// unchanged host software, the timestamp. Ports attach to pcap files or network interfaces.
// `roamsim ctl SOCKET play|wait|stop|status` drives a running one.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <systemc>
#include <thread>
#include <vector>

#include "Vgate_sc.h"
#include "Vsteer_sc.h"
#include "pacer.h"
#include "iface_port.h"
#include "pcap_io.h"
#include "sparse_memory.h"
#include "roamgate/hal/sim_protocol.h"
#include "roamgate/hal/stream_io.h"
#include "verilated.h"
#include "verilated_fst_sc.h"

namespace po = boost::program_options;
namespace proto = roamgate::hal::simproto;
using namespace sc_core;
using roamgate::sim::PcapWriter;
using roamgate::sim::WirePacer;

namespace {

struct Options {
  std::string socket;
  std::vector<std::string> in, out;
  std::string pace = "wire";
  double clockMhz = 322.265625;
  bool hold = false;
  bool exitWhenDone = false;
  std::string trace;
  uint64_t maxCycles = 0;
  uint64_t idleCycles = 64;
  bool json = false;
};

// A frame in flight on a port: bytes plus the cycle its first beat moved.
struct Frame {
  std::vector<uint8_t> bytes;
  uint64_t cycle = 0;
};

// The shell: one method at every rising edge samples the handshakes that the edge completes
// (signal values read here are the pre-edge ones) and drives the inputs for the next cycle.
SC_MODULE(Shell) {
  sc_in<bool> clk;
  sc_signal<bool> rst_n;
  sc_signal<uint64_t> timestamp;
  sc_signal<uint32_t> awaddr, wdata, wstrb, araddr, bresp, rdata, rresp;
  sc_signal<bool> awvalid, awready, wvalid, wready, bvalid, bready, arvalid, arready, rvalid, rready;
  // MAC ports: 0 the access side, 1 the service side (gate only). Steer's outputs are tx[0]
  // (the steering side) and tx[1] (the access side: the host's injected frames).
  struct RxPort {
    sc_signal<sc_dt::sc_bv<512>> data;
    sc_signal<uint64_t> keep;
    sc_signal<bool> last, user, valid, ready;
    std::vector<std::vector<uint8_t>> input;
    size_t nextFrame = 0, beat = 0;
    bool sending = false;
    std::unique_ptr<WirePacer> pacer;
    uint64_t framesIn = 0;
    bool done() const { return nextFrame >= input.size() && !sending; }
  };
  struct TxPort {
    sc_signal<sc_dt::sc_bv<512>> data;
    sc_signal<uint64_t> keep;
    sc_signal<bool> last, user, valid, ready;
    PcapWriter pcap;
    roamgate::sim::IfacePort* iface = nullptr;  // a live interface instead of a capture
    Frame cur;
    uint64_t framesOut = 0;
  };
  RxPort rx[2];
  TxPort tx[2];
  // AXI4 to device memory
  sc_signal<uint64_t> m_awaddr, m_araddr, m_wstrb;
  sc_signal<uint32_t> awlen, awsize, awburst, arlen, arsize, arburst, mbresp, mrresp;
  sc_signal<bool> awvalid_m, awready_m, wlast_m, wvalid_m, wready_m, bvalid_m, bready_m;
  sc_signal<bool> arvalid_m, arready_m, rlast_m, rvalid_m, rready_m;
  sc_signal<sc_dt::sc_bv<512>> wdata_m, rdata_m;
  roamgate::sim::SparseMemory memory;
  uint64_t memNext = 0x4'0000'0000ull;  // device memory handed out from 16 GiB up
  struct Aw {
    uint64_t addr;
    uint32_t beats;
  };
  struct WBeat {
    uint8_t data[64];
    uint8_t strb[64];
  };
  struct RBeat {
    uint8_t data[64];
    bool last;
    uint64_t due;
  };
  std::deque<Aw> awq;
  std::deque<WBeat> wq;
  std::deque<uint64_t> bq;
  std::deque<RBeat> rq;

  bool playing = false;
  uint64_t memBeats = 0, lastMove = 0;
  double nsPerCycle = 1.0;
  // Register bus: queue of operations from the socket client.
  struct Op {
    bool write;
    uint32_t addr, value;
  };
  std::deque<Op> ops;
  std::vector<uint32_t> readResults;
  enum { kIdle, kWrAddr, kWrResp, kRdAddr, kRdData } busState = kIdle;
  uint64_t cycle = 0;
  int resetCycles = 8;

  SC_CTOR(Shell) {
    SC_METHOD(edge);
    sensitive << clk.pos();
    dont_initialize();
  }

  static void putBeat(sc_dt::sc_bv<512>& bv, const uint8_t* p, size_t n) {
    for (int w = 0; w < 16; ++w) {
      uint32_t v = 0;
      for (int b = 0; b < 4; ++b) {
        size_t i = size_t(4 * w + b);
        if (i < n) v |= uint32_t(p[i]) << (8 * b);
      }
      bv.set_word(w, v);
    }
  }
  static void getBeat(const sc_dt::sc_bv<512>& bv, uint64_t keep, std::vector<uint8_t>& out) {
    for (int i = 0; i < 64; ++i) {
      if (keep >> i & 1) out.push_back(uint8_t(bv.get_word(i / 4) >> (8 * (i % 4))));
    }
  }

  void edge() {
    ++cycle;
    timestamp.write(cycle);
    if (resetCycles > 0) {
      rst_n.write(--resetCycles == 0);
      return;
    }
    for (TxPort& p : tx) sampleOutput(p);
    if ((awvalid_m.read() && awready_m.read()) || (rvalid_m.read() && rready_m.read())) lastMove = cycle;
    serveMemory();
    for (RxPort& p : rx) driveRx(p);
    // The AXI4-Lite master, like every driver here, changes its outputs at the clock edge
    // (they take effect for the next one): the kernel and the master then see the same
    // valid and ready at each edge, so every transfer happens exactly once.
    driveBus();
    startNext();
    for (TxPort& p : tx) p.ready.write(true);
  }

  // Device memory: an AXI4 slave with an 8-cycle response latency.
  void serveMemory() {
    if (awvalid_m.read() && awready_m.read()) awq.push_back({m_awaddr.read(), awlen.read() + 1});
    if (wvalid_m.read() && wready_m.read()) {
      WBeat w;
      const sc_dt::sc_bv<512> d = wdata_m.read();
      uint64_t s = m_wstrb.read();
      for (int i = 0; i < 64; ++i) {
        w.data[i] = uint8_t(d.get_word(i / 4) >> (8 * (i % 4)));
        w.strb[i] = (s >> i) & 1;
      }
      wq.push_back(w);
      ++memBeats;
    }
    if (bvalid_m.read() && bready_m.read()) bq.pop_front();
    if (rvalid_m.read() && rready_m.read()) {
      rq.pop_front();
      ++memBeats;
    }
    if (arvalid_m.read() && arready_m.read()) {
      uint32_t n = arlen.read() + 1;
      for (uint32_t i = 0; i < n; ++i) {
        RBeat b;
        memory.read(m_araddr.read() + 64 * i, b.data, 64);
        b.last = i + 1 == n;
        b.due = cycle + 8;
        rq.push_back(b);
      }
    }
    while (!awq.empty() && wq.size() >= awq.front().beats) {
      Aw a = awq.front();
      awq.pop_front();
      for (uint32_t i = 0; i < a.beats; ++i) {
        memory.write(a.addr + 64 * i, wq.front().data, 64, wq.front().strb);
        wq.pop_front();
      }
      bq.push_back(cycle + 8);
    }
    awready_m.write(awq.size() < 8);
    wready_m.write(wq.size() < 8);
    arready_m.write(rq.size() < 64);
    bvalid_m.write(!bq.empty() && bq.front() <= cycle);
    mbresp.write(0);
    bool rv = !rq.empty() && rq.front().due <= cycle;
    rvalid_m.write(rv);
    if (rv) {
      sc_dt::sc_bv<512> d;
      for (int w = 0; w < 16; ++w) {
        uint32_t v = 0;
        for (int k = 0; k < 4; ++k) v |= uint32_t(rq.front().data[4 * w + k]) << (8 * k);
        d.set_word(w, v);
      }
      rdata_m.write(d);
      rlast_m.write(rq.front().last);
      mrresp.write(0);
    }
  }

  void sampleOutput(TxPort& p) {
    uint64_t now = uint64_t(double(cycle) * nsPerCycle);
    if (p.valid.read() && p.ready.read()) {
      if (p.cur.bytes.empty()) p.cur.cycle = cycle;
      getBeat(p.data.read(), p.keep.read(), p.cur.bytes);
      lastMove = cycle;
      if (p.last.read()) {
        p.pcap.write(p.cur.bytes, now);
        if (p.iface) p.iface->send(p.cur.bytes);
        ++p.framesOut;
        p.cur = {};
      }
    }
  }

  void driveRx(RxPort& p) {
    p.valid.write(false);
    if (!playing || p.nextFrame >= p.input.size()) return;
    const std::vector<uint8_t>& f = p.input[p.nextFrame];
    if (!p.sending) {
      if (!p.pacer->mayStart(f.size())) return;
      p.sending = true;
      p.beat = 0;
    } else {
      p.pacer->tick();
    }
    size_t off = 64 * p.beat;
    size_t n = std::min<size_t>(64, f.size() - off);
    sc_dt::sc_bv<512> bv;
    putBeat(bv, f.data() + off, n);
    p.data.write(bv);
    p.keep.write(n == 64 ? ~0ull : (1ull << n) - 1);
    bool last = off + n >= f.size();
    p.last.write(last);
    p.user.write(false);
    p.valid.write(true);
    lastMove = cycle;
    ++p.beat;
    if (last) {
      p.sending = false;
      ++p.nextFrame;
      ++p.framesIn;
    }
  }
  uint64_t framesIn() const { return rx[0].framesIn + rx[1].framesIn; }
  uint64_t framesOut() const { return tx[0].framesOut + tx[1].framesOut; }

  // AXI4-Lite master: one operation at a time, valid held until ready.
  void driveBus() {
    bready.write(true);
    rready.write(true);
    switch (busState) {
      case kWrAddr:
        if (awready.read() && wready.read()) {
          awvalid.write(false);
          wvalid.write(false);
          busState = kWrResp;
        }
        return;
      case kWrResp:
        if (bvalid.read()) busState = kIdle;
        return;
      case kRdAddr:
        if (arready.read()) {
          arvalid.write(false);
          busState = kRdData;
        }
        return;
      case kRdData:
        if (rvalid.read()) {
          readResults.push_back(rdata.read());
          busState = kIdle;
        }
        return;
      case kIdle:
        break;
    }
  }
  // Issues the next queued operation if the bus is idle (at the clock edge, after driveBus).
  bool startNext() {
    if (busState != kIdle || ops.empty()) return false;
    Op op = ops.front();
    ops.pop_front();
    if (op.write) {
      awaddr.write(op.addr);
      wdata.write(op.value);
      wstrb.write(0xf);
      awvalid.write(true);
      wvalid.write(true);
      busState = kWrAddr;
    } else {
      araddr.write(op.addr);
      arvalid.write(true);
      busState = kRdAddr;
    }
    return true;
  }
  bool busIdle() const { return ops.empty() && busState == kIdle; }
  bool inputDone() const { return rx[0].done() && rx[1].done(); }
};

// SIGINT and SIGTERM end the simulation the way `roamsim ctl stop` does: the main loop sees
// the flag, the outputs and trace are flushed, the socket file is removed.
volatile std::sig_atomic_t gStopSignal = 0;
void onStopSignal(int sig) { gStopSignal = sig; }

uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The register socket. Several clients may be connected; a request (one batch of operations)
// is served whole, and when the bus is idle the next complete request is taken from the next
// client that has one (round robin), so a long batch from one client delays another by at
// most that batch. Clients' bytes are buffered without blocking: a client that sends half a
// request, or never reads its reply, holds up nobody else.
class RegServer {
 public:
  // Listens on `path`. A socket a live process serves is refused; a stale socket file (its
  // server died without removing it) is replaced; any other file is left alone.
  bool listen(const std::string& path, std::string& err) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) {
      err = "socket path too long (" + std::to_string(path.size()) + " bytes, at most " +
            std::to_string(sizeof sa.sun_path - 1) + "): " + path;
      return false;
    }
    std::strcpy(sa.sun_path, path.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    auto bind = [&] { return ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0; };
    if (fd_ < 0) {
      err = std::string("socket: ") + std::strerror(errno);
      return false;
    }
    if (!bind()) {
      if (errno != EADDRINUSE) {
        err = "cannot listen on " + path + ": " + std::strerror(errno);
        return false;
      }
      struct stat st {};
      if (::lstat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
        err = path + " exists and is not a socket; not replacing it (choose another --socket)";
        return false;
      }
      int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      int rc = ::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa), why = errno;
      ::close(probe);
      if (rc == 0 || why == EAGAIN) {  // EAGAIN: a live server with a full backlog
        err = "another process (a running roamsim?) serves " + path +
              "; stop it first or choose another --socket";
        return false;
      }
      if (why != ECONNREFUSED) {
        err = "cannot check who serves " + path + ": " + std::strerror(why);
        return false;
      }
      ::unlink(path.c_str());  // stale: nobody behind it
      if (!bind()) {
        err = "cannot listen on " + path + ": " + std::strerror(errno);
        return false;
      }
    }
    struct stat st {};
    if (::listen(fd_, 16) != 0 || ::stat(path.c_str(), &st) != 0) {
      err = "cannot listen on " + path + ": " + std::strerror(errno);
      ::unlink(path.c_str());
      return false;
    }
    path_ = path;
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    return true;
  }
  ~RegServer() {
    for (Client& c : clients_) ::close(c.fd);
    if (fd_ >= 0) ::close(fd_);
    // Remove the socket file only if it is still ours.
    struct stat st {};
    if (!path_.empty() && ::stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
      ::unlink(path_.c_str());
    }
  }

  // Accepts clients, moves their bytes, and when no request is in flight starts the next
  // complete one: fills `shell.ops`; sim-control operations are answered at once. Waits up to
  // `timeoutMs` for something to happen. Returns true while a request is being served.
  bool poll(Shell& shell, int timeoutMs, bool& stop) {
    if (busy_) {
      if (++busyPolls_ % 64 == 0) pump(0);  // the others' bytes keep moving meanwhile
      return true;
    }
    pump(timeoutMs);
    size_t n = clients_.size();
    for (size_t k = 0; k < n; ++k) {
      size_t i = (next_ + k) % n;
      Client& c = clients_[i];
      if (c.outAt < c.out.size() || c.gone) continue;  // its last reply is still going out
      int64_t size = requestSize(c);
      if (size < 0) c.gone = true;  // not our protocol
      if (size <= 0) continue;
      next_ = i + 1;
      start(shell, c, size_t(size), stop);
      break;
    }
    sweep();
    return busy_;
  }

  // When the shell has finished the queued operations, sends the reply.
  void finishIfDone(Shell& shell) {
    if (!busy_ || !shell.busIdle()) return;
    busy_ = false;
    Client* c = nullptr;
    for (Client& x : clients_) {
      if (x.id == current_) c = &x;
    }
    if (!c) return;  // it left before its answer
    auto put = [&](uint32_t v) {
      for (int i = 0; i < 4; ++i) c->out.push_back(uint8_t(v >> (8 * i)));
    };
    put(proto::kMagic);
    put(0);
    put(uint32_t(order_.size()));
    size_t ri = 0, si = 0;
    for (int kind : order_) put(kind == 0 ? shell.readResults[ri++] : simValues_[si++]);
    c->out.insert(c->out.end(), memOut_.begin(), memOut_.end());
    if (!flush(*c)) c->gone = true;
    sweep();
  }

 private:
  struct Client {
    uint64_t id = 0;
    int fd = -1;
    std::vector<uint8_t> in, out;  // bytes received, not yet served; reply bytes not yet sent
    size_t outAt = 0;
    int64_t size = 0;     // the complete request at the front of `in` (0: none yet)
    bool scanned = true;  // `size` is up to date with `in`
    bool eof = false;     // the client sent its last byte (it may still wait for a reply)
    bool gone = false;    // to be closed
  };

  // One poll() over the listener and the clients: accepts, reads what arrived, sends what
  // is pending.
  void pump(int timeoutMs) {
    std::vector<pollfd> q{{fd_, POLLIN, 0}};
    for (const Client& c : clients_) {
      short ev = short((c.eof ? 0 : POLLIN) | (c.outAt < c.out.size() ? POLLOUT : 0));
      q.push_back({c.fd, ev, 0});
    }
    if (::poll(q.data(), q.size(), timeoutMs) <= 0) return;
    for (size_t i = 0; i < clients_.size(); ++i) {
      Client& c = clients_[i];
      short ev = q[i + 1].revents;
      if ((ev & (POLLIN | POLLHUP | POLLERR)) && !c.eof) receive(c);
      if ((ev & POLLOUT) && !c.gone && !flush(c)) c.gone = true;
    }
    if (q[0].revents & POLLIN) {
      for (int fd; (fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
        Client c;
        c.id = ++lastId_;
        c.fd = fd;
        clients_.push_back(std::move(c));
      }
    }
  }
  void receive(Client& c) {
    uint8_t buf[65536];
    for (size_t got = 0; got < (4u << 20);) {  // a bounded share per poll
      ssize_t k = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (k > 0) {
        c.in.insert(c.in.end(), buf, buf + k);
        c.scanned = false;
        got += size_t(k);
        continue;
      }
      if (k == 0) c.eof = true;
      else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) c.gone = true;
      return;
    }
  }
  bool flush(Client& c) {
    while (c.outAt < c.out.size()) {
      ssize_t k = ::send(c.fd, c.out.data() + c.outAt, c.out.size() - c.outAt, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (k < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      c.outAt += size_t(k);
    }
    c.out.clear();
    c.outAt = 0;
    return true;
  }
  // Closes the clients that left or misbehaved, and those that sent their last byte and have
  // nothing left to be answered.
  void sweep() {
    for (Client& c : clients_) {
      bool done = c.eof && c.outAt >= c.out.size() && requestSize(c) <= 0 && !(busy_ && c.id == current_);
      if (c.gone || done) {
        ::close(c.fd);
        c.gone = true;
      }
    }
    clients_.erase(std::remove_if(clients_.begin(), clients_.end(), [](const Client& c) { return c.gone; }),
                   clients_.end());
  }

  // The size of the complete request at the front of the client's bytes: 0 while it is
  // incomplete, -1 when the bytes are not a request.
  static int64_t requestSize(Client& c) {
    if (c.scanned) return c.size;
    c.scanned = true;
    c.size = 0;
    const std::vector<uint8_t>& b = c.in;
    if (b.size() < 8) return 0;
    uint32_t count = get32(&b[4]);
    if (get32(&b[0]) != proto::kMagic || count > proto::kMaxOps) return c.size = -1;
    size_t at = 8;
    for (uint32_t i = 0; i < count; ++i) {
      if (b.size() < at + 9) return 0;
      uint8_t op = b[at];
      uint32_t value = get32(&b[at + 5]);
      switch (op) {
        case proto::kOpRead: case proto::kOpWrite: case proto::kOpSimPlay: case proto::kOpSimStop:
        case proto::kOpSimStatus: case proto::kOpMemHigh: case proto::kOpMemAlloc: break;
        case proto::kOpMemWrite: case proto::kOpMemRead:
          if (value > proto::kMaxMemBytes) return c.size = -1;
          break;
        default: return c.size = -1;
      }
      at += 9 + (op == proto::kOpMemWrite ? value : 0);
    }
    if (b.size() < at) return 0;
    return c.size = int64_t(at);
  }

  // Takes the client's complete request of `size` bytes: queues its register operations on
  // the shell, performs the memory and sim-control ones.
  void start(Shell& shell, Client& c, size_t size, bool& stop) {
    order_.clear();
    simValues_.clear();
    memOut_.clear();
    shell.readResults.clear();
    const uint8_t* p = c.in.data() + 8;
    uint32_t count = get32(&c.in[4]), memHigh = 0;
    for (uint32_t i = 0; i < count; ++i, p += 9) {
      uint32_t addr = get32(p + 1), value = get32(p + 5);
      uint64_t full = (uint64_t(memHigh) << 32) | addr;
      switch (p[0]) {
        case proto::kOpRead: shell.ops.push_back({false, addr, 0}); order_.push_back(0); break;
        case proto::kOpWrite: shell.ops.push_back({true, addr, value}); break;
        case proto::kOpSimPlay: shell.playing = true; break;
        case proto::kOpSimStop: stop = true; break;
        case proto::kOpMemHigh: memHigh = addr; break;
        case proto::kOpMemAlloc: {
          uint64_t align = 1ull << std::min<uint32_t>(addr, 40);
          uint64_t at = (shell.memNext + align - 1) / align * align;
          shell.memNext = at + value;
          order_.push_back(1);
          simValues_.push_back(uint32_t(at));
          order_.push_back(1);
          simValues_.push_back(uint32_t(at >> 32));
          break;
        }
        case proto::kOpMemWrite:
          shell.memory.write(full, p + 9, value);
          p += value;
          break;
        case proto::kOpMemRead: {
          size_t at = memOut_.size();
          memOut_.resize(at + value);
          shell.memory.read(full, memOut_.data() + at, value);
          break;
        }
        case proto::kOpSimStatus: {
          uint32_t v = 0;
          switch (addr) {
            case proto::kFieldCycleLo: v = uint32_t(shell.cycle); break;
            case proto::kFieldCycleHi: v = uint32_t(shell.cycle >> 32); break;
            case proto::kFieldInputDone: v = shell.inputDone(); break;
            case proto::kFieldFramesIn: v = uint32_t(shell.framesIn()); break;
            case proto::kFieldFramesOut: v = uint32_t(shell.framesOut()); break;
            case proto::kFieldIdleCycles: v = uint32_t(std::min<uint64_t>(shell.cycle - shell.lastMove, 0xffffffffu)); break;
            default: break;
          }
          order_.push_back(1);
          simValues_.push_back(v);
          break;
        }
        default: break;  // requestSize let no other op through
      }
    }
    c.in.erase(c.in.begin(), c.in.begin() + long(size));
    c.scanned = false;
    current_ = c.id;
    busy_ = true;
  }

  std::string path_;  // set once listening: the file to remove at the end
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  int fd_ = -1;
  std::vector<Client> clients_;
  uint64_t lastId_ = 0, current_ = 0;  // client ids (fd numbers are reused)
  size_t next_ = 0;                    // round robin: the client to look at first
  bool busy_ = false;
  uint64_t busyPolls_ = 0;
  std::vector<int> order_;  // per read-like op: 0 kernel read, 1 sim status
  std::vector<uint32_t> simValues_;
  std::vector<uint8_t> memOut_;  // bytes of the request's memory reads
};

int ctlMain(int argc, char** argv);

}  // namespace

// Our own entry point: `ctl` never starts SystemC, and the library's banner stays quiet.
int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "ctl") return ctlMain(argc - 1, argv + 1);
  ::setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}

namespace {

// Binds what every kernel has: clock, reset, timestamp, AXI4-Lite, AXI4 master, and the
// access-side input (rx[0]) and first output (tx[0]).
template <class Dut>
void bindCommon(Dut& dut, Shell& shell, sc_clock& clk) {
  dut.clk_i(clk);
  dut.rst_ni(shell.rst_n);
  dut.timestamp_i(shell.timestamp);
  dut.s_axil_awaddr(shell.awaddr);
  dut.s_axil_awvalid(shell.awvalid);
  dut.s_axil_awready(shell.awready);
  dut.s_axil_wdata(shell.wdata);
  dut.s_axil_wstrb(shell.wstrb);
  dut.s_axil_wvalid(shell.wvalid);
  dut.s_axil_wready(shell.wready);
  dut.s_axil_bresp(shell.bresp);
  dut.s_axil_bvalid(shell.bvalid);
  dut.s_axil_bready(shell.bready);
  dut.s_axil_araddr(shell.araddr);
  dut.s_axil_arvalid(shell.arvalid);
  dut.s_axil_arready(shell.arready);
  dut.s_axil_rdata(shell.rdata);
  dut.s_axil_rresp(shell.rresp);
  dut.s_axil_rvalid(shell.rvalid);
  dut.s_axil_rready(shell.rready);
  dut.s_axis_rx_tdata(shell.rx[0].data);
  dut.s_axis_rx_tkeep(shell.rx[0].keep);
  dut.s_axis_rx_tlast(shell.rx[0].last);
  dut.s_axis_rx_tuser(shell.rx[0].user);
  dut.s_axis_rx_tvalid(shell.rx[0].valid);
  dut.s_axis_rx_tready(shell.rx[0].ready);
  dut.m_axis_tx_tdata(shell.tx[0].data);
  dut.m_axis_tx_tkeep(shell.tx[0].keep);
  dut.m_axis_tx_tlast(shell.tx[0].last);
  dut.m_axis_tx_tuser(shell.tx[0].user);
  dut.m_axis_tx_tvalid(shell.tx[0].valid);
  dut.m_axis_tx_tready(shell.tx[0].ready);
  dut.m_axi_awaddr(shell.m_awaddr);
  dut.m_axi_awlen(shell.awlen);
  dut.m_axi_awsize(shell.awsize);
  dut.m_axi_awburst(shell.awburst);
  dut.m_axi_awvalid(shell.awvalid_m);
  dut.m_axi_awready(shell.awready_m);
  dut.m_axi_wdata(shell.wdata_m);
  dut.m_axi_wstrb(shell.m_wstrb);
  dut.m_axi_wlast(shell.wlast_m);
  dut.m_axi_wvalid(shell.wvalid_m);
  dut.m_axi_wready(shell.wready_m);
  dut.m_axi_bresp(shell.mbresp);
  dut.m_axi_bvalid(shell.bvalid_m);
  dut.m_axi_bready(shell.bready_m);
  dut.m_axi_araddr(shell.m_araddr);
  dut.m_axi_arlen(shell.arlen);
  dut.m_axi_arsize(shell.arsize);
  dut.m_axi_arburst(shell.arburst);
  dut.m_axi_arvalid(shell.arvalid_m);
  dut.m_axi_arready(shell.arready_m);
  dut.m_axi_rdata(shell.rdata_m);
  dut.m_axi_rresp(shell.mrresp);
  dut.m_axi_rlast(shell.rlast_m);
  dut.m_axi_rvalid(shell.rvalid_m);
  dut.m_axi_rready(shell.rready_m);
}

// The kernel and its port names: inputs[i] drives rx[i], outputs[i] is tx[i].
struct KernelPorts {
  std::vector<std::string> inputs, outputs;
};
const KernelPorts* kernelPorts(const std::string& k) {
  static const KernelPorts steer{{"access"}, {"steer", "access"}};
  static const KernelPorts gate{{"access", "service"}, {"access", "service"}};
  if (k == "steer") return &steer;
  if (k == "gate") return &gate;
  return nullptr;
}

}  // namespace

int sc_main(int argc, char** argv) {
  Options o;
  std::string kernel;
  po::options_description d(
      "usage: roamsim [options]\n       roamsim ctl SOCKET play|wait|stop|status\n\n"
      "ports: steer has input access and outputs steer (steered G-PDUs and STEER_OUT injects)\n"
      "and access (ACCESS_OUT injects only: the host's answers to ARP and GTP-U echo); gate has\n"
      "inputs and outputs access and service (uplink: access in, service out; downlink: service\n"
      "in, access out). A port is NAME=FILE.pcap, NAME=iface:IFNAME (an existing veth or TAP) or\n"
      "NAME=tap:IFNAME (a new TAP).\n\noptions");
  d.add_options()("help,h", "this text")(
      "kernel", po::value<std::string>(&kernel)->default_value("steer"), "kernel to simulate: steer or gate")(
      "socket", po::value<std::string>(&o.socket),
      "serve the register bus and device memory on this Unix socket, to any number of clients (refused "
      "if a live process serves it; a stale socket file is replaced; removed at exit)")(
      "in", po::value<std::vector<std::string>>(&o.in), "an input port, NAME=SPEC (repeatable)")(
      "out", po::value<std::vector<std::string>>(&o.out), "an output port, NAME=SPEC (repeatable)")(
      "pace", po::value<std::string>(&o.pace)->default_value("wire"), "wire (100 GbE wire rate) or saturate")(
      "clock-mhz", po::value<double>(&o.clockMhz)->default_value(322.265625), "kernel clock")(
      "hold", po::bool_switch(&o.hold), "wait for `roamsim ctl SOCKET play` before sending input")(
      "exit-when-done", po::bool_switch(&o.exitWhenDone), "exit once the input is sent and the kernel idle")(
      "trace", po::value<std::string>(&o.trace), "write an FST waveform here")(
      "max-cycles", po::value<uint64_t>(&o.maxCycles)->default_value(0), "stop after this many cycles (0: none)")(
      "idle-cycles", po::value<uint64_t>(&o.idleCycles)->default_value(64),
      "cycles simulated per wait of up to 1 ms when there is no input to send and no register request "
      "(1..4096; fewer spend less CPU on an idle kernel, and its timers run slower against the wall clock)")(
      "json", po::bool_switch(&o.json), "print the final report as JSON");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, d), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "roamsim: %s\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << d << "\n";
    return 0;
  }
  const KernelPorts* kp = kernelPorts(kernel);
  if (!kp) {
    std::fprintf(stderr, "roamsim: unknown kernel '%s' (this build has: steer, gate)\n", kernel.c_str());
    return 2;
  }
  // NAME=SPEC onto the kernel's port numbers.
  auto assign = [&](const std::vector<std::string>& specs, const std::vector<std::string>& names,
                    const char* what, std::string (&out)[2]) -> bool {
    for (const std::string& s : specs) {
      size_t eq = s.find('=');
      std::string name = s.substr(0, eq);
      size_t i = 0;
      while (i < names.size() && names[i] != name) ++i;
      if (eq == std::string::npos || i == names.size()) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        std::fprintf(stderr, "roamsim: %s '%s': the %s kernel's %s ports are %s (NAME=SPEC)\n", what,
                     s.c_str(), kernel.c_str(), what, list.c_str());
        return false;
      }
      if (!out[i].empty()) {
        std::fprintf(stderr, "roamsim: %s port %s given twice\n", what, name.c_str());
        return false;
      }
      out[i] = s.substr(eq + 1);
    }
    return true;
  };
  std::string inSpec[2], outSpec[2];
  if (!assign(o.in, kp->inputs, "input", inSpec) || !assign(o.out, kp->outputs, "output", outSpec)) return 2;
  if (o.pace != "wire" && o.pace != "saturate") {
    std::fprintf(stderr, "roamsim: --pace is wire or saturate\n");
    return 2;
  }
  if (o.idleCycles < 1 || o.idleCycles > 4096) {
    std::fprintf(stderr, "roamsim: --idle-cycles %llu: must be 1..4096\n", (unsigned long long)o.idleCycles);
    return 2;
  }
  if (o.socket.empty() && o.hold) {
    std::fprintf(stderr, "roamsim: --hold needs --socket (play comes through it)\n");
    return 2;
  }

  // A SystemC-Verilated model lives in the default context (its constructor takes none).
  Verilated::defaultContextp()->randReset(0);
  if (!o.trace.empty()) Verilated::defaultContextp()->traceEverOn(true);
  double periodNs = 1000.0 / o.clockMhz;
  sc_clock clk("clk", sc_time(periodNs, SC_NS));
  Shell shell("shell");
  shell.nsPerCycle = periodNs;
  std::string err;
  auto live = [](const std::string& f) { return f.rfind("iface:", 0) == 0 || f.rfind("tap:", 0) == 0; };
  roamgate::sim::IfacePort inIface[2], outIface[2];
  bool anyLiveIn = false;
  for (int i = 0; i < 2; ++i) {
    shell.rx[i].pacer = std::make_unique<WirePacer>(o.pace == "wire" ? 100'000'000'000ull : 0,
                                                    uint64_t(o.clockMhz * 1e6 + 0.5));
    if (live(inSpec[i])) {
      anyLiveIn = true;
      if (!inIface[i].open(inSpec[i], err)) {
        std::fprintf(stderr, "roamsim: %s\n", err.c_str());
        return 1;
      }
    } else if (!inSpec[i].empty() && !roamgate::sim::readPcap(inSpec[i], shell.rx[i].input, err)) {
      std::fprintf(stderr, "roamsim: %s\n", err.c_str());
      return 1;
    }
    if (live(outSpec[i])) {
      if (!outIface[i].open(outSpec[i], err)) {
        std::fprintf(stderr, "roamsim: %s\n", err.c_str());
        return 1;
      }
      shell.tx[i].iface = &outIface[i];
    } else if (!outSpec[i].empty() && !shell.tx[i].pcap.open(outSpec[i], err)) {
      std::fprintf(stderr, "roamsim: %s: %s\n", outSpec[i].c_str(), err.c_str());
      return 1;
    }
  }
  if (anyLiveIn && o.exitWhenDone) {
    std::fprintf(stderr, "roamsim: --exit-when-done needs capture inputs, not a live interface\n");
    return 2;
  }
  shell.playing = !o.hold;

  shell.clk(clk);
  std::unique_ptr<Vsteer_sc> steer;
  std::unique_ptr<Vgate_sc> gate;
  if (kernel == "steer") {
    steer = std::make_unique<Vsteer_sc>("steer");
    bindCommon(*steer, shell, clk);
    steer->m_axis_acc_tx_tdata(shell.tx[1].data);
    steer->m_axis_acc_tx_tkeep(shell.tx[1].keep);
    steer->m_axis_acc_tx_tlast(shell.tx[1].last);
    steer->m_axis_acc_tx_tuser(shell.tx[1].user);
    steer->m_axis_acc_tx_tvalid(shell.tx[1].valid);
    steer->m_axis_acc_tx_tready(shell.tx[1].ready);
  } else {
    gate = std::make_unique<Vgate_sc>("gate");
    bindCommon(*gate, shell, clk);
    gate->s_axis_svc_rx_tdata(shell.rx[1].data);
    gate->s_axis_svc_rx_tkeep(shell.rx[1].keep);
    gate->s_axis_svc_rx_tlast(shell.rx[1].last);
    gate->s_axis_svc_rx_tuser(shell.rx[1].user);
    gate->s_axis_svc_rx_tvalid(shell.rx[1].valid);
    gate->s_axis_svc_rx_tready(shell.rx[1].ready);
    gate->m_axis_svc_tx_tdata(shell.tx[1].data);
    gate->m_axis_svc_tx_tkeep(shell.tx[1].keep);
    gate->m_axis_svc_tx_tlast(shell.tx[1].last);
    gate->m_axis_svc_tx_tuser(shell.tx[1].user);
    gate->m_axis_svc_tx_tvalid(shell.tx[1].valid);
    gate->m_axis_svc_tx_tready(shell.tx[1].ready);
  }

  struct sigaction sa {};  // before the socket exists, so that no signal can leave it behind
  sa.sa_handler = onStopSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  RegServer server;
  if (!o.socket.empty() && !server.listen(o.socket, err)) {
    std::fprintf(stderr, "roamsim: %s\n", err.c_str());
    return 1;
  }
  sc_start(SC_ZERO_TIME);
  std::unique_ptr<VerilatedFstSc> trace;
  if (!o.trace.empty()) {
    std::filesystem::path tp(o.trace);
    if (tp.has_parent_path()) std::filesystem::create_directories(tp.parent_path());
    trace = std::make_unique<VerilatedFstSc>();
    if (steer) steer->trace(trace.get(), 99);
    if (gate) gate->trace(trace.get(), 99);
    trace->open(o.trace.c_str());
  }
  std::fprintf(stderr, "roamsim: %s kernel at %.3f MHz, %zu+%zu input frames, %s pacing%s\n", kernel.c_str(),
               o.clockMhz, shell.rx[0].input.size(), shell.rx[1].input.size(), o.pace.c_str(),
               o.socket.empty() ? "" : (", registers on " + o.socket).c_str());

  auto wall0 = std::chrono::steady_clock::now();
  bool stop = false;
  sc_time period(periodNs, SC_NS);
  while (!stop && !gStopSignal) {
    if (anyLiveIn) {
      for (int i = 0; i < 2; ++i) {
        if (inIface[i].fd() >= 0) inIface[i].receive(shell.rx[i].input);
      }
      if (shell.inputDone() && shell.busIdle() && shell.cycle - shell.lastMove > 2000) {
        pollfd q[2];
        int n = 0;
        for (int i = 0; i < 2; ++i) {
          if (inIface[i].fd() >= 0) q[n++] = {inIface[i].fd(), POLLIN, 0};
        }
        ::poll(q, nfds_t(n), o.socket.empty() ? 1 : 0);  // idle: wait a little for traffic
      }
    }
    bool active = shell.playing && !shell.inputDone();
    bool serving = !o.socket.empty() && server.poll(shell, active || !shell.busIdle() ? 0 : 1, stop);
    // Run in small steps while serving registers (each op takes a few cycles), larger when only traffic flows.
    uint64_t steps = serving ? 1 : (active ? 256 : o.idleCycles);
    for (uint64_t i = 0; i < steps; ++i) sc_start(period);
    server.finishIfDone(shell);
    if (o.exitWhenDone && shell.playing && shell.inputDone() && shell.busIdle() &&
        shell.cycle - shell.lastMove > 2000) {
      break;
    }
    if (o.maxCycles && shell.cycle >= o.maxCycles) break;
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (gStopSignal) std::fprintf(stderr, "roamsim: %s, ending the simulation\n", gStopSignal == SIGINT ? "SIGINT" : "SIGTERM");
  if (trace) trace->close();
  if (steer) steer->final();
  if (gate) gate->final();
  nlohmann::json rep = {{"kernel", kernel}, {"cycles", shell.cycle}, {"frames_in", shell.framesIn()},
                        {"frames_out", shell.framesOut()}, {"memory_beats", shell.memBeats},
                        {"wall_seconds", wall},
                        {"cycles_per_second", wall > 0 ? double(shell.cycle) / wall : 0.0}};
  for (size_t i = 0; i < kp->inputs.size(); ++i) rep["in"][kp->inputs[i]] = shell.rx[i].framesIn;
  for (size_t i = 0; i < kp->outputs.size(); ++i) rep["out"][kp->outputs[i]] = shell.tx[i].framesOut;
  if (o.json) std::printf("%s\n", rep.dump().c_str());
  else std::fprintf(stderr, "roamsim: %llu cycles, %llu frames in, %llu out, %llu memory beats, %.0f cycles/s\n",
                    (unsigned long long)shell.cycle, (unsigned long long)shell.framesIn(),
                    (unsigned long long)shell.framesOut(), (unsigned long long)shell.memBeats,
                    rep["cycles_per_second"].get<double>());
  return 0;
}

namespace {

// `roamsim ctl SOCKET CMD`: play, wait (until the input is sent and the kernel idle), stop,
// status (JSON).
int ctlMain(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: roamsim ctl SOCKET play|wait|stop|status\n");
    return 2;
  }
  std::string path = argv[1], cmd = argv[2];
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::fprintf(stderr, "roamsim ctl: cannot connect to %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  auto request = [&](std::vector<std::pair<uint8_t, uint32_t>> ops, std::vector<uint32_t>& out) -> bool {
    std::vector<uint8_t> b;
    auto put = [&](uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i))); };
    put(proto::kMagic);
    put(uint32_t(ops.size()));
    for (auto [op, addr] : ops) {
      b.push_back(op);
      put(addr);
      put(0);
    }
    if (::send(fd, b.data(), b.size(), MSG_NOSIGNAL) != ssize_t(b.size())) return false;
    uint32_t hdr[3];
    if (::recv(fd, hdr, sizeof hdr, MSG_WAITALL) != ssize_t(sizeof hdr)) return false;
    out.resize(hdr[2]);
    return hdr[2] == 0 || ::recv(fd, out.data(), 4 * hdr[2], MSG_WAITALL) == ssize_t(4 * hdr[2]);
  };
  std::vector<uint32_t> v;
  auto status = [&]() {
    return request({{proto::kOpSimStatus, proto::kFieldCycleLo}, {proto::kOpSimStatus, proto::kFieldCycleHi},
                    {proto::kOpSimStatus, proto::kFieldInputDone}, {proto::kOpSimStatus, proto::kFieldFramesIn},
                    {proto::kOpSimStatus, proto::kFieldFramesOut}, {proto::kOpSimStatus, proto::kFieldIdleCycles}},
                   v);
  };
  if (cmd == "play") return request({{proto::kOpSimPlay, 0}}, v) ? 0 : 1;
  if (cmd == "stop") {
    request({{proto::kOpSimStop, 0}}, v);
    return 0;
  }
  if (cmd == "status") {
    if (!status()) return 1;
    std::printf("{\"cycles\": %llu, \"input_done\": %u, \"frames_in\": %u, \"frames_out\": %u, \"idle_cycles\": %u}\n",
                (unsigned long long)((uint64_t(v[1]) << 32) | v[0]), v[2], v[3], v[4], v[5]);
    return 0;
  }
  if (cmd == "wait") {
    // Simulated-time condition, polled: input all sent and no beat moved for 2000 cycles.
    for (int i = 0; i < 600000; ++i) {
      if (!status()) return 1;
      if (v[2] && v[5] >= 2000) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::fprintf(stderr, "roamsim ctl: gave up waiting\n");
    return 1;
  }
  std::fprintf(stderr, "roamsim ctl: unknown command '%s'\n", cmd.c_str());
  return 2;
}

}  // namespace
