#include "config.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <set>
#include <toml++/toml.h>

#include "roamgate/addr.h"
#include "roamgate/hal/device.h"

namespace roamd {

using roamgate::Status;
using roamgate::StatusCode;
using roamgate::control::Role;

const char* kUsage =
    "usage: roamd [--config FILE] [OPTIONS] [--appliance NAME=DEVICE ...]\n"
    "\n"
    "The daemon of one machine: programs every appliance of the machine from the shared state\n"
    "(SQLite on one machine, etcd across machines), follows its changes, serves the session\n"
    "manager and the control API (roamctl's commands without --device).\n"
    "\n"
    "options (each also a key of the configuration file, which they override):\n"
    "  --config FILE         TOML configuration (default /etc/roamgate/roamd.toml if it exists)\n"
    "  --machine NAME        this machine's name in the store (default: the host name)\n"
    "  --store SPEC          sqlite:PATH or etcd:HOST:PORT[,HOST:PORT...]\n"
    "                        (default sqlite:/var/lib/roamgate/state.db)\n"
    "  --accounting PATH     the SQLite file of this machine's gates' accounting records\n"
    "                        (default: accounting.db beside a SQLite store, else\n"
    "                        /var/lib/roamgate/accounting.db; 'none': no records kept)\n"
    "  --api PATH            the API's Unix socket (default /run/roamgate/roamd.sock)\n"
    "  --api-tcp HOST:PORT   also serve the API on TCP (default: no)\n"
    "  --metrics HOST:PORT   Prometheus /metrics (default 127.0.0.1:9641; '' for none)\n"
    "  --log-level LEVEL     trace, debug, info, warn, error (default info)\n"
    "  --lease-ttl SECONDS   the lease that keeps this machine's appliances live (default 10)\n"
    "  --quarantine SECONDS  how long a freed TEID is not handed out (default 60; 0: none)\n"
    "  --lost-gate POLICY    replace (move a down gate's unpinned sessions to live gates) or\n"
    "                        keep (default replace)\n"
    "  --lost-grace SECONDS  how long a gate is down before its sessions move (default: TTL)\n"
    "  --device-timeout SECS how long a sim device may stay silent (default 5)\n"
    "  --batch N             sessions per store transaction (default: 10000 with SQLite,\n"
    "                        64 with etcd, whose --max-txn-ops must be at least 2 N)\n"
    "  --appliance NAME=DEVICE   an appliance of this machine (sim:SOCKET, xrt:INDEX, xrt:BDF);\n"
    "                        its role comes from the device's kernel unless set\n"
    "  --set NAME.KEY=VALUE  an appliance's setting, as in the file's [appliance.NAME] table:\n"
    "                        role, device, ip, mac, punt_rate, punt_burst; gate: gateway_id,\n"
    "                        nat_ips (comma-separated), service_next_hop_mac,\n"
    "                        idle_ms (a user session's idle time, default 300000),\n"
    "                        interim_ms (interim records, default 0: none),\n"
    "                        port_hold (seconds a freed port rests, default 120),\n"
    "                        port_quota (ports a subscriber may hold, default 0: no limit),\n"
    "                        external_filtering (endpoint, the default: replies to an\n"
    "                        external destination's port from any address; address: only\n"
    "                        from the address sent to, each such address its own port),\n"
    "                        access_next_hop_mac, steer_next_hop_mac. An address or MAC left\n"
    "                        unset is taken from what the device holds.\n"
    "  -h, --help, --version\n"
    "\n"
    "Exit status: 0 stopped by SIGTERM or SIGINT, 1 failed, 2 bad configuration or command\n"
    "line, 3 the store cannot be reached. An appliance whose device is absent or holds the\n"
    "wrong kernel is reported (roamctl appliance list) and retried; the others are served.\n";

namespace {

Status bad(const std::string& msg) { return Status::error(StatusCode::kInvalidArgument, msg); }

Status parseInt(const std::string& what, const std::string& v, long min, long max, long& out) {
  char* end = nullptr;
  errno = 0;
  long x = std::strtol(v.c_str(), &end, 0);
  if (v.empty() || *end != '\0' || errno != 0 || x < min || x > max) {
    return bad(what + " '" + v + "' is not a whole number " + std::to_string(min) + ".." +
               std::to_string(max));
  }
  out = x;
  return {};
}

ApplianceConfig& applianceNamed(Config& cfg, const std::string& name) {
  for (ApplianceConfig& a : cfg.appliances) {
    if (a.app.name == name) return a;
  }
  cfg.appliances.push_back({});
  ApplianceConfig& a = cfg.appliances.back();
  a.app.name = name;
  a.app.punt.burst = 0;  // unset: the device's
  return a;
}

// One appliance setting from text (the command line) — the file's values arrive as text too.
Status setKey(ApplianceConfig& ac, const std::string& key, const std::string& v) {
  auto& a = ac.app;
  std::string what = "appliance " + a.name + " " + key;
  if (key == "role") {
    if (v == "steer") a.role = Role::kSteer;
    else if (v == "gate") a.role = Role::kGate;
    else return bad(what + " '" + v + "' is not steer or gate");
    ac.roleGiven = true;
  } else if (key == "device") {
    a.device = v;
  } else if (key == "ip") {
    auto ip = roamgate::ipv4FromStr(v);
    if (!ip) return bad(what + " '" + v + "' is not an IPv4 address");
    a.ip = *ip;
  } else if (key == "mac" || key == "service_next_hop_mac" || key == "access_next_hop_mac" ||
             key == "steer_next_hop_mac") {
    auto mac = roamgate::macFromStr(v);
    if (!mac) return bad(what + " '" + v + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
    if (key == "mac") a.mac = *mac;
    else if (key == "service_next_hop_mac") a.serviceNextHopMac = *mac;
    else if (key == "access_next_hop_mac") a.accessNextHopMac = *mac;
    else ac.steerNextHopMac = *mac;
  } else if (key == "punt_rate" || key == "punt_burst") {
    long x;
    if (Status s = parseInt(what, v, key == "punt_burst" ? 1 : 0,
                            key == "punt_burst" ? 65535 : 0xffffffffl, x);
        !s) {
      return s;
    }
    if (!ac.puntGiven) a.punt = {};
    ac.puntGiven = true;
    (key == "punt_rate" ? a.punt.rate : a.punt.burst) = static_cast<uint32_t>(x);
  } else if (key == "port_hold") {
    long x;
    if (Status s = parseInt(what, v, 0, 86400, x); !s) return s;
    a.portHoldSeconds = static_cast<uint32_t>(x);
  } else if (key == "port_quota") {
    long x;
    if (Status s = parseInt(what, v, 0, 64512, x); !s) return s;
    a.portQuota = static_cast<uint32_t>(x);
  } else if (key == "external_filtering") {
    if (v != "endpoint" && v != "address") return bad(what + " '" + v + "' is not endpoint or address");
    a.addressFiltering = v == "address";
  } else if (key == "idle_ms" || key == "interim_ms") {
    long x;
    if (Status s = parseInt(what, v, key == "idle_ms" ? 1 : 0, 86400000, x); !s) return s;
    (key == "idle_ms" ? a.idleMs : a.interimMs) = static_cast<uint32_t>(x);
  } else if (key == "gateway_id") {
    long x;
    if (Status s = parseInt(what, v, 0, 255, x); !s) return s;
    a.gatewayId = static_cast<uint32_t>(x);
  } else if (key == "nat_ips") {
    a.natIps = {};
    size_t i = 0, pos = 0;
    while (pos <= v.size()) {
      size_t comma = v.find(',', pos);
      if (comma == std::string::npos) comma = v.size();
      std::string one = v.substr(pos, comma - pos);
      auto ip = roamgate::ipv4FromStr(one);
      if (!ip) return bad(what + ": '" + one + "' is not an IPv4 address");
      if (i >= a.natIps.size()) return bad(what + ": at most 4 NAT addresses");
      a.natIps[i++] = *ip;
      pos = comma + 1;
    }
  } else {
    return bad("unknown appliance setting '" + key +
               "' (role, device, ip, mac, punt_rate, punt_burst, gateway_id, nat_ips, "
               "service_next_hop_mac, access_next_hop_mac, steer_next_hop_mac, idle_ms, interim_ms, port_hold, port_quota, "
               "external_filtering)");
  }
  return {};
}

// A top-level option from text.
Status setOption(Config& cfg, const std::string& key, const std::string& v) {
  long x;
  if (key == "machine") cfg.machine = v;
  else if (key == "store") cfg.store = v;
  else if (key == "accounting") cfg.accounting = v;
  else if (key == "api") cfg.api = v;
  else if (key == "api_tcp") cfg.apiTcp = v;
  else if (key == "metrics") cfg.metrics = v;
  else if (key == "log_level") {
    static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error"};
    if (!levels.count(v)) return bad("log level '" + v + "' is not trace, debug, info, warn or error");
    cfg.logLevel = v;
  } else if (key == "lease_ttl") {
    if (Status s = parseInt("lease TTL", v, 2, 3600, x); !s) return s;
    cfg.leaseTtl = int(x);
  } else if (key == "quarantine") {
    if (Status s = parseInt("quarantine", v, 0, 86400, x); !s) return s;
    cfg.quarantine = int(x);
  } else if (key == "lost_gate") {
    if (v != "replace" && v != "keep") return bad("lost-gate policy '" + v + "' is not replace or keep");
    cfg.lostGate = v;
  } else if (key == "lost_grace") {
    if (Status s = parseInt("lost-gate grace", v, 0, 86400, x); !s) return s;
    cfg.lostGrace = int(x);
  } else if (key == "device_timeout") {
    double t;
    std::string err;
    if (!roamgate::hal::parseTimeout(v, t, err)) return bad("device timeout: " + err);
    cfg.deviceTimeout = t;
  } else if (key == "batch") {
    if (Status s = parseInt("batch", v, 1, 10000, x); !s) return s;
    cfg.batch = size_t(x);
  } else if (key == "history") {
    if (Status s = parseInt("history", v, 10, 1000000000, x); !s) return s;
    cfg.history = x;
  } else if (key == "compact_every") {
    if (Status s = parseInt("compact-every", v, 0, 86400, x); !s) return s;
    cfg.compactEvery = int(x);
  } else {
    return bad("unknown option '" + key + "'");
  }
  return {};
}

std::string nodeText(const toml::node& n, bool& ok) {
  ok = true;
  if (auto s = n.value<std::string>()) return *s;
  if (n.is_integer()) return std::to_string(*n.value<int64_t>());
  if (n.is_floating_point()) return std::to_string(*n.value<double>());
  if (n.is_boolean()) return *n.value<bool>() ? "true" : "false";
  if (const toml::array* arr = n.as_array()) {
    std::string out;
    for (const toml::node& e : *arr) {
      auto s = e.value<std::string>();
      if (!s) ok = false;
      out += (out.empty() ? "" : ",") + s.value_or("");
    }
    return out;
  }
  ok = false;
  return {};
}

std::string where(const std::string& path, const toml::node& n) {
  return path + ":" + std::to_string(n.source().begin.line);
}

}  // namespace

Status loadConfigFile(const std::string& path, Config& cfg) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::string msg(e.description());
    if (e.source().begin.line == 0) return bad("cannot read configuration " + path + ": " + msg);
    return bad(path + ":" + std::to_string(e.source().begin.line) + ": " + msg);
  }
  for (auto&& [k, node] : tbl) {
    std::string key(k.str());
    if (key == "appliance") {
      const toml::table* apps = node.as_table();
      if (!apps) return bad(where(path, node) + ": 'appliance' is a table of [appliance.NAME]");
      for (auto&& [name, body] : *apps) {
        const toml::table* t = body.as_table();
        if (!t) return bad(where(path, body) + ": appliance." + std::string(name.str()) + " is not a table");
        ApplianceConfig& ac = applianceNamed(cfg, std::string(name.str()));
        for (auto&& [ak, av] : *t) {
          bool ok;
          std::string text = nodeText(av, ok);
          if (!ok) return bad(where(path, av) + ": appliance." + ac.app.name + "." + std::string(ak.str()) + " has a value of the wrong type");
          if (Status s = setKey(ac, std::string(ak.str()), text); !s) {
            return bad(where(path, av) + ": " + s.message());
          }
        }
      }
      continue;
    }
    bool ok;
    std::string text = nodeText(node, ok);
    if (!ok) return bad(where(path, node) + ": '" + key + "' has a value of the wrong type");
    if (Status s = setOption(cfg, key, text); !s) return bad(where(path, node) + ": " + s.message());
  }
  return {};
}

Status setApplianceOption(Config& cfg, const std::string& assignment) {
  size_t dot = assignment.find('.'), eq = assignment.find('=');
  if (dot == std::string::npos || eq == std::string::npos || dot > eq || dot == 0) {
    return bad("--set '" + assignment + "' is not NAME.KEY=VALUE");
  }
  ApplianceConfig& ac = applianceNamed(cfg, assignment.substr(0, dot));
  return setKey(ac, assignment.substr(dot + 1, eq - dot - 1), assignment.substr(eq + 1));
}

Status parseCommandLine(int argc, char** argv, Config& cfg, bool& help, bool& version) {
  help = version = false;
  // The file first (its options are overridden by the command line's, whatever the order).
  std::string file;
  bool fileGiven = false;
  std::vector<std::pair<std::string, std::string>> opts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      help = true;
      continue;
    }
    if (a == "--version") {
      version = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) return bad("unexpected argument '" + a + "'");
    std::string name = a.substr(2), value;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      if (i + 1 >= argc) return bad("option --" + name + " needs a value");
      value = argv[++i];
    }
    if (name == "config") {
      file = value;
      fileGiven = true;
    } else {
      opts.emplace_back(name, value);
    }
  }
  if (help || version) return {};
  if (!fileGiven && access(kDefaultConfigPath, F_OK) == 0) file = kDefaultConfigPath;
  if (!file.empty()) {
    if (Status s = loadConfigFile(file, cfg); !s) return s;
  }
  for (auto& [name, value] : opts) {
    if (name == "appliance") {
      size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) {
        return bad("--appliance '" + value + "' is not NAME=DEVICE (e.g. steer-a=sim:/run/roamgate/a.sock)");
      }
      applianceNamed(cfg, value.substr(0, eq)).app.device = value.substr(eq + 1);
    } else if (name == "set") {
      if (Status s = setApplianceOption(cfg, value); !s) return s;
    } else {
      std::string key = name;
      for (char& c : key) c = c == '-' ? '_' : c;
      if (Status s = setOption(cfg, key, value); !s) {
        if (s.message().rfind("unknown option", 0) == 0) return bad("unknown option --" + name + " (see roamd --help)");
        return s;
      }
    }
  }
  if (cfg.machine.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    std::string m = host[0] ? host : "localhost";
    for (char& c : m) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) c = '-';
    }
    cfg.machine = m.substr(0, 63);
  }
  return checkConfig(cfg);
}

Status checkConfig(const Config& cfg) {
  if (Status s = roamgate::control::checkName("machine name", cfg.machine); !s) return s;
  std::set<std::string> devices;
  for (const ApplianceConfig& ac : cfg.appliances) {
    if (Status s = roamgate::control::checkName("appliance name", ac.app.name); !s) return s;
    if (ac.app.device.empty()) {
      return bad("appliance " + ac.app.name + " names no device (--appliance NAME=DEVICE or device = ...)");
    }
    if (!devices.insert(ac.app.device).second) {
      return bad("device " + ac.app.device + " is named by two appliances");
    }
  }
  return {};
}

}  // namespace roamd
