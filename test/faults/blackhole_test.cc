// Fault 2: a blackhole mid-stream. A server streams the counting pattern to a client; then an nft
// rule drops every packet to and from the server's port, so neither end hears of the other again
// (no FIN, no RST, no ACK). The server's write_timeout and the client's idle_timeout must close
// their sessions within their bound (a timeout fires between 1x and 1.25x its value, checked by a
// watchdog; plus slack for a loaded machine); the client's slot keeps failing to connect (its
// SYNs vanish: connect_timeout) and, once the rule is removed, reconnects within its capped
// backoff and streams again. Once over TCP (TcpServer/TcpClient), once over WebSocket
// (WsServer/WsClient, whose timeouts end in a close handshake bounded by close_timeout).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringnet/net/session.h"
#include "ringnet/net/tcp_client.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/net/ws_client.h"
#include "ringnet/net/ws_server.h"
#include "ringnet/runtime/event_loop_group.h"
#include "ringnet/test/faults/fault_util.h"
#include "ringnet/test/faults/netns.h"

namespace ringnet::faults {
namespace {

using net::InetAddress;
using net::SessionConfig;

constexpr absl::Duration kWriteTimeout = absl::Seconds(1);
constexpr absl::Duration kIdleTimeout = absl::Seconds(1);
// What a loaded machine (two shared vCPUs, sanitizers) may add to any bound below.
constexpr absl::Duration kSlack = absl::Seconds(1);
// Client slots: a connect whose SYNs vanish fails after connect_timeout, then waits the backoff
// (doubled per failure, capped, +-20% jitter) before the next attempt.
constexpr absl::Duration kConnectTimeout = absl::Milliseconds(500);
constexpr absl::Duration kInitialBackoff = absl::Milliseconds(50);
constexpr absl::Duration kMaxBackoff = absl::Milliseconds(400);
// Once the path heals, the slot is at worst at the start of a doomed attempt: it fails by
// connect_timeout, waits at most the capped backoff with its jitter, and the next one succeeds.
const absl::Duration kReconnectBound = kConnectTimeout + kMaxBackoff * 1.2 + kSlack;
// The server streams 16 KiB every 10 ms (while writable): mid-stream, not a flood.
constexpr size_t kPiece = 16 << 10;
constexpr absl::Duration kCron = absl::Milliseconds(10);

class BlackholeTest : public FaultTest {
 protected:
  void SetUp() override {
    FaultTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // A small send buffer in this namespace: under the blackhole the kernel stops taking the
    // stream after at most 64 KiB (four ticks of it), so the session's own queue stalls at once
    // and its write_timeout is what ends it.
    ASSERT_TRUE(WriteSysctl("net/ipv4/tcp_wmem", "4096 16384 65536").ok());
    ASSERT_TRUE(nft_.Create().ok());
    auto group = runtime::EventLoopGroup::Create(1);
    ASSERT_TRUE(group.ok()) << group.status();
    group_ = *std::move(group);
  }

  // Lets the stream run, blackholes `port`, checks both timeouts, heals, checks the reconnect.
  // `close_extra`: what a session may take after its timeout fired (the WebSocket close
  // handshake, which cannot complete through the blackhole).
  void BlackholeAndHeal(uint16_t port, PatternStreamer& server_side, PatternChecker& client_side,
                        const std::function<uint64_t()>& client_sessions_opened,
                        absl::Duration close_extra) {
    ASSERT_TRUE(
        Eventually([&] { return client_side.total_received() >= (256 << 10); }, absl::Seconds(10)))
        << "the stream never got going";
    ASSERT_EQ(client_side.opens(), 1);

    // Taken before the rules go in: the upper bounds from here cover nft's own time too.
    const absl::Time blackholed = absl::Now();
    absl::StatusOr<std::vector<uint64_t>> rules = nft_.DropTcpPort(port);
    ASSERT_TRUE(rules.ok()) << rules.status();
    const absl::Duration close_bound =
        std::max(kWriteTimeout, kIdleTimeout) * 1.25 + close_extra + kSlack;
    ASSERT_TRUE(Eventually([&] { return server_side.closes() == 1 && client_side.closes() == 1; },
                           close_bound + absl::Seconds(5)))
        << "server closes " << server_side.closes() << ", client closes " << client_side.closes();

    // The server's session: no progress for write_timeout (measured from its last progress: a
    // timeout never fires early), and closed within 1.25x of it after the blackhole began.
    const ClosedSession server_end = server_side.closed()[0];
    EXPECT_GE(server_end.at - server_end.stat.last_write, kWriteTimeout);
    EXPECT_LE(server_end.at - blackholed, kWriteTimeout * 1.25 + close_extra + kSlack);
    EXPECT_GT(server_end.stat.queued_bytes, 0u) << "the write timeout needs a stalled queue";
    EXPECT_TRUE(server_side.HasError("write timeout")) << server_side.ErrorsText();
    // The client's session: nothing received for idle_timeout.
    const ClosedSession client_end = client_side.closed()[0];
    EXPECT_GE(client_end.at - client_end.stat.last_read, kIdleTimeout);
    EXPECT_LE(client_end.at - blackholed, kIdleTimeout * 1.25 + close_extra + kSlack);
    EXPECT_TRUE(client_side.HasError("idle timeout")) << client_side.ErrorsText();

    // The slot keeps trying while the path is down: its SYNs vanish and each attempt times out.
    ASSERT_TRUE(Eventually([&] { return client_sessions_opened() == 1 && failures_() >= 2; },
                           absl::Seconds(10)))
        << "connect failures: " << failures_();
    EXPECT_EQ(client_side.opens(), 1);

    // Taken before the rules go: the bound then covers the time nft takes, too.
    const absl::Time healed = absl::Now();
    ASSERT_TRUE(nft_.DeleteRules(*rules).ok());
    ASSERT_TRUE(Eventually([&] { return client_side.opens() == 2; }, kReconnectBound))
        << "no reconnect within " << kReconnectBound << " of the path healing";
    const absl::Duration reconnected = absl::Now() - healed;
    EXPECT_LE(reconnected, kReconnectBound);
    std::printf(
        "blackhole: server closed %s after it and %s after its last progress (%llu bytes "
        "stalled), client %s after it and %s after its last read; %llu failed connects; "
        "reconnected %s after healing\n",
        absl::FormatDuration(server_end.at - blackholed).c_str(),
        absl::FormatDuration(server_end.at - server_end.stat.last_write).c_str(),
        static_cast<unsigned long long>(server_end.stat.queued_bytes),
        absl::FormatDuration(client_end.at - blackholed).c_str(),
        absl::FormatDuration(client_end.at - client_end.stat.last_read).c_str(),
        static_cast<unsigned long long>(failures_()), absl::FormatDuration(reconnected).c_str());
    // And the new session streams from the start again, every byte in order.
    const net::SessionHandle second = client_side.sessions()[1];
    EXPECT_TRUE(
        Eventually([&] { return client_side.received(second) >= (256 << 10); }, absl::Seconds(10)));
    EXPECT_EQ(client_side.first_mismatch(), -1);
    EXPECT_EQ(server_side.write_failures(), 0);
    EXPECT_EQ(server_side.double_closes(), 0);
    EXPECT_EQ(client_side.double_closes(), 0);
  }

  NftTable nft_;
  std::unique_ptr<runtime::EventLoopGroup> group_;
  std::function<uint64_t()> failures_;
};

TEST_F(BlackholeTest, TcpTimeoutsCloseWithinTheirBoundAndTheClientReconnectsAfterHealing) {
  auto streamer = std::make_shared<PatternStreamer>(kPiece);
  net::TcpServerOptions server_options;
  server_options.listen = InetAddress::Loopback(0);
  server_options.new_session = [streamer](SessionConfig& c) {
    c.listener = streamer;
    c.options.cron_period = kCron;
    c.options.write_timeout = kWriteTimeout;
    return absl::OkStatus();
  };
  auto server = net::TcpServer::Create(group_.get(), server_options);
  ASSERT_TRUE(server.ok()) << server.status();

  auto checker = std::make_shared<PatternChecker>();
  net::TcpClientOptions client_options;
  client_options.server = (*server)->address();
  client_options.connect_timeout = kConnectTimeout;
  client_options.reconnect_initial_backoff = kInitialBackoff;
  client_options.reconnect_max_backoff = kMaxBackoff;
  client_options.new_session = [checker](SessionConfig& c) {
    c.listener = checker;
    c.options.idle_timeout = kIdleTimeout;
    return absl::OkStatus();
  };
  auto client = net::TcpClient::Create(group_.get(), client_options);
  ASSERT_TRUE(client.ok()) << client.status();
  net::TcpClient* raw = client->get();
  failures_ = [raw] { return raw->stats().connect_failures; };

  BlackholeAndHeal((*server)->address().port(), *streamer, *checker,
                   [raw] { return raw->stats().sessions_opened; }, absl::ZeroDuration());

  (*client)->Close();
  EXPECT_TRUE((*client)->WaitClosed(absl::Seconds(10)));
  (*server)->Close();
  EXPECT_TRUE((*server)->WaitClosed(absl::Seconds(10)));
}

TEST_F(BlackholeTest, WebSocketTimeoutsCloseWithinTheirBoundAndTheClientReconnectsAfterHealing) {
  // The timeouts fail the session with 1001 and start the close handshake; through the
  // blackhole it cannot finish, so close_timeout ends it.
  constexpr absl::Duration kCloseTimeout = absl::Milliseconds(300);
  auto streamer = std::make_shared<PatternStreamer>(kPiece);
  net::WsServerOptions server_options;
  server_options.listen = InetAddress::Loopback(0);
  server_options.path = "/stream";
  server_options.close_timeout = kCloseTimeout;
  server_options.new_session = [streamer](SessionConfig& c) {
    c.listener = streamer;
    c.options.cron_period = kCron;
    c.options.write_timeout = kWriteTimeout;
    c.options.close_linger = absl::Seconds(1);
    return absl::OkStatus();
  };
  auto server = net::WsServer::Create(group_.get(), server_options);
  ASSERT_TRUE(server.ok()) << server.status();

  auto checker = std::make_shared<PatternChecker>();
  net::WsClientOptions client_options;
  client_options.url = absl::StrCat("ws://", (*server)->address().ToString(), "/stream");
  client_options.close_timeout = kCloseTimeout;
  client_options.connect_timeout = kConnectTimeout;
  client_options.reconnect_initial_backoff = kInitialBackoff;
  client_options.reconnect_max_backoff = kMaxBackoff;
  client_options.new_session = [checker](SessionConfig& c) {
    c.listener = checker;
    c.options.idle_timeout = kIdleTimeout;
    c.options.close_linger = absl::Seconds(1);
    return absl::OkStatus();
  };
  auto client = net::WsClient::Create(group_.get(), client_options);
  ASSERT_TRUE(client.ok()) << client.status();
  net::WsClient* raw = client->get();
  failures_ = [raw] { return raw->stats().connect_failures; };

  BlackholeAndHeal((*server)->address().port(), *streamer, *checker,
                   [raw] { return raw->stats().sessions_opened; }, kCloseTimeout);

  (*client)->Close();
  EXPECT_TRUE((*client)->WaitClosed(absl::Seconds(10)));
  (*server)->Close();
  EXPECT_TRUE((*server)->WaitClosed(absl::Seconds(10)));
}

}  // namespace
}  // namespace ringnet::faults
