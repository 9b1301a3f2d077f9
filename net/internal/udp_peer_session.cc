#include "ringnet/net/internal/udp_peer_session.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/udp_session.h"

namespace ringnet::net::internal {

UdpPeerSession::UdpPeerSession(runtime::EventLoop* loop, UdpSession* endpoint,
                               const InetAddress& local, const InetAddress& peer)
    : UdpSessionBase(loop, SessionKind::kUdpPeer), endpoint_(endpoint), peer_(peer) {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->local = local;
  shared_->remote = peer;
}

template <typename Fill>
absl::Status UdpPeerSession::Send(size_t estimate, size_t reserved, Fill&& fill) {
  absl::Status error;
  if (!AdmitWrite(estimate, reserved, &error)) {
    if (reserved > 0) shared_->Unreserve(static_cast<int64_t>(reserved));
    if (absl::IsResourceExhausted(error)) return DropRefused(std::move(error));
    return error;
  }
  // From here on the bytes are the endpoint's to send and to count against its high water.
  shared_->Unreserve(static_cast<int64_t>(std::max(estimate, reserved)));
  if (endpoint_ == nullptr) return SessionClosedError(id());
  std::string datagram;
  if (absl::Status filled = fill(&datagram); !filled.ok()) return filled;
  const size_t size = datagram.size();
  if (absl::Status sent = endpoint_->SendForPeer(std::move(datagram), peer_); !sent.ok()) {
    // The endpoint's queue is full: the datagram is this session's drop.
    if (absl::IsResourceExhausted(sent)) return DropRefused(std::move(sent));
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

void UdpPeerSession::NotifyWhenSent(absl::AnyInvocable<void(const absl::Status&)> on_sent) {
  // The write that just succeeded handed its datagram to the endpoint, which tracks it.
  if (endpoint_ != nullptr) {
    endpoint_->AwaitSent(this, std::move(on_sent));
    return;
  }
  // (Unreachable: a write fails once detached.) Never inside the write call.
  loop_->Defer([this, on_sent = std::move(on_sent)]() mutable {
    RunSendCallback(std::move(on_sent), SessionClosedError(id()));
  });
}

void UdpPeerSession::FailPendingSends(const absl::Status& reason) {
  if (endpoint_ != nullptr) endpoint_->FailPeerSends(this, reason);
  FlushDropReports();
}

std::string UdpPeerSession::RefusalCause() const {
  if (endpoint_ == nullptr) return "the endpoint's send queue was full";
  return absl::StrCat("the endpoint's send queue was full (udp session ", endpoint_->id(),
                      ", write_high_water ", endpoint_->shared()->high_water(), " bytes)");
}

}  // namespace ringnet::net::internal
