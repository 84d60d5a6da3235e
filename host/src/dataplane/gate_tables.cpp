#include "roamgate/dataplane/gate_tables.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

#include "roamgate/addr.h"
#include "roamgate/hash.h"

namespace roamgate::dataplane {

namespace r = regs::gate;
namespace pe = regs::gate::port_entry;
using hal::RegOp;

namespace {

RegOp wr(uint32_t a, uint32_t v) { return {true, a, v}; }
RegOp rd(uint32_t a) { return {false, a, 0}; }

std::string hex(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

uint32_t flowAddr(uint32_t bank, uint32_t bucket, uint32_t slot) {
  return r::flow::kAddrBank.put(bank) | r::flow::kAddrBucket.put(bucket) | r::flow::kAddrSlot.put(slot);
}

uint32_t portIndex(uint8_t addrIndex, uint16_t port) {
  return r::port::kIndexAddrIndex.put(addrIndex) | r::port::kIndexPort.put(port);
}

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// A word as its big-endian bytes hold it in memory (network order).
uint32_t toBig(uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap32(v);
  return v;
}

uint32_t flagBit(r::PortFlag f) { return 1u << uint32_t(f); }

}  // namespace

FlowKeyBytes FlowKey::bytes() const {
  // Three big-endian words, then the protocol and the ports: whole-word stores.
  FlowKeyBytes b{};
  uint32_t w[3] = {toBig(teid), toBig(src), toBig(dst)};
  std::memcpy(b.data(), w, sizeof w);
  b[12] = proto;
  uint32_t ports = toBig(uint32_t(sport) << 16 | dport);
  std::memcpy(b.data() + 13, &ports, 4);
  return b;
}

FlowKey FlowKey::fromBytes(const FlowKeyBytes& b) {
  return {be32(&b[0]), be32(&b[4]), be32(&b[8]), b[12], uint16_t(b[13] << 8 | b[14]),
          uint16_t(b[15] << 8 | b[16])};
}

uint32_t flowHash(uint32_t bank, const FlowKeyBytes& key) { return bank ? crc32(key) : crc32c(key); }

std::string flowStr(const FlowKey& k) {
  // A port entry does not hold the TEID: its flow reads with TEID 0, shown without it.
  std::string t = k.teid ? "TEID " + teidStr(k.teid) + " " : std::string();
  if (k.proto == 1) return t + "icmp " + ipv4Str(k.src) + " id " + std::to_string(k.sport) + " -> " + ipv4Str(k.dst);
  std::string p = k.proto == 6 ? "tcp" : k.proto == 17 ? "udp" : "proto " + std::to_string(k.proto);
  return t + p + " " + ipv4Str(k.src) + ":" + std::to_string(k.sport) + " -> " + ipv4Str(k.dst) + ":" +
         std::to_string(k.dport);
}

std::string portStr(uint8_t addrIndex, uint16_t port) { return std::to_string(addrIndex) + ":" + std::to_string(port); }

// A byte-aligned field of the port entry into its data words (byte k of the entry is bits
// 8 * (k % 4) of word k / 4). Inlined with a constant field, it is a shift and an or per word.
inline void putEntryField(std::array<uint32_t, 8>& w, const r::Field& f, uint64_t value) {
  for (uint32_t i = 0; i < f.width / 8; ++i) {
    uint32_t byte = f.lsb / 8 + i;
    w[byte / 4] |= uint32_t(uint8_t(value >> (8 * i))) << (8 * (byte % 4));
  }
}

std::array<uint32_t, 8> encodePortEntry(const UserSession& s, bool valid) {
  static_assert(pe::kBytes == 8 * sizeof(uint32_t), "a port entry is eight data words");
  uint32_t flags = (valid ? flagBit(r::PortFlag::kValid) : 0) |
                   (s.allow ? flagBit(r::PortFlag::kAllow) : 0) |
                   (s.external ? flagBit(r::PortFlag::kExternal) : 0) |
                   (s.external && s.filterAddr ? flagBit(r::PortFlag::kFilterAddr) : 0) |
                   (s.qfi ? flagBit(r::PortFlag::kQfiValid) : 0);
  std::array<uint32_t, 8> w{};
  putEntryField(w, pe::kProto, s.flow.proto);
  putEntryField(w, pe::kQfi, s.qfi.value_or(0) & 0x3f);
  putEntryField(w, pe::kGen, s.gen);
  putEntryField(w, pe::kFlags, flags);
  putEntryField(w, pe::kServerIpv4, s.external ? s.flow.dst : s.serverIp);
  putEntryField(w, pe::kServerPort, s.external ? s.flow.dport : s.serverPort);
  putEntryField(w, pe::kVipIpv4, s.flow.dst);
  putEntryField(w, pe::kVipPort, s.flow.dport);
  putEntryField(w, pe::kTermIpv4, s.flow.src);
  putEntryField(w, pe::kTermPort, s.flow.sport);
  putEntryField(w, pe::kPeerIpv4, s.peerIp);
  putEntryField(w, pe::kDlTeid, s.dlTeid);
  return w;
}

UserSession decodePortEntry(const std::array<uint32_t, 8>& w, uint8_t addrIndex, uint16_t port,
                            bool& valid) {
  std::array<uint8_t, pe::kBytes> b{};
  for (int i = 0; i < 32; ++i) b[i] = uint8_t(w[i / 4] >> (8 * (i % 4)));
  uint32_t flags = uint32_t(pe::kFlags.getLe(b.data()));
  UserSession s;
  valid = flags & flagBit(r::PortFlag::kValid);
  s.allow = flags & flagBit(r::PortFlag::kAllow);
  s.external = flags & flagBit(r::PortFlag::kExternal);
  s.filterAddr = s.external && (flags & flagBit(r::PortFlag::kFilterAddr));
  if (flags & flagBit(r::PortFlag::kQfiValid)) s.qfi = uint8_t(pe::kQfi.getLe(b.data()) & 0x3f);
  s.flow.proto = uint8_t(pe::kProto.getLe(b.data()));
  s.gen = uint8_t(pe::kGen.getLe(b.data()));
  s.serverIp = uint32_t(pe::kServerIpv4.getLe(b.data()));
  s.serverPort = uint16_t(pe::kServerPort.getLe(b.data()));
  s.flow.dst = uint32_t(pe::kVipIpv4.getLe(b.data()));
  s.flow.dport = uint16_t(pe::kVipPort.getLe(b.data()));
  s.flow.src = uint32_t(pe::kTermIpv4.getLe(b.data()));
  s.flow.sport = uint16_t(pe::kTermPort.getLe(b.data()));
  s.peerIp = uint32_t(pe::kPeerIpv4.getLe(b.data()));
  s.dlTeid = uint32_t(pe::kDlTeid.getLe(b.data()));
  s.addrIndex = addrIndex;
  s.port = port;
  return s;
}

ExportRecordView ExportRecordView::decode(const std::array<uint8_t, 64>& rec) {
  namespace x = r::export_record;
  ExportRecordView v;
  v.reason = r::ExportReason(x::kReason.getLe(rec.data()));
  uint32_t flags = uint32_t(x::kFlags.getLe(rec.data()));
  v.fin = flags & 1;
  v.rst = flags & 2;
  v.port = uint16_t(x::kPort.getLe(rec.data()));
  v.addrIndex = uint8_t(x::kAddrIndex.getLe(rec.data()));
  v.gen = uint8_t(x::kGen.getLe(rec.data()));
  v.lastSeen = uint32_t(x::kLastSeen.getLe(rec.data()));
  v.now = uint32_t(x::kNow.getLe(rec.data()));
  v.ulPkts = x::kUlPkts.getLe(rec.data());
  v.ulBytes = x::kUlBytes.getLe(rec.data());
  v.dlPkts = x::kDlPkts.getLe(rec.data());
  v.dlBytes = x::kDlBytes.getLe(rec.data());
  return v;
}

GateTables::GateTables(hal::Device& dev)
    : dev_(dev),
      flow_(r::kFlowBucketsLog2, r::kFlowSlots, flowHash,
            [this](uint32_t bank, uint32_t bucket, std::vector<Slot>& out) {
              return loadBucket(bank, bucket, out);
            }) {}

Status GateTables::checkKernel() {
  std::vector<RegOp> ops = {rd(r::ctrl::kId), rd(r::ctrl::kRegmap), rd(r::flow::kGeometry),
                            rd(r::port::kGeometry)};
  if (Status s = dev_.transact(ops); !s) return s;
  if (ops[0].value != r::kKernelId) {
    return Status::error(dev_.describe() + " is not a gate kernel (id " + hex(ops[0].value) + ")");
  }
  if (ops[1].value != r::kRegmapCrc) {
    return Status::error(dev_.describe() + " has register map " + hex(ops[1].value) +
                         ", this program was built for " + hex(r::kRegmapCrc));
  }
  uint32_t fgeo = r::flow::kGeometryBanks.put(2) | r::flow::kGeometrySlots.put(r::kFlowSlots) |
                  r::flow::kGeometryBucketsLog2.put(r::kFlowBucketsLog2);
  uint32_t pgeo = r::port::kGeometryAddrs.put(r::kNatAddrs) | r::port::kGeometryPortsLog2.put(r::kPortsLog2);
  if (ops[2].value != fgeo || ops[3].value != pgeo) {
    return Status::error("table geometry " + hex(ops[2].value) + "/" + hex(ops[3].value) +
                         " differs from " + hex(fgeo) + "/" + hex(pgeo));
  }
  return {};
}

Status GateTables::readConfig(GateConfig& c) {
  std::vector<RegOp> ops = {rd(r::ctrl::kAccessIpv4), rd(r::ctrl::kOwnMacLo), rd(r::ctrl::kOwnMacHi),
                            rd(r::ctrl::kSvcMacLo),   rd(r::ctrl::kSvcMacHi), rd(r::ctrl::kAccMacLo),
                            rd(r::ctrl::kAccMacHi),   rd(r::ctrl::kOuterTtl), rd(r::ctrl::kTickShift),
                            rd(r::ctrl::kPuntRate),   rd(r::ctrl::kPuntBurst)};
  for (uint32_t i = 0; i < 4; ++i) ops.push_back(rd(r::ctrl::kNatIpv4 + 4 * i));
  if (Status s = dev_.transact(ops); !s) return s;
  c.accessIp = ops[0].value;
  c.ownMac = uint64_t(ops[2].value & 0xffff) << 32 | ops[1].value;
  c.svcNextHopMac = uint64_t(ops[4].value & 0xffff) << 32 | ops[3].value;
  c.accNextHopMac = uint64_t(ops[6].value & 0xffff) << 32 | ops[5].value;
  c.outerTtl = ops[7].value;
  c.tickShift = ops[8].value;
  c.puntRate = ops[9].value;
  c.puntBurst = ops[10].value;
  for (uint32_t i = 0; i < 4; ++i) c.natIps[i] = ops[11 + i].value;
  return {};
}

Status GateTables::writeConfig(const GateConfig& c) {
  if (c.outerTtl == 0 || c.outerTtl > 255) return Status::error("outer TTL must be 1..255");
  if (c.tickShift > 31) return Status::error("tick shift must be 0..31");
  if (c.puntBurst > 0xffff) return Status::error("punt burst must be at most 65535");
  std::vector<RegOp> ops = {
      wr(r::ctrl::kAccessIpv4, c.accessIp),
      wr(r::ctrl::kOwnMacLo, uint32_t(c.ownMac)),
      wr(r::ctrl::kOwnMacHi, uint32_t(c.ownMac >> 32) & 0xffff),
      wr(r::ctrl::kSvcMacLo, uint32_t(c.svcNextHopMac)),
      wr(r::ctrl::kSvcMacHi, uint32_t(c.svcNextHopMac >> 32) & 0xffff),
      wr(r::ctrl::kAccMacLo, uint32_t(c.accNextHopMac)),
      wr(r::ctrl::kAccMacHi, uint32_t(c.accNextHopMac >> 32) & 0xffff),
      wr(r::ctrl::kOuterTtl, c.outerTtl),
      wr(r::ctrl::kTickShift, c.tickShift),
      wr(r::ctrl::kPuntRate, c.puntRate),
      wr(r::ctrl::kPuntBurst, c.puntBurst),
  };
  for (uint32_t i = 0; i < 4; ++i) ops.push_back(wr(r::ctrl::kNatIpv4 + 4 * i, c.natIps[i]));
  return dev_.transact(ops);
}

Status GateTables::loadBucket(uint32_t bank, uint32_t bucket, std::vector<Slot>& out) {
  return loadBuckets(bank, bucket, 1, out);
}

Status GateTables::loadBuckets(uint32_t bank, uint32_t first, uint32_t count, std::vector<Slot>& out) {
  std::vector<RegOp> ops;
  ops.reserve(size_t(8) * r::kFlowSlots * count);
  for (uint32_t b = first; b < first + count; ++b) {
    for (uint32_t s = 0; s < r::kFlowSlots; ++s) {
      ops.push_back(wr(r::flow::kAddr, flowAddr(bank, b, s)));
      ops.push_back(wr(r::flow::kCmd, r::flow::kCmdRead.put(1)));
      for (uint32_t k = 0; k < 5; ++k) ops.push_back(rd(r::flow::kRkey0 + 4 * k));
      ops.push_back(rd(r::flow::kRvalue));
    }
  }
  if (Status st = dev_.transact(ops); !st) return st;
  out.resize(size_t(r::kFlowSlots) * count);
  for (size_t s = 0; s < out.size(); ++s) {
    const RegOp* o = &ops[8 * s + 2];
    FlowKey k{o[0].value, o[1].value, o[2].value, uint8_t(o[4].value), uint16_t(o[3].value >> 16),
              uint16_t(o[3].value)};
    out[s] = {bool(r::flow::kValueValid.get(o[5].value)), k.bytes(),
              uint32_t(o[5].value & (r::flow::kValuePort.mask() | r::flow::kValueAddrIndex.mask() << 16))};
  }
  return {};
}

namespace {
// The register writes of flow-slot writes: stage the slot, then commit it in one cycle.
void appendFlowOps(const std::vector<BasicCuckooWrite<FlowKeyBytes>>& writes, std::vector<RegOp>& ops) {
  for (const auto& w : writes) {
    FlowKey k = FlowKey::fromBytes(w.entry.key);
    ops.push_back(wr(r::flow::kAddr, flowAddr(w.bank, w.bucket, w.slot)));
    ops.push_back(wr(r::flow::kKey0, k.teid));
    ops.push_back(wr(r::flow::kKey1, k.src));
    ops.push_back(wr(r::flow::kKey2, k.dst));
    ops.push_back(wr(r::flow::kKey3, uint32_t(k.sport) << 16 | k.dport));
    ops.push_back(wr(r::flow::kKey4, k.proto));
    ops.push_back(wr(r::flow::kValue, r::flow::kValueValid.put(w.entry.valid) | w.entry.value));
    ops.push_back(wr(r::flow::kCmd, r::flow::kCmdCommit.put(1)));
  }
}
}  // namespace

Status GateTables::applyFlows(const std::vector<Write>& writes) {
  std::vector<RegOp> ops;
  appendFlowOps(writes, ops);
  return dev_.transact(ops);
}

Status GateTables::portCommand(uint32_t index, uint32_t cmd, const std::array<uint32_t, 8>* words) {
  std::vector<RegOp> ops;
  if (words) {
    for (uint32_t i = 0; i < 8; ++i) ops.push_back(wr(r::port::kData + 4 * i, (*words)[i]));
  }
  ops.push_back(wr(r::port::kIndex, index));
  ops.push_back(wr(r::port::kCmd, cmd));
  // No STATUS polling: the kernel holds the next staging write or read-back until the
  // command is done (the port block's description in hw/regs/gate.toml).
  return dev_.transact(ops);
}

Status GateTables::readEntry(uint8_t addrIndex, uint16_t port, std::array<uint32_t, 8>& words) {
  if (Status s = portCommand(portIndex(addrIndex, port), r::port::kCmdRead.put(1), nullptr); !s) return s;
  std::vector<RegOp> ops;
  for (uint32_t i = 0; i < 8; ++i) ops.push_back(rd(r::port::kRdata + 4 * i));
  if (Status s = dev_.transact(ops); !s) return s;
  for (uint32_t i = 0; i < 8; ++i) words[i] = ops[i].value;
  return {};
}

Status GateTables::checkSession(const UserSession& s) {
  if (Status st = checkFields(s); !st) return st;
  auto bad = [](const std::string& m) { return Status::error(StatusCode::kInvalidArgument, m); };
  GateConfig cfg;
  if (Status st = readConfig(cfg); !st) return st;
  if (cfg.accessIp == 0) return bad("the gate's access address is not configured (roamctl config --access-ip A)");
  if (cfg.natIps[s.addrIndex] == 0) {
    return bad("gate address index " + std::to_string(s.addrIndex) + " is not configured (roamctl config --nat-ip " +
               std::to_string(s.addrIndex) + "=A)");
  }
  return {};
}

Status GateTables::checkFields(const UserSession& s) {
  auto bad = [](const std::string& m) { return Status::error(StatusCode::kInvalidArgument, m); };
  if (s.addrIndex >= r::kNatAddrs) {
    return bad("gate address index " + std::to_string(s.addrIndex) + " is out of range 0.." + std::to_string(r::kNatAddrs - 1));
  }
  if (s.port == 0 || (uint32_t(s.port) >> r::kPortsLog2) != 0) {
    return bad("user-session port " + std::to_string(s.port) + " is out of range 1.." + std::to_string((1u << r::kPortsLog2) - 1));
  }
  if (s.qfi && *s.qfi > 63) return bad("QFI " + std::to_string(*s.qfi) + " is out of range 0..63");
  const FlowKey& f = s.flow;
  if (f.proto != 6 && f.proto != 17 && f.proto != 1) {
    return bad("protocol " + std::to_string(f.proto) + ": the gate rewrites TCP (6), UDP (17) and ICMP echo (1) only");
  }
  if (f.teid == 0) return bad("TEID 0 is reserved for GTP-U signalling; a user session's TEID is 0x1..0xffffffff");
  if (s.dlTeid == 0) return bad("downlink TEID 0 is reserved for GTP-U signalling; it must be 0x1..0xffffffff");
  if (f.proto != 1 && (f.sport == 0 || f.dport == 0)) {
    return bad("a TCP or UDP flow needs ports 1..65535 (" + flowStr(f) + ")");
  }
  if (!isUnicastIpv4(f.src)) return checkUnicastIpv4("terminal address", f.src);
  if (!isUnicastIpv4(f.dst)) return checkUnicastIpv4("destination address", f.dst);
  if (!isUnicastIpv4(s.peerIp)) return checkUnicastIpv4("downlink peer", s.peerIp);
  if (s.filterAddr && !s.external) return bad("address filtering applies to an external user session only");
  if (!s.external) {
    if (!isUnicastIpv4(s.serverIp)) return checkUnicastIpv4("server address", s.serverIp);
    if (f.proto != 1 && s.serverPort == 0) return bad("server port 0: a TCP or UDP server needs a port 1..65535");
  }
  return {};
}

Status GateTables::queueFlow(const FlowKey& key, std::optional<uint32_t> value) {
  if (Status st = mirrorFlow(key, value); !st) return st;
  appendFlowOps(writes_, ops_);
  return {};
}

Status GateTables::mirrorFlow(const FlowKey& key, std::optional<uint32_t> value) {
  writes_.clear();
  Status st = value ? flow_.insert(key.bytes(), *value, writes_, /*mustBeNew=*/true)
                    : flow_.remove(key.bytes(), writes_);
  if (!st) {
    if (st.code() == StatusCode::kNotFound) return Status::error(st.code(), "no flow " + flowStr(key));
    if (st.code() == StatusCode::kAlreadyExists) {
      return Status::error(st.code(), "flow " + flowStr(key) + " is in the flow table already");
    }
    return Status::error(st.code(), "flow table: " + flowStr(key) + ": " +
                                        (st.code() == StatusCode::kFull ? "no room along any cuckoo path" : st.message()));
  }
  return {};
}

void GateTables::queuePort(const UserSession& s, bool valid) {
  std::array<uint32_t, 8> w = encodePortEntry(s, valid);
  for (uint32_t i = 0; i < 8; ++i) ops_.push_back(wr(r::port::kData + 4 * i, w[i]));
  ops_.push_back(wr(r::port::kIndex, portIndex(s.addrIndex, s.port)));
  ops_.push_back(wr(r::port::kCmd, r::port::kCmdCommit.put(1)));
}

Status GateTables::sendQueued() { return dev_.transact(ops_); }

Status GateTables::installNew(const UserSession& s) {
  if (Status st = checkFields(s); !st) return st;
  ops_.clear();
  // The flow first in the mirror (refused there if present: nothing is sent); on the device
  // it follows the port entry. It may commit before the port entry does: its packets miss
  // until then (punted).
  uint32_t value = r::flow::kValueAddrIndex.put(s.addrIndex) | r::flow::kValuePort.put(s.port);
  if (Status st = mirrorFlow(s.flow, value); !st) return st;
  queuePort(s, true);
  appendFlowOps(writes_, ops_);
  return sendQueued();
}

Status GateTables::retargetKnown(const FlowKey& oldFlow, const UserSession& s) {
  if (Status st = checkFields(s); !st) return st;
  std::optional<Slot> found;
  if (Status st = flow_.find(s.flow.bytes(), found); !st) return st;
  if (found) {
    return Status::error(StatusCode::kAlreadyExists, "flow " + flowStr(s.flow) + " is in the flow table already");
  }
  ops_.clear();
  // The old flow first: until the new one commits, the terminal's packets miss (punted).
  if (Status st = queueFlow(oldFlow, std::nullopt); !st && st.code() != StatusCode::kNotFound) return st;
  queuePort(s, true);
  uint32_t value = r::flow::kValueAddrIndex.put(s.addrIndex) | r::flow::kValuePort.put(s.port);
  if (Status st = queueFlow(s.flow, value); !st) return st;
  return sendQueued();
}

Status GateTables::addFlowKnown(const FlowKey& key, uint8_t addrIndex, uint16_t port) {
  ops_.clear();
  uint32_t value = r::flow::kValueAddrIndex.put(addrIndex) | r::flow::kValuePort.put(port);
  if (Status st = queueFlow(key, value); !st) return st;
  return dev_.transact(ops_);
}

Status GateTables::removeKnown(std::span<const FlowKey> flows, const UserSession& s) {
  ops_.clear();
  for (const FlowKey& k : flows) {
    Status st = queueFlow(k, std::nullopt);
    if (!st && st.code() != StatusCode::kNotFound) return st;  // a flow already gone is fine
  }
  queuePort(s, false);
  return sendQueued();
}

Status GateTables::loadFlows() {
  std::vector<FlowEntry> none;
  return listFlows(none, [](const FlowKey&) { return false; });
}

Status GateTables::installSession(const UserSession& s, bool replace) {
  if (Status st = checkSession(s); !st) return st;
  std::string at = portStr(s.addrIndex, s.port);
  std::optional<std::pair<uint8_t, uint16_t>> owner;
  if (Status st = findFlow(s.flow, owner); !st) return st;
  if (owner && *owner != std::pair{s.addrIndex, s.port}) {
    return Status::error(StatusCode::kAlreadyExists, "flow " + flowStr(s.flow) + " belongs to the user session on " +
                                                         portStr(owner->first, owner->second) + "; remove it first");
  }
  PortState old;
  if (Status st = readPort(s.addrIndex, s.port, old); !st) return st;
  if (old.valid) {
    if (!replace) {
      return Status::error(StatusCode::kAlreadyExists, "port " + at + " holds a user session (" +
                                                           flowStr(old.session.flow) + "); replace it or remove it first");
    }
    // The old session's flows go first: none may point at the new session's entry.
    std::vector<FlowKey> flows;
    if (Status st = flowsOfPort(s.addrIndex, s.port, flows); !st) return st;
    for (const FlowKey& k : flows) {
      if (k == s.flow) continue;  // the new session's own flow is rewritten in place
      if (Status st = removeFlow(k); !st) return st;
    }
  }
  std::array<uint32_t, 8> w = encodePortEntry(s, true);
  if (Status st = portCommand(portIndex(s.addrIndex, s.port), r::port::kCmdCommit.put(1), &w); !st) return st;
  return addFlow(s.flow, s.addrIndex, s.port);
}

Status GateTables::addFlow(const FlowKey& key, uint8_t addrIndex, uint16_t port) {
  std::vector<Write> writes;
  uint32_t value = r::flow::kValueAddrIndex.put(addrIndex) | r::flow::kValuePort.put(port);
  if (Status st = flow_.insert(key.bytes(), value, writes); !st) {
    return Status::error(st.code(), "flow table: " + flowStr(key) + ": " +
                                        (st.code() == StatusCode::kFull ? "no room along any cuckoo path" : st.message()));
  }
  return applyFlows(writes);
}

Status GateTables::removeFlow(const FlowKey& key) {
  std::vector<Write> writes;
  if (Status st = flow_.remove(key.bytes(), writes); !st) {
    if (st.code() == StatusCode::kNotFound) return Status::error(st.code(), "no flow " + flowStr(key));
    return st;
  }
  return applyFlows(writes);
}

Status GateTables::invalidatePort(uint8_t addrIndex, uint16_t port) {
  std::array<uint32_t, 8> w{};
  if (Status st = readEntry(addrIndex, port, w); !st) return st;
  w[pe::kFlags.lsb / 32] &= ~(flagBit(r::PortFlag::kValid) << (pe::kFlags.lsb % 32));
  return portCommand(portIndex(addrIndex, port), r::port::kCmdCommit.put(1), &w);
}

Status GateTables::removeSession(const FlowKey& key, uint8_t addrIndex, uint16_t port) {
  std::optional<std::pair<uint8_t, uint16_t>> owner;
  if (Status st = findFlow(key, owner); !st) return st;
  if (!owner) return Status::error(StatusCode::kNotFound, "no flow " + flowStr(key));
  if (*owner != std::pair{addrIndex, port}) {
    return Status::error(StatusCode::kInvalidArgument, "flow " + flowStr(key) + " belongs to the user session on " +
                                                           portStr(owner->first, owner->second) + ", not " +
                                                           portStr(addrIndex, port) + "; nothing removed");
  }
  if (Status st = removeFlow(key); !st) return st;
  return invalidatePort(addrIndex, port);
}

Status GateTables::flowsOfPort(uint8_t addrIndex, uint16_t port, std::vector<FlowKey>& out) {
  out.clear();
  uint32_t want = r::flow::kValueAddrIndex.put(addrIndex) | r::flow::kValuePort.put(port);
  uint32_t valueMask = r::flow::kValueValid.put(1) | r::flow::kValuePort.put(r::flow::kValuePort.mask()) |
                       r::flow::kValueAddrIndex.put(r::flow::kValueAddrIndex.mask());
  uint32_t buckets = 1u << r::kFlowBucketsLog2;
  constexpr uint32_t kBatch = 2048;  // buckets a round trip: their values only (3 operations a slot)
  for (uint32_t bank = 0; bank < 2; ++bank) {
    for (uint32_t b0 = 0; b0 < buckets; b0 += kBatch) {
      std::vector<RegOp> ops;
      ops.reserve(3 * r::kFlowSlots * kBatch);
      for (uint32_t b = b0; b < b0 + kBatch && b < buckets; ++b) {
        for (uint32_t sl = 0; sl < r::kFlowSlots; ++sl) {
          ops.push_back(wr(r::flow::kAddr, flowAddr(bank, b, sl)));
          ops.push_back(wr(r::flow::kCmd, r::flow::kCmdRead.put(1)));
          ops.push_back(rd(r::flow::kRvalue));
        }
      }
      if (Status st = dev_.transact(ops); !st) return st;
      for (size_t i = 0; i < ops.size() / 3; ++i) {
        if ((ops[3 * i + 2].value & valueMask) != (r::flow::kValueValid.put(1) | want)) continue;
        // A match: its key, with the whole bucket.
        uint32_t b = b0 + uint32_t(i) / r::kFlowSlots, sl = uint32_t(i) % r::kFlowSlots;
        std::vector<Slot> slots;
        if (Status st = loadBuckets(bank, b, 1, slots); !st) return st;
        if (slots[sl].valid && slots[sl].value == want) out.push_back(FlowKey::fromBytes(slots[sl].key));
      }
    }
  }
  return {};
}

Status GateTables::listFlows(std::vector<FlowEntry>& out,
                             const std::function<bool(const FlowKey&)>& want) {
  out.clear();
  uint32_t buckets = 1u << r::kFlowBucketsLog2;
  constexpr uint32_t kBatch = 2048;  // buckets a round trip: their values only (3 operations a slot)
  constexpr uint32_t kKeyBatch = 64;  // buckets whose keys are read in one round trip
  for (uint32_t bank = 0; bank < 2; ++bank) {
    for (uint32_t b0 = 0; b0 < buckets; b0 += kBatch) {
      std::vector<RegOp> ops;
      ops.reserve(3 * r::kFlowSlots * kBatch);
      for (uint32_t b = b0; b < b0 + kBatch && b < buckets; ++b) {
        for (uint32_t sl = 0; sl < r::kFlowSlots; ++sl) {
          ops.push_back(wr(r::flow::kAddr, flowAddr(bank, b, sl)));
          ops.push_back(wr(r::flow::kCmd, r::flow::kCmdRead.put(1)));
          ops.push_back(rd(r::flow::kRvalue));
        }
      }
      if (Status st = dev_.transact(ops); !st) return st;
      std::vector<uint32_t> used;  // buckets with a valid slot
      for (size_t i = 0; i < ops.size() / 3; ++i) {
        if (!r::flow::kValueValid.get(ops[3 * i + 2].value)) continue;
        uint32_t b = b0 + uint32_t(i) / r::kFlowSlots;
        if (used.empty() || used.back() != b) used.push_back(b);
      }
      // The walk reads every bucket: the mirror takes them all (empty ones as read here).
      for (uint32_t b = b0, u = 0; b < b0 + kBatch && b < buckets; ++b) {
        if (u < used.size() && used[u] == b) {
          ++u;
        } else {
          flow_.setBucket(bank, b, std::vector<Slot>(r::kFlowSlots));
        }
      }
      // The keys, a run of consecutive buckets at a time.
      for (size_t i = 0; i < used.size();) {
        uint32_t first = used[i], last = first;
        size_t j = i + 1;
        while (j < used.size() && used[j] - first < kKeyBatch) last = used[j++];
        std::vector<Slot> slots;
        if (Status st = loadBuckets(bank, first, last - first + 1, slots); !st) return st;
        for (uint32_t b = first; b <= last; ++b) {
          auto at = slots.begin() + ptrdiff_t(b - first) * r::kFlowSlots;
          flow_.setBucket(bank, b, std::vector<Slot>(at, at + r::kFlowSlots));
        }
        for (const Slot& sl : slots) {
          if (!sl.valid) continue;
          FlowKey k = FlowKey::fromBytes(sl.key);
          if (want && !want(k)) continue;
          out.push_back({k, uint8_t(sl.value >> 16), uint16_t(sl.value & r::flow::kValuePort.mask())});
        }
        i = j;
      }
    }
  }
  return {};
}

Status GateTables::removePort(uint8_t addrIndex, uint16_t port, size_t* flowsRemoved) {
  if (addrIndex >= r::kNatAddrs || (uint32_t(port) >> r::kPortsLog2) != 0) {
    return Status::error(StatusCode::kInvalidArgument, "no port " + portStr(addrIndex, port) + " in the table");
  }
  std::vector<FlowKey> flows;
  if (Status st = flowsOfPort(addrIndex, port, flows); !st) return st;
  PortState ps;
  if (Status st = readPort(addrIndex, port, ps); !st) return st;
  if (flows.empty() && !ps.valid) {
    return Status::error(StatusCode::kNotFound, "no user session on " + portStr(addrIndex, port));
  }
  for (const FlowKey& k : flows) {
    if (Status st = removeFlow(k); !st) return st;
  }
  if (flowsRemoved) *flowsRemoved = flows.size();
  if (!ps.valid) return {};
  return invalidatePort(addrIndex, port);
}

Status GateTables::listPorts(std::vector<PortState>& out, const std::function<void(size_t, size_t)>& progress) {
  out.clear();
  GateConfig cfg;
  if (Status st = readConfig(cfg); !st) return st;
  std::vector<uint8_t> addrs;
  for (uint8_t i = 0; i < r::kNatAddrs; ++i) {
    if (cfg.natIps[i]) addrs.push_back(i);
  }
  uint32_t ports = 1u << r::kPortsLog2;
  size_t total = addrs.size() * ports, done = 0;
  constexpr uint32_t kBatch = 4096;
  uint32_t flagWord = pe::kFlags.lsb / 32;
  for (uint8_t a : addrs) {
    for (uint32_t p0 = 0; p0 < ports; p0 += kBatch) {
      // Per entry: the read command and the word holding the flags (the kernel holds that
      // read until the command is done); a valid one is then read whole.
      constexpr uint32_t kOps = 3;
      std::vector<RegOp> ops;
      ops.reserve(kOps * kBatch);
      for (uint32_t p = p0; p < p0 + kBatch; ++p) {
        ops.push_back(wr(r::port::kIndex, portIndex(a, uint16_t(p))));
        ops.push_back(wr(r::port::kCmd, r::port::kCmdRead.put(1)));
        ops.push_back(rd(r::port::kRdata + 4 * flagWord));
      }
      if (Status st = dev_.transact(ops); !st) return st;
      for (uint32_t i = 0; i < kBatch; ++i) {
        uint32_t flags = ops[kOps * i + 2].value >> (pe::kFlags.lsb % 32);
        if (!(flags & flagBit(r::PortFlag::kValid))) continue;
        PortState ps;
        if (Status st = readPort(a, uint16_t(p0 + i), ps); !st) return st;
        if (ps.valid) out.push_back(ps);
      }
      done += kBatch;
      if (progress) progress(done, total);
    }
  }
  return {};
}

Status GateTables::moveTunnel(uint8_t addrIndex, uint16_t port, uint32_t peerIp, uint32_t dlTeid,
                              std::optional<uint8_t> qfi) {
  std::array<uint32_t, 8> w{};
  if (Status st = readEntry(addrIndex, port, w); !st) return st;
  bool valid = false;
  UserSession s = decodePortEntry(w, addrIndex, port, valid);
  if (!valid) return Status::error(StatusCode::kNotFound, "no user session on " + portStr(addrIndex, port));
  if (dlTeid == 0) return Status::error(StatusCode::kInvalidArgument, "downlink TEID 0 is reserved for GTP-U signalling");
  if (Status st = checkUnicastIpv4("downlink peer", peerIp); !st) return st;
  if (qfi && *qfi > 63) return Status::error(StatusCode::kInvalidArgument, "QFI " + std::to_string(*qfi) + " is out of range 0..63");
  s.peerIp = peerIp;
  s.dlTeid = dlTeid;
  s.qfi = qfi;
  std::array<uint32_t, 8> nw = encodePortEntry(s, true);  // same generation: counters go on
  return portCommand(portIndex(addrIndex, port), r::port::kCmdCommit.put(1), &nw);
}

Status GateTables::findFlow(const FlowKey& key, std::optional<std::pair<uint8_t, uint16_t>>& port) {
  std::optional<Slot> slot;
  port.reset();
  if (Status st = flow_.find(key.bytes(), slot); !st) return st;
  if (slot) {
    port = {{uint8_t(r::flow::kValueAddrIndex.get(slot->value)), uint16_t(r::flow::kValuePort.get(slot->value))}};
  }
  return {};
}

Status GateTables::readPort(uint8_t addrIndex, uint16_t port, PortState& out) {
  std::array<uint32_t, 8> w{};
  if (Status st = readEntry(addrIndex, port, w); !st) return st;
  std::vector<RegOp> ops = {rd(r::port::kCUlPktsLo),  rd(r::port::kCUlPktsHi),  rd(r::port::kCUlBytesLo),
                            rd(r::port::kCUlBytesHi), rd(r::port::kCDlPktsLo),  rd(r::port::kCDlPktsHi),
                            rd(r::port::kCDlBytesLo), rd(r::port::kCDlBytesHi), rd(r::port::kCLastSeen),
                            rd(r::port::kCFlags)};
  if (Status st = dev_.transact(ops); !st) return st;
  auto u64 = [&](int i) { return uint64_t(ops[i + 1].value) << 32 | ops[i].value; };
  out.session = decodePortEntry(w, addrIndex, port, out.valid);
  out.ulPkts = u64(0);
  out.ulBytes = u64(2);
  out.dlPkts = u64(4);
  out.dlBytes = u64(6);
  out.lastSeen = ops[8].value;
  out.fin = r::port::kCFlagsFin.get(ops[9].value);
  out.rst = r::port::kCFlagsRst.get(ops[9].value);
  out.finalExported = r::port::kCFlagsFinal.get(ops[9].value);
  return {};
}

Status GateTables::readTime(uint64_t& ts) {
  std::vector<RegOp> ops = {rd(r::ctrl::kTimeLo), rd(r::ctrl::kTimeHi)};
  if (Status st = dev_.transact(ops); !st) return st;
  ts = uint64_t(ops[1].value) << 32 | ops[0].value;
  return {};
}

Status GateTables::readScanner(bool& on, uint32_t& idleTicks, uint32_t& interimTicks) {
  std::vector<RegOp> ops = {rd(r::scan::kCtrl), rd(r::scan::kIdleTicks), rd(r::scan::kInterimTicks)};
  if (Status st = dev_.transact(ops); !st) return st;
  on = r::scan::kCtrlOn.get(ops[0].value) != 0;
  idleTicks = ops[1].value;
  interimTicks = ops[2].value;
  return {};
}

Status GateTables::setScanner(bool on, uint32_t idleTicks, uint32_t interimTicks) {
  std::vector<RegOp> ops = {wr(r::scan::kIdleTicks, idleTicks), wr(r::scan::kInterimTicks, interimTicks),
                            wr(r::scan::kCtrl, r::scan::kCtrlOn.put(on))};
  return dev_.transact(ops);
}

Status GateTables::readStats(std::array<uint64_t, r::kStatCount>& out) {
  std::vector<RegOp> ops;
  for (uint32_t i = 0; i < r::kStatCount; ++i) {
    ops.push_back(rd(r::stats::kLo + r::stats::kLoStride * i));
    ops.push_back(rd(r::stats::kHi + r::stats::kHiStride * i));
  }
  if (Status s = dev_.transact(ops); !s) return s;
  for (uint32_t i = 0; i < r::kStatCount; ++i) out[i] = uint64_t(ops[2 * i + 1].value) << 32 | ops[2 * i].value;
  return {};
}

}  // namespace roamgate::dataplane
