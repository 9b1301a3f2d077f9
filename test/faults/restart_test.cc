// Fault 4: the server dies and comes back on the same port (in-process: the endpoint is destroyed,
// then a new one is created on its port). TcpClients lose their sessions, are refused while the
// port is closed, and reconnect within their capped backoff once it listens again; each new
// session echoes. A connected UdpClient hears ICMP port unreachable while the UdpEndpoint is gone
// (ECONNREFUSED through OnError), keeps its session, and its datagrams echo again once the
// endpoint is back.
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringnet/net/session.h"
#include "ringnet/net/tcp_client.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/net/udp_client.h"
#include "ringnet/net/udp_endpoint.h"
#include "ringnet/runtime/event_loop_group.h"
#include "ringnet/test/faults/fault_util.h"
#include "ringnet/test/faults/netns.h"
#include "ringnet/test/net_test_util.h"

namespace ringnet::faults {
namespace {

using net::InetAddress;
using net::Package;
using net::SessionConfig;
using net::SessionHandle;
using testing::ErrorLog;

constexpr absl::Duration kInitialBackoff = absl::Milliseconds(50);
constexpr absl::Duration kMaxBackoff = absl::Milliseconds(200);
// What a loaded machine (two shared vCPUs, sanitizers) may add to a bound.
constexpr absl::Duration kSlack = absl::Seconds(1);

// Echoes every package to where it came from (TCP, or unconnected UDP).
class EchoServer : public FaultListener {
 public:
  void OnMessage(const SessionHandle& s, Package& pkg, const InetAddress& from) override {
    if (s.kind() == net::SessionKind::kUdp) {
      (void)s.WriteBytesTo(pkg.bytes(), from);
    } else {
      (void)s.WritePkg(std::move(pkg));
    }
  }
};

// Writes a greeting naming its session on open and keeps what comes back, by session.
class GreetingClient : public FaultListener {
 public:
  static std::string Greeting(const SessionHandle& s) { return absl::StrCat("hello ", s.id()); }

  absl::Status OnOpen(const SessionHandle& s) override {
    absl::Status st = s.WriteBytes(Greeting(s));
    if (!st.ok()) return st;
    return FaultListener::OnOpen(s);
  }
  void OnMessage(const SessionHandle& s, Package& pkg, const InetAddress&) override {
    std::lock_guard<std::mutex> lock(mutex_);
    absl::StrAppend(&replies_[s.id()], pkg.bytes());
  }
  std::string reply(const SessionHandle& s) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = replies_.find(s.id());
    return it == replies_.end() ? "" : it->second;
  }

 private:
  absl::flat_hash_map<uint64_t, std::string> replies_;
};

// A connected UDP session that sends a numbered datagram every cron tick and counts echoes.
class PingingUdpClient : public FaultListener {
 public:
  void OnCron(const SessionHandle& s) override {
    (void)s.WriteBytes(absl::StrCat("ping ", next_++));  // refusals reach OnError
  }
  void OnMessage(const SessionHandle&, Package& pkg, const InetAddress&) override {
    if (absl::StartsWith(pkg.bytes(), "ping ")) echoes_.fetch_add(1);
  }
  void OnError(const SessionHandle& s, const absl::Status& error) override {
    if (absl::StrContains(error.message(), "ECONNREFUSED")) refusals_.fetch_add(1);
    FaultListener::OnError(s, error);
  }
  int echoes() const { return echoes_.load(); }
  int refusals() const { return refusals_.load(); }

 private:
  int next_ = 0;  // loop thread only
  std::atomic<int> echoes_{0};
  std::atomic<int> refusals_{0};
};

class RestartTest : public FaultTest {
 protected:
  // Only sockets and the loopback: no nft, tc or ip needed.
  std::vector<std::string> RequiredTools() const override { return {}; }
};

TEST_F(RestartTest, TcpClientsReconnectWithinTheirBackoffWhenTheServerComesBack) {
  constexpr int kConnections = 3;
  auto group = runtime::EventLoopGroup::Create(2);
  ASSERT_TRUE(group.ok()) << group.status();

  auto echo = std::make_shared<EchoServer>();
  net::TcpServerOptions server_options;
  server_options.listen = InetAddress::Loopback(0);
  server_options.new_session = [echo](SessionConfig& c) {
    c.listener = echo;
    return absl::OkStatus();
  };
  auto server = net::TcpServer::Create(group->get(), server_options);
  ASSERT_TRUE(server.ok()) << server.status();
  const InetAddress address = (*server)->address();

  auto greeter = std::make_shared<GreetingClient>();
  ErrorLog refused;
  net::TcpClientOptions client_options;
  client_options.server = address;
  client_options.connections = kConnections;
  client_options.reconnect_initial_backoff = kInitialBackoff;
  client_options.reconnect_max_backoff = kMaxBackoff;
  client_options.on_error = refused.Sink();
  client_options.new_session = [greeter](SessionConfig& c) {
    c.listener = greeter;
    return absl::OkStatus();
  };
  auto client = net::TcpClient::Create(group->get(), client_options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto all_greeted = [&](size_t from) {
    std::vector<SessionHandle> sessions = greeter->sessions();
    if (sessions.size() < from + kConnections) return false;
    for (size_t i = from; i < sessions.size(); ++i) {
      if (greeter->reply(sessions[i]) != GreetingClient::Greeting(sessions[i])) return false;
    }
    return true;
  };
  ASSERT_TRUE(Eventually([&] { return all_greeted(0); }, absl::Seconds(10)));

  // The server dies: its sessions close, the clients' close behind them, and every slot is
  // refused while nothing listens (the backoff climbs to its cap: 50, 100, 200, 200 ms...).
  server->reset();
  ASSERT_TRUE(Eventually([&] { return greeter->closes() == kConnections; }, absl::Seconds(10)));
  ASSERT_TRUE(Eventually([&] { return refused.size() >= 3 * kConnections; }, absl::Seconds(10)))
      << refused.size() << " refused connects";
  {
    std::lock_guard<std::mutex> lock(refused.mutex);
    EXPECT_NE(refused.errors[0].message().find("ECONNREFUSED"), std::string::npos)
        << refused.errors[0];
  }
  EXPECT_EQ(greeter->opens(), kConnections);

  // It comes back on the same port: each slot is at most one capped backoff (+20% jitter) away
  // from its next attempt, which succeeds.
  const absl::Time restarted = absl::Now();
  server_options.listen = address;
  server = net::TcpServer::Create(group->get(), server_options);
  ASSERT_TRUE(server.ok()) << server.status();
  const absl::Duration bound = kMaxBackoff * 1.2 + kSlack;
  ASSERT_TRUE(Eventually([&] { return greeter->opens() == 2 * kConnections; }, bound))
      << greeter->opens() - kConnections << " of " << kConnections << " slots reconnected within "
      << bound;
  const absl::Duration took = absl::Now() - restarted;
  EXPECT_TRUE(Eventually([&] { return all_greeted(kConnections); }, absl::Seconds(10)))
      << "a new session got no echo";
  EXPECT_EQ(echo->opens(), 2 * kConnections);
  EXPECT_EQ(greeter->double_closes(), 0);
  std::printf("restart: %zu refused connects while down; %d slots back %s after the restart\n",
              refused.size(), kConnections, absl::FormatDuration(took).c_str());

  (*client)->Close();
  EXPECT_TRUE((*client)->WaitClosed(absl::Seconds(10)));
  EXPECT_EQ(greeter->closes(), 2 * kConnections);
}

TEST_F(RestartTest, ConnectedUdpClientReportsRefusalsAndRecoversWhenTheEndpointReturns) {
  auto group = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(group.ok()) << group.status();

  auto echo = std::make_shared<EchoServer>();
  net::UdpEndpointOptions endpoint_options;
  endpoint_options.bind = InetAddress::Loopback(0);
  endpoint_options.new_session = [echo](SessionConfig& c) {
    c.listener = echo;
    return absl::OkStatus();
  };
  auto endpoint = net::UdpEndpoint::Create(group->get(), endpoint_options);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const InetAddress address = (*endpoint)->address();

  auto pinger = std::make_shared<PingingUdpClient>();
  net::UdpClientOptions client_options;
  client_options.server = address;
  client_options.new_session = [pinger](SessionConfig& c) {
    c.listener = pinger;
    c.options.cron_period = absl::Milliseconds(20);
    return absl::OkStatus();
  };
  auto client = net::UdpClient::Create(group->get(), client_options);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(Eventually([&] { return pinger->echoes() >= 5; }, absl::Seconds(10)));
  EXPECT_EQ(pinger->refusals(), 0);

  // The endpoint goes: the kernel answers each datagram with ICMP port unreachable, which the
  // connected socket reports as ECONNREFUSED. The session reports it and stays open.
  endpoint->reset();
  ASSERT_TRUE(Eventually([&] { return pinger->refusals() >= 3; }, absl::Seconds(5)))
      << "no ECONNREFUSED while the endpoint is gone: " << pinger->ErrorsText();
  EXPECT_TRUE(pinger->HasError("nothing listens there")) << pinger->ErrorsText();
  EXPECT_EQ(pinger->closes(), 0);
  EXPECT_EQ(pinger->opens(), 1);

  // It comes back on the same port: the same session's datagrams echo again.
  const int echoes_before = pinger->echoes();
  endpoint_options.bind = address;
  endpoint = net::UdpEndpoint::Create(group->get(), endpoint_options);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_TRUE(Eventually([&] { return pinger->echoes() >= echoes_before + 5; }, absl::Seconds(5)))
      << "no echo after the endpoint returned: " << pinger->ErrorsText();
  EXPECT_EQ(pinger->closes(), 0);
  EXPECT_EQ(pinger->opens(), 1);
  std::printf("restart: udp client saw %d refusals while the endpoint was gone\n",
              pinger->refusals());

  (*client)->Close();
  EXPECT_TRUE((*client)->WaitClosed(absl::Seconds(10)));
  (*endpoint)->Close();
  EXPECT_TRUE((*endpoint)->WaitClosed(absl::Seconds(10)));
}

}  // namespace
}  // namespace ringnet::faults
