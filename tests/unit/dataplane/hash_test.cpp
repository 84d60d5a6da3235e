#include "roamgate/hash.h"

#include <gtest/gtest.h>

#include <string_view>

#include "roamgate/checksum.h"

namespace roamgate {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Check values from the CRC catalogue (CRC-32/ISCSI and CRC-32/ISO-HDLC of "123456789").
TEST(Hash, KnownVectors) {
  EXPECT_EQ(crc32c(bytes("123456789")), 0xe3069283u);
  EXPECT_EQ(crc32(bytes("123456789")), 0xcbf43926u);
  EXPECT_EQ(crc32Reflected(0x82f63b78, bytes("123456789")), 0xe3069283u);  // table path
  EXPECT_EQ(crc32(bytes("")), 0u);
}

// The fast paths (the CPU's CRC32 instruction for CRC-32C, eight bytes a step through tables
// for both) against the CRC computed bit by bit, for every length 0..64 and every alignment.
TEST(Hash, FastPathsEqualTheBitwiseCrc) {
  auto bitwise = [](uint32_t poly, const uint8_t* p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; ++i) {
      c ^= p[i];
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    }
    return ~c;
  };
  uint8_t buf[80];
  uint32_t x = 12345;
  for (uint8_t& b : buf) b = uint8_t((x = x * 1103515245u + 12345u) >> 16);
  for (size_t off = 0; off < 8; ++off) {
    for (size_t n = 0; n <= 64; ++n) {
      std::span<const uint8_t> s(buf + off, n);
      ASSERT_EQ(crc32c(s), bitwise(kCrc32cPoly, buf + off, n)) << "CRC-32C, " << n << " bytes at +" << off;
      ASSERT_EQ(crc32(s), bitwise(kCrc32Poly, buf + off, n)) << "CRC-32, " << n << " bytes at +" << off;
      ASSERT_EQ(crc32Reflected(0x04c11db7, s), bitwise(0x04c11db7, buf + off, n)) << "another polynomial";
    }
  }
}

TEST(Hash, TeidHashesAreTheBytesInNetworkOrder) {
  const uint8_t b[4] = {0x12, 0x34, 0x56, 0x78};
  EXPECT_EQ(teidHash0(0x12345678), crc32c(b));
  EXPECT_EQ(teidHash1(0x12345678), crc32(b));
}

TEST(Hash, MaglevIndexIsModulo65537) {
  for (uint64_t h : {0ull, 1ull, 65536ull, 65537ull, 0xffffffffull, 0x12345678ull, 0x0001ffffull}) {
    EXPECT_EQ(maglevIndex(uint32_t(h)), h % 65537) << h;
  }
}

TEST(Checksum, IncrementalMatchesFull) {
  uint8_t hdr[20] = {0x45, 0, 0, 60, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0, 198, 18, 1, 1, 198, 18, 1, 100};
  uint16_t c = internetChecksum(hdr);
  hdr[10] = uint8_t(c >> 8);
  hdr[11] = uint8_t(c);
  EXPECT_EQ(internetChecksum(hdr), 0);
  uint16_t c2 = csumUpdate32(c, 0xc6120164, 0xc6120209);
  c2 = csumUpdate16(c2, 0x4011, 0x3f11);
  hdr[8] = 63;
  hdr[18] = 2;
  hdr[19] = 9;
  hdr[10] = uint8_t(c2 >> 8);
  hdr[11] = uint8_t(c2);
  EXPECT_EQ(internetChecksum(hdr), 0);
}

}  // namespace
}  // namespace roamgate
