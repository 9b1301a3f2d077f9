// WsServer against a raw WebSocket peer on loopback (frames written by hand): messages, fragments,
// pings, bytes behind the handshake, refused upgrades, and the close handshake both ways.
#include "ringnet/net/ws_server.h"

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/codec/websocket/close.h"
#include "ringnet/net/internal/tcp_session.h"
#include "ringnet/net/websocket.h"
#include "ringnet/test/ws_test_util.h"

namespace ringnet::net {
namespace {

namespace ws = codec::websocket;
using testing::PlainTcpClient;
using testing::RawWsPeer;
using testing::WsHarness;
using testing::WsMessage;
using ws::Opcode;

RawWsPeer MustConnect(const WsHarness& h, absl::string_view path = "/",
                      absl::string_view trailing = "") {
  absl::StatusOr<RawWsPeer> peer = RawWsPeer::Connect(h.server->address(), path, trailing);
  EXPECT_TRUE(peer.ok()) << peer.status();
  return *std::move(peer);
}

WsMessage MustRead(RawWsPeer& peer) {
  absl::StatusOr<WsMessage> m = peer.Read();
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : WsMessage{};
}

// Sends `payload` as one message and expects it echoed with the same opcode.
void ExpectEcho(RawWsPeer& peer, Opcode opcode, const std::string& payload) {
  ASSERT_TRUE(peer.SendFrame(opcode, true, payload).ok());
  WsMessage m = MustRead(peer);
  EXPECT_EQ(m.type, opcode);
  EXPECT_EQ(m.payload.size(), payload.size());
  EXPECT_TRUE(m.payload == payload);
}

// Errors name the struct the caller filled, not the TcpServerOptions inside it.
TEST(WsServerTest, OptionErrorsNameWsServerOptions) {
  auto group = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(group.ok());
  WsServerOptions options;
  options.listen = InetAddress::Loopback(0);
  absl::Status status = WsServer::Create(group->get(), options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "WsServerOptions.new_session is required");
  options.listen = InetAddress();
  options.new_session = [](SessionConfig&) { return absl::OkStatus(); };
  EXPECT_EQ(WsServer::Create(group->get(), options).status().message(),
            "WsServerOptions.listen is not an IPv4/IPv6 address");
}

// Each of the four WsTimeouts is checked, and the error names WsServerOptions.
TEST(WsServerTest, EveryTimerMustBePositive) {
  auto group = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(group.ok());
  for (absl::Duration WsTimeouts::*field :
       {&WsTimeouts::handshake_timeout, &WsTimeouts::heartbeat_period, &WsTimeouts::pong_timeout,
        &WsTimeouts::close_timeout}) {
    WsServerOptions options;
    options.listen = InetAddress::Loopback(0);
    options.new_session = [](SessionConfig&) { return absl::OkStatus(); };
    options.*field = absl::ZeroDuration();
    absl::Status status = WsServer::Create(group->get(), options).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), "WsServerOptions: timeouts and periods must be positive");
  }
}

TEST(WsServerTest, EchoesTextBinaryEmptyAndLargeMessagesWithTheirKind) {
  WsHarness h;
  h.Start([](SessionConfig& c) {
    c.options.max_msg_len = 20 << 20;
    c.options.write_high_water = 64 << 20;
  });
  RawWsPeer peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  ExpectEcho(peer, Opcode::kText, "héllo");
  ExpectEcho(peer, Opcode::kBinary, std::string("\x00\xff\x01", 3));
  ExpectEcho(peer, Opcode::kText, "");
  ExpectEcho(peer, Opcode::kBinary, "");
  std::string big(64 << 10, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  ExpectEcho(peer, Opcode::kText, big);
  std::string huge(16 << 20, '\0');
  for (size_t i = 0; i < huge.size(); ++i) huge[i] = static_cast<char>(i * 7);
  ExpectEcho(peer, Opcode::kBinary, huge);
  SessionHandle s = h.listener->sessions()[0];
  EXPECT_EQ(s.kind(), SessionKind::kWebSocket);
  EXPECT_EQ(s.Stat().packages_in, 6u);
  EXPECT_TRUE(h.listener->errors().empty());
}

// A server's echo of an unfragmented message that arrived whole sends the payload from the
// receive buffer (unmasked in place there) behind a copied header; every buffer comes back.
TEST(WsServerTest, MidSizeEchoesAreSentFromTheReceiveBuffer) {
  WsHarness h;
  h.Start();
  RawWsPeer peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  for (int i = 0; i < 50; ++i) {
    std::string payload(1000 + i * 200, '\0');
    for (size_t j = 0; j < payload.size(); ++j) payload[j] = static_cast<char>('a' + (i + j) % 26);
    ExpectEcho(peer, i % 2 == 0 ? Opcode::kBinary : Opcode::kText, payload);
  }
  runtime::EventLoop* loop = h.group->loop(0);
  EXPECT_GT(testing::ReceiveRingState(loop, internal::kStreamBufferSize).holds, 0u);
  EXPECT_TRUE(testing::AllReceiveBuffersBack(loop, internal::kStreamBufferSize));
  EXPECT_TRUE(h.listener->errors().empty());
}

TEST(WsServerTest, ReassemblesFragmentsAndAnswersPingsBetweenThem) {
  WsHarness h;
  std::mutex mu;
  std::vector<std::pair<codec::PackageKind, std::string>> got;
  h.listener->on_message = [&](const SessionHandle&, Package& pkg, const InetAddress&) {
    std::lock_guard<std::mutex> lock(mu);
    got.emplace_back(pkg.kind(), std::string(pkg.bytes()));
  };
  h.Start();
  RawWsPeer peer = MustConnect(h);
  ASSERT_TRUE(peer.SendFrame(Opcode::kText, false, "frag").ok());
  ASSERT_TRUE(peer.SendFrame(Opcode::kPing, true, "are you there").ok());
  ASSERT_TRUE(peer.SendFrame(Opcode::kContinuation, false, "men").ok());
  ASSERT_TRUE(peer.SendFrame(Opcode::kContinuation, false, "").ok());
  ASSERT_TRUE(peer.SendFrame(Opcode::kContinuation, true, "ted").ok());
  ASSERT_TRUE(peer.SendFrame(Opcode::kBinary, false, "b1").ok());
  ASSERT_TRUE(peer.SendFrame(Opcode::kContinuation, true, "b2").ok());
  WsMessage pong = MustRead(peer);
  EXPECT_EQ(pong.type, Opcode::kPong);
  EXPECT_EQ(pong.payload, "are you there");
  ASSERT_TRUE(h.listener->WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return got.size() == 2;
  }));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(got[0].first, codec::PackageKind::kText);
  EXPECT_EQ(got[0].second, "fragmented");
  EXPECT_EQ(got[1].first, codec::PackageKind::kBinary);
  EXPECT_EQ(got[1].second, "b1b2");
}

TEST(WsServerTest, FramesInTheSameWriteAsTheRequestAreNotLost) {
  WsHarness h;
  h.Start();
  std::string frames;
  ASSERT_TRUE(
      ws::AppendFrameWithKey(Opcode::kText, true, "first", ws::MaskKey{1, 2, 3, 4}, &frames).ok());
  ASSERT_TRUE(
      ws::AppendFrameWithKey(Opcode::kBinary, true, "second", ws::MaskKey{5, 6, 7, 8}, &frames)
          .ok());
  RawWsPeer peer = MustConnect(h, "/", frames);
  EXPECT_EQ(MustRead(peer).payload, "first");
  WsMessage second = MustRead(peer);
  EXPECT_EQ(second.payload, "second");
  EXPECT_EQ(second.type, Opcode::kBinary);
}

TEST(WsServerTest, OnOpenRunsAfterTheUpgradeAndItsWritesFollowThe101) {
  WsHarness h;
  h.listener->on_open = [](const SessionHandle& s) {
    EXPECT_TRUE(GetWebSocketInfo(s).has_value());
    EXPECT_TRUE(s.WritePkg(Package(std::string("welcome"), codec::PackageKind::kText)).ok());
    return absl::OkStatus();
  };
  h.Start();
  absl::StatusOr<PlainTcpClient> tcp = PlainTcpClient::Connect(h.server->address());
  ASSERT_TRUE(tcp.ok());
  EXPECT_EQ(h.listener->opens(), 0);  // TCP is up, the upgrade is not
  RawWsPeer peer = MustConnect(h);
  absl::StatusOr<WsMessage> welcome = peer.Read();
  ASSERT_TRUE(welcome.ok());
  EXPECT_EQ(welcome->type, Opcode::kText);
  EXPECT_EQ(welcome->payload, "welcome");
  EXPECT_EQ(h.listener->opens(), 1);
}

TEST(WsServerTest, RefusedUpgradesGetAnHttpErrorAndNoCallbacks) {
  WsHarness h;
  h.Start({}, [](WsServerOptions& o) {
    o.path = "/chat";
    o.check_origin = [](absl::string_view origin) { return origin != "http://evil.example"; };
  });
  // A healthy session first: the refusals must not disturb it.
  RawWsPeer healthy = MustConnect(h, "/chat?room=1");
  struct Case {
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {"GET /chat HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {absl::StrCat("POST", RawWsPeer::UpgradeRequest("/chat").substr(3)), 405},
      {"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
       426},
      {RawWsPeer::UpgradeRequest("/elsewhere"), 404},
      {RawWsPeer::UpgradeRequest("/chat", "Origin: http://evil.example\r\n"), 403},
      {absl::StrCat("GET /chat HTTP/1.1\r\nX: ", std::string(9000, 'a'), "\r\n\r\n"), 431},
  };
  for (const Case& c : cases) {
    int status = 0;
    std::string head;
    absl::StatusOr<RawWsPeer> peer =
        RawWsPeer::ConnectRaw(h.server->address(), c.request, &status, &head);
    ASSERT_TRUE(peer.ok()) << peer.status();
    EXPECT_EQ(status, c.status) << head;
    EXPECT_TRUE(peer->WaitEof().ok()) << "the server closes after the error response";
  }
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.server->stats().rejected == cases.size(); }));
  EXPECT_EQ(h.listener->opens(), 1);
  EXPECT_EQ(h.listener->closes(), 0);
  EXPECT_TRUE(h.listener->errors().empty());
  ExpectEcho(healthy, Opcode::kText, "still here");
  EXPECT_EQ(h.server->session_count(), 1u);
}

TEST(WsServerTest, NewSessionOrOnOpenRejectionAnswers403) {
  WsHarness h;
  h.listener->on_open = [](const SessionHandle&) {
    return absl::PermissionDeniedError("not today");
  };
  h.Start();
  int status = 0;
  absl::StatusOr<RawWsPeer> peer =
      RawWsPeer::ConnectRaw(h.server->address(), RawWsPeer::UpgradeRequest("/"), &status);
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(status, 403);
  EXPECT_TRUE(peer->WaitEof().ok());
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.server->stats().rejected == 1; }));
  EXPECT_EQ(h.listener->closes(), 0);
}

TEST(WsServerTest, HandshakeTimeoutClosesSilentClients) {
  WsHarness h;
  h.Start({}, [](WsServerOptions& o) { o.handshake_timeout = absl::Milliseconds(100); });
  absl::StatusOr<PlainTcpClient> tcp = PlainTcpClient::Connect(h.server->address());
  ASSERT_TRUE(tcp.ok());
  ASSERT_TRUE(tcp->WriteAll("GET / HTTP/1.1\r\nHost: x\r\n").ok());  // never finished
  EXPECT_TRUE(tcp->ReadUntilEof().ok());
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.server->stats().rejected == 1; }));
  EXPECT_EQ(h.listener->opens(), 0);
}

TEST(WsServerTest, ServerCloseWithCodeAndReason) {
  WsHarness h;
  h.listener->on_message = [](const SessionHandle& s, Package&, const InetAddress&) {
    EXPECT_TRUE(CloseWebSocket(s, 4001, "bye now").ok());
  };
  h.Start();
  RawWsPeer peer = MustConnect(h);
  ASSERT_TRUE(peer.SendFrame(Opcode::kText, true, "close please").ok());
  WsMessage close = MustRead(peer);
  EXPECT_EQ(close.type, Opcode::kClose);
  EXPECT_EQ(close.close_code, 4001);
  EXPECT_EQ(close.close_reason, "bye now");
  ASSERT_TRUE(peer.SendClose(4001, "").ok());
  // RFC 6455 7.1.1: the server closes the TCP connection first.
  EXPECT_TRUE(peer.WaitEof().ok());
  peer.Close();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_TRUE(h.listener->errors().empty());
  EXPECT_EQ(h.listener->protocol_violations(), 0);
}

TEST(WsServerTest, PeerCloseWithCodeAndReasonIsAnsweredAndReported) {
  WsHarness h;
  std::optional<WebSocketInfo> info_at_close;
  h.listener->on_close = [&](const SessionHandle& s) { info_at_close = GetWebSocketInfo(s); };
  h.Start();
  RawWsPeer peer = MustConnect(h, "/some/path?q=1");
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  ASSERT_TRUE(peer.SendClose(4002, "done here").ok());
  WsMessage echo = MustRead(peer);
  EXPECT_EQ(echo.type, Opcode::kClose);
  EXPECT_EQ(echo.close_code, 4002);
  EXPECT_TRUE(peer.WaitEof().ok());
  peer.Close();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_TRUE(testing::HasCloseCode(h.listener->errors(), 4002));
  ASSERT_TRUE(info_at_close.has_value());
  EXPECT_EQ(info_at_close->path, "/some/path?q=1");
  EXPECT_EQ(info_at_close->peer_close_code, 4002);
  EXPECT_EQ(info_at_close->peer_close_reason, "done here");
}

TEST(WsServerTest, NormalPeerCloseIsNotAnError) {
  WsHarness h;
  h.Start();
  RawWsPeer peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  ASSERT_TRUE(peer.SendClose(ws::kCloseNormal, "").ok());
  EXPECT_EQ(MustRead(peer).close_code, ws::kCloseNormal);
  EXPECT_TRUE(peer.WaitEof().ok());
  peer.Close();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_TRUE(h.listener->errors().empty());
}

TEST(WsServerTest, HandleCloseSendsCloseFrame1000AndWaitsForTheAnswer) {
  WsHarness h;
  h.Start();
  RawWsPeer peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  h.listener->sessions()[0].Close();  // from the test thread
  WsMessage close = MustRead(peer);
  EXPECT_EQ(close.close_code, ws::kCloseNormal);
  // Not answered yet: the server keeps the connection open.
  EXPECT_EQ(h.listener->closes(), 0);
  ASSERT_TRUE(peer.SendClose(ws::kCloseNormal, "").ok());
  EXPECT_TRUE(peer.WaitEof().ok());
  peer.Close();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_TRUE(h.listener->errors().empty());
}

TEST(WsServerTest, CloseTimeoutClosesTcpWhenThePeerNeverAnswers) {
  WsHarness h;
  h.Start([](SessionConfig& c) { c.options.close_linger = absl::Seconds(30); },
          [](WsServerOptions& o) { o.close_timeout = absl::Milliseconds(100); });
  RawWsPeer peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  h.listener->sessions()[0].Close();
  EXPECT_EQ(MustRead(peer).type, Opcode::kClose);
  EXPECT_TRUE(peer.WaitEof().ok());  // never answered: the server gives up and closes
  peer.Close();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  ASSERT_EQ(h.listener->errors().size(), 1u);
  EXPECT_EQ(h.listener->errors()[0].code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(WsServerTest, AbnormalClosureWithoutCloseFrameIsReported) {
  WsHarness h;
  h.Start();
  {
    RawWsPeer peer = MustConnect(h);
    ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  }  // closed without a Close frame
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  ASSERT_EQ(h.listener->errors().size(), 1u);
  EXPECT_NE(h.listener->errors()[0].message().find("1006"), std::string::npos);
}

}  // namespace
}  // namespace ringnet::net
