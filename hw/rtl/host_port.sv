// Host port: punted frames go to a ring in device memory, frames to inject come from another,
// both through an AXI4 master (512-bit, single-beat transfers, up to 16 reads in flight).
//
// Punt: PuntIns inputs (1 or 2), each with its own buffer; input i is the punt slot's INGRESS
// (0 the access port, 1 the service port). The kernel starts a frame on an input only while
// its punt_room_o bit says a whole maximum frame fits behind the one in flight; tready then
// stays high for the whole frame, so the kernel's egress never stalls here. Between frames
// the ring writer takes the next whole frame from the inputs in turn (alternating when both
// have one). A frame is written to slot (PROD mod slots): data from byte 64, then the 64-byte
// header; PUNT_PROD advances only after every write of the slot is acknowledged, so the host
// never reads a partial slot. Ring full or off: the frame is dropped and counted.
// Inject: while INJ_PROD != INJ_CONS and the output buffer has room for a maximum frame, the
// header of slot (CONS mod slots) is read, then the frame's beats; INJ_CONS advances when the
// whole frame is in the buffer. Bad slots (length 0 or too long, unknown port) are skipped
// and counted.
// Export: a 64-byte record offered on s_exp_* is written to slot (EXP_PROD mod slots) of the
// export ring; EXP_PROD advances once the write is acknowledged. While the ring is full or off
// the record waits (s_exp_ready_o low) and EXP_FULL counts it once: nothing is dropped. Kernels
// without a scanner tie s_exp_valid_i low.
// Registers: the HOST block (hw/regs/host_port.toml) at Base in the kernel's window; reads are
// combinational (reg_hit_o says the address is ours), the kernel registers them. Injected
// frames carry their slot's CODE on m_axis_inj_tuser; codes of InjPorts and above are skipped.
`include "rg_pkg.sv"
`include "host_port_regs_pkg.sv"
`default_nettype none
module host_port #(
  parameter int MaxFrameBytes = 9600,
  parameter int FifoLog2 = 9,
  parameter logic [15:0] Base = 16'h0500,
  parameter int InjPorts = 1,
  parameter int PuntIns = 1
) (
  input  wire logic          clk_i,
  input  wire logic          rst_ni,
  input  wire logic [63:0]   timestamp_i,
  // register bus slice
  input  wire logic          reg_wr_i,
  input  wire logic [15:0]   reg_waddr_i,
  input  wire logic [31:0]   reg_wdata_i,
  input  wire logic [15:0]   reg_raddr_i,
  output logic      [31:0]   reg_rdata_o,
  output logic               reg_hit_o,
  // punted frames from the kernel, input i at bits i*W +: W (tuser, read on the first beat:
  // {inner offset, TEID, reason})
  input  wire logic [PuntIns*512-1:0] s_axis_punt_tdata,
  input  wire logic [PuntIns*64-1:0]  s_axis_punt_tkeep,
  input  wire logic [PuntIns-1:0]     s_axis_punt_tlast,
  input  wire logic [PuntIns*48-1:0]  s_axis_punt_tuser,
  input  wire logic [PuntIns-1:0]     s_axis_punt_tvalid,
  output logic      [PuntIns-1:0]     s_axis_punt_tready,
  output logic      [PuntIns-1:0]     punt_room_o,  // a whole further frame fits after this one
  // frames to inject, to the kernel's egress
  output logic      [511:0]  m_axis_inj_tdata,
  output logic      [63:0]   m_axis_inj_tkeep,
  output logic               m_axis_inj_tlast,
  output logic      [7:0]    m_axis_inj_tuser,
  output logic               m_axis_inj_tvalid,
  output logic               inj_whole_o,   // a whole frame waits: it streams with no gaps
  input  wire logic          m_axis_inj_tready,
  // export records (one beat each)
  input  wire logic [511:0]  s_exp_data_i,
  input  wire logic          s_exp_valid_i,
  output logic               s_exp_ready_o,
  // AXI4 master to device memory
  output logic      [63:0]   m_axi_awaddr,
  output logic      [7:0]    m_axi_awlen,
  output logic      [2:0]    m_axi_awsize,
  output logic      [1:0]    m_axi_awburst,
  output logic               m_axi_awvalid,
  input  wire logic          m_axi_awready,
  output logic      [511:0]  m_axi_wdata,
  output logic      [63:0]   m_axi_wstrb,
  output logic               m_axi_wlast,
  output logic               m_axi_wvalid,
  input  wire logic          m_axi_wready,
  input  wire logic [1:0]    m_axi_bresp,
  input  wire logic          m_axi_bvalid,
  output logic               m_axi_bready,
  output logic      [63:0]   m_axi_araddr,
  output logic      [7:0]    m_axi_arlen,
  output logic      [2:0]    m_axi_arsize,
  output logic      [1:0]    m_axi_arburst,
  output logic               m_axi_arvalid,
  input  wire logic          m_axi_arready,
  input  wire logic [511:0]  m_axi_rdata,
  input  wire logic [1:0]    m_axi_rresp,
  input  wire logic          m_axi_rlast,
  input  wire logic          m_axi_rvalid,
  output logic               m_axi_rready
);
  localparam int MaxBeats = (MaxFrameBytes + 63) / 64;
  localparam int Depth = 1 << FifoLog2;
  localparam int LevelW = FifoLog2 + 2;
  if (Depth < 2 * MaxBeats + 8) begin : gen_bad_fifo
    $error("host_port: FifoLog2 too small for MaxFrameBytes");
  end
  if (Base[7:0] != 8'd0 || InjPorts < 1 || InjPorts > 255 || PuntIns < 1 || PuntIns > 2) begin : gen_bad_base
    $error("host_port: Base must be 256-byte aligned, InjPorts 1..255, PuntIns 1 or 2");
  end

  // Addresses inside the block.
  logic [15:0] waddr, raddr;
  logic wsel;
  assign waddr = {8'd0, reg_waddr_i[7:0]};
  assign raddr = {8'd0, reg_raddr_i[7:0]};
  assign wsel = reg_wr_i && (reg_waddr_i[15:8] == Base[15:8]);

  // ---- registers -------------------------------------------------------------------------
  logic [2:0] ctrl_q;  // bit 0 punt ring on, bit 1 inject ring on, bit 2 export ring on
  logic [63:0] exp_base_q;
  logic [4:0] exp_slots_log2_q;
  logic [31:0] exp_prod_q, exp_cons_q, exp_full_q;
  logic exp_prod_inc, exp_full_inc;
  logic [4:0] slot_log2_q;
  logic [63:0] punt_base_q, inj_base_q;
  logic [4:0] punt_slots_log2_q, inj_slots_log2_q;
  logic [31:0] punt_prod_q, punt_cons_q, punt_drops_q;
  logic [31:0] inj_prod_q, inj_cons_q, inj_frames_q, inj_errors_q;
  logic punt_prod_inc, punt_drop_inc, inj_cons_inc, inj_frame_inc, inj_error_inc;
  logic [4:0] slot_log2;  // clamped to 14..16 (a register)

  // Ring geometry as masks, registered from the configuration (which the host writes while
  // a ring is off), so slot addresses and room checks are an AND, a shift and an add.
  logic [31:0] punt_mask_q, inj_mask_q, exp_mask_q;
  logic [4:0] slot_log2_d;
  assign slot_log2_d = (slot_log2_q < 5'd14) ? 5'd14 : ((slot_log2_q > 5'd16) ? 5'd16 : slot_log2_q);
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      slot_log2 <= 5'd14;
      punt_mask_q <= '0;
      inj_mask_q <= '0;
      exp_mask_q <= '0;
    end else begin
      slot_log2 <= slot_log2_d;
      punt_mask_q <= (32'd1 << punt_slots_log2_q) - 32'd1;
      inj_mask_q <= (32'd1 << inj_slots_log2_q) - 32'd1;
      exp_mask_q <= (32'd1 << exp_slots_log2_q) - 32'd1;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ctrl_q <= '0;
      slot_log2_q <= 5'd14;
      punt_base_q <= '0;
      inj_base_q <= '0;
      punt_slots_log2_q <= '0;
      inj_slots_log2_q <= '0;
      punt_prod_q <= '0;
      punt_cons_q <= '0;
      punt_drops_q <= '0;
      inj_prod_q <= '0;
      inj_cons_q <= '0;
      inj_frames_q <= '0;
      inj_errors_q <= '0;
      exp_base_q <= '0;
      exp_slots_log2_q <= '0;
      exp_prod_q <= '0;
      exp_cons_q <= '0;
      exp_full_q <= '0;
    end else begin
      if (wsel) begin
        case (waddr)
          host_port_regs_pkg::HOST_CTRL: begin
            ctrl_q[0] <= reg_wdata_i[host_port_regs_pkg::HOST_CTRL_PUNT_ON_LSB];
            ctrl_q[1] <= reg_wdata_i[host_port_regs_pkg::HOST_CTRL_INJECT_ON_LSB];
            ctrl_q[2] <= reg_wdata_i[host_port_regs_pkg::HOST_CTRL_EXPORT_ON_LSB];
          end
          host_port_regs_pkg::HOST_EXP_BASE_LO: exp_base_q[31:0] <= reg_wdata_i;
          host_port_regs_pkg::HOST_EXP_BASE_HI: exp_base_q[63:32] <= reg_wdata_i;
          host_port_regs_pkg::HOST_EXP_SLOTS_LOG2:
            exp_slots_log2_q <= (reg_wdata_i[4:0] > 5'd20) ? 5'd20 : reg_wdata_i[4:0];
          host_port_regs_pkg::HOST_EXP_CONS: exp_cons_q <= reg_wdata_i;
          host_port_regs_pkg::HOST_SLOT_LOG2: slot_log2_q <= reg_wdata_i[4:0];
          host_port_regs_pkg::HOST_PUNT_BASE_LO: punt_base_q[31:0] <= reg_wdata_i;
          host_port_regs_pkg::HOST_PUNT_BASE_HI: punt_base_q[63:32] <= reg_wdata_i;
          host_port_regs_pkg::HOST_PUNT_SLOTS_LOG2:
            punt_slots_log2_q <= (reg_wdata_i[4:0] > 5'd16) ? 5'd16 : reg_wdata_i[4:0];
          host_port_regs_pkg::HOST_PUNT_CONS: punt_cons_q <= reg_wdata_i;
          host_port_regs_pkg::HOST_INJ_BASE_LO: inj_base_q[31:0] <= reg_wdata_i;
          host_port_regs_pkg::HOST_INJ_BASE_HI: inj_base_q[63:32] <= reg_wdata_i;
          host_port_regs_pkg::HOST_INJ_SLOTS_LOG2:
            inj_slots_log2_q <= (reg_wdata_i[4:0] > 5'd16) ? 5'd16 : reg_wdata_i[4:0];
          host_port_regs_pkg::HOST_INJ_PROD: inj_prod_q <= reg_wdata_i;
          default: ;
        endcase
      end
      if (punt_prod_inc) punt_prod_q <= punt_prod_q + 32'd1;
      if (punt_drop_inc) punt_drops_q <= punt_drops_q + 32'd1;
      if (inj_cons_inc) inj_cons_q <= inj_cons_q + 32'd1;
      if (inj_frame_inc) inj_frames_q <= inj_frames_q + 32'd1;
      if (inj_error_inc) inj_errors_q <= inj_errors_q + 32'd1;
      if (exp_prod_inc) exp_prod_q <= exp_prod_q + 32'd1;
      if (exp_full_inc) exp_full_q <= exp_full_q + 32'd1;
    end
  end

  always_comb begin
    reg_hit_o = 1'b1;
    case (raddr)
      host_port_regs_pkg::HOST_ID: reg_rdata_o = host_port_regs_pkg::HOST_ID_VALUE;
      host_port_regs_pkg::HOST_VERSION: reg_rdata_o = host_port_regs_pkg::HOST_VERSION_VALUE;
      host_port_regs_pkg::HOST_CTRL:
        reg_rdata_o = (32'(ctrl_q[0]) << host_port_regs_pkg::HOST_CTRL_PUNT_ON_LSB) |
                      (32'(ctrl_q[1]) << host_port_regs_pkg::HOST_CTRL_INJECT_ON_LSB) |
                      (32'(ctrl_q[2]) << host_port_regs_pkg::HOST_CTRL_EXPORT_ON_LSB);
      host_port_regs_pkg::HOST_SLOT_LOG2: reg_rdata_o = {27'd0, slot_log2};
      host_port_regs_pkg::HOST_PUNT_BASE_LO: reg_rdata_o = punt_base_q[31:0];
      host_port_regs_pkg::HOST_PUNT_BASE_HI: reg_rdata_o = punt_base_q[63:32];
      host_port_regs_pkg::HOST_PUNT_SLOTS_LOG2: reg_rdata_o = {27'd0, punt_slots_log2_q};
      host_port_regs_pkg::HOST_PUNT_PROD: reg_rdata_o = punt_prod_q;
      host_port_regs_pkg::HOST_PUNT_CONS: reg_rdata_o = punt_cons_q;
      host_port_regs_pkg::HOST_PUNT_DROPS: reg_rdata_o = punt_drops_q;
      host_port_regs_pkg::HOST_INJ_BASE_LO: reg_rdata_o = inj_base_q[31:0];
      host_port_regs_pkg::HOST_INJ_BASE_HI: reg_rdata_o = inj_base_q[63:32];
      host_port_regs_pkg::HOST_INJ_SLOTS_LOG2: reg_rdata_o = {27'd0, inj_slots_log2_q};
      host_port_regs_pkg::HOST_INJ_PROD: reg_rdata_o = inj_prod_q;
      host_port_regs_pkg::HOST_INJ_CONS: reg_rdata_o = inj_cons_q;
      host_port_regs_pkg::HOST_INJ_FRAMES: reg_rdata_o = inj_frames_q;
      host_port_regs_pkg::HOST_INJ_ERRORS: reg_rdata_o = inj_errors_q;
      host_port_regs_pkg::HOST_EXP_BASE_LO: reg_rdata_o = exp_base_q[31:0];
      host_port_regs_pkg::HOST_EXP_BASE_HI: reg_rdata_o = exp_base_q[63:32];
      host_port_regs_pkg::HOST_EXP_SLOTS_LOG2: reg_rdata_o = {27'd0, exp_slots_log2_q};
      host_port_regs_pkg::HOST_EXP_PROD: reg_rdata_o = exp_prod_q;
      host_port_regs_pkg::HOST_EXP_CONS: reg_rdata_o = exp_cons_q;
      host_port_regs_pkg::HOST_EXP_FULL: reg_rdata_o = exp_full_q;
      default: begin
        reg_rdata_o = 32'd0;
        reg_hit_o = 1'b0;
      end
    endcase
    if (reg_raddr_i[15:8] != Base[15:8]) begin
      reg_rdata_o = 32'd0;
      reg_hit_o = 1'b0;
    end
  end

  // ---- punt: input buffers ---------------------------------------------------------------
  localparam int PinW = 512 + 64 + 1 + 48;
  logic [PuntIns-1:0] pin_push, pin_pop, pin_valid;
  logic [PuntIns*PinW-1:0] pin_rdata;
  logic [511:0] p_data;
  logic [63:0] p_keep;
  logic p_last, p_valid;
  logic [47:0] p_user;
  logic p_sel;  // the input the writer reads: the one it picks when idle, else its frame's

  for (genvar i = 0; i < PuntIns; i++) begin : gen_pin
    logic in_frame_q, pin_ok_q, punt_room_q;
    logic [LevelW-1:0] pin_level;
    // Room for a whole frame, from the level of the cycle before (+2 spare).
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) pin_ok_q <= 1'b0;
      else pin_ok_q <= (pin_level < LevelW'(Depth - MaxBeats - 6));
    end
    assign s_axis_punt_tready[i] = in_frame_q || pin_ok_q;
    // Registered (the level of the cycle before, which a push raises by at most one), so the
    // kernel's egress decision does not wait for the FIFO's subtract and compare.
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) punt_room_q <= 1'b0;
      else punt_room_q <= (pin_level < LevelW'(Depth - 2 * MaxBeats - 6));
    end
    assign punt_room_o[i] = punt_room_q;
    assign pin_push[i] = s_axis_punt_tvalid[i] && s_axis_punt_tready[i];

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) in_frame_q <= 1'b0;
      else if (pin_push[i]) in_frame_q <= !s_axis_punt_tlast[i];
    end

    sync_fifo #(.Width(PinW), .DepthLog2(FifoLog2)) u_pin (
      .clk_i, .rst_ni,
      .push_i (pin_push[i]),
      .wdata_i({s_axis_punt_tuser[48*i +: 48], s_axis_punt_tlast[i], s_axis_punt_tkeep[64*i +: 64],
                s_axis_punt_tdata[512*i +: 512]}),
      .pop_i  (pin_pop[i]),
      .valid_o(pin_valid[i]),
      .rdata_o(pin_rdata[PinW*i +: PinW]),
      .level_o(pin_level)
    );
  end


  // ---- punt: ring writer -----------------------------------------------------------------
  typedef enum logic [2:0] {W_IDLE, W_DATA, W_HDR, W_WAIT, W_DROP, W_EXP_WAIT} wstate_e;
  wstate_e ws_q, ws_d;
  logic p_pop;

  // The writer's input: between frames the last input when it alone has a frame or it is its
  // turn (the other input had the frame before), else input 0; during a frame, that frame's.
  logic wsrc_q, wsrc_d, wlast_q, wlast_d, pick;
  if (PuntIns > 1) begin : gen_two
    assign pick = pin_valid[PuntIns-1] && (!pin_valid[0] || !wlast_q);
    assign p_sel = (ws_q == W_IDLE) ? pick : wsrc_q;
    assign {p_user, p_last, p_keep, p_data} = p_sel ? pin_rdata[PinW*(PuntIns-1) +: PinW] : pin_rdata[0 +: PinW];
    assign p_valid = p_sel ? pin_valid[PuntIns-1] : pin_valid[0];
    assign pin_pop = {p_pop && p_sel, p_pop && !p_sel};
  end else begin : gen_one
    assign pick = 1'b0;
    assign p_sel = 1'b0;
    assign {p_user, p_last, p_keep, p_data} = pin_rdata[0 +: PinW];
    assign p_valid = pin_valid[0];
    assign pin_pop = p_pop;
    logic unused_turn;
    assign unused_turn = wlast_q | pick;
  end
  logic [63:0] slot_q, slot_d;
  logic [15:0] wbeat_q, wbeat_d, wlen_q, wlen_d;
  logic [47:0] wreason_q, wreason_d;  // {inner offset, TEID, reason} of the frame
  logic [63:0] wts_q, wts_d;
  logic [5:0] b_out_q, b_out_d;   // writes awaiting their response
  logic aw_free, w_free, issue;
  logic [63:0] issue_addr;
  logic [511:0] issue_data;
  logic [63:0] issue_strb;
  logic [31:0] punt_used;
  logic [63:0] punt_slot_off;

  assign aw_free = !m_axi_awvalid || m_axi_awready;
  assign w_free = !m_axi_wvalid || m_axi_wready;
  assign m_axi_bready = 1'b1;
  assign punt_used = punt_prod_q - punt_cons_q;
  assign punt_slot_off = {32'd0, punt_prod_q & punt_mask_q} << slot_log2;

  // Export: a record is written between punted frames, ahead of the next one.
  logic exp_room, exp_waiting_q;
  logic [63:0] exp_slot_addr;
  assign exp_room = ctrl_q[2] && ((exp_prod_q - exp_cons_q) & ~exp_mask_q) == 32'd0;
  assign exp_slot_addr = exp_base_q + ({32'd0, exp_prod_q & exp_mask_q} << 6);
  assign s_exp_ready_o = (ws_q == W_IDLE) && exp_room && aw_free && w_free;
  assign exp_full_inc = s_exp_valid_i && !exp_room && !exp_waiting_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) exp_waiting_q <= 1'b0;
    else if (s_exp_valid_i && s_exp_ready_o) exp_waiting_q <= 1'b0;
    else if (exp_full_inc) exp_waiting_q <= 1'b1;  // counted once until written
  end

  always_comb begin
    ws_d = ws_q;
    slot_d = slot_q;
    wbeat_d = wbeat_q;
    wlen_d = wlen_q;
    wreason_d = wreason_q;
    wts_d = wts_q;
    wsrc_d = wsrc_q;
    wlast_d = wlast_q;
    p_pop = 1'b0;
    issue = 1'b0;
    issue_addr = slot_q + 64'(host_port_regs_pkg::RING_SLOT_BYTES) + {42'd0, wbeat_q, 6'd0};
    issue_data = p_data;
    issue_strb = p_keep;
    punt_prod_inc = 1'b0;
    punt_drop_inc = 1'b0;
    exp_prod_inc = 1'b0;
    case (ws_q)
      W_IDLE: begin
        if (s_exp_valid_i && s_exp_ready_o) begin
          issue = 1'b1;
          issue_addr = exp_slot_addr;
          issue_data = s_exp_data_i;
          issue_strb = '1;
          ws_d = W_EXP_WAIT;
        end else if (p_valid) begin
          wsrc_d = p_sel;
          wlast_d = p_sel;
          wreason_d = p_user;
          wts_d = timestamp_i;
          wbeat_d = 16'd0;
          wlen_d = 16'd0;
          slot_d = punt_base_q + punt_slot_off;
          if (ctrl_q[0] && (punt_used & ~punt_mask_q) == 32'd0) begin
            ws_d = W_DATA;
          end else begin
            ws_d = W_DROP;
            punt_drop_inc = 1'b1;
          end
        end
      end
      W_DATA: begin
        if (p_valid && aw_free && w_free) begin
          issue = 1'b1;
          p_pop = 1'b1;
          wbeat_d = wbeat_q + 16'd1;
          wlen_d = wlen_q + {9'd0, rg_pkg::keep_bytes(p_keep)};
          if (p_last) ws_d = W_HDR;
        end
      end
      W_HDR: begin
        issue_addr = slot_q;
        issue_data = '0;
        issue_data[host_port_regs_pkg::RING_SLOT_LENGTH_LSB +: 16] = wlen_q;
        issue_data[host_port_regs_pkg::RING_SLOT_CODE_LSB +: 8] = wreason_q[7:0];
        issue_data[host_port_regs_pkg::RING_SLOT_TEID_LSB +: 32] = wreason_q[39:8];
        issue_data[host_port_regs_pkg::RING_SLOT_INNER_OFFSET_LSB +: 8] = wreason_q[47:40];
        issue_data[host_port_regs_pkg::RING_SLOT_INGRESS_LSB +: 8] = {7'd0, wsrc_q};  // the input
        issue_data[host_port_regs_pkg::RING_SLOT_TIMESTAMP_LSB +: 64] = wts_q;
        issue_strb = '1;  // the whole 64-byte header
        if (aw_free && w_free) begin
          issue = 1'b1;
          ws_d = W_WAIT;
        end
      end
      W_WAIT: begin
        if (b_out_q == 6'd0 && !m_axi_awvalid && !m_axi_wvalid) begin
          punt_prod_inc = 1'b1;
          ws_d = W_IDLE;
        end
      end
      W_EXP_WAIT: begin
        if (b_out_q == 6'd0 && !m_axi_awvalid && !m_axi_wvalid) begin
          exp_prod_inc = 1'b1;
          ws_d = W_IDLE;
        end
      end
      W_DROP: begin
        if (p_valid) begin
          p_pop = 1'b1;
          if (p_last) ws_d = W_IDLE;
        end
      end
      default: ws_d = W_IDLE;
    endcase
    b_out_d = b_out_q + {5'd0, m_axi_awvalid && m_axi_awready} - {5'd0, m_axi_bvalid};
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ws_q <= W_IDLE;
      wsrc_q <= 1'b0;
      wlast_q <= 1'b0;
      b_out_q <= '0;
      m_axi_awvalid <= 1'b0;
      m_axi_wvalid <= 1'b0;
    end else begin
      ws_q <= ws_d;
      wsrc_q <= wsrc_d;
      wlast_q <= wlast_d;
      b_out_q <= b_out_d;
      if (issue) begin
        m_axi_awvalid <= 1'b1;
        m_axi_wvalid <= 1'b1;
      end else begin
        if (m_axi_awready) m_axi_awvalid <= 1'b0;
        if (m_axi_wready) m_axi_wvalid <= 1'b0;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    slot_q <= slot_d;
    wbeat_q <= wbeat_d;
    wlen_q <= wlen_d;
    wreason_q <= wreason_d;
    wts_q <= wts_d;
    if (issue) begin
      m_axi_awaddr <= issue_addr;
      m_axi_wdata <= issue_data;
      m_axi_wstrb <= issue_strb;
    end
  end
  assign m_axi_awlen = 8'd0;
  assign m_axi_awsize = 3'd6;
  assign m_axi_awburst = 2'b01;
  assign m_axi_wlast = 1'b1;

  // ---- inject: ring reader ---------------------------------------------------------------
  typedef enum logic [1:0] {R_IDLE, R_HDR, R_DATA} rstate_e;
  rstate_e rs_q, rs_d;
  logic [63:0] rslot_q, rslot_d;
  logic [15:0] rlen_q, rlen_d, rissued_q, rissued_d, rgot_q, rgot_d, rbeats_q, rbeats_d;
  logic [4:0] r_out_q, r_out_d;   // reads in flight
  logic ar_free, ar_issue;
  logic [63:0] ar_addr;
  logic pout_push, pout_valid;
  logic [8+512+64:0] pout_wdata, pout_rdata;
  logic [7:0] rport_q, rport_d;
  logic [LevelW-1:0] pout_level;
  logic [63:0] inj_slot_off;
  logic [15:0] left;
  logic [1:0] unused_resp;
  logic [15:0] hdr_len;
  logic [7:0] hdr_port;
  assign hdr_len = m_axi_rdata[host_port_regs_pkg::RING_SLOT_LENGTH_LSB +: 16];
  assign hdr_port = m_axi_rdata[host_port_regs_pkg::RING_SLOT_CODE_LSB +: 8];

  assign ar_free = !m_axi_arvalid || m_axi_arready;
  assign m_axi_rready = 1'b1;
  assign inj_slot_off = {32'd0, inj_cons_q & inj_mask_q} << slot_log2;
  assign unused_resp = m_axi_bresp | m_axi_rresp | {1'b0, m_axi_rlast};

  always_comb begin
    rs_d = rs_q;
    rslot_d = rslot_q;
    rlen_d = rlen_q;
    rissued_d = rissued_q;
    rgot_d = rgot_q;
    rbeats_d = rbeats_q;
    ar_issue = 1'b0;
    ar_addr = rslot_q + 64'(host_port_regs_pkg::RING_SLOT_BYTES) + {42'd0, rissued_q, 6'd0};
    pout_push = 1'b0;
    left = rlen_q - {rgot_q[9:0], 6'd0};
    rport_d = rport_q;
    pout_wdata = {rport_q, rgot_q + 16'd1 == rbeats_q,
                  (left >= 16'd64) ? 64'hffff_ffff_ffff_ffff : ((64'd1 << left[5:0]) - 64'd1),
                  m_axi_rdata};
    inj_cons_inc = 1'b0;
    inj_frame_inc = 1'b0;
    inj_error_inc = 1'b0;
    case (rs_q)
      R_IDLE: begin
        if (ctrl_q[1] && inj_prod_q != inj_cons_q && r_out_q == 5'd0 &&
            pout_level < LevelW'(Depth - MaxBeats - 4) && ar_free) begin
          rslot_d = inj_base_q + inj_slot_off;
          ar_addr = inj_base_q + inj_slot_off;
          ar_issue = 1'b1;
          rs_d = R_HDR;
        end
      end
      R_HDR: begin
        if (m_axi_rvalid) begin
          rlen_d = hdr_len;
          rport_d = hdr_port;
          rbeats_d = (hdr_len + 16'd63) >> 6;
          rissued_d = 16'd0;
          rgot_d = 16'd0;
          if (hdr_len == 16'd0 || hdr_len > 16'(MaxFrameBytes) || hdr_port >= 8'(InjPorts)) begin
            inj_error_inc = 1'b1;
            inj_cons_inc = 1'b1;
            rs_d = R_IDLE;
          end else begin
            rs_d = R_DATA;
          end
        end
      end
      R_DATA: begin
        if (rissued_q < rbeats_q && r_out_q < 5'd16 && ar_free) begin
          ar_issue = 1'b1;
          rissued_d = rissued_q + 16'd1;
        end
        if (m_axi_rvalid) begin
          pout_push = 1'b1;
          rgot_d = rgot_q + 16'd1;
          if (rgot_q + 16'd1 == rbeats_q) begin
            inj_cons_inc = 1'b1;
            inj_frame_inc = 1'b1;
            rs_d = R_IDLE;
          end
        end
      end
      default: rs_d = R_IDLE;
    endcase
    r_out_d = r_out_q + {4'd0, m_axi_arvalid && m_axi_arready} - {4'd0, m_axi_rvalid};
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rs_q <= R_IDLE;
      r_out_q <= '0;
      m_axi_arvalid <= 1'b0;
    end else begin
      rs_q <= rs_d;
      r_out_q <= r_out_d;
      if (ar_issue) m_axi_arvalid <= 1'b1;
      else if (m_axi_arready) m_axi_arvalid <= 1'b0;
    end
  end

  always_ff @(posedge clk_i) begin
    rslot_q <= rslot_d;
    rlen_q <= rlen_d;
    rissued_q <= rissued_d;
    rgot_q <= rgot_d;
    rbeats_q <= rbeats_d;
    rport_q <= rport_d;
    if (ar_issue) m_axi_araddr <= ar_addr;
  end
  assign m_axi_arlen = 8'd0;
  assign m_axi_arsize = 3'd6;
  assign m_axi_arburst = 2'b01;

  sync_fifo #(.Width(8 + 512 + 64 + 1), .DepthLog2(FifoLog2)) u_pout (
    .clk_i, .rst_ni,
    .push_i (pout_push),
    .wdata_i(pout_wdata),
    .pop_i  (m_axis_inj_tvalid && m_axis_inj_tready),
    .valid_o(pout_valid),
    .rdata_o(pout_rdata),
    .level_o(pout_level)
  );
  assign m_axis_inj_tvalid = pout_valid;

  // Whole frames in the inject buffer. A frame counts once its last beat has been in the
  // buffer for the FIFO's push-to-valid latency (two cycles after the count would first see
  // it), so a consumer that starts it then is never short of a beat: it streams with no gaps,
  // as a MAC's transmit side needs.
  logic [LevelW-1:0] inj_whole_q;
  logic [1:0] inj_last_dly_q;
  logic inj_in_last, inj_out_last;
  assign inj_in_last = pout_push && pout_wdata[512 + 64];
  assign inj_out_last = m_axis_inj_tvalid && m_axis_inj_tready && m_axis_inj_tlast;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      inj_whole_q <= '0;
      inj_last_dly_q <= '0;
    end else begin
      inj_last_dly_q <= {inj_last_dly_q[0], inj_in_last};
      inj_whole_q <= inj_whole_q + LevelW'(inj_last_dly_q[1]) - LevelW'(inj_out_last);
    end
  end
  assign inj_whole_o = inj_whole_q != '0;
  assign {m_axis_inj_tuser, m_axis_inj_tlast, m_axis_inj_tkeep, m_axis_inj_tdata} = pout_rdata;
endmodule : host_port
`default_nettype wire
