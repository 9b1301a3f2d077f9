// Endpoint: what every ringnet endpoint offers for its lifetime (TcpServer, TcpClient, UdpClient,
// UdpEndpoint, WsServer, WsClient derive from it): closing, waiting until everything it created
// is gone, and its open sessions.
//
// An endpoint creates objects on its group's loops (listeners, connection slots, sessions). Close()
// stops them all, gracefully: no new sessions, open ones closed as SessionHandle::Close() would.
// WaitClosed() blocks until the last of them is gone; the destructor does both, so an endpoint
// never outlives what it created, and nothing it created outlives it.
//
// Example:
//
//   std::unique_ptr<Endpoint> server = *std::move(TcpServer::Create(group.get(), options));
//   ...
//   server->Close();                            // returns at once
//   if (!server->WaitClosed(absl::Seconds(5))) std::puts("sessions still closing");
//
// Thread safety: every method is thread-safe; WaitClosed (and so the destructor) must not run on
// one of the group's loop threads (WaitClosed returns false there at once). Destroy an endpoint
// before its EventLoopGroup.
#ifndef RINGNET_NET_ENDPOINT_H_
#define RINGNET_NET_ENDPOINT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "ringnet/net/session.h"

namespace ringnet::net {

namespace internal {
class EndpointShared;
struct StreamEndpointAccess;
}  // namespace internal

class Endpoint {
 public:
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;
  // Close(), then WaitClosed().
  virtual ~Endpoint();

  // Stops the endpoint's objects on every loop and closes its sessions gracefully (getty leaves
  // them open). Returns at once; see WaitClosed. Idempotent.
  void Close();
  // Waits until everything the endpoint created is gone (listeners, connection slots,
  // sessions); false on timeout, or at once when called from one of the group's loop threads.
  bool WaitClosed(absl::Duration timeout = absl::InfiniteDuration());

  // Open sessions, and handles to them.
  size_t session_count() const;
  std::vector<SessionHandle> Sessions() const;

 protected:
  // `shared` keeps the endpoint's books (it usually aliases the endpoint's own state); `on_close`
  // (optional) runs at the first Close(), before the loop objects are told to stop.
  explicit Endpoint(std::shared_ptr<internal::EndpointShared> shared,
                    std::function<void()> on_close = nullptr);

 private:
  friend struct internal::StreamEndpointAccess;  // WsServer/WsClient share their TCP books

  std::shared_ptr<internal::EndpointShared> shared_;
  std::function<void()> on_close_;
};

}  // namespace ringnet::net

#endif  // RINGNET_NET_ENDPOINT_H_
