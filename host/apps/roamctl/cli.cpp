#include "cli.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace roamctl {

int Context::fail(const Status& s) const {
  std::fprintf(stderr, "roamctl: %s\n", s.message().c_str());
  return s.code() == StatusCode::kUnavailable ? kExitNoDevice : kExitFailed;
}

void Context::print(const json& j, const std::string& text) const {
  if (jsonOut) std::cout << j.dump(2) << "\n";
  else std::cout << text;
}

std::optional<uint64_t> parseNumber(const std::string& s) {
  if (s.empty() || s[0] == '-' || s[0] == '+' || std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  uint64_t v = std::strtoull(s.c_str(), &end, 0);
  if (errno || *end) return std::nullopt;
  return v;
}

uint32_t parseU32(const std::string& what, const std::string& s, uint64_t max, uint64_t min) {
  auto v = parseNumber(s);
  if (!v || *v > max || *v < min) {
    throw UsageError{what + " must be a number " + std::to_string(min) + ".." + std::to_string(max) + ": '" + s + "'"};
  }
  return uint32_t(*v);
}

uint32_t parseTeid(const std::string& what, const std::string& s) {
  auto v = parseNumber(s);
  if (!v || *v > 0xffffffffull) throw UsageError{what + " must be a TEID 0x1..0xffffffff: '" + s + "'"};
  if (*v == 0) throw UsageError{what + " 0 is reserved for GTP-U signalling; a TEID is 0x1..0xffffffff"};
  return uint32_t(*v);
}

uint32_t parseIp(const std::string& what, const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) throw UsageError{what + " is not an IPv4 address: '" + s + "'"};
  return ntohl(a.s_addr);
}

uint32_t parseUnicastIp(const std::string& what, const std::string& s) {
  uint32_t ip = parseIp(what, s);
  if (Status st = roamgate::checkUnicastIpv4(what, ip); !st) throw UsageError{st.message()};
  return ip;
}

uint64_t parseMac(const std::string& what, const std::string& s) {
  unsigned b[6];
  char tail;
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6) {
    throw UsageError{what + " is not a MAC address (aa:bb:cc:dd:ee:ff): '" + s + "'"};
  }
  uint64_t m = 0;
  for (unsigned x : b) m = (m << 8) | x;
  return m;
}

uint64_t parseUnicastMac(const std::string& what, const std::string& s) {
  uint64_t mac = parseMac(what, s);
  if (Status st = roamgate::checkUnicastMac(what, mac); !st) throw UsageError{st.message()};
  return mac;
}

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

std::string str(const po::variables_map& vm, const char* key) { return vm[key].as<std::string>(); }

namespace {
constexpr double kRateOne = double(1u << 24);  // 8.24 fixed point: 1.0 frame per cycle
}

uint32_t puntRateFromPps(const std::string& what, const std::string& s, double hz) {
  auto v = parseNumber(s);
  double step = hz / kRateOne;  // the finest rate the register can hold
  uint64_t min = uint64_t(std::ceil(step / 2));  // the least that rounds to one step
  uint64_t max = uint64_t(hz);  // one frame per cycle
  if (!v || *v < min || *v > max) {
    char b[200];
    std::snprintf(b, sizeof b, " must be %llu..%llu frames per second (the limiter's steps are %.1f frames/s at %.2f MHz): '",
                  (unsigned long long)min, (unsigned long long)max, step, hz / 1e6);
    throw UsageError{what + b + s + "'"};
  }
  return uint32_t(std::max(1.0, std::round(double(*v) / hz * kRateOne)));
}

double puntPps(uint32_t rate, double hz) { return double(rate) / kRateOne * hz; }

uint32_t parsePuntBurst(const std::string& s) { return parseU32("--punt-burst", s, 65535, 1); }

std::string defaultPuntText(uint32_t rate, uint32_t burst) {
  char b[160];
  std::snprintf(b, sizeof b, "%.2f M frames/s (1/%u frame per cycle at %.2f MHz), burst %u",
                puntPps(rate, kDefaultClockHz) / 1e6, unsigned(kRateOne / rate), kDefaultClockHz / 1e6, burst);
  return b;
}

}  // namespace roamctl
