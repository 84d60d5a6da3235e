// Port table of the gate: one entry per (gate address index, user-session port), holding the
// NAT action, the downlink tunnel (the port_entry layout of hw/regs/gate.toml), per-direction
// counter records (port_counters) and the export scanner's state per entry.
//
// Lookups: the uplink reads a compact copy of the entry ({valid, allow, external, gen,
// server address, server port}) and the downlink the whole entry, each on its own RAM port,
// one per cycle, data the cycle after the index. Counting: one increment per direction per
// cycle.
// Host commands and the scanner share one controller: COMMIT reads the old entry, then writes
// both copies in one cycle (a new generation, or an entry that was not valid, also restarts
// the scanner state; the counters restart by themselves on a new generation); READ snapshots
// the entry, both counter records and the scanner state. The scanner visits entries in turn
// when no host command waits, and offers an export record for a valid entry that is closed
// (FIN/RST seen), idle past idle_ticks_i or due an interim record; a waiting record is
// withdrawn to serve a host command and offered again, so none is lost.
`include "gate_regs_pkg.sv"
`default_nettype none
module port_table #(
  parameter int Addrs = 4,
  parameter int PortsLog2 = 16,
  localparam int AddrW = $clog2(Addrs),
  localparam int Depth = Addrs << PortsLog2,
  localparam int IdxW = AddrW + PortsLog2,
  localparam int UpW = 3 + 8 + 32 + 16
) (
  input  wire logic            clk_i,
  input  wire logic            rst_ni,
  input  wire logic [31:0]     tick_i,
  // lookups
  input  wire logic [IdxW-1:0] ul_idx_i,
  output logic      [UpW-1:0]  ul_ent_o,    // {valid, allow, external, gen, server, port}
  input  wire logic [IdxW-1:0] dl_idx_i,
  output logic      [255:0]    dl_ent_o,    // port_entry layout
  // counting
  input  wire logic            ul_inc_i,
  input  wire logic [IdxW-1:0] ul_inc_idx_i,
  input  wire logic [7:0]      ul_inc_gen_i,
  input  wire logic [15:0]     ul_inc_bytes_i,
  input  wire logic [1:0]      ul_inc_flags_i,
  input  wire logic            dl_inc_i,
  input  wire logic [IdxW-1:0] dl_inc_idx_i,
  input  wire logic [7:0]      dl_inc_gen_i,
  input  wire logic [15:0]     dl_inc_bytes_i,
  input  wire logic [1:0]      dl_inc_flags_i,
  // host commands
  input  wire logic            commit_i,
  input  wire logic            read_i,
  input  wire logic [IdxW-1:0] host_idx_i,
  input  wire logic [255:0]    host_wdata_i,
  output logic                 busy_o,
  output logic      [255:0]    rd_entry_o,
  output logic      [63:0]     rd_ul_pkts_o,
  output logic      [63:0]     rd_ul_bytes_o,
  output logic      [63:0]     rd_dl_pkts_o,
  output logic      [63:0]     rd_dl_bytes_o,
  output logic      [31:0]     rd_last_o,
  output logic      [2:0]      rd_flags_o,  // {final, RST, FIN}
  // scanner
  input  wire logic            scan_on_i,
  input  wire logic [31:0]     idle_ticks_i,
  input  wire logic [31:0]     interim_ticks_i,
  output logic      [IdxW-1:0] scan_pos_o,
  output logic                 scan_pass_o,    // pulse: a pass over the table ended
  output logic                 exp_valid_o,
  output logic      [511:0]    exp_data_o,     // export_record layout
  input  wire logic            exp_ready_i
);
  if (Addrs < 1 || Addrs > 256 || (1 << AddrW) != Addrs || PortsLog2 < 1 || PortsLog2 > 16) begin : gen_bad_params
    $error("port_table: Addrs must be a power of two up to 256, PortsLog2 1..16");
  end

  localparam int FlagsLsb = gate_regs_pkg::PORT_ENTRY_FLAGS_LSB;
  localparam int GenLsb = gate_regs_pkg::PORT_ENTRY_GEN_LSB;
  localparam int RecW = 8 + 64 + 64 + 32 + 2;

  function automatic logic [UpW-1:0] up_of(input logic [255:0] e);
    up_of = {e[FlagsLsb + gate_regs_pkg::PORT_FLAG_VALID], e[FlagsLsb + gate_regs_pkg::PORT_FLAG_ALLOW],
             e[FlagsLsb + gate_regs_pkg::PORT_FLAG_EXTERNAL], e[GenLsb +: 8],
             e[gate_regs_pkg::PORT_ENTRY_SERVER_IPV4_LSB +: 32],
             e[gate_regs_pkg::PORT_ENTRY_SERVER_PORT_LSB +: 16]};
  endfunction

  // Tick a is later than tick b (modulo 2**32).
  function automatic logic later(input logic [31:0] a, input logic [31:0] b);
    logic [31:0] diff;
    diff = a - b;
    later = !diff[31] && diff != 32'd0;
  endfunction

  // ---- storage -------------------------------------------------------------------------
  logic up_we, dn_en, dn_we, sc_we, sc_rd;
  logic [IdxW-1:0] op_idx_q, op_idx_d;
  logic [255:0] dn_rdata;
  logic [64:0] sc_rdata, sc_wdata;   // {installed tick, last export tick, final}
  logic [UpW-1:0] unused_up_b;
  logic [64:0] unused_sc_b;
  logic [255:0] wentry_q, wentry_d;

  ram_2p #(.Width(UpW), .Depth(Depth)) u_up (
    .clk_i,
    .a_en_i(1'b1), .a_addr_i(ul_idx_i), .a_rdata_o(ul_ent_o),
    .b_en_i(up_we), .b_we_i(1'b1), .b_addr_i(op_idx_q), .b_wdata_i(up_of(wentry_q)),
    .b_rdata_o(unused_up_b)
  );

  ram_2p #(.Width(256), .Depth(Depth)) u_dn (
    .clk_i,
    .a_en_i(1'b1), .a_addr_i(dl_idx_i), .a_rdata_o(dl_ent_o),
    .b_en_i(dn_en), .b_we_i(dn_we), .b_addr_i(op_idx_q), .b_wdata_i(wentry_q),
    .b_rdata_o(dn_rdata)
  );

  ram_2p #(.Width(65), .Depth(Depth)) u_scan (
    .clk_i,
    .a_en_i(sc_rd), .a_addr_i(op_idx_q), .a_rdata_o(sc_rdata),
    .b_en_i(sc_we), .b_we_i(1'b1), .b_addr_i(op_idx_q), .b_wdata_i(sc_wdata),
    .b_rdata_o(unused_sc_b)
  );

  logic snap_ul_q, snap_ul_d, snap_dl_q, snap_dl_d, ack_ul, ack_dl, sv_ul, sv_dl;
  logic have_ul_q, have_ul_d, have_dl_q, have_dl_d;
  logic [RecW-1:0] rec_ul, rec_dl, rec_ul_q, rec_dl_q;

  port_counters #(.Depth(Depth)) u_cnt_ul (
    .clk_i, .rst_ni,
    .inc_i(ul_inc_i), .inc_idx_i(ul_inc_idx_i), .inc_gen_i(ul_inc_gen_i),
    .inc_bytes_i(ul_inc_bytes_i), .inc_tick_i(tick_i), .inc_flags_i(ul_inc_flags_i),
    .snap_req_i(snap_ul_q), .snap_idx_i(op_idx_q), .snap_ack_o(ack_ul),
    .snap_valid_o(sv_ul), .snap_rec_o(rec_ul)
  );

  port_counters #(.Depth(Depth)) u_cnt_dl (
    .clk_i, .rst_ni,
    .inc_i(dl_inc_i), .inc_idx_i(dl_inc_idx_i), .inc_gen_i(dl_inc_gen_i),
    .inc_bytes_i(dl_inc_bytes_i), .inc_tick_i(tick_i), .inc_flags_i(dl_inc_flags_i),
    .snap_req_i(snap_dl_q), .snap_idx_i(op_idx_q), .snap_ack_o(ack_dl),
    .snap_valid_o(sv_dl), .snap_rec_o(rec_dl)
  );

  // ---- controller ----------------------------------------------------------------------
  typedef enum logic [2:0] {S_IDLE, S_COMMIT, S_COMMIT_WR, S_READ, S_WAIT, S_EVAL, S_EXPORT} state_e;
  state_e st_q, st_d;
  logic commit_pend_q, commit_pend_d, read_pend_q, read_pend_d, op_host_q, op_host_d;
  logic [IdxW-1:0] pos_q, pos_d;
  logic pass_d;
  logic [511:0] rec_q, rec_d;
  logic [255:0] rd_entry_d;
  logic [63:0] rd_ul_pkts_d, rd_ul_bytes_d, rd_dl_pkts_d, rd_dl_bytes_d;
  logic [31:0] rd_last_d;
  logic [2:0] rd_flags_d;

  // The entry being read as the scanner and the host see it.
  logic e_valid, e_final;
  logic [7:0] e_gen;
  logic [63:0] e_ul_pkts, e_ul_bytes, e_dl_pkts, e_dl_bytes;
  logic [31:0] e_last, e_installed, e_exported;
  logic [1:0] e_flags;
  logic [7:0] e_reason;
  always_comb begin
    logic ul_live, dl_live;
    e_valid = dn_rdata[FlagsLsb + gate_regs_pkg::PORT_FLAG_VALID];
    e_gen = dn_rdata[GenLsb +: 8];
    {e_installed, e_exported, e_final} = sc_rdata;
    // rec: {gen, pkts, bytes, last, flags}
    ul_live = rec_ul_q[RecW-1 -: 8] == e_gen;
    dl_live = rec_dl_q[RecW-1 -: 8] == e_gen;
    e_ul_pkts = ul_live ? rec_ul_q[RecW-9 -: 64] : 64'd0;
    e_ul_bytes = ul_live ? rec_ul_q[RecW-73 -: 64] : 64'd0;
    e_dl_pkts = dl_live ? rec_dl_q[RecW-9 -: 64] : 64'd0;
    e_dl_bytes = dl_live ? rec_dl_q[RecW-73 -: 64] : 64'd0;
    e_flags = (ul_live ? rec_ul_q[1:0] : 2'd0) | (dl_live ? rec_dl_q[1:0] : 2'd0);
    e_last = e_installed;
    if (ul_live && later(rec_ul_q[33:2], e_last)) e_last = rec_ul_q[33:2];
    if (dl_live && later(rec_dl_q[33:2], e_last)) e_last = rec_dl_q[33:2];
    e_reason = 8'(gate_regs_pkg::EXPORT_REASON_NONE);
    if (e_valid && !e_final) begin
      if (e_flags != 2'd0) begin
        e_reason = 8'(gate_regs_pkg::EXPORT_REASON_CLOSED);
      end else if (idle_ticks_i != 32'd0 && (tick_i - e_last) > idle_ticks_i) begin
        e_reason = 8'(gate_regs_pkg::EXPORT_REASON_IDLE);
      end else if (interim_ticks_i != 32'd0 && (tick_i - e_exported) > interim_ticks_i) begin
        e_reason = 8'(gate_regs_pkg::EXPORT_REASON_INTERIM);
      end
    end
  end

  always_comb begin
    st_d = st_q;
    commit_pend_d = commit_pend_q || commit_i;
    read_pend_d = read_pend_q || read_i;
    op_host_d = op_host_q;
    op_idx_d = op_idx_q;
    wentry_d = wentry_q;
    pos_d = pos_q;
    pass_d = 1'b0;
    rec_d = rec_q;
    snap_ul_d = snap_ul_q && !ack_ul;
    snap_dl_d = snap_dl_q && !ack_dl;
    have_ul_d = have_ul_q || sv_ul;
    have_dl_d = have_dl_q || sv_dl;
    up_we = 1'b0;
    dn_en = 1'b0;
    dn_we = 1'b0;
    sc_we = 1'b0;
    sc_rd = 1'b0;
    sc_wdata = {tick_i, tick_i, 1'b0};
    exp_valid_o = 1'b0;
    rd_entry_d = rd_entry_o;
    rd_ul_pkts_d = rd_ul_pkts_o;
    rd_ul_bytes_d = rd_ul_bytes_o;
    rd_dl_pkts_d = rd_dl_pkts_o;
    rd_dl_bytes_d = rd_dl_bytes_o;
    rd_last_d = rd_last_o;
    rd_flags_d = rd_flags_o;
    case (st_q)
      S_IDLE: begin
        if (commit_pend_q) begin
          commit_pend_d = commit_i;
          op_host_d = 1'b1;  // busy_o stays high until the entry is written
          op_idx_d = host_idx_i;
          wentry_d = host_wdata_i;
          st_d = S_COMMIT;
        end else if (read_pend_q) begin
          read_pend_d = read_i;
          op_host_d = 1'b1;
          op_idx_d = host_idx_i;
          st_d = S_READ;
        end else if (scan_on_i) begin
          op_host_d = 1'b0;
          op_idx_d = pos_q;
          st_d = S_READ;
        end
      end
      S_COMMIT: begin
        // op_idx_q/wentry_q are set: read the old entry first (its data arrives next cycle).
        dn_en = 1'b1;
        op_host_d = 1'b1;
        st_d = S_COMMIT_WR;
      end
      S_COMMIT_WR: begin
        // The old entry is in dn_rdata: write both copies and, for a new installation, the
        // scanner state.
        up_we = 1'b1;
        dn_en = 1'b1;
        dn_we = 1'b1;
        sc_we = !e_valid || e_gen != wentry_q[GenLsb +: 8];
        op_host_d = 1'b0;
        st_d = S_IDLE;
      end
      S_READ: begin
        dn_en = 1'b1;
        sc_rd = 1'b1;
        snap_ul_d = 1'b1;
        snap_dl_d = 1'b1;
        have_ul_d = 1'b0;
        have_dl_d = 1'b0;
        st_d = S_WAIT;
      end
      S_WAIT: begin
        if (have_ul_q && have_dl_q) st_d = S_EVAL;
      end
      S_EVAL: begin
        if (op_host_q) begin
          rd_entry_d = dn_rdata;
          rd_ul_pkts_d = e_ul_pkts;
          rd_ul_bytes_d = e_ul_bytes;
          rd_dl_pkts_d = e_dl_pkts;
          rd_dl_bytes_d = e_dl_bytes;
          rd_last_d = e_last;
          rd_flags_d = {e_final, e_flags};
          op_host_d = 1'b0;
          st_d = S_IDLE;
        end else begin
          rec_d = '0;
          rec_d[gate_regs_pkg::EXPORT_RECORD_REASON_LSB +: 8] = e_reason;
          rec_d[gate_regs_pkg::EXPORT_RECORD_FLAGS_LSB +: 8] = {6'd0, e_flags};
          rec_d[gate_regs_pkg::EXPORT_RECORD_PORT_LSB +: 16] = 16'(op_idx_q[PortsLog2-1:0]);
          rec_d[gate_regs_pkg::EXPORT_RECORD_ADDR_INDEX_LSB +: 8] = 8'(op_idx_q >> PortsLog2);
          rec_d[gate_regs_pkg::EXPORT_RECORD_GEN_LSB +: 8] = e_gen;
          rec_d[gate_regs_pkg::EXPORT_RECORD_LAST_SEEN_LSB +: 32] = e_last;
          rec_d[gate_regs_pkg::EXPORT_RECORD_NOW_LSB +: 32] = tick_i;
          rec_d[gate_regs_pkg::EXPORT_RECORD_UL_PKTS_LSB +: 64] = e_ul_pkts;
          rec_d[gate_regs_pkg::EXPORT_RECORD_UL_BYTES_LSB +: 64] = e_ul_bytes;
          rec_d[gate_regs_pkg::EXPORT_RECORD_DL_PKTS_LSB +: 64] = e_dl_pkts;
          rec_d[gate_regs_pkg::EXPORT_RECORD_DL_BYTES_LSB +: 64] = e_dl_bytes;
          if (e_reason != 8'(gate_regs_pkg::EXPORT_REASON_NONE)) begin
            st_d = S_EXPORT;
          end else begin
            pos_d = pos_q + IdxW'(1);
            pass_d = (pos_q == IdxW'(Depth - 1));
            st_d = S_IDLE;
          end
        end
      end
      S_EXPORT: begin
        if (commit_pend_q || read_pend_q) begin
          st_d = S_IDLE;  // withdrawn; the entry is visited again
        end else begin
          exp_valid_o = 1'b1;
          if (exp_ready_i) begin
            sc_we = 1'b1;
            sc_wdata = {e_installed, tick_i,
                        rec_q[gate_regs_pkg::EXPORT_RECORD_REASON_LSB +: 8] !=
                        8'(gate_regs_pkg::EXPORT_REASON_INTERIM)};
            pos_d = pos_q + IdxW'(1);
            pass_d = (pos_q == IdxW'(Depth - 1));
            st_d = S_IDLE;
          end
        end
      end
      default: st_d = S_IDLE;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      st_q <= S_IDLE;
      commit_pend_q <= 1'b0;
      read_pend_q <= 1'b0;
      op_host_q <= 1'b0;
      pos_q <= '0;
      snap_ul_q <= 1'b0;
      snap_dl_q <= 1'b0;
      have_ul_q <= 1'b0;
      have_dl_q <= 1'b0;
      scan_pass_o <= 1'b0;
    end else begin
      st_q <= st_d;
      commit_pend_q <= commit_pend_d;
      read_pend_q <= read_pend_d;
      op_host_q <= op_host_d;
      pos_q <= pos_d;
      snap_ul_q <= snap_ul_d;
      snap_dl_q <= snap_dl_d;
      have_ul_q <= have_ul_d;
      have_dl_q <= have_dl_d;
      scan_pass_o <= pass_d;
    end
  end

  always_ff @(posedge clk_i) begin
    op_idx_q <= op_idx_d;
    wentry_q <= wentry_d;
    rec_q <= rec_d;
    if (sv_ul) rec_ul_q <= rec_ul;
    if (sv_dl) rec_dl_q <= rec_dl;
    rd_entry_o <= rd_entry_d;
    rd_ul_pkts_o <= rd_ul_pkts_d;
    rd_ul_bytes_o <= rd_ul_bytes_d;
    rd_dl_pkts_o <= rd_dl_pkts_d;
    rd_dl_bytes_o <= rd_dl_bytes_d;
    rd_last_o <= rd_last_d;
    rd_flags_o <= rd_flags_d;
  end

  assign busy_o = commit_pend_q || read_pend_q || op_host_q;
  assign scan_pos_o = pos_q;
  assign exp_data_o = rec_q;
endmodule : port_table
`default_nettype wire
