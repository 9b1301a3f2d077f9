// Base64 (RFC 4648 section 4, standard alphabet, with padding) for the
// WebSocket handshake: Sec-WebSocket-Key and Sec-WebSocket-Accept.
//
// Decoding is strict, as a header value must be: no whitespace, no line
// breaks, padding required, and the unused bits of the last character must be
// zero (one canonical encoding).
//
// Example:
//
//   std::string encoded = Base64Encode("hello");  // "aGVsbG8="
//   std::optional<std::string> decoded = Base64Decode(encoded);
//
// Thread-safe: pure functions.
#ifndef RINGNET_CODEC_WEBSOCKET_BASE64_H_
#define RINGNET_CODEC_WEBSOCKET_BASE64_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace ringnet::codec::websocket {

// Encodes `data` with the standard alphabet and '=' padding.
std::string Base64Encode(absl::string_view data);

// Decodes canonical, padded base64; std::nullopt if `encoded` is anything else.
std::optional<std::string> Base64Decode(absl::string_view encoded);

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_BASE64_H_
