// Generated from hw/regs/host_port.toml by scripts/regs_gen.py. Do not edit.
// Include guard: each user `includes this file, so any file order compiles.
`ifndef HOST_PORT_REGS_PKG_SV
`define HOST_PORT_REGS_PKG_SV
`default_nettype none
package host_port_regs_pkg;
  // Every kernel block and every host tool reads some of these; none reads them all.
  /* verilator lint_off UNUSEDPARAM */
  localparam logic [15:0] HOST_BASE = 16'h0000;
  localparam logic [31:0] HOST_ID_VALUE = 32'h484f5354;
  localparam logic [31:0] HOST_VERSION_VALUE = 32'h00020001;
  localparam logic [15:0] HOST_ID = 16'h0000;
  localparam logic [15:0] HOST_VERSION = 16'h0004;
  localparam logic [15:0] HOST_CTRL = 16'h0008;
  localparam int HOST_CTRL_PUNT_ON_LSB = 0;
  localparam int HOST_CTRL_PUNT_ON_W = 1;
  localparam int HOST_CTRL_INJECT_ON_LSB = 1;
  localparam int HOST_CTRL_INJECT_ON_W = 1;
  localparam int HOST_CTRL_EXPORT_ON_LSB = 2;
  localparam int HOST_CTRL_EXPORT_ON_W = 1;
  localparam logic [15:0] HOST_SLOT_LOG2 = 16'h000c;
  localparam logic [15:0] HOST_PUNT_BASE_LO = 16'h0010;
  localparam logic [15:0] HOST_PUNT_BASE_HI = 16'h0014;
  localparam logic [15:0] HOST_PUNT_SLOTS_LOG2 = 16'h0018;
  localparam logic [15:0] HOST_PUNT_PROD = 16'h001c;
  localparam logic [15:0] HOST_PUNT_CONS = 16'h0020;
  localparam logic [15:0] HOST_PUNT_DROPS = 16'h0024;
  localparam logic [15:0] HOST_INJ_BASE_LO = 16'h0030;
  localparam logic [15:0] HOST_INJ_BASE_HI = 16'h0034;
  localparam logic [15:0] HOST_INJ_SLOTS_LOG2 = 16'h0038;
  localparam logic [15:0] HOST_INJ_PROD = 16'h003c;
  localparam logic [15:0] HOST_INJ_CONS = 16'h0040;
  localparam logic [15:0] HOST_INJ_FRAMES = 16'h0044;
  localparam logic [15:0] HOST_INJ_ERRORS = 16'h0048;
  localparam logic [15:0] HOST_EXP_BASE_LO = 16'h0050;
  localparam logic [15:0] HOST_EXP_BASE_HI = 16'h0054;
  localparam logic [15:0] HOST_EXP_SLOTS_LOG2 = 16'h0058;
  localparam logic [15:0] HOST_EXP_PROD = 16'h005c;
  localparam logic [15:0] HOST_EXP_CONS = 16'h0060;
  localparam logic [15:0] HOST_EXP_FULL = 16'h0064;
  localparam int RING_SLOT_BYTES = 64;
  localparam int RING_SLOT_LENGTH_LSB = 0;
  localparam int RING_SLOT_LENGTH_W = 16;
  localparam int RING_SLOT_CODE_LSB = 16;
  localparam int RING_SLOT_CODE_W = 8;
  localparam int RING_SLOT_INGRESS_LSB = 24;
  localparam int RING_SLOT_INGRESS_W = 8;
  localparam int RING_SLOT_TIMESTAMP_LSB = 64;
  localparam int RING_SLOT_TIMESTAMP_W = 64;
  localparam int RING_SLOT_TEID_LSB = 128;
  localparam int RING_SLOT_TEID_W = 32;
  localparam int RING_SLOT_INNER_OFFSET_LSB = 160;
  localparam int RING_SLOT_INNER_OFFSET_W = 8;
  /* verilator lint_on UNUSEDPARAM */
endpackage : host_port_regs_pkg
`default_nettype wire
`endif
