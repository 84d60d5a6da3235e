// Wire-rate pacing of a MAC port: a frame of L bytes occupies L + overhead bytes of wire time:
// 8 (preamble and start delimiter) + 12 (inter-frame gap), + 4 more when L does not count
// the FCS (pcap captures). Credit is kept in exact integer units (bits x clock Hz), so runs
// are deterministic.
#pragma once

#include <cstdint>

namespace roamgate::sim {

class WirePacer {
 public:
  // bitsPerSecond 0: saturate (no pacing, a beat every cycle).
  WirePacer(uint64_t bitsPerSecond, uint64_t clockHz, uint64_t overheadBytes = 24)
      : rate_(bitsPerSecond), clk_(clockHz), overhead_(overheadBytes) {}
  // Called once per cycle while a frame of `bytes` waits; returns true when it may start now
  // (and spends its wire time). The remainder carries over, so the long-run rate is exact;
  // nothing accrues while no frame waits, so an idle port never sends faster than the wire.
  bool mayStart(uint64_t bytes) {
    if (rate_ == 0) return true;
    credit_ += rate_;
    uint64_t cost = (bytes + overhead_) * 8 * clk_;
    if (credit_ < cost) return false;
    credit_ -= cost;
    return true;
  }
  // Called on cycles where the port is busy sending beats (credit still accrues).
  void tick() {
    if (rate_) credit_ += rate_;
  }

 private:
  uint64_t rate_, clk_, overhead_;
  uint64_t credit_ = 0;
};

}  // namespace roamgate::sim
