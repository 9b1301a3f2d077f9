// The per-session memory budget (issue 6: at most 1 KiB of user-space memory per idle TCP
// session). An idle TCP session is one TcpSession and one SessionShared (plus its shared_ptr
// control block and three hash-table slots, about 100 bytes); //bench:compare measures the whole
// (RSS per idle connection). These bounds catch a member added to the hot objects unnoticed.
#include "gtest/gtest.h"
#include "ringnet/net/internal/session_shared.h"
#include "ringnet/net/internal/tcp_session.h"

namespace ringnet::net::internal {
namespace {

TEST(SessionSizeTest, IdleTcpSessionStaysWithinBudget) {
  RecordProperty("sizeof_TcpSession", static_cast<int>(sizeof(TcpSession)));
  RecordProperty("sizeof_SessionShared", static_cast<int>(sizeof(SessionShared)));
  EXPECT_LE(sizeof(TcpSession), 448u);
  EXPECT_LE(sizeof(SessionShared), 288u);
}

TEST(SessionSizeTest, LimitsAreCompact) { EXPECT_LE(sizeof(SessionLimits), 80u); }

}  // namespace
}  // namespace ringnet::net::internal
