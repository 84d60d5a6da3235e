// roamctl's subscriber policy commands through roamd's API (issue 11): policies (which
// services, external destinations, limits, deny time) and the policy of one subscriber. A
// subscriber without one gets the policy named "default"; with neither, every user session is
// denied. Exit statuses as the other daemon commands (api_client.h).
#include <string>
#include <vector>

#include "api_client.h"
#include "daemon_cmds.h"

namespace roamctl {

namespace {

std::string takeWord(std::vector<std::string>& args, const char* name) {
  if (args.empty() || args[0].rfind("--", 0) == 0) throw UsageError{std::string("missing ") + name};
  std::string w = args[0];
  args.erase(args.begin());
  return w;
}

json policyJson(const pb::Policy& p) {
  return {{"name", p.name()},
          {"any_service", p.any_service()},
          {"services", std::vector<std::string>(p.services().begin(), p.services().end())},
          {"external", p.external()},
          {"max_user_sessions", p.max_user_sessions()},
          {"new_per_second", p.new_per_second()},
          {"deny_time", p.deny_time()},
          {"revision", p.revision()}};
}

std::string policyLine(const pb::Policy& p) {
  std::string services;
  if (p.any_service()) services = "every service";
  for (const std::string& s : p.services()) services += (services.empty() ? "" : ",") + s;
  if (services.empty()) services = "no services";
  std::string limit = p.max_user_sessions() ? std::to_string(p.max_user_sessions()) : "no limit";
  std::string rate = p.new_per_second() ? std::to_string(p.new_per_second()) + "/s" : "no limit";
  return p.name() + ": " + services + (p.external() ? ", external destinations" : ", no external destinations") +
         "; user sessions " + limit + ", new " + rate + "; deny entries " + std::to_string(p.deny_time()) + " s\n";
}

int policyPut(Api& api, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  pb::PutPolicyRequest in;
  pb::Policy* p = in.mutable_policy();
  p->set_name(takeWord(args, "policy NAME"));
  po::options_description d;
  d.add_options()("service", po::value<std::vector<std::string>>())("any-service", po::bool_switch())(
      "external", po::bool_switch())("max-user-sessions", po::value<std::string>())(
      "new-per-second", po::value<std::string>())("deny-time", po::value<std::string>());
  po::variables_map vm = subOptions(d, args);
  if (vm.count("service")) {
    for (const std::string& s : vm["service"].as<std::vector<std::string>>()) p->add_services(s);
  }
  p->set_any_service(vm["any-service"].as<bool>());
  p->set_external(vm["external"].as<bool>());
  if (vm.count("max-user-sessions")) p->set_max_user_sessions(parseU32("--max-user-sessions", str(vm, "max-user-sessions")));
  if (vm.count("new-per-second")) p->set_new_per_second(parseU32("--new-per-second", str(vm, "new-per-second")));
  if (vm.count("deny-time")) p->set_deny_time(parseU32("--deny-time", str(vm, "deny-time"), 86400, 1));
  pb::PolicyReply out;
  if (grpc::Status st = api.stub->PutPolicy(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  api.print(policyJson(out.policy()), "policy " + policyLine(out.policy()));
  return kExitOk;
}

int policyGet(Api& api, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  pb::PolicyNameRequest in;
  in.set_name(takeWord(args, "policy NAME"));
  po::options_description d;
  subOptions(d, args);
  pb::PolicyReply out;
  if (grpc::Status st = api.stub->GetPolicy(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  api.print(policyJson(out.policy()), policyLine(out.policy()));
  return kExitOk;
}

int policyList(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  subOptions(d, args);
  pb::Empty in;
  pb::ListPoliciesReply out;
  if (grpc::Status st = api.stub->ListPolicies(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  json j = json::array();
  std::string text;
  for (const pb::Policy& p : out.policies()) {
    j.push_back(policyJson(p));
    text += policyLine(p);
  }
  api.print(j, text.empty() ? "no policies: every user session is denied (roamctl policy put default ...)\n" : text);
  return kExitOk;
}

int policyDelete(Api& api, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  pb::PolicyNameRequest in;
  in.set_name(takeWord(args, "policy NAME"));
  po::options_description d;
  subOptions(d, args);
  pb::Empty out;
  if (grpc::Status st = api.stub->DeletePolicy(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  api.print({{"deleted", in.name()}}, "deleted policy " + in.name() + "\n");
  return kExitOk;
}

int subscriberSet(Api& api, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  pb::Subscriber in;
  in.set_imsi(takeWord(args, "IMSI"));
  po::options_description d;
  d.add_options()("policy", po::value<std::string>())("default", po::bool_switch());
  po::variables_map vm = subOptions(d, args);
  bool toDefault = vm["default"].as<bool>();
  if (vm.count("policy") == toDefault) throw UsageError{"subscriber set takes --policy NAME or --default"};
  if (!toDefault) in.set_policy(str(vm, "policy"));
  pb::Subscriber out;
  if (grpc::Status st = api.stub->SetSubscriber(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  api.print({{"imsi", out.imsi()}, {"policy", out.policy().empty() ? json(nullptr) : json(out.policy())}},
            "subscriber " + out.imsi() + ": " + (out.policy().empty() ? "policy default" : "policy " + out.policy()) + "\n");
  return kExitOk;
}

int subscriberList(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  subOptions(d, args);
  pb::Empty in;
  pb::ListSubscribersReply out;
  if (grpc::Status st = api.stub->ListSubscribers(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  json j = json::array();
  std::string text;
  for (const pb::Subscriber& s : out.subscribers()) {
    j.push_back({{"imsi", s.imsi()}, {"policy", s.policy()}});
    text += s.imsi() + " " + s.policy() + "\n";
  }
  api.print(j, text.empty() ? "no subscriber has a policy of its own: all get 'default'\n" : text);
  return kExitOk;
}

int accountingList(Api& api, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("subscriber", po::value<std::string>())("since", po::value<std::string>())(
      "final", po::bool_switch())("limit", po::value<std::string>());
  po::variables_map vm = subOptions(d, args);
  pb::ListAccountingRequest in;
  if (vm.count("subscriber")) in.set_imsi(str(vm, "subscriber"));
  if (vm.count("since")) in.set_since(str(vm, "since"));
  in.set_final_only(vm["final"].as<bool>());
  if (vm.count("limit")) in.set_limit(parseU32("--limit", str(vm, "limit"), 1000000, 1));
  pb::ListAccountingReply out;
  if (grpc::Status st = api.stub->ListAccounting(api.ctx().get(), in, &out); !st.ok()) return api.fail(st);
  json j = json::array();
  std::string text;
  for (const pb::AccountingRecord& r : out.records()) {
    std::vector<std::string> services(r.services().begin(), r.services().end());
    std::vector<std::string> servers(r.servers().begin(), r.servers().end());
    j.push_back({{"id", r.id()}, {"appliance", r.appliance()}, {"imsi", r.imsi()}, {"msisdn", r.msisdn()},
                 {"teid", r.teid()}, {"terminal", r.terminal()}, {"destination", r.destination()},
                 {"proto", r.proto()}, {"nat", r.nat()}, {"external", r.external()}, {"denied", r.denied()},
                 {"deny_reason", r.deny_reason()}, {"services", services}, {"servers", servers},
                 {"started", r.started()}, {"ended", r.ended()}, {"cause", r.cause()},
                 {"ul_pkts", r.ul_pkts()}, {"ul_bytes", r.ul_bytes()}, {"dl_pkts", r.dl_pkts()},
                 {"dl_bytes", r.dl_bytes()}, {"interims", r.interims()}});
    std::string what = r.denied() ? "denied (" + r.deny_reason() + ")"
                       : r.external() ? "external " + r.destination()
                                      : "";
    for (size_t i = 0; i < services.size(); ++i) {
      what += (i ? " -> " : "") + services[i] + " on " + (i < servers.size() ? servers[i] : "?");
    }
    text += r.started() + " " + r.imsi() + " " + r.proto() + " " + r.terminal() + " -> " + r.destination() +
            " as " + r.nat() + ": " + what + "; up " + std::to_string(r.ul_pkts()) + " pkts " +
            std::to_string(r.ul_bytes()) + " B, down " + std::to_string(r.dl_pkts()) + " pkts " +
            std::to_string(r.dl_bytes()) + " B; " + (r.cause().empty() ? "open" : r.cause() + " at " + r.ended()) + "\n";
  }
  api.print(j, text.empty() ? "no accounting records\n" : text);
  return kExitOk;
}

}  // namespace

std::vector<DaemonCommand> policyCommands() {
  return {
      {"policy put",
       "policy put NAME [--service S ... | --any-service] [--external] [--max-user-sessions N]\n"
       "           [--new-per-second N] [--deny-time S]\n"
       "    creates or replaces a subscriber policy: the services its subscribers may use, whether\n"
       "    external destinations are allowed, user sessions at once and new ones a second (0 or\n"
       "    absent: no limit), and how long a denied user session's deny entry drops its packets in\n"
       "    hardware (1..86400 s, default 30). Subscribers without a policy of their own get 'default'",
       policyPut},
      {"policy get", "policy get NAME\n    one policy", policyGet},
      {"policy list", "policy list\n    every policy", policyList},
      {"policy delete", "policy delete NAME\n    removes a policy (its subscribers then get 'default')", policyDelete},
      {"subscriber set", "subscriber set IMSI --policy NAME | --default\n    the policy of one subscriber",
       subscriberSet},
      {"subscriber list", "subscriber list\n    subscribers with a policy of their own", subscriberList},
      {"accounting list",
       "accounting list [--subscriber IMSI] [--since UTC] [--final] [--limit N]\n"
       "    user sessions' accounting records, newest first (default 1000): subscriber, terminal and\n"
       "    destination as sent, the gate port, the services and servers in order, packets and bytes\n"
       "    each way, start, end and why (open while it lasts; --final: ended ones only)",
       accountingList},
  };
}

}  // namespace roamctl
