// A value and its error travel together: Result<T> holds either a T or a failed Status.
#pragma once

#include <optional>
#include <utility>

#include "roamgate/status.h"

namespace roamgate {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit, as a return value
  // A failed status; an ok one given here is a programming error and reads as kFailed.
  Result(Status status) : status_(status.ok() ? Status::error("no value") : std::move(status)) {}

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Status& status() const { return status_; }
  StatusCode code() const { return status_.code(); }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace roamgate
