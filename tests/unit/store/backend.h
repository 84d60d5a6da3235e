// The store test suite runs against every backend: a backend owns its server (etcd started
// on loopback in a temporary folder, stopped at the end) or its file, and opens clients.
#pragma once

#include <memory>
#include <string>

#include "roamgate/store/store.h"

namespace roamgate::store::test {

class TestBackend {
 public:
  virtual ~TestBackend() = default;
  virtual std::string name() const = 0;
  // The spec a client passes to openStore() (sqlite:PATH, etcd:127.0.0.1:PORT).
  virtual std::string spec() const = 0;
  // A client of the backend's store; each call opens a new one (as a second process would,
  // for etcd; SQLite has one writer process, so its clients share one connection).
  virtual std::unique_ptr<Store> open() = 0;
};

// Each backend starts empty. makeEtcdBackend starts an etcd server (Debian's etcd-server).
std::unique_ptr<TestBackend> makeSqliteBackend();
std::unique_ptr<TestBackend> makeEtcdBackend();

}  // namespace roamgate::store::test
