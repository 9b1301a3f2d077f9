#include "ringnet/runtime/ring.h"

#include <errno.h>
#include <sys/syscall.h>

#include <string>

#include "gtest/gtest.h"
#include "ringnet/test/seccomp.h"

namespace ringnet::runtime {
namespace {

TEST(RingTest, CreatesInBestModeAndProbesOpcodes) {
  absl::StatusOr<std::unique_ptr<Ring>> ring = Ring::Create({});
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_TRUE((*ring)->SupportsOp(IORING_OP_NOP));
  EXPECT_TRUE((*ring)->SupportsOp(IORING_OP_SENDMSG));
  EXPECT_FALSE((*ring)->SupportsOp(255));
  EXPECT_FALSE((*ring)->SupportsOp(-1));
  EXPECT_GE((*ring)->cq_entries(), 4 * (*ring)->sq_entries());
  // This project's kernels (6.1+) all offer DEFER_TASKRUN.
  if ((*ring)->mode() != RingMode::kDeferTaskrun) {
    GTEST_SKIP() << "kernel without DEFER_TASKRUN; got " << RingModeName((*ring)->mode());
  }
}

class RingModeTest : public ::testing::TestWithParam<RingMode> {};

TEST_P(RingModeTest, EachModeSubmitsAndReapsNops) {
  RingOptions options;
  options.best_mode = GetParam();
  options.sq_entries = 8;
  absl::StatusOr<std::unique_ptr<Ring>> created = Ring::Create(options);
  ASSERT_TRUE(created.ok()) << created.status();
  Ring& ring = **created;
  EXPECT_EQ(ring.mode(), GetParam());
  ASSERT_TRUE(ring.BindToCurrentThread().ok());
  // 20 NOPs through an 8-entry SQ: GetSqe flushes when full instead of dropping.
  for (int i = 0; i < 20; ++i) {
    io_uring_sqe* sqe = ring.GetSqe();
    ASSERT_NE(sqe, nullptr);
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, 100 + i);
  }
  EXPECT_GE(ring.sq_full_flushes(), 2u);
  int reaped = 0;
  while (reaped < 20) {
    ASSERT_GE(ring.SubmitAndWait(1, nullptr), 0);
    io_uring_cqe* cqes[32];
    unsigned n = ring.PeekBatch(cqes, 32);
    for (unsigned i = 0; i < n; ++i) {
      EXPECT_EQ(cqes[i]->res, 0);
      EXPECT_GE(cqes[i]->user_data, 100u);
    }
    ring.Advance(n);
    reaped += static_cast<int>(n);
  }
  EXPECT_EQ(reaped, 20);
  EXPECT_EQ(ring.sqes_submitted(), 20u);
  EXPECT_LE(ring.enter_calls(), 6u);
}

INSTANTIATE_TEST_SUITE_P(Modes, RingModeTest,
                         ::testing::Values(RingMode::kDeferTaskrun, RingMode::kCoopTaskrun,
                                           RingMode::kPlain),
                         [](const auto& info) { return std::string(RingModeName(info.param)); });

TEST(RingTest, SubmitAndWaitSkipsTheSystemCallWhenIdle) {
  absl::StatusOr<std::unique_ptr<Ring>> ring = Ring::Create({});
  ASSERT_TRUE(ring.ok());
  ASSERT_TRUE((*ring)->BindToCurrentThread().ok());
  EXPECT_EQ((*ring)->SubmitAndWait(0, nullptr), 0);
  EXPECT_EQ((*ring)->enter_calls(), 0u);
}

TEST(RingTest, WaitTimesOutWithETime) {
  absl::StatusOr<std::unique_ptr<Ring>> ring = Ring::Create({});
  ASSERT_TRUE(ring.ok());
  ASSERT_TRUE((*ring)->BindToCurrentThread().ok());
  __kernel_timespec ts{0, 1'000'000};
  EXPECT_EQ((*ring)->SubmitAndWait(1, &ts), -ETIME);
  EXPECT_EQ((*ring)->enter_calls(), 1u);
}

// The statuses a server team sees where io_uring is blocked: each names the cause.
struct BlockedCase {
  int error;
  absl::StatusCode code;
  const char* mentions;
};

class RingBlockedTest : public ::testing::TestWithParam<BlockedCase> {};

TEST_P(RingBlockedTest, SetupFailureIsAClearStatusNotAnAbort) {
  const BlockedCase c = GetParam();
  int result = testing::RunInChildWithSyscallBlocked(__NR_io_uring_setup, c.error, [&] {
    absl::StatusOr<std::unique_ptr<Ring>> ring = Ring::Create({});
    if (ring.ok()) return 10;
    if (ring.status().code() != c.code) return 11;
    if (std::string(ring.status().message()).find(c.mentions) == std::string::npos) return 12;
    return 0;
  });
  EXPECT_EQ(result, 0) << "10: ring created anyway, 11: wrong code, 12: message lacks \""
                       << c.mentions << "\"";
}

INSTANTIATE_TEST_SUITE_P(
    Errors, RingBlockedTest,
    ::testing::Values(BlockedCase{EPERM, absl::StatusCode::kPermissionDenied, "seccomp"},
                      BlockedCase{ENOSYS, absl::StatusCode::kUnimplemented, "no io_uring"},
                      BlockedCase{ENOMEM, absl::StatusCode::kResourceExhausted, "MEMLOCK"}),
    [](const auto& info) {
      return std::string(info.param.error == EPERM    ? "EPERM"
                         : info.param.error == ENOSYS ? "ENOSYS"
                                                      : "ENOMEM");
    });

}  // namespace
}  // namespace ringnet::runtime
