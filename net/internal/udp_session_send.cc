// UdpSession's send path: the writes (each datagram a slot from the session's pool), the waiting
// queue and its flush once per iteration (GSO runs as batches, other datagrams alone, peer
// switches in order), the send window, completions (retire, report, requeue a refused batch),
// write callbacks, and dropping what waits on close. udp_session.h describes the design.
#include <algorithm>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/udp_peer_session.h"
#include "ringnet/net/internal/udp_segment.h"
#include "ringnet/net/internal/udp_session.h"

namespace ringnet::net::internal {
namespace {

bool IsIcmpError(int32_t result) {
  return result == -ECONNREFUSED || result == -EHOSTUNREACH || result == -ENETUNREACH;
}

}  // namespace

absl::Status UdpSession::WritePkg(Package&& pkg, const InetAddress* to, size_t reserved) {
  return Send(pkg.size(), to, reserved, /*for_peer=*/false,
              [&](std::string* out) { return codec_->Encode(pkg, out); });
}

absl::Status UdpSession::WriteBytes(absl::string_view bytes, const InetAddress* to,
                                    size_t reserved) {
  return Send(bytes.size(), to, reserved, /*for_peer=*/false, [&](std::string* out) {
    out->assign(bytes.data(), bytes.size());
    return absl::OkStatus();
  });
}

absl::Status UdpSession::WriteOwned(std::string&& bytes, const InetAddress* to, size_t reserved) {
  return Send(bytes.size(), to, reserved, /*for_peer=*/false, [&](std::string* out) {
    out->swap(bytes);
    return absl::OkStatus();
  });
}

absl::Status UdpSession::WriteBytesArray(absl::Span<const absl::string_view> parts,
                                         size_t reserved) {
  size_t total = 0;
  for (absl::string_view p : parts) total += p.size();
  // One datagram made of the parts (connected sessions only: the handle checks).
  return Send(total, nullptr, reserved, /*for_peer=*/false, [&](std::string* out) {
    for (absl::string_view p : parts) out->append(p.data(), p.size());
    return absl::OkStatus();
  });
}

absl::Status UdpSession::SendForPeer(std::string&& datagram, const InetAddress& to) {
  return Send(datagram.size(), &to, 0, /*for_peer=*/true, [&](std::string* out) {
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
                              bool for_peer, Fill&& fill) {
  absl::Status error;
  if (!AdmitWrite(estimate, reserved, &error)) {
    if (reserved > 0) NoteUnqueued(reserved);
    // Past write_high_water (not closed): the datagram is dropped here.
    if (absl::IsResourceExhausted(error) && !for_peer) return DropRefused(std::move(error));
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
    NoteUnqueued(counted);
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
  NoteQueued();
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
    RunFinishedSends();  // those a failed peer switch dropped
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
    const int dropped = DropWaiting(connected, /*up_to_switch=*/true);
    NoteDropsReported(static_cast<uint64_t>(dropped));
    DeliverError(
        absl::Status(connected.code(), absl::StrCat(connected.message(), "; ", dropped,
                                                    " datagrams written for that peer dropped")));
  }
  slots_.Recycle(marker);
}

int UdpSession::DropWaiting(const absl::Status& why, bool up_to_switch) {
  int dropped = 0;
  while (!waiting_.empty() && !(up_to_switch && waiting_.front().kind == SlotKind::kPeerSwitch)) {
    SendSlot* slot = waiting_.PopFront();
    if (slot->kind != SlotKind::kPeerSwitch) {
      NoteUnqueued(slot->data.size());
      Finished(*slot, why);
      ++dropped;
    }
    slots_.Recycle(slot);
  }
  CountDrops(static_cast<uint64_t>(dropped));
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
  RunFinishedSends();
  if (!closed() && !waiting_.empty()) ScheduleFlush();
  if (closing() && SendsDone()) Teardown(absl::OkStatus());
  MaybeRelease();
}

void UdpSession::OnBatchSent(SendBatch* batch, int32_t result) {
  --requests_in_kernel_;
  datagrams_in_kernel_ -= static_cast<int>(batch->slots.size());
  if (result >= 0) {
    NoteWritten(batch->bytes);
    while (!batch->slots.empty()) {
      SendSlot* slot = batch->slots.PopFront();
      Finished(*slot, absl::OkStatus());  // one completion retires the whole run
      slots_.Recycle(slot);
    }
  } else if (closed() || result == -ECANCELED) {
    // Closed: the callbacks have run (FailPendingSends), and the close announced what the kernel
    // held. Cancelled under an open session (the loop is stopping): lost, and said so.
    const size_t count = batch->slots.size();
    NoteUnqueued(batch->bytes);
    CountDrops(count);
    const absl::Status error = SocketError("sendmsg", -result);
    while (!batch->slots.empty()) {
      SendSlot* slot = batch->slots.PopFront();
      Finished(*slot, error);
      slots_.Recycle(slot);
    }
    if (!closed()) {
      NoteDropsReported(count);
      DeliverError(
          absl::Status(error.code(), absl::StrCat("udp session ", id(), ": ", error.message(), "; ",
                                                  count, " datagrams dropped")));
    }
  } else if (IsIcmpError(result)) {
    // An earlier datagram's ICMP error, reported by this send as it would be by a plain send:
    // the first datagram is lost with it, the rest go again.
    const absl::Status error = IcmpError("send", -result);
    SendSlot* first = batch->slots.PopFront();
    NoteUnqueued(first->data.size());
    CountDrops(1);
    NoteDropsReported(1);  // by the ICMP error's report
    Finished(*first, error);
    slots_.Recycle(first);
    Requeue(std::move(batch->slots), /*alone=*/false);
    ReportIcmpError(error);  // may close, which drops what waits
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
  // Not finished: their callbacks wait for the resends.
  Requeue(std::move(batch->slots), /*alone=*/true);
}

void UdpSession::OnSent(SendSlot* slot, int32_t result, uint32_t) {
  --requests_in_kernel_;
  --datagrams_in_kernel_;
  const size_t size = slot->data.size();
  if (result >= 0) {
    NoteWritten(size);
    Finished(*slot, absl::OkStatus());
  } else {
    NoteUnqueued(size);
    CountDrops(1);
    if (closed()) {
      Finished(*slot, SocketError("send", -result));  // (its callback has run already)
    } else {
      const absl::Status error =
          IsIcmpError(result)
              ? IcmpError("send", -result)
              : SocketError(connected_ ? "send"
                                       : absl::StrCat("sendmsg to ", slot->peer.ToString()).c_str(),
                            -result);
      NoteDropsReported(1);  // by the error's report
      Finished(*slot, error);
      if (IsIcmpError(result)) {
        ReportIcmpError(error);
      } else {
        DeliverError(error);
      }
    }
  }
  slots_.Recycle(slot);
  AfterSendCompletion();
}

void UdpSession::NotifyWhenSent(absl::AnyInvocable<void(const absl::Status&)> on_sent) {
  AwaitSent(nullptr, std::move(on_sent));
}

void UdpSession::AwaitSent(UdpPeerSession* owner,
                           absl::AnyInvocable<void(const absl::Status&)> on_sent) {
  // The write that just succeeded accepted datagram `accepted_`, which waits for the flush at
  // the end of the iteration: the callback cannot run inside the write.
  if (pending_sends_ == nullptr) pending_sends_ = std::make_unique<std::deque<PendingSend>>();
  pending_sends_->push_back(PendingSend{accepted_, owner, std::move(on_sent)});
}

void UdpSession::Resolve(uint64_t seq, const absl::Status& status) {
  std::deque<PendingSend>& pending = *pending_sends_;
  // Datagrams mostly finish in write order: the one at the front is the usual match; one
  // without a callback is below it or between two.
  if (seq < pending.front().seq || seq > pending.back().seq) return;
  auto it = pending.begin();
  if (it->seq != seq) {
    it = std::lower_bound(pending.begin(), pending.end(), seq,
                          [](const PendingSend& p, uint64_t s) { return p.seq < s; });
    if (it == pending.end() || it->seq != seq) return;
  }
  it->done = true;
  it->status = status;
}

void UdpSession::RunFinishedSends() {
  if (pending_sends_ == nullptr) return;
  // Re-checked each time: a callback (run here without an executor) may write, or close.
  while (!pending_sends_->empty() && pending_sends_->front().done) {
    PendingSend pending = std::move(pending_sends_->front());
    pending_sends_->pop_front();
    RunSendCallbackOf(pending, pending.status);
  }
}

void UdpSession::RunSendCallbackOf(PendingSend& pending, const absl::Status& status) {
  if (pending.owner != nullptr) {
    pending.owner->CompleteSend(std::move(pending.on_sent), status);
  } else {
    RunSendCallback(std::move(pending.on_sent), status);
  }
}

void UdpSession::FailPeerSends(UdpPeerSession* peer, const absl::Status& reason) {
  if (pending_sends_ == nullptr) return;
  std::vector<PendingSend> theirs;
  std::deque<PendingSend> rest;
  for (PendingSend& p : *pending_sends_) {
    if (p.owner == peer) {
      theirs.push_back(std::move(p));
    } else {
      rest.push_back(std::move(p));
    }
  }
  pending_sends_->swap(rest);
  // Those whose datagram is done have their fate; the rest, the peer's close.
  for (PendingSend& p : theirs) RunSendCallbackOf(p, p.done ? p.status : reason);
}

void UdpSession::FailPendingSends(const absl::Status& reason) {
  const int in_kernel = datagrams_in_kernel_;
  const int dropped = DropWaiting(reason);
  NoteDropsReported(static_cast<uint64_t>(dropped));  // by the close's report below
  // In write order: done ones with their datagram's fate, the others (waiting, or in the
  // kernel's hands, which may still leave) with the close, as a stream session does.
  while (pending_sends_ != nullptr && !pending_sends_->empty()) {
    PendingSend pending = std::move(pending_sends_->front());
    pending_sends_->pop_front();
    RunSendCallbackOf(pending, pending.done ? pending.status : reason);
  }
  FlushDropReports();
  if (dropped > 0) {
    std::string message =
        absl::StrCat("udp session ", id(), ": closed with ", dropped,
                     dropped == 1 ? " datagram" : " datagrams", " not sent yet: dropped");
    if (in_kernel > 0) {
      absl::StrAppend(&message, " (", in_kernel,
                      " more in the kernel's hands leave, or come back cancelled and count as "
                      "dropped)");
    }
    DeliverErrorBeforeClose(absl::Status(reason.code(), message));
  }
}

std::string UdpSession::RefusalCause() const {
  return absl::StrCat("the send queue was full (write_high_water ", shared_->high_water(),
                      " bytes)");
}

}  // namespace ringnet::net::internal
