// The service catalog: the Service object's JSON and every refusal of checkService (each
// message naming the value), then the catalog on both stores: put/get/list/delete with the VIP
// index, a VIP held by one service only (also when two writers race for it), compare-and-set
// on the revision, server operations, two writers adding different servers to one service at
// once (both additions survive), and the StateCache following the services.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "../store/backend.h"
#include "roamgate/addr.h"
#include "roamgate/control/objects.h"
#include "roamgate/control/service_catalog.h"
#include "running_cache.h"

namespace roamgate::control {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kVipA = 0xc612000a;  // 198.18.0.10
constexpr uint32_t kVipB = 0xc612000b;  // 198.18.0.11
constexpr uint32_t kServer1 = 0xc6130101;  // 198.19.1.1

Server server(uint32_t ip, uint16_t port, uint32_t weight = 1, AdminState a = AdminState::kUp) {
  Server s;
  s.ip = ip;
  s.port = port;
  s.weight = weight;
  s.admin = a;
  return s;
}

Service web() {
  Service s;
  s.name = "web";
  s.vips = {{kVipA, 80, VipProto::kTcp}, {kVipA, 53, VipProto::kUdp}, {kVipA, 0, VipProto::kIcmp}};
  s.servers = {server(kServer1, 8080, 10), server(kServer1 + 1, 8080, 1, AdminState::kDrain)};
  s.policy = SelectionPolicy::kLeastSessions;
  s.hashOn = HashOn::kFiveTuple;
  s.type = UserSessionType::kAffinity;
  s.affinitySeconds = 600;
  s.created = "2026-12-01T15:00:00.000Z";
  s.modified = "2026-12-01T15:00:01.000Z";
  return s;
}

TEST(ServiceObject, JsonRoundTrip) {
  Service s = web();
  ASSERT_TRUE(checkService(s).ok()) << checkService(s).message();
  std::string text = toJson(s);
  Result<Service> back = serviceFromJson(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(sameService(*back, s)) << text;
  nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["vips"][0], (nlohmann::json{{"ip", "198.18.0.10"}, {"port", 80}, {"proto", "tcp"}}));
  EXPECT_FALSE(j["vips"][2].contains("port"));  // icmp: no port
  EXPECT_EQ(j["servers"][1]["admin"], "drain");
  EXPECT_EQ(j["policy"], "least_sessions");
  EXPECT_EQ(j["hash"], "5tuple");
  EXPECT_EQ(j["affinity_time"], 600);

  // An icmp-only connection service: servers without ports, no affinity time.
  Service p;
  p.name = "ping";
  p.vips = {{kVipB, 0, VipProto::kIcmp}};
  p.servers = {server(kServer1, 0)};
  ASSERT_TRUE(checkService(p).ok()) << checkService(p).message();
  nlohmann::json jp = nlohmann::json::parse(toJson(p));
  EXPECT_FALSE(jp.contains("affinity_time"));
  EXPECT_FALSE(jp["servers"][0].contains("port"));
  Result<Service> pb = serviceFromJson(toJson(p));
  ASSERT_TRUE(pb.ok()) << pb.status().message();
  EXPECT_TRUE(sameService(*pb, p));
  EXPECT_EQ(pb->type, UserSessionType::kConnection);
  EXPECT_EQ(pb->policy, SelectionPolicy::kMaglev);

  EXPECT_EQ(vipStr({kVipA, 80, VipProto::kTcp}), "198.18.0.10:80/tcp");
  EXPECT_EQ(vipStr({kVipA, 0, VipProto::kIcmp}), "198.18.0.10/icmp");
  EXPECT_EQ(vipKey({kVipA, 80, VipProto::kTcp}), "/roamgate/v1/vips/198.18.0.10:tcp:80");
  EXPECT_EQ(serviceKey("web"), "/roamgate/v1/services/web");
}

TEST(ServiceObject, JsonRefusesUnknownFieldsAndBadValues) {
  nlohmann::json good = nlohmann::json::parse(toJson(web()));
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> edit;
    const char* message;
  };
  std::vector<Case> cases = {
      {"unknown field", [](auto& j) { j["colour"] = "red"; }, "service: unknown field 'colour'"},
      {"unknown VIP field", [](auto& j) { j["vips"][0]["tls"] = true; },
       "service vips[0]: unknown field 'tls'"},
      {"icmp VIP port", [](auto& j) { j["vips"][2]["port"] = 1; }, "service vips[2]: unknown field 'port'"},
      {"unknown server field", [](auto& j) { j["servers"][1]["zone"] = "a"; },
       "service servers[1]: unknown field 'zone'"},
      {"proto", [](auto& j) { j["vips"][0]["proto"] = "sctp"; }, "proto 'sctp' is not tcp, udp or icmp"},
      {"VIP address", [](auto& j) { j["vips"][0]["ip"] = "198.18.0"; }, "ip '198.18.0' is not an IPv4 address"},
      {"port range", [](auto& j) { j["vips"][0]["port"] = 65536; }, "port is not a number 0..65535"},
      {"admin", [](auto& j) { j["servers"][0]["admin"] = "off"; }, "admin 'off' is not up, drain or down"},
      {"weight range", [](auto& j) { j["servers"][0]["weight"] = 70000; }, "weight is not a number 0..65535"},
      {"policy", [](auto& j) { j["policy"] = "random"; },
       "policy 'random' is not maglev, least_sessions or round_robin"},
      {"hash", [](auto& j) { j["hash"] = "dst"; }, "hash 'dst' is not terminal or 5tuple"},
      {"type", [](auto& j) { j["type"] = "external"; }, "type 'external' is not connection, affinity or series"},
      {"vips list", [](auto& j) { j["vips"] = "198.18.0.10"; }, "field vips is not a list of VIPs"},
      {"servers missing", [](auto& j) { j.erase("servers"); }, "field servers is not a list of servers"},
      {"affinity time of a connection service",
       [](auto& j) { j["type"] = "connection"; }, "unknown field 'affinity_time'"},
  };
  for (const Case& c : cases) {
    nlohmann::json j = good;
    c.edit(j);
    Result<Service> r = serviceFromJson(j.dump());
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.what << ": " << r.status().message();
  }
  EXPECT_FALSE(serviceFromJson("[1]").ok());
}

TEST(ServiceObject, EveryRefusalNamesTheValue) {
  struct Case {
    const char* what;
    std::function<void(Service&)> edit;
    const char* message;
  };
  std::vector<Case> cases = {
      {"name", [](Service& s) { s.name = "Web_1"; }, "service name 'Web_1' is not a name"},
      {"no VIP", [](Service& s) { s.vips.clear(); }, "service web has 0 representative addresses (1..16)"},
      {"17 VIPs",
       [](Service& s) {
         s.vips.clear();
         for (uint16_t p = 1; p <= 17; ++p) s.vips.push_back({kVipA, p, VipProto::kTcp});
       },
       "service web has 17 representative addresses (1..16)"},
      {"multicast VIP", [](Service& s) { s.vips[0].ip = 0xe0000005; },
       "service web VIP 224.0.0.5 is a multicast address"},
      {"VIP 0/8", [](Service& s) { s.vips[0].ip = 0; }, "service web VIP 0.0.0.0 is in 0.0.0.0/8"},
      {"tcp port 0", [](Service& s) { s.vips[0].port = 0; },
       "service web VIP 198.18.0.10/tcp has port 0 (a tcp or udp VIP takes a port 1..65535)"},
      {"icmp port", [](Service& s) { s.vips[2].port = 7; },
       "service web VIP 198.18.0.10:7/icmp has a port (an icmp VIP takes none"},
      {"duplicate VIP", [](Service& s) { s.vips.push_back(s.vips[0]); },
       "service web lists VIP 198.18.0.10:80/tcp twice"},
      {"multicast server", [](Service& s) { s.servers[0].ip = 0xe0000006; },
       "service web server 224.0.0.6 is a multicast address"},
      {"server is a VIP", [](Service& s) { s.servers[0].ip = kVipA; },
       "service web server 198.18.0.10:8080 is one of the service's VIPs"},
      {"server without port", [](Service& s) { s.servers[0].port = 0; },
       "service web server 198.19.1.1:0 has no port (1..65535"},
      {"weight 0", [](Service& s) { s.servers[0].weight = 0; },
       "service web server 198.19.1.1:8080 weight 0 is not 1..65535"},
      {"weight 65536", [](Service& s) { s.servers[0].weight = 65536; },
       "service web server 198.19.1.1:8080 weight 65536 is not 1..65535"},
      {"duplicate server", [](Service& s) { s.servers[1] = s.servers[0]; },
       "service web lists server 198.19.1.1:8080 twice"},
      {"too many servers",
       [](Service& s) {
         s.servers.clear();
         for (uint32_t i = 0; i <= kMaxServiceServers; ++i) s.servers.push_back(server(kServer1 + i, 80));
       },
       "service web has 4097 servers (at most 4096)"},
      {"affinity time 0", [](Service& s) { s.affinitySeconds = 0; },
       "service web affinity time 0 s is not 1..86400"},
      {"affinity time a day and one", [](Service& s) { s.affinitySeconds = 86401; },
       "service web affinity time 86401 s is not 1..86400"},
      {"icmp-only server port",
       [](Service& s) {
         s.vips = {{kVipA, 0, VipProto::kIcmp}};
       },
       "service web server 198.19.1.1:8080 has a port (the service's VIPs are all icmp: none)"},
  };
  for (const Case& c : cases) {
    Service s = web();
    c.edit(s);
    Status st = checkService(s);
    ASSERT_FALSE(st.ok()) << c.what;
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(st.message().find(c.message), std::string::npos) << c.what << ": " << st.message();
  }
  // A connection service ignores the affinity time; a service may have no servers yet.
  Service s = web();
  s.type = UserSessionType::kSeries;
  s.affinitySeconds = 0;
  s.servers.clear();
  EXPECT_TRUE(checkService(s).ok()) << checkService(s).message();
}

// ---- The catalog on both stores ----------------------------------------------------------------

class ServiceCatalogTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = GetParam() == "sqlite" ? store::test::makeSqliteBackend()
                                      : store::test::makeEtcdBackend();
    store_ = backend_->open();
    ASSERT_TRUE(store_);
  }
  std::string indexed(const Vip& v) {
    Result<store::Range> r = store_->get(vipKey(v));
    EXPECT_TRUE(r.ok());
    return r.ok() && !r->kvs.empty() ? r->kvs[0].value : "";
  }

  std::unique_ptr<store::test::TestBackend> backend_;
  std::unique_ptr<store::Store> store_;
};

Service simple(const std::string& name, uint32_t vip) {
  Service s;
  s.name = name;
  s.vips = {{vip, 80, VipProto::kTcp}};
  s.servers = {server(kServer1 + 0x10, 8080)};
  return s;
}

TEST_P(ServiceCatalogTest, PutGetListDeleteKeepTheVipIndex) {
  test::RunningCache cache(*store_);
  ServiceCatalog cat(*store_);
  Result<Service> w = cat.put(web(), {.createOnly = true});
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_GT(w->revision, 0);
  EXPECT_FALSE(w->created.empty());
  Result<Service> got = cat.get("web");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(sameService(*got, *w));
  EXPECT_EQ(got->revision, w->revision);
  for (const Vip& v : web().vips) EXPECT_EQ(indexed(v), "web") << vipStr(v);
  ASSERT_TRUE(cat.put(simple("api", kVipB)).ok());
  Result<std::vector<Service>> all = cat.list();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "api");
  EXPECT_EQ((*all)[1].name, "web");

  // The cache follows.
  ASSERT_TRUE(cache.cache.waitFor(store_->get("/")->revision, 10s));
  EXPECT_EQ(cache.cache.read([](const StateSnapshot& s) { return s.services.size(); }), 2u);
  EXPECT_EQ(cache.cache.read([](const StateSnapshot& s) { return s.services.at("web").servers.size(); }),
            2u);

  // A replace with other VIPs: the dropped ones leave the index, created time stays.
  Service r = web();
  r.vips = {{kVipA, 443, VipProto::kTcp}};
  Result<Service> rw = cat.put(r);
  ASSERT_TRUE(rw.ok()) << rw.status().message();
  EXPECT_EQ(rw->created, w->created);
  EXPECT_EQ(indexed({kVipA, 80, VipProto::kTcp}), "");
  EXPECT_EQ(indexed({kVipA, 0, VipProto::kIcmp}), "");
  EXPECT_EQ(indexed({kVipA, 443, VipProto::kTcp}), "web");

  ASSERT_TRUE(cat.remove("web").ok());
  EXPECT_EQ(cat.get("web").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cat.remove("web").code(), StatusCode::kNotFound);
  EXPECT_EQ(indexed({kVipA, 443, VipProto::kTcp}), "");
  ASSERT_TRUE(cache.cache.waitFor(store_->get("/")->revision, 10s));
  EXPECT_EQ(cache.cache.read([](const StateSnapshot& s) { return s.services.count("web"); }), 0u);
  EXPECT_EQ(cat.get("Bad_Name").status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ServiceCatalogTest, AVipBelongsToOneService) {
  ServiceCatalog cat(*store_);
  ASSERT_TRUE(cat.put(simple("web", kVipA)).ok());
  Result<Service> api = cat.put(simple("api", kVipA));
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(api.status().message().find("VIP 198.18.0.10:80/tcp belongs to service web"),
            std::string::npos)
      << api.status().message();
  EXPECT_EQ(cat.get("api").status().code(), StatusCode::kNotFound);  // nothing written
  // Another port or protocol on the same address is another VIP.
  Service udp = simple("dns", kVipA);
  udp.vips[0].proto = VipProto::kUdp;
  EXPECT_TRUE(cat.put(udp).ok());
  // A server that is another service's VIP, and a VIP that is another service's server.
  Service loop = simple("loop", kVipB);
  loop.servers[0].ip = kVipA;
  Result<Service> l = cat.put(loop);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(l.status().message().find("198.18.0.10 is a VIP of service "), std::string::npos)
      << l.status().message();
  Service onto = simple("onto", kServer1 + 0x10);  // web's server as a VIP
  onto.servers[0].ip = kServer1 + 0x20;
  Result<Service> v = cat.put(onto);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("is a server of service "), std::string::npos)
      << v.status().message();
  // Freed with its service.
  ASSERT_TRUE(cat.remove("web").ok());
  EXPECT_TRUE(cat.put(simple("api", kVipA)).ok());
}

TEST_P(ServiceCatalogTest, TwoWritersRacingForOneVipOneWins) {
  std::unique_ptr<store::Store> other = backend_->open();
  ServiceCatalog c1(*store_), c2(*other);
  for (int round = 0; round < 10; ++round) {
    uint32_t vip = kVipA + 0x100 * uint32_t(round);
    std::atomic<int> ready{0};
    std::optional<Result<Service>> o1, o2;
    auto go = [&](ServiceCatalog& c, const std::string& name, std::optional<Result<Service>>& out) {
      ++ready;
      while (ready < 2) {
      }
      out = c.put(simple(name, vip));
    };
    std::thread t1(go, std::ref(c1), "a" + std::to_string(round), std::ref(o1));
    std::thread t2(go, std::ref(c2), "b" + std::to_string(round), std::ref(o2));
    t1.join();
    t2.join();
    const Result<Service>& r1 = *o1;
    const Result<Service>& r2 = *o2;
    ASSERT_NE(r1.ok(), r2.ok()) << "round " << round;
    const Result<Service>& lost = r1.ok() ? r2 : r1;
    EXPECT_EQ(lost.status().code(), StatusCode::kAlreadyExists) << lost.status().message();
    EXPECT_EQ(indexed({vip, 80, VipProto::kTcp}), r1.ok() ? r1->name : r2->name);
  }
}

TEST_P(ServiceCatalogTest, CreateOnlyAndCompareAndSet) {
  ServiceCatalog cat(*store_);
  Result<Service> w = cat.put(simple("web", kVipA));
  ASSERT_TRUE(w.ok());
  Result<Service> again = cat.put(simple("web", kVipA), {.createOnly = true});
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  Service changed = simple("web", kVipA);
  changed.policy = SelectionPolicy::kRoundRobin;
  Result<Service> cas = cat.put(changed, {.ifRevision = w->revision});
  ASSERT_TRUE(cas.ok()) << cas.status().message();
  Result<Service> stale = cat.put(changed, {.ifRevision = w->revision});
  EXPECT_EQ(stale.status().code(), StatusCode::kAborted);
  EXPECT_NE(stale.status().message().find("is at revision " + std::to_string(cas->revision)),
            std::string::npos)
      << stale.status().message();
  EXPECT_EQ(cat.remove("web", w->revision).code(), StatusCode::kAborted);
  EXPECT_TRUE(cat.remove("web", cas->revision).ok());
  Result<Service> bad = cat.put(simple("Bad", kVipA));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ServiceCatalogTest, ServerOperations) {
  ServiceCatalog cat(*store_);
  ASSERT_TRUE(cat.put(simple("web", kVipA)).ok());
  ASSERT_TRUE(cat.put(simple("api", kVipB)).ok());
  Result<Service> s = cat.setServer("web", {kServer1, 8080, 5, std::nullopt}, ServerWrite::kAdd);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->servers.size(), 2u);
  EXPECT_EQ(s->servers[0].ip, kServer1);  // sorted by (address, port)
  EXPECT_EQ(s->servers[0].weight, 5u);
  EXPECT_EQ(cat.setServer("web", {kServer1, 8080}, ServerWrite::kAdd).status().code(),
            StatusCode::kAlreadyExists);
  s = cat.setServer("web", {kServer1, 8080, std::nullopt, AdminState::kDrain}, ServerWrite::kChange);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->servers[0].admin, AdminState::kDrain);
  EXPECT_EQ(s->servers[0].weight, 5u);
  EXPECT_EQ(cat.get("web")->servers[0].admin, AdminState::kDrain);
  EXPECT_EQ(cat.setServer("web", {kServer1, 9}, ServerWrite::kChange).status().code(),
            StatusCode::kNotFound);
  Result<Service> w0 = cat.setServer("web", {kServer1, 8080, 0, std::nullopt});
  ASSERT_FALSE(w0.ok());
  EXPECT_EQ(w0.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(w0.status().message().find("weight 0 is not 1..65535"), std::string::npos);
  Result<Service> vip = cat.setServer("web", {kVipB, 80});
  ASSERT_FALSE(vip.ok());
  EXPECT_NE(vip.status().message().find("198.18.0.11 is a VIP of service api"), std::string::npos)
      << vip.status().message();
  EXPECT_EQ(cat.setServer("none", {kServer1, 80}).status().code(), StatusCode::kNotFound);
  s = cat.removeServer("web", kServer1, 8080);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->servers.size(), 1u);
  EXPECT_EQ(cat.removeServer("web", kServer1, 8080).status().code(), StatusCode::kNotFound);
}

TEST_P(ServiceCatalogTest, TwoWritersAddingDifferentServersBothSurvive) {
  std::unique_ptr<store::Store> other = backend_->open();
  ServiceCatalog c1(*store_), c2(*other);
  ASSERT_TRUE(c1.put(simple("web", kVipA)).ok());
  constexpr uint16_t kEach = 25;
  std::atomic<int> ready{0};
  std::vector<Status> errors(2);
  auto go = [&](ServiceCatalog& c, uint16_t base, Status& err) {
    ++ready;
    while (ready < 2) {
    }
    for (uint16_t i = 0; i < kEach && err.ok(); ++i) {
      Result<Service> r = c.setServer("web", {kServer1, uint16_t(base + i)}, ServerWrite::kAdd);
      if (!r.ok()) err = r.status();
    }
  };
  std::thread t1(go, std::ref(c1), 1000, std::ref(errors[0]));
  std::thread t2(go, std::ref(c2), 2000, std::ref(errors[1]));
  t1.join();
  t2.join();
  EXPECT_TRUE(errors[0].ok()) << errors[0].message();
  EXPECT_TRUE(errors[1].ok()) << errors[1].message();
  Result<Service> s = c1.get("web");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->servers.size(), 1u + 2 * kEach);
  for (uint16_t i = 0; i < kEach; ++i) {
    for (uint16_t base : {1000, 2000}) {
      uint16_t port = uint16_t(base + i);
      EXPECT_TRUE(std::any_of(s->servers.begin(), s->servers.end(),
                              [&](const Server& v) { return v.ip == kServer1 && v.port == port; }))
          << "server " << serverStr(kServer1, port) << " lost";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ServiceCatalogTest, ::testing::Values("sqlite", "etcd"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace roamgate::control
