// Placement for a bucketized two-bank cuckoo table, on a host mirror of the device table.
// The mirror loads a bucket from the device the first time it is needed. An insert returns
// the slot writes to perform in order: every move writes a key's new slot before its old
// slot is overwritten, so a lookup never misses a key that was in the table.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "roamgate/status.h"

namespace roamgate::dataplane {

struct CuckooSlot {
  bool valid = false;
  uint32_t key = 0;
  uint32_t value = 0;
};

struct CuckooWrite {
  uint32_t bank, bucket, slot;
  CuckooSlot entry;
};

class CuckooMirror {
 public:
  using Hash = std::function<uint32_t(uint32_t bank, uint32_t key)>;  // full hash; masked here
  using Loader = std::function<Status(uint32_t bank, uint32_t bucket, std::vector<CuckooSlot>&)>;

  CuckooMirror(uint32_t bucketsLog2, uint32_t slots, Hash hash, Loader loader, int maxPath = 6);

  // Insert or update; `writes` receives what the device must do, in order, and the mirror
  // already reflects it. A full table is an error naming the key, and changes nothing.
  Status insert(uint32_t key, uint32_t value, std::vector<CuckooWrite>& writes);
  Status remove(uint32_t key, std::vector<CuckooWrite>& writes);
  Status find(uint32_t key, std::optional<CuckooSlot>& out);
  uint32_t bucketOf(uint32_t bank, uint32_t key) const { return hash_(bank, key) & mask_; }
  uint32_t buckets() const { return mask_ + 1; }
  uint32_t slots() const { return slots_; }
  Status bucket(uint32_t bank, uint32_t bucket, std::vector<CuckooSlot>*& out);

 private:
  struct Pos {
    uint32_t bank, bucket, slot;
  };
  std::optional<Pos> locate(uint32_t key, Status& st);

  uint32_t mask_, slots_;
  Hash hash_;
  Loader loader_;
  int maxPath_;
  std::vector<std::vector<CuckooSlot>> banks_[2];
  std::vector<bool> loaded_[2];
};

}  // namespace roamgate::dataplane
