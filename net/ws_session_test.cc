// WebSocket session behaviour on loopback: every kind of bad input closes only the session that
// sent it (with the right close code, OnError, then OnClose), heartbeats, codecs applied per
// message, and backpressure.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/codec/length_field_codec.h"
#include "ringnet/codec/websocket/close.h"
#include "ringnet/net/websocket.h"
#include "ringnet/net/ws_server.h"
#include "ringnet/test/ws_test_util.h"

namespace ringnet::net {
namespace {

namespace ws = codec::websocket;
using testing::RawWsPeer;
using testing::WsHarness;
using testing::WsMessage;
using ws::Opcode;

RawWsPeer MustConnect(const WsHarness& h) {
  absl::StatusOr<RawWsPeer> peer = RawWsPeer::Connect(h.server->address());
  EXPECT_TRUE(peer.ok()) << peer.status();
  return *std::move(peer);
}

struct BadInput {
  const char* name;
  std::function<absl::Status(RawWsPeer&)> send;
  uint16_t code;
};

std::string Frame(Opcode opcode, absl::string_view payload, bool masked, uint8_t extra_bits = 0) {
  std::string out;
  (void)ws::AppendFrameWithKey(
      opcode, true, payload,
      masked ? std::optional<ws::MaskKey>(ws::MaskKey{9, 8, 7, 6}) : std::nullopt, &out);
  out[0] = static_cast<char>(static_cast<uint8_t>(out[0]) | extra_bits);
  return out;
}

class WsBadInputTest : public ::testing::TestWithParam<BadInput> {};

// The bad session gets a Close frame with the code and is closed; OnError carries the code and
// OnClose follows exactly once; a session next to it loses nothing.
TEST_P(WsBadInputTest, ClosesOnlyThatSessionWithTheRightCode) {
  WsHarness h;
  h.Start([](SessionConfig& c) { c.options.max_msg_len = 1024; });
  RawWsPeer good = MustConnect(h);
  RawWsPeer bad = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 2; }));
  ASSERT_TRUE(GetParam().send(bad).ok());
  absl::StatusOr<WsMessage> close = bad.Read();
  ASSERT_TRUE(close.ok()) << close.status();
  EXPECT_EQ(close->type, Opcode::kClose);
  EXPECT_EQ(close->close_code, GetParam().code);
  EXPECT_TRUE(bad.WaitEof().ok());
  bad.Close();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  std::vector<absl::Status> errors = h.listener->errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(WebSocketCloseCode(errors[0]), GetParam().code) << errors[0];
  ASSERT_TRUE(good.SendFrame(Opcode::kText, true, "unharmed").ok());
  absl::StatusOr<WsMessage> echo = good.Read();
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(echo->payload, "unharmed");
  EXPECT_EQ(h.listener->protocol_violations(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    AllBadInputs, WsBadInputTest,
    ::testing::Values(
        BadInput{"InvalidUtf8",
                 [](RawWsPeer& p) { return p.SendFrame(Opcode::kText, true, "bad \xC0\xAF"); },
                 ws::kCloseInvalidPayload},
        BadInput{"InvalidUtf8AcrossFragments",
                 [](RawWsPeer& p) {
                   absl::Status s = p.SendFrame(Opcode::kText, false, "ok \xE2\x82");
                   return s.ok() ? p.SendFrame(Opcode::kContinuation, true, "\x41") : s;
                 },
                 ws::kCloseInvalidPayload},
        BadInput{
            "Oversize",
            [](RawWsPeer& p) { return p.SendFrame(Opcode::kBinary, true, std::string(2000, 'o')); },
            ws::kCloseMessageTooBig},
        BadInput{"OversizeAcrossFragments",
                 [](RawWsPeer& p) {
                   absl::Status s = p.SendFrame(Opcode::kBinary, false, std::string(800, 'o'));
                   return s.ok() ? p.SendFrame(Opcode::kContinuation, true, std::string(800, 'o'))
                                 : s;
                 },
                 ws::kCloseMessageTooBig},
        BadInput{"UnmaskedClientFrame",
                 [](RawWsPeer& p) { return p.SendBytes(Frame(Opcode::kText, "hi", false)); },
                 ws::kCloseProtocolError},
        BadInput{"Rsv1Bit",
                 [](RawWsPeer& p) { return p.SendBytes(Frame(Opcode::kText, "hi", true, 0x40)); },
                 ws::kCloseProtocolError},
        BadInput{
            "UnknownOpcode",
            [](RawWsPeer& p) { return p.SendBytes(std::string("\x83\x80\x01\x02\x03\x04", 6)); },
            ws::kCloseProtocolError},
        BadInput{"ContinuationWithoutStart",
                 [](RawWsPeer& p) { return p.SendFrame(Opcode::kContinuation, true, "x"); },
                 ws::kCloseProtocolError},
        BadInput{"BadCloseCode",
                 [](RawWsPeer& p) {
                   return p.SendFrame(Opcode::kClose, true, std::string("\x03\xed", 2));  // 1005
                 },
                 ws::kCloseProtocolError}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return std::string(info.param.name); });

TEST(WsSessionTest, CodecAppliesPerMessage) {
  WsHarness h;
  h.listener->on_message = [](const SessionHandle& s, Package& pkg, const InetAddress&) {
    // The length-field codec decoded the message's 4-byte prefix; re-encoding adds it back.
    EXPECT_EQ(pkg.bytes(), "body");
    (void)s.WritePkg(std::move(pkg));
  };
  h.Start([](SessionConfig& c) { c.codec = std::make_shared<codec::LengthFieldCodec>(); });
  RawWsPeer peer = MustConnect(h);
  ASSERT_TRUE(peer.SendFrame(Opcode::kBinary, true, testing::LengthFramed("body")).ok());
  absl::StatusOr<WsMessage> echo = peer.Read();
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(echo->payload, testing::LengthFramed("body"));
  // A message holding half a package (or one and a half) is invalid payload: 1007.
  ASSERT_TRUE(
      peer.SendFrame(Opcode::kBinary, true, testing::LengthFramed("body").substr(0, 5)).ok());
  absl::StatusOr<WsMessage> close = peer.Read();
  ASSERT_TRUE(close.ok());
  EXPECT_EQ(close->close_code, ws::kCloseInvalidPayload);
  EXPECT_TRUE(peer.WaitEof().ok());
  peer.Close();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
}

// The peer's Close frame parsed in the same read as a message that fails the connection: the
// failure's Close frame (1007) is the only one sent, the peer's is recorded, not answered.
TEST(WsSessionTest, ACloseFrameBehindAFailingMessageIsNotAnswered) {
  WsHarness h;
  h.Start([](SessionConfig& c) { c.codec = std::make_shared<codec::LengthFieldCodec>(); });
  RawWsPeer peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  const std::string half_package = testing::LengthFramed("body").substr(0, 5);
  ASSERT_TRUE(peer.SendBytes(Frame(Opcode::kBinary, half_package, true) +
                             Frame(Opcode::kClose, std::string("\x03\xe8", 2), true))
                  .ok());
  absl::StatusOr<WsMessage> close = peer.Read();
  ASSERT_TRUE(close.ok()) << close.status();
  EXPECT_EQ(close->type, Opcode::kClose);
  EXPECT_EQ(close->close_code, ws::kCloseInvalidPayload);
  absl::StatusOr<WsMessage> after = peer.Read();  // nothing after the one Close frame: EOF
  EXPECT_TRUE(absl::IsOutOfRange(after.status())) << after.status();
  peer.Close();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  std::vector<absl::Status> errors = h.listener->errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(WebSocketCloseCode(errors[0]), ws::kCloseInvalidPayload) << errors[0];
}

TEST(WsSessionTest, TextWritesMustBeUtf8) {
  WsHarness h;
  std::atomic<bool> refused{false};
  h.listener->on_message = [&](const SessionHandle& s, Package&, const InetAddress&) {
    absl::Status st = s.WritePkg(Package(std::string("\xff"), codec::PackageKind::kText));
    refused = st.code() == absl::StatusCode::kInvalidArgument;
    (void)s.WritePkg(Package(std::string("ok"), codec::PackageKind::kText));
  };
  h.Start();
  RawWsPeer peer = MustConnect(h);
  ASSERT_TRUE(peer.SendFrame(Opcode::kText, true, "go").ok());
  absl::StatusOr<WsMessage> reply = peer.Read();
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->payload, "ok");
  EXPECT_TRUE(refused);
}

TEST(WsSessionTest, HeartbeatClosesAPeerThatNeverPongs) {
  WsHarness h;
  h.Start({}, [](WsServerOptions& o) {
    o.heartbeat_period = absl::Milliseconds(20);
    o.pong_timeout = absl::Milliseconds(100);
    o.close_timeout = absl::Milliseconds(200);
  });
  RawWsPeer peer = MustConnect(h);
  absl::StatusOr<WsMessage> ping = peer.Read();
  ASSERT_TRUE(ping.ok());
  EXPECT_EQ(ping->type, Opcode::kPing);
  // No pong: the server fails the connection with 1011.
  absl::StatusOr<WsMessage> close = peer.Read();
  ASSERT_TRUE(close.ok()) << close.status();
  EXPECT_EQ(close->type, Opcode::kClose);
  EXPECT_EQ(close->close_code, ws::kCloseInternalError);
  EXPECT_TRUE(peer.WaitEof().ok());
  peer.Close();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  ASSERT_EQ(h.listener->errors().size(), 1u);
  EXPECT_EQ(h.listener->errors()[0].code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(WebSocketCloseCode(h.listener->errors()[0]), ws::kCloseInternalError);
}

TEST(WsSessionTest, HeartbeatKeepsAPeerThatPongs) {
  WsHarness h;
  h.Start({}, [](WsServerOptions& o) {
    o.heartbeat_period = absl::Milliseconds(10);
    o.pong_timeout = absl::Seconds(30);
  });
  RawWsPeer peer = MustConnect(h);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<WsMessage> ping = peer.Read();
    ASSERT_TRUE(ping.ok());
    ASSERT_EQ(ping->type, Opcode::kPing);
    ASSERT_TRUE(peer.SendFrame(Opcode::kPong, true, ping->payload).ok());
  }
  EXPECT_EQ(h.listener->closes(), 0);
  EXPECT_TRUE(h.listener->errors().empty());
}

// A client that never reads: writes fail with ResourceExhausted at the high-water mark, and pings
// it keeps sending do not grow the queue either (only the latest is answered, later).
TEST(WsSessionTest, ANonReadingClientCannotGrowServerMemory) {
  constexpr size_t kHighWater = 256 << 10;
  WsHarness h;
  std::atomic<bool> exhausted{false};
  h.listener->on_open = [&](const SessionHandle& s) {
    const std::string chunk(16 << 10, 'w');
    for (int i = 0; i < 1000; ++i) {
      absl::Status st = s.WriteBytes(chunk);
      if (st.code() == absl::StatusCode::kResourceExhausted) {
        exhausted = true;
        break;
      }
    }
    return absl::OkStatus();
  };
  h.listener->on_message = [](const SessionHandle&, Package&, const InetAddress&) {};
  h.Start([&](SessionConfig& c) { c.options.write_high_water = kHighWater; });
  int status = 0;
  absl::StatusOr<RawWsPeer> peer =
      RawWsPeer::ConnectRaw(h.server->address(), RawWsPeer::UpgradeRequest("/"), &status);
  ASSERT_TRUE(peer.ok());
  peer->SetReceiveBuffer(4096);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  EXPECT_TRUE(exhausted);
  SessionHandle s = h.listener->sessions()[0];
  // 20k pings of 100 bytes would be 2 MB of pongs.
  const std::string payload(100, 'p');
  for (int i = 0; i < 20000; ++i) ASSERT_TRUE(peer->SendFrame(Opcode::kPing, true, payload).ok());
  ASSERT_TRUE(peer->SendFrame(Opcode::kText, true, "marker").ok());
  ASSERT_TRUE(h.listener->WaitFor([&] { return s.Stat().packages_in == 1; }));
  EXPECT_LE(s.Stat().queued_bytes, kHighWater + 200);
  EXPECT_TRUE(s.WriteBytes(std::string(kHighWater + 1, 'x')).code() ==
              absl::StatusCode::kResourceExhausted);
}

TEST(WsSessionTest, ReadTimeoutFailsAMessageThatNeverCompletesWith1001) {
  WsHarness h;
  h.Start([](SessionConfig& c) { c.options.read_timeout = absl::Milliseconds(100); });
  RawWsPeer peer = MustConnect(h);
  ASSERT_TRUE(peer.SendFrame(Opcode::kText, true, "complete").ok());
  absl::StatusOr<WsMessage> echo = peer.Read();
  ASSERT_TRUE(echo.ok());
  // A message whose first fragment came and whose last never does.
  ASSERT_TRUE(peer.SendFrame(Opcode::kBinary, false, "first of many").ok());
  absl::StatusOr<WsMessage> close = peer.Read();
  ASSERT_TRUE(close.ok()) << close.status();
  EXPECT_EQ(close->close_code, ws::kCloseGoingAway);
  EXPECT_TRUE(peer.WaitEof().ok());
  peer.Close();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  ASSERT_EQ(h.listener->errors().size(), 1u);
  EXPECT_NE(h.listener->errors()[0].message().find("read timeout"), std::string::npos)
      << h.listener->errors()[0];
}

TEST(WsSessionTest, IdleTimeoutClosesWith1001) {
  WsHarness h;
  h.Start([](SessionConfig& c) { c.options.idle_timeout = absl::Milliseconds(100); });
  RawWsPeer peer = MustConnect(h);
  absl::StatusOr<WsMessage> close = peer.Read();
  ASSERT_TRUE(close.ok()) << close.status();
  EXPECT_EQ(close->close_code, ws::kCloseGoingAway);
  ASSERT_TRUE(peer.SendClose(ws::kCloseGoingAway, "").ok());
  EXPECT_TRUE(peer.WaitEof().ok());
  peer.Close();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_EQ(h.listener->protocol_violations(), 0);
}

TEST(WsSessionTest, CloseWebSocketValidatesItsArguments) {
  WsHarness h;
  h.Start();
  RawWsPeer peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  SessionHandle s = h.listener->sessions()[0];
  EXPECT_EQ(CloseWebSocket(s, 1005, "").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CloseWebSocket(s, 1000, std::string(200, 'r')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CloseWebSocket(SessionHandle(), 1000, "").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CloseWebSocket(s, 3000, "from another thread").ok());
  absl::StatusOr<WsMessage> close = peer.Read();
  ASSERT_TRUE(close.ok());
  EXPECT_EQ(close->close_code, 3000);
  EXPECT_EQ(close->close_reason, "from another thread");
}

}  // namespace
}  // namespace ringnet::net
