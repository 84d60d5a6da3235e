#include "roamgate/dataplane/steer_tables.h"

#include <cstdio>

#include "roamgate/addr.h"
#include "roamgate/dataplane/maglev.h"
#include "roamgate/hash.h"

namespace roamgate::dataplane {

namespace r = regs::steer;
using hal::RegOp;

namespace {

RegOp wr(uint32_t a, uint32_t v) { return {true, a, v}; }
RegOp rd(uint32_t a) { return {false, a, 0}; }

uint32_t sessAddr(uint32_t bank, uint32_t bucket, uint32_t slot) {
  return r::sess::kAddrBank.put(bank) | r::sess::kAddrBucket.put(bucket) | r::sess::kAddrSlot.put(slot);
}

// The four operations that read one session slot back: its key and value land in the last two.
void readSlot(std::vector<RegOp>& ops, uint32_t bank, uint32_t bucket, uint32_t slot) {
  ops.push_back(wr(r::sess::kAddr, sessAddr(bank, bucket, slot)));
  ops.push_back(wr(r::sess::kCmd, r::sess::kCmdRead.put(1)));
  ops.push_back(rd(r::sess::kRdata0));
  ops.push_back(rd(r::sess::kRdata1));
}

CuckooSlot slotOf(const RegOp* fourOps) {
  return {bool(r::sess::kData1Valid.get(fourOps[3].value)), fourOps[2].value,
          r::sess::kData1Gateway.get(fourOps[3].value)};
}

std::string hex(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

}  // namespace

SteerTables::SteerTables(hal::Device& dev)
    : dev_(dev),
      sess_(
          r::kSessionBucketsLog2, r::kSessionSlots,
          [](uint32_t bank, uint32_t key) { return bank ? teidHash1(key) : teidHash0(key); },
          [this](uint32_t bank, uint32_t bucket, std::vector<CuckooSlot>& out) {
            return loadBucket(bank, bucket, out);
          }) {}

Status SteerTables::checkKernel() {
  std::vector<RegOp> ops = {rd(r::ctrl::kId), rd(r::ctrl::kRegmap), rd(r::sess::kGeometry)};
  if (Status s = dev_.transact(ops); !s) return s;
  if (ops[0].value != r::kKernelId) {
    return Status::error(dev_.describe() + " is not a steer kernel (id " + hex(ops[0].value) + ")");
  }
  if (ops[1].value != r::kRegmapCrc) {
    return Status::error(dev_.describe() + " has register map " + hex(ops[1].value) +
                         ", this program was built for " + hex(r::kRegmapCrc));
  }
  uint32_t geo = r::sess::kGeometryBanks.put(2) | r::sess::kGeometrySlots.put(r::kSessionSlots) |
                 r::sess::kGeometryBucketsLog2.put(r::kSessionBucketsLog2);
  if (ops[2].value != geo) {
    return Status::error("session table geometry " + hex(ops[2].value) + " differs from " + hex(geo));
  }
  return {};
}

Status SteerTables::readConfig(SteerConfig& c) {
  std::vector<RegOp> ops = {rd(r::ctrl::kOwnIpv4), rd(r::ctrl::kOwnMacLo), rd(r::ctrl::kOwnMacHi),
                            rd(r::ctrl::kPuntRate), rd(r::ctrl::kPuntBurst)};
  if (Status s = dev_.transact(ops); !s) return s;
  c.ownIp = ops[0].value;
  c.ownMac = (uint64_t(r::ctrl::kOwnMacHiMacHi.get(ops[2].value)) << 32) | ops[1].value;
  c.puntRate = ops[3].value;
  c.puntBurst = ops[4].value;
  return {};
}

Status SteerTables::writeConfig(const SteerConfig& c) {
  std::vector<RegOp> ops = {wr(r::ctrl::kOwnIpv4, c.ownIp), wr(r::ctrl::kOwnMacLo, uint32_t(c.ownMac)),
                            wr(r::ctrl::kOwnMacHi, r::ctrl::kOwnMacHiMacHi.put(c.ownMac >> 32)),
                            wr(r::ctrl::kPuntRate, c.puntRate), wr(r::ctrl::kPuntBurst, c.puntBurst)};
  return dev_.transact(ops);
}

Status SteerTables::readGateways(std::array<GatewayEntry, kGateways>& out) {
  std::vector<RegOp> ops;
  for (uint32_t g = 0; g < kGateways; ++g) {
    ops.push_back(wr(r::gw::kAddr, g));
    ops.push_back(wr(r::gw::kCmd, r::gw::kCmdRead.put(1)));
    ops.push_back(rd(r::gw::kRdata0));
    ops.push_back(rd(r::gw::kRdata1));
    ops.push_back(rd(r::gw::kRdata2));
  }
  if (Status s = dev_.transact(ops); !s) return s;
  for (uint32_t g = 0; g < kGateways; ++g) {
    const RegOp* o = &ops[5 * g];
    out[g] = {g, bool(r::gw::kData2Valid.get(o[4].value)), o[2].value,
              (uint64_t(r::gw::kData2MacHi.get(o[4].value)) << 32) | o[3].value};
  }
  return {};
}

Status SteerTables::writeGateway(const GatewayEntry& g) {
  if (g.id >= kGateways) {
    return Status::error(StatusCode::kInvalidArgument,
                         "gateway id " + std::to_string(g.id) + " out of range 0.." + std::to_string(kGateways - 1));
  }
  if (g.valid) {
    if (Status s = checkUnicastIpv4("gateway address", g.ip); !s) return s;
    if (Status s = checkUnicastMac("gateway next-hop MAC", g.mac); !s) return s;
  }
  std::vector<RegOp> ops = {wr(r::gw::kAddr, g.id), wr(r::gw::kData0, g.ip),
                            wr(r::gw::kData1, uint32_t(g.mac)),
                            wr(r::gw::kData2, r::gw::kData2Valid.put(g.valid) | r::gw::kData2MacHi.put(g.mac >> 32)),
                            wr(r::gw::kCmd, r::gw::kCmdCommit.put(1))};
  return dev_.transact(ops);
}

Status SteerTables::rebuildMaglev(std::vector<uint32_t>* share, std::optional<uint32_t> exclude) {
  std::array<GatewayEntry, kGateways> gws;
  if (Status s = readGateways(gws); !s) return s;
  std::vector<MaglevBackend> backends;
  for (const GatewayEntry& g : gws) {
    if (g.valid && g.id != exclude) backends.push_back({g.ip, uint8_t(g.id)});
  }
  std::vector<uint8_t> table = buildMaglev(backends, r::kMaglevEntries);
  if (table.empty()) table.assign(r::kMaglevEntries, 0);  // no gateway: entry 0 (invalid)
  if (share) {
    share->assign(kGateways, 0);
    if (!backends.empty()) for (uint8_t v : table) (*share)[v]++;
  }
  std::vector<RegOp> ops;
  ops.reserve(1 + r::kMaglevEntries / 4 + 1);
  ops.push_back(wr(r::maglev::kAddr, 0));
  for (uint32_t i = 0; i < r::kMaglevEntries; i += 4) {
    uint32_t w = 0;
    for (uint32_t k = 0; k < 4 && i + k < r::kMaglevEntries; ++k) w |= uint32_t(table[i + k]) << (8 * k);
    ops.push_back(wr(r::maglev::kWdataInc, w));
  }
  return dev_.transact(ops);
}

Status SteerTables::readMaglev(std::vector<uint8_t>& table) {
  std::vector<RegOp> ops;
  uint32_t words = (r::kMaglevEntries + 3) / 4;
  for (uint32_t w = 0; w < words; ++w) {
    ops.push_back(wr(r::maglev::kAddr, w));
    ops.push_back(wr(r::maglev::kCmd, r::maglev::kCmdRead.put(1)));
    ops.push_back(rd(r::maglev::kRdata));
  }
  if (Status s = dev_.transact(ops); !s) return s;
  table.assign(r::kMaglevEntries, 0);
  for (uint32_t i = 0; i < r::kMaglevEntries; ++i) table[i] = uint8_t(ops[3 * (i / 4) + 2].value >> (8 * (i % 4)));
  return {};
}

Status SteerTables::loadBucket(uint32_t bank, uint32_t bucket, std::vector<CuckooSlot>& out) {
  std::vector<RegOp> ops;
  for (uint32_t s = 0; s < r::kSessionSlots; ++s) readSlot(ops, bank, bucket, s);
  if (Status s = dev_.transact(ops); !s) return s;
  out.resize(r::kSessionSlots);
  for (uint32_t s = 0; s < r::kSessionSlots; ++s) out[s] = slotOf(&ops[4 * s]);
  return {};
}

Status SteerTables::flushSessionWrites() {
  hold_ = false;
  if (held_.empty()) return {};
  std::vector<RegOp> ops;
  ops.swap(held_);
  return dev_.transact(ops);
}

Status SteerTables::apply(const std::vector<CuckooWrite>& writes) {
  std::vector<RegOp> local;
  std::vector<RegOp>& ops = hold_ ? held_ : local;
  for (const CuckooWrite& w : writes) {
    ops.push_back(wr(r::sess::kAddr, sessAddr(w.bank, w.bucket, w.slot)));
    ops.push_back(wr(r::sess::kData0, w.entry.key));
    ops.push_back(wr(r::sess::kData1, r::sess::kData1Valid.put(w.entry.valid) | r::sess::kData1Gateway.put(w.entry.value)));
    ops.push_back(wr(r::sess::kCmd, r::sess::kCmdCommit.put(1)));
  }
  if (!hold_) return dev_.transact(ops);
  if (held_.size() < kHeldOps) return {};
  std::vector<RegOp> full;
  full.swap(held_);
  return dev_.transact(full);
}

Status SteerTables::insertSession(uint32_t teid, uint32_t gateway, bool replace) {
  if (teid == 0) {
    return Status::error(StatusCode::kInvalidArgument, "TEID 0 is reserved (GTP-U signalling); it cannot be a session");
  }
  if (gateway >= kGateways) {
    return Status::error(StatusCode::kInvalidArgument,
                         "gateway id " + std::to_string(gateway) + " out of range 0.." + std::to_string(kGateways - 1));
  }
  if (!replace) {
    std::optional<CuckooSlot> old;
    if (Status s = sess_.find(teid, old); !s) return s;
    if (old && old->value != gateway) {
      return Status::error(StatusCode::kAlreadyExists, "TEID " + teidStr(teid) + " is pinned to gateway " +
                                                           std::to_string(old->value) + " (replace it to re-pin)");
    }
  }
  std::vector<CuckooWrite> writes;
  if (Status s = sess_.insert(teid, gateway, writes); !s) {
    return Status::error(s.code(), "session table: TEID " + teidStr(teid) + ": " +
                                       (s.code() == StatusCode::kFull ? "no room (full along every cuckoo path)" : s.message()));
  }
  return apply(writes);
}

Status SteerTables::removeSession(uint32_t teid) {
  std::vector<CuckooWrite> writes;
  if (Status s = sess_.remove(teid, writes); !s) {
    if (s.code() == StatusCode::kNotFound) return Status::error(s.code(), "no session with TEID " + teidStr(teid));
    return s;
  }
  return apply(writes);
}

Status SteerTables::findSession(uint32_t teid, std::optional<uint32_t>& gateway) {
  std::optional<CuckooSlot> slot;
  Status s = sess_.find(teid, slot);
  gateway.reset();
  if (slot) gateway = slot->value;
  return s;
}

Status SteerTables::listSessions(std::vector<SessionEntry>& out) {
  out.clear();
  // Read whole banks in batches of 256 buckets.
  for (uint32_t bank = 0; bank < 2; ++bank) {
    for (uint32_t b0 = 0; b0 < sess_.buckets(); b0 += 256) {
      std::vector<RegOp> ops;
      for (uint32_t b = b0; b < b0 + 256 && b < sess_.buckets(); ++b) {
        for (uint32_t s = 0; s < r::kSessionSlots; ++s) readSlot(ops, bank, b, s);
      }
      if (Status s = dev_.transact(ops); !s) return s;
      for (size_t i = 0; i < ops.size(); i += 4) {
        CuckooSlot e = slotOf(&ops[i]);
        if (e.valid) out.push_back({e.key, e.value});
      }
    }
  }
  return {};
}

Status SteerTables::readStats(std::array<uint64_t, r::kStatCount>& out) {
  std::vector<RegOp> ops;
  for (uint32_t i = 0; i < r::kStatCount; ++i) {
    ops.push_back(rd(r::stats::kLo + r::stats::kLoStride * i));
    ops.push_back(rd(r::stats::kHi + r::stats::kHiStride * i));
  }
  if (Status s = dev_.transact(ops); !s) return s;
  for (uint32_t i = 0; i < r::kStatCount; ++i) out[i] = (uint64_t(ops[2 * i + 1].value) << 32) | ops[2 * i].value;
  return {};
}

Status SteerTables::readGatewayCounters(uint32_t id, uint64_t& pkts, uint64_t& bytes) {
  std::vector<RegOp> ops = {wr(r::gw::kCntIndex, id), rd(r::gw::kCntPktsLo), rd(r::gw::kCntPktsHi),
                            rd(r::gw::kCntBytesLo), rd(r::gw::kCntBytesHi)};
  if (Status s = dev_.transact(ops); !s) return s;
  pkts = (uint64_t(ops[2].value) << 32) | ops[1].value;
  bytes = (uint64_t(ops[4].value) << 32) | ops[3].value;
  return {};
}

}  // namespace roamgate::dataplane
