// Placement for a bucketized two-bank cuckoo table, on a host mirror of the device table.
// The mirror loads a bucket from the device the first time it is needed. An insert returns
// the slot writes to perform in order: every move writes a key's new slot before its old
// slot is overwritten, so a lookup never misses a key that was in the table.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <optional>
#include <vector>

#include "roamgate/status.h"

namespace roamgate::dataplane {

// Key: uint32_t (steer's TEID) or a byte array (gate's flow key), compared with ==.
template <class Key>
struct BasicCuckooSlot {
  bool valid = false;
  Key key{};
  uint32_t value = 0;
};

template <class Key>
struct BasicCuckooWrite {
  uint32_t bank, bucket, slot;
  BasicCuckooSlot<Key> entry;
};

template <class Key>
class BasicCuckooMirror {
 public:
  using CuckooSlot = BasicCuckooSlot<Key>;
  using CuckooWrite = BasicCuckooWrite<Key>;
  using Hash = std::function<uint32_t(uint32_t bank, const Key& key)>;  // full hash; masked here
  using Loader = std::function<Status(uint32_t bank, uint32_t bucket, std::vector<CuckooSlot>&)>;

  BasicCuckooMirror(uint32_t bucketsLog2, uint32_t slots, Hash hash, Loader loader,
                    int maxPath = 6);

  // Insert or update; `writes` receives what the device must do, in order, and the mirror
  // already reflects it. A full table is an error naming the key, and changes nothing.
  // `mustBeNew`: a key already in the table is refused (kAlreadyExists), not updated.
  Status insert(const Key& key, uint32_t value, std::vector<CuckooWrite>& writes,
                bool mustBeNew = false);
  Status remove(const Key& key, std::vector<CuckooWrite>& writes);
  Status find(const Key& key, std::optional<CuckooSlot>& out);
  uint32_t bucketOf(uint32_t bank, const Key& key) const { return hash_(bank, key) & mask_; }
  // Asks the CPU to bring the key's two buckets into cache (a batch of lookups issues these
  // first, so the misses overlap); nothing else happens, and an unloaded bucket is left.
  void prefetch(const Key& key) const;
  uint32_t buckets() const { return mask_ + 1; }
  uint32_t slots() const { return slots_; }
  // The bucket's slots (slots() of them), read from the device on first use.
  Status bucket(uint32_t bank, uint32_t bucket, CuckooSlot*& out);
  // A bucket as the device holds it, read by the caller (a walk of the table): the mirror
  // takes it as loaded and never reads it again.
  void setBucket(uint32_t bank, uint32_t bucket, std::vector<CuckooSlot> slots);
  // Buckets still to be read from the device on first use.
  size_t unloaded() const;

 private:
  struct Pos {
    uint32_t bank, bucket, slot;
  };
  struct SearchNode {  // a slot on insert's search for a free one
    Pos pos;
    int parent;  // index into the search's nodes, -1 for a slot of the new key
    int depth;
  };
  std::optional<Pos> locate(const Key& key, Status& st);
  std::optional<Pos> locateIn(const Key& key, std::array<uint32_t, 2> buckets, Status& st);

  uint32_t mask_, slots_;
  Hash hash_;
  Loader loader_;
  int maxPath_;
  CuckooSlot& at(uint32_t bank, uint32_t bucket, uint32_t slot) {
    return banks_[bank][size_t(bucket) * slots_ + slot];
  }
  std::vector<CuckooSlot> banks_[2];  // bucket-major: a bucket's slots are adjacent
  std::vector<bool> loaded_[2];
  std::vector<SearchNode> search_;  // insert's, kept so that its capacity is
};

using FlowKeyBytes = std::array<uint8_t, 17>;
using CuckooSlot = BasicCuckooSlot<uint32_t>;
using CuckooWrite = BasicCuckooWrite<uint32_t>;
using CuckooMirror = BasicCuckooMirror<uint32_t>;
extern template class BasicCuckooMirror<uint32_t>;
extern template class BasicCuckooMirror<FlowKeyBytes>;

}  // namespace roamgate::dataplane
