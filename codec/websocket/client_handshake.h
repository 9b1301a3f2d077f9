// The client side of the WebSocket opening handshake (RFC 6455 sections 4.1
// and 4.2.2): build the HTTP/1.1 upgrade request, then validate the server's
// response.
//
// The response is validated on whatever has been read so far: incomplete
// means read more. Validation requires status 101, "websocket" in Upgrade and
// "upgrade" in Connection (both case-insensitive), Sec-WebSocket-Accept
// matching the key, a Sec-WebSocket-Protocol (if any) that was offered, and no
// Sec-WebSocket-Extensions (none is offered). Bytes after the response in the
// same read are the server's first frames: they start at `header_bytes`.
//
// Errors: kFailedPrecondition when the server answered another status (the
// message names it, e.g. "websocket: server answered 403 instead of 101"),
// kResourceExhausted for a head over the limits, kInvalidArgument for
// anything malformed or not matching.
//
// Example:
//
//   std::string key = GenerateClientKey();
//   absl::StatusOr<std::string> request =
//       BuildUpgradeRequest("example.com:8080", "/chat", key, {"v1"}, "");
//   Write(*request);
//   absl::StatusOr<UpgradeResponse> response =
//       ValidateUpgradeResponse(buffered, key, {"v1"});
//   if (!response.ok()) return Fail(response.status());
//   if (!response->complete) return ReadMore();
//   StartFrames(buffered.substr(response->header_bytes));
//
// Thread-safe: pure functions.
#ifndef RINGNET_CODEC_WEBSOCKET_CLIENT_HANDSHAKE_H_
#define RINGNET_CODEC_WEBSOCKET_CLIENT_HANDSHAKE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ringnet/codec/websocket/handshake.h"

namespace ringnet::codec::websocket {

// A fresh Sec-WebSocket-Key: 16 random bytes, base64-encoded (24 characters).
std::string GenerateClientKey();

// The upgrade request for `path` on `host` ("host", "host:port" or "[v6]:port",
// as the Host header wants it), offering `protocols` (may be empty) and sending
// `origin` unless it is empty. Fails with kInvalidArgument, rather than writing
// a broken or injected request, if `host` is empty or has spaces or control
// characters, `path` does not start with '/' or has spaces or control
// characters, `key` is not a valid key, a protocol is not a token, or `origin`
// has control characters.
absl::StatusOr<std::string> BuildUpgradeRequest(absl::string_view host, absl::string_view path,
                                                absl::string_view key,
                                                absl::Span<const std::string> protocols,
                                                absl::string_view origin);

// A validated response.
struct UpgradeResponse {
  bool complete = false;    // false: the head is incomplete, read more
  std::string subprotocol;  // the protocol the server chose, or empty
  size_t header_bytes = 0;  // the response's length; frames follow
};

// Validates the server's response at the start of `buffered` to a request that
// sent `expected_key` and offered `offered_protocols`.
absl::StatusOr<UpgradeResponse> ValidateUpgradeResponse(
    absl::string_view buffered, absl::string_view expected_key,
    absl::Span<const std::string> offered_protocols, const HandshakeLimits& limits = {});

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_CLIENT_HANDSHAKE_H_
