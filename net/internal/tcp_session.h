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
// Loop thread only.
#ifndef RINGNET_NET_INTERNAL_TCP_SESSION_H_
#define RINGNET_NET_INTERNAL_TCP_SESSION_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <string>

#include "ringnet/net/internal/session_base.h"
#include "ringnet/net/internal/socket.h"
#include "ringnet/net/internal/write_queue.h"
#include "ringnet/runtime/buffer_ring.h"
#include "ringnet/runtime/operation.h"

namespace ringnet::net::internal {

// Size of the provided buffers TCP sessions receive into.
inline constexpr uint32_t kStreamBufferSize = 16 << 10;

class TcpSession : public SessionBase {
 public:
  TcpSession(runtime::EventLoop* loop, UniqueFd fd, SessionKind kind = SessionKind::kTcp);
  ~TcpSession() override;

  int fd() const { return fd_.get(); }

  // SessionCore writes.
  absl::Status WritePkg(Package&& pkg, const InetAddress* to, size_t reserved) override;
  absl::Status WriteBytes(absl::string_view bytes, const InetAddress* to,
                          size_t reserved) override;
  absl::Status WriteOwned(std::string&& bytes, const InetAddress* to, size_t reserved) override;
  absl::Status WriteBytesArray(absl::Span<const absl::string_view> parts,
                               size_t reserved) override;

 protected:
  // What to do with received bytes; the default decodes packages with the codec. Returns the
  // bytes used; the rest is kept and offered again with the next bytes. An error closes.
  virtual absl::StatusOr<size_t> Consume(absl::string_view bytes);
  // Encodes `pkg` onto the queue; the default uses the codec.
  virtual absl::Status EncodeOnto(Package&& pkg, WriteQueue& queue);

  // Queues raw bytes the session itself produces (protocol replies), bypassing the high-water
  // mark, and schedules a send.
  void QueueControlBytes(absl::string_view bytes);
  // Schedules sending whatever is queued at the end of this loop iteration.
  void ScheduleFlush();

  // SessionBase hooks.
  absl::Status StartIo() override;
  void BeginGracefulClose() override;
  void CancelIo() override;
  bool IoIdle() const override { return !recv_armed_ && !send_in_flight_ && cancels_ == 0; }
  bool HasPartialInput() const override { return !input_.empty(); }

  const InetAddress& peer() const { return peer_; }

 private:
  static constexpr int kMaxIov = 16;

  void ArmRecv();
  void OnRecv(int32_t result, uint32_t flags);
  void OnSend(int32_t result, uint32_t flags);
  void OnCancelled(int32_t result, uint32_t flags);
  void HandleBytes(absl::string_view bytes);
  void OnPeerEof();
  void Flush();
  void MaybeFinishClose();
  absl::Status Admit(size_t bytes, size_t reserved);

  UniqueFd fd_;
  InetAddress peer_;
  runtime::BufferRing* buffers_ = nullptr;
  runtime::MemberOperation<TcpSession, &TcpSession::OnRecv> recv_op_{this};
  runtime::MemberOperation<TcpSession, &TcpSession::OnSend> send_op_{this};
  runtime::MemberOperation<TcpSession, &TcpSession::OnCancelled> cancel_op_{this};
  std::string input_;  // bytes of a partial package, carried to the next receive
  WriteQueue queue_;
  msghdr msg_{};
  iovec iov_[kMaxIov];
  int cancels_ = 0;
  bool recv_armed_ = false;
  bool send_in_flight_ = false;
  bool flush_scheduled_ = false;
  bool peer_eof_ = false;
  bool fin_sent_ = false;
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_TCP_SESSION_H_
