// gate: tier-2 packet gateway. Uplink (access port in, service port out): G-PDUs to the
// gate's access address are decapsulated; the inner packet's (TEID, 5-tuple) finds a flow
// entry giving its user-session port; the port table entry gives the NAT action: source
// becomes gate address : port, destination the selected server (unless external), TTL - 1,
// checksums updated incrementally; packets and bytes counted per user session. A miss goes
// to the host port (token-bucket limited) to be re-injected once installed; a denied session
// is dropped and counted. Downlink (service port in, access port out): a reply to gate
// address i : port finds the same entry, gets source = representative address : service
// port and destination = terminal : port back, and leaves in a GTP-U tunnel toward the
// session's peer with its downlink TEID (and a PDU Session Container when it has a QFI).
// The export scanner writes counter records for idle, closed and long-running sessions.
// Service-side ARP for a gate address goes to the host port as well (its own punt input, so
// its slots say the service port); the host's inject ring feeds the uplink pipeline or sends
// frames straight out of either port, between that port's pipeline frames.
//
// Each direction buffers whole frames (frame_ingress) and decides on the first 128 bytes
// while the rest arrives; axis_realign strips or inserts the tunnel headers at one beat per
// cycle. The MAC inputs are never back-pressured: a frame that finds no room is dropped whole
// and counted, which is how an output slower than its input (encapsulation) sheds load.
`include "rg_pkg.sv"
`include "gate_regs_pkg.sv"
`default_nettype none
// Each kernel is a top of its own; linting hw/rtl as a whole sees both tops.
/* verilator lint_off MULTITOP */
module gate_kernel #(
  parameter int FlowBucketsLog2 = gate_regs_pkg::FLOW_BUCKETS_LOG2,
  parameter int FlowSlots = gate_regs_pkg::FLOW_SLOTS,
  parameter int NatAddrs = gate_regs_pkg::NAT_ADDRS,
  parameter int PortsLog2 = gate_regs_pkg::PORTS_LOG2,
  parameter int MaxFrameBytes = gate_regs_pkg::MAX_FRAME_BYTES,
  parameter int MaxExt = gate_regs_pkg::PARSER_MAX_EXT,
  parameter int FifoLog2 = 9
) (
  input  wire logic              clk_i,
  input  wire logic              rst_ni,
  input  wire logic [63:0]       timestamp_i,
  // control
  input  wire logic [15:0]       s_axil_awaddr,
  input  wire logic              s_axil_awvalid,
  output logic                   s_axil_awready,
  input  wire logic [31:0]       s_axil_wdata,
  input  wire logic [3:0]        s_axil_wstrb,
  input  wire logic              s_axil_wvalid,
  output logic                   s_axil_wready,
  output logic      [1:0]        s_axil_bresp,
  output logic                   s_axil_bvalid,
  input  wire logic              s_axil_bready,
  input  wire logic [15:0]       s_axil_araddr,
  input  wire logic              s_axil_arvalid,
  output logic                   s_axil_arready,
  output logic      [31:0]       s_axil_rdata,
  output logic      [1:0]        s_axil_rresp,
  output logic                   s_axil_rvalid,
  input  wire logic              s_axil_rready,
  // access side in (from the MAC: no tready; tuser[0] marks a bad frame on its last beat)
  input  wire logic [511:0]      s_axis_rx_tdata,
  input  wire logic [63:0]       s_axis_rx_tkeep,
  input  wire logic              s_axis_rx_tlast,
  input  wire logic [0:0]        s_axis_rx_tuser,
  input  wire logic              s_axis_rx_tvalid,
  output logic                   s_axis_rx_tready,
  // access side out (downlink tunnels)
  output logic      [511:0]      m_axis_tx_tdata,
  output logic      [63:0]       m_axis_tx_tkeep,
  output logic                   m_axis_tx_tlast,
  output logic      [0:0]        m_axis_tx_tuser,
  output logic                   m_axis_tx_tvalid,
  input  wire logic              m_axis_tx_tready,
  // service side in (replies from servers)
  input  wire logic [511:0]      s_axis_svc_rx_tdata,
  input  wire logic [63:0]       s_axis_svc_rx_tkeep,
  input  wire logic              s_axis_svc_rx_tlast,
  input  wire logic [0:0]        s_axis_svc_rx_tuser,
  input  wire logic              s_axis_svc_rx_tvalid,
  output logic                   s_axis_svc_rx_tready,
  // service side out (decapsulated, rewritten uplink packets)
  output logic      [511:0]      m_axis_svc_tx_tdata,
  output logic      [63:0]       m_axis_svc_tx_tkeep,
  output logic                   m_axis_svc_tx_tlast,
  output logic      [0:0]        m_axis_svc_tx_tuser,
  output logic                   m_axis_svc_tx_tvalid,
  input  wire logic              m_axis_svc_tx_tready,
  // AXI4 master to device memory: punt, inject and export rings
  output logic      [63:0]       m_axi_awaddr,
  output logic      [7:0]        m_axi_awlen,
  output logic      [2:0]        m_axi_awsize,
  output logic      [1:0]        m_axi_awburst,
  output logic                   m_axi_awvalid,
  input  wire logic              m_axi_awready,
  output logic      [511:0]      m_axi_wdata,
  output logic      [63:0]       m_axi_wstrb,
  output logic                   m_axi_wlast,
  output logic                   m_axi_wvalid,
  input  wire logic              m_axi_wready,
  input  wire logic [1:0]        m_axi_bresp,
  input  wire logic              m_axi_bvalid,
  output logic                   m_axi_bready,
  output logic      [63:0]       m_axi_araddr,
  output logic      [7:0]        m_axi_arlen,
  output logic      [2:0]        m_axi_arsize,
  output logic      [1:0]        m_axi_arburst,
  output logic                   m_axi_arvalid,
  input  wire logic              m_axi_arready,
  input  wire logic [511:0]      m_axi_rdata,
  input  wire logic [1:0]        m_axi_rresp,
  input  wire logic              m_axi_rlast,
  input  wire logic              m_axi_rvalid,
  output logic                   m_axi_rready
);
/* verilator lint_on MULTITOP */

  localparam int AddrW = $clog2(NatAddrs);
  localparam int IdxW = AddrW + PortsLog2;
  localparam int SlotW = (FlowSlots > 1) ? $clog2(FlowSlots) : 1;
  localparam int LevelW = FifoLog2 + 2;
  localparam int NStats = gate_regs_pkg::STAT_COUNT;
  localparam int NPatch = 10;
  localparam int PatchW = NPatch * 25;
  localparam int UpW = 3 + 8 + 32 + 16;
  localparam int FlowKeyW = 136;
  localparam int FlowValW = 18;

  if (NatAddrs < 2 || NatAddrs > 4 || (1 << AddrW) != NatAddrs || PortsLog2 < 1 ||
      PortsLog2 > 16) begin : gen_bad_params
    $error("gate_kernel: NatAddrs must be 2 or 4 (the register map has 4), PortsLog2 1..16");
  end

  localparam logic [1:0] ACT_DROP = 2'd0;
  localparam logic [1:0] ACT_FWD = 2'd1;
  localparam logic [1:0] ACT_PUNT = 2'd2;

  // ------------------------------------------------------------------------------------
  // Register bus
  // ------------------------------------------------------------------------------------
  logic        wr, rd;
  logic [15:0] wr_addr, rd_addr;
  logic [31:0] wr_data, rd_data_q, rd_data_d;
  logic        wr_hold, rd_hold;

  axil_slave u_axil (
    .clk_i, .rst_ni,
    .s_axil_awaddr, .s_axil_awvalid, .s_axil_awready, .s_axil_wdata, .s_axil_wstrb,
    .s_axil_wvalid, .s_axil_wready, .s_axil_bresp, .s_axil_bvalid, .s_axil_bready,
    .s_axil_araddr, .s_axil_arvalid, .s_axil_arready, .s_axil_rdata, .s_axil_rresp,
    .s_axil_rvalid, .s_axil_rready,
    .wr_o(wr), .wr_addr_o(wr_addr), .wr_data_o(wr_data),
    .rd_o(rd), .rd_addr_o(rd_addr), .rd_data_i(rd_data_q),
    .wr_hold_i(wr_hold), .rd_hold_i(rd_hold)
  );

  logic [31:0] access_ip_q, own_mac_lo_q, svc_mac_lo_q, acc_mac_lo_q, punt_rate_q;
  logic [15:0] own_mac_hi_q, svc_mac_hi_q, acc_mac_hi_q, punt_burst_q;
  logic [7:0] outer_ttl_q;
  logic [4:0] tick_shift_q;
  logic [31:0] nat_ip_q[4];
  logic [31:0] time_hi_q, stat_hi_q;
  logic [31:0] flow_addr_q, flow_key_q[5], flow_val_q, flow_rkey_q[5], flow_rval_q;
  logic flow_rd_q;
  logic [31:0] port_index_q, port_data_q[8];
  logic scan_on_q;
  logic [31:0] idle_ticks_q, interim_ticks_q;
  logic [63:0] stats_q[NStats];
  logic [31:0] host_rdata;
  logic host_hit;
  logic [31:0] tick;
  logic [47:0] own_mac, svc_mac, acc_mac;

  assign own_mac = {own_mac_hi_q, own_mac_lo_q};
  assign svc_mac = {svc_mac_hi_q, svc_mac_lo_q};
  assign acc_mac = {acc_mac_hi_q, acc_mac_lo_q};
  assign tick = 32'(timestamp_i >> tick_shift_q);

  // Flow table host port, driven from register writes.
  logic flow_host_en, flow_host_we;
  logic [1+FlowKeyW+FlowValW-1:0] flow_rentry;
  assign flow_host_we = wr_data[gate_regs_pkg::FLOW_CMD_COMMIT_LSB];
  assign flow_host_en = wr && (wr_addr == gate_regs_pkg::FLOW_CMD) &&
                        (flow_host_we || wr_data[gate_regs_pkg::FLOW_CMD_READ_LSB]);

  // Port table commands.
  logic port_commit, port_read, port_busy;
  logic [255:0] port_rentry;
  logic [63:0] port_c_ul_pkts, port_c_ul_bytes, port_c_dl_pkts, port_c_dl_bytes;
  logic [31:0] port_c_last;
  logic [2:0] port_c_flags;
  logic [IdxW-1:0] scan_pos;
  assign port_commit = wr && (wr_addr == gate_regs_pkg::PORT_CMD) &&
                       wr_data[gate_regs_pkg::PORT_CMD_COMMIT_LSB];
  assign port_read = wr && (wr_addr == gate_regs_pkg::PORT_CMD) &&
                     wr_data[gate_regs_pkg::PORT_CMD_READ_LSB];

  // While a port-table command waits for the controller or runs (the scanner may hold the
  // controller for a few cycles), the bus holds a write that would restage it (INDEX, DATA,
  // CMD) and a read of what it returns (RDATA, C_*): the host sends commands and reads back
  // to back with no STATUS polling. A CMD write offered in the same cycle as such a read
  // holds the read too (busy rises the cycle after the write is taken).
  function automatic logic port_staging(input logic [15:0] a);
    port_staging = a == gate_regs_pkg::PORT_INDEX || a == gate_regs_pkg::PORT_CMD ||
                   (a >= gate_regs_pkg::PORT_DATA && a < gate_regs_pkg::PORT_DATA + 16'd32);
  endfunction
  function automatic logic port_result(input logic [15:0] a);
    port_result = a >= gate_regs_pkg::PORT_RDATA && a <= gate_regs_pkg::PORT_C_FLAGS;
  endfunction
  assign wr_hold = port_busy && port_staging(s_axil_awaddr);
  assign rd_hold = (port_busy || (s_axil_awvalid && s_axil_awaddr == gate_regs_pkg::PORT_CMD)) &&
                   port_result(s_axil_araddr);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      access_ip_q <= '0;
      own_mac_lo_q <= '0;
      own_mac_hi_q <= '0;
      svc_mac_lo_q <= '0;
      svc_mac_hi_q <= '0;
      acc_mac_lo_q <= '0;
      acc_mac_hi_q <= '0;
      outer_ttl_q <= 8'd64;
      tick_shift_q <= 5'd16;
      punt_rate_q <= 32'h0010_0000;  // 1/16 frame per cycle
      punt_burst_q <= 16'd64;
      for (int i = 0; i < 4; i++) nat_ip_q[i] <= '0;
      flow_addr_q <= '0;
      for (int i = 0; i < 5; i++) flow_key_q[i] <= '0;
      flow_val_q <= '0;
      flow_rd_q <= 1'b0;
      port_index_q <= '0;
      for (int i = 0; i < 8; i++) port_data_q[i] <= '0;
      scan_on_q <= 1'b0;
      idle_ticks_q <= '0;
      interim_ticks_q <= '0;
    end else begin
      flow_rd_q <= flow_host_en && !flow_host_we;
      if (wr) begin
        case (wr_addr)
          gate_regs_pkg::CTRL_ACCESS_IPV4: access_ip_q <= wr_data;
          gate_regs_pkg::CTRL_OWN_MAC_LO: own_mac_lo_q <= wr_data;
          gate_regs_pkg::CTRL_OWN_MAC_HI: own_mac_hi_q <= wr_data[15:0];
          gate_regs_pkg::CTRL_SVC_MAC_LO: svc_mac_lo_q <= wr_data;
          gate_regs_pkg::CTRL_SVC_MAC_HI: svc_mac_hi_q <= wr_data[15:0];
          gate_regs_pkg::CTRL_ACC_MAC_LO: acc_mac_lo_q <= wr_data;
          gate_regs_pkg::CTRL_ACC_MAC_HI: acc_mac_hi_q <= wr_data[15:0];
          gate_regs_pkg::CTRL_OUTER_TTL: outer_ttl_q <= wr_data[7:0];
          gate_regs_pkg::CTRL_TICK_SHIFT: tick_shift_q <= wr_data[4:0];
          gate_regs_pkg::CTRL_PUNT_RATE: punt_rate_q <= wr_data;
          gate_regs_pkg::CTRL_PUNT_BURST: punt_burst_q <= wr_data[15:0];
          gate_regs_pkg::FLOW_ADDR: flow_addr_q <= wr_data;
          gate_regs_pkg::FLOW_KEY0: flow_key_q[0] <= wr_data;
          gate_regs_pkg::FLOW_KEY1: flow_key_q[1] <= wr_data;
          gate_regs_pkg::FLOW_KEY2: flow_key_q[2] <= wr_data;
          gate_regs_pkg::FLOW_KEY3: flow_key_q[3] <= wr_data;
          gate_regs_pkg::FLOW_KEY4: flow_key_q[4] <= wr_data;
          gate_regs_pkg::FLOW_VALUE: flow_val_q <= wr_data;
          gate_regs_pkg::PORT_INDEX: port_index_q <= wr_data;
          gate_regs_pkg::SCAN_CTRL: scan_on_q <= wr_data[gate_regs_pkg::SCAN_CTRL_ON_LSB];
          gate_regs_pkg::SCAN_IDLE_TICKS: idle_ticks_q <= wr_data;
          gate_regs_pkg::SCAN_INTERIM_TICKS: interim_ticks_q <= wr_data;
          default: ;
        endcase
        for (int i = 0; i < 4; i++) begin
          if (wr_addr == gate_regs_pkg::CTRL_NAT_IPV4 + 16'(4 * i)) nat_ip_q[i] <= wr_data;
        end
        for (int i = 0; i < 8; i++) begin
          if (wr_addr == gate_regs_pkg::PORT_DATA + 16'(4 * i)) port_data_q[i] <= wr_data;
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (flow_rd_q) begin
      flow_rkey_q[0] <= flow_rentry[FlowValW + 104 +: 32];
      flow_rkey_q[1] <= flow_rentry[FlowValW + 72 +: 32];
      flow_rkey_q[2] <= flow_rentry[FlowValW + 40 +: 32];
      flow_rkey_q[3] <= flow_rentry[FlowValW +: 32];
      flow_rkey_q[4] <= {24'd0, flow_rentry[FlowValW + 32 +: 8]};
      flow_rval_q <= (32'(flow_rentry[1 + FlowKeyW + FlowValW - 1]) << gate_regs_pkg::FLOW_VALUE_VALID_LSB) |
                     (32'(flow_rentry[FlowValW-1:0]));
    end
  end

  // Read mux, registered: data is there the cycle after rd.
  always_comb begin
    rd_data_d = 32'd0;
    case (rd_addr)
      gate_regs_pkg::CTRL_ID: rd_data_d = gate_regs_pkg::CTRL_ID_VALUE;
      gate_regs_pkg::CTRL_VERSION: rd_data_d = gate_regs_pkg::CTRL_VERSION_VALUE;
      gate_regs_pkg::CTRL_REGMAP: rd_data_d = gate_regs_pkg::REGMAP_CRC;
      gate_regs_pkg::CTRL_ACCESS_IPV4: rd_data_d = access_ip_q;
      gate_regs_pkg::CTRL_OWN_MAC_LO: rd_data_d = own_mac_lo_q;
      gate_regs_pkg::CTRL_OWN_MAC_HI: rd_data_d = {16'd0, own_mac_hi_q};
      gate_regs_pkg::CTRL_SVC_MAC_LO: rd_data_d = svc_mac_lo_q;
      gate_regs_pkg::CTRL_SVC_MAC_HI: rd_data_d = {16'd0, svc_mac_hi_q};
      gate_regs_pkg::CTRL_ACC_MAC_LO: rd_data_d = acc_mac_lo_q;
      gate_regs_pkg::CTRL_ACC_MAC_HI: rd_data_d = {16'd0, acc_mac_hi_q};
      gate_regs_pkg::CTRL_OUTER_TTL: rd_data_d = {24'd0, outer_ttl_q};
      gate_regs_pkg::CTRL_TICK_SHIFT: rd_data_d = {27'd0, tick_shift_q};
      gate_regs_pkg::CTRL_PUNT_RATE: rd_data_d = punt_rate_q;
      gate_regs_pkg::CTRL_PUNT_BURST: rd_data_d = {16'd0, punt_burst_q};
      gate_regs_pkg::CTRL_TIME_LO: rd_data_d = timestamp_i[31:0];
      gate_regs_pkg::CTRL_TIME_HI: rd_data_d = time_hi_q;
      gate_regs_pkg::STATS_ID: rd_data_d = gate_regs_pkg::STATS_ID_VALUE;
      gate_regs_pkg::STATS_VERSION: rd_data_d = gate_regs_pkg::STATS_VERSION_VALUE;
      gate_regs_pkg::STATS_COUNT: rd_data_d = NStats;
      gate_regs_pkg::FLOW_ID: rd_data_d = gate_regs_pkg::FLOW_ID_VALUE;
      gate_regs_pkg::FLOW_VERSION: rd_data_d = gate_regs_pkg::FLOW_VERSION_VALUE;
      gate_regs_pkg::FLOW_GEOMETRY:
        rd_data_d = (32'd2 << gate_regs_pkg::FLOW_GEOMETRY_BANKS_LSB) |
                    (32'(FlowSlots) << gate_regs_pkg::FLOW_GEOMETRY_SLOTS_LSB) |
                    (32'(FlowBucketsLog2) << gate_regs_pkg::FLOW_GEOMETRY_BUCKETS_LOG2_LSB);
      gate_regs_pkg::FLOW_ADDR: rd_data_d = flow_addr_q;
      gate_regs_pkg::FLOW_KEY0: rd_data_d = flow_key_q[0];
      gate_regs_pkg::FLOW_KEY1: rd_data_d = flow_key_q[1];
      gate_regs_pkg::FLOW_KEY2: rd_data_d = flow_key_q[2];
      gate_regs_pkg::FLOW_KEY3: rd_data_d = flow_key_q[3];
      gate_regs_pkg::FLOW_KEY4: rd_data_d = flow_key_q[4];
      gate_regs_pkg::FLOW_VALUE: rd_data_d = flow_val_q;
      gate_regs_pkg::FLOW_RKEY0: rd_data_d = flow_rkey_q[0];
      gate_regs_pkg::FLOW_RKEY1: rd_data_d = flow_rkey_q[1];
      gate_regs_pkg::FLOW_RKEY2: rd_data_d = flow_rkey_q[2];
      gate_regs_pkg::FLOW_RKEY3: rd_data_d = flow_rkey_q[3];
      gate_regs_pkg::FLOW_RKEY4: rd_data_d = flow_rkey_q[4];
      gate_regs_pkg::FLOW_RVALUE: rd_data_d = flow_rval_q;
      gate_regs_pkg::PORT_ID: rd_data_d = gate_regs_pkg::PORT_ID_VALUE;
      gate_regs_pkg::PORT_VERSION: rd_data_d = gate_regs_pkg::PORT_VERSION_VALUE;
      gate_regs_pkg::PORT_GEOMETRY:
        rd_data_d = (32'(NatAddrs) << gate_regs_pkg::PORT_GEOMETRY_ADDRS_LSB) |
                    (32'(PortsLog2) << gate_regs_pkg::PORT_GEOMETRY_PORTS_LOG2_LSB);
      gate_regs_pkg::PORT_STATUS: rd_data_d = 32'(port_busy) << gate_regs_pkg::PORT_STATUS_BUSY_LSB;
      gate_regs_pkg::PORT_INDEX: rd_data_d = port_index_q;
      gate_regs_pkg::PORT_C_UL_PKTS_LO: rd_data_d = port_c_ul_pkts[31:0];
      gate_regs_pkg::PORT_C_UL_PKTS_HI: rd_data_d = port_c_ul_pkts[63:32];
      gate_regs_pkg::PORT_C_UL_BYTES_LO: rd_data_d = port_c_ul_bytes[31:0];
      gate_regs_pkg::PORT_C_UL_BYTES_HI: rd_data_d = port_c_ul_bytes[63:32];
      gate_regs_pkg::PORT_C_DL_PKTS_LO: rd_data_d = port_c_dl_pkts[31:0];
      gate_regs_pkg::PORT_C_DL_PKTS_HI: rd_data_d = port_c_dl_pkts[63:32];
      gate_regs_pkg::PORT_C_DL_BYTES_LO: rd_data_d = port_c_dl_bytes[31:0];
      gate_regs_pkg::PORT_C_DL_BYTES_HI: rd_data_d = port_c_dl_bytes[63:32];
      gate_regs_pkg::PORT_C_LAST_SEEN: rd_data_d = port_c_last;
      gate_regs_pkg::PORT_C_FLAGS:
        rd_data_d = (32'(port_c_flags[0]) << gate_regs_pkg::PORT_C_FLAGS_FIN_LSB) |
                    (32'(port_c_flags[1]) << gate_regs_pkg::PORT_C_FLAGS_RST_LSB) |
                    (32'(port_c_flags[2]) << gate_regs_pkg::PORT_C_FLAGS_FINAL_LSB);
      gate_regs_pkg::SCAN_ID: rd_data_d = gate_regs_pkg::SCAN_ID_VALUE;
      gate_regs_pkg::SCAN_VERSION: rd_data_d = gate_regs_pkg::SCAN_VERSION_VALUE;
      gate_regs_pkg::SCAN_CTRL: rd_data_d = 32'(scan_on_q) << gate_regs_pkg::SCAN_CTRL_ON_LSB;
      gate_regs_pkg::SCAN_IDLE_TICKS: rd_data_d = idle_ticks_q;
      gate_regs_pkg::SCAN_INTERIM_TICKS: rd_data_d = interim_ticks_q;
      gate_regs_pkg::SCAN_POSITION: rd_data_d = 32'(scan_pos);
      default: begin
        if (host_hit) rd_data_d = host_rdata;
        for (int i = 0; i < 4; i++) begin
          if (rd_addr == gate_regs_pkg::CTRL_NAT_IPV4 + 16'(4 * i)) rd_data_d = nat_ip_q[i];
        end
        for (int i = 0; i < 8; i++) begin
          if (rd_addr == gate_regs_pkg::PORT_DATA + 16'(4 * i)) rd_data_d = port_data_q[i];
          if (rd_addr == gate_regs_pkg::PORT_RDATA + 16'(4 * i)) rd_data_d = port_rentry[32*i +: 32];
        end
        if (stat_rd_hit) rd_data_d = rd_addr[2] ? stat_hi_q : stat_rd_lo;
      end
    endcase
  end

  // The counters are read by index (LO at STATS_LO + 8 i, HI 4 bytes later), not by comparing
  // the address with each of them (30 comparators and a priority chain; Verilated, a function
  // of 55,000 lines that took GCC 280 s at -O2).
  localparam int StatIdxW = $clog2(NStats);
  logic stat_rd_hit, stat_rd_lo_hit;
  logic [StatIdxW-1:0] stat_rd_idx;
  logic [31:0] stat_rd_lo;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [15:0] stat_rd_off;  // byte offset in the counters; bit 2 picks HI, the rest is range
  /* verilator lint_on UNUSEDSIGNAL */
  if (gate_regs_pkg::STATS_HI != gate_regs_pkg::STATS_LO + 16'd4 ||
      gate_regs_pkg::STATS_LO_STRIDE != 8 || gate_regs_pkg::STATS_HI_STRIDE != 8 ||
      gate_regs_pkg::STATS_LO[2:0] != 3'd0) begin : gen_bad_stats
    $error("gate_kernel: the counter read expects LO/HI pairs 8 bytes apart, HI at LO + 4");
  end
  always_comb begin
    stat_rd_off = rd_addr - gate_regs_pkg::STATS_LO;
    stat_rd_idx = stat_rd_off[3 +: StatIdxW];
    stat_rd_hit = rd_addr >= gate_regs_pkg::STATS_LO &&
                  rd_addr < gate_regs_pkg::STATS_LO + 16'(gate_regs_pkg::STATS_LO_STRIDE * NStats) &&
                  stat_rd_off[1:0] == 2'd0;
    stat_rd_lo_hit = stat_rd_hit && !rd_addr[2];
    stat_rd_lo = stats_q[stat_rd_idx][31:0];
  end

  always_ff @(posedge clk_i) begin
    rd_data_q <= rd_data_d;
  end

  // Reading a LO word latches the matching HI word so a 64-bit value is read consistently.
  always_ff @(posedge clk_i) begin
    if (rd && rd_addr == gate_regs_pkg::CTRL_TIME_LO) time_hi_q <= timestamp_i[63:32];
    if (rd && stat_rd_lo_hit) stat_hi_q <= stats_q[stat_rd_idx][63:32];
  end

  // ------------------------------------------------------------------------------------
  // Uplink ingress: the access MAC, with re-injected frames merged in between its frames
  // ------------------------------------------------------------------------------------
  // An injected frame (code UPLINK) starts only between MAC frames and only when the host port
  // holds it whole; MAC beats that arrive meanwhile wait in the skid buffer, which then drains
  // in the MAC's idle cycles (one injected frame at a time, so it never holds more than one
  // frame). Frames with codes ACCESS_OUT and SERVICE_OUT leave by the egress merges below; the
  // code of the frame at the head of the inject stream says which consumer takes it.
  logic [511:0] inj_tdata;
  logic [63:0] inj_tkeep;
  logic [7:0] inj_tuser;
  logic inj_tlast, inj_tvalid, inj_tready, inj_whole;
  logic inj_ul_ready, inj_acc_ready, inj_svc_ready;
  logic inj_ul_cand, inj_acc_cand, inj_svc_cand;  // a whole frame for that consumer waits
  logic mac_in_q, inj_act_q, inj_act_d, inj_on;
  logic skid_push, skid_pop, skid_valid, skid_any;
  logic [512+64+1:0] skid_rdata;
  logic [9:0] skid_level;
  logic [511:0] ul_tdata;
  logic [63:0] ul_tkeep;
  logic ul_tlast, ul_tuser, ul_tvalid;
  logic mac_sof;

  assign s_axis_rx_tready = 1'b1;
  assign mac_sof = s_axis_rx_tvalid && !mac_in_q;
  assign inj_ul_cand = inj_whole && inj_tvalid && inj_tuser == 8'(gate_regs_pkg::INJECT_PORT_UPLINK);
  assign inj_acc_cand = inj_whole && inj_tvalid &&
                        inj_tuser == 8'(gate_regs_pkg::INJECT_PORT_ACCESS_OUT);
  assign inj_svc_cand = inj_whole && inj_tvalid &&
                        inj_tuser == 8'(gate_regs_pkg::INJECT_PORT_SERVICE_OUT);
  // The skid holds beats from the cycle after their push (level) but shows them only a few
  // cycles later (valid): while it holds any, MAC beats queue behind them.
  assign skid_any = skid_level != '0;
  assign inj_on = inj_act_q || (!skid_any && !mac_in_q && inj_ul_cand);
  assign inj_tready = inj_ul_ready || inj_acc_ready || inj_svc_ready;

  always_comb begin
    skid_push = 1'b0;
    skid_pop = 1'b0;
    inj_ul_ready = 1'b0;
    inj_act_d = inj_act_q;
    ul_tdata = s_axis_rx_tdata;
    ul_tkeep = s_axis_rx_tkeep;
    ul_tlast = s_axis_rx_tlast;
    ul_tuser = s_axis_rx_tuser[0];
    ul_tvalid = s_axis_rx_tvalid;
    if (inj_on) begin
      skid_push = s_axis_rx_tvalid;
      inj_ul_ready = 1'b1;
      ul_tdata = inj_tdata;
      ul_tkeep = inj_tkeep;
      ul_tlast = inj_tlast;
      ul_tuser = 1'b0;
      ul_tvalid = inj_tvalid;
      inj_act_d = !(inj_tvalid && inj_tlast);
    end else if (skid_any) begin
      skid_push = s_axis_rx_tvalid;
      skid_pop = skid_valid;
      {ul_tuser, ul_tlast, ul_tkeep, ul_tdata} = skid_rdata;
      ul_tvalid = skid_valid;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mac_in_q <= 1'b0;
      inj_act_q <= 1'b0;
    end else begin
      if (s_axis_rx_tvalid) mac_in_q <= !s_axis_rx_tlast;
      inj_act_q <= inj_act_d;
    end
  end

  sync_fifo #(.Width(512 + 64 + 2), .DepthLog2(8)) u_skid (
    .clk_i, .rst_ni,
    .push_i (skid_push),
    .wdata_i({s_axis_rx_tuser[0], s_axis_rx_tlast, s_axis_rx_tkeep, s_axis_rx_tdata}),
    .pop_i  (skid_pop),
    .valid_o(skid_valid),
    .rdata_o(skid_rdata),
    .level_o(skid_level)
  );

  logic ul_sof, ul_fifo_full, ul_win_valid, ul_win_end, ul_data_valid, ul_data_pop;
  logic ul_end_valid, ul_end_pop, ul_end_err, ul_end_oversize;
  logic [6:0] ul_beat_bytes;
  logic [rg_pkg::WIN_W-1:0] ul_win;
  logic [7:0] ul_win_len;
  logic [512+64:0] ul_data;
  logic [15:0] ul_end_len;
  logic [LevelW-1:0] ul_dec_level;
  logic [6:0] mac_bytes;
  assign mac_bytes = rg_pkg::keep_bytes(s_axis_rx_tkeep);

  frame_ingress #(.MaxFrameBytes(MaxFrameBytes), .FifoLog2(FifoLog2)) u_ul_in (
    .clk_i, .rst_ni,
    .s_axis_tdata(ul_tdata), .s_axis_tkeep(ul_tkeep), .s_axis_tlast(ul_tlast),
    .s_axis_tuser(ul_tuser), .s_axis_tvalid(ul_tvalid),
    .dec_level_i(ul_dec_level),
    .sof_o(ul_sof), .beat_bytes_o(ul_beat_bytes), .fifo_full_o(ul_fifo_full),
    .win_valid_o(ul_win_valid), .win_o(ul_win), .win_len_o(ul_win_len), .win_end_o(ul_win_end),
    .data_valid_o(ul_data_valid), .data_o(ul_data), .data_pop_i(ul_data_pop),
    .end_valid_o(ul_end_valid), .end_len_o(ul_end_len), .end_err_o(ul_end_err),
    .end_oversize_o(ul_end_oversize), .end_pop_i(ul_end_pop)
  );

  // ------------------------------------------------------------------------------------
  // Uplink decision: outer headers -> inner headers -> flow table -> port table -> verdict
  // ------------------------------------------------------------------------------------
  logic up_valid, up_win_end;
  logic [rg_pkg::HDR_META_W-1:0] up_meta;
  logic [rg_pkg::WIN_W-1:0] up_win;
  logic [7:0] up_win_len;
  logic unused_up_tag;

  hdr_parser #(.MaxExt(MaxExt), .TagW(1)) u_ul_parser (
    .clk_i, .rst_ni,
    .valid_i(ul_win_valid), .win_i(ul_win), .win_len_i(ul_win_len), .win_end_i(ul_win_end),
    .tag_i(1'b0),
    .valid_o(up_valid), .meta_o(up_meta), .tag_o(unused_up_tag),
    .win_o(up_win), .win_len_o(up_win_len), .win_end_o(up_win_end)
  );

  // A typed view of a stage output, read in part.
  /* verilator lint_off UNUSEDSIGNAL */
  rg_pkg::hdr_meta_t up_m;
  /* verilator lint_on UNUSEDSIGNAL */
  assign up_m = up_meta;

  logic ui_valid;
  logic [rg_pkg::IP_META_W-1:0] ui_meta;
  logic [rg_pkg::HDR_META_W-1:0] ui_outer;

  inner_parse #(.TagW(rg_pkg::HDR_META_W)) u_ul_inner (
    .clk_i, .rst_ni,
    .valid_i(up_valid), .win_i(up_win), .win_len_i(up_win_len), .win_end_i(up_win_end),
    .off_i(up_m.inner_off), .tag_i(up_meta),
    .valid_o(ui_valid), .meta_o(ui_meta), .tag_o(ui_outer)
  );

  // Stage H: the flow key and its two hashes.
  // A typed view of a stage output, read in part.
  /* verilator lint_off UNUSEDSIGNAL */
  rg_pkg::ip_meta_t ui_m;
  /* verilator lint_on UNUSEDSIGNAL */
  // Only the TEID of the outer headers is part of the key.
  /* verilator lint_off UNUSEDSIGNAL */
  rg_pkg::hdr_meta_t ui_o;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [FlowKeyW-1:0] ui_key;
  assign ui_m = ui_meta;
  assign ui_o = ui_outer;
  assign ui_key = {ui_o.teid, ui_m.src, ui_m.dst, ui_m.proto, ui_m.sport, ui_m.dport};

  logic [31:0] fh0, fh1;
  logic h_valid_q, l1_valid_q, l2_valid_q, a_valid_q;
  logic [rg_pkg::HDR_META_W-1:0] h_outer_q, l1_outer_q, l2_outer_q, a_outer_q;
  logic [rg_pkg::IP_META_W-1:0] h_inner_q, l1_inner_q, l2_inner_q, a_inner_q;
  logic [FlowKeyW-1:0] h_key_q;

  crc32_hash #(.KeyBytes(17), .Poly(32'h82f63b78)) u_fhash0 (.clk_i, .key_i(ui_key), .hash_o(fh0));
  crc32_hash #(.KeyBytes(17), .Poly(32'hedb88320)) u_fhash1 (.clk_i, .key_i(ui_key), .hash_o(fh1));

  // Stage L: the flow table (2 cycles).
  logic flow_valid, flow_hit, unused_flow_tag;
  logic [FlowValW-1:0] flow_val;
  cuckoo_table #(
    .BucketsLog2(FlowBucketsLog2), .Slots(FlowSlots), .KeyW(FlowKeyW), .ValW(FlowValW), .TagW(1)
  ) u_flow (
    .clk_i, .rst_ni,
    .lk_valid_i   (h_valid_q),
    .lk_key_i     (h_key_q),
    .lk_idx0_i    (fh0[FlowBucketsLog2-1:0]),
    .lk_idx1_i    (fh1[FlowBucketsLog2-1:0]),
    .lk_tag_i     (1'b0),
    .lk_valid_o   (flow_valid),
    .lk_hit_o     (flow_hit),
    .lk_val_o     (flow_val),
    .lk_tag_o     (unused_flow_tag),
    .host_en_i    (flow_host_en),
    .host_we_i    (flow_host_we),
    .host_bank_i  (flow_addr_q[gate_regs_pkg::FLOW_ADDR_BANK_LSB]),
    .host_bucket_i(flow_addr_q[gate_regs_pkg::FLOW_ADDR_BUCKET_LSB +: FlowBucketsLog2]),
    .host_slot_i  (flow_addr_q[gate_regs_pkg::FLOW_ADDR_SLOT_LSB +: SlotW]),
    .host_wentry_i({flow_val_q[gate_regs_pkg::FLOW_VALUE_VALID_LSB], flow_key_q[0], flow_key_q[1],
                    flow_key_q[2], flow_key_q[4][7:0], flow_key_q[3],
                    flow_val_q[FlowValW-1:0]}),
    .host_rentry_o(flow_rentry)
  );

  // Stage A: the port table entry of the flow's user session (read inside port_table).
  logic [IdxW-1:0] ul_idx, a_idx_q;
  logic a_hit_q;
  logic [UpW-1:0] ul_ent;
  assign ul_idx = {flow_val[16 +: AddrW], flow_val[PortsLog2-1:0]};

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      h_valid_q <= 1'b0;
      l1_valid_q <= 1'b0;
      l2_valid_q <= 1'b0;
      a_valid_q <= 1'b0;
    end else begin
      h_valid_q <= ui_valid;
      l1_valid_q <= h_valid_q;
      l2_valid_q <= l1_valid_q;
      a_valid_q <= l2_valid_q;
    end
  end

  // What the checksums need from the packet alone, summed a stage before the port table entry
  // arrives (RFC 1624: ~HC + ~old words + new words; see ones_fold).
  /* verilator lint_off UNUSEDSIGNAL */
  rg_pkg::ip_meta_t l2i;  // the checksum words only
  /* verilator lint_on UNUSEDSIGNAL */
  logic [19:0] a_ip_pre_d, a_ip_pre_q, a_l4_pre_d, a_l4_pre_q;
  always_comb begin
    l2i = l2_inner_q;
    a_ip_pre_d = rg_pkg::ip_old_sum(l2i.ip_csum, l2i.ttl, l2i.proto, l2i.src, l2i.dst);
    a_l4_pre_d = rg_pkg::l4_old_sum(l2i.proto == rg_pkg::PROTO_ICMP, l2i.l4_csum, l2i.src, l2i.dst,
                                    l2i.sport, l2i.dport);
  end

  always_ff @(posedge clk_i) begin
    a_ip_pre_q <= a_ip_pre_d;
    a_l4_pre_q <= a_l4_pre_d;
    h_key_q <= ui_key;
    h_outer_q <= ui_outer;
    h_inner_q <= ui_meta;
    l1_outer_q <= h_outer_q;
    l1_inner_q <= h_inner_q;
    l2_outer_q <= l1_outer_q;
    l2_inner_q <= l1_inner_q;
    a_outer_q <= l2_outer_q;
    a_inner_q <= l2_inner_q;
    a_hit_q <= flow_hit;
    a_idx_q <= ul_idx;
  end

  // Stage D: the uplink verdict and its rewrite.
  typedef struct packed {
    logic [1:0]        action;     // ACT_*
    logic [4:0]        stat;       // drop reason or hit (STAT_*)
    logic [3:0]        punt_reason;
    logic [15:0]       need_len;   // the frame must be at least this long (outer IPv4)
    logic [7:0]        skip;       // inner packet offset
    logic [15:0]       data_len;   // inner packet length
    logic [15:0]       out_len;
    logic [PatchW-1:0] patch;
    logic [IdxW-1:0]   idx;        // user session
    logic [7:0]        gen;
    logic [15:0]       bytes;      // counted bytes: the inner packet
    logic [1:0]        flags;      // {RST, FIN}
    logic [31:0]       teid;       // for the host, with a punt (0 if not GTP-U)
    logic [7:0]        punt_off;   // T-PDU offset, with a punt (0 if not GTP-U)
  } ul_dec_t;
  localparam int UlDecW = 2 + 5 + 4 + 16 + 8 + 16 + 16 + PatchW + IdxW + 8 + 16 + 2 + 32 + 8;

  function automatic logic [24:0] patch(input logic en, input logic [7:0] pos,
                                        input logic [15:0] val);
    patch = {en, pos, val};
  endfunction

  // Module-scope working copies (see hdr_parser).
  /* verilator lint_off UNUSEDSIGNAL */
  rg_pkg::hdr_meta_t ao;   // outer headers: the verdict reads some fields only
  rg_pkg::ip_meta_t ai;
  /* verilator lint_on UNUSEDSIGNAL */
  ul_dec_t ud;
  logic [31:0] u_nsrc, u_ndst;
  logic [15:0] u_nsport, u_ndport;
  logic [19:0] u_ip_sum, u_l4_sum;  // folded into the checksums at stage E
  logic u_ext, u_icmp, u_gpdu, u_udp_fix;
  logic [7:0] u_l4;
  logic [16:0] u_outer_end, u_inner_end;

  always_comb begin
    ao = a_outer_q;
    ai = a_inner_q;
    ud = '0;
    // {valid, allow, external, gen, server, port}
    u_ext = ul_ent[UpW-3];
    u_icmp = ai.proto == rg_pkg::PROTO_ICMP;
    u_nsrc = nat_ip_q[a_idx_q[IdxW-1 -: AddrW]];
    u_nsport = 16'(a_idx_q[PortsLog2-1:0]);
    u_ndst = u_ext ? ai.dst : ul_ent[47:16];
    u_ndport = (u_ext || u_icmp) ? ai.dport : ul_ent[15:0];
    u_ip_sum = a_ip_pre_q + rg_pkg::addr_pair_sum(u_nsrc, u_ndst);
    if (u_icmp) u_l4_sum = a_l4_pre_q + {4'd0, u_nsport};
    else u_l4_sum = a_l4_pre_q + (rg_pkg::addr_pair_sum(u_nsrc, u_ndst) + ({4'd0, u_nsport} + {4'd0, u_ndport}));
    u_udp_fix = !u_icmp && ai.proto == rg_pkg::PROTO_UDP;  // UDP sends a zero sum as 0xffff
    u_l4 = 8'd14 + {2'd0, ai.ihl, 2'b00};
    ud.patch[0 +: 25] = patch(1'b1, 8'd22, {ai.ttl - 8'd1, ai.proto});
    ud.patch[25 +: 25] = patch(1'b1, 8'd24, 16'd0);  // the checksum: stage E
    ud.patch[50 +: 25] = patch(1'b1, 8'd26, u_nsrc[31:16]);
    ud.patch[75 +: 25] = patch(1'b1, 8'd28, u_nsrc[15:0]);
    ud.patch[100 +: 25] = patch(1'b1, 8'd30, u_ndst[31:16]);
    ud.patch[125 +: 25] = patch(1'b1, 8'd32, u_ndst[15:0]);
    if (u_icmp) begin
      ud.patch[150 +: 25] = patch(1'b1, u_l4 + 8'd4, u_nsport);
      ud.patch[200 +: 25] = patch(1'b1, u_l4 + 8'd2, 16'd0);
    end else begin
      ud.patch[150 +: 25] = patch(1'b1, u_l4, u_nsport);
      ud.patch[175 +: 25] = patch(1'b1, u_l4 + 8'd2, u_ndport);
      if (ai.proto == rg_pkg::PROTO_TCP) ud.patch[200 +: 25] = patch(1'b1, u_l4 + 8'd16, 16'd0);
      else ud.patch[200 +: 25] = patch(ai.l4_csum != 16'd0, u_l4 + 8'd6, 16'd0);
    end
    ud.idx = a_idx_q;
    ud.gen = ul_ent[UpW-4 -: 8];
    ud.bytes = ai.tot_len;
    ud.flags = (ai.proto == rg_pkg::PROTO_TCP) ? {ai.tcp_flags[2], ai.tcp_flags[0]} : 2'd0;
    ud.skip = ao.inner_off;
    ud.teid = ao.is_gtpu ? ao.teid : 32'd0;
    ud.punt_off = ao.is_gtpu ? ao.inner_off : 8'd0;
    ud.data_len = ai.tot_len;
    ud.out_len = (ai.tot_len < 16'd46) ? 16'd60 : ai.tot_len + 16'd14;
    ud.need_len = ao.is_ipv4 ? {9'd0, ao.l3_off} + ao.ip_total_len : 16'd0;
    u_outer_end = {10'd0, ao.l3_off} + {1'b0, ao.ip_total_len};
    u_inner_end = {9'd0, ao.inner_off} + {1'b0, ai.tot_len};
    u_gpdu = ao.is_gtpu && ao.gtp_type == rg_pkg::GTP_GPDU && ao.teid != 32'd0;
    if (ao.truncated) begin
      ud.stat = 5'(gate_regs_pkg::STAT_DROP_TRUNCATED);
    end else if (ao.malformed) begin
      ud.stat = 5'(gate_regs_pkg::STAT_DROP_MALFORMED);
    end else if (ao.is_arp) begin
      ud.action = ACT_PUNT;
      ud.punt_reason = 4'(gate_regs_pkg::PUNT_REASON_ARP);
    end else if (ao.is_ipv6) begin
      ud.action = ACT_PUNT;
      ud.punt_reason = 4'(gate_regs_pkg::PUNT_REASON_IPV6);
    end else if (!ao.is_ipv4) begin
      ud.stat = 5'(gate_regs_pkg::STAT_DROP_UNSUPPORTED);
    end else if (ao.ip_dst != access_ip_q) begin
      ud.stat = 5'(gate_regs_pkg::STAT_DROP_NOT_GTPU);
    end else if (ao.ip_frag) begin
      ud.action = ACT_PUNT;
      ud.punt_reason = 4'(gate_regs_pkg::PUNT_REASON_FRAGMENT);
    end else if (!ao.is_gtpu) begin
      ud.action = ACT_PUNT;
      ud.punt_reason = 4'(gate_regs_pkg::PUNT_REASON_OWN_ADDRESS);
    end else if (ao.gtp_type != rg_pkg::GTP_GPDU) begin
      ud.action = ACT_PUNT;
      ud.punt_reason = 4'(gate_regs_pkg::PUNT_REASON_GTP_SIGNALLING);
    end else if (!u_gpdu) begin
      ud.action = ACT_PUNT;
      ud.punt_reason = 4'(gate_regs_pkg::PUNT_REASON_TEID_ZERO);
    end else if (ai.trunc) begin
      ud.stat = 5'(gate_regs_pkg::STAT_DROP_TRUNCATED);
    end else if (ao.ext_overflow || ai.beyond || !ai.ok) begin
      ud.action = ACT_PUNT;
      ud.punt_reason = 4'(gate_regs_pkg::PUNT_REASON_INNER_UNSUPPORTED);
    end else if (u_inner_end > u_outer_end) begin
      ud.stat = 5'(gate_regs_pkg::STAT_DROP_MALFORMED);
    end else if (ai.frag) begin
      ud.action = ACT_PUNT;
      ud.punt_reason = 4'(gate_regs_pkg::PUNT_REASON_FRAGMENT);
    end else if (!ai.l4_ok) begin
      ud.action = ACT_PUNT;
      ud.punt_reason = 4'(gate_regs_pkg::PUNT_REASON_INNER_UNSUPPORTED);
    end else if (ai.ttl <= 8'd1) begin
      ud.action = ACT_PUNT;
      ud.punt_reason = 4'(gate_regs_pkg::PUNT_REASON_TTL_EXPIRED);
    end else if (!a_hit_q || !ul_ent[UpW-1]) begin
      ud.action = ACT_PUNT;
      ud.punt_reason = 4'(gate_regs_pkg::PUNT_REASON_FLOW_MISS);
    end else if (!ul_ent[UpW-2]) begin
      ud.stat = 5'(gate_regs_pkg::STAT_UL_DENIED);
    end else begin
      ud.action = ACT_FWD;
      ud.stat = 5'(gate_regs_pkg::STAT_UL_HITS);
    end
  end

  // Stage E: fold the sums into the IPv4 and L4 checksums (patches 1 and 8).
  logic ue_valid_q, ue_udp_fix_q;
  ul_dec_t ue_q, ud_e;
  logic [19:0] ue_ip_sum_q, ue_l4_sum_q;
  logic [15:0] ue_l4cs;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) ue_valid_q <= 1'b0;
    else ue_valid_q <= a_valid_q;
  end
  always_ff @(posedge clk_i) begin
    ue_q <= ud;
    ue_ip_sum_q <= u_ip_sum;
    ue_l4_sum_q <= u_l4_sum;
    ue_udp_fix_q <= u_udp_fix;
  end
  always_comb begin
    ud_e = ue_q;
    ue_l4cs = ~rg_pkg::ones_fold(ue_l4_sum_q);
    if (ue_udp_fix_q && ue_l4cs == 16'd0) ue_l4cs = 16'hffff;
    ud_e.patch[25 +: 16] = ~rg_pkg::ones_fold(ue_ip_sum_q);
    ud_e.patch[200 +: 16] = ue_l4cs;
  end

  logic ul_dec_valid, ul_dec_pop;
  ul_dec_t ul_dec;
  sync_fifo #(.Width(UlDecW), .DepthLog2(FifoLog2)) u_ul_dec (
    .clk_i, .rst_ni,
    .push_i (ue_valid_q),
    .wdata_i(ud_e),
    .pop_i  (ul_dec_pop),
    .valid_o(ul_dec_valid),
    .rdata_o(ul_dec),
    .level_o(ul_dec_level)
  );

  // ------------------------------------------------------------------------------------
  // Uplink egress: final verdict at the first beat, decapsulate and rewrite, or punt
  // ------------------------------------------------------------------------------------
  logic [1:0] ul_fin_act;
  logic [4:0] ul_fin_stat;
  logic tb_ok, tb_ok2, tb_take, dl_tb_take, ul_punt_head;
  logic [1:0] host_punt_room;  // per punt input: 0 uplink, 1 downlink
  logic ul_cmd_valid, ul_cmd_ready, ul_start;
  logic [511:0] ul_hdr;
  logic [15:0] ul_c_data_len, ul_c_out_len;
  logic [7:0] ul_c_skip;
  logic [6:0] ul_c_hdr_len;
  logic [PatchW-1:0] ul_c_patch;
  logic [44:0] ul_c_dest;  // {T-PDU offset, TEID, punt reason, to the host port}
  logic [511:0] ur_tdata;
  logic [63:0] ur_tkeep;
  logic ur_tlast, ur_tvalid, ur_tready;
  logic [44:0] ur_tdest;
  logic m_axis_punt_tready;

  // One bucket for both directions. The uplink asks for a token; the downlink, which may meet
  // an uplink punt in the same cycle, for a second one whenever the uplink has a punt at the
  // head of its egress (so a take is always covered, and the downlink never waits).
  token_bucket #(.Takes(2)) u_punt_tb (
    .clk_i, .rst_ni,
    .rate_i (punt_rate_q),
    .burst_i(punt_burst_q),
    .take_i ({dl_tb_take, tb_take}),
    .ok_o   ({tb_ok2, tb_ok})
  );
  assign ul_punt_head = ul_cmd_valid && ul_dec.action == ACT_PUNT;

  assign ul_cmd_valid = ul_dec_valid && ul_end_valid;
  always_comb begin
    ul_fin_act = ul_dec.action;
    ul_fin_stat = ul_dec.stat;
    if (ul_end_err) begin
      ul_fin_act = ACT_DROP;
      ul_fin_stat = 5'(gate_regs_pkg::STAT_DROP_RX_ERROR);
    end else if (ul_end_oversize) begin
      ul_fin_act = ACT_DROP;
      ul_fin_stat = 5'(gate_regs_pkg::STAT_DROP_OVERSIZE);
    end else if (ul_dec.action != ACT_DROP && ul_end_len < ul_dec.need_len) begin
      ul_fin_act = ACT_DROP;
      ul_fin_stat = 5'(gate_regs_pkg::STAT_DROP_TRUNCATED);
    end else if (ul_dec.action == ACT_PUNT && !tb_ok) begin
      ul_fin_act = ACT_DROP;
      ul_fin_stat = 5'(gate_regs_pkg::STAT_DROP_PUNT_LIMIT);
    end else if (ul_dec.action == ACT_PUNT && !host_punt_room[0]) begin
      ul_fin_act = ACT_DROP;
      ul_fin_stat = 5'(gate_regs_pkg::STAT_DROP_PUNT_BUSY);
    end
  end

  // New Ethernet header of a decapsulated packet: next hop, own MAC, IPv4.
  always_comb begin
    ul_hdr = '0;
    for (int i = 0; i < 6; i++) begin
      ul_hdr[8*i +: 8] = svc_mac[47-8*i -: 8];
      ul_hdr[8*(6+i) +: 8] = own_mac[47-8*i -: 8];
    end
    ul_hdr[8*12 +: 8] = 8'h08;
    ul_hdr[8*13 +: 8] = 8'h00;
    ul_c_skip = 8'd0;
    ul_c_hdr_len = 7'd0;
    ul_c_data_len = ul_end_len;
    ul_c_out_len = ul_end_len;
    ul_c_patch = '0;
    ul_c_dest = {ul_dec.punt_off, ul_dec.teid, ul_dec.punt_reason, 1'b1};
    if (ul_fin_act == ACT_FWD) begin
      ul_c_skip = ul_dec.skip;
      ul_c_hdr_len = 7'd14;
      ul_c_data_len = ul_dec.data_len;
      ul_c_out_len = ul_dec.out_len;
      ul_c_patch = ul_dec.patch;
      ul_c_dest = '0;
    end
  end

  assign ul_start = ul_cmd_valid && ul_cmd_ready;
  assign ul_dec_pop = ul_start;
  assign ul_end_pop = ul_start;
  assign tb_take = ul_start && ul_fin_act == ACT_PUNT;

  axis_realign #(.NPatch(NPatch), .DestW(45)) u_ul_realign (
    .clk_i, .rst_ni,
    .cmd_valid_i(ul_cmd_valid), .cmd_ready_o(ul_cmd_ready),
    .cmd_skip_i(ul_c_skip), .cmd_hdr_len_i(ul_c_hdr_len), .cmd_hdr_i(ul_hdr),
    .cmd_data_len_i(ul_c_data_len), .cmd_out_len_i(ul_c_out_len),
    .cmd_drop_i(ul_fin_act == ACT_DROP), .cmd_dest_i(ul_c_dest), .cmd_patch_i(ul_c_patch),
    .s_axis_tdata(ul_data[511:0]), .s_axis_tlast(ul_data[512 + 64]),
    .s_axis_tvalid(ul_data_valid), .s_axis_tready(ul_data_pop),
    .m_axis_tdata(ur_tdata), .m_axis_tkeep(ur_tkeep), .m_axis_tlast(ur_tlast),
    .m_axis_tdest(ur_tdest), .m_axis_tvalid(ur_tvalid), .m_axis_tready(ur_tready)
  );

  // Service port out: the uplink's frames and direct injects (SERVICE_OUT), merged at frame
  // boundaries with no register in the way (no added latency). At a boundary the port shows
  // the pipeline's next frame or a whole injected one, the injected one when the pipeline has
  // none or sent the frame before (they alternate when both wait), and keeps showing that
  // source until its frame's last beat has left. Punts leave the realigner meanwhile.
  logic ur_fwd, sv_inj, sv_lock_q, sv_lock_d, sv_inj_q, sv_inj_d, sv_last_inj_q, sv_last_inj_d;
  assign ur_fwd = ur_tvalid && !ur_tdest[0];
  assign sv_inj = sv_lock_q ? sv_inj_q : (inj_svc_cand && (!ur_fwd || !sv_last_inj_q));
  assign m_axis_svc_tx_tdata = sv_inj ? inj_tdata : ur_tdata;
  assign m_axis_svc_tx_tkeep = sv_inj ? inj_tkeep : ur_tkeep;
  assign m_axis_svc_tx_tlast = sv_inj ? inj_tlast : ur_tlast;
  assign m_axis_svc_tx_tuser = 1'b0;
  assign m_axis_svc_tx_tvalid = sv_inj ? inj_tvalid : ur_fwd;
  assign ur_tready = ur_tdest[0] ? m_axis_punt_tready : (m_axis_svc_tx_tready && !sv_inj);
  assign inj_svc_ready = sv_inj && m_axis_svc_tx_tready;
  always_comb begin
    sv_lock_d = sv_lock_q;
    sv_inj_d = sv_inj_q;
    sv_last_inj_d = sv_last_inj_q;
    if (m_axis_svc_tx_tvalid) begin
      if (m_axis_svc_tx_tready && m_axis_svc_tx_tlast) begin
        sv_lock_d = 1'b0;
        sv_last_inj_d = sv_inj;
      end else begin
        sv_lock_d = 1'b1;
        sv_inj_d = sv_inj;
      end
    end
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sv_lock_q <= 1'b0;
      sv_inj_q <= 1'b0;
      sv_last_inj_q <= 1'b0;
    end else begin
      sv_lock_q <= sv_lock_d;
      sv_inj_q <= sv_inj_d;
      sv_last_inj_q <= sv_last_inj_d;
    end
  end

  // ------------------------------------------------------------------------------------
  // Downlink ingress and decision: IPv4 to a gate address -> port table -> verdict
  // ------------------------------------------------------------------------------------
  logic dl_sof, dl_fifo_full, dl_win_valid, dl_win_end, dl_data_valid, dl_data_pop;
  logic dl_end_valid, dl_end_pop, dl_end_err, dl_end_oversize;
  logic [6:0] dl_beat_bytes;
  logic [rg_pkg::WIN_W-1:0] dl_win;
  logic [7:0] dl_win_len;
  logic [512+64:0] dl_data;
  logic [15:0] dl_end_len;
  logic [LevelW-1:0] dl_dec_level;

  assign s_axis_svc_rx_tready = 1'b1;

  frame_ingress #(.MaxFrameBytes(MaxFrameBytes), .FifoLog2(FifoLog2)) u_dl_in (
    .clk_i, .rst_ni,
    .s_axis_tdata(s_axis_svc_rx_tdata), .s_axis_tkeep(s_axis_svc_rx_tkeep),
    .s_axis_tlast(s_axis_svc_rx_tlast), .s_axis_tuser(s_axis_svc_rx_tuser[0]),
    .s_axis_tvalid(s_axis_svc_rx_tvalid),
    .dec_level_i(dl_dec_level),
    .sof_o(dl_sof), .beat_bytes_o(dl_beat_bytes), .fifo_full_o(dl_fifo_full),
    .win_valid_o(dl_win_valid), .win_o(dl_win), .win_len_o(dl_win_len), .win_end_o(dl_win_end),
    .data_valid_o(dl_data_valid), .data_o(dl_data), .data_pop_i(dl_data_pop),
    .end_valid_o(dl_end_valid), .end_len_o(dl_end_len), .end_err_o(dl_end_err),
    .end_oversize_o(dl_end_oversize), .end_pop_i(dl_end_pop)
  );

  logic dp_valid, dp_win_end, unused_dp_tag;
  logic [rg_pkg::HDR_META_W-1:0] dp_meta;
  logic [rg_pkg::WIN_W-1:0] dp_win;
  logic [7:0] dp_win_len;

  hdr_parser #(.MaxExt(0), .TagW(1)) u_dl_parser (
    .clk_i, .rst_ni,
    .valid_i(dl_win_valid), .win_i(dl_win), .win_len_i(dl_win_len), .win_end_i(dl_win_end),
    .tag_i(1'b0),
    .valid_o(dp_valid), .meta_o(dp_meta), .tag_o(unused_dp_tag),
    .win_o(dp_win), .win_len_o(dp_win_len), .win_end_o(dp_win_end)
  );

  rg_pkg::hdr_meta_t dp_m;
  assign dp_m = dp_meta;

  // ARP (RFC 826) after the Ethernet header and its one optional tag: IPv4 over Ethernet when
  // the protocol type is 0x0800 with 6-byte hardware and 4-byte protocol addresses; the
  // target protocol address is bytes 24..27 of the ARP body, which is 28 bytes long. These go
  // along with the outer headers as inner_parse's tag.
  logic [31:0] dp_arp_tpa;
  logic [15:0] dp_arp_ptype;
  logic [7:0] dp_arp_hlen, dp_arp_plen;
  logic dp_arp_ip, dp_arp_short;
  function automatic logic [7:0] dbyte(input logic [rg_pkg::WIN_W-1:0] w, input int i);
    dbyte = w[8*i +: 8];
  endfunction
  always_comb begin
    if (dp_m.vlan) begin
      dp_arp_ptype = {dbyte(dp_win, 20), dbyte(dp_win, 21)};
      dp_arp_hlen = dbyte(dp_win, 22);
      dp_arp_plen = dbyte(dp_win, 23);
      dp_arp_tpa = {dbyte(dp_win, 42), dbyte(dp_win, 43), dbyte(dp_win, 44), dbyte(dp_win, 45)};
    end else begin
      dp_arp_ptype = {dbyte(dp_win, 16), dbyte(dp_win, 17)};
      dp_arp_hlen = dbyte(dp_win, 18);
      dp_arp_plen = dbyte(dp_win, 19);
      dp_arp_tpa = {dbyte(dp_win, 38), dbyte(dp_win, 39), dbyte(dp_win, 40), dbyte(dp_win, 41)};
    end
    dp_arp_ip = dp_arp_ptype == rg_pkg::ETH_IPV4 && dp_arp_hlen == 8'd6 && dp_arp_plen == 8'd4;
    dp_arp_short = dp_win_len < (dp_m.vlan ? 8'd46 : 8'd42);
  end

  localparam int DlTagW = rg_pkg::HDR_META_W + 34;
  logic di_valid;
  logic [rg_pkg::IP_META_W-1:0] di_meta;
  logic [rg_pkg::HDR_META_W-1:0] di_outer;
  logic [31:0] di_arp_tpa;
  logic di_arp_ip, di_arp_short;

  inner_parse #(.TagW(DlTagW)) u_dl_inner (
    .clk_i, .rst_ni,
    .valid_i(dp_valid), .win_i(dp_win), .win_len_i(dp_win_len), .win_end_i(dp_win_end),
    .off_i({1'b0, dp_m.l3_off}), .tag_i({dp_arp_short, dp_arp_ip, dp_arp_tpa, dp_meta}),
    .valid_o(di_valid), .meta_o(di_meta), .tag_o({di_arp_short, di_arp_ip, di_arp_tpa, di_outer})
  );

  // Stage M: which gate address, which port; the entry is read inside port_table.
  // A typed view of a stage output, read in part.
  /* verilator lint_off UNUSEDSIGNAL */
  rg_pkg::ip_meta_t di_m;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [IdxW-1:0] dl_idx, m_idx_q;
  logic dl_addr_hit, m_addr_hit_q, m_valid_q, dl_port_ok, m_port_ok_q;
  logic dl_arp_hit, m_arp_hit_q, m_arp_short_q;
  logic [AddrW-1:0] dl_addr;
  logic [15:0] dl_port;
  logic [rg_pkg::HDR_META_W-1:0] m_outer_q;
  logic [rg_pkg::IP_META_W-1:0] m_inner_q;
  logic [255:0] dl_ent;

  assign di_m = di_meta;
  always_comb begin
    dl_addr_hit = 1'b0;
    dl_addr = '0;
    dl_arp_hit = 1'b0;
    for (int i = NatAddrs - 1; i >= 0; i--) begin
      if (di_m.dst == nat_ip_q[i]) begin
        dl_addr_hit = 1'b1;
        dl_addr = AddrW'(i);
      end
      // An address of 0.0.0.0 is not configured: no ARP is for it.
      if (di_arp_tpa == nat_ip_q[i] && nat_ip_q[i] != 32'd0) dl_arp_hit = di_arp_ip;
    end
    // Replies come to the user-session port; an ICMP echo reply carries it as identifier.
    dl_port = (di_m.proto == rg_pkg::PROTO_ICMP) ? di_m.sport : di_m.dport;
    dl_port_ok = (dl_port >> PortsLog2) == 16'd0;
    dl_idx = {dl_addr, dl_port[PortsLog2-1:0]};
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m_valid_q <= 1'b0;
    else m_valid_q <= di_valid;
  end
  logic [19:0] m_ip_pre_d, m_ip_pre_q, m_l4_pre_d, m_l4_pre_q;
  always_comb begin
    m_ip_pre_d = rg_pkg::ip_old_sum(di_m.ip_csum, di_m.ttl, di_m.proto, di_m.src, di_m.dst);
    m_l4_pre_d = rg_pkg::l4_old_sum(di_m.proto == rg_pkg::PROTO_ICMP, di_m.l4_csum, di_m.src, di_m.dst,
                                    di_m.sport, di_m.dport);
  end
  always_ff @(posedge clk_i) begin
    m_ip_pre_q <= m_ip_pre_d;
    m_l4_pre_q <= m_l4_pre_d;
    m_outer_q <= di_outer;
    m_inner_q <= di_meta;
    m_idx_q <= dl_idx;
    m_addr_hit_q <= dl_addr_hit;
    m_port_ok_q <= dl_port_ok;
    m_arp_hit_q <= dl_arp_hit;
    m_arp_short_q <= di_arp_short;
  end

  // Stage D: the downlink verdict, rewrite and tunnel.
  typedef struct packed {
    logic [1:0]        action;     // ACT_DROP, ACT_FWD or ACT_PUNT (ARP for a gate address)
    logic [4:0]        stat;
    logic [3:0]        punt_reason;
    logic [15:0]       need_len;
    logic [7:0]        skip;       // IPv4 offset (14 or 18)
    logic [6:0]        hdr_len;    // 50, or 58 with a PDU Session Container
    logic              qfi_valid;
    logic [5:0]        qfi;
    logic [31:0]       peer;
    logic [31:0]       teid;
    logic [15:0]       outer_csum;
    logic [15:0]       data_len;   // inner packet length
    logic [PatchW-1:0] patch;
    logic [IdxW-1:0]   idx;
    logic [7:0]        gen;
    logic [1:0]        flags;
  } dl_dec_t;
  localparam int DlDecW = 2 + 5 + 4 + 16 + 8 + 7 + 1 + 6 + 32 + 32 + 16 + 16 + PatchW + IdxW + 8 + 2;

  /* verilator lint_off UNUSEDSIGNAL */
  rg_pkg::hdr_meta_t mo;   // Ethernet and outer checks only
  rg_pkg::ip_meta_t mi;
  /* verilator lint_on UNUSEDSIGNAL */
  dl_dec_t dd;
  logic [31:0] d_nsrc, d_ndst, d_srv_ip, d_vip, d_term, d_peer, d_teid;
  logic [15:0] d_nsport, d_ndport, d_srv_port, d_vport, d_tport;
  logic [15:0] d_ext_len, d_ip_tot;
  logic [19:0] d_ip_sum, d_l4_sum, d_osum;  // folded into the checksums at stage E
  logic [7:0] d_flags, d_proto, d_l4, d_h;
  logic d_ext, d_icmp, d_udp_fix;

  always_comb begin
    mo = m_outer_q;
    mi = m_inner_q;
    dd = '0;
    d_flags = dl_ent[gate_regs_pkg::PORT_ENTRY_FLAGS_LSB +: 8];
    d_proto = dl_ent[gate_regs_pkg::PORT_ENTRY_PROTO_LSB +: 8];
    d_srv_ip = dl_ent[gate_regs_pkg::PORT_ENTRY_SERVER_IPV4_LSB +: 32];
    d_srv_port = dl_ent[gate_regs_pkg::PORT_ENTRY_SERVER_PORT_LSB +: 16];
    d_vip = dl_ent[gate_regs_pkg::PORT_ENTRY_VIP_IPV4_LSB +: 32];
    d_vport = dl_ent[gate_regs_pkg::PORT_ENTRY_VIP_PORT_LSB +: 16];
    d_term = dl_ent[gate_regs_pkg::PORT_ENTRY_TERM_IPV4_LSB +: 32];
    d_tport = dl_ent[gate_regs_pkg::PORT_ENTRY_TERM_PORT_LSB +: 16];
    d_peer = dl_ent[gate_regs_pkg::PORT_ENTRY_PEER_IPV4_LSB +: 32];
    d_teid = dl_ent[gate_regs_pkg::PORT_ENTRY_DL_TEID_LSB +: 32];
    d_ext = d_flags[gate_regs_pkg::PORT_FLAG_EXTERNAL];
    d_icmp = mi.proto == rg_pkg::PROTO_ICMP;
    d_nsrc = d_ext ? mi.src : d_vip;
    d_nsport = (d_ext || d_icmp) ? mi.sport : d_vport;
    d_ndst = d_term;
    d_ndport = d_icmp ? mi.dport : d_tport;
    d_ip_sum = m_ip_pre_q + rg_pkg::addr_pair_sum(d_nsrc, d_ndst);
    if (d_icmp) d_l4_sum = m_l4_pre_q + {4'd0, d_tport};
    else d_l4_sum = m_l4_pre_q + (rg_pkg::addr_pair_sum(d_nsrc, d_ndst) + ({4'd0, d_nsport} + {4'd0, d_ndport}));
    d_udp_fix = !d_icmp && mi.proto == rg_pkg::PROTO_UDP;
    dd.qfi_valid = d_flags[gate_regs_pkg::PORT_FLAG_QFI_VALID];
    dd.qfi = dl_ent[gate_regs_pkg::PORT_ENTRY_QFI_LSB +: 6];
    dd.hdr_len = dd.qfi_valid ? 7'd58 : 7'd50;
    d_h = {1'b0, dd.hdr_len};
    d_l4 = d_h + {2'd0, mi.ihl, 2'b00};
    dd.patch[0 +: 25] = patch(1'b1, d_h + 8'd8, {mi.ttl - 8'd1, mi.proto});
    dd.patch[25 +: 25] = patch(1'b1, d_h + 8'd10, 16'd0);  // the checksum: stage E
    dd.patch[50 +: 25] = patch(1'b1, d_h + 8'd12, d_nsrc[31:16]);
    dd.patch[75 +: 25] = patch(1'b1, d_h + 8'd14, d_nsrc[15:0]);
    dd.patch[100 +: 25] = patch(1'b1, d_h + 8'd16, d_ndst[31:16]);
    dd.patch[125 +: 25] = patch(1'b1, d_h + 8'd18, d_ndst[15:0]);
    if (d_icmp) begin
      dd.patch[150 +: 25] = patch(1'b1, d_l4 + 8'd4, d_tport);
      dd.patch[200 +: 25] = patch(1'b1, d_l4 + 8'd2, 16'd0);
    end else begin
      dd.patch[150 +: 25] = patch(1'b1, d_l4, d_nsport);
      dd.patch[175 +: 25] = patch(1'b1, d_l4 + 8'd2, d_ndport);
      if (mi.proto == rg_pkg::PROTO_TCP) dd.patch[200 +: 25] = patch(1'b1, d_l4 + 8'd16, 16'd0);
      else dd.patch[200 +: 25] = patch(mi.l4_csum != 16'd0, d_l4 + 8'd6, 16'd0);
    end
    // Outer IPv4 header checksum over its constant and variable words.
    d_ext_len = dd.qfi_valid ? 16'd8 : 16'd0;
    d_ip_tot = mi.tot_len + 16'd36 + d_ext_len;
    d_osum = (({4'd0, 16'h4500} + {4'd0, d_ip_tot}) + ({4'd0, 16'h4000} + {4'd0, outer_ttl_q, 8'd17})) +
             (({4'd0, access_ip_q[31:16]} + {4'd0, access_ip_q[15:0]}) +
              ({4'd0, d_peer[31:16]} + {4'd0, d_peer[15:0]}));
    dd.outer_csum = 16'd0;  // stage E
    dd.peer = d_peer;
    dd.teid = d_teid;
    dd.data_len = mi.tot_len;
    dd.skip = {1'b0, mo.l3_off};
    dd.need_len = {9'd0, mo.l3_off} + mi.tot_len;
    dd.idx = m_idx_q;
    dd.gen = dl_ent[gate_regs_pkg::PORT_ENTRY_GEN_LSB +: 8];
    dd.flags = (mi.proto == rg_pkg::PROTO_TCP) ? {mi.tcp_flags[2], mi.tcp_flags[0]} : 2'd0;
    if (mo.truncated) begin
      dd.stat = 5'(gate_regs_pkg::STAT_DROP_TRUNCATED);
    end else if (mo.is_arp) begin
      // For a gate address: to the host, as a whole frame (need_len: the ARP body).
      dd.need_len = {9'd0, mo.l3_off} + 16'd28;
      if (m_arp_short_q) begin
        dd.stat = 5'(gate_regs_pkg::STAT_DROP_TRUNCATED);
      end else if (m_arp_hit_q) begin
        dd.action = ACT_PUNT;
        dd.punt_reason = 4'(gate_regs_pkg::PUNT_REASON_ARP);
      end else begin
        dd.stat = 5'(gate_regs_pkg::STAT_DL_ARP_NOT_FOR_US);
      end
    end else if (!mo.is_ipv4) begin
      dd.stat = 5'(gate_regs_pkg::STAT_DROP_UNSUPPORTED);
    end else if (mi.trunc) begin
      dd.stat = 5'(gate_regs_pkg::STAT_DROP_TRUNCATED);
    end else if (!mi.ok) begin
      dd.stat = 5'(gate_regs_pkg::STAT_DROP_MALFORMED);
    end else if (!m_addr_hit_q) begin
      dd.stat = 5'(gate_regs_pkg::STAT_DL_NOT_FOR_US);
    end else if (mi.beyond || mi.frag || !mi.l4_ok || (d_icmp && mi.icmp_type != 8'd0)) begin
      dd.stat = 5'(gate_regs_pkg::STAT_DROP_UNSUPPORTED);
    end else if (!m_port_ok_q || !d_flags[gate_regs_pkg::PORT_FLAG_VALID]) begin
      dd.stat = 5'(gate_regs_pkg::STAT_DL_UNKNOWN_PORT);
    end else if (d_proto != mi.proto ||
                 (!d_ext && (mi.src != d_srv_ip || (!d_icmp && mi.sport != d_srv_port))) ||
                 (d_ext && d_flags[gate_regs_pkg::PORT_FLAG_FILTER_ADDR] && mi.src != d_srv_ip)) begin
      dd.stat = 5'(gate_regs_pkg::STAT_DL_MISMATCH);
    end else if (!d_flags[gate_regs_pkg::PORT_FLAG_ALLOW]) begin
      dd.stat = 5'(gate_regs_pkg::STAT_DL_DENIED);
    end else if (mi.ttl <= 8'd1) begin
      dd.stat = 5'(gate_regs_pkg::STAT_DL_TTL_EXPIRED);
    end else begin
      dd.action = ACT_FWD;
      dd.stat = 5'(gate_regs_pkg::STAT_DL_HITS);
    end
  end

  // Stage E: fold the sums into the inner IPv4 and L4 checksums and the outer IPv4 one.
  logic de_valid_q, de_udp_fix_q;
  dl_dec_t de_q, dd_e;
  logic [19:0] de_ip_sum_q, de_l4_sum_q, de_osum_q;
  logic [15:0] de_l4cs;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) de_valid_q <= 1'b0;
    else de_valid_q <= m_valid_q;
  end
  always_ff @(posedge clk_i) begin
    de_q <= dd;
    de_ip_sum_q <= d_ip_sum;
    de_l4_sum_q <= d_l4_sum;
    de_osum_q <= d_osum;
    de_udp_fix_q <= d_udp_fix;
  end
  always_comb begin
    dd_e = de_q;
    de_l4cs = ~rg_pkg::ones_fold(de_l4_sum_q);
    if (de_udp_fix_q && de_l4cs == 16'd0) de_l4cs = 16'hffff;
    dd_e.patch[25 +: 16] = ~rg_pkg::ones_fold(de_ip_sum_q);
    dd_e.patch[200 +: 16] = de_l4cs;
    dd_e.outer_csum = ~rg_pkg::ones_fold(de_osum_q);
  end

  logic dl_dec_valid, dl_dec_pop;
  dl_dec_t dl_dec;
  sync_fifo #(.Width(DlDecW), .DepthLog2(FifoLog2)) u_dl_dec (
    .clk_i, .rst_ni,
    .push_i (de_valid_q),
    .wdata_i(dd_e),
    .pop_i  (dl_dec_pop),
    .valid_o(dl_dec_valid),
    .rdata_o(dl_dec),
    .level_o(dl_dec_level)
  );

  // ------------------------------------------------------------------------------------
  // Downlink egress: final verdict, rewrite and GTP-U encapsulation
  // ------------------------------------------------------------------------------------
  logic [1:0] dl_fin_act;
  logic [4:0] dl_fin_stat;
  logic dl_cmd_valid, dl_cmd_ready, dl_start, dl_punt, dl_tb_ok;
  logic [511:0] dl_hdr;
  logic [15:0] dl_ip_tot, dl_udp_len, dl_gtp_len;
  logic [7:0] dl_c_skip;
  logic [6:0] dl_c_hdr_len;
  logic [15:0] dl_c_data_len, dl_c_out_len;
  logic [PatchW-1:0] dl_c_patch;

  assign dl_cmd_valid = dl_dec_valid && dl_end_valid;
  assign dl_punt = dl_dec.action == ACT_PUNT;
  assign dl_tb_ok = tb_ok2 || (tb_ok && !ul_punt_head);
  always_comb begin
    dl_fin_act = dl_dec.action;
    dl_fin_stat = dl_dec.stat;
    if (dl_end_err) begin
      dl_fin_act = ACT_DROP;
      dl_fin_stat = 5'(gate_regs_pkg::STAT_DROP_RX_ERROR);
    end else if (dl_end_oversize) begin
      dl_fin_act = ACT_DROP;
      dl_fin_stat = 5'(gate_regs_pkg::STAT_DROP_OVERSIZE);
    end else if (dl_dec.action != ACT_DROP && dl_end_len < dl_dec.need_len) begin
      dl_fin_act = ACT_DROP;
      dl_fin_stat = 5'(gate_regs_pkg::STAT_DROP_TRUNCATED);
    end else if (dl_punt && !dl_tb_ok) begin
      dl_fin_act = ACT_DROP;
      dl_fin_stat = 5'(gate_regs_pkg::STAT_DROP_PUNT_LIMIT);
    end else if (dl_punt && !host_punt_room[1]) begin
      dl_fin_act = ACT_DROP;
      dl_fin_stat = 5'(gate_regs_pkg::STAT_DROP_PUNT_BUSY);
    end
  end

  // A punt is the frame as it came (nothing stripped or inserted); a forwarded frame gets the
  // tunnel headers. Chosen by the decision alone: a final drop makes the command a drop.
  always_comb begin
    dl_c_skip = dl_dec.skip;
    dl_c_hdr_len = dl_dec.hdr_len;
    dl_c_data_len = dl_dec.data_len;
    dl_c_out_len = 16'(dl_dec.hdr_len) + dl_dec.data_len;
    dl_c_patch = dl_dec.patch;
    if (dl_punt) begin
      dl_c_skip = 8'd0;
      dl_c_hdr_len = 7'd0;
      dl_c_data_len = dl_end_len;
      dl_c_out_len = dl_end_len;
      dl_c_patch = '0;
    end
  end

  function automatic logic [511:0] put16(input logic [511:0] d, input int pos,
                                         input logic [15:0] v);
    logic [511:0] r;
    r = d;
    r[8*pos +: 8] = v[15:8];
    r[8*(pos+1) +: 8] = v[7:0];
    put16 = r;
  endfunction

  // The tunnel headers: Ethernet, IPv4 (DF, outer TTL), UDP 2152 -> 2152 with checksum 0,
  // GTP-U G-PDU and, with a QFI, the sequence/N-PDU/next-type word and a downlink PDU
  // Session Container.
  always_comb begin
    logic [15:0] ext;
    ext = dl_dec.qfi_valid ? 16'd8 : 16'd0;
    dl_ip_tot = dl_dec.data_len + 16'd36 + ext;
    dl_udp_len = dl_dec.data_len + 16'd16 + ext;
    dl_gtp_len = dl_dec.data_len + ext;
    dl_hdr = '0;
    for (int i = 0; i < 6; i++) begin
      dl_hdr[8*i +: 8] = acc_mac[47-8*i -: 8];
      dl_hdr[8*(6+i) +: 8] = own_mac[47-8*i -: 8];
    end
    dl_hdr = put16(dl_hdr, 12, 16'h0800);
    dl_hdr = put16(dl_hdr, 14, 16'h4500);
    dl_hdr = put16(dl_hdr, 16, dl_ip_tot);
    dl_hdr = put16(dl_hdr, 20, 16'h4000);
    dl_hdr = put16(dl_hdr, 22, {outer_ttl_q, 8'd17});
    dl_hdr = put16(dl_hdr, 24, dl_dec.outer_csum);
    dl_hdr = put16(dl_hdr, 26, access_ip_q[31:16]);
    dl_hdr = put16(dl_hdr, 28, access_ip_q[15:0]);
    dl_hdr = put16(dl_hdr, 30, dl_dec.peer[31:16]);
    dl_hdr = put16(dl_hdr, 32, dl_dec.peer[15:0]);
    dl_hdr = put16(dl_hdr, 34, rg_pkg::UDP_GTPU);
    dl_hdr = put16(dl_hdr, 36, rg_pkg::UDP_GTPU);
    dl_hdr = put16(dl_hdr, 38, dl_udp_len);
    dl_hdr = put16(dl_hdr, 42, {dl_dec.qfi_valid ? 8'h34 : 8'h30, rg_pkg::GTP_GPDU});
    dl_hdr = put16(dl_hdr, 44, dl_gtp_len);
    dl_hdr = put16(dl_hdr, 46, dl_dec.teid[31:16]);
    dl_hdr = put16(dl_hdr, 48, dl_dec.teid[15:0]);
    if (dl_dec.qfi_valid) begin
      dl_hdr = put16(dl_hdr, 52, {8'd0, rg_pkg::GTP_EXT_PDU_SESSION});
      dl_hdr = put16(dl_hdr, 54, 16'h0100);  // length 1 (4 bytes); PDU type 0: downlink
      dl_hdr = put16(dl_hdr, 56, {2'b00, dl_dec.qfi, 8'd0});  // no further extension
    end
  end

  assign dl_start = dl_cmd_valid && dl_cmd_ready;
  assign dl_dec_pop = dl_start;
  assign dl_end_pop = dl_start;
  assign dl_tb_take = dl_start && dl_fin_act == ACT_PUNT;

  logic [511:0] dr_tdata;
  logic [63:0] dr_tkeep;
  logic dr_tlast, dr_tvalid, dr_tready;
  logic [4:0] dr_tdest;  // {punt reason, to the host port}
  logic dl_punt_tready;

  axis_realign #(.NPatch(NPatch), .DestW(5)) u_dl_realign (
    .clk_i, .rst_ni,
    .cmd_valid_i(dl_cmd_valid), .cmd_ready_o(dl_cmd_ready),
    .cmd_skip_i(dl_c_skip), .cmd_hdr_len_i(dl_c_hdr_len), .cmd_hdr_i(dl_hdr),
    .cmd_data_len_i(dl_c_data_len), .cmd_out_len_i(dl_c_out_len),
    .cmd_drop_i(dl_fin_act == ACT_DROP), .cmd_dest_i({dl_dec.punt_reason, dl_punt}),
    .cmd_patch_i(dl_c_patch),
    .s_axis_tdata(dl_data[511:0]), .s_axis_tlast(dl_data[512 + 64]),
    .s_axis_tvalid(dl_data_valid), .s_axis_tready(dl_data_pop),
    .m_axis_tdata(dr_tdata), .m_axis_tkeep(dr_tkeep), .m_axis_tlast(dr_tlast),
    .m_axis_tdest(dr_tdest), .m_axis_tvalid(dr_tvalid), .m_axis_tready(dr_tready)
  );

  // Access port out: the downlink's frames and direct injects (ACCESS_OUT), merged as the
  // service port merges its own (see there).
  logic dr_fwd, ac_inj, ac_lock_q, ac_lock_d, ac_inj_q, ac_inj_d, ac_last_inj_q, ac_last_inj_d;
  assign dr_fwd = dr_tvalid && !dr_tdest[0];
  assign ac_inj = ac_lock_q ? ac_inj_q : (inj_acc_cand && (!dr_fwd || !ac_last_inj_q));
  assign m_axis_tx_tdata = ac_inj ? inj_tdata : dr_tdata;
  assign m_axis_tx_tkeep = ac_inj ? inj_tkeep : dr_tkeep;
  assign m_axis_tx_tlast = ac_inj ? inj_tlast : dr_tlast;
  assign m_axis_tx_tuser = 1'b0;
  assign m_axis_tx_tvalid = ac_inj ? inj_tvalid : dr_fwd;
  assign dr_tready = dr_tdest[0] ? dl_punt_tready : (m_axis_tx_tready && !ac_inj);
  assign inj_acc_ready = ac_inj && m_axis_tx_tready;
  always_comb begin
    ac_lock_d = ac_lock_q;
    ac_inj_d = ac_inj_q;
    ac_last_inj_d = ac_last_inj_q;
    if (m_axis_tx_tvalid) begin
      if (m_axis_tx_tready && m_axis_tx_tlast) begin
        ac_lock_d = 1'b0;
        ac_last_inj_d = ac_inj;
      end else begin
        ac_lock_d = 1'b1;
        ac_inj_d = ac_inj;
      end
    end
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ac_lock_q <= 1'b0;
      ac_inj_q <= 1'b0;
      ac_last_inj_q <= 1'b0;
    end else begin
      ac_lock_q <= ac_lock_d;
      ac_inj_q <= ac_inj_d;
      ac_last_inj_q <= ac_last_inj_d;
    end
  end

  // ------------------------------------------------------------------------------------
  // Port table, host port, statistics
  // ------------------------------------------------------------------------------------
  logic exp_valid, exp_ready, scan_pass;
  logic [511:0] exp_data;

  port_table #(.Addrs(NatAddrs), .PortsLog2(PortsLog2)) u_port (
    .clk_i, .rst_ni, .tick_i(tick),
    .ul_idx_i(ul_idx), .ul_ent_o(ul_ent),
    .dl_idx_i(dl_idx), .dl_ent_o(dl_ent),
    .ul_inc_i(ul_start && ul_fin_act == ACT_FWD), .ul_inc_idx_i(ul_dec.idx),
    .ul_inc_gen_i(ul_dec.gen), .ul_inc_bytes_i(ul_dec.bytes), .ul_inc_flags_i(ul_dec.flags),
    .dl_inc_i(dl_start && dl_fin_act == ACT_FWD), .dl_inc_idx_i(dl_dec.idx),
    .dl_inc_gen_i(dl_dec.gen), .dl_inc_bytes_i(dl_dec.data_len), .dl_inc_flags_i(dl_dec.flags),
    .commit_i(port_commit), .read_i(port_read),
    .host_idx_i({port_index_q[gate_regs_pkg::PORT_INDEX_ADDR_INDEX_LSB +: AddrW],
                 port_index_q[PortsLog2-1:0]}),
    .host_wdata_i({port_data_q[7], port_data_q[6], port_data_q[5], port_data_q[4],
                   port_data_q[3], port_data_q[2], port_data_q[1], port_data_q[0]}),
    .busy_o(port_busy), .rd_entry_o(port_rentry),
    .rd_ul_pkts_o(port_c_ul_pkts), .rd_ul_bytes_o(port_c_ul_bytes),
    .rd_dl_pkts_o(port_c_dl_pkts), .rd_dl_bytes_o(port_c_dl_bytes),
    .rd_last_o(port_c_last), .rd_flags_o(port_c_flags),
    .scan_on_i(scan_on_q), .idle_ticks_i(idle_ticks_q), .interim_ticks_i(interim_ticks_q),
    .scan_pos_o(scan_pos), .scan_pass_o(scan_pass),
    .exp_valid_o(exp_valid), .exp_data_o(exp_data), .exp_ready_i(exp_ready)
  );

  // Punt input 0 (INGRESS access) takes the uplink's punts, input 1 (service) the downlink's.
  host_port #(.MaxFrameBytes(MaxFrameBytes), .FifoLog2(9), .Base(gate_regs_pkg::HOST_BASE),
              .InjPorts(gate_regs_pkg::INJECT_PORT_COUNT), .PuntIns(2)) u_host (
    .clk_i, .rst_ni, .timestamp_i,
    .reg_wr_i(wr), .reg_waddr_i(wr_addr), .reg_wdata_i(wr_data), .reg_raddr_i(rd_addr),
    .reg_rdata_o(host_rdata), .reg_hit_o(host_hit),
    .s_axis_punt_tdata({dr_tdata, ur_tdata}), .s_axis_punt_tkeep({dr_tkeep, ur_tkeep}),
    .s_axis_punt_tlast({dr_tlast, ur_tlast}),
    .s_axis_punt_tuser({40'd0, 4'd0, dr_tdest[4:1], ur_tdest[44:5], 4'd0, ur_tdest[4:1]}),
    .s_axis_punt_tvalid({dr_tvalid && dr_tdest[0], ur_tvalid && ur_tdest[0]}),
    .s_axis_punt_tready({dl_punt_tready, m_axis_punt_tready}),
    .punt_room_o(host_punt_room),
    .m_axis_inj_tdata(inj_tdata), .m_axis_inj_tkeep(inj_tkeep), .m_axis_inj_tlast(inj_tlast),
    .m_axis_inj_tuser(inj_tuser), .m_axis_inj_tvalid(inj_tvalid), .m_axis_inj_tready(inj_tready),
    .inj_whole_o(inj_whole),
    .s_exp_data_i(exp_data), .s_exp_valid_i(exp_valid), .s_exp_ready_o(exp_ready),
    .m_axi_awaddr, .m_axi_awlen, .m_axi_awsize, .m_axi_awburst, .m_axi_awvalid, .m_axi_awready,
    .m_axi_wdata, .m_axi_wstrb, .m_axi_wlast, .m_axi_wvalid, .m_axi_wready,
    .m_axi_bresp, .m_axi_bvalid, .m_axi_bready,
    .m_axi_araddr, .m_axi_arlen, .m_axi_arsize, .m_axi_arburst, .m_axi_arvalid, .m_axi_arready,
    .m_axi_rdata, .m_axi_rresp, .m_axi_rlast, .m_axi_rvalid, .m_axi_rready
  );

  logic [63:0] ul_inc[NStats];
  logic [63:0] dl_inc[NStats];
  always_comb begin
    for (int i = 0; i < NStats; i++) begin
      ul_inc[i] = 64'd0;
      dl_inc[i] = 64'd0;
    end
    if (s_axis_rx_tvalid) ul_inc[gate_regs_pkg::STAT_UL_RX_BYTES] = {57'd0, mac_bytes};
    if (mac_sof) ul_inc[gate_regs_pkg::STAT_UL_RX_FRAMES] = 64'd1;
    if (ul_fifo_full) ul_inc[gate_regs_pkg::STAT_DROP_UL_FIFO_FULL] = 64'd1;
    if (ul_start) begin
      case (ul_fin_act)
        ACT_FWD: begin
          ul_inc[gate_regs_pkg::STAT_UL_TX_FRAMES] = 64'd1;
          ul_inc[gate_regs_pkg::STAT_UL_TX_BYTES] = {48'd0, ul_dec.out_len};
          ul_inc[ul_fin_stat] = 64'd1;
        end
        ACT_PUNT: ul_inc[gate_regs_pkg::STAT_PUNT_FRAMES] = 64'd1;
        default: ul_inc[ul_fin_stat] = 64'd1;
      endcase
    end
    if (scan_pass) ul_inc[gate_regs_pkg::STAT_SCAN_PASSES] = 64'd1;
    if (exp_valid && exp_ready) ul_inc[gate_regs_pkg::STAT_EXPORT_RECORDS] = 64'd1;
    if (s_axis_svc_rx_tvalid) dl_inc[gate_regs_pkg::STAT_DL_RX_BYTES] = {57'd0, dl_beat_bytes};
    if (dl_sof) dl_inc[gate_regs_pkg::STAT_DL_RX_FRAMES] = 64'd1;
    if (dl_fifo_full) dl_inc[gate_regs_pkg::STAT_DROP_DL_FIFO_FULL] = 64'd1;
    if (dl_start) begin
      case (dl_fin_act)
        ACT_FWD: begin
          dl_inc[gate_regs_pkg::STAT_DL_TX_FRAMES] = 64'd1;
          dl_inc[gate_regs_pkg::STAT_DL_TX_BYTES] = {48'd0, 16'(dl_dec.hdr_len) + dl_dec.data_len};
          dl_inc[dl_fin_stat] = 64'd1;
        end
        ACT_PUNT: dl_inc[gate_regs_pkg::STAT_PUNT_FRAMES] = 64'd1;
        default: dl_inc[dl_fin_stat] = 64'd1;
      endcase
    end
  end

  for (genvar i = 0; i < NStats; i++) begin : gen_stats
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) stats_q[i] <= '0;
      else stats_q[i] <= stats_q[i] + ul_inc[i] + dl_inc[i];
    end
  end

  // Signals read in part only.
  logic unused_bits;
  assign unused_bits = ^{fh0[31:FlowBucketsLog2], fh1[31:FlowBucketsLog2], flow_valid,
                         ul_data[512 +: 64], dl_data[512 +: 64],
                         ul_sof, ul_beat_bytes, unused_up_tag, unused_dp_tag, unused_flow_tag,
                         flow_val, port_index_q, flow_addr_q, flow_val_q[30:0],
                         flow_key_q[4][31:8], wr_data, dp_m, rd, dl_ent[191:176], dl_ent[15:14]};
`ifndef SYNTHESIS
  if ($bits(ul_dec_t) != UlDecW || $bits(dl_dec_t) != DlDecW) begin : gen_bad_w
    $error("gate_kernel: UlDecW or DlDecW does not match its struct");
  end
`endif
endmodule : gate_kernel
`default_nettype wire
