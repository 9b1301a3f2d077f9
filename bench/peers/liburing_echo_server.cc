// The ceiling for //bench:compare: a minimal TCP echo server written directly on liburing, with
// none of a runtime's generality (no sessions, codecs, timers, handles or cross-thread posts).
//
//   liburing_echo_server --listen=127.0.0.1:0 [--stats] [--buffers=512]
//
// One thread, one ring set up with SINGLE_ISSUER | DEFER_TASKRUN and a registered ring fd.
//   - multishot accept;
//   - multishot recv into one provided-buffer ring (16 KiB buffers);
//   - the echo is sent straight from the received buffer (no copy), and the buffer goes back to
//     the ring when the send that carries it completes. One send in flight per connection;
//     buffers received meanwhile are gathered into the next sendmsg (order is preserved);
//   - every SQE prepared while handling a batch of completions is submitted with the next wait:
//     one io_uring_enter per iteration.
// A recv that finds the buffer ring empty (-ENOBUFS) is re-armed once sends give buffers back.
//
// Prints "listening tcp HOST:PORT"; exits 0 on SIGTERM/SIGINT, with --stats printing
// "stats iterations=N enters=N sqes=N cqes=N" (enters: io_uring_enter system calls).
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr unsigned kBufferSize = 16 << 10;
constexpr uint16_t kGroup = 0;
constexpr int kMaxIov = 16;

// user_data: a Connection's address with the operation in its low bits, or one of these.
enum Tag : uint64_t { kRecv = 0, kSend = 1, kTagMask = 7 };
constexpr uint64_t kAcceptData = 1;  // odd, so never a Connection address
constexpr uint64_t kSignalData = 3;

struct Pending {
  uint16_t bid;
  uint32_t offset;
  uint32_t len;
};

struct alignas(8) Connection {
  int fd = -1;
  std::vector<Pending> queue;  // received buffers not yet fully sent, in order
  size_t head = 0;             // queue[head..] is unsent
  int in_flight_buffers = 0;   // queue entries the send in flight covers
  bool recv_armed = false;
  bool send_in_flight = false;
  bool dirty = false;  // on the flush list
  bool eof = false;
  bool waiting_buffers = false;  // recv stopped on -ENOBUFS
  msghdr msg{};
  iovec iov[kMaxIov];
};

struct Server {
  io_uring ring{};
  io_uring_buf_ring* br = nullptr;
  char* buffers = nullptr;
  unsigned buffer_count = 512;
  int listen_fd = -1;
  int signal_fd = -1;
  signalfd_siginfo siginfo{};
  bool running = true;
  std::vector<Connection*> flush;    // connections with unsent buffers and no send in flight
  std::vector<Connection*> starved;  // connections whose recv waits for buffers
  unsigned recycled = 0;             // buffers given back during this iteration
  unsigned long long iterations = 0, enters = 0, sqes = 0, cqes = 0;

  io_uring_sqe* Sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    while (sqe == nullptr) {  // SQ full: hand it to the kernel and retry
      int n = io_uring_submit(&ring);
      ++enters;
      if (n > 0) sqes += static_cast<unsigned>(n);
      sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
  }

  char* Buffer(uint16_t bid) { return buffers + static_cast<size_t>(bid) * kBufferSize; }

  void Recycle(uint16_t bid) {
    io_uring_buf_ring_add(br, Buffer(bid), kBufferSize, bid, io_uring_buf_ring_mask(buffer_count),
                          0);
    io_uring_buf_ring_advance(br, 1);
    ++recycled;
  }

  void ArmAccept() {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_multishot_accept(sqe, listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, kAcceptData);
  }

  void ArmRecv(Connection* c) {
    c->recv_armed = true;
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_recv_multishot(sqe, c->fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kGroup;
    io_uring_sqe_set_data64(sqe, reinterpret_cast<uint64_t>(c) | kRecv);
  }

  void ArmSignal() {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_read(sqe, signal_fd, &siginfo, sizeof(siginfo), 0);
    io_uring_sqe_set_data64(sqe, kSignalData);
  }

  void Send(Connection* c) {
    int n = 0;
    for (size_t i = c->head; i < c->queue.size() && n < kMaxIov; ++i, ++n) {
      const Pending& p = c->queue[i];
      c->iov[n].iov_base = Buffer(p.bid) + p.offset;
      c->iov[n].iov_len = p.len - p.offset;
    }
    c->in_flight_buffers = n;
    c->send_in_flight = true;
    io_uring_sqe* sqe = Sqe();
    if (n == 1) {
      io_uring_prep_send(sqe, c->fd, c->iov[0].iov_base, c->iov[0].iov_len, MSG_NOSIGNAL);
    } else {
      c->msg = msghdr{};
      c->msg.msg_iov = c->iov;
      c->msg.msg_iovlen = static_cast<size_t>(n);
      io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
    }
    io_uring_sqe_set_data64(sqe, reinterpret_cast<uint64_t>(c) | kSend);
  }

  void MarkDirty(Connection* c) {
    if (!c->dirty && !c->send_in_flight) {
      c->dirty = true;
      flush.push_back(c);
    }
  }

  // Drops the connection once nothing the kernel holds refers to it.
  void MaybeClose(Connection* c) {
    if (!c->eof || c->recv_armed || c->send_in_flight || c->dirty) return;
    for (size_t i = c->head; i < c->queue.size(); ++i) Recycle(c->queue[i].bid);
    close(c->fd);
    if (c->waiting_buffers) {
      for (Connection*& s : starved) {
        if (s == c) s = nullptr;
      }
    }
    delete c;
  }

  void OnAccept(int res, unsigned flags) {
    if (res >= 0) {
      int one = 1;
      setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      Connection* c = new Connection();
      c->fd = res;
      ArmRecv(c);
    }
    if (!(flags & IORING_CQE_F_MORE) && running) ArmAccept();
  }

  void OnRecv(Connection* c, int res, unsigned flags) {
    if (!(flags & IORING_CQE_F_MORE)) c->recv_armed = false;
    if (res > 0) {
      const uint16_t bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
      if (c->eof) {
        Recycle(bid);
      } else {
        c->queue.push_back({bid, 0, static_cast<uint32_t>(res)});
        MarkDirty(c);
      }
      if (!c->recv_armed && !c->eof) ArmRecv(c);
    } else if (res == -ENOBUFS) {
      c->waiting_buffers = true;
      starved.push_back(c);
    } else {  // EOF, reset, error
      c->eof = true;
    }
    MaybeClose(c);
  }

  void OnSend(Connection* c, int res) {
    c->send_in_flight = false;
    if (res < 0) {
      c->eof = true;
    } else {
      size_t n = static_cast<size_t>(res);
      while (n > 0 && c->head < c->queue.size()) {
        Pending& p = c->queue[c->head];
        const size_t left = p.len - p.offset;
        if (n < left) {  // a partial send resumes here
          p.offset += static_cast<uint32_t>(n);
          break;
        }
        n -= left;
        Recycle(p.bid);
        ++c->head;
      }
      if (c->head == c->queue.size()) {
        c->queue.clear();
        c->head = 0;
      }
      if (c->head < c->queue.size() && !c->eof) MarkDirty(c);
    }
    MaybeClose(c);
  }

  void Dispatch(io_uring_cqe* cqe) {
    const uint64_t data = cqe->user_data;
    if (data == kAcceptData) return OnAccept(cqe->res, cqe->flags);
    if (data == kSignalData) {
      running = false;
      return;
    }
    Connection* c = reinterpret_cast<Connection*>(data & ~kTagMask);
    if ((data & kTagMask) == kSend) return OnSend(c, cqe->res);
    OnRecv(c, cqe->res, cqe->flags);
  }

  // After a batch: one send per connection with unsent data; re-arm receives starved of buffers.
  void AfterBatch() {
    for (Connection* c : flush) {
      c->dirty = false;
      if (c->eof) {
        MaybeClose(c);
      } else if (!c->send_in_flight && c->head < c->queue.size()) {
        Send(c);
      }
    }
    flush.clear();
    // Only once sends have given buffers back: re-arming into an empty ring would spin.
    if (!starved.empty() && recycled > 0) {
      std::vector<Connection*> retry;
      retry.swap(starved);
      for (Connection* c : retry) {
        if (c == nullptr) continue;
        c->waiting_buffers = false;
        if (!c->eof && !c->recv_armed) ArmRecv(c);
        MaybeClose(c);
      }
    }
  }

  void Run() {
    while (running) {
      const int submitted = io_uring_submit_and_wait(&ring, 1);
      ++enters;
      if (submitted > 0) sqes += static_cast<unsigned>(submitted);
      ++iterations;
      unsigned head;
      unsigned n = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring, head, cqe) {
        Dispatch(cqe);
        ++n;
      }
      io_uring_cq_advance(&ring, n);
      cqes += n;
      AfterBatch();
      recycled = 0;
    }
  }
};

bool ParseListen(const char* text, sockaddr_in* addr) {
  std::string s(text);
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_port = htons(static_cast<uint16_t>(std::atoi(s.c_str() + colon + 1)));
  return inet_pton(AF_INET, s.substr(0, colon).c_str(), &addr->sin_addr) == 1;
}

int Fail(const char* what, int error) {
  std::fprintf(stderr, "liburing_echo_server: %s: %s\n", what, std::strerror(error));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const char* listen_text = "127.0.0.1:0";
  bool stats = false;
  Server s;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--listen=", 9) == 0) listen_text = argv[i] + 9;
    if (std::strcmp(argv[i], "--stats") == 0) stats = true;
    if (std::strncmp(argv[i], "--buffers=", 10) == 0) s.buffer_count = std::atoi(argv[i] + 10);
  }
  if (s.buffer_count == 0 || (s.buffer_count & (s.buffer_count - 1)) != 0) {
    std::fprintf(stderr, "--buffers must be a power of two\n");
    return 2;
  }
  sockaddr_in addr;
  if (!ParseListen(listen_text, &addr)) {
    std::fprintf(stderr, "bad --listen=%s (IPv4 HOST:PORT)\n", listen_text);
    return 2;
  }

  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
                 IORING_SETUP_SUBMIT_ALL;
  params.cq_entries = 16384;
  if (int ret = io_uring_queue_init_params(4096, &s.ring, &params); ret < 0) {
    return Fail("io_uring_queue_init_params", -ret);
  }
  io_uring_register_ring_fd(&s.ring);

  // The provided buffers: pages become resident only once the kernel writes into them.
  const size_t ring_bytes = sizeof(io_uring_buf) * s.buffer_count;
  s.br = static_cast<io_uring_buf_ring*>(
      mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  s.buffers = static_cast<char*>(mmap(nullptr, static_cast<size_t>(s.buffer_count) * kBufferSize,
                                      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (s.br == MAP_FAILED || s.buffers == MAP_FAILED) return Fail("mmap", errno);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(s.br);
  reg.ring_entries = s.buffer_count;
  reg.bgid = kGroup;
  if (int ret = io_uring_register_buf_ring(&s.ring, &reg, 0); ret < 0) {
    return Fail("io_uring_register_buf_ring", -ret);
  }
  io_uring_buf_ring_init(s.br);
  for (unsigned i = 0; i < s.buffer_count; ++i) {
    io_uring_buf_ring_add(s.br, s.Buffer(static_cast<uint16_t>(i)), kBufferSize,
                          static_cast<uint16_t>(i), io_uring_buf_ring_mask(s.buffer_count),
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(s.br, static_cast<int>(s.buffer_count));

  s.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(s.listen_fd, 4096) != 0) {
    return Fail("bind/listen", errno);
  }
  socklen_t len = sizeof(addr);
  getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  s.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC);

  s.ArmAccept();
  s.ArmSignal();
  char host[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr.sin_addr, host, sizeof(host));
  std::printf("listening tcp %s:%d\n", host, ntohs(addr.sin_port));
  std::fflush(stdout);

  s.Run();
  if (stats) {
    std::printf("stats iterations=%llu enters=%llu sqes=%llu cqes=%llu\n", s.iterations, s.enters,
                s.sqes, s.cqes);
  }
  std::fflush(stdout);
  return 0;  // the kernel reclaims sockets and the ring
}
