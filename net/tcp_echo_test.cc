// TCP echo end to end on loopback: ringnet's server against ringnet's client and against plain
// POSIX sockets.
#include <functional>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"
#include "ringnet/codec/length_field_codec.h"
#include "ringnet/codec/raw_codec.h"
#include "ringnet/net/internal/tcp_session.h"
#include "ringnet/net/tcp_client.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/test/net_test_util.h"

namespace ringnet::net {
namespace {

using testing::PlainTcpClient;
using testing::RecordingListener;
using testing::RingState;
using testing::TcpHarness;

// A client side that sends `messages` random payloads per session and checks every echo.
class VerifyingClient : public EventListener {
 public:
  VerifyingClient(int messages, size_t max_size, uint64_t seed)
      : messages_(messages), max_size_(max_size), seed_(seed) {}

  absl::Status OnOpen(const SessionHandle& s) override {
    std::mt19937_64 rng(seed_ + s.id());
    std::vector<std::string> sent;
    for (int i = 0; i < messages_; ++i) {
      // Log-uniform sizes from 1 byte to max_size_.
      std::uniform_real_distribution<double> exponent(0, std::log2(static_cast<double>(max_size_)));
      size_t size = static_cast<size_t>(std::exp2(exponent(rng)));
      std::string body(size, '\0');
      for (char& c : body) c = static_cast<char>(rng());
      sent.push_back(body);
      EXPECT_TRUE(s.WritePkg(Package(std::move(body))).ok());
    }
    std::lock_guard<std::mutex> lock(mutex_);
    expected_[s.id()] = std::move(sent);
    return absl::OkStatus();
  }

  void OnMessage(const SessionHandle& s, Package& pkg, const InetAddress&) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& queue = expected_[s.id()];
    if (queue.empty() || queue.front() != pkg.bytes()) {
      ++mismatches_;
    } else {
      queue.erase(queue.begin());
      ++verified_;
    }
    done_.notify_all();
  }

  bool WaitVerified(int total) {
    std::unique_lock<std::mutex> lock(mutex_);
    return done_.wait_for(lock, std::chrono::seconds(120),
                          [&] { return verified_ + mismatches_ >= total; });
  }
  int mismatches() {
    std::lock_guard<std::mutex> lock(mutex_);
    return mismatches_;
  }

 private:
  const int messages_;
  const size_t max_size_;
  const uint64_t seed_;
  std::mutex mutex_;
  std::condition_variable done_;
  absl::flat_hash_map<uint64_t, std::vector<std::string>> expected_;
  int verified_ = 0;
  int mismatches_ = 0;
};

TEST(TcpEchoTest, RandomPayloadsUpToOneMebibyteOver200Connections) {
  TcpHarness server;
  server.Start(
      [](SessionConfig& c) { c.codec = std::make_shared<codec::LengthFieldCodec>(2 << 20); },
      /*loops=*/2);
  constexpr int kConnections = 200;
  constexpr int kMessages = 3;
  auto verifier = std::make_shared<VerifyingClient>(kMessages, 1 << 20, 7);
  TcpClientOptions options;
  options.server = server.server->address();
  options.connections = kConnections;
  options.new_session = [verifier](SessionConfig& c) {
    c.listener = verifier;
    c.codec = std::make_shared<codec::LengthFieldCodec>(2 << 20);
    return absl::OkStatus();
  };
  absl::StatusOr<std::unique_ptr<TcpClient>> client =
      TcpClient::Create(server.group.get(), options);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(verifier->WaitVerified(kConnections * kMessages));
  EXPECT_EQ(verifier->mismatches(), 0);
  EXPECT_EQ((*client)->session_count(), static_cast<size_t>(kConnections));
  (*client)->Close();
  EXPECT_TRUE((*client)->WaitClosed());
  EXPECT_TRUE(server.listener->WaitFor([&] { return server.listener->closes() == kConnections; }));
  EXPECT_EQ(server.listener->protocol_violations(), 0);
  EXPECT_TRUE(server.listener->errors().empty());
}

TEST(TcpEchoTest, PlainSocketPeerGetsRawBytesBack) {
  TcpHarness server;
  server.Start();
  absl::StatusOr<PlainTcpClient> peer = PlainTcpClient::Connect(server.server->address());
  ASSERT_TRUE(peer.ok()) << peer.status();
  ASSERT_TRUE(peer->WriteAll("hello, ringnet").ok());
  absl::StatusOr<std::string> echo = peer->ReadExactly(14);
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(*echo, "hello, ringnet");
}

TEST(TcpEchoTest, OnePackageSplitOverManyReceivesAndManyPackagesInOne) {
  TcpHarness server;
  server.Start([](SessionConfig& c) { c.codec = std::make_shared<codec::LengthFieldCodec>(); });
  absl::StatusOr<PlainTcpClient> peer = PlainTcpClient::Connect(server.server->address());
  ASSERT_TRUE(peer.ok());
  // One 20 KB package written a byte at a time: it arrives in many receives.
  std::string big(20'000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  const std::string framed = testing::LengthFramed(big);
  for (char c : framed) ASSERT_TRUE(peer->WriteAll(absl::string_view(&c, 1)).ok());
  absl::StatusOr<std::string> echo = peer->ReadExactly(framed.size());
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(*echo, framed);
  // 100 packages in one write: usually one receive.
  std::string many;
  for (int i = 0; i < 100; ++i) many += testing::LengthFramed("msg" + std::to_string(i));
  ASSERT_TRUE(peer->WriteAll(many).ok());
  echo = peer->ReadExactly(many.size());
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(*echo, many);
  std::vector<std::string> got = server.listener->messages();
  EXPECT_TRUE(got.empty());  // the echo hook consumed them; count through Stat instead
  SessionHandle s = server.listener->sessions().at(0);
  EXPECT_EQ(s.Stat().packages_in, 101u);
  EXPECT_EQ(s.Stat().packages_out, 101u);
  EXPECT_EQ(s.Stat().bytes_in, framed.size() + many.size());
  EXPECT_GE(s.Stat().send_requests, 2u);
  EXPECT_LE(s.Stat().send_requests, 101u);
  // 50 packages written in one loop iteration leave in one gathered send.
  const uint64_t before = s.Stat().send_requests;
  std::string expected;
  for (int i = 0; i < 50; ++i) expected += "w" + std::to_string(i);  // raw: no codec
  s.loop()->Post([s] {
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(s.WriteBytes("w" + std::to_string(i)).ok());
  });
  echo = peer->ReadExactly(expected.size());
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(*echo, expected);
  EXPECT_EQ(s.Stat().send_requests, before + 1);
}

TEST(TcpEchoTest, IPv6Loopback) {
  TcpHarness server;
  server.Start({}, 1, InetAddress::Loopback(0, /*ipv6=*/true));
  ASSERT_TRUE(server.server->address().is_ipv6());
  absl::StatusOr<PlainTcpClient> peer = PlainTcpClient::Connect(server.server->address());
  ASSERT_TRUE(peer.ok()) << peer.status();
  ASSERT_TRUE(peer->WriteAll("v6").ok());
  EXPECT_EQ(*peer->ReadExactly(2), "v6");
  SessionHandle s = server.listener->sessions().at(0);
  EXPECT_TRUE(s.RemoteAddress().is_ipv6());
  EXPECT_EQ(s.LocalAddress(), server.server->address());
}

TEST(TcpEchoTest, ManyLoopsShareThePortAndAllServe) {
  TcpHarness server;
  server.Start({}, /*loops=*/3);
  std::vector<PlainTcpClient> peers;
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<PlainTcpClient> peer = PlainTcpClient::Connect(server.server->address());
    ASSERT_TRUE(peer.ok());
    ASSERT_TRUE(peer->WriteAll("x").ok());
    EXPECT_EQ(*peer->ReadExactly(1), "x");
    peers.push_back(*std::move(peer));
  }
  EXPECT_EQ(server.server->session_count(), 30u);
  EXPECT_EQ(server.server->stats().accepted, 30u);
}

RingState StreamRing(runtime::EventLoop* loop) {
  return testing::ReceiveRingState(loop, internal::kStreamBufferSize);
}
bool AllBuffersBack(runtime::EventLoop* loop) {
  return testing::AllReceiveBuffersBack(loop, internal::kStreamBufferSize);
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

// Plain connections to `server`, each with `per_peer` random bytes to send.
struct Peers {
  std::vector<PlainTcpClient> clients;
  std::vector<std::string> sent;
};
void ConnectPeers(TcpHarness& server, int peers, size_t per_peer, uint64_t seed, Peers* out) {
  for (int i = 0; i < peers; ++i) {
    absl::StatusOr<PlainTcpClient> peer = PlainTcpClient::Connect(server.server->address());
    ASSERT_TRUE(peer.ok()) << peer.status();
    out->clients.push_back(*std::move(peer));
    out->sent.push_back(RandomBytes(per_peer, seed + i));
  }
}

// Echoes `per_peer` random bytes over `peers` plain connections, writing everything before
// reading anything back, and checks every byte.
void EchoFromManyPeers(TcpHarness& server, int peers, size_t per_peer) {
  Peers p;
  ASSERT_NO_FATAL_FAILURE(ConnectPeers(server, peers, per_peer, 100, &p));
  for (int i = 0; i < peers; ++i) ASSERT_TRUE(p.clients[i].WriteAll(p.sent[i]).ok());
  for (int i = 0; i < peers; ++i) {
    absl::StatusOr<std::string> echo = p.clients[i].ReadExactly(per_peer);
    ASSERT_TRUE(echo.ok()) << echo.status();
    EXPECT_TRUE(*echo == p.sent[i]) << "peer " << i << ": the echo differs";
  }
}

// Large echoes leave from the receive buffer they arrived in (no copy), and every buffer goes
// back to the ring once its bytes are sent.
TEST(TcpEchoTest, LargeEchoesAreSentFromTheReceiveBufferAndEveryBufferComesBack) {
  TcpHarness server;
  server.Start();  // raw codec; the harness echoes with WritePkg
  EchoFromManyPeers(server, 16, 256 << 10);
  EXPECT_GT(StreamRing(server.group->loop(0)).holds, 0u);
  EXPECT_TRUE(AllBuffersBack(server.group->loop(0)));
  EXPECT_TRUE(server.listener->errors().empty());
}

// With few buffers, lending stops at half the ring and the rest is copied: receives never
// starve and the bytes are the same either way.
TEST(TcpEchoTest, EchoesStayCorrectWhenFewReceiveBuffersAreLeft) {
  TcpHarness server;
  server.loop_options.buffers_per_ring = 4;
  server.listener->on_message = [](const SessionHandle& s, Package& pkg, const InetAddress&) {
    (void)s.WriteBytes(pkg.bytes());  // WriteBytes lends as WritePkg does
  };
  server.Start();
  EchoFromManyPeers(server, 24, 128 << 10);
  EXPECT_GT(StreamRing(server.group->loop(0)).holds, 0u);
  EXPECT_TRUE(AllBuffersBack(server.group->loop(0)));
  EXPECT_TRUE(server.listener->errors().empty());
}

// Runs `peer(i)` on a thread per peer while the server's only loop is held for 100 ms at the
// start, so that every peer's socket fills before the server reads any: all of them have data
// at once, more than a small ring can take.
void RunPeersFromAHeldLoop(runtime::EventLoop* loop, int peers,
                           const std::function<void(int)>& peer) {
  std::promise<void> resume;
  std::shared_future<void> resumed = resume.get_future().share();
  loop->Post([resumed] { resumed.wait(); });
  std::vector<std::thread> threads;
  for (int i = 0; i < peers; ++i) threads.emplace_back(peer, i);
  absl::SleepFor(absl::Milliseconds(100));
  resume.set_value();
  for (std::thread& t : threads) t.join();
}

// The loop's counters, read on its thread.
runtime::LoopCounters CountersOf(runtime::EventLoop* loop) {
  std::promise<runtime::LoopCounters> read;
  std::future<runtime::LoopCounters> value = read.get_future();
  loop->Post([&] { read.set_value(loop->counters()); });
  EXPECT_EQ(value.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  return value.get();
}

// Polls until no receiver waits for buffers; false after 30 s.
bool NobodyWaitsForBuffers(runtime::EventLoop* loop) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (StreamRing(loop).waiters != 0) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

// A server whose one loop has a ring of 4 receive buffers, and 32 plain peers with 1 MiB each.
class StarvedRingTest : public ::testing::Test {
 protected:
  static constexpr int kPeers = 32;
  static constexpr size_t kPerPeer = 1 << 20;

  void SetUp() override {
    server.loop_options.buffers_per_ring = 4;
    server.Start();
    loop = server.group->loop(0);
    ASSERT_NO_FATAL_FAILURE(ConnectPeers(server, kPeers, kPerPeer, 500, &p));
    ASSERT_TRUE(server.listener->WaitFor([&] { return server.listener->opens() == kPeers; }));
  }

  TcpHarness server;
  runtime::EventLoop* loop = nullptr;
  Peers p;
  std::vector<std::string> echoes = std::vector<std::string>(kPeers);
};

// Bulk traffic on more connections than the ring has buffers: a few receives drain the ring and
// the rest end with -ENOBUFS. They wait for their turn instead of all re-arming each iteration
// (which failed again, once per starved session per iteration): fewer failed receives than
// buffers' worth of data, every byte echoed, every buffer back, nobody left waiting.
TEST_F(StarvedRingTest, ReceivesReArmInTurnWithoutSpinning) {
  RunPeersFromAHeldLoop(loop, kPeers, [&](int i) {
    EXPECT_TRUE(p.clients[i].WriteAll(p.sent[i]).ok());
    absl::StatusOr<std::string> echo = p.clients[i].ReadExactly(kPerPeer);
    if (echo.ok()) echoes[i] = *std::move(echo);
  });
  for (int i = 0; i < kPeers; ++i) EXPECT_TRUE(echoes[i] == p.sent[i]) << "peer " << i;

  // Receivers woken after their peer's last bytes wait no more either.
  EXPECT_TRUE(NobodyWaitsForBuffers(loop));
  const RingState ring = StreamRing(loop);
  const uint64_t buffers_worth = kPeers * kPerPeer / internal::kStreamBufferSize;
  EXPECT_GT(ring.exhaustions, 0u) << "the ring never ran dry: the test proves nothing";
  EXPECT_LT(ring.exhaustions, buffers_worth);
  const runtime::LoopCounters counters = CountersOf(loop);
  EXPECT_GT(counters.starved_rearms, 0u);
  EXPECT_EQ(counters.buffer_exhaustions, ring.exhaustions);
  EXPECT_TRUE(AllBuffersBack(loop));
  EXPECT_TRUE(server.listener->errors().empty());
}

// Peers that reset their connection while the server is starved of buffers: their sessions
// close (a failed send or receive) whether or not they were waiting for their turn, leave the
// queue (ASan would catch a session woken after it was freed), and the other peers' echoes are
// whole.
TEST_F(StarvedRingTest, SessionsThatCloseWhileWaitingLeaveTheQueue) {
  RunPeersFromAHeldLoop(loop, kPeers, [&](int i) {
    if (i % 2 == 1) {
      // Half the bytes, then a reset with the echo still on its way.
      (void)p.clients[i].WriteAll(absl::string_view(p.sent[i]).substr(0, kPerPeer / 2));
      p.clients[i].Reset();
      return;
    }
    EXPECT_TRUE(p.clients[i].WriteAll(p.sent[i]).ok());
    absl::StatusOr<std::string> echo = p.clients[i].ReadExactly(kPerPeer);
    if (echo.ok()) echoes[i] = *std::move(echo);
  });
  for (int i = 0; i < kPeers; i += 2) EXPECT_TRUE(echoes[i] == p.sent[i]) << "peer " << i;
  ASSERT_TRUE(server.listener->WaitFor([&] { return server.listener->closes() >= kPeers / 2; }));
  EXPECT_EQ(server.listener->protocol_violations(), 0);
  EXPECT_GT(StreamRing(loop).exhaustions, 0u) << "the ring never ran dry: the test proves nothing";
  EXPECT_TRUE(NobodyWaitsForBuffers(loop));
  EXPECT_TRUE(AllBuffersBack(loop));
  // The sessions still open (the peers that read their echo) all echo again at once.
  for (int i = 0; i < kPeers; i += 2) {
    ASSERT_TRUE(p.clients[i].WriteAll("again").ok());
    EXPECT_EQ(*p.clients[i].ReadExactly(5), "again") << "peer " << i;
  }
}

// With busy polling on (a spin far longer than the test), request/response traffic is served
// from the spin: every echo comes back intact, the loop counts the sleeps it avoided, and the
// server still stops (the harness's teardown) without waiting the spin out.
TEST(TcpEchoTest, BusyPollingServerEchoesRequestResponseTraffic) {
  TcpHarness server;
  server.loop_options.busy_poll = absl::Seconds(600);
  server.Start();
  absl::StatusOr<PlainTcpClient> peer = PlainTcpClient::Connect(server.server->address());
  ASSERT_TRUE(peer.ok()) << peer.status();
  runtime::EventLoop* loop = server.group->loop(0);
  const runtime::LoopCounters before = CountersOf(loop);
  constexpr int kEchoes = 200;
  for (int i = 0; i < kEchoes; ++i) {
    const std::string message = RandomBytes(1 + i * 37, 300 + i);
    ASSERT_TRUE(peer->WriteAll(message).ok());
    absl::StatusOr<std::string> echo = peer->ReadExactly(message.size());
    ASSERT_TRUE(echo.ok()) << echo.status();
    ASSERT_TRUE(*echo == message) << "echo " << i << " differs";
  }
  // Between echoes the loop is idle (the peer waits for each echo), so each message it got
  // ended a spin.
  EXPECT_GE(CountersOf(loop).busy_poll_hits - before.busy_poll_hits,
            static_cast<uint64_t>(kEchoes));
  EXPECT_TRUE(server.listener->errors().empty());
}

// A session that closes with lent bytes still unsent (its peer stopped reading, then reset)
// gives the buffers back; nothing leaks (ASan) and the loop goes on serving.
TEST(TcpEchoTest, ASessionResetWithLentBytesUnsentGivesTheBuffersBack) {
  TcpHarness server;
  server.Start();
  absl::StatusOr<PlainTcpClient> stuck = PlainTcpClient::Connect(server.server->address());
  ASSERT_TRUE(stuck.ok()) << stuck.status();
  stuck->SetReceiveBuffer(4096);
  ASSERT_TRUE(server.listener->WaitFor([&] { return server.listener->opens() == 1; }));
  SessionHandle session = server.listener->sessions().at(0);
  // Messages of 4 KiB, each handled before the next is written (so each is lent while the
  // queue is short), until the socket is full and an echo stays held in the queue.
  const std::string message = RandomBytes(4096, 5);
  uint64_t written = 0;
  bool held = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!held && absl::Now() < deadline) {
    ASSERT_TRUE(stuck->WriteAll(message).ok());
    written += message.size();
    while (session.Stat().bytes_in < written && absl::Now() < deadline) {
      absl::SleepFor(absl::Microseconds(50));
    }
    held = StreamRing(server.group->loop(0)).outstanding > 0;
  }
  ASSERT_TRUE(held) << "no echo stayed lent after " << written << " bytes";
  EXPECT_GT(StreamRing(server.group->loop(0)).holds, 0u);
  stuck->Reset();
  EXPECT_TRUE(server.listener->WaitFor([&] { return server.listener->closes() == 1; }));
  EXPECT_TRUE(AllBuffersBack(server.group->loop(0)));
  EchoFromManyPeers(server, 2, 64 << 10);  // the loop still serves
}

}  // namespace
}  // namespace ringnet::net
