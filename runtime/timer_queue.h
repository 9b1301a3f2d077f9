// TimerQueue: the deadlines of one event loop, in an indexed binary min-heap.
//
// Adding, cancelling and firing a timer are O(log n) with no system call and no SQE per deadline,
// so a loop can hold tens of thousands of them (session timeouts, cron, reconnect backoff).
// Timers with equal deadlines fire in the order they were added. A periodic timer keeps its
// original phase (the k-th firing is due at start + k * period), so it does not drift; periods it
// missed while the loop was busy are skipped, not fired in a burst.
//
// Example:
//
//   TimerQueue timers;
//   TimerId id = timers.Add(now + 5'000'000, /*period_ns=*/0, [] { ... });
//   timers.Cancel(id);
//   timers.RunDue(NowNs());
//
// Not thread-safe: owned and used by one event loop thread. Callbacks may add and cancel timers,
// including the one that is running.
#ifndef RINGNET_RUNTIME_TIMER_QUEUE_H_
#define RINGNET_RUNTIME_TIMER_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/functional/any_invocable.h"

namespace ringnet::runtime {

// Identifies a timer. A default-constructed id names no timer. Ids of fired or cancelled timers
// are never reused, so cancelling a stale id is a harmless no-op.
class TimerId {
 public:
  TimerId() = default;
  bool valid() const { return value_ != 0; }
  friend bool operator==(TimerId a, TimerId b) { return a.value_ == b.value_; }

 private:
  friend class TimerQueue;
  explicit TimerId(uint64_t value) : value_(value) {}
  uint64_t value_ = 0;
};

class TimerQueue {
 public:
  using Callback = absl::AnyInvocable<void()>;

  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Schedules `callback` at `when_ns` (monotonic nanoseconds), then every `period_ns` if that is
  // positive.
  TimerId Add(int64_t when_ns, int64_t period_ns, Callback callback);

  // Cancels a pending or periodic timer; returns false if it already fired or was cancelled.
  // Cancelling the running timer from its own callback stops a periodic one from repeating.
  bool Cancel(TimerId id);

  // The earliest pending deadline, if any.
  std::optional<int64_t> NextDeadline() const;

  // Runs the callbacks due at `now_ns`; returns how many ran. Timers added by these callbacks
  // wait for the next call even when already due, so a callback cannot starve the loop.
  size_t RunDue(int64_t now_ns);

  // Pending timers (including a periodic one whose callback is running).
  size_t size() const { return live_; }

  // Drops every timer without running it.
  void Clear();

 private:
  static constexpr uint32_t kNotInHeap = UINT32_MAX;

  struct Slot {
    int64_t when = 0;
    int64_t period = 0;
    uint64_t sequence = 0;  // tie-break: equal deadlines fire in insertion order
    uint32_t generation = 1;
    uint32_t heap_index = kNotInHeap;
    bool running = false;
    bool cancelled = false;
    Callback callback;
  };

  static uint64_t MakeId(uint32_t slot, uint32_t generation) {
    return (static_cast<uint64_t>(generation) << 32) | slot;
  }
  Slot* Lookup(TimerId id);
  bool Before(uint32_t a, uint32_t b) const;
  void Push(uint32_t slot);
  void RemoveFromHeap(uint32_t slot);
  void SiftUp(size_t index);
  void SiftDown(size_t index);
  void Place(size_t index, uint32_t slot);
  void Free(uint32_t slot);
  void FireTop(int64_t now_ns);

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> heap_;  // slot indexes, ordered by (when, sequence)
  uint64_t next_sequence_ = 1;
  size_t live_ = 0;
};

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_TIMER_QUEUE_H_
