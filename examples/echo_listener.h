// EchoListener: sends every package back to where it came from: bytes on a stream, each
// datagram to its sender as one datagram, each WebSocket message as a message of the same type.
// Shared by echo_server and the demo.
#ifndef RINGNET_EXAMPLES_ECHO_LISTENER_H_
#define RINGNET_EXAMPLES_ECHO_LISTENER_H_

#include <utility>

#include "ringnet/net/session.h"

namespace ringnet::examples {

class EchoListener : public net::EventListener {
 public:
  void OnMessage(const net::SessionHandle& s, net::Package& pkg,
                 const net::InetAddress& from) override {
    switch (s.kind()) {
      case net::SessionKind::kUdp:
        (void)s.WriteBytesTo(pkg.bytes(), from);
        break;
      case net::SessionKind::kWebSocket:
        (void)s.WritePkg(std::move(pkg));  // keeps the message type
        break;
      default:
        (void)s.WriteBytes(pkg.bytes());
        break;
    }
  }
};

}  // namespace ringnet::examples

#endif  // RINGNET_EXAMPLES_ECHO_LISTENER_H_
