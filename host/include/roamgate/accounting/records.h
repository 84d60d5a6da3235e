// Accounting records of user sessions (issue 11): who (the subscriber), what (the service and
// the server that served it, or an external destination), when (UTC) and how much (packets and
// bytes each way, from the gate's 64-bit hardware counters), and why it ended.
//
// Where they go: a SQLite file of their own on the gate's roamd (--accounting PATH), whichever
// store holds the desired state: bulk records do not belong in etcd, and the roamd that runs
// the gate is the one that reads its export ring.
//
// Written once, never lost, never double counted:
// * A record's id names its user session: appliance, gate address index, port, generation and
//   start time. Every write is an upsert by id: an open record (at the start, and at each
//   interim) takes the counters as the hardware gives them (absolute, not increments: a
//   repeated interim changes nothing); a final record closes it, and a closed record is never
//   written again.
// * The gate agent hands the export ring's slots back only after the records they carried are
//   committed here (HostRings::pollExport with hold): a roamd killed in between reads the same
//   records again after its restart, and the upsert makes them count once.
// * Exporters (RADIUS accounting, IPFIX: later issues) get each record through one interface
//   after it is committed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "roamgate/result.h"
#include "roamgate/status.h"

namespace roamgate::accounting {

struct Record {
  std::string id;  // "gate-a/0/40123/7/2026-12-02T01:02:03.456Z"
  std::string appliance;
  std::string imsi, msisdn;
  uint32_t teid = 0;
  // The first packet as it came from the terminal.
  uint32_t terminalIp = 0;
  uint16_t terminalPort = 0;  // ICMP: the echo identifier
  uint32_t dstIp = 0;
  uint16_t dstPort = 0;
  uint8_t proto = 0;
  // The user session's own address and port (claim 13: its id on the gate).
  uint32_t natIp = 0;
  uint16_t natPort = 0;
  bool external = false, denied = false;
  std::string denyReason;             // denied: why (no_policy, service_not_allowed, ...)
  // The services it used, in order (a series user session: each re-target), each with the
  // server that served it ("198.18.11.2:8443"). Empty for an external or denied one.
  std::vector<std::string> services, servers;
  std::string started, ended;  // UTC, ISO 8601 with milliseconds; ended empty while open
  std::string cause;           // empty while open; idle, fin, rst, session_deleted, deny_expired, admin
  uint64_t ulPkts = 0, ulBytes = 0, dlPkts = 0, dlBytes = 0;
  uint32_t interims = 0;       // interim updates seen
  bool final() const { return !cause.empty(); }
  bool operator==(const Record&) const = default;
};

// Receives every record once committed (open at start, at each interim, and final).
class Exporter {
 public:
  virtual ~Exporter() = default;
  virtual void exported(const Record& r) = 0;
};

struct Query {
  std::string imsi;     // empty: every subscriber
  std::string since;    // UTC: records that started or ended at or after it; empty: all
  bool finalOnly = false;
  size_t limit = 1000;  // newest first
};

class AccountingStore {
 public:
  // Opens (creating) the SQLite file; kUnavailable naming the path when it cannot.
  static Result<std::unique_ptr<AccountingStore>> open(const std::string& path);
  ~AccountingStore();

  // In one transaction, in order: each record upserted by id; a closed record is left as it
  // is. Returns how many were written (not ignored). After the commit, each written record
  // goes to every exporter, in order (an ignored one does not: exported once).
  Result<size_t> write(const std::vector<Record>& batch);
  // Exporters get records from the next write on; the store does not own them.
  void addExporter(Exporter* e) { exporters_.push_back(e); }
  Result<std::vector<Record>> list(const Query& q);
  Result<std::optional<Record>> get(const std::string& id);
  // The open record of a gate port (at most one is open: a port serves one user session at a
  // time), to go on with after a restart.
  Result<std::optional<Record>> findOpen(const std::string& appliance, uint32_t natIp,
                                         uint16_t natPort);
  const std::string& path() const { return path_; }

 private:
  AccountingStore() = default;
  struct Db;
  std::unique_ptr<Db> db_;
  std::string path_;
  std::vector<Exporter*> exporters_;
};

}  // namespace roamgate::accounting
