// StreamEndpointAccess: how net/'s own endpoints built on TCP (WsServer, WsClient) reuse
// TcpServer's listeners and TcpClient's connection slots (pool, connect timeout, reconnect backoff)
// with sessions of their own kind, without widening the public TcpServer and TcpClient APIs. The
// one seam for every such endpoint: each passes a factory that turns a connected socket into its
// session type, and its own name for errors.
//
// Example (what WsServer does):
//
//   absl::StatusOr<std::unique_ptr<TcpServer>> tcp = StreamEndpointAccess::CreateServer(
//       group, std::move(tcp_options), [config](runtime::EventLoop* loop, UniqueFd fd) {
//         return std::make_unique<WsSession>(loop, std::move(fd), config);
//       }, "WsServer");
//
// Thread-safe (as TcpServer::Create and TcpClient::Create are).
#ifndef RINGNET_NET_INTERNAL_STREAM_ENDPOINT_ACCESS_H_
#define RINGNET_NET_INTERNAL_STREAM_ENDPOINT_ACCESS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ringnet/net/endpoint.h"
#include "ringnet/net/internal/tcp_session.h"

namespace ringnet::runtime {
class EventLoopGroup;
}  // namespace ringnet::runtime

namespace ringnet::net {

class TcpServer;
struct TcpServerOptions;
class TcpClient;
struct TcpClientOptions;

namespace internal {

class EndpointShared;

struct StreamEndpointAccess {
  // TcpServer::Create, with every accepted socket turned into a session by `factory`. `endpoint`
  // names the type the caller created ("WsServer"): errors name it and its options struct.
  static absl::StatusOr<std::unique_ptr<TcpServer>> CreateServer(runtime::EventLoopGroup* group,
                                                                 TcpServerOptions options,
                                                                 StreamSessionFactory factory,
                                                                 absl::string_view endpoint);
  // TcpClient::Create, with every connected socket turned into a session by `factory`; errors
  // name `endpoint` ("WsClient") as above.
  static absl::StatusOr<std::unique_ptr<TcpClient>> CreateClient(
      runtime::EventLoopGroup* group, const TcpClientOptions& options,
      const StreamSessionFactory& factory, absl::string_view endpoint);
  // The books of an endpoint created so, for the endpoint that wraps it (a WsServer is an
  // Endpoint over its TcpServer's sessions).
  static std::shared_ptr<EndpointShared> SharedOf(const Endpoint& endpoint) {
    return endpoint.shared_;
  }
};

}  // namespace internal
}  // namespace ringnet::net

#endif  // RINGNET_NET_INTERNAL_STREAM_ENDPOINT_ACCESS_H_
