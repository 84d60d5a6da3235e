// roamctl's commands through roamd's API (no device): the status of the daemon, the
// appliances and gateways of the deployment, the session manager's sessions, reconciliation.
// Exit status: 0 done, 1 refused or failed, 2 a value roamd refuses or a wrong command line,
// 3 no roamd at the API address (or no answer in time).
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <iostream>

#include "api_client.h"
#include "daemon_cmds.h"
#include "roamd.grpc.pb.h"

namespace roamctl {

namespace pb = roamgate::api::v1;

namespace {

std::string teidText(uint32_t t) { return roamgate::teidStr(t); }

json sessionJson(const pb::Session& s) {
  json j = {{"teid", teidText(s.teid())}, {"imsi", s.imsi()},       {"msisdn", s.msisdn()},
            {"ue_ip", s.ue_ip()},         {"peer", s.peer()},       {"dl_teid", teidText(s.dl_teid())},
            {"gate", s.gate()},           {"pinned", s.pinned()},   {"created", s.created()},
            {"modified", s.modified()},   {"revision", s.revision()}};
  j["qfi"] = s.has_qfi() ? json(s.qfi()) : json(nullptr);
  return j;
}

std::string sessionLine(const pb::Session& s) {
  char b[256];
  std::snprintf(b, sizeof b, "%s imsi %s msisdn %s ue %s gate %s%s dl %s %s%s\n",
                teidText(s.teid()).c_str(), s.imsi().c_str(), s.msisdn().empty() ? "-" : s.msisdn().c_str(),
                s.ue_ip().c_str(), s.gate().c_str(), s.pinned() ? " (pinned)" : "", s.peer().c_str(),
                teidText(s.dl_teid()).c_str(), s.has_qfi() ? (" qfi " + std::to_string(s.qfi())).c_str() : "");
  return b;
}

int status(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  subOptions(d, args);
  pb::Empty in;
  pb::StatusReply out;
  if (grpc::Status s = api.stub->GetStatus(api.ctx().get(), in, &out); !s.ok()) return api.fail(s);
  json apps = json::array();
  std::string list;
  for (auto& a : out.appliances()) {
    apps.push_back(a);
    list += (list.empty() ? "" : ", ") + a;
  }
  api.print({{"machine", out.machine()}, {"store", out.store()}, {"store_revision", out.store_revision()},
             {"applied_revision", out.applied_revision()}, {"resyncs", out.resyncs()},
             {"compacted_revision", out.compacted_revision()}, {"version", out.version()}, {"appliances", apps}},
            "roamd " + out.version() + " on " + out.machine() + "\nstore " + out.store() + " at revision " +
                std::to_string(out.store_revision()) + " (applied " + std::to_string(out.applied_revision()) +
                ", re-reads " + std::to_string(out.resyncs()) + ", compacted to " +
                std::to_string(out.compacted_revision()) + ")\nappliances " + (list.empty() ? "none" : list) +
                "\n");
  return kExitOk;
}

int applianceList(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  subOptions(d, args);
  pb::Empty in;
  pb::ListAppliancesReply out;
  if (grpc::Status s = api.stub->ListAppliances(api.ctx().get(), in, &out); !s.ok()) return api.fail(s);
  json j = json::array();
  std::string text;
  for (auto& a : out.appliances()) {
    const pb::Reconciliation& r = a.last_reconcile();
    json nat = json::array();
    for (auto& n : a.nat_ips()) nat.push_back(n);
    json ja = {{"name", a.name()},     {"role", a.role()},         {"device", a.device()},
               {"machine", a.machine()}, {"live", a.live()},       {"state", a.state()},
               {"detail", a.detail()}, {"ip", a.ip()},             {"mac", a.mac()},
               {"sessions", a.sessions()}, {"applied_revision", a.applied_revision()},
               {"last_reconcile", {{"at_revision", r.at_revision()}, {"missing", r.missing()},
                                   {"stale", r.stale()}, {"wrong", r.wrong()}, {"register_writes", r.writes()},
                                   {"seconds", r.seconds()}, {"error", r.error()}}}};
    if (a.role() == "gate") {
      ja["gateway_id"] = a.gateway_id();
      ja["nat_ips"] = nat;
      ja["user_sessions"] = a.user_sessions();
      ja["user_sessions_restored"] = a.user_sessions_restored();
      json sp = json::object();
      for (auto& [outcome, n] : a.slow_path()) sp[outcome] = n;
      ja["slow_path"] = sp;
    }
    j.push_back(ja);
    char b[512];
    std::snprintf(b, sizeof b, "%-12s %-5s %-8s %-4s %-15s sessions %-7llu %s on %s%s%s\n", a.name().c_str(),
                  a.role().c_str(), a.state().c_str(), a.live() ? "live" : "down",
                  a.ip().empty() ? "-" : a.ip().c_str(), (unsigned long long)a.sessions(), a.device().c_str(),
                  a.machine().c_str(), a.detail().empty() ? "" : ": ", a.detail().c_str());
    text += b;
  }
  api.print(j, text.empty() ? "no appliances\n" : text);
  return kExitOk;
}

int gatewayList(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  subOptions(d, args);
  pb::Empty in;
  pb::ListGatewaysReply out;
  if (grpc::Status s = api.stub->ListGateways(api.ctx().get(), in, &out); !s.ok()) return api.fail(s);
  json j = json::array();
  std::string text;
  for (auto& g : out.gateways()) {
    j.push_back({{"id", g.id()}, {"gate", g.gate()}, {"ip", g.ip()}, {"mac", g.mac()}, {"live", g.live()},
                 {"sessions", g.sessions()}});
    text += "gateway " + std::to_string(g.id()) + " " + g.gate() + " " + g.ip() + " " + g.mac() + " " +
            (g.live() ? "live" : "down") + " sessions " + std::to_string(g.sessions()) + "\n";
  }
  api.print(j, text.empty() ? "no gateways\n" : text);
  return kExitOk;
}

int sessionCreate(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("imsi", po::value<std::string>()->required())("msisdn", po::value<std::string>())(
      "ue-ip", po::value<std::string>()->required())("peer", po::value<std::string>()->required())(
      "dl-teid", po::value<std::string>()->required())("qfi", po::value<std::string>())(
      "gate", po::value<std::string>())("count", po::value<std::string>())("batch", po::value<std::string>());
  po::variables_map vm = subOptions(d, args);
  uint32_t count = vm.count("count") ? parseU32("--count", str(vm, "count"), 10000000, 1) : 1;
  uint32_t batch = vm.count("batch") ? parseU32("--batch", str(vm, "batch"), 100000, 1) : 10000;
  uint32_t ue = parseUnicastIp("--ue-ip", str(vm, "ue-ip"));
  uint32_t dl = parseTeid("--dl-teid", str(vm, "dl-teid"));
  std::string imsi = str(vm, "imsi"), msisdn = vm.count("msisdn") ? str(vm, "msisdn") : "";
  // --count N: IMSI, MSISDN, terminal address and downlink TEID each count up from the given.
  auto plus = [](const std::string& digits, uint32_t i) {
    if (i == 0 || digits.empty()) return digits;
    std::string s = digits;
    uint64_t carry = i;
    for (size_t k = s.size(); k-- > 0 && carry;) {
      if (s[k] < '0' || s[k] > '9') return digits;  // roamd names the bad value
      uint64_t v = uint64_t(s[k] - '0') + carry;
      s[k] = char('0' + v % 10);
      carry = v / 10;
    }
    return carry ? digits : s;
  };
  json created = json::array();
  std::string text;
  for (uint32_t base = 0; base < count; base += batch) {
    pb::CreateSessionsRequest in;
    for (uint32_t i = base; i < count && i < base + batch; ++i) {
      pb::SessionSpec* s = in.add_sessions();
      s->set_imsi(plus(imsi, i));
      s->set_msisdn(plus(msisdn, i));
      s->set_ue_ip(roamgate::ipv4Str(ue + i));
      s->set_peer(str(vm, "peer"));
      s->set_dl_teid(dl + i);
      if (vm.count("qfi")) {
        s->set_has_qfi(true);
        s->set_qfi(parseU32("--qfi", str(vm, "qfi"), 63));
      }
      if (vm.count("gate")) s->set_gate(str(vm, "gate"));
    }
    pb::CreateSessionsReply out;
    grpc::Status s = api.stub->CreateSessions(api.ctx(120).get(), in, &out);
    for (auto& ses : out.sessions()) {
      if (count <= 1000 || api.jsonOut) created.push_back(sessionJson(ses));
      if (count <= 1000) text += "created " + sessionLine(ses);
    }
    if (!s.ok()) return api.fail(s);
    if (!out.error().empty()) {
      api.print({{"created", created}, {"error", out.error()}}, text);
      return api.fail(grpc::Status(static_cast<grpc::StatusCode>(out.error_code()), out.error()));
    }
    if (count > batch) std::fprintf(stderr, "roamctl: %u of %u sessions created\n", std::min(count, base + batch), count);
  }
  if (count > 1000) text = "created " + std::to_string(count) + " sessions\n";
  api.print(count == 1 && created.size() == 1 ? created[0] : created, text);
  return kExitOk;
}

int sessionMove(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("teid", po::value<std::string>()->required())("peer", po::value<std::string>()->required())(
      "dl-teid", po::value<std::string>()->required())("qfi", po::value<std::string>());
  po::variables_map vm = subOptions(d, args);
  pb::MoveSessionRequest in;
  in.set_teid(parseTeid("--teid", str(vm, "teid")));
  in.set_peer(str(vm, "peer"));
  in.set_dl_teid(parseTeid("--dl-teid", str(vm, "dl-teid")));
  if (vm.count("qfi")) {
    in.set_has_qfi(true);
    in.set_qfi(parseU32("--qfi", str(vm, "qfi"), 63));
  }
  pb::SessionReply out;
  if (grpc::Status s = api.stub->MoveSession(api.ctx().get(), in, &out); !s.ok()) return api.fail(s);
  api.print(sessionJson(out.session()), "moved " + sessionLine(out.session()));
  return kExitOk;
}

int sessionDelete(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("teid", po::value<std::string>()->required());
  po::variables_map vm = subOptions(d, args);
  pb::TeidRequest in;
  in.set_teid(parseTeid("--teid", str(vm, "teid")));
  pb::Empty out;
  if (grpc::Status s = api.stub->DeleteSession(api.ctx().get(), in, &out); !s.ok()) return api.fail(s);
  api.print({{"deleted", teidText(in.teid())}}, "deleted " + teidText(in.teid()) + "\n");
  return kExitOk;
}

int sessionGet(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("teid", po::value<std::string>()->required());
  po::variables_map vm = subOptions(d, args);
  pb::TeidRequest in;
  in.set_teid(parseTeid("--teid", str(vm, "teid")));
  pb::SessionReply out;
  if (grpc::Status s = api.stub->GetSession(api.ctx().get(), in, &out); !s.ok()) return api.fail(s);
  api.print(sessionJson(out.session()), sessionLine(out.session()));
  return kExitOk;
}

int sessionList(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("gate", po::value<std::string>())("imsi", po::value<std::string>())(
      "ue-ip", po::value<std::string>())("limit", po::value<std::string>());
  po::variables_map vm = subOptions(d, args);
  pb::ListSessionsRequest in;
  if (vm.count("gate")) in.set_gate(str(vm, "gate"));
  if (vm.count("imsi")) in.set_imsi(str(vm, "imsi"));
  if (vm.count("ue-ip")) in.set_ue_ip(str(vm, "ue-ip"));
  if (vm.count("limit")) in.set_limit(parseU32("--limit", str(vm, "limit"), 10000000, 1));
  pb::ListSessionsReply out;
  if (grpc::Status s = api.stub->ListSessions(api.ctx(120).get(), in, &out); !s.ok()) return api.fail(s);
  json j = json::array();
  std::string text;
  for (auto& s : out.sessions()) {
    if (api.jsonOut) j.push_back(sessionJson(s));
    else text += sessionLine(s);
  }
  api.print(j, text.empty() ? "no sessions\n" : text);
  return kExitOk;
}

int reconcile(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("appliance", po::value<std::string>());
  po::positional_options_description pos;
  std::vector<std::string> a = args;
  if (!a.empty() && a[0].rfind("--", 0) != 0) a.insert(a.begin(), "--appliance");
  po::variables_map vm = subOptions(d, a);
  pb::ReconcileRequest in;
  if (vm.count("appliance")) in.set_appliance(str(vm, "appliance"));
  pb::ReconcileReply out;
  if (grpc::Status s = api.stub->Reconcile(api.ctx(900).get(), in, &out); !s.ok()) return api.fail(s);
  json j = json::array();
  std::string text;
  int rc = kExitOk;
  for (int i = 0; i < out.appliances_size(); ++i) {
    const pb::Reconciliation& r = out.results(i);
    j.push_back({{"appliance", out.appliances(i)}, {"at_revision", r.at_revision()}, {"missing", r.missing()},
                 {"stale", r.stale()}, {"wrong", r.wrong()}, {"register_writes", r.writes()},
                 {"seconds", r.seconds()}, {"error", r.error()}});
    char b[512];
    std::snprintf(b, sizeof b, "%s: revision %lld, %llu missing, %llu stale, %llu wrong, %llu register writes, %.3f s%s%s\n",
                  out.appliances(i).c_str(), (long long)r.at_revision(), (unsigned long long)r.missing(),
                  (unsigned long long)r.stale(), (unsigned long long)r.wrong(), (unsigned long long)r.writes(),
                  r.seconds(), r.error().empty() ? "" : ": ", r.error().c_str());
    text += b;
    if (!r.error().empty()) rc = kExitFailed;
  }
  api.print(j, text.empty() ? "no appliances on this machine\n" : text);
  return rc;
}

}  // namespace

std::vector<DaemonCommand> daemonCommands() {
  std::vector<DaemonCommand> all = {
      {"status", "status\n    roamd's machine, store, revisions and appliances", status},
      {"appliance list",
       "appliance list\n    every appliance in the store: role, state on its machine, live (holds a lease),\n"
       "    address, sessions, device; the last reconciliation with --json",
       applianceList},
      {"gateway list", "gateway list\n    the gates as every steer programs them: id, address, next-hop MAC, live",
       gatewayList},
      {"session create",
       "session create --imsi DIGITS [--msisdn DIGITS] --ue-ip A --peer A --dl-teid T [--qfi Q]\n"
       "               [--gate NAME] [--count N [--batch B]]\n"
       "    assigns a TEID unique across the deployment and places the session on a live gate\n"
       "    (least sessions, or --gate pins it); --count N creates N, counting IMSI, MSISDN,\n"
       "    terminal address and downlink TEID up from the given, B per request (default 10000)",
       sessionCreate},
      {"session move",
       "session move --teid T --peer A --dl-teid T [--qfi Q]\n"
       "    handover: the session keeps its TEID and gate; its downlink tunnel changes, also in\n"
       "    the gate's user sessions",
       sessionMove},
      {"session delete", "session delete --teid T\n    ends the session; its TEID rests in quarantine", sessionDelete},
      {"session get", "session get --teid T\n    one session, from the store", sessionGet},
      {"session list",
       "session list [--gate NAME] [--imsi DIGITS] [--ue-ip A] [--limit N]\n    sessions, filtered",
       sessionList},
      {"reconcile",
       "reconcile [APPLIANCE]\n    reads each appliance of this roamd back, writes only what differs from the\n"
       "    store, and reports what it found",
       reconcile},
  };
  for (DaemonCommand& c : serviceCommands()) all.push_back(std::move(c));
  for (DaemonCommand& c : policyCommands()) all.push_back(std::move(c));
  return all;
}

const DaemonCommand* findDaemonCommand(const std::vector<DaemonCommand>& all, const std::vector<std::string>& words,
                                       size_t& used) {
  for (size_t n : {size_t(2), size_t(1)}) {
    if (words.size() < n) continue;
    std::string name = n == 2 ? words[0] + " " + words[1] : words[0];
    for (const DaemonCommand& c : all) {
      if (c.name == name) {
        used = n;
        return &c;
      }
    }
  }
  return nullptr;
}

int runDaemonCommand(const DaemonCommand& c, const std::string& apiOpt, bool jsonOut,
                     const std::vector<std::string>& args) {
  Api api;
  std::string target = apiOpt;
  if (target.empty()) {
    const char* env = std::getenv("ROAMGATE_API");
    target = env && *env ? env : kDefaultApi;
  }
  // A path is a Unix socket; HOST:PORT is TCP.
  if (target.rfind("unix:", 0) != 0 && target.find('/') != std::string::npos) target = "unix:" + target;
  api.target = target;
  api.jsonOut = jsonOut;
  grpc::ChannelArguments ca;
  ca.SetMaxReceiveMessageSize(256 << 20);
  api.stub = pb::Roamd::NewStub(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), ca));
  return c.run(api, args);
}

}  // namespace roamctl
