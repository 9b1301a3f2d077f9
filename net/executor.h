// Executor: where handlers that block run (getty's task pool), off the loop threads.
//
// With `SessionOptions::executor` set, a session's listener callbacks (OnMessage, OnCron, OnError,
// OnClose) run on the executor instead of the loop thread, one at a time and in order per session
// (a `SerialExecutor` per session), so a slow handler delays its own session only. Packages are
// copied before they are handed over.
//
// Example:
//
//   ThreadPoolExecutor pool(8);
//   config.options.executor = &pool;  // the pool must outlive the sessions that use it
//
// Thread safety: `Execute` may be called from any thread.
#ifndef RINGNET_NET_EXECUTOR_H_
#define RINGNET_NET_EXECUTOR_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"

namespace ringnet::net {

class Executor {
 public:
  using Task = absl::AnyInvocable<void()>;
  virtual ~Executor() = default;
  // Runs `task` at some point on some thread. Thread-safe.
  virtual void Execute(Task task) = 0;
};

// A fixed pool of threads sharing one queue. Destruction runs the queued tasks, then joins.
class ThreadPoolExecutor final : public Executor {
 public:
  explicit ThreadPoolExecutor(int threads);
  ~ThreadPoolExecutor() override;
  void Execute(Task task) override;

 private:
  void Work();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Task> queue_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  std::vector<std::thread> threads_;
};

// Runs tasks one at a time, in submission order, on an underlying executor.
// Hold it by shared_ptr: a running drain keeps it alive.
class SerialExecutor final : public std::enable_shared_from_this<SerialExecutor> {
 public:
  explicit SerialExecutor(Executor* executor) : executor_(executor) {}
  // Queues `task` after every task queued before it. Thread-safe.
  void Execute(Executor::Task task);

 private:
  void Drain();

  Executor* executor_;
  std::mutex mutex_;
  std::deque<Executor::Task> queue_;  // guarded by mutex_
  bool draining_ = false;             // guarded by mutex_
};

}  // namespace ringnet::net

#endif  // RINGNET_NET_EXECUTOR_H_
