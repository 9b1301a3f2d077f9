#include "ringnet/net/inet_address.h"

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace ringnet::net {
namespace {

TEST(InetAddressTest, ParsesAndFormatsIpv4AndIpv6) {
  absl::StatusOr<InetAddress> v4 = InetAddress::Parse("127.0.0.1:80");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->port(), 80);
  EXPECT_EQ(v4->ToString(), "127.0.0.1:80");
  absl::StatusOr<InetAddress> v6 = InetAddress::Parse("[::1]:8080");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_TRUE(v6->is_ipv6());
  EXPECT_EQ(v6->ToString(), "[::1]:8080");
  EXPECT_EQ(InetAddress::Parse("0.0.0.0:0")->port(), 0);
  EXPECT_EQ(InetAddress::Parse("127.0.0.1:65535")->port(), 65535);
  EXPECT_EQ(InetAddress::Loopback(9, true).ToString(), "[::1]:9");
  EXPECT_EQ(InetAddress().ToString(), "unspecified");
  EXPECT_FALSE(InetAddress().valid());
}

TEST(InetAddressTest, BadTextIsInvalidArgumentNeverACrash) {
  for (const char* bad :
       {"", ":", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+1",
        "127.0.0.1:8x", "256.0.0.1:80", "::1:80", "[::1]", "[::1]80", "[::1:80", "[1.2.3.4]:80",
        "host:80", "[::1]:999999", "1.2.3.4:00000000000080", "\xff\xfe:1"}) {
    absl::StatusOr<InetAddress> a = InetAddress::Parse(bad);
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << "\"" << bad << "\"";
    if (!a.ok()) {
      EXPECT_NE(a.status().message().find("bad address"), std::string::npos);
    }
  }
}

TEST(InetAddressTest, EqualityAndHashUseAddressAndPort) {
  absl::flat_hash_set<InetAddress> set;
  set.insert(*InetAddress::Parse("127.0.0.1:1"));
  set.insert(*InetAddress::Parse("127.0.0.1:1"));
  set.insert(*InetAddress::Parse("127.0.0.1:2"));
  set.insert(*InetAddress::Parse("[::1]:1"));
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(*InetAddress::Parse("[::1]:1"), InetAddress::Loopback(1, true));
  EXPECT_NE(*InetAddress::Parse("127.0.0.1:1"), *InetAddress::Parse("127.0.0.2:1"));
}

TEST(InetAddressTest, RoundTripsThroughSockaddr) {
  InetAddress a = *InetAddress::Parse("[fe80::1]:443");
  InetAddress b = InetAddress::FromSockaddr(a.sockaddr(), a.length());
  EXPECT_EQ(a, b);
  EXPECT_FALSE(InetAddress::FromSockaddr(a.sockaddr(), 4).valid());
  EXPECT_FALSE(InetAddress::FromSockaddr(nullptr, 0).valid());
}

}  // namespace
}  // namespace ringnet::net
