#include "ringnet/codec/websocket/close.h"

#include <string>

#include "gtest/gtest.h"

namespace ringnet::codec::websocket {
namespace {

std::string CodeBytes(uint16_t code) {
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
}

TEST(CloseCodeTest, ReceivedCodeClasses) {
  for (uint32_t code = 0; code <= 0xFFFF; ++code) {
    const bool expected = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                          (code >= 3000 && code <= 4999);
    ASSERT_EQ(IsValidReceivedCloseCode(static_cast<uint16_t>(code)), expected) << code;
  }
  EXPECT_FALSE(IsValidReceivedCloseCode(0));
  EXPECT_FALSE(IsValidReceivedCloseCode(999));
  EXPECT_FALSE(IsValidReceivedCloseCode(1004));
  EXPECT_FALSE(IsValidReceivedCloseCode(kCloseNoStatusReceived));
  EXPECT_FALSE(IsValidReceivedCloseCode(kCloseAbnormal));
  EXPECT_FALSE(IsValidReceivedCloseCode(kCloseTlsHandshake));
  EXPECT_FALSE(IsValidReceivedCloseCode(1016));
  EXPECT_FALSE(IsValidReceivedCloseCode(2999));
  EXPECT_TRUE(IsValidReceivedCloseCode(3000));
  EXPECT_TRUE(IsValidReceivedCloseCode(4999));
  EXPECT_FALSE(IsValidReceivedCloseCode(5000));
  EXPECT_FALSE(IsValidReceivedCloseCode(65535));
}

TEST(CloseCodeTest, LocalOnlyCodesAreNeverSendable) {
  EXPECT_FALSE(IsSendableCloseCode(kCloseNoStatusReceived));
  EXPECT_FALSE(IsSendableCloseCode(kCloseAbnormal));
  EXPECT_FALSE(IsSendableCloseCode(kCloseTlsHandshake));
  EXPECT_TRUE(IsSendableCloseCode(kCloseNormal));
  EXPECT_TRUE(IsSendableCloseCode(kCloseMessageTooBig));
  EXPECT_TRUE(IsSendableCloseCode(4000));
}

TEST(ParseClosePayloadTest, EmptyMeansNoStatusReceived) {
  absl::StatusOr<ClosePayload> close = ParseClosePayload("");
  ASSERT_TRUE(close.ok());
  EXPECT_EQ(close->code, kCloseNoStatusReceived);
  EXPECT_TRUE(close->reason.empty());
}

TEST(ParseClosePayloadTest, CodeAndReason) {
  const std::string payload = CodeBytes(kCloseGoingAway) + "server restart \xe2\x9c\x93";
  absl::StatusOr<ClosePayload> close = ParseClosePayload(payload);
  ASSERT_TRUE(close.ok()) << close.status();
  EXPECT_EQ(close->code, kCloseGoingAway);
  EXPECT_EQ(close->reason, "server restart \xe2\x9c\x93");
}

TEST(ParseClosePayloadTest, OneByteIsAProtocolError) {
  absl::StatusOr<ClosePayload> close = ParseClosePayload("\x03");
  EXPECT_EQ(close.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CloseCodeFor(close.status()), kCloseProtocolError);
  EXPECT_NE(close.status().message().find("1 byte"), absl::string_view::npos);
}

TEST(ParseClosePayloadTest, InvalidCodesAreProtocolErrors) {
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
    absl::StatusOr<ClosePayload> close = ParseClosePayload(CodeBytes(code));
    EXPECT_EQ(CloseCodeFor(close.status()), kCloseProtocolError) << code;
    EXPECT_NE(close.status().message().find(std::to_string(code)), absl::string_view::npos);
  }
}

TEST(ParseClosePayloadTest, BadUtf8ReasonIsInvalidPayload) {
  absl::StatusOr<ClosePayload> close = ParseClosePayload(CodeBytes(1000) + "\xed\xa0\x80");
  EXPECT_EQ(close.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(CloseCodeFor(close.status()), kCloseInvalidPayload);
}

TEST(ParseClosePayloadTest, OverlongPayloadIsAProtocolError) {
  absl::StatusOr<ClosePayload> close = ParseClosePayload(CodeBytes(1000) + std::string(124, 'x'));
  EXPECT_EQ(CloseCodeFor(close.status()), kCloseProtocolError);
  EXPECT_TRUE(ParseClosePayload(CodeBytes(1000) + std::string(123, 'x')).ok());
}

TEST(AppendClosePayloadTest, RoundTrips) {
  std::string out = "prefix";
  ASSERT_TRUE(AppendClosePayload(4001, "done", &out).ok());
  EXPECT_EQ(out, "prefix" + CodeBytes(4001) + "done");
  absl::StatusOr<ClosePayload> close = ParseClosePayload(absl::string_view(out).substr(6));
  ASSERT_TRUE(close.ok());
  EXPECT_EQ(close->code, 4001);
  EXPECT_EQ(close->reason, "done");
}

TEST(AppendClosePayloadTest, RefusesUnsendableCodesBadReasonsAndLongReasons) {
  std::string out;
  for (uint16_t code : {kCloseNoStatusReceived, kCloseAbnormal, kCloseTlsHandshake, uint16_t{0}}) {
    EXPECT_EQ(AppendClosePayload(code, "", &out).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(AppendClosePayload(1000, "\xff", &out).ok());
  EXPECT_FALSE(AppendClosePayload(1000, std::string(124, 'x'), &out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(AppendClosePayload(1000, std::string(123, 'x'), &out).ok());
  EXPECT_EQ(out.size(), 125u);
}

TEST(CloseCodeForTest, MapsEachStatusCode) {
  EXPECT_EQ(CloseCodeFor(absl::OkStatus()), kCloseNormal);
  EXPECT_EQ(CloseCodeFor(ProtocolError("x")), kCloseProtocolError);
  EXPECT_EQ(CloseCodeFor(InvalidPayloadError("x")), kCloseInvalidPayload);
  EXPECT_EQ(CloseCodeFor(PolicyViolationError("x")), kClosePolicyViolation);
  EXPECT_EQ(CloseCodeFor(MessageTooBigError("x")), kCloseMessageTooBig);
  EXPECT_EQ(CloseCodeFor(absl::InternalError("x")), kCloseInternalError);
  EXPECT_EQ(CloseCodeFor(absl::UnknownError("x")), kCloseInternalError);
  EXPECT_EQ(ProtocolError("bad").message(), "websocket: bad");
}

}  // namespace
}  // namespace ringnet::codec::websocket
