// EpollBackend: runs the event loop's requests with epoll and plain system calls, for machines
// where io_uring is unavailable (Docker's default seccomp profile, kernel.io_uring_disabled, old
// kernels).
//
// It offers the same request set as the io_uring path of EventLoop, with the same completion
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
#include "ringnet/runtime/operation.h"

namespace ringnet::runtime {

class EpollBackend {
 public:
  // One completion, as a CQE would carry it.
  struct Completion {
    Operation* op;
    int32_t result;
    uint32_t flags;
  };

  static absl::StatusOr<std::unique_ptr<EpollBackend>> Create();
  EpollBackend(const EpollBackend&) = delete;
  EpollBackend& operator=(const EpollBackend&) = delete;
  ~EpollBackend();

  // Requests; each completes through its Operation exactly as its io_uring counterpart would.
  void Nop(Operation* op);
  void Read(Operation* op, int fd, void* buf, uint32_t len);
  void Recv(Operation* op, int fd, void* buf, size_t len, int flags);
  // Receives into buffers of `pool` (user mode); multishot stays armed until EOF, error or
  // -ENOBUFS.
  void RecvSelect(Operation* op, int fd, BufferRing* pool, int flags, bool multishot);
  void RecvmsgSelect(Operation* op, int fd, const msghdr* templ, BufferRing* pool, int flags);
  void Send(Operation* op, int fd, const void* buf, size_t len, int flags);
  void Sendmsg(Operation* op, int fd, const msghdr* msg, int flags);
  void Accept(Operation* op, int fd, bool multishot);
  void Connect(Operation* op, int fd, const sockaddr* addr, socklen_t len);
  // Cancels the requests of `target` (every request when null) / on `fd`; `op` (may be null)
  // gets the number cancelled, or -ENOENT.
  void Cancel(Operation* target, Operation* op);
  void CancelFd(int fd, Operation* op);

  // Starts every prepared request, then, unless completions are already waiting, waits for
  // readiness (block: until `timeout_ns`, negative for no limit) and performs the I/O it allows.
  void SubmitAndWait(bool block, int64_t timeout_ns);
  // Moves up to `max` completions to `out`, oldest first; returns how many.
  size_t PopCompletions(Completion* out, size_t max);
  bool HasCompletions() const { return completions_head_ < completions_.size(); }

  uint64_t waits() const { return waits_; }
  uint64_t syscalls() const { return syscalls_; }

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
