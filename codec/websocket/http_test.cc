#include "ringnet/codec/websocket/http.h"

#include <string>

#include "gtest/gtest.h"

namespace ringnet::codec::websocket {
namespace {

using Views = std::vector<absl::string_view>;

TEST(HttpTest, FindHead) {
  size_t length = 0;
  EXPECT_EQ(FindHead("GET / HTTP/1.1\r\nA: b\r\n", 100, &length), HeadSearch::kIncomplete);
  EXPECT_EQ(FindHead("GET / HTTP/1.1\r\n\r\nrest", 100, &length), HeadSearch::kComplete);
  EXPECT_EQ(length, 18u);
  EXPECT_EQ(FindHead("GET / HTTP/1.1\r\n\r\n", 18, &length), HeadSearch::kComplete);
  EXPECT_EQ(FindHead("GET / HTTP/1.1\r\n\r\n", 17, &length), HeadSearch::kTooLarge);
  EXPECT_EQ(FindHead(std::string(100, 'x'), 100, &length), HeadSearch::kTooLarge);
  EXPECT_EQ(FindHead(std::string(99, 'x'), 100, &length), HeadSearch::kIncomplete);
}

TEST(HttpTest, ParseHeadTrimsAndLooksUpCaseInsensitively) {
  absl::StatusOr<HttpHead> head =
      ParseHead("GET / HTTP/1.1\r\nHost:  a  \r\nX-A:\tone\r\nx-a: two\r\nEmpty:\r\n\r\n", 10);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->start_line, "GET / HTTP/1.1");
  EXPECT_EQ(head->Values("HOST"), Views({"a"}));
  EXPECT_EQ(head->Values("x-A"), Views({"one", "two"}));
  EXPECT_EQ(head->Count("X-A"), 2u);
  EXPECT_EQ(head->Values("empty"), Views({""}));
  EXPECT_TRUE(head->Values("missing").empty());
}

TEST(HttpTest, ParseHeadRejectsMalformedLines) {
  for (const char* bad :
       {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "GET / HTTP/1.1\r\nA : b\r\n\r\n",
        "GET / HTTP/1.1\r\n: b\r\n\r\n", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\nB: c\r\n\r\n", "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", "GET / HTTP/1.1\r\nA: b"}) {
    EXPECT_EQ(ParseHead(bad, 10).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(HttpTest, ParseHeadLimitsFieldCount) {
  EXPECT_TRUE(ParseHead("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", 2).ok());
  EXPECT_EQ(ParseHead("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 2).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(HttpTest, RequestLine) {
  absl::StatusOr<RequestLine> line = ParseRequestLine("GET /chat?x=1 HTTP/1.1");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->method, "GET");
  EXPECT_EQ(line->target, "/chat?x=1");
  EXPECT_TRUE(ParseRequestLine("GET / HTTP/1.2").ok());
  for (const char* bad : {"GET / HTTP/1.0", "GET / HTTP/2.0", "GET /  HTTP/1.1", "GET  / HTTP/1.1",
                          "GET / http/1.1", "GET /", "", "G(T / HTTP/1.1", "GET /\x7f HTTP/1.1",
                          "GET / HTTP/1.1 ", "GET / HTTP/1.11"}) {
    EXPECT_FALSE(ParseRequestLine(bad).ok()) << bad;
  }
}

TEST(HttpTest, StatusLine) {
  absl::StatusOr<StatusLine> line = ParseStatusLine("HTTP/1.1 101 Switching Protocols");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->status, 101);
  EXPECT_EQ(line->reason, "Switching Protocols");
  EXPECT_EQ(ParseStatusLine("HTTP/1.1 101").value().status, 101);
  EXPECT_EQ(ParseStatusLine("HTTP/1.1 404 ").value().reason, "");
  for (const char* bad : {"HTTP/1.0 101 OK", "HTTP/1.1 1O1 OK", "HTTP/1.1  101 OK",
                          "HTTP/1.1 1010 OK", "HTTP/1.1", "ICY 200 OK"}) {
    EXPECT_FALSE(ParseStatusLine(bad).ok()) << bad;
  }
}

TEST(HttpTest, Lists) {
  EXPECT_EQ(SplitList(" a, b ,,c,"), Views({"a", "b", "c"}));
  EXPECT_EQ(SplitList("x; q=\"1,2\", y"), Views({"x; q=\"1,2\"", "y"}));
  EXPECT_EQ(SplitList("x; q=\"a\\\",b\", y"), Views({"x; q=\"a\\\",b\"", "y"}));
  EXPECT_EQ(SplitList("\"\\"), Views({"\"\\"}));
  EXPECT_TRUE(SplitList("").empty());
  EXPECT_TRUE(ListContainsToken({"keep-alive", "UPGRADE"}, "upgrade"));
  EXPECT_TRUE(ListContainsToken({"keep-alive, Upgrade"}, "upgrade"));
  EXPECT_FALSE(ListContainsToken({"keep-alive, Upgrades"}, "upgrade"));
  EXPECT_FALSE(ListContainsToken({}, "upgrade"));
}

TEST(HttpTest, Tokens) {
  EXPECT_TRUE(IsToken("chat.v2+json"));
  EXPECT_FALSE(IsToken(""));
  EXPECT_FALSE(IsToken("a b"));
  EXPECT_FALSE(IsToken("a,b"));
  EXPECT_FALSE(IsToken("a\"b"));
}

}  // namespace
}  // namespace ringnet::codec::websocket
