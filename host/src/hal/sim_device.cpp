// SimDevice: the hal::Device of the simulator, spoken over roamsim's Unix socket.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
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

class SimDevice : public Device {
 public:
  SimDevice(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
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

 private:
  static void op(std::vector<uint8_t>& b, uint8_t code, uint32_t addr, uint32_t value) {
    b.push_back(code);
    put32(b, addr);
    put32(b, value);
  }
  // Sends a request; expects `nvals` values and then `bytes.size()` bytes back.
  Status roundTrip(const std::vector<uint8_t>& req, uint32_t* vals, uint32_t nvals, std::span<uint8_t> bytes) {
    if (!sendAll(fd_, req.data(), req.size())) return Status::error("simulator at " + path_ + " closed the connection");
    uint32_t hdr[3];
    if (!recvAll(fd_, hdr, sizeof hdr)) return Status::error("simulator at " + path_ + " closed the connection");
    if (hdr[0] != simproto::kMagic || hdr[2] != nvals) return Status::error("simulator sent a bad reply");
    if (hdr[1] != 0) return Status::error("simulator refused the request (status " + std::to_string(hdr[1]) + ")");
    if (nvals && !recvAll(fd_, vals, 4 * nvals)) return Status::error("simulator closed mid-reply");
    if (!bytes.empty() && !recvAll(fd_, bytes.data(), bytes.size())) return Status::error("simulator closed mid-reply");
    return {};
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
    if (!sendAll(fd_, req.data(), req.size())) return Status::error("simulator at " + path_ + " closed the connection");
    uint32_t hdr[3];
    if (!recvAll(fd_, hdr, sizeof hdr)) return Status::error("simulator at " + path_ + " closed the connection");
    if (hdr[0] != simproto::kMagic) return Status::error("simulator sent a bad reply");
    if (hdr[1] != 0) return Status::error("simulator refused the request (status " + std::to_string(hdr[1]) + ")");
    if (hdr[2] != nreads) return Status::error("simulator returned the wrong number of reads");
    std::vector<uint32_t> vals(nreads);
    if (nreads && !recvAll(fd_, vals.data(), 4 * nreads)) return Status::error("simulator closed mid-reply");
    size_t k = 0;
    for (RegOp& op : ops) {
      if (!op.write) op.value = vals[k++];
    }
    return {};
  }

  int fd_;
  std::string path_;
};

}  // namespace

std::unique_ptr<Device> openSimDevice(const std::string& path, std::string& error) {
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
  return std::make_unique<SimDevice>(fd, path);
}

}  // namespace roamgate::hal
