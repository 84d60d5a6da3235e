#include "roamgate/dataplane/maglev.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace roamgate::dataplane {
namespace {

std::vector<MaglevBackend> gateways(int n) {
  std::vector<MaglevBackend> v;
  for (int i = 0; i < n; ++i) v.push_back({0xc6120200u + uint32_t(i) * 3, uint8_t(i)});
  return v;
}

TEST(Maglev, SameTableWhateverTheOrder) {
  auto a = gateways(37);
  auto b = a;
  std::shuffle(b.begin(), b.end(), std::mt19937(3));
  EXPECT_EQ(buildMaglev(a), buildMaglev(b));
}

TEST(Maglev, EveryEntryFilledAndBalanced) {
  for (int n : {1, 8, 64, 256}) {
    auto t = buildMaglev(gateways(n));
    ASSERT_EQ(t.size(), kMaglevM);
    std::vector<uint32_t> count(256, 0);
    for (uint8_t v : t) count[v]++;
    uint32_t mx = *std::max_element(count.begin(), count.end());
    double mean = double(kMaglevM) / n;
    // Round-robin filling gives each backend floor or ceil of M/N entries.
    EXPECT_LE(mx, uint32_t(mean) + 1) << n;
  }
}

TEST(Maglev, RemovingOneMovesLittleElse) {
  auto all = gateways(64);
  auto t1 = buildMaglev(all);
  auto fewer = all;
  fewer.erase(fewer.begin() + 17);
  auto t2 = buildMaglev(fewer);
  size_t extra = 0;
  for (size_t i = 0; i < t1.size(); ++i) {
    if (t1[i] != 17 && t1[i] != t2[i]) ++extra;
  }
  EXPECT_LT(double(extra) / kMaglevM, 0.02);
}

TEST(Maglev, EmptyListGivesEmptyTable) { EXPECT_TRUE(buildMaglev({}).empty()); }

}  // namespace
}  // namespace roamgate::dataplane
