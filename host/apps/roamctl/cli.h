// What every roamctl command family shares: the command table, the context a command runs
// in, and the parsers of values on the command line (each refusal names the value and what
// is allowed).
#pragma once

#include <boost/program_options.hpp>
#include <array>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roamgate/addr.h"
#include "roamgate/dataplane/gate_tables.h"
#include "roamgate/dataplane/host_rings.h"
#include "roamgate/dataplane/steer_tables.h"
#include "roamgate/hal/device.h"
#include "roamgate/status.h"

namespace roamctl {

namespace po = boost::program_options;
using nlohmann::json;
using roamgate::Status;
using roamgate::StatusCode;
namespace hal = roamgate::hal;
namespace dataplane = roamgate::dataplane;

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = hal::kExitUsage;
inline constexpr int kExitNoDevice = hal::kExitNoDevice;
inline constexpr double kDefaultClockHz = 322.265625e6;

// A wrong command line: exit 2 with the message.
struct UsageError {
  std::string msg;
};

enum class Kernel { kSteer, kGate, kBoth };

// What a host-port command needs to know of the kernel.
struct KernelFacts {
  const char* name;
  uint32_t hostBase;
  uint32_t maxFrameBytes;
  std::vector<std::string> puntReasons;
  std::vector<std::string> injectPorts;  // by inject code; the first is the default
};

// What a command runs with: the device, the output mode and the kernel's table manager.
class Context {
 public:
  Context(hal::Device& dev, bool jsonOut, KernelFacts kernel) : dev(dev), jsonOut(jsonOut), kernel(std::move(kernel)) {}
  hal::Device& dev;
  bool jsonOut;
  KernelFacts kernel;
  dataplane::SteerTables* steer = nullptr;
  dataplane::GateTables* gate = nullptr;

  // Prints the failure and returns its exit status (3 when the device stopped answering).
  int fail(const Status& s) const;
  void print(const json& j, const std::string& text) const;
  dataplane::HostRings rings() const { return {dev, kernel.hostBase, kernel.maxFrameBytes}; }
};

struct Command {
  Kernel kernel;
  std::string name;   // "gateway add"
  std::string usage;  // its lines in `roamctl --help`: synopsis, then what it does
  std::function<int(Context&, const std::vector<std::string>&)> run;
};

std::vector<Command> hostCommands();   // host_cmds.cpp
std::vector<Command> steerCommands();  // steer_cmds.cpp
std::vector<Command> gateCommands();   // gate_cmds.cpp

// Prints a kernel's statistics counters, by name.
template <size_t N>
int printStats(const Context& c, const std::array<std::string_view, N>& names, const std::array<uint64_t, N>& values) {
  json j = json::object();
  std::string text;
  for (size_t i = 0; i < N; ++i) {
    std::string name(names[i]);
    j[name] = values[i];
    text += name + " " + std::to_string(values[i]) + "\n";
  }
  c.print(j, text);
  return kExitOk;
}

// ---- Values on the command line -------------------------------------------------------------
std::optional<uint64_t> parseNumber(const std::string& s);
// 0..max (decimal or 0x hex), or min..max.
uint32_t parseU32(const std::string& what, const std::string& s, uint64_t max = 0xffffffffull, uint64_t min = 0);
uint32_t parseTeid(const std::string& what, const std::string& s);  // 1..0xffffffff
uint32_t parseIp(const std::string& what, const std::string& s);
uint32_t parseUnicastIp(const std::string& what, const std::string& s);
uint64_t parseMac(const std::string& what, const std::string& s);
uint64_t parseUnicastMac(const std::string& what, const std::string& s);
// Options of a sub-command; UsageError on anything unknown or missing.
po::variables_map subOptions(const po::options_description& desc, const std::vector<std::string>& args);
std::string str(const po::variables_map& vm, const char* key);

// The punt limiter's rate register (8.24 frames per cycle) nearest to `pps` frames per second
// at `hz`; refuses a rate it cannot represent as non-zero or beyond one frame per cycle.
uint32_t puntRateFromPps(const std::string& what, const std::string& s, double hz);
double puntPps(uint32_t rate, double hz);
uint32_t parsePuntBurst(const std::string& s);
// The default limit in words, for --help: "1/16 frame per cycle (20.14 M frames/s at 322.27 MHz)".
std::string defaultPuntText(uint32_t rate, uint32_t burst);

}  // namespace roamctl
