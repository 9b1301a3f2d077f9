// The WebSocket close handshake's table (WsCloseMachine): both orders of the two Close frames,
// failing from anywhere, and the edges that would break an invariant (a second Close frame
// either way, leaving kFailed, going back to kNone).
#include "ringnet/net/internal/ws_close_state.h"

#include <utility>

#include "gtest/gtest.h"

namespace ringnet::net::internal {
namespace {

using S = WsCloseState;
using M = WsCloseMachine;

constexpr S kAll[] = {S::kNone, S::kSent, S::kReceived, S::kDone, S::kFailed};

TEST(WsCloseStateTest, BothOrdersOfTheCloseFramesEndDone) {
  // We close first, the peer answers.
  EXPECT_EQ(M::AfterSend(S::kNone), S::kSent);
  EXPECT_EQ(M::AfterReceive(S::kSent), S::kDone);
  // The peer closes first, we answer.
  EXPECT_EQ(M::AfterReceive(S::kNone), S::kReceived);
  EXPECT_EQ(M::AfterSend(S::kReceived), S::kDone);
  for (auto [from, to] : {std::pair{S::kNone, S::kSent}, std::pair{S::kSent, S::kDone},
                          std::pair{S::kNone, S::kReceived}, std::pair{S::kReceived, S::kDone}}) {
    EXPECT_TRUE(M::Allows(from, to)) << WsCloseStateName(from) << " -> " << WsCloseStateName(to);
  }
}

TEST(WsCloseStateTest, FailingIsAllowedFromEveryStateButItself) {
  for (S from : kAll) {
    EXPECT_EQ(M::Allows(from, S::kFailed), from != S::kFailed) << WsCloseStateName(from);
  }
}

TEST(WsCloseStateTest, NoSecondCloseFrameAndNoWayBack) {
  for (S from : kAll) {
    EXPECT_FALSE(M::Allows(from, S::kNone)) << WsCloseStateName(from);
    // Each side's Close frame is seen once: after ours (or the peer's) the same edge is refused.
    if (M::Sent(from)) {
      EXPECT_FALSE(M::Allows(from, M::AfterSend(from))) << WsCloseStateName(from);
    }
    if (M::Received(from)) {
      EXPECT_FALSE(M::Allows(from, M::AfterReceive(from))) << WsCloseStateName(from);
    }
  }
  // A failed connection stays failed.
  for (S to : kAll) EXPECT_FALSE(M::Allows(S::kFailed, to)) << WsCloseStateName(to);
}

TEST(WsCloseStateTest, SentAndReceivedSayWhichFramesCrossed) {
  EXPECT_FALSE(M::Sent(S::kNone));
  EXPECT_FALSE(M::Received(S::kNone));
  EXPECT_TRUE(M::Sent(S::kSent));
  EXPECT_FALSE(M::Received(S::kSent));
  EXPECT_FALSE(M::Sent(S::kReceived));
  EXPECT_TRUE(M::Received(S::kReceived));
  EXPECT_TRUE(M::Sent(S::kDone));
  EXPECT_TRUE(M::Received(S::kDone));
  EXPECT_TRUE(M::Sent(S::kFailed));  // the failure's Close frame
  EXPECT_FALSE(M::Received(S::kFailed));
}

}  // namespace
}  // namespace ringnet::net::internal
