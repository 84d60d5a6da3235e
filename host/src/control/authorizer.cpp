#include "roamgate/control/authorizer.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <set>

#include "roamgate/control/objects.h"

namespace roamgate::control {

Status checkPolicy(const SubscriberPolicy& p) {
  if (Status s = checkName("policy name", p.name); !s) return s;
  std::set<std::string_view> seen;
  for (const std::string& s : p.services) {
    if (Status st = checkName("policy " + p.name + " service", s); !st) return st;
    if (!seen.insert(s).second) {
      return Status::error(StatusCode::kInvalidArgument,
                           "policy " + p.name + " names service " + s + " twice");
    }
  }
  if (p.anyService && !p.services.empty()) {
    return Status::error(StatusCode::kInvalidArgument,
                         "policy " + p.name + " allows every service and also lists some: one or the other");
  }
  if (p.denySeconds < 1 || p.denySeconds > 86400) {
    return Status::error(StatusCode::kInvalidArgument, "policy " + p.name + " deny time " +
                                                           std::to_string(p.denySeconds) +
                                                           " s is not 1..86400");
  }
  return {};
}

const char* denyReasonName(DenyReason r) {
  switch (r) {
    case DenyReason::kNone: return "allowed";
    case DenyReason::kNoPolicy: return "no_policy";
    case DenyReason::kServiceNotAllowed: return "service_not_allowed";
    case DenyReason::kExternalNotAllowed: return "external_not_allowed";
    case DenyReason::kTooManySessions: return "too_many_sessions";
    case DenyReason::kRateLimited: return "rate_limited";
  }
  return "unknown";
}

Status LocalAuthorizer::setPolicies(std::vector<SubscriberPolicy> policies,
                                    std::map<std::string, std::string> assignments) {
  std::map<std::string, SubscriberPolicy, std::less<>> byName;
  for (SubscriberPolicy& p : policies) {
    if (Status s = checkPolicy(p); !s) return s;
    std::string name = p.name;
    if (!byName.emplace(name, std::move(p)).second) {
      return Status::error(StatusCode::kInvalidArgument, "policy " + name + " given twice");
    }
  }
  for (auto& [imsi, name] : assignments) {
    if (Status s = checkDigits("IMSI", imsi, 15); !s || imsi.empty()) {
      return Status::error(StatusCode::kInvalidArgument,
                           "subscriber IMSI '" + imsi + "' is not 1-15 digits");
    }
    if (!byName.count(name)) {
      return Status::error(StatusCode::kNotFound,
                           "subscriber " + imsi + " is assigned policy " + name + ", which is not given");
    }
  }
  policies_ = std::move(byName);
  assigned_.clear();
  assigned_.reserve(assignments.size());
  for (auto& [imsi, name] : assignments) assigned_.emplace(key(imsi), &policies_.find(name)->second);
  auto d = policies_.find("default");
  default_ = d == policies_.end() ? nullptr : &d->second;
  return {};
}

const SubscriberPolicy* LocalAuthorizer::policyOf(std::string_view imsi) const {
  if (assigned_.empty()) return default_;
  auto a = assigned_.find(key(imsi));
  return a != assigned_.end() ? a->second : default_;
}

AuthDecision LocalAuthorizer::authorize(const AuthRequest& r) {
  AuthDecision d;
  d.policy = policyOf(r.imsi);
  auto deny = [&](DenyReason why) {
    d.reason = why;
    ++denied_[size_t(why)];
    return d;
  };
  if (!d.policy) return deny(DenyReason::kNoPolicy);
  const SubscriberPolicy& p = *d.policy;
  if (r.service.empty()) {
    if (!p.external) return deny(DenyReason::kExternalNotAllowed);
  } else if (!p.anyService &&
             std::find(p.services.begin(), p.services.end(), r.service) == p.services.end()) {
    return deny(DenyReason::kServiceNotAllowed);
  }
  if (r.continuing) return d;
  Held& h = held_[key(r.imsi)];
  if (p.maxUserSessions && h.sessions >= p.maxUserSessions) return deny(DenyReason::kTooManySessions);
  if (p.newPerSecond) {
    constexpr int64_t kToken = 1'000'000'000;
    const int64_t full = int64_t(p.newPerSecond) * kToken;  // the burst: one second's tokens
    if (!h.started) {
      h.credit = full;
      h.at = r.now;
      h.started = true;
    } else if (r.now > h.at) {
      int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(r.now - h.at).count();
      h.credit = std::min(full, h.credit + std::min(ns, kToken) * int64_t(p.newPerSecond));
      h.at = r.now;
    }
    if (h.credit < kToken) return deny(DenyReason::kRateLimited);
    h.credit -= kToken;
  }
  ++h.sessions;
  return d;
}

namespace {

// Eight ASCII digits, the first in the lowest byte, as their value; -1 if one is not a digit.
int64_t eightDigits(uint64_t chars) {
  uint64_t v = chars ^ 0x3030303030303030ull;  // '0'..'9' -> 0..9; anything else above 9
  if ((v | (v + 0x7676767676767676ull)) & 0x8080808080808080ull) return -1;
  v = (v * 10 + (v >> 8)) & 0x00ff00ff00ff00ffull;  // pairs of digits
  v = (v * 100 + (v >> 16)) & 0x0000ffff0000ffffull;  // fours
  return int64_t((v * 10000 + (v >> 32)) & 0xffffffffull);
}

}  // namespace

uint64_t imsiNumber(std::string_view imsi) {
  size_t n = imsi.size();
  if (n == 0 || n > 15) return 0;
  // Right-aligned in sixteen '0's: two groups of eight digits.
  char buf[16];
  std::memset(buf, '0', sizeof buf);
  std::memcpy(buf + 16 - n, imsi.data(), n);
  uint64_t hi, lo;
  std::memcpy(&hi, buf, 8);
  std::memcpy(&lo, buf + 8, 8);
  if constexpr (std::endian::native == std::endian::big) {
    hi = __builtin_bswap64(hi);
    lo = __builtin_bswap64(lo);
  }
  int64_t h = eightDigits(hi), l = eightDigits(lo);
  if (h < 0 || l < 0) return 0;
  return uint64_t(n) << 50 | (uint64_t(h) * 100000000 + uint64_t(l));
}

std::string subscriberStr(uint64_t id) {
  constexpr uint64_t kValueMask = (uint64_t(1) << 50) - 1;
  uint64_t len = id >> 50;
  if (len >= 1 && len <= 15 && (id & kValueMask) < uint64_t(1e15)) {
    std::string v = std::to_string(id & kValueMask);
    if (v.size() <= len) return "IMSI " + std::string(len - v.size(), '0') + v;
  }
  if (id >> 63 && (id & ~(uint64_t(1) << 63)) <= 0xffffffffu) {
    char t[16];
    std::snprintf(t, sizeof t, "0x%08x", unsigned(id));
    return std::string("session TEID ") + t;
  }
  return std::to_string(id);
}

uint64_t LocalAuthorizer::key(std::string_view imsi) {
  uint64_t v = imsiNumber(imsi);
  return v ? v : (std::hash<std::string_view>{}(imsi) | uint64_t(1) << 63);
}

void LocalAuthorizer::release(std::string_view imsi) {
  auto it = held_.find(key(imsi));
  if (it != held_.end() && it->second.sessions > 0) --it->second.sessions;
}

void LocalAuthorizer::restore(std::string_view imsi) { ++held_[key(imsi)].sessions; }

uint32_t LocalAuthorizer::userSessions(std::string_view imsi) const {
  auto it = held_.find(key(imsi));
  return it == held_.end() ? 0 : it->second.sessions;
}

}  // namespace roamgate::control
