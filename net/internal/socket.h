// Socket helpers for net/ internals: RAII fd ownership and the few setsockopt/bind/listen calls
// the endpoints need, each returning a Status that names the call and the errno.
//
// Not part of the public API. Not thread-safe per fd (plain file descriptor operations).
#ifndef RINGNET_NET_INTERNAL_SOCKET_H_
#define RINGNET_NET_INTERNAL_SOCKET_H_

#include <unistd.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringnet/net/inet_address.h"

namespace ringnet::net::internal {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A non-blocking, close-on-exec socket of `type` (SOCK_STREAM/SOCK_DGRAM) for `family`.
absl::StatusOr<UniqueFd> CreateSocket(int family, int type);

// A TCP listening socket bound to `address`; with `reuse_port`, several sockets (one per loop)
// share the port and the kernel spreads connections over them.
absl::StatusOr<UniqueFd> CreateTcpListener(const InetAddress& address, bool reuse_port,
                                           int backlog);

// A UDP socket bound to `address` (port 0: any).
absl::StatusOr<UniqueFd> CreateBoundUdpSocket(const InetAddress& address);

// The address a socket is bound to / connected to.
absl::StatusOr<InetAddress> LocalAddressOf(int fd);
absl::StatusOr<InetAddress> PeerAddressOf(int fd);

// SO_RCVBUF / SO_SNDBUF in bytes; 0 leaves a size at the system default.
absl::Status SetBufferSizes(int fd, int receive_bytes, int send_bytes);

// setsockopt wrappers.
absl::Status SetIntOption(int fd, int level, int option, int value, const char* name);
absl::Status SetTcpNoDelay(int fd, bool on);

// A status for a failed socket operation: "<op>: <strerror> (<ERRNO>)".
absl::Status SocketError(const char* op, int error);

// The symbolic name of an errno ("ECONNRESET"), or its number as text.
const char* ErrnoName(int error);

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_SOCKET_H_
