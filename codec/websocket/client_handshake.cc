#include "ringnet/codec/websocket/client_handshake.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ringnet/codec/websocket/http.h"
#include "ringnet/codec/websocket/secure_random.h"

namespace ringnet::codec::websocket {
namespace {

// No control characters, and no spaces unless `spaces_ok`.
bool IsClean(absl::string_view s, bool spaces_ok) {
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || (u == ' ' && !spaces_ok)) return false;
  }
  return true;
}

// One caller, which passes the request's fields in this order.
// NOLINTBEGIN(bugprone-easily-swappable-parameters)
absl::Status CheckRequestInputs(absl::string_view host, absl::string_view path,
                                absl::string_view key, absl::Span<const std::string> protocols,
                                absl::string_view origin) {
  // NOLINTEND(bugprone-easily-swappable-parameters)
  if (host.empty() || !IsClean(host, false)) {
    return absl::InvalidArgumentError("websocket: malformed host for the upgrade request");
  }
  if (!absl::StartsWith(path, "/") || !IsClean(path, false)) {
    return absl::InvalidArgumentError(
        "websocket: request path must start with '/' and have "
        "no spaces or control characters");
  }
  if (!IsValidClientKey(key)) {
    return absl::InvalidArgumentError("websocket: Sec-WebSocket-Key must be base64 of 16 bytes");
  }
  for (const std::string& protocol : protocols) {
    if (!IsToken(protocol)) {
      return absl::InvalidArgumentError("websocket: subprotocol names must be tokens");
    }
  }
  if (!IsClean(origin, true)) {
    return absl::InvalidArgumentError("websocket: control characters in origin");
  }
  return absl::OkStatus();
}

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("websocket: handshake response ", what));
}

// The header checks on a 101 response; fills `response->subprotocol`.
absl::Status CheckResponseFields(const HttpHead& head, absl::string_view expected_key,
                                 absl::Span<const std::string> offered, UpgradeResponse* response) {
  if (!ListContainsToken(head.Values("Upgrade"), "websocket")) {
    return Malformed("Upgrade header does not name websocket");
  }
  if (!ListContainsToken(head.Values("Connection"), "upgrade")) {
    return Malformed("Connection header does not contain upgrade");
  }
  const std::vector<absl::string_view> accept = head.Values("Sec-WebSocket-Accept");
  if (accept.size() != 1 || accept[0] != ComputeAcceptKey(expected_key)) {
    return Malformed("has a missing or wrong Sec-WebSocket-Accept");
  }
  if (head.Count("Sec-WebSocket-Extensions") > 0) {
    return Malformed("accepts an extension that was not offered");
  }
  const std::vector<absl::string_view> protocols = head.Values("Sec-WebSocket-Protocol");
  if (protocols.size() > 1) return Malformed("has more than one Sec-WebSocket-Protocol");
  if (protocols.size() == 1) {
    if (std::find(offered.begin(), offered.end(), protocols[0]) == offered.end()) {
      return Malformed("chose a subprotocol that was not offered");
    }
    response->subprotocol = std::string(protocols[0]);
  }
  return absl::OkStatus();
}

}  // namespace

std::string GenerateClientKey() {
  char nonce[16];
  SecureRandomBytes(nonce, sizeof(nonce));
  return absl::Base64Escape(absl::string_view(nonce, sizeof(nonce)));
}

absl::StatusOr<std::string> BuildUpgradeRequest(absl::string_view host, absl::string_view path,
                                                absl::string_view key,
                                                absl::Span<const std::string> protocols,
                                                absl::string_view origin) {
  absl::Status status = CheckRequestInputs(host, path, key, protocols, origin);
  if (!status.ok()) return status;
  std::string request =
      absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", host,
                   "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", "Sec-WebSocket-Key: ", key,
                   "\r\n", "Sec-WebSocket-Version: 13\r\n");
  if (!origin.empty()) absl::StrAppend(&request, "Origin: ", origin, "\r\n");
  if (!protocols.empty()) {
    absl::StrAppend(&request, "Sec-WebSocket-Protocol: ", absl::StrJoin(protocols, ", "), "\r\n");
  }
  request += "\r\n";
  return request;
}

// The two views cannot be swapped unnoticed: a swap fails every handshake test.
// NOLINTBEGIN(bugprone-easily-swappable-parameters)
absl::StatusOr<UpgradeResponse> ValidateUpgradeResponse(
    absl::string_view buffered, absl::string_view expected_key,
    absl::Span<const std::string> offered_protocols, const HandshakeLimits& limits) {
  // NOLINTEND(bugprone-easily-swappable-parameters)
  UpgradeResponse response;
  switch (FindHead(buffered, limits.max_header_bytes, &response.header_bytes)) {
    case HeadSearch::kIncomplete:
      return response;
    case HeadSearch::kTooLarge:
      return absl::ResourceExhaustedError(absl::StrCat(
          "websocket: handshake response head exceeds ", limits.max_header_bytes, " bytes"));
    case HeadSearch::kComplete:
      break;
  }
  absl::StatusOr<HttpHead> head =
      ParseHead(buffered.substr(0, response.header_bytes), limits.max_header_fields);
  if (!head.ok()) return head.status();
  absl::StatusOr<StatusLine> status_line = ParseStatusLine(head->start_line);
  if (!status_line.ok()) return status_line.status();
  if (status_line->status != 101) {
    return absl::FailedPreconditionError(
        absl::StrCat("websocket: server answered ", status_line->status, " instead of 101"));
  }
  absl::Status fields = CheckResponseFields(*head, expected_key, offered_protocols, &response);
  if (!fields.ok()) return fields;
  response.complete = true;
  return response;
}

}  // namespace ringnet::codec::websocket
