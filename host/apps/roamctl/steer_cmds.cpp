// roamctl's steer commands (tier 1): configuration, gateways, pinned sessions, Maglev.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "cli.h"
#include "roamgate/dataplane/maglev.h"
#include "roamgate/hash.h"
#include "roamgate/regs/steer.h"

namespace roamctl {

namespace {

namespace rs = roamgate::regs::steer;
using dataplane::GatewayEntry;
using dataplane::SteerTables;
using roamgate::ipv4Str;
using roamgate::macStr;
using roamgate::teidStr;
using Gateways = std::array<GatewayEntry, SteerTables::kGateways>;

int info(Context& c, const std::vector<std::string>& args) {
  subOptions(po::options_description(), args);
  // Reaching here means checkKernel passed: id, register map and geometry are as built.
  json j = {{"kernel", "steer"},
            {"version", rs::kKernelVersion},
            {"regmap_crc", teidStr(rs::kRegmapCrc)},
            {"session_capacity", 2u * rs::kSessionSlots << rs::kSessionBucketsLog2},
            {"maglev_entries", rs::kMaglevEntries},
            {"gateways", rs::kGateways}};
  char text[256];
  std::snprintf(text, sizeof text,
                "kernel steer, register map 0x%08x\nsession table %u entries (2 banks x %u buckets x %u slots)\n"
                "maglev table %u entries\ngateway table %u entries\n",
                rs::kRegmapCrc, 2u * rs::kSessionSlots << rs::kSessionBucketsLog2, 1u << rs::kSessionBucketsLog2,
                rs::kSessionSlots, rs::kMaglevEntries, rs::kGateways);
  c.print(j, text);
  return kExitOk;
}

int config(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("own-ip", po::value<std::string>())("own-mac", po::value<std::string>())(
      "punt-pps", po::value<std::string>())("punt-burst", po::value<std::string>())(
      "clock-mhz", po::value<double>()->default_value(kDefaultClockHz / 1e6));
  auto vm = subOptions(d, args);
  double hz = vm["clock-mhz"].as<double>() * 1e6;
  if (!(hz >= 1e6 && hz <= 1e9)) throw UsageError{"--clock-mhz must be 1..1000"};
  dataplane::SteerConfig cfg;
  if (Status s = c.steer->readConfig(cfg); !s) return c.fail(s);
  bool change = false;
  if (vm.count("own-ip")) cfg.ownIp = parseUnicastIp("--own-ip", str(vm, "own-ip")), change = true;
  if (vm.count("own-mac")) cfg.ownMac = parseUnicastMac("--own-mac", str(vm, "own-mac")), change = true;
  std::optional<uint64_t> askedPps;
  if (vm.count("punt-pps")) {
    cfg.puntRate = puntRateFromPps("--punt-pps", str(vm, "punt-pps"), hz);
    askedPps = parseNumber(str(vm, "punt-pps"));
    change = true;
  }
  if (vm.count("punt-burst")) cfg.puntBurst = parsePuntBurst(str(vm, "punt-burst")), change = true;
  if (change) {
    if (Status s = c.steer->writeConfig(cfg); !s) return c.fail(s);
  }
  double pps = puntPps(cfg.puntRate, hz);
  char rate[160];
  std::snprintf(rate, sizeof rate, "punt-pps %.0f", pps);
  std::string text = "own-ip " + ipv4Str(cfg.ownIp) + "\nown-mac " + macStr(cfg.ownMac) + "\n" + rate;
  if (askedPps && uint64_t(std::llround(pps)) != *askedPps) {
    text += " (the nearest the limiter can do to " + std::to_string(*askedPps) + ")";
  }
  text += "\npunt-burst " + std::to_string(cfg.puntBurst) + "\n";
  c.print({{"own_ip", ipv4Str(cfg.ownIp)}, {"own_mac", macStr(cfg.ownMac)}, {"punt_pps", std::llround(pps)},
           {"punt_rate_register", cfg.puntRate}, {"punt_burst", cfg.puntBurst}},
          text);
  return kExitOk;
}

int gatewayAdd(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("ip", po::value<std::string>()->required())("mac", po::value<std::string>()->required())(
      "id", po::value<std::string>())("replace", po::bool_switch());
  auto vm = subOptions(d, args);
  GatewayEntry g{0, true, parseUnicastIp("--ip", str(vm, "ip")), parseUnicastMac("--mac", str(vm, "mac"))};
  bool replace = vm["replace"].as<bool>();
  std::optional<uint32_t> id;
  if (vm.count("id")) id = parseU32("--id", str(vm, "id"), SteerTables::kGateways - 1);
  Gateways gws;
  if (Status s = c.steer->readGateways(gws); !s) return c.fail(s);
  for (const GatewayEntry& e : gws) {
    if (e.valid && e.ip == g.ip && (!id || *id != e.id)) {
      return c.fail(Status::error(StatusCode::kAlreadyExists,
                                  "gateway " + ipv4Str(g.ip) + " already exists as id " + std::to_string(e.id)));
    }
  }
  if (id && gws[*id].valid && !replace) {
    return c.fail(Status::error(StatusCode::kAlreadyExists,
                                "gateway id " + std::to_string(*id) + " is " + ipv4Str(gws[*id].ip) + " " +
                                    macStr(gws[*id].mac) + "; pass --replace to change it"));
  }
  if (!id) {
    for (const GatewayEntry& e : gws) {
      if (!e.valid) {
        id = e.id;
        break;
      }
    }
    if (!id) return c.fail(Status::error(StatusCode::kFull, "gateway table full (" + std::to_string(SteerTables::kGateways) + " entries)"));
  }
  g.id = *id;
  if (Status s = c.steer->writeGateway(g); !s) return c.fail(s);
  std::vector<uint32_t> share;
  if (Status s = c.steer->rebuildMaglev(&share); !s) return c.fail(s);
  c.print({{"id", g.id}, {"ip", ipv4Str(g.ip)}, {"mac", macStr(g.mac)}, {"maglev_entries", share[g.id]}},
          "gateway " + std::to_string(g.id) + " " + ipv4Str(g.ip) + " " + macStr(g.mac) + ", " +
              std::to_string(share[g.id]) + " Maglev entries\n");
  return kExitOk;
}

int gatewayDel(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("id", po::value<std::string>())("ip", po::value<std::string>())("force", po::bool_switch());
  auto vm = subOptions(d, args);
  if (vm.count("id") == vm.count("ip")) throw UsageError{"gateway del takes exactly one of --id, --ip"};
  Gateways gws;
  if (Status s = c.steer->readGateways(gws); !s) return c.fail(s);
  std::optional<uint32_t> id;
  if (vm.count("id")) {
    id = parseU32("--id", str(vm, "id"), SteerTables::kGateways - 1);
    if (!gws[*id].valid) return c.fail(Status::error(StatusCode::kNotFound, "no gateway with id " + std::to_string(*id)));
  } else {
    uint32_t ip = parseIp("--ip", str(vm, "ip"));
    for (const GatewayEntry& e : gws) {
      if (e.valid && e.ip == ip) id = e.id;
    }
    if (!id) return c.fail(Status::error(StatusCode::kNotFound, "no gateway with address " + ipv4Str(ip)));
  }
  if (!vm["force"].as<bool>()) {
    std::vector<dataplane::SessionEntry> all;
    if (Status s = c.steer->listSessions(all); !s) return c.fail(s);
    size_t pinned = 0;
    for (const auto& e : all) pinned += e.gateway == *id;
    if (pinned) {
      return c.fail(Status::error(std::to_string(pinned) + " sessions are pinned to gateway " + std::to_string(*id) +
                                  "; pin them elsewhere first, or pass --force to drop their traffic"));
    }
  }
  GatewayEntry g = gws[*id];
  g.valid = false;
  // Maglev stops naming the gateway first, then its entry goes: hashed traffic never meets
  // an invalid gateway. TEIDs pinned to it are dropped (no_gateway) until re-pinned.
  if (Status s = c.steer->rebuildMaglev(nullptr, g.id); !s) return c.fail(s);
  if (Status s = c.steer->writeGateway(g); !s) return c.fail(s);
  c.print({{"removed", g.id}}, "removed gateway " + std::to_string(g.id) + " " + ipv4Str(g.ip) + "\n");
  return kExitOk;
}

int gatewayList(Context& c, const std::vector<std::string>& args) {
  subOptions(po::options_description(), args);
  Gateways gws;
  if (Status s = c.steer->readGateways(gws); !s) return c.fail(s);
  std::vector<uint8_t> table;
  if (Status s = c.steer->readMaglev(table); !s) return c.fail(s);
  std::vector<uint32_t> share(SteerTables::kGateways, 0);
  for (uint8_t v : table) share[v]++;
  json arr = json::array();
  std::string text = "id  ip               mac                maglev_entries  packets  bytes\n";
  for (const GatewayEntry& g : gws) {
    if (!g.valid) continue;
    uint64_t p = 0, b = 0;
    if (Status s = c.steer->readGatewayCounters(g.id, p, b); !s) return c.fail(s);
    arr.push_back({{"id", g.id}, {"ip", ipv4Str(g.ip)}, {"mac", macStr(g.mac)}, {"maglev_entries", share[g.id]},
                   {"packets", p}, {"bytes", b}});
    char line[160];
    std::snprintf(line, sizeof line, "%-3u %-16s %-18s %-15u %-8llu %llu\n", g.id, ipv4Str(g.ip).c_str(),
                  macStr(g.mac).c_str(), share[g.id], (unsigned long long)p, (unsigned long long)b);
    text += line;
  }
  c.print(arr, text);
  return kExitOk;
}

int sessionAddFile(Context& c, const std::string& path, bool replace) {
  FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "r");
  if (!f) return c.fail(Status::error("cannot open " + path + ": " + std::strerror(errno)));
  // Parse everything first: a bad line changes nothing.
  std::vector<std::pair<uint32_t, uint32_t>> entries;
  char line[256];
  int lineNo = 0;
  try {
    while (std::fgets(line, sizeof line, f)) {
      ++lineNo;
      std::string s(line);
      s = s.substr(0, s.find('#'));
      char teid[64], gw[64], extra[2];
      int n = std::sscanf(s.c_str(), "%63s %63s %1s", teid, gw, extra);
      if (n <= 0) continue;
      std::string where = path + ":" + std::to_string(lineNo) + ": ";
      if (n != 2) throw UsageError{where + "want \"TEID GATEWAY\""};
      entries.push_back({parseTeid(where + "TEID", teid), parseU32(where + "gateway", gw, SteerTables::kGateways - 1)});
    }
  } catch (const UsageError&) {
    if (f != stdin) std::fclose(f);
    throw;
  }
  if (f != stdin) std::fclose(f);
  Gateways gws;
  if (Status s = c.steer->readGateways(gws); !s) return c.fail(s);
  for (auto [teid, gw] : entries) {
    if (!gws[gw].valid) {
      return c.fail(Status::error(StatusCode::kNotFound, "no gateway with id " + std::to_string(gw) + " (TEID " +
                                                             teidStr(teid) + "); nothing added"));
    }
  }
  size_t done = 0;
  for (auto [teid, gw] : entries) {
    if (Status s = c.steer->insertSession(teid, gw, replace); !s) {
      return c.fail(Status::error(s.code(), s.message() + " (after " + std::to_string(done) + " of " +
                                                std::to_string(entries.size()) + " added)"));
    }
    if (++done % 1000 == 0) std::fprintf(stderr, "roamctl: %zu of %zu sessions\n", done, entries.size());
  }
  c.print({{"added", done}}, "added " + std::to_string(done) + " sessions\n");
  return kExitOk;
}

int sessionAdd(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("teid", po::value<std::string>())("gateway", po::value<std::string>())(
      "file", po::value<std::string>())("replace", po::bool_switch());
  auto vm = subOptions(d, args);
  bool replace = vm["replace"].as<bool>();
  if (vm.count("file")) {
    if (vm.count("teid") || vm.count("gateway")) throw UsageError{"session add takes --file or --teid/--gateway, not both"};
    return sessionAddFile(c, str(vm, "file"), replace);
  }
  if (!vm.count("teid") || !vm.count("gateway")) throw UsageError{"session add needs --teid and --gateway (or --file)"};
  uint32_t teid = parseTeid("--teid", str(vm, "teid"));
  uint32_t gw = parseU32("--gateway", str(vm, "gateway"), SteerTables::kGateways - 1);
  Gateways gws;
  if (Status s = c.steer->readGateways(gws); !s) return c.fail(s);
  if (!gws[gw].valid) return c.fail(Status::error(StatusCode::kNotFound, "no gateway with id " + std::to_string(gw) + "; add it first"));
  if (Status s = c.steer->insertSession(teid, gw, replace); !s) {
    if (s.code() == StatusCode::kAlreadyExists) return c.fail(Status::error(s.code(), s.message() + ": pass --replace"));
    return c.fail(s);
  }
  c.print({{"teid", teidStr(teid)}, {"gateway", gw}}, "session " + teidStr(teid) + " -> gateway " + std::to_string(gw) + "\n");
  return kExitOk;
}

int sessionDel(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("teid", po::value<std::string>()->required());
  auto vm = subOptions(d, args);
  uint32_t teid = parseTeid("--teid", str(vm, "teid"));
  if (Status s = c.steer->removeSession(teid); !s) return c.fail(s);
  c.print({{"removed", teidStr(teid)}}, "removed session " + teidStr(teid) + "\n");
  return kExitOk;
}

int sessionGet(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("teid", po::value<std::string>()->required());
  auto vm = subOptions(d, args);
  uint32_t teid = parseTeid("--teid", str(vm, "teid"));
  std::optional<uint32_t> gw;
  if (Status s = c.steer->findSession(teid, gw); !s) return c.fail(s);
  std::string via = gw ? "session" : "maglev";
  if (!gw) {
    std::vector<uint8_t> table;
    if (Status s = c.steer->readMaglev(table); !s) return c.fail(s);
    gw = table[roamgate::maglevIndex(roamgate::teidHash0(teid))];
  }
  Gateways gws;
  if (Status s = c.steer->readGateways(gws); !s) return c.fail(s);
  bool present = gws[*gw].valid;
  c.print({{"teid", teidStr(teid)}, {"gateway", *gw}, {"via", via}, {"gateway_present", present}},
          "teid " + teidStr(teid) + " -> gateway " + std::to_string(*gw) + " (" + via + ")" +
              (present ? "" : " ABSENT: its packets are dropped (no_gateway)") + "\n");
  return kExitOk;
}

int sessionList(Context& c, const std::vector<std::string>& args) {
  subOptions(po::options_description(), args);
  std::vector<dataplane::SessionEntry> all;
  if (Status s = c.steer->listSessions(all); !s) return c.fail(s);
  Gateways gws;
  if (Status s = c.steer->readGateways(gws); !s) return c.fail(s);
  json arr = json::array();
  std::string text;
  size_t orphans = 0;
  for (const auto& e : all) {
    bool present = e.gateway < gws.size() && gws[e.gateway].valid;
    orphans += !present;
    arr.push_back({{"teid", teidStr(e.teid)}, {"gateway", e.gateway}, {"gateway_present", present}});
    text += teidStr(e.teid) + " " + std::to_string(e.gateway) + (present ? "" : " (gateway absent: dropped)") + "\n";
  }
  if (orphans) {
    std::fprintf(stderr, "roamctl: %zu of %zu sessions are pinned to an absent gateway; their packets are dropped\n",
                 orphans, all.size());
  }
  c.print(arr, text);
  return kExitOk;
}

int maglev(Context& c, const std::vector<std::string>& args) {
  subOptions(po::options_description(), args);
  std::vector<uint8_t> table;
  if (Status s = c.steer->readMaglev(table); !s) return c.fail(s);
  Gateways gws;
  if (Status s = c.steer->readGateways(gws); !s) return c.fail(s);
  std::map<uint32_t, uint32_t> share;
  for (uint8_t v : table) share[v]++;
  json j = json::object();
  std::string text;
  uint32_t absent = 0;
  for (auto [id, n] : share) {
    bool present = gws[id].valid;
    if (!present) absent += n;
    j[std::to_string(id)] = n;
    text += "gateway " + std::to_string(id) + " " + std::to_string(n) + (present ? "" : " (absent)") + "\n";
  }
  // The table the host builds from the valid gateways: the card must hold exactly it.
  std::vector<dataplane::MaglevBackend> backends;
  for (const GatewayEntry& g : gws) {
    if (g.valid) backends.push_back({g.ip, uint8_t(g.id)});
  }
  std::vector<uint8_t> want = dataplane::buildMaglev(backends, rs::kMaglevEntries);
  size_t differ = 0;
  if (!want.empty()) {
    for (size_t i = 0; i < table.size(); ++i) differ += table[i] != want[i];
  }
  text += want.empty() ? "no gateways: every hashed G-PDU is dropped\n"
          : differ    ? std::to_string(differ) + " entries differ from the table built from the gateways\n"
                      : "the table is the one built from the gateways\n";
  c.print({{"entries", table.size()}, {"per_gateway", j}, {"absent_entries", absent}, {"differ_from_builder", differ}},
          text);
  return differ || absent ? kExitFailed : kExitOk;
}

int stats(Context& c, const std::vector<std::string>& args) {
  subOptions(po::options_description(), args);
  std::array<uint64_t, rs::kStatCount> st;
  if (Status s = c.steer->readStats(st); !s) return c.fail(s);
  return printStats(c, rs::kStatNames, st);
}

}  // namespace

std::vector<Command> steerCommands() {
  dataplane::SteerConfig dflt;
  return {
      {Kernel::kSteer, "info", "info\n    kernel identity, register map, geometry", info},
      {Kernel::kSteer, "config",
       "config [--own-ip A] [--own-mac M] [--punt-pps N] [--punt-burst N] [--clock-mhz F]\n"
       "    show or set the appliance's addresses and its punt limit (frames per second to the\n"
       "    host, rounded to the limiter's step; the rate programmed is printed).\n"
       "    At reset: " +
           defaultPuntText(dflt.puntRate, dflt.puntBurst),
       config},
      {Kernel::kSteer, "gateway add",
       "gateway add --ip A --mac M [--id N] [--replace]\n"
       "    add a gateway (the lowest free id unless --id), rebuild the Maglev table; an id\n"
       "    in use is changed only with --replace",
       gatewayAdd},
      {Kernel::kSteer, "gateway del",
       "gateway del (--id N | --ip A) [--force]\n"
       "    remove a gateway, rebuild the Maglev table; refused while sessions are pinned to\n"
       "    it unless --force (they then drop)",
       gatewayDel},
      {Kernel::kSteer, "gateway list", "gateway list\n    gateways with their Maglev share, packet and byte counters",
       gatewayList},
      {Kernel::kSteer, "session add",
       "session add (--teid T --gateway N | --file FILE) [--replace]\n"
       "    pin TEIDs to gateway ids (explicit session entries); FILE has lines of \"TEID\n"
       "    GATEWAY\" (# comments), all checked before any is added, with progress. A TEID\n"
       "    pinned elsewhere is re-pinned only with --replace",
       sessionAdd},
      {Kernel::kSteer, "session del", "session del --teid T\n    remove a pinned TEID", sessionDel},
      {Kernel::kSteer, "session get", "session get --teid T\n    where a TEID goes: its pinned gateway, or Maglev's",
       sessionGet},
      {Kernel::kSteer, "session list",
       "session list\n    every pinned TEID (those pinned to an absent gateway are marked)", sessionList},
      {Kernel::kSteer, "maglev", "maglev\n    Maglev table entries per gateway, checked against the table built from the\n    gateways (exit 1 when an entry differs or names an absent gateway)", maglev},
      {Kernel::kSteer, "stats", "stats\n    kernel counters", stats},
  };
}

}  // namespace roamctl
