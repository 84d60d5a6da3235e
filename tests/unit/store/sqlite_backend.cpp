// The SQLite backend of the store suite: a fresh file in a temporary folder. SQLite has one
// writer process, so the clients of one test share one store (as roamd's threads do).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "backend.h"

namespace roamgate::store::test {
namespace {

// A client that does not own the store it forwards to.
class SharedClient : public Store {
 public:
  explicit SharedClient(Store& s) : s_(s) {}
  std::string describe() const override { return s_.describe(); }
  Result<Range> read(const std::string& k, bool p) override { return s_.read(k, p); }
  Result<TxnResult> txn(const Txn& t) override { return s_.txn(t); }
  Result<LeaseId> grantLease(std::chrono::seconds ttl) override { return s_.grantLease(ttl); }
  Status keepAlive(LeaseId l) override { return s_.keepAlive(l); }
  Status revokeLease(LeaseId l) override { return s_.revokeLease(l); }
  Result<std::unique_ptr<Watch>> watch(const std::string& p, Revision f) override {
    return s_.watch(p, f);
  }
  Status compact(Revision r) override { return s_.compact(r); }

 private:
  Store& s_;
};

class SqliteBackend : public TestBackend {
 public:
  SqliteBackend() {
    char tmpl[] = "/tmp/roamgate-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Result<std::unique_ptr<Store>> s = openStore({spec()});
    if (s.ok()) store_ = std::move(*s);
  }
  ~SqliteBackend() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string name() const override { return "sqlite"; }
  std::string spec() const override { return "sqlite:" + dir_ + "/state.db"; }
  std::unique_ptr<Store> open() override {
    if (!store_) return nullptr;
    return std::make_unique<SharedClient>(*store_);
  }

 private:
  std::string dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace

std::unique_ptr<TestBackend> makeSqliteBackend() { return std::make_unique<SqliteBackend>(); }

}  // namespace roamgate::store::test
