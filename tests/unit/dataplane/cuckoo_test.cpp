#include "roamgate/dataplane/cuckoo.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "roamgate/hash.h"

namespace roamgate::dataplane {
namespace {

// A device table in memory: the writes a CuckooMirror plans are applied here, and a lookup
// checks both candidate buckets as the RTL does.
struct Table {
  uint32_t log2, slots;
  std::vector<CuckooSlot> mem[2];
  int loads = 0;
  Table(uint32_t l, uint32_t s) : log2(l), slots(s) {
    for (auto& m : mem) m.resize(size_t(slots) << log2);
  }
  static uint32_t hash(uint32_t bank, uint32_t key) { return bank ? teidHash1(key) : teidHash0(key); }
  CuckooMirror mirror() {
    return CuckooMirror(log2, slots, hash, [this](uint32_t bank, uint32_t b, std::vector<CuckooSlot>& out) {
      ++loads;
      out.assign(mem[bank].begin() + b * slots, mem[bank].begin() + (b + 1) * slots);
      return Status{};
    });
  }
  // Applies writes one by one, checking after each that every key in `live` is findable.
  void apply(const std::vector<CuckooWrite>& w, const std::map<uint32_t, uint32_t>& live) {
    for (const CuckooWrite& x : w) {
      mem[x.bank][x.bucket * slots + x.slot] = x.entry;
      for (auto [k, v] : live) ASSERT_TRUE(lookup(k).has_value()) << "key " << k << " lost mid-move";
    }
  }
  std::optional<uint32_t> lookup(uint32_t key) const {
    for (uint32_t bank = 0; bank < 2; ++bank) {
      uint32_t b = hash(bank, key) & ((1u << log2) - 1);
      for (uint32_t s = 0; s < slots; ++s) {
        const CuckooSlot& e = mem[bank][b * slots + s];
        if (e.valid && e.key == key) return e.value;
      }
    }
    return std::nullopt;
  }
};

TEST(Cuckoo, InsertFindUpdateRemove) {
  Table t(4, 4);
  CuckooMirror m = t.mirror();
  std::vector<CuckooWrite> w;
  ASSERT_TRUE(m.insert(42, 7, w));
  t.apply(w, {});
  EXPECT_EQ(t.lookup(42), 7u);
  w.clear();
  ASSERT_TRUE(m.insert(42, 9, w));  // update in place: one write
  EXPECT_EQ(w.size(), 1u);
  t.apply(w, {});
  EXPECT_EQ(t.lookup(42), 9u);
  w.clear();
  ASSERT_TRUE(m.remove(42, w));
  t.apply(w, {});
  EXPECT_FALSE(t.lookup(42).has_value());
  w.clear();
  Status s = m.remove(42, w);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("no entry"), std::string::npos);
}

TEST(Cuckoo, FillsPastNinetyPercentWithMovesThatNeverLoseAKey) {
  // 2 banks x 64 buckets x 4 slots = 512 slots.
  Table t(6, 4);
  CuckooMirror m = t.mirror();
  std::mt19937 rng(5);
  std::map<uint32_t, uint32_t> live;
  size_t moved = 0;
  while (live.size() < 470) {
    uint32_t k = rng() | 1;
    if (live.count(k)) continue;
    std::vector<CuckooWrite> w;
    Status s = m.insert(k, k & 0xff, w);
    ASSERT_TRUE(s) << s.message() << " at " << live.size();
    moved += w.size() - 1;
    t.apply(w, live);
    live[k] = k & 0xff;
  }
  for (auto [k, v] : live) EXPECT_EQ(t.lookup(k), v);
  EXPECT_GT(moved, 0u) << "a table this full needs cuckoo moves";
  std::printf("512 slots, 470 keys, %zu moves\n", moved);
}

TEST(Cuckoo, FullTableIsAClearErrorAndChangesNothing) {
  Table t(1, 1);  // 2 banks x 2 buckets x 1 slot
  CuckooMirror m = t.mirror();
  std::map<uint32_t, uint32_t> live;
  std::mt19937 rng(1);
  Status last;
  for (int i = 0; i < 100 && last.ok(); ++i) {
    uint32_t k = rng() | 1;
    std::vector<CuckooWrite> w;
    auto before = t.mem[0];
    last = m.insert(k, 1, w);
    if (last) {
      t.apply(w, live);
      live[k] = 1;
    } else {
      EXPECT_TRUE(w.empty());
      EXPECT_NE(last.message().find("table full"), std::string::npos) << last.message();
    }
  }
  EXPECT_FALSE(last.ok());
  EXPECT_LE(live.size(), 4u);
  for (auto [k, v] : live) EXPECT_EQ(t.lookup(k), v);
}

TEST(Cuckoo, MirrorLoadsBucketsFromTheDeviceOnce) {
  Table t(4, 4);
  t.mem[0][(teidHash0(99) & 15) * 4 + 2] = {true, 99, 5};  // already on the device
  CuckooMirror m = t.mirror();
  std::optional<CuckooSlot> got;
  ASSERT_TRUE(m.find(99, got));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->value, 5u);
  int loads = t.loads;
  ASSERT_TRUE(m.find(99, got));
  EXPECT_EQ(t.loads, loads);
}

}  // namespace
}  // namespace roamgate::dataplane
