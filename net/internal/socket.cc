#include "ringnet/net/internal/socket.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringnet::net::internal {

const char* ErrnoName(int error) {
  switch (error) {
    case ECONNRESET:
      return "ECONNRESET";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case ECONNABORTED:
      return "ECONNABORTED";
    case EPIPE:
      return "EPIPE";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case ECANCELED:
      return "ECANCELED";
    case EMFILE:
      return "EMFILE";
    case ENFILE:
      return "ENFILE";
    case ENOBUFS:
      return "ENOBUFS";
    case ENOMEM:
      return "ENOMEM";
    case EADDRINUSE:
      return "EADDRINUSE";
    case EADDRNOTAVAIL:
      return "EADDRNOTAVAIL";
    case EACCES:
      return "EACCES";
    case EHOSTUNREACH:
      return "EHOSTUNREACH";
    case ENETUNREACH:
      return "ENETUNREACH";
    case EMSGSIZE:
      return "EMSGSIZE";
    case EAGAIN:
      return "EAGAIN";
    case EINVAL:
      return "EINVAL";
    case ENOTCONN:
      return "ENOTCONN";
    case EDESTADDRREQ:
      return "EDESTADDRREQ";
    case EISCONN:
      return "EISCONN";
    default:
      return "errno";
  }
}

absl::Status SocketError(const char* op, int error) {
  return absl::ErrnoToStatus(error, absl::StrCat(op, " (", ErrnoName(error), ")"));
}

absl::StatusOr<UniqueFd> CreateSocket(int family, int type) {
  int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return SocketError("socket", errno);
  return UniqueFd(fd);
}

absl::Status SetIntOption(int fd, int level, int option, int value, const char* name) {
  if (setsockopt(fd, level, option, &value, sizeof(value)) != 0) {
    return SocketError(name, errno);
  }
  return absl::OkStatus();
}

absl::Status SetBufferSizes(int fd, int receive_bytes, int send_bytes) {
  if (receive_bytes > 0) {
    absl::Status s =
        SetIntOption(fd, SOL_SOCKET, SO_RCVBUF, receive_bytes, "setsockopt(SO_RCVBUF)");
    if (!s.ok()) return s;
  }
  if (send_bytes > 0) {
    return SetIntOption(fd, SOL_SOCKET, SO_SNDBUF, send_bytes, "setsockopt(SO_SNDBUF)");
  }
  return absl::OkStatus();
}

absl::Status SetTcpNoDelay(int fd, bool on) {
  return SetIntOption(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "setsockopt(TCP_NODELAY)");
}

absl::StatusOr<UniqueFd> CreateTcpListener(const InetAddress& address, bool reuse_port,
                                           int backlog) {
  absl::StatusOr<UniqueFd> fd = CreateSocket(address.family(), SOCK_STREAM);
  if (!fd.ok()) return fd.status();
  absl::Status s = SetIntOption(fd->get(), SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)");
  if (s.ok() && reuse_port) {
    s = SetIntOption(fd->get(), SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)");
  }
  if (!s.ok()) return s;
  if (::bind(fd->get(), address.sockaddr(), address.length()) != 0) {
    return SocketError(absl::StrCat("bind ", address.ToString()).c_str(), errno);
  }
  if (::listen(fd->get(), backlog) != 0) return SocketError("listen", errno);
  return fd;
}

absl::StatusOr<UniqueFd> CreateBoundUdpSocket(const InetAddress& address) {
  absl::StatusOr<UniqueFd> fd = CreateSocket(address.family(), SOCK_DGRAM);
  if (!fd.ok()) return fd.status();
  if (::bind(fd->get(), address.sockaddr(), address.length()) != 0) {
    return SocketError(absl::StrCat("bind ", address.ToString()).c_str(), errno);
  }
  return fd;
}

absl::StatusOr<InetAddress> LocalAddressOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return SocketError("getsockname", errno);
  }
  return InetAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

absl::StatusOr<InetAddress> PeerAddressOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return SocketError("getpeername", errno);
  }
  return InetAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace ringnet::net::internal
