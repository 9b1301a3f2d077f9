// Flow control on loopback (issue 18): writability marks and their events, read pausing (by hand,
// while unwritable, behind an executor's backlog), and write completion callbacks. Real sockets;
// the peers are plain POSIX sockets.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/codec/length_field_codec.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/test/net_test_util.h"

namespace ringnet::net {
namespace {

using testing::PlainTcpClient;
using testing::TcpHarness;

PlainTcpClient MustConnect(const TcpHarness& h) {
  absl::StatusOr<PlainTcpClient> peer = PlainTcpClient::Connect(h.server->address());
  EXPECT_TRUE(peer.ok()) << peer.status();
  return *std::move(peer);
}

// Bytes that tell where they sit in the stream (a lost or reordered run shows).
std::string Pattern(size_t offset, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    const size_t at = offset + i;
    s[i] = static_cast<char>((at * 131 + (at >> 13)) & 0xff);
  }
  return s;
}

// Polls `done` (for state no listener event reports) for up to 30 s.
bool PollFor(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return done();
}

SessionHandle OnlySession(const TcpHarness& h) {
  std::vector<SessionHandle> sessions = h.listener->sessions();
  return sessions.empty() ? SessionHandle() : sessions.front();
}

// The scenario in small: a peer that sends far more than it reads, to an echo. With the
// defaults (reading pauses while unwritable) nothing is refused, nothing is lost, and the queue
// stays near the high mark.
TEST(FlowControlTest, EchoToASlowReaderLosesNothingAndStaysNearTheHighMark) {
  TcpHarness h;
  constexpr size_t kTotal = 24 << 20;
  constexpr size_t kHigh = 256 << 10;
  std::atomic<int> refused{0};
  std::atomic<uint64_t> max_queued{0};
  std::atomic<bool> saw_pause{false};
  h.listener->on_message = [&](const SessionHandle& s, Package& pkg, const InetAddress&) {
    if (!s.WriteBytes(pkg.bytes()).ok()) ++refused;
    const SessionStat stat = s.Stat();
    if (stat.queued_bytes > max_queued) max_queued = stat.queued_bytes;
    if (stat.reading_paused || !stat.writable) saw_pause = true;
  };
  h.Start([](SessionConfig& c) {
    c.options.write_water_mark.high = kHigh;
    c.options.write_water_mark.low = 64 << 10;
  });
  PlainTcpClient peer = MustConnect(h);
  std::thread writer([&] {
    for (size_t at = 0; at < kTotal; at += 1 << 20) {
      ASSERT_TRUE(peer.WriteAll(Pattern(at, 1 << 20)).ok());
    }
  });
  size_t got = 0;
  size_t mismatch_at = kTotal;
  while (got < kTotal) {
    absl::StatusOr<std::string> chunk = peer.ReadExactly(std::min<size_t>(64 << 10, kTotal - got));
    ASSERT_TRUE(chunk.ok()) << chunk.status() << " after " << got << " bytes";
    if (mismatch_at == kTotal && *chunk != Pattern(got, chunk->size())) mismatch_at = got;
    got += chunk->size();
    absl::SleepFor(absl::Microseconds(500));  // slower than the writer
  }
  writer.join();
  EXPECT_EQ(mismatch_at, kTotal) << "the echo differs from byte " << mismatch_at;
  EXPECT_EQ(refused.load(), 0);
  EXPECT_TRUE(saw_pause.load());
  RecordProperty("max_queued_bytes", static_cast<int>(max_queued.load()));
  // The high mark, plus what was already received when reading paused (the rest of one receive,
  // and what the receive brought before its cancel landed): far below the 16 MiB hard limit.
  EXPECT_LE(max_queued.load(), kHigh + (4u << 20));
  EXPECT_EQ(h.listener->protocol_violations(), 0);
}

TEST(FlowControlTest, WritabilityTurnsAtTheMarksAndIsReportedAfterTheWritingCallback) {
  TcpHarness h;
  std::atomic<bool> in_open{false};
  std::atomic<bool> event_inside_open{false};
  std::atomic<bool> unwritable_after_crossing{false};
  h.listener->on_writability = [&](const SessionHandle&, bool) {
    if (in_open) event_inside_open = true;
  };
  h.listener->on_open = [&](const SessionHandle& s) {
    in_open = true;
    EXPECT_TRUE(s.IsWritable());
    // 4 x 64 KiB reach the 256 KiB high mark: the write that reaches it succeeds.
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(s.WriteBytes(std::string(64 << 10, 'w')).ok());
    unwritable_after_crossing = !s.IsWritable();
    // Still accepted past it (up to the hard limit), and more than the socket buffers hold, so
    // the queue stays above the low mark until the peer reads.
    for (int i = 0; i < 12; ++i) EXPECT_TRUE(s.WriteBytes(std::string(1 << 20, 'w')).ok());
    in_open = false;
    return absl::OkStatus();
  };
  h.Start([](SessionConfig& c) {
    c.options.write_water_mark.high = 256 << 10;
    c.options.write_water_mark.low = 32 << 10;
  });
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return !h.listener->writability().empty(); }));
  EXPECT_TRUE(unwritable_after_crossing.load());
  EXPECT_FALSE(event_inside_open.load());
  EXPECT_EQ(h.listener->writability(), std::vector<bool>{false});
  ASSERT_TRUE(peer.ReadExactly(4 * (64 << 10) + 12 * (1 << 20)).ok());
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->writability().size() == 2; }));
  EXPECT_EQ(h.listener->writability(), (std::vector<bool>{false, true}));
  EXPECT_TRUE(OnlySession(h).IsWritable());
}

// Paused: no receive is armed, so the bytes wait in the kernel and the peer's send blocks; the
// idle timeout does not fire meanwhile. Resumed: everything arrives, in order.
TEST(FlowControlTest, PausedReadingLeavesBytesInTheKernelUntilResumed) {
  TcpHarness h;
  std::mutex mutex;
  std::string received;
  h.listener->on_message = [&](const SessionHandle&, Package& pkg, const InetAddress&) {
    std::lock_guard<std::mutex> lock(mutex);
    received.append(pkg.bytes().data(), pkg.bytes().size());
  };
  h.listener->on_open = [](const SessionHandle& s) {
    EXPECT_TRUE(s.PauseReading().ok());  // before the first receive is armed
    return absl::OkStatus();
  };
  h.Start([](SessionConfig& c) { c.options.idle_timeout = absl::Milliseconds(100); });
  PlainTcpClient peer = MustConnect(h);
  constexpr size_t kTotal = 32 << 20;  // far more than both socket buffers hold
  std::atomic<size_t> sent{0};
  std::thread writer([&] {
    for (size_t at = 0; at < kTotal; at += 256 << 10) {
      ASSERT_TRUE(peer.WriteAll(Pattern(at, 256 << 10)).ok());
      sent = at + (256 << 10);
    }
  });
  absl::SleepFor(absl::Milliseconds(400));  // four idle timeouts
  const SessionHandle s = OnlySession(h);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s.IsClosed());
  EXPECT_TRUE(s.Stat().reading_paused);
  EXPECT_EQ(s.Stat().bytes_in, 0u);
  EXPECT_LT(sent.load(), kTotal);       // TCP's window pushed back on the sender
  ASSERT_TRUE(s.ResumeReading().ok());  // from another thread: posted to the loop
  writer.join();
  ASSERT_TRUE(PollFor([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return received.size() >= kTotal;
  }));
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_TRUE(received == Pattern(0, kTotal));
  EXPECT_FALSE(s.Stat().reading_paused);
}

// Paused from inside OnMessage while more is arriving (the armed receive is cancelled): what the
// receive still brings is kept and delivered first on resume, and a FIN that came meanwhile
// closes the session only after it.
TEST(FlowControlTest, PauseWhileReceivingKeepsOrderAndHoldsTheFin) {
  TcpHarness h;
  std::mutex mutex;
  std::string received;
  std::atomic<int> messages{0};
  h.listener->on_message = [&](const SessionHandle& s, Package& pkg, const InetAddress&) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      received.append(pkg.bytes().data(), pkg.bytes().size());
    }
    if (++messages == 1) {
      EXPECT_TRUE(s.PauseReading().ok());
    }
  };
  h.Start();
  PlainTcpClient peer = MustConnect(h);
  constexpr size_t kTotal = 2 << 20;  // fits the socket buffers: the FIN follows at once
  ASSERT_TRUE(peer.WriteAll(Pattern(0, kTotal)).ok());
  peer.ShutdownWrite();
  ASSERT_TRUE(PollFor([&] { return messages.load() >= 1; }));
  absl::SleepFor(absl::Milliseconds(200));
  const SessionHandle s = OnlySession(h);
  EXPECT_EQ(h.listener->closes(), 0);  // the FIN waits behind the paused bytes
  ASSERT_TRUE(s.ResumeReading().ok());
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(received.size(), kTotal);
  EXPECT_TRUE(received == Pattern(0, kTotal));
}

// Close() on a paused session still reads on to the peer's FIN: a clean close, not the linger.
TEST(FlowControlTest, CloseWhilePausedEndsCleanlyWithThePeersFin) {
  TcpHarness h;
  h.listener->on_open = [](const SessionHandle& s) {
    EXPECT_TRUE(s.PauseReading().ok());
    return absl::OkStatus();
  };
  h.Start([](SessionConfig& c) { c.options.close_linger = absl::Seconds(30); });
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(peer.WriteAll("unread").ok());
  ASSERT_TRUE(PollFor([&] { return OnlySession(h) && OnlySession(h).Stat().reading_paused; }));
  const absl::Time start = absl::Now();
  OnlySession(h).Close();
  ASSERT_TRUE(peer.ReadUntilEof().ok());  // our FIN
  peer.ShutdownWrite();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));  // not the 30 s linger
  EXPECT_TRUE(h.listener->errors().empty());
}

// Write completion: each callback runs once its bytes have left, in order, never inside the
// write; a session that closes first fails the rest with the reason.
TEST(FlowControlTest, WriteCallbacksRunInOrderOnceTheBytesLeft) {
  TcpHarness h;
  std::mutex mutex;
  std::vector<int> order;
  std::vector<absl::Status> results;
  std::atomic<bool> in_write{false};
  std::atomic<bool> ran_inside{false};
  auto record = [&](int n) {
    return [&, n](const absl::Status& st) {
      if (in_write) ran_inside = true;
      std::lock_guard<std::mutex> lock(mutex);
      order.push_back(n);
      results.push_back(st);
    };
  };
  h.listener->on_open = [&](const SessionHandle& s) {
    in_write = true;
    EXPECT_TRUE(s.WriteBytes("first", record(1)).ok());
    EXPECT_TRUE(s.WriteBytes(std::string(3 << 20, 'b'), record(2)).ok());
    EXPECT_TRUE(s.WritePkg(Package(std::string("third")), record(3)).ok());
    in_write = false;
    return absl::OkStatus();
  };
  h.Start();
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(peer.ReadExactly(5 + (3 << 20) + 5).ok());
  ASSERT_TRUE(PollFor([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return order.size() == 3;
  }));
  // From another thread too: posted, then completed on the loop.
  std::atomic<bool> posted_done{false};
  const SessionHandle s = OnlySession(h);
  ASSERT_TRUE(s.WriteBytes("fourth", [&](const absl::Status& st) {
                 EXPECT_TRUE(st.ok()) << st;
                 EXPECT_TRUE(s.loop()->IsInLoopThread());
                 posted_done = true;
               }).ok());
  ASSERT_TRUE(peer.ReadExactly(6).ok());
  ASSERT_TRUE(PollFor([&] { return posted_done.load(); }));
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  for (const absl::Status& st : results) EXPECT_TRUE(st.ok()) << st;
  EXPECT_FALSE(ran_inside.load());
}

TEST(FlowControlTest, WriteCallbacksOfBytesThatNeverLeaveGetTheReason) {
  TcpHarness h;
  std::mutex mutex;
  std::vector<absl::Status> results;
  h.listener->on_open = [&](const SessionHandle& s) {
    // More than both socket buffers hold toward a peer that never reads.
    for (int i = 0; i < 12; ++i) {
      EXPECT_TRUE(s.WriteBytes(std::string(1 << 20, 'x'), [&](const absl::Status& st) {
                     std::lock_guard<std::mutex> lock(mutex);
                     results.push_back(st);
                   }).ok());
    }
    return absl::OkStatus();
  };
  h.Start([](SessionConfig& c) { c.options.write_timeout = absl::Milliseconds(200); });
  PlainTcpClient peer = MustConnect(h);
  peer.SetReceiveBuffer(4096);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  ASSERT_TRUE(PollFor([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return results.size() == 12;
  }));
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_FALSE(results.back().ok());
  EXPECT_NE(results.back().message().find("closed before the write left"), std::string::npos)
      << results.back();
  EXPECT_NE(results.back().message().find("write timeout"), std::string::npos) << results.back();
}

// Writes posted from another thread while the session closes: each callback runs exactly once
// when the call returned OK (with OK or the reason), never when it returned an error.
TEST(FlowControlTest, PostedWritesRaceAClosingSessionAndCallbacksRunExactlyOnce) {
  TcpHarness h;
  h.Start();
  constexpr int kWrites = 200;
  std::atomic<int> accepted{0};
  std::atomic<int> calls{0};
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(PollFor([&] { return static_cast<bool>(OnlySession(h)); }));
  const SessionHandle s = OnlySession(h);
  for (int i = 0; i < kWrites; ++i) {
    if (i == kWrites / 2) s.Close();
    if (s.WriteBytes("racing", [&](const absl::Status&) { ++calls; }).ok()) ++accepted;
  }
  ASSERT_TRUE(peer.ReadUntilEof().ok());
  peer.ShutdownWrite();
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->closes() == 1; }));
  ASSERT_TRUE(PollFor([&] { return calls.load() == accepted.load(); }));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(calls.load(), accepted.load());
  EXPECT_GE(accepted.load(), kWrites / 2);
}

TEST(FlowControlTest, AFailedWriteRunsNoCallback) {
  TcpHarness h;
  std::atomic<int> calls{0};
  h.listener->on_open = [&](const SessionHandle& s) {
    absl::Status st =
        s.WriteBytes(std::string(2 << 20, 'x'), [&](const absl::Status&) { ++calls; });
    EXPECT_TRUE(absl::IsResourceExhausted(st)) << st;
    EXPECT_TRUE(absl::IsInvalidArgument(s.WriteBytes("x", WriteCallback())));
    return absl::OkStatus();
  };
  h.Start([](SessionConfig& c) { c.options.write_high_water = 1 << 20; });
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(calls.load(), 0);
}

// A handler that blocks on an executor: the session stops reading once the backlog passes its
// bound (the bytes stay in the kernel), and every package still arrives, in order.
TEST(FlowControlTest, AnExecutorBacklogPausesReadingAndLosesNothing) {
  ThreadPoolExecutor pool(1);
  TcpHarness h;
  std::mutex mutex;
  std::condition_variable released_cv;
  bool released = false;
  std::string received;
  h.listener->on_message = [&](const SessionHandle&, Package& pkg, const InetAddress&) {
    std::unique_lock<std::mutex> lock(mutex);
    released_cv.wait(lock, [&] { return released; });
    received.append(pkg.bytes().data(), pkg.bytes().size());
  };
  h.Start([&](SessionConfig& c) {
    c.options.executor = &pool;
    c.options.executor_backlog = 256 << 10;
  });
  PlainTcpClient peer = MustConnect(h);
  constexpr size_t kTotal = 16 << 20;
  std::thread writer([&] { ASSERT_TRUE(peer.WriteAll(Pattern(0, kTotal)).ok()); });
  ASSERT_TRUE(PollFor([&] { return OnlySession(h) && OnlySession(h).Stat().reading_paused; }));
  absl::SleepFor(absl::Milliseconds(100));
  const uint64_t in_while_blocked = OnlySession(h).Stat().bytes_in;
  EXPECT_LT(in_while_blocked, kTotal / 2) << "the session kept reading behind a blocked handler";
  {
    std::lock_guard<std::mutex> lock(mutex);
    released = true;
  }
  released_cv.notify_all();
  writer.join();
  ASSERT_TRUE(PollFor([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return received.size() >= kTotal;
  }));
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_TRUE(received == Pattern(0, kTotal));
}

TEST(FlowControlTest, WaterMarksAreCappedByTheHardLimit) {
  TcpHarness h;
  std::atomic<bool> writable_at_hard{true};
  h.listener->on_open = [&](const SessionHandle& s) {
    // high (1 MiB by default) is above write_high_water (64 KiB): it is capped there.
    EXPECT_TRUE(s.WriteBytes(std::string(64 << 10, 'c')).ok());
    writable_at_hard = s.IsWritable();
    return absl::OkStatus();
  };
  h.Start([](SessionConfig& c) { c.options.write_high_water = 64 << 10; });
  PlainTcpClient peer = MustConnect(h);
  ASSERT_TRUE(h.listener->WaitFor([&] { return h.listener->opens() == 1; }));
  EXPECT_FALSE(writable_at_hard.load());
}

TEST(FlowControlTest, AnEmptyHandleRefusesFlowControlCalls) {
  EXPECT_TRUE(absl::IsFailedPrecondition(SessionHandle().PauseReading()));
  EXPECT_TRUE(absl::IsFailedPrecondition(SessionHandle().ResumeReading()));
  EXPECT_FALSE(SessionHandle().IsWritable());
}

}  // namespace
}  // namespace ringnet::net
