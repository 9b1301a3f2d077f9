#include "ringnet/codec/websocket/url.h"

#include "gtest/gtest.h"

namespace ringnet::codec::websocket {
namespace {

TEST(UrlTest, Defaults) {
  absl::StatusOr<WsUrl> url = ParseWsUrl("ws://Example.COM");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "example.com");
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->path, "/");
  EXPECT_FALSE(url->ipv6);
  EXPECT_EQ(url->HostHeader(), "example.com");
}

TEST(UrlTest, PortPathAndQuery) {
  absl::StatusOr<WsUrl> url = ParseWsUrl("WS://127.0.0.1:8080/chat/room?id=1&x=%20");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->path, "/chat/room?id=1&x=%20");
  EXPECT_EQ(url->HostHeader(), "127.0.0.1:8080");
  url = ParseWsUrl("ws://h?q=1");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->path, "/?q=1");
}

TEST(UrlTest, Ipv6Literals) {
  absl::StatusOr<WsUrl> url = ParseWsUrl("ws://[::1]:9000/x");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_TRUE(url->ipv6);
  EXPECT_EQ(url->port, 9000);
  EXPECT_EQ(url->HostHeader(), "[::1]:9000");
  url = ParseWsUrl("ws://[2001:DB8::7]");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "2001:db8::7");
  EXPECT_EQ(url->HostHeader(), "[2001:db8::7]");
  EXPECT_TRUE(ParseWsUrl("ws://[::ffff:1.2.3.4]/").ok());
}

TEST(UrlTest, WssIsUnimplemented) {
  EXPECT_EQ(ParseWsUrl("wss://example.com/").status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ParseWsUrl("WSS://example.com/").status().code(), absl::StatusCode::kUnimplemented);
}

TEST(UrlTest, Invalid) {
  for (const char* bad :
       {"",           "http://a/",    "ws:/a",           "ws://",         "ws:///path",
        "ws://:80/",  "ws://a:/",     "ws://a:0/",       "ws://a:65536/", "ws://a:99999999/",
        "ws://a:8x/", "ws://user@a/", "ws://a/#frag",    "ws://a/b c",    "ws://a/\x01",
        "ws://[::1/", "ws://[]/",     "ws://[1.2.3.4]/", "ws://[::1]x/",  "ws://[::g]/",
        "ws://a b/",  "ws://a%41/"}) {
    EXPECT_EQ(ParseWsUrl(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ParseWsUrl("ws://a:65535").ok());
}

}  // namespace
}  // namespace ringnet::codec::websocket
