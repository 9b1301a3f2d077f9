// WsClient: keeps N WebSocket sessions connected to one ws:// URL (getty's NewWSClient).
//
// It is a TcpClient (same connection slots, connect timeout and reconnect backoff) whose sessions
// first run the HTTP/1.1 upgrade: the request names the URL's host and path, offers
// `subprotocols` and sends `origin`; the server's 101 is validated (Sec-WebSocket-Accept, the
// subprotocol, no extension). The session opens (NewSessionCallback, then OnOpen) once the
// upgrade is done; frames the server sent right behind its 101 are kept. A failed upgrade (an
// HTTP error, a bad response, no response within `handshake_timeout`) closes the connection
// without OnOpen/OnClose, is reported to `on_error` and counts as a failed connect for the
// backoff and `max_reconnect_attempts`.
//
// Sessions behave as described in websocket.h (they mask every frame they send, as clients
// must). On Close() a client sends its Close frame, waits for the server's, then for the server
// to close the TCP connection, all bounded by `close_timeout`, after which it closes it itself.
// With a `heartbeat_period` it pings and fails the session with 1011 when no pong arrives within
// `pong_timeout`.
//
// Example:
//
//   WsClientOptions options;
//   options.url = "ws://127.0.0.1:8080/chat";
//   options.connections = 4;
//   options.new_session = [listener](SessionConfig& config) {
//     config.listener = listener;
//     return absl::OkStatus();
//   };
//   absl::StatusOr<std::unique_ptr<WsClient>> client = WsClient::Create(group.get(), options);
//
// Thread safety: all methods are thread-safe. Destroy the client before its EventLoopGroup, and
// not from one of the group's loop threads.
#ifndef RINGNET_NET_WS_CLIENT_H_
#define RINGNET_NET_WS_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringnet/net/session.h"
#include "ringnet/net/tcp_client.h"
#include "ringnet/net/websocket.h"
#include "ringnet/runtime/event_loop_group.h"

namespace ringnet::net {

// TcpClientOptions (connections, loop, new_session, connect_timeout, reconnect..., on_error) plus
// the WebSocket settings. `server` may be left unset: it is then the URL's host (an IP literal, or
// a name resolved once by Create) and port.
struct WsClientOptions : TcpClientOptions, WsTimeouts {
  // ws://host[:port]/path?query (wss:// is refused: no TLS here). Required.
  std::string url;
  // Sec-WebSocket-Protocol offers, in order of preference; the server may choose one (see
  // GetWebSocketInfo) or none.
  std::vector<std::string> subprotocols;
  // The Origin header to send; empty: none (browsers always send one, other clients need not).
  std::string origin;
};

class WsClient : public Endpoint {
 public:
  // Starts connecting every slot. Returns errors in the options (a bad URL, a name that does not
  // resolve); connect and upgrade failures go to `on_error` and the reconnect logic.
  static absl::StatusOr<std::unique_ptr<WsClient>> Create(runtime::EventLoopGroup* group,
                                                          WsClientOptions options);
  // Endpoint: Close() stops reconnecting; sessions run the close handshake. WaitClosed() waits
  // for all slots and sessions; the destructor does both. Sessions() holds the upgraded ones.

  // connect_failures counts failed upgrades too. Thread-safe.
  TcpClient::Stats stats() const { return tcp_->stats(); }

 private:
  explicit WsClient(std::unique_ptr<TcpClient> tcp);

  std::unique_ptr<TcpClient> tcp_;
};

}  // namespace ringnet::net

#endif  // RINGNET_NET_WS_CLIENT_H_
