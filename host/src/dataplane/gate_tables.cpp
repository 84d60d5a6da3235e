#include "roamgate/dataplane/gate_tables.h"

#include <cstdio>

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

uint32_t flagBit(r::PortFlag f) { return 1u << uint32_t(f); }

}  // namespace

FlowKeyBytes FlowKey::bytes() const {
  FlowKeyBytes b{};
  for (int i = 0; i < 4; ++i) {
    b[i] = uint8_t(teid >> (24 - 8 * i));
    b[4 + i] = uint8_t(src >> (24 - 8 * i));
    b[8 + i] = uint8_t(dst >> (24 - 8 * i));
  }
  b[12] = proto;
  b[13] = uint8_t(sport >> 8);
  b[14] = uint8_t(sport);
  b[15] = uint8_t(dport >> 8);
  b[16] = uint8_t(dport);
  return b;
}

FlowKey FlowKey::fromBytes(const FlowKeyBytes& b) {
  return {be32(&b[0]), be32(&b[4]), be32(&b[8]), b[12], uint16_t(b[13] << 8 | b[14]),
          uint16_t(b[15] << 8 | b[16])};
}

uint32_t flowHash(uint32_t bank, const FlowKeyBytes& key) { return bank ? crc32(key) : crc32c(key); }

std::array<uint32_t, 8> encodePortEntry(const UserSession& s, bool valid) {
  std::array<uint8_t, pe::kBytes> b{};
  uint32_t flags = (valid ? flagBit(r::PortFlag::kValid) : 0) |
                   (s.allow ? flagBit(r::PortFlag::kAllow) : 0) |
                   (s.external ? flagBit(r::PortFlag::kExternal) : 0) |
                   (s.qfi ? flagBit(r::PortFlag::kQfiValid) : 0);
  pe::kProto.putLe(b.data(), s.flow.proto);
  pe::kQfi.putLe(b.data(), s.qfi.value_or(0) & 0x3f);
  pe::kGen.putLe(b.data(), s.gen);
  pe::kFlags.putLe(b.data(), flags);
  pe::kServerIpv4.putLe(b.data(), s.external ? s.flow.dst : s.serverIp);
  pe::kServerPort.putLe(b.data(), s.external ? s.flow.dport : s.serverPort);
  pe::kVipIpv4.putLe(b.data(), s.flow.dst);
  pe::kVipPort.putLe(b.data(), s.flow.dport);
  pe::kTermIpv4.putLe(b.data(), s.flow.src);
  pe::kTermPort.putLe(b.data(), s.flow.sport);
  pe::kPeerIpv4.putLe(b.data(), s.peerIp);
  pe::kDlTeid.putLe(b.data(), s.dlTeid);
  std::array<uint32_t, 8> w{};
  for (int i = 0; i < 8; ++i) {
    w[i] = uint32_t(b[4 * i]) | uint32_t(b[4 * i + 1]) << 8 | uint32_t(b[4 * i + 2]) << 16 |
           uint32_t(b[4 * i + 3]) << 24;
  }
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
  std::vector<RegOp> ops;
  for (uint32_t s = 0; s < r::kFlowSlots; ++s) {
    ops.push_back(wr(r::flow::kAddr, flowAddr(bank, bucket, s)));
    ops.push_back(wr(r::flow::kCmd, r::flow::kCmdRead.put(1)));
    for (uint32_t k = 0; k < 5; ++k) ops.push_back(rd(r::flow::kRkey0 + 4 * k));
    ops.push_back(rd(r::flow::kRvalue));
  }
  if (Status st = dev_.transact(ops); !st) return st;
  out.resize(r::kFlowSlots);
  for (uint32_t s = 0; s < r::kFlowSlots; ++s) {
    const RegOp* o = &ops[8 * s + 2];
    FlowKey k{o[0].value, o[1].value, o[2].value, uint8_t(o[4].value), uint16_t(o[3].value >> 16),
              uint16_t(o[3].value)};
    out[s] = {bool(r::flow::kValueValid.get(o[5].value)), k.bytes(),
              o[5].value & (r::flow::kValuePort.mask() | r::flow::kValueAddrIndex.mask() << 16)};
  }
  return {};
}

Status GateTables::applyFlows(const std::vector<Write>& writes) {
  std::vector<RegOp> ops;
  for (const Write& w : writes) {
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
  return dev_.transact(ops);
}

Status GateTables::portCommand(uint32_t index, uint32_t cmd, const std::array<uint32_t, 8>* words) {
  std::vector<RegOp> ops;
  if (words) {
    for (uint32_t i = 0; i < 8; ++i) ops.push_back(wr(r::port::kData + 4 * i, (*words)[i]));
  }
  ops.push_back(wr(r::port::kIndex, index));
  ops.push_back(wr(r::port::kCmd, cmd));
  ops.push_back(rd(r::port::kStatus));
  if (Status s = dev_.transact(ops); !s) return s;
  uint32_t status = ops.back().value;
  // The command takes a few cycles, longer while the counters are busy every cycle.
  for (int i = 0; i < 10000 && r::port::kStatusBusy.get(status); ++i) {
    if (Status s = dev_.read32(r::port::kStatus, status); !s) return s;
  }
  if (r::port::kStatusBusy.get(status)) return Status::error("port table command did not finish");
  return {};
}

Status GateTables::readEntry(uint8_t addrIndex, uint16_t port, std::array<uint32_t, 8>& words) {
  if (Status s = portCommand(portIndex(addrIndex, port), r::port::kCmdRead.put(1), nullptr); !s) return s;
  std::vector<RegOp> ops;
  for (uint32_t i = 0; i < 8; ++i) ops.push_back(rd(r::port::kRdata + 4 * i));
  if (Status s = dev_.transact(ops); !s) return s;
  for (uint32_t i = 0; i < 8; ++i) words[i] = ops[i].value;
  return {};
}

Status GateTables::installSession(const UserSession& s) {
  if (s.addrIndex >= r::kNatAddrs) return Status::error("gate address index must be below " + std::to_string(r::kNatAddrs));
  if ((uint32_t(s.port) >> r::kPortsLog2) != 0) return Status::error("port out of the table");
  if (s.qfi && *s.qfi > 63) return Status::error("QFI must be 0..63");
  if (s.flow.proto != 6 && s.flow.proto != 17 && s.flow.proto != 1) {
    return Status::error("the gate rewrites TCP (6), UDP (17) and ICMP echo (1) only");
  }
  std::array<uint32_t, 8> w = encodePortEntry(s, true);
  if (Status st = portCommand(portIndex(s.addrIndex, s.port), r::port::kCmdCommit.put(1), &w); !st) return st;
  return addFlow(s.flow, s.addrIndex, s.port);
}

Status GateTables::addFlow(const FlowKey& key, uint8_t addrIndex, uint16_t port) {
  std::vector<Write> writes;
  uint32_t value = r::flow::kValueAddrIndex.put(addrIndex) | r::flow::kValuePort.put(port);
  if (Status st = flow_.insert(key.bytes(), value, writes); !st) return st;
  return applyFlows(writes);
}

Status GateTables::removeFlow(const FlowKey& key) {
  std::vector<Write> writes;
  if (Status st = flow_.remove(key.bytes(), writes); !st) return st;
  return applyFlows(writes);
}

Status GateTables::removeSession(const FlowKey& key, uint8_t addrIndex, uint16_t port) {
  if (Status st = removeFlow(key); !st) return st;
  std::array<uint32_t, 8> w{};
  if (Status st = readEntry(addrIndex, port, w); !st) return st;
  w[pe::kFlags.lsb / 32] &= ~(flagBit(r::PortFlag::kValid) << (pe::kFlags.lsb % 32));
  return portCommand(portIndex(addrIndex, port), r::port::kCmdCommit.put(1), &w);
}

Status GateTables::moveTunnel(uint8_t addrIndex, uint16_t port, uint32_t peerIp, uint32_t dlTeid,
                              std::optional<uint8_t> qfi) {
  std::array<uint32_t, 8> w{};
  if (Status st = readEntry(addrIndex, port, w); !st) return st;
  bool valid = false;
  UserSession s = decodePortEntry(w, addrIndex, port, valid);
  if (!valid) return Status::error("no user session on that port");
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
