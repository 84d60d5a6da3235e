// roamctl's commands through roamd's API (daemon_cmds.cpp): no device, an API address.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cli.h"

namespace roamctl {

inline constexpr const char* kDefaultApi = "unix:/run/roamgate/roamd.sock";

struct Api;  // a connection to roamd

struct DaemonCommand {
  std::string name;   // "session create"
  std::string usage;  // its lines in `roamctl --help`
  std::function<int(Api&, const std::vector<std::string>&)> run;
};

std::vector<DaemonCommand> daemonCommands();   // serviceCommands() among them
std::vector<DaemonCommand> serviceCommands();  // service_cmds.cpp
std::vector<DaemonCommand> policyCommands();   // policy_cmds.cpp
const DaemonCommand* findDaemonCommand(const std::vector<DaemonCommand>& all,
                                       const std::vector<std::string>& words, size_t& used);
// `api`: --api as given (a socket path, unix:PATH or HOST:PORT); empty: $ROAMGATE_API, else
// the default socket.
int runDaemonCommand(const DaemonCommand& c, const std::string& api, bool jsonOut,
                     const std::vector<std::string>& args);

}  // namespace roamctl
