// SessionBase: what every session type shares, on its loop thread: configuration through the
// NewSessionCallback, the listener and its optional serial executor, the codec, counters, the
// cron and timeout timers, and the close sequence that guarantees exactly one OnClose and no
// callback after it.
//
// Subclasses (TcpSession, UdpSession, WsSession) provide the I/O through a few hooks. A session
// normally opens at once (`Open`); one with an opening handshake of its own (WebSocket) runs it
// first and then opens in steps (`Configure`, `CallOnOpen`, `Activate`), or closes unopened
// (`CloseUnopened`) without any listener callback.
//
// The lifecycle is one state set (State below); every change of it goes through Transition(),
// which checks the edge against the table in StateMachine::Allows (debug builds) and does what
// entering the state entails (the handle's closing flag, the endpoint's open result). The
// picture is in docs/architecture.md.
//
// Loop thread only.
#ifndef RINGNET_NET_INTERNAL_SESSION_BASE_H_
#define RINGNET_NET_INTERNAL_SESSION_BASE_H_

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "ringnet/codec/codec.h"
#include "ringnet/net/executor.h"
#include "ringnet/net/internal/loop_registry.h"
#include "ringnet/net/internal/session_shared.h"
#include "ringnet/net/session.h"
#include "ringnet/runtime/event_loop.h"

namespace ringnet::net::internal {

class SessionBase;

// Who made a session and keeps the books on it (a listener, a client slot, an endpoint). Each
// call comes at most once, on the session's loop thread. Must outlive the session.
class SessionObserver {
 public:
  // The session is about to be configured (the NewSessionCallback and OnOpen follow).
  virtual void OnSessionOpening(SessionBase*) {}
  // It opened (OK), or was rejected or failed before opening (the cause).
  virtual void OnSessionOpenResult(SessionBase*, const absl::Status&) {}
  // It is closed (after OnClose, or on rejection); `clean` is false when it ended with an error.
  virtual void OnSessionClosed(SessionBase* session, bool clean) = 0;

 protected:
  ~SessionObserver() = default;
};

// The options a session consults once configured, kept compact (every session holds one: idle
// sessions should cost little). Durations in nanoseconds; 0 means none.
struct SessionLimits {
  static SessionLimits From(const SessionOptions& options);

  int64_t read_timeout_ns = 0;
  int64_t write_timeout_ns = 0;
  int64_t idle_timeout_ns = 0;
  int64_t cron_period_ns = 0;
  int64_t close_linger_ns = 0;
  size_t max_msg_len = 4 << 20;
  // Writability: unwritable at `write_high_mark` queued bytes, writable again at
  // `write_low_mark` (already capped: low <= high <= write_high_water).
  int64_t write_high_mark = 1 << 20;
  int64_t write_low_mark = 256 << 10;
  // With an executor: reading pauses at this many backlog bytes (resumes at half); 0: no bound.
  int64_t executor_backlog = 4 << 20;
  uint32_t max_datagram = 65507;
  bool tcp_no_delay = true;
  bool close_on_icmp_error = false;
  bool udp_gso = true;
  bool pause_reading_when_unwritable = true;
};

// Why a stream session's reading is paused (bits of SessionBase's pause set): each reason is
// set and cleared on its own, and reading resumes when none is left.
enum PauseReason : uint8_t {
  kPauseByUser = 1,      // SessionHandle::PauseReading
  kPauseUnwritable = 2,  // pause_reading_when_unwritable, while unwritable
  kPauseBacklog = 4,     // the executor's backlog passed executor_backlog
};

// A session's lifecycle, in the order a session goes through it.
enum class SessionState : uint8_t {
  kHandshaking,       // created, not configured: a protocol handshake may run (WebSocket upgrade)
  kConfiguring,       // the NewSessionCallback runs (writes are refused: no codec yet)
  kOpening,           // configured; OnOpen runs (it may write: the bytes leave once open)
  kOpeningThenClose,  // Close() came while configuring or opening: close once open
  kOpen,              // I/O runs; OnMessage, OnCron, OnError
  kClosing,           // an opened session's goodbye: flush, protocol close, FIN, peer's FIN
  kRejecting,         // a session that never opened goes away: flush (an HTTP error), FIN
  kClosed,            // torn down (OnClose delivered if it opened); the kernel returns its requests
  kReleased,          // nothing in flight: handed to the loop for destruction
};

absl::string_view SessionStateName(SessionState state);

// The allowed edges, as one table (see docs/architecture.md).
struct StateMachine {
  static bool Allows(SessionState from, SessionState to);
  // Before OnOpen succeeded: closing from here reports the open result, and delivers nothing.
  static bool PreOpen(SessionState s) { return s <= SessionState::kOpeningThenClose; }
};

class SessionBase : public SessionCore, public LoopOwned {
 public:
  SessionBase(runtime::EventLoop* loop, SessionKind kind);
  ~SessionBase() override;

  SessionHandle handle() const { return handle_; }
  const std::shared_ptr<SessionShared>& shared() const { return shared_; }
  uint64_t id() const { return shared_->id; }

  // Runs `callback` on a fresh SessionConfig, applies it, calls OnOpen and starts I/O. An error
  // from the callback or OnOpen rejects the session: it is closed without OnClose and released.
  absl::Status Open(const NewSessionCallback& callback);
  // How an endpoint starts a new session: Open() at once (TCP, UDP), or after a handshake of
  // the session's own (WebSocket); the result reaches the observer either way.
  virtual void Start(const NewSessionCallback& callback) { (void)Open(callback); }

  // Sets the endpoint that keeps the books on this session (before Start or Open).
  void set_observer(SessionObserver* observer) { observer_ = observer; }

  // SessionCore.
  void Close() override;
  void ReportError(const absl::Status& error) override { DeliverError(error); }
  absl::Status Connect(const InetAddress& peer) override;
  void SetReadingPausedByUser(bool paused) override;
  void OnBacklogDrained() override { Unpause(kPauseBacklog); }
  void FailWrite(absl::AnyInvocable<void(const absl::Status&)> on_sent,
                 const absl::Status& error) override {
    RunSendCallback(std::move(on_sent), error);
  }
  void ReportRefusedDatagrams() override {}  // datagram sessions report them
  // LoopOwned: the loop is stopping.
  void Abort() override { Teardown(absl::OkStatus()); }

 protected:
  using State = SessionState;

  // The steps of Open, for sessions that open after a handshake of their own. Configure runs the
  // NewSessionCallback and applies the config; CallOnOpen runs OnOpen; on an error from either
  // the session is still unopened (kOpening) and the caller decides how it ends. Activate opens
  // it (kOpen), starts I/O and the timers, and reports the result; it closes the session itself
  // if I/O cannot start.
  absl::Status Configure(const NewSessionCallback& callback);
  absl::Status CallOnOpen();
  absl::Status Activate();
  // Closes a session that never opened, gracefully and without listener callbacks: what is
  // queued (e.g. an HTTP error response) is sent first, bounded by the linger option. `reason`
  // is reported to the endpoint as the open result.
  void CloseUnopened(const absl::Status& reason);

  // Hooks. StartIo arms the first receive after OnOpen; BeginGracefulClose starts the orderly
  // shutdown (state is kClosing); CancelIo cancels whatever is in flight (state is kClosed);
  // IoIdle says nothing is in flight any more.
  virtual absl::Status StartIo() = 0;
  virtual void BeginGracefulClose() = 0;
  virtual void CancelIo() = 0;
  virtual bool IoIdle() const = 0;
  // Whether a partial package is waiting for its rest (for the read timeout).
  virtual bool HasPartialInput() const { return false; }
  // Flow control: reading paused (no receive may stay armed) and resumed (what was received
  // meanwhile is delivered first). Stream sessions implement them; the default does nothing.
  virtual void StopInput() {}
  virtual void RestartInput() {}
  // Teardown is under way for `reason`: fail what waits for the bytes to leave (before OnClose).
  virtual void FailPendingSends(const absl::Status& /*reason*/) {}
  // An idle, read or write timeout expired (`error` says which); the default closes at once.
  virtual void TimedOut(const absl::Status& error) { Teardown(error); }

  // Decodes packages from the front of `bytes` and delivers each; returns the bytes used (the
  // rest is a partial package), or the codec's error. Stops early if the session stops being
  // open during a callback.
  absl::StatusOr<size_t> DecodeAndDeliver(absl::string_view bytes, const InetAddress& from);
  void DeliverMessage(Package& pkg, const InetAddress& from);
  // One datagram is one package: decodes the whole of `payload` and delivers it, or reports the
  // codec's error (or leftover bytes) to OnError and drops the datagram.
  void DeliverDatagram(absl::string_view payload, const InetAddress& from);
  void DeliverError(const absl::Status& error);
  // From FailPendingSends (the session is closed, OnClose not dispatched yet): OnError before
  // OnClose; nothing for a session that never opened (it gets no callbacks).
  void DeliverErrorBeforeClose(const absl::Status& error);

  // Closes now: OnError(reason) unless ok, OnClose, cancel I/O, release when idle. Idempotent.
  void Teardown(const absl::Status& reason);
  // Schedules the release once closed and idle. Call after every completion.
  void MaybeRelease();

  // Counters.
  void NoteRead(size_t bytes);
  void NoteWritten(size_t bytes);
  // Queued bytes that will never be sent (dropped datagrams, a refused write's reservation)
  // leave the queue: as NoteWritten, the session turns writable again at the low mark.
  void NoteUnqueued(size_t bytes);
  // Checks the high-water mark for `adding` more bytes (already reserved bytes excepted) and
  // counts them; false (with the status in `*error`) when refused.
  bool AdmitWrite(size_t adding, size_t reserved, absl::Status* error);
  // After bytes joined the queue: turns the session unwritable at the high mark. One relaxed
  // load and a compare while below it.
  void NoteQueued() {
    if (shared_->writable.load(std::memory_order_relaxed) &&
        shared_->queued_bytes.load(std::memory_order_relaxed) >= options_.write_high_mark) {
      ChangeWritability(false);
    }
  }
  // Sets or clears one reason for pausing reading (stream sessions; see PauseReason).
  void Pause(PauseReason reason);
  void Unpause(PauseReason reason);
  bool reading_paused() const { return pause_ != 0; }
  // Runs `on_sent(status)` for a write's completion: now, or in order on the executor.
  void RunSendCallback(absl::AnyInvocable<void(const absl::Status&)> on_sent,
                       const absl::Status& status);
  // Whether the session is a byte stream (TCP, WebSocket): the kinds whose reading pauses.
  bool is_stream() const {
    return shared_->kind == SessionKind::kTcp || shared_->kind == SessionKind::kWebSocket;
  }
  // Records the time the first byte of a partial package arrived (0: none waiting).
  void set_partial_since(int64_t ns) { partial_since_ns_ = ns; }
  void NoteWriteProgress() { write_progress_ns_ = loop_->NowNs(); }

  State state() const { return state_; }
  bool is_open() const { return state_ == State::kOpen; }
  // Closing gracefully, opened or not (kClosing, kRejecting).
  bool closing() const { return state_ == State::kClosing || state_ == State::kRejecting; }
  // Torn down (kClosed, kReleased): no I/O is started any more.
  bool closed() const { return state_ >= State::kClosed; }

  runtime::EventLoop* const loop_;
  std::shared_ptr<SessionShared> shared_;
  SessionHandle handle_;
  std::shared_ptr<EventListener> listener_;
  std::shared_ptr<codec::Codec> codec_;
  // codec_ is the raw codec: a package's bytes are its wire form (set with codec_).
  bool raw_codec_ = false;
  SessionLimits options_;

 private:
  // The one place state_ changes. `why` is the open result reported when a session that never
  // opened leaves for kRejecting or kClosed (OK there means it was closed before it opened).
  void Transition(State to, const absl::Status& why = absl::OkStatus());
  void ReportOpenResult(const absl::Status& result);
  // Runs OnError (Teardown calls it before OnClose, past DeliverError's guard).
  void DispatchError(const absl::Status& error);
  void StartTimers();
  void StopTimers();
  void StartLingerTimer();
  void CheckTimeouts();
  void DeliverCron();
  void DeliverClose();
  void ChangeWritability(bool writable);
  // Counts a package handed to the executor (`cost` bytes) against executor_backlog.
  void AddBacklog(int64_t cost);
  // Runs a listener call now, or in order on the executor.
  template <typename F>
  void Dispatch(F&& call);

  std::shared_ptr<SerialExecutor> serial_;
  SessionObserver* observer_ = nullptr;
  runtime::TimerId cron_timer_;
  runtime::TimerId watchdog_timer_;
  runtime::TimerId linger_timer_;
  int64_t partial_since_ns_ = 0;
  int64_t write_progress_ns_ = 0;
  State state_ = State::kHandshaking;
  uint8_t pause_ = 0;  // PauseReason bits
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_SESSION_BASE_H_
