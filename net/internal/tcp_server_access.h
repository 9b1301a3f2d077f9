// TcpServerAccess: how net/'s own servers built on TCP (WsServer) reuse TcpServer's listeners with
// sessions of their own kind, without widening the public TcpServer API. tcp_client_access.h is
// the same for TcpClient.
//
// Example (what WsServer does):
//
//   absl::StatusOr<std::unique_ptr<TcpServer>> tcp = TcpServerAccess::Create(
//       group, std::move(tcp_options), [config](runtime::EventLoop* loop, UniqueFd fd) {
//         return std::make_unique<WsSession>(loop, std::move(fd), config);
//       });
//
// Thread-safe (as TcpServer::Create is).
#ifndef RINGNET_NET_INTERNAL_TCP_SERVER_ACCESS_H_
#define RINGNET_NET_INTERNAL_TCP_SERVER_ACCESS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ringnet/net/internal/tcp_session.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/runtime/event_loop_group.h"

namespace ringnet::net::internal {

struct TcpServerAccess {
  // TcpServer::Create, with every accepted socket turned into a session by `factory`. `endpoint`
  // names the type the caller created ("WsServer"): errors name it and its options struct.
  static absl::StatusOr<std::unique_ptr<TcpServer>> Create(runtime::EventLoopGroup* group,
                                                           TcpServerOptions options,
                                                           StreamSessionFactory factory,
                                                           absl::string_view endpoint);
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_TCP_SERVER_ACCESS_H_
