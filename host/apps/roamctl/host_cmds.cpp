// roamctl host ...: the host port's rings, the same on every kernel (hw/regs/host_port.toml).
#include <pcap/pcap.h>

#include <cstdio>
#include <cstring>

#include "cli.h"

#include <algorithm>

namespace roamctl {

namespace {

int hostSetup(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("punt-slots-log2", po::value<std::string>())("inject-slots-log2", po::value<std::string>())(
      "export-slots-log2", po::value<std::string>());
  auto vm = subOptions(d, args);
  dataplane::RingConfig cfg;
  if (vm.count("punt-slots-log2")) cfg.puntSlotsLog2 = parseU32("--punt-slots-log2", str(vm, "punt-slots-log2"), 16);
  if (vm.count("inject-slots-log2")) cfg.injSlotsLog2 = parseU32("--inject-slots-log2", str(vm, "inject-slots-log2"), 16);
  if (vm.count("export-slots-log2")) cfg.expSlotsLog2 = parseU32("--export-slots-log2", str(vm, "export-slots-log2"), 20);
  auto r = c.rings();
  dataplane::RingSetup done;
  if (Status s = r.setup(cfg, &done); !s) return c.fail(s);
  auto ring = [](uint32_t n, bool made, const char* what) {
    return std::to_string(n) + " " + what + (made ? " (new)" : " (kept)");
  };
  uint32_t exp = done.exportOn ? 1u << done.expSlotsLog2 : 0;
  c.print({{"punt_slots", 1u << done.puntSlotsLog2}, {"inject_slots", 1u << done.injSlotsLog2},
           {"export_records", exp}, {"punt_new", done.puntNew}, {"inject_new", done.injNew},
           {"export_new", done.expNew}},
          "host port rings on: " + ring(1u << done.puntSlotsLog2, done.puntNew, "punt slots") + ", " +
              ring(1u << done.injSlotsLog2, done.injNew, "inject slots") +
              (exp ? ", " + ring(exp, done.expNew, "export records") : std::string(", export ring off")) + "\n");
  return kExitOk;
}

int hostPunts(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("pcap", po::value<std::string>())("max", po::value<std::string>());
  auto vm = subOptions(d, args);
  size_t max = vm.count("max") ? parseU32("--max", str(vm, "max"), 0xffffffffu, 1) : SIZE_MAX;
  // Open the capture before taking anything: frames taken from the ring are gone from it.
  pcap_t* dead = nullptr;
  pcap_dumper_t* dump = nullptr;
  if (vm.count("pcap")) {
    std::string path = str(vm, "pcap");
    dead = pcap_open_dead(DLT_EN10MB, 65535);
    dump = pcap_dump_open(dead, path.c_str());
    if (!dump) {
      // libpcap's message names the path already ("PATH: No such file or directory").
      std::string e = pcap_geterr(dead);
      pcap_close(dead);
      return c.fail(Status::error("cannot write the capture: " + e));
    }
  }
  auto close = [&] {
    if (dump) pcap_dump_close(dump);
    if (dead) pcap_close(dead);
  };
  auto rings = c.rings();
  std::vector<dataplane::PuntedFrame> got;
  Status st = rings.attach();
  if (st) st = rings.poll(got, max);
  if (!st) {
    close();
    return c.fail(st);
  }
  for (const auto& f : got) {
    if (!dump) break;
    pcap_pkthdr h{};
    h.caplen = h.len = uint32_t(f.bytes.size());
    pcap_dump(reinterpret_cast<u_char*>(dump), &h, f.bytes.data());
  }
  close();
  json arr = json::array();
  std::string text;
  for (const auto& f : got) {
    std::string reason = f.reason < c.kernel.puntReasons.size() ? c.kernel.puntReasons[f.reason] : "unknown";
    arr.push_back({{"reason", reason}, {"bytes", f.bytes.size()}, {"timestamp", f.timestamp},
                   {"teid", roamgate::teidStr(f.teid)}, {"inner_offset", f.innerOffset}});
    text += reason + " " + std::to_string(f.bytes.size()) + " bytes at cycle " + std::to_string(f.timestamp) +
            (f.teid ? " TEID " + roamgate::teidStr(f.teid) : std::string()) + "\n";
  }
  c.print(arr, text.empty() ? "no punted frames\n" : text);
  return kExitOk;
}

int hostInject(Context& c, const std::vector<std::string>& args) {
  po::options_description d;
  d.add_options()("pcap", po::value<std::string>()->required())("port", po::value<std::string>());
  auto vm = subOptions(d, args);
  std::string path = str(vm, "pcap");
  const std::vector<std::string>& ports = c.kernel.injectPorts;
  uint8_t code = 0;
  if (vm.count("port")) {
    std::string want = str(vm, "port");
    auto it = std::find(ports.begin(), ports.end(), want);
    if (it == ports.end()) {
      std::string all;
      for (const std::string& n : ports) all += (all.empty() ? "" : ", ") + n;
      throw UsageError("--port '" + want + "' is not one of the " + c.kernel.name + " kernel's: " + all);
    }
    code = uint8_t(it - ports.begin());
  }
  char eb[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), eb);
  if (!p) return c.fail(Status::error("cannot read the capture: " + std::string(eb)));
  auto rings = c.rings();
  if (Status s = rings.attach(); !s) {
    pcap_close(p);
    return c.fail(s);
  }
  pcap_pkthdr* h;
  const u_char* data;
  size_t n = 0;
  Status st;
  while (st.ok() && pcap_next_ex(p, &h, &data) == 1) {
    // A full ring drains at line rate: retry a bounded number of times.
    for (int tries = 0; tries < 1000; ++tries) {
      st = rings.inject({data, h->caplen}, code);
      if (st.ok() || st.code() != StatusCode::kFull) break;
    }
    if (st.ok()) ++n;
  }
  pcap_close(p);
  if (!st) return c.fail(Status::error(st.code(), "after " + std::to_string(n) + " frames: " + st.message()));
  std::string port = code < ports.size() ? ports[code] : std::to_string(code);
  c.print({{"injected", n}, {"port", port}}, "injected " + std::to_string(n) + " frames (" + port + ")\n");
  return kExitOk;
}

int hostStatus(Context& c, const std::vector<std::string>& args) {
  subOptions(po::options_description(), args);
  auto rings = c.rings();
  if (Status s = rings.attach(); !s) return c.fail(s);
  uint32_t drops = 0, injected = 0, errors = 0;
  if (Status s = rings.counters(drops, injected, errors); !s) return c.fail(s);
  c.print({{"punt_drops", drops}, {"injected", injected}, {"inject_errors", errors}},
          "punt drops " + std::to_string(drops) + "\ninjected " + std::to_string(injected) + "\ninject errors " +
              std::to_string(errors) + "\n");
  return kExitOk;
}

}  // namespace

std::vector<Command> hostCommands() {
  return {
      {Kernel::kBoth, "host setup",
       "host setup [--punt-slots-log2 N] [--inject-slots-log2 N] [--export-slots-log2 N]\n"
       "    put the host port's rings in device memory and turn them on. A ring that is on and\n"
       "    not named stays as it is; a named one is made anew (its frames are dropped).\n"
       "    Defaults for a ring that is off: 2^10 punt slots, 2^8 inject slots, export off\n"
       "    (--export-slots-log2 0 turns it off)",
       hostSetup},
      {Kernel::kBoth, "host punts",
       "host punts [--pcap FILE] [--max N]\n"
       "    take the frames the kernel punted (print them, and write them to a capture)",
       hostPunts},
      {Kernel::kBoth, "host inject",
       "host inject --pcap FILE [--port PORT]\n"
       "    send every frame of a capture through the kernel's inject ring. Steer: steer_out\n"
       "    (default: out of the steering port) or access_out; gate: uplink (default: into the\n"
       "    uplink pipeline), access_out or service_out (out of that port, unchanged)",
       hostInject},
      {Kernel::kBoth, "host status", "host status\n    ring indexes and drop counters", hostStatus},
  };
}

}  // namespace roamctl
