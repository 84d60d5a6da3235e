#include "roamgate/dataplane/cuckoo.h"

#include <cstring>
#include <string>

namespace roamgate::dataplane {

namespace {
std::string keyName(uint32_t key) { return std::to_string(key); }
std::string keyName(const FlowKeyBytes& key) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (uint8_t b : key) {
    s += hex[b >> 4];
    s += hex[b & 15];
  }
  return s;
}
bool sameKey(uint32_t a, uint32_t b) { return a == b; }
// 17 bytes as two 8-byte words and one byte: no library call in the lookup's loop.
bool sameKey(const FlowKeyBytes& a, const FlowKeyBytes& b) {
  uint64_t a0, a1, b0, b1;
  std::memcpy(&a0, a.data(), 8);
  std::memcpy(&b0, b.data(), 8);
  std::memcpy(&a1, a.data() + 8, 8);
  std::memcpy(&b1, b.data() + 8, 8);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0 && a[16] == b[16];
}
}  // namespace

template <class Key>
BasicCuckooMirror<Key>::BasicCuckooMirror(uint32_t bucketsLog2, uint32_t slots, Hash hash,
                                          Loader loader, int maxPath)
    : mask_((1u << bucketsLog2) - 1),
      slots_(slots),
      hash_(std::move(hash)),
      loader_(std::move(loader)),
      maxPath_(maxPath) {
  for (int b = 0; b < 2; ++b) {
    banks_[b].resize((size_t(mask_) + 1) * slots_);
    loaded_[b].assign(size_t(mask_) + 1, false);
  }
}

template <class Key>
Status BasicCuckooMirror<Key>::bucket(uint32_t bank, uint32_t b, CuckooSlot*& out) {
  if (!loaded_[bank][b]) {
    std::vector<CuckooSlot> slots(slots_);
    if (Status s = loader_(bank, b, slots); !s) return s;
    setBucket(bank, b, std::move(slots));
  }
  out = &banks_[bank][size_t(b) * slots_];
  return {};
}

template <class Key>
void BasicCuckooMirror<Key>::prefetch(const Key& key) const {
  for (uint32_t bank = 0; bank < 2; ++bank) {
    uint32_t b = bucketOf(bank, key);
    if (!loaded_[bank][b]) continue;
    const char* p = reinterpret_cast<const char*>(&banks_[bank][size_t(b) * slots_]);
    const char* end = p + sizeof(CuckooSlot) * slots_;
    for (; p < end; p += 64) __builtin_prefetch(p);
    __builtin_prefetch(end - 1);
  }
}

template <class Key>
void BasicCuckooMirror<Key>::setBucket(uint32_t bank, uint32_t b, std::vector<CuckooSlot> slots) {
  slots.resize(slots_);
  std::copy(slots.begin(), slots.end(), banks_[bank].begin() + ptrdiff_t(size_t(b) * slots_));
  loaded_[bank][b] = true;
}

template <class Key>
size_t BasicCuckooMirror<Key>::unloaded() const {
  size_t n = 0;
  for (int b = 0; b < 2; ++b) {
    for (bool l : loaded_[b]) n += !l;
  }
  return n;
}

template <class Key>
std::optional<typename BasicCuckooMirror<Key>::Pos> BasicCuckooMirror<Key>::locate(const Key& key,
                                                                           Status& st) {
  return locateIn(key, {bucketOf(0, key), bucketOf(1, key)}, st);
}

template <class Key>
std::optional<typename BasicCuckooMirror<Key>::Pos> BasicCuckooMirror<Key>::locateIn(
    const Key& key, std::array<uint32_t, 2> buckets, Status& st) {
  for (uint32_t bank = 0; bank < 2; ++bank) {
    uint32_t b = buckets[bank];
    CuckooSlot* slots;
    if (loaded_[bank][b]) {
      slots = &at(bank, b, 0);
    } else if (st = bucket(bank, b, slots); !st) {
      return std::nullopt;
    }
    for (uint32_t s = 0; s < slots_; ++s) {
      if (slots[s].valid && sameKey(slots[s].key, key)) return Pos{bank, b, s};
    }
  }
  return std::nullopt;
}

template <class Key>
Status BasicCuckooMirror<Key>::find(const Key& key, std::optional<CuckooSlot>& out) {
  Status st;
  out.reset();
  if (auto p = locate(key, st)) out = at(p->bank, p->bucket, p->slot);
  return st;
}

template <class Key>
Status BasicCuckooMirror<Key>::insert(const Key& key, uint32_t value, std::vector<CuckooWrite>& writes,
                                      bool mustBeNew) {
  Status st;
  CuckooSlot entry{true, key, value};
  const std::array<uint32_t, 2> home = {bucketOf(0, key), bucketOf(1, key)};
  if (auto p = locateIn(key, home, st)) {  // update in place: one atomic slot write
    if (mustBeNew) return Status::error(StatusCode::kAlreadyExists, "key " + keyName(key) + " is in the table");
    at(p->bank, p->bucket, p->slot) = entry;
    writes.push_back({p->bank, p->bucket, p->slot, entry});
    return {};
  }
  if (!st) return st;
  // A free slot in one of the key's own buckets (what the search below finds first): taken.
  for (uint32_t bank = 0; bank < 2; ++bank) {
    CuckooSlot* slots = &at(bank, home[bank], 0);  // loaded by locateIn
    for (uint32_t sl = 0; sl < slots_; ++sl) {
      if (slots[sl].valid) continue;
      slots[sl] = entry;
      writes.push_back({bank, home[bank], sl, entry});
      return {};
    }
  }

  // Breadth-first search for a path of moves ending in an empty slot. The nodes are appended
  // in the order they are searched, so the queue is the part of `nodes` not yet looked at.
  std::vector<SearchNode>& nodes = search_;
  nodes.clear();
  for (uint32_t bank = 0; bank < 2; ++bank) {
    uint32_t b = home[bank];
    for (uint32_t s = 0; s < slots_; ++s) nodes.push_back({{bank, b, s}, -1, 1});
  }
  int found = -1;
  for (size_t i = 0; i < nodes.size(); ++i) {
    Pos p = nodes[i].pos;
    CuckooSlot* slots;
    if (st = bucket(p.bank, p.bucket, slots); !st) return st;
    const CuckooSlot& occ = slots[p.slot];
    if (!occ.valid) {
      found = int(i);
      break;
    }
    if (nodes[i].depth >= maxPath_) continue;
    uint32_t ob = 1 - p.bank;
    uint32_t obk = bucketOf(ob, occ.key);
    for (uint32_t s = 0; s < slots_; ++s) {
      bool onPath = false;  // a path must not visit a slot twice
      for (int a = int(i); a >= 0 && !onPath; a = nodes[size_t(a)].parent) {
        const Pos& q = nodes[size_t(a)].pos;
        onPath = q.bank == ob && q.bucket == obk && q.slot == s;
      }
      if (onPath) continue;
      nodes.push_back({{ob, obk, s}, int(i), nodes[i].depth + 1});
    }
  }
  if (found < 0) {
    return Status::error(StatusCode::kFull, "table full: no cuckoo path of at most " + std::to_string(maxPath_) +
                         " moves frees a slot for key " + keyName(key));
  }
  // Walk back from the empty slot: each occupant of the parent slot moves into the child.
  int child = found;
  while (nodes[size_t(child)].parent >= 0) {
    int parent = nodes[size_t(child)].parent;
    Pos from = nodes[size_t(parent)].pos, to = nodes[size_t(child)].pos;
    CuckooSlot moving = at(from.bank, from.bucket, from.slot);
    at(to.bank, to.bucket, to.slot) = moving;
    writes.push_back({to.bank, to.bucket, to.slot, moving});  // new place first
    child = parent;
  }
  Pos to = nodes[size_t(child)].pos;  // a candidate slot of the new key, now free to take
  at(to.bank, to.bucket, to.slot) = entry;
  writes.push_back({to.bank, to.bucket, to.slot, entry});
  return {};
}

template <class Key>
Status BasicCuckooMirror<Key>::remove(const Key& key, std::vector<CuckooWrite>& writes) {
  Status st;
  auto p = locate(key, st);
  if (!st) return st;
  if (!p) return Status::error(StatusCode::kNotFound, "no entry for key " + keyName(key));
  at(p->bank, p->bucket, p->slot) = {};
  writes.push_back({p->bank, p->bucket, p->slot, {}});
  return {};
}

template class BasicCuckooMirror<uint32_t>;
template class BasicCuckooMirror<FlowKeyBytes>;

}  // namespace roamgate::dataplane
