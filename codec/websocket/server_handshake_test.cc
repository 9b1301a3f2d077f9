#include "ringnet/codec/websocket/server_handshake.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringnet/codec/websocket/test_inputs.h"

namespace ringnet::codec::websocket {
namespace {

using Outcome = UpgradeRequestParse::Outcome;

constexpr absl::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";

// A valid request, with `overrides` replacing the fields they name or adding
// new ones (an empty value removes the field).
std::string Request(std::vector<std::pair<std::string, std::string>> overrides = {},
                    absl::string_view request_line = "GET /chat HTTP/1.1") {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"Host", "server.example.com"},  {"Upgrade", "websocket"},
      {"Connection", "Upgrade"},       {"Sec-WebSocket-Key", std::string(kKey)},
      {"Sec-WebSocket-Version", "13"},
  };
  for (const auto& [name, value] : overrides) {
    bool replaced = false;
    for (auto& field : fields) {
      if (field.first == name) {
        field.second = value;
        replaced = true;
      }
    }
    if (!replaced) fields.emplace_back(name, value);
  }
  std::string request = absl::StrCat(request_line, "\r\n");
  for (const auto& [name, value] : fields) {
    if (!value.empty()) absl::StrAppend(&request, name, ": ", value, "\r\n");
  }
  return request + "\r\n";
}

int RejectionStatus(absl::string_view request, const HandshakeLimits& limits = {}) {
  UpgradeRequestParse parse = ParseUpgradeRequest(request, limits);
  if (parse.outcome != Outcome::kRejected) return 0;
  return parse.rejection.status;
}

TEST(ServerHandshakeTest, RfcSampleRequest) {
  const std::string request =
      Request({{"Origin", "http://example.com"}, {"Sec-WebSocket-Protocol", "chat, superchat"}});
  UpgradeRequestParse parse = ParseUpgradeRequest(request);
  ASSERT_EQ(parse.outcome, Outcome::kRequest) << parse.rejection.reason;
  const UpgradeRequest& r = parse.request;
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/chat");
  EXPECT_EQ(r.host, "server.example.com");
  EXPECT_EQ(r.key, kKey);
  EXPECT_EQ(r.version, "13");
  EXPECT_EQ(r.origin, "http://example.com");
  EXPECT_EQ(r.protocols, std::vector<std::string>({"chat", "superchat"}));
  EXPECT_EQ(r.header_bytes, request.size());
  EXPECT_EQ(r.Header("origin"), "http://example.com");
}

TEST(ServerHandshakeTest, RfcSampleResponse) {
  UpgradeOptions options;
  options.select_subprotocol = [](const std::vector<std::string>& offered) {
    return std::optional<std::string>(offered.front());
  };
  ServerHandshake h =
      HandleUpgrade(Request({{"Sec-WebSocket-Protocol", "chat, superchat"}}), options);
  ASSERT_EQ(h.outcome, ServerHandshake::Outcome::kAccepted) << h.reason;
  EXPECT_EQ(h.status, 101);
  EXPECT_EQ(h.subprotocol, "chat");
  EXPECT_EQ(h.response,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: "
            "websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Protocol: chat\r\n\r\n");
}

TEST(ServerHandshakeTest, NeedsMoreUntilTheHeadIsComplete) {
  const std::string request = Request();
  for (size_t len = 0; len < request.size(); ++len) {
    ASSERT_EQ(ParseUpgradeRequest(request.substr(0, len)).outcome, Outcome::kNeedMore) << len;
    ASSERT_EQ(HandleUpgrade(request.substr(0, len), {}).outcome,
              ServerHandshake::Outcome::kNeedMore);
  }
  EXPECT_EQ(ParseUpgradeRequest(request).outcome, Outcome::kRequest);
}

TEST(ServerHandshakeTest, BytesAfterTheRequestArePreserved) {
  const std::string frame = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
  const std::string buffered = Request() + frame;
  ServerHandshake h = HandleUpgrade(buffered, {});
  ASSERT_EQ(h.outcome, ServerHandshake::Outcome::kAccepted);
  EXPECT_EQ(absl::string_view(buffered).substr(h.request.header_bytes), frame);
}

TEST(ServerHandshakeTest, CaseInsensitiveNamesAndTokensAndConnectionLists) {
  std::string request =
      "GET / HTTP/1.1\r\nHOST: a\r\nupgrade: WebSocket\r\nconnection: "
      "keep-alive, UPGRADE\r\n"
      "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nSEC-WEBSOCKET-VERSION: "
      "13\r\n\r\n";
  EXPECT_EQ(ParseUpgradeRequest(request).outcome, Outcome::kRequest);
  EXPECT_EQ(ParseUpgradeRequest(Request({{"Connection", "Upgrade, keep-alive"}})).outcome,
            Outcome::kRequest);
  // Fields after the end of the head are not part of it.
  EXPECT_EQ(ParseUpgradeRequest(Request({{"Connection", "keep-alive"}, {"X", "y"}}) +
                                "Connection: upgrade\r\n")
                .outcome,
            Outcome::kRejected);
}

TEST(ServerHandshakeTest, ExtensionOffersAreDeclined) {
  ServerHandshake h = HandleUpgrade(
      Request({{"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits, x-foo"}}),
      {});
  ASSERT_EQ(h.outcome, ServerHandshake::Outcome::kAccepted);
  EXPECT_EQ(h.request.extensions,
            std::vector<std::string>({"permessage-deflate; client_max_window_bits", "x-foo"}));
  EXPECT_FALSE(absl::StrContains(h.response, "Extensions"));
}

TEST(ServerHandshakeTest, RepeatedProtocolHeadersAreJoined) {
  std::string request = Request({{"Sec-WebSocket-Protocol", "a"}});
  request.insert(request.size() - 2, "Sec-WebSocket-Protocol: b, c\r\n");
  UpgradeRequestParse parse = ParseUpgradeRequest(request);
  ASSERT_EQ(parse.outcome, Outcome::kRequest);
  EXPECT_EQ(parse.request.protocols, std::vector<std::string>({"a", "b", "c"}));
  EXPECT_EQ(RejectionStatus(Request({{"Sec-WebSocket-Protocol", "a b"}})), 400);
}

TEST(ServerHandshakeTest, Status400) {
  EXPECT_EQ(RejectionStatus(Request({}, "GET /chat HTTP/1.0")), 400);
  EXPECT_EQ(RejectionStatus(Request({}, "GET /chat")), 400);
  EXPECT_EQ(RejectionStatus(Request({}, "GET chat HTTP/1.1")), 400);
  EXPECT_EQ(RejectionStatus(Request({{"Host", ""}})), 400);
  EXPECT_EQ(RejectionStatus(Request({{"Upgrade", ""}})), 400);
  EXPECT_EQ(RejectionStatus(Request({{"Upgrade", "h2c"}})), 400);
  EXPECT_EQ(RejectionStatus(Request({{"Connection", ""}})), 400);
  EXPECT_EQ(RejectionStatus(Request({{"Connection", "keep-alive"}})), 400);
  EXPECT_EQ(RejectionStatus(Request({{"Sec-WebSocket-Key", ""}})), 400);
  EXPECT_EQ(RejectionStatus(Request({{"Sec-WebSocket-Key", "AQIDBA=="}})), 400);
  EXPECT_EQ(RejectionStatus(Request({{"Sec-WebSocket-Key", "not base64 at all!!!!!!!"}})), 400);
  EXPECT_EQ(RejectionStatus(Request({{"Content-Length", "5"}})), 400);
  EXPECT_EQ(RejectionStatus(Request({{"Transfer-Encoding", "chunked"}})), 400);
  EXPECT_EQ(RejectionStatus(Request({{"Content-Length", "0"}})), 0);
  std::string two_keys = Request();
  two_keys.insert(two_keys.size() - 2, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
  EXPECT_EQ(RejectionStatus(two_keys), 400);
  EXPECT_EQ(RejectionStatus("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n"), 400);
}

TEST(ServerHandshakeTest, Status405ForNonGet) {
  EXPECT_EQ(RejectionStatus(Request({}, "POST /chat HTTP/1.1")), 405);
  ServerHandshake h = HandleUpgrade(Request({}, "PUT /chat HTTP/1.1"), {});
  EXPECT_TRUE(absl::StartsWith(h.response, "HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_TRUE(absl::StrContains(h.response, "\r\nAllow: GET\r\n"));
}

TEST(ServerHandshakeTest, Status426ForOtherVersions) {
  EXPECT_EQ(RejectionStatus(Request({{"Sec-WebSocket-Version", "8"}})), 426);
  EXPECT_EQ(RejectionStatus(Request({{"Sec-WebSocket-Version", ""}})), 426);
  EXPECT_EQ(RejectionStatus(Request({{"Sec-WebSocket-Version", "13, 8"}})), 426);
  ServerHandshake h = HandleUpgrade(Request({{"Sec-WebSocket-Version", "7"}}), {});
  ASSERT_EQ(h.outcome, ServerHandshake::Outcome::kRejected);
  EXPECT_TRUE(absl::StartsWith(h.response, "HTTP/1.1 426 Upgrade Required\r\n"));
  EXPECT_TRUE(absl::StrContains(h.response, "\r\nSec-WebSocket-Version: 13\r\n"));
}

TEST(ServerHandshakeTest, Status431ForOversizedHeads) {
  HandshakeLimits limits;
  limits.max_header_bytes = 256;
  const std::string big = Request({{"X-Padding", std::string(300, 'p')}});
  EXPECT_EQ(RejectionStatus(big, limits), 431);
  // Without CRLF CRLF yet, but already past the limit.
  EXPECT_EQ(RejectionStatus(big.substr(0, 257), limits), 431);
  EXPECT_EQ(ParseUpgradeRequest(big.substr(0, 255), limits).outcome, Outcome::kNeedMore);
  limits = {};
  limits.max_header_fields = 3;
  EXPECT_EQ(RejectionStatus(Request(), limits), 431);
}

TEST(ServerHandshakeTest, Status403FromTheOriginHook) {
  UpgradeOptions options;
  options.check_origin = [](absl::string_view origin) { return origin == "https://good"; };
  EXPECT_EQ(HandleUpgrade(Request({{"Origin", "https://good"}}), options).status, 101);
  ServerHandshake h = HandleUpgrade(Request({{"Origin", "https://evil"}}), options);
  EXPECT_EQ(h.outcome, ServerHandshake::Outcome::kRejected);
  EXPECT_EQ(h.status, 403);
  EXPECT_EQ(h.request.origin, "https://evil");
  EXPECT_TRUE(absl::StartsWith(h.response, "HTTP/1.1 403 Forbidden\r\n"));
  EXPECT_EQ(HandleUpgrade(Request(), options).status, 403);  // no Origin at all
}

TEST(ServerHandshakeTest, SubprotocolHook) {
  UpgradeOptions options;
  options.select_subprotocol = [](const std::vector<std::string>& offered) {
    for (const std::string& p : offered) {
      if (p == "v2") return std::optional<std::string>(p);
    }
    return std::optional<std::string>();
  };
  ServerHandshake h = HandleUpgrade(Request({{"Sec-WebSocket-Protocol", "v1, v2"}}), options);
  EXPECT_EQ(h.subprotocol, "v2");
  EXPECT_TRUE(absl::StrContains(h.response, "\r\nSec-WebSocket-Protocol: v2\r\n"));
  h = HandleUpgrade(Request({{"Sec-WebSocket-Protocol", "v1"}}), options);
  EXPECT_EQ(h.status, 101);
  EXPECT_FALSE(absl::StrContains(h.response, "Sec-WebSocket-Protocol"));
  // Nothing offered: the hook is not consulted.
  h = HandleUpgrade(Request(), options);
  EXPECT_EQ(h.status, 101);
}

TEST(ServerHandshakeTest, Status500WhenTheHookChoosesWhatWasNotOffered) {
  UpgradeOptions options;
  options.select_subprotocol = [](const std::vector<std::string>&) {
    return std::optional<std::string>("v9");
  };
  ServerHandshake h = HandleUpgrade(Request({{"Sec-WebSocket-Protocol", "v1"}}), options);
  EXPECT_EQ(h.outcome, ServerHandshake::Outcome::kRejected);
  EXPECT_EQ(h.status, 500);
}

TEST(ServerHandshakeTest, ErrorResponseFormat) {
  const std::string response = BuildErrorResponse({400, "websocket: missing Sec-WebSocket-Key"});
  EXPECT_EQ(response,
            "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 37\r\n\r\n"
            "websocket: missing Sec-WebSocket-Key\n");
}

TEST(ServerHandshakeTest, EverySampleRequestHasADefiniteOutcome) {
  for (const testing::HttpSample& s : testing::SampleUpgradeRequests()) {
    ServerHandshake h = HandleUpgrade(s.bytes, {});
    if (s.name == "incomplete") {
      EXPECT_EQ(h.outcome, ServerHandshake::Outcome::kNeedMore);
    } else if (s.name == "rfc_sample" || s.name == "browser" || s.name == "with_trailing_frame" ||
               s.name == "repeated_protocol_headers") {
      EXPECT_EQ(h.outcome, ServerHandshake::Outcome::kAccepted) << s.name << ": " << h.reason;
    } else {
      EXPECT_EQ(h.outcome, ServerHandshake::Outcome::kRejected) << s.name;
    }
  }
}

}  // namespace
}  // namespace ringnet::codec::websocket
