#include "ringnet/runtime/event_loop.h"

#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/runtime/event_loop_group.h"

namespace ringnet::runtime {
namespace {

std::unique_ptr<EventLoop> MakeLoop(EventLoopOptions options = {}) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create(options);
  EXPECT_TRUE(loop.ok()) << loop.status();
  return loop.ok() ? *std::move(loop) : nullptr;
}

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

TEST(EventLoopTest, PostsFromFourThreadsRunExactlyOnce) {
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

TEST(EventLoopTest, PostsRacingStopAreEitherRunOnceOrRefused) {
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

TEST(EventLoopTest, RequestsPreparedInCallbacksShareSystemCalls) {
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

TEST(EventLoopTest, FullSubmissionQueueIsFlushedNotDropped) {
  EventLoopOptions options;
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

TEST(EventLoopTest, TimersFireInDeadlineOrderAndPeriodicCanCancelItself) {
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

TEST(EventLoopTest, StopCancelsRequestsInFlightAndReapsThem) {
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

TEST(EventLoopTest, DeferredTasksRunAfterTheCurrentCallback) {
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

TEST(EventLoopTest, StopHooksRunOnTheLoopThreadBeforeCancellation) {
  auto loop = MakeLoop();
  bool hook_ran = false;
  std::promise<void> added;
  LoopThread running(loop.get());
  loop->Post([&] {
    loop->AddStopHook([&] {
      hook_ran = loop->IsInLoopThread() && loop->stopping();
    });
    added.set_value();
  });
  added.get_future().wait();
  running.Join();
  EXPECT_TRUE(hook_ran);
}

TEST(EventLoopTest, KnowsItsThreadAndRefusesASecondRun) {
  auto loop = MakeLoop();
  EXPECT_FALSE(loop->IsInLoopThread());
  EXPECT_EQ(EventLoop::Current(), nullptr);
  std::promise<bool> inside;
  {
    LoopThread running(loop.get());
    loop->Post([&] { inside.set_value(loop->IsInLoopThread() && EventLoop::Current() == loop.get()); });
    EXPECT_TRUE(inside.get_future().get());
  }
  absl::Status again = loop->Run();
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(EventLoopTest, LoopCanBeDestroyedWithoutRunning) {
  auto loop = MakeLoop();
  EXPECT_TRUE(loop->Post([] {}));
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
