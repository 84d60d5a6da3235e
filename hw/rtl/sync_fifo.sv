// First-word-fall-through FIFO on a block RAM with a two-entry output stage, so it accepts
// and delivers one word every cycle. `level_o` counts every word held (RAM, read in flight,
// output stage); pushing while full is a caller error and is ignored.
`default_nettype none
module sync_fifo #(
  parameter int Width = 32,
  parameter int DepthLog2 = 9,
  localparam int LevelW = DepthLog2 + 2
) (
  input  wire logic              clk_i,
  input  wire logic              rst_ni,
  input  wire logic              push_i,
  input  wire logic [Width-1:0]  wdata_i,
  input  wire logic              pop_i,
  output logic                   valid_o,
  output logic      [Width-1:0]  rdata_o,
  output logic      [LevelW-1:0] level_o
);
  localparam int Depth = 1 << DepthLog2;
  if (DepthLog2 < 2) begin : gen_bad_params
    $error("sync_fifo: DepthLog2 must be at least 2");
  end

  logic [DepthLog2:0] wptr_q, wptr_d, rptr_q, rptr_d;
  logic rd_pend_q, rd_pend_d;
  logic [1:0] ob_cnt_q, ob_cnt_d;
  logic [Width-1:0] ob0_q, ob0_d, ob1_q, ob1_d;
  logic [Width-1:0] ram_rdata;
  logic [Width-1:0] unused_rdata_b;  // port B only writes
  logic ram_full, ram_empty, do_push, do_pop, rd_issue;
  logic [DepthLog2:0] ram_used;  // modulo 2**(DepthLog2+1), so a wrapped pointer pair is right

  assign ram_empty = (wptr_q == rptr_q);
  assign ram_full = (wptr_q[DepthLog2-1:0] == rptr_q[DepthLog2-1:0]) &&
                    (wptr_q[DepthLog2] != rptr_q[DepthLog2]);
  assign do_push = push_i && !ram_full;
  assign do_pop = pop_i && (ob_cnt_q != 2'd0);
  // Issue a RAM read when the output stage will have room for it.
  assign rd_issue = !ram_empty &&
                    ({1'b0, ob_cnt_q} + {2'b0, rd_pend_q} - {2'b0, do_pop} < 3'd2);

  ram_2p #(.Width(Width), .Depth(Depth)) u_ram (
    .clk_i,
    .a_en_i   (rd_issue),
    .a_addr_i (rptr_q[DepthLog2-1:0]),
    .a_rdata_o(ram_rdata),
    .b_en_i   (do_push),
    .b_we_i   (1'b1),
    .b_addr_i (wptr_q[DepthLog2-1:0]),
    .b_wdata_i(wdata_i),
    .b_rdata_o(unused_rdata_b)
  );

  always_comb begin
    wptr_d = wptr_q + {{DepthLog2{1'b0}}, do_push};
    rptr_d = rptr_q + {{DepthLog2{1'b0}}, rd_issue};
    rd_pend_d = rd_issue;
    ob0_d = ob0_q;
    ob1_d = ob1_q;
    ob_cnt_d = ob_cnt_q;
    if (do_pop) begin
      ob0_d = ob1_q;
      ob_cnt_d = ob_cnt_d - 2'd1;
    end
    if (rd_pend_q) begin
      if (ob_cnt_d == 2'd0) ob0_d = ram_rdata;
      else ob1_d = ram_rdata;
      ob_cnt_d = ob_cnt_d + 2'd1;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wptr_q <= '0;
      rptr_q <= '0;
      rd_pend_q <= 1'b0;
      ob_cnt_q <= '0;
    end else begin
      wptr_q <= wptr_d;
      rptr_q <= rptr_d;
      rd_pend_q <= rd_pend_d;
      ob_cnt_q <= ob_cnt_d;
    end
  end

  always_ff @(posedge clk_i) begin
    ob0_q <= ob0_d;
    ob1_q <= ob1_d;
  end

  assign valid_o = (ob_cnt_q != 2'd0);
  assign rdata_o = ob0_q;
  assign ram_used = wptr_q - rptr_q;
  assign level_o = LevelW'(ram_used) + LevelW'(rd_pend_q) + LevelW'(ob_cnt_q);
endmodule : sync_fifo
`default_nettype wire
