// TcpClientAccess: how net/'s own clients built on TCP (WsClient) reuse TcpClient's connection
// slots (pool, connect timeout, reconnect backoff) with sessions of their own kind, without
// widening the public TcpClient API.
//
// Example (what WsClient does):
//
//   absl::StatusOr<std::unique_ptr<TcpClient>> tcp = TcpClientAccess::Create(
//       group, std::move(tcp_options), [config](runtime::EventLoop* loop, UniqueFd fd) {
//         return std::make_unique<WsSession>(loop, std::move(fd), config);
//       });
//
// Thread-safe (as TcpClient::Create is).
#ifndef RINGNET_NET_INTERNAL_TCP_CLIENT_ACCESS_H_
#define RINGNET_NET_INTERNAL_TCP_CLIENT_ACCESS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ringnet/net/internal/tcp_session.h"
#include "ringnet/net/tcp_client.h"
#include "ringnet/runtime/event_loop_group.h"

namespace ringnet::net::internal {

struct TcpClientAccess {
  // TcpClient::Create, with every connected socket turned into a session by `factory`. `endpoint`
  // names the type the caller created ("WsClient"): errors name it and its options struct.
  static absl::StatusOr<std::unique_ptr<TcpClient>> Create(runtime::EventLoopGroup* group,
                                                           const TcpClientOptions& options,
                                                           const StreamSessionFactory& factory,
                                                           absl::string_view endpoint);
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_TCP_CLIENT_ACCESS_H_
