// Ingress of a MAC receive stream (no tready): admission, the frame buffer, the header window
// and each frame's end information. A frame is admitted whole when it starts, if the data
// buffer has room for a maximum frame and the end and decision buffers have room for an
// entry; otherwise every beat of it is dropped and fifo_full_o marks its first beat. Admitted
// frames go to the data FIFO (beats past the maximum frame are dropped, the last beat always
// kept) and give one header window (axis_hdr_window) and one end entry (length, MAC error,
// oversize). Reads of both FIFOs are first-word-fall-through.
`include "rg_pkg.sv"
`default_nettype none
module frame_ingress #(
  parameter int MaxFrameBytes = 9600,
  parameter int FifoLog2 = 9,
  localparam int LevelW = FifoLog2 + 2
) (
  input  wire logic                     clk_i,
  input  wire logic                     rst_ni,
  input  wire logic [511:0]             s_axis_tdata,
  input  wire logic [63:0]              s_axis_tkeep,
  input  wire logic                     s_axis_tlast,
  input  wire logic                     s_axis_tuser,   // bad frame, on its last beat
  input  wire logic                     s_axis_tvalid,
  input  wire logic [LevelW-1:0]        dec_level_i,    // the decision FIFO's level
  // per received beat, for statistics
  output logic                          sof_o,          // this beat starts a frame
  output logic      [6:0]               beat_bytes_o,
  output logic                          fifo_full_o,    // a frame dropped whole at its start
  // header window
  output logic                          win_valid_o,
  output logic      [rg_pkg::WIN_W-1:0] win_o,
  output logic      [7:0]               win_len_o,
  output logic                          win_end_o,
  // frame buffer
  output logic                          data_valid_o,
  output logic      [512+64:0]          data_o,         // {last, keep, data}
  input  wire logic                     data_pop_i,
  // frame ends
  output logic                          end_valid_o,
  output logic      [15:0]              end_len_o,
  output logic                          end_err_o,
  output logic                          end_oversize_o,
  input  wire logic                     end_pop_i
);
  localparam int MaxBeats = (MaxFrameBytes + 63) / 64;
  if ((1 << FifoLog2) < 2 * MaxBeats + 64) begin : gen_bad_fifo
    $error("frame_ingress: FifoLog2 too small for MaxFrameBytes");
  end

  logic sof_q, sof_d, drop_q, drop_d;
  logic [15:0] beats_q, beats_d, len_q, len_d;
  logic [LevelW-1:0] data_level, end_level;
  logic admit, room_q, room_d, in_frame_ok, data_push, end_push;
  logic [17:0] end_wdata, end_rdata;  // {len, rx_err, oversize}

  assign beat_bytes_o = rg_pkg::keep_bytes(s_axis_tkeep);
  assign sof_o = s_axis_tvalid && sof_q;
  // Room for a whole maximum frame in every buffer, counted when the frame starts. The
  // comparison is registered (levels of the cycle before, which one push can raise by one,
  // hence the two spare entries), so admission adds no depth to the parser's input.
  assign room_d = (data_level < LevelW'((1 << FifoLog2) - MaxBeats - 10)) &&
                  (dec_level_i < LevelW'((1 << FifoLog2) - 10)) &&
                  (end_level < LevelW'((1 << FifoLog2) - 10));
  assign admit = room_q;
  assign in_frame_ok = sof_q ? admit : !drop_q;
  assign data_push = s_axis_tvalid && in_frame_ok && (beats_q < 16'(MaxBeats) || s_axis_tlast);
  assign end_push = s_axis_tvalid && in_frame_ok && s_axis_tlast;
  assign fifo_full_o = s_axis_tvalid && sof_q && !admit;

  always_comb begin
    sof_d = sof_q;
    drop_d = drop_q;
    beats_d = beats_q;
    len_d = len_q;
    if (s_axis_tvalid) begin
      if (sof_q) drop_d = !admit;
      beats_d = (beats_q == 16'hffff) ? beats_q : beats_q + 16'd1;
      len_d = (len_q > 16'hffff - 16'd64) ? 16'hffff : len_q + {9'd0, beat_bytes_o};
      sof_d = s_axis_tlast;
      if (s_axis_tlast) begin
        beats_d = 16'd0;
        len_d = 16'd0;
      end
    end
    end_wdata = {(len_q > 16'hffff - 16'd64) ? 16'hffff : len_q + {9'd0, beat_bytes_o},
                 s_axis_tuser, beats_q >= 16'(MaxBeats)};
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      room_q <= 1'b1;
      sof_q <= 1'b1;
      drop_q <= 1'b0;
      beats_q <= '0;
      len_q <= '0;
    end else begin
      room_q <= room_d;
      sof_q <= sof_d;
      drop_q <= drop_d;
      beats_q <= beats_d;
      len_q <= len_d;
    end
  end

  axis_hdr_window u_window (
    .clk_i, .rst_ni,
    .s_axis_tdata, .s_axis_tkeep, .s_axis_tlast, .s_axis_tvalid,
    .en_i       (in_frame_ok),
    .win_valid_o, .win_o, .win_len_o, .win_end_o
  );

  sync_fifo #(.Width(512 + 64 + 1), .DepthLog2(FifoLog2)) u_data_fifo (
    .clk_i, .rst_ni,
    .push_i (data_push),
    .wdata_i({s_axis_tlast, s_axis_tkeep, s_axis_tdata}),
    .pop_i  (data_pop_i),
    .valid_o(data_valid_o),
    .rdata_o(data_o),
    .level_o(data_level)
  );

  sync_fifo #(.Width(18), .DepthLog2(FifoLog2)) u_end_fifo (
    .clk_i, .rst_ni,
    .push_i (end_push),
    .wdata_i(end_wdata),
    .pop_i  (end_pop_i),
    .valid_o(end_valid_o),
    .rdata_o(end_rdata),
    .level_o(end_level)
  );
  assign {end_len_o, end_err_o, end_oversize_o} = end_rdata;
endmodule : frame_ingress
`default_nettype wire
