#include "ringnet/net/inet_address.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ringnet::net {
namespace {

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("bad address \"", text, "\": ", why));
}

}  // namespace

absl::StatusOr<InetAddress> InetAddress::FromHostPort(absl::string_view host, uint16_t port) {
  InetAddress a;
  // inet_pton needs a NUL-terminated string; 64 bytes hold any textual IPv6 address.
  if (host.size() >= 64) return Invalid(host, "host too long");
  char buf[64];
  std::memcpy(buf, host.data(), host.size());
  buf[host.size()] = '\0';
  if (inet_pton(AF_INET, buf, &a.storage_.v4.sin_addr) == 1) {
    a.storage_.v4.sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, buf, &a.storage_.v6.sin6_addr) == 1) {
    a.storage_.v6.sin6_family = AF_INET6;
  } else {
    return Invalid(host, "not an IPv4 or IPv6 address");
  }
  a.set_port(port);
  return a;
}

absl::StatusOr<InetAddress> InetAddress::Parse(absl::string_view text) {
  absl::string_view host;
  absl::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) return Invalid(text, "missing ']'");
    host = text.substr(1, close - 1);
    absl::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return Invalid(text, "missing ':port' after ']'");
    port_text = rest.substr(1);
    if (host.find(':') == absl::string_view::npos) return Invalid(text, "[...] needs IPv6");
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos) return Invalid(text, "missing ':port'");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != absl::string_view::npos) {
      return Invalid(text, "IPv6 addresses need brackets: [addr]:port");
    }
  }
  uint32_t port = 0;
  if (port_text.empty() || port_text.size() > 5 || !absl::SimpleAtoi(port_text, &port) ||
      port > 65535 || port_text.front() == '+' || port_text.front() == '-') {
    return Invalid(text, "port must be a number in 0..65535");
  }
  absl::StatusOr<InetAddress> a = FromHostPort(host, static_cast<uint16_t>(port));
  if (!a.ok()) return Invalid(text, "host is not an IPv4 or IPv6 address");
  return a;
}

InetAddress InetAddress::FromSockaddr(const struct sockaddr* addr, socklen_t length) {
  InetAddress a;
  if (addr == nullptr) return a;
  if (addr->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&a.storage_.v4, addr, sizeof(sockaddr_in));
  } else if (addr->sa_family == AF_INET6 &&
             length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&a.storage_.v6, addr, sizeof(sockaddr_in6));
  }
  return a;
}

InetAddress InetAddress::Loopback(uint16_t port, bool ipv6) {
  InetAddress a;
  if (ipv6) {
    a.storage_.v6.sin6_family = AF_INET6;
    a.storage_.v6.sin6_addr = in6addr_loopback;
  } else {
    a.storage_.v4.sin_family = AF_INET;
    a.storage_.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  a.set_port(port);
  return a;
}

uint16_t InetAddress::port() const {
  if (family() == AF_INET) return ntohs(storage_.v4.sin_port);
  if (family() == AF_INET6) return ntohs(storage_.v6.sin6_port);
  return 0;
}

void InetAddress::set_port(uint16_t port) {
  if (family() == AF_INET) storage_.v4.sin_port = htons(port);
  if (family() == AF_INET6) storage_.v6.sin6_port = htons(port);
}

socklen_t InetAddress::length() const {
  return is_ipv6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

std::string InetAddress::HostToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &storage_.v4.sin_addr, buf, sizeof(buf));
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &storage_.v6.sin6_addr, buf, sizeof(buf));
  } else {
    return "unspecified";
  }
  return buf;
}

std::string InetAddress::ToString() const {
  if (!valid()) return "unspecified";
  if (is_ipv6()) return absl::StrCat("[", HostToString(), "]:", port());
  return absl::StrCat(HostToString(), ":", port());
}

bool operator==(const InetAddress& a, const InetAddress& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    return a.storage_.v4.sin_port == b.storage_.v4.sin_port &&
           a.storage_.v4.sin_addr.s_addr == b.storage_.v4.sin_addr.s_addr;
  }
  if (a.family() == AF_INET6) {
    return a.storage_.v6.sin6_port == b.storage_.v6.sin6_port &&
           std::memcmp(&a.storage_.v6.sin6_addr, &b.storage_.v6.sin6_addr, 16) == 0 &&
           a.storage_.v6.sin6_scope_id == b.storage_.v6.sin6_scope_id;
  }
  return true;
}

}  // namespace ringnet::net
