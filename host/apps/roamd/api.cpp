// roamd's control API: the gRPC service over the daemon's parts. Every request is checked
// field by field (INVALID_ARGUMENT names the field and the value); store and device errors
// keep their meaning (NOT_FOUND, ALREADY_EXISTS, UNAVAILABLE, ABORTED).
#include "api.h"

#include <grpcpp/grpcpp.h>

#include "roamd.grpc.pb.h"
#include "roamgate/addr.h"
#include "roamgate/control/health.h"
#include "roamgate/control/service_catalog.h"

#ifndef ROAMGATE_VERSION
#error "the build defines ROAMGATE_VERSION"
#endif

namespace roamd {
namespace {

namespace pb = roamgate::api::v1;
namespace control = roamgate::control;
using grpc::ServerContext;
using roamgate::Result;
using roamgate::Status;
using roamgate::StatusCode;

grpc::Status toGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  grpc::StatusCode c = grpc::StatusCode::UNKNOWN;
  switch (s.code()) {
    case StatusCode::kOk: c = grpc::StatusCode::OK; break;
    case StatusCode::kFailed: c = grpc::StatusCode::FAILED_PRECONDITION; break;
    case StatusCode::kInvalidArgument: c = grpc::StatusCode::INVALID_ARGUMENT; break;
    case StatusCode::kNotFound: c = grpc::StatusCode::NOT_FOUND; break;
    case StatusCode::kAlreadyExists: c = grpc::StatusCode::ALREADY_EXISTS; break;
    case StatusCode::kFull: c = grpc::StatusCode::RESOURCE_EXHAUSTED; break;
    case StatusCode::kUnavailable: c = grpc::StatusCode::UNAVAILABLE; break;
    case StatusCode::kCompacted: c = grpc::StatusCode::OUT_OF_RANGE; break;
    case StatusCode::kAborted: c = grpc::StatusCode::ABORTED; break;
    case StatusCode::kOverQuota: c = grpc::StatusCode::RESOURCE_EXHAUSTED; break;
  }
  return grpc::Status(c, s.message());
}

grpc::Status invalid(const std::string& msg) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, msg);
}

// An address field: "" is refused with the field's name.
bool ip(std::string_view field, const std::string& text, uint32_t& out, grpc::Status& err) {
  std::optional<uint32_t> v = roamgate::ipv4FromStr(text);
  if (!v) {
    err = invalid(std::string(field) + " '" + text + "' is not an IPv4 address");
    return false;
  }
  out = *v;
  return true;
}

void toPb(const control::Session& s, pb::Session* o) {
  o->set_teid(s.teid);
  o->set_imsi(s.imsi);
  o->set_msisdn(s.msisdn);
  o->set_ue_ip(roamgate::ipv4Str(s.ueIp));
  o->set_peer(roamgate::ipv4Str(s.peerIp));
  o->set_dl_teid(s.dlTeid);
  o->set_has_qfi(s.qfi.has_value());
  o->set_qfi(s.qfi.value_or(0));
  o->set_gate(s.gate);
  o->set_pinned(s.pinned);
  o->set_created(s.created);
  o->set_modified(s.modified);
  o->set_revision(s.revision);
}

void toPb(const control::ReconcileReport& r, pb::Reconciliation* o) {
  o->set_at_revision(r.atRevision);
  o->set_missing(r.missing);
  o->set_stale(r.stale);
  o->set_wrong(r.wrong);
  o->set_writes(r.registerWrites);
  o->set_seconds(r.seconds);
  if (!r.status.ok()) o->set_error(r.status.message());
}

void toPb(const control::Service& s, pb::Service* o) {
  o->set_name(s.name);
  for (const control::Vip& v : s.vips) {
    pb::Vip* ov = o->add_vips();
    ov->set_ip(roamgate::ipv4Str(v.ip));
    ov->set_port(v.port);
    ov->set_proto(control::vipProtoName(v.proto));
  }
  for (const control::Server& v : s.servers) {
    pb::Server* ov = o->add_servers();
    ov->set_ip(roamgate::ipv4Str(v.ip));
    ov->set_port(v.port);
    ov->set_weight(v.weight);
    ov->set_admin(std::string(control::adminStateName(v.admin)));
  }
  o->set_policy(std::string(control::policyName(s.policy)));
  o->set_hash(std::string(control::hashOnName(s.hashOn)));
  o->set_type(control::userSessionTypeName(s.type));
  if (s.type == control::UserSessionType::kAffinity) o->set_affinity_time(s.affinitySeconds);
  o->set_check(s.check);
  o->set_created(s.created);
  o->set_modified(s.modified);
  o->set_revision(s.revision);
}

bool port16(const std::string& what, uint32_t port, uint16_t& out, grpc::Status& err) {
  if (port > 65535) {
    err = invalid(what + " port " + std::to_string(port) + " is not 1..65535");
    return false;
  }
  out = static_cast<uint16_t>(port);
  return true;
}

bool adminState(const std::string& what, const std::string& text, control::AdminState& out,
                grpc::Status& err) {
  std::optional<control::AdminState> a = control::adminStateFromName(text);
  if (!a) {
    err = invalid(what + " admin state '" + text + "' is not up, drain or down");
    return false;
  }
  out = *a;
  return true;
}

void toPb(const control::SubscriberPolicy& p, pb::Policy* o) {
  o->set_name(p.name);
  o->set_any_service(p.anyService);
  for (const std::string& s : p.services) o->add_services(s);
  o->set_external(p.external);
  o->set_max_user_sessions(p.maxUserSessions);
  o->set_new_per_second(p.newPerSecond);
  o->set_deny_time(p.denySeconds);
  o->set_revision(p.revision);
}

// A service from the request; the catalog checks the rest (checkService).
bool fromPb(const pb::Service& in, control::Service& s, grpc::Status& err) {
  s.name = in.name();
  const std::string at = "service " + in.name();
  for (int i = 0; i < in.vips_size(); ++i) {
    const pb::Vip& v = in.vips(i);
    control::Vip o;
    std::optional<control::VipProto> p = control::vipProtoFromName(v.proto());
    if (!p) {
      err = invalid(at + " VIP " + v.ip() + " protocol '" + v.proto() + "' is not tcp, udp or icmp");
      return false;
    }
    o.proto = *p;
    if (!ip(at + " VIP", v.ip(), o.ip, err) || !port16(at + " VIP " + v.ip(), v.port(), o.port, err)) {
      return false;
    }
    s.vips.push_back(o);
  }
  for (int i = 0; i < in.servers_size(); ++i) {
    const pb::Server& v = in.servers(i);
    control::Server o;
    if (!ip(at + " server", v.ip(), o.ip, err) ||
        !port16(at + " server " + v.ip(), v.port(), o.port, err)) {
      return false;
    }
    o.weight = v.weight();
    if (!v.admin().empty() &&
        !adminState(at + " server " + control::serverStr(o.ip, o.port), v.admin(), o.admin, err)) {
      return false;
    }
    s.servers.push_back(o);
  }
  if (!in.policy().empty()) {
    std::optional<control::SelectionPolicy> p = control::policyFromName(in.policy());
    if (!p) {
      err = invalid(at + " policy '" + in.policy() + "' is not maglev, least_sessions or round_robin");
      return false;
    }
    s.policy = *p;
  }
  if (!in.hash().empty()) {
    std::optional<control::HashOn> h = control::hashOnFromName(in.hash());
    if (!h) {
      err = invalid(at + " hash '" + in.hash() + "' is not terminal or 5tuple");
      return false;
    }
    s.hashOn = *h;
  }
  if (!in.type().empty()) {
    std::optional<control::UserSessionType> t = control::userSessionTypeFromName(in.type());
    if (!t) {
      err = invalid(at + " type '" + in.type() + "' is not connection, affinity or series");
      return false;
    }
    s.type = *t;
  }
  if (in.affinity_time() != 0) {
    if (s.type != control::UserSessionType::kAffinity) {
      err = invalid(at + " has an affinity time, and its type is " +
                    control::userSessionTypeName(s.type) + " (only affinity has one)");
      return false;
    }
    s.affinitySeconds = in.affinity_time();
  }
  if (!in.check().empty()) {
    // Stored as its full text, so the same check reads back the same whatever was left out.
    Result<control::HealthCheckConfig> c = control::parseCheckSpec(in.check());
    if (!c.ok()) {
      err = invalid(at + " " + c.status().message());
      return false;
    }
    s.check = control::checkSpecStr(*c);
  }
  return true;
}

class Service final : public pb::Roamd::Service {
 public:
  explicit Service(Daemon& d) : d_(d), catalog_(d.store()) {}

  grpc::Status PutService(ServerContext*, const pb::PutServiceRequest* in, pb::ServiceReply* out) override {
    control::Service s;
    grpc::Status err;
    if (!fromPb(in->service(), s, err)) return err;
    control::PutServiceOptions o;
    o.createOnly = in->create_only();
    if (in->if_revision() > 0) o.ifRevision = in->if_revision();
    Result<control::Service> r = catalog_.put(std::move(s), o);
    if (!r.ok()) return toGrpc(r.status());
    toPb(*r, out->mutable_service());
    return grpc::Status::OK;
  }

  grpc::Status DeleteService(ServerContext*, const pb::ServiceNameRequest* in, pb::Empty*) override {
    std::optional<int64_t> rev;
    if (in->if_revision() > 0) rev = in->if_revision();
    return toGrpc(catalog_.remove(in->name(), rev));
  }

  // Each server's active user sessions, summed over this roamd's gates.
  void addCounts(pb::Service* o) {
    std::map<std::string, uint64_t> sum;
    for (auto& ag : d_.agents()) {
      if (ag->appliance().role != control::Role::kGate) continue;
      for (auto& [k, n] : ag->status().serverSessions) sum[k] += n;
    }
    for (pb::Server& v : *o->mutable_servers()) {
      auto ip = roamgate::ipv4FromStr(v.ip());
      if (!ip) continue;
      auto it = sum.find(o->name() + " " + control::serverStr(*ip, uint16_t(v.port())));
      v.set_user_sessions(it == sum.end() ? 0 : it->second);
    }
  }

  grpc::Status GetService(ServerContext*, const pb::ServiceNameRequest* in, pb::ServiceReply* out) override {
    Result<control::Service> r = catalog_.get(in->name());
    if (!r.ok()) return toGrpc(r.status());
    toPb(*r, out->mutable_service());
    addCounts(out->mutable_service());
    return grpc::Status::OK;
  }

  grpc::Status ListServices(ServerContext*, const pb::Empty*, pb::ListServicesReply* out) override {
    Result<std::vector<control::Service>> r = catalog_.list();
    if (!r.ok()) return toGrpc(r.status());
    for (const control::Service& s : *r) {
      toPb(s, out->add_services());
      addCounts(out->mutable_services(out->services_size() - 1));
    }
    out->set_revision(d_.cache().revision());
    return grpc::Status::OK;
  }

  grpc::Status SetServer(ServerContext*, const pb::SetServerRequest* in, pb::ServiceReply* out) override {
    control::ServerChange c;
    grpc::Status err;
    if (!ip("server", in->ip(), c.ip, err) || !port16("server " + in->ip(), in->port(), c.port, err)) {
      return err;
    }
    if (in->has_weight()) c.weight = in->weight();
    if (!in->admin().empty()) {
      control::AdminState a;
      if (!adminState("server " + control::serverStr(c.ip, c.port), in->admin(), a, err)) return err;
      c.admin = a;
    }
    control::ServerWrite mode = in->mode() == pb::SetServerRequest::ADD      ? control::ServerWrite::kAdd
                                : in->mode() == pb::SetServerRequest::CHANGE ? control::ServerWrite::kChange
                                                                             : control::ServerWrite::kAddOrChange;
    Result<control::Service> r = catalog_.setServer(in->service(), c, mode);
    if (!r.ok()) return toGrpc(r.status());
    toPb(*r, out->mutable_service());
    return grpc::Status::OK;
  }

  grpc::Status PutPolicy(ServerContext*, const pb::PutPolicyRequest* in, pb::PolicyReply* out) override {
    control::SubscriberPolicy p;
    const pb::Policy& i = in->policy();
    p.name = i.name();
    p.anyService = i.any_service();
    p.services.assign(i.services().begin(), i.services().end());
    p.external = i.external();
    p.maxUserSessions = i.max_user_sessions();
    p.newPerSecond = i.new_per_second();
    p.denySeconds = i.deny_time() ? i.deny_time() : control::kDefaultDenySeconds;
    if (Status st = control::checkPolicy(p); !st) return toGrpc(st);
    Result<roamgate::store::Revision> rev = d_.store().put(control::policyKey(p.name), control::toJson(p));
    if (!rev.ok()) return toGrpc(rev.status());
    p.revision = *rev;
    toPb(p, out->mutable_policy());
    return grpc::Status::OK;
  }

  grpc::Status DeletePolicy(ServerContext*, const pb::PolicyNameRequest* in, pb::Empty*) override {
    Result<roamgate::store::Range> r = d_.store().get(control::policyKey(in->name()));
    if (!r.ok()) return toGrpc(r.status());
    if (r->kvs.empty()) return toGrpc(Status::error(StatusCode::kNotFound, "no policy " + in->name()));
    Result<roamgate::store::Revision> rev = d_.store().del(control::policyKey(in->name()));
    return rev.ok() ? grpc::Status::OK : toGrpc(rev.status());
  }

  grpc::Status GetPolicy(ServerContext*, const pb::PolicyNameRequest* in, pb::PolicyReply* out) override {
    Result<roamgate::store::Range> r = d_.store().get(control::policyKey(in->name()));
    if (!r.ok()) return toGrpc(r.status());
    if (r->kvs.empty()) return toGrpc(Status::error(StatusCode::kNotFound, "no policy " + in->name()));
    Result<control::SubscriberPolicy> p = control::policyFromJson(r->kvs[0].value);
    if (!p.ok()) return toGrpc(p.status());
    p->revision = r->kvs[0].modRevision;
    toPb(*p, out->mutable_policy());
    return grpc::Status::OK;
  }

  grpc::Status ListPolicies(ServerContext*, const pb::Empty*, pb::ListPoliciesReply* out) override {
    Result<roamgate::store::Range> r = d_.store().list(control::kPoliciesPrefix);
    if (!r.ok()) return toGrpc(r.status());
    for (const roamgate::store::KeyValue& kv : r->kvs) {
      Result<control::SubscriberPolicy> p = control::policyFromJson(kv.value);
      if (!p.ok()) continue;  // logged by the cache
      p->revision = kv.modRevision;
      toPb(*p, out->add_policies());
    }
    return grpc::Status::OK;
  }

  grpc::Status SetSubscriber(ServerContext*, const pb::Subscriber* in, pb::Subscriber* out) override {
    if (Status st = control::checkDigits("IMSI", in->imsi(), 15); !st) return toGrpc(st);
    std::string key = control::subscriberKey(in->imsi());
    *out = *in;
    if (in->policy().empty()) {
      Result<roamgate::store::Revision> rev = d_.store().del(key);
      return rev.ok() ? grpc::Status::OK : toGrpc(rev.status());
    }
    Result<roamgate::store::Range> p = d_.store().get(control::policyKey(in->policy()));
    if (!p.ok()) return toGrpc(p.status());
    if (p->kvs.empty()) {
      return toGrpc(Status::error(StatusCode::kNotFound, "no policy " + in->policy() +
                                                             " (roamctl policy put " + in->policy() + " first)"));
    }
    Result<roamgate::store::Revision> rev =
        d_.store().put(key, control::toJson(control::SubscriberAssignment{in->imsi(), in->policy()}));
    return rev.ok() ? grpc::Status::OK : toGrpc(rev.status());
  }

  grpc::Status ListSubscribers(ServerContext*, const pb::Empty*, pb::ListSubscribersReply* out) override {
    Result<roamgate::store::Range> r = d_.store().list(control::kSubscribersPrefix);
    if (!r.ok()) return toGrpc(r.status());
    for (const roamgate::store::KeyValue& kv : r->kvs) {
      Result<control::SubscriberAssignment> a = control::assignmentFromJson(kv.value);
      if (!a.ok()) continue;
      pb::Subscriber* o = out->add_subscribers();
      o->set_imsi(a->imsi);
      o->set_policy(a->policy);
    }
    return grpc::Status::OK;
  }

  grpc::Status ListAccounting(ServerContext*, const pb::ListAccountingRequest* in, pb::ListAccountingReply* out) override {
    roamgate::accounting::AccountingStore* a = d_.records();
    if (!a) {
      return toGrpc(Status::error(StatusCode::kNotFound,
                                  "this roamd keeps no accounting records (no gate, or --accounting none)"));
    }
    if (!in->imsi().empty()) {
      if (Status st = control::checkDigits("IMSI", in->imsi(), 15); !st) return toGrpc(st);
    }
    roamgate::accounting::Query q;
    q.imsi = in->imsi();
    q.since = in->since();
    q.finalOnly = in->final_only();
    if (in->limit()) q.limit = in->limit();
    auto r = a->list(q);
    if (!r.ok()) return toGrpc(r.status());
    for (const roamgate::accounting::Record& rec : *r) {
      pb::AccountingRecord* o = out->add_records();
      auto addr = [&](uint32_t ip, uint16_t port) {
        return roamgate::ipv4Str(ip) + (rec.proto == 1 ? " id " : ":") + std::to_string(port);
      };
      o->set_id(rec.id);
      o->set_appliance(rec.appliance);
      o->set_imsi(rec.imsi);
      o->set_msisdn(rec.msisdn);
      o->set_teid(rec.teid);
      o->set_terminal(addr(rec.terminalIp, rec.terminalPort));
      o->set_destination(rec.proto == 1 ? roamgate::ipv4Str(rec.dstIp) : addr(rec.dstIp, rec.dstPort));
      o->set_proto(rec.proto == 6 ? "tcp" : rec.proto == 17 ? "udp" : "icmp");
      o->set_nat(roamgate::ipv4Str(rec.natIp) + ":" + std::to_string(rec.natPort));
      o->set_external(rec.external);
      o->set_denied(rec.denied);
      o->set_deny_reason(rec.denyReason);
      for (const std::string& x : rec.services) o->add_services(x);
      for (const std::string& x : rec.servers) o->add_servers(x);
      o->set_started(rec.started);
      o->set_ended(rec.ended);
      o->set_cause(rec.cause);
      o->set_ul_pkts(rec.ulPkts);
      o->set_ul_bytes(rec.ulBytes);
      o->set_dl_pkts(rec.dlPkts);
      o->set_dl_bytes(rec.dlBytes);
      o->set_interims(rec.interims);
    }
    return grpc::Status::OK;
  }

  grpc::Status RemoveServer(ServerContext*, const pb::RemoveServerRequest* in, pb::ServiceReply* out) override {
    uint32_t a;
    uint16_t port;
    grpc::Status err;
    if (!ip("server", in->ip(), a, err) || !port16("server " + in->ip(), in->port(), port, err)) return err;
    Result<control::Service> r = catalog_.removeServer(in->service(), a, port);
    if (!r.ok()) return toGrpc(r.status());
    toPb(*r, out->mutable_service());
    return grpc::Status::OK;
  }

  grpc::Status GetStatus(ServerContext*, const pb::Empty*, pb::StatusReply* out) override {
    out->set_machine(d_.config().machine);
    out->set_store(d_.store().describe());
    out->set_store_revision(d_.storeRevision());
    out->set_applied_revision(d_.cache().revision());
    out->set_resyncs(d_.cache().resyncs());
    out->set_compacted_revision(d_.compactedTo());
    out->set_version(ROAMGATE_VERSION);
    for (auto& a : d_.agents()) out->add_appliances(a->appliance().name);
    return grpc::Status::OK;
  }

  grpc::Status ListAppliances(ServerContext*, const pb::Empty*, pb::ListAppliancesReply* out) override {
    // Every appliance in the store, with what this roamd knows of its own.
    struct Row {
      control::Appliance a;
      bool live = false;
      uint64_t sessions = 0;
    };
    std::map<std::string, Row> rows = d_.cache().read([](const control::StateSnapshot& s) {
      std::map<std::string, Row> r;
      for (auto& [name, a] : s.appliances) {
        auto c = s.sessionsPerGate.find(name);
        r[name] = {a, s.live.count(name) > 0, c == s.sessionsPerGate.end() ? 0 : c->second};
      }
      return r;
    });
    for (auto& ag : d_.agents()) {
      const control::Appliance& a = ag->appliance();
      if (!rows.count(a.name)) rows[a.name] = {a, false, 0};
    }
    for (auto& [name, why] : d_.unstarted()) {
      control::Appliance a;
      a.name = name;
      a.machine = d_.config().machine;
      if (!rows.count(name)) rows[name] = {a, false, 0};
    }
    for (auto& [name, row] : rows) {
      pb::Appliance* o = out->add_appliances();
      const control::Appliance& a = row.a;
      o->set_name(name);
      o->set_role(control::roleName(a.role));
      o->set_device(a.device);
      o->set_machine(a.machine);
      o->set_live(row.live);
      o->set_ip(a.ip ? roamgate::ipv4Str(a.ip) : "");
      o->set_mac(a.mac ? roamgate::macStr(a.mac) : "");
      if (a.role == control::Role::kGate) {
        o->set_gateway_id(a.gatewayId);
        for (uint32_t n : a.natIps) {
          if (n) o->add_nat_ips(roamgate::ipv4Str(n));
        }
        o->set_sessions(row.sessions);
      }
      if (control::Agent* ag = d_.agent(name)) {
        control::AgentStatus st = ag->status();
        o->set_state(control::agentStateName(st.state));
        o->set_detail(st.detail);
        toPb(st.lastReconcile, o->mutable_last_reconcile());
        o->set_applied_revision(st.applied);
        if (a.role == control::Role::kSteer) o->set_sessions(st.programmed);
        if (a.role == control::Role::kGate) {
          o->set_user_sessions(st.userSessions);
          o->set_user_sessions_restored(st.userSessionsRestored);
          for (size_t i = 0; i < control::kPuntOutcomeCount; ++i) {
            if (st.slowPunts[i]) {
              (*o->mutable_slow_path())[std::string(control::puntOutcomeName(control::PuntOutcome(i)))] = st.slowPunts[i];
            }
          }
        }
      } else if (d_.unstarted().count(name)) {
        o->set_state("failed");
        o->set_detail(d_.unstarted().at(name));
      } else {
        o->set_state(row.live ? "remote" : "down");
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status ListGateways(ServerContext*, const pb::Empty*, pb::ListGatewaysReply* out) override {
    d_.cache().read([&](const control::StateSnapshot& s) {
      for (auto& [id, g] : s.gateways) {
        pb::Gateway* o = out->add_gateways();
        o->set_id(id);
        o->set_gate(g.gate);
        o->set_ip(roamgate::ipv4Str(g.ip));
        o->set_mac(roamgate::macStr(g.mac));
        o->set_live(s.live.count(g.gate) > 0);
        auto c = s.sessionsPerGate.find(g.gate);
        o->set_sessions(c == s.sessionsPerGate.end() ? 0 : c->second);
      }
      return 0;
    });
    return grpc::Status::OK;
  }

  grpc::Status CreateSessions(ServerContext*, const pb::CreateSessionsRequest* in,
                              pb::CreateSessionsReply* out) override {
    if (in->sessions_size() == 0) return invalid("no sessions to create");
    if (in->sessions_size() > 100000) {
      return invalid(std::to_string(in->sessions_size()) + " sessions in one request (at most 100000)");
    }
    std::vector<control::SessionSpec> specs;
    specs.reserve(in->sessions_size());
    for (int i = 0; i < in->sessions_size(); ++i) {
      const pb::SessionSpec& p = in->sessions(i);
      // Which session a refusal names, built only for one (10,000 strings a call otherwise).
      auto at = [&] { return in->sessions_size() > 1 ? "session " + std::to_string(i) + ": " : std::string(); };
      control::SessionSpec s;
      s.imsi = p.imsi();
      s.msisdn = p.msisdn();
      grpc::Status err;
      if (!ip("ue_ip", p.ue_ip(), s.ueIp, err) || !ip("peer", p.peer(), s.peerIp, err)) {
        return invalid(at() + err.error_message());
      }
      s.dlTeid = p.dl_teid();
      if (p.has_qfi()) {
        if (p.qfi() > 63) return invalid(at() + "qfi " + std::to_string(p.qfi()) + " is not 0..63");
        s.qfi = static_cast<uint8_t>(p.qfi());
      }
      s.gate = p.gate();
      specs.push_back(std::move(s));
    }
    control::CreateResult r = d_.sessions().create(specs);
    for (const control::Session& s : r.created) toPb(s, out->add_sessions());
    if (!r.status.ok()) {
      out->set_error(r.status.message());
      grpc::Status g = toGrpc(r.status);
      out->set_error_code(static_cast<int>(g.error_code()));
      if (r.created.empty()) return g;
    }
    return grpc::Status::OK;
  }

  grpc::Status MoveSession(ServerContext*, const pb::MoveSessionRequest* in, pb::SessionReply* out) override {
    if (in->teid() == 0) return invalid("teid 0 is reserved (1..0xffffffff)");
    uint32_t peer;
    grpc::Status err;
    if (!ip("peer", in->peer(), peer, err)) return err;
    std::optional<uint8_t> qfi;
    if (in->has_qfi()) {
      if (in->qfi() > 63) return invalid("qfi " + std::to_string(in->qfi()) + " is not 0..63");
      qfi = static_cast<uint8_t>(in->qfi());
    }
    Result<control::Session> s = d_.sessions().move(in->teid(), peer, in->dl_teid(), qfi);
    if (!s.ok()) return toGrpc(s.status());
    toPb(*s, out->mutable_session());
    return grpc::Status::OK;
  }

  grpc::Status DeleteSession(ServerContext*, const pb::TeidRequest* in, pb::Empty*) override {
    if (in->teid() == 0) return invalid("teid 0 is reserved (1..0xffffffff)");
    return toGrpc(d_.sessions().remove(in->teid()));
  }

  grpc::Status GetSession(ServerContext*, const pb::TeidRequest* in, pb::SessionReply* out) override {
    if (in->teid() == 0) return invalid("teid 0 is reserved (1..0xffffffff)");
    Result<control::Session> s = d_.sessions().get(in->teid());
    if (!s.ok()) return toGrpc(s.status());
    toPb(*s, out->mutable_session());
    return grpc::Status::OK;
  }

  grpc::Status ListSessions(ServerContext*, const pb::ListSessionsRequest* in,
                            pb::ListSessionsReply* out) override {
    control::SessionFilter f;
    f.gate = in->gate();
    f.imsi = in->imsi();
    f.limit = in->limit();
    if (!in->ue_ip().empty()) {
      uint32_t v;
      grpc::Status err;
      if (!ip("ue_ip", in->ue_ip(), v, err)) return err;
      f.ueIp = v;
    }
    for (const control::Session& s : d_.sessions().list(f)) toPb(s, out->add_sessions());
    out->set_revision(d_.cache().revision());
    return grpc::Status::OK;
  }

  grpc::Status Reconcile(ServerContext*, const pb::ReconcileRequest* in, pb::ReconcileReply* out) override {
    std::vector<control::Agent*> which;
    for (auto& a : d_.agents()) {
      if (in->appliance().empty() || a->appliance().name == in->appliance()) which.push_back(a.get());
    }
    if (which.empty()) {
      if (in->appliance().empty()) return grpc::Status::OK;
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "no appliance '" + in->appliance() + "' on this machine (" +
                              d_.config().machine + ")");
    }
    for (control::Agent* a : which) {
      control::ReconcileReport r = a->reconcileNow(std::chrono::minutes(10));
      out->add_appliances(a->appliance().name);
      toPb(r, out->add_results());
    }
    return grpc::Status::OK;
  }

 private:
  Daemon& d_;
  control::ServiceCatalog catalog_;
};

}  // namespace

struct ApiServer::Impl {
  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
};

ApiServer::ApiServer() : impl_(std::make_unique<Impl>()) {}
ApiServer::~ApiServer() { stop(); }

Status ApiServer::start(Daemon& d, const std::string& unixPath, const std::string& tcp) {
  impl_->service = std::make_unique<Service>(d);
  grpc::ServerBuilder b;
  if (!unixPath.empty()) b.AddListeningPort("unix:" + unixPath, grpc::InsecureServerCredentials());
  int tcpPort = 0;
  if (!tcp.empty()) b.AddListeningPort(tcp, grpc::InsecureServerCredentials(), &tcpPort);
  b.SetMaxReceiveMessageSize(64 << 20);
  b.SetMaxSendMessageSize(256 << 20);
  b.RegisterService(impl_->service.get());
  impl_->server = b.BuildAndStart();
  if (!impl_->server) {
    return Status::error(StatusCode::kUnavailable,
                         "cannot serve the API on " + (unixPath.empty() ? "" : "unix:" + unixPath) +
                             (tcp.empty() ? "" : " and " + tcp) +
                             " (in use, or the folder is missing or not writable)");
  }
  if (!tcp.empty() && tcpPort == 0) {
    return Status::error(StatusCode::kUnavailable, "cannot serve the API on TCP " + tcp);
  }
  return {};
}

void ApiServer::stop() {
  if (impl_ && impl_->server) {
    impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    impl_->server.reset();
  }
}

}  // namespace roamd
