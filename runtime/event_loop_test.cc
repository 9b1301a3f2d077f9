#include "ringnet/runtime/event_loop.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <future>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/runtime/event_loop_group.h"
#include "ringnet/runtime/io_uring_features.h"

namespace ringnet::runtime {
namespace {

std::unique_ptr<EventLoop> MakeLoop(EventLoopOptions options = {}) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create(options);
  EXPECT_TRUE(loop.ok()) << loop.status();
  return loop.ok() ? *std::move(loop) : nullptr;
}

// The loop's behaviour must not depend on its backend: the generic tests run on each.
enum class Flavor { kIoUring, kIoUringCompat, kEpoll };

EventLoopOptions OptionsFor(Flavor flavor) {
  EventLoopOptions options;
  switch (flavor) {
    case Flavor::kIoUring:
      options.backend = Backend::kIoUring;
      break;
    case Flavor::kIoUringCompat:  // as on Linux 5.19: single-shot receives, COOP_TASKRUN
      options.backend = Backend::kIoUring;
      options.disable_multishot = true;
      options.ring.best_mode = RingMode::kCoopTaskrun;
      break;
    case Flavor::kEpoll:
      options.backend = Backend::kEpoll;
      break;
  }
  return options;
}

class EventLoopTest : public ::testing::TestWithParam<Flavor> {
 protected:
  std::unique_ptr<EventLoop> MakeLoop() { return runtime::MakeLoop(OptionsFor(GetParam())); }
};

// Runs a loop on its own thread for the duration of a test.
class LoopThread {
 public:
  explicit LoopThread(EventLoop* loop) : loop_(loop), thread_([this] { status_ = loop_->Run(); }) {}
  ~LoopThread() { Join(); }
  void Join() {
    if (thread_.joinable()) {
      loop_->Stop();
      thread_.join();
      EXPECT_TRUE(status_.ok()) << status_;
    }
  }

 private:
  EventLoop* loop_;
  absl::Status status_;
  std::thread thread_;
};

TEST_P(EventLoopTest, PostsFromFourThreadsRunExactlyOnce) {
  auto loop = MakeLoop();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100'000;
  std::vector<int> runs(kThreads, 0);  // touched only on the loop thread
  {
    LoopThread running(loop.get());
    std::vector<std::thread> posters;
    for (int t = 0; t < kThreads; ++t) {
      posters.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          ASSERT_TRUE(loop->Post([&runs, t] { ++runs[t]; }));
        }
      });
    }
    for (auto& p : posters) p.join();
  }  // Stop runs the tasks still queued.
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(runs[t], kPerThread) << "thread " << t;
}

TEST_P(EventLoopTest, PostsRacingStopAreEitherRunOnceOrRefused) {
  auto loop = MakeLoop();
  constexpr int kThreads = 4;
  std::vector<int> runs(kThreads, 0);
  std::vector<int> accepted(kThreads, 0);
  std::atomic<int> total_runs{0};
  LoopThread running(loop.get());
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      while (loop->Post([&, t] {
        ++runs[t];
        total_runs.fetch_add(1, std::memory_order_relaxed);
      })) {
        ++accepted[t];
      }
    });
  }
  while (total_runs.load() < 20'000) std::this_thread::yield();
  running.Join();  // Stop() while all four keep posting
  for (auto& p : posters) p.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(runs[t], accepted[t]) << "thread " << t;
  EXPECT_FALSE(loop->Post([] {}));
}

// A NOP whose completion prepares the next NOP of its chain.
class NopChain final : public Operation {
 public:
  NopChain(EventLoop* loop, int* remaining, std::function<void()> done)
      : loop_(loop), remaining_(remaining), done_(std::move(done)) {}
  void Complete(int32_t result, uint32_t) override {
    EXPECT_EQ(result, 0);
    if (--*remaining_ == 0) done_();
    if (*remaining_ > 0 && started_ < *remaining_) Start();
  }
  void Start() {
    ++started_;
    loop_->SubmitNop(this);
  }

 private:
  EventLoop* loop_;
  int* remaining_;
  std::function<void()> done_;
  int started_ = 0;
};

TEST_P(EventLoopTest, RequestsPreparedInCallbacksShareSystemCalls) {
  auto loop = MakeLoop();
  constexpr int kOps = 10'000;
  constexpr int kChains = 200;
  int remaining = kOps;
  LoopCounters before, after;
  std::vector<std::unique_ptr<NopChain>> chains;
  std::promise<void> finished;
  LoopThread running(loop.get());
  loop->Post([&] {
    before = loop->counters();
    auto done = [&] { finished.set_value(); };
    for (int i = 0; i < kChains; ++i) {
      chains.push_back(std::make_unique<NopChain>(loop.get(), &remaining, done));
    }
    for (auto& chain : chains) chain->Start();
  });
  finished.get_future().wait();
  loop->Post([&] { after = loop->counters(); });
  running.Join();
  const uint64_t enters = after.enter_calls - before.enter_calls;
  // Chains still in flight when the 10,000th completes finish too.
  EXPECT_GE(after.cqes_reaped - before.cqes_reaped, static_cast<uint64_t>(kOps));
  EXPECT_LE(after.cqes_reaped - before.cqes_reaped, static_cast<uint64_t>(kOps + kChains + 2));
  EXPECT_LE(enters * 100, static_cast<uint64_t>(kOps))
      << enters << " io_uring_enter calls for " << kOps << " requests";
}

// A busy-polling loop (its spin set far longer than the test) still serves I/O, posted tasks and
// timers: each of them ends a spin, as does Stop. The counters show the spin found the work.
TEST_P(EventLoopTest, BusyPollingLoopServesIoPostsTimersAndStop) {
  EventLoopOptions options = OptionsFor(GetParam());
  options.busy_poll = absl::InfiniteDuration();
  auto loop = runtime::MakeLoop(options);
  ASSERT_NE(loop, nullptr);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // Reads one byte at a time from the pipe, re-arming itself, and counts them.
  struct Reader final : Operation {
    EventLoop* loop = nullptr;
    int fd = -1;
    char byte = 0;
    std::atomic<int> bytes{0};
    void Arm() { loop->SubmitRead(this, fd, &byte, 1, 0); }
    void Complete(int32_t r, uint32_t) override {
      if (r != 1) return;  // cancelled at stop
      bytes.fetch_add(1);
      Arm();
    }
  } reader;
  reader.loop = loop.get();
  reader.fd = fds[0];
  LoopThread running(loop.get());
  // Reads the counters on the loop thread (that Post ends a spin too).
  auto counters = [&] {
    std::promise<LoopCounters> read;
    std::future<LoopCounters> value = read.get_future();
    loop->Post([&] { read.set_value(loop->counters()); });
    EXPECT_EQ(value.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return value.get();
  };
  loop->Post([&] { reader.Arm(); });
  const LoopCounters before = counters();
  constexpr int kPings = 100;
  for (int i = 0; i < kPings; ++i) {
    ASSERT_EQ(write(fds[1], "x", 1), 1);
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (reader.bytes.load() < i + 1 && absl::Now() < deadline) std::this_thread::yield();
    ASSERT_EQ(reader.bytes.load(), i + 1) << "byte " << i << " was not read";
  }
  std::promise<void> fired;
  loop->Post([&] { loop->RunAfter(absl::Milliseconds(5), [&] { fired.set_value(); }); });
  EXPECT_EQ(fired.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const LoopCounters after = counters();
  running.Join();  // Stop ends the spin too
  // The loop never sleeps (the spin has no end and no timer waits), and each byte is written
  // only once the last was read: every one of them ended a spin.
  EXPECT_GE(after.busy_poll_hits - before.busy_poll_hits, static_cast<uint64_t>(kPings));
  close(fds[0]);
  close(fds[1]);
}

TEST(EventLoopIoUringTest, FullSubmissionQueueIsFlushedNotDropped) {
  EventLoopOptions options;
  options.backend = Backend::kIoUring;
  options.ring.sq_entries = 256;
  auto loop = MakeLoop(options);
  constexpr int kOps = 10'000;
  int remaining = kOps;
  std::promise<void> finished;
  struct Counter final : Operation {
    int* remaining;
    std::promise<void>* finished;
    void Complete(int32_t, uint32_t) override {
      if (--*remaining == 0) finished->set_value();
    }
  } counter;
  counter.remaining = &remaining;
  counter.finished = &finished;
  LoopCounters before, after;
  LoopThread running(loop.get());
  loop->Post([&] {
    before = loop->counters();
    for (int i = 0; i < kOps; ++i) loop->SubmitNop(&counter);
  });
  finished.get_future().wait();
  loop->Post([&] { after = loop->counters(); });
  running.Join();
  EXPECT_EQ(remaining, 0);
  EXPECT_GE(after.sq_full_flushes - before.sq_full_flushes, kOps / 256 - 1);
  EXPECT_LE((after.enter_calls - before.enter_calls) * 100, static_cast<uint64_t>(kOps));
}

TEST_P(EventLoopTest, TimersFireInDeadlineOrderAndPeriodicCanCancelItself) {
  auto loop = MakeLoop();
  std::vector<int> order;
  int ticks = 0;
  LoopThread running(loop.get());
  std::promise<void> finished;
  loop->Post([&] {
    loop->RunAfter(absl::Milliseconds(3), [&] { order.push_back(3); });
    loop->RunAfter(absl::Milliseconds(1), [&] { order.push_back(1); });
    loop->RunAfter(absl::ZeroDuration(), [&] { order.push_back(0); });
    TimerId cancelled = loop->RunAfter(absl::Milliseconds(2), [&] { order.push_back(2); });
    EXPECT_TRUE(loop->Cancel(cancelled));
    auto every = std::make_shared<TimerId>();
    *every = loop->RunEvery(absl::Milliseconds(1), [&, every] {
      if (++ticks == 5) {
        EXPECT_TRUE(loop->Cancel(*every));
        loop->RunAfter(absl::Milliseconds(5), [&] { finished.set_value(); });
      }
    });
  });
  finished.get_future().wait();
  running.Join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 3}));
  EXPECT_EQ(ticks, 5);
}

TEST_P(EventLoopTest, StopCancelsRequestsInFlightAndReapsThem) {
  auto loop = MakeLoop();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  struct Reader final : Operation {
    int32_t result = 1;
    int completions = 0;
    void Complete(int32_t r, uint32_t) override {
      result = r;
      ++completions;
    }
  } reader;
  char buf[16];
  std::promise<void> armed;
  LoopThread running(loop.get());
  loop->Post([&] {
    loop->SubmitRead(&reader, fds[0], buf, sizeof(buf), 0);  // nobody ever writes
    armed.set_value();
  });
  armed.get_future().wait();
  running.Join();
  EXPECT_EQ(reader.completions, 1);
  EXPECT_EQ(reader.result, -ECANCELED);
  EXPECT_EQ(loop->in_flight(), 0u);
  close(fds[0]);
  close(fds[1]);
}

// A connect to an address of a family an IPv4 socket cannot reach fails with EAFNOSUPPORT on
// every backend (the epoll backend keeps only IPv4/IPv6-sized addresses per request).
TEST_P(EventLoopTest, ConnectToAnotherFamilyFailsWithEafnosupport) {
  auto loop = MakeLoop();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un unix_addr{};
  unix_addr.sun_family = AF_UNIX;
  std::strcpy(unix_addr.sun_path, "/nonexistent/ringnet-test");
  struct Connector final : Operation {
    std::promise<int32_t> result;
    void Complete(int32_t r, uint32_t) override { result.set_value(r); }
  } connector;
  std::future<int32_t> result = connector.result.get_future();
  LoopThread running(loop.get());
  loop->Post([&] {
    loop->SubmitConnect(&connector, fd, reinterpret_cast<const sockaddr*>(&unix_addr),
                        sizeof(unix_addr));
  });
  EXPECT_EQ(result.get(), -EAFNOSUPPORT);
  running.Join();
  close(fd);
}

TEST_P(EventLoopTest, DeferredTasksRunAfterTheCurrentCallback) {
  auto loop = MakeLoop();
  std::vector<int> order;
  std::promise<void> finished;
  LoopThread running(loop.get());
  loop->Post([&] {
    loop->Defer([&] {
      order.push_back(2);
      finished.set_value();
    });
    order.push_back(1);
  });
  finished.get_future().wait();
  running.Join();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

// Defer promises first-in, first-out, and defers from deferred tasks after all queued ones.
TEST_P(EventLoopTest, DeferredTasksRunInTheOrderTheyWereDeferred) {
  auto loop = MakeLoop();
  std::vector<int> order;
  std::promise<void> finished;
  LoopThread running(loop.get());
  loop->Post([&] {
    for (int i = 0; i < 100; ++i) {
      loop->Defer([&, i] {
        order.push_back(i);
        if (i == 0) loop->Defer([&] { order.push_back(1000); });  // after 1..99
        if (i == 99) loop->Defer([&] { finished.set_value(); });
      });
    }
  });
  finished.get_future().wait();
  running.Join();
  ASSERT_EQ(order.size(), 101u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(order[100], 1000);
}

TEST_P(EventLoopTest, StopHooksRunOnTheLoopThreadBeforeCancellation) {
  auto loop = MakeLoop();
  bool hook_ran = false;
  std::promise<void> added;
  LoopThread running(loop.get());
  loop->Post([&] {
    loop->AddStopHook([&] { hook_ran = loop->IsInLoopThread() && loop->stopping(); });
    added.set_value();
  });
  added.get_future().wait();
  running.Join();
  EXPECT_TRUE(hook_ran);
}

TEST_P(EventLoopTest, KnowsItsThreadAndRefusesASecondRun) {
  auto loop = MakeLoop();
  EXPECT_FALSE(loop->IsInLoopThread());
  EXPECT_EQ(EventLoop::Current(), nullptr);
  std::promise<bool> inside;
  {
    LoopThread running(loop.get());
    loop->Post(
        [&] { inside.set_value(loop->IsInLoopThread() && EventLoop::Current() == loop.get()); });
    EXPECT_TRUE(inside.get_future().get());
  }
  absl::Status again = loop->Run();
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(EventLoopTest, LoopCanBeDestroyedWithoutRunning) {
  auto loop = MakeLoop();
  EXPECT_TRUE(loop->Post([] {}));
}

INSTANTIATE_TEST_SUITE_P(Backends, EventLoopTest,
                         ::testing::Values(Flavor::kIoUring, Flavor::kIoUringCompat,
                                           Flavor::kEpoll),
                         [](const auto& info) {
                           switch (info.param) {
                             case Flavor::kIoUring:
                               return "io_uring";
                             case Flavor::kIoUringCompat:
                               return "io_uring_compat";
                             case Flavor::kEpoll:
                               return "epoll";
                           }
                           return "unknown";
                         });

TEST(EventLoopBackendTest, AutoPrefersIoUringAndSaysWhy) {
  EventLoopOptions options;
  options.backend = Backend::kAuto;
  auto loop = MakeLoop(options);
  ASSERT_NE(loop, nullptr);
  if (getenv("RINGNET_BACKEND") != nullptr) GTEST_SKIP() << "RINGNET_BACKEND is set";
  EXPECT_EQ(loop->backend(), Backend::kIoUring);
  EXPECT_NE(loop->backend_reason().find("io_uring: defer_taskrun ring, multishot"),
            std::string::npos)
      << loop->backend_reason();
  // What was probed, not inferred from the kernel's version.
  EXPECT_NE(loop->backend_reason().find(
                "probed 9 opcodes, provided-buffer rings, multishot accept, recv, recvmsg"),
            std::string::npos)
      << loop->backend_reason();
  EXPECT_TRUE(loop->multishot());
}

TEST(EventLoopBackendTest, ProbedFeaturesDecideMultishotAndDisablingItIsSaid) {
  const IoUringFeatures& probed = ProbeIoUringFeatures();
  if (!probed.ring) GTEST_SKIP() << "no io_uring here";
  EventLoopOptions options;
  options.backend = Backend::kIoUring;
  auto loop = MakeLoop(options);
  ASSERT_NE(loop, nullptr);
  EXPECT_EQ(loop->multishot(), probed.multishot_receives());
  options.disable_multishot = true;
  auto single = MakeLoop(options);
  ASSERT_NE(single, nullptr);
  EXPECT_FALSE(single->multishot());
  if (probed.multishot_receives()) {
    EXPECT_NE(single->backend_reason().find("single-shot receives"), std::string::npos);
    EXPECT_NE(single->backend_reason().find("(multishot disabled)"), std::string::npos)
        << single->backend_reason();
  }
}

// A kernel with a feature backported or compiled out: the description says which.
TEST(EventLoopBackendTest, FeatureDescriptionNamesWhatIsMissing) {
  IoUringFeatures f;
  EXPECT_EQ(f.Describe(), "no io_uring ring could be set up");
  f.ring = true;
  EXPECT_EQ(f.Describe(), "no provided-buffer rings");
  f.provided_buffer_rings = true;
  f.multishot_accept = true;  // 5.19: multishot accept, no multishot receives
  EXPECT_EQ(f.Describe(), "provided-buffer rings, multishot accept, no multishot recv, recvmsg");
  EXPECT_FALSE(f.multishot_receives());
  f.multishot_recv = f.multishot_recvmsg = true;
  EXPECT_EQ(f.Describe(), "provided-buffer rings, multishot accept, recv, recvmsg");
  EXPECT_TRUE(f.multishot_receives());
}

#ifndef NDEBUG
// counters() reads plain fields: from another thread it is only allowed while the loop does not
// run, and debug builds catch the misuse.
TEST(EventLoopDeathTest, CountersFromAnotherThreadWhileRunningAreCaught) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto loop = MakeLoop();
  ASSERT_NE(loop, nullptr);
  EXPECT_EQ(loop->counters().iterations, 0u);  // not running yet: fine from here
  std::thread runner([&] { (void)loop->Run(); });
  std::promise<LoopCounters> on_loop;
  loop->Post([&] { on_loop.set_value(loop->counters()); });
  on_loop.get_future().get();  // on the loop thread: fine
  EXPECT_DEATH((void)loop->counters(), "read them in a Post");
  loop->Stop();
  runner.join();
  EXPECT_GT(loop->counters().iterations, 0u);  // Run returned: fine again
}
#endif

TEST(EventLoopBackendTest, ForcedEpollSaysSoAndHasNoRing) {
  EventLoopOptions options;
  options.backend = Backend::kEpoll;
  std::string told;
  options.on_backend_chosen = [&](Backend backend, const std::string& reason) {
    told = std::string(BackendName(backend)) + " / " + reason;
  };
  auto loop = MakeLoop(options);
  EXPECT_EQ(told, "epoll / epoll: forced by EventLoopOptions::backend");
  ASSERT_NE(loop, nullptr);
  EXPECT_EQ(loop->backend(), Backend::kEpoll);
  EXPECT_EQ(loop->ring(), nullptr);
  EXPECT_NE(loop->backend_reason().find("epoll: forced"), std::string::npos)
      << loop->backend_reason();
}

TEST(EventLoopGroupTest, HandsOutLoopsRoundRobinEachOnItsOwnThread) {
  absl::StatusOr<std::unique_ptr<EventLoopGroup>> group = EventLoopGroup::Create(3);
  ASSERT_TRUE(group.ok()) << group.status();
  std::vector<EventLoop*> seen;
  for (int i = 0; i < 6; ++i) seen.push_back((*group)->Next());
  EXPECT_EQ(seen[0], seen[3]);
  EXPECT_NE(seen[0], seen[1]);
  EXPECT_NE(seen[1], seen[2]);
  std::vector<std::thread::id> threads;
  for (int i = 0; i < 3; ++i) {
    std::promise<std::thread::id> id;
    EventLoop* loop = (*group)->loop(i);
    loop->Post([&] {
      EXPECT_EQ(EventLoop::Current(), loop);
      id.set_value(std::this_thread::get_id());
    });
    threads.push_back(id.get_future().get());
  }
  EXPECT_NE(threads[0], threads[1]);
  EXPECT_NE(threads[1], threads[2]);
  (*group)->Stop();
  (*group)->Stop();  // idempotent
}

}  // namespace
}  // namespace ringnet::runtime
