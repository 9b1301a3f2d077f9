// UdpSession's send path: the writes (each datagram a slot from the session's pool), the waiting
// queue and its flush once per iteration (GSO runs as batches, other datagrams alone, peer
// switches in order), the send window, completions (retire, report, requeue a refused batch) and
// dropping what waits on close. udp_session.h describes the design.
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/udp_segment.h"
#include "ringnet/net/internal/udp_session.h"

namespace ringnet::net::internal {
namespace {

bool IsIcmpError(int32_t result) {
  return result == -ECONNREFUSED || result == -EHOSTUNREACH || result == -ENETUNREACH;
}

}  // namespace

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

absl::Status UdpSession::SendForPeer(std::string&& datagram, const InetAddress& to) {
  return Send(datagram.size(), &to, 0, [&](std::string* out) {
    out->swap(datagram);
    return absl::OkStatus();
  });
}

UdpSession::SendSlot* UdpSession::TakeSlot(SlotKind kind) {
  SendSlot* slot = slots_.Take(this);
  slot->data.clear();
  slot->kind = kind;
  return slot;
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
  SendSlot* slot = TakeSlot(SlotKind::kDatagram);
  absl::Status filled = fill(&slot->data);
  if (filled.ok() && slot->data.size() > payload_capacity()) {
    filled = absl::InvalidArgumentError(
        absl::StrCat("udp session ", id(), ": datagram of ", slot->data.size(),
                     " bytes exceeds max_datagram ", payload_capacity()));
  }
  if (!filled.ok()) {
    shared_->Unreserve(static_cast<int64_t>(counted));
    slots_.Recycle(slot);
    return filled;
  }
  // Settle the reservation against the datagram's real size.
  shared_->queued_bytes.fetch_add(
      static_cast<int64_t>(slot->data.size()) - static_cast<int64_t>(counted),
      std::memory_order_relaxed);
  if (!connected_) slot->peer = *to;
  slot->seq = ++accepted_;
  Bump(shared_->packages_out, 1);
  waiting_.PushBack(slot);
  // Past the window, completions flush the rest.
  if (datagrams_in_kernel_ < kSendWindow) ScheduleFlush();
  return absl::OkStatus();
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

void UdpSession::SubmitWaiting() {
  while (!waiting_.empty() && datagrams_in_kernel_ < kSendWindow) {
    if (waiting_.front().kind == SlotKind::kPeerSwitch) {
      // The datagrams before it are leaving; their completions flush.
      if (requests_in_kernel_ > 0) return;
      SwitchPeer();
      continue;
    }
    const int run = GsoRun();
    if (run > 1) {
      SubmitBatch(run);
      continue;
    }
    Submit(waiting_.PopFront());
  }
}

int UdpSession::GsoRun() const {
  const SendSlot& first = waiting_.front();
  const size_t segment = first.data.size();
  if (!gso_ || first.kind != SlotKind::kDatagram || segment == 0 || segment > gso_max_segment_) {
    return 1;
  }
  int count = 1;
  size_t total = segment;
  for (auto it = std::next(waiting_.begin()); it != waiting_.end() && count < kMaxGsoSegments;
       ++it) {
    const size_t size = it->data.size();
    if (it->kind != SlotKind::kDatagram || size == 0 || size > segment ||
        total + size > kMaxGsoBytes) {
      break;
    }
    if (!connected_ && !(it->peer == first.peer)) break;
    ++count;
    total += size;
    if (size < segment) break;  // only the last segment may be shorter
  }
  return count;
}

void UdpSession::Submit(SendSlot* slot) {
  ++requests_in_kernel_;
  ++datagrams_in_kernel_;
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

void UdpSession::SubmitBatch(int count) {
  SendBatch* batch = batches_.Take(this);
  batch->slots = waiting_.TakeFront(static_cast<size_t>(count));
  batch->bytes = 0;
  int i = 0;
  for (SendSlot& slot : batch->slots) {
    batch->iov[i++] = iovec{slot.data.data(), slot.data.size()};
    batch->bytes += slot.data.size();
  }
  SendSlot& head = batch->slots.front();
  batch->segment = head.data.size();

  batch->msg = msghdr{};
  if (!connected_) {
    batch->msg.msg_name = head.peer.mutable_sockaddr();
    batch->msg.msg_namelen = head.peer.length();
  }
  batch->msg.msg_iov = batch->iov;
  batch->msg.msg_iovlen = static_cast<size_t>(count);
  SetUdpSegment(&batch->msg, &batch->control, static_cast<uint16_t>(batch->segment));

  ++requests_in_kernel_;
  datagrams_in_kernel_ += count;
  Bump(shared_->send_requests, 1);
  loop_->SubmitSendmsg(batch, fd_.get(), &batch->msg, 0);
}

void UdpSession::SwitchPeer() {
  SendSlot* marker = waiting_.PopFront();
  absl::Status connected = ConnectNow(marker->peer);
  if (!connected.ok()) {
    const int dropped = DropWaiting(/*up_to_switch=*/true);
    DeliverError(
        absl::Status(connected.code(), absl::StrCat(connected.message(), "; ", dropped,
                                                    " datagrams written for that peer dropped")));
  }
  slots_.Recycle(marker);
}

int UdpSession::DropWaiting(bool up_to_switch) {
  int dropped = 0;
  while (!waiting_.empty() && !(up_to_switch && waiting_.front().kind == SlotKind::kPeerSwitch)) {
    SendSlot* slot = waiting_.PopFront();
    shared_->Unreserve(static_cast<int64_t>(slot->data.size()));
    if (slot->kind != SlotKind::kPeerSwitch) ++dropped;
    slots_.Recycle(slot);
  }
  return dropped;
}

void UdpSession::Requeue(SlotQueue&& slots, bool alone) {
  if (slots.empty()) return;
  const uint64_t first = slots.front().seq;
  for (SendSlot& slot : slots) slot.kind = alone ? SlotKind::kAlone : SlotKind::kDatagram;
  // Batches refused in one go complete in the order they were sent: the datagrams requeued by
  // the earlier ones are older and stay ahead. (A peer switch never is: it waits until nothing is
  // in the kernel's hands.)
  size_t older = 0;
  for (const SendSlot& slot : waiting_) {
    if (slot.kind == SlotKind::kPeerSwitch || slot.seq > first) break;
    ++older;
  }
  SlotQueue ahead = waiting_.TakeFront(older);
  waiting_.PrependAll(std::move(slots));
  waiting_.PrependAll(std::move(ahead));
}

void UdpSession::AfterSendCompletion() {
  if (!closed() && !waiting_.empty()) ScheduleFlush();
  if (closing() && SendsDone()) Teardown(absl::OkStatus());
  MaybeRelease();
}

void UdpSession::OnBatchSent(SendBatch* batch, int32_t result) {
  --requests_in_kernel_;
  datagrams_in_kernel_ -= static_cast<int>(batch->slots.size());
  if (result >= 0 || result == -ECANCELED || closed()) {
    if (result >= 0) {
      NoteWritten(batch->bytes);
    } else {
      shared_->Unreserve(static_cast<int64_t>(batch->bytes));
    }
    while (!batch->slots.empty()) slots_.Recycle(batch->slots.PopFront());
  } else if (IsIcmpError(result)) {
    // An earlier datagram's ICMP error, reported by this send as it would be by a plain send:
    // the first datagram is lost with it, the rest go again.
    SendSlot* first = batch->slots.PopFront();
    shared_->Unreserve(static_cast<int64_t>(first->data.size()));
    slots_.Recycle(first);
    Requeue(std::move(batch->slots), /*alone=*/false);
    ReportIcmpError("send", -result);  // may close, which drops what waits
  } else {
    OnBatchRefused(batch, result);
  }
  batches_.Recycle(batch);
  AfterSendCompletion();
}

void UdpSession::OnBatchRefused(SendBatch* batch, int32_t result) {
  // Refused as a GSO send: resend one by one, where each datagram meets its own fate.
  if (result == -EMSGSIZE) {
    gso_max_segment_ = std::min(gso_max_segment_, batch->segment - 1);  // past the route's MTU
  } else if (result == -EIO || result == -EINVAL || result == -EOPNOTSUPP ||
             result == -ENOPROTOOPT) {
    gso_ = false;  // no GSO on this socket, device or kernel
  }
  Requeue(std::move(batch->slots), /*alone=*/true);
}

void UdpSession::OnSent(SendSlot* slot, int32_t result, uint32_t) {
  --requests_in_kernel_;
  --datagrams_in_kernel_;
  const size_t size = slot->data.size();
  if (result >= 0) {
    NoteWritten(size);
  } else {
    shared_->Unreserve(static_cast<int64_t>(size));
    if (IsIcmpError(result)) {
      ReportIcmpError("send", -result);
    } else if (result != -ECANCELED) {
      DeliverError(SocketError(
          connected_ ? "send" : absl::StrCat("sendmsg to ", slot->peer.ToString()).c_str(),
          -result));
    }
  }
  slots_.Recycle(slot);
  AfterSendCompletion();
}

// TODO(issue 18): run it when the datagram has left.
void UdpSession::NotifyWhenSent(absl::AnyInvocable<void(const absl::Status&)> on_sent) {
  loop_->Defer([this, on_sent = std::move(on_sent)]() mutable {
    RunSendCallback(std::move(on_sent), absl::OkStatus());
  });
}

}  // namespace ringnet::net::internal
