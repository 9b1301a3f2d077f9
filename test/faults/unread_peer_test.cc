// Fault 5: a peer that never reads while the server writes. A plain socket client connects with a
// 4 KiB SO_RCVBUF and never reads; the server's session writes, ignoring writability on purpose,
// until a write fails with ResourceExhausted at write_high_water. Its queue must never pass that
// hard limit (nor the process's memory grow by much more), it must have turned unwritable at its
// high mark on the way, and a Close() must still end the session (OnClose) once close_linger runs
// out, although what is queued can never leave. Runs on every backend (all_backends: io_uring,
// epoll, io_uring as on 5.19).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "gtest/gtest.h"
#include "ringnet/net/session.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/runtime/event_loop_group.h"
#include "ringnet/test/faults/fault_util.h"
#include "ringnet/test/faults/netns.h"

namespace ringnet::faults {
namespace {

using net::InetAddress;
using net::Package;
using net::SessionConfig;
using net::SessionHandle;

constexpr size_t kHighWater = 4 << 20;  // the hard limit (default 16 MiB: smaller is quicker)
constexpr size_t kChunk = 64 << 10;
constexpr int kChunksPerTick = 4;  // 256 KiB every 5 ms: the limit is reached in ~80 ms
constexpr absl::Duration kLinger = absl::Milliseconds(500);
// What a loaded machine (two shared vCPUs, sanitizers) may add to the linger bound.
constexpr absl::Duration kSlack = absl::Seconds(1);
// What the process may grow by besides the queue: the loop's pool of retired write buffers and
// allocator slack (measured at well under 1 MiB).
constexpr int64_t kRssConstant = 2 << 20;

// Writes without looking at writability until the session refuses, keeping the worst it saw.
class Flooder : public FaultListener {
 public:
  void OnCron(const SessionHandle& s) override {
    if (refused_.load()) return;
    for (int i = 0; i < kChunksPerTick; ++i) {
      absl::Status st = s.WriteBytes(std::string(kChunk, 'x'));
      const uint64_t queued = s.Stat().queued_bytes;
      if (queued > max_queued_.load()) max_queued_.store(queued);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        refusal_ = st;
        refused_.store(true);
        return;
      }
      accepted_.fetch_add(kChunk);
    }
  }
  void OnWritabilityChanged(const SessionHandle&, bool writable) override {
    (writable ? writable_events_ : unwritable_events_).fetch_add(1);
  }
  void OnMessage(const SessionHandle&, Package&, const InetAddress&) override {}

  bool refused() const { return refused_.load(); }
  absl::Status refusal() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return refusal_;
  }
  uint64_t max_queued() const { return max_queued_.load(); }
  uint64_t accepted() const { return accepted_.load(); }
  int writable_events() const { return writable_events_.load(); }
  int unwritable_events() const { return unwritable_events_.load(); }

 private:
  std::atomic<bool> refused_{false};
  absl::Status refusal_;  // under mutex_
  std::atomic<uint64_t> max_queued_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<int> writable_events_{0};
  std::atomic<int> unwritable_events_{0};
};

// A client socket with a tiny receive buffer (set before connect, so the window it offers is
// small from the start) that never reads.
int ConnectNonReader(const InetAddress& server) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int rcvbuf = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (::connect(fd, server.sockaddr(), server.length()) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class UnreadPeerTest : public FaultTest {
 protected:
  std::vector<std::string> RequiredTools() const override { return {}; }  // sockets only
};

TEST_F(UnreadPeerTest, WritesFailAtTheHardLimitAndCloseStillEndsTheSessionWithinLinger) {
  // The kernel's share stays small in this namespace (128 KiB send buffers at most), so almost
  // everything the server writes waits in the session's own queue.
  ASSERT_TRUE(WriteSysctl("net/ipv4/tcp_wmem", "4096 16384 131072").ok());
  auto group = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(group.ok()) << group.status();

  auto flooder = std::make_shared<Flooder>();
  net::TcpServerOptions options;
  options.listen = InetAddress::Loopback(0);
  options.new_session = [flooder](SessionConfig& c) {
    c.listener = flooder;
    c.options.write_high_water = kHighWater;
    c.options.close_linger = kLinger;
    c.options.cron_period = absl::Milliseconds(5);
    return absl::OkStatus();
  };
  auto server = net::TcpServer::Create(group->get(), options);
  ASSERT_TRUE(server.ok()) << server.status();

  RssSampler rss;
  rss.Start();
  const int64_t rss_before = rss.peak();
  const int peer = ConnectNonReader((*server)->address());
  ASSERT_GE(peer, 0);
  ASSERT_TRUE(Eventually([&] { return flooder->refused(); }, absl::Seconds(20)))
      << "writes never failed; " << flooder->accepted() << " bytes accepted";
  // Refused for the hard limit, with nothing queued past it.
  EXPECT_TRUE(absl::IsResourceExhausted(flooder->refusal())) << flooder->refusal();
  EXPECT_LE(flooder->max_queued(), kHighWater);
  EXPECT_GT(flooder->max_queued(), kHighWater - kChunk) << "refused before the limit";
  const SessionHandle session = flooder->sessions().at(0);
  const net::SessionStat stat = session.Stat();
  EXPECT_LE(stat.queued_bytes, kHighWater);
  EXPECT_FALSE(stat.writable);
  EXPECT_FALSE(session.IsWritable());
  // It turned unwritable at its high mark on the way, and never back.
  EXPECT_TRUE(Eventually([&] { return flooder->unwritable_events() == 1; }, absl::Seconds(5)));
  EXPECT_EQ(flooder->writable_events(), 0);
  EXPECT_EQ(flooder->closes(), 0);

  // Close: what is queued cannot leave (the peer reads nothing), so close_linger ends it.
  const absl::Time close_called = absl::Now();
  session.Close();
  ASSERT_TRUE(Eventually([&] { return flooder->closes() == 1; }, kLinger + kSlack))
      << "no OnClose within close_linger (" << kLinger << ") plus " << kSlack;
  const absl::Duration took = flooder->closed()[0].at - close_called;
  EXPECT_GE(took, kLinger) << "closed before the linger ran out, with bytes still queued";
  EXPECT_LE(took, kLinger + kSlack);
  rss.Stop();
  const int64_t growth = rss.peak() - rss_before;
  std::printf(
      "unread peer: refused after %llu bytes (queue max %llu of %zu): %s; OnClose %s "
      "after Close(); RSS +%lld\n",
      static_cast<unsigned long long>(flooder->accepted()),
      static_cast<unsigned long long>(flooder->max_queued()), kHighWater,
      flooder->refusal().ToString().c_str(), absl::FormatDuration(took).c_str(),
      static_cast<long long>(growth));
  if (!SanitizerBuild()) {
    EXPECT_LE(growth, static_cast<int64_t>(kHighWater) + kRssConstant);
  }
  EXPECT_EQ(flooder->double_closes(), 0);
  ::close(peer);

  (*server)->Close();
  EXPECT_TRUE((*server)->WaitClosed(absl::Seconds(10)));
}

}  // namespace
}  // namespace ringnet::faults
