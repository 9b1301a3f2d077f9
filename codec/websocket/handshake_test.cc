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
  // Only the canonical form: the unused bits of the last character are zero, no whitespace,
  // the standard alphabet, padding where it belongs.
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZR=="));  // nonzero unused bits
  EXPECT_FALSE(IsValidClientKey(" GhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ\n="));
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25j-_=="));  // web-safe alphabet
  EXPECT_FALSE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ=A"));
}

// RFC 4648 section 10's vectors, through the accept key's encoder (abseil's).
TEST(HandshakeTest, AcceptKeyIsStandardPaddedBase64) {
  const std::string accept = ComputeAcceptKey("any key");
  EXPECT_EQ(accept.size(), 28u);  // 20 bytes of SHA-1
  EXPECT_EQ(accept.back(), '=');
  EXPECT_EQ(
      accept.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
      std::string::npos);
}

}  // namespace
}  // namespace ringnet::codec::websocket
