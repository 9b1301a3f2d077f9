// TcpServer: accepts TCP connections and turns each into a session (getty's NewTCPServer).
//
// One listening socket per loop of the group, all bound to the same port with SO_REUSEPORT, each
// with a multishot accept on its own loop: the kernel spreads connections over the loops and a
// new session starts on the loop that accepted it, with no cross-thread hand-off per connection.
// (Accept-and-hand-off would balance better when a few connections carry most of the load, at
// the cost of a post per connection; servers with many connections, ringnet's target, gain more
// from not hopping.)
//
// Example:
//
//   TcpServerOptions options;
//   options.listen = *InetAddress::Parse("127.0.0.1:0");
//   options.new_session = [listener](SessionConfig& config) {
//     config.listener = listener;
//     return absl::OkStatus();
//   };
//   absl::StatusOr<std::unique_ptr<TcpServer>> server = TcpServer::Create(group.get(), options);
//   if (!server.ok()) return server.status();
//   std::printf("listening on %s\n", (*server)->address().ToString().c_str());
//   ...
//   (*server)->Close();  // stop accepting, close sessions gracefully
//
// Thread safety: all methods are thread-safe. Destroy the server before its EventLoopGroup, and
// not from one of the group's loop threads.
#ifndef RINGNET_NET_TCP_SERVER_H_
#define RINGNET_NET_TCP_SERVER_H_

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
class TcpListener;
struct StreamEndpointAccess;
}  // namespace internal

struct TcpServerOptions {
  // Address to listen on; port 0 lets the kernel choose (see `TcpServer::address()`).
  InetAddress listen;
  // Configures (or rejects) each accepted session. Required.
  NewSessionCallback new_session;
  int backlog = 4096;
  // After EMFILE/ENFILE on accept, wait this long before accepting again (the pending
  // connections stay in the kernel's queue; the loop does not spin).
  absl::Duration accept_retry = absl::Milliseconds(100);
  // Endpoint-level errors (accept failures), called on a loop thread. Optional.
  std::function<void(const absl::Status&)> on_error;
};

class TcpServer : public Endpoint {
 public:
  // Binds and starts accepting on every loop of `group`. Bind errors are returned here.
  static absl::StatusOr<std::unique_ptr<TcpServer>> Create(runtime::EventLoopGroup* group,
                                                           TcpServerOptions options);

  // The bound address (the real port when 0 was asked).
  const InetAddress& address() const { return address_; }

  // Endpoint: Close() stops accepting and closes every open session gracefully (getty leaves them
  // open); WaitClosed() waits for the listeners and all sessions; the destructor does both.

  struct Stats {
    uint64_t accepted = 0;       // sessions opened
    uint64_t rejected = 0;       // refused by new_session or OnOpen, or closed before opening
    uint64_t accept_errors = 0;  // failed accepts (EMFILE...)
  };
  Stats stats() const;

 private:
  friend class internal::TcpListener;
  friend struct internal::StreamEndpointAccess;
  struct State;
  explicit TcpServer(std::shared_ptr<State> state);

  std::shared_ptr<State> state_;
  InetAddress address_;
};

}  // namespace ringnet::net

#endif  // RINGNET_NET_TCP_SERVER_H_
