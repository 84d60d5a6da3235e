#include "roamgate/hash.h"

#include <array>

namespace roamgate {

namespace {

// Slicing by eight: t[k][b] is the CRC of byte b followed by k zero bytes, so eight input
// bytes fold into the CRC with eight lookups and no dependency between them.
struct Table {
  std::array<std::array<uint32_t, 256>, 8> t{};
  explicit constexpr Table(uint32_t poly) {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
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

uint32_t sliced(const Table& tb, uint32_t crc, const uint8_t* p, size_t n) {
  const auto& t = tb.t;
  for (; n >= 8; p += 8, n -= 8) {
    uint32_t lo = crc ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
    crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
          t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
  }
  for (; n > 0; ++p, --n) crc = t[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
// The SSE4.2 CRC32 instruction computes exactly the reflected CRC-32C step.
__attribute__((target("sse4.2"))) uint32_t crc32cInsn(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t c = crc;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    __builtin_memcpy(&w, p, 8);
    c = __builtin_ia32_crc32di(c, w);
  }
  uint32_t c32 = uint32_t(c);
  for (; n > 0; ++p, --n) c32 = __builtin_ia32_crc32qi(c32, *p);
  return c32;
}
const bool kHaveCrc32Insn = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t crc32Reflected(uint32_t poly, std::span<const uint8_t> bytes) {
  uint32_t crc = 0xffffffffu;
#if defined(__x86_64__)
  if (poly == kCrc32cPoly && kHaveCrc32Insn) return ~crc32cInsn(crc, bytes.data(), bytes.size());
#endif
  if (const Table* table = tableFor(poly)) return ~sliced(*table, crc, bytes.data(), bytes.size());
  for (uint8_t b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ poly : crc >> 1;
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
