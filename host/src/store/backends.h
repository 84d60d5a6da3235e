// The store backends, made by openStore() from a spec. Internal to the store library.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "roamgate/store/store.h"

namespace roamgate::store {

// One SQLite file in WAL mode; this process is its only writer.
Result<std::unique_ptr<Store>> openSqliteStore(const std::string& path);

// etcd v3 over gRPC. `endpoints` are HOST:PORT; the first that answers is used, the next
// ones when it stops answering. Every request is bounded by `timeout`.
Result<std::unique_ptr<Store>> openEtcdStore(const std::vector<std::string>& endpoints,
                                             std::chrono::milliseconds timeout);

}  // namespace roamgate::store
