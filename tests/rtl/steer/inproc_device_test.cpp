// InprocDevice over the steer RTL when the AXI4-Lite bus hangs: the host sees a failed Status
// that names the access and the cycle budget (never a silent success with made-up data), a
// test bench's plain access stops the bench, and a bench whose bus works is unaffected.
// The hang is made by the master never taking a response (bready and rready held low), as a
// wedged interconnect would look to the host.
#include "inproc_device.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "roamgate/dataplane/steer_tables.h"
#include "roamgate/regs/steer.h"
#include "steer_dut.h"

namespace roamgate {
namespace {

namespace r = regs::steer;
using Dut = sim::SteerDut;

// A steer bench whose AXI4-Lite responses stop being taken once `hang` is set.
struct HangRig {
  std::shared_ptr<bool> hang = std::make_shared<bool>(false);
  Dut dut{[h = hang] {
    Dut::Options o;
    o.axilReady = [h](uint64_t) { return !*h; };
    return o;
  }()};
  sim::InprocDevice<Dut> dev{dut, "steer"};
  dataplane::SteerTables t{dev};
};

std::string noResponse(const char* op, uint32_t addr) {
  char b[96];
  std::snprintf(b, sizeof b, "AXI4-Lite %s 0x%04x got no response within %llu cycles", op, addr,
                static_cast<unsigned long long>(Dut::kAccessCycles));
  return b;
}

TEST(InprocDevice, ABenchWithSlowButAnsweringResponsesWorks) {
  // A response taken only every 700 cycles: slow, but inside the budget of every access.
  Dut::Options o;
  o.axilReady = [](uint64_t c) { return c % 700 == 0; };
  Dut dut(o);
  sim::InprocDevice<Dut> dev(dut, "steer");
  dataplane::SteerTables t(dev);
  ASSERT_TRUE(t.checkKernel());
  dataplane::SteerConfig c{0xc6120164, 0x021122334455ull, 0x00200000, 17};
  ASSERT_TRUE(t.writeConfig(c));
  dataplane::SteerConfig back;
  ASSERT_TRUE(t.readConfig(back));
  EXPECT_EQ(back.ownIp, c.ownIp);
  EXPECT_EQ(back.ownMac, c.ownMac);
  EXPECT_FALSE(dut.hung());
}

TEST(InprocDevice, AHungWriteIsAFailedStatusNamingTheAccess) {
  HangRig rig;
  ASSERT_TRUE(rig.t.checkKernel()) << "the bus works before the hang";
  *rig.hang = true;
  Status s = rig.dev.write32(r::ctrl::kOwnIpv4, 0xc6120164);
  ASSERT_FALSE(s.ok()) << "a write the slave never answered reported success";
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("inproc:steer: " + noResponse("write to", r::ctrl::kOwnIpv4)),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("bvalid=1 bready=0"), std::string::npos) << s.message();
}

TEST(InprocDevice, AHungReadIsAFailedStatusNotAMadeUpValue) {
  HangRig rig;
  ASSERT_TRUE(rig.t.checkKernel());
  *rig.hang = true;
  uint32_t v = 0x5a5a5a5a;
  Status s = rig.dev.read32(r::ctrl::kId, v);
  ASSERT_FALSE(s.ok()) << "a read the slave never answered reported success, value " << v;
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find(noResponse("read of", r::ctrl::kId)), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("rvalid=1 rready=0"), std::string::npos) << s.message();
}

TEST(InprocDevice, TableManagersSeeTheHang) {
  HangRig rig;
  ASSERT_TRUE(rig.t.checkKernel());
  *rig.hang = true;
  Status s = rig.t.checkKernel();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("got no response within"), std::string::npos) << s.message();
  dataplane::SteerConfig back;
  EXPECT_FALSE(rig.t.readConfig(back).ok());
}

// AXI4-Lite cannot abandon a transfer: once one hangs, the bench is broken, and every later
// access fails without touching the bus, naming the first hang, even if the bus moves again.
TEST(InprocDevice, AfterAHangEveryAccessFails) {
  HangRig rig;
  ASSERT_TRUE(rig.t.checkKernel());
  *rig.hang = true;
  ASSERT_FALSE(rig.dev.write32(r::ctrl::kOwnIpv4, 1).ok());
  *rig.hang = false;
  uint32_t v = 0;
  Status s = rig.dev.read32(r::ctrl::kId, v);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("read of 0x0000 not attempted: the bus hung earlier (" +
                             noResponse("write to", r::ctrl::kOwnIpv4)),
            std::string::npos)
      << s.message();
  EXPECT_FALSE(rig.t.checkKernel().ok());
}

TEST(InprocDevice, AnAddressOutsideTheRegisterWindowIsRefused) {
  HangRig rig;
  ASSERT_TRUE(rig.t.checkKernel());
  // 0x10020 would alias to 0x0020 (own IPv4) on the 16-bit bus.
  Status s = rig.dev.write32(0x10000 + r::ctrl::kOwnIpv4, 0xc6120164);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kFailed);
  EXPECT_NE(s.message().find("write to 0x10020 refused: outside the 64 KiB register window"),
            std::string::npos)
      << s.message();
  uint32_t v = 1;
  ASSERT_TRUE(rig.dev.read32(r::ctrl::kOwnIpv4, v)) << "a refused address does not break the bench";
  EXPECT_EQ(v, 0u) << "the refused write landed on the aliased register";
}

TEST(InprocDeviceDeathTest, APlainAccessOnAHungBusStopsTheBench) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        HangRig rig;
        *rig.hang = true;
        rig.dut.read(r::ctrl::kVersion);
      },
      "KernelDut: AXI4-Lite read of 0x0004 got no response within 1000 cycles");
}

TEST(InprocDevice, AllocMemRefusesWhatItCannotGive) {
  HangRig rig;
  uint64_t a = 0, b = 0;
  ASSERT_TRUE(rig.dev.allocMem(100, 64, a));
  ASSERT_TRUE(rig.dev.allocMem(4096, 4096, b));
  EXPECT_EQ(a % 64, 0u);
  EXPECT_EQ(b % 4096, 0u);
  EXPECT_GE(b, a + 100) << "the ranges overlap";
  uint64_t x = 7;
  Status s = rig.dev.allocMem(0, 64, x);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot allocate 0 bytes"), std::string::npos) << s.message();
  s = rig.dev.allocMem(64, 48, x);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("alignment 48 is not a power of two"), std::string::npos)
      << s.message();
  s = rig.dev.allocMem(~0ull - 4096, 64, x);
  EXPECT_FALSE(s.ok()) << "a range past 2^64 was given at " << x;
  EXPECT_NE(s.message().find("device memory exhausted"), std::string::npos) << s.message();
  EXPECT_EQ(x, 7u) << "a refused allocation set the address";
  s = rig.dev.allocMem(64, 1ull << 63, x);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(x, 1ull << 63);
  s = rig.dev.allocMem(64, 1ull << 63, x);
  EXPECT_FALSE(s.ok()) << "the next 2^63 boundary is past 2^64";
}

}  // namespace
}  // namespace roamgate
