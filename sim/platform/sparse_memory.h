// Device memory as 4 KiB pages made on first write; unwritten bytes read as zero.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

namespace roamgate::sim {

class SparseMemory {
 public:
  void read(uint64_t addr, uint8_t* out, size_t n) const {
    for (size_t i = 0; i < n; ++i) {
      auto it = pages_.find((addr + i) >> 12);
      out[i] = it == pages_.end() ? 0 : (*it->second)[(addr + i) & 4095];
    }
  }
  // strobe: optional per-byte write enables.
  void write(uint64_t addr, const uint8_t* in, size_t n, const uint8_t* strobe = nullptr) {
    for (size_t i = 0; i < n; ++i) {
      if (strobe && !strobe[i]) continue;
      auto& page = pages_[(addr + i) >> 12];
      if (!page) page = std::make_unique<std::array<uint8_t, 4096>>();
      (*page)[(addr + i) & 4095] = in[i];
    }
  }
  size_t pages() const { return pages_.size(); }

 private:
  std::unordered_map<uint64_t, std::unique_ptr<std::array<uint8_t, 4096>>> pages_;
};

}  // namespace roamgate::sim
