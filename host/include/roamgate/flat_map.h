// A hash map in one array for the slow path's per-decision lookups: open addressing, linear
// probing, backward-shift deletion (no tombstones), doubling at half full. A lookup that
// misses the cache misses once (the key's home slot, which prefetch() can bring in ahead),
// where a node-based map misses on its bucket and again on the node.
//
// Values move when the map grows or an erase shifts its neighbours: a pointer from find() or
// tryEmplace() is good until the next insert or erase. Once grown to its working size the map
// allocates nothing. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "roamgate/hash.h"

namespace roamgate {

struct IntHash {
  size_t operator()(uint64_t v) const noexcept { return size_t(mixBits(v)); }
};

template <class K, class V, class Hash = IntHash>
class FlatMap {
 public:
  // `initialSlots`: a power of two; the map holds half as many keys before it first grows.
  explicit FlatMap(size_t initialSlots = 16) : t_(initialSlots < 2 ? 2 : ceilPow2(initialSlots)) {}

  V* find(const K& k) {
    size_t i = locate(k);
    return i == kNone ? nullptr : &t_[i].v;
  }
  const V* find(const K& k) const {
    size_t i = locate(k);
    return i == kNone ? nullptr : &t_[i].v;
  }
  // Brings the cache line of k's home slot in (and the next, where a probe goes on).
  void prefetch(const K& k) const {
    const Entry* e = &t_[home(k)];
    __builtin_prefetch(e);
    __builtin_prefetch(reinterpret_cast<const char*>(e + 1) - 1);
  }
  // The value of k, made (value-initialised) when absent; second: whether it was made.
  std::pair<V*, bool> tryEmplace(const K& k) {
    if (2 * (n_ + 1) > t_.size()) grow();
    size_t mask = t_.size() - 1;
    size_t i = home(k);
    for (; t_[i].used; i = (i + 1) & mask) {
      if (t_[i].k == k) return {&t_[i].v, false};
    }
    t_[i].k = k;
    t_[i].v = V{};
    t_[i].used = true;
    ++n_;
    return {&t_[i].v, true};
  }
  V& operator[](const K& k) { return *tryEmplace(k).first; }
  // false: k was present (its value left as it was).
  bool insert(const K& k, V v) {
    auto [p, made] = tryEmplace(k);
    if (made) *p = std::move(v);
    return made;
  }
  bool erase(const K& k) {
    size_t i = locate(k);
    if (i == kNone) return false;
    eraseAt(i);
    return true;
  }
  // Erases every entry for which pred(key, value) holds.
  template <class Pred>
  size_t eraseIf(Pred pred) {
    size_t gone = 0;
    // An erase shifts an entry from after the hole into it, so the slot is looked at again;
    // an entry of a run that wraps past the end moves to a slot not yet looked at, or back
    // onto one already kept.
    for (size_t i = 0; i < t_.size();) {
      if (t_[i].used && pred(t_[i].k, t_[i].v)) {
        eraseAt(i);
        ++gone;
      } else {
        ++i;
      }
    }
    return gone;
  }
  template <class Fn>
  void forEach(Fn fn) const {
    for (const Entry& e : t_) {
      if (e.used) fn(e.k, e.v);
    }
  }
  template <class Fn>
  void forEach(Fn fn) {
    for (Entry& e : t_) {
      if (e.used) fn(e.k, e.v);
    }
  }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  void clear() {
    for (Entry& e : t_) {
      if (e.used) e = Entry{};
    }
    n_ = 0;
  }
  // Grows now so that `n` keys fit without growing later.
  void reserve(size_t n) {
    while (t_.size() < 2 * n) grow();
  }

 private:
  struct Entry {
    K k{};
    V v{};
    bool used = false;
  };
  static constexpr size_t kNone = ~size_t(0);
  static size_t ceilPow2(size_t n) {
    size_t p = 1;
    while (p < n) p <<= 1;
    return p;
  }
  size_t home(const K& k) const { return Hash{}(k) & (t_.size() - 1); }
  size_t locate(const K& k) const {
    size_t mask = t_.size() - 1;
    for (size_t i = home(k);; i = (i + 1) & mask) {
      if (!t_[i].used) return kNone;
      if (t_[i].k == k) return i;
    }
  }
  void eraseAt(size_t i) {
    size_t mask = t_.size() - 1;
    // Backward shift: an entry after the hole moves into it unless its home lies in (hole, it].
    for (size_t j = (i + 1) & mask; t_[j].used; j = (j + 1) & mask) {
      size_t h = home(t_[j].k);
      bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
      if (stays) continue;
      t_[i] = std::move(t_[j]);
      i = j;
    }
    t_[i] = Entry{};
    --n_;
  }
  void grow() {
    std::vector<Entry> old(t_.size() * 2);
    old.swap(t_);
    n_ = 0;
    size_t mask = t_.size() - 1;
    for (Entry& e : old) {
      if (!e.used) continue;
      size_t i = home(e.k);
      while (t_[i].used) i = (i + 1) & mask;
      t_[i] = std::move(e);
      ++n_;
    }
  }

  std::vector<Entry> t_;
  size_t n_ = 0;
};

}  // namespace roamgate
