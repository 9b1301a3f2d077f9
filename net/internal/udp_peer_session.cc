#include "ringnet/net/internal/udp_peer_session.h"

#include <algorithm>
#include <utility>

#include "ringnet/net/internal/udp_session.h"

namespace ringnet::net::internal {

UdpPeerSession::UdpPeerSession(runtime::EventLoop* loop, UdpSession* endpoint,
                               const InetAddress& local, const InetAddress& peer)
    : SessionBase(loop, SessionKind::kUdpPeer), endpoint_(endpoint), peer_(peer) {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->local = local;
  shared_->remote = peer;
}

template <typename Fill>
absl::Status UdpPeerSession::Send(size_t estimate, size_t reserved, Fill&& fill) {
  absl::Status error;
  if (!AdmitWrite(estimate, reserved, &error)) {
    if (reserved > 0) shared_->Unreserve(static_cast<int64_t>(reserved));
    return error;
  }
  // From here on the bytes are the endpoint's to send and to count against its high water.
  shared_->Unreserve(static_cast<int64_t>(std::max(estimate, reserved)));
  if (endpoint_ == nullptr) return SessionClosedError(id());
  std::string datagram;
  if (absl::Status filled = fill(&datagram); !filled.ok()) return filled;
  const size_t size = datagram.size();
  if (absl::Status sent = endpoint_->SendForPeer(std::move(datagram), peer_); !sent.ok()) {
    return sent;
  }
  Bump(shared_->packages_out, 1);
  Bump(shared_->bytes_out, size);
  return absl::OkStatus();
}

absl::Status UdpPeerSession::WritePkg(Package&& pkg, const InetAddress*, size_t reserved) {
  return Send(pkg.size(), reserved, [&](std::string* out) { return codec_->Encode(pkg, out); });
}

absl::Status UdpPeerSession::WriteBytes(absl::string_view bytes, const InetAddress*,
                                        size_t reserved) {
  return Send(bytes.size(), reserved, [&](std::string* out) {
    out->assign(bytes.data(), bytes.size());
    return absl::OkStatus();
  });
}

absl::Status UdpPeerSession::WriteOwned(std::string&& bytes, const InetAddress*, size_t reserved) {
  return Send(bytes.size(), reserved, [&](std::string* out) {
    out->swap(bytes);
    return absl::OkStatus();
  });
}

absl::Status UdpPeerSession::WriteBytesArray(absl::Span<const absl::string_view> parts,
                                             size_t reserved) {
  size_t total = 0;
  for (absl::string_view p : parts) total += p.size();
  return Send(total, reserved, [&](std::string* out) {
    for (absl::string_view p : parts) out->append(p.data(), p.size());
    return absl::OkStatus();
  });
}

// TODO(issue 18): run it when the datagram has left.
void UdpPeerSession::NotifyWhenSent(absl::AnyInvocable<void(const absl::Status&)> on_sent) {
  loop_->Defer([this, on_sent = std::move(on_sent)]() mutable {
    RunSendCallback(std::move(on_sent), absl::OkStatus());
  });
}

}  // namespace ringnet::net::internal
