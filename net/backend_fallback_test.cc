// Where io_uring is blocked (Docker's default seccomp profile, kernel.io_uring_disabled), ringnet
// falls back to epoll at start-up, says why, and serves exactly as before. Reproduced here in a
// child process whose seccomp filter fails io_uring_setup with EPERM.
#include <sys/syscall.h>

#include <string>

#include "gtest/gtest.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/net/udp_endpoint.h"
#include "ringnet/runtime/event_loop_group.h"
#include "ringnet/test/net_test_util.h"
#include "ringnet/test/seccomp.h"

namespace ringnet::net {
namespace {

using testing::PlainTcpClient;
using testing::PlainUdpSocket;
using testing::RecordingListener;

// Runs in the child: 0 on success, another code saying what failed.
int ServeEchoWithIoUringBlocked() {
  unsetenv("RINGNET_BACKEND");
  auto group = runtime::EventLoopGroup::Create(1);
  if (!group.ok()) return 10;
  runtime::EventLoop* loop = (*group)->loop(0);
  if (loop->backend() != runtime::Backend::kEpoll) return 11;
  const std::string& why = loop->backend_reason();
  if (why.find("epoll: io_uring unavailable") == std::string::npos ||
      why.find("EPERM") == std::string::npos || why.find("seccomp") == std::string::npos) {
    return 12;
  }
  auto echo = std::make_shared<RecordingListener>();
  echo->on_message = [](const SessionHandle& s, Package& pkg, const InetAddress& from) {
    if (s.kind() == SessionKind::kUdp) {
      (void)s.WriteBytesTo(pkg.bytes(), from);
    } else {
      (void)s.WriteBytes(pkg.bytes());
    }
  };
  auto configure = [echo](SessionConfig& c) {
    c.listener = echo;
    return absl::OkStatus();
  };
  TcpServerOptions tcp_options;
  tcp_options.listen = InetAddress::Loopback(0);
  tcp_options.new_session = configure;
  auto server = TcpServer::Create(group->get(), std::move(tcp_options));
  if (!server.ok()) return 13;
  auto peer = PlainTcpClient::Connect((*server)->address());
  if (!peer.ok() || !peer->WriteAll("through epoll").ok()) return 14;
  auto echoed = peer->ReadExactly(13);
  if (!echoed.ok() || *echoed != "through epoll") return 15;

  UdpEndpointOptions udp_options;
  udp_options.bind = InetAddress::Loopback(0);
  udp_options.new_session = configure;
  auto udp = UdpEndpoint::Create(group->get(), std::move(udp_options));
  if (!udp.ok()) return 16;
  auto socket = PlainUdpSocket::Bind(InetAddress::Loopback(0));
  if (!socket.ok() || !socket->SendTo("datagram", (*udp)->address()).ok()) return 17;
  auto reply = socket->Receive();
  if (!reply.ok() || reply->first != "datagram") return 18;
  return 0;
}

TEST(BackendFallbackTest, ServesEchoOnEpollWhenSeccompBlocksIoUring) {
  const int code = testing::RunInChildWithSyscallBlocked(__NR_io_uring_setup, EPERM,
                                                         ServeEchoWithIoUringBlocked);
  EXPECT_EQ(code, 0) << "10: no loop, 11: not epoll, 12: no clear reason, 13-18: echo failed";
}

TEST(BackendFallbackTest, ForcedIoUringFailsClearlyInsteadOfFallingBack) {
  const int code = testing::RunInChildWithSyscallBlocked(__NR_io_uring_setup, EPERM, [] {
    setenv("RINGNET_BACKEND", "io_uring", 1);
    auto group = runtime::EventLoopGroup::Create(1);
    if (group.ok()) return 10;
    return group.status().code() == absl::StatusCode::kPermissionDenied ? 0 : 11;
  });
  EXPECT_EQ(code, 0) << "10: created anyway, 11: wrong status";
}

TEST(BackendFallbackTest, BadBackendNameIsAnError) {
  const int code = testing::RunInChildWithSyscallBlocked(__NR_io_uring_setup, EPERM, [] {
    setenv("RINGNET_BACKEND", "kqueue", 1);
    auto group = runtime::EventLoopGroup::Create(1);
    return !group.ok() && group.status().code() == absl::StatusCode::kInvalidArgument ? 0 : 1;
  });
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace ringnet::net
