// The XRT device's checks, on a machine without a card: xclbin inspection against fixtures
// written by tests/fixtures/make_xclbin.py from hw/vitis's kernel XML (read by XRT's own
// parser), the no-runtime and no-card paths, and the shared device options.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "roamgate/hal/device.h"
#include "roamgate/hal/xrt_device.h"
#include "roamgate/regs/gate.h"
#include "roamgate/regs/steer.h"

namespace fs = std::filesystem;
using namespace roamgate;
using namespace roamgate::hal;

namespace {

std::string hex(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

class XclbinTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("roamgate-xclbin-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // Writes a fixture; `extra` are make_xclbin.py options.
  static std::string make(const std::string& name, const std::string& kernel, const std::string& extra) {
    std::string out = (dir_ / (name + ".xclbin")).string();
    std::string cmd = std::string("/usr/bin/python3 ") + ROAMGATE_SOURCE_DIR + "/tests/fixtures/make_xclbin.py --kernel-xml " +
                      ROAMGATE_SOURCE_DIR + "/hw/vitis/" + kernel + "/kernel.xml " + extra + " -o " + out;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return out;
  }
  static std::string good(const std::string& kernel) {
    uint32_t crc = kernel == "steer" ? regs::steer::kRegmapCrc : regs::gate::kRegmapCrc;
    return make(kernel + "-good", kernel, "--regmap " + hex(crc));
  }
  static std::string inspectError(const std::string& path) {
    XclbinFacts f;
    Status s = inspectXclbin(path, f);
    EXPECT_FALSE(s.ok()) << path << " was accepted";
    return s.message();
  }

  static fs::path dir_;
};
fs::path XclbinTest::dir_;

TEST_F(XclbinTest, AcceptsEachKernelAsPackaged) {
  struct Case {
    const char* kernel;
    uint32_t id, crc;
  };
  for (Case c : {Case{"steer", regs::steer::kKernelId, regs::steer::kRegmapCrc},
                 Case{"gate", regs::gate::kKernelId, regs::gate::kRegmapCrc}}) {
    XclbinFacts f;
    Status s = inspectXclbin(good(c.kernel), f);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(f.kernel, c.kernel);
    EXPECT_EQ(f.cuName, std::string("roamgate_") + c.kernel + ":roamgate_" + c.kernel + "_1");
    EXPECT_EQ(f.kernelId, c.id);
    EXPECT_EQ(f.regmapCrc, c.crc);
    EXPECT_EQ(f.memGroup, 0);
    EXPECT_EQ(f.memTag, "HBM[0]");
    EXPECT_EQ(f.platform, "xilinx_u55c_gen3x16_xdma_base_3");
    EXPECT_EQ(f.uuid.size(), 36u);
  }
}

TEST_F(XclbinTest, RefusesAnotherRegisterMap) {
  std::string m = inspectError(make("steer-oldmap", "steer", "--regmap 0x12345678"));
  EXPECT_NE(m.find("register map 0x12345678"), std::string::npos) << m;
  EXPECT_NE(m.find(hex(regs::steer::kRegmapCrc)), std::string::npos) << m;
  // The gate's CRC on a steer kernel is as wrong as any other.
  m = inspectError(make("steer-gatemap", "steer", "--regmap " + hex(regs::gate::kRegmapCrc)));
  EXPECT_NE(m.find("register map"), std::string::npos) << m;
}

TEST_F(XclbinTest, RefusesAnImageThatDoesNotRecordItsRegisterMap) {
  std::string m = inspectError(make("gate-nokv", "gate", "--no-keyvalue"));
  EXPECT_NE(m.find("roamgate_regmap"), std::string::npos) << m;
  m = inspectError(make("gate-badkv", "gate", "--regmap banana"));
  EXPECT_NE(m.find("not a number"), std::string::npos) << m;
}

TEST_F(XclbinTest, RefusesForeignKernels) {
  std::string m = inspectError(make("vadd", "steer", "--rename vadd --regmap 0x1"));
  EXPECT_NE(m.find("no Roamgate kernel"), std::string::npos) << m;
  EXPECT_NE(m.find("vadd"), std::string::npos) << m;
}

TEST_F(XclbinTest, RefusesAKernelThatIsNotFreeRunning) {
  std::string m = inspectError(make("steer-hs", "steer", "--ctrl hs --regmap " + hex(regs::steer::kRegmapCrc)));
  EXPECT_NE(m.find("ap_ctrl_none"), std::string::npos) << m;
}

TEST_F(XclbinTest, RefusesUnconnectedRings) {
  std::string m = inspectError(make("gate-noconn", "gate", "--no-connect --regmap " + hex(regs::gate::kRegmapCrc)));
  EXPECT_NE(m.find("not connected to a memory bank"), std::string::npos) << m;
}

TEST_F(XclbinTest, RefusesDamagedAndForeignFiles) {
  std::string path = good("steer");
  auto size = fs::file_size(path);
  for (uint64_t cut : {uint64_t(16), uint64_t(500), size / 2, size - 1}) {
    std::string m = inspectError(make("steer-cut" + std::to_string(cut), "steer",
                                      "--regmap " + hex(regs::steer::kRegmapCrc) + " --truncate " + std::to_string(cut)));
    EXPECT_TRUE(m.find("damaged") != std::string::npos || m.find("not an xclbin") != std::string::npos) << cut << ": " << m;
  }
  std::string text = (dir_ / "notes.xclbin").string();
  FILE* f = std::fopen(text.c_str(), "w");
  std::fputs("this is not an FPGA image\n", f);
  std::fclose(f);
  EXPECT_NE(inspectError(text).find("not an xclbin"), std::string::npos);
  EXPECT_NE(inspectError((dir_ / "missing.xclbin").string()).find("cannot read"), std::string::npos);
}

// openXrtDevice checks in this order: the spec, the image, the runtime, the card.
TEST_F(XclbinTest, OpenFailsFastWithTheRightKind) {
  EXPECT_EQ(openXrtDevice("zero", good("steer")).failure, OpenFailure::kUsage);
  EXPECT_EQ(openXrtDevice("0000:3b:00", good("steer")).failure, OpenFailure::kUsage);
  EXPECT_EQ(openXrtDevice("0", "").failure, OpenFailure::kUsage);
  OpenResult r = openXrtDevice("0", make("gate-nokv2", "gate", "--no-keyvalue"));
  EXPECT_EQ(r.failure, OpenFailure::kBadImage) << r.message;
  EXPECT_EQ(r.device, nullptr);
}

TEST_F(XclbinTest, NoRuntimeIsNoDevice) {
  std::string empty = (dir_ / "no-xrt").string();
  fs::create_directories(empty);
  ::setenv("XILINX_XRT", empty.c_str(), 1);
  OpenResult r = openXrtDevice("0", good("gate"));
  ::unsetenv("XILINX_XRT");
  EXPECT_EQ(r.failure, OpenFailure::kUnavailable);
  EXPECT_NE(r.message.find("no XRT runtime"), std::string::npos) << r.message;
  EXPECT_EQ(exitStatus(r.failure), kExitNoDevice);
}

// Debian's XRT keeps the shim in the multiarch directory; a runtime root whose lib/ points
// there is a complete runtime with no card behind it.
TEST_F(XclbinTest, NoCardIsNoDevice) {
  if (fs::exists("/sys/bus/pci/drivers/xocl")) GTEST_SKIP() << "an xocl driver is loaded: this machine may have a card";
  fs::path root = dir_ / "xrt-root";
  fs::create_directories(root);
  fs::create_directory_symlink("/usr/lib/x86_64-linux-gnu", root / "lib");
  ASSERT_TRUE(fs::exists(root / "lib" / "libxrt_core.so.2"));
  ::setenv("XILINX_XRT", root.c_str(), 1);
  OpenResult byIndex = openXrtDevice("0", good("steer"));
  OpenResult byBdf = openXrtDevice("0000:3b:00.1", good("steer"));
  ::unsetenv("XILINX_XRT");
  EXPECT_EQ(byIndex.failure, OpenFailure::kUnavailable);
  EXPECT_NE(byIndex.message.find("no Alveo card"), std::string::npos) << byIndex.message;
  EXPECT_EQ(byBdf.failure, OpenFailure::kUnavailable) << byBdf.message;
}

TEST(DeviceOptions, ParsesBothSpellingsAndRefusesMissingValues) {
  const char* argv[] = {"prog", "--device", "xrt:1", "--xclbin=/a/b.xclbin", "--device=", "--xclbin", "x"};
  int argc = 7;
  DeviceOptions o;
  std::string err;
  int i = 0;
  EXPECT_FALSE(takeDeviceOption(argc, const_cast<char**>(argv), i, o, err));
  i = 1;
  EXPECT_TRUE(takeDeviceOption(argc, const_cast<char**>(argv), i, o, err));
  EXPECT_EQ(i, 2);
  EXPECT_EQ(o.spec, "xrt:1");
  i = 3;
  EXPECT_TRUE(takeDeviceOption(argc, const_cast<char**>(argv), i, o, err));
  EXPECT_EQ(o.xclbin, "/a/b.xclbin");
  EXPECT_TRUE(err.empty());
  i = 4;
  EXPECT_TRUE(takeDeviceOption(argc, const_cast<char**>(argv), i, o, err));
  EXPECT_EQ(err, "--device needs a value");
  const char* tail[] = {"prog", "--xclbin"};
  DeviceOptions o2;
  err.clear();
  i = 1;
  EXPECT_TRUE(takeDeviceOption(2, const_cast<char**>(tail), i, o2, err));
  EXPECT_EQ(err, "--xclbin needs a value");
}

TEST(DeviceOptions, EnvironmentFillsOnlyWhatIsMissing) {
  ::setenv("ROAMGATE_DEVICE", "xrt:0", 1);
  ::setenv("ROAMGATE_XCLBIN", "/env.xclbin", 1);
  DeviceOptions a;
  deviceOptionsFromEnv(a);
  EXPECT_EQ(a.spec, "xrt:0");
  EXPECT_EQ(a.xclbin, "/env.xclbin");
  DeviceOptions b{"sim:/tmp/s", ""};
  deviceOptionsFromEnv(b);
  EXPECT_EQ(b.spec, "sim:/tmp/s");
  EXPECT_EQ(b.xclbin, "");  // a simulator takes no image
  DeviceOptions c{"xrt:1", "/cli.xclbin"};
  deviceOptionsFromEnv(c);
  EXPECT_EQ(c.xclbin, "/cli.xclbin");
  ::unsetenv("ROAMGATE_DEVICE");
  ::unsetenv("ROAMGATE_XCLBIN");
}

TEST(DeviceOptions, EachFailureHasItsExitStatus) {
  EXPECT_EQ(exitStatus(OpenFailure::kUsage), 2);
  EXPECT_EQ(exitStatus(OpenFailure::kUnavailable), 3);
  EXPECT_EQ(exitStatus(OpenFailure::kBadImage), 4);
  EXPECT_EQ(exitStatus(OpenFailure::kFailed), 1);
  EXPECT_EQ(openDevice({}).failure, OpenFailure::kUsage);
  EXPECT_EQ(openDevice({"pcie:0", ""}).failure, OpenFailure::kUsage);
  EXPECT_EQ(openDevice({"sim:/nonexistent/socket", ""}).failure, OpenFailure::kUnavailable);
  EXPECT_EQ(openDevice({"sim:/nonexistent/socket", "/x.xclbin"}).failure, OpenFailure::kUsage);
}

}  // namespace
