// roamctl: the operator's command-line tool for a Roamgate appliance.
#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "roamgate/dataplane/gate_tables.h"
#include "roamgate/dataplane/host_rings.h"
#include "roamgate/dataplane/steer_tables.h"
#include "roamgate/hal/device.h"
#include "roamgate/hash.h"
#include "roamgate/regs/gate.h"
#include "roamgate/regs/steer.h"

namespace po = boost::program_options;
using nlohmann::json;
using namespace roamgate;
using dataplane::GatewayEntry;
using dataplane::SteerTables;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = hal::kExitUsage;
constexpr double kDefaultClockHz = 322.265625e6;

const std::string kUsage = std::string(R"(usage: roamctl [--device SPEC [--xclbin PATH]] [--json] COMMAND [ARGS]

Programs and inspects a Roamgate appliance: the commands follow the kernel the device
holds (steer, tier 1, or gate, tier 2).

steer commands:
  info                               kernel identity, register map, geometry
  config [--own-ip A] [--own-mac M] [--punt-pps N] [--punt-burst N]
                                     show or set the appliance's addresses and punt limit
  gateway add --ip A --mac M [--id N]  add or replace a gateway, rebuild the Maglev table
  gateway del (--id N | --ip A) [--force]
                                     remove a gateway, rebuild the Maglev table; refused while
                                     sessions are pinned to it unless --force (they then drop)
  gateway list                       gateways with their packet and byte counters
  session add --teid T --gateway N   pin a TEID to gateway id N (explicit session entry)
  session add --file FILE            pin many: lines of "TEID GATEWAY" (# comments), with progress
  session del --teid T               remove a pinned TEID
  session get --teid T               where a TEID goes: its pinned gateway, or Maglev's
  session list                       every pinned TEID
  maglev                             Maglev table entries per gateway
  stats                              kernel counters

gate commands:
  info                               kernel identity, register map, table geometry
  config [--access-ip A] [--own-mac M] [--svc-next-hop M] [--acc-next-hop M]
         [--nat-ip I=A]... [--outer-ttl N] [--tick-shift N] [--punt-pps N] [--punt-burst N]
                                     show or set addresses, next hops, time base, punt limit
  user add --teid T --src A:P --dst A:P --proto tcp|udp|icmp --port [I:]P
           (--server A:P | --external) --peer A --dl-teid T [--qfi Q] [--deny] [--gen G]
                                     install a user session: its port entry (NAT action,
                                     downlink tunnel), then its flow. ICMP echo: --src A:ID,
                                     --dst A. I is the gate address index (default 0)
  user get --port [I:]P              a user session's entry, counters, last seen, TCP flags
  user del --teid T --src A:P --dst A:P --proto X --port [I:]P
                                     remove the flow, then the port entry (counters stay
                                     readable until the port is reused)
  user move --port [I:]P --peer A --dl-teid T [--qfi Q]
                                     point the downlink tunnel elsewhere (handover); counters go on
  scan [--on | --off] [--idle-ticks N] [--interim-ticks N]
                                     show or set the export scanner
  export [--max N]                   take the export ring's records (host setup --export-slots-log2)
  stats                              kernel counters

host port commands (both kernels):
  host setup [--punt-slots-log2 N] [--inject-slots-log2 N] [--export-slots-log2 N]
                                     put the host port's rings in device memory, turn them on
  host punts [--pcap FILE] [--max N] take the frames the kernel punted (print, or write a capture)
  host inject --pcap FILE            send every frame of a capture through the kernel (steer:
                                     out of the steering port; gate: into the uplink pipeline)
  host status                        ring indexes and drop counters

options:
)") + hal::kDeviceOptionsHelp + R"(  --json          print JSON for scripts
  -h, --help      this text

TEIDs and ids accept decimal or 0x hex. Exit status: 0 done, 1 the operation failed,
2 the command line is wrong, 3 no such device (no card or XRT runtime, no simulator at the
socket), 4 the xclbin or the loaded kernel is not the one this roamctl was built for (wrong
kernel, register map or packaging).
)";

struct UsageError {
  std::string msg;
};

std::optional<uint64_t> parseNumber(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  uint64_t v = std::strtoull(s.c_str(), &end, 0);
  if (errno || *end || s[0] == '-') return std::nullopt;
  return v;
}

uint32_t parseIp(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) throw UsageError{"not an IPv4 address: '" + s + "'"};
  return ntohl(a.s_addr);
}

std::string ipStr(uint32_t ip) {
  char b[16];
  std::snprintf(b, sizeof b, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  return b;
}

uint64_t parseMac(const std::string& s) {
  unsigned b[6];
  char tail;
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6) {
    throw UsageError{"not a MAC address (aa:bb:cc:dd:ee:ff): '" + s + "'"};
  }
  uint64_t m = 0;
  for (unsigned x : b) m = (m << 8) | x;
  return m;
}

std::string macStr(uint64_t m) {
  char b[18];
  std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", unsigned(m >> 40) & 255,
                unsigned(m >> 32) & 255, unsigned(m >> 24) & 255, unsigned(m >> 16) & 255,
                unsigned(m >> 8) & 255, unsigned(m) & 255);
  return b;
}

uint32_t parseU32(const std::string& what, const std::string& s, uint64_t max = 0xffffffffull) {
  auto v = parseNumber(s);
  if (!v || *v > max) throw UsageError{what + " must be a number 0.." + std::to_string(max) + ": '" + s + "'"};
  return uint32_t(*v);
}

// Parses a sub-command's options; throws UsageError on anything unknown or missing.
po::variables_map subOptions(const po::options_description& desc, const std::vector<std::string>& args) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError{e.what()};
  }
  return vm;
}

// What the host-port commands need to know of a kernel.
struct KernelFacts {
  const char* name;
  uint32_t hostBase;
  uint32_t maxFrameBytes;
  std::vector<std::string> puntReasons;
};

template <size_t N>
std::vector<std::string> names(const std::array<std::string_view, N>& a) {
  return std::vector<std::string>(a.begin(), a.end());
}

// The host-port commands, the same on every kernel (hw/regs/host_port.toml).
class HostCli {
 public:
  HostCli(hal::Device& dev, bool json, KernelFacts k) : dev_(dev), json_(json), k_(std::move(k)) {}
  virtual ~HostCli() = default;

  int run(const std::string& cmd, const std::vector<std::string>& args) {
    std::string sub = args.empty() ? "" : args[0];
    std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
    if (cmd == "host" && sub == "setup") return hostSetup(rest);
    if (cmd == "host" && sub == "punts") return hostPunts(rest);
    if (cmd == "host" && sub == "inject") return hostInject(rest);
    if (cmd == "host" && sub == "status") return hostStatus();
    if (int rc = runKernel(cmd, sub, args, rest); rc >= 0) return rc;
    throw UsageError{"unknown " + std::string(k_.name) + " command '" + cmd + (sub.empty() ? "" : " " + sub) + "'"};
  }

 protected:
  // A kernel's own commands; -1 when `cmd` is not one of them.
  virtual int runKernel(const std::string& cmd, const std::string& sub, const std::vector<std::string>& args,
                        const std::vector<std::string>& rest) = 0;

  int fail(const Status& s) {
    std::fprintf(stderr, "roamctl: %s\n", s.message().c_str());
    return kExitFailed;
  }
  void print(const json& j, const std::string& text) {
    if (json_) std::cout << j.dump(2) << "\n";
    else std::cout << text;
  }
  dataplane::HostRings rings() { return dataplane::HostRings(dev_, k_.hostBase, k_.maxFrameBytes); }

  int hostSetup(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("punt-slots-log2", po::value<std::string>())("inject-slots-log2", po::value<std::string>())(
        "export-slots-log2", po::value<std::string>());
    auto vm = subOptions(d, args);
    dataplane::RingConfig c;
    if (vm.count("punt-slots-log2")) c.puntSlotsLog2 = parseU32("--punt-slots-log2", vm["punt-slots-log2"].as<std::string>(), 16);
    if (vm.count("inject-slots-log2")) c.injSlotsLog2 = parseU32("--inject-slots-log2", vm["inject-slots-log2"].as<std::string>(), 16);
    if (vm.count("export-slots-log2")) c.expSlotsLog2 = parseU32("--export-slots-log2", vm["export-slots-log2"].as<std::string>(), 20);
    auto r = rings();
    if (Status s = r.setup(c); !s) return fail(s);
    uint32_t exp = c.expSlotsLog2 ? 1u << c.expSlotsLog2 : 0;
    print({{"punt_slots", 1u << c.puntSlotsLog2}, {"inject_slots", 1u << c.injSlotsLog2}, {"export_records", exp}},
          "host port rings on: " + std::to_string(1u << c.puntSlotsLog2) + " punt slots, " +
              std::to_string(1u << c.injSlotsLog2) + " inject slots" +
              (exp ? ", " + std::to_string(exp) + " export records" : std::string()) + "\n");
    return kExitOk;
  }

  hal::Device& dev_;
  bool json_;
  KernelFacts k_;

 private:
  int hostPunts(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("pcap", po::value<std::string>())("max", po::value<std::string>());
    auto vm = subOptions(d, args);
    size_t max = vm.count("max") ? parseU32("--max", vm["max"].as<std::string>()) : SIZE_MAX;
    auto rings = this->rings();
    if (Status s = rings.attach(); !s) return fail(s);
    std::vector<dataplane::PuntedFrame> got;
    if (Status s = rings.poll(got, max); !s) return fail(s);
    if (vm.count("pcap")) {
      std::string path = vm["pcap"].as<std::string>();
      pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
      pcap_dumper_t* dump = pcap_dump_open(dead, path.c_str());
      if (!dump) {
        std::string e = pcap_geterr(dead);
        pcap_close(dead);
        return fail(Status::error(path + ": " + e));
      }
      for (const auto& f : got) {
        pcap_pkthdr h{};
        h.caplen = h.len = uint32_t(f.bytes.size());
        pcap_dump(reinterpret_cast<u_char*>(dump), &h, f.bytes.data());
      }
      pcap_dump_close(dump);
      pcap_close(dead);
    }
    json arr = json::array();
    std::string text;
    for (const auto& f : got) {
      std::string reason = f.reason < k_.puntReasons.size() ? k_.puntReasons[f.reason] : "unknown";
      arr.push_back({{"reason", reason}, {"bytes", f.bytes.size()}, {"timestamp", f.timestamp},
                     {"teid", f.teid}, {"inner_offset", f.innerOffset}});
      text += reason + " " + std::to_string(f.bytes.size()) + " bytes at cycle " + std::to_string(f.timestamp) + "\n";
    }
    print(arr, text.empty() ? "no punted frames\n" : text);
    return kExitOk;
  }

  int hostInject(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("pcap", po::value<std::string>()->required());
    auto vm = subOptions(d, args);
    std::string path = vm["pcap"].as<std::string>();
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path.c_str(), eb);
    if (!p) return fail(Status::error(std::string(eb)));
    auto rings = this->rings();
    if (Status s = rings.attach(); !s) {
      pcap_close(p);
      return fail(s);
    }
    pcap_pkthdr* h;
    const u_char* data;
    size_t n = 0;
    Status st;
    while (st.ok() && pcap_next_ex(p, &h, &data) == 1) {
      // A full ring drains at line rate: retry a bounded number of times.
      for (int tries = 0; tries < 1000; ++tries) {
        st = rings.inject({data, h->caplen});
        if (st.ok() || st.message() != "inject ring full") break;
      }
      if (st.ok()) ++n;
    }
    pcap_close(p);
    if (!st) return fail(Status::error("after " + std::to_string(n) + " frames: " + st.message()));
    print({{"injected", n}}, "injected " + std::to_string(n) + " frames\n");
    return kExitOk;
  }

  int hostStatus() {
    auto rings = this->rings();
    if (Status s = rings.attach(); !s) return fail(s);
    uint32_t drops = 0, injected = 0, errors = 0;
    if (Status s = rings.counters(drops, injected, errors); !s) return fail(s);
    print({{"punt_drops", drops}, {"injected", injected}, {"inject_errors", errors}},
          "punt drops " + std::to_string(drops) + "\ninjected " + std::to_string(injected) +
              "\ninject errors " + std::to_string(errors) + "\n");
    return kExitOk;
  }

};

class SteerCli : public HostCli {
 public:
  SteerCli(SteerTables& t, hal::Device& dev, bool json)
      : HostCli(dev, json,
                {"steer", regs::steer::host::kBase, regs::steer::kMaxFrameBytes, names(regs::steer::kPuntReasonNames)}),
        t_(t) {}

 protected:
  int runKernel(const std::string& cmd, const std::string& sub, const std::vector<std::string>& args,
                const std::vector<std::string>& rest) override {
    if (cmd == "info") return info();
    if (cmd == "config") return config(args);
    if (cmd == "gateway" && sub == "add") return gatewayAdd(rest);
    if (cmd == "gateway" && sub == "del") return gatewayDel(rest);
    if (cmd == "gateway" && sub == "list") return gatewayList();
    if (cmd == "session" && sub == "add") return sessionAdd(rest);
    if (cmd == "session" && sub == "del") return sessionDel(rest);
    if (cmd == "session" && sub == "get") return sessionGet(rest);
    if (cmd == "session" && sub == "list") return sessionList();
    if (cmd == "maglev") return maglev();
    if (cmd == "stats") return stats();
    return -1;
  }

 private:
  int info() {
    // Reaching here means checkKernel passed: id, register map and geometry are as built.
    json j = {{"kernel", "steer"},
              {"version", regs::steer::kKernelVersion},
              {"regmap_crc", regs::steer::kRegmapCrc},
              {"session_capacity", 2u * regs::steer::kSessionSlots << regs::steer::kSessionBucketsLog2},
              {"maglev_entries", regs::steer::kMaglevEntries},
              {"gateways", regs::steer::kGateways}};
    char text[256];
    std::snprintf(text, sizeof text,
                  "kernel steer, register map 0x%08x\nsession table %u entries (2 banks x %u buckets x %u slots)\n"
                  "maglev table %u entries\ngateway table %u entries\n",
                  regs::steer::kRegmapCrc, 2u * regs::steer::kSessionSlots << regs::steer::kSessionBucketsLog2,
                  1u << regs::steer::kSessionBucketsLog2, regs::steer::kSessionSlots, regs::steer::kMaglevEntries,
                  regs::steer::kGateways);
    print(j, text);
    return kExitOk;
  }

  int config(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("own-ip", po::value<std::string>())("own-mac", po::value<std::string>())(
        "punt-pps", po::value<std::string>())("punt-burst", po::value<std::string>())(
        "clock-mhz", po::value<double>()->default_value(kDefaultClockHz / 1e6));
    auto vm = subOptions(d, args);
    dataplane::SteerConfig c;
    if (Status s = t_.readConfig(c); !s) return fail(s);
    double hz = vm["clock-mhz"].as<double>() * 1e6;
    bool change = false;
    if (vm.count("own-ip")) { c.ownIp = parseIp(vm["own-ip"].as<std::string>()); change = true; }
    if (vm.count("own-mac")) { c.ownMac = parseMac(vm["own-mac"].as<std::string>()); change = true; }
    if (vm.count("punt-pps")) {
      double pps = double(parseU32("--punt-pps", vm["punt-pps"].as<std::string>()));
      double rate = pps / hz * double(1 << 24);
      if (rate >= double(0xffffffffu)) throw UsageError{"--punt-pps is beyond one frame per cycle"};
      c.puntRate = uint32_t(rate + 0.5);  // 8.24 fixed point: steps of clock / 2^24 frames/s
      change = true;
    }
    if (vm.count("punt-burst")) { c.puntBurst = parseU32("--punt-burst", vm["punt-burst"].as<std::string>(), 65535); change = true; }
    if (change) {
      if (Status s = t_.writeConfig(c); !s) return fail(s);
    }
    double pps = double(c.puntRate) / double(1 << 24) * hz;
    json j = {{"own_ip", ipStr(c.ownIp)}, {"own_mac", macStr(c.ownMac)}, {"punt_pps", uint64_t(pps + 0.5)},
              {"punt_burst", c.puntBurst}};
    print(j, "own-ip " + ipStr(c.ownIp) + "\nown-mac " + macStr(c.ownMac) + "\npunt-pps " +
                 std::to_string(uint64_t(pps + 0.5)) + "\npunt-burst " + std::to_string(c.puntBurst) + "\n");
    return kExitOk;
  }

  int gatewayAdd(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("ip", po::value<std::string>()->required())("mac", po::value<std::string>()->required())(
        "id", po::value<std::string>());
    auto vm = subOptions(d, args);
    GatewayEntry g{0, true, parseIp(vm["ip"].as<std::string>()), parseMac(vm["mac"].as<std::string>())};
    std::array<GatewayEntry, SteerTables::kGateways> gws;
    if (Status s = t_.readGateways(gws); !s) return fail(s);
    std::optional<uint32_t> id;
    if (vm.count("id")) id = parseU32("--id", vm["id"].as<std::string>(), SteerTables::kGateways - 1);
    for (const GatewayEntry& e : gws) {
      if (e.valid && e.ip == g.ip && (!id || *id != e.id)) {
        std::fprintf(stderr, "roamctl: gateway %s already exists as id %u\n", ipStr(g.ip).c_str(), e.id);
        return kExitFailed;
      }
    }
    if (!id) {
      for (const GatewayEntry& e : gws) {
        if (!e.valid) { id = e.id; break; }
      }
      if (!id) return fail(Status::error("gateway table full (" + std::to_string(SteerTables::kGateways) + " entries)"));
    }
    g.id = *id;
    if (Status s = t_.writeGateway(g); !s) return fail(s);
    if (Status s = t_.rebuildMaglev(); !s) return fail(s);
    print({{"id", g.id}, {"ip", ipStr(g.ip)}, {"mac", macStr(g.mac)}},
          "gateway " + std::to_string(g.id) + " " + ipStr(g.ip) + " " + macStr(g.mac) + "\n");
    return kExitOk;
  }

  int gatewayDel(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("id", po::value<std::string>())("ip", po::value<std::string>())("force", po::bool_switch());
    auto vm = subOptions(d, args);
    if (vm.count("id") == vm.count("ip")) throw UsageError{"gateway del takes exactly one of --id, --ip"};
    std::array<GatewayEntry, SteerTables::kGateways> gws;
    if (Status s = t_.readGateways(gws); !s) return fail(s);
    std::optional<uint32_t> id;
    if (vm.count("id")) {
      id = parseU32("--id", vm["id"].as<std::string>(), SteerTables::kGateways - 1);
      if (!gws[*id].valid) return fail(Status::error("no gateway with id " + std::to_string(*id)));
    } else {
      uint32_t ip = parseIp(vm["ip"].as<std::string>());
      for (const GatewayEntry& e : gws) if (e.valid && e.ip == ip) id = e.id;
      if (!id) return fail(Status::error("no gateway with address " + ipStr(ip)));
    }
    if (!vm["force"].as<bool>()) {
      std::vector<dataplane::SessionEntry> all;
      if (Status s = t_.listSessions(all); !s) return fail(s);
      size_t pinned = 0;
      for (const auto& e : all) pinned += e.gateway == *id;
      if (pinned) {
        return fail(Status::error(std::to_string(pinned) + " sessions are pinned to gateway " + std::to_string(*id) +
                                  "; pin them elsewhere first, or pass --force to drop their traffic"));
      }
    }
    GatewayEntry g = gws[*id];
    g.valid = false;
    // Maglev stops naming the gateway first, then its entry goes: hashed traffic never meets
    // an invalid gateway. TEIDs pinned to it are dropped (no_gateway) until re-pinned.
    if (Status s = t_.rebuildMaglev(nullptr, g.id); !s) return fail(s);
    if (Status s = t_.writeGateway(g); !s) return fail(s);
    print({{"removed", g.id}}, "removed gateway " + std::to_string(g.id) + " " + ipStr(g.ip) + "\n");
    return kExitOk;
  }

  int gatewayList() {
    std::array<GatewayEntry, SteerTables::kGateways> gws;
    if (Status s = t_.readGateways(gws); !s) return fail(s);
    std::vector<uint32_t> share;
    std::vector<uint8_t> table;
    if (Status s = t_.readMaglev(table); !s) return fail(s);
    share.assign(SteerTables::kGateways, 0);
    for (uint8_t v : table) share[v]++;
    json arr = json::array();
    std::string text = "id  ip               mac                maglev_entries  packets  bytes\n";
    for (const GatewayEntry& g : gws) {
      if (!g.valid) continue;
      uint64_t p = 0, b = 0;
      if (Status s = t_.readGatewayCounters(g.id, p, b); !s) return fail(s);
      arr.push_back({{"id", g.id}, {"ip", ipStr(g.ip)}, {"mac", macStr(g.mac)}, {"maglev_entries", share[g.id]},
                     {"packets", p}, {"bytes", b}});
      char line[160];
      std::snprintf(line, sizeof line, "%-3u %-16s %-18s %-15u %-8llu %llu\n", g.id, ipStr(g.ip).c_str(),
                    macStr(g.mac).c_str(), share[g.id], (unsigned long long)p, (unsigned long long)b);
      text += line;
    }
    print(arr, text);
    return kExitOk;
  }

  int sessionAdd(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("teid", po::value<std::string>())("gateway", po::value<std::string>())(
        "file", po::value<std::string>());
    auto vm = subOptions(d, args);
    if (vm.count("file")) {
      if (vm.count("teid") || vm.count("gateway")) throw UsageError{"session add takes --file or --teid/--gateway, not both"};
      return sessionAddFile(vm["file"].as<std::string>());
    }
    if (!vm.count("teid") || !vm.count("gateway")) throw UsageError{"session add needs --teid and --gateway (or --file)"};
    uint32_t teid = parseU32("--teid", vm["teid"].as<std::string>());
    uint32_t gw = parseU32("--gateway", vm["gateway"].as<std::string>(), SteerTables::kGateways - 1);
    std::array<GatewayEntry, SteerTables::kGateways> gws;
    if (Status s = t_.readGateways(gws); !s) return fail(s);
    if (!gws[gw].valid) return fail(Status::error("no gateway with id " + std::to_string(gw) + "; add it first"));
    if (Status s = t_.insertSession(teid, gw); !s) return fail(s);
    print({{"teid", teid}, {"gateway", gw}}, "session " + std::to_string(teid) + " -> gateway " + std::to_string(gw) + "\n");
    return kExitOk;
  }

  int sessionAddFile(const std::string& path) {
    FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "r");
    if (!f) return fail(Status::error("cannot open " + path + ": " + std::strerror(errno)));
    // Parse everything first: a bad line changes nothing.
    std::vector<std::pair<uint32_t, uint32_t>> entries;
    char line[256];
    int lineNo = 0;
    while (std::fgets(line, sizeof line, f)) {
      ++lineNo;
      std::string s(line);
      s = s.substr(0, s.find('#'));
      char teid[64], gw[64], extra[2];
      int n = std::sscanf(s.c_str(), "%63s %63s %1s", teid, gw, extra);
      if (n <= 0) continue;
      if (n != 2) {
        if (f != stdin) std::fclose(f);
        throw UsageError{path + ":" + std::to_string(lineNo) + ": want \"TEID GATEWAY\""};
      }
      entries.push_back({parseU32(path + ":" + std::to_string(lineNo) + ": TEID", teid),
                         parseU32(path + ":" + std::to_string(lineNo) + ": gateway", gw, SteerTables::kGateways - 1)});
    }
    if (f != stdin) std::fclose(f);
    std::array<GatewayEntry, SteerTables::kGateways> gws;
    if (Status s = t_.readGateways(gws); !s) return fail(s);
    for (auto [teid, gw] : entries) {
      if (!gws[gw].valid) return fail(Status::error("no gateway with id " + std::to_string(gw) + " (TEID " + std::to_string(teid) + "); nothing added"));
    }
    size_t done = 0;
    for (auto [teid, gw] : entries) {
      if (Status s = t_.insertSession(teid, gw); !s) {
        return fail(Status::error(s.message() + " (after " + std::to_string(done) + " of " + std::to_string(entries.size()) + " added)"));
      }
      if (++done % 1000 == 0 && !json_) std::fprintf(stderr, "roamctl: %zu of %zu sessions\n", done, entries.size());
    }
    print({{"added", done}}, "added " + std::to_string(done) + " sessions\n");
    return kExitOk;
  }

  int sessionDel(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("teid", po::value<std::string>()->required());
    auto vm = subOptions(d, args);
    uint32_t teid = parseU32("--teid", vm["teid"].as<std::string>());
    if (Status s = t_.removeSession(teid); !s) return fail(s);
    print({{"removed", teid}}, "removed session " + std::to_string(teid) + "\n");
    return kExitOk;
  }

  int sessionGet(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("teid", po::value<std::string>()->required());
    auto vm = subOptions(d, args);
    uint32_t teid = parseU32("--teid", vm["teid"].as<std::string>());
    std::optional<uint32_t> gw;
    if (Status s = t_.findSession(teid, gw); !s) return fail(s);
    std::string via = gw ? "session" : "maglev";
    if (!gw) {
      std::vector<uint8_t> table;
      if (Status s = t_.readMaglev(table); !s) return fail(s);
      gw = table[maglevIndex(teidHash0(teid))];
    }
    print({{"teid", teid}, {"gateway", *gw}, {"via", via}},
          "teid " + std::to_string(teid) + " -> gateway " + std::to_string(*gw) + " (" + via + ")\n");
    return kExitOk;
  }

  int sessionList() {
    std::vector<dataplane::SessionEntry> all;
    if (Status s = t_.listSessions(all); !s) return fail(s);
    json arr = json::array();
    std::string text;
    for (const auto& e : all) {
      arr.push_back({{"teid", e.teid}, {"gateway", e.gateway}});
      text += std::to_string(e.teid) + " " + std::to_string(e.gateway) + "\n";
    }
    print(arr, text);
    return kExitOk;
  }

  int maglev() {
    std::vector<uint8_t> table;
    if (Status s = t_.readMaglev(table); !s) return fail(s);
    std::map<uint32_t, uint32_t> share;
    for (uint8_t v : table) share[v]++;
    json j = json::object();
    std::string text;
    for (auto [id, n] : share) {
      j[std::to_string(id)] = n;
      text += "gateway " + std::to_string(id) + " " + std::to_string(n) + "\n";
    }
    print({{"entries", table.size()}, {"per_gateway", j}}, text);
    return kExitOk;
  }

  int stats() {
    std::array<uint64_t, regs::steer::kStatCount> st;
    if (Status s = t_.readStats(st); !s) return fail(s);
    json j = json::object();
    std::string text;
    for (uint32_t i = 0; i < regs::steer::kStatCount; ++i) {
      std::string name(regs::steer::kStatNames[i]);
      j[name] = st[i];
      text += name + " " + std::to_string(st[i]) + "\n";
    }
    print(j, text);
    return kExitOk;
  }

  SteerTables& t_;
};


// "A:P" (P optional when `portOptional`).
std::pair<uint32_t, uint16_t> parseAddrPort(const std::string& what, const std::string& s, bool portOptional) {
  size_t c = s.find(':');
  if (c == std::string::npos) {
    if (!portOptional) throw UsageError{what + " must be ADDRESS:PORT: '" + s + "'"};
    return {parseIp(s), 0};
  }
  return {parseIp(s.substr(0, c)), uint16_t(parseU32(what + " port", s.substr(c + 1), 65535))};
}

uint8_t parseProto(const std::string& s) {
  if (s == "tcp" || s == "6") return 6;
  if (s == "udp" || s == "17") return 17;
  if (s == "icmp" || s == "1") return 1;
  throw UsageError{"--proto is tcp, udp or icmp: '" + s + "'"};
}

// "[I:]P": gate address index and user-session port.
std::pair<uint8_t, uint16_t> parseUserPort(const std::string& s) {
  size_t c = s.find(':');
  uint32_t idx = 0;
  std::string p = s;
  if (c != std::string::npos) {
    idx = parseU32("gate address index", s.substr(0, c), regs::gate::kNatAddrs - 1);
    p = s.substr(c + 1);
  }
  uint32_t max = (1u << regs::gate::kPortsLog2) - 1;
  return {uint8_t(idx), uint16_t(parseU32("user-session port", p, max))};
}

const char* protoName(uint8_t p) { return p == 6 ? "tcp" : p == 17 ? "udp" : p == 1 ? "icmp" : "?"; }

class GateCli : public HostCli {
 public:
  GateCli(dataplane::GateTables& t, hal::Device& dev, bool json)
      : HostCli(dev, json,
                {"gate", regs::gate::host::kBase, regs::gate::kMaxFrameBytes, names(regs::gate::kPuntReasonNames)}),
        t_(t) {}

 protected:
  int runKernel(const std::string& cmd, const std::string& sub, const std::vector<std::string>& args,
                const std::vector<std::string>& rest) override {
    if (cmd == "info") return info();
    if (cmd == "config") return config(args);
    if (cmd == "user" && sub == "add") return userAdd(rest);
    if (cmd == "user" && sub == "get") return userGet(rest);
    if (cmd == "user" && sub == "del") return userDel(rest);
    if (cmd == "user" && sub == "move") return userMove(rest);
    if (cmd == "scan") return scan(args);
    if (cmd == "export") return exportRecords(args);
    if (cmd == "stats") return stats();
    return -1;
  }

 private:
  int info() {
    namespace g = regs::gate;
    uint32_t flows = 2u * g::kFlowSlots << g::kFlowBucketsLog2;
    json j = {{"kernel", "gate"}, {"version", g::kKernelVersion}, {"regmap_crc", g::kRegmapCrc},
              {"flow_capacity", flows}, {"gate_addresses", g::kNatAddrs},
              {"ports_per_address", 1u << g::kPortsLog2}, {"max_frame_bytes", g::kMaxFrameBytes}};
    char text[256];
    std::snprintf(text, sizeof text,
                  "kernel gate, register map 0x%08x\nflow table %u entries (2 banks x %u buckets x %u slots)\n"
                  "port table %u gate addresses x %u ports\n",
                  g::kRegmapCrc, flows, 1u << g::kFlowBucketsLog2, g::kFlowSlots, g::kNatAddrs, 1u << g::kPortsLog2);
    print(j, text);
    return kExitOk;
  }

  int config(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("access-ip", po::value<std::string>())("own-mac", po::value<std::string>())(
        "svc-next-hop", po::value<std::string>())("acc-next-hop", po::value<std::string>())(
        "nat-ip", po::value<std::vector<std::string>>())("outer-ttl", po::value<std::string>())(
        "tick-shift", po::value<std::string>())("punt-pps", po::value<std::string>())(
        "punt-burst", po::value<std::string>())("clock-mhz", po::value<double>()->default_value(kDefaultClockHz / 1e6));
    auto vm = subOptions(d, args);
    dataplane::GateConfig c;
    if (Status s = t_.readConfig(c); !s) return fail(s);
    double hz = vm["clock-mhz"].as<double>() * 1e6;
    bool change = false;
    auto str = [&](const char* k) { return vm[k].as<std::string>(); };
    if (vm.count("access-ip")) { c.accessIp = parseIp(str("access-ip")); change = true; }
    if (vm.count("own-mac")) { c.ownMac = parseMac(str("own-mac")); change = true; }
    if (vm.count("svc-next-hop")) { c.svcNextHopMac = parseMac(str("svc-next-hop")); change = true; }
    if (vm.count("acc-next-hop")) { c.accNextHopMac = parseMac(str("acc-next-hop")); change = true; }
    if (vm.count("nat-ip")) {
      for (const std::string& s : vm["nat-ip"].as<std::vector<std::string>>()) {
        size_t eq = s.find('=');
        if (eq == std::string::npos) throw UsageError{"--nat-ip is INDEX=ADDRESS: '" + s + "'"};
        c.natIps[parseU32("--nat-ip index", s.substr(0, eq), regs::gate::kNatAddrs - 1)] = parseIp(s.substr(eq + 1));
      }
      change = true;
    }
    if (vm.count("outer-ttl")) { c.outerTtl = parseU32("--outer-ttl", str("outer-ttl"), 255); change = true; }
    if (vm.count("tick-shift")) { c.tickShift = parseU32("--tick-shift", str("tick-shift"), 31); change = true; }
    if (vm.count("punt-pps")) {
      double pps = double(parseU32("--punt-pps", str("punt-pps")));
      c.puntRate = uint32_t(std::min(pps / hz * double(1 << 24), double(0xffffffffu)));
      change = true;
    }
    if (vm.count("punt-burst")) { c.puntBurst = parseU32("--punt-burst", str("punt-burst"), 65535); change = true; }
    if (change) {
      if (Status s = t_.writeConfig(c); !s) return fail(s);
    }
    json nat = json::array();
    std::string text = "access address " + ipStr(c.accessIp) + "\nown MAC " + macStr(c.ownMac) +
                       "\nservice next hop " + macStr(c.svcNextHopMac) + "\naccess next hop " +
                       macStr(c.accNextHopMac) + "\n";
    for (uint32_t i = 0; i < regs::gate::kNatAddrs; ++i) {
      nat.push_back(ipStr(c.natIps[i]));
      text += "gate address " + std::to_string(i) + " " + ipStr(c.natIps[i]) + "\n";
    }
    double pps = double(c.puntRate) / double(1 << 24) * hz;
    text += "outer TTL " + std::to_string(c.outerTtl) + "\ntick 2^" + std::to_string(c.tickShift) +
            " cycles\npunt limit " + std::to_string(uint64_t(pps)) + " frames/s, burst " +
            std::to_string(c.puntBurst) + "\n";
    print({{"access_ip", ipStr(c.accessIp)}, {"own_mac", macStr(c.ownMac)},
           {"svc_next_hop", macStr(c.svcNextHopMac)}, {"acc_next_hop", macStr(c.accNextHopMac)},
           {"nat_ips", nat}, {"outer_ttl", c.outerTtl}, {"tick_shift", c.tickShift},
           {"punt_pps", uint64_t(pps)}, {"punt_burst", c.puntBurst}},
          text);
    return kExitOk;
  }

  // The flow options shared by add and del.
  static void flowOptions(po::options_description& d) {
    d.add_options()("teid", po::value<std::string>()->required())("src", po::value<std::string>()->required())(
        "dst", po::value<std::string>()->required())("proto", po::value<std::string>()->required())(
        "port", po::value<std::string>()->required());
  }
  static dataplane::FlowKey flowOf(const po::variables_map& vm) {
    dataplane::FlowKey k;
    k.teid = parseU32("--teid", vm["teid"].as<std::string>());
    k.proto = parseProto(vm["proto"].as<std::string>());
    bool icmp = k.proto == 1;
    auto [src, sport] = parseAddrPort("--src", vm["src"].as<std::string>(), false);
    auto [dst, dport] = parseAddrPort("--dst", vm["dst"].as<std::string>(), icmp);
    if (icmp && dport != 0) throw UsageError{"ICMP echo: --dst is an address (the identifier goes in --src A:ID)"};
    k.src = src;
    k.sport = sport;
    k.dst = dst;
    k.dport = dport;
    return k;
  }

  int userAdd(const std::vector<std::string>& args) {
    po::options_description d;
    flowOptions(d);
    d.add_options()("server", po::value<std::string>())("external", po::bool_switch())(
        "peer", po::value<std::string>()->required())("dl-teid", po::value<std::string>()->required())(
        "qfi", po::value<std::string>())("deny", po::bool_switch())("gen", po::value<std::string>());
    auto vm = subOptions(d, args);
    dataplane::UserSession s;
    s.flow = flowOf(vm);
    std::tie(s.addrIndex, s.port) = parseUserPort(vm["port"].as<std::string>());
    s.external = vm["external"].as<bool>();
    if (s.external == bool(vm.count("server"))) throw UsageError{"give exactly one of --server A:P and --external"};
    if (!s.external) std::tie(s.serverIp, s.serverPort) = parseAddrPort("--server", vm["server"].as<std::string>(), s.flow.proto == 1);
    s.peerIp = parseIp(vm["peer"].as<std::string>());
    s.dlTeid = parseU32("--dl-teid", vm["dl-teid"].as<std::string>());
    if (vm.count("qfi")) s.qfi = uint8_t(parseU32("--qfi", vm["qfi"].as<std::string>(), 63));
    s.allow = !vm["deny"].as<bool>();
    if (vm.count("gen")) {
      s.gen = uint8_t(parseU32("--gen", vm["gen"].as<std::string>(), 255));
    } else {
      // The next generation of the port, so a reused port starts its counters at zero.
      dataplane::PortState old;
      if (Status st = t_.readPort(s.addrIndex, s.port, old); !st) return fail(st);
      s.gen = uint8_t(old.session.gen + 1);
    }
    if (Status st = t_.installSession(s); !st) return fail(st);
    print({{"installed", true}, {"addr_index", s.addrIndex}, {"port", s.port}, {"gen", s.gen}},
          "user session on " + std::to_string(s.addrIndex) + ":" + std::to_string(s.port) + " (generation " +
              std::to_string(s.gen) + ")\n");
    return kExitOk;
  }

  int userGet(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("port", po::value<std::string>()->required());
    auto vm = subOptions(d, args);
    auto [idx, port] = parseUserPort(vm["port"].as<std::string>());
    dataplane::PortState ps;
    if (Status st = t_.readPort(idx, port, ps); !st) return fail(st);
    const auto& s = ps.session;
    bool icmp = s.flow.proto == 1;
    json j = {{"addr_index", idx}, {"port", port}, {"valid", ps.valid}, {"allow", s.allow},
              {"external", s.external}, {"proto", protoName(s.flow.proto)}, {"gen", s.gen},
              {"terminal", ipStr(s.flow.src) + ":" + std::to_string(s.flow.sport)},
              {"destination", ipStr(s.flow.dst) + (icmp ? "" : ":" + std::to_string(s.flow.dport))},
              {"server", ipStr(s.serverIp) + (icmp ? "" : ":" + std::to_string(s.serverPort))},
              {"peer", ipStr(s.peerIp)}, {"dl_teid", s.dlTeid},
              {"qfi", s.qfi ? json(*s.qfi) : json(nullptr)},
              {"ul_packets", ps.ulPkts}, {"ul_bytes", ps.ulBytes}, {"dl_packets", ps.dlPkts},
              {"dl_bytes", ps.dlBytes}, {"last_seen_tick", ps.lastSeen}, {"fin", ps.fin}, {"rst", ps.rst},
              {"final_exported", ps.finalExported}};
    std::string text;
    if (!ps.valid) text = "no user session on " + std::to_string(idx) + ":" + std::to_string(port) + "\n";
    else
      text = std::string(protoName(s.flow.proto)) + " " + j["terminal"].get<std::string>() + " -> " +
             j["destination"].get<std::string>() + (s.external ? " (external)" : " via " + j["server"].get<std::string>()) +
             (s.allow ? "" : " DENIED") + "\ndownlink tunnel " + ipStr(s.peerIp) + " TEID " + std::to_string(s.dlTeid) +
             (s.qfi ? " QFI " + std::to_string(*s.qfi) : "") + "\n";
    text += "uplink " + std::to_string(ps.ulPkts) + " packets " + std::to_string(ps.ulBytes) + " bytes, downlink " +
            std::to_string(ps.dlPkts) + " packets " + std::to_string(ps.dlBytes) + " bytes, last seen tick " +
            std::to_string(ps.lastSeen) + (ps.fin ? ", FIN" : "") + (ps.rst ? ", RST" : "") + "\n";
    print(j, text);
    return kExitOk;
  }

  int userDel(const std::vector<std::string>& args) {
    po::options_description d;
    flowOptions(d);
    auto vm = subOptions(d, args);
    dataplane::FlowKey k = flowOf(vm);
    auto [idx, port] = parseUserPort(vm["port"].as<std::string>());
    if (Status st = t_.removeSession(k, idx, port); !st) return fail(st);
    print({{"removed", true}}, "user session removed\n");
    return kExitOk;
  }

  int userMove(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("port", po::value<std::string>()->required())("peer", po::value<std::string>()->required())(
        "dl-teid", po::value<std::string>()->required())("qfi", po::value<std::string>());
    auto vm = subOptions(d, args);
    auto [idx, port] = parseUserPort(vm["port"].as<std::string>());
    std::optional<uint8_t> qfi;
    if (vm.count("qfi")) qfi = uint8_t(parseU32("--qfi", vm["qfi"].as<std::string>(), 63));
    if (Status st = t_.moveTunnel(idx, port, parseIp(vm["peer"].as<std::string>()),
                                  parseU32("--dl-teid", vm["dl-teid"].as<std::string>()), qfi);
        !st)
      return fail(st);
    print({{"moved", true}}, "downlink tunnel moved\n");
    return kExitOk;
  }

  int scan(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("on", po::bool_switch())("off", po::bool_switch())("idle-ticks", po::value<std::string>())(
        "interim-ticks", po::value<std::string>());
    auto vm = subOptions(d, args);
    if (vm["on"].as<bool>() && vm["off"].as<bool>()) throw UsageError{"--on or --off, not both"};
    namespace g = regs::gate;
    std::vector<hal::RegOp> ops = {{false, g::scan::kCtrl, 0}, {false, g::scan::kIdleTicks, 0},
                                   {false, g::scan::kInterimTicks, 0}, {false, g::scan::kPosition, 0}};
    if (Status st = dev_.transact(ops); !st) return fail(st);
    bool on = g::scan::kCtrlOn.get(ops[0].value);
    uint32_t idle = ops[1].value, interim = ops[2].value;
    if (vm["on"].as<bool>() || vm["off"].as<bool>() || vm.count("idle-ticks") || vm.count("interim-ticks")) {
      if (vm["on"].as<bool>()) on = true;
      if (vm["off"].as<bool>()) on = false;
      if (vm.count("idle-ticks")) idle = parseU32("--idle-ticks", vm["idle-ticks"].as<std::string>());
      if (vm.count("interim-ticks")) interim = parseU32("--interim-ticks", vm["interim-ticks"].as<std::string>());
      if (Status st = t_.setScanner(on, idle, interim); !st) return fail(st);
    }
    print({{"on", on}, {"idle_ticks", idle}, {"interim_ticks", interim}, {"position", ops[3].value}},
          std::string("scanner ") + (on ? "on" : "off") + ", idle after " + std::to_string(idle) +
              " ticks, interim every " + std::to_string(interim) + " ticks (0: never), at entry " +
              std::to_string(ops[3].value) + "\n");
    return kExitOk;
  }

  int exportRecords(const std::vector<std::string>& args) {
    po::options_description d;
    d.add_options()("max", po::value<std::string>());
    auto vm = subOptions(d, args);
    size_t max = vm.count("max") ? parseU32("--max", vm["max"].as<std::string>()) : SIZE_MAX;
    auto r = rings();
    if (Status st = r.attach(); !st) return fail(st);
    std::vector<dataplane::ExportRecord> got;
    if (Status st = r.pollExport(got, max); !st) return fail(st);
    json arr = json::array();
    std::string text;
    for (const auto& rec : got) {
      auto v = dataplane::ExportRecordView::decode(rec);
      uint32_t ri = uint32_t(v.reason);
      std::string reason = ri < regs::gate::kExportReasonCount ? std::string(regs::gate::kExportReasonNames[ri]) : "?";
      arr.push_back({{"reason", reason}, {"addr_index", v.addrIndex}, {"port", v.port}, {"gen", v.gen},
                     {"fin", v.fin}, {"rst", v.rst}, {"last_seen_tick", v.lastSeen}, {"tick", v.now},
                     {"ul_packets", v.ulPkts}, {"ul_bytes", v.ulBytes}, {"dl_packets", v.dlPkts},
                     {"dl_bytes", v.dlBytes}});
      text += reason + " " + std::to_string(v.addrIndex) + ":" + std::to_string(v.port) + " ul " +
              std::to_string(v.ulPkts) + "/" + std::to_string(v.ulBytes) + " dl " + std::to_string(v.dlPkts) +
              "/" + std::to_string(v.dlBytes) + " last seen " + std::to_string(v.lastSeen) + "\n";
    }
    print(arr, text.empty() ? "no export records\n" : text);
    return kExitOk;
  }

  int stats() {
    std::array<uint64_t, regs::gate::kStatCount> st{};
    if (Status s = t_.readStats(st); !s) return fail(s);
    json j = json::object();
    std::string text;
    for (uint32_t i = 0; i < regs::gate::kStatCount; ++i) {
      std::string name(regs::gate::kStatNames[i]);
      j[name] = st[i];
      text += name + " " + std::to_string(st[i]) + "\n";
    }
    print(j, text);
    return kExitOk;
  }

  dataplane::GateTables& t_;
};

}  // namespace

int main(int argc, char** argv) {
  hal::DeviceOptions devOpts;
  bool jsonOut = false;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string err;
    if (words.empty() && (a == "-h" || a == "--help")) {
      std::fputs(kUsage.c_str(), stdout);
      return kExitOk;
    } else if (words.empty() && hal::takeDeviceOption(argc, argv, i, devOpts, err)) {
      if (!err.empty()) {
        std::fprintf(stderr, "roamctl: %s (see roamctl --help)\n", err.c_str());
        return kExitUsage;
      }
    } else if (a == "--json") {
      jsonOut = true;
    } else {
      words.push_back(a);
    }
  }
  if (words.empty()) {
    std::fputs(kUsage.c_str(), stderr);
    return kExitUsage;
  }
  hal::deviceOptionsFromEnv(devOpts);
  try {
    hal::OpenResult opened = hal::openDevice(devOpts);
    if (!opened.device) {
      std::fprintf(stderr, "roamctl: %s\n", opened.message.c_str());
      return hal::exitStatus(opened.failure);
    }
    auto& dev = opened.device;
    // The kernel's id (offset 0 in every kernel's window) chooses the command set.
    uint32_t id = 0;
    if (Status s = dev->read32(0, id); !s) {
      std::fprintf(stderr, "roamctl: %s\n", s.message().c_str());
      return kExitFailed;
    }
    std::vector<std::string> rest(words.begin() + 1, words.end());
    if (id == regs::gate::kKernelId) {
      dataplane::GateTables tables(*dev);
      if (Status s = tables.checkKernel(); !s) {
        std::fprintf(stderr, "roamctl: %s\n", s.message().c_str());
        return hal::kExitBadImage;
      }
      GateCli cli(tables, *dev, jsonOut);
      return cli.run(words[0], rest);
    }
    SteerTables tables(*dev);
    if (Status s = tables.checkKernel(); !s) {
      std::fprintf(stderr, "roamctl: %s\n", s.message().c_str());
      return hal::kExitBadImage;
    }
    SteerCli cli(tables, *dev, jsonOut);
    return cli.run(words[0], rest);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "roamctl: %s (see roamctl --help)\n", e.msg.c_str());
    return kExitUsage;
  }
}
