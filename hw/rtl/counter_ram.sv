// Per-index packet and byte counters (64 bits each) in block RAM. One increment per cycle;
// the read-modify-write takes two cycles and a back-to-back increment of the same index is
// served from a bypass register, so no count is lost. The host reads a consistent snapshot
// of one index from a mirror copy; its data is valid one cycle after snap_i.
`default_nettype none
module counter_ram #(
  parameter int Depth = 256,
  parameter int BytesW = 16,
  localparam int IdxW = $clog2(Depth)
) (
  input  wire logic              clk_i,
  input  wire logic              rst_ni,
  input  wire logic              inc_i,
  input  wire logic [IdxW-1:0]   inc_idx_i,
  input  wire logic [BytesW-1:0] inc_bytes_i,
  input  wire logic              snap_i,
  input  wire logic [IdxW-1:0]   snap_idx_i,
  output logic      [63:0]       snap_pkts_o,
  output logic      [63:0]       snap_bytes_o
);
  if (Depth < 2 || BytesW < 1 || BytesW > 63) begin : gen_bad_params
    $error("counter_ram: bad parameters");
  end

  logic s1_q;
  logic [IdxW-1:0] s1_idx_q;
  logic [BytesW-1:0] s1_bytes_q;
  logic [127:0] rdata, base, upd;
  logic w_q;
  logic [IdxW-1:0] w_idx_q;
  logic [127:0] w_val_q;
  logic [127:0] unused_rdata_b0, unused_rdata_b1;  // port B only writes

  ram_2p #(.Width(128), .Depth(Depth)) u_ram (
    .clk_i,
    .a_en_i   (inc_i),
    .a_addr_i (inc_idx_i),
    .a_rdata_o(rdata),
    .b_en_i   (s1_q),
    .b_we_i   (1'b1),
    .b_addr_i (s1_idx_q),
    .b_wdata_i(upd),
    .b_rdata_o(unused_rdata_b0)
  );

  // The host's copy: written with every update, read on its own port.
  ram_2p #(.Width(128), .Depth(Depth)) u_mirror (
    .clk_i,
    .a_en_i   (snap_i),
    .a_addr_i (snap_idx_i),
    .a_rdata_o({snap_pkts_o, snap_bytes_o}),
    .b_en_i   (s1_q),
    .b_we_i   (1'b1),
    .b_addr_i (s1_idx_q),
    .b_wdata_i(upd),
    .b_rdata_o(unused_rdata_b1)
  );

  always_comb begin
    base = (w_q && w_idx_q == s1_idx_q) ? w_val_q : rdata;
    upd[127:64] = base[127:64] + 64'd1;
    upd[63:0] = base[63:0] + {{(64 - BytesW){1'b0}}, s1_bytes_q};
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_q <= 1'b0;
      w_q <= 1'b0;
    end else begin
      s1_q <= inc_i;
      w_q <= s1_q;
    end
  end

  always_ff @(posedge clk_i) begin
    s1_idx_q <= inc_idx_i;
    s1_bytes_q <= inc_bytes_i;
    w_idx_q <= s1_idx_q;
    w_val_q <= upd;
  end
endmodule : counter_ram
`default_nettype wire
