// IoUringBackend: how each loop request maps onto an SQE, and how receives fall back to
// single-shot requests into kernel-selected buffers where the kernel has no multishot receive.
#include "ringnet/runtime/io_uring_backend.h"

#include <linux/time_types.h>

#include <algorithm>
#include <cstring>

#include "ringnet/runtime/buffer_ring.h"
#include "ringnet/runtime/recvmsg_layout.h"

namespace ringnet::runtime {

static_assert(LoopBackend::kInternalUserData == Ring::kInternalUserData,
              "the loop skips the ring's own CQEs by this value");

// A single-shot recvmsg with kernel buffer selection (kernels without multishot recvmsg),
// completing its owner's operation the way a multishot CQE would: the buffer rearranged into the
// recvmsg_out layout, minus IORING_CQE_F_MORE (the owner re-arms, as whenever a multishot request
// ends). The kernel still picks the buffer when data arrives, so idle sockets hold none.
class IoUringBackend::PooledReceive final : public Operation {
 public:
  explicit PooledReceive(IoUringBackend* backend) : backend_(backend) {}

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
    backend_->ReleasePooledReceive(this);
    owner->Complete(result, flags);
  }

  Operation* owner() const { return owner_; }

 private:
  IoUringBackend* backend_;
  Operation* owner_ = nullptr;
  BufferRing* buffers_ = nullptr;
  msghdr templ_{};
  size_t header_ = 0;
  sockaddr_storage name_{};
  msghdr msg_{};
  iovec iov_{};
};

IoUringBackend::IoUringBackend(std::unique_ptr<Ring> ring, bool multishot)
    : ring_(std::move(ring)), multishot_(multishot) {}

IoUringBackend::~IoUringBackend() {
  // Only idle ones remain: EventLoop::Run reaps every request before it returns.
  for (PooledReceive* receive : idle_pooled_) delete receive;
}

bool IoUringBackend::SubmitPooledRecvmsg(Operation* op, int fd, BufferRing* buffers,
                                         const msghdr* templ, int flags) {
  PooledReceive* raw;
  if (!idle_pooled_.empty()) {
    raw = idle_pooled_.back();
    idle_pooled_.pop_back();
  } else {
    raw = new PooledReceive(this);
  }
  msghdr* msg = raw->Start(op, buffers, *templ);
  const bool accepted = Submit(raw, [&](io_uring_sqe* sqe) {
    io_uring_prep_recvmsg(sqe, fd, msg, static_cast<unsigned>(flags));
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffers->group_id();
  });
  if (!accepted) {
    // Never reached the kernel: back to the pool at once; the loop fails the owner's request.
    idle_pooled_.push_back(raw);
    return false;
  }
  pooled_by_owner_[op] = raw;
  return true;
}

void IoUringBackend::ReleasePooledReceive(PooledReceive* receive) {
  pooled_by_owner_.erase(receive->owner());
  idle_pooled_.push_back(receive);
}

bool IoUringBackend::Nop(Operation* op) {
  return Submit(op, [](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); });
}

bool IoUringBackend::Read(Operation* op, int fd, void* buf, uint32_t len, uint64_t offset) {
  return Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_read(sqe, fd, buf, len, offset); });
}

bool IoUringBackend::Recv(Operation* op, int fd, void* buf, size_t len, int flags) {
  return Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_recv(sqe, fd, buf, len, flags); });
}

bool IoUringBackend::RecvSelect(Operation* op, int fd, BufferRing* buffers, int flags) {
  return Submit(op, [&](io_uring_sqe* sqe) {
    if (multishot_) {
      io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, flags);
    } else {
      io_uring_prep_recv(sqe, fd, nullptr, buffers->buffer_size(), flags);
    }
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffers->group_id();
  });
}

bool IoUringBackend::RecvmsgSelect(Operation* op, int fd, const msghdr* msg, BufferRing* buffers,
                                   int flags) {
  if (!multishot_) return SubmitPooledRecvmsg(op, fd, buffers, msg, flags);
  return Submit(op, [&](io_uring_sqe* sqe) {
    io_uring_prep_recvmsg_multishot(sqe, fd, const_cast<msghdr*>(msg),
                                    static_cast<unsigned>(flags));
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffers->group_id();
  });
}

bool IoUringBackend::Send(Operation* op, int fd, const void* buf, size_t len, int flags) {
  return Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_send(sqe, fd, buf, len, flags); });
}

bool IoUringBackend::Sendmsg(Operation* op, int fd, const msghdr* msg, int flags) {
  return Submit(op, [&](io_uring_sqe* sqe) {
    io_uring_prep_sendmsg(sqe, fd, msg, static_cast<unsigned>(flags));
  });
}

bool IoUringBackend::Accept(Operation* op, int fd) {
  return Submit(op, [&](io_uring_sqe* sqe) {
    if (multishot_) {
      io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } else {
      io_uring_prep_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    }
  });
}

bool IoUringBackend::Connect(Operation* op, int fd, const sockaddr* addr, socklen_t len) {
  return Submit(op, [&](io_uring_sqe* sqe) { io_uring_prep_connect(sqe, fd, addr, len); });
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the order of the loop's SubmitCancel.
bool IoUringBackend::Cancel(Operation* target, Operation* op) {
  // A single-shot receive runs under its own operation: cancel that one.
  if (auto it = pooled_by_owner_.find(target); target != nullptr && it != pooled_by_owner_.end()) {
    target = it->second;
  }
  // Without `op`, user_data 0: the loop counts the cancel request and drops its CQE.
  return Submit(op, [&](io_uring_sqe* sqe) {
    if (target == nullptr) {
      io_uring_prep_cancel(sqe, nullptr, IORING_ASYNC_CANCEL_ANY);
    } else {
      io_uring_prep_cancel(sqe, target, IORING_ASYNC_CANCEL_ALL);
    }
  });
}

bool IoUringBackend::CancelFd(int fd, Operation* op) {
  return Submit(
      op, [&](io_uring_sqe* sqe) { io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL); });
}

void IoUringBackend::SubmitAndWait(bool block, int64_t timeout_ns) {
  __kernel_timespec ts{};
  const __kernel_timespec* timeout = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1'000'000'000;
    ts.tv_nsec = timeout_ns % 1'000'000'000;
    timeout = &ts;
  }
  // -ETIME (timer due), -EINTR (signal) and -EBUSY (CQ backlog, reaped next) all just continue.
  ring_->SubmitAndWait(block ? 1 : 0, timeout);
}

size_t IoUringBackend::PopCompletions(Completion* out, size_t max) {
  constexpr size_t kBatch = 256;
  io_uring_cqe* cqes[kBatch];
  const unsigned n = ring_->PeekBatch(cqes, static_cast<unsigned>(std::min(max, kBatch)));
  for (unsigned i = 0; i < n; ++i) out[i] = {cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
  // Free the CQ slots before dispatching, so callbacks that submit never face a full CQ.
  ring_->Advance(n);
  return n;
}

absl::StatusOr<std::unique_ptr<BufferRing>> IoUringBackend::CreateBufferRing(uint16_t group_id,
                                                                             uint32_t count,
                                                                             uint32_t size,
                                                                             uint32_t spares) {
  // The kernel selects the buffers.
  return BufferRing::Create(*ring_, group_id, count, size, spares);
}

void IoUringBackend::FillCounters(Counters* counters) const {
  counters->enter_calls = ring_->enter_calls();
  counters->sqes_submitted = ring_->sqes_submitted();
  counters->sq_full_flushes = ring_->sq_full_flushes();
  counters->cq_dropped = ring_->DroppedCompletions();
  counters->syscalls = counters->enter_calls;
}

}  // namespace ringnet::runtime
