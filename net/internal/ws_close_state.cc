#include "ringnet/net/internal/ws_close_state.h"

namespace ringnet::net::internal {

absl::string_view WsCloseStateName(WsCloseState state) {
  switch (state) {
    case WsCloseState::kNone:
      return "none";
    case WsCloseState::kSent:
      return "sent";
    case WsCloseState::kReceived:
      return "received";
    case WsCloseState::kDone:
      return "done";
    case WsCloseState::kFailed:
      return "failed";
  }
  return "unknown";
}

// An edge is (from, to) by nature; the table test covers both orders.
// NOLINTNEXTLINE(bugprone-easily-swappable-parameters)
bool WsCloseMachine::Allows(WsCloseState from, WsCloseState to) {
  using S = WsCloseState;
  switch (to) {
    case S::kNone:
      return false;  // only where a session starts
    case S::kSent:
    case S::kReceived:
      return from == S::kNone;
    case S::kDone:
      return from == S::kSent || from == S::kReceived;
    case S::kFailed:
      return from != S::kFailed;
  }
  return false;
}

}  // namespace ringnet::net::internal
