// UDP endpoints on loopback, against plain POSIX datagram sockets: the facts of getty's UDP notes
// (connected vs unconnected), made real.
#include <liburing.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringnet/codec/length_field_codec.h"
#include "ringnet/net/udp_client.h"
#include "ringnet/net/udp_endpoint.h"
#include "ringnet/test/net_test_util.h"

namespace ringnet::net {
namespace {

using testing::PlainUdpSocket;
using testing::RecordingListener;

bool HasError(const std::vector<absl::Status>& errors, absl::string_view text) {
  for (const absl::Status& e : errors) {
    if (e.message().find(text) != absl::string_view::npos) return true;
  }
  return false;
}

class UdpTest : public ::testing::TestWithParam<bool> {  // param: IPv6
 protected:
  void SetUp() override {
    runtime::EventLoopOptions loop_options;
    loop_options.buffers_per_ring = 16;  // small, so a burst exhausts it
    auto g = runtime::EventLoopGroup::Create(1, loop_options);
    ASSERT_TRUE(g.ok()) << g.status();
    group_ = *std::move(g);
  }
  void TearDown() override {
    endpoint_.reset();
    client_.reset();
    group_->Stop();
  }
  InetAddress Loopback(uint16_t port = 0) const { return InetAddress::Loopback(port, GetParam()); }

  // An unconnected endpoint that echoes every datagram to its sender (unless `on_message`, set
  // here before the endpoint starts, handles them instead).
  void StartEchoEndpoint(
      std::function<void(SessionConfig&)> configure = {},
      std::function<void(const SessionHandle&, Package&, const InetAddress&)> on_message = {}) {
    if (on_message) {
      echo_->on_message = std::move(on_message);
    } else {
      echo_->on_message = [](const SessionHandle& s, Package& pkg, const InetAddress& from) {
        EXPECT_TRUE(s.WriteBytesTo(pkg.bytes(), from).ok());
      };
    }
    UdpEndpointOptions options;
    options.bind = Loopback();
    options.receive_buffer_bytes = 4 << 20;
    options.new_session = [this, configure](SessionConfig& c) {
      c.listener = echo_;
      if (configure) configure(c);
      return absl::OkStatus();
    };
    auto e = UdpEndpoint::Create(group_.get(), std::move(options));
    ASSERT_TRUE(e.ok()) << e.status();
    endpoint_ = *std::move(e);
  }

  void StartClient(const InetAddress& server, std::function<void(SessionConfig&)> configure = {}) {
    UdpClientOptions options;
    options.server = server;
    options.new_session = [this, configure](SessionConfig& c) {
      c.listener = client_listener_;
      if (configure) configure(c);
      return absl::OkStatus();
    };
    auto c = UdpClient::Create(group_.get(), std::move(options));
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = *std::move(c);
    ASSERT_TRUE(client_listener_->WaitFor([&] { return client_listener_->opens() == 1; }));
  }

  PlainUdpSocket Peer() {
    auto p = PlainUdpSocket::Bind(Loopback());
    EXPECT_TRUE(p.ok()) << p.status();
    return *std::move(p);
  }

  std::unique_ptr<runtime::EventLoopGroup> group_;
  std::shared_ptr<RecordingListener> echo_ = std::make_shared<RecordingListener>();
  std::shared_ptr<RecordingListener> client_listener_ = std::make_shared<RecordingListener>();
  std::unique_ptr<UdpEndpoint> endpoint_;
  std::unique_ptr<UdpClient> client_;
};

TEST_P(UdpTest, UnconnectedEndpointEchoesEverySizeToItsSender) {
  StartEchoEndpoint();
  EXPECT_EQ(endpoint_->address().is_ipv6(), GetParam());
  EXPECT_EQ(endpoint_->session().kind(), SessionKind::kUdp);
  PlainUdpSocket peer = Peer();
  for (size_t size : {size_t{0}, size_t{1}, size_t{1472}, size_t{65507}}) {
    std::string payload(size, '\0');
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i * 13 + size);
    ASSERT_TRUE(peer.SendTo(payload, endpoint_->address()).ok());
    auto reply = peer.Receive();
    ASSERT_TRUE(reply.ok()) << size << ": " << reply.status();
    EXPECT_EQ(reply->first, payload) << "size " << size;
    EXPECT_EQ(reply->second, endpoint_->address());
  }
  EXPECT_EQ(endpoint_->session().Stat().packages_in, 4u);
}

TEST_P(UdpTest, ConnectedClientSendsAndReceivesWithoutAddresses) {
  StartEchoEndpoint();
  StartClient(endpoint_->address());
  SessionHandle s = client_->Sessions().at(0);
  EXPECT_EQ(s.kind(), SessionKind::kUdpConnected);
  EXPECT_EQ(s.RemoteAddress(), endpoint_->address());
  for (size_t size : {size_t{0}, size_t{1}, size_t{1472}, size_t{65507}}) {
    ASSERT_TRUE(s.WriteBytes(std::string(size, 'c')).ok()) << size;
  }
  ASSERT_TRUE(client_listener_->WaitFor([&] { return client_listener_->messages().size() == 4; },
                                        absl::Seconds(3)))
      << client_listener_->messages().size() << " messages; errors: "
      << (client_listener_->errors().empty() ? "none" : client_listener_->errors()[0].ToString())
      << "; server errors: " << (echo_->errors().empty() ? "none" : echo_->errors()[0].ToString())
      << " server got " << echo_->messages().size();
  std::vector<std::string> got = client_listener_->messages();
  std::vector<size_t> sizes;
  for (const auto& m : got) sizes.push_back(m.size());
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<size_t>{0, 1, 1472, 65507}));
}

TEST_P(UdpTest, ManyPeersIntoOneEndpointGetTheirOwnReplies) {
  StartEchoEndpoint();
  constexpr int kPeers = 40;
  constexpr int kEach = 20;
  std::vector<PlainUdpSocket> peers;
  for (int p = 0; p < kPeers; ++p) peers.push_back(Peer());
  for (int i = 0; i < kEach; ++i) {
    for (int p = 0; p < kPeers; ++p) {
      ASSERT_TRUE(peers[p].SendTo(absl::StrCat("peer", p, "-", i), endpoint_->address()).ok());
    }
  }
  for (int p = 0; p < kPeers; ++p) {
    std::vector<std::string> got;
    for (int i = 0; i < kEach; ++i) {
      auto reply = peers[p].Receive();
      ASSERT_TRUE(reply.ok()) << reply.status();
      got.push_back(reply->first);
    }
    std::sort(got.begin(), got.end());
    std::vector<std::string> want;
    for (int i = 0; i < kEach; ++i) want.push_back(absl::StrCat("peer", p, "-", i));
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want) << "peer " << p;
  }
}

TEST_P(UdpTest, ConnectedSessionIgnoresAStranger) {
  PlainUdpSocket server = Peer();
  StartClient(server.address());
  SessionHandle s = client_->Sessions().at(0);
  PlainUdpSocket stranger = Peer();
  ASSERT_TRUE(stranger.SendTo("from a stranger", s.LocalAddress()).ok());
  ASSERT_TRUE(server.SendTo("from the peer", s.LocalAddress()).ok());
  ASSERT_TRUE(client_listener_->WaitFor([&] { return !client_listener_->messages().empty(); }));
  // Loopback delivers in order: had the stranger's datagram not been dropped, it came first.
  EXPECT_EQ(client_listener_->messages(), std::vector<std::string>{"from the peer"});
}

TEST_P(UdpTest, EconnrefusedAfterThePeerClosesReachesOnErrorAndTheSessionStays) {
  PlainUdpSocket server = Peer();
  StartClient(server.address());
  SessionHandle s = client_->Sessions().at(0);
  ASSERT_TRUE(s.WriteBytes("hello").ok());
  ASSERT_TRUE(server.Receive().ok());
  server.Close();
  ASSERT_TRUE(s.WriteBytes("anyone?").ok());  // the ICMP error comes back
  ASSERT_TRUE(client_listener_->WaitFor(
      [&] { return HasError(client_listener_->errors(), "ECONNREFUSED"); }));
  EXPECT_TRUE(HasError(client_listener_->errors(), "ICMP port unreachable"));
  EXPECT_FALSE(s.IsClosed());
  // Still usable: switch to a live peer.
  PlainUdpSocket other = Peer();
  ASSERT_TRUE(s.Connect(other.address()).ok());
  ASSERT_TRUE(s.WriteBytes("again").ok());
  auto got = other.Receive();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->first, "again");
}

TEST_P(UdpTest, CloseOnIcmpErrorClosesAndTheSlotReconnects) {
  PlainUdpSocket server = Peer();
  StartClient(server.address(), [](SessionConfig& c) { c.options.close_on_icmp_error = true; });
  SessionHandle s = client_->Sessions().at(0);
  server.Close();
  ASSERT_TRUE(s.WriteBytes("x").ok());
  ASSERT_TRUE(client_listener_->WaitFor([&] { return client_listener_->closes() == 1; }));
  ASSERT_TRUE(client_listener_->WaitFor([&] { return client_listener_->opens() == 2; }));
}

TEST_P(UdpTest, PeerSwitchSendsToTheNewPeerAndDropsTheOld) {
  PlainUdpSocket first = Peer();
  PlainUdpSocket second = Peer();
  StartClient(first.address());
  SessionHandle s = client_->Sessions().at(0);
  ASSERT_TRUE(s.Connect(second.address()).ok());  // from this thread: applied on the loop, in order
  ASSERT_TRUE(s.WriteBytes("to second").ok());
  auto got = second.Receive();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->first, "to second");
  EXPECT_EQ(s.RemoteAddress(), second.address());
  ASSERT_TRUE(first.SendTo("old peer", s.LocalAddress()).ok());
  ASSERT_TRUE(second.SendTo("new peer", s.LocalAddress()).ok());
  ASSERT_TRUE(client_listener_->WaitFor([&] { return !client_listener_->messages().empty(); }));
  EXPECT_EQ(client_listener_->messages(), std::vector<std::string>{"new peer"});
  EXPECT_EQ(s.Connect(InetAddress::Loopback(1, !GetParam())).code(),
            absl::StatusCode::kInvalidArgument);  // other address family
}

TEST_P(UdpTest, MisuseErrorsAreClearStatusesFromAnyThread) {
  StartEchoEndpoint();
  StartClient(endpoint_->address());
  const SessionHandle unconnected = endpoint_->session();
  const SessionHandle connected = client_->Sessions().at(0);
  for (int on_other_thread = 0; on_other_thread < 2; ++on_other_thread) {
    auto check = [&] {
      absl::Status a = unconnected.WriteBytes("x");
      EXPECT_EQ(a.code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_NE(a.message().find("destination address required"), std::string::npos) << a;
      EXPECT_EQ(unconnected.WritePkg(Package::View("x")).code(),
                absl::StatusCode::kFailedPrecondition);
      absl::Status b = connected.WriteBytesTo("x", endpoint_->address());
      EXPECT_EQ(b.code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_NE(b.message().find("pre-connected"), std::string::npos) << b;
      EXPECT_EQ(unconnected.Connect(endpoint_->address()).code(),
                absl::StatusCode::kFailedPrecondition);
    };
    if (on_other_thread) {
      check();
    } else {
      std::promise<void> done;
      group_->loop(0)->Post([&] {
        check();
        done.set_value();
      });
      done.get_future().wait();
    }
  }
  EXPECT_TRUE(client_listener_->errors().empty());
}

TEST_P(UdpTest, OversizeWritesFailAndTruncatedArrivalsAreReportedNotDelivered) {
  StartEchoEndpoint([](SessionConfig& c) { c.options.max_datagram = 1000; });
  PlainUdpSocket peer = Peer();
  const SessionHandle s = endpoint_->session();
  absl::Status big = s.WriteBytesTo(std::string(1001, 'b'), peer.address());
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(big.message().find("exceeds max_datagram 1000"), std::string::npos) << big;
  ASSERT_TRUE(peer.SendTo(std::string(2000, 't'), endpoint_->address()).ok());
  ASSERT_TRUE(peer.SendTo("small", endpoint_->address()).ok());
  auto reply = peer.Receive();
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->first, "small");  // the truncated one was not echoed
  EXPECT_TRUE(HasError(echo_->errors(), "datagram of 2000 bytes"));
  EXPECT_TRUE(HasError(echo_->errors(), "truncated, dropped"));
}

TEST_P(UdpTest, ConnectedTruncationIsReportedToo) {
  PlainUdpSocket server = Peer();
  StartClient(server.address(), [](SessionConfig& c) { c.options.max_datagram = 100; });
  SessionHandle s = client_->Sessions().at(0);
  ASSERT_TRUE(server.SendTo(std::string(300, 'z'), s.LocalAddress()).ok());
  ASSERT_TRUE(server.SendTo("ok", s.LocalAddress()).ok());
  ASSERT_TRUE(client_listener_->WaitFor([&] { return !client_listener_->messages().empty(); }));
  EXPECT_EQ(client_listener_->messages(), std::vector<std::string>{"ok"});
  EXPECT_TRUE(HasError(client_listener_->errors(), "datagram of 300 bytes"));
}

TEST_P(UdpTest, ACodecErrorDropsOneDatagramAndKeepsTheEndpoint) {
  StartEchoEndpoint(
      [](SessionConfig& c) { c.codec = std::make_shared<codec::LengthFieldCodec>(64); });
  PlainUdpSocket peer = Peer();
  ASSERT_TRUE(peer.SendTo(std::string("\0\0\x10\0oops", 8), endpoint_->address()).ok());  // 4096
  ASSERT_TRUE(peer.SendTo(std::string("\0\0\0\2hi", 6), endpoint_->address()).ok());
  ASSERT_TRUE(peer.SendTo(std::string("\0\0\0\2hi!", 7), endpoint_->address()).ok());  // trailing
  auto reply = peer.Receive();
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->first, "hi");
  ASSERT_TRUE(echo_->WaitFor([&] { return echo_->errors().size() == 2; }));
  EXPECT_TRUE(HasError(echo_->errors(), "exceeds the maximum 64"));
  EXPECT_TRUE(HasError(echo_->errors(), "1 bytes after the package"));
  EXPECT_FALSE(endpoint_->session().IsClosed());
}

TEST_P(UdpTest, ABurstThatExhaustsTheBufferRingIsStillReceived) {
  std::atomic<int> received{0};
  // The handler is set before the endpoint starts: replacing it later races with the loop
  // thread (TSan caught exactly that).
  StartEchoEndpoint({}, [&](const SessionHandle&, Package&, const InetAddress&) { ++received; });
  PlainUdpSocket peer = Peer();
  // Hold the loop while 200 datagrams queue in the socket: 16 buffers cannot take them at once.
  std::mutex mutex;
  std::condition_variable cv;
  bool hold = true;
  group_->loop(0)->Post([&] {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return !hold; });
  });
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(peer.SendTo("burst", endpoint_->address()).ok());
  {
    std::lock_guard<std::mutex> lock(mutex);
    hold = false;
  }
  cv.notify_all();
  ASSERT_TRUE(echo_->WaitFor([&] { return received.load() == 200; }));
  std::promise<uint64_t> exhaustions;
  runtime::EventLoop* loop = group_->loop(0);
  loop->Post([&] {
    // The UDP ring's buffers: max_datagram plus recvmsg's header and the sender's address.
    auto ring = loop->GetBufferRing(65507 + sizeof(io_uring_recvmsg_out) + 32);
    exhaustions.set_value(ring.ok() ? (*ring)->exhaustions() : 0);
  });
  // Single-shot receives (kernels before 6.0) take one buffer at a time and never run out.
  const bool single_shot = loop->backend() == runtime::Backend::kIoUring && !loop->multishot();
  if (single_shot) {
    EXPECT_EQ(exhaustions.get_future().get(), 0u);
  } else {
    EXPECT_GT(exhaustions.get_future().get(), 0u);
  }
}

TEST_P(UdpTest, ABurstBeyondTheSendWindowLeavesInOrderAndCloseSendsItAll) {
  StartEchoEndpoint();
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  constexpr int kBurst = 5000;  // ten times the session's send window
  const SessionHandle s = endpoint_->session();
  group_->loop(0)->Post([&] {
    for (int i = 0; i < kBurst; ++i) {
      ASSERT_TRUE(s.WriteBytesTo(absl::StrCat("datagram ", i), receiver.address()).ok());
    }
    s.Close();  // graceful: the datagrams still waiting for the window leave first
  });
  for (int i = 0; i < kBurst; ++i) {
    auto got = receiver.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, absl::StrCat("datagram ", i));
  }
  EXPECT_TRUE(endpoint_->WaitClosed(absl::Seconds(30)));
  EXPECT_EQ(echo_->closes(), 1);
}

// Per-peer sessions: an unconnected endpoint that gives each sender a session of its own.
class UdpPeerSessionTest : public UdpTest {
 protected:
  void StartPeerEndpoint(absl::Duration idle, size_t max_peers = 64) {
    echo_->on_message = [](const SessionHandle& s, Package& pkg, const InetAddress&) {
      // A peer session writes back without naming the peer.
      EXPECT_TRUE(s.WriteBytes(absl::StrCat("to you: ", pkg.bytes())).ok());
    };
    UdpEndpointOptions options;
    options.bind = Loopback();
    options.per_peer_sessions = true;
    options.peer_idle_timeout = idle;
    options.max_peers = max_peers;
    options.new_session = [this](SessionConfig& c) {
      c.listener = echo_;
      return absl::OkStatus();
    };
    auto e = UdpEndpoint::Create(group_.get(), std::move(options));
    ASSERT_TRUE(e.ok()) << e.status();
    endpoint_ = *std::move(e);
  }

  int PeerSessionsOpened() {
    int n = 0;
    for (const SessionHandle& s : echo_->sessions()) n += s.kind() == SessionKind::kUdpPeer;
    return n;
  }
};

TEST_P(UdpPeerSessionTest, EachSenderGetsItsOwnSessionAndRepliesNeedNoAddress) {
  StartPeerEndpoint(absl::Minutes(1));
  PlainUdpSocket a = Peer();
  PlainUdpSocket b = Peer();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(a.SendTo(absl::StrCat("a", i), endpoint_->address()).ok());
    ASSERT_TRUE(b.SendTo(absl::StrCat("b", i), endpoint_->address()).ok());
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.Receive()->first, absl::StrCat("to you: a", i));
    EXPECT_EQ(b.Receive()->first, absl::StrCat("to you: b", i));
  }
  EXPECT_EQ(PeerSessionsOpened(), 2);
  for (const SessionHandle& s : echo_->sessions()) {
    if (s.kind() != SessionKind::kUdpPeer) continue;
    EXPECT_TRUE(s.RemoteAddress() == a.address() || s.RemoteAddress() == b.address());
    EXPECT_EQ(s.Stat().packages_in, 3u);
    EXPECT_EQ(s.WriteBytesTo("x", a.address()).code(), absl::StatusCode::kFailedPrecondition);
  }
}

TEST_P(UdpPeerSessionTest, ASilentPeerExpiresAndComesBackAsANewSession) {
  StartPeerEndpoint(absl::Milliseconds(50));
  PlainUdpSocket a = Peer();
  ASSERT_TRUE(a.SendTo("first", endpoint_->address()).ok());
  ASSERT_TRUE(a.Receive().ok());
  ASSERT_TRUE(echo_->WaitFor([&] { return echo_->closes() == 1; }));  // idle expiry
  ASSERT_TRUE(a.SendTo("again", endpoint_->address()).ok());
  EXPECT_EQ(a.Receive()->first, "to you: again");
  EXPECT_EQ(PeerSessionsOpened(), 2);
  EXPECT_EQ(echo_->protocol_violations(), 0);
}

TEST_P(UdpPeerSessionTest, BeyondMaxPeersNewSendersAreDroppedWithAClearError) {
  StartPeerEndpoint(absl::Minutes(1), /*max_peers=*/1);
  PlainUdpSocket a = Peer();
  PlainUdpSocket b = Peer();
  ASSERT_TRUE(a.SendTo("a", endpoint_->address()).ok());
  ASSERT_TRUE(a.Receive().ok());
  ASSERT_TRUE(b.SendTo("b", endpoint_->address()).ok());
  ASSERT_TRUE(echo_->WaitFor([&] { return HasError(echo_->errors(), "max_peers"); }));
  ASSERT_TRUE(a.SendTo("a again", endpoint_->address()).ok());
  EXPECT_EQ(a.Receive()->first, "to you: a again");
  EXPECT_EQ(PeerSessionsOpened(), 1);
}

TEST_P(UdpPeerSessionTest, ClosingTheEndpointClosesItsPeers) {
  StartPeerEndpoint(absl::Minutes(1));
  PlainUdpSocket a = Peer();
  PlainUdpSocket b = Peer();
  ASSERT_TRUE(a.SendTo("a", endpoint_->address()).ok());
  ASSERT_TRUE(b.SendTo("b", endpoint_->address()).ok());
  ASSERT_TRUE(a.Receive().ok());
  ASSERT_TRUE(b.Receive().ok());
  endpoint_->Close();
  ASSERT_TRUE(endpoint_->WaitClosed(absl::Seconds(30)));
  EXPECT_EQ(echo_->closes(), 3);  // two peers and the endpoint's own session
  EXPECT_EQ(echo_->protocol_violations(), 0);
}

INSTANTIATE_TEST_SUITE_P(Families, UdpPeerSessionTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "IPv6" : "IPv4"; });

INSTANTIATE_TEST_SUITE_P(Families, UdpTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "IPv6" : "IPv4"; });

}  // namespace
}  // namespace ringnet::net
