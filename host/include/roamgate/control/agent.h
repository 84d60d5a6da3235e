// An appliance agent: what roamd runs for each appliance of its machine. It opens the
// device, checks its kernel, programs it from the desired state (StateCache) and follows
// the changes, on a thread of its own so that a slow or absent device never holds up the
// others. Reconciliation reads the device back, compares it with the store and writes only
// the difference: it never clears a correct entry, so the data plane forwards throughout.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "roamgate/accounting/records.h"
#include "roamgate/control/counting_device.h"
#include "roamgate/control/housekeeping.h"
#include "roamgate/dataplane/host_rings.h"
#include "roamgate/control/objects.h"
#include "roamgate/control/slow_path.h"
#include "roamgate/control/state.h"
#include "roamgate/hal/device.h"

namespace roamgate::control {

struct ReconcileReport {
  store::Revision atRevision = 0;
  uint64_t missing = 0;  // entries the device lacked
  uint64_t stale = 0;    // entries the device held that the store does not
  uint64_t wrong = 0;    // entries that differed
  uint64_t entryWrites = 0;     // entries written (each a table, gateway or config write)
  uint64_t registerWrites = 0;  // register writes of the write phase (0: nothing rewritten)
  double seconds = 0;
  Status status;
};

enum class AgentState { kStarting, kOk, kAbsent, kWrongKernel, kFailed };
const char* agentStateName(AgentState s);

struct AgentStatus {
  AgentState state = AgentState::kStarting;
  std::string detail;
  ReconcileReport lastReconcile;
  store::Revision applied = 0;  // the last revision programmed into the device
  uint64_t programmed = 0;      // steer: sessions in its table; gate: sessions placed on it
  uint64_t registerWrites = 0, registerReads = 0;
  uint64_t applyErrors = 0;
  // The kernel's statistics counters by name, read about once a second by the agent.
  std::vector<std::pair<std::string, uint64_t>> stats;
  // Punted frames by the housekeeper's verdict (arp_replied, echo_replied, ...), replies that
  // had no port to leave by, replies the inject ring refused.
  std::array<uint64_t, kVerdictCount> punts{};
  uint64_t repliesWithoutPort = 0, injectErrors = 0;
  bool puntLoop = false;  // the host port's rings are set up and polled
  // Gate: flow-miss punts by the slow path's outcome (installed, denied, ...), the user
  // sessions it holds, and those it rebuilt from the device at the last reconciliation.
  std::array<uint64_t, kPuntOutcomeCount> slowPunts{};
  uint64_t userSessions = 0, userSessionsRestored = 0;
  // gate: active user sessions per server, "SERVICE IP:PORT" -> count
  std::map<std::string, uint64_t> serverSessions;
};

// What an agent needs to answer its kernel's housekeeping punts.
struct PuntSetup {
  uint32_t hostBase = 0;       // the host port block in the kernel's window
  uint32_t maxFrameBytes = 0;
  HousekeeperConfig hk;
  // The inject code that sends a reply out of the port a frame came in on (by INGRESS);
  // nullopt: the kernel cannot send out of that port.
  std::array<std::optional<uint8_t>, 2> replyCode{};
  // The export ring to have on (records log2): made when it is off, kept as it is (with the
  // records it holds) when it is on.
  std::optional<uint32_t> exportSlotsLog2;
};

// How an agent opens its device (hal::openDevice in roamd; an in-process device in tests).
using DeviceOpener = std::function<hal::OpenResult()>;

class Agent {
 public:
  Agent(Appliance a, DeviceOpener open, StateCache& cache);
  virtual ~Agent();
  Agent(const Agent&) = delete;

  // Called on the agent's thread once the device is attached and the appliance complete
  // (roamd publishes it then). Set before start().
  void onAttached(std::function<void(const Appliance&)> f) { attached_ = std::move(f); }
  // Called on the agent's thread when an attached device stops answering (roamd withdraws
  // the appliance's live key: a gate whose card is gone is down).
  void onDetached(std::function<void(const Appliance&)> f) { detached_ = std::move(f); }
  void start();
  void stop();
  const Appliance& appliance() const { return app_; }
  AgentStatus status() const;
  // Queues a reconciliation and waits for its report (up to `timeout`).
  ReconcileReport reconcileNow(std::chrono::milliseconds timeout);

 protected:
  // Checks the kernel of a newly opened device (kInvalidArgument: another kernel).
  virtual Status attach(hal::Device& dev) = 0;
  virtual void detach() = 0;
  // Fills what the configuration left unset (address, MAC, ...) from what the device holds.
  virtual Status adopt(Appliance& a) = 0;
  virtual ReconcileReport reconcile(StateCache& cache) = 0;
  // Applies the changes queued since the last call; kUnavailable: the device is gone.
  virtual Status applyChanges(StateCache& cache, const std::set<uint32_t>& sessions,
                              bool gateways) = 0;
  // The services, policies or subscribers' assignments changed (gate: the slow path's).
  virtual Status applyCatalog(StateCache&) { return {}; }
  // A punt that is no housekeeping frame's: the appliance's own (gate: a flow miss for the
  // slow path). kReinject: send the frame again with inject code `code`.
  enum class PuntUse { kNotMine, kDrop, kReinject };
  virtual PuntUse slowPunt(const dataplane::PuntedFrame&, uint8_t&) { return PuntUse::kNotMine; }
  // Before slowPunt for frame `next` of a poll: a look at the frames after it (the gate
  // brings what its slow path will touch for them into cache).
  virtual void slowPrefetch(std::span<const dataplane::PuntedFrame>, size_t /*next*/) {}
  // Called about every 20 ms on the agent's thread while the device is attached.
  virtual void tick() {}
  // The slow path's figures for status() (any thread may read them after this).
  void publishSlowPath(const std::array<uint64_t, kPuntOutcomeCount>& outcomes,
                       uint64_t userSessions, std::optional<uint64_t> restored = std::nullopt,
                       std::map<std::string, uint64_t>* serverSessions = nullptr);
  virtual uint64_t programmed() const = 0;
  virtual Status readStats(std::vector<std::pair<std::string, uint64_t>>& out) = 0;
  // How to answer housekeeping punts; nullopt: no punt loop (no address yet).
  virtual std::optional<PuntSetup> puntSetup() const = 0;

  CountingDevice* device() { return dev_.get(); }
  dataplane::HostRings* rings() { return rings_.get(); }
  // The end of adopt(): without an address (none configured, none on the device) tables are
  // programmed and the configuration left alone (a warning says so); else the checks.
  static Status checkAdopted(const Appliance& a);
  template <size_t N>
  static void namedCounters(const std::array<std::string_view, N>& names,
                            const std::array<uint64_t, N>& values,
                            std::vector<std::pair<std::string, uint64_t>>& out) {
    out.clear();
    for (size_t i = 0; i < N; ++i) out.emplace_back(names[i], values[i]);
  }
  Appliance app_;

 private:
  void run();
  void onChange(const StateSnapshot& s, const StateChange& ch);
  bool openDevice();

  DeviceOpener open_;
  std::function<void(const Appliance&)> attached_, detached_;
  void lost(const Status& st);  // the device stopped answering (mu_ held)
  void startPunts();            // after attach: the rings and the housekeeper
  Status servePunts();          // drains the punt ring; answers ARP and echo
  Status servePuntsOnce(size_t& n);  // one poll of at most kPuntPoll frames, n of them read
  // The punt ring and, once a second, the counters: after the store's changes are written, so
  // that these register reads never stand in front of a session's entry.
  void houseWork();
  static constexpr size_t kPuntPoll = 64;
  std::unique_ptr<dataplane::HostRings> rings_;
  std::optional<Housekeeper> hk_;
  PuntSetup punt_;
  std::vector<dataplane::PuntedFrame> pool_;
  std::array<uint8_t, Housekeeper::kMaxReplyBytes> reply_{};
  StateCache& cache_;
  int listener_ = 0;
  std::unique_ptr<CountingDevice> dev_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool needReconcile_ = true;
  bool gatewaysDirty_ = false;
  bool catalogDirty_ = false;
  std::vector<uint32_t> dirty_;  // TEIDs changed since the agent last took them (repeats)
  store::Revision pendingRevision_ = 0;
  uint64_t reconcileAsked_ = 0, reconcileDone_ = 0;
  std::chrono::steady_clock::time_point statsAt_{};
  std::condition_variable reconciled_;
  AgentStatus status_;
};

// Steer: configuration (address, MAC, punt limit), the gateway table and Maglev from the
// gateway objects, and one explicit entry per session (TEID -> its gate's gateway id).
std::unique_ptr<Agent> makeSteerAgent(Appliance a, DeviceOpener open, StateCache& cache);
// Gate: configuration (access address, MAC, NAT addresses, next hops, punt limit) and the
// downlink tunnel of each installed user session, moved when its session moves.
// `records` (may be null: none kept) receives the accounting records of its user sessions.
std::unique_ptr<Agent> makeGateAgent(Appliance a, DeviceOpener open, StateCache& cache,
                                     accounting::AccountingStore* records = nullptr);

}  // namespace roamgate::control
