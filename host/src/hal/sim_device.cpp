// SimDevice: the hal::Device of the simulator, spoken over roamsim's Unix socket.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "roamgate/hal/device.h"
#include "roamgate/hal/sim_protocol.h"
#include "roamgate/hal/stream_io.h"

namespace roamgate::hal {

namespace {

void put32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
}

// What a silent simulator is told: it names the socket, the wait and the ways out.
std::string silentMessage(const std::string& path, double seconds) {
  char s[32];
  std::snprintf(s, sizeof s, "%g", seconds);
  return "simulator at " + path + " did not answer within " + s +
         " s (is the roamsim serving it stopped or stuck? check it, or wait longer with --timeout "
         "SECONDS or $ROAMGATE_TIMEOUT)";
}

class SimDevice : public Device {
 public:
  SimDevice(int fd, std::string path, double timeoutSeconds)
      : fd_(fd), path_(std::move(path)), timeoutSeconds_(timeoutSeconds),
        timeoutMs_(int(std::ceil(timeoutSeconds * 1000))) {}
  ~SimDevice() override { ::close(fd_); }

  Status transact(std::span<RegOp> ops) override {
    size_t done = 0;
    while (done < ops.size()) {
      size_t n = std::min<size_t>(ops.size() - done, simproto::kMaxOps);
      Status s = chunk(ops.subspan(done, n));
      if (!s) return s;
      done += n;
    }
    return {};
  }
  std::string describe() const override { return "sim:" + path_; }

  Status allocMem(uint64_t bytes, uint64_t align, uint64_t& addr) override {
    uint32_t log2 = 0;
    while ((1ull << log2) < align) ++log2;
    if (bytes == 0 || bytes > 0xffffffffull) return Status::error("device memory: bad allocation size");
    std::vector<uint8_t> req;
    put32(req, simproto::kMagic);
    put32(req, 1);
    op(req, simproto::kOpMemAlloc, log2, uint32_t(bytes));
    uint32_t v[2];
    if (Status s = roundTrip(req, v, 2, {}); !s) return s;
    addr = (uint64_t(v[1]) << 32) | v[0];
    if (addr == 0) return Status::error("device memory exhausted (" + std::to_string(bytes) + " bytes asked)");
    return {};
  }
  Status readMem(uint64_t addr, std::span<uint8_t> out) override {
    for (size_t done = 0; done < out.size();) {
      size_t n = std::min<size_t>(out.size() - done, simproto::kMaxMemBytes);
      uint64_t a = addr + done;
      std::vector<uint8_t> req;
      put32(req, simproto::kMagic);
      put32(req, 2);
      op(req, simproto::kOpMemHigh, uint32_t(a >> 32), 0);
      op(req, simproto::kOpMemRead, uint32_t(a), uint32_t(n));
      if (Status s = roundTrip(req, nullptr, 0, out.subspan(done, n)); !s) return s;
      done += n;
    }
    return {};
  }
  Status writeMem(uint64_t addr, std::span<const uint8_t> in) override {
    for (size_t done = 0; done < in.size();) {
      size_t n = std::min<size_t>(in.size() - done, simproto::kMaxMemBytes);
      uint64_t a = addr + done;
      std::vector<uint8_t> req;
      put32(req, simproto::kMagic);
      put32(req, 2);
      op(req, simproto::kOpMemHigh, uint32_t(a >> 32), 0);
      op(req, simproto::kOpMemWrite, uint32_t(a), uint32_t(n));
      req.insert(req.end(), in.begin() + long(done), in.begin() + long(done + n));
      if (Status s = roundTrip(req, nullptr, 0, {}); !s) return s;
      done += n;
    }
    return {};
  }

  // One simulator status read: proves that a simulator answers on the socket.
  Status hello() {
    std::vector<uint8_t> req;
    put32(req, simproto::kMagic);
    put32(req, 1);
    op(req, simproto::kOpSimStatus, simproto::kFieldCycleLo, 0);
    uint32_t cycle = 0;
    return roundTrip(req, &cycle, 1, {});
  }

 private:
  static void op(std::vector<uint8_t>& b, uint8_t code, uint32_t addr, uint32_t value) {
    b.push_back(code);
    put32(b, addr);
    put32(b, value);
  }
  // Sends a request of `ops` operations; expects `nvals` values and then `bytes.size()` bytes
  // back. A simulator that stays silent for the timeout (or closes) fails with kUnavailable.
  // The reply comes once the whole batch has run on the simulated bus, so the wait for its
  // first bytes grows with the batch: kAllowancePerOpMs for each operation, some ten times
  // what one takes on an idle simulator (a 49155-read Maglev dump gets 12 s more).
  static constexpr double kAllowancePerOpMs = 0.25;
  Status roundTrip(const std::vector<uint8_t>& req, uint32_t* vals, uint32_t nvals, std::span<uint8_t> bytes,
                   size_t ops = 1) {
    if (!lost_.ok()) return lost_;  // a late reply would answer the wrong request
    if (Status s = io(sendAllWithin(fd_, req.data(), req.size(), timeoutMs_)); !s) return s;
    uint32_t hdr[3];
    int firstMs = timeoutMs_ + int(double(ops) * kAllowancePerOpMs);
    if (Status s = io(recvAllWithin(fd_, hdr, sizeof hdr, firstMs), firstMs); !s) return s;
    if (hdr[0] != simproto::kMagic) return Status::error("simulator at " + path_ + " sent a bad reply");
    if (hdr[1] != 0) return Status::error("simulator refused the request (status " + std::to_string(hdr[1]) + ")");
    if (hdr[2] != nvals) return Status::error("simulator at " + path_ + " returned the wrong number of values");
    if (nvals) {
      if (Status s = io(recvAllWithin(fd_, vals, 4 * nvals, timeoutMs_)); !s) return s;
    }
    if (!bytes.empty()) {
      if (Status s = io(recvAllWithin(fd_, bytes.data(), bytes.size(), timeoutMs_)); !s) return s;
    }
    return {};
  }
  Status io(IoResult r, int waitedMs = 0) {
    switch (r) {
      case IoResult::kOk: return {};
      case IoResult::kClosed:
        lost_ = Status::error(StatusCode::kUnavailable, "simulator at " + path_ + " closed the connection");
        return lost_;
      case IoResult::kTimedOut:
        lost_ = Status::error(StatusCode::kUnavailable,
                              silentMessage(path_, waitedMs ? waitedMs / 1000.0 : timeoutSeconds_));
        return lost_;
    }
    return Status::error("simulator socket: unknown I/O result");
  }

  Status chunk(std::span<RegOp> ops) {
    std::vector<uint8_t> req;
    req.reserve(8 + 9 * ops.size());
    put32(req, simproto::kMagic);
    put32(req, uint32_t(ops.size()));
    size_t nreads = 0;
    for (const RegOp& op : ops) {
      req.push_back(op.write ? simproto::kOpWrite : simproto::kOpRead);
      put32(req, op.addr);
      put32(req, op.value);
      nreads += op.write ? 0 : 1;
    }
    std::vector<uint32_t> vals(nreads);
    if (Status s = roundTrip(req, vals.data(), uint32_t(nreads), {}, ops.size()); !s) return s;
    size_t k = 0;
    for (RegOp& op : ops) {
      if (!op.write) op.value = vals[k++];
    }
    return {};
  }

  int fd_;
  std::string path_;
  double timeoutSeconds_;
  int timeoutMs_;
  Status lost_;  // once the connection failed or went silent: every later request fails so
};

}  // namespace

// Connects and exchanges one status request, so that a socket nobody serves, or whose server
// stays silent, fails here (OpenFailure::kUnavailable) rather than in the first command.
std::unique_ptr<Device> openSimDevice(const std::string& path, double timeoutSeconds, std::string& error) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    ::close(fd);
    error = "socket path too long: " + path;
    return nullptr;
  }
  std::strcpy(sa.sun_path, path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    error = "cannot connect to simulator at " + path + ": " + std::strerror(errno) +
            " (is roamsim running with --socket " + path + "?)";
    ::close(fd);
    return nullptr;
  }
  auto dev = std::make_unique<SimDevice>(fd, path, timeoutSeconds);
  if (Status s = dev->hello(); !s) {
    error = s.message();
    return nullptr;
  }
  return dev;
}

}  // namespace roamgate::hal
