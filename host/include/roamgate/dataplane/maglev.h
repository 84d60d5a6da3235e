// Maglev lookup-table builder (Eisenbud et al., NSDI 2016, section 3.4, "Pseudocode 1").
// Every host that builds from the same backend list gets the same table, so every steer
// appliance sends a TEID to the same gateway.
#pragma once

#include <cstdint>
#include <vector>

namespace roamgate::dataplane {

struct MaglevBackend {
  uint32_t name;   // the backend's identity: a gateway's IPv4 address
  uint8_t value;   // what the table holds for it: the gateway index
};

inline constexpr uint32_t kMaglevM = 65537;

// Builds the table of size m (a prime). Backends are taken sorted by name, whatever order
// they come in. An empty list gives an empty vector.
std::vector<uint8_t> buildMaglev(std::vector<MaglevBackend> backends, uint32_t m = kMaglevM);

}  // namespace roamgate::dataplane
