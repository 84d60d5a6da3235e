// Internet checksum arithmetic (RFC 1071) and incremental update (RFC 1624, eqn. 3), the same
// operations hw/rtl/rg_pkg.sv performs.
#pragma once

#include <cstdint>
#include <span>

namespace roamgate {

inline uint16_t onesAdd(uint16_t a, uint16_t b) {
  uint32_t s = uint32_t(a) + b;
  return uint16_t((s & 0xffff) + (s >> 16));
}

inline uint16_t csumUpdate16(uint16_t hc, uint16_t oldWord, uint16_t newWord) {
  uint16_t s = onesAdd(uint16_t(~hc), uint16_t(~oldWord));
  return uint16_t(~onesAdd(s, newWord));
}

inline uint16_t csumUpdate32(uint16_t hc, uint32_t oldField, uint32_t newField) {
  uint16_t s = onesAdd(uint16_t(~hc), uint16_t(~(oldField >> 16)));
  s = onesAdd(s, uint16_t(~oldField));
  s = onesAdd(s, uint16_t(newField >> 16));
  s = onesAdd(s, uint16_t(newField));
  return uint16_t(~s);
}

// Full checksum of a byte range (odd length padded with zero).
inline uint16_t internetChecksum(std::span<const uint8_t> bytes, uint32_t initial = 0) {
  uint32_t sum = initial;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += (uint32_t(bytes[i]) << 8) | bytes[i + 1];
  if (bytes.size() & 1) sum += uint32_t(bytes.back()) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

}  // namespace roamgate
