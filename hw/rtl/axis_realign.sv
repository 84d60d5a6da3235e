// Header strip/insert realigner on a 512-bit AXI4-Stream: per frame, output = HDR (hdr_len
// bytes, at most 64) followed by the input from byte `skip` on, `data_len` bytes of it, zero
// padded to `out_len` bytes, with up to NPatch 16-bit fields written at even output byte
// positions below 256 (checksums and rewritten addresses). GTP-U decapsulation is a strip
// (skip = inner offset, HDR = a new Ethernet header); encapsulation is an insert (skip = the
// IPv4 offset, HDR = Ethernet/IPv4/UDP/GTP-U). A `drop` frame is consumed with no output.
//
// The shift d = skip - hdr_len is -64..127 bytes; output beat k is bytes [r, r+64) of input
// beats k+q and k+q+1 (d = 64q + r), so each input beat gives at most one output beat and a
// frame may owe one more after its last input beat. That flush goes out in the cycle the next
// frame's first beat is taken whenever that beat gives no output (strips), so a stream of
// strips runs at one input beat per cycle; an insert's flush costs one cycle (the output is
// longer than the input there). Per-frame commands are taken with the frame's first beat.
// Latency: one cycle from the input beat that completes an output beat to that beat.
`default_nettype none
module axis_realign #(
  parameter int NPatch = 10,
  parameter int DestW = 1
) (
  input  wire logic                  clk_i,
  input  wire logic                  rst_ni,
  // per-frame command
  input  wire logic                  cmd_valid_i,
  output logic                       cmd_ready_o,
  input  wire logic [7:0]            cmd_skip_i,
  input  wire logic [6:0]            cmd_hdr_len_i,
  input  wire logic [511:0]          cmd_hdr_i,       // byte i at bits 8*i +: 8
  input  wire logic [15:0]           cmd_data_len_i,
  input  wire logic [15:0]           cmd_out_len_i,   // >= hdr_len + data_len
  input  wire logic                  cmd_drop_i,
  input  wire logic [DestW-1:0]      cmd_dest_i,
  input  wire logic [NPatch*25-1:0]  cmd_patch_i,     // patch p: {en, pos[7:0], value[15:0]}
  // frame in
  input  wire logic [511:0]          s_axis_tdata,
  input  wire logic                  s_axis_tlast,
  input  wire logic                  s_axis_tvalid,
  output logic                       s_axis_tready,
  // frame out
  output logic      [511:0]          m_axis_tdata,
  output logic      [63:0]           m_axis_tkeep,
  output logic                       m_axis_tlast,
  output logic      [DestW-1:0]      m_axis_tdest,
  output logic                       m_axis_tvalid,
  input  wire logic                  m_axis_tready
);
  if (NPatch < 1 || DestW < 1) begin : gen_bad_params
    $error("axis_realign: NPatch and DestW must be at least 1");
  end

  typedef struct packed {
    logic [1:0]            q;        // beat part of the shift, two's complement -1..1
    logic [5:0]            r;        // byte part of the shift
    logic [15:0]           kbeats;   // output beats
    logic [6:0]            hdr_len;
    logic [16:0]           data_end; // hdr_len + data_len
    logic [15:0]           out_len;
    logic                  drop;
    logic [DestW-1:0]      dest;
    logic [NPatch*25-1:0]  patch;
    logic [511:0]          hdr;
  } ctx_t;

  ctx_t cur_q, cur_d, fl_q, fl_d, nctx;
  // The context of the beat being emitted: its shift's beat part and drop flag have been
  // used by then.
  /* verilator lint_off UNUSEDSIGNAL */
  ctx_t ectx;
  /* verilator lint_on UNUSEDSIGNAL */
  logic act_q, act_d, flp_q, flp_d;
  logic [511:0] prev_q, prev_d, fl_prev_q, fl_prev_d;
  logic [15:0] m_q, m_d, fl_k_q, fl_k_d;
  logic out_free, emit;
  logic [511:0] e_lo, e_hi;
  logic [15:0] e_k;

  // The command as a context.
  always_comb begin
    logic [8:0] d;
    d = {1'b0, cmd_skip_i} - {2'b0, cmd_hdr_len_i};
    nctx.q = d[8] ? 2'b11 : (d[7:6] != 2'd0 ? 2'b01 : 2'b00);
    nctx.r = d[5:0];
    nctx.kbeats = (cmd_out_len_i + 16'd63) >> 6;
    nctx.hdr_len = cmd_hdr_len_i;
    nctx.data_end = {10'd0, cmd_hdr_len_i} + {1'b0, cmd_data_len_i};
    nctx.out_len = cmd_out_len_i;
    nctx.drop = cmd_drop_i;
    nctx.dest = cmd_dest_i;
    nctx.patch = cmd_patch_i;
    nctx.hdr = cmd_hdr_i;
  end

  // Signed beat arithmetic on 17 bits.
  function automatic logic [16:0] sq(input logic [1:0] q);
    sq = {{15{q[1]}}, q};
  endfunction

  assign out_free = !m_axis_tvalid || m_axis_tready;

  always_comb begin
    logic [16:0] k, knext;
    logic emit_cur, e0, more;
    act_d = act_q;
    flp_d = flp_q;
    cur_d = cur_q;
    fl_d = fl_q;
    prev_d = prev_q;
    fl_prev_d = fl_prev_q;
    m_d = m_q;
    fl_k_d = fl_k_q;
    s_axis_tready = 1'b0;
    cmd_ready_o = 1'b0;
    emit = 1'b0;
    ectx = cur_q;
    e_lo = prev_q;
    e_hi = s_axis_tdata;
    e_k = 16'd0;
    k = '0;
    knext = '0;
    emit_cur = 1'b0;
    e0 = 1'b0;
    more = 1'b0;
    if (act_q) begin
      k = {1'b0, m_q} - sq(cur_q.q) - 17'd1;
      emit_cur = !cur_q.drop && !k[16] && k[15:0] < cur_q.kbeats;
      if (s_axis_tvalid && (!emit_cur || out_free)) begin
        s_axis_tready = 1'b1;
        emit = emit_cur;
        e_k = k[15:0];
        prev_d = s_axis_tdata;
        m_d = m_q + 16'd1;
        if (s_axis_tlast) begin
          act_d = 1'b0;
          knext = {1'b0, m_q} - sq(cur_q.q);
          // A negative next beat: the frame ended before its data began; all zeros follow.
          if (!cur_q.drop && (knext[16] || knext[15:0] < cur_q.kbeats) && cur_q.kbeats != 16'd0) begin
            flp_d = 1'b1;
            fl_d = cur_q;
            fl_prev_d = knext[16] ? '0 : s_axis_tdata;
            fl_k_d = knext[16] ? 16'd0 : knext[15:0];
          end
        end
      end
    end else begin
      // A new frame's first beat gives output only for inserts (q = -1).
      e0 = !nctx.drop && nctx.q == 2'b11 && nctx.kbeats != 16'd0;
      // Flush beats: the last input beat, then zeros (padding past the input).
      more = fl_k_q + 16'd1 < fl_q.kbeats;
      if (flp_q && out_free) begin
        emit = 1'b1;
        ectx = fl_q;
        e_lo = fl_prev_q;
        e_hi = '0;
        e_k = fl_k_q;
        flp_d = more;
        fl_k_d = fl_k_q + 16'd1;
        fl_prev_d = '0;
      end
      if (cmd_valid_i && s_axis_tvalid &&
          ((flp_q && out_free && !more && !e0) || (!flp_q && (!e0 || out_free)))) begin
        cmd_ready_o = 1'b1;
        s_axis_tready = 1'b1;
        cur_d = nctx;
        prev_d = s_axis_tdata;
        m_d = 16'd1;
        act_d = !s_axis_tlast;
        if (e0) begin
          emit = 1'b1;
          ectx = nctx;
          e_lo = '0;
          e_k = 16'd0;
        end
        if (s_axis_tlast) begin
          knext = 17'd0 - sq(nctx.q);
          if (!nctx.drop && (knext[16] || knext[15:0] < nctx.kbeats) && nctx.kbeats != 16'd0) begin
            flp_d = 1'b1;
            fl_d = nctx;
            fl_prev_d = knext[16] ? '0 : s_axis_tdata;
            fl_k_d = knext[16] ? 16'd0 : knext[15:0];
          end
        end
      end
    end
  end

  // The output beat e_k of context ectx from input beats e_lo, e_hi.
  logic [511:0] o_data;
  logic [63:0] o_keep;
  logic o_last;
  always_comb begin
    logic [1023:0] cat;
    logic [511:0] sh;
    logic [16:0] j;
    logic [24:0] pt;
    cat = {e_hi, e_lo};
    sh = cat[{1'b0, ectx.r, 3'b000} +: 512];
    o_data = sh;
    for (int b = 0; b < 64; b++) begin
      if (e_k == 16'd0 && 7'(b) < ectx.hdr_len) o_data[8*b +: 8] = ectx.hdr[8*b +: 8];
    end
    for (int p = 0; p < NPatch; p++) begin
      pt = ectx.patch[25*p +: 25];
      if (pt[24] && e_k == {14'd0, pt[23:22]}) begin
        o_data[{pt[21:16], 3'b000} +: 8] = pt[15:8];
        o_data[{pt[21:16] + 6'd1, 3'b000} +: 8] = pt[7:0];
      end
    end
    for (int b = 0; b < 64; b++) begin
      j = {e_k[10:0], 6'(b)};
      if (j >= ectx.data_end) o_data[8*b +: 8] = 8'd0;
      o_keep[b] = j < {1'b0, ectx.out_len};
    end
    o_last = (e_k + 16'd1 == ectx.kbeats);
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      act_q <= 1'b0;
      flp_q <= 1'b0;
      m_axis_tvalid <= 1'b0;
    end else begin
      act_q <= act_d;
      flp_q <= flp_d;
      if (emit) m_axis_tvalid <= 1'b1;
      else if (m_axis_tready) m_axis_tvalid <= 1'b0;
    end
  end

  always_ff @(posedge clk_i) begin
    cur_q <= cur_d;
    fl_q <= fl_d;
    prev_q <= prev_d;
    fl_prev_q <= fl_prev_d;
    m_q <= m_d;
    fl_k_q <= fl_k_d;
    if (emit) begin
      m_axis_tdata <= o_data;
      m_axis_tkeep <= o_keep;
      m_axis_tlast <= o_last;
      m_axis_tdest <= ectx.dest;
    end
  end
endmodule : axis_realign
`default_nettype wire
