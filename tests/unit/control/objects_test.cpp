// Stored objects' JSON: the session's hand-written writer produces what nlohmann writes, and
// its flat reader gives the same objects and the same errors as the full parser (which reads
// everything the flat one does not: escapes, nested values, odd numbers).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "roamgate/control/objects.h"
#include "roamgate/addr.h"

namespace roamgate::control {
namespace {

Session sample() {
  Session s;
  s.teid = 0xdeadbeef;
  s.imsi = "001010000000001";
  s.msisdn = "491700000001";
  s.ueIp = 0xc6130001;
  s.peerIp = 0xc6120101;
  s.dlTeid = 7;
  s.qfi = 5;
  s.gate = "gate-a";
  s.pinned = true;
  s.created = "2026-12-01T15:00:00.000Z";
  s.modified = "2026-12-01T15:00:01.000Z";
  return s;
}

// The text of `sample()` with one field's JSON value replaced ("" drops the field).
std::string withField(const std::string& name, const std::string& value) {
  nlohmann::json j = nlohmann::json::parse(toJson(sample()));
  j.erase(name);
  std::string t = j.dump();
  if (value.empty()) return t;
  t.pop_back();
  return t + ",\"" + name + "\":" + value + "}";
}

TEST(ObjectsJson, SessionIsWrittenAsNlohmannWritesIt) {
  Session s = sample();
  for (int variant = 0; variant < 3; ++variant) {
    if (variant == 1) s.qfi.reset();
    if (variant == 2) s.gate = "odd \"gate\"\\ \x01 name";
    std::string t = toJson(s);
    EXPECT_EQ(t, nlohmann::json::parse(t).dump()) << t;
    Result<Session> back = sessionFromJson(t);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, s);
  }
}

TEST(ObjectsJson, SessionReadsTheSameWhateverTheLayout) {
  Session s = sample();
  std::string pretty = nlohmann::json::parse(toJson(s)).dump(2);  // spaces and newlines
  Result<Session> p = sessionFromJson(pretty);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(*p, s);
  // An escape in a string is the full parser's to read.
  Result<Session> e = sessionFromJson(withField("gate", R"("gate-\u0061")"));
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->gate, "gate-a");
}

TEST(ObjectsJson, SessionErrorsNameTheField) {
  struct Case {
    std::string text, error;
  } cases[] = {
      {withField("qfi", "64"), "field qfi is not a number 0..63"},
      {withField("qfi", "-1"), "field qfi is not a number 0..63"},
      {withField("qfi", "1.5"), "field qfi is not a number 0..63"},
      {withField("qfi", "18446744073709551616"), "field qfi is not a number 0..63"},
      {withField("qfi", "null"), "field qfi is not a number 0..63"},
      {withField("qfi", "[1]"), "field qfi is not a number 0..63"},
      {withField("qfi", "07"), "is not a JSON object"},
      {withField("pinned", R"("yes")"), "field pinned is not true or false"},
      {withField("teid", "5"), "field teid is not a string"},
      {withField("teid", R"("0x0")"), "field teid '0x0' is not a TEID"},
      {withField("ue_ip", R"("198.18.0")"), "field ue_ip '198.18.0' is not an IPv4 address"},
      {withField("imsi", ""), "field imsi is missing"},
      {withField("colour", "1"), "unknown field 'colour'"},
      {withField("colour", R"("r\u00e9d")"), "unknown field 'colour'"},
      {toJson(sample()) + "x", "is not a JSON object"},
      {"[" + toJson(sample()) + "]", "is not a JSON object"},
      {R"({"teid":"0x1",})", "is not a JSON object"},
      {"", "is not a JSON object"},
  };
  for (const Case& c : cases) {
    Result<Session> r = sessionFromJson(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.error), std::string::npos)
        << c.text << " -> " << r.status().message();
    EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  }
}

// The hand-written address writer against libc's, at every octet's one-, two- and
// three-digit boundaries and on random addresses.
TEST(Addr, Ipv4StrMatchesInetNtop) {
  auto libc = [](uint32_t ip) {
    in_addr a{htonl(ip)};
    char b[INET_ADDRSTRLEN];
    return std::string(inet_ntop(AF_INET, &a, b, sizeof b));
  };
  std::vector<uint32_t> octets{0, 1, 9, 10, 11, 99, 100, 101, 199, 200, 249, 250, 255};
  for (uint32_t a : octets) {
    for (uint32_t b : octets) {
      uint32_t ip = a << 24 | b << 16 | b << 8 | a;
      ASSERT_EQ(ipv4Str(ip), libc(ip)) << ip;
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 100000; ++i) {
    uint32_t ip = rng();
    ASSERT_EQ(ipv4Str(ip), libc(ip)) << ip;
  }
}

}  // namespace
}  // namespace roamgate::control
