// EventLoop's iteration (wait, reap, timers, tasks), shutdown and bookkeeping; the requests
// themselves go to the backend (event_loop_ops.cc), which event_loop_backend.cc chooses.
#include "ringnet/runtime/event_loop.h"

#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringnet/runtime/buffer_ring.h"
#include "ringnet/runtime/loop_backend.h"
#include "ringnet/runtime/ring.h"

namespace ringnet::runtime {
namespace {

thread_local EventLoop* t_current_loop = nullptr;

// While stopping, the loop waits this long per round for cancelled requests to complete.
constexpr int64_t kShutdownRoundNs = 10'000'000;

}  // namespace

class EventLoop::WakeupOperation final : public Operation {
 public:
  explicit WakeupOperation(EventLoop* loop) : loop_(loop) {}
  void Complete(int32_t result, uint32_t flags) override { loop_->OnWakeup(result, flags); }

 private:
  EventLoop* loop_;
};

absl::string_view BackendName(Backend backend) {
  switch (backend) {
    case Backend::kAuto:
      return "auto";
    case Backend::kIoUring:
      return "io_uring";
    case Backend::kEpoll:
      return "epoll";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(const EventLoopOptions& options) {
  std::unique_ptr<EventLoop> loop(new EventLoop(options));
  if (absl::Status chosen = loop->ChooseBackend(); !chosen.ok()) return chosen;
  if (options.on_backend_chosen) options.on_backend_chosen(loop->backend(), loop->backend_reason());
  loop->wakeup_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->wakeup_fd_ < 0) return absl::ErrnoToStatus(errno, "eventfd for loop wakeups failed");
  return loop;
}

EventLoop::EventLoop(const EventLoopOptions& options)
    : options_(options),
      busy_poll_ns_(std::max<int64_t>(0, absl::ToInt64Nanoseconds(options.busy_poll))),
      now_ns_(MonotonicNs()),
      wakeup_op_(std::make_unique<WakeupOperation>(this)) {}

EventLoop::~EventLoop() {
  // Higher layers' state may use buffer rings; buffer rings unregister from the ring.
  locals_.clear();
  buffer_rings_.clear();
  if (wakeup_fd_ >= 0) close(wakeup_fd_);
}

EventLoop* EventLoop::Current() { return t_current_loop; }

int64_t EventLoop::MonotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

absl::Status EventLoop::Run() {
  if (ran_) return absl::FailedPreconditionError("EventLoop::Run called twice");
  ran_ = true;
  if (t_current_loop != nullptr) {
    return absl::FailedPreconditionError("another EventLoop already runs on this thread");
  }
  if (absl::Status bound = backend_->BindToCurrentThread(); !bound.ok()) return bound;
  t_current_loop = this;
  running_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  now_ns_ = MonotonicNs();
  ArmWakeup();
  while (!stop_requested_.load(std::memory_order_acquire)) RunOnce(/*may_block=*/true);
  ShutDown();
  running_thread_.store(std::thread::id(), std::memory_order_relaxed);
  t_current_loop = nullptr;
  return absl::OkStatus();
}

void EventLoop::RunOnce(bool may_block) {
  Wait(may_block);
  now_ns_ = MonotonicNs();
  ReapCompletions();
  counters_.timers_fired += timers_.RunDue(now_ns_);
  RunPostedTasks();
  RunDeferredTasks();
  WakeStarvedReceivers();
  ++counters_.iterations;
}

bool EventLoop::StarvedReceiversCanWake() const {
  for (const auto& [size, buffers] : buffer_rings_) {
    if (buffers->CanWake()) return true;
  }
  return false;
}

void EventLoop::WakeStarvedReceivers() {
  for (auto& [size, buffers] : buffer_rings_) {
    if (buffers->waiters() > 0) counters_.starved_rearms += buffers->WakeWaiters();
  }
}

void EventLoop::Wait(bool may_block) {
  bool block = may_block && deferred_.empty() && !has_posted_.load(std::memory_order_acquire) &&
               !StarvedReceiversCanWake();
  if (block && busy_poll_ns_ > 0 && BusyPoll()) {
    ++counters_.busy_poll_hits;
    block = false;
  }
  int64_t timeout_ns = -1;  // no limit
  if (block) {
    if (std::optional<int64_t> next = timers_.NextDeadline(); next.has_value()) {
      const int64_t delay = *next - MonotonicNs();
      if (delay <= 0) {
        block = false;
      } else {
        timeout_ns = delay;
      }
    }
  }
  backend_->SubmitAndWait(block, timeout_ns);
}

bool EventLoop::BusyPoll() {
  const int64_t now = MonotonicNs();
  // Saturating: busy_poll may be absl::InfiniteDuration().
  int64_t end = busy_poll_ns_ > INT64_MAX - now ? INT64_MAX : now + busy_poll_ns_;
  if (std::optional<int64_t> next = timers_.NextDeadline(); next.has_value() && *next < end) {
    end = *next;
  }
  do {
    // The first round submits what this iteration prepared. io_uring: then only a read of the
    // ring's flags until the kernel has work for us (DEFER_TASKRUN runs it in the next enter).
    backend_->SubmitAndWait(/*block=*/false, /*timeout_ns=*/-1);
    if (backend_->HasCompletions() || has_posted_.load(std::memory_order_acquire) ||
        stop_requested_.load(std::memory_order_acquire)) {
      return true;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  } while (MonotonicNs() < end);
  return false;
}

size_t EventLoop::ReapCompletions() {
  LoopBackend::Completion copies[kCompletionBatch];
  size_t total = 0;
  // Bounded so timers and posted tasks still get their turn under a flood of completions.
  for (int batch = 0; batch < 16; ++batch) {
    const size_t n = backend_->PopCompletions(copies, kCompletionBatch);
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      const LoopBackend::Completion& c = copies[i];
      if (c.user_data == LoopBackend::kInternalUserData) continue;
      if ((c.flags & IORING_CQE_F_MORE) == 0) --in_flight_;
      if (c.user_data != 0) {
        // user_data is an Operation's address (set by the backend): the round trip is the design.
        // NOLINTNEXTLINE(performance-no-int-to-ptr)
        reinterpret_cast<Operation*>(c.user_data)->Complete(c.result, c.flags);
      }
    }
    total += n;
    if (n < kCompletionBatch) break;
  }
  counters_.cqes_reaped += total;
  return total;
}

bool EventLoop::Post(Task task) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!accepting_) return false;
    was_empty = posted_.empty();
    posted_.push_back(std::move(task));
    has_posted_.store(true, std::memory_order_release);
  }
  // One wakeup per batch of posts: later posts find the queue non-empty and the loop awake.
  if (was_empty && !IsInLoopThread()) Wake();
  return true;
}

void EventLoop::Defer(Task task) { deferred_.push_back(std::move(task)); }

void EventLoop::AddStopHook(Task hook) { stop_hooks_.push_back(std::move(hook)); }

size_t EventLoop::RunPostedTasks() {
  if (!has_posted_.load(std::memory_order_acquire)) return 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_posted_.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  const size_t n = running_posted_.size();
  for (Task& task : running_posted_) task();
  running_posted_.clear();
  counters_.tasks_run += n;
  return n;
}

size_t EventLoop::RunDeferredTasks() {
  size_t n = 0;
  // Tasks deferred by deferred tasks run in the next iteration.
  if (!deferred_.empty()) {
    running_deferred_.swap(deferred_);
    n = running_deferred_.size();
    for (Task& task : running_deferred_) task();
    running_deferred_.clear();
  }
  counters_.tasks_run += n;
  return n;
}

void EventLoop::Stop() {
  stop_requested_.store(true, std::memory_order_release);
  if (!IsInLoopThread()) Wake();
}

void EventLoop::Wake() {
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated: the loop is certain to wake anyway.
  [[maybe_unused]] ssize_t n = write(wakeup_fd_, &one, sizeof(one));
}

void EventLoop::ArmWakeup() {
  SubmitRead(wakeup_op_.get(), wakeup_fd_, &wakeup_value_, sizeof(wakeup_value_), 0);
  wakeup_armed_ = true;
}

void EventLoop::OnWakeup(int32_t /*result*/, uint32_t /*flags*/) {
  wakeup_armed_ = false;
  // Posted tasks run later in this iteration; once stopping, wakeups are no longer needed.
  if (!stop_requested_.load(std::memory_order_acquire)) ArmWakeup();
}

void EventLoop::ShutDown() {
  std::vector<Task> hooks;
  hooks.swap(stop_hooks_);
  for (Task& hook : hooks) hook();
  DrainPostedTasksAndClose();
  // Cancel everything still in flight and reap it. Owners see -ECANCELED and must not re-arm
  // while `stopping()`; a request re-armed anyway is cancelled in the next round.
  while (in_flight_ > 0) {
    SubmitCancel(nullptr);
    backend_->SubmitAndWait(/*block=*/true, kShutdownRoundNs);
    now_ns_ = MonotonicNs();
    ReapCompletions();
    RunDeferredTasks();
  }
  RunDeferredTasks();
  timers_.Clear();
}

void EventLoop::DrainPostedTasksAndClose() {
  // Refuse new posts first, then run what was accepted: threads that keep posting cannot hold
  // the loop in its shutdown (draining until the queue looked empty could take forever).
  {
    std::lock_guard<std::mutex> lock(mutex_);
    accepting_ = false;
  }
  while (has_posted_.load(std::memory_order_acquire)) {
    RunPostedTasks();
    RunDeferredTasks();
  }
}

TimerId EventLoop::RunAfter(absl::Duration delay, TimerQueue::Callback callback) {
  const int64_t delay_ns = absl::ToInt64Nanoseconds(delay);
  return timers_.Add(MonotonicNs() + (delay_ns > 0 ? delay_ns : 0), 0, std::move(callback));
}

TimerId EventLoop::RunEvery(absl::Duration period, TimerQueue::Callback callback) {
  int64_t period_ns = absl::ToInt64Nanoseconds(period);
  if (period_ns <= 0) period_ns = 1;
  return timers_.Add(MonotonicNs() + period_ns, period_ns, std::move(callback));
}

absl::StatusOr<BufferRing*> EventLoop::GetBufferRing(uint32_t buffer_size) {
  auto it = buffer_rings_.find(buffer_size);
  if (it != buffer_rings_.end()) return it->second.get();
  // The kernel selects buffers under io_uring; under epoll the loop does, when data is there.
  const uint32_t spares = std::min(options_.spare_buffers_per_ring, options_.buffers_per_ring);
  absl::StatusOr<std::unique_ptr<BufferRing>> ring = backend_->CreateBufferRing(
      next_buffer_group_, options_.buffers_per_ring, buffer_size, spares);
  if (!ring.ok()) return ring.status();
  ++next_buffer_group_;
  BufferRing* raw = ring->get();
  buffer_rings_.emplace(buffer_size, *std::move(ring));
  return raw;
}

RingMode EventLoop::ring_mode() const {
  return ring_ != nullptr ? ring_->mode() : RingMode::kPlain;
}

bool EventLoop::multishot() const { return backend_->multishot(); }

LoopCounters EventLoop::counters() const {
  assert(
      (IsInLoopThread() || running_thread_.load(std::memory_order_relaxed) == std::thread::id()) &&
      "EventLoop::counters() from another thread while the loop runs: read them in a Post");
  LoopCounters c = counters_;
  LoopBackend::Counters backend;
  backend_->FillCounters(&backend);
  c.enter_calls = backend.enter_calls;
  c.sqes_submitted = backend.sqes_submitted;
  c.sq_full_flushes = backend.sq_full_flushes;
  c.cq_dropped = backend.cq_dropped;
  c.syscalls = backend.syscalls;
  for (const auto& [size, buffers] : buffer_rings_) {
    c.buffer_exhaustions += buffers->exhaustions();
  }
  return c;
}

}  // namespace ringnet::runtime
