// EventLoopGroup: N event loops, each running on its own thread.
//
// Endpoints spread their sessions over a group; `Next()` hands out loops round-robin.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<EventLoopGroup>> group = EventLoopGroup::Create(4);
//   if (!group.ok()) return group.status();
//   (*group)->Next()->Post([] { ... });
//   (*group)->Stop();  // also done by the destructor
//
// Thread safety: every method is thread-safe, except that `Stop()` must not be called from one of
// the group's own loop threads (it joins them).
#ifndef RINGNET_RUNTIME_EVENT_LOOP_GROUP_H_
#define RINGNET_RUNTIME_EVENT_LOOP_GROUP_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "ringnet/runtime/event_loop.h"

namespace ringnet::runtime {

class EventLoopGroup {
 public:
  // Creates `num_loops` loops (at least one) and starts their threads. Fails, starting nothing,
  // if any loop cannot be created (see Ring::Create for the reasons).
  static absl::StatusOr<std::unique_ptr<EventLoopGroup>> Create(
      int num_loops, const EventLoopOptions& options = {});

  EventLoopGroup(const EventLoopGroup&) = delete;
  EventLoopGroup& operator=(const EventLoopGroup&) = delete;
  ~EventLoopGroup();

  // The next loop in round-robin order.
  EventLoop* Next();
  // Loop `index`, 0 <= index < size().
  EventLoop* loop(int index) const { return loops_[index].get(); }
  int size() const { return static_cast<int>(loops_.size()); }

  // Stops every loop and joins its thread. Idempotent.
  void Stop();

 private:
  EventLoopGroup() = default;

  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> next_{0};
  std::mutex stop_mutex_;
  bool stopped_ = false;  // guarded by stop_mutex_
};

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_EVENT_LOOP_GROUP_H_
