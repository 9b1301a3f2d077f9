#include "ringnet/net/internal/udp_session.h"

#include <liburing.h>
#include <netinet/in.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/loop_registry.h"
#include "ringnet/net/internal/udp_peer_session.h"

namespace ringnet::net::internal {
namespace {

// Room in a provided buffer for recvmsg's header and the sender's address.
constexpr size_t kRecvmsgOverhead = sizeof(io_uring_recvmsg_out) + 32;
// Idle send slots kept per session; more are freed as they come back.
constexpr size_t kMaxFreeSlots = 1024;
// Idle GSO batches kept per session (a batch is about 1.1 KiB).
constexpr size_t kMaxFreeBatches = 16;
// IPv4 + UDP headers; IPv6 + UDP.
constexpr size_t kUdp4Overhead = 20 + 8;
constexpr size_t kUdp6Overhead = 40 + 8;

// Takes an idle object from `idle`, or makes one for `owner`.
template <typename T, typename Owner>
std::unique_ptr<T> TakeIdle(std::vector<std::unique_ptr<T>>& idle, Owner* owner) {
  if (idle.empty()) {
    auto made = std::make_unique<T>();
    made->owner = owner;
    return made;
  }
  std::unique_ptr<T> taken = std::move(idle.back());
  idle.pop_back();
  return taken;
}

// Keeps `object` for reuse, up to `max` of them; frees it beyond.
template <typename T>
void KeepIdle(std::vector<std::unique_ptr<T>>& idle, std::unique_ptr<T> object, size_t max) {
  if (idle.size() < max) idle.push_back(std::move(object));
}

}  // namespace

UdpSession::UdpSession(runtime::EventLoop* loop, UniqueFd fd, bool connected)
    : SessionBase(loop, connected ? SessionKind::kUdpConnected : SessionKind::kUdp),
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

UdpSession::~UdpSession() {
  DropWaiting();
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

void UdpSession::ArmRecv() {
  if (recv_armed_ || closed() || closing()) return;
  recv_armed_ = true;
  // MSG_TRUNC: the result is a datagram's real length, so truncation is visible.
  if (connected_) {
    loop_->SubmitRecvMultishot(&recv_op_, fd_.get(), buffers_, MSG_TRUNC);
  } else {
    loop_->SubmitRecvmsgMultishot(&recv_op_, fd_.get(), &recv_template_, buffers_, MSG_TRUNC);
  }
}

void UdpSession::OnRecv(int32_t result, uint32_t flags) {
  const bool more = (flags & IORING_CQE_F_MORE) != 0;
  if (!more) recv_armed_ = false;
  if (result >= 0 && runtime::BufferRing::HasBuffer(flags)) {
    const uint16_t id = runtime::BufferRing::BufferId(flags);
    HandleBuffer(buffers_->Take(id), result);
    buffers_->Recycle(id);
  } else if (result == 0) {
    // An empty datagram that took no buffer: a (multishot) recv reports it as 0 and ends as if
    // it were EOF (UDP has none); a single-shot recvmsg names its sender in the template.
    HandleDatagram(
        absl::string_view(),
        connected_ ? peer_
                   : InetAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&empty_sender_),
                                               recv_template_.msg_namelen));
  } else if (result == -ENOBUFS) {
    // A burst took every buffer; the datagrams wait in the socket until it is our turn to re-arm.
    buffers_->Wait(this);
  } else if (result == -ECANCELED) {
    Teardown(absl::OkStatus());  // no-op when we cancelled; else the loop is stopping
  } else if (result == -ECONNREFUSED || result == -EHOSTUNREACH || result == -ENETUNREACH) {
    ReportIcmpError("recv", -result);
  } else if (result < 0) {
    DeliverError(SocketError("recvmsg", -result));
  }
  if (!more && is_open() && result != -ENOBUFS) loop_->Defer([this] { ArmRecv(); });
  MaybeRelease();
}

void UdpSession::HandleBuffer(const char* buffer, int32_t result) {
  if (connected_) {
    const size_t length = static_cast<size_t>(result);
    if (length > payload_capacity()) {
      NoteRead(payload_capacity());
      DeliverError(absl::ResourceExhaustedError(absl::StrCat(
          "udp session ", id(), ": datagram of ", length, " bytes from ", peer_.ToString(),
          " exceeds max_datagram ", payload_capacity(), "; truncated, dropped")));
      return;
    }
    HandleDatagram(absl::string_view(buffer, length), peer_);
    return;
  }
  io_uring_recvmsg_out* out =
      io_uring_recvmsg_validate(const_cast<char*>(buffer), result, &recv_template_);
  if (out == nullptr) {
    DeliverError(absl::InternalError("recvmsg: malformed io_uring_recvmsg_out"));
    return;
  }
  const InetAddress from =
      InetAddress::FromSockaddr(static_cast<const sockaddr*>(io_uring_recvmsg_name(out)),
                                std::min<socklen_t>(out->namelen, recv_template_.msg_namelen));
  if ((out->flags & MSG_TRUNC) != 0) {
    NoteRead(payload_capacity());
    DeliverError(absl::ResourceExhaustedError(absl::StrCat(
        "udp session ", id(), ": datagram of ", out->payloadlen, " bytes from ", from.ToString(),
        " exceeds max_datagram ", payload_capacity(), "; truncated, dropped")));
    return;
  }
  const char* payload = static_cast<const char*>(io_uring_recvmsg_payload(out, &recv_template_));
  const unsigned length =
      io_uring_recvmsg_payload_length(out, static_cast<int>(result), &recv_template_);
  HandleDatagram(absl::string_view(payload, length), from);
}

void UdpSession::HandleDatagram(absl::string_view payload, const InetAddress& from) {
  if (peers_ == nullptr) {
    DeliverDatagram(payload, from);
    return;
  }
  NoteRead(payload.size());
  if (!is_open()) return;
  UdpPeerSession* peer = PeerFor(from);
  if (peer != nullptr) peer->Receive(payload);
}

void UdpSession::EnablePeerSessions(NewSessionCallback callback, size_t max_peers) {
  peers_ = std::make_unique<PeerTable>();
  peers_->callback = std::move(callback);
  peers_->max_peers = max_peers;
}

UdpPeerSession* UdpSession::PeerFor(const InetAddress& from) {
  auto it = peers_->by_address.find(from);
  if (it != peers_->by_address.end()) return it->second;
  if (peers_->by_address.size() >= peers_->max_peers) {
    DeliverError(absl::ResourceExhaustedError(absl::StrCat(
        "udp session ", id(), ": ", peers_->by_address.size(),
        " peer sessions already (max_peers); datagram from ", from.ToString(), " dropped")));
    return nullptr;
  }
  InetAddress local;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    local = shared_->local;
  }
  UdpPeerSession* peer =
      LoopRegistry::Of(loop_).Adopt(std::make_unique<UdpPeerSession>(loop_, this, local, from));
  peer->set_observer(this);
  peers_->by_address[from] = peer;
  if (!peer->Open(peers_->callback).ok()) return nullptr;  // rejected: the datagram is dropped
  return peer;
}

void UdpSession::OnSessionClosed(SessionBase* session, bool) {
  auto* peer = static_cast<UdpPeerSession*>(session);
  auto it = peers_->by_address.find(peer->peer());
  if (it != peers_->by_address.end() && it->second == peer) peers_->by_address.erase(it);
}

void UdpSession::ClosePeers() {
  if (peers_ == nullptr) return;
  std::vector<UdpPeerSession*> all;
  for (auto& [address, peer] : peers_->by_address) all.push_back(peer);
  for (UdpPeerSession* peer : all) {
    peer->Detach();
    peer->Abort();  // closes now: OnClose, then OnSessionClosed above
  }
}

absl::Status UdpSession::SendForPeer(std::string&& datagram, const InetAddress& to) {
  return Send(datagram.size(), &to, 0, [&](std::string* out) {
    out->swap(datagram);
    return absl::OkStatus();
  });
}

void UdpSession::ReportIcmpError(const char* op, int error) {
  absl::Status status = SocketError(
      absl::StrCat(op, " from ", connected_ ? peer_.ToString() : std::string("peer"),
                   error == ECONNREFUSED ? ": nothing listens there (ICMP port unreachable)" : "")
          .c_str(),
      error);
  if (options_.close_on_icmp_error) {
    Teardown(status);
  } else {
    DeliverError(status);
  }
}

UdpSession::SendSlot* UdpSession::TakeSlot() {
  std::unique_ptr<SendSlot> slot = TakeIdle(free_slots_, this);
  slot->data.clear();
  slot->alone = false;
  slot->switch_peer = false;
  return slot.release();
}

template <typename Fill>
absl::Status UdpSession::Send(size_t estimate, const InetAddress* to, size_t reserved,
                              Fill&& fill) {
  absl::Status error;
  if (!AdmitWrite(estimate, reserved, &error)) {
    if (reserved > 0) shared_->Unreserve(static_cast<int64_t>(reserved));
    return error;
  }
  const size_t counted = std::max(estimate, reserved);
  std::unique_ptr<SendSlot> slot(TakeSlot());
  absl::Status filled = fill(&slot->data);
  if (filled.ok() && slot->data.size() > payload_capacity()) {
    filled = absl::InvalidArgumentError(
        absl::StrCat("udp session ", id(), ": datagram of ", slot->data.size(),
                     " bytes exceeds max_datagram ", payload_capacity()));
  }
  if (!filled.ok()) {
    shared_->Unreserve(static_cast<int64_t>(counted));
    RecycleSlot(std::move(slot));
    return filled;
  }
  // Settle the reservation against the datagram's real size.
  shared_->queued_bytes.fetch_add(
      static_cast<int64_t>(slot->data.size()) - static_cast<int64_t>(counted),
      std::memory_order_relaxed);
  if (!connected_) slot->peer = *to;
  Bump(shared_->packages_out, 1);
  Append(slot.release());
  // Past the window, completions flush the rest.
  if (in_flight_ < kSendWindow) ScheduleFlush();
  return absl::OkStatus();
}

void UdpSession::Append(SendSlot* slot) {
  slot->next = nullptr;
  (waiting_tail_ != nullptr ? waiting_tail_->next : waiting_head_) = slot;
  waiting_tail_ = slot;
}

UdpSession::SendSlot* UdpSession::PopWaiting() {
  SendSlot* slot = waiting_head_;
  waiting_head_ = slot->next;
  if (waiting_head_ == nullptr) waiting_tail_ = nullptr;
  return slot;
}

void UdpSession::RecycleSlot(std::unique_ptr<SendSlot> slot) {
  KeepIdle(free_slots_, std::move(slot), kMaxFreeSlots);
}

void UdpSession::ScheduleFlush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  // After this iteration's callbacks, so the datagrams they write can share GSO sends.
  loop_->Defer([this] {
    flush_scheduled_ = false;
    if (!closed()) SubmitWaiting();
    if (closing() && SendsDone()) Teardown(absl::OkStatus());
    MaybeRelease();
  });
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

void UdpSession::Submit(SendSlot* slot) {
  ++sends_;
  ++in_flight_;
  Bump(shared_->send_requests, 1);
  if (connected_) {
    loop_->SubmitSend(slot, fd_.get(), slot->data.data(), slot->data.size(), 0);
    return;
  }
  slot->iov = iovec{slot->data.data(), slot->data.size()};
  slot->msg = msghdr{};
  slot->msg.msg_name = slot->peer.mutable_sockaddr();
  slot->msg.msg_namelen = slot->peer.length();
  slot->msg.msg_iov = &slot->iov;
  slot->msg.msg_iovlen = 1;
  loop_->SubmitSendmsg(slot, fd_.get(), &slot->msg, 0);
}

int UdpSession::GsoRun() const {
  const SendSlot* first = waiting_head_;
  const size_t segment = first->data.size();
  if (!gso_ || first->alone || segment == 0 || segment > gso_max_segment_) return 1;
  int count = 1;
  size_t total = segment;
  for (const SendSlot* slot = first->next; slot != nullptr && count < kMaxGsoSegments;
       slot = slot->next) {
    const size_t size = slot->data.size();
    if (slot->switch_peer || slot->alone || size == 0 || size > segment ||
        total + size > kMaxGsoBytes) {
      break;
    }
    if (!connected_ && !(slot->peer == first->peer)) break;
    ++count;
    total += size;
    if (size < segment) break;  // only the last segment may be shorter
  }
  return count;
}

void UdpSession::SubmitBatch(int count) {
  std::unique_ptr<SendBatch> batch = TakeIdle(free_batches_, this);
  SendSlot* head = waiting_head_;
  SendSlot* last = head;
  batch->bytes = 0;
  for (int i = 0; i < count; ++i) {
    if (i > 0) last = last->next;
    batch->iov[i] = iovec{last->data.data(), last->data.size()};
    batch->bytes += last->data.size();
  }
  waiting_head_ = last->next;
  if (waiting_head_ == nullptr) waiting_tail_ = nullptr;
  last->next = nullptr;
  batch->head = head;
  batch->count = count;
  batch->segment = head->data.size();

  batch->msg = msghdr{};
  if (!connected_) {
    batch->msg.msg_name = head->peer.mutable_sockaddr();
    batch->msg.msg_namelen = head->peer.length();
  }
  batch->msg.msg_iov = batch->iov;
  batch->msg.msg_iovlen = static_cast<size_t>(count);
  SetUdpSegment(&batch->msg, &batch->control, static_cast<uint16_t>(batch->segment));

  ++sends_;
  in_flight_ += count;
  Bump(shared_->send_requests, 1);
  SendBatch* raw = batch.release();
  loop_->SubmitSendmsg(raw, fd_.get(), &raw->msg, 0);
}

void UdpSession::SubmitWaiting() {
  while (waiting_head_ != nullptr && in_flight_ < kSendWindow) {
    if (waiting_head_->switch_peer) {
      if (sends_ > 0) return;  // the datagrams before it are leaving; their completions flush
      SwitchPeer();
      continue;
    }
    const int run = GsoRun();
    if (run > 1) {
      SubmitBatch(run);
      continue;
    }
    Submit(PopWaiting());
  }
}

void UdpSession::SwitchPeer() {
  std::unique_ptr<SendSlot> marker(PopWaiting());
  absl::Status connected = ConnectNow(marker->peer);
  if (!connected.ok()) {
    const int dropped = DropWaiting(/*up_to_switch=*/true);
    DeliverError(
        absl::Status(connected.code(), absl::StrCat(connected.message(), "; ", dropped,
                                                    " datagrams written for that peer dropped")));
  }
  RecycleSlot(std::move(marker));
}

int UdpSession::DropWaiting(bool up_to_switch) {
  int dropped = 0;
  while (waiting_head_ != nullptr && !(up_to_switch && waiting_head_->switch_peer)) {
    std::unique_ptr<SendSlot> slot(PopWaiting());
    shared_->Unreserve(static_cast<int64_t>(slot->data.size()));
    if (!slot->switch_peer) ++dropped;
  }
  return dropped;
}

void UdpSession::Requeue(SendSlot* head, bool alone) {
  SendSlot* last = head;
  for (SendSlot* slot = head; slot != nullptr; slot = slot->next) {
    slot->alone = alone;
    last = slot;
  }
  last->next = waiting_head_;
  if (waiting_head_ == nullptr) waiting_tail_ = last;
  waiting_head_ = head;
}

void UdpSession::OnBatchSent(SendBatch* raw, int32_t result) {
  std::unique_ptr<SendBatch> batch(raw);
  --sends_;
  in_flight_ -= batch->count;
  SendSlot* slots = batch->head;
  batch->head = nullptr;
  const bool icmp = result == -ECONNREFUSED || result == -EHOSTUNREACH || result == -ENETUNREACH;
  if (result >= 0 || result == -ECANCELED || closed()) {
    if (result >= 0) {
      NoteWritten(batch->bytes);
    } else {
      shared_->Unreserve(static_cast<int64_t>(batch->bytes));
    }
    while (slots != nullptr) {
      std::unique_ptr<SendSlot> slot(slots);
      slots = slot->next;
      RecycleSlot(std::move(slot));
    }
  } else if (icmp) {
    // An earlier datagram's ICMP error, reported by this send as it would be by a plain send:
    // the first datagram is lost with it, the rest go again.
    std::unique_ptr<SendSlot> first(slots);
    slots = first->next;
    shared_->Unreserve(static_cast<int64_t>(first->data.size()));
    RecycleSlot(std::move(first));
    if (slots != nullptr) Requeue(slots, false);
    ReportIcmpError("send", -result);  // may close, which drops what waits
  } else {
    // Refused as a GSO send: resend one by one, where each datagram meets its own fate.
    if (result == -EMSGSIZE) {
      gso_max_segment_ = std::min(gso_max_segment_, batch->segment - 1);  // past the route's MTU
    } else if (result == -EIO || result == -EINVAL || result == -EOPNOTSUPP ||
               result == -ENOPROTOOPT) {
      gso_ = false;  // no GSO on this socket, device or kernel
    }
    Requeue(slots, true);
  }
  KeepIdle(free_batches_, std::move(batch), kMaxFreeBatches);
  if (!closed() && waiting_head_ != nullptr) ScheduleFlush();
  if (closing() && SendsDone()) Teardown(absl::OkStatus());
  MaybeRelease();
}

void UdpSession::OnSent(SendSlot* raw, int32_t result, uint32_t) {
  std::unique_ptr<SendSlot> slot(raw);
  --sends_;
  --in_flight_;
  const size_t size = slot->data.size();
  if (result >= 0) {
    NoteWritten(size);
  } else {
    shared_->Unreserve(static_cast<int64_t>(size));
    if (result == -ECONNREFUSED || result == -EHOSTUNREACH || result == -ENETUNREACH) {
      ReportIcmpError("send", -result);
    } else if (result != -ECANCELED) {
      DeliverError(SocketError(
          connected_ ? "send" : absl::StrCat("sendmsg to ", slot->peer.ToString()).c_str(),
          -result));
    }
  }
  RecycleSlot(std::move(slot));
  if (!closed() && waiting_head_ != nullptr) ScheduleFlush();
  if (closing() && SendsDone()) Teardown(absl::OkStatus());
  MaybeRelease();
}

absl::Status UdpSession::WritePkg(Package&& pkg, const InetAddress* to, size_t reserved) {
  return Send(pkg.size(), to, reserved, [&](std::string* out) { return codec_->Encode(pkg, out); });
}

absl::Status UdpSession::WriteBytes(absl::string_view bytes, const InetAddress* to,
                                    size_t reserved) {
  return Send(bytes.size(), to, reserved, [&](std::string* out) {
    out->assign(bytes.data(), bytes.size());
    return absl::OkStatus();
  });
}

absl::Status UdpSession::WriteOwned(std::string&& bytes, const InetAddress* to, size_t reserved) {
  return Send(bytes.size(), to, reserved, [&](std::string* out) {
    out->swap(bytes);
    return absl::OkStatus();
  });
}

absl::Status UdpSession::WriteBytesArray(absl::Span<const absl::string_view> parts,
                                         size_t reserved) {
  size_t total = 0;
  for (absl::string_view p : parts) total += p.size();
  // One datagram made of the parts (connected sessions only: the handle checks).
  return Send(total, nullptr, reserved, [&](std::string* out) {
    for (absl::string_view p : parts) out->append(p.data(), p.size());
    return absl::OkStatus();
  });
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
  SendSlot* marker = TakeSlot();
  marker->switch_peer = true;
  marker->peer = peer;
  Append(marker);
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

void UdpSession::OnBuffersFree() { ArmRecv(); }

void UdpSession::CancelIo() {
  ClosePeers();
  DropWaiting();
  if (buffers_ != nullptr) buffers_->CancelWait(this);
  if (recv_armed_ || sends_ > 0) {
    ++cancels_;
    loop_->SubmitCancelFd(fd_.get(), &cancel_op_);
  }
}

void UdpSession::OnCancelled(int32_t, uint32_t) {
  --cancels_;
  MaybeRelease();
}

}  // namespace ringnet::net::internal
