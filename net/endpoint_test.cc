// Endpoint: every endpoint type closes, waits and lists its sessions through the one base class,
// and can be owned and destroyed through it.
#include "ringnet/net/endpoint.h"

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/net/tcp_client.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/net/udp_client.h"
#include "ringnet/net/udp_endpoint.h"
#include "ringnet/net/ws_client.h"
#include "ringnet/net/ws_server.h"
#include "ringnet/test/net_test_util.h"

namespace ringnet::net {
namespace {

using testing::RecordingListener;

NewSessionCallback With(const std::shared_ptr<RecordingListener>& listener) {
  return [listener](SessionConfig& c) {
    c.listener = listener;
    return absl::OkStatus();
  };
}

// Polls `done` (session counts change on loop threads, after the listener's events); false after
// 30 s.
bool Eventually(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

template <typename T>
std::unique_ptr<Endpoint> Own(absl::StatusOr<std::unique_ptr<T>> created) {
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? std::unique_ptr<Endpoint>(*std::move(created)) : nullptr;
}

TEST(EndpointTest, EveryEndpointClosesWaitsAndListsSessionsThroughTheBase) {
  auto group = runtime::EventLoopGroup::Create(2);
  ASSERT_TRUE(group.ok()) << group.status();
  auto servers = std::make_shared<RecordingListener>();
  auto clients = std::make_shared<RecordingListener>();

  TcpServerOptions tcp_server;
  tcp_server.listen = InetAddress::Loopback(0);
  tcp_server.new_session = With(servers);
  absl::StatusOr<std::unique_ptr<TcpServer>> tcp = TcpServer::Create(group->get(), tcp_server);
  ASSERT_TRUE(tcp.ok()) << tcp.status();
  const InetAddress tcp_address = (*tcp)->address();
  WsServerOptions ws_server;
  ws_server.listen = InetAddress::Loopback(0);
  ws_server.new_session = With(servers);
  absl::StatusOr<std::unique_ptr<WsServer>> ws = WsServer::Create(group->get(), ws_server);
  ASSERT_TRUE(ws.ok()) << ws.status();
  const std::string ws_url = "ws://" + (*ws)->address().ToString() + "/";
  UdpEndpointOptions udp_endpoint;
  udp_endpoint.bind = InetAddress::Loopback(0);
  udp_endpoint.new_session = With(servers);
  absl::StatusOr<std::unique_ptr<UdpEndpoint>> udp =
      UdpEndpoint::Create(group->get(), udp_endpoint);
  ASSERT_TRUE(udp.ok()) << udp.status();
  const InetAddress udp_address = (*udp)->address();

  std::vector<std::unique_ptr<Endpoint>> endpoints;
  endpoints.push_back(std::move(*tcp));
  endpoints.push_back(std::move(*ws));
  endpoints.push_back(std::move(*udp));
  TcpClientOptions tcp_client;
  tcp_client.server = tcp_address;
  tcp_client.connections = 2;
  tcp_client.new_session = With(clients);
  endpoints.push_back(Own(TcpClient::Create(group->get(), tcp_client)));
  WsClientOptions ws_client;
  ws_client.url = ws_url;
  ws_client.connections = 2;
  ws_client.new_session = With(clients);
  endpoints.push_back(Own(WsClient::Create(group->get(), ws_client)));
  UdpClientOptions udp_client;
  udp_client.server = udp_address;
  udp_client.connections = 2;
  udp_client.new_session = With(clients);
  endpoints.push_back(Own(UdpClient::Create(group->get(), udp_client)));
  for (const auto& e : endpoints) ASSERT_NE(e, nullptr);

  // TCP and WS servers: 2 each; the UDP endpoint: its own session. Clients: 2 each.
  const std::vector<size_t> expected = {2, 2, 1, 2, 2, 2};
  for (size_t i = 0; i < endpoints.size(); ++i) {
    Endpoint& e = *endpoints[i];
    ASSERT_TRUE(Eventually([&] { return e.session_count() == expected[i]; })) << i;
    EXPECT_EQ(e.Sessions().size(), expected[i]) << i;
  }

  // From a loop thread WaitClosed refuses at once (it would deadlock).
  std::promise<bool> on_loop;
  ASSERT_TRUE((*group)->loop(0)->Post([&] { on_loop.set_value(endpoints[0]->WaitClosed()); }));
  EXPECT_FALSE(on_loop.get_future().get());

  for (const auto& e : endpoints) {
    e->Close();
    e->Close();  // idempotent
  }
  for (size_t i = 0; i < endpoints.size(); ++i) {
    EXPECT_TRUE(endpoints[i]->WaitClosed(absl::Seconds(30))) << i;
    EXPECT_EQ(endpoints[i]->session_count(), 0u) << i;
    EXPECT_TRUE(endpoints[i]->Sessions().empty()) << i;
  }
  EXPECT_EQ(servers->opens(), servers->closes());
  EXPECT_EQ(clients->opens(), clients->closes());
  endpoints.clear();  // destroyed through the base: returns at once, everything is gone
}

// The destructor closes and waits: sessions are closed (OnClose ran) once it returns.
TEST(EndpointTest, DestroyingThroughTheBaseClosesAndWaits) {
  auto group = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(group.ok()) << group.status();
  auto listener = std::make_shared<RecordingListener>();
  TcpServerOptions server_options;
  server_options.listen = InetAddress::Loopback(0);
  server_options.new_session = With(listener);
  std::unique_ptr<Endpoint> server = Own(TcpServer::Create(group->get(), server_options));
  ASSERT_NE(server, nullptr);
  TcpClientOptions client_options;
  client_options.server = static_cast<TcpServer&>(*server).address();
  client_options.connections = 3;
  client_options.new_session = With(listener);
  std::unique_ptr<Endpoint> client = Own(TcpClient::Create(group->get(), client_options));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(listener->WaitFor([&] { return listener->opens() == 6; }));
  client.reset();
  server.reset();
  EXPECT_EQ(listener->closes(), 6);
}

}  // namespace
}  // namespace ringnet::net
