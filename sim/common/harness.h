// One reusable piece for every Verilated top: context, clock, reset, FST tracing, cycle
// timeout. Drivers and monitors plug in as Agents; a test's main loop is never edited.
#pragma once

#include <verilated.h>
#include <verilated_fst_c.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace roamgate::sim {

// Called every cycle: drive() sets inputs before the rising edge, sample() sees the values
// that the edge will act on (valid/ready pairs are checked here).
class Agent {
 public:
  virtual ~Agent() = default;
  virtual void drive(uint64_t cycle) = 0;
  virtual void sample(uint64_t cycle) = 0;
};

struct HarnessOptions {
  std::string traceFile;        // FST path; empty: no trace
  uint64_t timeoutCycles = 0;   // 0: none
};

template <class Top>
class Harness {
 public:
  // ROAMGATE_TRACE=DIR in the environment traces every harness to DIR/<n>.fst.
  explicit Harness(HarnessOptions opt = {}) : opt_(std::move(opt)) {
    static int instances = 0;
    ++instances;
    if (opt_.traceFile.empty() && std::getenv("ROAMGATE_TRACE")) {
      opt_.traceFile = std::string(std::getenv("ROAMGATE_TRACE")) + "/" + std::to_string(instances) + ".fst";
    }
    ctx_ = std::make_unique<VerilatedContext>();
    ctx_->randReset(0);
    if (!opt_.traceFile.empty()) ctx_->traceEverOn(true);
    top_ = std::make_unique<Top>(ctx_.get(), "top");
    if (!opt_.traceFile.empty()) {
      std::filesystem::path p(opt_.traceFile);
      if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
      trace_ = std::make_unique<VerilatedFstC>();
      top_->trace(trace_.get(), 99);
      trace_->open(opt_.traceFile.c_str());
    }
    top_->clk_i = 0;
    top_->rst_ni = 1;
    top_->eval();
  }
  ~Harness() {
    top_->final();
    if (trace_) trace_->close();
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  Top& top() { return *top_; }
  uint64_t cycle() const { return cycle_; }
  bool timedOut() const { return timedOut_; }
  uint64_t timeoutCycles() const { return opt_.timeoutCycles; }
  void add(Agent* a) { agents_.push_back(a); }

  void reset(int cycles = 4) {
    top_->rst_ni = 0;
    for (int i = 0; i < cycles; ++i) tick();
    top_->rst_ni = 1;
    tick();
  }

  // One clock cycle. Returns false once the cycle timeout has passed.
  bool tick() {
    for (Agent* a : agents_) a->drive(cycle_);
    top_->eval();
    for (Agent* a : agents_) a->sample(cycle_);
    top_->clk_i = 1;
    top_->eval();
    ctx_->timeInc(1);
    if (trace_) trace_->dump(ctx_->time());
    top_->clk_i = 0;
    top_->eval();
    ctx_->timeInc(1);
    if (trace_) trace_->dump(ctx_->time());
    ++cycle_;
    if (opt_.timeoutCycles && cycle_ > opt_.timeoutCycles) timedOut_ = true;
    return !timedOut_;
  }

  // Ticks until done() or the budget runs out; returns whether done() became true.
  bool runUntil(const std::function<bool()>& done, uint64_t maxCycles) {
    for (uint64_t i = 0; i < maxCycles; ++i) {
      if (done()) return true;
      if (!tick()) return false;
    }
    return done();
  }

 private:
  HarnessOptions opt_;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Top> top_;
  std::unique_ptr<VerilatedFstC> trace_;
  std::vector<Agent*> agents_;
  uint64_t cycle_ = 0;
  bool timedOut_ = false;
};

}  // namespace roamgate::sim
