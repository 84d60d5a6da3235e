// Status values for the control and data-plane paths (no exceptions there). A failed Status
// carries a code that callers branch on and a message for people; never compare the text.
#pragma once

#include <string>
#include <utility>

namespace roamgate {

enum class StatusCode {
  kOk,
  kFailed,           // the operation failed or was refused (the default of Status::error)
  kInvalidArgument,  // a value the operation cannot take
  kNotFound,         // no such entry
  kAlreadyExists,    // the entry (or the port, the id) is taken
  kFull,             // the table or ring has no room; nothing was changed
  kUnavailable,      // the device or the store stopped answering: gone or timed out
  kCompacted,        // a store revision asked for is older than the store keeps (re-read)
  kAborted,          // a transaction's comparison failed or a concurrent writer won; retry
  kOverQuota,        // a per-subscriber limit (ports, user sessions) is reached; nothing changed
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status error(std::string msg) { return Status(StatusCode::kFailed, std::move(msg)); }
  static Status error(StatusCode code, std::string msg) { return Status(code, std::move(msg)); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return msg_; }
  explicit operator bool() const { return ok(); }

 private:
  Status(StatusCode code, std::string msg)
      : code_(code == StatusCode::kOk ? StatusCode::kFailed : code), msg_(std::move(msg)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string msg_;
};

}  // namespace roamgate
