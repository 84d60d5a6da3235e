// Authorization of a new user session (claims 4, 5, 16, 18): may this subscriber use this
// service (or, with no service, an external destination) now? The gate's slow path asks an
// Authorizer once per punted decision; a later issue puts RADIUS behind the same interface.
//
// LocalAuthorizer decides from policies held in memory:
// * A policy says which services may be used (by name, or every service), whether external
//   destinations are allowed, at most how many user sessions the subscriber holds at once
//   (0: no limit), at most how many new ones a second (a token bucket of that rate whose
//   burst is the same number; 0: no limit), and how long a denied user session's deny entry
//   stays in the hardware.
// * A subscriber's policy: the one assigned to its IMSI, else the policy named "default";
//   with neither the request is denied (kNoPolicy).
// * An allowed request counts against the subscriber's limits at once (the caller gives it
//   back with release() when the user session ends, or when a later step refuses it, such
//   as no free port), so two decisions in a row never both take the last place.
// Time passes in through the calls (steady clock), so tests need no sleeps. Not thread-safe:
// the slow path's one thread owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "roamgate/control/objects.h"
#include "roamgate/status.h"

namespace roamgate::control {

enum class DenyReason : uint8_t {
  kNone,               // allowed
  kNoPolicy,           // no policy for the subscriber and none named "default"
  kServiceNotAllowed,  // the policy does not list the service
  kExternalNotAllowed, // an external destination, and the policy does not allow them
  kTooManySessions,    // maxUserSessions held already
  kRateLimited,        // over newPerSecond
};
inline constexpr size_t kDenyReasonCount = 6;
const char* denyReasonName(DenyReason r);  // "no_policy", "service_not_allowed", ...

// An IMSI of 1 to 15 digits as one number: its value, with its length in the bits above the
// value's 50, so that IMSIs that differ only in leading zeros ("001...", "1...") differ; 0 for
// any other string (no IMSI gives 0).
uint64_t imsiNumber(std::string_view imsi);
// A subscriber id for messages: "IMSI 001010000000001" for an imsiNumber, "session TEID
// 0x00001000" for one with the top bit set and a TEID below (SlowPath: a session without an
// IMSI), else the number.
std::string subscriberStr(uint64_t id);

struct AuthRequest {
  std::string_view imsi;
  std::string_view service;  // the service of the destination; empty: an external destination
  std::chrono::steady_clock::time_point now;
  // An existing user session going on to this service (a series re-target): the service
  // and external rules apply, the limits on user sessions do not, and nothing is counted.
  bool continuing = false;
};

struct AuthDecision {
  DenyReason reason = DenyReason::kNone;
  const SubscriberPolicy* policy = nullptr;  // the policy that decided (null: kNoPolicy)
  bool allowed() const { return reason == DenyReason::kNone; }
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual AuthDecision authorize(const AuthRequest& r) = 0;
  // A user session this authorizer allowed ended (or was not set up after all).
  virtual void release(std::string_view imsi) = 0;
  // A user session the device still holds at start-up: counted as held, not decided again.
  virtual void restore(std::string_view imsi) = 0;
};

class LocalAuthorizer : public Authorizer {
 public:
  // Replaces the policies and the subscribers' assignments (IMSI -> policy name); the
  // subscribers' counts and buckets are kept. Refused whole (nothing changes) when a policy
  // is invalid or an assignment names no policy.
  Status setPolicies(std::vector<SubscriberPolicy> policies,
                     std::map<std::string, std::string> assignments);

  AuthDecision authorize(const AuthRequest& r) override;
  void release(std::string_view imsi) override;
  void restore(std::string_view imsi) override;

  uint32_t userSessions(std::string_view imsi) const;  // held now, as counted here
  uint64_t denied(DenyReason r) const { return denied_[size_t(r)]; }

  // The key a subscriber's policy and counts are kept by: imsiNumber(imsi), another string
  // as its hash with the top bit set.
  static uint64_t key(std::string_view imsi);

 private:
  struct Held {
    uint32_t sessions = 0;
    // The new-per-second bucket in token-nanoseconds (a token is 1e9 of them; a nanosecond
    // adds `newPerSecond`), exact in integers: at most one second's worth, 4.3e18.
    int64_t credit = 0;
    std::chrono::steady_clock::time_point at{};
    bool started = false;
  };
  const SubscriberPolicy* policyOf(std::string_view imsi) const;

  std::map<std::string, SubscriberPolicy, std::less<>> policies_;
  std::unordered_map<uint64_t, const SubscriberPolicy*> assigned_;  // by key(IMSI), into policies_
  const SubscriberPolicy* default_ = nullptr;
  std::unordered_map<uint64_t, Held> held_;
  uint64_t denied_[kDenyReasonCount] = {};
};

}  // namespace roamgate::control
