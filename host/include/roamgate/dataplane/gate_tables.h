// The gate kernel's tables, programmed through hal::Device: configuration, the flow table
// (cuckoo placement on a lazily loaded mirror; key = TEID and inner 5-tuple), the port table
// (user sessions: NAT action, downlink tunnel, counters), the export scanner and statistics.
//
// A user session is installed port entry first, then its flow entry: until the flow entry's
// single-slot commit, uplink packets miss (and go to the host), so no packet ever finds a flow
// without a complete port entry. Removal runs the other way round.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <optional>
#include <span>
#include <vector>

#include "roamgate/dataplane/cuckoo.h"
#include "roamgate/hal/device.h"
#include "roamgate/regs/gate.h"
#include "roamgate/status.h"

namespace roamgate::dataplane {

// Uplink flow key. ICMP echo: sport = identifier, dport = 0.
struct FlowKey {
  uint32_t teid = 0;
  uint32_t src = 0, dst = 0;
  uint8_t proto = 0;
  uint16_t sport = 0, dport = 0;
  FlowKeyBytes bytes() const;  // the key as the kernel hashes it (network order)
  static FlowKey fromBytes(const FlowKeyBytes& b);
  bool operator==(const FlowKey&) const = default;
};

uint32_t flowHash(uint32_t bank, const FlowKeyBytes& key);  // CRC-32C (bank 0), CRC-32 (bank 1)

// "TEID 0x00000001 tcp 198.19.0.1:1000 -> 198.18.3.10:80" (ICMP: "icmp 198.19.0.1 id 7 -> A").
std::string flowStr(const FlowKey& k);
// "0:1024": gate address index and user-session port.
std::string portStr(uint8_t addrIndex, uint16_t port);

struct GateConfig {
  uint32_t accessIp = 0;            // G-PDUs to it are terminated; outer source of tunnels
  uint64_t ownMac = 0;              // source MAC on both ports
  uint64_t svcNextHopMac = 0;       // destination MAC of uplink frames
  uint64_t accNextHopMac = 0;       // destination MAC of downlink tunnels
  std::array<uint32_t, 4> natIps{};  // gate addresses by index
  uint32_t outerTtl = 64;
  uint32_t tickShift = 16;          // a tick is 2^tickShift timestamp units
  uint32_t puntRate = 0x00100000;   // 8.24 frames per cycle
  uint32_t puntBurst = 64;
};

// One user session: its first flow and the port-table entry of its unique port.
struct UserSession {
  FlowKey flow;                   // TEID, terminal address:port, original destination:port
  uint8_t addrIndex = 0;          // gate address index
  uint16_t port = 0;              // the user-session port (claim 13: the user-session id)
  bool allow = true;              // false: packets are dropped and counted
  bool external = false;          // no destination rewrite (endpoint-independent NAT)
  bool filterAddr = false;        // external only: replies only from flow.dst's address
  uint32_t serverIp = 0;          // selected server (ignored when external)
  uint16_t serverPort = 0;
  uint32_t peerIp = 0;            // downlink tunnel peer
  uint32_t dlTeid = 0;            // downlink TEID
  std::optional<uint8_t> qfi;     // PDU Session Container QFI on downlink frames
  uint8_t gen = 0;                // a new generation restarts the counters
};

struct PortState {
  bool valid = false;
  UserSession session;            // flow.teid is not stored in the port entry (reads 0)
  uint64_t ulPkts = 0, ulBytes = 0, dlPkts = 0, dlBytes = 0;
  uint32_t lastSeen = 0;          // ticks
  bool fin = false, rst = false, finalExported = false;
};

struct ExportRecordView {
  regs::gate::ExportReason reason{};
  bool fin = false, rst = false;
  uint8_t addrIndex = 0, gen = 0;
  uint16_t port = 0;
  uint32_t lastSeen = 0, now = 0;
  uint64_t ulPkts = 0, ulBytes = 0, dlPkts = 0, dlBytes = 0;
  static ExportRecordView decode(const std::array<uint8_t, 64>& rec);
};

class GateTables {
 public:
  explicit GateTables(hal::Device& dev);

  // Refuses a device that is not a gate kernel of this register map and geometry.
  Status checkKernel();
  Status readConfig(GateConfig& cfg);
  Status writeConfig(const GateConfig& cfg);

  // Checks the session (kInvalidArgument: TEID 0, downlink TEID 0, port 0, TCP/UDP port 0,
  // a peer, terminal or server that is not a unicast address, a gate address index or access
  // address that is not configured), then writes the port entry, then the flow entry.
  // A port that holds a valid user session is refused (kAlreadyExists) unless `replace`:
  // then every flow pointing at it is removed first. A flow key that belongs to another port
  // is always refused: remove that user session first.
  Status installSession(const UserSession& s, bool replace = false);
  // For a caller that keeps the gate's state itself (the slow path): checks the session's own
  // fields (as installSession) but reads nothing the caller already knows: that the port is
  // free, that its gate address and the access address are configured, that no other port
  // holds the flow. Port entry, then flow entry, in one request; with the flow mirror loaded
  // (loadFlows) the port table's STATUS is the only register read. kAlreadyExists when the
  // mirror holds the flow (nothing written).
  Status installNew(const UserSession& s);
  // Ends a user session installNew (or addFlowNew) made: its flows, then its port entry
  // (rewritten from `s` with valid clear: no read), in one request.
  Status removeKnown(std::span<const FlowKey> flows, const UserSession& s);
  // Re-targets an installed user session (a series one): removes `oldFlow`, rewrites the port
  // entry from `s` (same generation: its counters go on), adds s.flow; one request, no read
  // but STATUS.
  Status retargetKnown(const FlowKey& oldFlow, const UserSession& s);
  // One more flow into a user session, as addFlow (no reads with the mirror loaded).
  Status addFlowKnown(const FlowKey& key, uint8_t addrIndex, uint16_t port);
  // Reads the whole flow table into the host mirror (one walk, as listFlows), so that later
  // installs and removals need no flow-table reads.
  Status loadFlows();
  // Flow buckets the mirror has not read yet (0 after loadFlows or listFlows).
  size_t flowBucketsUnread() const { return flow_.unloaded(); }
  // Brings the flow's mirror buckets into cache ahead of an install (see the mirror's).
  void prefetchFlow(const FlowKey& key) const { flow_.prefetch(key.bytes()); }
  // One more flow into an installed user session (endpoint-independent mapping).
  Status addFlow(const FlowKey& key, uint8_t addrIndex, uint16_t port);
  Status removeFlow(const FlowKey& key);
  // Checks that the flow points at (addrIndex, port), which holds a user session, before it
  // touches anything (kNotFound, kInvalidArgument); then removes the flow entry, then the port
  // entry (left with valid clear, its counters readable).
  Status removeSession(const FlowKey& key, uint8_t addrIndex, uint16_t port);
  // Every flow pointing at the port (a walk of the flow table), then the port entry. Removes
  // what an interrupted install or an older tool left behind.
  Status removePort(uint8_t addrIndex, uint16_t port, size_t* flowsRemoved = nullptr);
  // The flows pointing at a port (walks the whole flow table).
  Status flowsOfPort(uint8_t addrIndex, uint16_t port, std::vector<FlowKey>& out);
  struct FlowEntry {
    FlowKey key;
    uint8_t addrIndex = 0;
    uint16_t port = 0;
  };
  // Every valid flow whose key `want` accepts (all when null), with the port it points at:
  // one walk of the flow table's values, then the keys of the buckets that hold valid slots.
  Status listFlows(std::vector<FlowEntry>& out,
                   const std::function<bool(const FlowKey&)>& want = nullptr);
  // The valid port entries of every configured gate address, walking the port table;
  // `progress(done, total)` is called now and then.
  Status listPorts(std::vector<PortState>& out,
                   const std::function<void(size_t, size_t)>& progress = nullptr);
  // Rewrites the downlink tunnel of an installed port (handover); counters continue.
  Status moveTunnel(uint8_t addrIndex, uint16_t port, uint32_t peerIp, uint32_t dlTeid,
                    std::optional<uint8_t> qfi);
  Status findFlow(const FlowKey& key, std::optional<std::pair<uint8_t, uint16_t>>& port);
  Status readPort(uint8_t addrIndex, uint16_t port, PortState& out);

  Status setScanner(bool on, uint32_t idleTicks, uint32_t interimTicks);
  Status readScanner(bool& on, uint32_t& idleTicks, uint32_t& interimTicks);
  // The kernel's free-running timestamp (TIME_LO, then TIME_HI as it latched).
  Status readTime(uint64_t& ts);
  Status readStats(std::array<uint64_t, regs::gate::kStatCount>& out);

 private:
  using Slot = BasicCuckooSlot<FlowKeyBytes>;
  using Write = BasicCuckooWrite<FlowKeyBytes>;
  Status loadBucket(uint32_t bank, uint32_t bucket, std::vector<Slot>& out);
  Status loadBuckets(uint32_t bank, uint32_t first, uint32_t count, std::vector<Slot>& out);
  Status applyFlows(const std::vector<Write>& writes);
  Status portCommand(uint32_t index, uint32_t cmd, const std::array<uint32_t, 8>* words);
  Status readEntry(uint8_t addrIndex, uint16_t port, std::array<uint32_t, 8>& words);
  Status invalidatePort(uint8_t addrIndex, uint16_t port);
  Status checkSession(const UserSession& s);
  Status checkFields(const UserSession& s);  // what checkSession checks without the device
  // Queues a flow insert or removal's slot writes into ops_: mirrorFlow() puts them in the
  // mirror and writes_, queueFlow() both that and their register writes.
  Status queueFlow(const FlowKey& key, std::optional<uint32_t> value);
  Status mirrorFlow(const FlowKey& key, std::optional<uint32_t> value);
  void queuePort(const UserSession& s, bool valid);
  Status sendQueued();  // ops_ in one transaction (the kernel holds an access while busy)

  hal::Device& dev_;
  BasicCuckooMirror<FlowKeyBytes> flow_;
  std::vector<hal::RegOp> ops_;  // installNew's and removeKnown's request, reused
  std::vector<Write> writes_;
};

// The port_entry words of a user session, and back.
std::array<uint32_t, 8> encodePortEntry(const UserSession& s, bool valid);
UserSession decodePortEntry(const std::array<uint32_t, 8>& w, uint8_t addrIndex, uint16_t port,
                            bool& valid);

}  // namespace roamgate::dataplane
