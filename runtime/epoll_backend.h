// EpollBackend: the LoopBackend (loop_backend.h) that runs the event loop's requests with epoll
// and plain system calls, for machines where io_uring is unavailable (Docker's default seccomp
// profile, kernel.io_uring_disabled, old kernels). Runtime internal.
//
// It offers the same request set as IoUringBackend, with the same completion
// results and flags (IORING_CQE_F_MORE for multishot requests still armed, IORING_CQE_F_BUFFER
// with the buffer id for receives into a BufferRing, the recvmsg_out layout for multishot
// recvmsg), so sessions cannot tell the backends apart. Like an io_uring submission, requests
// prepared during an iteration start together at the next SubmitAndWait; what cannot finish yet
// waits for epoll readiness (edge-triggered, one registration per fd) and then drains until
// EAGAIN: a readable socket is read until empty, the whole queue is written with one sendmsg.
//
// Sockets must be non-blocking (ringnet creates them so); reads use RWF_NOWAIT and so work on
// blocking pipes and eventfds too.
//
// Loop thread only.
#ifndef RINGNET_RUNTIME_EPOLL_BACKEND_H_
#define RINGNET_RUNTIME_EPOLL_BACKEND_H_

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ringnet/runtime/buffer_ring.h"
#include "ringnet/runtime/loop_backend.h"
#include "ringnet/runtime/operation.h"

namespace ringnet::runtime {

class EpollBackend final : public LoopBackend {
 public:
  static absl::StatusOr<std::unique_ptr<EpollBackend>> Create();
  EpollBackend(const EpollBackend&) = delete;
  EpollBackend& operator=(const EpollBackend&) = delete;
  ~EpollBackend() override;

  // Requests; each completes through its Operation exactly as its io_uring counterpart would,
  // and none is ever refused (each returns true). Read ignores `offset` (pipes, eventfds).
  bool Nop(Operation* op) override;
  bool Read(Operation* op, int fd, void* buf, uint32_t len, uint64_t offset) override;
  bool Recv(Operation* op, int fd, void* buf, size_t len, int flags) override;
  // Receives into buffers of `pool` (user mode); stays armed until EOF, error or -ENOBUFS.
  bool RecvSelect(Operation* op, int fd, BufferRing* pool, int flags) override;
  bool RecvmsgSelect(Operation* op, int fd, const msghdr* templ, BufferRing* pool,
                     int flags) override;
  bool Send(Operation* op, int fd, const void* buf, size_t len, int flags) override;
  bool Sendmsg(Operation* op, int fd, const msghdr* msg, int flags) override;
  // Multishot: stays armed until an error.
  bool Accept(Operation* op, int fd) override;
  bool Connect(Operation* op, int fd, const sockaddr* addr, socklen_t len) override;
  // Cancels the requests of `target` (every request when null) / on `fd`; `op` (may be null)
  // gets the number cancelled, or -ENOENT.
  bool Cancel(Operation* target, Operation* op) override;
  bool CancelFd(int fd, Operation* op) override;

  // Starts every prepared request, then, unless completions are already waiting, waits for
  // readiness (block: until `timeout_ns`, negative for no limit) and performs the I/O it allows.
  void SubmitAndWait(bool block, int64_t timeout_ns) override;
  // Moves up to `max` completions to `out`, oldest first; returns how many.
  size_t PopCompletions(Completion* out, size_t max) override;
  bool HasCompletions() const override { return completions_head_ < completions_.size(); }

  absl::Status BindToCurrentThread() override { return absl::OkStatus(); }
  // A user-mode ring: the backend selects a buffer once a socket is readable.
  absl::StatusOr<std::unique_ptr<BufferRing>> CreateBufferRing(uint16_t group_id, uint32_t count,
                                                               uint32_t size,
                                                               uint32_t spares) override;
  void FillCounters(Counters* counters) const override;
  int last_error() const override { return 0; }
  // Receives and accepts stay armed here too, but as the loop's emulation, not the kernel's.
  bool multishot() const override { return false; }

 private:
  enum class Kind : uint8_t {
    kNop,
    kRead,
    kRecv,
    kRecvSelect,
    kRecvmsgSelect,
    kSend,
    kSendmsg,
    kAccept,
    kConnect,
    kCancel,
    kCancelFd
  };
  struct Request;
  // Usually one receive and at most one send wait on a socket: no heap block per socket.
  using WaiterList = absl::InlinedVector<Request*, 1>;
  struct FdWaiters {
    WaiterList readers;
    WaiterList writers;
    bool registered = false;
  };

  explicit EpollBackend(int epfd);
  Request* NewRequest(Kind kind, Operation* op, int fd);
  void Prepare(Request* r);
  void Free(Request* r);
  void Complete(Request* r, int32_t result, uint32_t flags);
  void Execute(Request* r);
  bool ExecuteRead(Request* r);
  bool ExecuteWrite(Request* r);
  bool ExecuteSelect(Request* r);
  void ExecuteCancel(Request* r);
  void Park(Request* r, bool write);
  void Unpark(Request* r);
  void OnReady(int fd, uint32_t events);
  void RunWaiters(absl::Span<Request* const> list, bool write);
  int CancelMatching(Request* cancel);
  void Unindex(Request* r);
  long Syscall(long result) {
    ++syscalls_;
    return result;
  }

  const int epfd_;
  std::vector<Request*> prepared_;
  std::vector<Request*> ready_;  // stopped early for fairness; run again before blocking
  std::vector<Completion> completions_;
  size_t completions_head_ = 0;
  // Indexed by fd number (descriptors are small and dense, as in libev's or libevent's fd
  // arrays); an fd nobody waits on has an empty, unregistered entry. Cheaper per socket than a
  // hash table slot, which matters for memory per idle session.
  std::vector<FdWaiters> waiters_;
  absl::flat_hash_map<Operation*, Request*> by_op_;  // live requests (chained per op)
  std::vector<std::unique_ptr<Request>> all_;
  std::vector<Request*> free_;
  uint64_t waits_ = 0;
  uint64_t syscalls_ = 0;
};

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_EPOLL_BACKEND_H_
