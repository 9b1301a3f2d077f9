#include "ringnet/codec/websocket/handshake.h"

#include "gtest/gtest.h"

namespace ringnet::codec::websocket {
namespace {

// RFC 6455 section 1.3: SHA-1 of key + GUID is b3 7a 4f 2c c0 62 4f 16 90 f6 46
// 06 cf 38 59 45 b2 be c4 ea, which base64-encodes to
// "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
TEST(HandshakeTest, RfcSampleAcceptKey) {
  EXPECT_EQ(ComputeAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(ComputeAcceptKey("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST(HandshakeTest, ClientKeyMustBeBase64OfSixteenBytes) {
  EXPECT_TRUE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(IsValidClientKey(""));
  EXPECT_FALSE(IsValidClientKey("AQIDBA=="));                  // 4 bytes
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ"));    // no padding
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ=!"));  // bad character
  EXPECT_FALSE(IsValidClientKey("AAAAAAAAAAAAAAAAAAAAAAAA"));  // 18 bytes
}

}  // namespace
}  // namespace ringnet::codec::websocket
