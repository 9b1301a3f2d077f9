// ws:// URLs (RFC 6455 section 3): scheme, host, port and resource name.
//
// The host may be a name, an IPv4 address or a bracketed IPv6 literal; the port
// defaults to 80; the path is the resource name, path and query ("/" when
// absent). wss:// is recognised and refused with kUnimplemented (no TLS here);
// any other scheme, user info, a fragment, an empty or malformed host, or a
// port outside 1-65535 is kInvalidArgument.
//
// Example:
//
//   absl::StatusOr<WsUrl> url = ParseWsUrl("ws://[::1]:8080/chat?room=1");
//   // url->host == "::1", url->port == 8080, url->path == "/chat?room=1",
//   // url->HostHeader() == "[::1]:8080"
//
// Thread-safe: pure functions.
#ifndef RINGNET_CODEC_WEBSOCKET_URL_H_
#define RINGNET_CODEC_WEBSOCKET_URL_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ringnet::codec::websocket {

// A parsed ws:// URL.
struct WsUrl {
  // Lower-cased; without brackets for IPv6 ("::1").
  std::string host;
  uint16_t port = 80;
  // The resource name: path and query, starting with '/'.
  std::string path;
  // Whether `host` is an IPv6 literal.
  bool ipv6 = false;

  // The Host header value: the host (bracketed if IPv6), with ":port" unless it
  // is 80.
  std::string HostHeader() const;
};

// Parses a ws:// URL; see the file comment for what is refused.
absl::StatusOr<WsUrl> ParseWsUrl(absl::string_view url);

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_URL_H_
