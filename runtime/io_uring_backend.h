// IoUringBackend: the LoopBackend that runs the loop's requests on one io_uring (runtime
// internal). Each request is one SQE whose user_data is its Operation; every SQE prepared during
// an iteration reaches the kernel in the one io_uring_enter of SubmitAndWait.
//
// Where the kernel has no multishot receive (probed at start-up: IoUringFeatures), receives are
// single-shot requests, still into kernel-selected buffers; a recvmsg then runs under a pooled
// operation of the backend's own (PooledReceive) that rearranges its buffer into the layout a
// multishot recvmsg produces, and Cancel maps the owner's operation onto it.
//
// Also here: `SubmitSqe`, the raw form of EventLoop's Submit* calls (an SQE filled by an
// io_uring_prep_* function), for runtime internals and tests.
//
// Example:
//
//   SubmitSqe(*loop, op, [&](io_uring_sqe* sqe) { io_uring_prep_read(sqe, fd, buf, n, 0); });
//
// Loop thread only.
#ifndef RINGNET_RUNTIME_IO_URING_BACKEND_H_
#define RINGNET_RUNTIME_IO_URING_BACKEND_H_

#include <errno.h>
#include <liburing.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "ringnet/runtime/loop_backend.h"
#include "ringnet/runtime/operation.h"
#include "ringnet/runtime/ring.h"

namespace ringnet::runtime {

class EventLoop;

class IoUringBackend final : public LoopBackend {
 public:
  // Runs requests on `ring`; receives and accepts are multishot if `multishot`.
  IoUringBackend(std::unique_ptr<Ring> ring, bool multishot);
  // Every request must have been reaped (EventLoop::Run does so before it returns).
  ~IoUringBackend() override;

  bool Nop(Operation* op) override;
  bool Read(Operation* op, int fd, void* buf, uint32_t len, uint64_t offset) override;
  bool Recv(Operation* op, int fd, void* buf, size_t len, int flags) override;
  bool RecvSelect(Operation* op, int fd, BufferRing* buffers, int flags) override;
  bool RecvmsgSelect(Operation* op, int fd, const msghdr* msg, BufferRing* buffers,
                     int flags) override;
  bool Send(Operation* op, int fd, const void* buf, size_t len, int flags) override;
  bool Sendmsg(Operation* op, int fd, const msghdr* msg, int flags) override;
  bool Accept(Operation* op, int fd) override;
  bool Connect(Operation* op, int fd, const sockaddr* addr, socklen_t len) override;
  bool Cancel(Operation* target, Operation* op) override;
  bool CancelFd(int fd, Operation* op) override;

  void SubmitAndWait(bool block, int64_t timeout_ns) override;
  size_t PopCompletions(Completion* out, size_t max) override;
  bool HasCompletions() const override { return ring_->HasCompletions(); }

  absl::Status BindToCurrentThread() override { return ring_->BindToCurrentThread(); }
  absl::StatusOr<std::unique_ptr<BufferRing>> CreateBufferRing(uint16_t group_id, uint32_t count,
                                                               uint32_t size,
                                                               uint32_t spares) override;
  void FillCounters(Counters* counters) const override;
  int last_error() const override { return ring_->last_error(); }
  bool multishot() const override { return multishot_; }

  // One SQE for `op`, filled by `prep`; false when the kernel would not take one.
  template <typename Prep>
  bool Submit(Operation* op, Prep&& prep) {
    io_uring_sqe* sqe = ring_->GetSqe();
    if (sqe == nullptr) return false;
    std::forward<Prep>(prep)(sqe);
    io_uring_sqe_set_data(sqe, op);
    return true;
  }

  const Ring& ring() const { return *ring_; }

 private:
  class PooledReceive;

  bool SubmitPooledRecvmsg(Operation* op, int fd, BufferRing* buffers, const msghdr* templ,
                           int flags);
  void ReleasePooledReceive(PooledReceive* receive);

  const std::unique_ptr<Ring> ring_;
  const bool multishot_;
  // Single-shot recvmsgs in flight (kernels without multishot), by their owner's operation (to
  // cancel them by owner), and the idle ones kept for reuse.
  absl::flat_hash_map<Operation*, PooledReceive*> pooled_by_owner_;
  std::vector<PooledReceive*> idle_pooled_;  // owned; deleted by the destructor
};

// What SubmitSqe needs of EventLoop's internals (defined in event_loop_ops.cc, next to the
// loop's request accounting).
class LoopBackendAccess {
 public:
  // The loop's io_uring backend, or nullptr under epoll.
  static IoUringBackend* IoUring(EventLoop& loop);
  // Counts a request `loop`'s backend accepted, or fails a refused one (EventLoop::Account).
  static void Account(EventLoop& loop, bool accepted, Operation* op);
  // Completes `op` with -`error` on the loop thread, as a CQE would (EventLoop::FailSubmission).
  static void Fail(EventLoop& loop, Operation* op, int error);
};

// The raw form of EventLoop's Submit* calls, io_uring backend only: an SQE for `op`, filled by
// `prep` with an io_uring_prep_* function, counted in flight like every request. Under epoll the
// request fails with -EOPNOTSUPP. Loop thread only.
template <typename Prep>
void SubmitSqe(EventLoop& loop, Operation* op, Prep&& prep) {
  IoUringBackend* backend = LoopBackendAccess::IoUring(loop);
  if (backend == nullptr) {
    LoopBackendAccess::Fail(loop, op, EOPNOTSUPP);
    return;
  }
  LoopBackendAccess::Account(loop, backend->Submit(op, std::forward<Prep>(prep)), op);
}

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_IO_URING_BACKEND_H_
