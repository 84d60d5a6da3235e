#include "pacer.h"

#include <gtest/gtest.h>

namespace roamgate::sim {
namespace {

// Frames started by a port model in `cycles`, one frame at a time, each taking its beats.
uint64_t framesIn(WirePacer& p, uint64_t cycles, uint64_t bytes) {
  uint64_t frames = 0, busy = 0;
  uint64_t beats = (bytes + 63) / 64;
  for (uint64_t c = 0; c < cycles; ++c) {
    if (busy > 0) {
      p.tick();
      --busy;
    } else if (p.mayStart(bytes)) {
      ++frames;
      busy = beats - 1;
    }
  }
  return frames;
}

TEST(WirePacer, SixtyFourByteFramesAt148_8Mpps) {
  // 10 ms at 300 MHz: 100 Gb/s of 64-byte frames (84 bytes of wire time each).
  WirePacer p(100'000'000'000ull, 300'000'000ull, 20);
  EXPECT_NEAR(double(framesIn(p, 3'000'000, 64)), 1'488'095.2, 1.5);
}

TEST(WirePacer, CaptureFramesCountTheirFcs) {
  // Without the FCS in the frame (pcap), 60 bytes take 84 bytes of wire time too.
  WirePacer p(100'000'000'000ull, 322'265'625ull);
  EXPECT_NEAR(double(framesIn(p, 3'222'656, 60)), 1'488'095.2, 1.5);
}

TEST(WirePacer, LongFramesAreLimitedByTheWireNotTheBus) {
  WirePacer p(100'000'000'000ull, 300'000'000ull, 20);
  // 1518 bytes: 1538 bytes of wire time = 36.9 cycles, while the bus needs 24.
  EXPECT_NEAR(double(framesIn(p, 3'000'000, 1518)), 100e9 * 0.01 / (1538 * 8), 1.5);
}

TEST(WirePacer, ZeroRateSaturates) {
  WirePacer p(0, 300'000'000ull);
  EXPECT_EQ(framesIn(p, 1000, 64), 1000u);
  EXPECT_EQ(framesIn(p, 1000, 65), 500u);
}

}  // namespace
}  // namespace roamgate::sim
