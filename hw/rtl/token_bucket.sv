// Token bucket in frames: rate_i tokens are added every cycle (unsigned 8.24 fixed point),
// up to burst_i whole tokens. `ok_o[k]` says at least k+1 whole tokens are there; each bit of
// take_i spends one token, at most as many in a cycle as there are whole tokens (a take the
// bucket cannot cover is ignored). Takes > 1 serves several takers in one cycle: the gate's
// two directions share one bucket, a taker that may meet another in the same cycle asks for
// ok_o[1].
`default_nettype none
module token_bucket #(
  parameter int Takes = 1
) (
  input  wire logic             clk_i,
  input  wire logic             rst_ni,
  input  wire logic [31:0]      rate_i,
  input  wire logic [15:0]      burst_i,
  input  wire logic [Takes-1:0] take_i,
  output logic      [Takes-1:0] ok_o
);
  if (Takes < 1 || Takes > 2) begin : gen_bad_params
    $error("token_bucket: Takes must be 1 or 2");
  end

  localparam logic [39:0] ONE = 40'd1 << 24;
  logic [39:0] tokens_q, tokens_d;
  logic [40:0] sum;
  logic [40:0] cap;
  logic [1:0] n;  // tokens spent this cycle

  always_comb begin
    n = 2'd0;
    for (int k = 0; k < Takes; k++) n = n + {1'b0, take_i[k]};
    if (!ok_o[0]) n = 2'd0;
    else if (Takes > 1 && !ok_o[Takes-1] && n > 2'd1) n = 2'd1;
    cap = {1'b0, burst_i, 24'd0};
    sum = {1'b0, tokens_q} + {9'd0, rate_i};
    if (n != 2'd0) sum = sum - {1'b0, ONE};
    if (n == 2'd2) sum = sum - {1'b0, ONE};
    tokens_d = (sum > cap) ? cap[39:0] : sum[39:0];
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) tokens_q <= '0;
    else tokens_q <= tokens_d;
  end

  for (genvar k = 0; k < Takes; k++) begin : gen_ok
    assign ok_o[k] = (tokens_q >= (ONE << k));  // k + 1 tokens (Takes is at most 2)
  end
endmodule : token_bucket
`default_nettype wire
