// Token bucket in frames: rate_i tokens are added every cycle (unsigned 8.24 fixed point),
// up to burst_i whole tokens. `ok_o` says a whole token is there; take_i spends one.
`default_nettype none
module token_bucket (
  input  wire logic        clk_i,
  input  wire logic        rst_ni,
  input  wire logic [31:0] rate_i,
  input  wire logic [15:0] burst_i,
  input  wire logic        take_i,
  output logic             ok_o
);
  localparam logic [39:0] ONE = 40'd1 << 24;
  logic [39:0] tokens_q, tokens_d;
  logic [40:0] sum;
  logic [40:0] cap;

  always_comb begin
    cap = {1'b0, burst_i, 24'd0};
    sum = {1'b0, tokens_q} + {9'd0, rate_i};
    if (take_i && ok_o) sum = sum - {1'b0, ONE};
    tokens_d = (sum > cap) ? cap[39:0] : sum[39:0];
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) tokens_q <= '0;
    else tokens_q <= tokens_d;
  end

  assign ok_o = (tokens_q >= ONE);
endmodule : token_bucket
`default_nettype wire
