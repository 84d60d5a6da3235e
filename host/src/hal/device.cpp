// Device selection shared by every host program: the --device/--xclbin/--timeout options, their
// environment defaults, the exit status of each way opening can fail, and the dispatch to the
// simulator or XRT implementation.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "roamgate/hal/device.h"
#include "roamgate/hal/xrt_device.h"

namespace roamgate::hal {

std::unique_ptr<Device> openSimDevice(const std::string& path, double timeoutSeconds, std::string& error);

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
  for (Opt o : {Opt{"--device", &opts.spec}, Opt{"--xclbin", &opts.xclbin}, Opt{"--timeout", &opts.timeout}}) {
    size_t n = std::strlen(o.name);
    const char* a = argv[i];
    if (std::strcmp(a, o.name) == 0) {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') {
        error = std::string(o.name) + " needs a value";
        return true;
      }
      *o.field = argv[++i];
    } else if (std::strncmp(a, o.name, n) == 0 && a[n] == '=') {
      *o.field = a + n + 1;
      if (o.field->empty()) {
        error = std::string(o.name) + " needs a value";
        return true;
      }
    } else {
      continue;
    }
    double seconds = 0;
    if (o.field == &opts.timeout && !parseTimeout(opts.timeout, seconds, error)) error = "--timeout " + error;
    return true;
  }
  return false;
}

bool parseTimeout(const std::string& text, double& seconds, std::string& error) {
  char* end = nullptr;
  double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v) || v <= 0 || v > kMaxTimeoutSeconds) {
    char max[32];
    std::snprintf(max, sizeof max, "%g", kMaxTimeoutSeconds);
    error = "'" + text + "': expected seconds, a number above 0 and at most " + max;
    return false;
  }
  seconds = v;
  return true;
}

void deviceOptionsFromEnv(DeviceOptions& opts) {
  const char* d = std::getenv("ROAMGATE_DEVICE");
  const char* x = std::getenv("ROAMGATE_XCLBIN");
  const char* t = std::getenv("ROAMGATE_TIMEOUT");
  if (opts.spec.empty() && d) opts.spec = d;
  if (opts.timeout.empty() && t) opts.timeout = t;
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
    double seconds = kDefaultTimeoutSeconds;
    if (!opts.timeout.empty() && !parseTimeout(opts.timeout, seconds, r.message)) {
      r.failure = OpenFailure::kUsage;
      r.message = "timeout (--timeout or $ROAMGATE_TIMEOUT) " + r.message;
      return r;
    }
    r.device = openSimDevice(opts.spec.substr(4), seconds, r.message);
    if (!r.device) r.failure = OpenFailure::kUnavailable;
    return r;
  }
  if (opts.spec.rfind("xrt:", 0) == 0) return openXrtDevice(opts.spec.substr(4), opts.xclbin);
  r.failure = OpenFailure::kUsage;
  r.message = "unknown device '" + opts.spec + "': expected sim:SOCKET, xrt:INDEX or xrt:BDF";
  return r;
}

}  // namespace roamgate::hal
