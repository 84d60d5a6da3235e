// The one device interface: registers of a kernel's 64 KiB AXI4-Lite window and device memory.
// Implementations: the simulator over a Unix socket (SimDevice), an Alveo card through XRT
// (XrtDevice), and a Verilated kernel in the same process (for tests, in sim/). Nothing above
// hal knows which one it has. Neither implementation raises events: the host polls registers
// (ring producer indexes) and reads device memory, the same way on both.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "roamgate/status.h"

namespace roamgate::hal {

struct RegOp {
  bool write = false;
  uint32_t addr = 0;
  uint32_t value = 0;  // written value, or the value read
};

class Device {
 public:
  virtual ~Device() = default;
  // Performs the operations in order; reads fill in `value`. One round trip for the batch.
  virtual Status transact(std::span<RegOp> ops) = 0;
  virtual std::string describe() const = 0;

  // Device memory (the card's HBM/DDR, where the host port's rings live): allocation of an
  // aligned range, and copies in and out (XRT: a buffer object and its syncs).
  virtual Status allocMem(uint64_t bytes, uint64_t align, uint64_t& addr) = 0;
  virtual Status readMem(uint64_t addr, std::span<uint8_t> out) = 0;
  virtual Status writeMem(uint64_t addr, std::span<const uint8_t> in) = 0;

  Status write32(uint32_t addr, uint32_t value) {
    RegOp op{true, addr, value};
    return transact({&op, 1});
  }
  Status read32(uint32_t addr, uint32_t& value) {
    RegOp op{false, addr, 0};
    Status s = transact({&op, 1});
    value = op.value;
    return s;
  }
};

// How every host program names its device (one parser, one help text, one set of exit codes).
struct DeviceOptions {
  std::string spec;    // sim:SOCKET, xrt:INDEX or xrt:BDF (dddd:bb:dd.f)
  std::string xclbin;  // xrt: the image to load; checked before the card is touched
  std::string timeout;  // sim: seconds to wait for an answer, as given; empty: the default
};

// How long a simulator may stay silent (after a request, or between two parts of its reply)
// before the host gives up: opening then fails with kUnavailable, an operation with
// StatusCode::kUnavailable.
inline constexpr double kDefaultTimeoutSeconds = 5;
inline constexpr double kMaxTimeoutSeconds = 3600;
// Reads a --timeout value: seconds, above 0 and at most kMaxTimeoutSeconds.
bool parseTimeout(const std::string& text, double& seconds, std::string& error);

// Why a device did not open; each has its own exit status in every host program.
enum class OpenFailure {
  kNone,
  kUsage,        // the device spec or options are malformed
  kUnavailable,  // no such device here: no card, no XRT runtime, no simulator socket
  kBadImage,     // the xclbin (or the loaded kernel) is not the kernel this program was built for
  kFailed,       // the device is there but an operation on it failed
};

struct OpenResult {
  std::unique_ptr<Device> device;
  OpenFailure failure = OpenFailure::kNone;
  std::string message;
};

inline constexpr int kExitUsage = 2;
inline constexpr int kExitNoDevice = 3;
inline constexpr int kExitBadImage = 4;
int exitStatus(OpenFailure f);  // kExitUsage, kExitNoDevice, kExitBadImage, or 1

inline constexpr const char* kDeviceOptionsHelp =
    "  --device SPEC   sim:SOCKET (a roamsim instance), xrt:INDEX or xrt:BDF (an Alveo card,\n"
    "                  e.g. xrt:0 or xrt:0000:3b:00.1); default $ROAMGATE_DEVICE\n"
    "  --xclbin PATH   the image to load on an xrt device (checked before the card is touched);\n"
    "                  default $ROAMGATE_XCLBIN\n"
    "  --timeout SECS  how long a sim device may stay silent before the command gives up\n"
    "                  (exit 3); default $ROAMGATE_TIMEOUT, else 5\n";

// Takes --device SPEC, --xclbin PATH or --timeout SECONDS (or NAME=VALUE) at argv[i]
// (advancing i past a separate value). Returns false when argv[i] is not one of them; sets
// `error` when it is one but lacks its value or the value is malformed.
bool takeDeviceOption(int argc, char** argv, int& i, DeviceOptions& opts, std::string& error);
// Fills what the command line left empty from $ROAMGATE_DEVICE, $ROAMGATE_TIMEOUT and (for
// xrt devices) $ROAMGATE_XCLBIN. A malformed $ROAMGATE_TIMEOUT fails openDevice (kUsage).
void deviceOptionsFromEnv(DeviceOptions& opts);

OpenResult openDevice(const DeviceOptions& opts);

}  // namespace roamgate::hal
