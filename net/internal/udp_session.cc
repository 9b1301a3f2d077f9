// UdpSession's lifecycle: construction, StartIo (buffers, GSO options, the first receive), Connect
// (now, or behind the datagrams written before it), graceful close, cancellation.
// The send path is in udp_session_send.cc, the receive path in udp_session_recv.cc, per-peer mode
// in udp_peer_table.cc; udp_session.h describes how they work together.
#include "ringnet/net/internal/udp_session.h"

#include <liburing.h>
#include <netinet/in.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ringnet::net::internal {
namespace {

// Room in a provided buffer for recvmsg's header and the sender's address.
constexpr size_t kRecvmsgOverhead = sizeof(io_uring_recvmsg_out) + 32;
// IPv4 + UDP headers; IPv6 + UDP.
constexpr size_t kUdp4Overhead = 20 + 8;
constexpr size_t kUdp6Overhead = 40 + 8;

}  // namespace

UdpSession::UdpSession(runtime::EventLoop* loop, UniqueFd fd, bool connected)
    : UdpSessionBase(loop, connected ? SessionKind::kUdpConnected : SessionKind::kUdp),
      fd_(std::move(fd)),
      connected_(connected) {
  absl::StatusOr<InetAddress> local = LocalAddressOf(fd_.get());
  if (connected_) {
    absl::StatusOr<InetAddress> remote = PeerAddressOf(fd_.get());
    if (remote.ok()) peer_ = *remote;
  }
  std::lock_guard<std::mutex> lock(shared_->mutex);
  if (local.ok()) shared_->local = *local;
  shared_->remote = peer_;
}

// The pools free every slot and batch. None is in the kernel's hands: the session is only
// released once IoIdle (no request, no cancel in flight). Nothing waits either (Teardown's
// FailPendingSends dropped it); should anything, its bytes leave the handles' queued_bytes.
UdpSession::~UdpSession() {
  if (!waiting_.empty()) DropWaiting(SessionClosedError(id()));
  if (buffers_ != nullptr) buffers_->CancelWait(this);
}

absl::Status UdpSession::StartIo() {
  const size_t size = payload_capacity() + (connected_ ? 0 : kRecvmsgOverhead);
  absl::StatusOr<runtime::BufferRing*> buffers =
      loop_->GetBufferRing(static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX)));
  if (!buffers.ok()) return buffers.status();
  buffers_ = *buffers;
  gso_ = options_.udp_gso;
  UpdateGsoLimitFromMtu();
  recv_template_.msg_namelen = sizeof(sockaddr_in6);
  recv_template_.msg_name = &empty_sender_;
  ArmRecv();
  return absl::OkStatus();
}

void UdpSession::UpdateGsoLimitFromMtu() {
  gso_max_segment_ = kMaxGsoBytes;
  if (!connected_) return;  // each peer's route may differ: EMSGSIZE teaches the limit
  int mtu = 0;
  socklen_t length = sizeof(mtu);
  const bool v6 = peer_.is_ipv6();
  if (::getsockopt(fd_.get(), v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu,
                   &length) == 0) {
    const size_t overhead = v6 ? kUdp6Overhead : kUdp4Overhead;
    if (static_cast<size_t>(mtu) > overhead) {
      gso_max_segment_ = std::min(kMaxGsoBytes, static_cast<size_t>(mtu) - overhead);
    }
  }
}

absl::Status UdpSession::Connect(const InetAddress& peer) {
  if (!connected_) return SessionBase::Connect(peer);
  if (!is_open()) return SessionClosedError(id());
  if (peer.family() != peer_.family()) {
    return absl::InvalidArgumentError(absl::StrCat("udp session ", id(), ": cannot switch from ",
                                                   peer_.ToString(), " to ", peer.ToString(),
                                                   " (address family differs)"));
  }
  if (SendsDone()) return ConnectNow(peer);
  // Datagrams written before this still wait or are in flight: the switch waits behind them.
  SendSlot* marker = TakeSlot(SlotKind::kPeerSwitch);
  marker->peer = peer;
  marker->seq = accepted_;
  waiting_.PushBack(marker);
  return absl::OkStatus();
}

absl::Status UdpSession::ConnectNow(const InetAddress& peer) {
  if (::connect(fd_.get(), peer.sockaddr(), peer.length()) != 0) {
    return SocketError(absl::StrCat("udp session ", id(), ": connect ", peer.ToString()).c_str(),
                       errno);
  }
  peer_ = peer;
  UpdateGsoLimitFromMtu();
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->remote = peer;
  return absl::OkStatus();
}

void UdpSession::BeginGracefulClose() {
  ClosePeers();
  // Nothing to flush but the datagrams already accepted.
  if (SendsDone()) Teardown(absl::OkStatus());
}

void UdpSession::CancelIo() {
  ClosePeers();  // (what waited was dropped before OnClose: FailPendingSends)
  if (buffers_ != nullptr) buffers_->CancelWait(this);
  if (recv_armed_ || requests_in_kernel_ > 0) {
    ++cancels_in_kernel_;
    loop_->SubmitCancelFd(fd_.get(), &cancel_op_);
  }
}

void UdpSession::OnCancelled(int32_t, uint32_t) {
  --cancels_in_kernel_;
  MaybeRelease();
}

}  // namespace ringnet::net::internal
