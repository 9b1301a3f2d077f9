#include "ringnet/net/internal/tcp_session.h"

#include <liburing.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ringnet::net::internal {

TcpSession::TcpSession(runtime::EventLoop* loop, UniqueFd fd, SessionKind kind)
    : SessionBase(loop, kind), fd_(std::move(fd)), queue_(&LoopRegistry::Of(loop)) {
  absl::StatusOr<InetAddress> local = LocalAddressOf(fd_.get());
  absl::StatusOr<InetAddress> remote = PeerAddressOf(fd_.get());
  std::lock_guard<std::mutex> lock(shared_->mutex);
  if (local.ok()) shared_->local = *local;
  if (remote.ok()) shared_->remote = *remote;
}

TcpSession::~TcpSession() {
  if (buffers_ != nullptr) buffers_->CancelWait(this);
}

absl::Status TcpSession::StartIo() {
  if (options_.tcp_no_delay) {
    // Best effort: a failure only costs latency.
    (void)SetTcpNoDelay(fd_.get(), true);
  }
  return ArmInput();
}

absl::Status TcpSession::ArmInput() {
  if (buffers_ == nullptr) {
    absl::StatusOr<runtime::BufferRing*> buffers = loop_->GetBufferRing(kStreamBufferSize);
    if (!buffers.ok()) return buffers.status();
    buffers_ = *buffers;
  }
  ArmRecv();  // does nothing if a receive is already armed (a handshake armed it)
  return absl::OkStatus();
}

void TcpSession::ArmRecv() {
  if (read_ != StreamReadState::kIdle && read_ != StreamReadState::kPaused &&
      read_ != StreamReadState::kStarved) {
    return;  // armed, cancelling, or at EOF
  }
  if (closed()) return;
  if (reading_paused()) {
    read_ = StreamReadState::kPaused;
    return;
  }
  read_ = StreamReadState::kArmed;
  loop_->SubmitRecvMultishot(&recv_op_, fd_.get(), buffers_);
}

void TcpSession::ContinueReading() {
  // (A handshake that opened the session while handling the bytes may have re-armed already.)
  if (read_ == StreamReadState::kCancelling) read_ = StreamReadState::kIdle;
  ArmRecv();
}

void TcpSession::StopInput() {
  switch (read_) {
    case StreamReadState::kArmed:
      // The receive ends with -ECANCELED (or on its own); what it brings until then is kept.
      read_ = StreamReadState::kCancelling;
      ++cancels_;
      loop_->SubmitCancel(&recv_op_, &cancel_op_);
      return;
    case StreamReadState::kStarved:
      if (buffers_ != nullptr) buffers_->CancelWait(this);
      read_ = StreamReadState::kPaused;
      return;
    case StreamReadState::kIdle:
      read_ = StreamReadState::kPaused;
      return;
    default:
      return;
  }
}

void TcpSession::RestartInput() {
  // Not inside the caller (a listener callback may be decoding this session's input): at the end
  // of the iteration.
  loop_->Defer([this] { Resume(); });
}

void TcpSession::Resume() {
  if (closed() || reading_paused()) return;
  if (!input_.empty() && AcceptsInput()) {  // (closing: what waits is drained, not delivered)
    ConsumeInput();
    if (closed() || reading_paused()) return;  // paused again by what it delivered
  }
  if (read_ == StreamReadState::kEofHeld) {
    read_ = StreamReadState::kEof;
    OnPeerEof();
    return;
  }
  if (read_ == StreamReadState::kPaused && buffers_ != nullptr) ArmRecv();
}

void TcpSession::OnRecv(int32_t result, uint32_t flags) {
  const bool more = (flags & IORING_CQE_F_MORE) != 0;
  if (!more && read_ == StreamReadState::kArmed) read_ = StreamReadState::kIdle;
  if (result > 0 && runtime::BufferRing::HasBuffer(flags)) {
    const uint16_t id = runtime::BufferRing::BufferId(flags);
    char* data = buffers_->Take(id);
    // While the bytes are handled, writes of them may hold the buffer instead of copying; it goes
    // back to the ring here unless one did, else when the last such write is sent.
    const ReceiveWindow previous = queue_.pool()->SetReceiving(
        ReceiveWindow{buffers_, id, data, data + static_cast<size_t>(result)});
    HandleBytes(absl::Span<char>(data, static_cast<size_t>(result)));
    queue_.pool()->SetReceiving(previous);
    buffers_->Release(id);
    if (!more) ContinueReading();
  } else if (result == 0) {
    if (reading_paused() && is_open()) {
      read_ = StreamReadState::kEofHeld;  // what came before it is delivered first
    } else {
      OnPeerEof();
    }
  } else if (result == -ENOBUFS) {
    if (reading_paused()) {
      read_ = StreamReadState::kPaused;
    } else {
      // Other receives took every buffer. Re-arm when the ring has buffers and it is our turn:
      // with more sessions starved than the ring can serve, re-arming all at once would fail
      // again.
      read_ = StreamReadState::kStarved;
      buffers_->Wait(this);
    }
  } else if (result == -ECANCELED) {
    if (read_ == StreamReadState::kCancelling) {
      ContinueReading();  // our pause (paused: stays so; resumed meanwhile: re-armed)
    } else {
      Teardown(absl::OkStatus());  // no-op when we cancelled it; else the loop is stopping
    }
  } else {
    Teardown(SocketError("recv", -result));
  }
  MaybeRelease();
}

void TcpSession::HandleBytes(absl::Span<char> bytes) {
  NoteRead(bytes.size());
  if (!AcceptsInput()) return;  // e.g. closing: input is drained, not delivered
  if (reading_paused()) {
    // Arrived before the pause's cancel landed: kept as they are, delivered on resume.
    input_.append(bytes.data(), bytes.size());
    return;
  }
  if (input_.empty()) {
    // Fast path: decode straight from the receive buffer; keep only a partial package's bytes.
    absl::StatusOr<size_t> used = Consume(bytes);
    if (!used.ok()) {
      Teardown(used.status());
      return;
    }
    if (*used < bytes.size() && AcceptsInput()) {
      input_.assign(bytes.data() + *used, bytes.size() - *used);
      set_partial_since(loop_->NowNs());
    }
    CheckLeftover();
    return;
  }
  input_.append(bytes.data(), bytes.size());
  ConsumeInput();
}

void TcpSession::ConsumeInput() {
  absl::StatusOr<size_t> used = Consume(absl::MakeSpan(input_));
  if (!used.ok()) {
    Teardown(used.status());
    return;
  }
  input_.erase(0, *used);
  if (*used > 0 && !input_.empty()) set_partial_since(loop_->NowNs());
  CheckLeftover();
}

void TcpSession::CheckLeftover() {
  if (closed()) return;
  // Paused during Consume: the rest may hold whole packages, not yet offered.
  if (input_.size() > options_.max_msg_len && !reading_paused()) {
    Teardown(absl::ResourceExhaustedError(
        absl::StrCat("session ", id(), ": a package still incomplete after ", input_.size(),
                     " bytes exceeds max_msg_len ", options_.max_msg_len)));
    return;
  }
  if (input_.empty()) {
    // A protocol that buffers partial messages itself (WebSocket) tracks their start.
    if (!HasPartialInput()) set_partial_since(0);
    if (input_.capacity() > kStreamBufferSize) std::string().swap(input_);
  }
}

absl::StatusOr<size_t> TcpSession::Consume(absl::Span<char> bytes) {
  return DecodeAndDeliver(absl::string_view(bytes.data(), bytes.size()), peer());
}

void TcpSession::OnPeerEof() {
  read_ = StreamReadState::kEof;
  if (is_open()) {
    // The peer finished sending: close as getty does, but flush our replies first.
    Close();
  } else {
    MaybeFinishClose();
  }
}

absl::Status TcpSession::Admit(size_t bytes, size_t reserved) {
  absl::Status error;
  if (!AdmitWrite(bytes, reserved, &error)) {
    if (reserved > 0) shared_->Unreserve(static_cast<int64_t>(reserved));
    return error;
  }
  if (queue_.empty()) NoteWriteProgress();
  return absl::OkStatus();
}

template <typename Append>
absl::Status TcpSession::QueueWrite(size_t size, size_t reserved, Append&& append) {
  if (absl::Status admitted = Admit(size, reserved); !admitted.ok()) return admitted;
  const size_t before = queue_.size();
  absl::Status appended = append(queue_);
  const size_t added = queue_.size() - before;
  // Settle the reservation (made for `size`) against what was queued (framing, encoding).
  const size_t counted = std::max(size, reserved);
  if (added > counted) {
    shared_->queued_bytes.fetch_add(static_cast<int64_t>(added - counted),
                                    std::memory_order_relaxed);
  } else if (added < counted) {
    shared_->Unreserve(static_cast<int64_t>(counted - added));
  }
  if (appended.ok()) {
    ScheduleFlush();
    NoteQueued();
  }
  return appended;
}

absl::Status TcpSession::WritePkg(Package&& pkg, const InetAddress*, size_t reserved) {
  absl::Status queued = QueueWrite(
      pkg.size(), reserved, [&](WriteQueue& queue) { return EncodeOnto(std::move(pkg), queue); });
  if (queued.ok()) Bump(shared_->packages_out, 1);
  return queued;
}

absl::Status TcpSession::EncodeOnto(Package&& pkg, WriteQueue& queue) {
  if (raw_codec_ && !pkg.owns_bytes() && queue.CanLend(pkg.bytes())) {
    queue.Append(pkg.bytes());  // raw bytes still in the receive buffer: sent from there
    return absl::OkStatus();
  }
  return queue.AppendWith(pkg.size() + 16,
                          [&](std::string* out) { return codec_->Encode(pkg, out); });
}

absl::Status TcpSession::AppendBytesOnto(absl::Span<const absl::string_view> parts,
                                         WriteQueue& queue) {
  for (absl::string_view p : parts) queue.Append(p);
  return absl::OkStatus();
}

absl::Status TcpSession::AppendOwnedOnto(std::string&& bytes, WriteQueue& queue) {
  if (bytes.size() >= WriteQueue::kCoalesceLimit) {
    queue.AppendOwned(std::move(bytes));
  } else {
    queue.Append(bytes);
  }
  return absl::OkStatus();
}

absl::Status TcpSession::WriteBytes(absl::string_view bytes, const InetAddress*, size_t reserved) {
  return QueueWrite(bytes.size(), reserved, [&](WriteQueue& queue) {
    return AppendBytesOnto({&bytes, 1}, queue);
  });
}

absl::Status TcpSession::WriteOwned(std::string&& bytes, const InetAddress*, size_t reserved) {
  const size_t size = bytes.size();
  return QueueWrite(size, reserved,
                    [&](WriteQueue& queue) { return AppendOwnedOnto(std::move(bytes), queue); });
}

absl::Status TcpSession::WriteBytesArray(absl::Span<const absl::string_view> parts,
                                         size_t reserved) {
  size_t total = 0;
  for (absl::string_view p : parts) total += p.size();
  return QueueWrite(total, reserved,
                    [&](WriteQueue& queue) { return AppendBytesOnto(parts, queue); });
}

void TcpSession::QueueControlBytes(absl::string_view bytes) {
  if (closed()) return;
  if (queue_.empty()) NoteWriteProgress();
  shared_->queued_bytes.fetch_add(static_cast<int64_t>(bytes.size()), std::memory_order_relaxed);
  queue_.Append(bytes);
  ScheduleFlush();
  NoteQueued();
}

bool TcpSession::DiscardQueued() {
  if (send_ == StreamSendState::kInFlight || queue_.in_flight()) return false;
  shared_->Unreserve(static_cast<int64_t>(queue_.size()));
  queue_.Clear();
  return true;
}

void TcpSession::ScheduleFlush() {
  if (send_ != StreamSendState::kIdle) return;
  send_ = StreamSendState::kScheduled;
  // At the end of the iteration, so every write made meanwhile leaves in the same send.
  loop_->Defer([this] {
    send_ = StreamSendState::kIdle;
    Flush();
  });
}

void TcpSession::Flush() {
  if (send_ == StreamSendState::kInFlight || queue_.empty() || closed()) return;
  size_t bytes = 0;
  iovec iov[SendVector::kMaxIov];
  const int n = queue_.Gather(iov, SendVector::kMaxIov, &bytes);
  send_ = StreamSendState::kInFlight;
  Bump(shared_->send_requests, 1);
  if (n == 1) {
    loop_->SubmitSend(&send_op_, fd_.get(), iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
  } else {
    send_vector_ = queue_.pool()->TakeSendVector();
    std::copy_n(iov, n, send_vector_->iov);
    send_vector_->msg = msghdr{};
    send_vector_->msg.msg_iov = send_vector_->iov;
    send_vector_->msg.msg_iovlen = static_cast<size_t>(n);
    loop_->SubmitSendmsg(&send_op_, fd_.get(), &send_vector_->msg, MSG_NOSIGNAL);
  }
}

void TcpSession::OnSend(int32_t result, uint32_t) {
  send_ = StreamSendState::kIdle;
  if (send_vector_ != nullptr) queue_.pool()->GiveSendVector(std::move(send_vector_));
  if (result >= 0) {
    queue_.Consume(static_cast<size_t>(result));
    NoteWritten(static_cast<size_t>(result));
    if (pending_sends_ != nullptr && !pending_sends_->empty()) RunSentCallbacks();
    if (!closed()) {
      if (!queue_.empty()) {
        ScheduleFlush();
      } else {
        MaybeFinishClose();
      }
      if (!closed()) OnSent();
    }
  } else if (result == -ECANCELED) {
    Teardown(absl::OkStatus());
  } else {
    Teardown(SocketError("send", -result));
  }
  MaybeRelease();
}

void TcpSession::NotifyWhenSent(absl::AnyInvocable<void(const absl::Status&)> on_sent) {
  const uint64_t end = queue_.consumed() + queue_.size();
  if (pending_sends_ == nullptr) pending_sends_ = std::make_unique<std::deque<PendingSend>>();
  pending_sends_->push_back(PendingSend{end, std::move(on_sent)});
  // Nothing left to send (an empty write): at the end of the iteration, never inside the call.
  if (queue_.empty()) loop_->Defer([this] { RunSentCallbacks(); });
}

void TcpSession::RunSentCallbacks() {
  if (pending_sends_ == nullptr) return;
  const uint64_t sent = queue_.consumed();
  while (!pending_sends_->empty() && pending_sends_->front().end <= sent) {
    absl::AnyInvocable<void(const absl::Status&)> on_sent =
        std::move(pending_sends_->front().on_sent);
    pending_sends_->pop_front();
    RunSendCallback(std::move(on_sent), absl::OkStatus());
  }
}

void TcpSession::FailPendingSends(const absl::Status& reason) {
  if (pending_sends_ == nullptr) return;
  // Bytes the kernel took before the teardown did leave.
  RunSentCallbacks();
  while (!pending_sends_->empty()) {
    absl::AnyInvocable<void(const absl::Status&)> on_sent =
        std::move(pending_sends_->front().on_sent);
    pending_sends_->pop_front();
    RunSendCallback(std::move(on_sent), reason);
  }
}

void TcpSession::BeginGracefulClose() { MaybeFinishClose(); }

void TcpSession::MaybeFinishClose() {
  if (!closing() || send_ != StreamSendState::kIdle || !queue_.empty()) return;
  if (read_ == StreamReadState::kEof) {
    Teardown(absl::OkStatus());
    return;
  }
  if (!fin_sent_ && MayShutdownWrite()) {
    // Our side is done: send FIN, then wait (within the linger bound) for the peer's FIN, so
    // that closing never resets data the peer has not read yet.
    fin_sent_ = true;
    if (::shutdown(fd_.get(), SHUT_WR) != 0) Teardown(absl::OkStatus());
  }
}

void TcpSession::OnBuffersFree() { ArmRecv(); }

void TcpSession::CancelIo() {
  // The queue stays until destruction: a send in flight may still read its buffers.
  if (buffers_ != nullptr) buffers_->CancelWait(this);
  if (read_ == StreamReadState::kArmed) {  // (kCancelling: its cancel is in flight already)
    ++cancels_;
    loop_->SubmitCancel(&recv_op_, &cancel_op_);
  }
  if (send_ == StreamSendState::kInFlight) {
    ++cancels_;
    loop_->SubmitCancel(&send_op_, &cancel_op_);
  }
}

void TcpSession::OnCancelled(int32_t, uint32_t) {
  --cancels_;
  MaybeRelease();
}

}  // namespace ringnet::net::internal
