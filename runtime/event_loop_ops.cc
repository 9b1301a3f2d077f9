// The loop's I/O submission calls: each forwards its request to the backend (LoopBackend:
// io_uring or epoll) and counts it in one place, Account. How a request maps onto an SQE or an
// emulated request is the backend's business (io_uring_backend.cc, epoll_backend.cc).
#include <cerrno>

#include "ringnet/runtime/event_loop.h"
#include "ringnet/runtime/io_uring_backend.h"
#include "ringnet/runtime/loop_backend.h"

namespace ringnet::runtime {

void EventLoop::Account(bool accepted, Operation* op) {
  if (accepted) [[likely]] {
    ++in_flight_;
    return;
  }
  // A refused cancel without an `op` has nobody to tell.
  if (op != nullptr) FailSubmission(op, 0);
}

void EventLoop::FailSubmission(Operation* op, int error) {
  // The kernel would not take an SQE even after a flush (or the backend cannot run the request):
  // complete it with the error on the loop thread, as a CQE would have.
  if (error == 0) error = backend_->last_error() != 0 ? backend_->last_error() : EBUSY;
  Defer([op, error] { op->Complete(-error, 0); });
}

void EventLoop::SubmitNop(Operation* op) { Account(backend_->Nop(op), op); }

void EventLoop::SubmitRead(Operation* op, int fd, void* buf, uint32_t len, uint64_t offset) {
  Account(backend_->Read(op, fd, buf, len, offset), op);
}

void EventLoop::SubmitRecv(Operation* op, int fd, void* buf, size_t len, int flags) {
  Account(backend_->Recv(op, fd, buf, len, flags), op);
}

void EventLoop::SubmitRecvMultishot(Operation* op, int fd, BufferRing* buffers, int flags) {
  Account(backend_->RecvSelect(op, fd, buffers, flags), op);
}

void EventLoop::SubmitRecvmsgMultishot(Operation* op, int fd, const msghdr* msg,
                                       BufferRing* buffers, int flags) {
  Account(backend_->RecvmsgSelect(op, fd, msg, buffers, flags), op);
}

void EventLoop::SubmitSend(Operation* op, int fd, const void* buf, size_t len, int flags) {
  Account(backend_->Send(op, fd, buf, len, flags), op);
}

void EventLoop::SubmitSendmsg(Operation* op, int fd, const msghdr* msg, int flags) {
  Account(backend_->Sendmsg(op, fd, msg, flags), op);
}

void EventLoop::SubmitAcceptMultishot(Operation* op, int fd) {
  Account(backend_->Accept(op, fd), op);
}

void EventLoop::SubmitConnect(Operation* op, int fd, const sockaddr* addr, socklen_t len) {
  Account(backend_->Connect(op, fd, addr, len), op);
}

void EventLoop::SubmitCancel(Operation* target, Operation* op) {
  // Counted even without `op` (user_data 0): its CQE still arrives and is reaped.
  Account(backend_->Cancel(target, op), op);
}

void EventLoop::SubmitCancelFd(int fd, Operation* op) { Account(backend_->CancelFd(fd, op), op); }

IoUringBackend* LoopBackendAccess::IoUring(EventLoop& loop) {
  // Only ChooseBackend sets the kind, together with the backend it names.
  return loop.backend_kind_ == Backend::kIoUring ? static_cast<IoUringBackend*>(loop.backend_.get())
                                                 : nullptr;
}

void LoopBackendAccess::Account(EventLoop& loop, bool accepted, Operation* op) {
  loop.Account(accepted, op);
}

void LoopBackendAccess::Fail(EventLoop& loop, Operation* op, int error) {
  loop.FailSubmission(op, error);
}

}  // namespace ringnet::runtime
