#include "ringnet/codec/websocket/server_handshake.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ringnet/codec/websocket/http.h"

namespace ringnet::codec::websocket {
namespace {

using Outcome = UpgradeRequestParse::Outcome;

UpgradeRequestParse Reject(int status, absl::string_view reason) {
  UpgradeRequestParse parse;
  parse.outcome = Outcome::kRejected;
  parse.rejection = {status, std::string(reason)};
  return parse;
}

absl::string_view StatusText(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 426:
      return "Upgrade Required";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

// A request with a body would have its bytes taken for WebSocket frames.
bool HasBody(const HttpHead& head) {
  if (head.Count("Transfer-Encoding") > 0) return true;
  for (absl::string_view length : head.Values("Content-Length")) {
    if (length != "0") return true;
  }
  return false;
}

// The checks on the upgrade fields; returns the status and reason of the first
// that fails.
std::optional<HttpRejection> CheckUpgradeFields(const HttpHead& head) {
  if (head.Count("Host") != 1) return HttpRejection{400, "websocket: missing or repeated Host"};
  if (!ListContainsToken(head.Values("Upgrade"), "websocket")) {
    return HttpRejection{400, "websocket: Upgrade header does not name websocket"};
  }
  if (!ListContainsToken(head.Values("Connection"), "upgrade")) {
    return HttpRejection{400, "websocket: Connection header does not contain upgrade"};
  }
  const std::vector<absl::string_view> versions = head.Values("Sec-WebSocket-Version");
  if (versions.size() != 1 || versions[0] != kWebSocketVersion) {
    return HttpRejection{426, "websocket: unsupported Sec-WebSocket-Version (13 required)"};
  }
  const std::vector<absl::string_view> keys = head.Values("Sec-WebSocket-Key");
  if (keys.size() != 1 || !IsValidClientKey(keys[0])) {
    return HttpRejection{400, "websocket: missing or malformed Sec-WebSocket-Key"};
  }
  if (HasBody(head)) return HttpRejection{400, "websocket: upgrade request has a body"};
  if (head.Count("Origin") > 1) return HttpRejection{400, "websocket: repeated Origin"};
  for (absl::string_view value : head.Values("Sec-WebSocket-Protocol")) {
    for (absl::string_view protocol : SplitList(value)) {
      if (!IsToken(protocol)) {
        return HttpRejection{400, "websocket: malformed Sec-WebSocket-Protocol"};
      }
    }
  }
  return std::nullopt;
}

UpgradeRequest MakeRequest(const RequestLine& line, const HttpHead& head, size_t header_bytes) {
  UpgradeRequest request;
  request.method = std::string(line.method);
  request.path = std::string(line.target);
  request.host = std::string(head.Values("Host")[0]);
  request.key = std::string(head.Values("Sec-WebSocket-Key")[0]);
  request.version = std::string(kWebSocketVersion);
  for (absl::string_view origin : head.Values("Origin")) request.origin = std::string(origin);
  for (absl::string_view value : head.Values("Sec-WebSocket-Protocol")) {
    for (absl::string_view p : SplitList(value)) request.protocols.emplace_back(p);
  }
  for (absl::string_view value : head.Values("Sec-WebSocket-Extensions")) {
    for (absl::string_view e : SplitList(value)) request.extensions.emplace_back(e);
  }
  for (const HttpField& f : head.fields) request.headers.emplace_back(f.name, f.value);
  request.header_bytes = header_bytes;
  return request;
}

ServerHandshake Rejected(const HttpRejection& rejection) {
  ServerHandshake h;
  h.outcome = ServerHandshake::Outcome::kRejected;
  h.status = rejection.status;
  h.reason = rejection.reason;
  h.response = BuildErrorResponse(rejection);
  return h;
}

}  // namespace

absl::string_view UpgradeRequest::Header(absl::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (absl::EqualsIgnoreCase(field, name)) return value;
  }
  return {};
}

UpgradeRequestParse ParseUpgradeRequest(absl::string_view buffered, const HandshakeLimits& limits) {
  size_t length = 0;
  switch (FindHead(buffered, limits.max_header_bytes, &length)) {
    case HeadSearch::kIncomplete:
      return {};
    case HeadSearch::kTooLarge:
      return Reject(
          431, absl::StrCat("websocket: request head exceeds ", limits.max_header_bytes, " bytes"));
    case HeadSearch::kComplete:
      break;
  }
  absl::StatusOr<HttpHead> head = ParseHead(buffered.substr(0, length), limits.max_header_fields);
  if (!head.ok()) {
    const bool too_many = head.status().code() == absl::StatusCode::kResourceExhausted;
    return Reject(too_many ? 431 : 400, head.status().message());
  }
  absl::StatusOr<RequestLine> line = ParseRequestLine(head->start_line);
  if (!line.ok()) return Reject(400, line.status().message());
  if (line->method != "GET") return Reject(405, "websocket: method must be GET");
  if (!absl::StartsWith(line->target, "/")) {
    return Reject(400, "websocket: request target must start with '/'");
  }
  if (std::optional<HttpRejection> rejection = CheckUpgradeFields(*head)) {
    return Reject(rejection->status, rejection->reason);
  }
  UpgradeRequestParse parse;
  parse.outcome = Outcome::kRequest;
  parse.request = MakeRequest(*line, *head, length);
  return parse;
}

ServerHandshake BuildUpgradeResponse(const UpgradeRequest& request, const UpgradeOptions& options) {
  if (options.check_origin && !options.check_origin(request.origin)) {
    ServerHandshake h = Rejected({403, "websocket: origin not allowed"});
    h.request = request;
    return h;
  }
  std::optional<std::string> protocol;
  if (options.select_subprotocol && !request.protocols.empty()) {
    protocol = options.select_subprotocol(request.protocols);
  }
  if (protocol.has_value() && std::find(request.protocols.begin(), request.protocols.end(),
                                        *protocol) == request.protocols.end()) {
    ServerHandshake h = Rejected({500, "websocket: server chose a subprotocol not offered"});
    h.request = request;
    return h;
  }
  ServerHandshake h;
  h.outcome = ServerHandshake::Outcome::kAccepted;
  h.status = 101;
  h.response = absl::StrCat("HTTP/1.1 101 Switching Protocols\r\n",
                            "Upgrade: websocket\r\nConnection: Upgrade\r\n",
                            "Sec-WebSocket-Accept: ", ComputeAcceptKey(request.key), "\r\n");
  if (protocol.has_value()) {
    h.subprotocol = *protocol;
    absl::StrAppend(&h.response, "Sec-WebSocket-Protocol: ", *protocol, "\r\n");
  }
  h.response += "\r\n";
  h.request = request;
  return h;
}

std::string BuildErrorResponse(const HttpRejection& rejection) {
  const std::string body = absl::StrCat(rejection.reason, "\n");
  std::string response =
      absl::StrCat("HTTP/1.1 ", rejection.status, " ", StatusText(rejection.status), "\r\n");
  if (rejection.status == 426) {
    response +=
        "Connection: Upgrade, close\r\nUpgrade: "
        "websocket\r\nSec-WebSocket-Version: 13\r\n";
  } else {
    response += "Connection: close\r\n";
  }
  if (rejection.status == 405) response += "Allow: GET\r\n";
  absl::StrAppend(&response,
                  "Content-Type: text/plain; charset=utf-8\r\nContent-Length: ", body.size(),
                  "\r\n\r\n", body);
  return response;
}

ServerHandshake HandleUpgrade(absl::string_view buffered, const UpgradeOptions& options) {
  UpgradeRequestParse parse = ParseUpgradeRequest(buffered, options.limits);
  switch (parse.outcome) {
    case Outcome::kNeedMore:
      return {};
    case Outcome::kRejected:
      return Rejected(parse.rejection);
    case Outcome::kRequest:
      break;
  }
  return BuildUpgradeResponse(parse.request, options);
}

}  // namespace ringnet::codec::websocket
