// InetAddress: an IPv4 or IPv6 socket address (address + port).
//
// Parses and prints the usual text forms: "127.0.0.1:80", "[::1]:80", "0.0.0.0:0" (port 0: let
// the kernel choose). Bad text is an InvalidArgument status naming what is wrong, never a crash.
//
// Example:
//
//   absl::StatusOr<InetAddress> addr = InetAddress::Parse("[::1]:8080");
//   if (!addr.ok()) return addr.status();
//   connect(fd, addr->sockaddr(), addr->length());
//   std::string text = addr->ToString();  // "[::1]:8080"
//
// Thread safety: a value type; const methods may be called concurrently.
#ifndef RINGNET_NET_INET_ADDRESS_H_
#define RINGNET_NET_INET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ringnet::net {

class InetAddress {
 public:
  // An unspecified address (family AF_UNSPEC); `valid()` is false.
  InetAddress() : storage_{} {}

  // Parses "a.b.c.d:port" or "[ipv6]:port" (port 0..65535).
  static absl::StatusOr<InetAddress> Parse(absl::string_view text);
  // Parses an address without port ("127.0.0.1", "::1") and combines it with `port`.
  static absl::StatusOr<InetAddress> FromHostPort(absl::string_view host, uint16_t port);
  // Copies a kernel-provided address; anything but AF_INET/AF_INET6 gives an invalid address.
  static InetAddress FromSockaddr(const struct sockaddr* addr, socklen_t length);
  // 127.0.0.1:port or [::1]:port.
  static InetAddress Loopback(uint16_t port, bool ipv6 = false);

  bool valid() const { return family() == AF_INET || family() == AF_INET6; }
  int family() const { return storage_.any.sa_family; }
  bool is_ipv6() const { return family() == AF_INET6; }
  uint16_t port() const;
  void set_port(uint16_t port);

  const struct sockaddr* sockaddr() const { return &storage_.any; }
  struct sockaddr* mutable_sockaddr() {
    return &storage_.any;
  }
  socklen_t length() const;
  // The size of the largest address this type holds (for recvmsg name buffers).
  static constexpr socklen_t kMaxLength = sizeof(sockaddr_in6);

  // "127.0.0.1:80", "[::1]:80", or "unspecified".
  std::string ToString() const;
  // The address without port: "127.0.0.1", "::1".
  std::string HostToString() const;

  friend bool operator==(const InetAddress& a, const InetAddress& b);
  friend bool operator!=(const InetAddress& a, const InetAddress& b) { return !(a == b); }
  template <typename H>
  friend H AbslHashValue(H h, const InetAddress& a) {
    // The fields operator== compares, never padding.
    if (a.family() == AF_INET) {
      return H::combine(std::move(h), a.storage_.v4.sin_addr.s_addr, a.storage_.v4.sin_port);
    }
    if (a.family() == AF_INET6) {
      h = H::combine_contiguous(std::move(h), a.storage_.v6.sin6_addr.s6_addr, 16);
      return H::combine(std::move(h), a.storage_.v6.sin6_port, a.storage_.v6.sin6_scope_id);
    }
    return H::combine(std::move(h), 0);
  }

 private:
  union Storage {
    struct sockaddr any;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } storage_;
};

}  // namespace ringnet::net

#endif  // RINGNET_NET_INET_ADDRESS_H_
