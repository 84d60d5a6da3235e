// roamd's control API: the gRPC service over the daemon's parts. Every request is checked
// field by field (INVALID_ARGUMENT names the field and the value); store and device errors
// keep their meaning (NOT_FOUND, ALREADY_EXISTS, UNAVAILABLE, ABORTED).
#include "api.h"

#include <grpcpp/grpcpp.h>

#include "roamd.grpc.pb.h"
#include "roamgate/addr.h"

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
bool ip(const std::string& field, const std::string& text, uint32_t& out, grpc::Status& err) {
  std::optional<uint32_t> v = roamgate::ipv4FromStr(text);
  if (!v) {
    err = invalid(field + " '" + text + "' is not an IPv4 address");
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

class Service final : public pb::Roamd::Service {
 public:
  explicit Service(Daemon& d) : d_(d) {}

  grpc::Status GetStatus(ServerContext*, const pb::Empty*, pb::StatusReply* out) override {
    out->set_machine(d_.config().machine);
    out->set_store(d_.store().describe());
    out->set_store_revision(d_.storeRevision());
    out->set_applied_revision(d_.cache().revision());
    out->set_resyncs(d_.cache().resyncs());
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
      std::string at = in->sessions_size() > 1 ? "session " + std::to_string(i) + ": " : "";
      control::SessionSpec s;
      s.imsi = p.imsi();
      s.msisdn = p.msisdn();
      grpc::Status err;
      if (!ip(at + "ue_ip", p.ue_ip(), s.ueIp, err) || !ip(at + "peer", p.peer(), s.peerIp, err)) {
        return err;
      }
      s.dlTeid = p.dl_teid();
      if (p.has_qfi()) {
        if (p.qfi() > 63) return invalid(at + "qfi " + std::to_string(p.qfi()) + " is not 0..63");
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
