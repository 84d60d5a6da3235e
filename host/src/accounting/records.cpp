#include "roamgate/accounting/records.h"

#include <sqlite3.h>

#include <nlohmann/json.hpp>

namespace roamgate::accounting {

using json = nlohmann::json;

struct AccountingStore::Db {
  sqlite3* db = nullptr;
  sqlite3_stmt* upsert = nullptr;
  ~Db() {
    if (upsert) sqlite3_finalize(upsert);
    if (db) sqlite3_close(db);
  }
};

namespace {

constexpr const char* kSchema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS records ("
    " id TEXT PRIMARY KEY, appliance TEXT NOT NULL, imsi TEXT NOT NULL, msisdn TEXT NOT NULL,"
    " teid INTEGER NOT NULL, terminal_ip INTEGER NOT NULL, terminal_port INTEGER NOT NULL,"
    " dst_ip INTEGER NOT NULL, dst_port INTEGER NOT NULL, proto INTEGER NOT NULL,"
    " nat_ip INTEGER NOT NULL, nat_port INTEGER NOT NULL, external INTEGER NOT NULL,"
    " denied INTEGER NOT NULL, deny_reason TEXT NOT NULL, services TEXT NOT NULL,"
    " servers TEXT NOT NULL, started TEXT NOT NULL, ended TEXT NOT NULL, cause TEXT NOT NULL,"
    " ul_pkts INTEGER NOT NULL, ul_bytes INTEGER NOT NULL, dl_pkts INTEGER NOT NULL,"
    " dl_bytes INTEGER NOT NULL, interims INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS records_imsi ON records(imsi, started);"
    "CREATE INDEX IF NOT EXISTS records_started ON records(started);";

// An open record takes whatever the hardware counted last; a closed one never changes again.
constexpr const char* kUpsert =
    "INSERT INTO records VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,"
    "?19,?20,?21,?22,?23,?24,?25) ON CONFLICT(id) DO UPDATE SET services=excluded.services,"
    " servers=excluded.servers, ended=excluded.ended, cause=excluded.cause,"
    " ul_pkts=excluded.ul_pkts, ul_bytes=excluded.ul_bytes, dl_pkts=excluded.dl_pkts,"
    " dl_bytes=excluded.dl_bytes, interims=excluded.interims WHERE records.cause = ''";

constexpr const char* kColumns =
    "id, appliance, imsi, msisdn, teid, terminal_ip, terminal_port, dst_ip, dst_port, proto,"
    " nat_ip, nat_port, external, denied, deny_reason, services, servers, started, ended, cause,"
    " ul_pkts, ul_bytes, dl_pkts, dl_bytes, interims";

std::string text(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

std::vector<std::string> strings(const std::string& j) {
  std::vector<std::string> out;
  json v = json::parse(j, nullptr, false);
  if (v.is_array()) {
    for (auto& e : v) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  }
  return out;
}

Record row(sqlite3_stmt* s) {
  Record r;
  r.id = text(s, 0);
  r.appliance = text(s, 1);
  r.imsi = text(s, 2);
  r.msisdn = text(s, 3);
  r.teid = uint32_t(sqlite3_column_int64(s, 4));
  r.terminalIp = uint32_t(sqlite3_column_int64(s, 5));
  r.terminalPort = uint16_t(sqlite3_column_int(s, 6));
  r.dstIp = uint32_t(sqlite3_column_int64(s, 7));
  r.dstPort = uint16_t(sqlite3_column_int(s, 8));
  r.proto = uint8_t(sqlite3_column_int(s, 9));
  r.natIp = uint32_t(sqlite3_column_int64(s, 10));
  r.natPort = uint16_t(sqlite3_column_int(s, 11));
  r.external = sqlite3_column_int(s, 12) != 0;
  r.denied = sqlite3_column_int(s, 13) != 0;
  r.denyReason = text(s, 14);
  r.services = strings(text(s, 15));
  r.servers = strings(text(s, 16));
  r.started = text(s, 17);
  r.ended = text(s, 18);
  r.cause = text(s, 19);
  r.ulPkts = uint64_t(sqlite3_column_int64(s, 20));
  r.ulBytes = uint64_t(sqlite3_column_int64(s, 21));
  r.dlPkts = uint64_t(sqlite3_column_int64(s, 22));
  r.dlBytes = uint64_t(sqlite3_column_int64(s, 23));
  r.interims = uint32_t(sqlite3_column_int64(s, 24));
  return r;
}

}  // namespace

AccountingStore::~AccountingStore() = default;

Result<std::unique_ptr<AccountingStore>> AccountingStore::open(const std::string& path) {
  std::unique_ptr<AccountingStore> a(new AccountingStore());
  a->path_ = path;
  a->db_ = std::make_unique<Db>();
  auto fail = [&](const std::string& what) {
    std::string m = a->db_->db ? sqlite3_errmsg(a->db_->db) : "out of memory";
    return Status::error(StatusCode::kUnavailable, "accounting records " + path + ": " + what + ": " + m);
  };
  if (sqlite3_open_v2(path.c_str(), &a->db_->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    return fail("cannot open");
  }
  sqlite3_busy_timeout(a->db_->db, 5000);
  char* err = nullptr;
  if (sqlite3_exec(a->db_->db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "?";
    sqlite3_free(err);
    return Status::error(StatusCode::kUnavailable, "accounting records " + path + ": schema: " + m);
  }
  if (sqlite3_prepare_v2(a->db_->db, kUpsert, -1, &a->db_->upsert, nullptr) != SQLITE_OK) {
    return fail("prepare");
  }
  return a;
}

Result<size_t> AccountingStore::write(const std::vector<Record>& batch) {
  sqlite3* db = db_->db;
  auto fail = [&](const std::string& what) {
    std::string m = sqlite3_errmsg(db);
    (void)sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return Status::error(StatusCode::kUnavailable, "accounting records " + path_ + ": " + what + ": " + m);
  };
  if (batch.empty()) return size_t(0);
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("begin");
  size_t written = 0;
  std::vector<const Record*> changed;
  sqlite3_stmt* s = db_->upsert;
  for (const Record& r : batch) {
    sqlite3_reset(s);
    std::string services = json(r.services).dump(), servers = json(r.servers).dump();
    sqlite3_bind_text(s, 1, r.id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, r.appliance.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, r.imsi.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, r.msisdn.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 5, r.teid);
    sqlite3_bind_int64(s, 6, r.terminalIp);
    sqlite3_bind_int(s, 7, r.terminalPort);
    sqlite3_bind_int64(s, 8, r.dstIp);
    sqlite3_bind_int(s, 9, r.dstPort);
    sqlite3_bind_int(s, 10, r.proto);
    sqlite3_bind_int64(s, 11, r.natIp);
    sqlite3_bind_int(s, 12, r.natPort);
    sqlite3_bind_int(s, 13, r.external);
    sqlite3_bind_int(s, 14, r.denied);
    sqlite3_bind_text(s, 15, r.denyReason.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 16, services.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 17, servers.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 18, r.started.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 19, r.ended.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 20, r.cause.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 21, int64_t(r.ulPkts));
    sqlite3_bind_int64(s, 22, int64_t(r.ulBytes));
    sqlite3_bind_int64(s, 23, int64_t(r.dlPkts));
    sqlite3_bind_int64(s, 24, int64_t(r.dlBytes));
    sqlite3_bind_int64(s, 25, r.interims);
    if (sqlite3_step(s) != SQLITE_DONE) return fail("write " + r.id);
    if (sqlite3_changes(db) > 0) {
      ++written;
      changed.push_back(&r);
    }
  }
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("commit");
  for (Exporter* e : exporters_) {
    for (const Record* r : changed) e->exported(*r);
  }
  return written;
}

Result<std::vector<Record>> AccountingStore::list(const Query& q) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM records WHERE 1";
  if (!q.imsi.empty()) sql += " AND imsi = ?1";
  if (!q.since.empty()) sql += " AND (started >= ?2 OR (ended != '' AND ended >= ?2))";
  if (q.finalOnly) sql += " AND cause != ''";
  sql += " ORDER BY started DESC, id DESC LIMIT ?3";
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_->db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    return Status::error(StatusCode::kUnavailable, "accounting records " + path_ + ": " + sqlite3_errmsg(db_->db));
  }
  if (!q.imsi.empty()) sqlite3_bind_text(s, 1, q.imsi.c_str(), -1, SQLITE_TRANSIENT);
  if (!q.since.empty()) sqlite3_bind_text(s, 2, q.since.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 3, int64_t(q.limit));
  std::vector<Record> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(row(s));
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) {
    return Status::error(StatusCode::kUnavailable, "accounting records " + path_ + ": " + sqlite3_errmsg(db_->db));
  }
  return out;
}

Result<std::optional<Record>> AccountingStore::get(const std::string& id) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM records WHERE id = ?1";
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_->db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    return Status::error(StatusCode::kUnavailable, "accounting records " + path_ + ": " + sqlite3_errmsg(db_->db));
  }
  sqlite3_bind_text(s, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  std::optional<Record> out;
  if (sqlite3_step(s) == SQLITE_ROW) out = row(s);
  sqlite3_finalize(s);
  return out;
}

Result<std::optional<Record>> AccountingStore::findOpen(const std::string& appliance, uint32_t natIp,
                                                       uint16_t natPort) {
  std::string sql = std::string("SELECT ") + kColumns +
                    " FROM records WHERE appliance = ?1 AND nat_ip = ?2 AND nat_port = ?3 AND cause = ''"
                    " ORDER BY started DESC LIMIT 1";
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_->db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    return Status::error(StatusCode::kUnavailable, "accounting records " + path_ + ": " + sqlite3_errmsg(db_->db));
  }
  sqlite3_bind_text(s, 1, appliance.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 2, natIp);
  sqlite3_bind_int(s, 3, natPort);
  std::optional<Record> out;
  if (sqlite3_step(s) == SQLITE_ROW) out = row(s);
  sqlite3_finalize(s);
  return out;
}

}  // namespace roamgate::accounting
