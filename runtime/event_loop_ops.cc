// The loop's I/O submission calls: the one place that knows how each request maps onto an SQE.
#include <liburing.h>

#include "ringnet/runtime/event_loop.h"

namespace ringnet::runtime {

void EventLoop::SubmitNop(Operation* op) {
  Submit(op, [](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); });
}

void EventLoop::SubmitRead(Operation* op, int fd, void* buf, uint32_t len, uint64_t offset) {
  Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_read(sqe, fd, buf, len, offset); });
}

void EventLoop::SubmitRecv(Operation* op, int fd, void* buf, size_t len, int flags) {
  Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_recv(sqe, fd, buf, len, flags); });
}

void EventLoop::SubmitRecvMultishot(Operation* op, int fd, uint16_t group) {
  Submit(op, [&](io_uring_sqe* sqe) {
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
  });
}

void EventLoop::SubmitRecvmsgMultishot(Operation* op, int fd, const msghdr* msg, uint16_t group,
                                       int flags) {
  Submit(op, [&](io_uring_sqe* sqe) {
    io_uring_prep_recvmsg_multishot(sqe, fd, const_cast<msghdr*>(msg),
                                    static_cast<unsigned>(flags));
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
  });
}

void EventLoop::SubmitSend(Operation* op, int fd, const void* buf, size_t len, int flags) {
  Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_send(sqe, fd, buf, len, flags); });
}

void EventLoop::SubmitSendmsg(Operation* op, int fd, const msghdr* msg, int flags) {
  Submit(op, [&](io_uring_sqe* sqe) {
    io_uring_prep_sendmsg(sqe, fd, msg, static_cast<unsigned>(flags));
  });
}

void EventLoop::SubmitAcceptMultishot(Operation* op, int fd) {
  Submit(op, [&](io_uring_sqe* sqe) {
    io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  });
}

void EventLoop::SubmitConnect(Operation* op, int fd, const sockaddr* addr, socklen_t len) {
  Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_connect(sqe, fd, addr, len); });
}

void EventLoop::SubmitCancel(Operation* target, Operation* op) {
  io_uring_sqe* sqe = ring_->GetSqe();
  if (sqe == nullptr) {
    if (op != nullptr) FailSubmission(op);
    return;
  }
  if (target == nullptr) {
    io_uring_prep_cancel(sqe, nullptr, IORING_ASYNC_CANCEL_ANY);
  } else {
    io_uring_prep_cancel(sqe, target, IORING_ASYNC_CANCEL_ALL);
  }
  // Without `op`, user_data 0: the loop counts the cancel request and drops its CQE.
  io_uring_sqe_set_data(sqe, op);
  ++in_flight_;
}

void EventLoop::SubmitCancelFd(int fd, Operation* op) {
  Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL); });
}

}  // namespace ringnet::runtime
