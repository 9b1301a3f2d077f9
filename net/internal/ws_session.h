// WsSession: a WebSocket session (RFC 6455) over one TCP connection, server or client side.
//
// Phases:
//   handshake  before the session opens. The server reads the HTTP upgrade request and answers
//              101, or an HTTP error (400/403/404/405/426/431/500/503) and closes without any
//              listener callback; the client sends its request and validates the 101. Bytes
//              that follow the request (response) in the same read are the first frames, and
//              are kept. Bounded by the handshake timeout.
//   open       the NewSessionCallback, then OnOpen, run once the upgrade is done. Frames are
//              parsed in place (MessageParser unmasks the receive buffer); each text/binary
//              message goes through the session's codec and reaches OnMessage whole, with its
//              kind. Pings are answered with the same payload (when the send queue is over its
//              high-water mark, only the latest ping is answered, once it drains). With a
//              heartbeat period the session pings, and fails with 1011 when no pong comes
//              within the pong timeout. SessionOptions' idle, read (a message begun and not
//              finished) and write timeouts fail it with 1001.
//   closing    Close() sends a Close frame (1000, or CloseWebSocket's code) and waits for the
//              peer's. A server then sends FIN (it closes the TCP connection first); a client
//              waits for the server's FIN. A peer's Close frame is answered with its code. Bad
//              input fails the connection: a Close frame with the parser's code (1002, 1007,
//              1008, 1009), OnError, no wait for the peer's Close frame. Everything is bounded by
//              the close timeout (and SessionOptions::close_linger), after which the session
//              closes the TCP connection itself. OnClose follows exactly once.
//
// Loop thread only.
#ifndef RINGNET_NET_INTERNAL_WS_SESSION_H_
#define RINGNET_NET_INTERNAL_WS_SESSION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ringnet/codec/websocket/client_handshake.h"
#include "ringnet/codec/websocket/frame.h"
#include "ringnet/codec/websocket/message_parser.h"
#include "ringnet/codec/websocket/server_handshake.h"
#include "ringnet/net/internal/tcp_session.h"
#include "ringnet/net/internal/ws_close_state.h"
#include "ringnet/net/internal/ws_core.h"
#include "ringnet/net/websocket.h"

namespace ringnet::net::internal {


// What every session of one WebSocket endpoint shares (immutable once the endpoint is created).
struct WsSessionConfig {
  codec::websocket::Role role = codec::websocket::Role::kServer;
  // Server: the path served (exact match, query ignored; empty: any) and the handshake hooks.
  std::string path;
  codec::websocket::UpgradeOptions upgrade;
  // Client: what the upgrade request says.
  std::string host_header;
  std::string request_path = "/";
  std::vector<std::string> subprotocols;
  std::string origin;
  WsTimeouts timeouts;
};

// OK if every timer of `timeouts` is positive; else InvalidArgument naming `options` (the
// caller's options struct, "WsServerOptions").
absl::Status CheckWsTimeouts(const WsTimeouts& timeouts, absl::string_view options);

class WsSession final : public TcpSession, public WsCore {
 public:
  WsSession(runtime::EventLoop* loop, UniqueFd fd, std::shared_ptr<const WsSessionConfig> config);
  ~WsSession() override;

  // TcpSession: starts the handshake; the session opens when it succeeds.
  void Start(const NewSessionCallback& callback) override;
  // SessionCore: during the handshake, closes at once (no callbacks); else the close handshake
  // with 1000.
  void Close() override;
  // The close handshake with `code` and `reason` (already checked as sendable). False if the
  // session is not open.
  bool CloseWithCode(uint16_t code, absl::string_view reason) override;

 protected:
  // TcpSession hooks.
  absl::StatusOr<size_t> Consume(absl::Span<char> bytes) override;
  bool AcceptsInput() const override;
  absl::Status EncodeOnto(Package&& pkg, WriteQueue& queue) override;
  absl::Status AppendBytesOnto(absl::Span<const absl::string_view> parts,
                               WriteQueue& queue) override;
  absl::Status AppendOwnedOnto(std::string&& bytes, WriteQueue& queue) override;
  void OnPeerEof() override;
  bool MayShutdownWrite() const override;
  void OnSent() override;
  // SessionBase hooks.
  void BeginGracefulClose() override;
  void CancelIo() override;
  bool HasPartialInput() const override { return parser_.has_value() && parser_->in_message(); }
  // Idle, read and write timeouts fail the connection with 1001 (going away).
  void TimedOut(const absl::Status& error) override;

 private:
  bool is_server() const { return config_->role == codec::websocket::Role::kServer; }

  // Handshake phase (ws_session_handshake.cc).
  size_t ConsumeServerHandshake(absl::Span<char> bytes);
  size_t ConsumeClientHandshake(absl::Span<char> bytes);
  bool PathServed(absl::string_view target) const;
  // Server: opens the session behind the 101 response; false if it was rejected.
  bool OpenServerSession(const codec::websocket::ServerHandshake& handshake);
  bool OpenClientSession(const codec::websocket::UpgradeResponse& response);
  // Creates the parser once the session's options are known.
  void StartParser();
  // Server: answers with an HTTP error `response` and closes, no callbacks; `reason` is the open
  // result the endpoint sees.
  void RejectUpgrade(const std::string& response, const absl::Status& reason);
  // Closes at once, no callbacks (a client whose upgrade failed, a timeout).
  void FailHandshake(const absl::Status& error);
  // Leaves the handshake phase (stops its timer).
  void EndHandshake();
  void PublishInfo();

  // Open phase (ws_session.cc).
  void FeedFrames(absl::Span<char> bytes);
  void OnFrame(const codec::websocket::Message& message);
  void DeliverData(absl::string_view payload, codec::PackageKind kind);
  void OnCloseFrame(const codec::websocket::ClosePayload& close);
  void QueuePong(absl::string_view payload);
  void StartHeartbeat();
  void SendPing();
  // Fails the connection: Close frame with `code`, OnError(error), TCP close without waiting for
  // the peer's Close frame.
  void FailConnection(const absl::Status& error, uint16_t code);
  // The close handshake's sub-state (ws_close_state.h): every change goes through
  // SetCloseState, which asserts the edge (debug builds).
  void SetCloseState(WsCloseState to);
  bool close_sent() const { return WsCloseMachine::Sent(close_); }
  bool close_received() const { return WsCloseMachine::Received(close_); }
  bool failed() const { return close_ == WsCloseState::kFailed; }
  // Sends our Close frame (once: asserted), moving the close handshake on.
  void SendCloseFrame(std::optional<uint16_t> code, absl::string_view reason);
  void QueueCloseFrame(std::optional<uint16_t> code, absl::string_view reason);
  void QueueControlFrame(codec::websocket::Opcode opcode, absl::string_view payload);
  // Appends one message frame (masked on the client side) to `queue`.
  void AppendMessage(codec::websocket::Opcode opcode, absl::Span<const absl::string_view> parts,
                     WriteQueue& queue);
  // The same for a large payload given away: it becomes a buffer of its own (masked in place).
  void AppendOwnedMessage(codec::websocket::Opcode opcode, std::string&& payload,
                          WriteQueue& queue);
  std::optional<codec::websocket::MaskKey> NextMask() const;
  void CancelTimer(runtime::TimerId* timer);

  const std::shared_ptr<const WsSessionConfig> config_;
  NewSessionCallback new_session_;
  std::string client_key_;
  std::optional<codec::websocket::MessageParser> parser_;
  WebSocketInfo info_;
  std::string scratch_;  // a non-raw codec's encoding of one package
  // The latest ping's payload, while its pong waits for the write queue to drain.
  std::optional<std::string> deferred_pong_;
  runtime::TimerId handshake_timer_;
  runtime::TimerId heartbeat_timer_;
  runtime::TimerId pong_timer_;
  runtime::TimerId close_timer_;
  WsCloseState close_ = WsCloseState::kNone;
  bool partial_tracked_ = false;   // whether set_partial_since marks a message begun
  bool ping_outstanding_ = false;  // a heartbeat ping awaits its pong
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_WS_SESSION_H_
