// EventLoop: one thread, one io_uring, and everything that runs on that thread.
//
// Every request prepared during an iteration (by completion callbacks, timers, posted tasks)
// reaches the kernel in one io_uring_enter, which also waits for the next completions, bounded by
// the nearest timer. Completions are drained in batches, each consumed with one CQ store, and each
// is delivered to the `Operation` whose address is its `user_data`.
//
// One iteration, in order:
//   1. submit everything prepared and wait (one io_uring_enter; skipped when there is nothing to
//      submit and work is already waiting);
//   2. dispatch completions (batches of up to 256, one cq_advance each);
//   3. run due timers;
//   4. run tasks posted from other threads, then deferred tasks.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
//   if (!loop.ok()) return loop.status();
//   std::thread t([&] { (*loop)->Run(); });
//   (*loop)->Post([] { std::puts("on the loop thread"); });
//   (*loop)->Stop();
//   t.join();
//
// Backends: io_uring, or epoll where io_uring is unavailable. The loop decides at start-up (see
// EventLoopOptions::backend and the RINGNET_BACKEND environment variable) and says which it chose
// and why (`backend()`, `backend_reason()`). Both run the same requests with the same completion
// results, so the layers above cannot tell them apart. (Inside runtime/ they are the two
// implementations of LoopBackend, loop_backend.h; this header includes neither, nor liburing.) On
// io_uring kernels without multishot receive (mainline before 6.0; probed at start-up, not read off
// the version) receives are single-shot, still into kernel-selected buffers.
//
// Thread safety: `Post`, `Stop`, `IsInLoopThread`, `stopping`, `backend` and `backend_reason` may
// be called from any thread; `counters` on the loop thread, or on any thread while the loop is
// not running (before `Run`, or after it returned). Everything else (timers, I/O submission,
// buffer rings) is for the loop thread only.
#ifndef RINGNET_RUNTIME_EVENT_LOOP_H_
#define RINGNET_RUNTIME_EVENT_LOOP_H_

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringnet/runtime/operation.h"
#include "ringnet/runtime/ring_options.h"
#include "ringnet/runtime/timer_queue.h"

namespace ringnet::runtime {

class BufferRing;         // buffer_ring.h; include it to use one
class LoopBackend;        // loop_backend.h (runtime internal)
class LoopBackendAccess;  // io_uring_backend.h (runtime internal)
class Ring;               // ring.h

// Which system interface runs a loop's requests.
enum class Backend { kAuto, kIoUring, kEpoll };

// Returns "auto", "io_uring" or "epoll".
absl::string_view BackendName(Backend backend);

struct EventLoopOptions {
  // kAuto: io_uring when it can be set up with every operation the loop needs, else epoll. The
  // environment variable RINGNET_BACKEND=io_uring|epoll overrides kAuto (an operator's switch,
  // no rebuild); RINGNET_BACKEND=io_uring_compat forces io_uring as a 5.19 kernel has it (no
  // multishot receive, COOP_TASKRUN). An explicit kIoUring/kEpoll here wins over the variable.
  Backend backend = Backend::kAuto;
  RingOptions ring;
  // io_uring only: use single-shot receives and accepts even where the kernel has multishot ones
  // (they exist from Linux 6.0; older kernels get single-shot automatically).
  bool disable_multishot = false;
  // Provided buffers per buffer ring created by `GetBufferRing` (a power of two).
  uint32_t buffers_per_ring = 256;
  // Extra buffers per ring (at most buffers_per_ring) that take the place of buffers lent to
  // writes: bytes echoed or forwarded straight from the receive buffer, without a copy (see
  // BufferRing). Address space only until used; 0 turns lending off (every write copies).
  uint32_t spare_buffers_per_ring = 256;
  // Busy polling, for latency-bound servers: before the loop would sleep, it keeps looking for
  // completions and posted tasks for up to this long (never past the next timer). A reply then
  // finds the loop awake instead of paying the sleep and wake-up (tens of microseconds in a VM),
  // at the price of a core that stays busy while traffic lasts and for this long after. Zero (the
  // default) or negative: never spins; InfiniteDuration: spins whenever idle. io_uring: a spin
  // makes no system call until the kernel flags work for the loop; epoll: one non-blocking
  // epoll_wait per spin.
  absl::Duration busy_poll = absl::ZeroDuration();
  // Told which backend was chosen and why, once per loop, on the creating thread. Optional
  // (the same is available from EventLoop::backend() and backend_reason()).
  std::function<void(Backend backend, const std::string& reason)> on_backend_chosen;
};

// A snapshot of a loop's counters; tests and benches read it to prove batching.
struct LoopCounters {
  uint64_t iterations = 0;
  uint64_t enter_calls = 0;     // io_uring_enter system calls
  uint64_t sqes_submitted = 0;  // SQEs the kernel consumed
  uint64_t cqes_reaped = 0;     // CQEs dispatched
  uint64_t tasks_run = 0;       // posted and deferred tasks
  uint64_t timers_fired = 0;
  uint64_t sq_full_flushes = 0;  // early submits because the SQ was full
  uint64_t cq_dropped = 0;       // CQEs lost to a full CQ (kernels without NODROP only)
  uint64_t syscalls = 0;         // every system call the backend made (io_uring: = enter_calls)
  uint64_t busy_poll_hits = 0;  // sleeps avoided: spinning found work (EventLoopOptions::busy_poll)
  uint64_t starved_rearms = 0;  // receives re-armed after waiting for free buffers (BufferRing)
  uint64_t buffer_exhaustions = 0;  // receives that found a buffer ring empty (-ENOBUFS)
};

class EventLoop {
 public:
  using Task = absl::AnyInvocable<void()>;

  // Creates a loop and its backend. Errors: a forced io_uring backend that cannot be set up (see
  // Ring::Create), a bad RINGNET_BACKEND value, or epoll itself failing. Thread-safe.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(const EventLoopOptions& options = {});

  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  // Must not be running. Destroys pending tasks and timers without running them.
  ~EventLoop();

  // Runs the loop on the calling thread until `Stop()`. On the way out it runs the stop hooks and
  // the tasks still queued, cancels every request in flight and reaps their CQEs, so nothing the
  // loop owns is referenced by the kernel when Run returns. Call once; a second call, or a ring
  // that cannot be bound to this thread, returns an error at once.
  absl::Status Run();

  // Asks the loop to leave `Run()`. Thread-safe; returns immediately.
  void Stop();

  // Queues `task` to run on the loop thread. Thread-safe. Returns false, without running or
  // keeping the task, once the loop has begun its shutdown (after the stop hooks); every task it
  // accepted runs.
  bool Post(Task task);

  // Queues `task` to run on the loop thread after the current callbacks, before the loop next
  // waits. Tasks run in the order they were deferred (first in, first out: sessions rely on it,
  // e.g. a flush deferred before a release runs first); a task deferred by a deferred task runs
  // after all of those already queued, in the next iteration. Loop thread only; cheaper than
  // Post (no lock, no wakeup).
  void Defer(Task task);

  // Registers `hook` to run on the loop thread when the loop starts stopping, before requests in
  // flight are cancelled (endpoints close their sessions here). Loop thread only.
  void AddStopHook(Task hook);

  // Whether the caller runs on this loop's thread. Thread-safe.
  bool IsInLoopThread() const {
    return running_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }
  // The loop running on the calling thread, or nullptr.
  static EventLoop* Current();
  // Whether `Stop()` has been called. Thread-safe.
  bool stopping() const { return stop_requested_.load(std::memory_order_acquire); }

  // Timers (loop thread only). The clock is monotonic; `Now()` is sampled once per iteration.
  TimerId RunAfter(absl::Duration delay, TimerQueue::Callback callback);
  TimerId RunEvery(absl::Duration period, TimerQueue::Callback callback);
  bool Cancel(TimerId id) { return timers_.Cancel(id); }
  int64_t NowNs() const { return now_ns_; }
  // Reads the monotonic clock (nanoseconds). Thread-safe.
  static int64_t MonotonicNs();

  // I/O submission (loop thread only). Each prepares one request whose CQEs go to `op`; all of
  // them reach the kernel together at the next submit. Buffers and addresses must stay valid until
  // the request completes.
  void SubmitNop(Operation* op);
  void SubmitRead(Operation* op, int fd, void* buf, uint32_t len, uint64_t offset);
  void SubmitRecv(Operation* op, int fd, void* buf, size_t len, int flags);
  // Multishot receive into buffers picked from `buffers` (from GetBufferRing). `flags` are recv
  // flags (MSG_TRUNC: a datagram's real length is reported even when it did not fit).
  void SubmitRecvMultishot(Operation* op, int fd, BufferRing* buffers, int flags = 0);
  // Multishot recvmsg into buffers from `buffers`; `msg` gives the name/control sizes and must
  // stay valid while the request is armed. Each buffer holds the recvmsg_out layout (see
  // recvmsg_layout.h). With MSG_TRUNC in `flags`, a datagram's real length is reported. On
  // kernels without multishot recvmsg an empty datagram completes with 0 and no buffer, its
  // sender written to `msg->msg_name` (when not null).
  void SubmitRecvmsgMultishot(Operation* op, int fd, const msghdr* msg, BufferRing* buffers,
                              int flags = 0);
  void SubmitSend(Operation* op, int fd, const void* buf, size_t len, int flags);
  void SubmitSendmsg(Operation* op, int fd, const msghdr* msg, int flags);
  void SubmitAcceptMultishot(Operation* op, int fd);
  void SubmitConnect(Operation* op, int fd, const sockaddr* addr, socklen_t len);
  // Cancels every request of `target`; their CQEs still arrive (usually -ECANCELED). The cancel
  // request's own CQE goes to `op`, or is consumed by the loop when `op` is nullptr. An owner that
  // frees `target` after its last CQE should wait for `op` too, so that no stale cancel can meet
  // a new request at the same address. A null `target` cancels every request on the ring.
  void SubmitCancel(Operation* target, Operation* op = nullptr);
  // Cancels every request on file descriptor `fd`; the cancel's own CQE goes to `op` (as above).
  void SubmitCancelFd(int fd, Operation* op);

  // (The raw form of these calls, an SQE filled by an io_uring_prep_* function, is runtime
  // internal: SubmitSqe in io_uring_backend.h.)

  // The loop's buffer ring of `buffer_size`-byte buffers, created on first use with
  // `buffers_per_ring` buffers and its own group id. Loop thread only.
  absl::StatusOr<BufferRing*> GetBufferRing(uint32_t buffer_size);

  // Per-loop state of a higher layer (net/'s session registry, buffer pools...): one T per loop,
  // constructed as T(this) on first use, destroyed with the loop before its buffer rings and ring.
  // Loop thread only.
  template <typename T>
  T& Local() {
    static const char key = 0;  // one address per T
    std::unique_ptr<LocalBase>& slot = locals_[&key];
    if (slot == nullptr) slot = std::make_unique<LocalHolder<T>>(this);
    return static_cast<LocalHolder<T>*>(slot.get())->value;
  }

  // Requests whose final CQE has not been reaped yet.
  uint64_t in_flight() const { return in_flight_; }
  // The loop's counters. Loop thread, or any thread while the loop is not running (before Run(),
  // or after it returned); from another thread while it runs, read them in a posted task. The
  // fields are plain (the hot path writes them without atomics): debug builds assert the rule.
  LoopCounters counters() const;
  // The backend in use, and why it was chosen ("io_uring: defer_taskrun ring, multishot", or
  // "epoll: io_uring_setup failed with EPERM: ..."). Thread-safe.
  Backend backend() const { return backend_kind_; }
  const std::string& backend_reason() const { return backend_reason_; }
  // io_uring only: how the ring was set up (kPlain under epoll), and the ring itself (null; its
  // methods need ring.h).
  RingMode ring_mode() const;
  const Ring* ring() const { return ring_; }
  // Whether receives and accepts are multishot (probed: IoUringFeatures; not disabled).
  bool multishot() const;

 private:
  friend class LoopBackendAccess;
  class WakeupOperation;
  struct LocalBase {
    virtual ~LocalBase() = default;
  };
  template <typename T>
  struct LocalHolder final : LocalBase {
    explicit LocalHolder(EventLoop* loop) : value(loop) {}
    T value;
  };
  static constexpr unsigned kCompletionBatch = 256;

  EventLoop(const EventLoopOptions& options);
  absl::Status ChooseBackend();
  void RunOnce(bool may_block);
  void Wait(bool may_block);
  // Spins until there is something to handle, the busy-poll time is up or the next timer is due;
  // true if there is something.
  bool BusyPoll();
  size_t ReapCompletions();
  size_t RunPostedTasks();
  size_t RunDeferredTasks();
  // Gives receivers starved of buffers their turn (BufferRing::WakeWaiters), once per iteration.
  // While some are left and buffers are free, the loop does not sleep: their data is waiting.
  void WakeStarvedReceivers();
  bool StarvedReceiversCanWake() const;
  void ArmWakeup();
  void OnWakeup(int32_t result, uint32_t flags);
  void Wake();
  void ShutDown();
  void DrainPostedTasksAndClose();
  // Every request goes through here: counted in flight if the backend `accepted` it, else
  // failed (FailSubmission; a refused cancel without `op` is dropped). ReapCompletions counts
  // each request's final CQE back out.
  void Account(bool accepted, Operation* op);
  // Completes `op` with -`error` (0: the backend's last error, else EBUSY) in a deferred task.
  void FailSubmission(Operation* op, int error);

  const EventLoopOptions options_;
  const int64_t busy_poll_ns_;
  // The backend runs every request (IoUringBackend or EpollBackend); destroyed after the buffer
  // rings (cleared first by the destructor).
  std::unique_ptr<LoopBackend> backend_;
  Backend backend_kind_ = Backend::kEpoll;
  const Ring* ring_ = nullptr;  // io_uring backend: its ring
  std::string backend_reason_;
  TimerQueue timers_;
  int64_t now_ns_ = 0;
  uint64_t in_flight_ = 0;

  // Cross-thread posting: a locked queue plus an eventfd read the ring keeps armed.
  std::mutex mutex_;
  std::vector<Task> posted_;  // guarded by mutex_
  bool accepting_ = true;     // guarded by mutex_
  std::atomic<bool> has_posted_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<std::thread::id> running_thread_{};
  bool ran_ = false;
  int wakeup_fd_ = -1;
  uint64_t wakeup_value_ = 0;
  std::unique_ptr<WakeupOperation> wakeup_op_;
  bool wakeup_armed_ = false;

  std::vector<Task> running_posted_;
  std::vector<Task> deferred_;
  std::vector<Task> running_deferred_;
  std::vector<Task> stop_hooks_;
  absl::flat_hash_map<uint32_t, std::unique_ptr<BufferRing>> buffer_rings_;
  absl::flat_hash_map<const void*, std::unique_ptr<LocalBase>> locals_;
  uint16_t next_buffer_group_ = 0;
  LoopCounters counters_;  // the loop's own; the backend counts enters and SQEs
};

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_EVENT_LOOP_H_
