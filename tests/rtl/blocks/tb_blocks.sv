// Test top for the shared blocks: each instance has its own ports, so one Verilated model
// serves every block test (tests/rtl/blocks/blocks_test.cpp).
`include "rg_pkg.sv"
`default_nettype none
module tb_blocks (
  input  wire logic          clk_i,
  input  wire logic          rst_ni,
  // crc32_hash: 4-byte key (CRC-32C) and 17-byte key (CRC-32)
  input  wire logic [31:0]   h4_key_i,
  output logic      [31:0]   h4_hash_o,
  input  wire logic [135:0]  h17_key_i,
  output logic      [31:0]   h17_hash_o,
  // sync_fifo: 32-bit words, 16 deep
  input  wire logic          f_push_i,
  input  wire logic [31:0]   f_wdata_i,
  input  wire logic          f_pop_i,
  output logic               f_valid_o,
  output logic      [31:0]   f_rdata_o,
  output logic      [5:0]    f_level_o,
  // cuckoo_table: 2 banks x 16 buckets x 2 slots, 32-bit keys, 8-bit values
  input  wire logic          c_lk_valid_i,
  input  wire logic [31:0]   c_lk_key_i,
  input  wire logic [3:0]    c_lk_idx0_i,
  input  wire logic [3:0]    c_lk_idx1_i,
  input  wire logic [15:0]   c_lk_tag_i,
  output logic               c_lk_valid_o,
  output logic               c_lk_hit_o,
  output logic      [7:0]    c_lk_val_o,
  output logic      [15:0]   c_lk_tag_o,
  input  wire logic          c_host_en_i,
  input  wire logic          c_host_we_i,
  input  wire logic          c_host_bank_i,
  input  wire logic [3:0]    c_host_bucket_i,
  input  wire logic [0:0]    c_host_slot_i,
  input  wire logic [40:0]   c_host_wentry_i,
  output logic      [40:0]   c_host_rentry_o,
  // counter_ram: 16 counters
  input  wire logic          k_inc_i,
  input  wire logic [3:0]    k_inc_idx_i,
  input  wire logic [15:0]   k_inc_bytes_i,
  input  wire logic          k_snap_i,
  input  wire logic [3:0]    k_snap_idx_i,
  output logic      [63:0]   k_snap_pkts_o,
  output logic      [63:0]   k_snap_bytes_o,
  // token_bucket
  input  wire logic [31:0]   t_rate_i,
  input  wire logic [15:0]   t_burst_i,
  input  wire logic          t_take_i,
  output logic               t_ok_o,
  // hdr_parser with the extension-chain walk the gate uses
  input  wire logic          p_valid_i,
  input  wire logic [1023:0] p_win_i,
  input  wire logic [7:0]    p_win_len_i,
  input  wire logic          p_win_end_i,
  input  wire logic [31:0]   p_tag_i,
  output logic               p_valid_o,
  output logic      [rg_pkg::HDR_META_W-1:0] p_meta_o,
  output logic      [31:0]   p_tag_o
);
  crc32_hash #(.KeyBytes(4), .Poly(32'h82f63b78)) u_h4 (.clk_i, .key_i(h4_key_i), .hash_o(h4_hash_o));
  crc32_hash #(.KeyBytes(17), .Poly(32'hedb88320)) u_h17 (.clk_i, .key_i(h17_key_i), .hash_o(h17_hash_o));

  sync_fifo #(.Width(32), .DepthLog2(4)) u_fifo (
    .clk_i, .rst_ni, .push_i(f_push_i), .wdata_i(f_wdata_i), .pop_i(f_pop_i),
    .valid_o(f_valid_o), .rdata_o(f_rdata_o), .level_o(f_level_o));

  cuckoo_table #(.BucketsLog2(4), .Slots(2), .KeyW(32), .ValW(8), .TagW(16)) u_cuckoo (
    .clk_i, .rst_ni,
    .lk_valid_i(c_lk_valid_i), .lk_key_i(c_lk_key_i), .lk_idx0_i(c_lk_idx0_i),
    .lk_idx1_i(c_lk_idx1_i), .lk_tag_i(c_lk_tag_i), .lk_valid_o(c_lk_valid_o),
    .lk_hit_o(c_lk_hit_o), .lk_val_o(c_lk_val_o), .lk_tag_o(c_lk_tag_o),
    .host_en_i(c_host_en_i), .host_we_i(c_host_we_i), .host_bank_i(c_host_bank_i),
    .host_bucket_i(c_host_bucket_i), .host_slot_i(c_host_slot_i),
    .host_wentry_i(c_host_wentry_i), .host_rentry_o(c_host_rentry_o));

  counter_ram #(.Depth(16), .BytesW(16)) u_cnt (
    .clk_i, .rst_ni, .inc_i(k_inc_i), .inc_idx_i(k_inc_idx_i), .inc_bytes_i(k_inc_bytes_i),
    .snap_i(k_snap_i), .snap_idx_i(k_snap_idx_i), .snap_pkts_o(k_snap_pkts_o),
    .snap_bytes_o(k_snap_bytes_o));

  token_bucket u_tb (
    .clk_i, .rst_ni, .rate_i(t_rate_i), .burst_i(t_burst_i), .take_i(t_take_i), .ok_o(t_ok_o));

  hdr_parser #(.MaxExt(4), .TagW(32)) u_parser (
    .clk_i, .rst_ni, .valid_i(p_valid_i), .win_i(p_win_i), .win_len_i(p_win_len_i),
    .win_end_i(p_win_end_i), .tag_i(p_tag_i), .valid_o(p_valid_o), .meta_o(p_meta_o),
    .tag_o(p_tag_o), .win_o(), .win_len_o(), .win_end_o());
endmodule : tb_blocks
`default_nettype wire
