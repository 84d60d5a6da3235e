#include "roamgate/dataplane/maglev.h"

#include <algorithm>

#include "roamgate/hash.h"

namespace roamgate::dataplane {

namespace {

uint64_t mix(uint64_t z) { return splitMix64(z); }

}  // namespace

std::vector<uint8_t> buildMaglev(std::vector<MaglevBackend> backends, uint32_t m) {
  if (backends.empty() || m < 2) return {};
  std::sort(backends.begin(), backends.end(),
            [](const MaglevBackend& a, const MaglevBackend& b) { return a.name < b.name; });
  size_t n = backends.size();
  std::vector<uint64_t> offset(n), skip(n), next(n, 0);
  for (size_t i = 0; i < n; ++i) {
    offset[i] = mix(backends[i].name ^ 0x6d61676c65763130ull) % m;
    skip[i] = mix(backends[i].name ^ 0x736b697073656564ull) % (m - 1) + 1;
  }
  std::vector<int32_t> entry(m, -1);
  uint32_t filled = 0;
  while (true) {
    for (size_t i = 0; i < n; ++i) {
      uint64_t c = (offset[i] + next[i] * skip[i]) % m;
      while (entry[c] >= 0) {
        ++next[i];
        c = (offset[i] + next[i] * skip[i]) % m;
      }
      entry[c] = int32_t(i);
      ++next[i];
      if (++filled == m) {
        std::vector<uint8_t> out(m);
        for (uint32_t k = 0; k < m; ++k) out[k] = backends[size_t(entry[k])].value;
        return out;
      }
    }
  }
}

}  // namespace roamgate::dataplane
