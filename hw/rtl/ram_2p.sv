// Two-port RAM: port A reads (lookups), port B reads or writes (host and updates).
// Read data appears one cycle after the address. A port B write is seen by port A reads
// issued in later cycles; a port A read in the same cycle as a write returns the old word.
// Contents start at zero, as a block RAM's do after configuration.
`default_nettype none
module ram_2p #(
  parameter int Width = 32,
  parameter int Depth = 1024,
  localparam int AddrW = (Depth > 1) ? $clog2(Depth) : 1
) (
  input  wire logic             clk_i,
  input  wire logic             a_en_i,
  input  wire logic [AddrW-1:0] a_addr_i,
  output logic      [Width-1:0] a_rdata_o,
  input  wire logic             b_en_i,
  input  wire logic             b_we_i,
  input  wire logic [AddrW-1:0] b_addr_i,
  input  wire logic [Width-1:0] b_wdata_i,
  output logic      [Width-1:0] b_rdata_o
);
  if (Width < 1 || Depth < 2) begin : gen_bad_params
    $error("ram_2p: Width must be >= 1 and Depth >= 2");
  end

  logic [Width-1:0] mem[Depth];

  // Simulation starts from zero as the FPGA does; synthesis needs no initial values (and an
  // initialiser would keep a large memory out of URAM, which has none).
`ifndef SYNTHESIS
  initial begin
    for (int i = 0; i < Depth; i++) mem[i] = '0;
  end
`endif

  always_ff @(posedge clk_i) begin
    if (a_en_i) a_rdata_o <= mem[a_addr_i];
  end

  always_ff @(posedge clk_i) begin
    if (b_en_i) begin
      if (b_we_i) mem[b_addr_i] <= b_wdata_i;
      b_rdata_o <= mem[b_addr_i];
    end
  end
endmodule : ram_2p
`default_nettype wire
