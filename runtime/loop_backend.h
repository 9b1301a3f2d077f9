// LoopBackend: the seam between EventLoop and the system interface that runs its requests
// (runtime internal). The loop owns one, chosen at start-up (event_loop_backend.cc):
// IoUringBackend (io_uring_backend.h) or EpollBackend (epoll_backend.h), in the shape of
// Seastar's reactor_backend.
//
// Both implementations run the same request set with the same completion results and flags
// (IORING_CQE_F_MORE while a multishot request stays armed, IORING_CQE_F_BUFFER and the buffer id
// for receives into a BufferRing), so nothing above the loop can tell them apart. A request
// method returns false when the backend refused the request (no SQE even after a flush): the
// loop then fails it with `last_error()`. Counting requests in flight is the loop's business
// (EventLoop::Account), not the backend's.
//
// Example (what EventLoop does with it):
//
//   Account(backend_->Send(op, fd, buf, len, MSG_NOSIGNAL), op);  // one per request
//   backend_->SubmitAndWait(/*block=*/true, /*timeout_ns=*/-1);     // one per iteration
//   LoopBackend::Completion batch[256];
//   size_t n = backend_->PopCompletions(batch, 256);                // then dispatch
//
// Loop thread only.
#ifndef RINGNET_RUNTIME_LOOP_BACKEND_H_
#define RINGNET_RUNTIME_LOOP_BACKEND_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringnet/runtime/operation.h"

namespace ringnet::runtime {

class BufferRing;

class LoopBackend {
 public:
  // One completion, as a CQE carries it: `user_data` is the Operation's address (0 for a cancel
  // submitted without one).
  struct Completion {
    uint64_t user_data;
    int32_t result;
    uint32_t flags;
  };
  // The backend's share of LoopCounters (see event_loop.h for each field).
  struct Counters {
    uint64_t enter_calls = 0;
    uint64_t sqes_submitted = 0;
    uint64_t sq_full_flushes = 0;
    uint64_t cq_dropped = 0;
    uint64_t syscalls = 0;
  };
  // `user_data` of completions that belong to no Operation (the ring's own requests); the loop
  // skips them. io_uring_backend.cc checks it equals liburing's LIBURING_UDATA_TIMEOUT.
  static constexpr uint64_t kInternalUserData = ~uint64_t{0};

  LoopBackend() = default;
  LoopBackend(const LoopBackend&) = delete;
  LoopBackend& operator=(const LoopBackend&) = delete;
  virtual ~LoopBackend() = default;

  // Requests (EventLoop::Submit* documents each). Each prepares one request whose completions go
  // to `op`; all prepared requests start at the next SubmitAndWait. False: refused.
  virtual bool Nop(Operation* op) = 0;
  virtual bool Read(Operation* op, int fd, void* buf, uint32_t len, uint64_t offset) = 0;
  virtual bool Recv(Operation* op, int fd, void* buf, size_t len, int flags) = 0;
  // Receives into buffers selected from `buffers`; multishot where the backend has it.
  virtual bool RecvSelect(Operation* op, int fd, BufferRing* buffers, int flags) = 0;
  // recvmsg into buffers from `buffers`, each in the recvmsg_out layout (recvmsg_layout.h).
  virtual bool RecvmsgSelect(Operation* op, int fd, const msghdr* msg, BufferRing* buffers,
                             int flags) = 0;
  virtual bool Send(Operation* op, int fd, const void* buf, size_t len, int flags) = 0;
  virtual bool Sendmsg(Operation* op, int fd, const msghdr* msg, int flags) = 0;
  // Accepts connections (multishot where the backend has it), non-blocking and close-on-exec.
  virtual bool Accept(Operation* op, int fd) = 0;
  virtual bool Connect(Operation* op, int fd, const sockaddr* addr, socklen_t len) = 0;
  // Cancels every request of `target` (every request when null) / on `fd`; the cancel's own
  // completion goes to `op`, or is dropped by the loop when `op` is null.
  virtual bool Cancel(Operation* target, Operation* op) = 0;
  virtual bool CancelFd(int fd, Operation* op) = 0;

  // Starts every prepared request and, if `block`, waits for completions, at most `timeout_ns`
  // (negative: no limit).
  virtual void SubmitAndWait(bool block, int64_t timeout_ns) = 0;
  // Moves up to `max` completions to `out`, oldest first, and frees their slots; returns how many.
  virtual size_t PopCompletions(Completion* out, size_t max) = 0;
  // Whether completions are waiting (cheap: no system call).
  virtual bool HasCompletions() const = 0;

  // Makes the calling thread the one that submits (EventLoop::Run's thread).
  virtual absl::Status BindToCurrentThread() = 0;
  // A buffer ring this backend's receives can select from (see BufferRing::Create).
  // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): BufferRing::Create's order.
  virtual absl::StatusOr<std::unique_ptr<BufferRing>> CreateBufferRing(uint16_t group_id,
                                                                       uint32_t count,
                                                                       uint32_t size,
                                                                       uint32_t spares) = 0;
  virtual void FillCounters(Counters* counters) const = 0;
  // The errno of the last refused request, or 0 when the backend does not know it.
  virtual int last_error() const = 0;
  // Whether RecvSelect, RecvmsgSelect and Accept are multishot requests in the kernel.
  virtual bool multishot() const = 0;
};

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_LOOP_BACKEND_H_
