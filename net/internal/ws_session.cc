// WsSession's open and closing phases: frames in, messages out, pings, heartbeats and the close
// handshake. The handshake phase is in ws_session_handshake.cc.
#include "ringnet/net/internal/ws_session.h"

#include <cassert>
#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "ringnet/codec/websocket/close.h"
#include "ringnet/codec/websocket/mask.h"
#include "ringnet/codec/websocket/utf8.h"

namespace ringnet::net::internal {

namespace ws = codec::websocket;
using codec::PackageKind;
using ws::Opcode;

namespace {

// A Close frame's reason from an error message: at most 123 bytes, cut on a UTF-8 boundary;
// empty if it is not UTF-8.
std::string CloseReason(absl::string_view text) {
  if (text.size() > ws::kMaxCloseReasonBytes) {
    size_t n = ws::kMaxCloseReasonBytes;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    text = text.substr(0, n);
  }
  return ws::IsValidUtf8(text) ? std::string(text) : std::string();
}

// The error a peer's Close frame reports (codes other than 1000, 1001 and none).
absl::Status PeerCloseError(const ws::ClosePayload& close) {
  const std::string message =
      absl::StrCat("websocket: the peer closed the connection with code ", close.code,
                   close.reason.empty() ? "" : ": ", close.reason);
  absl::StatusCode code = absl::StatusCode::kAborted;
  switch (close.code) {
    case ws::kCloseProtocolError:
      code = absl::StatusCode::kInvalidArgument;
      break;
    case ws::kCloseInvalidPayload:
      code = absl::StatusCode::kDataLoss;
      break;
    case ws::kClosePolicyViolation:
      code = absl::StatusCode::kPermissionDenied;
      break;
    case ws::kCloseMessageTooBig:
      code = absl::StatusCode::kResourceExhausted;
      break;
    case ws::kCloseInternalError:
      code = absl::StatusCode::kInternal;
      break;
    case ws::kCloseServiceRestart:
    case ws::kCloseTryAgainLater:
      code = absl::StatusCode::kUnavailable;
      break;
  }
  return absl::Status(code, message);
}

absl::Status WithCloseCode(absl::Status error, uint16_t code) {
  error.SetPayload(kCloseCodePayload, absl::Cord(absl::StrCat(code)));
  return error;
}

}  // namespace

absl::Status CheckWsTimeouts(const WsTimeouts& timeouts, absl::string_view options) {
  for (absl::Duration d : {timeouts.handshake_timeout, timeouts.heartbeat_period,
                           timeouts.pong_timeout, timeouts.close_timeout}) {
    if (d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(options, ": timeouts and periods must be positive"));
    }
  }
  return absl::OkStatus();
}

bool WsSession::AcceptsInput() const {
  if (state() == State::kHandshaking || is_open()) return true;
  // Closing: keep parsing until the peer's Close frame, unless this side failed the connection.
  return state() == State::kClosing && !close_received() && !failed();
}

bool WsSession::MayShutdownWrite() const {
  if (state() == State::kRejecting || failed()) return true;  // a refused upgrade, a failed one
  // RFC 6455 7.1.1: the server closes the TCP connection first, once the Close frames crossed;
  // a client waits for the server's FIN (bounded by the close timeout).
  return is_server() && close_received();
}

void WsSession::FeedFrames(absl::Span<char> bytes) {
  if (bytes.empty() || !parser_.has_value() || !AcceptsInput()) return;
  absl::Status status = parser_->Feed(bytes, [this](const ws::Message& m) { OnFrame(m); });
  if (!status.ok()) FailConnection(status, ws::CloseCodeFor(status));
  // For the read timeout: a message whose first bytes arrived is pending.
  const bool partial = parser_->in_message();
  if (partial != partial_tracked_) {
    partial_tracked_ = partial;
    set_partial_since(partial ? loop_->NowNs() : 0);
  }
}

void WsSession::OnFrame(const ws::Message& message) {
  switch (message.type) {
    case Opcode::kText:
    case Opcode::kBinary:
      if (is_open()) {  // closing: input is drained, not delivered
        DeliverData(message.payload,
                    message.type == Opcode::kText ? PackageKind::kText : PackageKind::kBinary);
      }
      return;
    case Opcode::kPing:
      if (is_open()) QueuePong(message.payload);
      return;
    case Opcode::kPong:
      ping_outstanding_ = false;
      CancelTimer(&pong_timer_);
      return;
    case Opcode::kClose:
      OnCloseFrame(message.close);
      return;
    case Opcode::kContinuation:
      return;  // never delivered by the parser
  }
}

void WsSession::DeliverData(absl::string_view payload, PackageKind kind) {
  Package pkg;
  if (raw_codec_) {
    pkg = Package::View(payload, kind);
  } else {
    // One message is one package: the codec must use all of it.
    absl::StatusOr<size_t> used = codec_->Decode(payload, &pkg);
    if (!used.ok()) {
      FailConnection(used.status(), used.status().code() == absl::StatusCode::kResourceExhausted
                                        ? ws::kCloseMessageTooBig
                                        : ws::kCloseInvalidPayload);
      return;
    }
    if (*used == 0 && !payload.empty()) {
      FailConnection(ws::InvalidPayloadError(absl::StrCat("a message of ", payload.size(),
                                                          " bytes holds an incomplete package")),
                     ws::kCloseInvalidPayload);
      return;
    }
    if (*used != payload.size()) {
      FailConnection(ws::InvalidPayloadError(absl::StrCat("a message of ", payload.size(),
                                                          " bytes holds more than one package (",
                                                          *used, " bytes decoded)")),
                     ws::kCloseInvalidPayload);
      return;
    }
    if (*used == 0) pkg = Package::View(payload);  // an empty message: an empty package
    pkg.set_kind(kind);
  }
  DeliverMessage(pkg, peer());
}

void WsSession::OnCloseFrame(const ws::ClosePayload& close) {
  // After a failure the peer's Close frame is only recorded (frames parsed in the same batch).
  if (!failed()) SetCloseState(WsCloseMachine::AfterReceive(close_));
  info_.peer_close_code = close.code;
  info_.peer_close_reason = std::string(close.reason);
  PublishInfo();
  if (!is_open()) {
    MaybeFinishClose();  // our Close frame was answered (or crossed theirs)
    return;
  }
  // The peer started the close: answer with its code (none if it sent none), then close.
  if (!close_sent()) {
    SendCloseFrame(close.code == ws::kCloseNoStatusReceived ? std::nullopt
                                                            : std::optional<uint16_t>(close.code),
                   "");
  }
  if (close.code != ws::kCloseNormal && close.code != ws::kCloseGoingAway &&
      close.code != ws::kCloseNoStatusReceived) {
    DeliverError(WithCloseCode(PeerCloseError(close), close.code));
  }
  Close();
}

void WsSession::QueuePong(absl::string_view payload) {
  // A peer that pings but never reads must not grow the queue: over the high-water mark only
  // the latest ping is answered, once the queue drains (RFC 6455 5.5.3 allows that).
  const int64_t queued = shared_->queued_bytes.load(std::memory_order_relaxed);
  if (queued + static_cast<int64_t>(payload.size()) + 2 > shared_->high_water()) {
    deferred_pong_.emplace(payload);
    return;
  }
  QueueControlFrame(Opcode::kPong, payload);
}

void WsSession::OnSent() {
  if (!deferred_pong_.has_value() || !is_open()) return;
  const int64_t queued = shared_->queued_bytes.load(std::memory_order_relaxed);
  if (queued + static_cast<int64_t>(deferred_pong_->size()) + 2 > shared_->high_water()) return;
  const std::string payload = *std::move(deferred_pong_);
  deferred_pong_.reset();
  QueueControlFrame(Opcode::kPong, payload);
}

void WsSession::StartHeartbeat() {
  if (!is_open() || config_->timeouts.heartbeat_period == absl::InfiniteDuration()) return;
  heartbeat_timer_ = loop_->RunEvery(config_->timeouts.heartbeat_period, [this] {
    if (is_open() && !ping_outstanding_) SendPing();
  });
}

void WsSession::SendPing() {
  ping_outstanding_ = true;
  QueueControlFrame(Opcode::kPing, "ringnet");
  const absl::Duration timeout = config_->timeouts.pong_timeout;
  if (timeout == absl::InfiniteDuration()) return;
  pong_timer_ = loop_->RunAfter(timeout, [this, timeout] {
    pong_timer_ = runtime::TimerId();
    if (!is_open() || !ping_outstanding_) return;
    FailConnection(absl::DeadlineExceededError(absl::StrCat(
                       "websocket: no pong within ", absl::FormatDuration(timeout), " of a ping")),
                   ws::kCloseInternalError);
  });
}

bool WsSession::CloseWithCode(uint16_t code, absl::string_view reason) {
  if (state() == State::kHandshaking) {
    Close();
    return true;
  }
  if (!is_open()) return false;
  SendCloseFrame(code, reason);
  Close();
  return true;
}

void WsSession::FailConnection(const absl::Status& error, uint16_t code) {
  if (failed() || (!is_open() && state() != State::kClosing)) return;
  const bool send = !close_sent();
  SetCloseState(WsCloseState::kFailed);
  if (send) QueueCloseFrame(code, CloseReason(error.message()));
  DeliverError(WithCloseCode(error, code));
  if (is_open()) {
    Close();
  } else {
    MaybeFinishClose();  // already closing: stop waiting for the peer's Close frame
  }
}

void WsSession::TimedOut(const absl::Status& error) {
  if (is_open()) {
    FailConnection(error, ws::kCloseGoingAway);
  } else {
    Teardown(failed() ? absl::OkStatus() : error);  // closing already: stop now
  }
}

void WsSession::BeginGracefulClose() {
  if (state() == State::kClosing) {  // opened: the close handshake (kRejecting: no frames)
    if (!close_sent()) SendCloseFrame(ws::kCloseNormal, "");
    CancelTimer(&heartbeat_timer_);
    CancelTimer(&pong_timer_);
    const absl::Duration timeout = config_->timeouts.close_timeout;
    if (timeout != absl::InfiniteDuration()) {
      close_timer_ = loop_->RunAfter(timeout, [this, timeout] {
        close_timer_ = runtime::TimerId();
        // Past the bound: close the TCP connection ourselves.
        Teardown(close_received() || failed()
                     ? absl::OkStatus()
                     : absl::DeadlineExceededError(
                           absl::StrCat("websocket: no Close frame from the peer within ",
                                        absl::FormatDuration(timeout))));
      });
    }
  }
  TcpSession::BeginGracefulClose();
}

void WsSession::OnPeerEof() {
  if (state() == State::kHandshaking) {
    FailHandshake(
        absl::UnavailableError("websocket: the peer closed the connection during the handshake"));
    return;
  }
  if (is_open()) {
    Teardown(absl::UnavailableError(
        "websocket: the peer closed the TCP connection without a Close frame (1006 abnormal "
        "closure)"));
    return;
  }
  TcpSession::OnPeerEof();
}

void WsSession::CancelIo() {
  for (runtime::TimerId* t : {&handshake_timer_, &heartbeat_timer_, &pong_timer_, &close_timer_}) {
    CancelTimer(t);
  }
  TcpSession::CancelIo();
}

void WsSession::CancelTimer(runtime::TimerId* timer) {
  if (timer->valid()) loop_->Cancel(*timer);
  *timer = runtime::TimerId();
}

// --- Writing ---

std::optional<ws::MaskKey> WsSession::NextMask() const {
  if (is_server()) return std::nullopt;
  return ws::RandomMaskKey();
}

void WsSession::SetCloseState(WsCloseState to) {
  assert(WsCloseMachine::Allows(close_, to) &&
         "WsSession: a close-handshake edge outside the table");
  close_ = to;
}

void WsSession::SendCloseFrame(std::optional<uint16_t> code, absl::string_view reason) {
  SetCloseState(WsCloseMachine::AfterSend(close_));
  QueueCloseFrame(code, reason);
}

void WsSession::QueueCloseFrame(std::optional<uint16_t> code, absl::string_view reason) {
  std::string payload;
  if (code.has_value() && !ws::AppendClosePayload(*code, reason, &payload).ok()) {
    (void)ws::AppendClosePayload(*code, "", &payload);
  }
  QueueControlFrame(Opcode::kClose, payload);
}

void WsSession::QueueControlFrame(Opcode opcode, absl::string_view payload) {
  std::string frame;
  if (ws::AppendFrameWithKey(opcode, /*fin=*/true, payload, NextMask(), &frame).ok()) {
    QueueControlBytes(frame);
  }
}

absl::Status WsSession::EncodeOnto(Package&& pkg, WriteQueue& queue) {
  const Opcode opcode = pkg.kind() == PackageKind::kText ? Opcode::kText : Opcode::kBinary;
  absl::string_view payload = pkg.bytes();
  if (!raw_codec_) {
    scratch_.clear();
    if (absl::Status encoded = codec_->Encode(pkg, &scratch_); !encoded.ok()) return encoded;
    payload = scratch_;
  }
  if (opcode == Opcode::kText && !ws::IsValidUtf8(payload)) {
    return absl::InvalidArgumentError(
        absl::StrCat("session ", id(), ": a text message must be valid UTF-8 (send it as binary)"));
  }
  if (raw_codec_ && pkg.owns_bytes() && payload.size() >= WriteQueue::kCoalesceLimit) {
    AppendOwnedMessage(opcode, std::move(pkg).TakeBytes(), queue);
  } else {
    AppendMessage(opcode, {&payload, 1}, queue);
  }
  if (scratch_.capacity() > WriteQueue::kCoalesceLimit) std::string().swap(scratch_);
  return absl::OkStatus();
}

absl::Status WsSession::AppendBytesOnto(absl::Span<const absl::string_view> parts,
                                        WriteQueue& queue) {
  AppendMessage(Opcode::kBinary, parts, queue);
  return absl::OkStatus();
}

absl::Status WsSession::AppendOwnedOnto(std::string&& bytes, WriteQueue& queue) {
  if (bytes.size() >= WriteQueue::kCoalesceLimit) {
    AppendOwnedMessage(Opcode::kBinary, std::move(bytes), queue);
  } else {
    const absl::string_view view(bytes);
    AppendMessage(Opcode::kBinary, {&view, 1}, queue);
  }
  return absl::OkStatus();
}

void WsSession::AppendMessage(Opcode opcode, absl::Span<const absl::string_view> parts,
                              WriteQueue& queue) {
  size_t total = 0;
  for (absl::string_view p : parts) total += p.size();
  if (total + ws::kMaxFrameHeaderBytes >= WriteQueue::kCoalesceLimit) {
    std::string payload;
    payload.reserve(total);
    for (absl::string_view p : parts) payload.append(p.data(), p.size());
    AppendOwnedMessage(opcode, std::move(payload), queue);
    return;
  }
  const std::optional<ws::MaskKey> mask = NextMask();
  if (!mask.has_value() && parts.size() == 1 && queue.CanLend(parts[0])) {
    // Unmasked bytes still in the receive buffer (an echo): the header joins the tail buffer, the
    // payload is sent from the receive buffer.
    queue.AppendWith(ws::kMaxFrameHeaderBytes, [&](std::string* out) {
      ws::AppendFrameHeader(opcode, /*fin=*/true, total, mask, out);
      return true;
    });
    queue.Lend(parts[0]);
    return;
  }
  // Small: header and payload join the queue's tail buffer, masked there.
  queue.AppendWith(total + ws::kMaxFrameHeaderBytes, [&](std::string* out) {
    ws::AppendFrameHeader(opcode, /*fin=*/true, total, mask, out);
    const size_t start = out->size();
    for (absl::string_view p : parts) out->append(p.data(), p.size());
    if (mask.has_value()) ws::ApplyMask(out->data() + start, total, *mask);
    return true;
  });
}

void WsSession::AppendOwnedMessage(Opcode opcode, std::string&& payload, WriteQueue& queue) {
  const std::optional<ws::MaskKey> mask = NextMask();
  std::string header;
  ws::AppendFrameHeader(opcode, /*fin=*/true, payload.size(), mask, &header);
  if (mask.has_value()) ws::ApplyMask(payload.data(), payload.size(), *mask);
  queue.Append(header);
  queue.AppendOwned(std::move(payload));
}

}  // namespace ringnet::net::internal
