#include "ringnet/runtime/timer_queue.h"

#include <algorithm>
#include <functional>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace ringnet::runtime {
namespace {

TEST(TimerQueueTest, FiresInDeadlineOrderAndFifoForTies) {
  TimerQueue timers;
  std::vector<int> order;
  timers.Add(30, 0, [&] { order.push_back(3); });
  timers.Add(10, 0, [&] { order.push_back(1); });
  timers.Add(20, 0, [&] { order.push_back(21); });
  timers.Add(20, 0, [&] { order.push_back(22); });
  EXPECT_EQ(timers.NextDeadline(), 10);
  EXPECT_EQ(timers.RunDue(15), 1u);
  EXPECT_EQ(timers.RunDue(100), 3u);
  EXPECT_EQ(order, (std::vector<int>{1, 21, 22, 3}));
  EXPECT_EQ(timers.size(), 0u);
  EXPECT_FALSE(timers.NextDeadline().has_value());
}

TEST(TimerQueueTest, CancelledTimersNeverFireAndStaleIdsAreHarmless) {
  TimerQueue timers;
  int fired = 0;
  TimerId a = timers.Add(10, 0, [&] { ++fired; });
  TimerId b = timers.Add(20, 0, [&] { ++fired; });
  EXPECT_TRUE(timers.Cancel(a));
  EXPECT_FALSE(timers.Cancel(a));
  EXPECT_FALSE(timers.Cancel(TimerId()));
  timers.RunDue(100);
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(timers.Cancel(b));  // already fired
  // The freed slot is reused; the stale id must not cancel the new timer.
  TimerId c = timers.Add(30, 0, [&] { ++fired; });
  EXPECT_FALSE(timers.Cancel(a));
  timers.RunDue(100);
  EXPECT_EQ(fired, 2);
  EXPECT_FALSE(timers.Cancel(c));
}

TEST(TimerQueueTest, CallbackCanCancelItselfAndOthers) {
  TimerQueue timers;
  int periodic = 0;
  int other = 0;
  TimerId self;
  TimerId victim = timers.Add(15, 0, [&] { ++other; });
  self = timers.Add(10, 10, [&] {
    ++periodic;
    timers.Cancel(victim);  // due in the same RunDue pass, must not fire
    if (periodic == 3) {
      EXPECT_TRUE(timers.Cancel(self));
    }
  });
  timers.RunDue(10);
  timers.RunDue(20);
  timers.RunDue(30);
  timers.RunDue(1000);
  EXPECT_EQ(periodic, 3);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(timers.size(), 0u);
}

TEST(TimerQueueTest, OneShotCannotBeCancelledWhileFiring) {
  TimerQueue timers;
  TimerId id;
  bool cancelled = true;
  id = timers.Add(1, 0, [&] { cancelled = timers.Cancel(id); });
  timers.RunDue(1);
  EXPECT_FALSE(cancelled);
  EXPECT_EQ(timers.size(), 0u);
}

TEST(TimerQueueTest, PeriodicKeepsItsPhaseAndSkipsMissedPeriods) {
  TimerQueue timers;
  int runs = 0;
  timers.Add(100, 100, [&] { ++runs; });
  // Late by 37 ns each time: the next deadline stays on the 100 ns grid (no drift).
  timers.RunDue(137);
  EXPECT_EQ(timers.NextDeadline(), 200);
  timers.RunDue(237);
  EXPECT_EQ(timers.NextDeadline(), 300);
  // Late by 3.5 periods: the missed ones are skipped, not fired in a burst.
  EXPECT_EQ(timers.RunDue(650), 1u);
  EXPECT_EQ(timers.NextDeadline(), 700);
  timers.RunDue(700);
  EXPECT_EQ(timers.NextDeadline(), 800);
  EXPECT_EQ(runs, 4);
}

TEST(TimerQueueTest, TimersAddedByCallbacksWaitForTheNextPass) {
  TimerQueue timers;
  int runs = 0;
  std::function<void()> again = [&] {
    ++runs;
    timers.Add(0, 0, again);  // already due, but must not run in this pass
  };
  timers.Add(0, 0, again);
  EXPECT_EQ(timers.RunDue(10), 1u);
  EXPECT_EQ(timers.RunDue(10), 1u);
  EXPECT_EQ(runs, 2);
}

TEST(TimerQueueTest, TensOfThousandsOfRandomTimersFireInOrder) {
  TimerQueue timers;
  std::mt19937_64 rng(42);
  std::vector<int64_t> fired;
  std::vector<TimerId> ids;
  constexpr int kTimers = 50'000;
  for (int i = 0; i < kTimers; ++i) {
    int64_t when = static_cast<int64_t>(rng() % 1'000'000);
    ids.push_back(timers.Add(when, 0, [&fired, when] { fired.push_back(when); }));
  }
  // Cancel every third one.
  for (int i = 0; i < kTimers; i += 3) ASSERT_TRUE(timers.Cancel(ids[i]));
  EXPECT_EQ(timers.size(), static_cast<size_t>(kTimers - (kTimers + 2) / 3));
  for (int64_t now = 0; now <= 1'000'000; now += 50'000) timers.RunDue(now);
  EXPECT_EQ(fired.size(), static_cast<size_t>(kTimers - (kTimers + 2) / 3));
  EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end()));
  EXPECT_EQ(timers.size(), 0u);
}

TEST(TimerQueueTest, ClearDropsWithoutRunning) {
  TimerQueue timers;
  int fired = 0;
  timers.Add(1, 0, [&] { ++fired; });
  timers.Add(2, 5, [&] { ++fired; });
  timers.Clear();
  EXPECT_EQ(timers.RunDue(100), 0u);
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(timers.size(), 0u);
}

}  // namespace
}  // namespace ringnet::runtime
