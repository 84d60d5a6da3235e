// EtcdStore: the Store on etcd v3 over gRPC (the KV, Lease, Watch and Maintenance services of
// etcd's rpc.proto). The model of store.h is etcd's own, so most calls map one to one:
//   read    -> KV.Range (a prefix is [prefix, prefixEnd(prefix)); the empty prefix is every key)
//   txn     -> KV.Txn (the revision after it is the response header's)
//   leases  -> Lease.LeaseGrant, Lease.LeaseKeepAlive (one stream a call), Lease.LeaseRevoke
//   watch   -> one Watch stream a Watch object, read by a thread of its own into a queue
//   compact -> KV.Compact, physical (it returns once the history is gone)
// Every unary call has a deadline of the store's timeout. An endpoint that does not answer is
// kUnavailable, and the call goes to the next endpoint, except a write that may have reached
// the one that failed (a connection lost or a deadline passed after it was sent): sending it
// again could apply it twice, so its caller gets kUnavailable and reads back what happened.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "backends.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace roamgate::store {

namespace {

namespace pb = etcdserverpb;

// A key for a message: printable bytes as they are, the others as \xNN.
std::string quote(const std::string& s) {
  std::string out = "'";
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += char(c);
    } else {
      char b[5];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    }
  }
  return out + "'";
}

// etcd keys are never empty: the empty prefix (every key) is the range ["\0", "\0"), which
// etcd reads as every key from "\0" on.
void setPrefixRange(const std::string& prefix, std::string* key, std::string* rangeEnd) {
  if (prefix.empty()) {
    *key = std::string(1, '\0');
    *rangeEnd = std::string(1, '\0');
  } else {
    *key = prefix;
    *rangeEnd = prefixEnd(prefix);
  }
}

KeyValue fromPb(const mvccpb::KeyValue& kv) {
  KeyValue out;
  out.key = kv.key();
  out.value = kv.value();
  out.createRevision = kv.create_revision();
  out.modRevision = kv.mod_revision();
  out.version = kv.version();
  out.lease = kv.lease();
  return out;
}

// What a failed gRPC call means to the caller. etcd's errors (its rpctypes): INVALID_ARGUMENT
// for a request it refuses (duplicate keys in a txn, too many operations, an empty key, a
// request too large), OUT_OF_RANGE for a compacted or future revision and a lease TTL too
// large, NOT_FOUND for a lease, RESOURCE_EXHAUSTED when its database is full, UNAVAILABLE when
// it has no leader or timed out.
Status fromGrpc(const std::string& endpoint, const char* rpc, const grpc::Status& s,
                std::chrono::milliseconds timeout) {
  const std::string where = "etcd " + endpoint + ": " + rpc + ": ";
  const std::string& msg = s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return {};
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::error(StatusCode::kUnavailable, "etcd " + endpoint + " did not answer " +
                                                         rpc + " within " +
                                                         std::to_string(timeout.count()) + " ms");
    case grpc::StatusCode::UNAVAILABLE:
      return Status::error(StatusCode::kUnavailable,
                           "etcd " + endpoint + " is unavailable (" + rpc + ": " + msg + ")");
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::error(StatusCode::kInvalidArgument, where + msg);
    case grpc::StatusCode::OUT_OF_RANGE:
      if (msg.find("compacted") != std::string::npos) {
        return Status::error(StatusCode::kCompacted, where + msg);
      }
      return Status::error(StatusCode::kInvalidArgument, where + msg);
    case grpc::StatusCode::NOT_FOUND:
      return Status::error(StatusCode::kNotFound, where + msg);
    case grpc::StatusCode::ALREADY_EXISTS:
      return Status::error(StatusCode::kAlreadyExists, where + msg);
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Status::error(StatusCode::kFull, where + msg);
    case grpc::StatusCode::ABORTED:
      return Status::error(StatusCode::kAborted, where + msg);
    default:
      return Status::error(StatusCode::kFailed,
                           where + msg + " (gRPC code " + std::to_string(int(s.error_code())) +
                               ")");
  }
}

struct Endpoint {
  std::string address;  // HOST:PORT
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Lease::Stub> lease;
  std::unique_ptr<pb::Watch::Stub> watch;
  std::unique_ptr<pb::Maintenance::Stub> maintenance;
};

std::shared_ptr<Endpoint> makeEndpoint(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // a prefix read may be larger than gRPC's 4 MiB default
  // A watch stream that is quiet for long still notices a dead server: pings while a call is
  // open (etcd allows one every 5 s at most, --grpc-keepalive-min-time, and none without one).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A restarted etcd is used again within 2 s (gRPC's default backoff grows to 120 s, and calls
  // fail at once while it waits).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  auto ep = std::make_shared<Endpoint>();
  ep->address = address;
  ep->channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  ep->kv = pb::KV::NewStub(ep->channel);
  ep->lease = pb::Lease::NewStub(ep->channel);
  ep->watch = pb::Watch::NewStub(ep->channel);
  ep->maintenance = pb::Maintenance::NewStub(ep->channel);
  return ep;
}

// The keys one operation touches, as a half-open range [begin, end) (no end: every key on).
struct Span {
  std::string begin;
  std::string end;
  bool toEnd = false;
  const TxnOp* op = nullptr;
};

std::string describeOp(const TxnOp& op) {
  switch (op.type) {
    case TxnOp::Type::kPut:
      return "put " + quote(op.key);
    case TxnOp::Type::kDelete:
      return "delete " + quote(op.key);
    case TxnOp::Type::kDeletePrefix:
      return "delete prefix " + quote(op.key);
  }
  return "?";
}

// A branch's operations touch each key once at most (store.h; etcd refuses a put twice or a
// put under a deleted range with "duplicate key given in txn request", and this refuses every
// overlap, so that both backends refuse the same transactions).
Status checkBranch(const std::vector<TxnOp>& ops, const char* branch) {
  std::vector<Span> spans;
  spans.reserve(ops.size());
  for (const TxnOp& op : ops) {
    if (op.type != TxnOp::Type::kDeletePrefix && op.key.empty()) {
      return Status::error(StatusCode::kInvalidArgument,
                           std::string("txn: a ") + branch + " operation (" + describeOp(op) +
                               ") names the empty key (keys are not empty)");
    }
    if (op.type != TxnOp::Type::kPut && op.lease != 0) {
      return Status::error(StatusCode::kInvalidArgument,
                           std::string("txn: a ") + branch + " operation (" + describeOp(op) +
                               ") has a lease (only a put takes one)");
    }
    Span s;
    s.op = &op;
    s.begin = op.key;
    if (op.type == TxnOp::Type::kDeletePrefix) {
      s.end = prefixEnd(op.key);
      s.toEnd = s.end == std::string(1, '\0');
    } else {
      s.end = op.key + '\0';  // the next key after op.key
    }
    spans.push_back(std::move(s));
  }
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  // Sorted by start, two ranges overlap iff one starts before the farthest end seen so far.
  const Span* farthest = nullptr;
  for (const Span& s : spans) {
    if (farthest && (farthest->toEnd || s.begin < farthest->end)) {
      return Status::error(StatusCode::kInvalidArgument,
                           std::string("txn: the ") + branch + " operations " +
                               describeOp(*farthest->op) + " and " + describeOp(*s.op) +
                               " touch the same key (a key may appear once in a branch)");
    }
    if (!farthest || s.toEnd || (!farthest->toEnd && s.end > farthest->end)) farthest = &s;
  }
  return {};
}

void toPb(const TxnOp& op, pb::RequestOp* out) {
  switch (op.type) {
    case TxnOp::Type::kPut: {
      pb::PutRequest* p = out->mutable_request_put();
      p->set_key(op.key);
      p->set_value(op.value);
      p->set_lease(op.lease);
      break;
    }
    case TxnOp::Type::kDelete:
      out->mutable_request_delete_range()->set_key(op.key);
      break;
    case TxnOp::Type::kDeletePrefix: {
      pb::DeleteRangeRequest* d = out->mutable_request_delete_range();
      setPrefixRange(op.key, d->mutable_key(), d->mutable_range_end());
      break;
    }
  }
}

Status toPb(const Compare& c, pb::Compare* out) {
  if (c.key.empty()) {
    return Status::error(StatusCode::kInvalidArgument,
                         "txn: a comparison names the empty key (keys are not empty)");
  }
  out->set_key(c.key);
  switch (c.op) {
    case Compare::Op::kEqual:
      out->set_result(pb::Compare::EQUAL);
      break;
    case Compare::Op::kNotEqual:
      out->set_result(pb::Compare::NOT_EQUAL);
      break;
    case Compare::Op::kGreater:
      out->set_result(pb::Compare::GREATER);
      break;
    case Compare::Op::kLess:
      out->set_result(pb::Compare::LESS);
      break;
  }
  switch (c.target) {
    case Compare::Target::kVersion:
      out->set_target(pb::Compare::VERSION);
      out->set_version(c.number);
      break;
    case Compare::Target::kCreateRevision:
      out->set_target(pb::Compare::CREATE);
      out->set_create_revision(c.number);
      break;
    case Compare::Target::kModRevision:
      out->set_target(pb::Compare::MOD);
      out->set_mod_revision(c.number);
      break;
    case Compare::Target::kValue:
      out->set_target(pb::Compare::VALUE);
      out->set_value(c.value);
      break;
  }
  return {};
}

// One Watch stream. A thread of its own reads it into a queue, so that next() waits no longer
// than its timeout; the destructor cancels the stream and joins the thread.
class EtcdWatch : public Watch {
 public:
  EtcdWatch(std::shared_ptr<Endpoint> ep, std::string prefix, Revision from)
      : ep_(std::move(ep)), prefix_(std::move(prefix)), from_(from) {}
  ~EtcdWatch() override {
    ctx_.TryCancel();  // also before the call started: gRPC cancels it as it starts
    if (reader_.joinable()) reader_.join();
  }

  void start() { reader_ = std::thread([this] { run(); }); }

  // etcd confirms a watch once it is registered: from then on (from 0: the next change) no
  // change is missed.
  Status awaitCreated(std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, timeout, [&] { return created_ || end_.has_value(); });
    if (created_) return {};
    if (end_) return *end_;
    return Status::error(StatusCode::kUnavailable,
                         "etcd " + ep_->address + " did not confirm the watch on " +
                             quote(prefix_) + " within " + std::to_string(timeout.count()) +
                             " ms");
  }

  Result<std::vector<Event>> next(std::chrono::milliseconds timeout) override {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, timeout, [&] { return !queue_.empty() || end_.has_value(); });
    if (!queue_.empty()) {
      std::vector<Event> events = std::move(queue_.front());
      queue_.pop_front();
      return events;
    }
    if (end_) return *end_;
    return std::vector<Event>{};
  }

 private:
  void run() {
    auto stream = ep_->watch->Watch(&ctx_);
    pb::WatchRequest req;
    pb::WatchCreateRequest* create = req.mutable_create_request();
    setPrefixRange(prefix_, create->mutable_key(), create->mutable_range_end());
    create->set_start_revision(from_);
    bool cancelled = false;
    if (stream->Write(req)) {
      pb::WatchResponse resp;
      while (stream->Read(&resp)) {
        if (!handle(resp)) {
          ctx_.TryCancel();
          cancelled = true;
          break;
        }
      }
    }
    grpc::Status s = stream->Finish();
    if (cancelled) return;
    end(s.ok() ? Status::error(StatusCode::kUnavailable,
                               "etcd " + ep_->address + " ended the watch on " + quote(prefix_))
               : fromGrpc(ep_->address, "Watch", s, std::chrono::milliseconds(0)));
  }

  // Queues a response's events; false when it ends the watch.
  bool handle(const pb::WatchResponse& resp) {
    std::lock_guard lk(mu_);
    if (resp.created() && !resp.canceled()) {  // created and cancelled: etcd refused it
      created_ = true;
      cv_.notify_all();
    }
    if (resp.compact_revision() > 0) {
      end_ = Status::error(
          StatusCode::kCompacted,
          "watch on " + quote(prefix_) + " from revision " + std::to_string(from_) + ": etcd " +
              ep_->address + " has compacted its history up to revision " +
              std::to_string(resp.compact_revision()) +
              " (re-read the prefix and watch from the read's revision + 1)");
      cv_.notify_all();
      return false;
    }
    if (resp.canceled()) {
      const std::string& why = resp.cancel_reason();
      end_ = Status::error(why.find("compacted") != std::string::npos ? StatusCode::kCompacted
                                                                       : StatusCode::kFailed,
                           "etcd " + ep_->address + " cancelled the watch on " + quote(prefix_) +
                               (why.empty() ? std::string() : ": " + why));
      cv_.notify_all();
      return false;
    }
    if (resp.events_size() == 0) return true;  // the creation, or a progress notification
    // Without `fragment`, etcd sends a revision's events in one response.
    std::vector<Event> events;
    events.reserve(resp.events_size());
    for (const mvccpb::Event& e : resp.events()) {
      Event ev;
      if (e.type() == mvccpb::Event::DELETE) {
        ev.type = Event::Type::kDelete;
        ev.kv.key = e.kv().key();
        ev.kv.modRevision = e.kv().mod_revision();  // etcd: the revision of the delete
      } else {
        ev.type = Event::Type::kPut;
        ev.kv = fromPb(e.kv());
      }
      events.push_back(std::move(ev));
    }
    queue_.push_back(std::move(events));
    cv_.notify_all();
    return true;
  }

  void end(Status s) {
    std::lock_guard lk(mu_);
    if (!end_) end_ = std::move(s);
    cv_.notify_all();
  }

  std::shared_ptr<Endpoint> ep_;
  const std::string prefix_;
  const Revision from_;
  grpc::ClientContext ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<Event>> queue_;
  bool created_ = false;
  std::optional<Status> end_;  // set once the stream ended; next() returns it once drained
  std::thread reader_;
};

class EtcdStore : public Store {
 public:
  EtcdStore(std::vector<std::shared_ptr<Endpoint>> endpoints, std::chrono::milliseconds timeout)
      : endpoints_(std::move(endpoints)), timeout_(timeout) {}

  std::string describe() const override {
    std::string s = "etcd:";
    for (size_t i = 0; i < endpoints_.size(); ++i) {
      if (i) s += ",";
      s += endpoints_[i]->address;
    }
    return s;
  }

  // Whether some endpoint answers (Maintenance.Status).
  Status probe() {
    pb::StatusRequest req;
    pb::StatusResponse resp;
    return call("Maintenance.Status", Retry::kAlways, [&](Endpoint& ep, grpc::ClientContext& ctx) {
      return ep.maintenance->Status(&ctx, req, &resp);
    });
  }

  Result<Range> read(const std::string& key, bool prefix) override {
    pb::RangeRequest req;
    if (prefix) {
      setPrefixRange(key, req.mutable_key(), req.mutable_range_end());
    } else if (key.empty()) {
      return Status::error(StatusCode::kInvalidArgument,
                           "read: the empty key (keys are not empty; read every key with the "
                           "empty prefix)");
    } else {
      req.set_key(key);
    }
    pb::RangeResponse resp;
    Status s = call("Range", Retry::kAlways, [&](Endpoint& ep, grpc::ClientContext& ctx) {
      return ep.kv->Range(&ctx, req, &resp);
    });
    if (!s) return s;
    Range r;
    r.revision = resp.header().revision();
    r.kvs.reserve(resp.kvs_size());
    for (const mvccpb::KeyValue& kv : resp.kvs()) r.kvs.push_back(fromPb(kv));
    return r;
  }

  Result<TxnResult> txn(const Txn& t) override {
    if (Status s = checkBranch(t.success, "success"); !s) return s;
    if (Status s = checkBranch(t.failure, "failure"); !s) return s;
    pb::TxnRequest req;
    for (const Compare& c : t.compare) {
      if (Status s = toPb(c, req.add_compare()); !s) return s;
    }
    for (const TxnOp& op : t.success) toPb(op, req.add_success());
    for (const TxnOp& op : t.failure) toPb(op, req.add_failure());
    bool writes = !t.success.empty() || !t.failure.empty();
    pb::TxnResponse resp;
    Status s = call("Txn", writes ? Retry::kIfNotSent : Retry::kAlways,
                    [&](Endpoint& ep, grpc::ClientContext& ctx) {
                      return ep.kv->Txn(&ctx, req, &resp);
                    });
    if (!s) return s;
    TxnResult r;
    r.succeeded = resp.succeeded();
    r.revision = resp.header().revision();
    return r;
  }

  Result<LeaseId> grantLease(std::chrono::seconds ttl) override {
    if (ttl.count() <= 0) {
      return Status::error(StatusCode::kInvalidArgument,
                           "grantLease: a TTL of " + std::to_string(ttl.count()) +
                               " s (it is 1 s or more)");
    }
    pb::LeaseGrantRequest req;
    req.set_ttl(ttl.count());
    pb::LeaseGrantResponse resp;
    // Granting again is harmless: a lease nobody keeps alive expires.
    Status s = call("LeaseGrant", Retry::kAlways, [&](Endpoint& ep, grpc::ClientContext& ctx) {
      return ep.lease->LeaseGrant(&ctx, req, &resp);
    });
    if (!s) return s;
    if (!resp.error().empty()) {
      return Status::error("etcd refused a lease of " + std::to_string(ttl.count()) +
                           " s: " + resp.error());
    }
    return LeaseId(resp.id());
  }

  Status keepAlive(LeaseId lease) override {
    pb::LeaseKeepAliveResponse resp;
    // LeaseKeepAlive is a stream: one request, one answer, then the stream is closed.
    Status s = call("LeaseKeepAlive", Retry::kAlways, [&](Endpoint& ep, grpc::ClientContext& ctx) {
      auto stream = ep.lease->LeaseKeepAlive(&ctx);
      pb::LeaseKeepAliveRequest req;
      req.set_id(lease);
      bool answered = false;
      if (stream->Write(req)) {
        stream->WritesDone();
        answered = stream->Read(&resp);
      }
      grpc::Status st = stream->Finish();
      if (answered) return grpc::Status::OK;
      if (st.ok()) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "the keep-alive stream closed without an answer");
      }
      return st;
    });
    if (!s) return s;
    if (resp.ttl() <= 0) {  // etcd answers TTL 0 for a lease it does not have
      return Status::error(StatusCode::kNotFound, "lease " + std::to_string(lease) +
                                                      " is gone (expired or revoked)");
    }
    return {};
  }

  Status revokeLease(LeaseId lease) override {
    pb::LeaseRevokeRequest req;
    req.set_id(lease);
    pb::LeaseRevokeResponse resp;
    Status s = call("LeaseRevoke", Retry::kIfNotSent, [&](Endpoint& ep, grpc::ClientContext& ctx) {
      return ep.lease->LeaseRevoke(&ctx, req, &resp);
    });
    if (s.code() == StatusCode::kNotFound) {
      return Status::error(StatusCode::kNotFound, "lease " + std::to_string(lease) +
                                                      " is gone (expired or revoked)");
    }
    return s;
  }

  Result<std::unique_ptr<Watch>> watch(const std::string& prefix, Revision from) override {
    if (from < 0) {
      return Status::error(StatusCode::kInvalidArgument,
                           "watch from revision " + std::to_string(from) +
                               " (0: from the next change, or a revision)");
    }
    const size_t n = endpoints_.size();
    const size_t first = current_.load();
    std::string failures;
    for (size_t i = 0; i < n; ++i) {
      const size_t idx = (first + i) % n;
      auto w = std::make_unique<EtcdWatch>(endpoints_[idx], prefix, from);
      try {
        w->start();
      } catch (const std::system_error& e) {
        return Status::error("watch on " + quote(prefix) + ": no thread to read it: " + e.what());
      }
      Status s = w->awaitCreated(timeout_);
      if (s) {
        current_.store(idx);
        return std::unique_ptr<Watch>(std::move(w));
      }
      if (s.code() != StatusCode::kUnavailable) return s;
      failures += (failures.empty() ? "" : "; ") + s.message();
    }
    return unavailable(failures);
  }

  Status compact(Revision rev) override {
    if (rev <= 0) {
      return Status::error(StatusCode::kInvalidArgument,
                           "compact: revision " + std::to_string(rev) + " (it is 1 or more)");
    }
    pb::CompactionRequest req;
    req.set_revision(rev);
    req.set_physical(true);
    pb::CompactionResponse resp;
    Status s = call("Compact", Retry::kIfNotSent, [&](Endpoint& ep, grpc::ClientContext& ctx) {
      return ep.kv->Compact(&ctx, req, &resp);
    });
    if (s.code() == StatusCode::kCompacted) {
      return Status::error(StatusCode::kCompacted,
                           "compact: the history up to revision " + std::to_string(rev) +
                               " is compacted already (" + s.message() + ")");
    }
    if (s.code() == StatusCode::kInvalidArgument) {
      return Status::error(StatusCode::kInvalidArgument,
                           "compact: revision " + std::to_string(rev) +
                               " is newer than the store's (" + s.message() + ")");
    }
    return s;
  }

 private:
  // kAlways: the call may be sent again to the next endpoint (a read, or a write applied
  // twice harmlessly). kIfNotSent: only when it cannot have reached the endpoint that failed,
  // whose channel was not connected (etcd's own client retries writes on that condition only).
  enum class Retry { kAlways, kIfNotSent };

  template <class F>
  Status call(const char* rpc, Retry retry, F&& f) {
    const size_t n = endpoints_.size();
    const size_t first = current_.load();
    std::string failures;
    for (size_t i = 0; i < n; ++i) {
      const size_t idx = (first + i) % n;
      Endpoint& ep = *endpoints_[idx];
      const grpc_connectivity_state before = ep.channel->GetState(false);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
      grpc::Status gs = f(ep, ctx);
      if (gs.ok()) {
        current_.store(idx);
        return {};
      }
      Status s = fromGrpc(ep.address, rpc, gs, timeout_);
      if (s.code() != StatusCode::kUnavailable) return s;
      // Not connected before the call nor after it: the request never left.
      bool unsent = before != GRPC_CHANNEL_READY &&
                    ep.channel->GetState(false) != GRPC_CHANNEL_READY;
      if (retry == Retry::kIfNotSent && !unsent) {
        if (n == 1) return s;
        return Status::error(StatusCode::kUnavailable,
                             s.message() + "; not sent to another endpoint, as " + rpc +
                                 " may have been applied (read back to know)");
      }
      failures += (failures.empty() ? "" : "; ") + s.message();
    }
    return unavailable(failures);
  }

  Status unavailable(const std::string& failures) const {
    if (endpoints_.size() == 1) return Status::error(StatusCode::kUnavailable, failures);
    return Status::error(StatusCode::kUnavailable,
                         "no endpoint of " + describe() + " answered: " + failures);
  }

  const std::vector<std::shared_ptr<Endpoint>> endpoints_;
  const std::chrono::milliseconds timeout_;
  std::atomic<size_t> current_{0};  // the endpoint that answered last; calls start there
};

}  // namespace

Result<std::unique_ptr<Store>> openEtcdStore(const std::vector<std::string>& endpoints,
                                             std::chrono::milliseconds timeout) {
  if (endpoints.empty()) {
    return Status::error(StatusCode::kInvalidArgument,
                         "etcd store: no endpoint (etcd:HOST:PORT[,HOST:PORT...])");
  }
  if (timeout.count() <= 0) {
    return Status::error(StatusCode::kInvalidArgument,
                         "etcd store: a timeout of " + std::to_string(timeout.count()) +
                             " ms (it is 1 ms or more)");
  }
  try {
    std::vector<std::shared_ptr<Endpoint>> eps;
    for (const std::string& e : endpoints) eps.push_back(makeEndpoint(e));
    auto store = std::make_unique<EtcdStore>(std::move(eps), timeout);
    if (Status s = store->probe(); !s) return s;
    return std::unique_ptr<Store>(std::move(store));
  } catch (const std::exception& e) {
    return Status::error("etcd store " + endpoints.front() + ": " + e.what());
  }
}

}  // namespace roamgate::store
