// GTP-U (3GPP TS 29.281) as a RAN node sends and takes it: G-PDUs with an optional PDU
// Session Container (TS 38.415: UL PDU Session Information uplink, DL downlink, each with a
// QFI), Echo Request and Response. The UDP payload only: the kernel's socket adds the rest.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace roamgate::ranemu {

inline constexpr uint16_t kGtpuPort = 2152;
inline constexpr uint8_t kEchoRequest = 1, kEchoResponse = 2, kErrorIndication = 26,
                         kEndMarker = 254, kGpdu = 255;
inline constexpr uint8_t kPduSessionContainer = 0x85;  // extension header type
inline constexpr uint8_t kRecoveryIe = 14;

enum class PduDirection : uint8_t { kDownlink = 0, kUplink = 1 };  // the PDU Type field

// A G-PDU carrying `inner` to `teid`; with a QFI, a PDU Session Container of that direction.
std::vector<uint8_t> encodeGpdu(uint32_t teid, std::optional<uint8_t> qfi, PduDirection dir,
                                std::span<const uint8_t> inner);
std::vector<uint8_t> encodeEchoRequest(uint16_t seq);
// The answer to an Echo Request: its sequence number, and a Recovery IE (restart counter 0).
std::vector<uint8_t> encodeEchoResponse(uint16_t seq);

struct Gtpu {
  uint8_t type = 0;
  uint32_t teid = 0;
  std::optional<uint16_t> seq;  // when the S flag is set
  std::optional<uint8_t> qfi;   // from a PDU Session Container
  std::optional<PduDirection> pduDirection;
  size_t payloadOffset = 0;     // where the T-PDU (or the IEs) start
  size_t payloadLength = 0;
};

// Parses a UDP payload; a message that is not GTP-U version 1 with PT set, whose length
// does not match, or whose extension headers run past it is refused with the reason.
std::optional<Gtpu> parseGtpu(std::span<const uint8_t> msg, std::string* why = nullptr);

}  // namespace roamgate::ranemu
