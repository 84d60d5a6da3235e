// roamd's configuration: a TOML file, every option also on the command line (which wins),
// and embedded defaults so that `roamd --appliance steer-a=sim:/run/roamgate/a.sock` runs.
#pragma once

#include <string>
#include <vector>

#include "roamgate/control/objects.h"
#include "roamgate/result.h"

namespace roamd {

struct ApplianceConfig {
  roamgate::control::Appliance app;  // ip, mac ... 0 when unset: taken from the device
  bool roleGiven = false;
  bool puntGiven = false;
  uint64_t steerNextHopMac = 0;       // gate: the MAC steers send to (default: its own)
};

struct Config {
  std::string machine;  // default: the host name
  std::string store = "sqlite:/var/lib/roamgate/state.db";
  // The gates' accounting records (SQLite, on this machine whatever the store); empty: beside
  // a SQLite store, else /var/lib/roamgate/accounting.db; "none": not kept.
  std::string accounting;
  std::string api = "/run/roamgate/roamd.sock";  // Unix socket
  std::string apiTcp;                           // HOST:PORT; empty: none
  std::string metrics = "127.0.0.1:9641";       // HOST:PORT for /metrics; empty: none
  std::string logLevel = "info";
  int leaseTtl = 10;         // seconds
  int quarantine = 60;       // seconds a freed TEID rests
  std::string lostGate = "replace";  // replace | keep
  int lostGrace = 0;         // seconds a gate stays down before its sessions move (0: lease TTL)
  double deviceTimeout = 5;  // seconds (sim devices)
  size_t batch = 0;          // sessions per store transaction; 0: by store (batchFor)
  int64_t history = 10000;   // store revisions kept for watches behind (older: compacted)
  int compactEvery = 60;     // seconds between compactions (0: never)
  std::vector<ApplianceConfig> appliances;
};

// The default batch: etcd's default --max-txn-ops 128 allows 64 sessions (two comparisons
// each). SQLite has no limit, and its cost is the pages a commit writes: random TEIDs touch
// a B-tree page each, written once per commit however many of its rows changed. Creating
// 63,000 sessions, transactions of 1000 took a third of the time of 64's, and 10,000 (the
// most one API request carries) 0.6 of 1000's.
inline size_t batchFor(const std::string& store, size_t batch) {
  if (batch) return batch;
  return store.rfind("etcd:", 0) == 0 ? 64 : 10000;
}

inline std::string accountingPath(const Config& c) {
  if (c.accounting == "none") return "";
  if (!c.accounting.empty()) return c.accounting;
  if (c.store.rfind("sqlite:", 0) == 0) {
    std::string p = c.store.substr(7);
    size_t slash = p.rfind('/');
    return (slash == std::string::npos ? std::string() : p.substr(0, slash + 1)) + "accounting.db";
  }
  return "/var/lib/roamgate/accounting.db";
}

inline constexpr const char* kDefaultConfigPath = "/etc/roamgate/roamd.toml";

// Reads argv into `cfg` (a --config file first, then the other options over it). Returns
// kInvalidArgument naming the option, key or value at fault; `help` set for --help.
roamgate::Status parseCommandLine(int argc, char** argv, Config& cfg, bool& help, bool& version);
roamgate::Status loadConfigFile(const std::string& path, Config& cfg);
// Applies NAME.KEY=VALUE to the appliance NAME (created if new).
roamgate::Status setApplianceOption(Config& cfg, const std::string& assignment);
roamgate::Status checkConfig(const Config& cfg);

extern const char* kUsage;

}  // namespace roamd
