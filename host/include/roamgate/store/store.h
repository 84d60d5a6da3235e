// The shared state's store: keys and values with revisions, transactions (compare and set),
// prefix reads, watches that resume from a revision, and leases. The model is etcd v3's (one
// revision counter for the whole store, bumped once per writing transaction; every key keeps
// its create and modify revisions and a version), so that the two backends behave the same:
//   SqliteStore: one file in WAL mode, one writer process (the embedded default);
//   EtcdStore:   etcd v3 over gRPC, for appliances on several machines.
// Every call is thread-safe. Values are opaque bytes (the control plane stores JSON).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "roamgate/result.h"
#include "roamgate/status.h"

namespace roamgate::store {

using Revision = int64_t;
using LeaseId = int64_t;  // 0: no lease

struct KeyValue {
  std::string key;
  std::string value;
  Revision createRevision = 0;
  Revision modRevision = 0;
  int64_t version = 0;  // 1 on creation, +1 on each put; a deleted key starts again at 1
  LeaseId lease = 0;
  bool operator==(const KeyValue&) const = default;
};

// A read: the keys in key order and the store's revision at the moment of the read.
struct Range {
  std::vector<KeyValue> kvs;
  Revision revision = 0;
};

struct Compare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue };
  enum class Op { kEqual, kNotEqual, kGreater, kLess };
  std::string key;
  Target target = Target::kVersion;
  Op op = Op::kEqual;
  int64_t number = 0;  // for the version and revision targets
  std::string value;   // for kValue

  // The key does not exist (version 0).
  static Compare absent(std::string key) {
    return {std::move(key), Target::kVersion, Op::kEqual, 0, {}};
  }
  // The key exists and was last written at `rev` (compare-and-set on a value read before).
  static Compare modRevisionIs(std::string key, Revision rev) {
    return {std::move(key), Target::kModRevision, Op::kEqual, rev, {}};
  }
  static Compare valueIs(std::string key, std::string value) {
    return {std::move(key), Target::kValue, Op::kEqual, 0, std::move(value)};
  }
};

struct TxnOp {
  enum class Type { kPut, kDelete, kDeletePrefix };
  Type type = Type::kPut;
  std::string key;  // the prefix for kDeletePrefix
  std::string value;
  LeaseId lease = 0;

  static TxnOp put(std::string key, std::string value, LeaseId lease = 0) {
    return {Type::kPut, std::move(key), std::move(value), lease};
  }
  static TxnOp del(std::string key) { return {Type::kDelete, std::move(key), {}, 0}; }
  static TxnOp delPrefix(std::string prefix) {
    return {Type::kDeletePrefix, std::move(prefix), {}, 0};
  }
};

// If every comparison holds, the success operations run, else the failure ones; either way
// as one atomic step at one new revision (a transaction that writes nothing keeps the
// revision). Keys may not repeat among the operations of one branch.
struct Txn {
  std::vector<Compare> compare;
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;
};

struct TxnResult {
  bool succeeded = false;
  Revision revision = 0;  // the store's revision after the transaction
};

struct Event {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  // For a put: the key as written. For a delete: the key, with modRevision the revision of
  // the delete and the value empty.
  KeyValue kv;
};

// A watch on a prefix delivers every change from its start revision on, in revision order,
// each revision's events together.
class Watch {
 public:
  virtual ~Watch() = default;
  // Waits up to `timeout` for the next events (an empty vector when none came). Fails with
  // kCompacted when the changes asked for are older than the store keeps: the caller re-reads
  // the prefix and watches again from that read's revision + 1 (StateFollower does).
  virtual Result<std::vector<Event>> next(std::chrono::milliseconds timeout) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual std::string describe() const = 0;

  // One key (`prefix` false: zero or one result) or every key under a prefix, in key order.
  virtual Result<Range> read(const std::string& key, bool prefix) = 0;
  virtual Result<TxnResult> txn(const Txn& t) = 0;

  // Leases: a key written with a lease is deleted (a delete event) when the lease expires
  // or is revoked. keepAlive fails with kNotFound once the lease is gone.
  virtual Result<LeaseId> grantLease(std::chrono::seconds ttl) = 0;
  virtual Status keepAlive(LeaseId lease) = 0;
  virtual Status revokeLease(LeaseId lease) = 0;

  // Changes under `prefix` from revision `from` on (0: from the next change).
  virtual Result<std::unique_ptr<Watch>> watch(const std::string& prefix, Revision from) = 0;
  // Forgets the history before `rev` (watches from older revisions then fail kCompacted).
  virtual Status compact(Revision rev) = 0;

  // Helpers on txn() and read().
  Result<Range> get(const std::string& key) { return read(key, false); }
  Result<Range> list(const std::string& prefix) { return read(prefix, true); }
  Result<Revision> put(const std::string& key, const std::string& value, LeaseId lease = 0);
  Result<Revision> del(const std::string& key);
  // Creates `key` only if it does not exist: kAlreadyExists when it does.
  Result<Revision> create(const std::string& key, const std::string& value, LeaseId lease = 0);
};

// Opens a store from its spec: sqlite:PATH or etcd:HOST:PORT[,HOST:PORT...]. `timeout`
// bounds each request to a remote store (a store that does not answer: kUnavailable).
struct StoreOptions {
  std::string spec = "sqlite:/var/lib/roamgate/state.db";
  std::chrono::milliseconds timeout{5000};
};
Result<std::unique_ptr<Store>> openStore(const StoreOptions& opts);

// The end of a prefix range (etcd's range_end): the prefix with its last byte incremented.
std::string prefixEnd(const std::string& prefix);

}  // namespace roamgate::store
