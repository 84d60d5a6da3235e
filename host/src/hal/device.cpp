// Device selection shared by every host program: the --device/--xclbin options, their
// environment defaults, the exit status of each way opening can fail, and the dispatch to the
// simulator or XRT implementation.
#include <cstdlib>
#include <cstring>

#include "roamgate/hal/device.h"
#include "roamgate/hal/xrt_device.h"

namespace roamgate::hal {

std::unique_ptr<Device> openSimDevice(const std::string& path, std::string& error);

int exitStatus(OpenFailure f) {
  switch (f) {
    case OpenFailure::kNone: return 0;
    case OpenFailure::kUsage: return kExitUsage;
    case OpenFailure::kUnavailable: return kExitNoDevice;
    case OpenFailure::kBadImage: return kExitBadImage;
    case OpenFailure::kFailed: return 1;
  }
  return 1;
}

bool takeDeviceOption(int argc, char** argv, int& i, DeviceOptions& opts, std::string& error) {
  struct Opt {
    const char* name;
    std::string* field;
  };
  for (Opt o : {Opt{"--device", &opts.spec}, Opt{"--xclbin", &opts.xclbin}}) {
    size_t n = std::strlen(o.name);
    const char* a = argv[i];
    if (std::strcmp(a, o.name) == 0) {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') {
        error = std::string(o.name) + " needs a value";
        return true;
      }
      *o.field = argv[++i];
      return true;
    }
    if (std::strncmp(a, o.name, n) == 0 && a[n] == '=') {
      *o.field = a + n + 1;
      if (o.field->empty()) error = std::string(o.name) + " needs a value";
      return true;
    }
  }
  return false;
}

void deviceOptionsFromEnv(DeviceOptions& opts) {
  const char* d = std::getenv("ROAMGATE_DEVICE");
  const char* x = std::getenv("ROAMGATE_XCLBIN");
  if (opts.spec.empty() && d) opts.spec = d;
  // The image default applies to cards only: a simulator already holds its kernel.
  if (opts.xclbin.empty() && x && opts.spec.rfind("sim:", 0) != 0) opts.xclbin = x;
}

OpenResult openDevice(const DeviceOptions& opts) {
  OpenResult r;
  if (opts.spec.empty()) {
    r.failure = OpenFailure::kUsage;
    r.message = "no device: pass --device sim:SOCKET or --device xrt:INDEX, or set ROAMGATE_DEVICE";
    return r;
  }
  if (opts.spec.rfind("sim:", 0) == 0) {
    if (!opts.xclbin.empty()) {
      r.failure = OpenFailure::kUsage;
      r.message = "--xclbin is for xrt devices; a simulator already holds its kernel";
      return r;
    }
    r.device = openSimDevice(opts.spec.substr(4), r.message);
    if (!r.device) r.failure = OpenFailure::kUnavailable;
    return r;
  }
  if (opts.spec.rfind("xrt:", 0) == 0) return openXrtDevice(opts.spec.substr(4), opts.xclbin);
  r.failure = OpenFailure::kUsage;
  r.message = "unknown device '" + opts.spec + "': expected sim:SOCKET, xrt:INDEX or xrt:BDF";
  return r;
}

}  // namespace roamgate::hal
