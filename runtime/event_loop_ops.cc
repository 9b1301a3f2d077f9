// The loop's I/O submission calls: the one place that knows how each request maps onto an SQE
// (io_uring) or an emulated request (epoll), and how receives fall back to single-shot requests
// into loop-selected buffers where the kernel has no multishot receive.
#include <liburing.h>

#include <algorithm>
#include <cstring>

#include "ringnet/runtime/event_loop.h"
#include "ringnet/runtime/recvmsg_layout.h"

namespace ringnet::runtime {

// A single-shot recvmsg with kernel buffer selection (kernels without multishot recvmsg),
// completing its owner's operation the way a multishot CQE would: the buffer rearranged into the
// recvmsg_out layout, minus IORING_CQE_F_MORE (the owner re-arms, as whenever a multishot request
// ends). The kernel still picks the buffer when data arrives, so idle sockets hold none.
class EventLoop::PooledReceive final : public Operation {
 public:
  explicit PooledReceive(EventLoop* loop) : loop_(loop) {}

  // Prepares the msghdr: the sender's address into this object, at most as many payload bytes
  // as leave room for the layout's header in front of them.
  msghdr* Start(Operation* owner, BufferRing* buffers, const msghdr& templ) {
    owner_ = owner;
    buffers_ = buffers;
    templ_ = templ;
    header_ = sizeof(io_uring_recvmsg_out) + templ.msg_namelen + templ.msg_controllen;
    iov_ =
        iovec{nullptr, buffers->buffer_size() - std::min<size_t>(header_, buffers->buffer_size())};
    msg_ = msghdr{};
    msg_.msg_name = &name_;
    msg_.msg_namelen = std::min<socklen_t>(templ.msg_namelen, sizeof(name_));
    msg_.msg_iov = &iov_;
    msg_.msg_iovlen = 1;
    return &msg_;
  }

  void Complete(int32_t result, uint32_t flags) override {
    Operation* owner = owner_;
    if (result >= 0 && BufferRing::HasBuffer(flags)) {
      const uint16_t id = BufferRing::BufferId(flags);
      char* buffer = buffers_->Data(id);
      // The kernel wrote the payload at the start: move it behind the header, then fill in the
      // header and the name where a multishot recvmsg puts them.
      const size_t stored = std::min<size_t>(static_cast<size_t>(result), iov_.iov_len);
      std::memmove(buffer + header_, buffer, stored);
      RecvmsgLayout layout(buffer, buffers_->buffer_size(), templ_);
      iovec unused{};
      msghdr placed = layout.Msghdr(&unused);
      std::memcpy(placed.msg_name, &name_, std::min<size_t>(msg_.msg_namelen, templ_.msg_namelen));
      placed.msg_namelen = msg_.msg_namelen;
      placed.msg_flags = msg_.msg_flags;
      result = layout.Finish(placed, static_cast<size_t>(result));
      flags = BufferRing::FlagsFor(id);
    } else {
      // An empty datagram takes no buffer here (a multishot recvmsg would still use one): the
      // sender goes to the template's msg_name, if the owner gave it one.
      if (result == 0 && templ_.msg_name != nullptr) {
        std::memcpy(templ_.msg_name, &name_,
                    std::min<size_t>(msg_.msg_namelen, templ_.msg_namelen));
      }
      flags = 0;
    }
    loop_->ReleasePooledReceive(this);
    owner->Complete(result, flags);
  }

  Operation* owner() const { return owner_; }

 private:
  EventLoop* loop_;
  Operation* owner_ = nullptr;
  BufferRing* buffers_ = nullptr;
  msghdr templ_{};
  size_t header_ = 0;
  sockaddr_storage name_{};
  msghdr msg_{};
  iovec iov_{};
};

void EventLoop::SubmitPooledRecvmsg(Operation* op, int fd, BufferRing* buffers, const msghdr* templ,
                                    int flags) {
  PooledReceive* raw;
  if (!idle_pooled_.empty()) {
    raw = idle_pooled_.back();
    idle_pooled_.pop_back();
  } else {
    raw = new PooledReceive(this);
  }
  msghdr* msg = raw->Start(op, buffers, *templ);
  pooled_by_owner_[op] = raw;
  Submit(raw, [&](io_uring_sqe* sqe) {
    io_uring_prep_recvmsg(sqe, fd, msg, static_cast<unsigned>(flags));
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffers->group_id();
  });
}

void EventLoop::ReleasePooledReceive(PooledReceive* receive) {
  pooled_by_owner_.erase(receive->owner());
  idle_pooled_.push_back(receive);
}

void EventLoop::DestroyPooledReceives() {
  // Only idle ones remain: Run() reaps every request before it returns.
  for (PooledReceive* receive : idle_pooled_) delete receive;
  idle_pooled_.clear();
}

void EventLoop::SubmitNop(Operation* op) {
  if (epoll_ != nullptr) {
    ++in_flight_;
    return epoll_->Nop(op);
  }
  Submit(op, [](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); });
}

void EventLoop::SubmitRead(Operation* op, int fd, void* buf, uint32_t len, uint64_t offset) {
  if (epoll_ != nullptr) {
    ++in_flight_;
    return epoll_->Read(op, fd, buf, len);
  }
  Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_read(sqe, fd, buf, len, offset); });
}

void EventLoop::SubmitRecv(Operation* op, int fd, void* buf, size_t len, int flags) {
  if (epoll_ != nullptr) {
    ++in_flight_;
    return epoll_->Recv(op, fd, buf, len, flags);
  }
  Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_recv(sqe, fd, buf, len, flags); });
}

void EventLoop::SubmitRecvMultishot(Operation* op, int fd, BufferRing* buffers, int flags) {
  if (epoll_ != nullptr) {
    ++in_flight_;
    return epoll_->RecvSelect(op, fd, buffers, flags, /*multishot=*/true);
  }
  Submit(op, [&](io_uring_sqe* sqe) {
    if (multishot_) {
      io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, flags);
    } else {
      io_uring_prep_recv(sqe, fd, nullptr, buffers->buffer_size(), flags);
    }
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffers->group_id();
  });
}

void EventLoop::SubmitRecvmsgMultishot(Operation* op, int fd, const msghdr* msg,
                                       BufferRing* buffers, int flags) {
  if (epoll_ != nullptr) {
    ++in_flight_;
    return epoll_->RecvmsgSelect(op, fd, msg, buffers, flags);
  }
  if (!multishot_) return SubmitPooledRecvmsg(op, fd, buffers, msg, flags);
  Submit(op, [&](io_uring_sqe* sqe) {
    io_uring_prep_recvmsg_multishot(sqe, fd, const_cast<msghdr*>(msg),
                                    static_cast<unsigned>(flags));
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffers->group_id();
  });
}

void EventLoop::SubmitSend(Operation* op, int fd, const void* buf, size_t len, int flags) {
  if (epoll_ != nullptr) {
    ++in_flight_;
    return epoll_->Send(op, fd, buf, len, flags);
  }
  Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_send(sqe, fd, buf, len, flags); });
}

void EventLoop::SubmitSendmsg(Operation* op, int fd, const msghdr* msg, int flags) {
  if (epoll_ != nullptr) {
    ++in_flight_;
    return epoll_->Sendmsg(op, fd, msg, flags);
  }
  Submit(op, [&](io_uring_sqe* sqe) {
    io_uring_prep_sendmsg(sqe, fd, msg, static_cast<unsigned>(flags));
  });
}

void EventLoop::SubmitAcceptMultishot(Operation* op, int fd) {
  if (epoll_ != nullptr) {
    ++in_flight_;
    return epoll_->Accept(op, fd, /*multishot=*/true);
  }
  Submit(op, [&](io_uring_sqe* sqe) {
    if (multishot_) {
      io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } else {
      io_uring_prep_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    }
  });
}

void EventLoop::SubmitConnect(Operation* op, int fd, const sockaddr* addr, socklen_t len) {
  if (epoll_ != nullptr) {
    ++in_flight_;
    return epoll_->Connect(op, fd, addr, len);
  }
  Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_connect(sqe, fd, addr, len); });
}

void EventLoop::SubmitCancel(Operation* target, Operation* op) {
  // A single-shot receive runs under its own operation: cancel that one.
  if (auto it = pooled_by_owner_.find(target); target != nullptr && it != pooled_by_owner_.end()) {
    target = it->second;
  }
  if (epoll_ != nullptr) {
    ++in_flight_;
    return epoll_->Cancel(target, op);
  }
  io_uring_sqe* sqe = ring_->GetSqe();
  if (sqe == nullptr) {
    if (op != nullptr) FailSubmission(op, 0);
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
  if (epoll_ != nullptr) {
    ++in_flight_;
    return epoll_->CancelFd(fd, op);
  }
  Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL); });
}

}  // namespace ringnet::runtime
