// What both sides of the WebSocket opening handshake (RFC 6455 section 4)
// share: the accept-key transform and the limits on a handshake's HTTP head.
// The server side is in server_handshake.h, the client side in
// client_handshake.h.
//
// Example:
//
//   std::string accept = ComputeAcceptKey("dGhlIHNhbXBsZSBub25jZQ==");
//   // accept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" (RFC 6455 section 1.3)
//
// Thread-safe: pure functions.
#ifndef RINGNET_CODEC_WEBSOCKET_HANDSHAKE_H_
#define RINGNET_CODEC_WEBSOCKET_HANDSHAKE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace ringnet::codec::websocket {

// The GUID RFC 6455 appends to Sec-WebSocket-Key.
inline constexpr absl::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// The only protocol version there is (RFC 6455 section 4.1).
inline constexpr absl::string_view kWebSocketVersion = "13";

// Bounds on the HTTP head of a handshake request or response.
struct HandshakeLimits {
  // The head, through its final CRLF CRLF, must fit in this many bytes.
  size_t max_header_bytes = 8192;
  // At most this many header fields.
  size_t max_header_fields = 64;
};

// Sec-WebSocket-Accept for `key`: base64(SHA-1(key + kWebSocketGuid)).
std::string ComputeAcceptKey(absl::string_view key);

// True if `key` is a valid Sec-WebSocket-Key: base64 of exactly 16 bytes.
bool IsValidClientKey(absl::string_view key);

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_HANDSHAKE_H_
