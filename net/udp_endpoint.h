// UdpEndpoint: an unconnected UDP socket and its one session (getty's NewUDPEndPoint).
//
// Every datagram carries its own peer, in and out: OnMessage's `from` is the sender, and writes
// name their destination with WritePkgTo/WriteBytesTo (WritePkg/WriteBytes fail: "destination
// address required"). Many peers can talk to one endpoint; replies go where they are addressed.
//
// Example:
//
//   UdpEndpointOptions options;
//   options.bind = *InetAddress::Parse("127.0.0.1:0");
//   options.new_session = [listener](SessionConfig& config) {
//     config.listener = listener;  // OnMessage(s, pkg, from) -> s.WriteBytesTo(pkg.bytes(), from)
//     return absl::OkStatus();
//   };
//   absl::StatusOr<std::unique_ptr<UdpEndpoint>> udp = UdpEndpoint::Create(group.get(), options);
//
// Thread safety: all methods are thread-safe. Create it outside its loop's thread (it waits for
// the session to open there); destroy it before its EventLoopGroup.
#ifndef RINGNET_NET_UDP_ENDPOINT_H_
#define RINGNET_NET_UDP_ENDPOINT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringnet/net/endpoint.h"
#include "ringnet/net/inet_address.h"
#include "ringnet/net/session.h"
#include "ringnet/runtime/event_loop_group.h"

namespace ringnet::net {

struct UdpEndpointOptions {
  // Address to bind (IPv4 or IPv6; port 0: the kernel chooses, see `address()`).
  InetAddress bind;
  // Configures (or rejects) the endpoint's session. Required.
  NewSessionCallback new_session;
  // SO_RCVBUF / SO_SNDBUF in bytes; 0 keeps the system default.
  int receive_buffer_bytes = 0;
  int send_buffer_bytes = 0;

  // Per-peer sessions (getty has none): every sender gets a session of its own (kind kUdpPeer),
  // opened through `new_session` on its first datagram, that receives that sender's datagrams
  // and writes to it without an address, like a connected session; it closes after
  // `peer_idle_timeout` without datagrams (SessionOptions::idle_timeout set in new_session wins).
  // The endpoint's own session (kind kUdp) then sees no messages; closing it closes the peers.
  bool per_peer_sessions = false;
  absl::Duration peer_idle_timeout = absl::Minutes(1);
  // Peer sessions at once; datagrams from further senders are dropped (OnError on the endpoint's
  // session) until one closes.
  size_t max_peers = 4096;
};

class UdpEndpoint : public Endpoint {
 public:
  // Binds and opens the session on the group's next loop. Bind errors and a rejected session
  // (new_session or OnOpen failing) are returned here.
  static absl::StatusOr<std::unique_ptr<UdpEndpoint>> Create(runtime::EventLoopGroup* group,
                                                             const UdpEndpointOptions& options);
  // The bound address (the real port when 0 was asked).
  const InetAddress& address() const { return address_; }
  // The endpoint's session.
  const SessionHandle& session() const { return session_; }
  // Endpoint: Close() closes the session (datagrams already handed to the kernel still leave;
  // per-peer sessions close with it); WaitClosed() waits until it is gone; the destructor does
  // both. Sessions() holds the endpoint's own session (not its per-peer sessions).

 private:
  struct State;  // outlives the session: the destructor waits for it to close
  UdpEndpoint(std::shared_ptr<State> state, const InetAddress& address, SessionHandle session);

  std::shared_ptr<State> state_;
  InetAddress address_;
  SessionHandle session_;
};

}  // namespace ringnet::net

#endif  // RINGNET_NET_UDP_ENDPOINT_H_
