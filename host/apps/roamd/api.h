// roamd's control API server (gRPC on a Unix socket, optionally TCP).
#pragma once

#include <memory>
#include <string>

#include "daemon.h"

namespace roamd {

class ApiServer {
 public:
  ApiServer();
  ~ApiServer();
  roamgate::Status start(Daemon& d, const std::string& unixPath, const std::string& tcp);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Prometheus /metrics on HOST:PORT: per appliance state, table occupancy, punts, drops by
// reason, revisions and watch lag, reconciliation results. Labels are bounded: appliance,
// reason (the kernel's statistics names), never a session.
class MetricsServer {
 public:
  MetricsServer();
  ~MetricsServer();
  roamgate::Status start(Daemon& d, const std::string& address);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roamd
