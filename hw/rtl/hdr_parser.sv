// Header parser: from the first 128 bytes of a frame (two 512-bit beats) to hdr_meta_t.
// Ethernet, one 802.1Q tag, ARP/IPv6 recognised, IPv4 with options, UDP, GTP-U v1 with the
// optional sequence/N-PDU/next-extension word and up to MaxExt extension headers (the PDU
// Session Container, 0x85, yields the QFI). Fully pipelined: one window per cycle,
// latency 3 + MaxExt cycles. `tag_i` travels alongside unchanged, and the window leaves with
// its metadata (win_o, win_len_o, win_end_o) for later stages that read past the headers.
`include "rg_pkg.sv"
`default_nettype none
module hdr_parser #(
  parameter int MaxExt = 4,
  parameter int TagW = 1
) (
  input  wire logic                    clk_i,
  input  wire logic                    rst_ni,
  input  wire logic                    valid_i,
  input  wire logic [rg_pkg::WIN_W-1:0] win_i,     // byte i at bits 8*i +: 8
  input  wire logic [7:0]              win_len_i, // valid bytes in the window, 0..128
  input  wire logic                    win_end_i, // the frame ends inside the window
  input  wire logic [TagW-1:0]         tag_i,
  output logic                         valid_o,
  output logic [rg_pkg::HDR_META_W-1:0] meta_o,   // an rg_pkg::hdr_meta_t
  output logic      [TagW-1:0]         tag_o,
  output logic [rg_pkg::WIN_W-1:0]     win_o,
  output logic      [7:0]              win_len_o,
  output logic                         win_end_o
);

  if (MaxExt < 0 || MaxExt > 8) begin : gen_bad_params
    $error("hdr_parser: MaxExt must be 0..8");
  end

  localparam int Stages = 3 + MaxExt;
`ifndef SYNTHESIS
  if ($bits(rg_pkg::hdr_meta_t) != rg_pkg::HDR_META_W) begin : gen_bad_meta_w
    $error("rg_pkg::HDR_META_W does not match rg_pkg::hdr_meta_t");
  end
`endif

  // Per-stage state in flat vectors, stage s at [s*W +: W] (Yosys 0.23 takes neither unpacked
  // arrays of structs nor packed multi-dimensional arrays): the window travels with the
  // partial metadata; each stage edits local struct copies.
  localparam int WinW = rg_pkg::WIN_W;
  localparam int MetaW = rg_pkg::HDR_META_W;
  logic [Stages*WinW-1:0] win_q, win_d;
  logic [Stages*8-1:0] win_len_q, win_len_d, ext_off_q, ext_off_d, ext_type_q, ext_type_d;
  logic [Stages-1:0] win_end_q, win_end_d;
  logic [Stages*TagW-1:0] tag_q, tag_d;
  logic [Stages*MetaW-1:0] m_q, m_d;
  logic [Stages-1:0] vld_q;
  // Each stage's working copy of the metadata, at module scope: Yosys 0.23 infers latches
  // for member writes to a struct declared inside an always_comb.
  rg_pkg::hdr_meta_t m0, m1, mx, ml;

  function automatic logic [7:0] b8(input logic [rg_pkg::WIN_W-1:0] w, input int i);
    b8 = w[8*i +: 8];
  endfunction

  function automatic logic [15:0] b16(input logic [rg_pkg::WIN_W-1:0] w, input int i);
    b16 = {w[8*i +: 8], w[8*(i+1) +: 8]};
  endfunction

  function automatic logic [7:0] bvar(input logic [rg_pkg::WIN_W-1:0] w, input logic [7:0] i);
    bvar = i[7] ? 8'd0 : w[{i[6:0], 3'b000} +: 8];
  endfunction

  // The IPv4 header checks for the header at byte l3 (14, or 18 behind a VLAN tag), as
  // {truncated, malformed}. Stage 0 computes both and lets the tag choose, so the tag's
  // compare does not stand in front of them.
  function automatic logic [1:0] ip_checks(input logic [rg_pkg::WIN_W-1:0] w, input logic [7:0] win_len,
                                           input int l3);
    logic [3:0] ihl;
    logic [15:0] total;
    logic [7:0] l4;
    ihl = w[8*l3 +: 4];
    total = b16(w, l3 + 2);
    l4 = 8'(l3) + {2'b00, ihl, 2'b00};
    if (win_len < 8'(l3 + 20)) ip_checks = 2'b10;
    else if (w[8*l3 + 4 +: 4] != 4'd4 || ihl < 4'd5 || total < {10'd0, ihl, 2'b00}) ip_checks = 2'b01;
    else if (win_len < l4) ip_checks = 2'b10;
    else ip_checks = 2'b00;
  endfunction

  // Stage 0: Ethernet and the IPv4 header.
  always_comb begin
    logic [rg_pkg::WIN_W-1:0] w;
    logic [15:0] et;
    logic [6:0] l3;
    logic [6:0] l4;
    logic [1:0] chk14, chk18, chk;
    w = win_i;
    m0 = '0;
    m0.vlan = (b16(w, 12) == rg_pkg::ETH_VLAN);
    et = m0.vlan ? b16(w, 16) : b16(w, 12);
    l3 = m0.vlan ? 7'd18 : 7'd14;
    m0.l3_off = l3;
    m0.is_arp = (et == rg_pkg::ETH_ARP);
    m0.is_ipv6 = (et == rg_pkg::ETH_IPV6);
    m0.is_ipv4 = (et == rg_pkg::ETH_IPV4);
    chk14 = ip_checks(w, win_len_i, 14);
    chk18 = ip_checks(w, win_len_i, 18);
    chk = m0.vlan ? chk18 : chk14;
    if (win_len_i < 8'd14 || (m0.vlan && win_len_i < 8'd18)) begin
      m0.truncated = 1'b1;
      m0.is_arp = 1'b0;
      m0.is_ipv6 = 1'b0;
      m0.is_ipv4 = 1'b0;
    end
    if (m0.vlan) begin
      m0.ihl = w[8*18 +: 4];
      m0.ip_total_len = b16(w, 20);
      m0.ip_frag = w[8*24+5] || (b16(w, 24) & 16'h1fff) != 16'd0;
      m0.ttl = b8(w, 26);
      m0.ip_proto = b8(w, 27);
      m0.ip_csum = b16(w, 28);
      m0.ip_dst = {b16(w, 34), b16(w, 36)};
    end else begin
      m0.ihl = w[8*14 +: 4];
      m0.ip_total_len = b16(w, 16);
      m0.ip_frag = w[8*20+5] || (b16(w, 20) & 16'h1fff) != 16'd0;
      m0.ttl = b8(w, 22);
      m0.ip_proto = b8(w, 23);
      m0.ip_csum = b16(w, 24);
      m0.ip_dst = {b16(w, 30), b16(w, 32)};
    end
    l4 = l3 + {1'b0, m0.ihl, 2'b00};
    m0.l4_off = l4;
    if (m0.is_ipv4) begin
      m0.truncated = chk[1];
      m0.malformed = chk[0];
    end
    win_d[(0)*WinW +: WinW] = w;
    win_len_d[(0)*8 +: 8] = win_len_i;
    win_end_d[0] = win_end_i;
    tag_d[(0)*TagW +: TagW] = tag_i;
    ext_off_d[(0)*8 +: 8] = 8'd0;
    ext_type_d[(0)*8 +: 8] = 8'd0;
    m_d[(0)*MetaW +: MetaW] = m0;
  end

  // Stage 1: UDP and the fixed GTP-U header (l4_off takes one of 12 values).
  always_comb begin
    // 20 bytes from l4_off, byte 0 in bits 159:152. The UDP source port and the GTP-U
    // sequence/N-PDU bytes are not needed by any decision.
    /* verilator lint_off UNUSEDSIGNAL */
    logic [159:0] h;
    /* verilator lint_on UNUSEDSIGNAL */
    logic [7:0] l4;
    logic [15:0] l4_len;
    logic opt;
    m1 = m_q[(0)*MetaW +: MetaW];
    h = '0;
    for (int k = 0; k < 12; k++) begin
      if (m1.l4_off == 7'(34 + 4 * k)) begin
        for (int j = 0; j < 20; j++) h[159-8*j -: 8] = b8(win_q[(0)*WinW +: WinW], 34 + 4 * k + j);
      end
    end
    l4 = {1'b0, m1.l4_off};
    l4_len = m1.ip_total_len - {10'd0, m1.ihl, 2'b00};
    // h: UDP sport, dport, len, csum; GTP flags, type, len, TEID; seq, N-PDU, next ext.
    m1.udp_dport = h[143:128];
    m1.udp_len = h[127:112];
    m1.udp_csum = h[111:96];
    m1.gtp_type = h[87:80];
    m1.gtp_len = h[79:64];
    m1.teid = h[63:32];
    opt = (h[90:88] != 3'b000);
    ext_type_d[(1)*8 +: 8] = h[90] ? h[7:0] : 8'd0;
    ext_off_d[(1)*8 +: 8] = l4 + 8'd20;
    m1.inner_off = l4 + (opt ? 8'd20 : 8'd16);
    m1.is_udp = m1.is_ipv4 && !m1.truncated && !m1.malformed && m1.ip_proto == 8'd17 && !m1.ip_frag;
    if (m1.is_udp) begin
      if (win_len_q[(0)*8 +: 8] < l4 + 8'd8) begin
        m1.truncated = 1'b1;
      end else if (h[127:112] < 16'd8 || h[127:112] > l4_len) begin
        m1.malformed = 1'b1;
      end else if (h[143:128] == rg_pkg::UDP_GTPU) begin
        if (win_len_q[(0)*8 +: 8] < l4 + (opt ? 8'd20 : 8'd16)) begin
          m1.truncated = 1'b1;
        end else if (h[95:93] != 3'd1 || !h[92] ||
                     {1'b0, h[79:64]} + 17'd16 > {1'b0, h[127:112]} ||
                     (opt && h[79:64] < 16'd4)) begin
          m1.malformed = 1'b1;
        end else begin
          m1.is_gtpu = 1'b1;
        end
      end
    end
    if (!m1.is_gtpu) ext_type_d[(1)*8 +: 8] = 8'd0;
    win_d[(1)*WinW +: WinW] = win_q[(0)*WinW +: WinW];
    win_len_d[(1)*8 +: 8] = win_len_q[(0)*8 +: 8];
    win_end_d[1] = win_end_q[0];
    tag_d[(1)*TagW +: TagW] = tag_q[(0)*TagW +: TagW];
    m_d[(1)*MetaW +: MetaW] = m1;
  end

  // Stages 2 .. 1+MaxExt: one extension header each (a loop of independent stages).
  always_comb begin
    logic [7:0] len;
    logic [9:0] ext_end;
    /* verilator lint_off UNUSEDSIGNAL */
    logic [7:0] qb;  // QFI octet: the top two bits are PPP/RQI or spare
    /* verilator lint_on UNUSEDSIGNAL */
    logic [7:0] off, typ;
    for (int e = 0; e < MaxExt; e++) begin
      len = 8'd0;
      ext_end = 10'd0;
      qb = 8'd0;
      mx = m_q[(1+e)*MetaW +: MetaW];
      off = ext_off_q[(1+e)*8 +: 8];
      typ = ext_type_q[(1+e)*8 +: 8];
      if (typ != 8'd0) begin
        len = bvar(win_q[(1+e)*WinW +: WinW], off);
        ext_end = {2'b0, off} + {len, 2'b00};
        if (off >= win_len_q[(1+e)*8 +: 8]) begin
          if (win_end_q[1+e]) mx.truncated = 1'b1;
          else mx.ext_overflow = 1'b1;
          typ = 8'd0;
        end else if (len == 8'd0) begin
          mx.malformed = 1'b1;
          mx.is_gtpu = 1'b0;
          typ = 8'd0;
        end else if (ext_end > {2'b0, win_len_q[(1+e)*8 +: 8]}) begin
          if (win_end_q[1+e]) begin
            mx.truncated = 1'b1;
            mx.is_gtpu = 1'b0;
          end else begin
            mx.ext_overflow = 1'b1;
          end
          typ = 8'd0;
        end else begin
          if (typ == rg_pkg::GTP_EXT_PDU_SESSION) begin
            qb = bvar(win_q[(1+e)*WinW +: WinW], off + 8'd2);
            mx.qfi_valid = 1'b1;
            mx.qfi = qb[5:0];
          end
          typ = bvar(win_q[(1+e)*WinW +: WinW], ext_end[7:0] - 8'd1);
          off = ext_end[7:0];
          mx.inner_off = ext_end[7:0];
        end
      end
      win_d[(2+e)*WinW +: WinW] = win_q[(1+e)*WinW +: WinW];
      win_len_d[(2+e)*8 +: 8] = win_len_q[(1+e)*8 +: 8];
      win_end_d[2+e] = win_end_q[1+e];
      tag_d[(2+e)*TagW +: TagW] = tag_q[(1+e)*TagW +: TagW];
      ext_off_d[(2+e)*8 +: 8] = off;
      ext_type_d[(2+e)*8 +: 8] = typ;
      m_d[(2+e)*MetaW +: MetaW] = mx;
    end
  end

  // Last stage: an unfinished chain is an overflow.
  always_comb begin
    ml = m_q[(Stages-2)*MetaW +: MetaW];
    if (ext_type_q[(Stages-2)*8 +: 8] != 8'd0) ml.ext_overflow = 1'b1;
    win_d[(Stages-1)*WinW +: WinW] = win_q[(Stages-2)*WinW +: WinW];
    win_len_d[(Stages-1)*8 +: 8] = win_len_q[(Stages-2)*8 +: 8];
    win_end_d[Stages-1] = win_end_q[Stages-2];
    tag_d[(Stages-1)*TagW +: TagW] = tag_q[(Stages-2)*TagW +: TagW];
    ext_off_d[(Stages-1)*8 +: 8] = ext_off_q[(Stages-2)*8 +: 8];
    ext_type_d[(Stages-1)*8 +: 8] = 8'd0;
    m_d[(Stages-1)*MetaW +: MetaW] = ml;
  end

  always_ff @(posedge clk_i) begin
    win_q <= win_d;
    win_len_q <= win_len_d;
    win_end_q <= win_end_d;
    tag_q <= tag_d;
    ext_off_q <= ext_off_d;
    ext_type_q <= ext_type_d;
    m_q <= m_d;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) vld_q <= '0;
    else vld_q <= {vld_q[Stages-2:0], valid_i};
  end

  assign valid_o = vld_q[Stages-1];
  assign meta_o = m_q[(Stages-1)*MetaW +: MetaW];
  assign tag_o = tag_q[(Stages-1)*TagW +: TagW];
  assign win_o = win_q[(Stages-1)*WinW +: WinW];
  assign win_len_o = win_len_q[(Stages-1)*8 +: 8];
  assign win_end_o = win_end_q[Stages-1];
endmodule : hdr_parser
`default_nettype wire
