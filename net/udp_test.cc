// UDP endpoints on loopback, against plain POSIX datagram sockets: the facts of getty's UDP notes
// (connected vs unconnected), made real.
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <initializer_list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringnet/codec/length_field_codec.h"
#include "ringnet/net/executor.h"
#include "ringnet/net/internal/udp_segment.h"
#include "ringnet/net/udp_client.h"
#include "ringnet/net/udp_endpoint.h"
#include "ringnet/runtime/buffer_ring.h"
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

// Whether this kernel takes a UDP GSO send (sendmsg with UDP_SEGMENT) on loopback: probed with
// a plain socket, so the tests below know how many send requests to expect.
bool KernelTakesUdpGso(bool ipv6) {
  const InetAddress loopback = InetAddress::Loopback(0, ipv6);
  const int receiver = ::socket(loopback.family(), SOCK_DGRAM, 0);
  const int sender = ::socket(loopback.family(), SOCK_DGRAM, 0);
  bool ok = false;
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::bind(receiver, loopback.sockaddr(), loopback.length()) == 0 &&
      ::getsockname(receiver, reinterpret_cast<sockaddr*>(&ss), &len) == 0 &&
      ::connect(sender, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    char payload[20] = {};
    iovec iov{payload, sizeof(payload)};
    internal::UdpSegmentControl control;
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    internal::SetUdpSegment(&msg, &control, 10);  // two datagrams of 10 bytes
    ok = ::sendmsg(sender, &msg, 0) == static_cast<ssize_t>(sizeof(payload));
  }
  ::close(sender);
  ::close(receiver);
  return ok;
}

// The descriptor of this process's datagram socket bound to `local` (a session's own socket,
// for tests that change its options underneath), or -1.
int DatagramSocketAt(const InetAddress& local) {
  for (int fd = 0; fd < 65536; ++fd) {
    int type = 0;
    socklen_t type_len = sizeof(type);
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0) continue;
    if (type != SOCK_DGRAM) continue;
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) continue;
    if (InetAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len) == local) return fd;
  }
  return -1;
}

// Datagram `index` of a test: `size` bytes that name their index.
std::string Datagram(int index, size_t size) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>(index * 31 + i * 7);
  return data;
}

// Polls until every byte `s` accepted has been sent (or failed): completions raise no listener
// event to wait on.
bool SendsSettle(const SessionHandle& s) {
  for (int i = 0; i < 30000; ++i) {
    if (s.Stat().queued_bytes == 0) return true;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return false;
}

// Makes the kernel refuse the GSO sends of the session bound to `local` (EINVAL), as a device
// without checksum offload would (EIO): the session's socket sends without UDP checksums, and
// the IPv6 `receivers` (which otherwise drop such datagrams) take them.
::testing::AssertionResult RefuseGso(const InetAddress& local,
                                     std::initializer_list<InetAddress> receivers) {
  const int fd = DatagramSocketAt(local);
  if (fd < 0) return ::testing::AssertionFailure() << "no socket at " << local.ToString();
  const int one = 1;
  if (!local.is_ipv6()) {
    if (::setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)) != 0) {
      return ::testing::AssertionFailure() << "SO_NO_CHECK: errno " << errno;
    }
    return ::testing::AssertionSuccess();
  }
  if (::setsockopt(fd, SOL_UDP, UDP_NO_CHECK6_TX, &one, sizeof(one)) != 0) {
    return ::testing::AssertionFailure() << "UDP_NO_CHECK6_TX: errno " << errno;
  }
  for (const InetAddress& receiver : receivers) {
    const int receiver_fd = DatagramSocketAt(receiver);
    if (receiver_fd < 0 ||
        ::setsockopt(receiver_fd, SOL_UDP, UDP_NO_CHECK6_RX, &one, sizeof(one)) != 0) {
      return ::testing::AssertionFailure() << "UDP_NO_CHECK6_RX at " << receiver.ToString();
    }
  }
  return ::testing::AssertionSuccess();
}

// Set by the flow-control tests around writes they make on the loop thread: a write callback
// that ran while it is set ran inside a write call.
std::atomic<bool> g_inside_write{false};

// What the flow-control tests look at, for every session it listens to: errors, writability
// changes and write callbacks (recorded with the time and whether the session had closed), opens
// and closes. Thread-safe; WaitFor wakes on every event.
class FlowListener : public EventListener {
 public:
  struct Error {
    uint64_t session;
    absl::Status status;
    absl::Time when;
    bool after_close;
  };
  struct Completion {
    int index;
    absl::Status status;
    bool on_loop_thread;
    bool inside_write;
    bool after_close;
    uint64_t bytes_out;  // the session's, when the callback ran
  };

  // Set before the sessions start (the loop thread reads it).
  std::function<void(const SessionHandle&, Package&, const InetAddress&)> on_message;

  absl::Status OnOpen(const SessionHandle& s) override {
    std::lock_guard<std::mutex> lock(mutex_);
    sessions_.push_back(s);
    Changed();
    return absl::OkStatus();
  }
  void OnClose(const SessionHandle& s) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (std::find(closed_.begin(), closed_.end(), s.id()) != closed_.end()) ++violations_;
    closed_.push_back(s.id());
    Changed();
  }
  void OnError(const SessionHandle& s, const absl::Status& error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    errors_.push_back(Error{s.id(), error, absl::Now(), IsClosedLocked(s)});
    Changed();
  }
  void OnWritabilityChanged(const SessionHandle& s, bool writable) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (IsClosedLocked(s)) ++violations_;
    writability_.push_back(writable);
    Changed();
  }
  void OnMessage(const SessionHandle& s, Package& pkg, const InetAddress& from) override {
    if (on_message) on_message(s, pkg, from);
  }

  // A write callback that records its run as number `index`.
  WriteCallback Record(const SessionHandle& s, int index) {
    return [this, s, index](const absl::Status& status) {
      const bool on_loop = s.loop()->IsInLoopThread();
      const uint64_t bytes_out = s.Stat().bytes_out;
      std::lock_guard<std::mutex> lock(mutex_);
      completions_.push_back(
          Completion{index, status, on_loop, g_inside_write.load(), IsClosedLocked(s), bytes_out});
      Changed();
    };
  }

  bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(30)) {
    const absl::Time deadline = absl::Now() + timeout;
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      const uint64_t seen = generation_;
      lock.unlock();
      if (done()) return true;  // unlocked: it may call the accessors
      lock.lock();
      if (!changed_.wait_until(lock, absl::ToChronoTime(deadline),
                               [&] { return generation_ != seen; })) {
        lock.unlock();
        return done();
      }
    }
  }

  std::vector<Error> errors() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return errors_;
  }
  std::vector<Completion> completions() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return completions_;
  }
  size_t completed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return completions_.size();
  }
  std::vector<bool> writability() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return writability_;
  }
  std::vector<SessionHandle> sessions() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return sessions_;
  }
  int closes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(closed_.size());
  }
  // OnClose more than once for a session, or a writability change after it.
  int violations() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return violations_;
  }

 private:
  void Changed() {
    ++generation_;
    changed_.notify_all();
  }
  bool IsClosedLocked(const SessionHandle& s) const {
    return std::find(closed_.begin(), closed_.end(), s.id()) != closed_.end();
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t generation_ = 0;
  std::vector<SessionHandle> sessions_;
  std::vector<uint64_t> closed_;
  std::vector<Error> errors_;
  std::vector<Completion> completions_;
  std::vector<bool> writability_;
  int violations_ = 0;
};

// The number in "...<text><number> ..." of `message`, or 0 when `text` is not there.
uint64_t NumberAfter(absl::string_view message, absl::string_view text) {
  const size_t at = message.find(text);
  if (at == absl::string_view::npos) return 0;
  absl::string_view rest = message.substr(at + text.size());
  uint64_t n = 0;
  return absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &n) ? n : 0;
}

// The datagrams the refusal reports among `errors` (of session `id`; 0: any) account for:
// "udp session 7: datagram dropped: the send queue was full (...)" counts one, "udp session 7:
// 990 datagrams dropped[ in the last 1 s]: ..." 990.
uint64_t RefusalsReported(const std::vector<FlowListener::Error>& errors, uint64_t id = 0) {
  uint64_t n = 0;
  for (const FlowListener::Error& e : errors) {
    const absl::string_view message = e.status.message();
    if ((id != 0 && e.session != id) || !absl::StrContains(message, "send queue was full")) {
      continue;
    }
    n += absl::StrContains(message, ": datagram dropped") ? 1 : NumberAfter(message, ": ");
  }
  return n;
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

  // A connected session (no reconnection) whose events go to flow_; `configure` adjusts its
  // config.
  SessionHandle StartFlowClient(const InetAddress& server,
                                std::function<void(SessionConfig&)> configure = {}) {
    UdpClientOptions options;
    options.server = server;
    options.reconnect = false;
    options.new_session = [this, configure](SessionConfig& c) {
      c.listener = flow_;
      if (configure) configure(c);
      return absl::OkStatus();
    };
    auto c = UdpClient::Create(group_.get(), std::move(options));
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return SessionHandle();
    client_ = *std::move(c);
    EXPECT_TRUE(flow_->WaitFor([&] { return flow_->sessions().size() == 1; }));
    return flow_->sessions().at(0);
  }

  PlainUdpSocket Peer() {
    auto p = PlainUdpSocket::Bind(Loopback());
    EXPECT_TRUE(p.ok()) << p.status();
    return *std::move(p);
  }

  std::unique_ptr<runtime::EventLoopGroup> group_;
  std::shared_ptr<RecordingListener> echo_ = std::make_shared<RecordingListener>();
  std::shared_ptr<RecordingListener> client_listener_ = std::make_shared<RecordingListener>();
  std::shared_ptr<FlowListener> flow_ = std::make_shared<FlowListener>();
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

// Connect applies in order with the writes: what was written before it reaches the old peer, even
// the datagrams still waiting for the send window, and what is written after it the new one.
TEST_P(UdpTest, WritesBeforeAConnectReachTheOldPeer) {
  PlainUdpSocket first = Peer();
  PlainUdpSocket second = Peer();
  first.SetReceiveBuffer(16 << 20);
  second.SetReceiveBuffer(16 << 20);
  StartClient(first.address());
  const SessionHandle s = client_->Sessions().at(0);
  constexpr int kBurst = 2000;  // beyond the send window: most still wait when Connect runs
  constexpr int kAfter = 10;
  group_->loop(0)->Post([&] {
    for (int i = 0; i < kBurst; ++i) ASSERT_TRUE(s.WriteBytes(absl::StrCat("old ", i)).ok());
    ASSERT_TRUE(s.Connect(second.address()).ok());
    for (int i = 0; i < kAfter; ++i) ASSERT_TRUE(s.WriteBytes(absl::StrCat("new ", i)).ok());
    ASSERT_TRUE(s.Connect(first.address()).ok());  // a second switch queued behind the first
    ASSERT_TRUE(s.WriteBytes("back").ok());
  });
  for (int i = 0; i < kBurst; ++i) {
    auto got = first.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, absl::StrCat("old ", i));
  }
  auto back = first.Receive();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->first, "back");
  for (int i = 0; i < kAfter; ++i) {
    auto got = second.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, absl::StrCat("new ", i));
  }
  EXPECT_FALSE(second.Receive(absl::Milliseconds(50)).ok());  // nothing else reached it
  EXPECT_EQ(s.RemoteAddress(), first.address());
  EXPECT_TRUE(client_listener_->errors().empty());
}

// An endpoint destroyed on its own loop thread cannot wait for its session; the session still
// sends what it accepted, closes, and reports to endpoint state that is still alive.
TEST_P(UdpTest, AnEndpointDestroyedOnItsLoopThreadLetsItsSessionFinish) {
  StartEchoEndpoint();
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  constexpr int kBurst = 2000;
  const SessionHandle s = endpoint_->session();
  std::promise<void> destroyed;
  group_->loop(0)->Post([&] {
    for (int i = 0; i < kBurst; ++i) {
      ASSERT_TRUE(s.WriteBytesTo(absl::StrCat("datagram ", i), receiver.address()).ok());
    }
    endpoint_.reset();  // Close(); WaitClosed() returns at once on the loop thread
    destroyed.set_value();
  });
  destroyed.get_future().wait();
  for (int i = 0; i < kBurst; ++i) {
    auto got = receiver.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, absl::StrCat("datagram ", i));
  }
  ASSERT_TRUE(echo_->WaitFor([&] { return echo_->closes() == 1; }));
  EXPECT_TRUE(s.IsClosed());
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

TEST_P(UdpTest, ConnectedSessionSendsRunsOfEqualDatagramsAsGsoBatches) {
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  StartClient(receiver.address());
  const SessionHandle s = client_->Sessions().at(0);
  constexpr int kCount = 200;
  // Written in one iteration of the session's loop: 64 + 64 + 64 + 8 datagrams of 100 bytes.
  group_->loop(0)->Post([s] {
    for (int i = 0; i < kCount; ++i) ASSERT_TRUE(s.WriteBytes(Datagram(i, 100)).ok());
  });
  for (int i = 0; i < kCount; ++i) {
    auto got = receiver.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, Datagram(i, 100)) << "datagram " << i;  // one datagram each, in order
  }
  ASSERT_TRUE(SendsSettle(s));
  const SessionStat stat = s.Stat();
  EXPECT_EQ(stat.packages_out, uint64_t{kCount});
  EXPECT_EQ(stat.bytes_out, uint64_t{kCount} * 100);
  EXPECT_EQ(stat.send_requests, KernelTakesUdpGso(GetParam()) ? 4u : uint64_t{kCount});
  EXPECT_TRUE(client_listener_->errors().empty()) << client_listener_->errors()[0];
}

TEST_P(UdpTest, GsoRunsKeepEveryDatagramBoundaryAndEndAtAShorterOne) {
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  StartClient(receiver.address());
  const SessionHandle s = client_->Sessions().at(0);
  // Runs: [100 100 100 40] [100] [0] [7 7 7] [1472 1472] [65507] [30000 30000] [30000 200]
  // [300]: a shorter datagram ends a run, a longer one or an empty one starts anew, and no run
  // passes 65507 bytes.
  const std::vector<size_t> sizes = {100,  100,  100,   40,    100,   0,     7,   7,  7,
                                     1472, 1472, 65507, 30000, 30000, 30000, 200, 300};
  group_->loop(0)->Post([s, sizes] {
    for (size_t i = 0; i < sizes.size(); ++i) {
      ASSERT_TRUE(s.WriteBytes(Datagram(static_cast<int>(i), sizes[i])).ok());
    }
  });
  for (size_t i = 0; i < sizes.size(); ++i) {
    auto got = receiver.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first.size(), sizes[i]) << "datagram " << i;
    ASSERT_EQ(got->first, Datagram(static_cast<int>(i), sizes[i])) << "datagram " << i;
  }
  ASSERT_TRUE(SendsSettle(s));
  EXPECT_EQ(s.Stat().send_requests, KernelTakesUdpGso(GetParam()) ? 9u : sizes.size());
  EXPECT_TRUE(client_listener_->errors().empty()) << client_listener_->errors()[0];
}

TEST_P(UdpTest, UnconnectedEndpointBatchesOnlyRunsToOnePeer) {
  StartEchoEndpoint();
  PlainUdpSocket a = Peer();
  PlainUdpSocket b = Peer();
  a.SetReceiveBuffer(16 << 20);
  b.SetReceiveBuffer(16 << 20);
  const SessionHandle s = endpoint_->session();
  // 20 datagrams alternating between the peers (no run: 20 sends), then 100 to a and 100 to b
  // (64 + 36 each: 4 sends).
  group_->loop(0)->Post([s, to_a = a.address(), to_b = b.address()] {
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(s.WriteBytesTo(Datagram(i, 50), i % 2 == 0 ? to_a : to_b).ok());
    }
    for (int i = 20; i < 120; ++i) ASSERT_TRUE(s.WriteBytesTo(Datagram(i, 50), to_a).ok());
    for (int i = 120; i < 220; ++i) ASSERT_TRUE(s.WriteBytesTo(Datagram(i, 50), to_b).ok());
  });
  for (int i = 0; i < 220; ++i) {
    const bool for_a = i < 20 ? i % 2 == 0 : i < 120;
    auto got = (for_a ? a : b).Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, Datagram(i, 50)) << "datagram " << i;
    EXPECT_EQ(got->second, endpoint_->address());
  }
  ASSERT_TRUE(SendsSettle(s));
  EXPECT_EQ(s.Stat().send_requests, KernelTakesUdpGso(GetParam()) ? 24u : 220u);
}

TEST_P(UdpTest, WithoutTheGsoOptionEveryDatagramIsItsOwnSend) {
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  StartClient(receiver.address(), [](SessionConfig& c) { c.options.udp_gso = false; });
  const SessionHandle s = client_->Sessions().at(0);
  group_->loop(0)->Post([s] {
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(s.WriteBytes(Datagram(i, 64)).ok());
  });
  for (int i = 0; i < 100; ++i) {
    auto got = receiver.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, Datagram(i, 64));
  }
  ASSERT_TRUE(SendsSettle(s));
  EXPECT_EQ(s.Stat().send_requests, 100u);
}

TEST_P(UdpTest, ARefusedGsoSendFallsBackToOneSendPerDatagramLosingNothing) {
  if (!KernelTakesUdpGso(GetParam())) GTEST_SKIP() << "this kernel refuses UDP GSO anyway";
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  StartClient(receiver.address());
  const SessionHandle s = client_->Sessions().at(0);
  ASSERT_TRUE(RefuseGso(s.LocalAddress(), {receiver.address()}));
  for (int burst = 0; burst < 2; ++burst) {
    group_->loop(0)->Post([s, burst] {
      for (int i = 0; i < 50; ++i) ASSERT_TRUE(s.WriteBytes(Datagram(burst * 50 + i, 80)).ok());
    });
    for (int i = 0; i < 50; ++i) {
      auto got = receiver.Receive();
      ASSERT_TRUE(got.ok()) << burst << "/" << i << ": " << got.status();
      ASSERT_EQ(got->first, Datagram(burst * 50 + i, 80)) << burst << "/" << i;
    }
  }
  ASSERT_TRUE(SendsSettle(s));
  const SessionStat stat = s.Stat();
  EXPECT_EQ(stat.packages_out, 100u);
  EXPECT_EQ(stat.bytes_out, 8000u);
  // One refused batch, then 100 single sends: the session stopped trying.
  EXPECT_EQ(stat.send_requests, 101u);
  EXPECT_TRUE(client_listener_->errors().empty()) << client_listener_->errors()[0];
  EXPECT_FALSE(s.IsClosed());
}

// A refused batch's datagrams go back in front of a peer switch queued behind them: they still
// reach the old peer (one by one), and what was written after the switch the new one.
TEST_P(UdpTest, ARefusedGsoBatchAheadOfAPeerSwitchStillReachesTheOldPeer) {
  if (!KernelTakesUdpGso(GetParam())) GTEST_SKIP() << "this kernel refuses UDP GSO anyway";
  PlainUdpSocket first = Peer();
  PlainUdpSocket second = Peer();
  first.SetReceiveBuffer(16 << 20);
  second.SetReceiveBuffer(16 << 20);
  StartClient(first.address());
  const SessionHandle s = client_->Sessions().at(0);
  ASSERT_TRUE(RefuseGso(s.LocalAddress(), {first.address(), second.address()}));
  group_->loop(0)->Post([&] {
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(s.WriteBytes(Datagram(i, 80)).ok());
    ASSERT_TRUE(s.Connect(second.address()).ok());  // waits behind the (refused) batch
    for (int i = 50; i < 60; ++i) ASSERT_TRUE(s.WriteBytes(Datagram(i, 80)).ok());
  });
  for (int i = 0; i < 50; ++i) {
    auto got = first.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, Datagram(i, 80)) << i;
  }
  for (int i = 50; i < 60; ++i) {
    auto got = second.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, Datagram(i, 80)) << i;
  }
  EXPECT_FALSE(first.Receive(absl::Milliseconds(50)).ok());  // nothing else reached it
  ASSERT_TRUE(SendsSettle(s));
  const SessionStat stat = s.Stat();
  EXPECT_EQ(stat.packages_out, 60u);
  EXPECT_EQ(stat.bytes_out, 4800u);
  // One refused batch, then every datagram alone (the session stopped batching).
  EXPECT_EQ(stat.send_requests, 61u);
  EXPECT_EQ(s.RemoteAddress(), second.address());
  EXPECT_TRUE(client_listener_->errors().empty()) << client_listener_->errors()[0];
}

// Several batches refused at once (their completions arrive together): each one's datagrams go
// back in front of what still waits but behind the batches refused before it, so they all still
// leave in the order they were written.
TEST_P(UdpTest, SeveralRefusedGsoBatchesStillLeaveInOrder) {
  if (!KernelTakesUdpGso(GetParam())) GTEST_SKIP() << "this kernel refuses UDP GSO anyway";
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  StartClient(receiver.address());
  const SessionHandle s = client_->Sessions().at(0);
  ASSERT_TRUE(RefuseGso(s.LocalAddress(), {receiver.address()}));
  constexpr int kCount = 300;  // five batches in the kernel's hands at once, all refused
  group_->loop(0)->Post([s] {
    for (int i = 0; i < kCount; ++i) ASSERT_TRUE(s.WriteBytes(Datagram(i, 80)).ok());
  });
  for (int i = 0; i < kCount; ++i) {
    auto got = receiver.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, Datagram(i, 80)) << "datagram " << i;
  }
  ASSERT_TRUE(SendsSettle(s));
  EXPECT_EQ(s.Stat().packages_out, uint64_t{kCount});
  EXPECT_TRUE(client_listener_->errors().empty()) << client_listener_->errors()[0];
}

// A close whose linger ends while a burst is still leaving: what waits is dropped, what the
// kernel holds is cancelled or completes, every byte is accounted for, and the session closes
// once (and is freed with every slot, in flight or not: ASan checks).
TEST_P(UdpTest, ALingerThatEndsMidBurstDropsTheRestAndAccountsForEveryByte) {
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  StartClient(receiver.address(),
              [](SessionConfig& c) { c.options.close_linger = absl::Microseconds(1); });
  const SessionHandle s = client_->Sessions().at(0);
  constexpr int kBurst = 5000;  // ten times the send window
  group_->loop(0)->Post([s] {
    for (int i = 0; i < kBurst; ++i) ASSERT_TRUE(s.WriteBytes(Datagram(i, 100)).ok());
    s.Close();
  });
  ASSERT_TRUE(client_listener_->WaitFor([&] { return client_listener_->closes() >= 1; }));
  ASSERT_TRUE(SendsSettle(s));
  // What arrived arrived in order, once each.
  int next = 0;
  int received = 0;
  for (;;) {
    auto got = receiver.Receive(absl::Milliseconds(100));
    if (!got.ok()) break;
    while (next < kBurst && got->first != Datagram(next, 100)) ++next;
    ASSERT_LT(next, kBurst) << "datagram " << received << " out of order or unknown";
    ++next;
    ++received;
  }
  EXPECT_LE(received, kBurst);
  const SessionStat stat = s.Stat();
  EXPECT_EQ(stat.packages_out, uint64_t{kBurst});
  EXPECT_LE(stat.bytes_out, uint64_t{kBurst} * 100);
  EXPECT_EQ(client_listener_->closes(), 1);
  EXPECT_TRUE(s.IsClosed());
}

TEST_P(UdpTest, BatchesToADeadPortReportEconnrefusedAndAccountForEveryByte) {
  PlainUdpSocket dead = Peer();
  StartClient(dead.address());
  const SessionHandle s = client_->Sessions().at(0);
  dead.Close();
  // Whichever request meets the ICMP error (the receive or a send) reports it. On loopback the
  // ICMP error is back before the next request of the same submit runs, so with four GSO sends
  // per burst the later ones meet it: each such batch loses its first datagram, as a plain send
  // would, and sends the rest again. The bytes of every datagram are accounted for either way,
  // and the session stays open.
  for (int burst = 0; burst < 20; ++burst) {
    group_->loop(0)->Post([s, burst] {
      for (int i = 0; i < 200; ++i) (void)s.WriteBytes(Datagram(burst * 200 + i, 40));
    });
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_TRUE(client_listener_->WaitFor(
      [&] { return HasError(client_listener_->errors(), "ECONNREFUSED"); }));
  ASSERT_TRUE(SendsSettle(s));
  for (const absl::Status& e : client_listener_->errors()) {
    EXPECT_NE(e.message().find("ECONNREFUSED"), absl::string_view::npos) << e;
  }
  EXPECT_FALSE(s.IsClosed());
  // Still usable, and still batching: switch to a live peer.
  PlainUdpSocket live = Peer();
  ASSERT_TRUE(s.Connect(live.address()).ok());
  group_->loop(0)->Post([s] {
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(s.WriteBytes(Datagram(1000 + i, 40)).ok());
  });
  for (int i = 0; i < 10; ++i) {
    auto got = live.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, Datagram(1000 + i, 40));
  }
}

// Flow control (issue 18): drops, write callbacks, writability.

// A burst past write_high_water: every refused write returns ResourceExhausted and counts as a
// dropped datagram, and the refusals of one iteration make one report, at its end.
TEST_P(UdpTest, ABurstIntoAFullSendQueueIsCountedAndReported) {
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  const SessionHandle s = StartFlowClient(receiver.address(), [](SessionConfig& c) {
    c.options.write_high_water = 1000;  // ten datagrams of 100 bytes
  });
  constexpr int kBurst = 1000;
  std::promise<std::vector<absl::Status>> statuses;
  group_->loop(0)->Post([&] {
    std::vector<absl::Status> got;
    for (int i = 0; i < kBurst; ++i) got.push_back(s.WriteBytes(Datagram(i, 100)));
    statuses.set_value(std::move(got));
  });
  const std::vector<absl::Status> got = statuses.get_future().get();
  for (int i = 0; i < kBurst; ++i) {
    if (i < 10) {
      ASSERT_TRUE(got[i].ok()) << i << ": " << got[i];
    } else {
      ASSERT_EQ(got[i].code(), absl::StatusCode::kResourceExhausted) << i << ": " << got[i];
    }
  }
  for (int i = 0; i < 10; ++i) {
    auto datagram = receiver.Receive();
    ASSERT_TRUE(datagram.ok()) << i << ": " << datagram.status();
    ASSERT_EQ(datagram->first, Datagram(i, 100)) << i;
  }
  ASSERT_TRUE(SendsSettle(s));
  EXPECT_EQ(s.Stat().datagrams_dropped, uint64_t{kBurst - 10});
  EXPECT_EQ(s.Stat().packages_out, 10u);
  ASSERT_TRUE(flow_->WaitFor([&] { return RefusalsReported(flow_->errors()) == kBurst - 10; }));
  const std::vector<FlowListener::Error> errors = flow_->errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(errors[0].status.message().find(
                "990 datagrams dropped: the send queue was full (write_high_water 1000 bytes)"),
            absl::string_view::npos)
      << errors[0].status;
  EXPECT_FALSE(s.IsClosed());
}

// A writer on another thread that ignores its refusals: the handle refuses (and counts) each,
// the reports come at most once a second after the first, and together, with the close's
// (which reports what the last summary had not), they account for every refusal.
TEST_P(UdpTest, DropReportsAreSummarisedAtMostOnceASecond) {
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  const SessionHandle s = StartFlowClient(
      receiver.address(), [](SessionConfig& c) { c.options.write_high_water = 100; });
  uint64_t refused = 0;
  const absl::Time start = absl::Now();
  while (absl::Now() - start < absl::Milliseconds(2500)) {
    for (int i = 0; i < 10; ++i) {
      const absl::Status st = s.WriteBytes(Datagram(i, 100));
      if (!st.ok()) {
        ASSERT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
        ++refused;
      }
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(SendsSettle(s));
  EXPECT_EQ(s.Stat().datagrams_dropped, refused);
  const absl::Time closed_at = absl::Now();
  s.Close();
  ASSERT_TRUE(flow_->WaitFor([&] { return flow_->closes() == 1; }));
  const std::vector<FlowListener::Error> errors = flow_->errors();
  EXPECT_EQ(RefusalsReported(errors), refused);
  // The first at once, then a summary when each second since the last report is over: three
  // before the close (at 0, 1 and 2 s), and the close's, or a fourth summary at 3 s.
  ASSERT_GE(errors.size(), 3u);
  EXPECT_LE(errors.size(), 5u);
  EXPECT_LT(errors[0].when - start, absl::Milliseconds(500));
  EXPECT_EQ(errors[0].status.message().find("in the last"), absl::string_view::npos)
      << errors[0].status;
  for (size_t i = 1; i < errors.size(); ++i) {
    EXPECT_NE(errors[i].status.message().find(" datagrams dropped in the last "),
              absl::string_view::npos)
        << i << ": " << errors[i].status;
    EXPECT_NE(
        errors[i].status.message().find(": the send queue was full (write_high_water 100 bytes)"),
        absl::string_view::npos)
        << i << ": " << errors[i].status;
    if (errors[i].when < closed_at) {  // a summary when its second was over
      EXPECT_NE(errors[i].status.message().find(" in the last 1 s: "), absl::string_view::npos)
          << i << ": " << errors[i].status;
      EXPECT_GE(errors[i].when - errors[i - 1].when, absl::Milliseconds(900)) << i;
    }
    EXPECT_FALSE(errors[i].after_close) << i;
  }
}

// A close whose linger ends mid-burst: what still waits is dropped, counted and reported before
// OnClose, and every write callback runs once, in order, before OnClose: OK for the datagrams
// that left, an error for the others. Every datagram is sent or counted as dropped.
TEST_P(UdpTest, ACloseWithDatagramsWaitingCountsReportsAndFailsThem) {
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  const SessionHandle s = StartFlowClient(
      receiver.address(), [](SessionConfig& c) { c.options.close_linger = absl::Microseconds(1); });
  constexpr int kBurst = 5000;  // ten times the send window
  group_->loop(0)->Post([&] {
    for (int i = 0; i < kBurst; ++i) {
      ASSERT_TRUE(s.WriteBytes(Datagram(i, 100), flow_->Record(s, i)).ok());
    }
    s.Close();
  });
  ASSERT_TRUE(flow_->WaitFor([&] { return flow_->closes() == 1; }));
  ASSERT_TRUE(SendsSettle(s));
  const SessionStat stat = s.Stat();
  const uint64_t sent = stat.bytes_out / 100;
  EXPECT_EQ(sent + stat.datagrams_dropped, uint64_t{kBurst});
  EXPECT_GT(stat.datagrams_dropped, 0u);  // the linger ended mid-burst
  const std::vector<FlowListener::Completion> completions = flow_->completions();
  ASSERT_EQ(completions.size(), size_t{kBurst});
  uint64_t ok = 0;
  for (int i = 0; i < kBurst; ++i) {
    const FlowListener::Completion& c = completions[i];
    ASSERT_EQ(c.index, i);
    EXPECT_FALSE(c.after_close) << i;
    if (c.status.ok()) {
      ASSERT_EQ(ok, uint64_t(i)) << "datagrams leave in order: the sent ones come first";
      ++ok;
    } else {
      EXPECT_NE(c.status.message().find("closed before the write left"), absl::string_view::npos)
          << c.status;
    }
  }
  EXPECT_LE(ok, sent);  // (those the kernel held at the close failed too, and may have left)
  uint64_t waiting = 0;
  for (const FlowListener::Error& e : flow_->errors()) {
    EXPECT_FALSE(e.after_close) << e.status;
    if (absl::StrContains(e.status.message(), " not sent yet: dropped")) {
      waiting += NumberAfter(e.status.message(), "closed with ");
    }
  }
  EXPECT_GT(waiting, 0u);
  EXPECT_LE(waiting, stat.datagrams_dropped);
  EXPECT_LE(stat.datagrams_dropped - waiting, 512u);  // at most the send window was cancelled
  EXPECT_EQ(flow_->violations(), 0);
}

// Write callbacks run in write order, each once its datagram was sent (its GSO batch's send or
// its own completed), on the loop thread, never inside the write.
TEST_P(UdpTest, WriteCallbacksRunInOrderOnceTheirDatagramWasSent) {
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  const SessionHandle s = StartFlowClient(receiver.address());
  // 130 datagrams of 100 bytes (GSO runs of 64, 64, 2), then 20 that each leave alone (each
  // longer than the one before).
  std::vector<size_t> sizes(130, 100);
  for (size_t i = 0; i < 20; ++i) sizes.push_back(200 + i * 10);
  group_->loop(0)->Post([&] {
    for (size_t i = 0; i < sizes.size(); ++i) {
      g_inside_write = true;
      const absl::Status st =
          s.WriteBytes(Datagram(static_cast<int>(i), sizes[i]), flow_->Record(s, i));
      g_inside_write = false;
      ASSERT_TRUE(st.ok()) << st;
    }
  });
  for (size_t i = 0; i < sizes.size(); ++i) {
    auto got = receiver.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, Datagram(static_cast<int>(i), sizes[i])) << i;
  }
  ASSERT_TRUE(flow_->WaitFor([&] { return flow_->completed() == sizes.size(); }));
  const std::vector<FlowListener::Completion> completions = flow_->completions();
  uint64_t written = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const FlowListener::Completion& c = completions[i];
    written += sizes[i];
    ASSERT_EQ(c.index, static_cast<int>(i));
    EXPECT_TRUE(c.status.ok()) << i << ": " << c.status;
    EXPECT_TRUE(c.on_loop_thread) << i;
    EXPECT_FALSE(c.inside_write) << i;
    EXPECT_GE(c.bytes_out, written) << "callback " << i << " ran before its datagram left";
  }
  ASSERT_TRUE(SendsSettle(s));
  EXPECT_EQ(s.Stat().send_requests, KernelTakesUdpGso(GetParam()) ? 23u : sizes.size());
  EXPECT_EQ(s.Stat().datagrams_dropped, 0u);
  EXPECT_TRUE(flow_->errors().empty()) << flow_->errors()[0].status;
}

// Callbacks follow the datagrams across peer switches; a switch whose connect(2) fails drops
// the datagrams written for that peer, whose callbacks get the failure (and the drops count).
TEST_P(UdpTest, WriteCallbacksFollowPeerSwitchesAndAFailedSwitchFailsItsDatagrams) {
  PlainUdpSocket first = Peer();
  PlainUdpSocket second = Peer();
  const SessionHandle s = StartFlowClient(first.address());
  // connect(2) refuses these: a link-local IPv6 address needs an interface (EINVAL), and an
  // IPv4 broadcast address SO_BROADCAST (EACCES).
  const InetAddress refused = *InetAddress::Parse(GetParam() ? "[fe80::1]:9" : "255.255.255.255:9");
  std::vector<int> first_indices;
  group_->loop(0)->Post([&] {
    int i = 0;
    const auto write = [&](int n) {
      for (int end = i + n; i < end; ++i) {
        ASSERT_TRUE(s.WriteBytes(Datagram(i, 60), flow_->Record(s, i)).ok());
      }
    };
    write(5);  // 0..4 to first
    ASSERT_TRUE(s.Connect(second.address()).ok());
    write(5);                              // 5..9 to second
    ASSERT_TRUE(s.Connect(refused).ok());  // waits behind them, then fails
    write(5);                              // 10..14 dropped
    ASSERT_TRUE(s.Connect(first.address()).ok());
    write(3);  // 15..17 to first
  });
  for (int i : {0, 1, 2, 3, 4, 15, 16, 17}) {
    auto got = first.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, Datagram(i, 60)) << i;
  }
  for (int i = 5; i < 10; ++i) {
    auto got = second.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, Datagram(i, 60)) << i;
  }
  ASSERT_TRUE(flow_->WaitFor([&] { return flow_->completed() == 18; }));
  const std::vector<FlowListener::Completion> completions = flow_->completions();
  for (int i = 0; i < 18; ++i) {
    ASSERT_EQ(completions[i].index, i);
    if (i >= 10 && i < 15) {
      EXPECT_FALSE(completions[i].status.ok()) << i;
      EXPECT_NE(completions[i].status.message().find("connect"), absl::string_view::npos)
          << completions[i].status;
    } else {
      EXPECT_TRUE(completions[i].status.ok()) << i << ": " << completions[i].status;
    }
  }
  EXPECT_EQ(s.Stat().datagrams_dropped, 5u);
  const std::vector<FlowListener::Error> errors = flow_->errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].status.message().find("5 datagrams written for that peer dropped"),
            absl::string_view::npos)
      << errors[0].status;
  EXPECT_EQ(s.RemoteAddress(), first.address());
}

// Writes from another thread are posted to the loop; their callbacks still run there, in order,
// once their datagrams were sent.
TEST_P(UdpTest, WriteCallbacksOfWritesFromAnotherThreadRunOnTheLoop) {
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  const SessionHandle s = StartFlowClient(receiver.address());
  constexpr int kCount = 300;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(s.WriteBytes(Datagram(i, 100), flow_->Record(s, i)).ok());
  }
  for (int i = 0; i < kCount; ++i) {
    auto got = receiver.Receive();
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    ASSERT_EQ(got->first, Datagram(i, 100)) << i;
  }
  ASSERT_TRUE(flow_->WaitFor([&] { return flow_->completed() == kCount; }));
  const std::vector<FlowListener::Completion> completions = flow_->completions();
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(completions[i].index, i);
    EXPECT_TRUE(completions[i].status.ok()) << i << ": " << completions[i].status;
    EXPECT_TRUE(completions[i].on_loop_thread) << i;
    EXPECT_GE(completions[i].bytes_out, uint64_t(i + 1) * 100) << i;
  }
}

// With an executor, write callbacks run there (in order, with the other listener callbacks),
// never on the loop thread.
TEST_P(UdpTest, WriteCallbacksRunOnTheSessionsExecutor) {
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  ThreadPoolExecutor pool(2);
  const SessionHandle s =
      StartFlowClient(receiver.address(), [&](SessionConfig& c) { c.options.executor = &pool; });
  constexpr int kCount = 200;
  group_->loop(0)->Post([&] {
    for (int i = 0; i < kCount / 2; ++i) {
      ASSERT_TRUE(s.WriteBytes(Datagram(i, 100), flow_->Record(s, i)).ok());
    }
  });
  ASSERT_TRUE(flow_->WaitFor([&] { return flow_->completed() == kCount / 2; }));
  for (int i = kCount / 2; i < kCount; ++i) {  // and from this thread
    ASSERT_TRUE(s.WriteBytes(Datagram(i, 100), flow_->Record(s, i)).ok());
  }
  ASSERT_TRUE(flow_->WaitFor([&] { return flow_->completed() == kCount; }));
  const std::vector<FlowListener::Completion> completions = flow_->completions();
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(completions[i].index, i);
    EXPECT_TRUE(completions[i].status.ok()) << i << ": " << completions[i].status;
    EXPECT_FALSE(completions[i].on_loop_thread) << i;
  }
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(receiver.Receive().ok()) << i;
  client_.reset();  // closed before the pool goes
}

// Writability: a UDP session turns unwritable once its queued datagrams reach the high mark and
// writable again once they fell to the low mark; reading is never paused.
TEST_P(UdpTest, AUdpSessionTurnsUnwritableAtTheHighMarkAndWritableAtTheLow) {
  PlainUdpSocket receiver = Peer();
  receiver.SetReceiveBuffer(16 << 20);
  const SessionHandle s = StartFlowClient(receiver.address(), [](SessionConfig& c) {
    c.options.write_water_mark.low = 1000;
    c.options.write_water_mark.high = 4000;
  });
  EXPECT_TRUE(s.IsWritable());
  constexpr int kCount = 100;
  std::promise<std::vector<bool>> writable;
  group_->loop(0)->Post([&] {
    std::vector<bool> after_each;
    for (int i = 0; i < kCount; ++i) {
      EXPECT_TRUE(s.WriteBytes(Datagram(i, 100)).ok());
      after_each.push_back(s.IsWritable());
    }
    EXPECT_FALSE(s.Stat().reading_paused);
    writable.set_value(std::move(after_each));
  });
  const std::vector<bool> after_each = writable.get_future().get();
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(after_each[i], i < 39) << "after datagram " << i;  // 40 x 100 bytes: the high mark
  }
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(receiver.Receive().ok()) << i;
  ASSERT_TRUE(flow_->WaitFor([&] { return flow_->writability().size() == 2; }));
  EXPECT_EQ(flow_->writability(), (std::vector<bool>{false, true}));
  EXPECT_TRUE(s.IsWritable());
  EXPECT_TRUE(s.Stat().writable);
  EXPECT_FALSE(s.Stat().reading_paused);
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

// A per-peer session's datagrams queue on its endpoint's session: when that queue is full, the
// refusals are the peer session's drops (counted and reported there, not on the endpoint), and
// the callbacks of the datagrams it took run through the peer session, in order, once sent.
TEST_P(UdpPeerSessionTest, APeerSessionCountsWhatItsEndpointRefusesAndGetsItsCallbacks) {
  constexpr int kReplies = 50;
  std::promise<std::vector<absl::Status>> statuses;
  std::atomic<bool> replied{false};
  flow_->on_message = [&](const SessionHandle& s, Package&, const InetAddress&) {
    if (s.kind() != SessionKind::kUdpPeer || replied.exchange(true)) return;
    std::vector<absl::Status> got;
    for (int i = 0; i < kReplies; ++i) {
      got.push_back(s.WriteBytes(Datagram(i, 100), flow_->Record(s, i)));
    }
    statuses.set_value(std::move(got));
  };
  UdpEndpointOptions options;
  options.bind = Loopback();
  options.per_peer_sessions = true;
  options.new_session = [this](SessionConfig& c) {
    c.listener = flow_;
    c.options.write_high_water = 1000;  // the endpoint's queue: ten datagrams of 100 bytes
    return absl::OkStatus();
  };
  auto e = UdpEndpoint::Create(group_.get(), std::move(options));
  ASSERT_TRUE(e.ok()) << e.status();
  endpoint_ = *std::move(e);
  PlainUdpSocket a = Peer();
  a.SetReceiveBuffer(16 << 20);
  ASSERT_TRUE(a.SendTo("go", endpoint_->address()).ok());
  const std::vector<absl::Status> got = statuses.get_future().get();
  for (int i = 0; i < kReplies; ++i) {
    if (i < 10) {
      ASSERT_TRUE(got[i].ok()) << i << ": " << got[i];
    } else {
      ASSERT_EQ(got[i].code(), absl::StatusCode::kResourceExhausted) << i << ": " << got[i];
    }
  }
  for (int i = 0; i < 10; ++i) {
    auto reply = a.Receive();
    ASSERT_TRUE(reply.ok()) << i << ": " << reply.status();
    ASSERT_EQ(reply->first, Datagram(i, 100)) << i;
  }
  ASSERT_TRUE(flow_->WaitFor([&] { return flow_->completed() == 10; }));
  const std::vector<FlowListener::Completion> completions = flow_->completions();
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(completions[i].index, i);
    EXPECT_TRUE(completions[i].status.ok()) << i << ": " << completions[i].status;
    EXPECT_TRUE(completions[i].on_loop_thread) << i;
    EXPECT_FALSE(completions[i].inside_write) << i;
  }
  SessionHandle peer;
  for (const SessionHandle& s : flow_->sessions()) {
    if (s.kind() == SessionKind::kUdpPeer) peer = s;
  }
  ASSERT_TRUE(peer);
  EXPECT_EQ(peer.Stat().datagrams_dropped, uint64_t{kReplies - 10});
  EXPECT_EQ(endpoint_->session().Stat().datagrams_dropped, 0u);
  ASSERT_TRUE(flow_->WaitFor(
      [&] { return RefusalsReported(flow_->errors(), peer.id()) == kReplies - 10; }));
  EXPECT_EQ(RefusalsReported(flow_->errors(), endpoint_->session().id()), 0u);
  bool named_the_endpoint = false;
  for (const FlowListener::Error& e : flow_->errors()) {
    named_the_endpoint |=
        e.status.message().find(absl::StrCat(
            "the endpoint's send queue was full (udp session ", endpoint_->session().id(),
            ", write_high_water 1000 bytes)")) != absl::string_view::npos;
  }
  EXPECT_TRUE(named_the_endpoint);
  endpoint_->Close();
  ASSERT_TRUE(endpoint_->WaitClosed(absl::Seconds(30)));
  EXPECT_EQ(flow_->closes(), 2);
  EXPECT_EQ(flow_->violations(), 0);
}

INSTANTIATE_TEST_SUITE_P(Families, UdpPeerSessionTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "IPv6" : "IPv4"; });

INSTANTIATE_TEST_SUITE_P(Families, UdpTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "IPv6" : "IPv4"; });

}  // namespace
}  // namespace ringnet::net
