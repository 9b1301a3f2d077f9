// Fault 3: RST injection mid-transfer. Two servers stream the counting pattern to their clients,
// on ports P and Q; then an nft rule answers every segment on P with a RST (`reject with tcp
// reset`, both directions), so both ends of P's connection are reset by "the network". Each end
// must report it (OnError) and close exactly once; P's client slot keeps trying and is refused;
// Q's connection never notices; and once every endpoint is closed the process holds exactly the
// file descriptors it held before (nothing leaked on the reset path or the refused connects).
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/net/session.h"
#include "ringnet/net/tcp_client.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/runtime/event_loop_group.h"
#include "ringnet/test/faults/fault_util.h"
#include "ringnet/test/faults/netns.h"
#include "ringnet/test/net_test_util.h"

namespace ringnet::faults {
namespace {

using net::InetAddress;
using net::SessionConfig;
using testing::ErrorLog;

constexpr size_t kPiece = 16 << 10;
constexpr absl::Duration kCron = absl::Milliseconds(10);
// A reset is delivered as soon as the next segment crosses the rule (the stream sends one every
// 10 ms): the sessions close well within this.
constexpr absl::Duration kCloseBound = absl::Seconds(5);

// One server and one client streaming to it, on a port of its own.
struct StreamPair {
  void Start(runtime::EventLoopGroup* group, std::function<void(const absl::Status&)> on_error) {
    net::TcpServerOptions server_options;
    server_options.listen = InetAddress::Loopback(0);
    server_options.new_session = [s = streamer](SessionConfig& c) {
      c.listener = s;
      c.options.cron_period = kCron;
      return absl::OkStatus();
    };
    auto created = net::TcpServer::Create(group, server_options);
    ASSERT_TRUE(created.ok()) << created.status();
    server = *std::move(created);

    net::TcpClientOptions client_options;
    client_options.server = server->address();
    client_options.reconnect_initial_backoff = absl::Milliseconds(50);
    client_options.reconnect_max_backoff = absl::Milliseconds(200);
    client_options.on_error = std::move(on_error);
    client_options.new_session = [c = checker](SessionConfig& config) {
      config.listener = c;
      config.options.cron_period = kCron;  // its pings
      return absl::OkStatus();
    };
    auto client_created = net::TcpClient::Create(group, client_options);
    ASSERT_TRUE(client_created.ok()) << client_created.status();
    client = *std::move(client_created);
  }

  void Close() {
    if (client != nullptr) {
      client->Close();
      EXPECT_TRUE(client->WaitClosed(absl::Seconds(10)));
    }
    if (server != nullptr) {
      server->Close();
      EXPECT_TRUE(server->WaitClosed(absl::Seconds(10)));
    }
    client.reset();
    server.reset();
  }

  std::shared_ptr<PatternStreamer> streamer = std::make_shared<PatternStreamer>(kPiece);
  // The client pings too: each end sends, so the rule resets each end.
  std::shared_ptr<PatternChecker> checker = std::make_shared<PatternChecker>(64);
  std::unique_ptr<net::TcpServer> server;
  std::unique_ptr<net::TcpClient> client;
};

bool WasReset(const FaultListener& l) { return l.HasError("ECONNRESET") || l.HasError("EPIPE"); }

class ResetTest : public FaultTest {};

TEST_F(ResetTest, InjectedResetClosesOnlyTheAffectedSessionOnceAndLeaksNothing) {
  NftTable nft;
  ASSERT_TRUE(nft.Create().ok());
  auto group = runtime::EventLoopGroup::Create(2);
  ASSERT_TRUE(group.ok()) << group.status();
  const int fds_before = OpenFdCount();

  ErrorLog refused;
  StreamPair reset_pair;  // port P
  StreamPair other_pair;  // port Q
  reset_pair.Start(group->get(), refused.Sink());
  other_pair.Start(group->get(), nullptr);
  for (StreamPair* pair : {&reset_pair, &other_pair}) {
    ASSERT_TRUE(Eventually([&] { return pair->checker->total_received() >= (256 << 10); },
                           absl::Seconds(10)))
        << "a stream never got going";
  }

  const uint16_t port = reset_pair.server->address().port();
  const absl::Time reset_at = absl::Now();  // before nft: the bound covers its time too
  absl::StatusOr<std::vector<uint64_t>> rules = nft.ResetTcpPort(port);
  ASSERT_TRUE(rules.ok()) << rules.status();
  const uint64_t other_before = other_pair.checker->total_received();

  ASSERT_TRUE(Eventually(
      [&] { return reset_pair.streamer->closes() == 1 && reset_pair.checker->closes() == 1; },
      kCloseBound))
      << "server closes " << reset_pair.streamer->closes() << ", client closes "
      << reset_pair.checker->closes();
  const absl::Duration closed_after = absl::Now() - reset_at;
  EXPECT_TRUE(WasReset(*reset_pair.streamer)) << reset_pair.streamer->ErrorsText();
  EXPECT_TRUE(WasReset(*reset_pair.checker)) << reset_pair.checker->ErrorsText();
  EXPECT_EQ(reset_pair.checker->first_mismatch(), -1);

  // P's slot tries again: every SYN is answered with a RST, so each connect is refused, and no
  // second session opens.
  ASSERT_TRUE(Eventually([&] { return refused.size() >= 2; }, absl::Seconds(10)));
  {
    std::lock_guard<std::mutex> lock(refused.mutex);
    EXPECT_NE(refused.errors[0].message().find("ECONNREFUSED"), std::string::npos)
        << refused.errors[0];
  }
  // Q's stream carries on meanwhile, unaware: another 512 KiB in order, no close, no error.
  EXPECT_TRUE(
      Eventually([&] { return other_pair.checker->total_received() >= other_before + (512 << 10); },
                 absl::Seconds(10)));
  EXPECT_EQ(other_pair.checker->first_mismatch(), -1);
  EXPECT_EQ(other_pair.streamer->closes(), 0);
  EXPECT_EQ(other_pair.checker->closes(), 0);
  EXPECT_TRUE(other_pair.streamer->errors().empty()) << other_pair.streamer->ErrorsText();
  EXPECT_TRUE(other_pair.checker->errors().empty()) << other_pair.checker->ErrorsText();

  // Still exactly one close for P's sessions (nothing later, nothing twice), one open each.
  EXPECT_EQ(reset_pair.streamer->opens(), 1);
  EXPECT_EQ(reset_pair.checker->opens(), 1);
  EXPECT_EQ(reset_pair.streamer->closes(), 1);
  EXPECT_EQ(reset_pair.checker->closes(), 1);
  EXPECT_EQ(reset_pair.streamer->double_closes(), 0);
  EXPECT_EQ(reset_pair.checker->double_closes(), 0);
  std::printf("reset: both ends of port %u closed %s after the rule; %zu refused connects\n", port,
              absl::FormatDuration(closed_after).c_str(), refused.size());

  reset_pair.Close();
  other_pair.Close();
  EXPECT_EQ(other_pair.streamer->closes(), 1);
  EXPECT_EQ(other_pair.checker->closes(), 1);
  // Every socket the endpoints opened (sessions, listeners, the refused connects) is closed.
  EXPECT_TRUE(Eventually([&] { return OpenFdCount() == fds_before; }, absl::Seconds(5)))
      << OpenFdCount() << " descriptors open, " << fds_before << " before the endpoints";
}

}  // namespace
}  // namespace ringnet::faults
