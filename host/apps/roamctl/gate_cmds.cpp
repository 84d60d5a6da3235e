// roamctl's gate commands (tier 2): configuration, user sessions, the export scanner.
#include <cstdio>

#include "cli.h"
#include "roamgate/regs/gate.h"

namespace roamctl {

namespace {

namespace rg = roamgate::regs::gate;
using roamgate::ipv4Str;
using roamgate::macStr;
using roamgate::teidStr;

// "A:P" (P optional when `portOptional`).
std::pair<uint32_t, uint16_t> parseAddrPort(const std::string& what, const std::string& s, bool portOptional) {
  size_t c = s.find(':');
  if (c == std::string::npos) {
    if (!portOptional) throw UsageError{what + " must be ADDRESS:PORT: '" + s + "'"};
    return {parseIp(what, s), 0};
  }
  return {parseIp(what, s.substr(0, c)), uint16_t(parseU32(what + " port", s.substr(c + 1), 65535))};
}

uint8_t parseProto(const std::string& s) {
  if (s == "tcp" || s == "6") return 6;
  if (s == "udp" || s == "17") return 17;
  if (s == "icmp" || s == "1") return 1;
  throw UsageError{"--proto is tcp, udp or icmp: '" + s + "'"};
}

// "[I:]P": gate address index and user-session port (1..65535).
std::pair<uint8_t, uint16_t> parseUserPort(const std::string& s) {
  size_t c = s.find(':');
  uint32_t idx = 0;
  std::string p = s;
  if (c != std::string::npos) {
    idx = parseU32("gate address index", s.substr(0, c), rg::kNatAddrs - 1);
    p = s.substr(c + 1);
  }
  uint32_t max = (1u << rg::kPortsLog2) - 1;
  return {uint8_t(idx), uint16_t(parseU32("user-session port", p, max, 1))};
}

const char* protoName(uint8_t p) { return p == 6 ? "tcp" : p == 17 ? "udp" : p == 1 ? "icmp" : "?"; }

int info(Context& c, const std::vector<std::string>& args) {
  subOptions(po::options_description(), args);
  uint32_t flows = 2u * rg::kFlowSlots << rg::kFlowBucketsLog2;
  json j = {{"kernel", "gate"}, {"version", rg::kKernelVersion}, {"regmap_crc", teidStr(rg::kRegmapCrc)},
            {"flow_capacity", flows}, {"gate_addresses", rg::kNatAddrs},
            {"ports_per_address", 1u << rg::kPortsLog2}, {"max_frame_bytes", rg::kMaxFrameBytes}};
  char text[256];
  std::snprintf(text, sizeof text,
                "kernel gate, register map 0x%08x\nflow table %u entries (2 banks x %u buckets x %u slots)\n"
                "port table %u gate addresses x %u ports\n",
                rg::kRegmapCrc, flows, 1u << rg::kFlowBucketsLog2, rg::kFlowSlots, rg::kNatAddrs, 1u << rg::kPortsLog2);
  c.print(j, text);
  return kExitOk;
}

int config(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("access-ip", po::value<std::string>())("own-mac", po::value<std::string>())(
      "svc-next-hop", po::value<std::string>())("acc-next-hop", po::value<std::string>())(
      "nat-ip", po::value<std::vector<std::string>>())("outer-ttl", po::value<std::string>())(
      "tick-shift", po::value<std::string>())("punt-pps", po::value<std::string>())(
      "punt-burst", po::value<std::string>())("clock-mhz", po::value<double>()->default_value(kDefaultClockHz / 1e6));
  auto vm = subOptions(d, args);
  double hz = vm["clock-mhz"].as<double>() * 1e6;
  if (!(hz >= 1e6 && hz <= 1e9)) throw UsageError{"--clock-mhz must be 1..1000"};
  dataplane::GateConfig cfg;
  if (Status s = c.gate->readConfig(cfg); !s) return c.fail(s);
  bool change = false;
  if (vm.count("access-ip")) cfg.accessIp = parseUnicastIp("--access-ip", str(vm, "access-ip")), change = true;
  if (vm.count("own-mac")) cfg.ownMac = parseUnicastMac("--own-mac", str(vm, "own-mac")), change = true;
  if (vm.count("svc-next-hop")) cfg.svcNextHopMac = parseUnicastMac("--svc-next-hop", str(vm, "svc-next-hop")), change = true;
  if (vm.count("acc-next-hop")) cfg.accNextHopMac = parseUnicastMac("--acc-next-hop", str(vm, "acc-next-hop")), change = true;
  if (vm.count("nat-ip")) {
    for (const std::string& s : vm["nat-ip"].as<std::vector<std::string>>()) {
      size_t eq = s.find('=');
      if (eq == std::string::npos) throw UsageError{"--nat-ip is INDEX=ADDRESS: '" + s + "'"};
      uint32_t idx = parseU32("--nat-ip index", s.substr(0, eq), rg::kNatAddrs - 1);
      cfg.natIps[idx] = parseUnicastIp("--nat-ip " + std::to_string(idx) + " address", s.substr(eq + 1));
    }
    change = true;
  }
  if (vm.count("outer-ttl")) cfg.outerTtl = parseU32("--outer-ttl", str(vm, "outer-ttl"), 255, 1), change = true;
  if (vm.count("tick-shift")) cfg.tickShift = parseU32("--tick-shift", str(vm, "tick-shift"), 31), change = true;
  std::optional<uint64_t> askedPps;
  if (vm.count("punt-pps")) {
    cfg.puntRate = puntRateFromPps("--punt-pps", str(vm, "punt-pps"), hz);
    askedPps = parseNumber(str(vm, "punt-pps"));
    change = true;
  }
  if (vm.count("punt-burst")) cfg.puntBurst = parsePuntBurst(str(vm, "punt-burst")), change = true;
  if (change) {
    if (Status s = c.gate->writeConfig(cfg); !s) return c.fail(s);
  }
  json nat = json::array();
  std::string text = "access address " + ipv4Str(cfg.accessIp) + "\nown MAC " + macStr(cfg.ownMac) +
                     "\nservice next hop " + macStr(cfg.svcNextHopMac) + "\naccess next hop " +
                     macStr(cfg.accNextHopMac) + "\n";
  for (uint32_t i = 0; i < rg::kNatAddrs; ++i) {
    nat.push_back(ipv4Str(cfg.natIps[i]));
    text += "gate address " + std::to_string(i) + " " + (cfg.natIps[i] ? ipv4Str(cfg.natIps[i]) : "(not configured)") + "\n";
  }
  long long pps = std::llround(puntPps(cfg.puntRate, hz));
  text += "outer TTL " + std::to_string(cfg.outerTtl) + "\ntick 2^" + std::to_string(cfg.tickShift) +
          " cycles\npunt limit " + std::to_string(pps) + " frames/s" +
          (askedPps && uint64_t(pps) != *askedPps ? " (the nearest the limiter can do to " + std::to_string(*askedPps) + ")" : "") +
          ", burst " + std::to_string(cfg.puntBurst) + "\n";
  c.print({{"access_ip", ipv4Str(cfg.accessIp)}, {"own_mac", macStr(cfg.ownMac)},
           {"svc_next_hop", macStr(cfg.svcNextHopMac)}, {"acc_next_hop", macStr(cfg.accNextHopMac)},
           {"nat_ips", nat}, {"outer_ttl", cfg.outerTtl}, {"tick_shift", cfg.tickShift},
           {"punt_pps", pps}, {"punt_rate_register", cfg.puntRate}, {"punt_burst", cfg.puntBurst}},
          text);
  return kExitOk;
}

// The flow options shared by add and del.
void flowOptions(po::options_description& d, bool required) {
  auto v = [&] { return required ? po::value<std::string>()->required() : po::value<std::string>(); };
  d.add_options()("teid", v())("src", v())("dst", v())("proto", v())("port", po::value<std::string>()->required());
}

dataplane::FlowKey flowOf(const po::variables_map& vm) {
  dataplane::FlowKey k;
  k.teid = parseTeid("--teid", str(vm, "teid"));
  k.proto = parseProto(str(vm, "proto"));
  bool icmp = k.proto == 1;
  auto [src, sport] = parseAddrPort("--src", str(vm, "src"), false);
  auto [dst, dport] = parseAddrPort("--dst", str(vm, "dst"), icmp);
  if (icmp && dport != 0) throw UsageError{"ICMP echo: --dst is an address (the identifier goes in --src A:ID)"};
  if (!icmp && (sport == 0 || dport == 0)) throw UsageError{"a TCP or UDP flow needs ports 1..65535 in --src and --dst"};
  k.src = src;
  k.sport = sport;
  k.dst = dst;
  k.dport = dport;
  return k;
}

int userAdd(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  flowOptions(d, true);
  d.add_options()("server", po::value<std::string>())("external", po::bool_switch())(
      "peer", po::value<std::string>()->required())("dl-teid", po::value<std::string>()->required())(
      "qfi", po::value<std::string>())("deny", po::bool_switch())("gen", po::value<std::string>())(
      "replace", po::bool_switch());
  auto vm = subOptions(d, args);
  dataplane::UserSession s;
  s.flow = flowOf(vm);
  std::tie(s.addrIndex, s.port) = parseUserPort(str(vm, "port"));
  s.external = vm["external"].as<bool>();
  if (s.external == bool(vm.count("server"))) throw UsageError{"give exactly one of --server A:P and --external"};
  if (!s.external) {
    std::tie(s.serverIp, s.serverPort) = parseAddrPort("--server", str(vm, "server"), s.flow.proto == 1);
    if (s.flow.proto != 1 && s.serverPort == 0) throw UsageError{"--server port must be 1..65535 for TCP and UDP"};
  }
  s.peerIp = parseUnicastIp("--peer", str(vm, "peer"));
  s.dlTeid = parseTeid("--dl-teid", str(vm, "dl-teid"));
  if (vm.count("qfi")) s.qfi = uint8_t(parseU32("--qfi", str(vm, "qfi"), 63));
  s.allow = !vm["deny"].as<bool>();
  bool replace = vm["replace"].as<bool>();
  std::string at = dataplane::portStr(s.addrIndex, s.port);
  dataplane::PortState old;
  if (Status st = c.gate->readPort(s.addrIndex, s.port, old); !st) return c.fail(st);
  if (old.valid && !replace) {
    return c.fail(Status::error(StatusCode::kAlreadyExists,
                                "port " + at + " holds a user session (" + dataplane::flowStr(old.session.flow) +
                                    "); pass --replace to remove its flows and take the port"));
  }
  // Unless given, the next generation of the port, so a reused port starts its counters at zero.
  s.gen = vm.count("gen") ? uint8_t(parseU32("--gen", str(vm, "gen"), 255)) : uint8_t(old.session.gen + 1);
  if (Status st = c.gate->installSession(s, replace); !st) return c.fail(st);
  c.print({{"installed", true}, {"addr_index", s.addrIndex}, {"port", s.port}, {"gen", s.gen}},
          "user session on " + at + " (generation " + std::to_string(s.gen) + ")\n");
  return kExitOk;
}

json portJson(const dataplane::PortState& ps) {
  const auto& s = ps.session;
  bool icmp = s.flow.proto == 1;
  return {{"addr_index", s.addrIndex}, {"port", s.port}, {"valid", ps.valid}, {"allow", s.allow},
          {"external", s.external}, {"proto", protoName(s.flow.proto)}, {"gen", s.gen},
          {"terminal", ipv4Str(s.flow.src) + ":" + std::to_string(s.flow.sport)},
          {"destination", ipv4Str(s.flow.dst) + (icmp ? "" : ":" + std::to_string(s.flow.dport))},
          {"server", ipv4Str(s.serverIp) + (icmp ? "" : ":" + std::to_string(s.serverPort))},
          {"peer", ipv4Str(s.peerIp)}, {"dl_teid", teidStr(s.dlTeid)},
          {"qfi", s.qfi ? json(*s.qfi) : json(nullptr)},
          {"ul_packets", ps.ulPkts}, {"ul_bytes", ps.ulBytes}, {"dl_packets", ps.dlPkts},
          {"dl_bytes", ps.dlBytes}, {"last_seen_tick", ps.lastSeen}, {"fin", ps.fin}, {"rst", ps.rst},
          {"final_exported", ps.finalExported}};
}

std::string portLine(const dataplane::PortState& ps) {
  const auto& s = ps.session;
  json j = portJson(ps);
  return dataplane::portStr(s.addrIndex, s.port) + " " + protoName(s.flow.proto) + " " +
         j["terminal"].get<std::string>() + " -> " + j["destination"].get<std::string>() +
         (s.external ? " (external)" : " via " + j["server"].get<std::string>()) + (s.allow ? "" : " DENIED") +
         ", tunnel " + ipv4Str(s.peerIp) + " TEID " + teidStr(s.dlTeid) + ", ul " + std::to_string(ps.ulPkts) +
         "/" + std::to_string(ps.ulBytes) + " dl " + std::to_string(ps.dlPkts) + "/" + std::to_string(ps.dlBytes) + "\n";
}

int userGet(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("port", po::value<std::string>()->required());
  auto vm = subOptions(d, args);
  auto [idx, port] = parseUserPort(str(vm, "port"));
  dataplane::PortState ps;
  if (Status st = c.gate->readPort(idx, port, ps); !st) return c.fail(st);
  if (!ps.valid) {
    return c.fail(Status::error(StatusCode::kNotFound, "no user session on " + dataplane::portStr(idx, port)));
  }
  const auto& s = ps.session;
  json j = portJson(ps);
  std::string text =
      std::string(protoName(s.flow.proto)) + " " + j["terminal"].get<std::string>() + " -> " +
      j["destination"].get<std::string>() + (s.external ? " (external)" : " via " + j["server"].get<std::string>()) +
      (s.allow ? "" : " DENIED") + "\ndownlink tunnel " + ipv4Str(s.peerIp) + " TEID " + teidStr(s.dlTeid) +
      (s.qfi ? " QFI " + std::to_string(*s.qfi) : "") + "\n" + "uplink " + std::to_string(ps.ulPkts) +
      " packets " + std::to_string(ps.ulBytes) + " bytes, downlink " + std::to_string(ps.dlPkts) + " packets " +
      std::to_string(ps.dlBytes) + " bytes, last seen tick " + std::to_string(ps.lastSeen) + (ps.fin ? ", FIN" : "") +
      (ps.rst ? ", RST" : "") + "\n";
  c.print(j, text);
  return kExitOk;
}

int userDel(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  flowOptions(d, false);
  auto vm = subOptions(d, args);
  auto [idx, port] = parseUserPort(str(vm, "port"));
  std::string at = dataplane::portStr(idx, port);
  size_t given = vm.count("teid") + vm.count("src") + vm.count("dst") + vm.count("proto");
  if (given == 0) {
    // The port alone: every flow that points at it, then its entry.
    size_t flows = 0;
    if (Status st = c.gate->removePort(idx, port, &flows); !st) return c.fail(st);
    c.print({{"removed", true}, {"addr_index", idx}, {"port", port}, {"flows", flows}},
            "user session on " + at + " removed (" + std::to_string(flows) + " flows)\n");
    return kExitOk;
  }
  if (given != 4) throw UsageError{"user del takes --port alone, or --port with all of --teid --src --dst --proto"};
  dataplane::FlowKey k = flowOf(vm);
  if (Status st = c.gate->removeSession(k, idx, port); !st) return c.fail(st);
  c.print({{"removed", true}, {"addr_index", idx}, {"port", port}, {"flows", 1}},
          "user session on " + at + " removed (" + dataplane::flowStr(k) + ")\n");
  return kExitOk;
}

int userMove(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("port", po::value<std::string>()->required())("peer", po::value<std::string>()->required())(
      "dl-teid", po::value<std::string>()->required())("qfi", po::value<std::string>());
  auto vm = subOptions(d, args);
  auto [idx, port] = parseUserPort(str(vm, "port"));
  std::optional<uint8_t> qfi;
  if (vm.count("qfi")) qfi = uint8_t(parseU32("--qfi", str(vm, "qfi"), 63));
  uint32_t peer = parseUnicastIp("--peer", str(vm, "peer"));
  uint32_t dlTeid = parseTeid("--dl-teid", str(vm, "dl-teid"));
  if (Status st = c.gate->moveTunnel(idx, port, peer, dlTeid, qfi); !st) return c.fail(st);
  c.print({{"moved", true}, {"peer", ipv4Str(peer)}, {"dl_teid", teidStr(dlTeid)}},
          "downlink tunnel of " + dataplane::portStr(idx, port) + " now " + ipv4Str(peer) + " TEID " + teidStr(dlTeid) + "\n");
  return kExitOk;
}

int userList(Context& c, const std::vector<std::string>& args) {
  subOptions(po::options_description(), args);
  std::vector<dataplane::PortState> all;
  size_t shown = 0;
  auto progress = [&](size_t done, size_t total) {
    // A line every eighth of the walk, and the last one.
    if (done == total || done * 8 / total != shown) {
      shown = done * 8 / total;
      std::fprintf(stderr, "roamctl: %zu of %zu ports read\n", done, total);
    }
  };
  if (Status st = c.gate->listPorts(all, progress); !st) return c.fail(st);
  json arr = json::array();
  std::string text;
  for (const auto& ps : all) {
    arr.push_back(portJson(ps));
    text += portLine(ps);
  }
  c.print(arr, text.empty() ? "no user sessions\n" : text);
  return kExitOk;
}

int scan(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("on", po::bool_switch())("off", po::bool_switch())("idle-ticks", po::value<std::string>())(
      "interim-ticks", po::value<std::string>());
  auto vm = subOptions(d, args);
  if (vm["on"].as<bool>() && vm["off"].as<bool>()) throw UsageError{"--on or --off, not both"};
  std::vector<hal::RegOp> ops = {{false, rg::scan::kCtrl, 0}, {false, rg::scan::kIdleTicks, 0},
                                 {false, rg::scan::kInterimTicks, 0}, {false, rg::scan::kPosition, 0}};
  if (Status st = c.dev.transact(ops); !st) return c.fail(st);
  bool on = rg::scan::kCtrlOn.get(ops[0].value);
  uint32_t idle = ops[1].value, interim = ops[2].value;
  if (vm["on"].as<bool>() || vm["off"].as<bool>() || vm.count("idle-ticks") || vm.count("interim-ticks")) {
    if (vm["on"].as<bool>()) on = true;
    if (vm["off"].as<bool>()) on = false;
    if (vm.count("idle-ticks")) idle = parseU32("--idle-ticks", str(vm, "idle-ticks"));
    if (vm.count("interim-ticks")) interim = parseU32("--interim-ticks", str(vm, "interim-ticks"));
    if (Status st = c.gate->setScanner(on, idle, interim); !st) return c.fail(st);
  }
  c.print({{"on", on}, {"idle_ticks", idle}, {"interim_ticks", interim}, {"position", ops[3].value}},
          std::string("scanner ") + (on ? "on" : "off") + ", idle after " + std::to_string(idle) +
              " ticks, interim every " + std::to_string(interim) + " ticks (0: never), at entry " +
              std::to_string(ops[3].value) + "\n");
  return kExitOk;
}

int exportRecords(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("max", po::value<std::string>());
  auto vm = subOptions(d, args);
  size_t max = vm.count("max") ? parseU32("--max", str(vm, "max"), 0xffffffffu, 1) : SIZE_MAX;
  auto r = c.rings();
  if (Status st = r.attach(); !st) return c.fail(st);
  std::vector<dataplane::ExportRecord> got;
  if (Status st = r.pollExport(got, max); !st) return c.fail(st);
  json arr = json::array();
  std::string text;
  for (const auto& rec : got) {
    auto v = dataplane::ExportRecordView::decode(rec);
    uint32_t ri = uint32_t(v.reason);
    std::string reason = ri < rg::kExportReasonCount ? std::string(rg::kExportReasonNames[ri]) : "?";
    arr.push_back({{"reason", reason}, {"addr_index", v.addrIndex}, {"port", v.port}, {"gen", v.gen},
                   {"fin", v.fin}, {"rst", v.rst}, {"last_seen_tick", v.lastSeen}, {"tick", v.now},
                   {"ul_packets", v.ulPkts}, {"ul_bytes", v.ulBytes}, {"dl_packets", v.dlPkts},
                   {"dl_bytes", v.dlBytes}});
    text += reason + " " + dataplane::portStr(v.addrIndex, v.port) + " ul " + std::to_string(v.ulPkts) + "/" +
            std::to_string(v.ulBytes) + " dl " + std::to_string(v.dlPkts) + "/" + std::to_string(v.dlBytes) +
            " last seen " + std::to_string(v.lastSeen) + "\n";
  }
  c.print(arr, text.empty() ? "no export records\n" : text);
  return kExitOk;
}

int stats(Context& c, const std::vector<std::string>& args) {
  subOptions(po::options_description(), args);
  std::array<uint64_t, rg::kStatCount> st{};
  if (Status s = c.gate->readStats(st); !s) return c.fail(s);
  return printStats(c, rg::kStatNames, st);
}

}  // namespace

std::vector<Command> gateCommands() {
  dataplane::GateConfig dflt;
  return {
      {Kernel::kGate, "info", "info\n    kernel identity, register map, table geometry", info},
      {Kernel::kGate, "config",
       "config [--access-ip A] [--own-mac M] [--svc-next-hop M] [--acc-next-hop M]\n"
       "       [--nat-ip I=A]... [--outer-ttl 1..255] [--tick-shift 0..31] [--punt-pps N]\n"
       "       [--punt-burst 1..65535] [--clock-mhz F]\n"
       "    show or set addresses, next hops, time base and the punt limit (frames per second\n"
       "    to the host, rounded to the limiter's step; the rate programmed is printed).\n"
       "    At reset: " + defaultPuntText(dflt.puntRate, dflt.puntBurst),
       config},
      {Kernel::kGate, "user add",
       "user add --teid T --src A:P --dst A:P --proto tcp|udp|icmp --port [I:]P\n"
       "         (--server A:P | --external) --peer A --dl-teid T [--qfi Q] [--deny] [--gen G]\n"
       "         [--replace]\n"
       "    install a user session: its port entry (NAT action, downlink tunnel), then its\n"
       "    flow. ICMP echo: --src A:ID, --dst A. I is the gate address index (default 0), P\n"
       "    1..65535. A port that holds a user session is refused unless --replace (which\n"
       "    removes that session's flows first)",
       userAdd},
      {Kernel::kGate, "user get",
       "user get --port [I:]P\n    a user session's entry, counters, last seen, TCP flags", userGet},
      {Kernel::kGate, "user del",
       "user del --port [I:]P [--teid T --src A:P --dst A:P --proto X]\n"
       "    remove the flow (checked to point at that port), then the port entry; with --port\n"
       "    alone, every flow pointing at the port (counters stay readable until it is reused)",
       userDel},
      {Kernel::kGate, "user move",
       "user move --port [I:]P --peer A --dl-teid T [--qfi Q]\n"
       "    point the downlink tunnel elsewhere (handover); counters go on",
       userMove},
      {Kernel::kGate, "user list",
       "user list\n    every user session of the configured gate addresses (walks the port table,\n"
       "    progress on stderr)",
       userList},
      {Kernel::kGate, "scan",
       "scan [--on | --off] [--idle-ticks N] [--interim-ticks N]\n    show or set the export scanner", scan},
      {Kernel::kGate, "export",
       "export [--max N]\n    take the export ring's records (host setup --export-slots-log2 N)", exportRecords},
      {Kernel::kGate, "stats", "stats\n    kernel counters", stats},
  };
}

}  // namespace roamctl
