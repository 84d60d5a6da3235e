// Header window of an AXI4-Stream frame: the first 128 bytes (beats 0 and 1, bytes past
// tkeep read as zero) as one vector for hdr_parser. The window is valid the cycle beat 1
// arrives, or the cycle after a one-beat frame's only beat: at most one window per cycle
// whatever the idle gaps, so the parser never stalls. Frames whose beats arrive with en_i
// low (not admitted) make no window. Latency 0 (two-beat frames) or 1 (one-beat frames).
`include "rg_pkg.sv"
`default_nettype none
module axis_hdr_window (
  input  wire logic                     clk_i,
  input  wire logic                     rst_ni,
  input  wire logic [511:0]             s_axis_tdata,
  input  wire logic [63:0]              s_axis_tkeep,
  input  wire logic                     s_axis_tlast,
  input  wire logic                     s_axis_tvalid,
  input  wire logic                     en_i,
  output logic                          win_valid_o,
  output logic      [rg_pkg::WIN_W-1:0] win_o,
  output logic      [7:0]               win_len_o,
  output logic                          win_end_o
);
  logic [1:0] beat_q, beat_d;  // 0: next beat starts a frame, 1: next is beat 1, 2: later
  logic [511:0] hdr0_q, hdr0_d, masked;
  logic [6:0] hdr0_len_q, hdr0_len_d, bytes;
  logic single_q, single_d;

  for (genvar i = 0; i < 64; i++) begin : gen_mask
    assign masked[8*i +: 8] = s_axis_tkeep[i] ? s_axis_tdata[8*i +: 8] : 8'd0;
  end
  assign bytes = rg_pkg::keep_bytes(s_axis_tkeep);

  always_comb begin
    beat_d = beat_q;
    hdr0_d = hdr0_q;
    hdr0_len_d = hdr0_len_q;
    single_d = 1'b0;
    win_valid_o = single_q;  // a one-beat frame: its window is beat 0 alone
    win_o = {512'd0, hdr0_q};
    win_len_o = {1'b0, hdr0_len_q};
    win_end_o = 1'b1;
    if (s_axis_tvalid) begin
      if (en_i && beat_q == 2'd0) begin
        hdr0_d = masked;
        hdr0_len_d = bytes;
        single_d = s_axis_tlast;
      end else if (en_i && beat_q == 2'd1) begin
        win_valid_o = 1'b1;
        win_o = {masked, hdr0_q};
        win_len_o = {1'b0, hdr0_len_q} + {1'b0, bytes};
        win_end_o = s_axis_tlast;
      end
      beat_d = s_axis_tlast ? 2'd0 : ((beat_q == 2'd2) ? 2'd2 : beat_q + 2'd1);
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      beat_q <= '0;
      single_q <= 1'b0;
    end else begin
      beat_q <= beat_d;
      single_q <= single_d;
    end
  end

  always_ff @(posedge clk_i) begin
    hdr0_q <= hdr0_d;
    hdr0_len_q <= hdr0_len_d;
  end
endmodule : axis_hdr_window
`default_nettype wire
