// Hash functions shared by the RTL (hw/rtl/crc32_hash.sv) and the host: the same bits on both
// sides, cross-checked by known vectors (tests/unit/dataplane/hash_test.cpp).
#pragma once

#include <cstdint>
#include <span>

namespace roamgate {

inline constexpr uint32_t kCrc32cPoly = 0x82f63b78;  // Castagnoli, reflected
inline constexpr uint32_t kCrc32Poly = 0xedb88320;   // IEEE 802.3, reflected

// Reflected CRC-32 with initial value 0xffffffff and final complement.
uint32_t crc32Reflected(uint32_t poly, std::span<const uint8_t> bytes);

inline uint32_t crc32c(std::span<const uint8_t> bytes) { return crc32Reflected(kCrc32cPoly, bytes); }
inline uint32_t crc32(std::span<const uint8_t> bytes) { return crc32Reflected(kCrc32Poly, bytes); }

// Hashes of a TEID taken in network byte order, as the steer kernel computes them.
uint32_t teidHash0(uint32_t teid);  // CRC-32C: session bank 0 and the Maglev index
uint32_t teidHash1(uint32_t teid);  // CRC-32: session bank 1

// Hashes that need no hardware twin, only good mixing and the same bits on every host.
// SplitMix64's finaliser.
constexpr uint64_t mixBits(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// SplitMix64's output for state z (the generator's step, then its finaliser).
constexpr uint64_t splitMix64(uint64_t z) { return mixBits(z + 0x9e3779b97f4a7c15ull); }

// h mod 65537 the way the kernel computes it: (low half - high half) mod 65537.
uint32_t maglevIndex(uint32_t hash);

}  // namespace roamgate
