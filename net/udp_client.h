// UdpClient: N connected UDP sessions to one peer (getty's NewUDPClient), with the same pool and
// reconnect policy as TcpClient.
//
// connect(2) on a datagram socket does no handshake: the kernel records the peer, sends only to
// it and drops datagrams from anyone else. Reads and writes carry no address (WritePkgTo fails:
// "use of WriteTo with pre-connected connection"); SessionHandle::Connect switches the peer.
// When nothing listens at the peer, ICMP "port unreachable" makes the next operation fail with
// ECONNREFUSED: that reaches OnError with a clear status, and the session stays usable unless
// SessionOptions::close_on_icmp_error is set (then it closes, and the slot reconnects).
//
// Example:
//
//   UdpClientOptions options;
//   options.server = *InetAddress::Parse("127.0.0.1:5353");
//   options.new_session = [listener](SessionConfig& config) {
//     config.listener = listener;
//     return absl::OkStatus();
//   };
//   absl::StatusOr<std::unique_ptr<UdpClient>> client = UdpClient::Create(group.get(), options);
//
// Thread safety: all methods are thread-safe. Destroy the client before its EventLoopGroup, and
// not from one of the group's loop threads.
#ifndef RINGNET_NET_UDP_CLIENT_H_
#define RINGNET_NET_UDP_CLIENT_H_

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
}  // namespace internal

struct UdpClientOptions {
  // The peer every session is connected to.
  InetAddress server;
  // Local address to bind first (unspecified: any address, any port).
  InetAddress bind;
  // Sessions to keep (spread over the group's loops).
  int connections = 1;
  // Configures (or rejects) each session. Required.
  NewSessionCallback new_session;
  // Re-create a session after it closes (see SessionOptions::close_on_icmp_error).
  bool reconnect = true;
  bool reconnect_after_clean_close = true;
  absl::Duration reconnect_initial_backoff = absl::Milliseconds(100);
  absl::Duration reconnect_max_backoff = absl::Seconds(10);
  // Consecutive failures before a slot gives up; 0: never give up.
  int max_reconnect_attempts = 0;
  // Socket buffer sizes in bytes; 0 keeps the system default.
  int receive_buffer_bytes = 0;
  int send_buffer_bytes = 0;
  // Endpoint-level errors (socket or connect failures), on a loop thread. Optional.
  std::function<void(const absl::Status&)> on_error;
};

class UdpClient : public Endpoint {
 public:
  // Starts every slot. Returns errors in the options.
  static absl::StatusOr<std::unique_ptr<UdpClient>> Create(runtime::EventLoopGroup* group,
                                                           const UdpClientOptions& options);

  // Endpoint: Close() stops reconnecting and closes the sessions; WaitClosed() waits for all
  // slots and sessions; the destructor does both.

 private:
  explicit UdpClient(std::shared_ptr<internal::ClientState> state);
  std::shared_ptr<internal::ClientState> state_;
};

}  // namespace ringnet::net

#endif  // RINGNET_NET_UDP_CLIENT_H_
