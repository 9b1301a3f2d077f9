// MessageParser: payload rules (UTF-8, size limits, close frames) and a 16 MiB
// round trip.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/codec/websocket/message_parser.h"
#include "ringnet/codec/websocket/test_inputs.h"

namespace ringnet::codec::websocket {
namespace {

using testing::ClientFrame;
using testing::RawFrame;

std::string Code(uint16_t code) {
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
}

// Feeds `pieces` one Feed call each; returns the final status and counts
// messages.
absl::Status FeedPieces(MessageParser& parser, std::vector<std::string> pieces,
                        std::vector<std::string>* payloads = nullptr) {
  absl::Status status;
  for (std::string& piece : pieces) {
    status = parser.Feed(absl::MakeSpan(piece), [&](const Message& m) {
      if (payloads != nullptr) payloads->emplace_back(m.payload);
    });
    if (!status.ok()) break;
  }
  return status;
}

TEST(MessageParserUtf8Test, InvalidTextIsInvalidPayload) {
  MessageParser parser;
  absl::Status s = FeedPieces(parser, {ClientFrame(Opcode::kText, true, "a\xc0\x80")});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(CloseCodeFor(s), kCloseInvalidPayload);
  EXPECT_EQ(s.message(), "websocket: text message is not valid UTF-8");
}

TEST(MessageParserUtf8Test, BinaryIsNotValidated) {
  MessageParser parser;
  EXPECT_TRUE(FeedPieces(parser, {ClientFrame(Opcode::kBinary, true, "\xff\xfe")}).ok());
}

TEST(MessageParserUtf8Test, FailsInTheFirstFragmentWithoutWaitingForTheLast) {
  MessageParser parser;
  absl::Status s = FeedPieces(parser, {ClientFrame(Opcode::kText, false, "ok so far"),
                                       ClientFrame(Opcode::kContinuation, false, "bad \xed\xa0")});
  EXPECT_EQ(CloseCodeFor(s), kCloseInvalidPayload);
  EXPECT_TRUE(parser.status().code() == absl::StatusCode::kDataLoss);
}

TEST(MessageParserUtf8Test, FailsAtTheBadByteBeforeTheFrameIsComplete) {
  // Only the header and the first 3 payload bytes arrive; the third cannot
  // continue "\xf4".
  std::string frame = ClientFrame(Opcode::kText, true, "a\xf4\x90" + std::string(100, 'x'));
  MessageParser parser;
  absl::Status s = FeedPieces(parser, {frame.substr(0, 6 + 3)});
  EXPECT_EQ(CloseCodeFor(s), kCloseInvalidPayload);
}

TEST(MessageParserUtf8Test, CodePointSplitAcrossFragments) {
  MessageParser parser;
  std::vector<std::string> payloads;
  ASSERT_TRUE(FeedPieces(parser,
                         {ClientFrame(Opcode::kText, false, "\xf0\x9f"),
                          ClientFrame(Opcode::kPing, true, ""),
                          ClientFrame(Opcode::kContinuation, false, "\x98"),
                          ClientFrame(Opcode::kContinuation, true, "\x80")},
                         &payloads)
                  .ok());
  EXPECT_EQ(payloads, std::vector<std::string>({"", "\xf0\x9f\x98\x80"}));
}

TEST(MessageParserUtf8Test, MessageEndingMidSequenceFails) {
  MessageParser parser;
  absl::Status s = FeedPieces(parser, {ClientFrame(Opcode::kText, false, "\xe2\x82"),
                                       ClientFrame(Opcode::kContinuation, true, "")});
  EXPECT_EQ(s.message(), "websocket: text message ends inside a UTF-8 sequence");
  EXPECT_EQ(CloseCodeFor(s), kCloseInvalidPayload);
}

TEST(MessageParserSizeTest, HugeLengthFailsOnTheHeaderAlone) {
  // 2^40 bytes announced, max 1 MiB: the 14-byte header is enough to fail,
  // nothing is buffered.
  MessageParser parser({.role = Role::kServer, .max_message_size = 1 << 20});
  std::string header = RawFrame(0x82, 127, std::string("\0\0\x01\0\0\0\0\0", 8), true, "");
  ASSERT_EQ(header.size(), 14u);
  absl::Status s = FeedPieces(parser, {header});
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CloseCodeFor(s), kCloseMessageTooBig);
  EXPECT_EQ(s.message(),
            "websocket: message of 1099511627776 bytes exceeds the maximum of "
            "1048576");
  EXPECT_EQ(parser.buffer_capacity(), 0u);
}

TEST(MessageParserSizeTest, FrameOverTheMaxFailsBeforeItsPayload) {
  MessageParser parser({.role = Role::kServer, .max_message_size = 1000});
  std::string frame = ClientFrame(Opcode::kBinary, true, std::string(1001, 'x'));
  EXPECT_EQ(CloseCodeFor(FeedPieces(parser, {frame.substr(0, 8)})), kCloseMessageTooBig);
  EXPECT_EQ(parser.buffer_capacity(), 0u);
}

TEST(MessageParserSizeTest, ExactlyTheMaxIsAccepted) {
  MessageParser parser({.role = Role::kServer, .max_message_size = 1000});
  std::vector<std::string> payloads;
  ASSERT_TRUE(FeedPieces(parser,
                         {ClientFrame(Opcode::kBinary, false, std::string(600, 'x')),
                          ClientFrame(Opcode::kContinuation, true, std::string(400, 'y'))},
                         &payloads)
                  .ok());
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0].size(), 1000u);
}

TEST(MessageParserSizeTest, ReassembledTotalCountsAgainstTheMax) {
  // Each fragment is small, the total is not: fails at the header of the
  // fragment crossing it.
  MessageParser parser({.role = Role::kServer, .max_message_size = 1000});
  std::string third = ClientFrame(Opcode::kContinuation, true, std::string(200, 'z'));
  absl::Status s =
      FeedPieces(parser, {ClientFrame(Opcode::kBinary, false, std::string(500, 'x')),
                          ClientFrame(Opcode::kContinuation, false, std::string(400, 'y')),
                          third.substr(0, 8)});  // its header only
  EXPECT_EQ(CloseCodeFor(s), kCloseMessageTooBig);
  EXPECT_EQ(s.message(), "websocket: message of at least 1100 bytes exceeds the maximum of 1000");
  EXPECT_EQ(parser.buffer_capacity(), 0u);  // released on failure
}

TEST(MessageParserSizeTest, ControlFramesCountAgainstASmallMax) {
  MessageParser parser({.role = Role::kServer, .max_message_size = 10});
  EXPECT_EQ(CloseCodeFor(FeedPieces(parser, {ClientFrame(Opcode::kPing, true, "12345678901")})),
            kCloseMessageTooBig);
}

TEST(MessageParserSizeTest, SmallWholeFramesRespectASmallMax) {
  // Small whole frames take a fast path; it must enforce the limit too.
  for (size_t chunk : {size_t{0}, size_t{1}}) {
    MessageParser parser({.role = Role::kServer, .max_message_size = 10});
    std::vector<std::string> pieces;
    const std::string frames = ClientFrame(Opcode::kBinary, true, "0123456789") +
                               ClientFrame(Opcode::kText, true, "0123456789a");
    if (chunk == 0) {
      pieces.push_back(frames);
    } else {
      for (char c : frames) pieces.emplace_back(1, c);
    }
    std::vector<std::string> payloads;
    absl::Status s = FeedPieces(parser, pieces, &payloads);
    EXPECT_EQ(CloseCodeFor(s), kCloseMessageTooBig) << chunk;
    EXPECT_EQ(payloads, std::vector<std::string>({"0123456789"}));
  }
}

TEST(MessageParserSizeTest, BufferNeverExceedsAnnouncedBytesAndIsReleasedAfterUse) {
  // A peer announcing a large frame but sending a trickle cannot make the
  // parser reserve it all.
  MessageParser parser({.role = Role::kServer, .max_message_size = 8 << 20});
  std::string frame = ClientFrame(Opcode::kBinary, true, std::string(4 << 20, 'q'));
  std::string head = frame.substr(0, 14 + 10);
  ASSERT_TRUE(parser.Feed(absl::MakeSpan(head), [](const Message&) {}).ok());
  EXPECT_LT(parser.buffer_capacity(), 4096u);
  std::string rest = frame.substr(head.size());
  size_t delivered = 0;
  ASSERT_TRUE(
      parser.Feed(absl::MakeSpan(rest), [&](const Message& m) { delivered = m.payload.size(); })
          .ok());
  EXPECT_EQ(delivered, size_t{4} << 20);
  EXPECT_LE(parser.buffer_capacity(), 64u * 1024);
}

TEST(MessageParserCloseTest, CodeAndReason) {
  MessageParser parser;
  std::string frame = ClientFrame(Opcode::kClose, true, Code(kCloseGoingAway) + "restart");
  Message got;
  std::string reason;
  ASSERT_TRUE(parser
                  .Feed(absl::MakeSpan(frame),
                        [&](const Message& m) {
                          got = m;
                          reason = std::string(m.close.reason);
                        })
                  .ok());
  EXPECT_EQ(got.type, Opcode::kClose);
  EXPECT_EQ(got.close.code, kCloseGoingAway);
  EXPECT_EQ(reason, "restart");
  EXPECT_TRUE(parser.close_received());
}

TEST(MessageParserCloseTest, EmptyCloseReportsNoStatusReceived) {
  MessageParser parser;
  std::string frame = ClientFrame(Opcode::kClose, true, "");
  uint16_t code = 0;
  ASSERT_TRUE(
      parser.Feed(absl::MakeSpan(frame), [&](const Message& m) { code = m.close.code; }).ok());
  EXPECT_EQ(code, kCloseNoStatusReceived);
}

TEST(MessageParserCloseTest, InvalidClosePayloads) {
  struct Case {
    std::string payload;
    uint16_t close_code;
  };
  const Case cases[] = {
      {"\x03", kCloseProtocolError},     {Code(999), kCloseProtocolError},
      {Code(1005), kCloseProtocolError}, {Code(1006), kCloseProtocolError},
      {Code(1015), kCloseProtocolError}, {Code(2000), kCloseProtocolError},
      {Code(5000), kCloseProtocolError}, {Code(1000) + "\xc0\xaf", kCloseInvalidPayload}};
  for (const Case& c : cases) {
    MessageParser parser;
    int delivered = 0;
    std::string frame = ClientFrame(Opcode::kClose, true, c.payload);
    absl::Status s = parser.Feed(absl::MakeSpan(frame), [&](const Message&) { ++delivered; });
    EXPECT_EQ(CloseCodeFor(s), c.close_code) << s;
    EXPECT_EQ(delivered, 0);
  }
}

TEST(MessageParserCloseTest, InputAfterCloseIsIgnored) {
  MessageParser parser;
  std::string bytes = ClientFrame(Opcode::kClose, true, Code(1000)) + "garbage \xff\xff";
  int delivered = 0;
  EXPECT_TRUE(parser.Feed(absl::MakeSpan(bytes), [&](const Message&) { ++delivered; }).ok());
  std::string more = ClientFrame(Opcode::kText, true, "late");
  EXPECT_TRUE(parser.Feed(absl::MakeSpan(more), [&](const Message&) { ++delivered; }).ok());
  EXPECT_EQ(delivered, 1);
}

TEST(MessageParserRoundTripTest, SixteenMiBThroughEncoderAndParser) {
  std::string payload(16 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  for (Role sender : {Role::kClient, Role::kServer}) {
    std::string wire;
    // Once as one frame, once as 1 MiB fragments.
    ASSERT_TRUE(AppendFrame(Opcode::kText, true, payload, sender, &wire).ok());
    for (size_t off = 0; off < payload.size(); off += 1 << 20) {
      const Opcode op = off == 0 ? Opcode::kBinary : Opcode::kContinuation;
      const bool fin = off + (1 << 20) >= payload.size();
      ASSERT_TRUE(
          AppendFrame(op, fin, absl::string_view(payload).substr(off, 1 << 20), sender, &wire)
              .ok());
    }
    const Role receiver = sender == Role::kClient ? Role::kServer : Role::kClient;
    MessageParser parser({.role = receiver, .max_message_size = 16 << 20});
    std::vector<Opcode> types;
    size_t matching = 0;
    for (size_t off = 0; off < wire.size(); off += 65536) {
      const size_t n = std::min<size_t>(65536, wire.size() - off);
      ASSERT_TRUE(parser
                      .Feed(absl::MakeSpan(wire.data() + off, n),
                            [&](const Message& m) {
                              types.push_back(m.type);
                              if (m.payload == payload) ++matching;
                            })
                      .ok());
    }
    EXPECT_EQ(types, std::vector<Opcode>({Opcode::kText, Opcode::kBinary}));
    EXPECT_EQ(matching, 2u);
  }
}

}  // namespace
}  // namespace ringnet::codec::websocket
