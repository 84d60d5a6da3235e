// A MAC port attached to a Linux network interface: `iface:NAME` opens an AF_PACKET socket
// on an existing interface (a veth end, a TAP, a bridge port); `tap:NAME` creates a TAP
// device. Frames move whole; reads never block the simulation.
#pragma once

#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace roamgate::sim {

class IfacePort {
 public:
  ~IfacePort() {
    if (fd_ >= 0) ::close(fd_);
  }
  // spec: iface:NAME or tap:NAME.
  bool open(const std::string& spec, std::string& error) {
    bool tap = spec.rfind("tap:", 0) == 0;
    name_ = spec.substr(spec.find(':') + 1);
    if (name_.empty() || name_.size() >= IFNAMSIZ) {
      error = "bad interface name in '" + spec + "'";
      return false;
    }
    if (tap) {
      fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK);
      if (fd_ < 0) return fail(error, "/dev/net/tun");
      ifreq ifr{};
      ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
      std::strncpy(ifr.ifr_name, name_.c_str(), IFNAMSIZ - 1);
      if (::ioctl(fd_, TUNSETIFF, &ifr) != 0) return fail(error, "TUNSETIFF " + name_);
      tap_ = true;
      return true;
    }
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
    if (fd_ < 0) return fail(error, "AF_PACKET socket (needs root)");
    ifindex_ = int(if_nametoindex(name_.c_str()));
    if (ifindex_ == 0) return fail(error, "no interface " + name_);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex_;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) return fail(error, "bind " + name_);
    return true;
  }
  int fd() const { return fd_; }
  // Reads every frame waiting now (frames the interface itself sent are skipped).
  void receive(std::vector<std::vector<uint8_t>>& out) {
    uint8_t buf[16384];
    while (true) {
      sockaddr_ll from{};
      socklen_t fl = sizeof from;
      ssize_t n = tap_ ? ::read(fd_, buf, sizeof buf)
                       : ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n <= 0) return;
      if (!tap_ && from.sll_pkttype == PACKET_OUTGOING) continue;
      out.emplace_back(buf, buf + n);
    }
  }
  void send(const std::vector<uint8_t>& f) {
    if (tap_) {
      (void)!::write(fd_, f.data(), f.size());
      return;
    }
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex_;
    to.sll_halen = 6;
    std::memcpy(to.sll_addr, f.data(), 6);
    (void)!::sendto(fd_, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }

 private:
  bool fail(std::string& error, const std::string& what) {
    error = what + ": " + std::strerror(errno);
    return false;
  }
  std::string name_;
  int fd_ = -1;
  int ifindex_ = 0;
  bool tap_ = false;
};

}  // namespace roamgate::sim
