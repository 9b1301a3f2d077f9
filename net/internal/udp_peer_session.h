// UdpPeerSession: one sender of an unconnected UDP endpoint in per-peer mode (getty has no such
// thing). It behaves like a connected session: its datagrams come from that peer only, and its
// writes go to that peer without an address. It owns no socket: the endpoint's session receives
// for it and sends for it. It closes after SessionOptions::idle_timeout without datagrams (the
// endpoint sets a default), when the endpoint closes, or when asked.
// Its datagrams join the endpoint's send queue: they count against the endpoint's high-water
// mark and writability, not its own (so it stays writable), and the endpoint tracks their write
// callbacks (AwaitSent), running them through this session. A datagram the endpoint refuses at
// its high-water mark is this session's drop (counted and reported here).
//
// Loop thread only.
#ifndef RINGNET_NET_INTERNAL_UDP_PEER_SESSION_H_
#define RINGNET_NET_INTERNAL_UDP_PEER_SESSION_H_

#include <string>
#include <utility>

#include "ringnet/net/internal/udp_session_base.h"

namespace ringnet::net::internal {

class UdpSession;

class UdpPeerSession final : public UdpSessionBase {
 public:
  UdpPeerSession(runtime::EventLoop* loop, UdpSession* endpoint, const InetAddress& local,
                 const InetAddress& peer);

  const InetAddress& peer() const { return peer_; }
  // A datagram from the peer.
  void Receive(absl::string_view payload) { DeliverDatagram(payload, peer_); }
  // The endpoint is going away: no more sends through it.
  void Detach() { endpoint_ = nullptr; }
  // The endpoint learnt the fate of a datagram this session wrote with a callback.
  void CompleteSend(absl::AnyInvocable<void(const absl::Status&)> on_sent,
                    const absl::Status& status) {
    RunSendCallback(std::move(on_sent), status);
  }

  // SessionCore.
  absl::Status WritePkg(Package&& pkg, const InetAddress* to, size_t reserved) override;
  absl::Status WriteBytes(absl::string_view bytes, const InetAddress* to, size_t reserved) override;
  absl::Status WriteOwned(std::string&& bytes, const InetAddress* to, size_t reserved) override;
  absl::Status WriteBytesArray(absl::Span<const absl::string_view> parts, size_t reserved) override;
  void NotifyWhenSent(absl::AnyInvocable<void(const absl::Status&)> on_sent) override;

 protected:
  absl::Status StartIo() override { return absl::OkStatus(); }
  void BeginGracefulClose() override { Teardown(absl::OkStatus()); }
  void CancelIo() override {}
  bool IoIdle() const override { return true; }
  // Its callbacks waiting in the endpoint run now (before OnClose).
  void FailPendingSends(const absl::Status& reason) override;
  std::string RefusalCause() const override;

 private:
  // Admits `estimate` bytes, builds the datagram with `fill(std::string*)` and hands it to the
  // endpoint, which sends and counts it from then on.
  template <typename Fill>
  absl::Status Send(size_t estimate, size_t reserved, Fill&& fill);

  UdpSession* endpoint_;
  const InetAddress peer_;
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_UDP_PEER_SESSION_H_
