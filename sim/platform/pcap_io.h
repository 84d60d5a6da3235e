// Reading and writing pcap captures (libpcap), for the MAC port models.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <string>
#include <vector>

namespace roamgate::sim {

// Reads every frame of a capture. Returns false and sets `error` on failure.
inline bool readPcap(const std::string& path, std::vector<std::vector<uint8_t>>& frames,
                     std::string& error) {
  char eb[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), eb);
  if (!p) {
    error = eb;
    return false;
  }
  if (pcap_datalink(p) != DLT_EN10MB) {
    error = path + ": not an Ethernet capture";
    pcap_close(p);
    return false;
  }
  pcap_pkthdr* h;
  const u_char* d;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1) frames.emplace_back(d, d + h->caplen);
  if (rc == PCAP_ERROR) error = pcap_geterr(p);
  pcap_close(p);
  return rc != PCAP_ERROR;
}

class PcapWriter {
 public:
  bool open(const std::string& path, std::string& error) {
    dead_ = pcap_open_dead(DLT_EN10MB, 65535);
    dump_ = pcap_dump_open(dead_, path.c_str());
    if (!dump_) {
      error = pcap_geterr(dead_);
      return false;
    }
    return true;
  }
  // `ns`: simulated time of the frame's first beat.
  void write(const std::vector<uint8_t>& f, uint64_t ns) {
    if (!dump_) return;
    pcap_pkthdr h{};
    h.ts.tv_sec = long(ns / 1'000'000'000ull);
    h.ts.tv_usec = long(ns % 1'000'000'000ull / 1000);
    h.caplen = h.len = uint32_t(f.size());
    pcap_dump(reinterpret_cast<u_char*>(dump_), &h, f.data());
    pcap_dump_flush(dump_);  // readers may look while the simulation runs
  }
  ~PcapWriter() {
    if (dump_) pcap_dump_close(dump_);
    if (dead_) pcap_close(dead_);
  }

 private:
  pcap_t* dead_ = nullptr;
  pcap_dumper_t* dump_ = nullptr;
};

}  // namespace roamgate::sim
