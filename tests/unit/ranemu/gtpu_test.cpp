// ranemu's GTP-U: its G-PDUs and Echo messages byte for byte as scapy 2.5 builds the same
// messages (GTP_U_Header, GTPPDUSessionContainer, GTPEchoResponse with IE_Recovery: the hex
// below was printed by scapy), and the parser's fields and refusals.
#include "gtpu.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace roamgate::ranemu {
namespace {

std::vector<uint8_t> hex(const std::string& h) {
  std::vector<uint8_t> b;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    b.push_back(uint8_t(std::stoi(h.substr(i, 2), nullptr, 16)));
  }
  return b;
}

// IP(src="198.19.10.1", dst="198.18.99.1", id=1)/ICMP(id=7, seq=1)
const std::vector<uint8_t> kInner = hex("4500001c00010000400181b8c6130a01c61263010800f7f700070001");

TEST(RanemuGtpu, GpdusAreTheBytesScapyBuilds) {
  EXPECT_EQ(encodeGpdu(0x2001, 9, PduDirection::kUplink, kInner),
            hex("36ff00240000200100000085011009004500001c00010000400181b8c6130a01c6126301"
                "0800f7f700070001"));
  EXPECT_EQ(encodeGpdu(0x1001, 9, PduDirection::kDownlink, kInner),
            hex("36ff00240000100100000085010009004500001c00010000400181b8c6130a01c6126301"
                "0800f7f700070001"));
  EXPECT_EQ(encodeGpdu(0x2002, std::nullopt, PduDirection::kUplink, kInner),
            hex("30ff001c000020024500001c00010000400181b8c6130a01c61263010800f7f700070001"));
}

TEST(RanemuGtpu, EchoMessagesAreTheBytesScapyBuilds) {
  EXPECT_EQ(encodeEchoRequest(0x4242), hex("320100040000000042420000"));
  EXPECT_EQ(encodeEchoResponse(0x4242), hex("3202000600000000424200000e00"));
}

TEST(RanemuGtpu, ParsesWhatItAndScapyBuild) {
  auto ul = encodeGpdu(0x2001, 9, PduDirection::kUplink, kInner);
  std::optional<Gtpu> g = parseGtpu(ul);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->type, kGpdu);
  EXPECT_EQ(g->teid, 0x2001u);
  EXPECT_EQ(g->qfi, 9);
  EXPECT_EQ(g->pduDirection, PduDirection::kUplink);
  EXPECT_EQ(g->payloadOffset, 16u);
  EXPECT_EQ(std::vector<uint8_t>(ul.begin() + 16, ul.end()), kInner);
  g = parseGtpu(hex("30ff001c000020024500001c00010000400181b8c6130a01c61263010800f7f700070001"));
  ASSERT_TRUE(g);
  EXPECT_FALSE(g->qfi);
  EXPECT_FALSE(g->seq);
  EXPECT_EQ(g->payloadOffset, 8u);
  EXPECT_EQ(g->payloadLength, kInner.size());
  g = parseGtpu(hex("3202000600000000424200000e00"));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->type, kEchoResponse);
  EXPECT_EQ(g->seq, 0x4242);
  EXPECT_EQ(g->payloadLength, 2u);  // the Recovery IE
  // Another extension header before the container, each walked to its next type.
  auto two = hex("36ff0010000000070000004001aabb850100090045000000");
  g = parseGtpu(two);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->qfi, 9);
  EXPECT_EQ(g->pduDirection, PduDirection::kDownlink);
  EXPECT_EQ(g->payloadOffset, 20u);
}

TEST(RanemuGtpu, RefusesWhatIsNotGtpuVersionOneAndSaysWhy) {
  std::string why;
  EXPECT_FALSE(parseGtpu(hex("30ff00"), &why));
  EXPECT_EQ(why, "3 bytes: shorter than a header");
  EXPECT_FALSE(parseGtpu(hex("50ff000000000001"), &why));  // version 2
  EXPECT_EQ(why, "flags 0x50: not GTP-U version 1");
  EXPECT_FALSE(parseGtpu(hex("20ff000000000001"), &why));  // PT 0: GTP'
  EXPECT_EQ(why, "flags 0x20: not GTP-U version 1");
  EXPECT_FALSE(parseGtpu(hex("30ff00c8000010014500"), &why));
  EXPECT_EQ(why, "length 200 for 10 bytes");
  EXPECT_FALSE(parseGtpu(hex("34ff0002000000070000"), &why));
  EXPECT_EQ(why, "optional fields cut");
  EXPECT_FALSE(parseGtpu(hex("34ff00080000000700000085020009ff"), &why));  // 2 units, 1 there
  EXPECT_EQ(why, "extension header at byte 12 runs past the end");
  EXPECT_FALSE(parseGtpu(hex("34ff00080000000700000085000009ff"), &why));  // length 0
  EXPECT_EQ(why, "extension header at byte 12 runs past the end");
}

}  // namespace
}  // namespace roamgate::ranemu
