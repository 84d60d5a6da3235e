// LocalAuthorizer: each policy field's decision, the subscriber's policy (assigned, else
// "default", else none), limits counted at the decision and given back by release, the
// new-per-second bucket over time passed in, and policies refused whole.
#include "roamgate/control/authorizer.h"

#include <gtest/gtest.h>

namespace roamgate::control {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

SubscriberPolicy policy(std::string name, std::vector<std::string> services, bool external = false) {
  SubscriberPolicy p;
  p.name = std::move(name);
  p.services = std::move(services);
  p.external = external;
  return p;
}

TEST(LocalAuthorizer, ServicesAndExternalDestinationsAsThePolicySays) {
  LocalAuthorizer a;
  SubscriberPolicy all = policy("all", {}, true);
  all.anyService = true;
  ASSERT_TRUE(a.setPolicies({policy("default", {"web"}), all}, {{"001010000000002", "all"}}));
  Clock::time_point t{};
  AuthDecision d = a.authorize({"001010000000001", "web", t});
  EXPECT_TRUE(d.allowed());
  ASSERT_NE(d.policy, nullptr);
  EXPECT_EQ(d.policy->name, "default");
  EXPECT_EQ(a.authorize({"001010000000001", "video", t}).reason, DenyReason::kServiceNotAllowed);
  EXPECT_EQ(a.authorize({"001010000000001", "", t}).reason, DenyReason::kExternalNotAllowed);
  EXPECT_TRUE(a.authorize({"001010000000002", "video", t}).allowed()) << "assigned: every service";
  EXPECT_TRUE(a.authorize({"001010000000002", "", t}).allowed());
  EXPECT_EQ(a.denied(DenyReason::kServiceNotAllowed), 1u);
  EXPECT_EQ(a.denied(DenyReason::kExternalNotAllowed), 1u);
  EXPECT_EQ(a.userSessions("001010000000001"), 1u) << "denials take nothing";
  EXPECT_EQ(a.userSessions("001010000000002"), 2u);
}

TEST(LocalAuthorizer, NoPolicyAndNoDefaultIsADenial) {
  LocalAuthorizer a;
  EXPECT_EQ(a.authorize({"001010000000001", "web", {}}).reason, DenyReason::kNoPolicy);
  ASSERT_TRUE(a.setPolicies({policy("gold", {"web"})}, {{"001010000000009", "gold"}}));
  EXPECT_EQ(a.authorize({"001010000000001", "web", {}}).reason, DenyReason::kNoPolicy);
  AuthDecision d = a.authorize({"001010000000009", "web", {}});
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.policy->name, "gold");
  EXPECT_EQ(a.denied(DenyReason::kNoPolicy), 2u);
  EXPECT_STREQ(denyReasonName(DenyReason::kNoPolicy), "no_policy");
}

TEST(LocalAuthorizer, ConcurrentLimitCountsAtTheDecisionAndReleaseGivesItBack) {
  LocalAuthorizer a;
  SubscriberPolicy p = policy("default", {"web"});
  p.maxUserSessions = 3;
  ASSERT_TRUE(a.setPolicies({p}, {}));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(a.authorize({"1", "web", {}}).allowed()) << i;
  EXPECT_EQ(a.authorize({"1", "web", {}}).reason, DenyReason::kTooManySessions);
  EXPECT_TRUE(a.authorize({"2", "web", {}}).allowed()) << "each subscriber its own count";
  a.release("1");
  EXPECT_TRUE(a.authorize({"1", "web", {}}).allowed());
  EXPECT_EQ(a.authorize({"1", "web", {}}).reason, DenyReason::kTooManySessions);
  for (int i = 0; i < 5; ++i) a.release("1");
  EXPECT_EQ(a.userSessions("1"), 0u) << "never below zero";
  a.release("999");  // unknown: nothing
  EXPECT_EQ(a.userSessions("999"), 0u);
}

TEST(LocalAuthorizer, ImsisThatDifferOnlyInLeadingZerosAreDifferentSubscribers) {
  LocalAuthorizer a;
  SubscriberPolicy p = policy("default", {"web"});
  p.maxUserSessions = 1;
  SubscriberPolicy gold = policy("gold", {"video"});
  ASSERT_TRUE(a.setPolicies({p, gold}, {{"001010000000001", "gold"}}));
  // A test network's IMSI (MCC 001) and the same digits without the zeros.
  EXPECT_TRUE(a.authorize({"1010000000001", "web", {}}).allowed());
  EXPECT_TRUE(a.authorize({"01010000000001", "web", {}}).allowed()) << "its own count";
  EXPECT_EQ(a.authorize({"001010000000001", "web", {}}).reason, DenyReason::kServiceNotAllowed)
      << "its own policy";
  EXPECT_EQ(a.userSessions("001010000000001"), 0u);
  // Digit strings of every length up to 15, and other strings, all keep apart.
  std::set<uint64_t> keys;
  std::string s;
  for (int n = 1; n <= 15; ++n) {
    s.push_back(char('0' + n % 10));
    keys.insert(LocalAuthorizer::key(s));
    keys.insert(LocalAuthorizer::key(std::string(size_t(n), '0')));
  }
  keys.insert(LocalAuthorizer::key("0010100000000012"));  // 16 digits: not an IMSI's number
  keys.insert(LocalAuthorizer::key("00101a"));
  keys.insert(LocalAuthorizer::key(""));
  EXPECT_EQ(keys.size(), 33u);
  EXPECT_EQ(LocalAuthorizer::key("001010000000001"), LocalAuthorizer::key("001010000000001"));
  EXPECT_EQ(subscriberStr(imsiNumber("001010000000001")), "IMSI 001010000000001");
  EXPECT_EQ(subscriberStr(imsiNumber("0")), "IMSI 0");
  EXPECT_EQ(subscriberStr(uint64_t(1) << 63 | 0x1000), "session TEID 0x00001000");
  EXPECT_EQ(subscriberStr(7), "7");
}

TEST(LocalAuthorizer, NewUserSessionsPerSecondIsABucketOfThatRateAndBurst) {
  LocalAuthorizer a;
  SubscriberPolicy p = policy("default", {"web"});
  p.newPerSecond = 10;
  ASSERT_TRUE(a.setPolicies({p}, {}));
  Clock::time_point t = Clock::time_point{} + 100s;
  int allowed = 0;
  for (int i = 0; i < 25; ++i) allowed += a.authorize({"1", "web", t}).allowed();
  EXPECT_EQ(allowed, 10) << "the burst";
  EXPECT_EQ(a.denied(DenyReason::kRateLimited), 15u);
  t += 500ms;  // five tokens back
  allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += a.authorize({"1", "web", t}).allowed();
  EXPECT_EQ(allowed, 5);
  t += 1h;  // never more than the burst
  allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += a.authorize({"1", "web", t}).allowed();
  EXPECT_EQ(allowed, 10);
  // An earlier time than one seen adds nothing.
  EXPECT_EQ(a.authorize({"1", "web", t - 10s}).reason, DenyReason::kRateLimited);
  // Over a long run the rate is the policy's: 10 a second for 60 s of one attempt every 10 ms.
  allowed = 0;
  for (int i = 1; i <= 6000; ++i) allowed += a.authorize({"1", "web", t + i * 10ms}).allowed();
  EXPECT_EQ(allowed, 600);
}

TEST(LocalAuthorizer, BadPoliciesAreRefusedWholeAndNamed) {
  LocalAuthorizer a;
  ASSERT_TRUE(a.setPolicies({policy("default", {"web"})}, {}));
  auto refused = [&](std::vector<SubscriberPolicy> ps, std::map<std::string, std::string> as,
                     const std::string& text) {
    Status s = a.setPolicies(std::move(ps), std::move(as));
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find(text), std::string::npos) << s.message();
  };
  refused({policy("Gold!", {})}, {}, "policy name 'Gold!'");
  refused({policy("gold", {"web", "web"})}, {}, "names service web twice");
  SubscriberPolicy both = policy("gold", {"web"});
  both.anyService = true;
  refused({both}, {}, "one or the other");
  SubscriberPolicy slow = policy("gold", {});
  slow.denySeconds = 0;
  refused({slow}, {}, "deny time 0 s is not 1..86400");
  refused({policy("gold", {}), policy("gold", {})}, {}, "policy gold given twice");
  refused({policy("gold", {})}, {{"12a", "gold"}}, "IMSI '12a'");
  refused({policy("gold", {})}, {{"001010000000001", "silver"}}, "policy silver, which is not given");
  // Nothing changed: the first policies still decide.
  EXPECT_TRUE(a.authorize({"001010000000001", "web", {}}).allowed());
}

}  // namespace
}  // namespace roamgate::control
