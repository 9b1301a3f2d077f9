// The fault helpers themselves, against plain sockets (no ringnet): each test runs in its own
// namespace, and each fault does to a connection what the ringnet tests rely on.
#include "ringnet/test/faults/netns.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace ringnet::faults {
namespace {

// A listening TCP socket on 127.0.0.1 (any port); closes on destruction.
struct Listener {
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0 && ::listen(fd, 16) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
  }
  ~Listener() { ::close(fd); }
  int fd = -1;
  uint16_t port = 0;
};

// Starts a non-blocking connect to 127.0.0.1:port and waits up to `ms` for it to finish; returns
// 0 when connected, the errno it failed with, or ETIMEDOUT when it is still in progress.
int ConnectWithin(uint16_t port, int ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  int result = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    result = errno;
    if (result == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, ms) == 1) {
        socklen_t len = sizeof(result);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &len);
      } else {
        result = ETIMEDOUT;
      }
    }
  }
  ::close(fd);
  return result;
}

class NetnsTest : public FaultTest {};

TEST_F(NetnsTest, RunCommandReportsTheExitCodeAndStderr) {
  absl::StatusOr<std::string> out = RunCommand("echo hello");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "hello\n");
  out = RunCommand("echo oops >&2; exit 3");
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::StrContains(out.status().message(), "exited with 3")) << out.status();
  EXPECT_TRUE(absl::StrContains(out.status().message(), "oops")) << out.status();
}

TEST_F(NetnsTest, TheNamespaceHasOnlyItsOwnLoopbackAndItIsUp) {
  absl::StatusOr<std::string> links = RunCommand("ip -o link show");
  ASSERT_TRUE(links.ok()) << links.status();
  EXPECT_TRUE(absl::StartsWith(*links, "1: lo: <LOOPBACK,UP,LOWER_UP>")) << *links;
  EXPECT_EQ(std::count(links->begin(), links->end(), '\n'), 1) << *links;
  Listener listener;
  EXPECT_EQ(ConnectWithin(listener.port, 5000), 0);
  // lo down: nothing reaches 127.0.0.1 any more; up again: it does.
  ASSERT_TRUE(SetLoopbackUp(false).ok());
  EXPECT_NE(ConnectWithin(listener.port, 200), 0);
  ASSERT_TRUE(SetLoopbackUp(true).ok());
  EXPECT_EQ(ConnectWithin(listener.port, 5000), 0);
}

TEST_F(NetnsTest, DroppedPortSwallowsTheSynUntilTheRulesGo) {
  NftTable nft;
  ASSERT_TRUE(nft.Create().ok());
  Listener listener;
  absl::StatusOr<std::vector<uint64_t>> rules = nft.DropTcpPort(listener.port);
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(rules->size(), 2u);
  EXPECT_EQ(ConnectWithin(listener.port, 300), ETIMEDOUT);
  ASSERT_TRUE(nft.DeleteRules(*rules).ok());
  EXPECT_EQ(ConnectWithin(listener.port, 5000), 0);
}

TEST_F(NetnsTest, ResetPortRefusesConnects) {
  NftTable nft;
  ASSERT_TRUE(nft.Create().ok());
  Listener listener;
  absl::StatusOr<std::vector<uint64_t>> rules = nft.ResetTcpPort(listener.port);
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(ConnectWithin(listener.port, 5000), ECONNREFUSED);
  ASSERT_TRUE(nft.DeleteRules(*rules).ok());
  EXPECT_EQ(ConnectWithin(listener.port, 5000), 0);
}

TEST_F(NetnsTest, SlowLoopbackInstallsATokenBucketAndRemovesIt) {
  {
    SlowLoopback slow;
    ASSERT_TRUE(slow.Start("8mbit").ok());
    absl::StatusOr<std::string> qdisc = RunCommand("tc qdisc show dev lo");
    ASSERT_TRUE(qdisc.ok()) << qdisc.status();
    EXPECT_TRUE(absl::StrContains(*qdisc, "tbf")) << *qdisc;
    EXPECT_TRUE(absl::StrContains(*qdisc, "rate 8Mbit")) << *qdisc;
  }
  absl::StatusOr<std::string> qdisc = RunCommand("tc qdisc show dev lo");
  ASSERT_TRUE(qdisc.ok()) << qdisc.status();
  EXPECT_FALSE(absl::StrContains(*qdisc, "tbf")) << *qdisc;
}

TEST_F(NetnsTest, SysctlsAreTheNamespacesOwn) {
  ASSERT_TRUE(WriteSysctl("net/ipv4/tcp_wmem", "4096 16384 65536").ok());
  absl::StatusOr<std::string> value = RunCommand("cat /proc/sys/net/ipv4/tcp_wmem");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "4096\t16384\t65536\n");
}

}  // namespace
}  // namespace ringnet::faults
