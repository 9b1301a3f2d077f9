// The server side of the WebSocket opening handshake (RFC 6455 section 4.2):
// parse the client's HTTP/1.1 upgrade request, decide, and produce the exact
// response bytes.
//
// `HandleUpgrade` does it all in one call on whatever has been read so far;
// the steps are also public (`ParseUpgradeRequest`, `BuildUpgradeResponse`,
// `BuildErrorResponse`). Bytes after the request in the same read (the
// client's first frames) are never lost: the request records its length, and
// frames start at `buffered.substr(request.header_bytes)`.
//
// Rejections, with the HTTP status answered:
//   431  the head exceeds HandshakeLimits::max_header_bytes (whether or not
//        its CRLF CRLF has arrived) or has more than max_header_fields fields;
//   400  a malformed request line or header line, a version other than
//        HTTP/1.1 or a later 1.x, a request target not starting with '/',
//        Host missing or repeated, no "websocket" in Upgrade, no "upgrade" in
//        Connection, Sec-WebSocket-Key missing, repeated or not base64 of 16
//        bytes, a request body (Content-Length other than 0, or
//        Transfer-Encoding), Origin repeated, a Sec-WebSocket-Protocol element
//        that is not a token;
//   405  a method other than GET (the response carries "Allow: GET");
//   426  Sec-WebSocket-Version missing or other than 13 (the response carries
//        "Sec-WebSocket-Version: 13" and "Upgrade: websocket");
//   403  the origin hook returned false;
//   500  the subprotocol hook chose a protocol the client did not offer (a
//        server bug, reported rather than ignored).
// Once the head is complete the checks run in this order: syntax (431, 400),
// method (405), target, Host, Upgrade, Connection (400), version (426), key,
// body, Origin, protocols (400), origin hook (403), subprotocol hook (500).
//
// Header names and the tokens "websocket" and "upgrade" are case-insensitive;
// Connection may be a list ("keep-alive, Upgrade"). Extension offers (e.g.
// permessage-deflate) are recorded and declined: the response never has
// Sec-WebSocket-Extensions. Error responses say "Connection: close" and carry
// a short text body naming the cause (never echoing request bytes).
//
// Example:
//
//   UpgradeOptions options;
//   options.check_origin = [](absl::string_view origin) {
//     return origin == "https://app.example";
//   };
//   options.select_subprotocol = [](const std::vector<std::string>& offered) {
//     return std::optional<std::string>(offered.front());
//   };
//   ServerHandshake h = HandleUpgrade(buffered, options);
//   if (h.outcome == ServerHandshake::Outcome::kNeedMore) return ReadMore();
//   Write(h.response);
//   if (h.outcome == ServerHandshake::Outcome::kRejected) return Close();
//   StartFrames(buffered.substr(h.request.header_bytes));
//
// Thread-safe: pure functions (the hooks run on the calling thread).
#ifndef RINGNET_CODEC_WEBSOCKET_SERVER_HANDSHAKE_H_
#define RINGNET_CODEC_WEBSOCKET_SERVER_HANDSHAKE_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "ringnet/codec/websocket/handshake.h"

namespace ringnet::codec::websocket {

// A well-formed upgrade request.
struct UpgradeRequest {
  std::string method;   // "GET"
  std::string path;     // the request target, e.g. "/chat?room=1"
  std::string host;     // the Host header
  std::string key;      // Sec-WebSocket-Key
  std::string version;  // Sec-WebSocket-Version ("13")
  std::string origin;   // Origin, or empty when absent
  // Sec-WebSocket-Protocol offers, in order, from all such fields.
  std::vector<std::string> protocols;
  // Sec-WebSocket-Extensions offers, raw; all are declined.
  std::vector<std::string> extensions;
  // Every header field, as received (for Cookie, Authorization, ...).
  std::vector<std::pair<std::string, std::string>> headers;
  // The request's length through CRLF CRLF: frames start there.
  size_t header_bytes = 0;

  // The first value of header `name` (case-insensitive), or empty.
  absl::string_view Header(absl::string_view name) const;
};

// Why a request is refused, and the HTTP status to answer.
struct HttpRejection {
  int status = 400;
  std::string reason;  // e.g. "websocket: missing Sec-WebSocket-Key"
};

// The result of parsing what has been read of a request so far.
struct UpgradeRequestParse {
  enum class Outcome { kNeedMore, kRequest, kRejected };
  Outcome outcome = Outcome::kNeedMore;
  UpgradeRequest request;   // when kRequest
  HttpRejection rejection;  // when kRejected
};

// Parses and validates the upgrade request at the start of `buffered`;
// kNeedMore while its head is incomplete (no CRLF CRLF yet) and within the
// limits.
UpgradeRequestParse ParseUpgradeRequest(absl::string_view buffered,
                                        const HandshakeLimits& limits = {});

// The application's say in the handshake. Unset hooks accept any origin and
// choose no subprotocol.
struct UpgradeOptions {
  HandshakeLimits limits;
  // Called with the Origin header ("" when absent); returning false rejects
  // with 403.
  std::function<bool(absl::string_view origin)> check_origin;
  // Called with the offered subprotocols when there are any; returns the one to
  // speak, or std::nullopt for none. Returning one that was not offered rejects
  // with 500.
  std::function<std::optional<std::string>(const std::vector<std::string>& offered)>
      select_subprotocol;
};

// What to answer.
struct ServerHandshake {
  enum class Outcome { kNeedMore, kAccepted, kRejected };
  Outcome outcome = Outcome::kNeedMore;
  // 101, or the error status.
  int status = 0;
  // The exact bytes to write; after an error response, close the connection.
  std::string response;
  // kRejected: the cause, for logs.
  std::string reason;
  // kAccepted: the chosen subprotocol, or empty.
  std::string subprotocol;
  // The request, when it parsed; frames start at request.header_bytes.
  UpgradeRequest request;
};

// Runs the hooks on a parsed request and builds the 101 response, or a 403/500
// rejection.
ServerHandshake BuildUpgradeResponse(const UpgradeRequest& request, const UpgradeOptions& options);

// The response refusing a request: status line, Connection: close, a short text
// body, and the headers the status requires (Allow for 405; Upgrade and
// Sec-WebSocket-Version for 426).
std::string BuildErrorResponse(const HttpRejection& rejection);

// `ParseUpgradeRequest` then, for a request, `BuildUpgradeResponse`; for a
// rejection the error response.
ServerHandshake HandleUpgrade(absl::string_view buffered, const UpgradeOptions& options);

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_SERVER_HANDSHAKE_H_
