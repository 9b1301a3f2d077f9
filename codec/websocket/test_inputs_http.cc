#include "absl/strings/str_cat.h"
#include "ringnet/codec/websocket/test_inputs.h"

namespace ringnet::codec::websocket::testing {
namespace {

// RFC 6455 section 1.3's sample request, without Origin and protocols.
std::string Request(absl::string_view extra_fields,
                    absl::string_view first_line = "GET /chat HTTP/1.1",
                    absl::string_view version = "13") {
  return absl::StrCat(first_line, "\r\nHost: server.example.com\r\nUpgrade: websocket\r\n",
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                      "Sec-WebSocket-Version: ", version, "\r\n", extra_fields, "\r\n");
}

}  // namespace

std::vector<HttpSample> SampleUpgradeRequests() {
  return {
      {"rfc_sample", Request("Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, "
                             "superchat\r\n")},
      {"browser",
       "GET /socket?room=1 HTTP/1.1\r\nhost: localhost:8080\r\nconnection: "
       "keep-alive, Upgrade\r\n"
       "pragma: no-cache\r\nUPGRADE: WebSocket\r\norigin: "
       "http://localhost:8080\r\n"
       "sec-websocket-version: 13\r\nuser-agent: Mozilla/5.0\r\n"
       "sec-websocket-key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
       "sec-websocket-extensions: permessage-deflate; "
       "client_max_window_bits\r\n\r\n"},
      {"repeated_protocol_headers",
       Request("Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b, c\r\n")},
      {"with_trailing_frame", Request("") + "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"},
      {"incomplete", "GET /chat HTTP/1.1\r\nHost: a\r\n"},
      {"version_8", Request("", "GET /chat HTTP/1.1", "8")},
      {"post", Request("", "POST /chat HTTP/1.1")},
      {"http10", Request("", "GET /chat HTTP/1.0")},
      {"bad_request_line", Request("", "GET  /chat HTTP/1.1")},
      {"missing_key",
       "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
       "Upgrade\r\n"
       "Sec-WebSocket-Version: 13\r\n\r\n"},
      {"short_key",
       "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
       "Upgrade\r\n"
       "Sec-WebSocket-Key: AQIDBA==\r\nSec-WebSocket-Version: 13\r\n\r\n"},
      {"no_upgrade", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"folded_header", Request("X-Folded: a\r\n b\r\n")},
  };
}

std::vector<HttpSample> SampleUpgradeResponses() {
  const std::string ok =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
  return {
      {"rfc_sample", ok + "Sec-WebSocket-Protocol: chat\r\n\r\n"},
      {"with_trailing_frame", ok + "\r\n\x81\x05Hello"},
      {"wrong_accept",
       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
       "Upgrade\r\n"
       "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"},
      {"forbidden", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"},
      {"extension", ok + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"},
  };
}

}  // namespace ringnet::codec::websocket::testing
