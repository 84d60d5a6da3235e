#include "roamgate/addr.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cerrno>
#include <cstdlib>

namespace roamgate {

// Written by hand: sessions carry three addresses and printf was 3 % of a session's create.
std::string ipv4Str(uint32_t ip) {
  char b[16];
  char* p = b;
  for (int shift = 24; shift >= 0; shift -= 8) {
    unsigned v = (ip >> shift) & 255;
    if (v >= 100) *p++ = char('0' + v / 100);
    if (v >= 10) *p++ = char('0' + v / 10 % 10);
    *p++ = char('0' + v % 10);
    if (shift) *p++ = '.';
  }
  return std::string(b, p);
}

std::string macStr(uint64_t m) {
  char b[18];
  std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", unsigned(m >> 40) & 255,
                unsigned(m >> 32) & 255, unsigned(m >> 24) & 255, unsigned(m >> 16) & 255,
                unsigned(m >> 8) & 255, unsigned(m) & 255);
  return b;
}

std::string teidStr(uint32_t teid) {
  char b[12];
  std::snprintf(b, sizeof b, "0x%08x", teid);
  return b;
}

std::optional<uint32_t> ipv4FromStr(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::optional<uint64_t> macFromStr(const std::string& s) {
  unsigned b[6];
  char tail;
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
                  &b[5], &tail) != 6) {
    return std::nullopt;
  }
  uint64_t m = 0;
  for (unsigned x : b) m = (m << 8) | x;
  return m;
}

std::optional<uint32_t> teidFromStr(const std::string& s) {
  if (s.empty() || s[0] == '-' || s[0] == '+' || s[0] == ' ') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  unsigned long long v = std::strtoull(s.c_str() + (hex ? 2 : 0), &end, hex ? 16 : 10);
  if (errno != 0 || *end != '\0' || v == 0 || v > 0xffffffffull) return std::nullopt;
  return static_cast<uint32_t>(v);
}

Status checkUnicastIpv4(std::string_view what, uint32_t ip) {
  if (isUnicastIpv4(ip)) return {};
  const char* why = nullptr;
  uint32_t top = ip >> 24;
  if (ip == 0xffffffffu) why = "the broadcast address";
  else if (top == 0) why = "in 0.0.0.0/8 (this network)";
  else if (top == 127) why = "a loopback address";
  else if (top >= 224 && top < 240) why = "a multicast address";
  else why = "in the reserved 240.0.0.0/4";
  return Status::error(StatusCode::kInvalidArgument,
                       std::string(what) + " " + ipv4Str(ip) + " is " + why + "; a unicast host address is needed");
}

Status checkUnicastMac(std::string_view what, uint64_t mac) {
  const char* why = nullptr;
  if (mac == 0) why = "all zero";
  else if (mac == 0xffffffffffffull) why = "the broadcast address";
  else if ((mac >> 40) & 1) why = "a multicast address (the first octet is odd)";
  if (!why) return {};
  return Status::error(StatusCode::kInvalidArgument,
                       std::string(what) + " " + macStr(mac) + " is " + why + "; a unicast MAC is needed");
}

}  // namespace roamgate
