// roamctl's service catalog commands through roamd's API (issue 11): services (their
// representative addresses, selection policy and user-session type) and the servers behind
// them. roamd checks every value and names it; exit statuses as the other daemon commands
// (api_client.h): 2 for a value refused, 1 for a refusal (a VIP another service holds, a
// service or server that exists or does not), 3 for no roamd.
#include <chrono>
#include <cstdio>
#include <thread>
#include <string>
#include <vector>

#include "api_client.h"
#include "daemon_cmds.h"

namespace roamctl {

namespace {

// The leading words of `args` that are not options (NAME, SERVICE, IP:PORT); the rest stays.
std::vector<std::string> takeWords(std::vector<std::string>& args, const std::vector<const char*>& names) {
  std::vector<std::string> out;
  for (const char* n : names) {
    if (args.empty() || args[0].rfind("--", 0) == 0) throw UsageError{std::string("missing ") + n};
    out.push_back(args[0]);
    args.erase(args.begin());
  }
  return out;
}

// IP:PORT, or IP alone (port 0: a service whose VIPs are all icmp). roamd checks the values.
void parseServerAddr(const std::string& what, const std::string& s, std::string& ip, uint32_t& port) {
  size_t c = s.find(':');
  ip = s.substr(0, c);
  port = c == std::string::npos ? 0 : parseU32(what + " port", s.substr(c + 1));
  if (ip.empty()) throw UsageError{what + " '" + s + "' is not IP:PORT"};
}

// IP:PORT/tcp, IP:PORT/udp or IP/icmp.
pb::Vip parseVip(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos) {
    throw UsageError{"--vip '" + s + "' is not IP:PORT/tcp, IP:PORT/udp or IP/icmp"};
  }
  pb::Vip v;
  v.set_proto(s.substr(slash + 1));
  std::string ip;
  uint32_t port = 0;
  parseServerAddr("--vip", s.substr(0, slash), ip, port);
  v.set_ip(ip);
  v.set_port(port);
  return v;
}

// IP:PORT[,weight=W][,admin=up|drain|down]
pb::Server parseServerSpec(const std::string& s) {
  pb::Server v;
  size_t comma = s.find(',');
  std::string ip;
  uint32_t port = 0;
  parseServerAddr("--server", s.substr(0, comma), ip, port);
  v.set_ip(ip);
  v.set_port(port);
  v.set_weight(1);
  while (comma != std::string::npos) {
    size_t next = s.find(',', comma + 1);
    std::string kv = s.substr(comma + 1, next == std::string::npos ? std::string::npos : next - comma - 1);
    if (kv.rfind("weight=", 0) == 0) {
      v.set_weight(parseU32("--server " + ip + " weight", kv.substr(7)));
    } else if (kv.rfind("admin=", 0) == 0) {
      v.set_admin(kv.substr(6));
    } else {
      throw UsageError{"--server '" + s + "': '" + kv + "' is not weight=W or admin=up|drain|down"};
    }
    comma = next;
  }
  return v;
}

std::string vipText(const pb::Vip& v) {
  return v.proto() == "icmp" ? v.ip() + "/icmp" : v.ip() + ":" + std::to_string(v.port()) + "/" + v.proto();
}
std::string serverAddr(const pb::Server& v) {
  return v.port() ? v.ip() + ":" + std::to_string(v.port()) : v.ip();
}

json serverJson(const pb::Server& v) {
  json j = {{"ip", v.ip()}, {"weight", v.weight()}, {"admin", v.admin()}, {"user_sessions", v.user_sessions()}};
  if (v.port()) j["port"] = v.port();
  return j;
}

json serviceJson(const pb::Service& s) {
  json vips = json::array(), servers = json::array();
  for (const pb::Vip& v : s.vips()) {
    json jv = {{"ip", v.ip()}, {"proto", v.proto()}};
    if (v.proto() != "icmp") jv["port"] = v.port();
    vips.push_back(jv);
  }
  for (const pb::Server& v : s.servers()) servers.push_back(serverJson(v));
  json j = {{"name", s.name()},         {"vips", vips},           {"servers", servers},
            {"policy", s.policy()},     {"hash", s.hash()},       {"type", s.type()},
            {"created", s.created()},   {"modified", s.modified()}, {"revision", s.revision()}};
  if (s.type() == "affinity") j["affinity_time"] = s.affinity_time();
  j["check"] = s.check().empty() ? json(nullptr) : json(s.check());
  return j;
}

std::string serverBrief(const pb::Server& v) {
  return serverAddr(v) + " weight " + std::to_string(v.weight()) + " " + v.admin();
}
std::string serverLine(const pb::Server& v) {
  return serverBrief(v) + " user sessions " + std::to_string(v.user_sessions()) + "\n";
}

std::string serviceLine(const pb::Service& s) {
  std::string vips;
  for (const pb::Vip& v : s.vips()) vips += (vips.empty() ? "" : ",") + vipText(v);
  size_t up = 0;
  for (const pb::Server& v : s.servers()) up += v.admin() == "up";
  std::string type = s.type() == "affinity" ? "affinity " + std::to_string(s.affinity_time()) + "s" : s.type();
  char b[1024];
  std::snprintf(b, sizeof b, "%-16s %s %s/%s %s servers %d (%zu up)\n", s.name().c_str(), vips.c_str(),
                s.policy().c_str(), s.hash().c_str(), type.c_str(), s.servers_size(), up);
  return b;
}

std::string serviceText(const pb::Service& s) {
  std::string t = "service " + s.name() + " revision " + std::to_string(s.revision()) + "\n  vips";
  for (const pb::Vip& v : s.vips()) t += " " + vipText(v);
  t += "\n  policy " + s.policy() + " hash " + s.hash() + " type " + s.type();
  if (s.type() == "affinity") t += " affinity time " + std::to_string(s.affinity_time()) + " s";
  t += "\n  check " + (s.check().empty() ? std::string("none (servers taken as up)") : s.check()) + "\n";
  if (s.servers_size() == 0) t += "  no servers\n";
  for (const pb::Server& v : s.servers()) t += "  server " + serverLine(v);
  return t;
}

const pb::Server* findServer(const pb::Service& s, const std::string& ip, uint32_t port) {
  for (const pb::Server& v : s.servers()) {
    if (v.ip() == ip && v.port() == port) return &v;
  }
  return nullptr;
}

int serviceAdd(Api& api, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  std::string name = takeWords(args, {"service NAME"})[0];
  po::options_description d;
  d.add_options()("vip", po::value<std::vector<std::string>>()->required())(
      "policy", po::value<std::string>())("hash", po::value<std::string>())("type", po::value<std::string>())(
      "affinity-time", po::value<std::string>())("server", po::value<std::vector<std::string>>())(
      "check", po::value<std::string>());
  po::variables_map vm = subOptions(d, args);
  pb::PutServiceRequest in;
  in.set_create_only(true);
  pb::Service* s = in.mutable_service();
  s->set_name(name);
  for (const std::string& v : vm["vip"].as<std::vector<std::string>>()) *s->add_vips() = parseVip(v);
  if (vm.count("server")) {
    for (const std::string& v : vm["server"].as<std::vector<std::string>>()) *s->add_servers() = parseServerSpec(v);
  }
  if (vm.count("policy")) s->set_policy(str(vm, "policy"));
  if (vm.count("hash")) s->set_hash(str(vm, "hash"));
  if (vm.count("type")) s->set_type(str(vm, "type"));
  if (vm.count("affinity-time")) {
    s->set_affinity_time(parseU32("--affinity-time", str(vm, "affinity-time"), 0xffffffffull, 1));
  }
  if (vm.count("check")) s->set_check(str(vm, "check"));
  pb::ServiceReply out;
  if (grpc::Status st = api.stub->PutService(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  api.print(serviceJson(out.service()), "added " + serviceText(out.service()));
  return kExitOk;
}

int serviceList(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  subOptions(d, args);
  pb::Empty in;
  pb::ListServicesReply out;
  if (grpc::Status st = api.stub->ListServices(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  json j = json::array();
  std::string text;
  for (const pb::Service& s : out.services()) {
    j.push_back(serviceJson(s));
    text += serviceLine(s);
  }
  api.print(j, text.empty() ? "no services\n" : text);
  return kExitOk;
}

int serviceGet(Api& api, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  pb::ServiceNameRequest in;
  in.set_name(takeWords(args, {"service NAME"})[0]);
  po::options_description d;
  subOptions(d, args);
  pb::ServiceReply out;
  if (grpc::Status st = api.stub->GetService(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  api.print(serviceJson(out.service()), serviceText(out.service()));
  return kExitOk;
}

int serviceDelete(Api& api, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  pb::ServiceNameRequest in;
  in.set_name(takeWords(args, {"service NAME"})[0]);
  po::options_description d;
  subOptions(d, args);
  pb::Empty out;
  if (grpc::Status st = api.stub->DeleteService(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  api.print({{"deleted", in.name()}}, "deleted service " + in.name() + "\n");
  return kExitOk;
}

// A SetServer request for the words SERVICE IP:PORT; `ip` and `port` as parsed.
pb::SetServerRequest serverRequest(const std::vector<std::string>& w, std::string& ip, uint32_t& port) {
  pb::SetServerRequest in;
  in.set_service(w[0]);
  parseServerAddr("server", w[1], ip, port);
  in.set_ip(ip);
  in.set_port(port);
  return in;
}

// server add / server set: one request, the server as stored in the reply.
int serverWrite(Api& api, const std::vector<std::string>& argv, bool add) {
  std::vector<std::string> args = argv;
  std::vector<std::string> w = takeWords(args, {"SERVICE", "server IP:PORT"});
  po::options_description d;
  d.add_options()("weight", po::value<std::string>());
  if (!add) d.add_options()("admin", po::value<std::string>());
  po::variables_map vm = subOptions(d, args);
  std::string ip;
  uint32_t port = 0;
  pb::SetServerRequest in = serverRequest(w, ip, port);
  in.set_mode(add ? pb::SetServerRequest::ADD : pb::SetServerRequest::CHANGE);
  if (vm.count("weight")) {
    in.set_has_weight(true);
    in.set_weight(parseU32("--weight", str(vm, "weight")));
  }
  if (vm.count("admin")) in.set_admin(str(vm, "admin"));
  if (!add && !vm.count("weight") && !vm.count("admin")) throw UsageError{"server set changes --weight or --admin: give one"};
  pb::ServiceReply out;
  if (grpc::Status st = api.stub->SetServer(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  const pb::Server* v = findServer(out.service(), ip, port);
  if (!v) return api.fail(grpc::Status(grpc::StatusCode::INTERNAL, "roamd's reply lacks server " + w[1]));
  json j = serverJson(*v);
  j["service"] = w[0];
  j["revision"] = out.service().revision();
  api.print(j, std::string(add ? "added" : "set") + " server " + serverBrief(*v) + " in service " + w[0] + "\n");
  return kExitOk;
}

int serverAdd(Api& api, const std::vector<std::string>& args) { return serverWrite(api, args, true); }
int serverSet(Api& api, const std::vector<std::string>& args) { return serverWrite(api, args, false); }

int serverRemove(Api& api, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  std::vector<std::string> w = takeWords(args, {"SERVICE", "server IP:PORT"});
  po::options_description d;
  subOptions(d, args);
  pb::RemoveServerRequest in;
  in.set_service(w[0]);
  std::string ip;
  uint32_t port = 0;
  parseServerAddr("server", w[1], ip, port);
  in.set_ip(ip);
  in.set_port(port);
  pb::ServiceReply out;
  if (grpc::Status st = api.stub->RemoveServer(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  api.print({{"removed", w[1]}, {"service", w[0]}, {"revision", out.service().revision()}},
            "removed server " + w[1] + " from service " + w[0] + "\n");
  return kExitOk;
}

// server drain: admin drain (no new user sessions), then, with --wait, until the last user
// session on this roamd's gates has ended (progress each second on stderr).
int serverDrain(Api& api, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  std::vector<std::string> w = takeWords(args, {"SERVICE", "server IP:PORT"});
  po::options_description d;
  d.add_options()("wait", po::value<std::string>());
  po::variables_map vm = subOptions(d, args);
  uint32_t waitS = vm.count("wait") ? parseU32("--wait", str(vm, "wait"), 86400, 0) : 0;
  std::string ip;
  uint32_t port = 0;
  pb::SetServerRequest in = serverRequest(w, ip, port);
  in.set_admin("drain");
  in.set_mode(pb::SetServerRequest::CHANGE);
  pb::ServiceReply out;
  if (grpc::Status st = api.stub->SetServer(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  auto t0 = std::chrono::steady_clock::now();
  uint64_t left = 0;
  for (;;) {
    pb::ServiceNameRequest q;
    q.set_name(w[0]);
    pb::ServiceReply now;
    if (grpc::Status st = api.stub->GetService(api.ctx().get(), q, &now); !st.ok()) return api.fail(st);
    const pb::Server* v = findServer(now.service(), ip, port);
    left = v ? v->user_sessions() : 0;
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (left == 0 || waited >= waitS) break;
    std::fprintf(stderr, "server %s of %s: %llu user sessions left (%.0f s)\n", w[1].c_str(), w[0].c_str(),
                 (unsigned long long)left, waited);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json j = {{"service", w[0]}, {"server", w[1]}, {"admin", "drain"}, {"user_sessions", left},
            {"drained", left == 0}, {"waited_s", waited}};
  std::string text = left == 0 ? "server " + w[1] + " of " + w[0] + " drained: no user session left\n"
                               : "server " + w[1] + " of " + w[0] + " draining: " + std::to_string(left) +
                                     " user sessions left" + (waitS ? " after " + std::to_string(waitS) + " s" : "") + "\n";
  api.print(j, text);
  return left == 0 || waitS == 0 ? kExitOk : kExitFailed;
}

int serverList(Api& api, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  pb::ServiceNameRequest in;
  in.set_name(takeWords(args, {"SERVICE"})[0]);
  po::options_description d;
  subOptions(d, args);
  pb::ServiceReply out;
  if (grpc::Status st = api.stub->GetService(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  json j = json::array();
  std::string text;
  for (const pb::Server& v : out.service().servers()) {
    j.push_back(serverJson(v));
    text += serverLine(v);
  }
  api.print(j, text.empty() ? "no servers in service " + in.name() + "\n" : text);
  return kExitOk;
}

}  // namespace

std::vector<DaemonCommand> serviceCommands() {
  return {
      {"service add",
       "service add NAME --vip IP:PORT/tcp|IP:PORT/udp|IP/icmp ...\n"
       "            [--policy maglev|least_sessions|round_robin] [--hash terminal|5tuple]\n"
       "            [--type connection|affinity|series] [--affinity-time S]\n"
       "            [--server IP:PORT[,weight=W][,admin=up|drain|down]] ...\n"
       "            [--check tcp|http[,interval=MS][,timeout=MS][,rise=N][,fall=N][,path=/P][,status=N]]\n"
       "    a new service: its representative addresses (1 to 16, each held by one service), the\n"
       "    selection policy (default maglev, hashing the terminal's address), the user-session type\n"
       "    (default connection; affinity keeps a subscriber on one server for S seconds, default\n"
       "    300), its servers (weight 1..65535, default 1; an icmp-only service's have no port) and\n"
       "    their health check (default none: servers taken as up; with one, a server is up after\n"
       "    `rise` good checks and down after `fall` failed ones; defaults 2000 ms, 1000 ms, 2, 3)",
       serviceAdd},
      {"service list", "service list\n    every service: VIPs, policy/hash, type, servers", serviceList},
      {"service get", "service get NAME\n    one service with its servers", serviceGet},
      {"service delete", "service delete NAME\n    removes the service and frees its VIPs", serviceDelete},
      {"server add", "server add SERVICE IP:PORT [--weight W]\n    adds a server (up, weight 1 unless given)",
       serverAdd},
      {"server set",
       "server set SERVICE IP:PORT [--weight W] [--admin up|drain|down]\n"
       "    changes a server's weight or admin state (drain: no new user sessions)",
       serverSet},
      {"server drain",
       "server drain SERVICE IP:PORT [--wait SECONDS]\n"
       "    no new user sessions for the server (admin drain); its user sessions stay. Says how\n"
       "    many are left on this roamd's gates; --wait: until none is (exit 1 if some still are)",
       serverDrain},
      {"server remove", "server remove SERVICE IP:PORT\n    takes a server out of the group", serverRemove},
      {"server list", "server list SERVICE\n    the service's servers: address, weight, admin state", serverList},
  };
}

}  // namespace roamctl
