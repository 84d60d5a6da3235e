// The Store helpers and openStore(): the spec picks the backend.
#include "roamgate/store/store.h"

#include "backends.h"

namespace roamgate::store {

std::string prefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(end.back());
    if (c < 0xff) {
      ++c;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key (etcd's "\0" range end)
}

Result<Revision> Store::put(const std::string& key, const std::string& value, LeaseId lease) {
  Txn t;
  t.success.push_back(TxnOp::put(key, value, lease));
  Result<TxnResult> r = txn(t);
  if (!r.ok()) return r.status();
  return r->revision;
}

Result<Revision> Store::del(const std::string& key) {
  Txn t;
  t.success.push_back(TxnOp::del(key));
  Result<TxnResult> r = txn(t);
  if (!r.ok()) return r.status();
  return r->revision;
}

Result<Revision> Store::create(const std::string& key, const std::string& value, LeaseId lease) {
  Txn t;
  t.compare.push_back(Compare::absent(key));
  t.success.push_back(TxnOp::put(key, value, lease));
  Result<TxnResult> r = txn(t);
  if (!r.ok()) return r.status();
  if (!r->succeeded) return Status::error(StatusCode::kAlreadyExists, key + " exists");
  return r->revision;
}

Result<std::unique_ptr<Store>> openStore(const StoreOptions& opts) {
  const std::string& spec = opts.spec;
  if (spec.rfind("sqlite:", 0) == 0) {
    std::string path = spec.substr(7);
    if (path.empty()) {
      return Status::error(StatusCode::kInvalidArgument,
                           "store spec 'sqlite:' names no file (sqlite:PATH)");
    }
    return openSqliteStore(path);
  }
  if (spec.rfind("etcd:", 0) == 0) {
    std::vector<std::string> eps;
    std::string rest = spec.substr(5);
    size_t pos = 0;
    while (pos <= rest.size()) {
      size_t comma = rest.find(',', pos);
      if (comma == std::string::npos) comma = rest.size();
      std::string ep = rest.substr(pos, comma - pos);
      if (ep.rfind("http://", 0) == 0) ep = ep.substr(7);
      size_t colon = ep.rfind(':');
      if (ep.empty() || colon == std::string::npos || colon == 0 || colon + 1 == ep.size()) {
        return Status::error(StatusCode::kInvalidArgument,
                             "store endpoint '" + ep + "' in '" + spec +
                                 "' is not HOST:PORT (etcd:HOST:PORT[,HOST:PORT...])");
      }
      eps.push_back(ep);
      pos = comma + 1;
    }
    return openEtcdStore(eps, opts.timeout);
  }
  return Status::error(StatusCode::kInvalidArgument,
                       "store spec '" + spec + "' is neither sqlite:PATH nor etcd:HOST:PORT");
}

}  // namespace roamgate::store
