#include "ringnet/runtime/epoll_backend.h"

#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "ringnet/runtime/recvmsg_layout.h"

namespace ringnet::runtime {
namespace {

// Completions one request may produce before others get their turn (edge-triggered readiness
// is remembered: the request is simply run again in the next iteration).
constexpr int kBatchPerRequest = 64;
constexpr int kMaxEvents = 256;

}  // namespace

// Field order keeps it at 120 bytes (a 128-byte malloc chunk; one idle session parks one).
// The union is initialised through its first member; the other is written before it is read.
struct EpollBackend::Request {  // NOLINT(cppcoreguidelines-pro-type-member-init)
  Operation* op = nullptr;
  int fd = -1;
  int flags = 0;
  Kind kind = Kind::kNop;
  bool multishot = false;
  bool dead = false;    // cancelled while sitting in prepared_ or ready_
  bool parked = false;  // in waiters_[fd]
  bool write_side = false;
  bool connecting = false;
  void* buf = nullptr;
  size_t len = 0;
  BufferRing* pool = nullptr;
  union {
    msghdr msg{};  // sendmsg's header, or recvmsg's template
    struct {
      sockaddr_in6 addr;  // IPv4 or IPv6: the only families ringnet connects to
      socklen_t addrlen;
    } peer;  // connect's address
  };
  Operation* target = nullptr;
  Request* next_for_op = nullptr;
};

absl::StatusOr<std::unique_ptr<EpollBackend>> EpollBackend::Create() {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return absl::ErrnoToStatus(errno, "epoll_create1 failed");
  return std::unique_ptr<EpollBackend>(new EpollBackend(epfd));
}

EpollBackend::EpollBackend(int epfd) : epfd_(epfd) {
  static_assert(sizeof(void*) != 8 || sizeof(Request) <= 120,
                "an idle session parks a request: keep it in a 128-byte malloc chunk");
}

EpollBackend::~EpollBackend() { close(epfd_); }

EpollBackend::Request* EpollBackend::NewRequest(Kind kind, Operation* op, int fd) {
  Request* r;
  if (!free_.empty()) {
    r = free_.back();
    free_.pop_back();
    *r = Request();
  } else {
    all_.push_back(std::make_unique<Request>());
    r = all_.back().get();
  }
  r->kind = kind;
  r->op = op;
  r->fd = fd;
  return r;
}

void EpollBackend::Prepare(Request* r) {
  if (r->op != nullptr) {
    Request*& head = by_op_[r->op];
    r->next_for_op = head;
    head = r;
  }
  prepared_.push_back(r);
}

void EpollBackend::Unindex(Request* r) {
  if (r->op == nullptr) return;
  auto it = by_op_.find(r->op);
  if (it == by_op_.end()) return;
  Request** link = &it->second;
  while (*link != nullptr && *link != r) link = &(*link)->next_for_op;
  if (*link == r) *link = r->next_for_op;
  if (it->second == nullptr) by_op_.erase(it);
}

void EpollBackend::Free(Request* r) {
  Unindex(r);
  free_.push_back(r);
}

void EpollBackend::Complete(Request* r, int32_t result, uint32_t flags) {
  completions_.push_back({reinterpret_cast<uint64_t>(r->op), result, flags});
}

bool EpollBackend::Nop(Operation* op) {
  Prepare(NewRequest(Kind::kNop, op, -1));
  return true;
}

bool EpollBackend::Read(Operation* op, int fd, void* buf, uint32_t len, uint64_t /*offset*/) {
  Request* r = NewRequest(Kind::kRead, op, fd);
  r->buf = buf;
  r->len = len;
  Prepare(r);
  return true;
}

bool EpollBackend::Recv(Operation* op, int fd, void* buf, size_t len, int flags) {
  Request* r = NewRequest(Kind::kRecv, op, fd);
  r->buf = buf;
  r->len = len;
  r->flags = flags;
  Prepare(r);
  return true;
}

bool EpollBackend::RecvSelect(Operation* op, int fd, BufferRing* pool, int flags) {
  Request* r = NewRequest(Kind::kRecvSelect, op, fd);
  r->pool = pool;
  r->flags = flags;
  r->multishot = true;
  Prepare(r);
  return true;
}

bool EpollBackend::RecvmsgSelect(Operation* op, int fd, const msghdr* templ, BufferRing* pool,
                                 int flags) {
  Request* r = NewRequest(Kind::kRecvmsgSelect, op, fd);
  r->msg = *templ;
  r->pool = pool;
  r->flags = flags;
  r->multishot = true;
  Prepare(r);
  return true;
}

bool EpollBackend::Send(Operation* op, int fd, const void* buf, size_t len, int flags) {
  Request* r = NewRequest(Kind::kSend, op, fd);
  r->buf = const_cast<void*>(buf);
  r->len = len;
  r->flags = flags;
  r->write_side = true;
  Prepare(r);
  return true;
}

bool EpollBackend::Sendmsg(Operation* op, int fd, const msghdr* msg, int flags) {
  Request* r = NewRequest(Kind::kSendmsg, op, fd);
  r->msg = *msg;
  r->flags = flags;
  r->write_side = true;
  Prepare(r);
  return true;
}

bool EpollBackend::Accept(Operation* op, int fd) {
  Request* r = NewRequest(Kind::kAccept, op, fd);
  r->multishot = true;
  Prepare(r);
  return true;
}

bool EpollBackend::Connect(Operation* op, int fd, const sockaddr* addr, socklen_t len) {
  Request* r = NewRequest(Kind::kConnect, op, fd);
  // Only IPv4 and IPv6 addresses fit; a longer one fails when the request runs (addrlen 0).
  if (len <= sizeof(r->peer.addr)) {
    std::memcpy(&r->peer.addr, addr, len);
    r->peer.addrlen = len;
  } else {
    r->peer.addrlen = 0;
  }
  r->write_side = true;
  Prepare(r);
  return true;
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the order of the loop's SubmitCancel.
bool EpollBackend::Cancel(Operation* target, Operation* op) {
  Request* r = NewRequest(Kind::kCancel, op, -1);
  r->target = target;
  Prepare(r);
  return true;
}

bool EpollBackend::CancelFd(int fd, Operation* op) {
  Prepare(NewRequest(Kind::kCancelFd, op, fd));
  return true;
}

void EpollBackend::SubmitAndWait(bool block, int64_t timeout_ns) {
  for (std::vector<Request*>* list : {&prepared_, &ready_}) {
    std::vector<Request*> batch;
    batch.swap(*list);
    for (Request* r : batch) {
      if (r->dead) {
        Free(r);
      } else {
        Execute(r);
      }
    }
  }
  const bool wait =
      block && completions_.size() == completions_head_ && ready_.empty() && prepared_.empty();
  epoll_event events[kMaxEvents];
  timespec ts{};
  timespec* timeout = &ts;  // zero: poll
  if (wait && timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1'000'000'000;
    ts.tv_nsec = timeout_ns % 1'000'000'000;
  } else if (wait) {
    timeout = nullptr;
  }
  ++waits_;
  int n = static_cast<int>(Syscall(epoll_pwait2(epfd_, events, kMaxEvents, timeout, nullptr)));
  if (n < 0 && errno == ENOSYS) {  // kernels before 5.11: millisecond timeouts
    const int ms =
        timeout == nullptr
            ? -1
            : static_cast<int>(timeout->tv_sec * 1000 + (timeout->tv_nsec + 999'999) / 1'000'000);
    n = static_cast<int>(Syscall(epoll_wait(epfd_, events, kMaxEvents, ms)));
  }
  for (int i = 0; i < n; ++i) OnReady(events[i].data.fd, events[i].events);
}

size_t EpollBackend::PopCompletions(Completion* out, size_t max) {
  const size_t n = std::min(max, completions_.size() - completions_head_);
  std::copy_n(completions_.begin() + static_cast<ptrdiff_t>(completions_head_), n, out);
  completions_head_ += n;
  if (completions_head_ == completions_.size()) {
    completions_.clear();
    completions_head_ = 0;
  }
  return n;
}

absl::StatusOr<std::unique_ptr<BufferRing>> EpollBackend::CreateBufferRing(uint16_t group_id,
                                                                           uint32_t count,
                                                                           uint32_t size,
                                                                           uint32_t spares) {
  return BufferRing::CreateUserSpace(group_id, count, size, spares);
}

void EpollBackend::FillCounters(Counters* counters) const {
  counters->enter_calls = waits_;
  counters->syscalls = syscalls_;
}

void EpollBackend::Execute(Request* r) {
  bool done = true;
  switch (r->kind) {
    case Kind::kNop:
      Complete(r, 0, 0);
      break;
    case Kind::kRead:
    case Kind::kRecv:
    case Kind::kAccept:
      done = ExecuteRead(r);
      break;
    case Kind::kRecvSelect:
    case Kind::kRecvmsgSelect:
      done = ExecuteSelect(r);
      break;
    case Kind::kSend:
    case Kind::kSendmsg:
    case Kind::kConnect:
      done = ExecuteWrite(r);
      break;
    case Kind::kCancel:
    case Kind::kCancelFd:
      ExecuteCancel(r);
      break;
  }
  if (done) {
    Unpark(r);
    Free(r);
  }
}

bool EpollBackend::ExecuteRead(Request* r) {
  for (int i = 0; i < kBatchPerRequest; ++i) {
    long n;
    if (r->kind == Kind::kAccept) {
      n = Syscall(accept4(r->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    } else if (r->kind == Kind::kRead) {
      // RWF_NOWAIT: never block, even on a blocking pipe or file (sockets get MSG_DONTWAIT).
      iovec iov{r->buf, r->len};
      n = Syscall(preadv2(r->fd, &iov, 1, -1, RWF_NOWAIT));
    } else {
      n = Syscall(recv(r->fd, r->buf, r->len, r->flags | MSG_DONTWAIT));
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Park(r, /*write=*/false);
      return false;
    }
    if (n < 0) {
      Complete(r, -errno, 0);
      return true;
    }
    const bool more = r->kind == Kind::kAccept && r->multishot;
    Complete(r, static_cast<int32_t>(n), more ? IORING_CQE_F_MORE : 0);
    if (!more) return true;
  }
  Unpark(r);
  ready_.push_back(r);
  return false;
}

bool EpollBackend::ExecuteSelect(Request* r) {
  for (int i = 0; i < kBatchPerRequest; ++i) {
    const int32_t id = r->pool->Select();
    if (id < 0) {
      Complete(r, -ENOBUFS, 0);
      return true;
    }
    const uint16_t bid = static_cast<uint16_t>(id);
    char* buffer = r->pool->Data(bid);
    long n;
    int32_t result;
    if (r->kind == Kind::kRecvSelect) {
      n = Syscall(recv(r->fd, buffer, r->pool->buffer_size(), r->flags | MSG_DONTWAIT));
      result = static_cast<int32_t>(n);
    } else {
      RecvmsgLayout layout(buffer, r->pool->buffer_size(), r->msg);
      iovec iov{};
      msghdr msg = layout.Msghdr(&iov);
      n = Syscall(recvmsg(r->fd, &msg, r->flags | MSG_DONTWAIT));
      result = n >= 0 ? layout.Finish(msg, static_cast<size_t>(n)) : 0;
    }
    const int error = errno;
    if (n < 0 || (n == 0 && r->kind == Kind::kRecvSelect)) r->pool->Unselect(bid);
    if (n < 0 && error == EINTR) continue;
    if (n < 0 && (error == EAGAIN || error == EWOULDBLOCK)) {
      Park(r, /*write=*/false);
      return false;
    }
    if (n < 0) {
      Complete(r, -error, 0);
      return true;
    }
    if (n == 0 && r->kind == Kind::kRecvSelect) {
      Complete(r, 0, 0);  // EOF (or an empty datagram): ends the multishot, as io_uring does
      return true;
    }
    Complete(r, result, BufferRing::FlagsFor(bid) | (r->multishot ? IORING_CQE_F_MORE : 0));
    if (!r->multishot) return true;
  }
  Unpark(r);
  ready_.push_back(r);
  return false;
}

bool EpollBackend::ExecuteWrite(Request* r) {
  while (true) {
    long n;
    if (r->kind == Kind::kConnect) {
      if (r->peer.addrlen == 0) {
        errno = EAFNOSUPPORT;
        n = -1;
      } else if (!r->connecting) {
        n = Syscall(connect(r->fd, reinterpret_cast<sockaddr*>(&r->peer.addr), r->peer.addrlen));
        if (n < 0 && errno == EINPROGRESS) {
          r->connecting = true;
          Park(r, /*write=*/true);
          return false;
        }
      } else {
        int error = 0;
        socklen_t len = sizeof(error);
        Syscall(getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &error, &len));
        if (error == EINPROGRESS || error == EALREADY) return false;
        errno = error;
        n = error == 0 ? 0 : -1;
      }
    } else if (r->kind == Kind::kSend) {
      n = Syscall(send(r->fd, r->buf, r->len, r->flags | MSG_DONTWAIT));
    } else {
      n = Syscall(sendmsg(r->fd, &r->msg, r->flags | MSG_DONTWAIT));
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Park(r, /*write=*/true);
      return false;
    }
    Complete(r, n < 0 ? -errno : static_cast<int32_t>(n), 0);
    return true;
  }
}

int EpollBackend::CancelMatching(Request* cancel) {
  std::vector<Request*> victims;
  auto consider = [&](Request* r) {
    if (r == cancel || r->dead || r->kind == Kind::kCancel || r->kind == Kind::kCancelFd) return;
    if (cancel->kind == Kind::kCancelFd ? r->fd == cancel->fd
                                        : (cancel->target == nullptr || r->op == cancel->target)) {
      victims.push_back(r);
    }
  };
  if (cancel->kind == Kind::kCancel && cancel->target != nullptr) {
    auto it = by_op_.find(cancel->target);
    for (Request* r = it == by_op_.end() ? nullptr : it->second; r != nullptr; r = r->next_for_op) {
      consider(r);
    }
  } else {
    for (auto& [op, head] : by_op_) {
      for (Request* r = head; r != nullptr; r = r->next_for_op) consider(r);
    }
  }
  for (Request* r : victims) {
    Complete(r, -ECANCELED, 0);
    if (r->parked) {
      Unpark(r);
      Free(r);
    } else {
      r->dead = true;  // still listed in prepared_ or ready_: freed when met there
      Unindex(r);
    }
  }
  return static_cast<int>(victims.size());
}

void EpollBackend::ExecuteCancel(Request* r) {
  const int cancelled = CancelMatching(r);
  // Even without an operation: the loop counts every request until its completion.
  Complete(r, cancelled > 0 ? cancelled : -ENOENT, 0);
}

void EpollBackend::Park(Request* r, bool write) {
  if (r->parked) return;
  const size_t index = static_cast<size_t>(r->fd);  // requests on negative fds never park
  if (index >= waiters_.size()) waiters_.resize(index + 1);
  FdWaiters& w = waiters_[index];
  (write ? w.writers : w.readers).push_back(r);
  r->parked = true;
  if (!w.registered) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.fd = r->fd;
    if (Syscall(epoll_ctl(epfd_, EPOLL_CTL_ADD, r->fd, &ev)) != 0 && errno == EEXIST) {
      Syscall(epoll_ctl(epfd_, EPOLL_CTL_MOD, r->fd, &ev));
    }
    w.registered = true;
  }
}

void EpollBackend::Unpark(Request* r) {
  if (!r->parked) return;
  r->parked = false;
  const size_t index = static_cast<size_t>(r->fd);
  if (index >= waiters_.size()) return;
  FdWaiters& w = waiters_[index];
  for (WaiterList* list : {&w.readers, &w.writers}) {
    list->erase(std::remove(list->begin(), list->end(), r), list->end());
  }
  if (w.readers.empty() && w.writers.empty()) {
    // Nothing waits on this fd: forget it before its owner closes it (the number may be reused).
    if (w.registered) Syscall(epoll_ctl(epfd_, EPOLL_CTL_DEL, r->fd, nullptr));
    w.readers.shrink_to_fit();  // empty: back to the inline slot, no heap block kept
    w.writers.shrink_to_fit();
    w.registered = false;
  }
}

void EpollBackend::OnReady(int fd, uint32_t events) {
  if (fd < 0 || static_cast<size_t>(fd) >= waiters_.size()) return;
  const bool error = (events & (EPOLLERR | EPOLLHUP)) != 0;
  // Copies: running a request can unpark it (clearing the fd's entry) or park another fd
  // (growing the vector).
  const WaiterList readers = waiters_[static_cast<size_t>(fd)].readers;
  const WaiterList writers = waiters_[static_cast<size_t>(fd)].writers;
  if (error || (events & (EPOLLIN | EPOLLRDHUP)) != 0) RunWaiters(readers, false);
  if (error || (events & EPOLLOUT) != 0) RunWaiters(writers, true);
}

void EpollBackend::RunWaiters(absl::Span<Request* const> list, bool write) {
  for (Request* r : list) {
    // A request run earlier in this batch may have finished (and been freed) this one's peers
    // only through cancellation, which never happens here; each runs once.
    if (!r->parked) continue;
    Execute(r);
    // Writes go in order: once one waits again, the later ones wait behind it.
    if (write && r->parked) break;
  }
}

}  // namespace ringnet::runtime
