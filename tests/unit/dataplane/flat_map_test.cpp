// FlatMap against std::unordered_map under random inserts, erases and sweeps, with a hash
// that sends many keys to few home slots (long runs that wrap past the end, so backward-shift
// deletion is exercised in every position), and with the normal mixing hash.
#include "roamgate/flat_map.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>

namespace roamgate {
namespace {

struct Crowded {  // 8 home slots for every key, near the end of a small table
  size_t operator()(uint64_t v) const noexcept { return 12 + (v % 8); }
};

template <class Hash>
void agreesWithStdMap(uint64_t seed, uint64_t keys) {
  FlatMap<uint64_t, std::string, Hash> m(16);
  std::unordered_map<uint64_t, std::string> ref;
  std::mt19937_64 rng(seed);
  for (int op = 0; op < 20000; ++op) {
    uint64_t k = rng() % keys;
    switch (rng() % 5) {
      case 0:
      case 1: {
        std::string v = std::to_string(rng());
        bool made = m.insert(k, v);
        EXPECT_EQ(made, ref.emplace(k, v).second) << k;
        break;
      }
      case 2: m[k] += "x"; ref[k] += "x"; break;
      case 3: EXPECT_EQ(m.erase(k), ref.erase(k) == 1) << k; break;
      case 4:
        if (op % 500 == 4) {  // a sweep of about a third
          size_t gone = m.eraseIf([](uint64_t key, const std::string&) { return key % 3 == 0; });
          size_t want = std::erase_if(ref, [](const auto& e) { return e.first % 3 == 0; });
          EXPECT_EQ(gone, want);
        }
        break;
    }
    ASSERT_EQ(m.size(), ref.size()) << "after op " << op;
  }
  for (uint64_t k = 0; k < keys; ++k) {
    const std::string* v = m.find(k);
    auto r = ref.find(k);
    ASSERT_EQ(v != nullptr, r != ref.end()) << k;
    if (v) EXPECT_EQ(*v, r->second) << k;
  }
  size_t seen = 0;
  m.forEach([&](uint64_t k, const std::string& v) {
    ++seen;
    EXPECT_EQ(ref.at(k), v);
  });
  EXPECT_EQ(seen, ref.size());
}

TEST(FlatMap, AgreesWithStdMapWhenKeysCrowdFewHomeSlots) {
  for (uint64_t seed = 1; seed <= 4; ++seed) agreesWithStdMap<Crowded>(seed, 40);
}

TEST(FlatMap, AgreesWithStdMapUnderTheMixingHash) {
  for (uint64_t seed = 1; seed <= 4; ++seed) agreesWithStdMap<IntHash>(seed, 3000);
}

TEST(FlatMap, GrowsAtHalfFullAndKeepsEveryKey) {
  FlatMap<uint64_t, uint64_t> m(4);
  for (uint64_t k = 1; k <= 10000; ++k) ASSERT_TRUE(m.insert(k * 7919, k));
  EXPECT_EQ(m.size(), 10000u);
  for (uint64_t k = 1; k <= 10000; ++k) ASSERT_EQ(*m.find(k * 7919), k);
  EXPECT_EQ(m.find(3), nullptr);
  EXPECT_FALSE(m.insert(7919, 99)) << "a present key is left as it was";
  EXPECT_EQ(*m.find(7919), 1u);
  m.clear();
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.find(7919), nullptr);
}

}  // namespace
}  // namespace roamgate
