#include "roamgate/control/user_session_record.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "roamgate/addr.h"

namespace roamgate::control {

std::string KernelClock::utc(uint64_t ts) const {
  auto delta = std::chrono::duration<double>(double(int64_t(ts - ts0)) / kHz);
  auto t = utc0 + std::chrono::duration_cast<std::chrono::system_clock::duration>(delta);
  auto ms = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = std::time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int frac = int(ms - int64_t(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char b[40];
  std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return b;
}

uint64_t KernelClock::tsOfTick(uint32_t tick) const {
  int32_t d = int32_t(tick - uint32_t(ts0 >> shift));
  return uint64_t(int64_t(ts0 >> shift << shift) + (int64_t(d) << shift));
}

uint32_t KernelClock::ticks(uint32_t ms) const {
  double t = double(ms) / 1000.0 * kHz / double(uint64_t(1) << shift);
  return t >= 4294967295.0 ? 0xffffffffu : std::max<uint32_t>(1, uint32_t(t));
}

accounting::Record userSessionRecord(const UserSessionInfo& u, const std::string& appliance,
                                     uint32_t natIp, const KernelClock& clock) {
  accounting::Record r;
  r.appliance = appliance;
  r.imsi = u.imsi;
  r.msisdn = u.msisdn;
  r.teid = u.entry.flow.teid;
  r.terminalIp = u.entry.flow.src;
  r.terminalPort = u.entry.flow.sport;
  r.dstIp = u.entry.flow.dst;
  r.dstPort = u.entry.flow.dport;
  r.proto = u.entry.flow.proto;
  r.natIp = natIp;
  r.natPort = u.entry.port;
  r.external = u.external;
  r.denied = u.denied;
  r.denyReason = u.denied ? denyReasonName(u.denyReason) : "";
  r.services.assign(u.services.begin(), u.services.end());
  for (auto [ip, port] : u.servers) r.servers.push_back(serverStr(ip, port));
  r.started = clock.utc(u.startTs ? u.startTs : clock.ts0);
  r.id = appliance + "/" + ipv4Str(natIp) + ":" + std::to_string(u.entry.port) + "/g" +
         std::to_string(u.entry.gen) + "/" + r.started;
  return r;
}

}  // namespace roamgate::control
