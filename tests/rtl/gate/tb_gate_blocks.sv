// Test top for the gate's blocks: axis_realign, inner_parse and port_counters, each with its
// own ports, so one Verilated model serves tests/rtl/gate/gate_blocks_test.cpp.
`include "rg_pkg.sv"
`default_nettype none
module tb_gate_blocks (
  input  wire logic          clk_i,
  input  wire logic          rst_ni,
  // axis_realign (10 patches, 5-bit dest)
  input  wire logic          r_cmd_valid_i,
  output logic               r_cmd_ready_o,
  input  wire logic [7:0]    r_cmd_skip_i,
  input  wire logic [6:0]    r_cmd_hdr_len_i,
  input  wire logic [511:0]  r_cmd_hdr_i,
  input  wire logic [15:0]   r_cmd_data_len_i,
  input  wire logic [15:0]   r_cmd_out_len_i,
  input  wire logic          r_cmd_drop_i,
  input  wire logic [4:0]    r_cmd_dest_i,
  input  wire logic [249:0]  r_cmd_patch_i,
  input  wire logic [511:0]  r_s_tdata,
  input  wire logic [63:0]   r_s_tkeep,    // the realigner needs none; the agent drives one
  input  wire logic          r_s_tlast,
  input  wire logic          r_s_tvalid,
  output logic               r_s_tready,
  output logic      [511:0]  r_m_tdata,
  output logic      [63:0]   r_m_tkeep,
  output logic               r_m_tlast,
  output logic      [4:0]    r_m_tdest,
  output logic               r_m_tvalid,
  input  wire logic          r_m_tready,
  // inner_parse
  input  wire logic          i_valid_i,
  input  wire logic [1023:0] i_win_i,
  input  wire logic [7:0]    i_win_len_i,
  input  wire logic          i_win_end_i,
  input  wire logic [7:0]    i_off_i,
  input  wire logic [31:0]   i_tag_i,
  output logic               i_valid_o,
  output logic [rg_pkg::IP_META_W-1:0] i_meta_o,
  output logic      [31:0]   i_tag_o,
  // port_counters: 64 entries
  input  wire logic          k_inc_i,
  input  wire logic [5:0]    k_inc_idx_i,
  input  wire logic [7:0]    k_inc_gen_i,
  input  wire logic [15:0]   k_inc_bytes_i,
  input  wire logic [31:0]   k_inc_tick_i,
  input  wire logic [1:0]    k_inc_flags_i,
  input  wire logic          k_snap_req_i,
  input  wire logic [5:0]    k_snap_idx_i,
  output logic               k_snap_ack_o,
  output logic               k_snap_valid_o,
  output logic      [169:0]  k_snap_rec_o
);
  axis_realign #(.NPatch(10), .DestW(5)) u_realign (
    .clk_i, .rst_ni,
    .cmd_valid_i(r_cmd_valid_i), .cmd_ready_o(r_cmd_ready_o), .cmd_skip_i(r_cmd_skip_i),
    .cmd_hdr_len_i(r_cmd_hdr_len_i), .cmd_hdr_i(r_cmd_hdr_i), .cmd_data_len_i(r_cmd_data_len_i),
    .cmd_out_len_i(r_cmd_out_len_i), .cmd_drop_i(r_cmd_drop_i), .cmd_dest_i(r_cmd_dest_i),
    .cmd_patch_i(r_cmd_patch_i),
    .s_axis_tdata(r_s_tdata), .s_axis_tlast(r_s_tlast), .s_axis_tvalid(r_s_tvalid),
    .s_axis_tready(r_s_tready),
    .m_axis_tdata(r_m_tdata), .m_axis_tkeep(r_m_tkeep), .m_axis_tlast(r_m_tlast),
    .m_axis_tdest(r_m_tdest), .m_axis_tvalid(r_m_tvalid), .m_axis_tready(r_m_tready)
  );

  inner_parse #(.TagW(32)) u_inner (
    .clk_i, .rst_ni,
    .valid_i(i_valid_i), .win_i(i_win_i), .win_len_i(i_win_len_i), .win_end_i(i_win_end_i),
    .off_i(i_off_i), .tag_i(i_tag_i), .valid_o(i_valid_o), .meta_o(i_meta_o), .tag_o(i_tag_o)
  );

  port_counters #(.Depth(64)) u_cnt (
    .clk_i, .rst_ni,
    .inc_i(k_inc_i), .inc_idx_i(k_inc_idx_i), .inc_gen_i(k_inc_gen_i), .inc_bytes_i(k_inc_bytes_i),
    .inc_tick_i(k_inc_tick_i), .inc_flags_i(k_inc_flags_i),
    .snap_req_i(k_snap_req_i), .snap_idx_i(k_snap_idx_i), .snap_ack_o(k_snap_ack_o),
    .snap_valid_o(k_snap_valid_o), .snap_rec_o(k_snap_rec_o)
  );
endmodule : tb_gate_blocks
`default_nettype wire
