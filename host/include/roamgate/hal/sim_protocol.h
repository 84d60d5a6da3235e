// The wire format between a SimDevice and roamsim's register server (Unix stream socket,
// little-endian). Request: u32 magic, u32 count, then count x {u8 op, u32 addr, u32 value}.
// Response: u32 magic, u32 status (0 ok), u32 nreads, then nreads x u32 in request order,
// then the bytes of any memory reads in request order.
// Control ops (kOpSim*) address the simulator itself rather than the kernel.
#pragma once

#include <cstdint>

namespace roamgate::hal::simproto {

inline constexpr uint32_t kMagic = 0x4b534752;  // "RGSK"
inline constexpr uint32_t kMaxOps = 1u << 16;
inline constexpr uint8_t kOpRead = 0;
inline constexpr uint8_t kOpWrite = 1;
inline constexpr uint8_t kOpSimStatus = 0x10;  // addr: field (see SimField); value read back
inline constexpr uint8_t kOpSimPlay = 0x11;    // start the attached input captures
inline constexpr uint8_t kOpSimStop = 0x12;    // flush outputs and end the simulation
// Device memory. The op's addr/value words carry: kOpMemAlloc (addr: log2 alignment,
// value: bytes; reads back the address's low and high words as two values), kOpMemWrite
// (addr: low word of the address, value: byte count; the bytes follow the op in the request),
// kOpMemRead (same; the bytes follow the reply's values). The high address word comes from
// the most recent kOpMemHigh.
inline constexpr uint8_t kOpMemHigh = 0x20;
inline constexpr uint8_t kOpMemAlloc = 0x21;
inline constexpr uint8_t kOpMemWrite = 0x22;
inline constexpr uint8_t kOpMemRead = 0x23;
inline constexpr uint32_t kMaxMemBytes = 1u << 24;

enum SimField : uint32_t {
  kFieldCycleLo = 0,
  kFieldCycleHi = 1,
  kFieldInputDone = 2,    // 1 when every input capture has been sent
  kFieldFramesIn = 3,
  kFieldFramesOut = 4,    // all output ports together
  kFieldIdleCycles = 5,   // cycles since the last beat moved on any port
};

}  // namespace roamgate::hal::simproto
