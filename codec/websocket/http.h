// A minimal, strict HTTP/1.1 head parser (RFC 9112) for the WebSocket opening
// handshake.
//
// Only what the upgrade needs: find the end of the head (CRLF CRLF), split the
// start line and the header fields, look fields up by case-insensitive name,
// and read comma-separated lists case-insensitively. Obsolete line folding,
// bare LF line endings, whitespace before a colon and control characters in
// values are rejected rather than guessed at.
//
// Example:
//
//   size_t end = 0;
//   if (FindHead(buffered, 8192, &end) != HeadSearch::kComplete) return ...;
//   absl::StatusOr<HttpHead> head =
//       ParseHead(buffered.substr(0, end), /*max_fields=*/64);
//   bool upgrade = ListContainsToken(head->Values("Connection"), "upgrade");
//
// Thread-safe: pure functions. Internal to codec/websocket.
#ifndef RINGNET_CODEC_WEBSOCKET_HTTP_H_
#define RINGNET_CODEC_WEBSOCKET_HTTP_H_

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ringnet::codec::websocket {

// One header field. Views point into the parsed text.
struct HttpField {
  absl::string_view name;
  absl::string_view value;  // without leading and trailing whitespace
};

// A parsed head. Views point into the parsed text.
struct HttpHead {
  absl::string_view start_line;  // request line or status line, without CRLF
  std::vector<HttpField> fields;

  // Every value of the field named `name` (case-insensitive), in order.
  std::vector<absl::string_view> Values(absl::string_view name) const;
  // How many fields are named `name`.
  size_t Count(absl::string_view name) const;
};

// The length of the head at the start of `buffered`, through its CRLF CRLF; 0
// if incomplete.
size_t FindHeadEnd(absl::string_view buffered);

// What `FindHead` found.
enum class HeadSearch { kIncomplete, kComplete, kTooLarge };

// Looks for a head of at most `max_bytes` at the start of `buffered`:
// kComplete (its length in `*length`), kIncomplete (no CRLF CRLF yet, fewer
// than `max_bytes` read) or kTooLarge.
HeadSearch FindHead(absl::string_view buffered, size_t max_bytes, size_t* length);

// "GET /chat HTTP/1.1"
struct RequestLine {
  absl::string_view method;  // a token
  absl::string_view target;  // visible ASCII, no spaces
};

// Parses a request line of HTTP/1.1 or a later 1.x; kInvalidArgument otherwise.
absl::StatusOr<RequestLine> ParseRequestLine(absl::string_view line);

// "HTTP/1.1 101 Switching Protocols"
struct StatusLine {
  int status = 0;            // three digits
  absl::string_view reason;  // possibly empty
};

// Parses a status line of HTTP/1.1 or a later 1.x; kInvalidArgument otherwise.
absl::StatusOr<StatusLine> ParseStatusLine(absl::string_view line);

// Parses `head` (ending with CRLF CRLF). Fails with kInvalidArgument on a
// malformed line and kResourceExhausted past `max_fields` fields.
absl::StatusOr<HttpHead> ParseHead(absl::string_view head, size_t max_fields);

// True if `s` is a non-empty RFC 9110 token (letters, digits, !#$%&'*+-.^_`|~).
bool IsToken(absl::string_view s);

// The elements of comma-separated lists, trimmed, empty elements dropped.
// Commas inside double-quoted strings do not separate.
std::vector<absl::string_view> SplitList(absl::string_view value);

// True if any of the lists in `values` holds `token`, compared
// case-insensitively.
bool ListContainsToken(const std::vector<absl::string_view>& values, absl::string_view token);

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_HTTP_H_
