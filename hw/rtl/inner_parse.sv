// IPv4 and transport header parser at a byte offset of the 128-byte header window: the T-PDU
// of a G-PDU (offset: hdr_parser's inner_off) or the IPv4 packet of a plain frame (offset:
// l3_off). Extracts addresses, protocol, TTL, checksums, TCP/UDP ports or the ICMP echo
// identifier and TCP flags into rg_pkg::ip_meta_t. Two stages: the IPv4 header at the offset,
// then the transport header at offset + 4 * IHL. Fully pipelined, latency 2; `tag_i` travels
// alongside unchanged.
`include "rg_pkg.sv"
`default_nettype none
module inner_parse #(
  parameter int TagW = 1
) (
  input  wire logic                      clk_i,
  input  wire logic                      rst_ni,
  input  wire logic                      valid_i,
  input  wire logic [rg_pkg::WIN_W-1:0]  win_i,      // byte i at bits 8*i +: 8
  input  wire logic [7:0]                win_len_i,  // valid bytes in the window
  input  wire logic                      win_end_i,  // the frame ends inside the window
  input  wire logic [7:0]                off_i,      // first byte of the IPv4 header
  input  wire logic [TagW-1:0]           tag_i,
  output logic                           valid_o,
  output logic [rg_pkg::IP_META_W-1:0]   meta_o,     // an rg_pkg::ip_meta_t
  output logic      [TagW-1:0]           tag_o
);
`ifndef SYNTHESIS
  if ($bits(rg_pkg::ip_meta_t) != rg_pkg::IP_META_W) begin : gen_bad_meta_w
    $error("rg_pkg::IP_META_W does not match rg_pkg::ip_meta_t");
  end
`endif

  // Byte `i` of the window, zero past its end.
  function automatic logic [7:0] wbyte(input logic [rg_pkg::WIN_W-1:0] w, input logic [8:0] i);
    wbyte = i[8] || i[7] ? 8'd0 : w[{i[6:0], 3'b000} +: 8];
  endfunction

  // Stage 1: the 20-byte IPv4 header at off_i.
  // TOS, identification and DF are not needed by any decision.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [159:0] ip_d, ip_q;  // byte 0 in bits 159:152
  /* verilator lint_on UNUSEDSIGNAL */
  logic [rg_pkg::WIN_W-1:0] win_q;
  logic [7:0] win_len_q, off_q;
  logic win_end_q, v1_q, v2_q;
  logic [TagW-1:0] tag1_q;

  always_comb begin
    for (int j = 0; j < 20; j++) ip_d[159-8*j -: 8] = wbyte(win_i, {1'b0, off_i} + 9'(j));
  end

  always_ff @(posedge clk_i) begin
    ip_q <= ip_d;
    win_q <= win_i;
    win_len_q <= win_len_i;
    win_end_q <= win_end_i;
    off_q <= off_i;
    tag1_q <= tag_i;
  end

  // Stage 2: checks and the transport header.
  rg_pkg::ip_meta_t m;  // module scope: see hdr_parser
  logic [8:0] l4_off, ip_end, l4_end;
  logic [7:0] l4_need;
  // Sequence numbers, window and the like are read by no decision.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [159:0] l4;  // 20 bytes at l4_off, byte 0 in bits 159:152
  /* verilator lint_on UNUSEDSIGNAL */
  always_comb begin
    m = '0;
    m.ihl = ip_q[155:152];
    m.tot_len = ip_q[143:128];
    m.ttl = ip_q[95:88];
    m.proto = ip_q[87:80];
    m.frag = ip_q[109] || ip_q[108:96] != 13'd0;
    m.ip_csum = ip_q[79:64];
    m.src = ip_q[63:32];
    m.dst = ip_q[31:0];
    ip_end = {1'b0, off_q} + 9'd20;
    m.ok = ip_q[159:156] == 4'd4 && m.ihl >= 4'd5 && m.tot_len >= {10'd0, m.ihl, 2'b00};
    l4_off = {1'b0, off_q} + {3'd0, m.ihl, 2'b00};
    for (int j = 0; j < 20; j++) l4[159-8*j -: 8] = wbyte(win_q, l4_off + 9'(j));
    m.sport = l4[159:144];
    m.dport = l4[143:128];
    m.icmp_type = l4[159:152];
    m.tcp_flags = l4[55:48];
    case (m.proto)
      rg_pkg::PROTO_TCP: begin
        l4_need = 8'd20;
        m.l4_csum = l4[31:16];
      end
      rg_pkg::PROTO_UDP: begin
        l4_need = 8'd8;
        m.l4_csum = l4[111:96];
      end
      rg_pkg::PROTO_ICMP: begin
        l4_need = 8'd8;
        m.l4_csum = l4[143:128];
        m.sport = l4[127:112];  // echo identifier
        m.dport = 16'd0;
      end
      default: begin
        l4_need = 8'd0;
      end
    endcase
    l4_end = l4_off + {1'b0, l4_need};
    // Where the headers end decides truncated (the frame ends first) or beyond the window.
    if (ip_end > {1'b0, win_len_q} || (m.ok && l4_end > {1'b0, win_len_q})) begin
      if (win_end_q) m.trunc = 1'b1;
      else m.beyond = 1'b1;
    end
    if (ip_end > {1'b0, win_len_q}) m.ok = 1'b0;
    m.l4_ok = m.ok && !m.trunc && !m.beyond && !m.frag && l4_need != 8'd0 &&
              m.tot_len >= {10'd0, m.ihl, 2'b00} + {8'd0, l4_need} &&
              (m.proto != rg_pkg::PROTO_ICMP || m.icmp_type == 8'd8 || m.icmp_type == 8'd0);
  end

  always_ff @(posedge clk_i) begin
    meta_o <= m;
    tag_o <= tag1_q;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q <= 1'b0;
      v2_q <= 1'b0;
    end else begin
      v1_q <= valid_i;
      v2_q <= v1_q;
    end
  end
  assign valid_o = v2_q;
endmodule : inner_parse
`default_nettype wire
