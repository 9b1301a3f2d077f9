// WsCloseState: the WebSocket close handshake (RFC 6455 7.1.2-7.1.4), a sub-state of a WsSession
// that runs while the session is kOpen or kClosing (SessionState).
//
//   kNone ──our Close frame──▶ kSent ──the peer's──▶ kDone
//     │                                                ▲
//     └──the peer's Close frame──▶ kReceived ──ours────┘      (we answer at once)
//
//   any but kFailed ──we fail the connection──▶ kFailed   (our Close frame, with the error's
//                                          code, goes out unless one did; the peer's is not
//                                          awaited)
//
// Invariants, asserted in debug builds: each side's Close frame is seen once (we send one at
// most; the parser delivers nothing after the peer's); a failed connection stays failed; input is
// parsed only until the peer's Close frame or the failure (WsSession::AcceptsInput).
#ifndef RINGNET_NET_INTERNAL_WS_CLOSE_STATE_H_
#define RINGNET_NET_INTERNAL_WS_CLOSE_STATE_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace ringnet::net::internal {

enum class WsCloseState : uint8_t {
  kNone,      // no Close frame either way
  kSent,      // ours is queued; the peer's is awaited (bounded by the close timeout)
  kReceived,  // the peer's arrived; ours is about to answer it
  kDone,      // both crossed: the server closes TCP, the client waits for the server's FIN
  kFailed,    // we failed the connection (a protocol error, a timeout)
};

absl::string_view WsCloseStateName(WsCloseState state);

struct WsCloseMachine {
  // The allowed edges, as drawn above.
  static bool Allows(WsCloseState from, WsCloseState to);
  // Whether our Close frame went out, and whether the peer's arrived, in `state`.
  static bool Sent(WsCloseState s) {
    return s == WsCloseState::kSent || s == WsCloseState::kDone || s == WsCloseState::kFailed;
  }
  static bool Received(WsCloseState s) {
    return s == WsCloseState::kReceived || s == WsCloseState::kDone;
  }
  // The state after our Close frame is queued / the peer's arrives.
  static WsCloseState AfterSend(WsCloseState s) {
    return s == WsCloseState::kReceived ? WsCloseState::kDone : WsCloseState::kSent;
  }
  static WsCloseState AfterReceive(WsCloseState s) {
    return s == WsCloseState::kSent ? WsCloseState::kDone : WsCloseState::kReceived;
  }
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_WS_CLOSE_STATE_H_
