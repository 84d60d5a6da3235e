// AXI4-Lite slave to a simple register bus: one write or read at a time, 32-bit data,
// 16-bit byte address (the 64 KiB window XRT gives a user kernel). A read's data comes from
// rd_data_i one cycle after rd_o. Write strobes are ignored: registers are written whole.
// wr_hold_i / rd_hold_i keep a write / read offered on the bus waiting (AWREADY and WREADY, or
// ARREADY, low) for as long as they are high: the register file behind says, from the
// address offered, that the access must wait. They may depend on s_axil_awaddr/araddr and
// valid, never on this module's outputs.
`default_nettype none
module axil_slave (
  input  wire logic        clk_i,
  input  wire logic        rst_ni,
  input  wire logic [15:0] s_axil_awaddr,
  input  wire logic        s_axil_awvalid,
  output logic             s_axil_awready,
  input  wire logic [31:0] s_axil_wdata,
  input  wire logic [3:0]  s_axil_wstrb,
  input  wire logic        s_axil_wvalid,
  output logic             s_axil_wready,
  output logic      [1:0]  s_axil_bresp,
  output logic             s_axil_bvalid,
  input  wire logic        s_axil_bready,
  input  wire logic [15:0] s_axil_araddr,
  input  wire logic        s_axil_arvalid,
  output logic             s_axil_arready,
  output logic      [31:0] s_axil_rdata,
  output logic      [1:0]  s_axil_rresp,
  output logic             s_axil_rvalid,
  input  wire logic        s_axil_rready,
  output logic             wr_o,
  output logic      [15:0] wr_addr_o,
  output logic      [31:0] wr_data_o,
  output logic             rd_o,
  output logic      [15:0] rd_addr_o,
  input  wire logic [31:0] rd_data_i,
  input  wire logic        wr_hold_i,
  input  wire logic        rd_hold_i
);
  logic bvalid_q, bvalid_d, rvalid_q, rvalid_d, rpend_q, rpend_d;
  logic [31:0] rdata_q, rdata_d;
  logic do_wr, do_rd;
  logic unused_wstrb;

  assign unused_wstrb = ^s_axil_wstrb;
  assign do_wr = s_axil_awvalid && s_axil_wvalid && !bvalid_q && !wr_hold_i;
  assign do_rd = s_axil_arvalid && !rvalid_q && !rpend_q && !rd_hold_i;

  always_comb begin
    bvalid_d = bvalid_q;
    if (s_axil_bready) bvalid_d = 1'b0;
    if (do_wr) bvalid_d = 1'b1;
    rpend_d = do_rd;
    rvalid_d = rvalid_q;
    rdata_d = rdata_q;
    if (s_axil_rready) rvalid_d = 1'b0;
    if (rpend_q) begin
      rvalid_d = 1'b1;
      rdata_d = rd_data_i;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      bvalid_q <= 1'b0;
      rvalid_q <= 1'b0;
      rpend_q <= 1'b0;
    end else begin
      bvalid_q <= bvalid_d;
      rvalid_q <= rvalid_d;
      rpend_q <= rpend_d;
    end
  end

  always_ff @(posedge clk_i) begin
    rdata_q <= rdata_d;
  end

  assign s_axil_awready = do_wr;
  assign s_axil_wready = do_wr;
  assign s_axil_bresp = 2'b00;
  assign s_axil_bvalid = bvalid_q;
  assign s_axil_arready = do_rd;
  assign s_axil_rdata = rdata_q;
  assign s_axil_rresp = 2'b00;
  assign s_axil_rvalid = rvalid_q;
  assign wr_o = do_wr;
  assign wr_addr_o = s_axil_awaddr;
  assign wr_data_o = s_axil_wdata;
  assign rd_o = do_rd;
  assign rd_addr_o = s_axil_araddr;
endmodule : axil_slave
`default_nettype wire
