// A StateCache with its polling thread, as roamd runs it (for the control-plane tests).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "roamgate/control/state.h"

namespace roamgate::control::test {

class RunningCache {
 public:
  explicit RunningCache(store::Store& s) : cache(s) {
    Status st = cache.start();
    EXPECT_TRUE(st.ok()) << st.message();
    thread_ = std::thread([this] {
      while (!stop_) {
        (void)cache.poll(std::chrono::milliseconds(50));
        if (int lag = lagMs; lag > 0) std::this_thread::sleep_for(std::chrono::milliseconds(lag));
      }
    });
  }
  ~RunningCache() {
    stop_ = true;
    thread_.join();
  }
  StateCache cache;
  // A pause after each poll: a cache that falls behind its writers, as a loaded one does.
  std::atomic<int> lagMs{0};

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace roamgate::control::test
