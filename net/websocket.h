// WebSocket sessions (RFC 6455): what is specific to them beyond SessionHandle, shared by WsServer
// and WsClient.
//
// A WebSocket session is used through the same SessionHandle and EventListener as a TCP session
// (its kind is SessionKind::kWebSocket). Each OnMessage gets one whole message, and the package's
// kind() says whether it was text or binary; WritePkg sends a message of the package's kind,
// WriteBytes and WriteBytesArray send one binary message. SessionHandle::Close() runs the close
// handshake with code 1000. This header adds closing with another code, the connection's details
// (path, subprotocol, the peer's close code), and the close code carried by an error.
//
// Example:
//
//   void OnMessage(const SessionHandle& s, Package& pkg, const InetAddress&) override {
//     if (pkg.kind() == codec::PackageKind::kText && pkg.bytes() == "bye") {
//       (void)CloseWebSocket(s, 4000, "as you wish");
//       return;
//     }
//     s.WritePkg(std::move(pkg));  // echo, same kind
//   }
//   void OnError(const SessionHandle& s, const absl::Status& error) override {
//     if (std::optional<uint16_t> code = WebSocketCloseCode(error)) LOG() << "closed with " <<
//     *code;
//   }
//
// Thread safety: every function here is thread-safe.
#ifndef RINGNET_NET_WEBSOCKET_H_
#define RINGNET_NET_WEBSOCKET_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ringnet/net/session.h"

namespace ringnet::net {

// A WebSocket session's timers, the same for servers and clients (WsServerOptions and
// WsClientOptions inherit them). Each must be positive; InfiniteDuration disables a timer (a
// heartbeat period of infinity sends no pings).
struct WsTimeouts {
  // The opening handshake must complete in this time, else the connection is closed.
  absl::Duration handshake_timeout = absl::Seconds(10);
  // A ping every period; the peer must answer each with a pong within pong_timeout,
  // else the connection fails with close code 1011.
  absl::Duration heartbeat_period = absl::InfiniteDuration();
  absl::Duration pong_timeout = absl::Seconds(10);
  // After our Close frame, the peer's Close (and, for a server, the TCP close) must follow within
  // this time, else the connection is dropped.
  absl::Duration close_timeout = absl::Seconds(5);
};

// What a WebSocket session knows about its connection (see GetWebSocketInfo).
struct WebSocketInfo {
  // The request target, path and query ("/chat?room=1").
  std::string path;
  // The subprotocol the server chose, or empty.
  std::string subprotocol;
  // Server side: the request's Origin header (empty when absent) and every header field of the
  // upgrade request as received (for cookies, authorization, ...). Empty on the client side.
  std::string origin;
  std::vector<std::pair<std::string, std::string>> request_headers;
  // The peer's Close frame: 0 until one arrived, 1005 when it carried no code.
  uint16_t peer_close_code = 0;
  std::string peer_close_reason;
};

// The session's WebSocket details, from the NewSessionCallback on (the upgrade has succeeded by
// then); std::nullopt for other session kinds. Thread-safe.
std::optional<WebSocketInfo> GetWebSocketInfo(const SessionHandle& session);

// Starts the close handshake with `code` (1000-1003, 1007-1014 or 3000-4999) and `reason` (UTF-8,
// at most 123 bytes); otherwise as SessionHandle::Close(). Fails with InvalidArgument for a code
// or reason that may not be sent, FailedPrecondition for a session that is not a WebSocket or is
// already closing. Thread-safe; from other threads the close happens asynchronously.
absl::Status CloseWebSocket(const SessionHandle& session, uint16_t code,
                            absl::string_view reason = "");

// The close code an error passed to OnError carries: the code this side sent when it failed the
// connection (1002 protocol error, 1007 invalid payload, 1009 too big, 1011 pong timeout, ...),
// or the one the peer sent when its Close frame reported an error. std::nullopt for other errors.
std::optional<uint16_t> WebSocketCloseCode(const absl::Status& error);

}  // namespace ringnet::net

#endif  // RINGNET_NET_WEBSOCKET_H_
