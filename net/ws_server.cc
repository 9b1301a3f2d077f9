#include "ringnet/net/ws_server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/stream_endpoint_access.h"
#include "ringnet/net/internal/ws_session.h"

namespace ringnet::net {

namespace {

absl::Status CheckOptions(const WsServerOptions& options) {
  if (!options.path.empty() &&
      (options.path[0] != '/' || options.path.find('?') != std::string::npos)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "WsServerOptions.path must start with '/' and have no query: \"", options.path, "\""));
  }
  if (absl::Status ok = internal::CheckWsTimeouts(options, "WsServerOptions"); !ok.ok()) return ok;
  if (options.max_handshake_bytes < 256) {
    return absl::InvalidArgumentError("WsServerOptions.max_handshake_bytes must be at least 256");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<WsServer>> WsServer::Create(runtime::EventLoopGroup* group,
                                                           WsServerOptions options) {
  if (absl::Status ok = CheckOptions(options); !ok.ok()) return ok;
  auto config = std::make_shared<internal::WsSessionConfig>();
  config->role = codec::websocket::Role::kServer;
  config->path = options.path;
  config->upgrade.limits.max_header_bytes = options.max_handshake_bytes;
  config->upgrade.check_origin = std::move(options.check_origin);
  config->upgrade.select_subprotocol = std::move(options.select_subprotocol);
  config->timeouts = options;  // the WsTimeouts part
  std::shared_ptr<const internal::WsSessionConfig> shared = std::move(config);
  absl::StatusOr<std::unique_ptr<TcpServer>> tcp = internal::StreamEndpointAccess::CreateServer(
      group, static_cast<TcpServerOptions&&>(std::move(options)),
      [shared](runtime::EventLoop* loop, internal::UniqueFd fd) {
        return std::make_unique<internal::WsSession>(loop, std::move(fd), shared);
      },
      "WsServer");
  if (!tcp.ok()) return tcp.status();
  return std::unique_ptr<WsServer>(new WsServer(*std::move(tcp)));
}

// The same books as the TcpServer: ~TcpServer (tcp_) closes and waits first.
WsServer::WsServer(std::unique_ptr<TcpServer> tcp)
    : Endpoint(internal::StreamEndpointAccess::SharedOf(*tcp)), tcp_(std::move(tcp)) {}

}  // namespace ringnet::net
