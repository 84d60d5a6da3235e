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
      while (!stop_) (void)cache.poll(std::chrono::milliseconds(50));
    });
  }
  ~RunningCache() {
    stop_ = true;
    thread_.join();
  }
  StateCache cache;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace roamgate::control::test
