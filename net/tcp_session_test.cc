// TCP session behaviour on loopback: timeouts, cron, backpressure, limits, bad input, closing.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/codec/length_field_codec.h"
#include "ringnet/codec/line_codec.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/test/net_test_util.h"

namespace ringnet::net {
namespace {

using testing::PlainTcpClient;
using testing::TcpHarness;

bool HasError(const std::vector<absl::Status>& errors, absl::StatusCode code,
              absl::string_view text) {
  for (const absl::Status& e : errors) {
    if (e.code() == code && e.message().find(text) != absl::string_view::npos) return true;
  }
  return false;
}

PlainTcpClient MustConnect(const TcpHarness& h) {
  absl::StatusOr<PlainTcpClient> peer = PlainTcpClient::Connect(h.server->address());
  EXPECT_TRUE(peer.ok()) << peer.status();
  return *std::move(peer);
}

TEST(TcpSessionTest, IdleTimeoutClosesWithAClearError) {
  TcpHarness h;
  h.Start([](SessionConfig& c) { c.options.idle_timeout = absl::Milliseconds(100); });
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_TRUE(HasError(h.listener->errors(), absl::StatusCode::kDeadlineExceeded, "idle timeout"));
  EXPECT_TRUE(peer.ReadUntilEof().ok());
}

TEST(TcpSessionTest, ReadTimeoutClosesAHalfSentPackage) {
  TcpHarness h;
  h.Start([](SessionConfig& c) {
    c.codec = std::make_shared<codec::LengthFieldCodec>();
    c.options.read_timeout = absl::Milliseconds(100);
  });
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(peer.WriteAll(std::string("\0\0\0\x10partial", 11)).ok());  // 7 of 16 body bytes
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_TRUE(HasError(h.listener->errors(), absl::StatusCode::kDeadlineExceeded, "read timeout"));
}

TEST(TcpSessionTest, ReadTimeoutSparesSessionsThatCompleteTheirPackages) {
  TcpHarness h;
  h.Start([](SessionConfig& c) {
    c.codec = std::make_shared<codec::LengthFieldCodec>();
    c.options.read_timeout = absl::Milliseconds(50);
  });
  PlainTcpClient peer = MustConnect(h);
  // Silent but with no partial package: a read timeout is not an idle timeout.
  ASSERT_TRUE(peer.WriteAll(testing::LengthFramed("ok")).ok());
  ASSERT_TRUE(peer.ReadExactly(6).ok());
  h.group->loop(0)->Post([] {});
  absl::StatusOr<std::string> nothing = peer.ReadExactly(1, absl::Milliseconds(300));
  EXPECT_EQ(nothing.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(h.listener->closes(), 0);
}

TEST(TcpSessionTest, WriteTimeoutClosesWhenThePeerStopsReading) {
  TcpHarness h;
  h.listener->on_open = [](const SessionHandle& s) {
    // 8 MiB toward a peer that never reads: the kernel buffers fill and the send stalls.
    for (int i = 0; i < 8; ++i) (void)s.WriteBytes(std::string(1 << 20, 'w'));
    return absl::OkStatus();
  };
  h.Start([](SessionConfig& c) { c.options.write_timeout = absl::Milliseconds(200); });
  PlainTcpClient peer = MustConnect(h);
  peer.SetReceiveBuffer(4096);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_TRUE(HasError(h.listener->errors(), absl::StatusCode::kDeadlineExceeded, "write timeout"));
}

TEST(TcpSessionTest, CronRunsEveryPeriod) {
  TcpHarness h;
  h.Start([](SessionConfig& c) { c.options.cron_period = absl::Milliseconds(10); });
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->crons() >= 3; }));
}

TEST(TcpSessionTest, OversizeLengthClosesBeforeAnyAllocationOfThatSize) {
  TcpHarness h;
  h.Start([](SessionConfig& c) { c.codec = std::make_shared<codec::LengthFieldCodec>(1024); });
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(peer.WriteAll(std::string("\x7f\xff\xff\xff", 4)).ok());  // announces 2 GiB
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_TRUE(HasError(h.listener->errors(), absl::StatusCode::kResourceExhausted,
                       "declared length 2147483647 exceeds the maximum 1024"));
  EXPECT_TRUE(peer.ReadUntilEof().ok());
}

TEST(TcpSessionTest, MaxMessageLengthBoundsWhatACodecBuffers) {
  TcpHarness h;
  h.Start([](SessionConfig& c) {
    c.codec = std::make_shared<codec::LineCodec>(1 << 20);  // the codec alone would allow 1 MiB
    c.options.max_msg_len = 1000;
  });
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(peer.WriteAll(std::string(5000, 'a')).ok());  // no newline
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_TRUE(HasError(h.listener->errors(), absl::StatusCode::kResourceExhausted, "max_msg_len"));
}

TEST(TcpSessionTest, CodecErrorClosesOnlyThatSession) {
  TcpHarness h;
  h.Start([](SessionConfig& c) { c.codec = std::make_shared<codec::LineCodec>(8); });
  PlainTcpClient good = MustConnect(h);
  PlainTcpClient bad = MustConnect(h);
  ASSERT_TRUE(bad.WriteAll("this line is far too long\n").ok());
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_TRUE(HasError(h.listener->errors(), absl::StatusCode::kResourceExhausted, "line codec"));
  ASSERT_TRUE(good.WriteAll("ping\n").ok());
  EXPECT_EQ(*good.ReadExactly(5), "ping\n");
  EXPECT_EQ(h.server->session_count(), 1u);
}

TEST(TcpSessionTest, HighWaterMarkRefusesWritesAndLosesNothingQueued) {
  TcpHarness h;
  std::atomic<int64_t> accepted{0};
  std::atomic<bool> refused{false};
  h.listener->on_open = [&](const SessionHandle& s) {
    const std::string chunk(64 << 10, 'q');
    while (true) {
      absl::Status st = s.WriteBytes(chunk);
      if (absl::IsResourceExhausted(st)) {
        refused = true;
        EXPECT_NE(st.message().find("high-water mark"), std::string::npos) << st;
        break;
      }
      EXPECT_TRUE(st.ok()) << st;
      accepted += static_cast<int64_t>(chunk.size());
    }
    EXPECT_LE(s.Stat().queued_bytes, 1u << 20);
    s.Close();  // graceful: everything accepted must still arrive
    return absl::OkStatus();
  };
  h.Start([](SessionConfig& c) {
    c.options.write_high_water = 1 << 20;
    c.options.close_linger = absl::Seconds(60);
  });
  PlainTcpClient peer = MustConnect(h);
  absl::StatusOr<std::string> all = peer.ReadUntilEof();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(refused);
  EXPECT_EQ(static_cast<int64_t>(all->size()), accepted.load());
  EXPECT_GE(accepted.load(), 1 << 19);
}

TEST(TcpSessionTest, PeerResetInTheMiddleOfAWriteEndsInOneOnClose) {
  TcpHarness h;
  h.listener->on_open = [](const SessionHandle& s) {
    for (int i = 0; i < 16; ++i) (void)s.WriteBytes(std::string(1 << 20, 'r'));
    return absl::OkStatus();
  };
  h.Start();
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(peer.ReadExactly(1000).ok());  // the write is under way
  peer.Reset();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_EQ(h.listener->protocol_violations(), 0);
  ASSERT_FALSE(h.listener->errors().empty());
  const std::string error(h.listener->errors()[0].message());
  EXPECT_TRUE(error.find("ECONNRESET") != std::string::npos ||
              error.find("EPIPE") != std::string::npos)
      << error;
}

TEST(TcpSessionTest, HalfCloseGetsItsRepliesThenOneOnClose) {
  TcpHarness h;
  h.Start();
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(peer.WriteAll("last words").ok());
  peer.ShutdownWrite();
  absl::StatusOr<std::string> all = peer.ReadUntilEof();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, "last words");
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_TRUE(h.listener->errors().empty());
  EXPECT_EQ(h.listener->protocol_violations(), 0);
}

TEST(TcpSessionTest, OnOpenErrorRejectsWithoutOnClose) {
  TcpHarness h;
  h.listener->on_open = [](const SessionHandle&) {
    return absl::PermissionDeniedError("not today");
  };
  h.Start();
  PlainTcpClient peer = MustConnect(h);
  EXPECT_TRUE(peer.ReadUntilEof().ok());
  EXPECT_EQ(h.listener->closes(), 0);
  EXPECT_EQ(h.server->stats().rejected, 1u);
  EXPECT_EQ(h.server->stats().accepted, 0u);
}

// Close() from OnOpen: the session still opens, what OnOpen wrote before it leaves, writes after
// it are refused as for any closing session, and it ends gracefully in one OnClose.
TEST(TcpSessionTest, CloseFromOnOpenSendsTheGreetingThenCloses) {
  TcpHarness h;
  std::atomic<int> late_write{-1};
  h.listener->on_open = [&](const SessionHandle& s) {
    EXPECT_TRUE(s.WriteBytes("greeting").ok());
    s.Close();
    late_write = static_cast<int>(s.WriteBytes("after close").code());
    return absl::OkStatus();
  };
  h.Start();
  PlainTcpClient peer = MustConnect(h);
  auto all = peer.ReadUntilEof();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, "greeting");
  peer.ShutdownWrite();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_EQ(late_write.load(), static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(h.server->stats().accepted, 1u);
  EXPECT_TRUE(h.listener->errors().empty());
  EXPECT_EQ(h.listener->protocol_violations(), 0);
}

// The same from the NewSessionCallback, before OnOpen: OnOpen still runs, then the close.
TEST(TcpSessionTest, CloseFromTheNewSessionCallbackOpensThenCloses) {
  TcpHarness h;
  h.Start([](SessionConfig& c) { c.session.Close(); });
  PlainTcpClient peer = MustConnect(h);
  EXPECT_TRUE(peer.ReadUntilEof().ok());
  peer.ShutdownWrite();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_EQ(h.listener->opens(), 1);
  EXPECT_EQ(h.listener->protocol_violations(), 0);
}

TEST(TcpSessionTest, ServerCloseClosesLiveSessionsGracefully) {
  TcpHarness h;
  h.Start();
  constexpr int kPeers = 10;
  std::vector<PlainTcpClient> peers;
  for (int i = 0; i < kPeers; ++i) peers.push_back(MustConnect(h));
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == kPeers; }));
  for (const SessionHandle& s : h.listener->sessions()) ASSERT_TRUE(s.WriteBytes("bye").ok());
  h.server->Close();
  for (PlainTcpClient& p : peers) {
    absl::StatusOr<std::string> all = p.ReadUntilEof();
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_EQ(*all, "bye");
  }
  peers.clear();  // a peer that saw EOF closes too; the server's lingering close then ends
  EXPECT_TRUE(h.server->WaitClosed(absl::Seconds(30)));
  EXPECT_EQ(h.listener->closes(), kPeers);
  // The port no longer accepts.
  EXPECT_FALSE(PlainTcpClient::Connect(h.server->address()).ok());
}

// WriteBytesArray gathers its parts, in order, with what else is queued: parts of 64 KiB and
// more keep buffers of their own, so this goes out as multi-buffer sendmsg calls (the gather list
// borrowed from the loop's pool), and the pool serves the next send again.
TEST(TcpSessionTest, WriteBytesArrayArrivesInOrderThroughGatheredSends) {
  TcpHarness h;
  h.Start();
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  SessionHandle s = h.listener->sessions()[0];
  std::string expected;
  for (int round = 0; round < 3; ++round) {
    const std::string big_a(70'000, static_cast<char>('a' + round));
    const std::string big_b(90'000, static_cast<char>('A' + round));
    std::vector<absl::string_view> parts = {"head", big_a, "", "mid", big_b, "tail"};
    ASSERT_TRUE(s.WriteBytes("first").ok());
    ASSERT_TRUE(s.WriteBytesArray(parts).ok());
    expected += "first";
    for (absl::string_view p : parts) expected.append(p.data(), p.size());
  }
  absl::StatusOr<std::string> got = peer.ReadExactly(expected.size());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == expected) << "the gathered bytes differ";
}

TEST(TcpSessionTest, HandlesWorkFromOtherThreadsAndFailCleanlyAfterClose) {
  TcpHarness h;
  h.Start();
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  SessionHandle s = h.listener->sessions()[0];
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&s] {
      for (int i = 0; i < 100; ++i) ASSERT_TRUE(s.WriteBytes("0123456789").ok());
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_TRUE(peer.ReadExactly(4000).ok());
  // No attribute yet (the map is created by the first SetAttribute): reads and removes are safe.
  EXPECT_FALSE(s.GetAttribute("user").has_value());
  s.RemoveAttribute("user");
  s.SetAttribute("user", std::string("alice"));
  EXPECT_EQ(std::any_cast<std::string>(*s.GetAttribute("user")), "alice");
  s.RemoveAttribute("user");
  EXPECT_FALSE(s.GetAttribute("user").has_value());
  s.UpdateActive();
  EXPECT_GT(s.GetActive(), absl::Now() - absl::Minutes(1));
  EXPECT_EQ(s.kind(), SessionKind::kTcp);
  s.Close();
  EXPECT_TRUE(peer.ReadUntilEof().ok());
  peer.ShutdownWrite();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_EQ(s.Stat().bytes_out, 4000u);
  EXPECT_TRUE(s.IsClosed());
  EXPECT_EQ(s.WriteBytes("late").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.WritePkgTo(Package::View("x"), InetAddress::Loopback(1)).code(),
            absl::StatusCode::kFailedPrecondition);
  s.Close();  // idempotent
  EXPECT_EQ(SessionHandle().WriteBytes("x").code(), absl::StatusCode::kFailedPrecondition);
}

// The NewSessionCallback may hand its handle to another thread, which may write before the
// session has applied the callback's options (the high-water mark is set after the callback
// returns): no data race (ThreadSanitizer checks this), and the bytes arrive.
TEST(TcpSessionTest, AHandleGivenAwayByTheNewSessionCallbackCanWriteAtOnce) {
  std::thread writer;
  TcpHarness h;
  h.Start([&writer](SessionConfig& c) {
    c.options.write_high_water = 1 << 20;
    writer = std::thread([s = c.session] { EXPECT_TRUE(s.WriteBytes("hello").ok()); });
  });
  PlainTcpClient peer = MustConnect(h);
  auto got = peer.ReadExactly(5);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "hello");
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));  // `writer` is set
  writer.join();
}

TEST(TcpSessionTest, BlockingHandlersOnAnExecutorKeepEachSessionsOrder) {
  ThreadPoolExecutor pool(4);
  TcpHarness h;
  std::mutex mutex;
  std::vector<std::string> seen;
  std::atomic<bool> on_loop_thread{false};
  h.listener->on_message = [&](const SessionHandle& s, Package& pkg, const InetAddress&) {
    if (s.loop()->IsInLoopThread()) on_loop_thread = true;
    std::this_thread::sleep_for(std::chrono::microseconds(50));  // a blocking handler
    std::lock_guard<std::mutex> lock(mutex);
    seen.emplace_back(pkg.bytes());
  };
  h.Start([&](SessionConfig& c) {
    c.codec = std::make_shared<codec::LineCodec>();
    c.options.executor = &pool;
  });
  PlainTcpClient peer = MustConnect(h);
  std::string lines;
  for (int i = 0; i < 500; ++i) lines += std::to_string(i) + "\n";
  ASSERT_TRUE(peer.WriteAll(lines).ok());
  peer.ShutdownWrite();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  std::lock_guard<std::mutex> lock(mutex);
  ASSERT_EQ(seen.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(seen[i], std::to_string(i));
  EXPECT_FALSE(on_loop_thread);
}

TEST(TcpSessionTest, FiveThousandConnections) {
  ASSERT_GE(testing::RaiseFileLimit(12'000), 11'000);
  TcpHarness h;
  h.Start({}, /*loops=*/2);
  constexpr int kPeers = 5000;
  std::vector<PlainTcpClient> peers;
  peers.reserve(kPeers);
  for (int i = 0; i < kPeers; ++i) {
    absl::StatusOr<PlainTcpClient> p = PlainTcpClient::Connect(h.server->address());
    ASSERT_TRUE(p.ok()) << i << ": " << p.status();
    peers.push_back(*std::move(p));
  }
  for (auto& p : peers) ASSERT_TRUE(p.WriteAll("hi").ok());
  for (auto& p : peers) ASSERT_EQ(*p.ReadExactly(2), "hi");
  EXPECT_EQ(h.server->session_count(), static_cast<size_t>(kPeers));
  peers.clear();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == kPeers; }));
  EXPECT_EQ(h.listener->protocol_violations(), 0);
}

}  // namespace
}  // namespace ringnet::net
