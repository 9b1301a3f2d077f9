#include "ringnet/codec/websocket/client_handshake.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringnet/codec/websocket/server_handshake.h"

namespace ringnet::codec::websocket {
namespace {

constexpr absl::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr absl::string_view kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

std::string Response(absl::string_view extra = "",
                     absl::string_view status = "HTTP/1.1 101 Switching Protocols",
                     absl::string_view accept = kAccept) {
  return absl::StrCat(status, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
                      "Sec-WebSocket-Accept: ", accept, "\r\n", extra, "\r\n");
}

TEST(ClientHandshakeTest, GenerateClientKey) {
  std::set<std::string> keys;
  for (int i = 0; i < 100; ++i) {
    const std::string key = GenerateClientKey();
    EXPECT_TRUE(IsValidClientKey(key)) << key;
    keys.insert(key);
  }
  EXPECT_EQ(keys.size(), 100u);
}

TEST(ClientHandshakeTest, BuildUpgradeRequest) {
  absl::StatusOr<std::string> request = BuildUpgradeRequest(
      "server.example.com", "/chat", kKey, {"chat", "superchat"}, "http://example.com");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(*request,
            "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n"
            "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n");
  // What we build, our server accepts.
  UpgradeRequestParse parse = ParseUpgradeRequest(*request);
  ASSERT_EQ(parse.outcome, UpgradeRequestParse::Outcome::kRequest) << parse.rejection.reason;
  EXPECT_EQ(parse.request.protocols, std::vector<std::string>({"chat", "superchat"}));
  absl::StatusOr<std::string> minimal = BuildUpgradeRequest("[::1]:9000", "/", kKey, {}, "");
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(minimal->find("Origin"), std::string::npos);
  EXPECT_EQ(minimal->find("Protocol"), std::string::npos);
}

TEST(ClientHandshakeTest, BuildUpgradeRequestRefusesInjection) {
  EXPECT_FALSE(BuildUpgradeRequest("", "/", kKey, {}, "").ok());
  EXPECT_FALSE(BuildUpgradeRequest("a\r\nX: y", "/", kKey, {}, "").ok());
  EXPECT_FALSE(BuildUpgradeRequest("a", "chat", kKey, {}, "").ok());
  EXPECT_FALSE(BuildUpgradeRequest("a", "/a b", kKey, {}, "").ok());
  EXPECT_FALSE(BuildUpgradeRequest("a", "/\r\n", kKey, {}, "").ok());
  EXPECT_FALSE(BuildUpgradeRequest("a", "/", "short", {}, "").ok());
  EXPECT_FALSE(BuildUpgradeRequest("a", "/", kKey, {"a b"}, "").ok());
  EXPECT_FALSE(BuildUpgradeRequest("a", "/", kKey, {""}, "").ok());
  EXPECT_FALSE(BuildUpgradeRequest("a", "/", kKey, {}, "x\r\nEvil: 1").ok());
}

TEST(ClientHandshakeTest, ValidResponseAndTrailingFrameBytes) {
  const std::string frame = "\x81\x05Hello";
  const std::string buffered = Response() + frame;
  absl::StatusOr<UpgradeResponse> r = ValidateUpgradeResponse(buffered, kKey, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->complete);
  EXPECT_EQ(r->subprotocol, "");
  EXPECT_EQ(absl::string_view(buffered).substr(r->header_bytes), frame);
}

TEST(ClientHandshakeTest, NeedsMoreUntilComplete) {
  const std::string response = Response();
  for (size_t len = 0; len < response.size(); ++len) {
    absl::StatusOr<UpgradeResponse> r = ValidateUpgradeResponse(response.substr(0, len), kKey, {});
    ASSERT_TRUE(r.ok()) << len;
    ASSERT_FALSE(r->complete) << len;
  }
}

TEST(ClientHandshakeTest, TokensAreCaseInsensitive) {
  const std::string response = absl::StrCat(
      "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, "
      "UPGRADE\r\n"
      "sec-websocket-accept: ",
      kAccept, "\r\n\r\n");
  EXPECT_TRUE(ValidateUpgradeResponse(response, kKey, {}).ok());
}

TEST(ClientHandshakeTest, Subprotocols) {
  const std::vector<std::string> offered = {"chat", "superchat"};
  absl::StatusOr<UpgradeResponse> r =
      ValidateUpgradeResponse(Response("Sec-WebSocket-Protocol: chat\r\n"), kKey, offered);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->subprotocol, "chat");
  EXPECT_FALSE(
      ValidateUpgradeResponse(Response("Sec-WebSocket-Protocol: other\r\n"), kKey, offered).ok());
  EXPECT_FALSE(
      ValidateUpgradeResponse(Response("Sec-WebSocket-Protocol: chat\r\n"), kKey, {}).ok());
  EXPECT_FALSE(ValidateUpgradeResponse(Response("Sec-WebSocket-Protocol: "
                                                "chat\r\nSec-WebSocket-Protocol: chat\r\n"),
                                       kKey, offered)
                   .ok());
}

TEST(ClientHandshakeTest, Rejections) {
  absl::StatusOr<UpgradeResponse> forbidden =
      ValidateUpgradeResponse("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", kKey, {});
  EXPECT_EQ(forbidden.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(forbidden.status().message(), "websocket: server answered 403 instead of 101");
  const std::pair<std::string, absl::string_view> bad[] = {
      {Response("", "HTTP/1.1 101 Switching Protocols", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
       "Sec-WebSocket-Accept"},
      {Response("Sec-WebSocket-Extensions: permessage-deflate\r\n"), "extension"},
      {Response("", "HTTP/1.0 101 Switching Protocols"), "status line"},
      {Response("Sec-WebSocket-Accept: " + std::string(kAccept) + "\r\n"), "Sec-WebSocket-Accept"},
      {"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
       "Upgrade"},
      {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
       "Connection"},
  };
  for (const auto& [response, cause] : bad) {
    absl::StatusOr<UpgradeResponse> r = ValidateUpgradeResponse(response, kKey, {});
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << response;
    EXPECT_NE(r.status().message().find(cause), absl::string_view::npos) << r.status();
  }
}

TEST(ClientHandshakeTest, OversizedHead) {
  HandshakeLimits limits;
  limits.max_header_bytes = 64;
  EXPECT_EQ(ValidateUpgradeResponse(Response(), kKey, {}, limits).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(ClientHandshakeTest, ClientAndServerAgree) {
  const std::string key = GenerateClientKey();
  absl::StatusOr<std::string> request = BuildUpgradeRequest("h", "/", key, {"p"}, "");
  ASSERT_TRUE(request.ok());
  UpgradeOptions options;
  options.select_subprotocol = [](const std::vector<std::string>& offered) {
    return std::optional<std::string>(offered[0]);
  };
  ServerHandshake h = HandleUpgrade(*request, options);
  ASSERT_EQ(h.outcome, ServerHandshake::Outcome::kAccepted);
  absl::StatusOr<UpgradeResponse> r = ValidateUpgradeResponse(h.response, key, {"p"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->complete);
  EXPECT_EQ(r->subprotocol, "p");
}

}  // namespace
}  // namespace ringnet::codec::websocket
