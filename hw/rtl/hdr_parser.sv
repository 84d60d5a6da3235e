// Header parser: from the first 128 bytes of a frame (two 512-bit beats) to hdr_meta_t.
// Ethernet, one 802.1Q tag, ARP/IPv6 recognised, IPv4 with options, UDP, GTP-U v1 with the
// optional sequence/N-PDU/next-extension word and up to MaxExt extension headers (the PDU
// Session Container, 0x85, yields the QFI). Fully pipelined: one window per cycle,
// latency 3 + MaxExt cycles. `tag_i` travels alongside unchanged.
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
  output logic      [TagW-1:0]         tag_o
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

  // Per-stage state: the window travels with the partial metadata.
  typedef struct packed {
    logic [rg_pkg::WIN_W-1:0]  win;
    logic [7:0]        win_len;
    logic              win_end;
    logic [TagW-1:0]   tag;
    logic [7:0]        gtp_flags;
    logic [7:0]        ext_off;    // next extension header's first byte
    logic [7:0]        ext_type;   // its type; 0 = no more
  } st_t;

  // The metadata travels beside the stage state (Yosys 0.23 takes no package type inside a
  // local struct).
  st_t st_q[Stages];
  st_t st_d[Stages];
  rg_pkg::hdr_meta_t m_q[Stages];
  rg_pkg::hdr_meta_t m_d[Stages];
  logic [Stages-1:0] vld_q;

  function automatic logic [7:0] b8(input logic [rg_pkg::WIN_W-1:0] w, input int i);
    b8 = w[8*i +: 8];
  endfunction

  function automatic logic [15:0] b16(input logic [rg_pkg::WIN_W-1:0] w, input int i);
    b16 = {w[8*i +: 8], w[8*(i+1) +: 8]};
  endfunction

  function automatic logic [7:0] bvar(input logic [rg_pkg::WIN_W-1:0] w, input logic [7:0] i);
    bvar = i[7] ? 8'd0 : w[{i[6:0], 3'b000} +: 8];
  endfunction

  // Stage 0: Ethernet and the IPv4 header.
  always_comb begin
    logic [rg_pkg::WIN_W-1:0] w;
    logic [15:0] et;
    logic [7:0] l3;
    logic [7:0] l4;
    w = win_i;
    st_d[0] = '0;
    m_d[0] = '0;
    st_d[0].win = w;
    st_d[0].win_len = win_len_i;
    st_d[0].win_end = win_end_i;
    st_d[0].tag = tag_i;
    m_d[0].vlan = (b16(w, 12) == rg_pkg::ETH_VLAN);
    et = m_d[0].vlan ? b16(w, 16) : b16(w, 12);
    l3 = m_d[0].vlan ? 8'd18 : 8'd14;
    m_d[0].l3_off = l3[6:0];
    m_d[0].is_arp = (et == rg_pkg::ETH_ARP);
    m_d[0].is_ipv6 = (et == rg_pkg::ETH_IPV6);
    m_d[0].is_ipv4 = (et == rg_pkg::ETH_IPV4);
    if (win_len_i < 8'd14 || (m_d[0].vlan && win_len_i < 8'd18)) begin
      m_d[0].truncated = 1'b1;
      m_d[0].is_arp = 1'b0;
      m_d[0].is_ipv6 = 1'b0;
      m_d[0].is_ipv4 = 1'b0;
    end
    if (m_d[0].vlan) begin
      m_d[0].ihl = w[8*18 +: 4];
      m_d[0].ip_total_len = b16(w, 20);
      m_d[0].ip_frag = w[8*24+5] || (b16(w, 24) & 16'h1fff) != 16'd0;
      m_d[0].ttl = b8(w, 26);
      m_d[0].ip_proto = b8(w, 27);
      m_d[0].ip_csum = b16(w, 28);
      m_d[0].ip_dst = {b16(w, 34), b16(w, 36)};
    end else begin
      m_d[0].ihl = w[8*14 +: 4];
      m_d[0].ip_total_len = b16(w, 16);
      m_d[0].ip_frag = w[8*20+5] || (b16(w, 20) & 16'h1fff) != 16'd0;
      m_d[0].ttl = b8(w, 22);
      m_d[0].ip_proto = b8(w, 23);
      m_d[0].ip_csum = b16(w, 24);
      m_d[0].ip_dst = {b16(w, 30), b16(w, 32)};
    end
    l4 = l3 + {2'b00, m_d[0].ihl, 2'b00};
    m_d[0].l4_off = l4[6:0];
    if (m_d[0].is_ipv4) begin
      if (win_len_i < l3 + 8'd20) begin
        m_d[0].truncated = 1'b1;
      end else if (w[8*l3 + 4 +: 4] != 4'd4 || m_d[0].ihl < 4'd5 ||
                   m_d[0].ip_total_len < {10'd0, m_d[0].ihl, 2'b00}) begin
        m_d[0].malformed = 1'b1;
      end else if (win_len_i < l4) begin
        m_d[0].truncated = 1'b1;
      end
    end
  end

  // Stage 1: UDP and the fixed GTP-U header (l4_off takes one of 12 values).
  always_comb begin
    logic [159:0] h;  // 20 bytes from l4_off, byte 0 in bits 159:152
    logic [7:0] l4;
    logic [15:0] l4_len;
    logic opt;
    st_d[1] = st_q[0];
    m_d[1] = m_q[0];
    h = '0;
    for (int k = 0; k < 12; k++) begin
      if (m_q[0].l4_off == 7'(34 + 4 * k)) begin
        for (int j = 0; j < 20; j++) h[159-8*j -: 8] = b8(st_q[0].win, 34 + 4 * k + j);
      end
    end
    l4 = {1'b0, m_q[0].l4_off};
    l4_len = m_q[0].ip_total_len - {10'd0, m_q[0].ihl, 2'b00};
    // h: UDP sport, dport, len, csum; GTP flags, type, len, TEID; seq, N-PDU, next ext.
    m_d[1].udp_dport = h[143:128];
    m_d[1].udp_len = h[127:112];
    m_d[1].udp_csum = h[111:96];
    st_d[1].gtp_flags = h[95:88];
    m_d[1].gtp_type = h[87:80];
    m_d[1].gtp_len = h[79:64];
    m_d[1].teid = h[63:32];
    opt = (h[90:88] != 3'b000);
    st_d[1].ext_type = h[90] ? h[7:0] : 8'd0;
    st_d[1].ext_off = l4 + 8'd20;
    m_d[1].inner_off = l4 + (opt ? 8'd20 : 8'd16);
    m_d[1].is_udp = m_q[0].is_ipv4 && !m_q[0].truncated && !m_q[0].malformed &&
                       m_q[0].ip_proto == 8'd17 && !m_q[0].ip_frag;
    if (m_d[1].is_udp) begin
      if (st_q[0].win_len < l4 + 8'd8) begin
        m_d[1].truncated = 1'b1;
      end else if (h[127:112] < 16'd8 || h[127:112] > l4_len) begin
        m_d[1].malformed = 1'b1;
      end else if (h[143:128] == rg_pkg::UDP_GTPU) begin
        if (st_q[0].win_len < l4 + (opt ? 8'd20 : 8'd16)) begin
          m_d[1].truncated = 1'b1;
        end else if (h[95:93] != 3'd1 || !h[92] ||
                     {1'b0, h[79:64]} + 17'd16 > {1'b0, h[127:112]} ||
                     (opt && h[79:64] < 16'd4)) begin
          m_d[1].malformed = 1'b1;
        end else begin
          m_d[1].is_gtpu = 1'b1;
        end
      end
    end
    if (!m_d[1].is_gtpu) st_d[1].ext_type = 8'd0;
  end

  // Stages 2 .. 1+MaxExt: one extension header each.
  for (genvar e = 0; e < MaxExt; e++) begin : gen_ext
    always_comb begin
      logic [7:0] len;
      logic [9:0] ext_end;
      logic [7:0] qb;
      len = 8'd0;
      ext_end = 10'd0;
      qb = 8'd0;
      st_d[2+e] = st_q[1+e];
      m_d[2+e] = m_q[1+e];
      if (st_q[1+e].ext_type != 8'd0) begin
        len = bvar(st_q[1+e].win, st_q[1+e].ext_off);
        ext_end = {2'b0, st_q[1+e].ext_off} + {len, 2'b00};
        if (st_q[1+e].ext_off >= st_q[1+e].win_len) begin
          if (st_q[1+e].win_end) m_d[2+e].truncated = 1'b1;
          else m_d[2+e].ext_overflow = 1'b1;
          st_d[2+e].ext_type = 8'd0;
        end else if (len == 8'd0) begin
          m_d[2+e].malformed = 1'b1;
          m_d[2+e].is_gtpu = 1'b0;
          st_d[2+e].ext_type = 8'd0;
        end else if (ext_end > {2'b0, st_q[1+e].win_len}) begin
          if (st_q[1+e].win_end) begin
            m_d[2+e].truncated = 1'b1;
            m_d[2+e].is_gtpu = 1'b0;
          end else begin
            m_d[2+e].ext_overflow = 1'b1;
          end
          st_d[2+e].ext_type = 8'd0;
        end else begin
          if (st_q[1+e].ext_type == rg_pkg::GTP_EXT_PDU_SESSION && len >= 8'd1) begin
            m_d[2+e].qfi_valid = 1'b1;
            qb = bvar(st_q[1+e].win, st_q[1+e].ext_off + 8'd2);
            m_d[2+e].qfi = qb[5:0];
          end
          st_d[2+e].ext_type = bvar(st_q[1+e].win, ext_end[7:0] - 8'd1);
          st_d[2+e].ext_off = ext_end[7:0];
          m_d[2+e].inner_off = ext_end[7:0];
        end
      end
    end
  end

  // Last stage: an unfinished chain is an overflow.
  always_comb begin
    st_d[Stages-1] = st_q[Stages-2];
    m_d[Stages-1] = m_q[Stages-2];
    if (st_q[Stages-2].ext_type != 8'd0) m_d[Stages-1].ext_overflow = 1'b1;
  end

  for (genvar s = 0; s < Stages; s++) begin : gen_regs
    always_ff @(posedge clk_i) begin
      st_q[s] <= st_d[s];
      m_q[s] <= m_d[s];
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) vld_q <= '0;
    else vld_q <= {vld_q[Stages-2:0], valid_i};
  end

  assign valid_o = vld_q[Stages-1];
  assign meta_o = m_q[Stages-1];
  assign tag_o = st_q[Stages-1].tag;
endmodule : hdr_parser
`default_nettype wire
