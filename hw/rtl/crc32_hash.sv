// CRC-32 of a key, as the hash unit of the exact-match tables and the Maglev lookup.
// Reflected CRC (bytes in order, least significant bit first), initial value and final
// complement as in the standard CRC-32 (Poly 0xEDB88320) and CRC-32C (Poly 0x82F63B78).
// Key byte 0 is key_i[8*KeyBytes-1 -: 8] (network order). Latency: one cycle.
`default_nettype none
module crc32_hash #(
  parameter int KeyBytes = 4,
  parameter logic [31:0] Poly = 32'h82f63b78,
  localparam int KeyW = KeyBytes * 8
) (
  input  wire logic            clk_i,
  input  wire logic [KeyW-1:0] key_i,
  output logic      [31:0]     hash_o
);
  if (KeyBytes < 1) begin : gen_bad_params
    $error("crc32_hash: KeyBytes must be at least 1");
  end

  logic [31:0] hash_d;

  always_comb begin
    logic [31:0] crc;
    crc = 32'hffffffff;
    for (int b = 0; b < KeyBytes; b++) begin
      crc = crc ^ {24'd0, key_i[KeyW-1-8*b -: 8]};
      for (int i = 0; i < 8; i++) begin
        crc = crc[0] ? ((crc >> 1) ^ Poly) : (crc >> 1);
      end
    end
    hash_d = ~crc;
  end

  always_ff @(posedge clk_i) begin
    hash_o <= hash_d;
  end
endmodule : crc32_hash
`default_nettype wire
