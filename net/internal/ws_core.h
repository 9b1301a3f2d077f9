// WsCore: what the public WebSocket functions (websocket.cc) need of a WebSocket session,
// without depending on WsSession (which depends on websocket.h): the names under which a session
// publishes its details and its errors' close codes, and closing with a code.
//
// Loop thread only (CloseWithCode).
#ifndef RINGNET_NET_INTERNAL_WS_CORE_H_
#define RINGNET_NET_INTERNAL_WS_CORE_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace ringnet::net::internal {

// The absl::Status payload (type URL) under which errors carry their WebSocket close code, in
// decimal (see WebSocketCloseCode).
inline constexpr absl::string_view kCloseCodePayload = "ringnet.websocket.close_code";
// The session attribute that holds its WebSocketInfo (see GetWebSocketInfo).
inline constexpr absl::string_view kWsInfoAttribute = "ringnet.websocket";

class WsCore {
 public:
  // The close handshake with `code` and `reason` (already checked as sendable). False if the
  // session is not open.
  virtual bool CloseWithCode(uint16_t code, absl::string_view reason) = 0;

 protected:
  ~WsCore() = default;
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_WS_CORE_H_
