#include "roamgate/hash.h"

#include <array>

namespace roamgate {

namespace {

struct Table {
  std::array<uint32_t, 256> t{};
  explicit constexpr Table(uint32_t poly) {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
      t[i] = c;
    }
  }
};

constexpr Table kTableC(kCrc32cPoly);
constexpr Table kTableI(kCrc32Poly);

const Table* tableFor(uint32_t poly) {
  if (poly == kCrc32cPoly) return &kTableC;
  if (poly == kCrc32Poly) return &kTableI;
  return nullptr;
}

}  // namespace

uint32_t crc32Reflected(uint32_t poly, std::span<const uint8_t> bytes) {
  uint32_t crc = 0xffffffffu;
  if (const Table* table = tableFor(poly)) {
    for (uint8_t b : bytes) crc = table->t[(crc ^ b) & 0xff] ^ (crc >> 8);
  } else {
    for (uint8_t b : bytes) {
      crc ^= b;
      for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ poly : crc >> 1;
    }
  }
  return ~crc;
}

static std::array<uint8_t, 4> teidBytes(uint32_t teid) {
  return {uint8_t(teid >> 24), uint8_t(teid >> 16), uint8_t(teid >> 8), uint8_t(teid)};
}

uint32_t teidHash0(uint32_t teid) { return crc32c(teidBytes(teid)); }
uint32_t teidHash1(uint32_t teid) { return crc32(teidBytes(teid)); }

uint32_t maglevIndex(uint32_t hash) {
  int32_t d = int32_t(hash & 0xffff) - int32_t(hash >> 16);
  return uint32_t(d < 0 ? d + 65537 : d);
}

}  // namespace roamgate
