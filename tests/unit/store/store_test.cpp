// The store suite: the same tests against SQLite and against a real etcd (started by the
// backend on loopback). What the control plane relies on: revisions, all-or-nothing
// transactions, prefix reads, watches from a revision (and the re-read after a compaction),
// leases, and exactly one winner when two writers race for one key.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "backend.h"
#include "roamgate/store/follower.h"

namespace roamgate::store::test {
namespace {

using namespace std::chrono_literals;

class StoreSuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = GetParam() == "sqlite" ? makeSqliteBackend() : makeEtcdBackend();
    ASSERT_TRUE(backend_);
    store_ = backend_->open();
    ASSERT_TRUE(store_) << "cannot open " << backend_->spec();
  }
  Store& s() { return *store_; }

  // Collects events of a watch until `n` have come or the deadline passes.
  static std::vector<Event> collect(Watch& w, size_t n, std::chrono::milliseconds within = 10s) {
    std::vector<Event> out;
    auto deadline = std::chrono::steady_clock::now() + within;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      Result<std::vector<Event>> ev = w.next(200ms);
      if (!ev.ok()) {
        ADD_FAILURE() << ev.status().message();
        break;
      }
      out.insert(out.end(), ev->begin(), ev->end());
    }
    return out;
  }

  std::unique_ptr<TestBackend> backend_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreSuite, PutKeepsRevisionsAndVersions) {
  Result<Range> empty = s().get("/t/a");
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE(empty->kvs.empty());
  Revision r0 = empty->revision;

  Result<Revision> r1 = s().put("/t/a", "one");
  ASSERT_TRUE(r1.ok()) << r1.status().message();
  EXPECT_EQ(*r1, r0 + 1);
  Result<Revision> r2 = s().put("/t/a", "two");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(*r2, r0 + 2);

  Result<Range> got = s().get("/t/a");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].value, "two");
  EXPECT_EQ(got->kvs[0].createRevision, *r1);
  EXPECT_EQ(got->kvs[0].modRevision, *r2);
  EXPECT_EQ(got->kvs[0].version, 2);
  EXPECT_EQ(got->revision, *r2);

  // A delete of an absent key changes nothing, so the revision stays.
  Result<Revision> r3 = s().del("/t/none");
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(*r3, *r2);
  // Deleted and written again: a new key (version 1, new create revision).
  ASSERT_TRUE(s().del("/t/a").ok());
  Result<Revision> r5 = s().put("/t/a", "three");
  ASSERT_TRUE(r5.ok());
  got = s().get("/t/a");
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].version, 1);
  EXPECT_EQ(got->kvs[0].createRevision, *r5);
}

TEST_P(StoreSuite, PrefixReadsAreInKeyOrderAndStopAtThePrefix) {
  for (const char* k : {"/p/b/2", "/p/a", "/p/b/1", "/p/b", "/p/c", "/pa", "/o"}) {
    ASSERT_TRUE(s().put(k, k).ok());
  }
  Result<Range> r = s().list("/p/b");
  ASSERT_TRUE(r.ok());
  std::vector<std::string> keys;
  for (auto& kv : r->kvs) keys.push_back(kv.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"/p/b", "/p/b/1", "/p/b/2"}));
  r = s().list("/p/");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kvs.size(), 5u);
  // Binary keys sort bytewise.
  ASSERT_TRUE(s().put(std::string("/bin/\xff", 6), "x").ok());
  ASSERT_TRUE(s().put(std::string("/bin/\x01", 6), "y").ok());
  r = s().list("/bin/");
  ASSERT_EQ(r->kvs.size(), 2u);
  EXPECT_EQ(r->kvs[0].value, "y");
}

TEST_P(StoreSuite, TransactionsCompareAndSetAllOrNothing) {
  Result<Revision> c = s().create("/t/teid/1", "gate-a");
  ASSERT_TRUE(c.ok());
  Result<Revision> again = s().create("/t/teid/1", "gate-b");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);

  // Compare-and-set on the revision read: the second writer with the same stale revision loses.
  Result<Range> now = s().get("/t/teid/1");
  Revision seen = now->kvs[0].modRevision;
  Txn cas;
  cas.compare.push_back(Compare::modRevisionIs("/t/teid/1", seen));
  cas.success.push_back(TxnOp::put("/t/teid/1", "gate-c"));
  cas.failure.push_back(TxnOp::put("/t/lost", "1"));
  Result<TxnResult> first = s().txn(cas);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->succeeded);
  Result<TxnResult> second = s().txn(cas);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->succeeded);
  EXPECT_EQ(s().get("/t/teid/1")->kvs[0].value, "gate-c");
  EXPECT_EQ(s().get("/t/lost")->kvs.size(), 1u);  // the failure branch ran

  // Several keys at one revision, or none of them.
  Txn many;
  many.compare.push_back(Compare::absent("/t/m/1"));
  many.compare.push_back(Compare::absent("/t/teid/1"));  // exists: the whole txn fails
  many.success.push_back(TxnOp::put("/t/m/1", "x"));
  many.success.push_back(TxnOp::put("/t/m/2", "x"));
  Result<TxnResult> none = s().txn(many);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->succeeded);
  EXPECT_TRUE(s().list("/t/m/")->kvs.empty());
  many.compare.pop_back();
  Result<TxnResult> both = s().txn(many);
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->succeeded);
  Result<Range> m = s().list("/t/m/");
  ASSERT_EQ(m->kvs.size(), 2u);
  EXPECT_EQ(m->kvs[0].modRevision, both->revision);
  EXPECT_EQ(m->kvs[1].modRevision, both->revision);

  // A value comparison, and a delete of a prefix in the same step as a put.
  Txn v;
  v.compare.push_back(Compare::valueIs("/t/teid/1", "gate-c"));
  v.success.push_back(TxnOp::delPrefix("/t/m/"));
  v.success.push_back(TxnOp::put("/t/done", "1"));
  Result<TxnResult> vr = s().txn(v);
  ASSERT_TRUE(vr.ok());
  EXPECT_TRUE(vr->succeeded);
  EXPECT_TRUE(s().list("/t/m/")->kvs.empty());

  // A key twice in one branch is refused and nothing is written.
  Revision before = s().get("/t/done")->revision;
  Txn dup;
  dup.success.push_back(TxnOp::put("/t/d", "1"));
  dup.success.push_back(TxnOp::put("/t/d", "2"));
  Result<TxnResult> dr = s().txn(dup);
  ASSERT_FALSE(dr.ok());
  EXPECT_EQ(dr.code(), StatusCode::kInvalidArgument);
  Result<Range> after = s().get("/t/d");
  EXPECT_TRUE(after->kvs.empty());
  EXPECT_EQ(after->revision, before);

  // A transaction refused half-way (its second put names no lease) leaves its first key as
  // it was: absent to a comparison, created anew by the next put.
  Txn half;
  half.compare.push_back(Compare::absent("/t/h"));
  half.success.push_back(TxnOp::put("/t/h", "1"));
  half.success.push_back(TxnOp::put("/t/h2", "1", 12345));
  ASSERT_FALSE(s().txn(half).ok());
  EXPECT_TRUE(s().get("/t/h")->kvs.empty());
  half.success.pop_back();
  Result<TxnResult> hr = s().txn(half);
  ASSERT_TRUE(hr.ok());
  EXPECT_TRUE(hr->succeeded);
  Result<Range> h = s().get("/t/h");
  ASSERT_EQ(h->kvs.size(), 1u);
  EXPECT_EQ(h->kvs[0].version, 1);
  EXPECT_EQ(h->kvs[0].createRevision, hr->revision);
}

TEST_P(StoreSuite, WatchDeliversEveryChangeFromItsRevision) {
  Result<Revision> r1 = s().put("/w/a", "1");
  Result<Revision> r2 = s().put("/w/b", "2");
  Result<Revision> r3 = s().put("/x/other", "3");
  ASSERT_TRUE(r1.ok() && r2.ok() && r3.ok());
  Result<std::unique_ptr<Watch>> w = s().watch("/w/", *r2);
  ASSERT_TRUE(w.ok()) << w.status().message();
  ASSERT_TRUE(s().put("/w/a", "4").ok());
  ASSERT_TRUE(s().del("/w/b").ok());
  std::vector<Event> ev = collect(**w, 3);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].type, Event::Type::kPut);
  EXPECT_EQ(ev[0].kv.key, "/w/b");
  EXPECT_EQ(ev[0].kv.modRevision, *r2);
  EXPECT_EQ(ev[1].kv.key, "/w/a");
  EXPECT_EQ(ev[1].kv.value, "4");
  EXPECT_EQ(ev[1].kv.version, 2);
  EXPECT_EQ(ev[2].type, Event::Type::kDelete);
  EXPECT_EQ(ev[2].kv.key, "/w/b");
  EXPECT_GT(ev[2].kv.modRevision, ev[1].kv.modRevision);
  // Nothing more: the key outside the prefix never showed.
  Result<std::vector<Event>> more = (*w)->next(300ms);
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty());

  // One transaction's events come together, at one revision.
  Txn t;
  t.success.push_back(TxnOp::put("/w/c", "5"));
  t.success.push_back(TxnOp::put("/w/d", "6"));
  ASSERT_TRUE(s().txn(t).ok());
  ev = collect(**w, 2);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kv.modRevision, ev[1].kv.modRevision);
}

// A follower mirrors a prefix; it is told everything, whatever happens to its watch.
struct Mirror : StateFollower::Handler {
  std::map<std::string, std::string> kv;
  int resets = 0;
  void reset(const Range& r) override {
    ++resets;
    kv.clear();
    for (auto& x : r.kvs) kv[x.key] = x.value;
  }
  void apply(const std::vector<Event>& ev) override {
    for (auto& e : ev) {
      if (e.type == Event::Type::kPut) kv[e.kv.key] = e.kv.value;
      else kv.erase(e.kv.key);
    }
  }
};

std::map<std::string, std::string> truth(Store& s, const std::string& prefix) {
  std::map<std::string, std::string> want;
  Result<Range> r = s.list(prefix);  // named: a range-for over a temporary's member dangles
  for (auto& x : r->kvs) want[x.key] = x.value;
  return want;
}

// Polls until the follower has seen `rev`.
void catchUp(StateFollower& f, Mirror& m, Revision rev) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (f.revision() < rev && std::chrono::steady_clock::now() < deadline) {
    Status st = f.poll(m, 200ms);
    ASSERT_TRUE(st.ok()) << st.message();
  }
  ASSERT_GE(f.revision(), rev);
}

TEST_P(StoreSuite, AFollowerResumesFromItsRevisionWithEveryChange) {
  ASSERT_TRUE(s().put("/c/keep", "1").ok());
  ASSERT_TRUE(s().put("/c/gone", "1").ok());
  Mirror mirror;
  Revision seen;
  {
    StateFollower first(s(), "/c/");
    ASSERT_TRUE(first.start(mirror).ok());
    seen = first.revision();
  }
  // Changes while nobody follows, a delete among them.
  ASSERT_TRUE(s().del("/c/gone").ok());
  Revision last = *s().put("/c/new", "2");
  StateFollower again(s(), "/c/");
  ASSERT_TRUE(again.resume(mirror, seen).ok());
  catchUp(again, mirror, last);
  EXPECT_EQ(again.resyncs(), 0u);
  EXPECT_EQ(mirror.resets, 1);  // no re-read was needed
  EXPECT_EQ(mirror.kv, truth(s(), "/c/"));
}

TEST_P(StoreSuite, ACompactionKeepsEveryCurrentValue) {
  Revision a1 = *s().put("/v/a", "1");
  ASSERT_TRUE(s().put("/v/b", "2").ok());
  Revision a3 = *s().put("/v/a", "3");
  ASSERT_TRUE(s().del("/v/b").ok());
  Revision last = *s().put("/v/d", "4");
  ASSERT_TRUE(s().compact(last).ok());
  Result<Range> r = s().list("/v/");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->kvs.size(), 2u);
  EXPECT_EQ(r->kvs[0].key, "/v/a");
  EXPECT_EQ(r->kvs[0].value, "3");
  EXPECT_EQ(r->kvs[0].createRevision, a1);
  EXPECT_EQ(r->kvs[0].modRevision, a3);
  EXPECT_EQ(r->kvs[0].version, 2);
  EXPECT_EQ(r->kvs[1].value, "4");
  EXPECT_EQ(s().get("/v/a")->kvs[0].value, "3");
  EXPECT_TRUE(s().get("/v/b")->kvs.empty());
}

TEST_P(StoreSuite, AWatchBehindACompactionFailsAndTheFollowerReReads) {
  ASSERT_TRUE(s().put("/c/keep", "1").ok());
  ASSERT_TRUE(s().put("/c/gone", "1").ok());
  Revision start = *s().put("/c/k0", "0");
  Mirror mirror;
  Revision seen;
  {
    StateFollower first(s(), "/c/");
    ASSERT_TRUE(first.start(mirror).ok());
    seen = first.revision();
    EXPECT_EQ(mirror.kv.size(), 3u);
  }
  // Changes nobody has read yet, then a compaction past them.
  ASSERT_TRUE(s().del("/c/gone").ok());
  Revision last = 0;
  for (int i = 1; i <= 20; ++i) last = *s().put("/c/k" + std::to_string(i), std::to_string(i));
  ASSERT_TRUE(s().compact(last).ok());

  Result<std::unique_ptr<Watch>> old = s().watch("/c/", start);
  Status why = old.status();
  if (old.ok()) {
    Result<std::vector<Event>> ev = (*old)->next(5s);
    ASSERT_FALSE(ev.ok());
    why = ev.status();
  }
  EXPECT_EQ(why.code(), StatusCode::kCompacted) << why.message();

  // The follower re-reads rather than resuming past the lost delete, and follows on.
  StateFollower again(s(), "/c/");
  ASSERT_TRUE(again.resume(mirror, seen).ok());
  catchUp(again, mirror, last);
  EXPECT_EQ(again.resyncs(), 1u);
  EXPECT_EQ(mirror.resets, 2);
  EXPECT_EQ(mirror.kv.count("/c/gone"), 0u);
  EXPECT_EQ(mirror.kv.size(), 22u);
  Revision after = *s().put("/c/after", "x");
  catchUp(again, mirror, after);
  EXPECT_EQ(mirror.kv, truth(s(), "/c/"));

  // Compacting to a revision already compacted is refused.
  EXPECT_EQ(s().compact(last).code(), StatusCode::kCompacted);
}

TEST_P(StoreSuite, AnExpiredLeaseDeletesItsKeys) {
  Result<LeaseId> l = s().grantLease(1s);
  ASSERT_TRUE(l.ok()) << l.status().message();
  ASSERT_NE(*l, 0);
  Result<Revision> r = s().put("/l/alive", "gate-a", *l);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(s().get("/l/alive")->kvs[0].lease, *l);
  Result<std::unique_ptr<Watch>> w = s().watch("/l/", *r + 1);
  ASSERT_TRUE(w.ok());
  std::vector<Event> ev = collect(**w, 1, 15s);  // etcd checks expiry every 500 ms or so
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, Event::Type::kDelete);
  EXPECT_EQ(ev[0].kv.key, "/l/alive");
  EXPECT_TRUE(s().get("/l/alive")->kvs.empty());
  EXPECT_EQ(s().keepAlive(*l).code(), StatusCode::kNotFound);
  // A put with a lease that does not exist is refused.
  EXPECT_EQ(s().put("/l/x", "1", *l).code(), StatusCode::kNotFound);
}

TEST_P(StoreSuite, AKeptAliveLeaseStaysAndARevokedOneGoes) {
  Result<LeaseId> l = s().grantLease(2s);
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(s().put("/k/a", "1", *l).ok());
  ASSERT_TRUE(s().put("/k/b", "1", *l).ok());
  // Renewed every 500 ms for 4 s, twice its TTL (pacing, not synchronisation).
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(s().keepAlive(*l).ok());
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(s().list("/k/")->kvs.size(), 2u);
  ASSERT_TRUE(s().revokeLease(*l).ok());
  EXPECT_TRUE(s().list("/k/")->kvs.empty());
  EXPECT_EQ(s().revokeLease(*l).code(), StatusCode::kNotFound);
}

TEST_P(StoreSuite, TwoWritersRacingForOneTeidExactlyOneWins) {
  std::unique_ptr<Store> other = backend_->open();
  ASSERT_TRUE(other);
  constexpr int kKeys = 300;
  std::atomic<int> winsA{0}, winsB{0}, errors{0};
  auto race = [&](Store& st, const std::string& who, std::atomic<int>& wins) {
    for (int i = 0; i < kKeys; ++i) {
      Result<Revision> r = st.create("/race/teid/" + std::to_string(i), who);
      if (r.ok()) ++wins;
      else if (r.code() != StatusCode::kAlreadyExists) ++errors;
    }
  };
  std::thread a(race, std::ref(s()), "a", std::ref(winsA));
  std::thread b(race, std::ref(*other), "b", std::ref(winsB));
  a.join();
  b.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(winsA + winsB, kKeys);
  Result<Range> all = s().list("/race/teid/");
  ASSERT_EQ(all->kvs.size(), static_cast<size_t>(kKeys));
  int a_count = 0;
  for (auto& kv : all->kvs) {
    EXPECT_EQ(kv.version, 1) << kv.key << " was written twice";
    a_count += kv.value == "a";
  }
  EXPECT_EQ(a_count, winsA.load());
}

TEST_P(StoreSuite, ALargeBatchIsOneRevision) {
  Txn t;
  for (int i = 0; i < 500; ++i) {
    std::string k = "/b/" + std::to_string(i);
    t.compare.push_back(Compare::absent(k));
    t.success.push_back(TxnOp::put(k, "v"));
  }
  Result<TxnResult> r = s().txn(t);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->succeeded);
  Result<Range> all = s().list("/b/");
  ASSERT_EQ(all->kvs.size(), 500u);
  for (auto& kv : all->kvs) EXPECT_EQ(kv.modRevision, r->revision);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreSuite, ::testing::Values("sqlite", "etcd"),
                         [](const auto& info) { return info.param; });

TEST(SqliteStore, ASecondWriterProcessIsRefusedAndAReopenKeepsTheState) {
  std::unique_ptr<TestBackend> b = makeSqliteBackend();
  std::string spec = b->spec();
  Result<std::unique_ptr<Store>> second = openStore({spec});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("in use by another process"), std::string::npos);
}

// SQLite takes what etcd refuses ("duplicate key given in txn request"): a put after the
// delete of its prefix in one step. The key is then new: version 1, created at that step.
TEST(SqliteStore, APutAfterItsPrefixsDeleteInOneStepIsANewKey) {
  std::unique_ptr<TestBackend> b = makeSqliteBackend();
  std::unique_ptr<Store> s = b->open();
  ASSERT_TRUE(s->put("/p/k", "1").ok());
  ASSERT_TRUE(s->put("/p/k", "2").ok());
  Txn t;
  t.success.push_back(TxnOp::delPrefix("/p/"));
  t.success.push_back(TxnOp::put("/p/k", "3"));
  Result<TxnResult> r = s->txn(t);
  ASSERT_TRUE(r.ok()) << r.status().message();
  Result<Range> k = s->get("/p/k");
  ASSERT_EQ(k->kvs.size(), 1u);
  EXPECT_EQ(k->kvs[0].value, "3");
  EXPECT_EQ(k->kvs[0].version, 1);
  EXPECT_EQ(k->kvs[0].createRevision, r->revision);
}

// Checkpoints run beside the writer; under a stream of commits the log file must still
// restart and stay bounded (it grew past 600 MB when only the checkpoint thread copied).
TEST(SqliteStore, TheLogFileStaysBoundedUnderAStreamOfCommits) {
  char tmpl[] = "/tmp/roamgate-wal-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  {
    Result<std::unique_ptr<Store>> s = openStore({"sqlite:" + dir + "/s.db"});
    ASSERT_TRUE(s.ok()) << s.status().message();
    std::string value(4096, 'v');
    uintmax_t most = 0;
    for (int t = 0; t < 20; ++t) {  // 80 MB written
      Txn txn;
      for (int k = 0; k < 1000; ++k) {
        txn.success.push_back(TxnOp::put("/w/" + std::to_string(t * 1000 + k), value));
      }
      ASSERT_TRUE((*s)->txn(txn).ok());
      most = std::max(most, std::filesystem::file_size(dir + "/s.db-wal"));
    }
    EXPECT_LE(most, uintmax_t(32) << 20) << "log file at " << most << " bytes";
    EXPECT_EQ((*s)->list("/w/")->kvs.size(), 20000u);
    // A watch from the first of them: the oldest revisions are no longer among those held
    // in memory (64 MiB), so it reads them from the log table, then goes on in memory,
    // every change once and in order.
    Result<std::unique_ptr<Watch>> w = (*s)->watch("/w/", 2);
    ASSERT_TRUE(w.ok());
    size_t seen = 0;
    Revision at = 0;
    while (seen < 20000) {
      Result<std::vector<Event>> ev = (*w)->next(2s);
      ASSERT_TRUE(ev.ok()) << ev.status().message();
      ASSERT_FALSE(ev->empty()) << "the watch stopped after " << seen << " changes";
      for (const Event& e : *ev) {
        ASSERT_EQ(e.kv.key, "/w/" + std::to_string(seen)) << "change " << seen;
        ASSERT_GE(e.kv.modRevision, at);
        ASSERT_EQ(e.kv.value.size(), 4096u);
        at = e.kv.modRevision;
        ++seen;
      }
    }
    Revision after = *(*s)->put("/w/next", "1");  // held in memory: read from there
    Result<std::vector<Event>> ev = (*w)->next(2s);
    ASSERT_TRUE(ev.ok());
    ASSERT_EQ(ev->size(), 1u);
    EXPECT_EQ((*ev)[0].kv.key, "/w/next");
    EXPECT_EQ((*ev)[0].kv.modRevision, after);
  }
  std::filesystem::remove_all(dir);
}

// A file of schema 1 (values in the key table as well as the log) is moved to schema 2 at
// open: every key keeps its value, revisions, version and lease, including a value whose
// log row a compaction had removed; watches and compactions work on the moved file.
TEST(SqliteStore, ASchema1FileIsMovedToSchema2Whole) {
  char tmpl[] = "/tmp/roamgate-schema1-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string path = dir + "/s.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* v1 =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE kv(key BLOB PRIMARY KEY, value BLOB NOT NULL, create_rev INTEGER NOT NULL,"
        " mod_rev INTEGER NOT NULL, version INTEGER NOT NULL, lease INTEGER NOT NULL)"
        " WITHOUT ROWID;"
        "CREATE INDEX kv_lease ON kv(lease) WHERE lease != 0;"
        "CREATE TABLE log(rev INTEGER NOT NULL, seq INTEGER NOT NULL, type INTEGER NOT NULL,"
        " key BLOB NOT NULL, value BLOB NOT NULL, create_rev INTEGER NOT NULL,"
        " version INTEGER NOT NULL, lease INTEGER NOT NULL, PRIMARY KEY(rev, seq)) WITHOUT ROWID;"
        "CREATE TABLE lease(id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL,"
        " expires_ms INTEGER NOT NULL);"
        "INSERT INTO meta VALUES('schema', 1), ('revision', 6), ('compact', 4);"
        // Keys and values are blobs, as roamd bound them (B: a blob of the text). /m/b and
        // /m/c were written at 3 (their log rows compacted away), /m/a at 2 and 5, /m/c
        // deleted at 6 with /m/l (on a lease) put beside it.
        "INSERT INTO kv VALUES(B('/m/a'), B('A'), 2, 5, 2, 0), (B('/m/b'), B('B'), 3, 3, 1, 0),"
        " (B('/m/l'), B('L'), 6, 6, 1, 77);"
        "INSERT INTO log VALUES(5, 0, 0, B('/m/a'), B('A'), 2, 2, 0),"
        " (6, 0, 1, B('/m/c'), B(''), 0, 0, 0), (6, 1, 0, B('/m/l'), B('L'), 6, 1, 77);"
        "INSERT INTO lease VALUES(77, 60, 9999999999999);";
    std::string sql = v1;
    for (size_t at; (at = sql.find("B('")) != std::string::npos;) {
      size_t end = sql.find("')", at);
      sql.replace(end, 2, "' AS BLOB)");
      sql.replace(at, 3, "CAST('");
    }
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  for (int open = 0; open < 2; ++open) {  // moved, then opened as schema 2
    Result<std::unique_ptr<Store>> s = openStore({"sqlite:" + path});
    ASSERT_TRUE(s.ok()) << s.status().message();
    Result<Range> r = (*s)->list("/m/");
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r->kvs.size(), open ? 4u : 3u);
    EXPECT_EQ(r->kvs[0].value, "A");
    EXPECT_EQ(r->kvs[0].createRevision, 2);
    EXPECT_EQ(r->kvs[0].modRevision, 5);
    EXPECT_EQ(r->kvs[0].version, 2);
    EXPECT_EQ(r->kvs[1].value, "B");
    EXPECT_EQ(r->kvs[1].modRevision, 3);
    EXPECT_EQ(r->kvs[2].value, "L");
    EXPECT_EQ(r->kvs[2].lease, 77);
    if (open == 0) {
      EXPECT_EQ(r->revision, 6);
      Result<std::unique_ptr<Watch>> w = (*s)->watch("/m/", 5);
      ASSERT_TRUE(w.ok());
      Result<std::vector<Event>> ev = (*w)->next(1s);
      ASSERT_TRUE(ev.ok());
      ASSERT_EQ(ev->size(), 3u);  // the put of /m/a at 5, the delete and the put at 6
      EXPECT_EQ((*ev)[0].kv.value, "A");
      EXPECT_EQ((*ev)[1].type, Event::Type::kDelete);
      Revision now = *(*s)->put("/m/n", "N");
      EXPECT_EQ(now, 7);
      EXPECT_FALSE((*s)->create("/m/b", "again").ok());
      ASSERT_TRUE((*s)->compact(now).ok());
    } else {
      EXPECT_EQ(r->kvs[3].value, "N");
      ASSERT_TRUE((*s)->revokeLease(77).ok());
      EXPECT_TRUE((*s)->get("/m/l")->kvs.empty());
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(SqliteStore, StateAndRevisionSurviveAReopen) {
  char tmpl[] = "/tmp/roamgate-reopen-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string spec = "sqlite:" + dir + "/s.db";
  Revision rev;
  {
    Result<std::unique_ptr<Store>> s = openStore({spec});
    ASSERT_TRUE(s.ok()) << s.status().message();
    ASSERT_TRUE((*s)->put("/r/a", "1").ok());
    rev = *(*s)->put("/r/b", "2");
  }
  Result<std::unique_ptr<Store>> s = openStore({spec});
  ASSERT_TRUE(s.ok()) << s.status().message();
  Result<Range> r = (*s)->list("/r/");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->kvs.size(), 2u);
  EXPECT_EQ(r->revision, rev);
  EXPECT_EQ(*(*s)->put("/r/c", "3"), rev + 1);
  // Comparisons after the reopen see the keys' revisions and versions as they were.
  Txn cas;
  cas.compare.push_back(Compare::modRevisionIs("/r/b", rev));
  cas.compare.push_back(Compare::absent("/r/z"));
  cas.success.push_back(TxnOp::put("/r/b", "3"));
  Result<TxnResult> t = (*s)->txn(cas);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->succeeded);
  Result<Range> b = (*s)->get("/r/b");
  EXPECT_EQ(b->kvs[0].version, 2);
  EXPECT_EQ(b->kvs[0].createRevision, rev);
  EXPECT_FALSE((*s)->txn(cas)->succeeded);
  EXPECT_FALSE((*s)->create("/r/a", "again").ok());
  s = Status::error("closed");
  std::filesystem::remove_all(dir);
}

TEST(OpenStore, BadSpecsAreNamed) {
  for (const char* spec : {"", "redis:x", "sqlite:", "etcd:", "etcd:host", "etcd:host:",
                           "etcd:127.0.0.1:2379,"}) {
    Result<std::unique_ptr<Store>> s = openStore({spec});
    ASSERT_FALSE(s.ok()) << spec;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << spec;
  }
  Result<std::unique_ptr<Store>> s = openStore({"sqlite:/nonexistent-dir/x.db"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("/nonexistent-dir/x.db"), std::string::npos);
}

}  // namespace
}  // namespace roamgate::store::test
