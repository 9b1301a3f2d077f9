// Layering check: the public event_loop.h must compile without liburing, the ring, the buffer
// ring or a backend's header, so users of the loop (and of net/session.h) do not compile liburing.
// A regression fails the build of this test, not a run.
#include "ringnet/runtime/event_loop.h"

#if defined(LIB_URING_H) || defined(LINUX_IO_URING_H) || defined(IORING_SETUP_SQPOLL)
#error "event_loop.h pulls in liburing or linux/io_uring.h; forward-declare instead"
#endif
#if defined(RINGNET_RUNTIME_RING_H_) || defined(RINGNET_RUNTIME_BUFFER_RING_H_) ||               \
    defined(RINGNET_RUNTIME_EPOLL_BACKEND_H_) || defined(RINGNET_RUNTIME_IO_URING_BACKEND_H_) || \
    defined(RINGNET_RUNTIME_LOOP_BACKEND_H_)
#error "event_loop.h includes a runtime-internal header; forward-declare instead"
#endif

#include "gtest/gtest.h"

namespace ringnet::runtime {
namespace {

TEST(EventLoopLayeringTest, PublicHeaderCompilesWithoutLiburing) {
  // The preprocessor checks above are the test; this only proves the header is usable alone.
  EventLoopOptions options;
  EXPECT_EQ(RingModeName(options.ring.best_mode), "defer_taskrun");
  EXPECT_EQ(BackendName(Backend::kEpoll), "epoll");
}

}  // namespace
}  // namespace ringnet::runtime
