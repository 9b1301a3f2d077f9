// libFuzzer target for the handshake: the server's request parser and
// response builder, the client's response validator, the URL parser, base64
// and SHA-1, all on the same input.
//
// Invariants checked on every input:
//   - no crash; a parsed request never claims more bytes than it was given or
//     than the limit allows, and has a valid key, version 13 and a '/' path;
//   - a request parses the same when cut right after its head, and needs
//     more when cut one byte earlier;
//   - an accepted request's 101 response passes our own client's validation;
//   - a rejection carries one of the documented statuses;
//   - a parsed URL round-trips through its Host header form;
//   - a valid client key is canonical base64 of 16 bytes.
//
//   scripts/fuzz.sh handshake_fuzzer 60
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ringnet/codec/websocket/client_handshake.h"
#include "ringnet/codec/websocket/handshake.h"
#include "ringnet/codec/websocket/server_handshake.h"
#include "ringnet/codec/websocket/sha1.h"
#include "ringnet/codec/websocket/url.h"

namespace ringnet::codec::websocket {
namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

UpgradeOptions Options() {
  UpgradeOptions options;
  options.limits.max_header_bytes = 2048;
  options.limits.max_header_fields = 32;
  options.check_origin = [](absl::string_view origin) {
    return !absl::StrContains(origin, "evil");
  };
  options.select_subprotocol = [](const std::vector<std::string>& offered) {
    return std::optional<std::string>(offered.back());
  };
  return options;
}

void CheckAccepted(absl::string_view input, const UpgradeRequest& request,
                   const UpgradeOptions& options) {
  Check(request.header_bytes <= input.size());
  Check(request.header_bytes <= options.limits.max_header_bytes);
  Check(IsValidClientKey(request.key) && request.version == "13");
  Check(absl::StartsWith(request.path, "/"));
  const absl::string_view head = input.substr(0, request.header_bytes);
  Check(ParseUpgradeRequest(head, options.limits).request.key == request.key);
  Check(ParseUpgradeRequest(head.substr(0, head.size() - 1), options.limits).outcome ==
        UpgradeRequestParse::Outcome::kNeedMore);
  ServerHandshake h = BuildUpgradeResponse(request, options);
  if (h.outcome != ServerHandshake::Outcome::kAccepted) {
    Check(h.status == 403);
    return;
  }
  absl::StatusOr<UpgradeResponse> response =
      ValidateUpgradeResponse(h.response, request.key, request.protocols);
  Check(response.ok() && response->complete);
  Check(response->header_bytes == h.response.size());
  Check(response->subprotocol == h.subprotocol);
}

void FuzzServer(absl::string_view input) {
  const UpgradeOptions options = Options();
  UpgradeRequestParse parse = ParseUpgradeRequest(input, options.limits);
  switch (parse.outcome) {
    case UpgradeRequestParse::Outcome::kNeedMore:
      Check(input.size() < options.limits.max_header_bytes);
      Check(!absl::StrContains(input, "\r\n\r\n"));
      break;
    case UpgradeRequestParse::Outcome::kRejected: {
      const int s = parse.rejection.status;
      Check(s == 400 || s == 405 || s == 426 || s == 431);
      Check(
          absl::StartsWith(BuildErrorResponse(parse.rejection), absl::StrCat("HTTP/1.1 ", s, " ")));
      break;
    }
    case UpgradeRequestParse::Outcome::kRequest:
      CheckAccepted(input, parse.request, options);
      break;
  }
}

void FuzzClient(absl::string_view input) {
  absl::StatusOr<UpgradeResponse> response =
      ValidateUpgradeResponse(input, "dGhlIHNhbXBsZSBub25jZQ==", {"chat", "superchat"});
  if (response.ok() && response->complete) {
    Check(response->header_bytes <= input.size());
    Check(response->subprotocol.empty() || response->subprotocol == "chat" ||
          response->subprotocol == "superchat");
  }
}

void FuzzUrl(absl::string_view input) {
  absl::StatusOr<WsUrl> url = ParseWsUrl(input);
  if (!url.ok()) return;
  Check(url->port != 0 && absl::StartsWith(url->path, "/"));
  absl::StatusOr<WsUrl> again = ParseWsUrl(absl::StrCat("ws://", url->HostHeader(), url->path));
  Check(again.ok() && again->host == url->host && again->port == url->port &&
        again->path == url->path && again->ipv6 == url->ipv6);
}

}  // namespace
}  // namespace ringnet::codec::websocket

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringnet::codec::websocket;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  FuzzServer(input);
  FuzzClient(input);
  FuzzUrl(input);
  if (IsValidClientKey(input)) {
    std::string decoded;
    Check(absl::Base64Unescape(input, &decoded) && decoded.size() == 16 &&
          absl::Base64Escape(decoded) == input);
  }
  Sha1 split;
  split.Update(input.substr(0, size / 2));
  split.Update(input.substr(size / 2));
  Check(split.Finish() == Sha1Of(input));
  return 0;
}
