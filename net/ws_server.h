// WsServer: accepts WebSocket connections (RFC 6455, ws://) on one path and turns each upgraded
// connection into a session (getty's NewWSServer).
//
// It is a TcpServer (same listeners, one per loop with SO_REUSEPORT, same options) whose sessions
// first run the HTTP/1.1 upgrade. A request for another path gets 404; a malformed one 400, 405,
// 426 or 431; an origin the `check_origin` hook refuses 403; a session the NewSessionCallback or
// OnOpen rejects 403 (503 when the callback returns Unavailable). A refused upgrade closes the
// connection after the HTTP error response, with no OnOpen/OnClose, and counts in
// stats().rejected. Bytes that follow the request in the same read are kept as the first frames.
//
// Sessions (SessionKind::kWebSocket) behave as described in websocket.h: whole messages with
// their kind, WritePkg by the package's kind, WriteBytes as binary, automatic pongs, optional
// heartbeat pings, the close handshake on Close(). The session's codec (default RawCodec) decodes
// each message into exactly one package (else the connection fails with 1007) and encodes each
// package into one message. SessionOptions::max_msg_len bounds a (reassembled) message: larger
// ones fail the connection with 1009 before their payload is buffered.
//
// Timeouts: `handshake_timeout` closes a connection that does not finish its upgrade request in
// time (counted as rejected). With a `heartbeat_period`, each session sends a ping every period
// and fails with close code 1011 when no pong arrives within `pong_timeout`. `close_timeout`
// bounds the close handshake: past it the server closes the TCP connection itself (and reports
// DeadlineExceeded to OnError if the peer never sent its Close frame); SessionOptions::
// close_linger bounds the whole graceful close as for TCP. SessionOptions' idle, read (a message
// begun and not finished in time) and write timeouts fail the session with close code 1001.
//
// Example:
//
//   WsServerOptions options;
//   options.listen = *InetAddress::Parse("127.0.0.1:8080");
//   options.path = "/chat";
//   options.heartbeat_period = absl::Seconds(30);
//   options.new_session = [listener](SessionConfig& config) {
//     config.listener = listener;
//     config.options.max_msg_len = 1 << 20;
//     return absl::OkStatus();
//   };
//   absl::StatusOr<std::unique_ptr<WsServer>> server = WsServer::Create(group.get(), options);
//   if (!server.ok()) return server.status();
//   std::printf("ws://%s/chat\n", (*server)->address().ToString().c_str());
//
// Thread safety: all methods are thread-safe. Destroy the server before its EventLoopGroup, and
// not from one of the group's loop threads.
#ifndef RINGNET_NET_WS_SERVER_H_
#define RINGNET_NET_WS_SERVER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ringnet/net/inet_address.h"
#include "ringnet/net/session.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/net/websocket.h"
#include "ringnet/runtime/event_loop_group.h"

namespace ringnet::net {

// TcpServerOptions (listen, new_session, backlog, accept_retry, on_error) plus the WebSocket
// settings.
struct WsServerOptions : TcpServerOptions, WsTimeouts {
  // The path served, matched exactly against the request target without its query ("/chat"
  // serves "/chat" and "/chat?room=1"). Empty: every path.
  std::string path;
  // Called with the Origin header ("" when absent) during the upgrade; false answers 403. Unset:
  // any origin. Runs on a loop thread.
  std::function<bool(absl::string_view origin)> check_origin;
  // Called with the subprotocols a client offers (when it offers any); returns the one to speak,
  // or std::nullopt for none. Unset: none. Runs on a loop thread.
  std::function<std::optional<std::string>(const std::vector<std::string>& offered)>
      select_subprotocol;
  // The upgrade request's head (through its blank line) must fit in this many bytes (else 431).
  size_t max_handshake_bytes = 8192;
};

class WsServer : public Endpoint {
 public:
  // Binds and starts accepting on every loop of `group`. Bad options and bind errors are
  // returned here.
  static absl::StatusOr<std::unique_ptr<WsServer>> Create(runtime::EventLoopGroup* group,
                                                          WsServerOptions options);
  // The bound address (the real port when 0 was asked). Thread-safe.
  const InetAddress& address() const { return tcp_->address(); }

  // Endpoint: Close() stops accepting; upgrades in progress are dropped, open sessions run the
  // close handshake (1000). WaitClosed() waits for the listeners and all sessions; the
  // destructor does both. Sessions() holds the upgraded sessions, not those still in their
  // handshake.

  // accepted: upgraded sessions that opened; rejected: refused upgrades (HTTP errors, timeouts,
  // connections closed during the handshake) and sessions refused by new_session or OnOpen.
  // Thread-safe.
  TcpServer::Stats stats() const { return tcp_->stats(); }

 private:
  explicit WsServer(std::unique_ptr<TcpServer> tcp);

  std::unique_ptr<TcpServer> tcp_;
};

}  // namespace ringnet::net

#endif  // RINGNET_NET_WS_SERVER_H_
