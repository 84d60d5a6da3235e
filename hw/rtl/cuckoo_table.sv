// Bucketized cuckoo exact-match table: Banks = 2, each of 2**BucketsLog2 buckets of Slots
// slots. A lookup reads both candidate buckets (indexes computed by the caller's hash units)
// on port A of every slot RAM and compares all 2 * Slots keys; latency 2, one lookup per
// cycle. The host reads or writes one whole slot {valid, key, value} on port B in one cycle,
// so an entry becomes visible atomically; a cuckoo move writes the new slot before clearing
// the old, so a key is always found in at least one place.
`default_nettype none
module cuckoo_table #(
  parameter int BucketsLog2 = 13,
  parameter int Slots = 4,
  parameter int KeyW = 32,
  parameter int ValW = 8,
  parameter int TagW = 1,
  localparam int EntryW = 1 + KeyW + ValW,
  localparam int SlotW = (Slots > 1) ? $clog2(Slots) : 1
) (
  input  wire logic                   clk_i,
  input  wire logic                   rst_ni,
  // lookup
  input  wire logic                   lk_valid_i,
  input  wire logic [KeyW-1:0]        lk_key_i,
  input  wire logic [BucketsLog2-1:0] lk_idx0_i,
  input  wire logic [BucketsLog2-1:0] lk_idx1_i,
  input  wire logic [TagW-1:0]        lk_tag_i,
  output logic                        lk_valid_o,
  output logic                        lk_hit_o,
  output logic      [ValW-1:0]        lk_val_o,
  output logic      [TagW-1:0]        lk_tag_o,
  // host port: one slot per cycle; read data one cycle after the request
  input  wire logic                   host_en_i,
  input  wire logic                   host_we_i,
  input  wire logic                   host_bank_i,
  input  wire logic [BucketsLog2-1:0] host_bucket_i,
  input  wire logic [SlotW-1:0]       host_slot_i,
  input  wire logic [EntryW-1:0]      host_wentry_i,  // {valid, key, value}
  output logic      [EntryW-1:0]      host_rentry_o
);
  if (BucketsLog2 < 1 || Slots < 1 || KeyW < 1 || ValW < 1) begin : gen_bad_params
    $error("cuckoo_table: bad geometry");
  end

  localparam int Ways = 2 * Slots;

  logic [EntryW-1:0] rd_a[Ways];
  logic [EntryW-1:0] rd_b[Ways];
  logic [KeyW-1:0] key1_q;
  logic [TagW-1:0] tag1_q, tag2_q;
  logic v1_q, v2_q;
  logic hit2_q, hit2_d;
  logic [ValW-1:0] val2_q, val2_d;
  logic [$clog2(Ways)-1:0] host_way_q;

  for (genvar w = 0; w < Ways; w++) begin : gen_way
    localparam int Bank = w / Slots;
    localparam int Slot = w % Slots;
    logic host_sel;
    assign host_sel = host_en_i && (host_bank_i == Bank[0]) && (host_slot_i == Slot[SlotW-1:0]);
    ram_2p #(.Width(EntryW), .Depth(1 << BucketsLog2)) u_ram (
      .clk_i,
      .a_en_i   (1'b1),
      .a_addr_i (Bank == 0 ? lk_idx0_i : lk_idx1_i),
      .a_rdata_o(rd_a[w]),
      .b_en_i   (host_sel),
      .b_we_i   (host_we_i),
      .b_addr_i (host_bucket_i),
      .b_wdata_i(host_wentry_i),
      .b_rdata_o(rd_b[w])
    );
  end

  always_comb begin
    hit2_d = 1'b0;
    val2_d = '0;
    for (int w = Ways - 1; w >= 0; w--) begin
      if (rd_a[w][EntryW-1] && rd_a[w][KeyW+ValW-1:ValW] == key1_q) begin
        hit2_d = 1'b1;
        val2_d = rd_a[w][ValW-1:0];
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q <= 1'b0;
      v2_q <= 1'b0;
    end else begin
      v1_q <= lk_valid_i;
      v2_q <= v1_q;
    end
  end

  always_ff @(posedge clk_i) begin
    key1_q <= lk_key_i;
    tag1_q <= lk_tag_i;
    tag2_q <= tag1_q;
    hit2_q <= hit2_d;
    val2_q <= val2_d;
    host_way_q <= {host_bank_i, host_slot_i};
  end

  assign lk_valid_o = v2_q;
  assign lk_hit_o = hit2_q;
  assign lk_val_o = val2_q;
  assign lk_tag_o = tag2_q;
  assign host_rentry_o = rd_b[host_way_q];
endmodule : cuckoo_table
`default_nettype wire
