#include "ringnet/net/internal/session_base.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringnet/codec/raw_codec.h"

namespace ringnet::net::internal {
namespace {

std::atomic<uint64_t> g_next_session_id{1};

int64_t FiniteNs(absl::Duration d) {
  return d == absl::InfiniteDuration() ? 0 : std::max<int64_t>(absl::ToInt64Nanoseconds(d), 1);
}

}  // namespace

SessionLimits SessionLimits::From(const SessionOptions& o) {
  SessionLimits l;
  l.read_timeout_ns = FiniteNs(o.read_timeout);
  l.write_timeout_ns = FiniteNs(o.write_timeout);
  l.idle_timeout_ns = FiniteNs(o.idle_timeout);
  l.cron_period_ns = FiniteNs(o.cron_period);
  l.close_linger_ns = FiniteNs(o.close_linger);
  l.max_msg_len = o.max_msg_len;
  const auto cap = [](size_t v, int64_t limit) {
    return static_cast<int64_t>(std::min<uint64_t>(v, static_cast<uint64_t>(limit)));
  };
  const int64_t hard = cap(o.write_high_water, INT64_MAX);
  l.write_high_mark = cap(o.write_water_mark.high, hard);
  l.write_low_mark = cap(o.write_water_mark.low, l.write_high_mark);
  l.executor_backlog = cap(o.executor_backlog, INT64_MAX);
  l.pause_reading_when_unwritable = o.pause_reading_when_unwritable;
  l.max_datagram = static_cast<uint32_t>(std::min<size_t>(o.max_datagram, UINT32_MAX));
  l.tcp_no_delay = o.tcp_no_delay;
  l.close_on_icmp_error = o.close_on_icmp_error;
  l.udp_gso = o.udp_gso;
  return l;
}

absl::string_view SessionStateName(SessionState state) {
  switch (state) {
    case SessionState::kHandshaking:
      return "handshaking";
    case SessionState::kConfiguring:
      return "configuring";
    case SessionState::kOpening:
      return "opening";
    case SessionState::kOpeningThenClose:
      return "opening-then-close";
    case SessionState::kOpen:
      return "open";
    case SessionState::kClosing:
      return "closing";
    case SessionState::kRejecting:
      return "rejecting";
    case SessionState::kClosed:
      return "closed";
    case SessionState::kReleased:
      return "released";
  }
  return "unknown";
}

// An edge reads from -> to; the table test (session_state_test) would catch a swap.
// NOLINTNEXTLINE(bugprone-easily-swappable-parameters)
bool StateMachine::Allows(SessionState from, SessionState to) {
  using S = SessionState;
  switch (to) {
    case S::kHandshaking:
      return false;  // only where a session starts
    case S::kConfiguring:
      return from == S::kHandshaking;
    case S::kOpening:
      return from == S::kConfiguring;
    case S::kOpeningThenClose:
      return from == S::kConfiguring || from == S::kOpening;
    case S::kOpen:
      return from == S::kOpening || from == S::kOpeningThenClose;
    case S::kClosing:
      return from == S::kOpen;
    case S::kRejecting:
      return PreOpen(from);
    case S::kClosed:
      return from < S::kClosed;
    case S::kReleased:
      return from == S::kClosed;
  }
  return false;
}

SessionBase::SessionBase(runtime::EventLoop* loop, SessionKind kind)
    : loop_(loop),
      shared_(std::make_shared<SessionShared>(
          g_next_session_id.fetch_add(1, std::memory_order_relaxed), loop, kind)),
      handle_(SessionAccess::MakeHandle(shared_)) {
  shared_->core = this;
}

SessionBase::~SessionBase() {
  shared_->core = nullptr;
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->attached = false;
}

absl::Status SessionBase::Open(const NewSessionCallback& callback) {
  absl::Status status = Configure(callback);
  if (status.ok()) status = CallOnOpen();
  if (!status.ok()) {
    Teardown(status);  // not open yet: no callbacks; the endpoint learns `status`
    return status;
  }
  return Activate();
}

void SessionBase::Transition(State to, const absl::Status& why) {
  const State from = state_;
  assert(StateMachine::Allows(from, to) && "SessionBase: a lifecycle edge outside the table");
  state_ = to;
  // Writes from other threads are refused from the first sign of closing on.
  if (to == State::kOpeningThenClose || to >= State::kClosing) {
    shared_->closing.store(true, std::memory_order_release);
  }
  if (StateMachine::PreOpen(from) && (to == State::kRejecting || to == State::kClosed)) {
    ReportOpenResult(why.ok() ? absl::CancelledError("closed before it opened") : why);
  }
}

absl::Status SessionBase::Configure(const NewSessionCallback& callback) {
  if (observer_ != nullptr) observer_->OnSessionOpening(this);
  Transition(State::kConfiguring);
  SessionConfig config;
  config.session = handle_;
  absl::Status status = absl::OkStatus();
  if (loop_->stopping()) {
    status = absl::UnavailableError("the session's event loop is stopping");
  } else if (!callback) {
    status = absl::InvalidArgumentError("no NewSessionCallback configured");
  } else {
    status = callback(config);
  }
  if (status.ok() && config.listener == nullptr) {
    status = absl::InvalidArgumentError("the NewSessionCallback set no listener");
  }
  if (!status.ok()) return status;
  listener_ = std::move(config.listener);
  codec_ = config.codec != nullptr ? std::move(config.codec) : std::make_shared<codec::RawCodec>();
  raw_codec_ = dynamic_cast<const codec::RawCodec*>(codec_.get()) != nullptr;
  options_ = SessionLimits::From(config.options);
  shared_->write_high_water.store(static_cast<int64_t>(config.options.write_high_water),
                                  std::memory_order_relaxed);
  if (shared_->kind == SessionKind::kUdp || shared_->kind == SessionKind::kUdpConnected ||
      shared_->kind == SessionKind::kUdpPeer) {
    shared_->max_datagram.store(options_.max_datagram, std::memory_order_relaxed);
  }
  if (config.options.executor != nullptr) {
    serial_ = std::make_shared<SerialExecutor>(config.options.executor);
  }
  if (state_ == State::kConfiguring) Transition(State::kOpening);  // else a Close() came
  return absl::OkStatus();
}

absl::Status SessionBase::CallOnOpen() { return listener_->OnOpen(handle_); }

absl::Status SessionBase::Activate() {
  const bool close_now = state_ == State::kOpeningThenClose;
  Transition(State::kOpen);
  const int64_t now = loop_->NowNs();
  shared_->opened_ns.store(now, std::memory_order_relaxed);
  shared_->last_read_ns.store(now, std::memory_order_relaxed);
  write_progress_ns_ = now;
  if (absl::Status io = StartIo(); !io.ok()) {
    ReportOpenResult(io);
    Teardown(io);
    return io;
  }
  StartTimers();
  ReportOpenResult(absl::OkStatus());
  if (close_now) Close();
  return absl::OkStatus();
}

void SessionBase::ReportOpenResult(const absl::Status& result) {
  if (observer_ != nullptr) observer_->OnSessionOpenResult(this, result);
}

void SessionBase::CloseUnopened(const absl::Status& reason) {
  if (!StateMachine::PreOpen(state_)) return;
  Transition(State::kRejecting, reason);
  StartLingerTimer();
  BeginGracefulClose();
}

void SessionBase::Close() {
  switch (state_) {
    case State::kConfiguring:
    case State::kOpening:
      // From the NewSessionCallback or OnOpen: close gracefully once open, so what OnOpen wrote
      // still leaves (later writes are refused, as when closing).
      Transition(State::kOpeningThenClose);
      return;
    case State::kOpen:
      Transition(State::kClosing);
      if (pause_ != 0) {  // the goodbye reads on to the peer's FIN (or Close frame)
        pause_ = 0;
        shared_->reading_paused.store(false, std::memory_order_relaxed);
        RestartInput();
      }
      StartLingerTimer();
      BeginGracefulClose();
      return;
    default:
      return;  // handshaking (a subclass's), or closing or closed already
  }
}

void SessionBase::StartLingerTimer() {
  const int64_t linger = options_.close_linger_ns;
  if (linger > 0) {
    linger_timer_ = loop_->RunAfter(absl::Nanoseconds(linger), [this] {
      linger_timer_ = runtime::TimerId();
      Teardown(absl::OkStatus());
    });
  }
}

absl::Status SessionBase::Connect(const InetAddress&) {
  return absl::FailedPreconditionError(
      absl::StrCat("session ", id(), ": Connect is for connected UDP sessions"));
}

template <typename F>
void SessionBase::Dispatch(F&& call) {
  if (serial_ == nullptr) {
    call();
  } else {
    serial_->Execute(std::forward<F>(call));
  }
}

absl::StatusOr<size_t> SessionBase::DecodeAndDeliver(absl::string_view bytes,
                                                     const InetAddress& from) {
  size_t used = 0;
  while (used < bytes.size() && state_ == State::kOpen) {
    Package pkg;
    absl::StatusOr<size_t> n = codec_->Decode(bytes.substr(used), &pkg);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    used += *n;
    DeliverMessage(pkg, from);
  }
  return used;
}

void SessionBase::DeliverDatagram(absl::string_view payload, const InetAddress& from) {
  NoteRead(payload.size());
  if (!is_open()) return;
  Package pkg = Package::View(payload);
  if (!payload.empty()) {
    absl::StatusOr<size_t> used = codec_->Decode(payload, &pkg);
    absl::Status error;
    if (!used.ok()) {
      error = used.status();
    } else if (*used == 0) {
      error = absl::InvalidArgumentError("incomplete package");
    } else if (*used != payload.size()) {
      error = absl::InvalidArgumentError(
          absl::StrCat(payload.size() - *used, " bytes after the package"));
    }
    if (!error.ok()) {
      DeliverError(absl::Status(
          error.code(),
          absl::StrCat("udp session ", id(), ": datagram of ", payload.size(), " bytes from ",
                       from.ToString(), " dropped: ", error.message())));
      return;
    }
  }
  DeliverMessage(pkg, from);
}

void SessionBase::DeliverMessage(Package& pkg, const InetAddress& from) {
  Bump(shared_->packages_in, 1);
  if (serial_ == nullptr) {
    listener_->OnMessage(handle_, pkg, from);
    return;
  }
  pkg.Own();
  const int64_t cost = static_cast<int64_t>(pkg.size()) + 64;
  const int64_t low = options_.executor_backlog / 2;
  serial_->Execute(
      [listener = listener_, handle = handle_, pkg = std::move(pkg), from, cost, low]() mutable {
        listener->OnMessage(handle, pkg, from);
        const std::shared_ptr<SessionShared>& s = SessionAccess::Shared(handle);
        const int64_t left = s->backlog_bytes.fetch_sub(cost, std::memory_order_acq_rel) - cost;
        if (left <= low && s->backlog_paused.load(std::memory_order_acquire) &&
            s->backlog_paused.exchange(false, std::memory_order_acq_rel)) {
          s->PostToCore([](SessionCore& core) { core.OnBacklogDrained(); });
        }
      });
  AddBacklog(cost);
}

void SessionBase::AddBacklog(int64_t cost) {
  const int64_t backlog = shared_->backlog_bytes.fetch_add(cost, std::memory_order_acq_rel) + cost;
  const int64_t bound = options_.executor_backlog;
  if (bound == 0 || backlog < bound || !is_stream() || (pause_ & kPauseBacklog) != 0) return;
  Pause(kPauseBacklog);
  shared_->backlog_paused.store(true, std::memory_order_release);
  // The executor may have drained below the low mark before it could see the flag.
  if (shared_->backlog_bytes.load(std::memory_order_acquire) <= bound / 2 &&
      shared_->backlog_paused.exchange(false, std::memory_order_acq_rel)) {
    Unpause(kPauseBacklog);
  }
}

void SessionBase::SetReadingPausedByUser(bool paused) {
  if (paused) {
    Pause(kPauseByUser);
  } else {
    Unpause(kPauseByUser);
  }
}

void SessionBase::Pause(PauseReason reason) {
  // Only while opening or open: a closing session reads on to the peer's FIN (or Close frame).
  if (!is_stream() || (pause_ & reason) != 0 || closed() || closing()) return;
  const bool was_paused = pause_ != 0;
  pause_ |= reason;
  if (was_paused) return;
  shared_->reading_paused.store(true, std::memory_order_relaxed);
  StopInput();
}

void SessionBase::Unpause(PauseReason reason) {
  if ((pause_ & reason) == 0) return;
  pause_ &= static_cast<uint8_t>(~reason);
  if (pause_ != 0 || closed()) return;
  shared_->reading_paused.store(false, std::memory_order_relaxed);
  // The idle and read timeouts did not run while paused: they start over.
  const int64_t now = loop_->NowNs();
  shared_->last_read_ns.store(now, std::memory_order_relaxed);
  if (partial_since_ns_ != 0) partial_since_ns_ = now;
  RestartInput();
}

void SessionBase::ChangeWritability(bool writable) {
  shared_->writable.store(writable, std::memory_order_relaxed);
  if (options_.pause_reading_when_unwritable) {
    if (writable) {
      Unpause(kPauseUnwritable);
    } else {
      Pause(kPauseUnwritable);
    }
  }
  // After the callback whose write crossed the mark (never inside a write call); the loop runs
  // deferred tasks in order, so the events arrive in the order of the changes.
  loop_->Defer([this, writable] {
    if (state_ == State::kOpen || state_ == State::kClosing) {
      Dispatch([listener = listener_, handle = handle_, writable] {
        listener->OnWritabilityChanged(handle, writable);
      });
    }
  });
}

void SessionBase::RunSendCallback(absl::AnyInvocable<void(const absl::Status&)> on_sent,
                                  const absl::Status& status) {
  Dispatch([on_sent = std::move(on_sent), status]() mutable { on_sent(status); });
}

void SessionBase::DeliverError(const absl::Status& error) {
  // Only between OnOpen and OnClose.
  if (state_ == State::kOpen || state_ == State::kClosing) DispatchError(error);
}

void SessionBase::DeliverErrorBeforeClose(const absl::Status& error) {
  // Teardown dispatches OnClose after FailPendingSends exactly when the session had opened, which
  // is when Activate stamped opened_ns.
  if (closed() && shared_->opened_ns.load(std::memory_order_relaxed) != 0) DispatchError(error);
}

void SessionBase::DispatchError(const absl::Status& error) {
  Dispatch([listener = listener_, handle = handle_, error] { listener->OnError(handle, error); });
}

void SessionBase::DeliverCron() {
  if (state_ != State::kOpen) return;
  Dispatch([listener = listener_, handle = handle_] { listener->OnCron(handle); });
}

void SessionBase::DeliverClose() {
  Dispatch([listener = listener_, handle = handle_] { listener->OnClose(handle); });
}

void SessionBase::Teardown(const absl::Status& reason) {
  if (closed()) return;
  const State from = state_;
  // Never opened: the endpoint learns why (a rejection reported it on entering kRejecting).
  Transition(State::kClosed, reason);
  StopTimers();
  FailPendingSends(
      reason.ok()
          ? absl::UnavailableError(absl::StrCat("session ", id(), " closed before the write left"))
          : absl::Status(reason.code(),
                         absl::StrCat("session ", id(),
                                      " closed before the write left: ", reason.message())));
  if (from == State::kOpen || from == State::kClosing) {  // OnOpen succeeded: OnClose is due
    if (!reason.ok()) DispatchError(reason);
    DeliverClose();
  }
  CancelIo();
  if (observer_ != nullptr) {
    observer_->OnSessionClosed(this, reason.ok() && from != State::kRejecting);
  }
  MaybeRelease();
}

void SessionBase::MaybeRelease() {
  if (state_ != State::kClosed || !IoIdle()) return;
  Transition(State::kReleased);
  LoopRegistry::Of(loop_).ReleaseLater(this);
}

void SessionBase::NoteRead(size_t bytes) {
  Bump(shared_->bytes_in, bytes);
  shared_->last_read_ns.store(loop_->NowNs(), std::memory_order_relaxed);
}

void SessionBase::NoteWritten(size_t bytes) {
  Bump(shared_->bytes_out, bytes);
  const int64_t now = loop_->NowNs();
  shared_->last_write_ns.store(now, std::memory_order_relaxed);
  write_progress_ns_ = now;
  NoteUnqueued(bytes);
}

void SessionBase::NoteUnqueued(size_t bytes) {
  const int64_t left =
      shared_->queued_bytes.fetch_sub(static_cast<int64_t>(bytes), std::memory_order_relaxed) -
      static_cast<int64_t>(bytes);
  if (left <= options_.write_low_mark && !shared_->writable.load(std::memory_order_relaxed) &&
      !closed()) {
    ChangeWritability(true);
  }
}

bool SessionBase::AdmitWrite(size_t adding, size_t reserved, absl::Status* error) {
  // kOpening: OnOpen may already write (a greeting); the bytes leave once the session opens.
  if (state_ != State::kOpen && state_ != State::kOpening) {
    *error = SessionClosedError(id());
    return false;
  }
  if (adding <= reserved) return true;
  const int64_t extra = static_cast<int64_t>(adding - reserved);
  if (!shared_->Reserve(extra)) {
    *error = HighWaterError(id(), shared_->queued_bytes.load(std::memory_order_relaxed), extra,
                            shared_->high_water());
    return false;
  }
  return true;
}

void SessionBase::StartTimers() {
  const int64_t cron = options_.cron_period_ns;
  if (cron > 0) {
    cron_timer_ = loop_->RunEvery(absl::Nanoseconds(cron), [this] { DeliverCron(); });
  }
  // One watchdog checks all three timeouts, at a quarter of the shortest: a timeout fires
  // between 1x and 1.25x its value, and no timer is touched per message.
  int64_t shortest = 0;
  for (int64_t ns :
       {options_.idle_timeout_ns, options_.read_timeout_ns, options_.write_timeout_ns}) {
    if (ns > 0 && (shortest == 0 || ns < shortest)) shortest = ns;
  }
  if (shortest > 0) {
    watchdog_timer_ = loop_->RunEvery(absl::Nanoseconds(std::max<int64_t>(shortest / 4, 1'000'000)),
                                      [this] { CheckTimeouts(); });
  }
}

void SessionBase::StopTimers() {
  for (runtime::TimerId* t : {&cron_timer_, &watchdog_timer_, &linger_timer_}) {
    if (t->valid()) loop_->Cancel(*t);
    *t = runtime::TimerId();
  }
}

void SessionBase::CheckTimeouts() {
  if (state_ != State::kOpen && state_ != State::kClosing) return;  // the watchdog runs once open
  const int64_t now = loop_->NowNs();
  const int64_t idle = options_.idle_timeout_ns;
  const int64_t read = options_.read_timeout_ns;
  const int64_t write = options_.write_timeout_ns;
  const int64_t last_read = shared_->last_read_ns.load(std::memory_order_relaxed);
  // While reading is paused nothing is received by choice: the idle and read timeouts wait.
  const bool paused = pause_ != 0;
  if (idle > 0 && state_ == State::kOpen && !paused && now - last_read >= idle) {
    TimedOut(absl::DeadlineExceededError(
        absl::StrCat("session ", id(), ": idle timeout, nothing received for ",
                     absl::FormatDuration(absl::Nanoseconds(idle)))));
    return;
  }
  if (read > 0 && !paused && HasPartialInput() && partial_since_ns_ != 0 &&
      now - partial_since_ns_ >= read) {
    TimedOut(absl::DeadlineExceededError(absl::StrCat(
        "session ", id(), ": read timeout, a package begun ",
        absl::FormatDuration(absl::Nanoseconds(now - partial_since_ns_)), " ago is incomplete")));
    return;
  }
  const int64_t queued = shared_->queued_bytes.load(std::memory_order_relaxed);
  if (write > 0 && queued > 0 && now - write_progress_ns_ >= write) {
    TimedOut(absl::DeadlineExceededError(absl::StrCat(
        "session ", id(), ": write timeout, ", queued, " queued bytes made no progress for ",
        absl::FormatDuration(absl::Nanoseconds(write)))));
  }
}

}  // namespace ringnet::net::internal
