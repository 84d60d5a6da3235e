// steer: tier-1 session steering. Every G-PDU from the access port leaves on the steering
// port toward the gateway that owns its TEID: explicit session entry (cuckoo table) first,
// else the Maglev table, then the gateway table gives the outer destination and next-hop MAC.
// The outer IPv4 destination, MACs and TTL are rewritten with incremental checksum updates.
// ARP, IPv6, GTP-U signalling, TEID 0, fragments, expiring TTLs and frames for the appliance
// go to the host port (token-bucket limited); bad frames are dropped and counted by reason.
// The host's inject ring sends frames unchanged out of the steering port (code STEER_OUT,
// between forwarded frames) or out of the access port (ACCESS_OUT: the host's answers to
// punted ARP and GTP-U echo; only injected frames leave there).
//
// Frames are buffered whole (store and forward) so a frame is judged on its true length;
// the decision runs on the first two beats while the rest arrives. The access port is never
// back-pressured: a frame that finds no room is dropped whole and counted.
`include "rg_pkg.sv"
`include "steer_regs_pkg.sv"
`default_nettype none
// Each kernel is a top of its own; linting hw/rtl as a whole sees both tops.
/* verilator lint_off MULTITOP */
module steer_kernel #(
  parameter int SessBucketsLog2 = steer_regs_pkg::SESSION_BUCKETS_LOG2,
  parameter int SessSlots = steer_regs_pkg::SESSION_SLOTS,
  parameter int Gateways = steer_regs_pkg::GATEWAYS,
  parameter int MaxFrameBytes = steer_regs_pkg::MAX_FRAME_BYTES,
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
  // steering side out
  output logic      [511:0]      m_axis_tx_tdata,
  output logic      [63:0]       m_axis_tx_tkeep,
  output logic                   m_axis_tx_tlast,
  output logic      [0:0]        m_axis_tx_tuser,
  output logic                   m_axis_tx_tvalid,
  input  wire logic              m_axis_tx_tready,
  // access side out (to the access MAC): injected frames only (inject code ACCESS_OUT)
  output logic      [511:0]      m_axis_acc_tx_tdata,
  output logic      [63:0]       m_axis_acc_tx_tkeep,
  output logic                   m_axis_acc_tx_tlast,
  output logic      [0:0]        m_axis_acc_tx_tuser,
  output logic                   m_axis_acc_tx_tvalid,
  input  wire logic              m_axis_acc_tx_tready,
  // AXI4 master to device memory: the host port's punt and inject rings
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

  localparam int MaxBeats = (MaxFrameBytes + 63) / 64;
  localparam int GwW = $clog2(Gateways);
  localparam int MagWords = (steer_regs_pkg::MAGLEV_ENTRIES + 3) / 4;
  localparam int MagAddrW = $clog2(MagWords);
  localparam int SlotW = (SessSlots > 1) ? $clog2(SessSlots) : 1;
  localparam int LevelW = FifoLog2 + 2;
  localparam int NStats = steer_regs_pkg::STAT_COUNT;

  if (Gateways < 2 || Gateways > 256 || (1 << GwW) != Gateways) begin : gen_bad_gw
    $error("steer_kernel: Gateways must be a power of two, 2..256");
  end
  if ((1 << FifoLog2) < 2 * MaxBeats + 64) begin : gen_bad_fifo
    $error("steer_kernel: FifoLog2 too small for MaxFrameBytes");
  end

  // ------------------------------------------------------------------------------------
  // Register bus
  // ------------------------------------------------------------------------------------
  logic        wr, rd;
  logic [15:0] wr_addr, rd_addr;
  logic [31:0] wr_data, rd_data_q, rd_data_d;

  axil_slave u_axil (
    .clk_i, .rst_ni,
    .s_axil_awaddr, .s_axil_awvalid, .s_axil_awready, .s_axil_wdata, .s_axil_wstrb,
    .s_axil_wvalid, .s_axil_wready, .s_axil_bresp, .s_axil_bvalid, .s_axil_bready,
    .s_axil_araddr, .s_axil_arvalid, .s_axil_arready, .s_axil_rdata, .s_axil_rresp,
    .s_axil_rvalid, .s_axil_rready,
    .wr_o(wr), .wr_addr_o(wr_addr), .wr_data_o(wr_data),
    .rd_o(rd), .rd_addr_o(rd_addr), .rd_data_i(rd_data_q),
    .wr_hold_i(1'b0), .rd_hold_i(1'b0)
  );

  logic [31:0] own_ip_q, own_mac_lo_q, punt_rate_q;
  logic [15:0] own_mac_hi_q, punt_burst_q;
  logic [31:0] time_hi_q;
  logic [31:0] sess_addr_q, sess_data0_q, sess_data1_q;
  logic [31:0] sess_rdata0_q, sess_rdata1_q;
  logic [31:0] mag_addr_q, mag_rdata_q;
  logic [31:0] gw_addr_q, gw_data0_q, gw_data1_q, gw_data2_q;
  logic [31:0] gw_rdata0_q, gw_rdata1_q, gw_rdata2_q, gw_cnt_idx_q;
  logic [31:0] stat_hi_q;
  logic sess_rd_q, mag_rd_q, gw_rd_q;
  logic [63:0] stats_q[NStats];
  logic [31:0] host_rdata;
  logic host_hit;

  // Table host ports driven from register writes.
  logic sess_host_en, sess_host_we, mag_host_en, mag_host_we, gw_host_en, gw_host_we;
  logic [1+32+8-1:0] sess_rentry;
  logic [31:0] mag_rword;
  logic [80:0] gw_rentry;
  logic gw_snap;
  logic [63:0] gw_snap_pkts, gw_snap_bytes;

  assign sess_host_we = wr_data[steer_regs_pkg::SESS_CMD_COMMIT_LSB];
  assign sess_host_en = wr && (wr_addr == steer_regs_pkg::SESS_CMD) &&
                        (sess_host_we || wr_data[steer_regs_pkg::SESS_CMD_READ_LSB]);
  assign mag_host_we = wr && (wr_addr == steer_regs_pkg::MAGLEV_WDATA_INC);
  assign mag_host_en = mag_host_we ||
                       (wr && (wr_addr == steer_regs_pkg::MAGLEV_CMD) && wr_data[steer_regs_pkg::MAGLEV_CMD_READ_LSB]);
  assign gw_host_we = wr_data[steer_regs_pkg::GW_CMD_COMMIT_LSB];
  assign gw_host_en = wr && (wr_addr == steer_regs_pkg::GW_CMD) &&
                      (gw_host_we || wr_data[steer_regs_pkg::GW_CMD_READ_LSB]);
  assign gw_snap = wr && (wr_addr == steer_regs_pkg::GW_CNT_INDEX);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      own_ip_q <= '0;
      own_mac_lo_q <= '0;
      own_mac_hi_q <= '0;
      punt_rate_q <= 32'h0010_0000;  // 1/16 frame per cycle
      punt_burst_q <= 16'd64;
      sess_addr_q <= '0;
      sess_data0_q <= '0;
      sess_data1_q <= '0;
      mag_addr_q <= '0;
      gw_addr_q <= '0;
      gw_data0_q <= '0;
      gw_data1_q <= '0;
      gw_data2_q <= '0;
      gw_cnt_idx_q <= '0;
      sess_rd_q <= 1'b0;
      mag_rd_q <= 1'b0;
      gw_rd_q <= 1'b0;
    end else begin
      sess_rd_q <= sess_host_en && !sess_host_we;
      mag_rd_q <= mag_host_en && !mag_host_we;
      gw_rd_q <= gw_host_en && !gw_host_we;
      if (mag_host_we) mag_addr_q <= mag_addr_q + 32'd1;
      if (wr) begin
        case (wr_addr)
          steer_regs_pkg::CTRL_OWN_IPV4: own_ip_q <= wr_data;
          steer_regs_pkg::CTRL_OWN_MAC_LO: own_mac_lo_q <= wr_data;
          steer_regs_pkg::CTRL_OWN_MAC_HI:
            own_mac_hi_q <= wr_data[steer_regs_pkg::CTRL_OWN_MAC_HI_MAC_HI_LSB +: 16];
          steer_regs_pkg::CTRL_PUNT_RATE: punt_rate_q <= wr_data;
          steer_regs_pkg::CTRL_PUNT_BURST: punt_burst_q <= wr_data[15:0];
          steer_regs_pkg::SESS_ADDR: sess_addr_q <= wr_data;
          steer_regs_pkg::SESS_DATA0: sess_data0_q <= wr_data;
          steer_regs_pkg::SESS_DATA1: sess_data1_q <= wr_data;
          steer_regs_pkg::MAGLEV_ADDR: mag_addr_q <= wr_data;
          steer_regs_pkg::GW_ADDR: gw_addr_q <= wr_data;
          steer_regs_pkg::GW_DATA0: gw_data0_q <= wr_data;
          steer_regs_pkg::GW_DATA1: gw_data1_q <= wr_data;
          steer_regs_pkg::GW_DATA2: gw_data2_q <= wr_data;
          steer_regs_pkg::GW_CNT_INDEX: gw_cnt_idx_q <= wr_data;
          default: ;
        endcase
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (sess_rd_q) begin
      sess_rdata0_q <= sess_rentry[39:8];
      sess_rdata1_q <= (32'(sess_rentry[40]) << steer_regs_pkg::SESS_DATA1_VALID_LSB) |
                       (32'(sess_rentry[7:0]) << steer_regs_pkg::SESS_DATA1_GATEWAY_LSB);
    end
    if (mag_rd_q) mag_rdata_q <= mag_rword;
    if (gw_rd_q) begin
      gw_rdata0_q <= gw_rentry[79:48];
      gw_rdata1_q <= gw_rentry[31:0];
      gw_rdata2_q <= (32'(gw_rentry[80]) << steer_regs_pkg::GW_DATA2_VALID_LSB) |
                     (32'(gw_rentry[47:32]) << steer_regs_pkg::GW_DATA2_MAC_HI_LSB);
    end
  end

  // Read mux, registered: data is there the cycle after rd.
  always_comb begin
    rd_data_d = 32'd0;
    case (rd_addr)
      steer_regs_pkg::CTRL_ID: rd_data_d = steer_regs_pkg::CTRL_ID_VALUE;
      steer_regs_pkg::CTRL_VERSION: rd_data_d = steer_regs_pkg::CTRL_VERSION_VALUE;
      steer_regs_pkg::CTRL_REGMAP: rd_data_d = steer_regs_pkg::REGMAP_CRC;
      steer_regs_pkg::CTRL_OWN_IPV4: rd_data_d = own_ip_q;
      steer_regs_pkg::CTRL_OWN_MAC_LO: rd_data_d = own_mac_lo_q;
      steer_regs_pkg::CTRL_OWN_MAC_HI:
        rd_data_d = 32'(own_mac_hi_q) << steer_regs_pkg::CTRL_OWN_MAC_HI_MAC_HI_LSB;
      steer_regs_pkg::CTRL_PUNT_RATE: rd_data_d = punt_rate_q;
      steer_regs_pkg::CTRL_PUNT_BURST: rd_data_d = {16'd0, punt_burst_q};
      steer_regs_pkg::CTRL_TIME_LO: rd_data_d = timestamp_i[31:0];
      steer_regs_pkg::CTRL_TIME_HI: rd_data_d = time_hi_q;
      steer_regs_pkg::STATS_ID: rd_data_d = steer_regs_pkg::STATS_ID_VALUE;
      steer_regs_pkg::STATS_VERSION: rd_data_d = steer_regs_pkg::STATS_VERSION_VALUE;
      steer_regs_pkg::STATS_COUNT: rd_data_d = NStats;
      steer_regs_pkg::SESS_ID: rd_data_d = steer_regs_pkg::SESS_ID_VALUE;
      steer_regs_pkg::SESS_VERSION: rd_data_d = steer_regs_pkg::SESS_VERSION_VALUE;
      steer_regs_pkg::SESS_GEOMETRY:
        rd_data_d = (32'd2 << steer_regs_pkg::SESS_GEOMETRY_BANKS_LSB) |
                    (32'(SessSlots) << steer_regs_pkg::SESS_GEOMETRY_SLOTS_LSB) |
                    (32'(SessBucketsLog2) << steer_regs_pkg::SESS_GEOMETRY_BUCKETS_LOG2_LSB);
      steer_regs_pkg::SESS_ADDR: rd_data_d = sess_addr_q;
      steer_regs_pkg::SESS_DATA0: rd_data_d = sess_data0_q;
      steer_regs_pkg::SESS_DATA1: rd_data_d = sess_data1_q;
      steer_regs_pkg::SESS_RDATA0: rd_data_d = sess_rdata0_q;
      steer_regs_pkg::SESS_RDATA1: rd_data_d = sess_rdata1_q;
      steer_regs_pkg::MAGLEV_ID: rd_data_d = steer_regs_pkg::MAGLEV_ID_VALUE;
      steer_regs_pkg::MAGLEV_VERSION: rd_data_d = steer_regs_pkg::MAGLEV_VERSION_VALUE;
      steer_regs_pkg::MAGLEV_SIZE: rd_data_d = steer_regs_pkg::MAGLEV_ENTRIES;
      steer_regs_pkg::MAGLEV_ADDR: rd_data_d = mag_addr_q;
      steer_regs_pkg::MAGLEV_RDATA: rd_data_d = mag_rdata_q;
      steer_regs_pkg::GW_ID: rd_data_d = steer_regs_pkg::GW_ID_VALUE;
      steer_regs_pkg::GW_VERSION: rd_data_d = steer_regs_pkg::GW_VERSION_VALUE;
      steer_regs_pkg::GW_COUNT: rd_data_d = Gateways;
      steer_regs_pkg::GW_ADDR: rd_data_d = gw_addr_q;
      steer_regs_pkg::GW_DATA0: rd_data_d = gw_data0_q;
      steer_regs_pkg::GW_DATA1: rd_data_d = gw_data1_q;
      steer_regs_pkg::GW_DATA2: rd_data_d = gw_data2_q;
      steer_regs_pkg::GW_RDATA0: rd_data_d = gw_rdata0_q;
      steer_regs_pkg::GW_RDATA1: rd_data_d = gw_rdata1_q;
      steer_regs_pkg::GW_RDATA2: rd_data_d = gw_rdata2_q;
      steer_regs_pkg::GW_CNT_INDEX: rd_data_d = gw_cnt_idx_q;
      steer_regs_pkg::GW_CNT_PKTS_LO: rd_data_d = gw_snap_pkts[31:0];
      steer_regs_pkg::GW_CNT_PKTS_HI: rd_data_d = gw_snap_pkts[63:32];
      steer_regs_pkg::GW_CNT_BYTES_LO: rd_data_d = gw_snap_bytes[31:0];
      steer_regs_pkg::GW_CNT_BYTES_HI: rd_data_d = gw_snap_bytes[63:32];
      default: begin
        if (host_hit) rd_data_d = host_rdata;
        if (stat_rd_hit) rd_data_d = rd_addr[2] ? stat_hi_q : stat_rd_lo;
      end
    endcase
  end

  // The counters are read by index (LO at STATS_LO + 8 i, HI 4 bytes later), not by comparing
  // the address with each of them.
  localparam int StatIdxW = $clog2(NStats);
  logic stat_rd_hit, stat_rd_lo_hit;
  logic [StatIdxW-1:0] stat_rd_idx;
  logic [31:0] stat_rd_lo;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [15:0] stat_rd_off;  // byte offset in the counters; bit 2 picks HI, the rest is range
  /* verilator lint_on UNUSEDSIGNAL */
  if (steer_regs_pkg::STATS_HI != steer_regs_pkg::STATS_LO + 16'd4 ||
      steer_regs_pkg::STATS_LO_STRIDE != 8 || steer_regs_pkg::STATS_LO[2:0] != 3'd0) begin : gen_bad_stats
    $error("steer_kernel: the counter read expects LO/HI pairs 8 bytes apart, HI at LO + 4");
  end
  always_comb begin
    stat_rd_off = rd_addr - steer_regs_pkg::STATS_LO;
    stat_rd_idx = stat_rd_off[3 +: StatIdxW];
    stat_rd_hit = rd_addr >= steer_regs_pkg::STATS_LO &&
                  rd_addr < steer_regs_pkg::STATS_LO + 16'(steer_regs_pkg::STATS_LO_STRIDE * NStats) &&
                  stat_rd_off[1:0] == 2'd0;
    stat_rd_lo_hit = stat_rd_hit && !rd_addr[2];
    stat_rd_lo = stats_q[stat_rd_idx][31:0];
  end

  always_ff @(posedge clk_i) begin
    rd_data_q <= rd_data_d;
  end

  // Reading a LO word latches the matching HI word so a 64-bit value is read consistently.
  always_ff @(posedge clk_i) begin
    if (rd && rd_addr == steer_regs_pkg::CTRL_TIME_LO) time_hi_q <= timestamp_i[63:32];
    if (rd && stat_rd_lo_hit) stat_hi_q <= stats_q[stat_rd_idx][63:32];
  end

  // ------------------------------------------------------------------------------------
  // Ingress: admission, frame buffer, header window
  // ------------------------------------------------------------------------------------
  // The frame's end as the egress reads it.
  typedef struct packed {
    logic [15:0] len;
    logic        rx_err;
    logic        oversize;
  } end_info_t;
  localparam int EndInfoW = 18;  // $bits(end_info_t), spelled out for Yosys 0.23

  logic [LevelW-1:0] dec_level;
  logic in_beat, sof, stat_fifo_full;
  logic [6:0] beat_bytes;
  logic win_valid;
  logic [rg_pkg::WIN_W-1:0] win;
  logic [7:0] win_len;
  logic win_end;
  logic data_valid, data_pop;
  logic [512+64:0] data_rdata;
  logic end_valid, end_pop, end_err, end_oversize;
  logic [15:0] end_len;
  end_info_t end_rdata;

  assign s_axis_rx_tready = 1'b1;
  assign end_rdata = {end_len, end_err, end_oversize};
  assign in_beat = s_axis_rx_tvalid;

  frame_ingress #(.MaxFrameBytes(MaxFrameBytes), .FifoLog2(FifoLog2)) u_ingress (
    .clk_i, .rst_ni,
    .s_axis_tdata(s_axis_rx_tdata), .s_axis_tkeep(s_axis_rx_tkeep), .s_axis_tlast(s_axis_rx_tlast),
    .s_axis_tuser(s_axis_rx_tuser[0]), .s_axis_tvalid(s_axis_rx_tvalid),
    .dec_level_i(dec_level),
    .sof_o(sof), .beat_bytes_o(beat_bytes), .fifo_full_o(stat_fifo_full),
    .win_valid_o(win_valid), .win_o(win), .win_len_o(win_len), .win_end_o(win_end),
    .data_valid_o(data_valid), .data_o(data_rdata), .data_pop_i(data_pop),
    .end_valid_o(end_valid), .end_len_o(end_len), .end_err_o(end_err),
    .end_oversize_o(end_oversize), .end_pop_i(end_pop)
  );

  // ------------------------------------------------------------------------------------
  // Decision pipeline: parse -> hash -> session/Maglev -> gateway -> decision
  // ------------------------------------------------------------------------------------
  logic p_valid;
  logic unused_parser_tag, unused_sess_tag;  // the pipeline stages carry their own context
  // Steer decides on the outer headers alone: the parser's window goes no further.
  logic [rg_pkg::WIN_W-1:0] unused_parser_win;
  logic [7:0] unused_parser_win_len;
  logic unused_parser_win_end;
  rg_pkg::hdr_meta_t p_meta;

  hdr_parser #(.MaxExt(0), .TagW(1)) u_parser (
    .clk_i, .rst_ni,
    .valid_i  (win_valid),
    .win_i    (win),
    .win_len_i(win_len),
    .win_end_i(win_end),
    .tag_i    (1'b0),
    .valid_o  (p_valid),
    .meta_o   (p_meta),
    .tag_o    (unused_parser_tag),
    .win_o    (unused_parser_win),
    .win_len_o(unused_parser_win_len),
    .win_end_o(unused_parser_win_end)
  );

  // Stage H: hashes (registered inside the units).
  logic [31:0] h0, h1;
  logic h_valid_q;
  rg_pkg::hdr_meta_t h_meta_q;

  crc32_hash #(.KeyBytes(4), .Poly(32'h82f63b78)) u_hash0 (
    .clk_i, .key_i(p_meta.teid), .hash_o(h0)
  );
  crc32_hash #(.KeyBytes(4), .Poly(32'hedb88320)) u_hash1 (
    .clk_i, .key_i(p_meta.teid), .hash_o(h1)
  );

  // Stage L: table lookups (session: 2 cycles; Maglev: index register + RAM read).
  logic [16:0] mag_idx_d, mag_idx_q;
  logic [1:0] mag_sel_q, mag_sel2_q;
  rg_pkg::hdr_meta_t l1_meta_q, l2_meta_q;
  logic l1_valid_q, l2_valid_q;
  logic sess_valid, sess_hit;
  logic [7:0] sess_val;
  logic [31:0] mag_word;

  always_comb begin
    logic [16:0] diff;
    // h mod 65537 = (lo - hi) mod 65537, since 65536 = -1 (mod 65537).
    diff = {1'b0, h0[15:0]} - {1'b0, h0[31:16]};
    mag_idx_d = diff[16] ? diff + 17'd65537 : diff;
  end

  cuckoo_table #(
    .BucketsLog2(SessBucketsLog2), .Slots(SessSlots), .KeyW(32), .ValW(8), .TagW(1)
  ) u_sess (
    .clk_i, .rst_ni,
    .lk_valid_i   (h_valid_q),
    .lk_key_i     (h_meta_q.teid),
    .lk_idx0_i    (h0[SessBucketsLog2-1:0]),
    .lk_idx1_i    (h1[SessBucketsLog2-1:0]),
    .lk_tag_i     (1'b0),
    .lk_valid_o   (sess_valid),
    .lk_hit_o     (sess_hit),
    .lk_val_o     (sess_val),
    .lk_tag_o     (unused_sess_tag),
    .host_en_i    (sess_host_en),
    .host_we_i    (sess_host_we),
    .host_bank_i  (sess_addr_q[steer_regs_pkg::SESS_ADDR_BANK_LSB]),
    .host_bucket_i(sess_addr_q[steer_regs_pkg::SESS_ADDR_BUCKET_LSB +: SessBucketsLog2]),
    .host_slot_i  (sess_addr_q[steer_regs_pkg::SESS_ADDR_SLOT_LSB +: SlotW]),
    .host_wentry_i({sess_data1_q[steer_regs_pkg::SESS_DATA1_VALID_LSB], sess_data0_q,
                    sess_data1_q[steer_regs_pkg::SESS_DATA1_GATEWAY_LSB +: 8]}),
    .host_rentry_o(sess_rentry)
  );

  ram_2p #(.Width(32), .Depth(MagWords)) u_maglev (
    .clk_i,
    .a_en_i   (1'b1),
    .a_addr_i (mag_idx_q[2 +: MagAddrW]),
    .a_rdata_o(mag_word),
    .b_en_i   (mag_host_en),
    .b_we_i   (mag_host_we),
    .b_addr_i (mag_addr_q[MagAddrW-1:0]),
    .b_wdata_i(wr_data),
    .b_rdata_o(mag_rword)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      h_valid_q <= 1'b0;
      l1_valid_q <= 1'b0;
      l2_valid_q <= 1'b0;
    end else begin
      h_valid_q <= p_valid;
      l1_valid_q <= h_valid_q;
      l2_valid_q <= l1_valid_q;
    end
  end

  always_ff @(posedge clk_i) begin
    h_meta_q <= p_meta;
    l1_meta_q <= h_meta_q;
    l2_meta_q <= l1_meta_q;
    mag_idx_q <= mag_idx_d;
    mag_sel_q <= mag_idx_d[1:0];
    mag_sel2_q <= mag_sel_q;
  end

  // Stage G: choose the gateway, read its entry.
  logic [7:0] gw_idx_d;
  logic g_valid_q, g_sess_q;
  rg_pkg::hdr_meta_t g_meta_q;
  logic [80:0] gw_entry;  // {valid, ipv4, mac}

  always_comb begin
    gw_idx_d = sess_hit ? sess_val : mag_word[8 * mag_sel2_q +: 8];
  end

  ram_2p #(.Width(81), .Depth(Gateways)) u_gw (
    .clk_i,
    .a_en_i   (1'b1),
    .a_addr_i (gw_idx_d[GwW-1:0]),
    .a_rdata_o(gw_entry),
    .b_en_i   (gw_host_en),
    .b_we_i   (gw_host_we),
    .b_addr_i (gw_addr_q[GwW-1:0]),
    .b_wdata_i({gw_data2_q[steer_regs_pkg::GW_DATA2_VALID_LSB], gw_data0_q,
                gw_data2_q[steer_regs_pkg::GW_DATA2_MAC_HI_LSB +: 16], gw_data1_q}),
    .b_rdata_o(gw_rentry)
  );

  logic [7:0] g_idx_q;
  // What the decision needs from the metadata alone is computed here, a stage early: the
  // RFC 1624 sums without the new destination (which the gateway entry brings), the compares.
  logic [18:0] g_ip_pre_d, g_ip_pre_q;   // ~HC + ~{ttl,proto} + {ttl-1,proto} + ~dst (two words)
  logic [17:0] g_udp_pre_d, g_udp_pre_q; // ~HC + ~dst (two words)
  logic g_own_d, g_own_q, g_ttl_le1_q, g_gpdu_d, g_gpdu_q;
  logic [15:0] g_need_len_d, g_need_len_q;
  always_comb begin
    g_ip_pre_d = ({3'd0, ~l2_meta_q.ip_csum} + {3'd0, ~{l2_meta_q.ttl, l2_meta_q.ip_proto}}) +
                 ({3'd0, l2_meta_q.ttl - 8'd1, l2_meta_q.ip_proto} + {3'd0, ~l2_meta_q.ip_dst[31:16]}) +
                 {3'd0, ~l2_meta_q.ip_dst[15:0]};
    g_udp_pre_d = {2'd0, ~l2_meta_q.udp_csum} +
                  ({2'd0, ~l2_meta_q.ip_dst[31:16]} + {2'd0, ~l2_meta_q.ip_dst[15:0]});
    g_own_d = l2_meta_q.ip_dst == own_ip_q;
    g_gpdu_d = l2_meta_q.is_gtpu && l2_meta_q.gtp_type == rg_pkg::GTP_GPDU && l2_meta_q.teid != 32'd0;
    g_need_len_d = l2_meta_q.is_ipv4 ? {9'd0, l2_meta_q.l3_off} + l2_meta_q.ip_total_len : 16'd0;
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) g_valid_q <= 1'b0;
    else g_valid_q <= l2_valid_q;
  end
  always_ff @(posedge clk_i) begin
    g_meta_q <= l2_meta_q;
    g_sess_q <= sess_hit;
    g_idx_q <= gw_idx_d;
    g_ip_pre_q <= g_ip_pre_d;
    g_udp_pre_q <= g_udp_pre_d;
    g_own_q <= g_own_d;
    g_ttl_le1_q <= l2_meta_q.ttl <= 8'd1;
    g_gpdu_q <= g_gpdu_d;
    g_need_len_q <= g_need_len_d;
  end

  // Stage D: the decision.
  typedef struct packed {
    logic [1:0]  action;       // 0 drop, 1 forward, 2 punt
    logic [4:0]  stat;         // drop reason or hit kind (STAT_*)
    logic [3:0]  punt_reason;
    logic [7:0]  gw;
    logic [15:0] need_len;     // l3_off + IPv4 total length (0: no check)
    logic        l3_vlan;      // l3 at 18, else 14
    logic [47:0] dmac;
    logic [31:0] dst;
    logic [7:0]  ttl;
    logic [15:0] ip_csum;
    logic        udp_wr;
    logic [6:0]  udp_pos;
    logic [15:0] udp_csum;
  } decision_t;
  localparam int DecisionW = 164;  // $bits(decision_t), spelled out for Yosys 0.23
`ifndef SYNTHESIS
  if ($bits(end_info_t) != EndInfoW || $bits(decision_t) != DecisionW) begin : gen_bad_w
    $error("steer_kernel: EndInfoW or DecisionW does not match its struct");
  end
`endif

  localparam logic [1:0] ACT_DROP = 2'd0;
  localparam logic [1:0] ACT_FWD = 2'd1;
  localparam logic [1:0] ACT_PUNT = 2'd2;

  decision_t dec_d;
  // The metadata being judged (module scope: see hdr_parser). The verdict reads the outer
  // headers and the TEID; inner offset, QFI and the like are for the gate.
  /* verilator lint_off UNUSEDSIGNAL */
  rg_pkg::hdr_meta_t m;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [19:0] ip_sum_d, udp_sum_d;
  always_comb begin
    m = g_meta_q;
    dec_d = '0;
    dec_d.gw = g_idx_q;
    dec_d.need_len = g_need_len_q;
    dec_d.l3_vlan = m.vlan;
    dec_d.dmac = gw_entry[47:0];
    dec_d.dst = gw_entry[79:48];
    dec_d.ttl = m.ttl - 8'd1;
    // The sums gain the new destination here; stage E folds them into the checksums.
    ip_sum_d = {1'b0, g_ip_pre_q} + ({4'd0, gw_entry[79:64]} + {4'd0, gw_entry[63:48]});
    udp_sum_d = {2'd0, g_udp_pre_q} + ({4'd0, gw_entry[79:64]} + {4'd0, gw_entry[63:48]});
    dec_d.udp_wr = (m.udp_csum != 16'd0);
    dec_d.udp_pos = m.l4_off + 7'd6;
    if (m.truncated) begin
      dec_d.stat = 5'(steer_regs_pkg::STAT_DROP_TRUNCATED);
    end else if (m.malformed) begin
      dec_d.stat = 5'(steer_regs_pkg::STAT_DROP_MALFORMED);
    end else if (m.is_arp) begin
      dec_d.action = ACT_PUNT;
      dec_d.punt_reason = 4'(steer_regs_pkg::PUNT_REASON_ARP);
    end else if (m.is_ipv6) begin
      dec_d.action = ACT_PUNT;
      dec_d.punt_reason = 4'(steer_regs_pkg::PUNT_REASON_IPV6);
    end else if (!m.is_ipv4) begin
      dec_d.stat = 5'(steer_regs_pkg::STAT_DROP_UNSUPPORTED);
    end else if (m.ip_frag) begin
      dec_d.action = ACT_PUNT;
      dec_d.punt_reason = 4'(steer_regs_pkg::PUNT_REASON_FRAGMENT);
    end else if (g_gpdu_q) begin
      if (g_ttl_le1_q) begin
        dec_d.action = ACT_PUNT;
        dec_d.punt_reason = 4'(steer_regs_pkg::PUNT_REASON_TTL_EXPIRED);
      end else if (!gw_entry[80]) begin
        dec_d.stat = 5'(steer_regs_pkg::STAT_DROP_NO_GATEWAY);
      end else begin
        dec_d.action = ACT_FWD;
        dec_d.stat = g_sess_q ? 5'(steer_regs_pkg::STAT_SESSION_HITS) : 5'(steer_regs_pkg::STAT_MAGLEV_HITS);
      end
    end else if (g_own_q) begin
      dec_d.action = ACT_PUNT;
      dec_d.punt_reason = 4'(steer_regs_pkg::PUNT_REASON_OWN_ADDRESS);
    end else if (m.is_gtpu && m.gtp_type != rg_pkg::GTP_GPDU) begin
      dec_d.action = ACT_PUNT;
      dec_d.punt_reason = 4'(steer_regs_pkg::PUNT_REASON_GTP_SIGNALLING);
    end else if (m.is_gtpu) begin
      dec_d.action = ACT_PUNT;
      dec_d.punt_reason = 4'(steer_regs_pkg::PUNT_REASON_TEID_ZERO);
    end else begin
      dec_d.stat = 5'(steer_regs_pkg::STAT_DROP_NOT_GTPU);
    end
  end

  // Stage E: fold the checksum sums, then into the decision FIFO.
  logic e_valid_q;
  decision_t e_dec_q, dec_e;
  logic [19:0] e_ip_sum_q, e_udp_sum_q;
  logic [15:0] uc;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) e_valid_q <= 1'b0;
    else e_valid_q <= g_valid_q;
  end
  always_ff @(posedge clk_i) begin
    e_dec_q <= dec_d;
    e_ip_sum_q <= ip_sum_d;
    e_udp_sum_q <= udp_sum_d;
  end
  always_comb begin
    dec_e = e_dec_q;
    dec_e.ip_csum = ~rg_pkg::ones_fold(e_ip_sum_q);
    uc = ~rg_pkg::ones_fold(e_udp_sum_q);
    dec_e.udp_csum = (uc == 16'd0) ? 16'hffff : uc;
  end

  logic dec_valid, dec_pop;
  decision_t dec_rdata;
  // Steer reads only the TEID and outer headers; the lookup-valid flags run in lockstep
  // with the stage valids, and the hash and Maglev index bits beyond what is used are spare.
  logic unused_bits;
  assign unused_bits = ^{sess_valid, h1[31:SessBucketsLog2], mag_idx_q[1:0]};

  sync_fifo #(.Width(DecisionW), .DepthLog2(FifoLog2)) u_dec_fifo (
    .clk_i, .rst_ni,
    .push_i (e_valid_q),
    .wdata_i(dec_e),
    .pop_i  (dec_pop),
    .valid_o(dec_valid),
    .rdata_o(dec_rdata),
    .level_o(dec_level)
  );

  // ------------------------------------------------------------------------------------
  // Egress: final verdict at the first beat, rewrite, route, count
  // ------------------------------------------------------------------------------------
  logic [1:0] act_q, act_d;
  logic in_pkt_q, in_pkt_d;
  logic [15:0] obeat_q, obeat_d, obeat;  // obeat: index of the beat at the buffer head
  decision_t cur_q, cur_d;
  logic [7:0] preason_q, preason_d;
  logic start;
  logic [1:0] fin_act;
  logic [4:0] fin_stat;
  logic tb_ok, tb_take;
  logic tx_can, punt_can, punt_room;
  // The punt stream to the host port (tuser: punt reason) and the inject stream from it
  // (tuser: the slot's inject_port code; the code of the frame at its head picks the output).
  logic [511:0] m_axis_punt_tdata, inj_tdata;
  logic [63:0] m_axis_punt_tkeep, inj_tkeep;
  logic m_axis_punt_tlast, m_axis_punt_tvalid, m_axis_punt_tready;
  logic [7:0] m_axis_punt_tuser, inj_tuser;
  logic inj_tlast, inj_tvalid, inj_tready, inj_whole;
  logic inj_st_ready, inj_acc_ready;  // the steering or the access output takes a beat
  logic inj_st_cand, inj_acc_cand;    // a whole frame for that output is at the head
  logic host_punt_room;
  logic fwd_ready, inj_pick, inj_q, inj_d, last_inj_q, last_inj_d;
  logic [511:0] bdata;
  logic [63:0] bkeep;
  logic blast;
  logic [47:0] own_mac;

  assign own_mac = {own_mac_hi_q, own_mac_lo_q};
  assign {blast, bkeep, bdata} = data_rdata;
  assign tx_can = !m_axis_tx_tvalid || m_axis_tx_tready;
  assign punt_can = !m_axis_punt_tvalid || m_axis_punt_tready;
  // A punt starts only when the host port has room for the whole frame behind any other.
  assign punt_room = host_punt_room && punt_can;
  // Between frames the steering port takes a forwarded or an injected frame (STEER_OUT),
  // alternating when both wait. An injected frame starts only when the host port holds it
  // whole, so it leaves with no idle cycles inside (as the gate's direct sends do).
  assign inj_st_cand = inj_whole && inj_tvalid &&
                       inj_tuser == 8'(steer_regs_pkg::INJECT_PORT_STEER_OUT);
  assign inj_acc_cand = inj_whole && inj_tvalid &&
                        inj_tuser == 8'(steer_regs_pkg::INJECT_PORT_ACCESS_OUT);
  assign inj_tready = inj_st_ready || inj_acc_ready;
  assign fwd_ready = data_valid && dec_valid && end_valid;
  assign inj_pick = !in_pkt_q && !inj_q && inj_st_cand && (!fwd_ready || !last_inj_q);
  assign start = !in_pkt_q && !inj_q && fwd_ready && !inj_pick;

  token_bucket u_punt_tb (
    .clk_i, .rst_ni,
    .rate_i (punt_rate_q),
    .burst_i(punt_burst_q),
    .take_i (tb_take),
    .ok_o   (tb_ok)
  );

  // Final verdict of a frame from its decision and its true length.
  always_comb begin
    fin_act = dec_rdata.action;
    fin_stat = dec_rdata.stat;
    if (end_rdata.rx_err) begin
      fin_act = ACT_DROP;
      fin_stat = 5'(steer_regs_pkg::STAT_DROP_RX_ERROR);
    end else if (end_rdata.oversize) begin
      fin_act = ACT_DROP;
      fin_stat = 5'(steer_regs_pkg::STAT_DROP_OVERSIZE);
    end else if (dec_rdata.action != ACT_DROP && end_rdata.len < dec_rdata.need_len) begin
      fin_act = ACT_DROP;
      fin_stat = 5'(steer_regs_pkg::STAT_DROP_TRUNCATED);
    end else if (dec_rdata.action == ACT_PUNT && !tb_ok) begin
      fin_act = ACT_DROP;
      fin_stat = 5'(steer_regs_pkg::STAT_DROP_PUNT_LIMIT);
    end else if (dec_rdata.action == ACT_PUNT && !punt_room) begin
      fin_act = ACT_DROP;
      fin_stat = 5'(steer_regs_pkg::STAT_DROP_PUNT_BUSY);
    end
  end

  // Rewrite of a forwarded frame's first two beats.
  function automatic logic [511:0] put8(input logic [511:0] d, input int pos,
                                         input logic [7:0] v);
    logic [511:0] r;
    r = d;
    r[8*pos +: 8] = v;
    put8 = r;
  endfunction

  logic [511:0] rw_data;
  always_comb begin
    logic [6:0] up;
    rw_data = bdata;
    up = cur_d.udp_pos;
    if (obeat == 16'd0) begin
      for (int i = 0; i < 6; i++) begin
        rw_data = put8(rw_data, i, cur_d.dmac[47-8*i -: 8]);
        rw_data = put8(rw_data, 6 + i, own_mac[47-8*i -: 8]);
      end
      if (cur_d.l3_vlan) begin
        rw_data = put8(rw_data, 18 + 8, cur_d.ttl);
        rw_data = put8(rw_data, 18 + 10, cur_d.ip_csum[15:8]);
        rw_data = put8(rw_data, 18 + 11, cur_d.ip_csum[7:0]);
        for (int i = 0; i < 4; i++) rw_data = put8(rw_data, 18 + 16 + i, cur_d.dst[31-8*i -: 8]);
      end else begin
        rw_data = put8(rw_data, 14 + 8, cur_d.ttl);
        rw_data = put8(rw_data, 14 + 10, cur_d.ip_csum[15:8]);
        rw_data = put8(rw_data, 14 + 11, cur_d.ip_csum[7:0]);
        for (int i = 0; i < 4; i++) rw_data = put8(rw_data, 14 + 16 + i, cur_d.dst[31-8*i -: 8]);
      end
    end
    if (cur_d.udp_wr && obeat == {15'd0, up[6]}) begin
      for (int p = 0; p < 64; p += 4) begin
        if (up[5:0] == 6'(p)) begin
          rw_data = put8(rw_data, p, cur_d.udp_csum[15:8]);
          rw_data = put8(rw_data, p + 1, cur_d.udp_csum[7:0]);
        end
      end
    end
  end

  logic tx_load, punt_load;
  assign obeat = start ? 16'd0 : obeat_q;
  always_comb begin
    act_d = act_q;
    in_pkt_d = in_pkt_q;
    obeat_d = obeat_q;
    cur_d = cur_q;
    preason_d = preason_q;
    data_pop = 1'b0;
    dec_pop = 1'b0;
    end_pop = 1'b0;
    tb_take = 1'b0;
    tx_load = 1'b0;
    punt_load = 1'b0;
    inj_d = inj_q || inj_pick;
    last_inj_d = last_inj_q;
    inj_st_ready = 1'b0;
    if (inj_d && inj_tvalid && tx_can) begin
      inj_st_ready = 1'b1;
      tx_load = 1'b1;
      if (inj_tlast) begin
        inj_d = 1'b0;
        last_inj_d = 1'b1;
      end
    end
    if (start) begin
      last_inj_d = 1'b0;
      dec_pop = 1'b1;
      end_pop = 1'b1;
      act_d = fin_act;
      cur_d = dec_rdata;
      preason_d = {4'd0, dec_rdata.punt_reason};
      in_pkt_d = 1'b1;
      tb_take = (fin_act == ACT_PUNT);
    end
    if (in_pkt_d && data_valid) begin
      case (act_d)
        ACT_FWD: begin
          if (tx_can) begin
            data_pop = 1'b1;
            tx_load = 1'b1;
          end
        end
        ACT_PUNT: begin
          if (punt_can) begin
            data_pop = 1'b1;
            punt_load = 1'b1;
          end
        end
        default: data_pop = 1'b1;
      endcase
    end
    obeat_d = obeat + {15'd0, data_pop};
    if (data_pop && blast) in_pkt_d = 1'b0;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      act_q <= ACT_DROP;
      in_pkt_q <= 1'b0;
      inj_q <= 1'b0;
      last_inj_q <= 1'b0;
      obeat_q <= '0;
      m_axis_tx_tvalid <= 1'b0;
      m_axis_punt_tvalid <= 1'b0;
    end else begin
      act_q <= act_d;
      in_pkt_q <= in_pkt_d;
      inj_q <= inj_d;
      last_inj_q <= last_inj_d;
      obeat_q <= obeat_d;
      if (tx_load) m_axis_tx_tvalid <= 1'b1;
      else if (m_axis_tx_tready) m_axis_tx_tvalid <= 1'b0;
      if (punt_load) m_axis_punt_tvalid <= 1'b1;
      else if (m_axis_punt_tready) m_axis_punt_tvalid <= 1'b0;
    end
  end

  always_ff @(posedge clk_i) begin
    cur_q <= cur_d;
    preason_q <= preason_d;
    if (tx_load) begin
      m_axis_tx_tdata <= inj_st_ready ? inj_tdata : rw_data;
      m_axis_tx_tkeep <= inj_st_ready ? inj_tkeep : bkeep;
      m_axis_tx_tlast <= inj_st_ready ? inj_tlast : blast;
    end
    if (punt_load) begin
      m_axis_punt_tdata <= bdata;
      m_axis_punt_tkeep <= bkeep;
      m_axis_punt_tlast <= blast;
      m_axis_punt_tuser <= preason_d;
    end
  end
  assign m_axis_tx_tuser = 1'b0;

  // ------------------------------------------------------------------------------------
  // Access port out: injected frames (ACCESS_OUT) only, so there is nothing to merge. A frame
  // starts only when the host port holds it whole and then owns the port until its last
  // beat; the output register takes a beat whenever it is empty or being emptied, so under
  // back-pressure a beat offered stays as it is until tready, and none is lost or reordered.
  // ------------------------------------------------------------------------------------
  logic acc_q, acc_d, acc_on, acc_can;
  assign acc_on = acc_q || inj_acc_cand;
  assign acc_can = !m_axis_acc_tx_tvalid || m_axis_acc_tx_tready;
  assign inj_acc_ready = acc_on && inj_tvalid && acc_can;
  always_comb begin
    acc_d = acc_on;
    if (inj_acc_ready && inj_tlast) acc_d = 1'b0;
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      acc_q <= 1'b0;
      m_axis_acc_tx_tvalid <= 1'b0;
    end else begin
      acc_q <= acc_d;
      if (inj_acc_ready) m_axis_acc_tx_tvalid <= 1'b1;
      else if (m_axis_acc_tx_tready) m_axis_acc_tx_tvalid <= 1'b0;
    end
  end
  always_ff @(posedge clk_i) begin
    if (inj_acc_ready) begin
      m_axis_acc_tx_tdata <= inj_tdata;
      m_axis_acc_tx_tkeep <= inj_tkeep;
      m_axis_acc_tx_tlast <= inj_tlast;
    end
  end
  assign m_axis_acc_tx_tuser = 1'b0;

  // Inject codes: STEER_OUT and ACCESS_OUT (others are skipped and counted by the host
  // port). Steer has no export scanner.
  logic unused_exp_ready;
  host_port #(.MaxFrameBytes(MaxFrameBytes), .FifoLog2(9), .Base(steer_regs_pkg::HOST_BASE),
              .InjPorts(steer_regs_pkg::INJECT_PORT_COUNT)) u_host (
    .clk_i, .rst_ni, .timestamp_i,
    .reg_wr_i(wr), .reg_waddr_i(wr_addr), .reg_wdata_i(wr_data), .reg_raddr_i(rd_addr),
    .reg_rdata_o(host_rdata), .reg_hit_o(host_hit),
    .s_axis_punt_tdata(m_axis_punt_tdata), .s_axis_punt_tkeep(m_axis_punt_tkeep),
    .s_axis_punt_tlast(m_axis_punt_tlast), .s_axis_punt_tuser({40'd0, m_axis_punt_tuser}),
    .s_axis_punt_tvalid(m_axis_punt_tvalid), .s_axis_punt_tready(m_axis_punt_tready),
    .punt_room_o(host_punt_room),
    .m_axis_inj_tdata(inj_tdata), .m_axis_inj_tkeep(inj_tkeep), .m_axis_inj_tlast(inj_tlast),
    .m_axis_inj_tuser(inj_tuser), .m_axis_inj_tvalid(inj_tvalid), .m_axis_inj_tready(inj_tready),
    .inj_whole_o(inj_whole), .s_exp_data_i('0), .s_exp_valid_i(1'b0), .s_exp_ready_o(unused_exp_ready),
    .m_axi_awaddr, .m_axi_awlen, .m_axi_awsize, .m_axi_awburst, .m_axi_awvalid, .m_axi_awready,
    .m_axi_wdata, .m_axi_wstrb, .m_axi_wlast, .m_axi_wvalid, .m_axi_wready,
    .m_axi_bresp, .m_axi_bvalid, .m_axi_bready,
    .m_axi_araddr, .m_axi_arlen, .m_axi_arsize, .m_axi_arburst, .m_axi_arvalid, .m_axi_arready,
    .m_axi_rdata, .m_axi_rresp, .m_axi_rlast, .m_axi_rvalid, .m_axi_rready
  );

  // ------------------------------------------------------------------------------------
  // Counters
  // ------------------------------------------------------------------------------------
  logic [63:0] stat_inc[NStats];  // every increment fits 16 bits
  /* verilator lint_off UNUSEDSIGNAL */
  always_comb begin
    for (int i = 0; i < NStats; i++) stat_inc[i] = 64'd0;
    if (in_beat) stat_inc[steer_regs_pkg::STAT_RX_BYTES] = {57'd0, beat_bytes};
    if (sof) stat_inc[steer_regs_pkg::STAT_RX_FRAMES] = 64'd1;
    if (stat_fifo_full) stat_inc[steer_regs_pkg::STAT_DROP_FIFO_FULL] = 64'd1;
    if (start) begin
      case (fin_act)
        ACT_FWD: begin
          stat_inc[steer_regs_pkg::STAT_TX_FRAMES] = 64'd1;
          stat_inc[steer_regs_pkg::STAT_TX_BYTES] = {48'd0, end_rdata.len};
          stat_inc[fin_stat] = 64'd1;
        end
        ACT_PUNT: stat_inc[steer_regs_pkg::STAT_PUNT_FRAMES] = 64'd1;
        default: stat_inc[fin_stat] = 64'd1;
      endcase
    end
  end
  /* verilator lint_on UNUSEDSIGNAL */

  // The increments are registered before the 64-bit adds, so the egress decision and the
  // counters' carry chains are separate paths (a counter shows an event one cycle later).
  logic [15:0] stat_inc_q[NStats];
  for (genvar i = 0; i < NStats; i++) begin : gen_stats
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        stat_inc_q[i] <= '0;
        stats_q[i] <= '0;
      end else begin
        stat_inc_q[i] <= stat_inc[i][15:0];
        stats_q[i] <= stats_q[i] + {48'd0, stat_inc_q[i]};
      end
    end
  end

  counter_ram #(.Depth(Gateways), .BytesW(16)) u_gw_cnt (
    .clk_i, .rst_ni,
    .inc_i       (start && fin_act == ACT_FWD),
    .inc_idx_i   (dec_rdata.gw[GwW-1:0]),
    .inc_bytes_i (end_rdata.len),
    .snap_i      (gw_snap),
    .snap_idx_i  (wr_data[GwW-1:0]),
    .snap_pkts_o (gw_snap_pkts),
    .snap_bytes_o(gw_snap_bytes)
  );
endmodule : steer_kernel
`default_nettype wire
