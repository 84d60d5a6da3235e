// A connection to roamd's API, shared by roamctl's command families through roamd
// (daemon_cmds.cpp, service_cmds.cpp): the stub, the deadline, the output mode and the mapping
// of gRPC codes to exit statuses (INVALID_ARGUMENT 2, UNAVAILABLE and no answer 3, else 1).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli.h"
#include "roamd.grpc.pb.h"

namespace roamctl {

namespace pb = roamgate::api::v1;

struct Api {
  std::string target;
  std::unique_ptr<pb::Roamd::Stub> stub;
  bool jsonOut = false;
  double timeout = 30;

  std::unique_ptr<grpc::ClientContext> ctx(double seconds = 0) const {
    auto c = std::make_unique<grpc::ClientContext>();
    double t = seconds > 0 ? seconds : timeout;
    c->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(t * 1000)));
    return c;
  }
  int fail(const grpc::Status& s) const {
    std::string msg = s.error_message();
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE && msg.find("connect") != std::string::npos) {
      msg = "no roamd answers at " + target + " (" + msg + "; --api or $ROAMGATE_API)";
    } else if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      msg = "roamd at " + target + " did not answer in time";
    }
    std::fprintf(stderr, "roamctl: %s\n", msg.c_str());
    switch (s.error_code()) {
      case grpc::StatusCode::INVALID_ARGUMENT: return kExitUsage;
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DEADLINE_EXCEEDED: return kExitNoDevice;
      default: return kExitFailed;
    }
  }
  void print(const json& j, const std::string& text) const {
    if (jsonOut) std::cout << j.dump(2) << "\n";
    else std::cout << text;
  }
};

}  // namespace roamctl
