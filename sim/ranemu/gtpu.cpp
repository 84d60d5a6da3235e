#include "gtpu.h"

#include <cstdio>

namespace roamgate::ranemu {

namespace {

void put16(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  b[at] = uint8_t(v >> 8);
  b[at + 1] = uint8_t(v);
}

void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  put16(b, at, v >> 16);
  put16(b, at + 2, v);
}

uint32_t get16(std::span<const uint8_t> b, size_t at) { return uint32_t(b[at]) << 8 | b[at + 1]; }

// The mandatory header with the S flag (and E when `ext`), message length filled in later.
std::vector<uint8_t> header(uint8_t type, uint32_t teid, uint16_t seq, bool ext) {
  std::vector<uint8_t> b(12, 0);
  b[0] = uint8_t(0x30 | (ext ? 0x04 : 0) | 0x02);  // version 1, PT 1, E, S
  b[1] = type;
  put32(b, 4, teid);
  put16(b, 8, seq);
  return b;
}

void finish(std::vector<uint8_t>& b) { put16(b, 2, uint32_t(b.size() - 8)); }

std::optional<Gtpu> refuse(std::string* why, std::string text) {
  if (why) *why = std::move(text);
  return std::nullopt;
}

}  // namespace

std::vector<uint8_t> encodeGpdu(uint32_t teid, std::optional<uint8_t> qfi, PduDirection dir,
                                std::span<const uint8_t> inner) {
  std::vector<uint8_t> b;
  if (qfi) {
    b = header(kGpdu, teid, 0, true);
    b[11] = kPduSessionContainer;
    // One 4-byte unit: length, PDU Type in the high nibble, QFI in the low six bits, next 0.
    b.insert(b.end(), {1, uint8_t(uint8_t(dir) << 4), uint8_t(*qfi & 0x3f), 0});
  } else {
    b.assign(8, 0);
    b[0] = 0x30;  // version 1, PT 1, no optional fields
    b[1] = kGpdu;
    put32(b, 4, teid);
  }
  b.insert(b.end(), inner.begin(), inner.end());
  finish(b);
  return b;
}

std::vector<uint8_t> encodeEchoRequest(uint16_t seq) {
  std::vector<uint8_t> b = header(kEchoRequest, 0, seq, false);
  finish(b);
  return b;
}

std::vector<uint8_t> encodeEchoResponse(uint16_t seq) {
  std::vector<uint8_t> b = header(kEchoResponse, 0, seq, false);
  b.insert(b.end(), {kRecoveryIe, 0});
  finish(b);
  return b;
}

std::optional<Gtpu> parseGtpu(std::span<const uint8_t> m, std::string* why) {
  if (m.size() < 8) {
    return refuse(why, std::to_string(m.size()) + " bytes: shorter than a header");
  }
  uint8_t flags = m[0];
  if ((flags >> 5) != 1 || !(flags & 0x10)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", flags);
    return refuse(why, std::string("flags ") + hex + ": not GTP-U version 1");
  }
  size_t len = get16(m, 2);
  if (len + 8 != m.size()) {
    return refuse(why, "length " + std::to_string(len) + " for " + std::to_string(m.size()) +
                           " bytes");
  }
  Gtpu g;
  g.type = m[1];
  g.teid = uint32_t(get16(m, 4)) << 16 | get16(m, 6);
  size_t at = 8;
  if (flags & 0x07) {
    if (m.size() < 12) return refuse(why, "optional fields cut");
    if (flags & 0x02) g.seq = uint16_t(get16(m, 8));
    uint8_t next = (flags & 0x04) ? m[11] : 0;
    at = 12;
    while (next != 0) {
      if (at >= m.size() || m[at] == 0 || at + 4 * size_t(m[at]) > m.size()) {
        return refuse(why, "extension header at byte " + std::to_string(at) + " runs past the end");
      }
      size_t units = m[at];
      if (next == kPduSessionContainer) {
        g.pduDirection = PduDirection(m[at + 1] >> 4);
        g.qfi = uint8_t(m[at + 2] & 0x3f);
      }
      next = m[at + 4 * units - 1];
      at += 4 * units;
    }
  }
  g.payloadOffset = at;
  g.payloadLength = m.size() - at;
  return g;
}

}  // namespace roamgate::ranemu
