#include "roamgate/control/objects.h"

#include "roamgate/control/health.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string_view>
#include <vector>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "roamgate/addr.h"

namespace roamgate::control {

using nlohmann::json;

const char* roleName(Role r) { return r == Role::kSteer ? "steer" : "gate"; }

std::string applianceKey(const std::string& name) { return kAppliancesPrefix + name; }
std::string liveKey(const std::string& name) { return kLivePrefix + name; }
std::string gatewayKey(uint32_t id) {
  char b[8];
  std::snprintf(b, sizeof b, "%03u", id);
  return kGatewaysPrefix + std::string(b);
}
static std::string hex8(uint32_t v) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}
std::string sessionKey(uint32_t teid) { return kSessionsPrefix + hex8(teid); }
std::string quarantineKey(uint32_t teid) { return kQuarantinePrefix + hex8(teid); }

std::optional<uint32_t> teidOfKey(const std::string& key, const char* prefix) {
  std::string p = prefix;
  if (key.size() != p.size() + 8 || key.compare(0, p.size(), p) != 0) return std::nullopt;
  uint32_t v = 0;
  for (size_t i = p.size(); i < key.size(); ++i) {
    char c = key[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  return v;
}

std::string utcNow() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[64];
  std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return b;
}

Status checkName(const std::string& what, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 63 && name.front() != '-' && name.back() != '-';
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (ok) return {};
  return Status::error(StatusCode::kInvalidArgument,
                       what + " '" + name +
                           "' is not a name (1-63 of a-z, 0-9 and '-', not starting or ending "
                           "with '-')");
}

Status checkDigits(const std::string& what, const std::string& value, size_t maxLen) {
  bool ok = value.size() <= maxLen;
  for (char c : value) ok = ok && c >= '0' && c <= '9';
  if (ok) return {};
  return Status::error(StatusCode::kInvalidArgument,
                       what + " '" + value + "' is not up to " + std::to_string(maxLen) +
                           " decimal digits");
}

Status checkAppliance(const Appliance& a) {
  if (Status s = checkName("appliance name", a.name); !s) return s;
  if (a.device.empty()) {
    return Status::error(StatusCode::kInvalidArgument,
                         "appliance " + a.name + " names no device (sim:SOCKET, xrt:INDEX)");
  }
  if (Status s = checkUnicastIpv4("appliance " + a.name + " address", a.ip); !s) return s;
  if (Status s = checkUnicastMac("appliance " + a.name + " MAC", a.mac); !s) return s;
  if (a.role == Role::kGate) {
    if (a.gatewayId > 255) {
      return Status::error(StatusCode::kInvalidArgument,
                           "gate " + a.name + " gateway id " + std::to_string(a.gatewayId) +
                               " is not 0..255");
    }
    bool any = false;
    for (size_t i = 0; i < a.natIps.size(); ++i) {
      if (a.natIps[i] == 0) continue;
      any = true;
      if (Status s = checkUnicastIpv4("gate " + a.name + " NAT address " + std::to_string(i),
                                      a.natIps[i]);
          !s) {
        return s;
      }
    }
    if (!any) {
      return Status::error(StatusCode::kInvalidArgument,
                           "gate " + a.name + " has no NAT address (nat_ips: 1 to 4 addresses)");
    }
    if (Status s = checkUnicastMac("gate " + a.name + " service next hop MAC",
                                   a.serviceNextHopMac);
        !s) {
      return s;
    }
    if (Status s = checkUnicastMac("gate " + a.name + " access next hop MAC",
                                   a.accessNextHopMac);
        !s) {
      return s;
    }
  }
  if (a.punt.burst == 0 || a.punt.burst > 0xffff) {
    return Status::error(StatusCode::kInvalidArgument,
                         "appliance " + a.name + " punt burst " + std::to_string(a.punt.burst) +
                             " is not 1..65535");
  }
  return {};
}

namespace {

// A JSON object whose values are all scalars: strings without escapes, unsigned integers,
// true and false. It is read without building a document: session objects, read at every
// change the store reports, are all of this form, and nlohmann's document cost two thirds of
// a session's CPU in roamd. parse() returns false for anything else (an escape, a nested or
// null value, a negative or fractional number, a repeated key, bad syntax, text after the
// object); the caller then reads the text with the full parser, whose verdict stands.
class FlatObject {
 public:
  enum class Type { kString, kNumber, kBool };
  struct Field {
    std::string_view key;
    Type type;
    std::string_view text;  // kString
    uint64_t number = 0;    // kNumber
    bool boolean = false;   // kBool
  };

  bool parse(std::string_view s) {
    s_ = s;
    i_ = 0;
    fields_.clear();
    fields_.reserve(16);
    if (!eat('{')) return false;
    if (eat('}')) return end();
    do {
      Field f;
      if (!string(f.key) || !eat(':') || !value(f)) return false;
      if (find(f.key)) return false;
      fields_.push_back(f);
    } while (eat(','));
    return eat('}') && end();
  }
  const Field* find(std::string_view key) const {
    for (const Field& f : fields_) {
      if (f.key == key) return &f;
    }
    return nullptr;
  }
  const std::vector<Field>& fields() const { return fields_; }

 private:
  void space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    space();
    if (i_ >= s_.size() || s_[i_] != c) return false;
    ++i_;
    return true;
  }
  bool end() {
    space();
    return i_ == s_.size();
  }
  bool string(std::string_view& out) {
    if (!eat('"')) return false;
    size_t b = i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;  // escapes, controls, UTF-8: full parser
      ++i_;
    }
    if (i_ >= s_.size()) return false;
    out = s_.substr(b, i_ - b);
    ++i_;
    return true;
  }
  bool literal(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool value(Field& f) {
    space();
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '"') {
      f.type = Type::kString;
      return string(f.text);
    }
    if (c == 't' || c == 'f') {
      f.type = Type::kBool;
      f.boolean = c == 't';
      return literal(c == 't' ? "true" : "false");
    }
    if (c < '0' || c > '9' || (c == '0' && i_ + 1 < s_.size() && std::isdigit(uint8_t(s_[i_ + 1])))) {
      return false;
    }
    f.type = Type::kNumber;
    uint64_t v = 0;
    while (i_ < s_.size() && std::isdigit(uint8_t(s_[i_]))) {
      uint64_t d = uint64_t(s_[i_] - '0');
      if (v > (UINT64_MAX - d) / 10) return false;
      v = v * 10 + d;
      ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) return false;
    f.number = v;
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
  std::vector<Field> fields_;
};

// Reads fields out of a JSON object, refusing unknown ones and wrong types. With `flat`, an
// object of scalars is read by FlatObject, anything else by nlohmann's parser; both give the
// same fields and the same errors.
class Reader {
 public:
  Reader(const std::string& what, const std::string& text, bool flat = false) : what_(what) {
    flat_ = flat && fo_.parse(text);
    if (flat_) {
      flatSeen_.assign(fo_.fields().size(), false);
      return;
    }
    j_ = json::parse(text, nullptr, false);
    if (j_.is_discarded() || !j_.is_object()) fail("is not a JSON object");
  }
  bool ok() const { return err_.ok(); }
  Status status() const { return err_; }

  void str(const char* k, std::string& out, bool required = true) {
    std::optional<Value> v = field(k, required);
    if (!v) return;
    if (v->type != Value::kString) return fail(std::string("field ") + k + " is not a string");
    out = v->text;
  }
  void u64(const char* k, uint64_t& out, uint64_t max, bool required = true) {
    std::optional<Value> v = field(k, required);
    if (!v) return;
    if (v->type != Value::kNumber || v->number > max) {
      return fail(std::string("field ") + k + " is not a number 0.." + std::to_string(max));
    }
    out = v->number;
  }
  void u32(const char* k, uint32_t& out, bool required = true) {
    uint64_t x = out;
    u64(k, x, 0xffffffffu, required);
    out = static_cast<uint32_t>(x);
  }
  void boolean(const char* k, bool& out, bool required = true) {
    std::optional<Value> v = field(k, required);
    if (!v) return;
    if (v->type != Value::kBool) return fail(std::string("field ") + k + " is not true or false");
    out = v->boolean;
  }
  void ip(const char* k, uint32_t& out, bool required = true) {
    std::string s;
    str(k, s, required);
    if (s.empty()) return;
    std::optional<uint32_t> v = ipv4FromStr(s);
    if (!v) return fail(std::string("field ") + k + " '" + s + "' is not an IPv4 address");
    out = *v;
  }
  void mac(const char* k, uint64_t& out, bool required = true) {
    std::string s;
    str(k, s, required);
    if (s.empty()) return;
    std::optional<uint64_t> v = macFromStr(s);
    if (!v) return fail(std::string("field ") + k + " '" + s + "' is not a MAC address");
    out = *v;
  }
  void teid(const char* k, uint32_t& out, bool required = true) {
    std::string s;
    str(k, s, required);
    if (s.empty()) return;
    std::optional<uint32_t> v = teidFromStr(s);
    if (!v) return fail(std::string("field ") + k + " '" + s + "' is not a TEID (1..0xffffffff)");
    out = *v;
  }
  bool has(const char* k) const { return flat_ ? fo_.find(k) != nullptr : j_.contains(k); }
  // A field as a document (only readers built without `flat`).
  const json* raw(const char* k) {
    if (flat_ || !ok()) return nullptr;
    seen_.insert(k);
    auto it = j_.find(k);
    return it == j_.end() ? nullptr : &*it;
  }
  void fail(const std::string& msg) {
    if (err_.ok()) err_ = Status::error(StatusCode::kInvalidArgument, what_ + ": " + msg);
  }
  // Refuses fields nobody read.
  void done() {
    if (!ok()) return;
    if (flat_) {
      for (size_t i = 0; i < fo_.fields().size(); ++i) {
        if (!flatSeen_[i]) return fail("unknown field '" + std::string(fo_.fields()[i].key) + "'");
      }
      return;
    }
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!seen_.count(it.key())) return fail("unknown field '" + it.key() + "'");
    }
  }

 private:
  // One field's value, from either parser.
  struct Value {
    enum Type { kString, kNumber, kBool, kOther } type = kOther;
    std::string_view text;
    uint64_t number = 0;
    bool boolean = false;
  };
  std::optional<Value> field(const char* k, bool required) {
    if (!ok()) return std::nullopt;
    Value v;
    if (flat_) {
      const FlatObject::Field* f = fo_.find(k);
      if (!f) return missing(k, required);
      flatSeen_[size_t(f - fo_.fields().data())] = true;
      v.type = f->type == FlatObject::Type::kString ? Value::kString
               : f->type == FlatObject::Type::kNumber ? Value::kNumber
                                                      : Value::kBool;
      v.text = f->text;
      v.number = f->number;
      v.boolean = f->boolean;
      return v;
    }
    seen_.insert(k);
    auto it = j_.find(k);
    if (it == j_.end()) return missing(k, required);
    if (it->is_string()) {
      v.type = Value::kString;
      v.text = it->get_ref<const std::string&>();
    } else if (it->is_number_unsigned()) {
      v.type = Value::kNumber;
      v.number = it->get<uint64_t>();
    } else if (it->is_boolean()) {
      v.type = Value::kBool;
      v.boolean = it->get<bool>();
    }
    return v;
  }
  std::optional<Value> missing(const char* k, bool required) {
    if (required) fail(std::string("field ") + k + " is missing");
    return std::nullopt;
  }

  std::string what_;
  bool flat_ = false;
  FlatObject fo_;
  json j_;
  Status err_;
  std::set<std::string, std::less<>> seen_;  // fields read, by the full parser
  std::vector<bool> flatSeen_;               // by FlatObject, one per field in order
};

// JSON text of a string (quotes and escapes as RFC 8259 requires; other bytes as they are).
void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += ch;
    }
  }
  out += '"';
}

}  // namespace

std::string toJson(const Appliance& a) {
  json j = {{"name", a.name},
            {"role", roleName(a.role)},
            {"device", a.device},
            {"machine", a.machine},
            {"ip", ipv4Str(a.ip)},
            {"mac", macStr(a.mac)},
            {"punt_rate", a.punt.rate},
            {"punt_burst", a.punt.burst}};
  if (a.role == Role::kGate) {
    j["gateway_id"] = a.gatewayId;
    json nat = json::array();
    for (uint32_t ip : a.natIps) nat.push_back(ip ? ipv4Str(ip) : "");
    j["nat_ips"] = nat;
    j["service_next_hop_mac"] = macStr(a.serviceNextHopMac);
    j["access_next_hop_mac"] = macStr(a.accessNextHopMac);
    j["idle_ms"] = a.idleMs;
    j["interim_ms"] = a.interimMs;
    j["port_hold"] = a.portHoldSeconds;
    j["port_quota"] = a.portQuota;
    j["external_filtering"] = a.addressFiltering ? "address" : "endpoint";
  }
  return j.dump();
}

Result<Appliance> applianceFromJson(const std::string& text) {
  Reader r("appliance", text);
  Appliance a;
  std::string role;
  r.str("name", a.name);
  r.str("role", role);
  r.str("device", a.device);
  r.str("machine", a.machine);
  r.ip("ip", a.ip);
  r.mac("mac", a.mac);
  r.u32("punt_rate", a.punt.rate);
  r.u32("punt_burst", a.punt.burst);
  if (role == "gate") {
    a.role = Role::kGate;
    r.u32("gateway_id", a.gatewayId);
    r.u32("idle_ms", a.idleMs, /*required=*/false);  // absent in objects written before issue 11
    r.u32("interim_ms", a.interimMs, /*required=*/false);
    r.u32("port_hold", a.portHoldSeconds, /*required=*/false);
    r.u32("port_quota", a.portQuota, /*required=*/false);
    std::string filtering = "endpoint";
    r.str("external_filtering", filtering, /*required=*/false);
    if (filtering != "endpoint" && filtering != "address") {
      r.fail("field external_filtering is '" + filtering + "'; it must be endpoint or address");
    }
    a.addressFiltering = filtering == "address";
    if (const json* nat = r.raw("nat_ips")) {
      if (!nat->is_array() || nat->size() > 4) r.fail("field nat_ips is not a list of 1-4 addresses");
      for (size_t i = 0; r.ok() && i < nat->size(); ++i) {
        const json& e = (*nat)[i];
        std::optional<uint32_t> ip;
        if (e.is_string() && e.get<std::string>().empty()) continue;
        if (e.is_string()) ip = ipv4FromStr(e.get<std::string>());
        if (!ip) r.fail("nat_ips[" + std::to_string(i) + "] is not an IPv4 address");
        else a.natIps[i] = *ip;
      }
    }
    r.mac("service_next_hop_mac", a.serviceNextHopMac);
    r.mac("access_next_hop_mac", a.accessNextHopMac);
  } else if (role != "steer" && r.ok()) {
    r.fail("role '" + role + "' is not steer or gate");
  }
  r.done();
  if (!r.ok()) return r.status();
  return a;
}

std::string toJson(const Liveness& l) {
  return json{{"machine", l.machine}, {"since", l.since}}.dump();
}

Result<Liveness> livenessFromJson(const std::string& text) {
  Reader r("liveness", text);
  Liveness l;
  r.str("machine", l.machine);
  r.str("since", l.since);
  r.done();
  if (!r.ok()) return r.status();
  return l;
}

std::string toJson(const Gateway& g) {
  return json{{"id", g.id}, {"gate", g.gate}, {"ip", ipv4Str(g.ip)}, {"mac", macStr(g.mac)}}
      .dump();
}

Result<Gateway> gatewayFromJson(const std::string& text) {
  Reader r("gateway", text);
  Gateway g;
  uint64_t id = 0;
  r.u64("id", id, 255);
  g.id = static_cast<uint32_t>(id);
  r.str("gate", g.gate);
  r.ip("ip", g.ip);
  r.mac("mac", g.mac);
  r.done();
  if (!r.ok()) return r.status();
  return g;
}

// Written by hand, keys in nlohmann's (sorted) order: a create of many sessions spent a fifth
// of its CPU building and dumping documents.
std::string toJson(const Session& s) {
  std::string o;
  o.reserve(256);
  auto key = [&](const char* k) {
    o += o.empty() ? "{\"" : ",\"";
    o += k;
    o += "\":";
  };
  key("created");
  appendJsonString(o, s.created);
  key("dl_teid");
  appendJsonString(o, teidStr(s.dlTeid));
  key("gate");
  appendJsonString(o, s.gate);
  key("imsi");
  appendJsonString(o, s.imsi);
  key("modified");
  appendJsonString(o, s.modified);
  key("msisdn");
  appendJsonString(o, s.msisdn);
  key("peer");
  appendJsonString(o, ipv4Str(s.peerIp));
  key("pinned");
  o += s.pinned ? "true" : "false";
  if (s.qfi) {
    key("qfi");
    o += std::to_string(*s.qfi);
  }
  key("teid");
  appendJsonString(o, teidStr(s.teid));
  key("ue_ip");
  appendJsonString(o, ipv4Str(s.ueIp));
  o += '}';
  return o;
}

Result<Session> sessionFromJson(const std::string& text) {
  Reader r("session", text, /*flat=*/true);
  Session s;
  r.teid("teid", s.teid);
  r.str("imsi", s.imsi);
  r.str("msisdn", s.msisdn);
  r.ip("ue_ip", s.ueIp);
  r.ip("peer", s.peerIp);
  r.teid("dl_teid", s.dlTeid);
  r.str("gate", s.gate);
  r.boolean("pinned", s.pinned);
  r.str("created", s.created);
  r.str("modified", s.modified);
  uint64_t qfi = 0;
  if (r.has("qfi")) {
    r.u64("qfi", qfi, 63);
    s.qfi = static_cast<uint8_t>(qfi);
  }
  r.done();
  if (!r.ok()) return r.status();
  return s;
}

// ---- Services ---------------------------------------------------------------------------------

const char* vipProtoName(VipProto p) {
  return p == VipProto::kTcp ? "tcp" : p == VipProto::kUdp ? "udp" : "icmp";
}
std::optional<VipProto> vipProtoFromName(std::string_view s) {
  if (s == "tcp") return VipProto::kTcp;
  if (s == "udp") return VipProto::kUdp;
  if (s == "icmp") return VipProto::kIcmp;
  return std::nullopt;
}
const char* userSessionTypeName(UserSessionType t) {
  return t == UserSessionType::kConnection ? "connection"
         : t == UserSessionType::kAffinity ? "affinity"
                                           : "series";
}
std::optional<UserSessionType> userSessionTypeFromName(std::string_view s) {
  if (s == "connection") return UserSessionType::kConnection;
  if (s == "affinity") return UserSessionType::kAffinity;
  if (s == "series") return UserSessionType::kSeries;
  return std::nullopt;
}

std::string vipStr(const Vip& v) {
  if (v.proto == VipProto::kIcmp) return ipv4Str(v.ip) + "/icmp";
  return ipv4Str(v.ip) + ":" + std::to_string(v.port) + "/" + vipProtoName(v.proto);
}

std::string serviceKey(const std::string& name) { return kServicesPrefix + name; }
std::string vipKey(const Vip& v) {
  return kVipsPrefix + ipv4Str(v.ip) + ":" + vipProtoName(v.proto) + ":" + std::to_string(v.port);
}

bool sameService(const Service& a, const Service& b) {
  if (a.servers.size() != b.servers.size()) return false;
  for (size_t i = 0; i < a.servers.size(); ++i) {
    const Server &x = a.servers[i], &y = b.servers[i];
    if (x.ip != y.ip || x.port != y.port || x.weight != y.weight || x.admin != y.admin) return false;
  }
  return a.name == b.name && a.vips == b.vips && a.policy == b.policy && a.hashOn == b.hashOn &&
         a.type == b.type && a.affinitySeconds == b.affinitySeconds && a.check == b.check &&
         a.created == b.created &&
         a.modified == b.modified;
}

Status checkService(const Service& s) {
  auto invalid = [](const std::string& m) { return Status::error(StatusCode::kInvalidArgument, m); };
  if (Status st = checkName("service name", s.name); !st) return st;
  const std::string at = "service " + s.name;
  if (s.vips.empty() || s.vips.size() > kMaxServiceVips) {
    return invalid(at + " has " + std::to_string(s.vips.size()) +
                   " representative addresses (1.." + std::to_string(kMaxServiceVips) + ")");
  }
  bool ported = false;
  std::set<Vip> vips;
  std::set<uint32_t> vipIps;
  for (const Vip& v : s.vips) {
    if (Status st = checkUnicastIpv4(at + " VIP", v.ip); !st) return st;
    if (v.proto == VipProto::kIcmp && v.port != 0) {
      return invalid(at + " VIP " + ipv4Str(v.ip) + ":" + std::to_string(v.port) +
                     "/icmp has a port (an icmp VIP takes none: " + ipv4Str(v.ip) + "/icmp)");
    }
    if (v.proto != VipProto::kIcmp && v.port == 0) {
      return invalid(at + " VIP " + ipv4Str(v.ip) + "/" + vipProtoName(v.proto) +
                     " has port 0 (a tcp or udp VIP takes a port 1..65535)");
    }
    ported = ported || v.proto != VipProto::kIcmp;
    if (!vips.insert(v).second) return invalid(at + " lists VIP " + vipStr(v) + " twice");
    vipIps.insert(v.ip);
  }
  if (s.servers.size() > kMaxServiceServers) {
    return invalid(at + " has " + std::to_string(s.servers.size()) + " servers (at most " +
                   std::to_string(kMaxServiceServers) + ")");
  }
  std::set<std::pair<uint32_t, uint16_t>> seen;
  for (const Server& v : s.servers) {
    std::string sv = serverStr(v.ip, v.port);
    if (Status st = checkUnicastIpv4(at + " server", v.ip); !st) return st;
    if (vipIps.count(v.ip)) {
      return invalid(at + " server " + sv + " is one of the service's VIPs (a server is not a VIP)");
    }
    if (ported && v.port == 0) {
      return invalid(at + " server " + sv + " has no port (1..65535: the service has a tcp or udp VIP)");
    }
    if (!ported && v.port != 0) {
      return invalid(at + " server " + sv + " has a port (the service's VIPs are all icmp: none)");
    }
    if (v.weight < 1 || v.weight > kMaxServerWeight) {
      return invalid(at + " server " + sv + " weight " + std::to_string(v.weight) + " is not 1..65535");
    }
    if (!seen.insert({v.ip, v.port}).second) return invalid(at + " lists server " + sv + " twice");
  }
  if (s.type == UserSessionType::kAffinity &&
      (s.affinitySeconds < 1 || s.affinitySeconds > kMaxAffinitySeconds)) {
    return invalid(at + " affinity time " + std::to_string(s.affinitySeconds) +
                   " s is not 1.." + std::to_string(kMaxAffinitySeconds));
  }
  if (!s.check.empty()) {
    Result<HealthCheckConfig> c = parseCheckSpec(s.check);
    if (!c.ok()) return invalid(at + " " + c.status().message());
    bool ported = false;
    for (const Vip& v : s.vips) ported = ported || v.proto != VipProto::kIcmp;
    if (!ported) return invalid(at + " has a health check, and its servers have no port (icmp only): none can run");
  }
  return {};
}

std::string toJson(const Service& s) {
  json vips = json::array();
  for (const Vip& v : s.vips) {
    json jv = {{"ip", ipv4Str(v.ip)}, {"proto", vipProtoName(v.proto)}};
    if (v.proto != VipProto::kIcmp) jv["port"] = v.port;
    vips.push_back(jv);
  }
  json servers = json::array();
  for (const Server& v : s.servers) {
    json jv = {{"ip", ipv4Str(v.ip)}, {"weight", v.weight}, {"admin", std::string(adminStateName(v.admin))}};
    if (v.port) jv["port"] = v.port;
    servers.push_back(jv);
  }
  json j = {{"name", s.name},
            {"vips", vips},
            {"servers", servers},
            {"policy", std::string(policyName(s.policy))},
            {"hash", std::string(hashOnName(s.hashOn))},
            {"type", userSessionTypeName(s.type)},
            {"created", s.created},
            {"modified", s.modified}};
  if (s.type == UserSessionType::kAffinity) j["affinity_time"] = s.affinitySeconds;
  if (!s.check.empty()) j["check"] = s.check;
  return j.dump();
}

Result<Service> serviceFromJson(const std::string& text) {
  Reader r("service", text);
  Service s;
  r.str("name", s.name);
  std::string policy, hash, type;
  const json* vips = r.raw("vips");
  if (r.ok() && (!vips || !vips->is_array())) r.fail("field vips is not a list of VIPs");
  for (size_t i = 0; r.ok() && i < vips->size(); ++i) {
    Reader e("service vips[" + std::to_string(i) + "]", (*vips)[i].dump());
    Vip v;
    std::string proto;
    e.ip("ip", v.ip);
    e.str("proto", proto);
    std::optional<VipProto> p = vipProtoFromName(proto);
    if (e.ok() && !p) e.fail("proto '" + proto + "' is not tcp, udp or icmp");
    if (e.ok()) v.proto = *p;
    uint64_t port = 0;
    if (e.ok() && v.proto != VipProto::kIcmp) e.u64("port", port, 65535);
    v.port = static_cast<uint16_t>(port);
    e.done();
    if (!e.ok()) return e.status();
    s.vips.push_back(v);
  }
  const json* servers = r.raw("servers");
  if (r.ok() && (!servers || !servers->is_array())) r.fail("field servers is not a list of servers");
  for (size_t i = 0; r.ok() && i < servers->size(); ++i) {
    Reader e("service servers[" + std::to_string(i) + "]", (*servers)[i].dump());
    Server v;
    uint64_t port = 0, weight = 0;
    std::string admin;
    e.ip("ip", v.ip);
    e.u64("port", port, 65535, /*required=*/false);
    e.u64("weight", weight, kMaxServerWeight);
    e.str("admin", admin);
    std::optional<AdminState> a = adminStateFromName(admin);
    if (e.ok() && !a) e.fail("admin '" + admin + "' is not up, drain or down");
    e.done();
    if (!e.ok()) return e.status();
    v.port = static_cast<uint16_t>(port);
    v.weight = static_cast<uint32_t>(weight);
    v.admin = *a;
    s.servers.push_back(v);
  }
  r.str("policy", policy);
  r.str("hash", hash);
  r.str("type", type);
  r.str("created", s.created);
  r.str("modified", s.modified);
  if (r.ok()) {
    std::optional<SelectionPolicy> p = policyFromName(policy);
    std::optional<HashOn> h = hashOnFromName(hash);
    std::optional<UserSessionType> t = userSessionTypeFromName(type);
    if (!p) r.fail("policy '" + policy + "' is not maglev, least_sessions or round_robin");
    else if (!h) r.fail("hash '" + hash + "' is not terminal or 5tuple");
    else if (!t) r.fail("type '" + type + "' is not connection, affinity or series");
    else {
      s.policy = *p;
      s.hashOn = *h;
      s.type = *t;
    }
  }
  if (r.ok() && s.type == UserSessionType::kAffinity) {
    r.u32("affinity_time", s.affinitySeconds);
  }
  r.str("check", s.check, /*required=*/false);
  r.done();
  if (!r.ok()) return r.status();
  return s;
}

std::string policyKey(const std::string& name) { return kPoliciesPrefix + name; }
std::string subscriberKey(const std::string& imsi) { return kSubscribersPrefix + imsi; }

std::string toJson(const SubscriberPolicy& p) {
  json j = {{"name", p.name},
            {"any_service", p.anyService},
            {"services", p.services},
            {"external", p.external},
            {"max_user_sessions", p.maxUserSessions},
            {"new_per_second", p.newPerSecond},
            {"deny_time", p.denySeconds}};
  return j.dump();
}

Result<SubscriberPolicy> policyFromJson(const std::string& text) {
  Reader r("policy", text);
  SubscriberPolicy p;
  r.str("name", p.name);
  r.boolean("any_service", p.anyService);
  const json* services = r.raw("services");
  if (r.ok() && (!services || !services->is_array())) r.fail("field services is not a list of service names");
  for (size_t i = 0; r.ok() && i < services->size(); ++i) {
    if (!(*services)[i].is_string()) {
      r.fail("services[" + std::to_string(i) + "] is not a service name");
      break;
    }
    p.services.push_back((*services)[i].get<std::string>());
  }
  r.boolean("external", p.external);
  r.u32("max_user_sessions", p.maxUserSessions);
  r.u32("new_per_second", p.newPerSecond);
  r.u32("deny_time", p.denySeconds);
  r.done();
  if (!r.ok()) return r.status();
  if (Status st = checkPolicy(p); !st) return st;
  return p;
}

std::string toJson(const SubscriberAssignment& a) {
  return json{{"imsi", a.imsi}, {"policy", a.policy}}.dump();
}

Result<SubscriberAssignment> assignmentFromJson(const std::string& text) {
  Reader r("subscriber", text);
  SubscriberAssignment a;
  r.str("imsi", a.imsi);
  r.str("policy", a.policy);
  r.done();
  if (!r.ok()) return r.status();
  if (Status st = checkDigits("IMSI", a.imsi, 15); !st) return st;
  if (Status st = checkName("policy name", a.policy); !st) return st;
  return a;
}

}  // namespace roamgate::control
