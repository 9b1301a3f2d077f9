#include "ringnet/net/ws_client.h"

#include <netdb.h>
#include <sys/socket.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "ringnet/codec/websocket/client_handshake.h"
#include "ringnet/codec/websocket/url.h"
#include "ringnet/net/internal/stream_endpoint_access.h"
#include "ringnet/net/internal/ws_session.h"

namespace ringnet::net {

namespace {

// The URL's host as an address: an IP literal, else the first result of getaddrinfo.
absl::StatusOr<InetAddress> Resolve(const codec::websocket::WsUrl& url) {
  absl::StatusOr<InetAddress> literal = InetAddress::FromHostPort(url.host, url.port);
  if (literal.ok()) return literal;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* results = nullptr;
  const int rc = ::getaddrinfo(url.host.c_str(), nullptr, &hints, &results);
  if (rc != 0) {
    return absl::NotFoundError(
        absl::StrCat("WsClient: cannot resolve \"", url.host, "\": ", ::gai_strerror(rc)));
  }
  InetAddress address;
  for (addrinfo* r = results; r != nullptr && !address.valid(); r = r->ai_next) {
    address = InetAddress::FromSockaddr(r->ai_addr, r->ai_addrlen);
  }
  ::freeaddrinfo(results);
  if (!address.valid()) {
    return absl::NotFoundError(absl::StrCat("WsClient: no IPv4/IPv6 address for ", url.host));
  }
  address.set_port(url.port);
  return address;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WsClient>> WsClient::Create(runtime::EventLoopGroup* group,
                                                           WsClientOptions options) {
  if (absl::Status ok = internal::CheckWsTimeouts(options, "WsClientOptions"); !ok.ok()) return ok;
  absl::StatusOr<codec::websocket::WsUrl> url = codec::websocket::ParseWsUrl(options.url);
  if (!url.ok()) return url.status();
  if (!options.server.valid()) {
    absl::StatusOr<InetAddress> server = Resolve(*url);
    if (!server.ok()) return server.status();
    options.server = *server;
  }
  auto config = std::make_shared<internal::WsSessionConfig>();
  config->role = codec::websocket::Role::kClient;
  config->host_header = url->HostHeader();
  config->request_path = url->path;
  config->subprotocols = std::move(options.subprotocols);
  config->origin = std::move(options.origin);
  config->timeouts = options;  // the WsTimeouts part
  // A request that cannot be built (a bad subprotocol token, an origin with control characters)
  // is an error in the options, not a connect failure.
  absl::StatusOr<std::string> request = codec::websocket::BuildUpgradeRequest(
      config->host_header, config->request_path, codec::websocket::GenerateClientKey(),
      config->subprotocols, config->origin);
  if (!request.ok()) return request.status();
  std::shared_ptr<const internal::WsSessionConfig> shared = std::move(config);
  absl::StatusOr<std::unique_ptr<TcpClient>> tcp = internal::StreamEndpointAccess::CreateClient(
      group, options,
      [shared](runtime::EventLoop* loop, internal::UniqueFd fd) {
        return std::make_unique<internal::WsSession>(loop, std::move(fd), shared);
      },
      "WsClient");
  if (!tcp.ok()) return tcp.status();
  return std::unique_ptr<WsClient>(new WsClient(*std::move(tcp)));
}

// The same books as the TcpClient: ~TcpClient (tcp_) closes and waits first.
WsClient::WsClient(std::unique_ptr<TcpClient> tcp)
    : Endpoint(internal::StreamEndpointAccess::SharedOf(*tcp)), tcp_(std::move(tcp)) {}

}  // namespace ringnet::net
