// A smoke test of EtcdStore against a real etcd (the etcd test backend): reads and writes,
// compare-and-set, prefixes, watches, compaction, leases, and endpoints that do not answer.
// Each test has a server of its own, so revisions start at 1.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "backend.h"
#include "roamgate/store/store.h"

namespace roamgate::store::test {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// `var` = the value of a Result, or the test stops with its message.
#define ASSIGN_OR_FAIL(var, expr)                                                    \
  auto var##_result = (expr);                                                        \
  ASSERT_TRUE(var##_result.ok()) << #expr << ": " << var##_result.status().message(); \
  auto var = std::move(var##_result).value()

#define EXPECT_OK(expr)                                    \
  do {                                                     \
    Status s_ = (expr);                                    \
    EXPECT_TRUE(s_.ok()) << #expr << ": " << s_.message(); \
  } while (0)

// Waits up to 10 s for a watch's next events; an error or nothing fails the test.
std::vector<Event> awaitEvents(Watch& w) {
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    Result<std::vector<Event>> r = w.next(200ms);
    if (!r.ok()) {
      ADD_FAILURE() << "watch: " << r.status().message();
      return {};
    }
    if (!r->empty()) return std::move(r).value();
  }
  ADD_FAILURE() << "no watch events within 10 s";
  return {};
}

// Waits up to 10 s for a watch to fail; events before the failure are skipped.
Status awaitFailure(Watch& w) {
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    Result<std::vector<Event>> r = w.next(200ms);
    if (!r.ok()) return r.status();
  }
  return {};
}

// A socket listening on 127.0.0.1 that never accepts: connections are made (the kernel's
// backlog) and never answered.
int silentListener(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  *port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 64) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    *port = ntohs(a.sin_port);
  }
  return fd;
}

int unusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

class EtcdSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = makeEtcdBackend();
    ASSERT_NE(backend_, nullptr);
    store_ = backend_->open();
    ASSERT_NE(store_, nullptr);
  }
  std::unique_ptr<TestBackend> backend_;
  std::unique_ptr<Store> store_;  // destroyed before the backend
};

TEST_F(EtcdSmokeTest, PutGetDelete) {
  Store& s = *store_;
  EXPECT_EQ(s.describe(), backend_->spec());
  ASSIGN_OR_FAIL(empty, s.get("k"));
  EXPECT_TRUE(empty.kvs.empty());
  EXPECT_EQ(empty.revision, 1);  // a fresh etcd

  ASSIGN_OR_FAIL(r1, s.put("k", "v1"));
  EXPECT_EQ(r1, 2);
  ASSIGN_OR_FAIL(g1, s.get("k"));
  ASSERT_EQ(g1.kvs.size(), 1u);
  EXPECT_EQ(g1.kvs[0], (KeyValue{"k", "v1", r1, r1, 1, 0}));
  EXPECT_EQ(g1.revision, r1);

  ASSIGN_OR_FAIL(r2, s.put("k", "v2"));
  EXPECT_EQ(r2, r1 + 1);
  ASSIGN_OR_FAIL(g2, s.get("k"));
  ASSERT_EQ(g2.kvs.size(), 1u);
  EXPECT_EQ(g2.kvs[0], (KeyValue{"k", "v2", r1, r2, 2, 0}));

  ASSIGN_OR_FAIL(r3, s.del("k"));
  EXPECT_EQ(r3, r2 + 1);
  ASSIGN_OR_FAIL(g3, s.get("k"));
  EXPECT_TRUE(g3.kvs.empty());
  EXPECT_EQ(g3.revision, r3);
  ASSIGN_OR_FAIL(r4, s.put("k", "v3"));
  ASSIGN_OR_FAIL(g4, s.get("k"));
  ASSERT_EQ(g4.kvs.size(), 1u);
  EXPECT_EQ(g4.kvs[0], (KeyValue{"k", "v3", r4, r4, 1, 0}));  // a new life: version 1

  // Bytes, not text.
  const std::string key("bin\xff\x00k", 6);
  const std::string value("\x00\x01\xfe", 3);
  ASSIGN_OR_FAIL(rb, s.put(key, value));
  ASSIGN_OR_FAIL(gb, s.get(key));
  ASSERT_EQ(gb.kvs.size(), 1u);
  EXPECT_EQ(gb.kvs[0].key, key);
  EXPECT_EQ(gb.kvs[0].value, value);
  EXPECT_EQ(gb.kvs[0].modRevision, rb);

  EXPECT_EQ(s.get("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.put("", "x").code(), StatusCode::kInvalidArgument);

  // A second client sees the first one's writes.
  std::unique_ptr<Store> other = backend_->open();
  ASSERT_NE(other, nullptr);
  ASSIGN_OR_FAIL(o, other->get("k"));
  ASSERT_EQ(o.kvs.size(), 1u);
  EXPECT_EQ(o.kvs[0].value, "v3");
}

TEST_F(EtcdSmokeTest, TxnCompareAndSet) {
  Store& s = *store_;
  ASSIGN_OR_FAIL(c1, s.create("c", "1"));
  EXPECT_EQ(s.create("c", "again").code(), StatusCode::kAlreadyExists);

  Txn cas;
  cas.compare.push_back(Compare::modRevisionIs("c", c1));
  cas.success.push_back(TxnOp::put("c", "2"));
  ASSIGN_OR_FAIL(t1, s.txn(cas));
  EXPECT_TRUE(t1.succeeded);
  EXPECT_EQ(t1.revision, c1 + 1);
  // The same compare-and-set again: the revision read is stale now.
  ASSIGN_OR_FAIL(t2, s.txn(cas));
  EXPECT_FALSE(t2.succeeded);
  EXPECT_EQ(t2.revision, t1.revision);  // nothing written, the revision stays
  ASSIGN_OR_FAIL(g, s.get("c"));
  ASSERT_EQ(g.kvs.size(), 1u);
  EXPECT_EQ(g.kvs[0].value, "2");

  // A failed comparison runs the failure branch.
  Txn alt;
  alt.compare.push_back(Compare::valueIs("c", "nope"));
  alt.success.push_back(TxnOp::put("c", "x"));
  alt.failure.push_back(TxnOp::put("f", "ran"));
  ASSIGN_OR_FAIL(t3, s.txn(alt));
  EXPECT_FALSE(t3.succeeded);
  EXPECT_EQ(t3.revision, t2.revision + 1);
  ASSIGN_OR_FAIL(f, s.get("f"));
  ASSERT_EQ(f.kvs.size(), 1u);
  EXPECT_EQ(f.kvs[0].value, "ran");

  // Every target and operator.
  auto holds = [&](Compare c) {
    Txn t;
    t.compare.push_back(std::move(c));
    Result<TxnResult> r = s.txn(t);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() && r->succeeded;
  };
  using T = Compare::Target;
  using O = Compare::Op;
  EXPECT_TRUE(holds({"c", T::kVersion, O::kEqual, 2, {}}));
  EXPECT_TRUE(holds({"c", T::kVersion, O::kGreater, 1, {}}));
  EXPECT_FALSE(holds({"c", T::kVersion, O::kLess, 2, {}}));
  EXPECT_TRUE(holds({"c", T::kVersion, O::kNotEqual, 0, {}}));
  EXPECT_TRUE(holds({"c", T::kCreateRevision, O::kEqual, c1, {}}));
  EXPECT_TRUE(holds({"c", T::kModRevision, O::kEqual, t1.revision, {}}));
  EXPECT_TRUE(holds({"c", T::kModRevision, O::kLess, t3.revision, {}}));
  EXPECT_TRUE(holds({"c", T::kValue, O::kEqual, 0, "2"}));
  EXPECT_TRUE(holds({"c", T::kValue, O::kGreater, 0, "1"}));
  EXPECT_TRUE(holds(Compare::absent("never")));
  EXPECT_FALSE(holds(Compare::absent("c")));

  // A key twice in one branch is refused, and nothing is written.
  ASSIGN_OR_FAIL(before, s.get("c"));
  Txn dup;
  dup.success = {TxnOp::put("d", "1"), TxnOp::put("d", "2")};
  EXPECT_EQ(s.txn(dup).code(), StatusCode::kInvalidArgument);
  dup.success = {TxnOp::put("p/a", "1"), TxnOp::delPrefix("p/")};
  EXPECT_EQ(s.txn(dup).code(), StatusCode::kInvalidArgument);
  dup.success = {TxnOp::put("d", "1")};
  dup.failure = {TxnOp::del("e"), TxnOp::put("e", "1")};
  EXPECT_EQ(s.txn(dup).code(), StatusCode::kInvalidArgument);
  // The same key in both branches is fine (one of them runs).
  dup.failure = {TxnOp::put("d", "2")};
  ASSIGN_OR_FAIL(both, s.txn(dup));
  EXPECT_TRUE(both.succeeded);
  EXPECT_EQ(both.revision, before.revision + 1);

  // Batches of up to 1024 operations (the backend's --max-txn-ops); etcd refuses more.
  Txn big;
  for (int i = 0; i < 1024; ++i) big.success.push_back(TxnOp::put("big/" + std::to_string(i), "x"));
  ASSIGN_OR_FAIL(bigr, s.txn(big));
  EXPECT_EQ(bigr.revision, both.revision + 1);  // one transaction, one revision
  big.success.push_back(TxnOp::put("big/1024", "x"));
  Result<TxnResult> tooBig = s.txn(big);
  EXPECT_EQ(tooBig.code(), StatusCode::kInvalidArgument) << tooBig.status().message();
}

// Clients in several threads increment one counter by compare-and-set: none is lost.
TEST_F(EtcdSmokeTest, ConcurrentCompareAndSet) {
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  ASSIGN_OR_FAIL(c0, store_->put("n", "0"));
  (void)c0;
  std::unique_ptr<Store> second = backend_->open();
  ASSERT_NE(second, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    Store* s = t % 2 ? second.get() : store_.get();  // two threads on each client
    threads.emplace_back([s, &failures] {
      for (int i = 0; i < kEach; ++i) {
        for (;;) {
          Result<Range> r = s->get("n");
          if (!r.ok() || r->kvs.size() != 1) {
            ++failures;
            return;
          }
          Txn t;
          t.compare.push_back(Compare::modRevisionIs("n", r->kvs[0].modRevision));
          t.success.push_back(TxnOp::put("n", std::to_string(std::stoi(r->kvs[0].value) + 1)));
          Result<TxnResult> tr = s->txn(t);
          if (!tr.ok()) {
            ++failures;
            return;
          }
          if (tr->succeeded) break;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSIGN_OR_FAIL(n, store_->get("n"));
  ASSERT_EQ(n.kvs.size(), 1u);
  EXPECT_EQ(n.kvs[0].value, std::to_string(kThreads * kEach));
  EXPECT_EQ(n.kvs[0].version, 1 + kThreads * kEach);
}

TEST_F(EtcdSmokeTest, PrefixListAndDeletePrefix) {
  Store& s = *store_;
  for (const char* k : {"a/1", "a/3", "a/2", "ab", "b/1"}) {
    ASSIGN_OR_FAIL(r, s.put(k, std::string("v") + k));
    (void)r;
  }
  auto keys = [](const Range& r) {
    std::vector<std::string> k;
    for (const KeyValue& kv : r.kvs) k.push_back(kv.key);
    return k;
  };
  ASSIGN_OR_FAIL(a, s.list("a/"));
  EXPECT_EQ(keys(a), (std::vector<std::string>{"a/1", "a/2", "a/3"}));
  EXPECT_EQ(a.revision, 6);
  EXPECT_EQ(a.kvs[1].value, "va/2");
  ASSIGN_OR_FAIL(a2, s.list("a"));
  EXPECT_EQ(keys(a2), (std::vector<std::string>{"a/1", "a/2", "a/3", "ab"}));
  ASSIGN_OR_FAIL(all, s.list(""));
  EXPECT_EQ(keys(all), (std::vector<std::string>{"a/1", "a/2", "a/3", "ab", "b/1"}));
  ASSIGN_OR_FAIL(none, s.list("zz"));
  EXPECT_TRUE(none.kvs.empty());

  Txn t;
  t.success.push_back(TxnOp::delPrefix("a/"));
  ASSIGN_OR_FAIL(d, s.txn(t));
  EXPECT_EQ(d.revision, 7);  // three keys, one revision
  ASSIGN_OR_FAIL(left, s.list(""));
  EXPECT_EQ(keys(left), (std::vector<std::string>{"ab", "b/1"}));

  Txn everything;
  everything.success.push_back(TxnOp::delPrefix(""));
  ASSIGN_OR_FAIL(e, s.txn(everything));
  ASSIGN_OR_FAIL(gone, s.list(""));
  EXPECT_TRUE(gone.kvs.empty());
  EXPECT_EQ(gone.revision, e.revision);
}

TEST_F(EtcdSmokeTest, WatchDeliversPutsAndDeletes) {
  std::unique_ptr<Store> writer = backend_->open();
  ASSERT_NE(writer, nullptr);
  ASSIGN_OR_FAIL(w, store_->watch("w/", 0));

  // A quiet watch answers within its timeout.
  const auto t0 = Clock::now();
  ASSIGN_OR_FAIL(quiet, w->next(200ms));
  EXPECT_TRUE(quiet.empty());
  EXPECT_LT(Clock::now() - t0, 2s);

  ASSIGN_OR_FAIL(r1, writer->put("w/a", "1"));
  ASSIGN_OR_FAIL(rx, writer->put("x/elsewhere", "1"));
  (void)rx;
  Txn t;
  t.success = {TxnOp::put("w/b", "2"), TxnOp::del("w/a")};
  ASSIGN_OR_FAIL(r2, writer->txn(t));

  std::vector<Event> e1 = awaitEvents(*w);
  ASSERT_EQ(e1.size(), 1u);
  EXPECT_EQ(e1[0].type, Event::Type::kPut);
  EXPECT_EQ(e1[0].kv, (KeyValue{"w/a", "1", r1, r1, 1, 0}));
  std::vector<Event> e2 = awaitEvents(*w);  // one revision's events together
  ASSERT_EQ(e2.size(), 2u);
  EXPECT_EQ(e2[0].type, Event::Type::kPut);
  EXPECT_EQ(e2[0].kv.key, "w/b");
  EXPECT_EQ(e2[0].kv.modRevision, r2.revision);
  EXPECT_EQ(e2[1].type, Event::Type::kDelete);
  EXPECT_EQ(e2[1].kv.key, "w/a");
  EXPECT_EQ(e2[1].kv.modRevision, r2.revision);
  EXPECT_TRUE(e2[1].kv.value.empty());

  // From a past revision: the history again (etcd sends several revisions in one response
  // when a watch catches up).
  ASSIGN_OR_FAIL(h, writer->watch("w/", r1));
  std::vector<Event> hist;
  while (hist.size() < 3) {
    std::vector<Event> more = awaitEvents(*h);
    ASSERT_FALSE(more.empty());
    hist.insert(hist.end(), more.begin(), more.end());
  }
  ASSERT_EQ(hist.size(), 3u);
  EXPECT_EQ(hist[0].kv.modRevision, r1);
  EXPECT_EQ(hist[1].kv.key, "w/b");
  EXPECT_EQ(hist[2].kv.modRevision, r2.revision);
  EXPECT_EQ(hist[2].type, Event::Type::kDelete);

  // A watch is closed promptly, waiting in no call.
  const auto t1 = Clock::now();
  w.reset();
  h.reset();
  EXPECT_LT(Clock::now() - t1, 2s);
}

TEST_F(EtcdSmokeTest, CompactionFailsOlderWatches) {
  Store& s = *store_;
  ASSIGN_OR_FAIL(r1, s.put("k", "1"));
  ASSIGN_OR_FAIL(r2, s.put("k", "2"));
  ASSIGN_OR_FAIL(r3, s.put("k", "3"));
  (void)r2;
  EXPECT_OK(s.compact(r3));

  ASSIGN_OR_FAIL(old, s.watch("k", r1));
  Status f = awaitFailure(*old);
  EXPECT_EQ(f.code(), StatusCode::kCompacted) << f.message();
  EXPECT_NE(f.message().find(std::to_string(r3)), std::string::npos) << f.message();
  // It stays failed.
  Result<std::vector<Event>> again = old->next(10ms);
  EXPECT_EQ(again.code(), StatusCode::kCompacted);

  // From the compaction's revision on, the history is there.
  ASSIGN_OR_FAIL(fresh, s.watch("k", r3));
  std::vector<Event> e = awaitEvents(*fresh);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].kv.value, "3");

  EXPECT_EQ(s.compact(r1).code(), StatusCode::kCompacted);
  EXPECT_EQ(s.compact(r3 + 100).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.compact(0).code(), StatusCode::kInvalidArgument);
}

TEST_F(EtcdSmokeTest, LeasesExpireAndAreRevoked) {
  Store& s = *store_;
  EXPECT_EQ(s.grantLease(0s).code(), StatusCode::kInvalidArgument);

  ASSIGN_OR_FAIL(lease, s.grantLease(1s));
  EXPECT_NE(lease, 0);
  ASSIGN_OR_FAIL(rp, s.put("l/k", "v", lease));
  ASSIGN_OR_FAIL(g, s.get("l/k"));
  ASSERT_EQ(g.kvs.size(), 1u);
  EXPECT_EQ(g.kvs[0].lease, lease);
  EXPECT_OK(s.keepAlive(lease));

  // Not kept alive: the key goes with the lease, a delete event.
  ASSIGN_OR_FAIL(w, s.watch("l/", rp + 1));
  std::vector<Event> e = awaitEvents(*w);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].type, Event::Type::kDelete);
  EXPECT_EQ(e[0].kv.key, "l/k");
  EXPECT_GT(e[0].kv.modRevision, rp);
  ASSIGN_OR_FAIL(after, s.get("l/k"));
  EXPECT_TRUE(after.kvs.empty());
  EXPECT_EQ(s.keepAlive(lease).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.revokeLease(lease).code(), StatusCode::kNotFound);

  // Revoked: its keys go at once.
  ASSIGN_OR_FAIL(l2, s.grantLease(60s));
  ASSIGN_OR_FAIL(r2, s.put("l/k2", "v", l2));
  (void)r2;
  EXPECT_OK(s.keepAlive(l2));
  EXPECT_OK(s.revokeLease(l2));
  ASSIGN_OR_FAIL(g2, s.get("l/k2"));
  EXPECT_TRUE(g2.kvs.empty());
  EXPECT_EQ(s.keepAlive(l2).code(), StatusCode::kNotFound);

  EXPECT_EQ(s.keepAlive(123456789).code(), StatusCode::kNotFound);
  // A put under a lease that does not exist: etcd refuses it.
  EXPECT_FALSE(s.put("l/k3", "v", l2).ok());
}

TEST_F(EtcdSmokeTest, EndpointsThatDoNotAnswer) {
  const std::string dead = "127.0.0.1:" + std::to_string(unusedPort());
  const std::string live = backend_->spec().substr(5);

  const auto t0 = Clock::now();
  Result<std::unique_ptr<Store>> none = openStore({"etcd:" + dead, 1000ms});
  EXPECT_EQ(none.code(), StatusCode::kUnavailable);
  EXPECT_NE(none.status().message().find(dead), std::string::npos) << none.status().message();
  EXPECT_LT(Clock::now() - t0, 5s);

  // The next endpoint is used when the first does not answer.
  ASSIGN_OR_FAIL(two, openStore({"etcd:" + dead + "," + live, 1000ms}));
  EXPECT_EQ(two->describe(), "etcd:" + dead + "," + live);
  ASSIGN_OR_FAIL(r, two->put("two", "1"));
  ASSIGN_OR_FAIL(g, store_->get("two"));
  ASSERT_EQ(g.kvs.size(), 1u);
  EXPECT_EQ(g.kvs[0].modRevision, r);

  // An endpoint that takes the connection and never answers: the deadline.
  int silentPort = 0;
  const int silentFd = silentListener(&silentPort);
  ASSERT_NE(silentPort, 0);
  const std::string silent = "127.0.0.1:" + std::to_string(silentPort);
  const auto t2 = Clock::now();
  Result<std::unique_ptr<Store>> mute = openStore({"etcd:" + silent, 500ms});
  EXPECT_EQ(mute.code(), StatusCode::kUnavailable);
  EXPECT_NE(mute.status().message().find(silent + " did not answer"), std::string::npos)
      << mute.status().message();
  EXPECT_GE(Clock::now() - t2, 400ms);
  EXPECT_LT(Clock::now() - t2, 5s);
  ASSIGN_OR_FAIL(past, openStore({"etcd:" + silent + "," + live, 500ms}));
  ASSIGN_OR_FAIL(rp, past->put("past", "1"));
  (void)rp;
  past.reset();
  ::close(silentFd);

  // A server that stops: calls and watches fail kUnavailable, naming it.
  ASSIGN_OR_FAIL(w, store_->watch("z/", 0));
  ASSIGN_OR_FAIL(client, openStore({backend_->spec(), 1000ms}));
  store_.reset();
  backend_.reset();  // SIGTERM to etcd, waited for
  const auto t1 = Clock::now();
  Result<Range> rr = client->get("two");
  EXPECT_EQ(rr.code(), StatusCode::kUnavailable);
  EXPECT_NE(rr.status().message().find(live), std::string::npos) << rr.status().message();
  EXPECT_EQ(client->put("x", "1").code(), StatusCode::kUnavailable);
  EXPECT_EQ(client->watch("z/", 0).code(), StatusCode::kUnavailable);
  EXPECT_LT(Clock::now() - t1, 5s);
  Status wf = awaitFailure(*w);
  EXPECT_EQ(wf.code(), StatusCode::kUnavailable) << wf.message();
}

}  // namespace
}  // namespace roamgate::store::test
