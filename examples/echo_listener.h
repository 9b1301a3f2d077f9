// EchoListener: sends every package back to where it came from: bytes on a stream, each
// datagram to its sender as one datagram, each WebSocket message as a message of the same type.
// Shared by echo_server and the demo.
//
// Flow control: a stream session pauses its reading while it is unwritable
// (SessionOptions::pause_reading_when_unwritable, on by default), so a peer that sends faster
// than it reads is held back by TCP and the echo's queue stays near write_water_mark.high, far
// below the write_high_water hard limit. Should a write fail anyway (a package larger than the
// room left, or options that leave no room over the high mark), a stream session is closed: an
// echo that skipped bytes and carried on would hand the peer a corrupt stream as if it were
// whole. UDP keeps going: a datagram may be lost, and the library counts each refused one
// (SessionStat::datagrams_dropped) and reports it to OnError.
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
        (void)s.WriteBytesTo(pkg.bytes(), from);  // a refused datagram is counted and reported
        break;
      case net::SessionKind::kUdpConnected:
      case net::SessionKind::kUdpPeer:
        (void)s.WriteBytes(pkg.bytes());  // as above
        break;
      case net::SessionKind::kWebSocket:
        if (!s.WritePkg(std::move(pkg)).ok()) s.Close();  // keeps the message type
        break;
      case net::SessionKind::kTcp:
        if (!s.WriteBytes(pkg.bytes()).ok()) s.Close();
        break;
    }
  }
};

}  // namespace ringnet::examples

#endif  // RINGNET_EXAMPLES_ECHO_LISTENER_H_
