#include "roamgate/addr.h"

#include <cstdio>

namespace roamgate {

std::string ipv4Str(uint32_t ip) {
  char b[16];
  std::snprintf(b, sizeof b, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  return b;
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

Status checkUnicastIpv4(const std::string& what, uint32_t ip) {
  const char* why = nullptr;
  uint32_t top = ip >> 24;
  if (ip == 0xffffffffu) why = "the broadcast address";
  else if (top == 0) why = "in 0.0.0.0/8 (this network)";
  else if (top == 127) why = "a loopback address";
  else if (top >= 224 && top < 240) why = "a multicast address";
  else if (top >= 240) why = "in the reserved 240.0.0.0/4";
  if (!why) return {};
  return Status::error(StatusCode::kInvalidArgument,
                       what + " " + ipv4Str(ip) + " is " + why + "; a unicast host address is needed");
}

Status checkUnicastMac(const std::string& what, uint64_t mac) {
  const char* why = nullptr;
  if (mac == 0) why = "all zero";
  else if (mac == 0xffffffffffffull) why = "the broadcast address";
  else if ((mac >> 40) & 1) why = "a multicast address (the first octet is odd)";
  if (!why) return {};
  return Status::error(StatusCode::kInvalidArgument,
                       what + " " + macStr(mac) + " is " + why + "; a unicast MAC is needed");
}

}  // namespace roamgate
