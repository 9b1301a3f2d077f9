#include "ringnet/codec/websocket/url.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ringnet::codec::websocket {
namespace {

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("websocket: URL ", what));
}

// RFC 3986 reg-name characters we accept: unreserved plus the sub-delimiters a
// DNS name or IPv4 address could need.
bool IsHostChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

bool IsIpv6Char(char c) {
  return absl::ascii_isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

// Path and query: visible ASCII except '#' (fragments are not allowed in
// WebSocket URIs).
absl::Status CheckResource(absl::string_view resource) {
  for (char c : resource) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '#') return Invalid("has a fragment (not allowed in WebSocket URIs)");
    if (u <= 0x20 || u >= 0x7F) return Invalid("has a space or control character");
  }
  return absl::OkStatus();
}

absl::Status ParsePort(absl::string_view digits, uint16_t* port) {
  if (digits.empty() || digits.size() > 5) return Invalid("has a malformed port");
  uint32_t value = 0;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return Invalid("has a malformed port");
    }
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) return Invalid("port is outside 1-65535");
  *port = static_cast<uint16_t>(value);
  return absl::OkStatus();
}

// Parses "host", "host:port", "[v6]" or "[v6]:port".
absl::Status ParseAuthority(absl::string_view authority, WsUrl* url) {
  if (authority.find('@') != absl::string_view::npos) return Invalid("has user info");
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return Invalid("has an unterminated IPv6 literal");
    const absl::string_view literal = authority.substr(1, close - 1);
    if (literal.find(':') == absl::string_view::npos)
      return Invalid("has a malformed IPv6 literal");
    for (char c : literal) {
      if (!IsIpv6Char(c)) return Invalid("has a malformed IPv6 literal");
    }
    url->host = absl::AsciiStrToLower(literal);
    url->ipv6 = true;
    const absl::string_view rest = authority.substr(close + 1);
    if (rest.empty()) return absl::OkStatus();
    if (rest[0] != ':') return Invalid("has junk after the IPv6 literal");
    return ParsePort(rest.substr(1), &url->port);
  }
  const size_t colon = authority.find(':');
  const absl::string_view host = authority.substr(0, colon);
  if (host.empty()) return Invalid("has an empty host");
  for (char c : host) {
    if (!IsHostChar(c)) return Invalid("has a malformed host");
  }
  url->host = absl::AsciiStrToLower(host);
  if (colon == absl::string_view::npos) return absl::OkStatus();
  return ParsePort(authority.substr(colon + 1), &url->port);
}

}  // namespace

std::string WsUrl::HostHeader() const {
  std::string header = ipv6 ? absl::StrCat("[", host, "]") : host;
  if (port != 80) absl::StrAppend(&header, ":", port);
  return header;
}

absl::StatusOr<WsUrl> ParseWsUrl(absl::string_view url) {
  constexpr absl::string_view kWs = "ws://";
  constexpr absl::string_view kWss = "wss://";
  if (absl::StartsWithIgnoreCase(url, kWss)) {
    return absl::UnimplementedError("websocket: wss:// (TLS) is not supported");
  }
  if (!absl::StartsWithIgnoreCase(url, kWs)) return Invalid("scheme must be ws://");
  url.remove_prefix(kWs.size());
  const size_t end = url.find_first_of("/?#");
  WsUrl parsed;
  absl::Status status = ParseAuthority(url.substr(0, end), &parsed);
  if (!status.ok()) return status;
  const absl::string_view resource =
      end == absl::string_view::npos ? absl::string_view() : url.substr(end);
  status = CheckResource(resource);
  if (!status.ok()) return status;
  parsed.path =
      absl::StartsWith(resource, "/") ? std::string(resource) : absl::StrCat("/", resource);
  return parsed;
}

}  // namespace ringnet::codec::websocket
