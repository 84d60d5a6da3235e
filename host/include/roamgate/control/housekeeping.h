// The housekeeping frames a kernel punts to the host port, answered by the host: ARP requests
// for the appliance's own addresses (RFC 826) and GTP-U Echo Requests (3GPP TS 29.281 §7.2.1)
// to its GTP-U addresses; every other frame is dropped and counted by why.
//
// No allocation and no exceptions per frame: `handle` parses the frame in place, with every
// read bounds-checked against the frame's length, writes the reply into the caller's buffer
// and returns a Verdict the caller counts by (the Housekeeper counts them too).
//
// Replies:
// * ARP reply: Ethernet destination = the requester's hardware address, source = our MAC, the
//   request's 802.1Q tag (if any) kept; opcode 2, sender = our MAC and the address asked for,
//   target = the requester's hardware and protocol addresses (0.0.0.0 for an RFC 5227 probe,
//   which is answered so that the prober sees the address is taken).
// * Echo Response (TS 29.281 §4.4.2.2, §4.4.3.2, §5.1, §7.2.2): MACs swapped (source = our
//   MAC), tag kept, IPv4 source = the request's destination, destination = the request's
//   source, ID 0 with DF (an atomic datagram, RFC 6864), TTL 64, TOS 0, no options; UDP
//   source port = the request's destination port (2152), destination port = the request's
//   source port, checksum computed; GTP-U version 1, PT 1, S flag only, type 2, TEID 0, the
//   request's sequence number (0 when the request had no sequence field), N-PDU and next
//   extension type 0, then the Recovery IE (type 14, restart counter 0): length 6.
// * Both are zero-padded to 60 bytes (the Ethernet minimum without FCS), so a reply is never
//   longer than kMaxReplyBytes.
//
// A Housekeeper is not thread-safe: one per poll loop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "roamgate/result.h"

namespace roamgate::control {

// What `handle` did with a frame. A bounded set: `Housekeeper::name` gives its metric label.
enum class Verdict : uint8_t {
  kArpReplied,        // ARP request for one of our addresses: reply written
  kEchoReplied,       // GTP-U Echo Request to one of our GTP-U addresses: response written
  kNotHousekeeping,   // neither ARP nor IPv4/UDP to port 2152 (IPv6, ICMP, other UDP ports,
                      // stacked or 802.1ad tags, other EtherTypes)
  kArpNotForUs,       // ARP request for an address we do not own (or own on another port)
  kArpNotRequest,     // ARP reply, or an opcode other than request/reply (RARP, InARP)
  kArpGratuitous,     // gratuitous ARP (sender address = target address) of another host
  kArpConflict,       // an ARP frame from another MAC whose sender address is one of ours
  kEchoNotForUs,      // Echo Request to an address that is not one of our GTP-U addresses
  kGtpOther,          // a GTP-U message other than Echo Request (G-PDU, Echo Response, ...)
  kIpv4Fragment,      // an IPv4 fragment (MF set or offset non-zero)
  kTruncated,         // the frame is shorter than its headers say
  kMalformed,         // impossible fields: ARP not Ethernet/IPv4, IPv4 version or IHL, UDP
                      // length, GTP version/PT or lengths, multicast or zero sender addresses
  kBadChecksum,       // IPv4 header checksum, or a non-zero UDP checksum, does not verify
  kReplyBufferSmall,  // a reply was due but the caller's buffer is under kMaxReplyBytes
  kCount
};
inline constexpr size_t kVerdictCount = size_t(Verdict::kCount);

// One address the appliance owns.
struct OwnAddress {
  uint32_t ipv4 = 0;            // host order
  std::optional<uint8_t> port;  // the ingress port it is answered on (the punt slot's
                                // INGRESS); nullopt: any port
  bool gtpu = true;             // a GTP-U endpoint: Echo Requests to it are answered
};

struct HousekeeperConfig {
  uint64_t mac = 0;  // our MAC (low 48 bits, as in addr.h); the source of every reply
  // steer: its entry-point address; gate: its access address (gtpu) and its NAT addresses
  // (gtpu = false, on the service port).
  std::vector<OwnAddress> addresses;
};

class Housekeeper {
 public:
  static constexpr size_t kMaxAddresses = 16;
  static constexpr size_t kMaxReplyBytes = 60;
  static constexpr uint16_t kGtpuPort = 2152;

  // Refuses (kInvalidArgument) a MAC that is not unicast, an address that is not a unicast
  // host address, the same address twice, no addresses, or more than kMaxAddresses.
  static Result<Housekeeper> create(const HousekeeperConfig& cfg);

  // Classifies `frame` (Ethernet, without FCS), which came in on `ingressPort`. When the
  // verdict is kArpReplied or kEchoReplied the reply is in reply[0, replyLen) (send it out of
  // the port the frame came in on); otherwise replyLen is 0. Counts the verdict. `reply` must
  // not overlap `frame`. Bytes past a header's stated length (Ethernet padding, bytes after
  // the UDP length or the GTP-U length) are ignored, not refused.
  Verdict handle(std::span<const uint8_t> frame, uint8_t ingressPort, std::span<uint8_t> reply,
                 size_t& replyLen) noexcept;

  static constexpr bool replied(Verdict v) {
    return v == Verdict::kArpReplied || v == Verdict::kEchoReplied;
  }
  // The metric label of a verdict ("arp_replied", ...); "unknown" for a value out of range.
  static std::string_view name(Verdict v);

  uint64_t count(Verdict v) const { return v < Verdict::kCount ? counts_[size_t(v)] : 0; }
  const std::array<uint64_t, kVerdictCount>& counts() const { return counts_; }
  uint64_t total() const;
  void resetCounts() { counts_.fill(0); }

  uint64_t mac() const { return mac_; }
  std::span<const OwnAddress> addresses() const { return {addrs_.data(), nAddrs_}; }

 private:
  Housekeeper() = default;
  Verdict classify(std::span<const uint8_t> frame, uint8_t ingressPort, std::span<uint8_t> reply,
                   size_t& replyLen) const noexcept;
  Verdict arp(std::span<const uint8_t> frame, size_t l2Len, uint8_t ingressPort,
              std::span<uint8_t> reply, size_t& replyLen) const noexcept;
  Verdict ipv4(std::span<const uint8_t> frame, size_t l2Len, uint8_t ingressPort,
               std::span<uint8_t> reply, size_t& replyLen) const noexcept;
  const OwnAddress* find(uint32_t ip) const noexcept;

  uint64_t mac_ = 0;
  std::array<uint8_t, 6> macBytes_{};
  std::array<OwnAddress, kMaxAddresses> addrs_{};
  size_t nAddrs_ = 0;
  std::array<uint64_t, kVerdictCount> counts_{};
};

}  // namespace roamgate::control
