// Types and functions shared by every Roamgate block (hand-written; register layouts live in
// the generated <kernel>_regs_pkg). Include guard: each user `includes this file, so any file
// order compiles.
`ifndef RG_PKG_SV
`define RG_PKG_SV
`default_nettype none
package rg_pkg;
  // Shared by every kernel: each uses some of these constants.
  /* verilator lint_off UNUSEDPARAM */
  localparam int DATA_W = 512;
  localparam int KEEP_W = DATA_W / 8;
  localparam int WIN_BYTES = 128;  // parser window: the first two beats of a frame
  localparam int WIN_W = WIN_BYTES * 8;

  localparam logic [15:0] ETH_IPV4 = 16'h0800;
  localparam logic [15:0] ETH_ARP = 16'h0806;
  localparam logic [15:0] ETH_IPV6 = 16'h86dd;
  localparam logic [15:0] ETH_VLAN = 16'h8100;
  localparam logic [15:0] UDP_GTPU = 16'd2152;
  localparam logic [7:0] GTP_GPDU = 8'hff;
  localparam logic [7:0] GTP_EXT_PDU_SESSION = 8'h85;

  // What the header parser knows of a frame after its first two beats.
  typedef struct packed {
    logic        vlan;
    logic        is_ipv4;
    logic        is_arp;
    logic        is_ipv6;
    logic [6:0]  l3_off;        // 14 or 18
    logic [3:0]  ihl;
    logic [15:0] ip_total_len;
    logic [7:0]  ttl;
    logic [7:0]  ip_proto;
    logic        ip_frag;       // MF set or fragment offset non-zero
    logic [31:0] ip_dst;
    logic [15:0] ip_csum;
    logic [6:0]  l4_off;        // l3_off + 4 * ihl
    logic        is_udp;
    logic [15:0] udp_dport;
    logic [15:0] udp_len;
    logic [15:0] udp_csum;
    logic        is_gtpu;       // UDP destination port 2152 with a whole GTP-U v1 header
    logic [7:0]  gtp_type;
    logic [15:0] gtp_len;
    logic [31:0] teid;
    logic [7:0]  inner_off;     // first byte of the T-PDU (after the extension chain)
    logic        qfi_valid;
    logic [5:0]  qfi;
    logic        ext_overflow;  // extension chain longer than the parser walks
    logic        truncated;     // headers extend past the end of the frame
    logic        malformed;     // impossible header fields
  } hdr_meta_t;
  // Width of hdr_meta_t, for ports (Yosys 0.23 takes no package types on ports); every
  // module that carries it checks the two agree.
  localparam int HDR_META_W = 227;

  // What inner_parse knows of an IPv4 packet and its transport header, at a byte offset of
  // the header window (the T-PDU of a G-PDU, or the IPv4 packet of a plain frame).
  typedef struct packed {
    logic        ok;          // IPv4, IHL >= 5, total length covers the header
    logic        trunc;       // the frame ends before the headers do
    logic        beyond;      // the headers go past the 128-byte window (frame goes on)
    logic [3:0]  ihl;
    logic [15:0] tot_len;
    logic [7:0]  ttl;
    logic [7:0]  proto;
    logic        frag;        // MF set or fragment offset non-zero
    logic [15:0] ip_csum;
    logic [31:0] src;
    logic [31:0] dst;
    logic        l4_ok;       // TCP, UDP or ICMP echo with its header inside the packet
    logic [15:0] sport;       // TCP/UDP source port; ICMP echo: the identifier
    logic [15:0] dport;       // TCP/UDP destination port; ICMP echo: 0
    logic [15:0] l4_csum;
    logic [7:0]  icmp_type;
    logic [7:0]  tcp_flags;
  } ip_meta_t;
  localparam int IP_META_W = 185;

  localparam logic [7:0] PROTO_ICMP = 8'd1;
  localparam logic [7:0] PROTO_TCP = 8'd6;
  localparam logic [7:0] PROTO_UDP = 8'd17;

  // One's complement sum of two 16-bit words with end-around carry.
  function automatic logic [15:0] ones_add(input logic [15:0] a, input logic [15:0] b);
    logic [16:0] s;
    s = {1'b0, a} + {1'b0, b};
    ones_add = s[15:0] + {15'd0, s[16]};
  endfunction

  // RFC 1624 eqn. 3 for a 32-bit field: HC' = ~(~HC + ~m + m').
  function automatic logic [15:0] csum_update32(input logic [15:0] hc, input logic [31:0] m_old,
                                                input logic [31:0] m_new);
    logic [15:0] s;
    s = ones_add(~hc, ~m_old[31:16]);
    s = ones_add(s, ~m_old[15:0]);
    s = ones_add(s, m_new[31:16]);
    s = ones_add(s, m_new[15:0]);
    csum_update32 = ~s;
  endfunction

  // RFC 1624 eqn. 3 for a 16-bit field.
  function automatic logic [15:0] csum_update16(input logic [15:0] hc, input logic [15:0] m_old,
                                                input logic [15:0] m_new);
    logic [15:0] s;
    s = ones_add(~hc, ~m_old);
    s = ones_add(s, m_new);
    csum_update16 = ~s;
  endfunction

  // One's-complement value of a plain sum of up to sixteen 16-bit terms: the same result as
  // chaining ones_add over the terms (zero only when every term is zero), but as one adder
  // tree and two short folds instead of a chain of end-around carries.
  function automatic logic [15:0] ones_fold(input logic [19:0] s);
    logic [16:0] t;
    t = {1'b0, s[15:0]} + {13'd0, s[19:16]};
    ones_fold = t[15:0] + {15'd0, t[16]};
  endfunction

  // Sums for ones_fold (RFC 1624: HC' = ~(~HC + ~m + m')) of a forwarded IPv4 packet whose
  // addresses are rewritten: the old words complemented, with the header checksum and the
  // TTL/protocol word's change (ip_old_sum) or the L4 checksum and ports (l4_old_sum; an ICMP
  // echo changes its identifier only); the new words are added as addr_pair_sum and ports.
  function automatic logic [19:0] ip_old_sum(input logic [15:0] hc, input logic [7:0] ttl,
                                             input logic [7:0] proto, input logic [31:0] src,
                                             input logic [31:0] dst);
    ip_old_sum = (({4'd0, ~hc} + {4'd0, ~{ttl, proto}}) + ({4'd0, ttl - 8'd1, proto} + {4'd0, ~src[31:16]})) +
                 (({4'd0, ~src[15:0]} + {4'd0, ~dst[31:16]}) + {4'd0, ~dst[15:0]});
  endfunction

  function automatic logic [19:0] l4_old_sum(input logic icmp, input logic [15:0] hc,
                                             input logic [31:0] src, input logic [31:0] dst,
                                             input logic [15:0] sport, input logic [15:0] dport);
    if (icmp) l4_old_sum = {4'd0, ~hc} + {4'd0, ~sport};
    else l4_old_sum = (({4'd0, ~hc} + {4'd0, ~src[31:16]}) + ({4'd0, ~src[15:0]} + {4'd0, ~dst[31:16]})) +
                      (({4'd0, ~dst[15:0]} + {4'd0, ~sport}) + {4'd0, ~dport});
  endfunction

  function automatic logic [19:0] addr_pair_sum(input logic [31:0] a, input logic [31:0] b);
    addr_pair_sum = ({4'd0, a[31:16]} + {4'd0, a[15:0]}) + ({4'd0, b[31:16]} + {4'd0, b[15:0]});
  endfunction

  // Number of valid bytes in a beat whose tkeep is contiguous from byte 0.
  function automatic logic [6:0] keep_bytes(input logic [KEEP_W-1:0] keep);
    logic [6:0] n;
    n = 7'd0;
    for (int i = 0; i < KEEP_W; i++) begin
      n = n + {6'd0, keep[i]};
    end
    keep_bytes = n;
  endfunction
  /* verilator lint_on UNUSEDPARAM */
endpackage : rg_pkg
`default_nettype wire
`endif
