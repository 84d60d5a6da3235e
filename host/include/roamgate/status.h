// Status values for the control and data-plane paths (no exceptions there).
#pragma once

#include <string>
#include <utility>

namespace roamgate {

class Status {
 public:
  Status() = default;
  static Status error(std::string msg) { return Status(std::move(msg)); }
  bool ok() const { return !failed_; }
  const std::string& message() const { return msg_; }
  explicit operator bool() const { return ok(); }

 private:
  explicit Status(std::string msg) : failed_(true), msg_(std::move(msg)) {}
  bool failed_ = false;
  std::string msg_;
};

}  // namespace roamgate
