// WsClient on loopback: against WsServer (echo of every message kind and size, subprotocols) and
// against a raw WebSocket server written by hand (frames behind the 101, refused upgrades,
// handshake timeout, the close handshake both ways, heartbeats).
#include "ringnet/net/ws_client.h"

#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/codec/websocket/close.h"
#include "ringnet/net/websocket.h"
#include "ringnet/net/ws_server.h"
#include "ringnet/test/ws_test_util.h"

namespace ringnet::net {
namespace {

namespace ws = codec::websocket;
using codec::PackageKind;
using testing::ErrorLog;
using testing::PlainTcpListener;
using testing::RawWsPeer;
using testing::RecordingListener;
using testing::WsHarness;
using testing::WsMessage;
using ws::Opcode;

WsClientOptions ClientTo(const std::string& url, std::shared_ptr<RecordingListener> listener) {
  WsClientOptions options;
  options.url = url;
  options.new_session = [listener](SessionConfig& c) {
    c.listener = listener;
    c.options.max_msg_len = 20 << 20;
    c.options.write_high_water = 64 << 20;
    return absl::OkStatus();
  };
  return options;
}

std::string UrlOf(const InetAddress& address, absl::string_view path = "/") {
  return absl::StrCat("ws://", address.ToString(), path);
}

TEST(WsClientTest, EchoesEveryMessageKindAndSizeThroughWsServer) {
  WsHarness server;
  server.Start([](SessionConfig& c) {
    c.options.max_msg_len = 20 << 20;
    c.options.write_high_water = 64 << 20;
  });
  std::string big(64 << 10, 'b');
  std::string huge(16 << 20, 'h');
  for (size_t i = 0; i < huge.size(); ++i) huge[i] = static_cast<char>(i * 13);
  const std::vector<Package> sent = {
      Package(std::string("hello"), PackageKind::kText),
      Package(std::string("\x01\x02", 2), PackageKind::kBinary),
      Package(std::string(), PackageKind::kText),
      Package(std::string(), PackageKind::kBinary),
      Package(big, PackageKind::kText),
      Package(huge, PackageKind::kBinary),
  };
  auto listener = std::make_shared<RecordingListener>();
  std::mutex mu;
  std::vector<Package> got;
  listener->on_open = [&](const SessionHandle& s) {
    for (const Package& p : sent) EXPECT_TRUE(s.WritePkg(p).ok());
    return absl::OkStatus();
  };
  listener->on_message = [&](const SessionHandle&, Package& pkg, const InetAddress&) {
    std::lock_guard<std::mutex> lock(mu);
    got.push_back(pkg);  // a copy owns its bytes
  };
  auto client = WsClient::Create(server.group.get(),
                                 ClientTo(UrlOf(server.server->address(), "/echo"), listener));
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(listener->WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return got.size() == sent.size();
  }));
  {
    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(got[i].kind(), sent[i].kind()) << i;
      EXPECT_TRUE(got[i].bytes() == sent[i].bytes()) << i;
    }
  }
  SessionHandle s = listener->sessions()[0];
  EXPECT_EQ(s.kind(), SessionKind::kWebSocket);
  EXPECT_EQ(GetWebSocketInfo(s)->path, "/echo");
  (*client)->Close();
  ASSERT_TRUE((*client)->WaitClosed(absl::Seconds(30)));
  EXPECT_EQ(listener->closes(), 1);
  EXPECT_TRUE(listener->errors().empty());
  ASSERT_TRUE(server.listener->WaitFor([&] { return server.listener->closes() == 1; }));
  EXPECT_TRUE(server.listener->errors().empty());
}

TEST(WsClientTest, NegotiatesASubprotocol) {
  WsHarness server;
  server.Start({}, [](WsServerOptions& o) {
    o.select_subprotocol = [](const std::vector<std::string>& offered) {
      return std::optional<std::string>(offered.back());
    };
  });
  auto listener = std::make_shared<RecordingListener>();
  WsClientOptions options = ClientTo(UrlOf(server.server->address()), listener);
  options.subprotocols = {"chat.v1", "chat.v2"};
  auto client = WsClient::Create(server.group.get(), options);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(listener->WaitFor([&] { return listener->opens() == 1; }));
  ASSERT_TRUE(server.listener->WaitFor([&] { return server.listener->opens() == 1; }));
  EXPECT_EQ(GetWebSocketInfo(listener->sessions()[0])->subprotocol, "chat.v2");
  EXPECT_EQ(GetWebSocketInfo(server.listener->sessions()[0])->subprotocol, "chat.v2");
}

struct RawServerFixture {
  RawServerFixture() {
    auto g = runtime::EventLoopGroup::Create(1);
    EXPECT_TRUE(g.ok());
    group = *std::move(g);
    auto l = PlainTcpListener::Create();
    EXPECT_TRUE(l.ok());
    raw = *std::move(l);
  }
  ~RawServerFixture() {
    client.reset();
    group->Stop();
  }
  void StartClient(WsClientOptions options) {
    auto c = WsClient::Create(group.get(), std::move(options));
    ASSERT_TRUE(c.ok()) << c.status();
    client = *std::move(c);
  }

  std::unique_ptr<runtime::EventLoopGroup> group;
  std::unique_ptr<PlainTcpListener> raw;
  std::shared_ptr<RecordingListener> listener = std::make_shared<RecordingListener>();
  std::unique_ptr<WsClient> client;
};

TEST(WsClientTest, FramesBehindThe101AreNotLostAndClientFramesAreMasked) {
  RawServerFixture f;
  f.listener->on_message = [](const SessionHandle& s, Package& pkg, const InetAddress&) {
    EXPECT_EQ(pkg.bytes(), "welcome");
    EXPECT_EQ(pkg.kind(), PackageKind::kText);
    (void)s.WriteBytes("thanks");
  };
  f.StartClient(ClientTo(UrlOf(f.raw->address(), "/x"), f.listener));
  std::string welcome;
  ASSERT_TRUE(ws::AppendFrame(Opcode::kText, true, "welcome", ws::Role::kServer, &welcome).ok());
  absl::StatusOr<RawWsPeer> peer = testing::AcceptUpgrade(*f.raw, welcome);
  ASSERT_TRUE(peer.ok()) << peer.status();
  // The raw server's parser insists on masked frames.
  absl::StatusOr<WsMessage> reply = peer->Read();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->type, Opcode::kBinary);
  EXPECT_EQ(reply->payload, "thanks");
}

TEST(WsClientTest, ARefusedUpgradeIsAConnectFailureWithoutCallbacks) {
  ErrorLog log;  // outlives the client
  RawServerFixture f;
  WsClientOptions options = ClientTo(UrlOf(f.raw->address()), f.listener);
  options.max_reconnect_attempts = 2;
  options.reconnect_initial_backoff = absl::Milliseconds(1);
  options.on_error = log.Sink();
  f.StartClient(options);
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<int> fd = f.raw->Accept();
    ASSERT_TRUE(fd.ok());
    RawWsPeer peer(*fd, ws::Role::kServer);
    std::string head;
    ASSERT_TRUE(peer.ReadHead(&head).ok());
    ASSERT_TRUE(peer.SendBytes("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").ok());
    EXPECT_TRUE(peer.WaitEof().ok());  // the client hangs up
  }
  while (log.size() < 2) std::this_thread::yield();
  f.client->Close();
  ASSERT_TRUE(f.client->WaitClosed(absl::Seconds(30)));
  EXPECT_EQ(f.client->stats().connect_failures, 2u);
  EXPECT_EQ(f.client->stats().sessions_opened, 0u);
  EXPECT_EQ(f.listener->opens(), 0);
  EXPECT_EQ(f.listener->closes(), 0);
  std::lock_guard<std::mutex> lock(log.mutex);
  EXPECT_NE(log.errors[0].message().find("403"), std::string::npos) << log.errors[0];
}

TEST(WsClientTest, HandshakeTimeoutIsReported) {
  ErrorLog log;  // outlives the client
  RawServerFixture f;
  WsClientOptions options = ClientTo(UrlOf(f.raw->address()), f.listener);
  options.max_reconnect_attempts = 1;
  options.handshake_timeout = absl::Milliseconds(100);
  options.on_error = log.Sink();
  f.StartClient(options);
  absl::StatusOr<int> fd = f.raw->Accept();  // accepted, never answered
  ASSERT_TRUE(fd.ok());
  RawWsPeer silent(*fd, ws::Role::kServer);
  EXPECT_TRUE(silent.WaitEof().ok());
  while (log.size() < 1) std::this_thread::yield();
  f.client->Close();
  ASSERT_TRUE(f.client->WaitClosed(absl::Seconds(30)));
  std::lock_guard<std::mutex> lock(log.mutex);
  EXPECT_EQ(log.errors[0].code(), absl::StatusCode::kDeadlineExceeded) << log.errors[0];
}

TEST(WsClientTest, ClientCloseWaitsForTheServerToCloseTcp) {
  RawServerFixture f;
  WsClientOptions options = ClientTo(UrlOf(f.raw->address()), f.listener);
  options.reconnect = false;
  options.close_timeout = absl::Seconds(60);
  f.StartClient(options);
  absl::StatusOr<RawWsPeer> peer = testing::AcceptUpgrade(*f.raw);
  ASSERT_TRUE(peer.ok());
  ASSERT_TRUE(f.listener->WaitFor([&] { return f.listener->opens() == 1; }));
  f.listener->sessions()[0].Close();
  absl::StatusOr<WsMessage> close = peer->Read();
  ASSERT_TRUE(close.ok());
  EXPECT_EQ(close->type, Opcode::kClose);
  EXPECT_EQ(close->close_code, ws::kCloseNormal);
  ASSERT_TRUE(peer->SendClose(ws::kCloseNormal, "").ok());
  // The client does not close TCP first (RFC 6455 7.1.1): nothing arrives, EOF included.
  EXPECT_EQ(peer->Read(absl::Milliseconds(200)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(f.listener->closes(), 0);
  peer->Close();
  ASSERT_TRUE(f.listener->WaitFor([&] { return f.listener->closes() == 1; }));
  EXPECT_TRUE(f.listener->errors().empty());
}

TEST(WsClientTest, ServerCloseWithCodeIsAnsweredAndReported) {
  RawServerFixture f;
  WsClientOptions options = ClientTo(UrlOf(f.raw->address()), f.listener);
  options.reconnect = false;
  f.StartClient(options);
  absl::StatusOr<RawWsPeer> peer = testing::AcceptUpgrade(*f.raw);
  ASSERT_TRUE(peer.ok());
  ASSERT_TRUE(f.listener->WaitFor([&] { return f.listener->opens() == 1; }));
  SessionHandle s = f.listener->sessions()[0];
  ASSERT_TRUE(peer->SendClose(4003, "go away").ok());
  absl::StatusOr<WsMessage> echo = peer->Read();
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(echo->close_code, 4003);
  peer->Close();  // the server closes TCP first
  ASSERT_TRUE(f.listener->WaitFor([&] { return f.listener->closes() == 1; }));
  EXPECT_TRUE(testing::HasCloseCode(f.listener->errors(), 4003));
  EXPECT_EQ(GetWebSocketInfo(s)->peer_close_reason, "go away");
  EXPECT_EQ(f.listener->protocol_violations(), 0);
}

TEST(WsClientTest, HeartbeatFailsAServerThatNeverPongs) {
  RawServerFixture f;
  WsClientOptions options = ClientTo(UrlOf(f.raw->address()), f.listener);
  options.reconnect = false;
  options.heartbeat_period = absl::Milliseconds(20);
  options.pong_timeout = absl::Milliseconds(100);
  f.StartClient(options);
  absl::StatusOr<RawWsPeer> peer = testing::AcceptUpgrade(*f.raw);
  ASSERT_TRUE(peer.ok());
  absl::StatusOr<WsMessage> ping = peer->Read();
  ASSERT_TRUE(ping.ok());
  EXPECT_EQ(ping->type, Opcode::kPing);
  absl::StatusOr<WsMessage> close = peer->Read();
  ASSERT_TRUE(close.ok());
  EXPECT_EQ(close->close_code, ws::kCloseInternalError);
  EXPECT_TRUE(peer->WaitEof().ok());  // failing the connection, the client may close first
  peer->Close();
  ASSERT_TRUE(f.listener->WaitFor([&] { return f.listener->closes() == 1; }));
  EXPECT_TRUE(testing::HasCloseCode(f.listener->errors(), ws::kCloseInternalError));
}

TEST(WsClientTest, BadUrlsAreRefusedByCreate) {
  auto group = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(group.ok());
  auto listener = std::make_shared<RecordingListener>();
  EXPECT_EQ(
      WsClient::Create(group->get(), ClientTo("http://127.0.0.1:1/", listener)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      WsClient::Create(group->get(), ClientTo("wss://127.0.0.1:1/", listener)).status().code(),
      absl::StatusCode::kUnimplemented);
  WsClientOptions bad_protocol = ClientTo("ws://127.0.0.1:1/", listener);
  bad_protocol.subprotocols = {"has space"};
  EXPECT_EQ(WsClient::Create(group->get(), bad_protocol).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Errors name the struct the caller filled, not the TcpClientOptions inside it.
TEST(WsClientTest, OptionErrorsNameWsClientOptions) {
  auto group = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(group.ok());
  WsClientOptions options;
  options.url = "ws://127.0.0.1:1/";
  absl::Status status = WsClient::Create(group->get(), options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "WsClientOptions.new_session is required");
  options.new_session = [](SessionConfig&) { return absl::OkStatus(); };
  options.connections = 0;
  EXPECT_EQ(WsClient::Create(group->get(), options).status().message(),
            "WsClientOptions.connections must be at least 1");
}

// Each of the four WsTimeouts is checked, and the error names WsClientOptions.
TEST(WsClientTest, EveryTimerMustBePositive) {
  auto group = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(group.ok());
  for (absl::Duration WsTimeouts::*field :
       {&WsTimeouts::handshake_timeout, &WsTimeouts::heartbeat_period, &WsTimeouts::pong_timeout,
        &WsTimeouts::close_timeout}) {
    WsClientOptions options;
    options.url = "ws://127.0.0.1:1/";
    options.new_session = [](SessionConfig&) { return absl::OkStatus(); };
    options.*field = -absl::Seconds(1);
    absl::Status status = WsClient::Create(group->get(), options).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), "WsClientOptions: timeouts and periods must be positive");
  }
}

}  // namespace
}  // namespace ringnet::net
