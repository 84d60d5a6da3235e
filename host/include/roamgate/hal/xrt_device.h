// XrtDevice: the hal::Device of an Alveo card, on XRT's native C++ API (xrt::device,
// xrt::xclbin, xrt::ip for the kernel's 64 KiB register window, xrt::bo for the rings).
// This header carries no XRT types, so tests and programs include it without XRT's headers.
#pragma once

#include <cstdint>
#include <string>

#include "roamgate/hal/device.h"
#include "roamgate/status.h"

namespace roamgate::hal {

// What the host needs from an xclbin, read before the card is touched.
struct XclbinFacts {
  std::string kernel;     // "steer" or "gate"
  std::string cuName;     // "roamgate_steer:roamgate_steer_1", as xrt::ip opens it
  uint32_t kernelId = 0;  // the ID register the loaded kernel must show
  uint32_t regmapCrc = 0; // its REGMAP register, recorded in the xclbin as roamgate_regmap
  int32_t memGroup = -1;  // memory bank the rings argument is connected to (xrt::bo group)
  std::string memTag;     // that bank's name, e.g. "HBM[0]"
  std::string platform;   // the shell the xclbin was linked for
  std::string uuid;
};

// Checks that `path` is an xclbin holding exactly one Roamgate kernel, free running
// (ap_ctrl_none) with a 64 KiB register window, its rings argument connected to a memory bank,
// and the register map this program was built for (KEYVALUE_METADATA roamgate_regmap).
// Needs no card and no XRT runtime.
Status inspectXclbin(const std::string& path, XclbinFacts& facts);

// target: "INDEX" or a PCIe BDF. Checks the xclbin first (kBadImage), then the XRT runtime
// and the card (kUnavailable), then loads the image and verifies the kernel's ID and REGMAP
// registers through xrt::ip.
OpenResult openXrtDevice(const std::string& target, const std::string& xclbin);

}  // namespace roamgate::hal
