// Addresses as the tables hold them (host order), their text, and the checks every table
// manager applies before an address reaches the hardware.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "roamgate/status.h"

namespace roamgate {

std::string ipv4Str(uint32_t ip);   // dotted quad
std::string macStr(uint64_t mac);   // aa:bb:cc:dd:ee:ff
std::string teidStr(uint32_t teid); // 0x0000abcd, as tshark prints a TEID

// The text forms back: nullopt when the text is not one.
std::optional<uint32_t> ipv4FromStr(const std::string& s);   // dotted quad
std::optional<uint64_t> macFromStr(const std::string& s);    // aa:bb:cc:dd:ee:ff
std::optional<uint32_t> teidFromStr(const std::string& s);   // 0x hex or decimal, 1..2^32-1

// A unicast host address: not 0.0.0.0/8, loopback, multicast, reserved (240/4) or broadcast.
constexpr bool isUnicastIpv4(uint32_t ip) {
  uint32_t top = ip >> 24;
  return top != 0 && top != 127 && top < 224;
}
// The same as a status whose message says why not; `what` names the value ("gateway address").
Status checkUnicastIpv4(std::string_view what, uint32_t ip);
// A unicast station address: not all-zero, not broadcast, not multicast (I/G bit).
Status checkUnicastMac(std::string_view what, uint64_t mac);

}  // namespace roamgate
