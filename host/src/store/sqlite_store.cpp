// The embedded store: one SQLite file in WAL mode, written by one process (a lock file next
// to it refuses a second). It keeps etcd's model: a store revision bumped once per writing
// transaction, and a log of every change (the watches' history) until it is compacted.
//   kv(key, create_rev, mod_rev, seq, version, lease)   the current keys; the value is the
//                                                        log row's at (mod_rev, seq)
//   log(rev, seq, type, key, value, create_rev, version, lease)   every change, by revision;
//                                                        a compaction keeps current values
//   lease(id, ttl, expires_ms)   wall-clock expiry, so a restart keeps the deadlines
//   meta(name, value)   'revision', 'compact'
// Watches in this process are woken by each commit; a background thread expires leases.
// Every key's revisions, version and lease are also kept in memory (read at open, changed at
// each commit), so that comparisons and puts need no lookup in the B-tree.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "backends.h"

namespace roamgate::store {
namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A prepared statement, reset after each use.
class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st_, nullptr) != SQLITE_OK) {
      st_ = nullptr;
    }
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept { std::swap(st_, o.st_); }
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(st_, o.st_);
    return *this;
  }
  bool valid() const { return st_ != nullptr; }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Binds without a copy: `v` must outlive the statement's next step().
  Stmt& bindRef(int i, const std::string& v) {
    sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& bindText(int i, const char* v) {
    sqlite3_bind_text(st_, i, v, -1, SQLITE_TRANSIENT);
    return *this;
  }
  int step() { return sqlite3_step(st_); }
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  int64_t i64(int col) { return sqlite3_column_int64(st_, col); }
  std::string blob(int col) {
    const void* p = sqlite3_column_blob(st_, col);
    int n = sqlite3_column_bytes(st_, col);
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }

 private:
  sqlite3_stmt* st_ = nullptr;
};

// Resets a statement when it leaves scope.
struct ResetOnExit {
  Stmt& s;
  ~ResetOnExit() { s.reset(); }
};

constexpr int kEventPut = 0;
constexpr int kEventDelete = 1;
constexpr Revision kWatchWindow = 1024;  // revisions read by one Watch::next

class SqliteStore;

// What watches share with the store: the database, its lock, and the commit signal.
// One committed revision's changes, as watches deliver them.
struct Committed {
  Revision revision;
  std::vector<Event> events;
  size_t bytes;
};

struct Shared {
  std::mutex mu;
  std::condition_variable committed;
  sqlite3* db = nullptr;
  Revision revision = 1;
  Revision compacted = 0;
  bool closed = false;
  Stmt selLog;
  // The latest revisions' changes in memory (revisions recentFrom..revision, up to
  // kRecentBytes): a watch that keeps up reads them here instead of from the log table.
  std::deque<Committed> recent;
  Revision recentFrom = 2;
  size_t recentBytes = 0;
};
constexpr size_t kRecentBytes = 64 << 20;

class SqliteWatch : public Watch {
 public:
  SqliteWatch(std::shared_ptr<Shared> sh, std::string prefix, Revision from)
      : sh_(std::move(sh)), prefix_(std::move(prefix)), end_(prefixEnd(prefix_)), next_(from) {}

  Result<std::vector<Event>> next(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lk(sh_->mu);
    for (;;) {
      if (sh_->closed) return Status::error(StatusCode::kUnavailable, "the store was closed");
      if (next_ < sh_->compacted) {
        return Status::error(StatusCode::kCompacted,
                             "watch from revision " + std::to_string(next_) +
                                 ": the store keeps changes from revision " +
                                 std::to_string(sh_->compacted) + " on");
      }
      if (next_ <= sh_->revision && next_ >= sh_->recentFrom) {
        std::vector<Event> out;
        Revision last = next_;
        for (const Committed& c : sh_->recent) {  // contiguous, oldest first
          if (c.revision < next_) continue;
          if (c.revision >= next_ + kWatchWindow) break;
          last = c.revision;
          for (const Event& e : c.events) {
            if (e.kv.key.compare(0, prefix_.size(), prefix_) == 0) out.push_back(e);
          }
        }
        next_ = last + 1;
        if (!out.empty()) return out;
        continue;
      }
      if (next_ <= sh_->revision) {
        Revision last = std::min(sh_->revision, next_ + kWatchWindow - 1);
        std::vector<Event> out;
        Stmt& s = sh_->selLog;
        ResetOnExit r{s};
        s.bind(1, next_).bind(2, last);
        while (s.step() == SQLITE_ROW) {
          std::string key = s.blob(3);
          if (key.compare(0, prefix_.size(), prefix_) != 0) continue;
          Event e;
          e.type = s.i64(2) == kEventPut ? Event::Type::kPut : Event::Type::kDelete;
          e.kv.key = std::move(key);
          e.kv.modRevision = s.i64(0);
          if (e.type == Event::Type::kPut) {
            e.kv.value = s.blob(4);
            e.kv.createRevision = s.i64(5);
            e.kv.version = s.i64(6);
            e.kv.lease = s.i64(7);
          }
          out.push_back(std::move(e));
        }
        next_ = last + 1;
        if (!out.empty()) return out;
        continue;  // nothing for this prefix in the window: look further
      }
      if (sh_->committed.wait_until(lk, deadline) == std::cv_status::timeout &&
          next_ > sh_->revision) {
        return std::vector<Event>{};
      }
    }
  }

 private:
  std::shared_ptr<Shared> sh_;
  std::string prefix_;
  std::string end_;
  Revision next_;
};

// What the index keeps of a key: everything but its value.
struct Head {
  Revision createRev;
  Revision modRev;
  int64_t version;
  LeaseId lease;
};

class SqliteStore : public Store {
 public:
  SqliteStore(std::string path, int lockFd) : path_(std::move(path)), lockFd_(lockFd) {
    sh_ = std::make_shared<Shared>();
  }

  ~SqliteStore() override {
    {
      std::lock_guard lk(sh_->mu);
      stop_ = true;
      sh_->closed = true;
    }
    sh_->committed.notify_all();
    leaseCv_.notify_all();
    if (expirer_.joinable()) expirer_.join();
    {
      std::lock_guard lk(ckMu_);
      ckStop_ = true;
    }
    ckCv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
    sqlite3_close_v2(ckDb_);
    std::lock_guard lk(sh_->mu);
    stmts_.clear();
    sh_->selLog = Stmt();
    sqlite3_close_v2(sh_->db);
    sh_->db = nullptr;
    if (lockFd_ >= 0) close(lockFd_);
  }

  Status open() {
    if (sqlite3_open_v2(path_.c_str(), &sh_->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string msg = sh_->db ? sqlite3_errmsg(sh_->db) : "out of memory";
      return Status::error(StatusCode::kUnavailable,
                           "cannot open store file " + path_ + ": " + msg);
    }
    const char* pragmas =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        // 64 MiB of page cache (the default is 2 MiB): 100,000 sessions' pages stay in it,
        // 13 % less CPU for a create of 63,000 sessions.
        "PRAGMA cache_size=-65536;"
        // The log file is cut back to 64 MiB when it restarts (it keeps its largest size
        // otherwise).
        "PRAGMA journal_size_limit=67108864;"
        "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);";
    if (Status st = execScript(pragmas); !st) return st;
    int64_t schema = 0;
    {
      Stmt q(sh_->db, "SELECT value FROM meta WHERE name='schema'");
      if (q.valid() && q.step() == SQLITE_ROW) schema = q.i64(0);
    }
    if (schema == 0) {
      if (Status st = execScript(kSchema2); !st) return st;
    } else if (schema == 1) {
      if (Status st = execScript(kMigrate1To2); !st) return st;
      spdlog::info("store {}: values moved out of the key table (schema 1 -> 2)", path_);
    } else if (schema != 2) {
      return Status::error(StatusCode::kUnavailable,
                           "store file " + path_ + " has schema " + std::to_string(schema) +
                               "; this roamd reads 1 and 2 (a newer roamd wrote it?)");
    }
    sqlite3_busy_timeout(sh_->db, 5000);
    auto prep = [&](const char* name, const char* sql) {
      stmts_.emplace(name, Stmt(sh_->db, sql));
      return stmts_.at(name).valid();
    };
    // A key's value is its log row's (CROSS JOIN: the key table is the outer loop).
#define ROAMGATE_KV_VALUES                                                             \
  "SELECT k.key, l.value, k.create_rev, k.mod_rev, k.version, k.lease FROM kv k"      \
  " CROSS JOIN log l ON l.rev=k.mod_rev AND l.seq=k.seq"
    bool ok = prep("get", ROAMGATE_KV_VALUES " WHERE k.key=?1") &&
              prep("range", ROAMGATE_KV_VALUES " WHERE k.key>=?1 AND k.key<?2 ORDER BY k.key") &&
              prep("rangeAll", ROAMGATE_KV_VALUES " WHERE k.key>=?1 ORDER BY k.key") &&
#undef ROAMGATE_KV_VALUES
              prep("insert", "INSERT INTO kv VALUES(?1, ?2, ?3, ?4, ?5, ?6)") &&
              prep("update",
                   "UPDATE kv SET mod_rev=?3, seq=?4, version=?5, lease=?6 WHERE key=?1") &&
              prep("heads", "SELECT key, create_rev, mod_rev, version, lease FROM kv") &&
              prep("delete", "DELETE FROM kv WHERE key=?1") &&
              prep("log", "INSERT INTO log VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)") &&
              prep("setMeta", "UPDATE meta SET value=?2 WHERE name=?1") &&
              prep("getMeta", "SELECT value FROM meta WHERE name=?1") &&
              prep("leaseGet", "SELECT ttl FROM lease WHERE id=?1") &&
              prep("leaseKeys", "SELECT key FROM kv WHERE lease=?1 ORDER BY key") &&
              prep("leaseIns", "INSERT INTO lease VALUES(?1, ?2, ?3)") &&
              prep("leaseDel", "DELETE FROM lease WHERE id=?1") &&
              prep("leaseRenew", "UPDATE lease SET expires_ms=?2 WHERE id=?1") &&
              prep("leaseExpired", "SELECT id FROM lease WHERE expires_ms<=?1") &&
              // What a compaction keeps below its revision: the current values.
              prep("compact",
                   "DELETE FROM log WHERE rev<?1 AND NOT EXISTS (SELECT 1 FROM kv"
                   " WHERE kv.key=log.key AND kv.mod_rev=log.rev AND kv.seq=log.seq)") &&
              prep("begin", "BEGIN IMMEDIATE") && prep("commit", "COMMIT") &&
              prep("rollback", "ROLLBACK");
    sh_->selLog = Stmt(sh_->db,
                       "SELECT rev, seq, type, key, value, create_rev, version, lease FROM log"
                       " WHERE rev>=?1 AND rev<=?2 ORDER BY rev, seq");
    if (!ok || !sh_->selLog.valid()) {
      return Status::error(StatusCode::kFailed,
                           "store file " + path_ + ": " + sqlite3_errmsg(sh_->db));
    }
    sh_->revision = meta("revision");
    sh_->compacted = meta("compact");
    sh_->recentFrom = sh_->revision + 1;  // what came before is read from the log table
    {
      Stmt& h = st("heads");
      ResetOnExit r{h};
      int rc;
      while ((rc = h.step()) == SQLITE_ROW) {
        index_.emplace(h.blob(0), Head{h.i64(1), h.i64(2), h.i64(3), h.i64(4)});
      }
      if (rc != SQLITE_DONE) return dbError("reading the keys");
    }
    // Checkpoints run on a thread of their own with a connection of their own, so that a
    // commit does not wait while the log's pages are copied into the file and synced (7 %
    // of a session's create). A commit that leaves the log at kCheckpointPages or more
    // wakes it; SQLite's own checkpoint after commits (the same 1000 pages) is off.
    if (sqlite3_open_v2(path_.c_str(), &ckDb_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      return Status::error(StatusCode::kUnavailable, "cannot open store file " + path_ +
                                                          " for checkpoints: " +
                                                          (ckDb_ ? sqlite3_errmsg(ckDb_) : "?"));
    }
    sqlite3_busy_timeout(ckDb_, 5000);
    sqlite3_wal_hook(sh_->db, &SqliteStore::onCommit, this);
    checkpointer_ = std::thread([this] { checkpointLoop(); });
    expirer_ = std::thread([this] { expireLoop(); });
    return {};
  }

  std::string describe() const override { return "sqlite:" + path_; }

  Result<Range> read(const std::string& key, bool prefix) override {
    std::lock_guard lk(sh_->mu);
    Range out;
    out.revision = sh_->revision;
    if (!prefix) {
      std::optional<KeyValue> kv = getLocked(key);
      if (kv) out.kvs.push_back(std::move(*kv));
      return out;
    }
    std::string end = prefixEnd(key);
    bool all = end == std::string(1, '\0');
    Stmt& s = all ? st("rangeAll") : st("range");
    ResetOnExit r{s};
    s.bind(1, key);
    if (!all) s.bind(2, end);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      KeyValue kv;
      kv.key = s.blob(0);
      kv.value = s.blob(1);
      kv.createRevision = s.i64(2);
      kv.modRevision = s.i64(3);
      kv.version = s.i64(4);
      kv.lease = s.i64(5);
      out.kvs.push_back(std::move(kv));
    }
    if (rc != SQLITE_DONE) return dbError("read");
    return out;
  }

  Result<TxnResult> txn(const Txn& t) override {
    std::unique_lock lk(sh_->mu);
    if (sh_->closed) return Status::error(StatusCode::kUnavailable, "the store was closed");
    Result<TxnResult> r = txnLocked(t);
    lk.unlock();
    sh_->committed.notify_all();
    return r;
  }

  Result<LeaseId> grantLease(std::chrono::seconds ttl) override {
    if (ttl.count() <= 0) {
      return Status::error(StatusCode::kInvalidArgument,
                           "lease TTL " + std::to_string(ttl.count()) + " s: must be at least 1");
    }
    std::lock_guard lk(sh_->mu);
    for (int tries = 0; tries < 16; ++tries) {
      LeaseId id = static_cast<LeaseId>(rng_() >> 1);
      if (id == 0) continue;
      Stmt& s = st("leaseIns");
      ResetOnExit r{s};
      s.bind(1, id).bind(2, ttl.count()).bind(3, nowMs() + ttl.count() * 1000);
      int rc = s.step();
      if (rc == SQLITE_DONE) return id;
      if (rc != SQLITE_CONSTRAINT) return dbError("grant lease");
    }
    return Status::error(StatusCode::kFailed, "no free lease id");
  }

  Status keepAlive(LeaseId lease) override {
    std::lock_guard lk(sh_->mu);
    Stmt& g = st("leaseGet");
    int64_t ttl;
    {
      ResetOnExit r{g};
      g.bind(1, lease);
      if (g.step() != SQLITE_ROW) return leaseNotFound(lease);
      ttl = g.i64(0);
    }
    Stmt& s = st("leaseRenew");
    ResetOnExit r{s};
    s.bind(1, lease).bind(2, nowMs() + ttl * 1000);
    if (s.step() != SQLITE_DONE) return dbError("keep lease alive");
    return {};
  }

  Status revokeLease(LeaseId lease) override {
    std::unique_lock lk(sh_->mu);
    Status s = revokeLocked(lease);
    lk.unlock();
    sh_->committed.notify_all();
    return s;
  }

  Result<std::unique_ptr<Watch>> watch(const std::string& prefix, Revision from) override {
    std::lock_guard lk(sh_->mu);
    if (from <= 0) from = sh_->revision + 1;
    return std::unique_ptr<Watch>(std::make_unique<SqliteWatch>(sh_, prefix, from));
  }

  Status compact(Revision rev) override {
    std::lock_guard lk(sh_->mu);
    if (rev <= sh_->compacted) {
      return Status::error(StatusCode::kCompacted,
                           "revision " + std::to_string(rev) + " is already compacted (to " +
                               std::to_string(sh_->compacted) + ")");
    }
    if (rev > sh_->revision) {
      return Status::error(StatusCode::kInvalidArgument,
                           "cannot compact to revision " + std::to_string(rev) +
                               ": the store is at " + std::to_string(sh_->revision));
    }
    if (!exec("begin")) return dbError("compact");
    Stmt& c = st("compact");
    bool ok;
    {
      ResetOnExit r{c};
      c.bind(1, rev);
      ok = c.step() == SQLITE_DONE && setMeta("compact", rev);
    }
    if (!ok || !exec("commit")) {
      (void)exec("rollback");
      return dbError("compact");
    }
    sh_->compacted = rev;
    return {};
  }

 private:
  Stmt& st(const char* name) { return stmts_.at(name); }
  bool exec(const char* name) {
    Stmt& s = st(name);
    ResetOnExit r{s};
    return s.step() == SQLITE_DONE;
  }
  int64_t meta(const char* name) {
    Stmt& s = st("getMeta");
    ResetOnExit r{s};
    s.bindText(1, name);
    return s.step() == SQLITE_ROW ? s.i64(0) : 0;
  }
  bool setMeta(const char* name, int64_t v) {
    Stmt& s = st("setMeta");
    ResetOnExit r{s};
    s.bindText(1, name).bind(2, v);
    return s.step() == SQLITE_DONE;
  }
  Status dbError(const char* what) {
    return Status::error(StatusCode::kFailed, std::string("store ") + path_ + ": " + what +
                                                  " failed: " + sqlite3_errmsg(sh_->db));
  }
  static Status leaseNotFound(LeaseId id) {
    return Status::error(StatusCode::kNotFound,
                         "lease " + std::to_string(id) + " not found (expired or revoked)");
  }

  // A key's revisions, version and lease without its value (what comparisons other than
  // kValue and a put's new revisions need): this transaction's change if it made one, else
  // the index. One process writes the file, so the index is what the file holds.
  std::optional<Head> headLocked(const std::string& key) const {
    if (!pending_.empty()) {
      auto p = pending_.find(key);
      if (p != pending_.end()) return p->second;
    }
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }

  // A transaction given up: nothing of it reaches the index or the watches.
  void abandon() {
    pending_.clear();
    pendingEvents_.clear();
    pendingBytes_ = 0;
  }

  // After a commit that wrote `rev`: the store's revision, and its changes for the watches.
  void committedAt(Revision rev) {
    sh_->revision = rev;
    sh_->recent.push_back({rev, std::move(pendingEvents_), pendingBytes_});
    sh_->recentBytes += pendingBytes_;
    pendingEvents_.clear();
    pendingBytes_ = 0;
    while (sh_->recentBytes > kRecentBytes && sh_->recent.size() > 1) {
      sh_->recentBytes -= sh_->recent.front().bytes;
      sh_->recentFrom = sh_->recent.front().revision + 1;
      sh_->recent.pop_front();
    }
  }

  // The end of a writing transaction: its changes reach the index only if it committed.
  Status finish(bool ok, const char* what) {
    if (!ok || !exec("commit")) {
      Status e = dbError(what);
      (void)exec("rollback");
      abandon();
      return e;
    }
    for (auto& [key, h] : pending_) {
      if (h) index_.insert_or_assign(key, *h);
      else index_.erase(key);
    }
    pending_.clear();
    return {};
  }

  std::optional<KeyValue> getLocked(const std::string& key) {
    Stmt& s = st("get");
    ResetOnExit r{s};
    s.bind(1, key);
    if (s.step() != SQLITE_ROW) return std::nullopt;
    KeyValue kv;
    kv.key = key;
    kv.value = s.blob(1);
    kv.createRevision = s.i64(2);
    kv.modRevision = s.i64(3);
    kv.version = s.i64(4);
    kv.lease = s.i64(5);
    return kv;
  }

  bool holds(const Compare& c) {
    int cmp;
    if (c.target == Compare::Target::kValue) {
      std::optional<KeyValue> kv = getLocked(c.key);
      if (!kv) return false;  // etcd: a value comparison on an absent key fails
      cmp = kv->value.compare(c.value);
    } else {
      std::optional<Head> h = headLocked(c.key);
      int64_t have = 0;
      if (h) {
        have = c.target == Compare::Target::kVersion          ? h->version
               : c.target == Compare::Target::kCreateRevision ? h->createRev
                                                              : h->modRev;
      }
      cmp = have < c.number ? -1 : have > c.number ? 1 : 0;
    }
    switch (c.op) {
      case Compare::Op::kEqual: return cmp == 0;
      case Compare::Op::kNotEqual: return cmp != 0;
      case Compare::Op::kGreater: return cmp > 0;
      case Compare::Op::kLess: return cmp < 0;
    }
    return false;
  }

  // One change at `rev` (seq counts within the revision).
  bool logChange(Revision rev, int64_t& seq, int type, const std::string& key,
                 const std::string& value, Revision createRev, int64_t version, LeaseId lease) {
    Event& e = pendingEvents_.emplace_back();
    e.type = type == kEventPut ? Event::Type::kPut : Event::Type::kDelete;
    e.kv.key = key;
    e.kv.modRevision = rev;
    if (type == kEventPut) {
      e.kv.value = value;
      e.kv.createRevision = createRev;
      e.kv.version = version;
      e.kv.lease = lease;
    }
    pendingBytes_ += key.size() + value.size() + sizeof(Event);
    Stmt& s = st("log");
    ResetOnExit r{s};
    s.bind(1, rev).bind(2, seq++).bind(3, type).bindRef(4, key).bindRef(5, value);
    s.bind(6, createRev).bind(7, version).bind(8, lease);
    return s.step() == SQLITE_DONE;
  }

  bool deleteKey(const std::string& key, Revision rev, int64_t& seq) {
    Stmt& d = st("delete");
    {
      ResetOnExit r{d};
      d.bind(1, key);
      if (d.step() != SQLITE_DONE) return false;
    }
    static const std::string kNoValue;
    pending_.insert_or_assign(key, std::nullopt);
    return logChange(rev, seq, kEventDelete, key, kNoValue, 0, 0, 0);
  }

  Result<TxnResult> txnLocked(const Txn& t) {
    if (!exec("begin")) return dbError("begin");
    bool succeeded = true;
    for (const Compare& c : t.compare) {
      if (!holds(c)) {
        succeeded = false;
        break;
      }
    }
    const std::vector<TxnOp>& ops = succeeded ? t.success : t.failure;
    std::unordered_set<std::string_view> seen;
    seen.reserve(ops.size());
    for (const TxnOp& op : ops) {
      if (op.type != TxnOp::Type::kDeletePrefix && !seen.insert(op.key).second) {
        (void)exec("rollback");
        return Status::error(StatusCode::kInvalidArgument,
                             "key " + op.key + " appears twice in one transaction");
      }
    }
    Revision rev = sh_->revision + 1;
    int64_t seq = 0;
    bool ok = true;
    for (const TxnOp& op : ops) {
      if (op.type == TxnOp::Type::kPut) {
        if (op.lease != 0) {
          Stmt& g = st("leaseGet");
          ResetOnExit r{g};
          g.bind(1, op.lease);
          if (g.step() != SQLITE_ROW) {
            (void)exec("rollback");
            abandon();
            return leaseNotFound(op.lease);
          }
        }
        std::optional<Head> old = headLocked(op.key);
        Head h{old ? old->createRev : rev, rev, old ? old->version + 1 : 1, op.lease};
        Stmt& u = st(old ? "update" : "insert");
        ResetOnExit r{u};
        u.bindRef(1, op.key).bind(2, h.createRev).bind(3, rev).bind(4, seq);
        u.bind(5, h.version).bind(6, op.lease);
        ok = u.step() == SQLITE_DONE &&
             logChange(rev, seq, kEventPut, op.key, op.value, h.createRev, h.version, op.lease);
        pending_.insert_or_assign(op.key, h);
      } else if (op.type == TxnOp::Type::kDelete) {
        if (headLocked(op.key)) ok = deleteKey(op.key, rev, seq);
      } else {
        std::vector<std::string> keys;
        std::string end = prefixEnd(op.key);
        bool all = end == std::string(1, '\0');
        Stmt& s = all ? st("rangeAll") : st("range");
        {
          ResetOnExit r{s};
          s.bind(1, op.key);
          if (!all) s.bind(2, end);
          while (s.step() == SQLITE_ROW) keys.push_back(s.blob(0));
        }
        for (const std::string& k : keys) {
          if (!(ok = deleteKey(k, rev, seq))) break;
        }
      }
      if (!ok) break;
    }
    if (ok && seq > 0) ok = setMeta("revision", rev);
    if (Status e = finish(ok, "transaction"); !e) return e;
    if (seq > 0) committedAt(rev);
    return TxnResult{succeeded, sh_->revision};
  }

  Status revokeLocked(LeaseId lease) {
    {
      Stmt& g = st("leaseGet");
      ResetOnExit r{g};
      g.bind(1, lease);
      if (g.step() != SQLITE_ROW) return leaseNotFound(lease);
    }
    std::vector<std::string> keys;
    {
      Stmt& s = st("leaseKeys");
      ResetOnExit r{s};
      s.bind(1, lease);
      while (s.step() == SQLITE_ROW) keys.push_back(s.blob(0));
    }
    if (!exec("begin")) return dbError("revoke lease");
    Revision rev = sh_->revision + 1;
    int64_t seq = 0;
    bool ok = true;
    for (const std::string& k : keys) {
      if (!(ok = deleteKey(k, rev, seq))) break;
    }
    Stmt& d = st("leaseDel");
    {
      ResetOnExit r{d};
      d.bind(1, lease);
      ok = ok && d.step() == SQLITE_DONE;
    }
    if (ok && seq > 0) ok = setMeta("revision", rev);
    if (Status e = finish(ok, "revoke lease"); !e) return e;
    if (seq > 0) committedAt(rev);
    return {};
  }

  // Expires leases whose deadline passed, every 100 ms (a lease's TTL is whole seconds).
  void expireLoop() {
    std::unique_lock lk(sh_->mu);
    while (!stop_) {
      leaseCv_.wait_for(lk, std::chrono::milliseconds(100));
      if (stop_) break;
      std::vector<LeaseId> expired;
      {
        Stmt& s = st("leaseExpired");
        ResetOnExit r{s};
        s.bind(1, nowMs());
        while (s.step() == SQLITE_ROW) expired.push_back(s.i64(0));
      }
      for (LeaseId id : expired) (void)revokeLocked(id);
      if (!expired.empty()) {
        lk.unlock();
        sh_->committed.notify_all();
        lk.lock();
      }
    }
  }

  static constexpr int kCheckpointPages = 1000;

  // Schema 2: a key's value is kept once, in its log row, which the key table points at
  // (mod_rev, seq). Schema 1 kept it in the key table too: creating a session wrote its
  // value into two B-trees, and the key table's rows (11 to a page) made every random TEID
  // a page of its own to write.
  static constexpr const char* kSchema2 =
      "BEGIN IMMEDIATE;"
      "CREATE TABLE kv(key BLOB PRIMARY KEY, create_rev INTEGER NOT NULL,"
      " mod_rev INTEGER NOT NULL, seq INTEGER NOT NULL, version INTEGER NOT NULL,"
      " lease INTEGER NOT NULL) WITHOUT ROWID;"
      "CREATE INDEX kv_lease ON kv(lease) WHERE lease != 0;"
      "CREATE TABLE log(rev INTEGER NOT NULL, seq INTEGER NOT NULL,"
      " type INTEGER NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,"
      " create_rev INTEGER NOT NULL, version INTEGER NOT NULL, lease INTEGER NOT NULL,"
      " PRIMARY KEY(rev, seq)) WITHOUT ROWID;"
      "CREATE TABLE lease(id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL,"
      " expires_ms INTEGER NOT NULL);"
      "INSERT INTO meta VALUES('schema', 2), ('revision', 1), ('compact', 0);"
      "COMMIT;";
  // A value whose log row a compaction removed goes back into the log at its revision, as
  // seq -1, -2, ... (below the compaction point, so no watch reads it).
  static constexpr const char* kMigrate1To2 =
      "BEGIN IMMEDIATE;"
      "CREATE TABLE kv2(key BLOB PRIMARY KEY, create_rev INTEGER NOT NULL,"
      " mod_rev INTEGER NOT NULL, seq INTEGER NOT NULL, version INTEGER NOT NULL,"
      " lease INTEGER NOT NULL) WITHOUT ROWID;"
      "INSERT INTO log SELECT k.mod_rev,"
      " -ROW_NUMBER() OVER (PARTITION BY k.mod_rev ORDER BY k.key),"
      " 0, k.key, k.value, k.create_rev, k.version, k.lease FROM kv k WHERE NOT EXISTS"
      " (SELECT 1 FROM log l WHERE l.rev=k.mod_rev AND l.key=k.key AND l.type=0);"
      "INSERT INTO kv2 SELECT k.key, k.create_rev, k.mod_rev, (SELECT l.seq FROM log l"
      " WHERE l.rev=k.mod_rev AND l.key=k.key AND l.type=0 ORDER BY l.seq DESC LIMIT 1),"
      " k.version, k.lease FROM kv k;"
      "DROP TABLE kv;"
      "ALTER TABLE kv2 RENAME TO kv;"
      "CREATE INDEX kv_lease ON kv(lease) WHERE lease != 0;"
      "UPDATE meta SET value=2 WHERE name='schema';"
      "COMMIT;";

  Status execScript(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(sh_->db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      (void)sqlite3_exec(sh_->db, "ROLLBACK", nullptr, nullptr, nullptr);
      return Status::error(StatusCode::kUnavailable,
                           "store file " + path_ + " is not a Roamgate store: " + msg);
    }
    return {};
  }

  // SQLite's hook after each commit, with the log's length in pages. Under a stream of
  // commits the checkpointer never catches the writer, and the log restarts from its
  // beginning only when a commit finds it all copied: past 4 kCheckpointPages the writer
  // copies the rest itself (most was copied already), as SQLite's own checkpoint does.
  static int onCommit(void* self, sqlite3* db, const char*, int pages) {
    auto* me = static_cast<SqliteStore*>(self);
    if (pages >= 4 * kCheckpointPages) {
      (void)sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= kCheckpointPages) {
      {
        std::lock_guard lk(me->ckMu_);
        me->ckWanted_ = true;
      }
      me->ckCv_.notify_one();
    }
    return SQLITE_OK;
  }

  // PASSIVE: copies what it can without waiting for (or holding up) the writer; the next
  // commit after a whole copy starts the log from its beginning again.
  void checkpointLoop() {
    std::unique_lock lk(ckMu_);
    for (;;) {
      ckCv_.wait(lk, [&] { return ckWanted_ || ckStop_; });
      if (ckStop_) return;
      ckWanted_ = false;
      lk.unlock();
      int rc = sqlite3_wal_checkpoint_v2(ckDb_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                         nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        spdlog::warn("store {}: checkpoint failed: {}", path_, sqlite3_errmsg(ckDb_));
      }
      lk.lock();
    }
  }

  std::string path_;
  int lockFd_;
  std::shared_ptr<Shared> sh_;
  std::map<std::string, Stmt> stmts_;
  // Every key's head, as committed: comparisons and puts read it instead of the B-tree (a
  // session's create compares two keys absent, then puts one). ~100 bytes a key.
  std::unordered_map<std::string, Head> index_;
  std::unordered_map<std::string, std::optional<Head>> pending_;  // the open transaction's
  std::vector<Event> pendingEvents_;  // its changes, for the watches
  size_t pendingBytes_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
  bool stop_ = false;
  std::condition_variable leaseCv_;
  std::thread expirer_;
  sqlite3* ckDb_ = nullptr;  // the checkpointer's connection
  std::mutex ckMu_;
  std::condition_variable ckCv_;
  bool ckWanted_ = false;
  bool ckStop_ = false;
  std::thread checkpointer_;
};

}  // namespace

Result<std::unique_ptr<Store>> openSqliteStore(const std::string& path) {
  std::string lockPath = path + ".lock";
  int fd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::error(StatusCode::kUnavailable,
                         "cannot open store file " + path + " (its lock " + lockPath + ": " +
                             strerror(errno) + ")");
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return Status::error(StatusCode::kUnavailable,
                         "store " + path + " is in use by another process (one writer at a "
                         "time; share a store across machines with etcd)");
  }
  auto s = std::make_unique<SqliteStore>(path, fd);
  Status st = s->open();
  if (!st.ok()) return st;
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace roamgate::store
