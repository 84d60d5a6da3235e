// The service catalog (issue 11): services and their servers in the store, each change one
// transaction. A service is one object (/roamgate/v1/services/NAME) holding its VIPs and its
// whole server group; each VIP is also an index key (/roamgate/v1/vips/IP:PROTO:PORT -> NAME)
// created only if absent in the transaction that writes the service and removed with it, so
// two services never hold one VIP, whichever roamd writes them. Every write is compare-and-set
// on the service key's modify revision: two roamds changing one service never lose each
// other's change (server operations read again and retry on a conflict).
//
// Reads go to the store (what a caller just wrote is what it reads back); the StateCache
// follows the services for the slow path.
//
// A server's address is checked against the VIPs of every other service when a service or a
// server is written (a read of the catalog, not part of the transaction: two services written
// at the same instant, one's server the other's VIP, are not caught).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "roamgate/control/objects.h"
#include "roamgate/result.h"
#include "roamgate/store/store.h"

namespace roamgate::control {

struct PutServiceOptions {
  bool createOnly = false;              // kAlreadyExists when the service exists
  std::optional<int64_t> ifRevision;    // kAborted unless the service is at this revision
};

// How setServer treats a server that is (not) in the group.
enum class ServerWrite { kAddOrChange, kAdd, kChange };

struct ServerChange {
  uint32_t ip = 0;
  uint16_t port = 0;
  std::optional<uint32_t> weight;   // a new server without one: 1
  std::optional<AdminState> admin;  // a new server without one: up
};

class ServiceCatalog {
 public:
  explicit ServiceCatalog(store::Store& s, int retries = 64) : store_(s), retries_(retries) {}

  // Creates or replaces the service whole (its created time kept on a replace). Its VIPs
  // that another service holds: kAlreadyExists naming that service. Returns the service as
  // stored, with its revision.
  Result<Service> put(Service s, const PutServiceOptions& o = {});
  // kNotFound when there is no such service; kAborted when ifRevision is given and differs.
  Status remove(const std::string& name, std::optional<int64_t> ifRevision = std::nullopt);
  Result<Service> get(const std::string& name);
  Result<std::vector<Service>> list();

  // One server of a service (kNotFound: no such service; kAdd: kAlreadyExists when it is
  // there; kChange: kNotFound when it is not).
  Result<Service> setServer(const std::string& service, const ServerChange& c,
                            ServerWrite mode = ServerWrite::kAddOrChange);
  Result<Service> removeServer(const std::string& service, uint32_t ip, uint16_t port);

 private:
  // Reads the service, applies `f`, checks and writes it, compare-and-set; again on a conflict.
  Result<Service> update(const std::string& name, const std::function<Status(Service&)>& f);
  Result<std::optional<Service>> read(const std::string& name);
  // Servers that are another service's VIP, VIPs that are another service's server.
  Status checkAgainstOthers(const Service& s);

  store::Store& store_;
  int retries_;
};

}  // namespace roamgate::control
