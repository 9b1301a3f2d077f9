#include "ringnet/runtime/event_loop_group.h"

#include <cerrno>
#include <cstdio>
#include <string>

#include "absl/status/status.h"

namespace ringnet::runtime {

absl::StatusOr<std::unique_ptr<EventLoopGroup>> EventLoopGroup::Create(
    int num_loops, const EventLoopOptions& options) {
  std::unique_ptr<EventLoopGroup> group(new EventLoopGroup());
  if (num_loops < 1) num_loops = 1;
  // Socket errors are reported through absl::ErrnoToStatus, whose strerror table is built on
  // first use inside Debian's uninstrumented libabsl: built here, before the loop threads, so
  // two loops failing at once never look like a race to ThreadSanitizer.
  static const bool strerror_ready = absl::ErrnoToStatus(ECONNRESET, "").ok();
  (void)strerror_ready;
  for (int i = 0; i < num_loops; ++i) {
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create(options);
    if (!loop.ok()) return loop.status();
    group->loops_.push_back(*std::move(loop));
  }
  for (auto& loop : group->loops_) {
    EventLoop* raw = loop.get();
    group->threads_.emplace_back([raw] {
      absl::Status status = raw->Run();
      // Run only fails on misuse (a second Run on the same loop); say so rather than vanish.
      if (!status.ok())
        std::fprintf(stderr, "ringnet: loop thread: %s\n", status.ToString().c_str());
    });
  }
  return group;
}

EventLoopGroup::~EventLoopGroup() { Stop(); }

EventLoop* EventLoopGroup::Next() {
  return loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()].get();
}

void EventLoopGroup::Stop() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (stopped_) return;
  stopped_ = true;
  for (auto& loop : loops_) loop->Stop();
  for (auto& thread : threads_) thread.join();
}

}  // namespace ringnet::runtime
