#include "ringnet/codec/websocket/frame.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "ringnet/codec/websocket/close.h"

namespace ringnet::codec::websocket {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// RFC 6455 section 5.7 examples.
TEST(FrameTest, RfcUnmaskedText) {
  std::string out;
  ASSERT_TRUE(AppendFrame(Opcode::kText, true, "Hello", Role::kServer, &out).ok());
  EXPECT_EQ(out, Bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
}

TEST(FrameTest, RfcMaskedText) {
  std::string out;
  ASSERT_TRUE(
      AppendFrameWithKey(Opcode::kText, true, "Hello", MaskKey{0x37, 0xfa, 0x21, 0x3d}, &out).ok());
  EXPECT_EQ(out, Bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

TEST(FrameTest, RfcFragmentsAndPing) {
  std::string out;
  ASSERT_TRUE(AppendFrame(Opcode::kText, false, "Hel", Role::kServer, &out).ok());
  ASSERT_TRUE(AppendFrame(Opcode::kContinuation, true, "lo", Role::kServer, &out).ok());
  ASSERT_TRUE(AppendFrame(Opcode::kPing, true, "Hello", Role::kServer, &out).ok());
  EXPECT_EQ(out, Bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f, 0x89, 0x05, 0x48,
                        0x65, 0x6c, 0x6c, 0x6f}));
}

TEST(FrameTest, MinimalLengthEncoding) {
  struct Case {
    uint64_t length;
    std::string header;
  };
  const Case cases[] = {
      {0, Bytes({0x82, 0x00})},
      {125, Bytes({0x82, 0x7d})},
      {126, Bytes({0x82, 0x7e, 0x00, 0x7e})},
      {256, Bytes({0x82, 0x7e, 0x01, 0x00})},
      {65535, Bytes({0x82, 0x7e, 0xff, 0xff})},
      {65536, Bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00})},
      {uint64_t{1} << 40, Bytes({0x82, 0x7f, 0, 0, 0x01, 0, 0, 0, 0, 0})},
  };
  for (const Case& c : cases) {
    std::string out;
    AppendFrameHeader(Opcode::kBinary, true, c.length, std::nullopt, &out);
    EXPECT_EQ(out, c.header) << c.length;
    EXPECT_EQ(FrameHeaderSize(c.length, false), c.header.size());
    EXPECT_EQ(FrameHeaderSize(c.length, true), c.header.size() + 4);
  }
}

TEST(FrameTest, ServerFramesAreUnmaskedClientFramesMaskedWithFreshKeys) {
  std::string server;
  ASSERT_TRUE(AppendFrame(Opcode::kBinary, true, "abcd", Role::kServer, &server).ok());
  EXPECT_EQ(server[1] & 0x80, 0);
  std::set<std::string> keys;
  for (int i = 0; i < 100; ++i) {
    std::string client;
    ASSERT_TRUE(AppendFrame(Opcode::kBinary, true, "abcd", Role::kClient, &client).ok());
    ASSERT_EQ(client.size(), 2u + 4 + 4);
    EXPECT_EQ(static_cast<uint8_t>(client[1]), 0x84);
    const std::string key = client.substr(2, 4);
    keys.insert(key);
    std::string payload = client.substr(6);
    ApplyMask(payload.data(), payload.size(),
              MaskKey{static_cast<uint8_t>(key[0]), static_cast<uint8_t>(key[1]),
                      static_cast<uint8_t>(key[2]), static_cast<uint8_t>(key[3])});
    EXPECT_EQ(payload, "abcd");
  }
  EXPECT_GT(keys.size(), 95u);
}

TEST(FrameTest, RefusesInvalidControlFramesAndUnknownOpcodes) {
  std::string out;
  absl::Status big = AppendFrame(Opcode::kPing, true, std::string(126, 'x'), Role::kServer, &out);
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(big.message(), "websocket: control frame payload of 126 bytes exceeds 125");
  EXPECT_FALSE(AppendFrame(Opcode::kClose, false, "", Role::kServer, &out).ok());
  EXPECT_FALSE(AppendFrame(static_cast<Opcode>(3), true, "", Role::kServer, &out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(AppendFrame(Opcode::kPong, true, std::string(125, 'x'), Role::kServer, &out).ok());
}

TEST(FrameTest, CloseFrame) {
  std::string out;
  ASSERT_TRUE(AppendCloseFrame(kCloseGoingAway, "bye", Role::kServer, &out).ok());
  EXPECT_EQ(out, Bytes({0x88, 0x05, 0x03, 0xe9, 'b', 'y', 'e'}));
  EXPECT_FALSE(AppendCloseFrame(kCloseNoStatusReceived, "", Role::kServer, &out).ok());
}

TEST(FrameTest, OpcodeHelpers) {
  for (int op = 0; op < 16; ++op) {
    const bool known = op == 0 || op == 1 || op == 2 || op == 8 || op == 9 || op == 10;
    EXPECT_EQ(IsKnownOpcode(static_cast<uint8_t>(op)), known) << op;
  }
  EXPECT_TRUE(IsControlOpcode(Opcode::kClose));
  EXPECT_FALSE(IsControlOpcode(Opcode::kText));
  EXPECT_EQ(OpcodeName(Opcode::kPong), "pong");
}

}  // namespace
}  // namespace ringnet::codec::websocket
