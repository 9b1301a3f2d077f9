// TcpSession: a session over one connected TCP socket.
//
// Receive: one multishot recv into the loop's provided-buffer ring, re-armed when a CQE comes
// without IORING_CQE_F_MORE or with -ENOBUFS. Packages that lie wholly in a received buffer are
// decoded from it in place; only a partial package's bytes are copied into the session, and the
// buffer goes back to the ring before the next completion is handled.
// Send: one send in flight; everything written meanwhile (during the whole loop iteration) is
// gathered into the next send/sendmsg; partial sends resume; MSG_NOSIGNAL always.
// Close: graceful close flushes the queue, sends FIN and waits for the peer's FIN within the
// linger bound; EOF, reset and errors all end in exactly one OnClose.
//
// Protocols on top of a stream (WebSocket) subclass it: they turn received bytes into messages
// (`Consume`), frame what is written (`EncodeOnto`, `AppendBytesOnto`, `AppendOwnedOnto`), send
// replies of their own (`QueueControlBytes`), may run a handshake before the session opens
// (`Start`, `ArmInput`, `AcceptsInput`) and may hold back the FIN (`MayShutdownWrite`).
//
// Loop thread only.
#ifndef RINGNET_NET_INTERNAL_TCP_SESSION_H_
#define RINGNET_NET_INTERNAL_TCP_SESSION_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "absl/types/span.h"
#include "ringnet/net/internal/session_base.h"
#include "ringnet/net/internal/socket.h"
#include "ringnet/net/internal/write_queue.h"
#include "ringnet/runtime/buffer_ring.h"
#include "ringnet/runtime/operation.h"

namespace ringnet::net::internal {

// Size of the provided buffers TCP sessions receive into.
inline constexpr uint32_t kStreamBufferSize = 16 << 10;

class TcpSession;

// Makes the session for a connected socket. TcpServer and TcpClient make TcpSessions; the
// WebSocket endpoints plug in WsSession through this seam (see stream_endpoint_access.h).
using StreamSessionFactory =
    std::function<std::unique_ptr<TcpSession>(runtime::EventLoop* loop, UniqueFd fd)>;

// The receive side of a stream session, beside its lifecycle (SessionState). Reading pauses
// (SessionBase's pause reasons) by cancelling the armed receive; what arrives until the cancel
// lands is kept, undecoded, and delivered first when reading resumes.
//
//   kIdle -> kArmed (ArmRecv) -> kIdle (a receive ended; re-armed at once unless paused)
//   kArmed -> kCancelling (paused) -> kPaused (the receive ended) -> kArmed (resumed)
//   kArmed -> kStarved (no buffer) -> kArmed (buffers free), or kPaused (paused meanwhile)
//   kArmed/kCancelling -> kEof (FIN), or kEofHeld (FIN while paused) -> kEof (resumed)
enum class StreamReadState : uint8_t {
  kIdle,        // no receive armed (not started yet, or a single-shot one just ended)
  kArmed,       // a (multishot) receive is in the kernel's hands
  kCancelling,  // paused while armed: the receive is being cancelled; what it still brings is kept
  kPaused,      // paused: no receive armed, bytes wait in the kernel's socket buffer
  kStarved,     // the receive found the buffer ring empty; waiting for its turn (BufferRing::Wait)
  kEofHeld,     // the peer sent FIN while reading was paused: acted on once it resumes
  kEof,         // the peer sent FIN: nothing more to receive
};

// The send side: at most one send in flight, flushed once per loop iteration.
enum class StreamSendState : uint8_t {
  kIdle,       // nothing in flight, no flush scheduled
  kScheduled,  // a flush is deferred to the end of this iteration
  kInFlight,   // one send or sendmsg is in the kernel's hands
};

class TcpSession : public SessionBase, private runtime::BufferRing::Waiter {
 public:
  TcpSession(runtime::EventLoop* loop, UniqueFd fd, SessionKind kind = SessionKind::kTcp);
  ~TcpSession() override;

  int fd() const { return fd_.get(); }

  // Opens the session through `callback` (the default: `Open` at once). A subclass with a
  // handshake starts it here and opens later; either way the endpoint learns the outcome through
  // the on_open_result hook. `callback` must stay valid until the session has opened or closed.

  // SessionCore writes.
  absl::Status WritePkg(Package&& pkg, const InetAddress* to, size_t reserved) override;
  absl::Status WriteBytes(absl::string_view bytes, const InetAddress* to, size_t reserved) override;
  absl::Status WriteOwned(std::string&& bytes, const InetAddress* to, size_t reserved) override;
  absl::Status WriteBytesArray(absl::Span<const absl::string_view> parts, size_t reserved) override;
  void NotifyWhenSent(absl::AnyInvocable<void(const absl::Status&)> on_sent) override;

 protected:
  // What to do with received bytes; the default decodes packages with the codec. Returns the
  // bytes used; the rest is kept and offered again with the next bytes. An error closes. The
  // bytes are writable (a receive buffer or the session's carry-over buffer), so a protocol may
  // transform them in place (WebSocket unmasking); they are valid until it returns.
  virtual absl::StatusOr<size_t> Consume(absl::Span<char> bytes);
  // Whether received bytes are handed to Consume (otherwise they are drained); the default: while
  // the session is open.
  virtual bool AcceptsInput() const { return is_open(); }
  // The write hooks: the wire form of a package (the default uses the codec), of raw bytes
  // (WriteBytes, WriteBytesArray; the default queues them as they are), and of raw bytes given
  // away (WriteOwned). Each appends to `queue` only; on error it appends nothing.
  virtual absl::Status EncodeOnto(Package&& pkg, WriteQueue& queue);
  virtual absl::Status AppendBytesOnto(absl::Span<const absl::string_view> parts,
                                       WriteQueue& queue);
  virtual absl::Status AppendOwnedOnto(std::string&& bytes, WriteQueue& queue);
  // The peer sent FIN. The default closes gracefully (an open session) or finishes closing.
  virtual void OnPeerEof();
  // Whether a closing session may send its FIN once the queue is flushed (a WebSocket client
  // waits for the server's FIN instead); re-check with MaybeFinishClose when it changes.
  virtual bool MayShutdownWrite() const { return true; }
  // A send completed and the session is not closed (for protocols that held a reply back).
  virtual void OnSent() {}

  // Queues raw bytes the session itself produces (protocol replies), bypassing the high-water
  // mark, and schedules a send.
  void QueueControlBytes(absl::string_view bytes);
  // Drops everything queued (nothing may be in flight: only before the first send); false if a
  // send is in flight.
  bool DiscardQueued();
  // Schedules sending whatever is queued at the end of this loop iteration.
  void ScheduleFlush();
  // Starts receiving (before the session opens, for a handshake; StartIo calls it too).
  absl::Status ArmInput();
  // Finishes a graceful close once the queue is flushed: FIN, then the peer's FIN.
  void MaybeFinishClose();

  // SessionBase hooks.
  absl::Status StartIo() override;
  void BeginGracefulClose() override;
  void CancelIo() override;
  bool IoIdle() const override {
    return read_ != StreamReadState::kArmed && read_ != StreamReadState::kCancelling &&
           send_ != StreamSendState::kInFlight && cancels_ == 0;
  }
  void StopInput() override;
  void RestartInput() override;
  void FailPendingSends(const absl::Status& reason) override;
  bool HasPartialInput() const override { return !input_.empty(); }

  // The peer's address. A stream session's remote address is written once, in the constructor,
  // so the loop thread reads it without the shared lock.
  const InetAddress& peer() const { return shared_->remote; }
  bool peer_eof() const { return read_ == StreamReadState::kEof; }

 private:
  void ArmRecv();
  // The receive ended on an empty buffer ring and waited for its turn (BufferRing::Wait).
  void OnBuffersFree() override;
  void OnRecv(int32_t result, uint32_t flags);
  void OnSend(int32_t result, uint32_t flags);
  void OnCancelled(int32_t result, uint32_t flags);
  void HandleBytes(absl::Span<char> bytes);
  // Offers the carried-over bytes (a partial package, or what arrived while paused) to Consume.
  void ConsumeInput();
  // Checks what is left over after Consume: the max_msg_len bound, the read-timeout mark.
  void CheckLeftover();
  // A receive ended (or was cancelled for a pause): re-arm, unless reading is paused.
  void ContinueReading();
  // Resumed: delivers what arrived while paused, acts on a held FIN, re-arms.
  void Resume();
  // Runs the write callbacks whose bytes have all been sent.
  void RunSentCallbacks();
  void Flush();
  absl::Status Admit(size_t bytes, size_t reserved);
  // Admits `size` bytes, runs `append(queue_)` and settles the reservation against what it
  // queued; schedules a send when it succeeds.
  template <typename Append>
  absl::Status QueueWrite(size_t size, size_t reserved, Append&& append);

  UniqueFd fd_;
  runtime::BufferRing* buffers_ = nullptr;
  runtime::MemberOperation<TcpSession, &TcpSession::OnRecv> recv_op_{this};
  runtime::MemberOperation<TcpSession, &TcpSession::OnSend> send_op_{this};
  runtime::MemberOperation<TcpSession, &TcpSession::OnCancelled> cancel_op_{this};
  std::string input_;  // bytes of a partial package, carried to the next receive
  WriteQueue queue_;
  // The gather list of the send in flight, when it has more than one buffer (borrowed from the
  // loop's pool, returned when the send completes).
  std::unique_ptr<SendVector> send_vector_;
  // Write callbacks (SessionHandle::WritePkg with on_sent), each with the queue offset its bytes
  // end at; created by the first.
  struct PendingSend {
    uint64_t end;
    absl::AnyInvocable<void(const absl::Status&)> on_sent;
  };
  std::unique_ptr<std::deque<PendingSend>> pending_sends_;
  int cancels_ = 0;
  StreamReadState read_ = StreamReadState::kIdle;
  StreamSendState send_ = StreamSendState::kIdle;
  bool fin_sent_ = false;  // shutdown(SHUT_WR) done: our side of the stream is finished
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_TCP_SESSION_H_
