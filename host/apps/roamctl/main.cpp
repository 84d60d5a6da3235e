// roamctl: the operator's command-line tool for a Roamgate appliance. This file reads the
// command line, answers help, version and unknown commands without a device, opens the
// device and runs the command of the kernel it holds (steer_cmds.cpp, gate_cmds.cpp,
// host_cmds.cpp).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>

#include "cli.h"
#include "daemon_cmds.h"
#include "roamgate/regs/gate.h"
#include "roamgate/regs/steer.h"

using namespace roamctl;
namespace regs = roamgate::regs;

namespace {

#ifndef ROAMGATE_VERSION
#error "the build defines ROAMGATE_VERSION (the project's version)"
#endif

std::vector<Command> allCommands() {
  std::vector<Command> all = steerCommands();
  for (auto* family : {&gateCommands, &hostCommands}) {
    for (Command& c : (*family)()) all.push_back(std::move(c));
  }
  return all;
}

const char* kernelName(Kernel k) { return k == Kernel::kSteer ? "steer" : k == Kernel::kGate ? "gate" : "both"; }

std::string indent(const std::string& usage) {
  std::string out = "  ";
  for (char ch : usage) {
    out += ch;
    if (ch == '\n') out += "  ";
  }
  return out + "\n";
}

std::string usageText(const std::vector<Command>& all) {
  std::string s =
      "usage: roamctl [--api ADDRESS] [--json] COMMAND [ARGS]         (through roamd)\n"
      "       roamctl --device SPEC [--xclbin PATH] [--json] COMMAND [ARGS]   (one device)\n"
      "       roamctl COMMAND --help | roamctl help [COMMAND] | roamctl --version\n\n"
      "Runs a Roamgate deployment through roamd's API (sessions, services and their servers,\n"
      "appliances, gateways), or programs and inspects one appliance's device directly, for\n"
      "engineers: the device commands follow the kernel the device holds (steer, tier 1, or\n"
      "gate, tier 2). A name both have (session get, session list, gateway list) goes to the\n"
      "device when --device or $ROAMGATE_DEVICE names one, else to roamd.\n";
  s += "\ncommands through roamd (no device):\n";
  for (const DaemonCommand& c : daemonCommands()) s += indent(c.usage);
  for (Kernel k : {Kernel::kSteer, Kernel::kGate, Kernel::kBoth}) {
    s += k == Kernel::kSteer ? "\nsteer commands:\n" : k == Kernel::kGate ? "\ngate commands:\n" : "\nhost port commands (both kernels):\n";
    for (const Command& c : all) {
      if (c.kernel == k) s += indent(c.usage);
    }
  }
  s += "\noptions:\n"
       "  --api ADDRESS   roamd's API: a socket path, unix:PATH or HOST:PORT; default $ROAMGATE_API,\n"
       "                  else /run/roamgate/roamd.sock\n" + std::string(hal::kDeviceOptionsHelp) +
       "  --json          print JSON for scripts\n"
       "  -h, --help      this text (after a command: that command's)\n"
       "  --version       roamctl's version and the register maps it was built for\n\n"
       "TEIDs and ids accept decimal or 0x hex; TEIDs are printed in hex (0x0000abcd), as\n"
       "tshark does. Exit status: 0 done, 1 the operation failed or was refused, 2 the command\n"
       "line is wrong (or roamd refuses a value), 3 no such device (no card or XRT runtime, no\n"
       "simulator at the socket, no answer in time) or no roamd at the API address, 4 the xclbin or the loaded kernel is not the one this roamctl was\n"
       "built for (wrong kernel, register map or packaging).\n";
  return s;
}

// The commands that `words` names: "gateway add" from {"gateway", "add", ...}, or a one-word
// command. `used` is how many words the name took.
std::vector<const Command*> lookup(const std::vector<Command>& all, const std::vector<std::string>& words,
                                   size_t& used) {
  std::vector<const Command*> found;
  for (size_t n : {size_t(2), size_t(1)}) {
    if (words.size() < n) continue;
    std::string name = n == 2 ? words[0] + " " + words[1] : words[0];
    for (const Command& c : all) {
      if (c.name == name) found.push_back(&c);
    }
    if (!found.empty()) {
      used = n;
      return found;
    }
  }
  return found;
}

// The sub-commands of a family word ("gateway" -> add, del, list).
std::set<std::string> subcommands(const std::vector<Command>& all, const std::string& family) {
  std::set<std::string> subs;
  for (const Command& c : all) {
    if (c.name.rfind(family + " ", 0) == 0) subs.insert(c.name.substr(family.size() + 1));
  }
  for (const DaemonCommand& c : daemonCommands()) {
    if (c.name.rfind(family + " ", 0) == 0) subs.insert(c.name.substr(family.size() + 1));
  }
  return subs;
}

std::string commandHelp(const std::vector<const Command*>& cmds) {
  std::string s = "usage: roamctl [--device SPEC] [--json] ...\n";
  for (const Command* c : cmds) {
    s += std::string("\n") + (c->kernel == Kernel::kBoth ? "both kernels" : std::string(kernelName(c->kernel)) + " kernel") +
         ":\n" + indent(c->usage);
  }
  return s;
}

int usageError(const std::string& msg) {
  std::fprintf(stderr, "roamctl: %s (see roamctl --help)\n", msg.c_str());
  return kExitUsage;
}

int version(bool json) {
  char text[200];
  std::snprintf(text, sizeof text, "roamctl %s\nsteer register map 0x%08x\ngate register map 0x%08x\n",
                ROAMGATE_VERSION, regs::steer::kRegmapCrc, regs::gate::kRegmapCrc);
  if (json) {
    std::cout << nlohmann::json{{"version", ROAMGATE_VERSION},
                                {"steer_regmap_crc", roamgate::teidStr(regs::steer::kRegmapCrc)},
                                {"gate_regmap_crc", roamgate::teidStr(regs::gate::kRegmapCrc)}}
                     .dump(2)
              << "\n";
  } else {
    std::fputs(text, stdout);
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  hal::DeviceOptions devOpts;
  std::string apiOpt;
  bool jsonOut = false, help = false, showVersion = false;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string err;
    if (a == "-h" || a == "--help") {
      help = true;
    } else if (words.empty() && a == "--version") {
      showVersion = true;
    } else if (words.empty() && hal::takeDeviceOption(argc, argv, i, devOpts, err)) {
      if (!err.empty()) return usageError(err);
    } else if (words.empty() && (a == "--api" || a.rfind("--api=", 0) == 0)) {
      if (a == "--api") {
        if (i + 1 >= argc) return usageError("--api needs an address (a socket path, unix:PATH or HOST:PORT)");
        apiOpt = argv[++i];
      } else {
        apiOpt = a.substr(6);
      }
      if (apiOpt.empty()) return usageError("--api needs an address (a socket path, unix:PATH or HOST:PORT)");
    } else if (a == "--json") {
      jsonOut = true;
    } else {
      words.push_back(a);
    }
  }
  const std::vector<Command> all = allCommands();
  if (showVersion) return version(jsonOut);
  if (!words.empty() && words[0] == "help") {
    words.erase(words.begin());
    help = true;
    if (words.empty()) {
      std::fputs(usageText(all).c_str(), stdout);
      return kExitOk;
    }
  }
  if (words.empty()) {
    if (help) {
      std::fputs(usageText(all).c_str(), stdout);
      return kExitOk;
    }
    std::fputs(usageText(all).c_str(), stderr);
    return kExitUsage;
  }
  size_t used = 0;
  std::vector<const Command*> cmds = lookup(all, words, used);
  // Through roamd: a daemon command, unless a device is named and the device has one too.
  const std::vector<DaemonCommand> daemon = daemonCommands();
  size_t dused = 0;
  const DaemonCommand* dc = findDaemonCommand(daemon, words, dused);
  const char* envDev = std::getenv("ROAMGATE_DEVICE");
  bool deviceNamed = !devOpts.spec.empty() || (envDev && *envDev);
  if (dc && (cmds.empty() || !deviceNamed || dused > used)) {
    if (help) {
      std::fputs(("usage: roamctl [--api ADDRESS] [--json] ...\n\nthrough roamd:\n" + indent(dc->usage)).c_str(), stdout);
      return kExitOk;
    }
    try {
      return runDaemonCommand(*dc, apiOpt, jsonOut, std::vector<std::string>(words.begin() + long(dused), words.end()));
    } catch (const UsageError& e) {
      return usageError(e.msg);
    }
  }
  if (cmds.empty()) {
    std::set<std::string> subs = subcommands(all, words[0]);
    if (subs.empty()) return usageError("unknown command '" + words[0] + "'");
    std::vector<const Command*> family;
    for (const Command& c : all) {
      if (c.name.rfind(words[0] + " ", 0) == 0) family.push_back(&c);
    }
    std::string list;
    for (const std::string& s : subs) list += (list.empty() ? "" : ", ") + s;
    // The family's commands through roamd, then its device commands.
    std::string daemonHelp;
    for (const DaemonCommand& c : daemon) {
      if (c.name.rfind(words[0] + " ", 0) == 0) daemonHelp += indent(c.usage);
    }
    std::string helpText = family.empty() ? "usage: roamctl [--api ADDRESS] [--json] ...\n" : commandHelp(family);
    if (!daemonHelp.empty()) helpText += "\nthrough roamd:\n" + daemonHelp;
    if (help) {
      std::fputs(helpText.c_str(), stdout);
      return kExitOk;
    }
    std::string what = words.size() > 1 ? "unknown " + words[0] + " command '" + words[1] + "'" : "'" + words[0] + "' needs a subcommand";
    std::fprintf(stderr, "roamctl: %s; %s subcommands: %s\n\n%s", what.c_str(), words[0].c_str(), list.c_str(),
                 helpText.c_str());
    return kExitUsage;
  }
  if (help) {
    std::fputs(commandHelp(cmds).c_str(), stdout);
    return kExitOk;
  }
  std::vector<std::string> args(words.begin() + long(used), words.end());

  hal::deviceOptionsFromEnv(devOpts);
  try {
    hal::OpenResult opened = hal::openDevice(devOpts);
    if (!opened.device) {
      std::fprintf(stderr, "roamctl: %s\n", opened.message.c_str());
      return hal::exitStatus(opened.failure);
    }
    hal::Device& dev = *opened.device;
    // The kernel's id (offset 0 in every kernel's window) chooses the command set.
    uint32_t id = 0;
    if (Status s = dev.read32(0, id); !s) {
      std::fprintf(stderr, "roamctl: %s\n", s.message().c_str());
      return s.code() == StatusCode::kUnavailable ? kExitNoDevice : kExitFailed;
    }
    bool gate = id == regs::gate::kKernelId;
    Kernel kernel = gate ? Kernel::kGate : Kernel::kSteer;
    const Command* cmd = nullptr;
    for (const Command* c : cmds) {
      if (c->kernel == kernel || c->kernel == Kernel::kBoth) cmd = c;
    }
    if (!cmd) {
      return usageError("'" + cmds[0]->name + "' is a " + kernelName(cmds[0]->kernel) + " command, and " +
                        dev.describe() + " holds the " + kernelName(kernel) + " kernel");
    }
    if (gate) {
      dataplane::GateTables tables(dev);
      if (Status s = tables.checkKernel(); !s) {
        std::fprintf(stderr, "roamctl: %s\n", s.message().c_str());
        return s.code() == StatusCode::kUnavailable ? kExitNoDevice : hal::kExitBadImage;
      }
      Context ctx(dev, jsonOut,
                  {"gate", regs::gate::host::kBase, regs::gate::kMaxFrameBytes,
                   std::vector<std::string>(regs::gate::kPuntReasonNames.begin(), regs::gate::kPuntReasonNames.end()),
                   std::vector<std::string>(regs::gate::kInjectPortNames.begin(), regs::gate::kInjectPortNames.end())});
      ctx.gate = &tables;
      return cmd->run(ctx, args);
    }
    dataplane::SteerTables tables(dev);
    if (Status s = tables.checkKernel(); !s) {
      std::fprintf(stderr, "roamctl: %s\n", s.message().c_str());
      return s.code() == StatusCode::kUnavailable ? kExitNoDevice : hal::kExitBadImage;
    }
    Context ctx(dev, jsonOut,
                {"steer", regs::steer::host::kBase, regs::steer::kMaxFrameBytes,
                 std::vector<std::string>(regs::steer::kPuntReasonNames.begin(), regs::steer::kPuntReasonNames.end()),
                 std::vector<std::string>(regs::steer::kInjectPortNames.begin(), regs::steer::kInjectPortNames.end())});
    ctx.steer = &tables;
    return cmd->run(ctx, args);
  } catch (const UsageError& e) {
    return usageError(e.msg);
  }
}
