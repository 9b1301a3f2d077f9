#include "ringnet/codec/websocket/message_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/codec/websocket/test_inputs.h"

namespace ringnet::codec::websocket {
namespace {

using testing::ClientFrame;
using testing::RawFrame;
using testing::ServerFrame;

// A delivered message, copied out of the callback.
struct Got {
  Opcode type;
  std::string payload;
  uint16_t close_code = 0;
  std::string close_reason;
  bool operator==(const Got&) const = default;
};

struct Result {
  std::vector<Got> messages;
  absl::Status status;
};

// Feeds `bytes` in chunks of `chunk` bytes (0: whole) to a fresh parser.
Result Parse(std::string bytes, size_t chunk, ParserOptions options = {}) {
  MessageParser parser(options);
  Result result;
  auto on_message = [&](const Message& m) {
    Got got{m.type, std::string(m.payload)};
    if (m.type == Opcode::kClose) {
      got.close_code = m.close.code;
      got.close_reason = std::string(m.close.reason);
    }
    result.messages.push_back(std::move(got));
  };
  if (chunk == 0) chunk = bytes.size() + 1;
  for (size_t pos = 0; pos < bytes.size() || pos == 0; pos += chunk) {
    const size_t n = std::min(chunk, bytes.size() - pos);
    result.status = parser.Feed(absl::MakeSpan(bytes.data() + pos, n), on_message);
    if (bytes.empty()) break;
  }
  return result;
}

Result ParseServer(const std::string& bytes, size_t chunk = 0, uint64_t max = 16 << 20) {
  return Parse(bytes, chunk, {.role = Role::kServer, .max_message_size = max});
}

void ExpectProtocolError(const Result& r, absl::string_view fragment) {
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument) << r.status;
  EXPECT_EQ(CloseCodeFor(r.status), kCloseProtocolError);
  EXPECT_NE(r.status.message().find(fragment), absl::string_view::npos) << r.status;
}

TEST(MessageParserTest, RfcExamples) {
  Result masked = ParseServer(ClientFrame(Opcode::kText, true, "Hello"));
  ASSERT_TRUE(masked.status.ok()) << masked.status;
  EXPECT_EQ(masked.messages, std::vector<Got>({{Opcode::kText, "Hello"}}));
  const std::string unmasked = "\x81\x05Hello";
  Result client = Parse(unmasked, 0, {.role = Role::kClient});
  ASSERT_TRUE(client.status.ok()) << client.status;
  EXPECT_EQ(client.messages, std::vector<Got>({{Opcode::kText, "Hello"}}));
}

TEST(MessageParserTest, EverySampleStreamSplitAnyWayGivesTheSameMessages) {
  for (const testing::FrameStream& s : testing::SampleFrameStreams()) {
    SCOPED_TRACE(s.name);
    const ParserOptions options{.role = s.role, .max_message_size = 1 << 20};
    const Result whole = Parse(s.bytes, 0, options);
    EXPECT_EQ(whole.status.ok(), s.valid) << whole.status;
    for (size_t chunk = 1; chunk <= 20; ++chunk) {
      const Result split = Parse(s.bytes, chunk, options);
      ASSERT_EQ(split.messages, whole.messages) << "chunk " << chunk;
      ASSERT_EQ(split.status, whole.status) << "chunk " << chunk;
    }
  }
}

TEST(MessageParserTest, TwoWaySplitAtEveryPosition) {
  const testing::FrameStream mixed = testing::SampleFrameStreams()[1];
  ASSERT_EQ(mixed.name, "mixed");
  const Result whole = Parse(mixed.bytes, 0);
  ASSERT_TRUE(whole.status.ok()) << whole.status;
  ASSERT_EQ(whole.messages.size(), 8u);
  for (size_t split = 0; split <= mixed.bytes.size(); ++split) {
    std::string bytes = mixed.bytes;
    MessageParser parser;
    std::vector<Got> got;
    auto on_message = [&](const Message& m) {
      got.push_back(
          {m.type, std::string(m.payload), m.type == Opcode::kClose ? m.close.code : uint16_t{0}});
    };
    ASSERT_TRUE(parser.Feed(absl::MakeSpan(bytes.data(), split), on_message).ok());
    ASSERT_TRUE(
        parser.Feed(absl::MakeSpan(bytes.data() + split, bytes.size() - split), on_message).ok());
    ASSERT_EQ(got, whole.messages) << "split " << split;
  }
}

TEST(MessageParserTest, LargeFramesOneByteAtATime) {
  std::string bytes = ClientFrame(Opcode::kBinary, true, std::string(70000, 'b')) +
                      ClientFrame(Opcode::kText, false, std::string(300, 't')) +
                      ClientFrame(Opcode::kPing, true, "ping") +
                      ClientFrame(Opcode::kContinuation, true, "\xe2\x82\xac");
  const Result whole = ParseServer(bytes);
  ASSERT_TRUE(whole.status.ok()) << whole.status;
  ASSERT_EQ(whole.messages.size(), 3u);
  EXPECT_EQ(whole.messages[0].payload.size(), 70000u);
  EXPECT_EQ(whole.messages[1], (Got{Opcode::kPing, "ping"}));
  EXPECT_EQ(whole.messages[2].payload, std::string(300, 't') + "\xe2\x82\xac");
  const Result bytewise = ParseServer(bytes, 1);
  EXPECT_TRUE(bytewise.status.ok());
  EXPECT_EQ(bytewise.messages, whole.messages);
}

TEST(MessageParserTest, WholeFrameIsDeliveredInPlace) {
  std::string bytes =
      ClientFrame(Opcode::kBinary, true, "in place") + ClientFrame(Opcode::kPing, true, "ping too");
  MessageParser parser;
  std::vector<const char*> data;
  ASSERT_TRUE(
      parser
          .Feed(absl::MakeSpan(bytes), [&](const Message& m) { data.push_back(m.payload.data()); })
          .ok());
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0], bytes.data() + 6);
  EXPECT_EQ(data[1], bytes.data() + 6 + 8 + 6);
  EXPECT_EQ(bytes.substr(6, 8), "in place");  // unmasked in the caller's buffer
  EXPECT_EQ(parser.buffer_capacity(), 0u);
}

TEST(MessageParserTest, FragmentedMessageWithInterleavedControlFrames) {
  const std::string bytes =
      ClientFrame(Opcode::kBinary, false, "one ") + ClientFrame(Opcode::kPing, true, "a") +
      ClientFrame(Opcode::kContinuation, false, "two ") + ClientFrame(Opcode::kPong, true, "b") +
      ClientFrame(Opcode::kContinuation, true, "three");
  for (size_t chunk : {0, 1, 3, 7}) {
    const Result r = ParseServer(bytes, chunk);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.messages, std::vector<Got>({{Opcode::kPing, "a"},
                                            {Opcode::kPong, "b"},
                                            {Opcode::kBinary, "one two three"}}));
  }
}

TEST(MessageParserTest, CloseBetweenFragmentsEndsTheStream) {
  const std::string bytes = ClientFrame(Opcode::kText, false, "part") +
                            ClientFrame(Opcode::kClose, true,
                                        "\x03\xe8"
                                        "bye") +
                            ClientFrame(Opcode::kContinuation, true, "ignored");
  const Result r = ParseServer(bytes);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].type, Opcode::kClose);
  EXPECT_EQ(r.messages[0].close_code, kCloseNormal);
  EXPECT_EQ(r.messages[0].close_reason, "bye");
}

TEST(MessageParserTest, LengthsMustBeMinimallyEncoded) {
  ExpectProtocolError(ParseServer(RawFrame(0x82, 126, std::string("\0\x7d", 2), true, "")),
                      "16-bit length 125 is not minimally encoded");
  EXPECT_TRUE(
      ParseServer(RawFrame(0x82, 126, std::string("\0\x7e", 2), true, std::string(126, 'x')))
          .status.ok());
  ExpectProtocolError(
      ParseServer(RawFrame(0x82, 127, std::string("\0\0\0\0\0\0\xff\xff", 8), true, "")),
      "64-bit length 65535 is not minimally encoded");
  EXPECT_TRUE(ParseServer(RawFrame(0x82, 127, std::string("\0\0\0\0\0\x01\0\0", 8), true,
                                   std::string(65536, 'x')))
                  .status.ok());
  ExpectProtocolError(
      ParseServer(RawFrame(0x82, 127, std::string("\x80\0\0\0\0\0\0\0", 8), true, "")),
      "most significant bit");
}

TEST(MessageParserTest, MaskingDependsOnRole) {
  ExpectProtocolError(ParseServer(ServerFrame(Opcode::kText, true, "x")),
                      "client frame is not masked");
  ExpectProtocolError(Parse(ClientFrame(Opcode::kText, true, "x"), 0, {.role = Role::kClient}),
                      "server frame is masked");
  EXPECT_TRUE(Parse(ServerFrame(Opcode::kText, true, "x"), 0, {.role = Role::kClient}).status.ok());
}

TEST(MessageParserTest, ContinuationRules) {
  ExpectProtocolError(ParseServer(ClientFrame(Opcode::kContinuation, true, "x")),
                      "continuation frame without a message in progress");
  ExpectProtocolError(
      ParseServer(ClientFrame(Opcode::kText, false, "a") + ClientFrame(Opcode::kText, true, "b")),
      "new text frame while a fragmented message is in progress");
  ExpectProtocolError(ParseServer(ClientFrame(Opcode::kBinary, false, "a") +
                                  ClientFrame(Opcode::kBinary, true, "b")),
                      "new binary frame");
  // After a complete message, a continuation is again unexpected.
  ExpectProtocolError(ParseServer(ClientFrame(Opcode::kText, true, "a") +
                                  ClientFrame(Opcode::kContinuation, true, "b")),
                      "continuation frame");
}

TEST(MessageParserTest, ControlFrameRules) {
  const Result big = ParseServer(ClientFrame(Opcode::kPing, true, std::string(126, 'x')));
  EXPECT_EQ(big.status.message(), "websocket: control frame payload of 126 bytes exceeds 125");
  ExpectProtocolError(ParseServer(ClientFrame(Opcode::kPong, false, "")),
                      "pong frame is fragmented (FIN not set)");
  ExpectProtocolError(ParseServer(ClientFrame(Opcode::kClose, false, "")), "close frame");
  const Result max = ParseServer(ClientFrame(Opcode::kPong, true, std::string(125, 'y')));
  ASSERT_TRUE(max.status.ok());
  EXPECT_EQ(max.messages[0].payload.size(), 125u);
}

TEST(MessageParserTest, ReservedBitsAreProtocolErrors) {
  for (uint8_t rsv : {0x40, 0x20, 0x10, 0x70}) {
    ExpectProtocolError(ParseServer(RawFrame(0x81 | rsv, 1, "", true, "x")),
                        "without a negotiated extension");
  }
}

TEST(MessageParserTest, UnknownOpcodesAreProtocolErrors) {
  for (uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    ExpectProtocolError(ParseServer(RawFrame(0x80 | op, 0, "", true, "")),
                        "unknown opcode " + std::to_string(op));
  }
}

TEST(MessageParserTest, ErrorsAreReportedFromTheFirstTwoBytes) {
  // An unknown opcode fails before the rest of its header arrives.
  MessageParser parser;
  std::string bytes = "\x83\x80";
  EXPECT_FALSE(parser.Feed(absl::MakeSpan(bytes), [](const Message&) {}).ok());
}

TEST(MessageParserTest, ErrorsAreSticky) {
  MessageParser parser;
  std::string bad = ServerFrame(Opcode::kText, true, "unmasked");
  const absl::Status first = parser.Feed(absl::MakeSpan(bad), [](const Message&) {});
  ASSERT_FALSE(first.ok());
  std::string good = ClientFrame(Opcode::kText, true, "fine");
  int delivered = 0;
  EXPECT_EQ(parser.Feed(absl::MakeSpan(good), [&](const Message&) { ++delivered; }), first);
  EXPECT_EQ(parser.status(), first);
  EXPECT_EQ(delivered, 0);
}

TEST(MessageParserTest, MessagesBeforeAnErrorAreDelivered) {
  const Result r =
      ParseServer(ClientFrame(Opcode::kText, true, "first") + RawFrame(0xC1, 0, "", true, ""));
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.messages, std::vector<Got>({{Opcode::kText, "first"}}));
}

}  // namespace
}  // namespace ringnet::codec::websocket
