// Layering check: net/session.h (what every SessionHandle user includes) must compile without
// liburing and without the event loop's header, which it only names by pointer. A regression
// fails the build of this test, not a run.
#include "ringnet/net/session.h"

#if defined(LIB_URING_H) || defined(LINUX_IO_URING_H) || defined(IORING_SETUP_SQPOLL)
#error "net/session.h pulls in liburing or linux/io_uring.h; forward-declare instead"
#endif
#if defined(RINGNET_RUNTIME_EVENT_LOOP_H_) || defined(RINGNET_RUNTIME_RING_H_) || \
    defined(RINGNET_RUNTIME_BUFFER_RING_H_)
#error "net/session.h includes event_loop.h, ring.h or buffer_ring.h; forward-declare instead"
#endif

#include "gtest/gtest.h"

namespace ringnet::net {
namespace {

TEST(SessionLayeringTest, PublicHeaderCompilesWithoutTheLoop) {
  // The preprocessor checks above are the test; this only proves the header is usable alone.
  SessionHandle handle;
  EXPECT_EQ(handle.loop(), nullptr);
}

}  // namespace
}  // namespace ringnet::net
