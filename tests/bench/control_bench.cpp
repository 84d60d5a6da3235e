// Control-plane bench against a running roamd (scripts/bench control starts roamd and the
// roamsims). Prints `name value` lines; asserts nothing (a run that cannot measure exits 1
// naming why, and prints no figure).
//
//   control_bench create --api SOCK --count N --batch B --label L [--inflight K]
//     Creates N sessions through CreateSessions, B per request (as roamctl session create
//     --count N --batch B does), K requests outstanding at a time (default 1), and times
//     the calls only (requests built before, no process start, no set-up):
//       control.session_create.per_s.L   sessions created per second
//
//   control_bench converge --api SOCK --steer SOCK [--steer SOCK ...] [--samples N]
//     N times (default 500): creates one session (one call), then polls every steer's session
//     table until each shows the TEID pinned to its gate's gateway id. The latency runs from
//     the create call returning to the last steer showing it:
//       control.steer_converge.ms.p50, control.steer_converge.ms.p99,
//       control.steer_converge.ms.max, control.steer_converge.samples
//     The steers are read through their own sim connections (read-only; roamsim serialises
//     these reads with roamd's writes).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "roamd.grpc.pb.h"
#include "roamgate/addr.h"
#include "roamgate/dataplane/steer_tables.h"
#include "roamgate/hal/device.h"

namespace {

namespace pb = roamgate::api::v1;
namespace hal = roamgate::hal;
using Clock = std::chrono::steady_clock;

constexpr double kCallSeconds = 120;       // one CreateSessions call (a batch of thousands)
constexpr double kConvergeSeconds = 30;    // one session reaching every steer
constexpr auto kPollPause = std::chrono::microseconds(100);  // between two rounds of reads

struct Options {
  std::string mode, api, label;
  std::vector<std::string> steers;
  uint32_t count = 0, batch = 10000, samples = 500, inflight = 1;
};

int usage(const std::string& why) {
  std::fprintf(stderr,
               "control_bench: %s\n"
               "usage: control_bench create --api SOCK --count N --batch B --label NAME "
               "[--inflight K]\n"
               "       control_bench converge --api SOCK --steer SOCK [--steer SOCK ...] "
               "[--samples N]\n",
               why.c_str());
  return 2;
}

bool parseCount(const std::string& opt, const char* text, uint32_t& out, std::string& err) {
  char* end = nullptr;
  unsigned long v = std::strtoul(text, &end, 10);
  if (!*text || *end || v < 1 || v > 10000000) {
    err = opt + " '" + text + "' is not a count 1..10000000";
    return false;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

std::unique_ptr<grpc::ClientContext> ctx(double seconds) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  return c;
}

// The i-th session of a run: IMSI, MSISDN, terminal address and downlink TEID all distinct.
void specOf(uint32_t i, pb::SessionSpec* s) {
  char imsi[16], msisdn[16];
  std::snprintf(imsi, sizeof imsi, "00101%010u", i);
  std::snprintf(msisdn, sizeof msisdn, "49151%08u", i % 100000000u);
  s->set_imsi(imsi);
  s->set_msisdn(msisdn);
  s->set_ue_ip(roamgate::ipv4Str(0xc6130001u + i));  // from 198.19.0.1 up, each once
  s->set_peer("198.18.1.1");
  s->set_dl_teid(0x10000u + i);
}

bool callFailed(const grpc::Status& s, const pb::CreateSessionsReply& r) {
  if (!s.ok()) {
    std::fprintf(stderr, "control_bench: CreateSessions: %s\n", s.error_message().c_str());
    return true;
  }
  if (!r.error().empty()) {
    std::fprintf(stderr, "control_bench: CreateSessions: %s\n", r.error().c_str());
    return true;
  }
  return false;
}

int runCreate(pb::Roamd::Stub& api, const Options& o) {
  // Every request is built before the clock starts; `inflight` threads then send them, each
  // taking the next one as its reply comes (as that many clients, or one with that many
  // calls outstanding, would).
  std::vector<pb::CreateSessionsRequest> requests;
  for (uint32_t base = 0; base < o.count; base += o.batch) {
    pb::CreateSessionsRequest& in = requests.emplace_back();
    for (uint32_t i = base; i < o.count && i < base + o.batch; ++i) specOf(i, in.add_sessions());
  }
  std::atomic<size_t> next{0};
  std::atomic<uint32_t> created{0};
  std::atomic<bool> failed{false};
  auto client = [&] {
    for (size_t k; !failed && (k = next++) < requests.size();) {
      pb::CreateSessionsReply out;
      auto c = ctx(kCallSeconds);
      grpc::Status s = api.CreateSessions(c.get(), requests[k], &out);
      if (callFailed(s, out)) failed = true;
      created += static_cast<uint32_t>(out.sessions_size());
    }
  };
  Clock::time_point t0 = Clock::now();
  std::vector<std::thread> clients;
  for (uint32_t i = 0; i < o.inflight; ++i) clients.emplace_back(client);
  for (std::thread& t : clients) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (failed) return 1;
  if (created != o.count) {
    std::fprintf(stderr, "control_bench: %u sessions created, not %u\n", created.load(), o.count);
    return 1;
  }
  std::printf("control.session_create.per_s.%s %.0f\n", o.label.c_str(), created.load() / seconds);
  return 0;
}

// Nearest rank: the smallest sample with at least p of the samples at or below it.
double percentile(const std::vector<double>& sorted, double p) {
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

int runConverge(pb::Roamd::Stub& api, const Options& o) {
  std::vector<std::unique_ptr<hal::Device>> devs;
  for (const std::string& path : o.steers) {
    hal::DeviceOptions d;
    d.spec = "sim:" + path;
    hal::OpenResult r = hal::openDevice(d);
    if (!r.device) {
      std::fprintf(stderr, "control_bench: steer %s: %s\n", path.c_str(), r.message.c_str());
      return 1;
    }
    roamgate::dataplane::SteerTables t(*r.device);
    if (roamgate::Status s = t.checkKernel(); !s) {
      std::fprintf(stderr, "control_bench: %s\n", s.message().c_str());
      return 1;
    }
    devs.push_back(std::move(r.device));
  }
  pb::Empty none;
  pb::ListGatewaysReply gws;
  if (grpc::Status s = api.ListGateways(ctx(10).get(), none, &gws); !s.ok()) {
    std::fprintf(stderr, "control_bench: ListGateways: %s\n", s.error_message().c_str());
    return 1;
  }
  std::map<std::string, uint32_t> idOfGate;
  for (const pb::Gateway& g : gws.gateways()) idOfGate[g.gate()] = g.id();

  std::vector<double> ms;
  ms.reserve(o.samples);
  for (uint32_t i = 0; i < o.samples; ++i) {
    pb::CreateSessionsRequest in;
    specOf(i, in.add_sessions());
    pb::CreateSessionsReply out;
    grpc::Status s = api.CreateSessions(ctx(10).get(), in, &out);
    Clock::time_point t0 = Clock::now();
    if (callFailed(s, out)) return 1;
    if (out.sessions_size() != 1) {
      std::fprintf(stderr, "control_bench: one session asked, %d created\n", out.sessions_size());
      return 1;
    }
    const pb::Session& ses = out.sessions(0);
    auto gw = idOfGate.find(ses.gate());
    if (gw == idOfGate.end()) {
      std::fprintf(stderr, "control_bench: gate %s has no gateway\n", ses.gate().c_str());
      return 1;
    }
    std::vector<bool> seen(devs.size(), false);
    size_t left = devs.size();
    Clock::time_point done = t0;
    while (left > 0) {
      for (size_t d = 0; d < devs.size(); ++d) {
        if (seen[d]) continue;
        // A fresh table each read: SteerTables keeps the buckets it has read (its cuckoo
        // mirror), which would hide what roamd writes afterwards.
        roamgate::dataplane::SteerTables t(*devs[d]);
        std::optional<uint32_t> at;
        if (roamgate::Status st = t.findSession(ses.teid(), at); !st) {
          std::fprintf(stderr, "control_bench: steer %s: %s\n", o.steers[d].c_str(),
                       st.message().c_str());
          return 1;
        }
        if (at && *at == gw->second) {
          seen[d] = true;
          --left;
        }
      }
      done = Clock::now();
      if (left == 0) break;
      if (done - t0 > std::chrono::duration<double>(kConvergeSeconds)) {
        std::fprintf(stderr, "control_bench: TEID 0x%08x not on every steer within %.0f s\n",
                     ses.teid(), kConvergeSeconds);
        return 1;
      }
      std::this_thread::sleep_for(kPollPause);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(done - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("control.steer_converge.ms.p50 %.3f\n", percentile(ms, 0.50));
  std::printf("control.steer_converge.ms.p99 %.3f\n", percentile(ms, 0.99));
  std::printf("control.steer_converge.ms.max %.3f\n", ms.back());
  std::printf("control.steer_converge.samples %zu\n", ms.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc < 2) return usage("a mode is needed: create or converge");
  o.mode = argv[1];
  if (o.mode != "create" && o.mode != "converge") return usage("unknown mode '" + o.mode + "'");
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage(a + " needs a value");
    const char* v = argv[++i];
    std::string err;
    if (a == "--api") o.api = v;
    else if (a == "--label") o.label = v;
    else if (a == "--steer") o.steers.push_back(v);
    else if (a == "--count") { if (!parseCount(a, v, o.count, err)) return usage(err); }
    else if (a == "--batch") { if (!parseCount(a, v, o.batch, err)) return usage(err); }
    else if (a == "--samples") { if (!parseCount(a, v, o.samples, err)) return usage(err); }
    else if (a == "--inflight") {
      if (!parseCount(a, v, o.inflight, err)) return usage(err);
      if (o.inflight > 16) return usage("--inflight " + std::to_string(o.inflight) + " is not 1..16");
    }
    else return usage("unknown option '" + a + "'");
  }
  if (o.api.empty()) return usage("--api is needed");
  if (o.mode == "create" && (o.count == 0 || o.label.empty())) return usage("create needs --count and --label");
  if (o.mode == "converge" && o.steers.empty()) return usage("converge needs at least one --steer");
  try {
    std::string target = o.api.rfind("unix:", 0) == 0 ? o.api : "unix:" + o.api;
    auto stub = pb::Roamd::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    return o.mode == "create" ? runCreate(*stub, o) : runConverge(*stub, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "control_bench: %s\n", e.what());
    return 1;
  }
}
