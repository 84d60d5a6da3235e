// /metrics for Prometheus, built at each scrape from the agents' status (nothing goes stale).
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include <deque>
#include <iterator>

#include "api.h"

namespace roamd {
namespace {

namespace control = roamgate::control;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

class Collector : public prometheus::Collectable {
 public:
  explicit Collector(Daemon& d) : d_(d) {}

  std::vector<MetricFamily> Collect() const override {
    // A deque: each family is filled through a reference kept while later ones are added
    // (a vector's growth moved them; the first scrape with an appliance crashed roamd).
    std::deque<MetricFamily> fams;
    auto family = [&](const char* name, const char* help, MetricType type) -> MetricFamily& {
      fams.push_back({name, help, type, {}});
      return fams.back();
    };
    auto sample = [](MetricFamily& f, std::vector<ClientMetric::Label> labels, double v) {
      ClientMetric m;
      m.label = std::move(labels);
      if (f.type == MetricType::Counter) m.counter.value = v;
      else m.gauge.value = v;
      f.metric.push_back(std::move(m));
    };
    MetricFamily& rev = family("roamgate_store_revision", "The store's revision.", MetricType::Gauge);
    sample(rev, {}, double(d_.storeRevision()));
    MetricFamily& applied =
        family("roamgate_state_revision", "The revision this roamd's state cache has applied.", MetricType::Gauge);
    sample(applied, {}, double(d_.cache().revision()));
    MetricFamily& compacted = family("roamgate_store_compacted_revision",
                                     "The revision this roamd last compacted the store's history to.",
                                     MetricType::Gauge);
    sample(compacted, {}, double(d_.compactedTo()));
    MetricFamily& resyncs = family("roamgate_store_resyncs_total",
                                   "Re-reads of the state after a watch fell behind a compaction.",
                                   MetricType::Counter);
    sample(resyncs, {}, double(d_.cache().resyncs()));
    MetricFamily& lease = family("roamgate_lease_losses_total",
                                 "Times this machine's lease ran out and was taken again.", MetricType::Counter);
    sample(lease, {}, double(d_.leaseLosses()));
    MetricFamily& replaced = family("roamgate_sessions_replaced_total",
                                    "Sessions this roamd moved off a lost gate.", MetricType::Counter);
    sample(replaced, {}, double(d_.replaced()));
    MetricFamily& sessions =
        family("roamgate_sessions", "Sessions in the store, by the gate they are placed on.", MetricType::Gauge);
    d_.cache().read([&](const control::StateSnapshot& s) {
      for (auto& [gate, n] : s.sessionsPerGate) sample(sessions, {{"gate", gate}}, double(n));
      return 0;
    });

    MetricFamily& up = family("roamgate_appliance_up", "1 when the appliance's device is programmed and followed.",
                              MetricType::Gauge);
    MetricFamily& lag = family("roamgate_appliance_watch_lag_revisions",
                               "Store revisions not yet programmed into the appliance.", MetricType::Gauge);
    MetricFamily& entries = family("roamgate_appliance_table_entries",
                                   "Entries programmed: steer sessions, gate sessions followed.", MetricType::Gauge);
    MetricFamily& rec = family("roamgate_appliance_reconcile_entries",
                               "The last reconciliation's entries, by kind (missing, stale, wrong).", MetricType::Gauge);
    MetricFamily& recw = family("roamgate_appliance_reconcile_register_writes",
                                "Register writes the last reconciliation took.", MetricType::Gauge);
    MetricFamily& recs = family("roamgate_appliance_reconcile_seconds", "How long the last reconciliation took.",
                                MetricType::Gauge);
    MetricFamily& regw = family("roamgate_appliance_register_writes_total", "Register writes to the device.",
                                MetricType::Counter);
    MetricFamily& errs = family("roamgate_appliance_apply_errors_total", "Changes that failed to program.",
                                MetricType::Counter);
    MetricFamily& punts = family("roamgate_punts_total",
                                 "Punted frames the host handled, by verdict (arp_replied, echo_replied, ...).",
                                 MetricType::Counter);
    MetricFamily& noport = family("roamgate_punt_replies_without_port_total",
                                  "Answers to frames from a port the agent knows no inject code for (none expected).",
                                  MetricType::Counter);
    MetricFamily& kstat = family("roamgate_kernel_counter",
                                 "The kernel's statistics counters (frames, punts, drops by reason).",
                                 MetricType::Counter);
    MetricFamily& slow = family("roamgate_slowpath_punts_total",
                                "Flow-miss punts the gate's slow path handled, by outcome (installed, denied, ...).",
                                MetricType::Counter);
    MetricFamily& users = family("roamgate_user_sessions", "User sessions the gate's slow path holds.",
                                 MetricType::Gauge);
    for (auto& ag : d_.agents()) {
      const std::string& name = ag->appliance().name;
      control::AgentStatus st = ag->status();
      sample(up, {{"appliance", name}, {"role", control::roleName(ag->appliance().role)}},
             st.state == control::AgentState::kOk ? 1 : 0);
      int64_t behind = d_.cache().revision() - st.applied;
      sample(lag, {{"appliance", name}}, double(behind < 0 ? 0 : behind));
      sample(entries, {{"appliance", name}}, double(st.programmed));
      sample(rec, {{"appliance", name}, {"kind", "missing"}}, double(st.lastReconcile.missing));
      sample(rec, {{"appliance", name}, {"kind", "stale"}}, double(st.lastReconcile.stale));
      sample(rec, {{"appliance", name}, {"kind", "wrong"}}, double(st.lastReconcile.wrong));
      sample(recw, {{"appliance", name}}, double(st.lastReconcile.registerWrites));
      sample(recs, {{"appliance", name}}, st.lastReconcile.seconds);
      sample(regw, {{"appliance", name}}, double(st.registerWrites));
      sample(errs, {{"appliance", name}}, double(st.applyErrors));
      for (auto& [stat, v] : st.stats) sample(kstat, {{"appliance", name}, {"counter", stat}}, double(v));
      if (st.puntLoop) {
        for (size_t i = 0; i < control::kVerdictCount; ++i) {
          sample(punts, {{"appliance", name}, {"verdict", std::string(control::Housekeeper::name(control::Verdict(i)))}},
                 double(st.punts[i]));
        }
        sample(noport, {{"appliance", name}}, double(st.repliesWithoutPort));
      }
      if (ag->appliance().role == control::Role::kGate) {
        for (size_t i = 0; i < control::kPuntOutcomeCount; ++i) {
          sample(slow, {{"appliance", name}, {"outcome", std::string(control::puntOutcomeName(control::PuntOutcome(i)))}},
                 double(st.slowPunts[i]));
        }
        sample(users, {{"appliance", name}}, double(st.userSessions));
      }
    }
    return {std::make_move_iterator(fams.begin()), std::make_move_iterator(fams.end())};
  }

 private:
  Daemon& d_;
};

}  // namespace

struct MetricsServer::Impl {
  std::unique_ptr<prometheus::Exposer> exposer;
  std::shared_ptr<Collector> collector;
};

MetricsServer::MetricsServer() : impl_(std::make_unique<Impl>()) {}
MetricsServer::~MetricsServer() = default;

roamgate::Status MetricsServer::start(Daemon& d, const std::string& address) {
  try {
    impl_->exposer = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return roamgate::Status::error(roamgate::StatusCode::kUnavailable,
                                   "cannot serve /metrics on " + address + ": " + e.what());
  }
  impl_->collector = std::make_shared<Collector>(d);
  impl_->exposer->RegisterCollectable(impl_->collector);
  return {};
}

}  // namespace roamd
