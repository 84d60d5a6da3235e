// Per-entry counter record of a user session in one direction: 64-bit packets and bytes, the
// tick of the last packet and TCP FIN/RST seen, tagged with the entry's generation. An
// increment whose generation differs from the stored one starts the record afresh, so the
// host restarts an entry's counters by committing it with a new generation, without a write
// that could collide with traffic. One increment per cycle (read-modify-write over two
// cycles, with a bypass for back-to-back increments of one index). Snapshot reads share the
// read port and go in cycles without an increment: snap_req_i is held until snap_ack_o; the
// record (as of that cycle) is on snap_rec_o with snap_valid_o two cycles later.
`default_nettype none
module port_counters #(
  parameter int Depth = 1024,
  localparam int IdxW = $clog2(Depth),
  localparam int RecW = 8 + 64 + 64 + 32 + 2  // {gen, pkts, bytes, last, flags}
) (
  input  wire logic            clk_i,
  input  wire logic            rst_ni,
  input  wire logic            inc_i,
  input  wire logic [IdxW-1:0] inc_idx_i,
  input  wire logic [7:0]      inc_gen_i,
  input  wire logic [15:0]     inc_bytes_i,
  input  wire logic [31:0]     inc_tick_i,
  input  wire logic [1:0]      inc_flags_i,   // {RST, FIN} of this packet
  input  wire logic            snap_req_i,
  input  wire logic [IdxW-1:0] snap_idx_i,
  output logic                 snap_ack_o,
  output logic                 snap_valid_o,
  output logic      [RecW-1:0] snap_rec_o
);
  if (Depth < 2) begin : gen_bad_params
    $error("port_counters: Depth must be at least 2");
  end

  typedef struct packed {
    logic [7:0]  gen;
    logic [63:0] pkts;
    logic [63:0] bytes;
    logic [31:0] last;
    logic [1:0]  flags;
  } rec_t;

  logic s1_q, s1_inc_q, w_q;
  logic [IdxW-1:0] s1_idx_q, w_idx_q;
  logic [7:0] s1_gen_q;
  logic [15:0] s1_bytes_q;
  logic [31:0] s1_tick_q;
  logic [1:0] s1_flags_q;
  rec_t rdata, base, upd, w_val_q;
  logic [RecW-1:0] unused_rdata_b;  // port B only writes

  assign snap_ack_o = snap_req_i && !inc_i;

  ram_2p #(.Width(RecW), .Depth(Depth)) u_ram (
    .clk_i,
    .a_en_i   (inc_i || snap_req_i),
    .a_addr_i (inc_i ? inc_idx_i : snap_idx_i),
    .a_rdata_o(rdata),
    .b_en_i   (s1_q && s1_inc_q),
    .b_we_i   (1'b1),
    .b_addr_i (s1_idx_q),
    .b_wdata_i(upd),
    .b_rdata_o(unused_rdata_b)
  );

  always_comb begin
    base = (w_q && w_idx_q == s1_idx_q) ? w_val_q : rdata;
    upd.gen = s1_gen_q;
    upd.last = s1_tick_q;
    if (base.gen != s1_gen_q) begin
      upd.pkts = 64'd1;
      upd.bytes = {48'd0, s1_bytes_q};
      upd.flags = s1_flags_q;
    end else begin
      upd.pkts = base.pkts + 64'd1;
      upd.bytes = base.bytes + {48'd0, s1_bytes_q};
      upd.flags = base.flags | s1_flags_q;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_q <= 1'b0;
      w_q <= 1'b0;
      snap_valid_o <= 1'b0;
    end else begin
      s1_q <= inc_i || snap_ack_o;
      w_q <= s1_q && s1_inc_q;
      snap_valid_o <= s1_q && !s1_inc_q;
    end
  end

  always_ff @(posedge clk_i) begin
    s1_inc_q <= inc_i;
    s1_idx_q <= inc_i ? inc_idx_i : snap_idx_i;
    s1_gen_q <= inc_gen_i;
    s1_bytes_q <= inc_bytes_i;
    s1_tick_q <= inc_tick_i;
    s1_flags_q <= inc_flags_i;
    w_idx_q <= s1_idx_q;
    w_val_q <= upd;
    snap_rec_o <= base;
  end
endmodule : port_counters
`default_nettype wire
