// TcpClient: keeps N TCP sessions connected to one server (getty's NewTCPClient with
// WithConnectionNumber and WithReconnectInterval).
//
// Each connection slot connects (with a timeout), opens a session through the NewSessionCallback,
// and when the session closes or a connect fails, reconnects after a capped exponential backoff
// (with a little jitter, so a restarted server is not hit by every client at once). A slot gives
// up after `max_reconnect_attempts` consecutive failures (a failed connect, or a session closed
// before it opened: rejected by new_session or OnOpen, or a failed WebSocket upgrade); a session
// that opened resets the count.
//
// Example:
//
//   TcpClientOptions options;
//   options.server = *InetAddress::Parse("127.0.0.1:9000");
//   options.connections = 4;
//   options.new_session = [listener](SessionConfig& config) {
//     config.listener = listener;
//     return absl::OkStatus();
//   };
//   absl::StatusOr<std::unique_ptr<TcpClient>> client = TcpClient::Create(group.get(), options);
//
// Thread safety: all methods are thread-safe. Destroy the client before its EventLoopGroup. On
// one of the group's loop threads (a proxy dropping the upstream client of a connection it
// served) the destructor closes but cannot wait (Endpoint::WaitClosed returns false there): the
// slots and sessions finish on their own, within the linger, as long as the group runs.
#ifndef RINGNET_NET_TCP_CLIENT_H_
#define RINGNET_NET_TCP_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringnet/net/endpoint.h"
#include "ringnet/net/inet_address.h"
#include "ringnet/net/session.h"
#include "ringnet/runtime/event_loop_group.h"

namespace ringnet::net {

namespace internal {
struct ClientState;
struct StreamEndpointAccess;
}  // namespace internal

struct TcpClientOptions {
  // The server to connect to.
  InetAddress server;
  // Sessions to keep open (spread over the group's loops, unless `loop` pins them).
  int connections = 1;
  // Pin every connection to this loop of the group; nullptr: spread them round-robin. A proxy
  // opens its upstream connection on the loop of the downstream session it serves (as netty's
  // HexDumpProxy uses inboundChannel.eventLoop()), so both sessions' callbacks run on one thread
  // and relay to each other at once, without posting. Create fails if it is not the group's.
  runtime::EventLoop* loop = nullptr;
  // Configures (or rejects) each new session. Required.
  NewSessionCallback new_session;
  absl::Duration connect_timeout = absl::Seconds(5);
  // Reconnect after a failed connect or a closed session.
  bool reconnect = true;
  // Also reconnect after a clean close (EOF or Close(), no error).
  bool reconnect_after_clean_close = true;
  // Backoff: initial, doubled per consecutive failure, capped.
  absl::Duration reconnect_initial_backoff = absl::Milliseconds(100);
  absl::Duration reconnect_max_backoff = absl::Seconds(10);
  // Consecutive failed connects before a slot gives up; 0: never give up.
  int max_reconnect_attempts = 0;
  // Connect failures, sessions that closed before opening, and other endpoint-level errors, on a
  // loop thread. Optional.
  std::function<void(const absl::Status&)> on_error;
};

class TcpClient : public Endpoint {
 public:
  // Starts connecting every slot. Returns errors in the options; connect failures go to
  // `on_error` and the reconnect logic.
  static absl::StatusOr<std::unique_ptr<TcpClient>> Create(runtime::EventLoopGroup* group,
                                                           const TcpClientOptions& options);

  // Endpoint: Close() stops reconnecting and closes the sessions gracefully; WaitClosed() waits
  // for all slots and sessions; the destructor does both.

  struct Stats {
    uint64_t connect_attempts = 0;
    uint64_t connect_failures = 0;
    uint64_t sessions_opened = 0;
  };
  Stats stats() const;

 private:
  friend struct internal::StreamEndpointAccess;
  explicit TcpClient(std::shared_ptr<internal::ClientState> state);

  std::shared_ptr<internal::ClientState> state_;
};

}  // namespace ringnet::net

#endif  // RINGNET_NET_TCP_CLIENT_H_
