// The session lifecycle's table (SessionBase: StateMachine::Allows): every edge the sessions
// take is allowed, and the ones that would break an invariant (reopening, a second OnClose,
// opening after a rejection) are not.
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/net/internal/session_base.h"

namespace ringnet::net::internal {
namespace {

using S = SessionState;

const std::vector<S>& AllStates() {
  static const std::vector<S> all = {S::kHandshaking,      S::kConfiguring, S::kOpening,
                                     S::kOpeningThenClose, S::kOpen,        S::kClosing,
                                     S::kRejecting,        S::kClosed,      S::kReleased};
  return all;
}

TEST(SessionStateTest, TheLifecycleEdgesAreAllowed) {
  // Open, then close gracefully.
  EXPECT_TRUE(StateMachine::Allows(S::kHandshaking, S::kConfiguring));
  EXPECT_TRUE(StateMachine::Allows(S::kConfiguring, S::kOpening));
  EXPECT_TRUE(StateMachine::Allows(S::kOpening, S::kOpen));
  EXPECT_TRUE(StateMachine::Allows(S::kOpen, S::kClosing));
  EXPECT_TRUE(StateMachine::Allows(S::kClosing, S::kClosed));
  EXPECT_TRUE(StateMachine::Allows(S::kClosed, S::kReleased));
  // Close() from the NewSessionCallback or OnOpen: opens, then closes.
  EXPECT_TRUE(StateMachine::Allows(S::kConfiguring, S::kOpeningThenClose));
  EXPECT_TRUE(StateMachine::Allows(S::kOpening, S::kOpeningThenClose));
  EXPECT_TRUE(StateMachine::Allows(S::kOpeningThenClose, S::kOpen));
  // Refused before opening (an HTTP error sent first), or failed outright.
  for (S pre : {S::kHandshaking, S::kConfiguring, S::kOpening, S::kOpeningThenClose}) {
    EXPECT_TRUE(StateMachine::PreOpen(pre));
    EXPECT_TRUE(StateMachine::Allows(pre, S::kRejecting)) << SessionStateName(pre);
    EXPECT_TRUE(StateMachine::Allows(pre, S::kClosed)) << SessionStateName(pre);
  }
  EXPECT_TRUE(StateMachine::Allows(S::kRejecting, S::kClosed));
  // Torn down from anywhere before closed (an error, EOF, a timeout, the loop stopping).
  EXPECT_TRUE(StateMachine::Allows(S::kOpen, S::kClosed));
}

TEST(SessionStateTest, EdgesThatBreakAnInvariantAreNot) {
  for (S from : AllStates()) {
    EXPECT_FALSE(StateMachine::Allows(from, S::kHandshaking)) << SessionStateName(from);
    EXPECT_FALSE(StateMachine::Allows(from, from)) << SessionStateName(from);
  }
  // Nothing opens after closing began, or after a rejection.
  for (S after : {S::kClosing, S::kRejecting, S::kClosed, S::kReleased}) {
    EXPECT_FALSE(StateMachine::PreOpen(after));
    EXPECT_FALSE(StateMachine::Allows(after, S::kOpen)) << SessionStateName(after);
    EXPECT_FALSE(StateMachine::Allows(after, S::kOpening)) << SessionStateName(after);
  }
  // An opened session never goes back to the unopened close (it owes OnClose).
  EXPECT_FALSE(StateMachine::Allows(S::kOpen, S::kRejecting));
  EXPECT_FALSE(StateMachine::Allows(S::kClosing, S::kRejecting));
  // Closed means once: no second teardown, no release before it.
  EXPECT_FALSE(StateMachine::Allows(S::kClosed, S::kClosed));
  EXPECT_FALSE(StateMachine::Allows(S::kReleased, S::kClosed));
  EXPECT_FALSE(StateMachine::Allows(S::kOpen, S::kReleased));
  // Configuration runs once, after the handshake.
  EXPECT_FALSE(StateMachine::Allows(S::kOpen, S::kConfiguring));
  EXPECT_FALSE(StateMachine::Allows(S::kHandshaking, S::kOpen));
}

TEST(SessionStateTest, EveryStateHasAName) {
  for (S s : AllStates()) EXPECT_NE(SessionStateName(s), "unknown");
  EXPECT_EQ(SessionStateName(S::kOpeningThenClose), "opening-then-close");
}

}  // namespace
}  // namespace ringnet::net::internal
