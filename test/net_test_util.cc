#include "ringnet/test/net_test_util.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringnet/runtime/buffer_ring.h"

namespace ringnet::testing {

absl::Status RecordingListener::OnOpen(const SessionHandle& s) {
  absl::Status result = on_open ? on_open(s) : absl::OkStatus();
  std::lock_guard<std::mutex> lock(mutex_);
  if (result.ok()) {
    ++opens_;
    sessions_.push_back(s);
  }
  Changed();
  return result;
}

void RecordingListener::OnClose(const SessionHandle& s) {
  if (on_close) on_close(s);
  std::lock_guard<std::mutex> lock(mutex_);
  if (std::find(closed_ids_.begin(), closed_ids_.end(), s.id()) != closed_ids_.end()) {
    ++violations_;
  }
  closed_ids_.push_back(s.id());
  ++closes_;
  Changed();
}

void RecordingListener::OnError(const SessionHandle& s, const absl::Status& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (std::find(closed_ids_.begin(), closed_ids_.end(), s.id()) != closed_ids_.end()) {
    ++violations_;
  }
  errors_.push_back(error);
  Changed();
}

void RecordingListener::OnCron(const SessionHandle& s) {
  if (on_cron) on_cron(s);
  std::lock_guard<std::mutex> lock(mutex_);
  ++crons_;
  Changed();
}

void RecordingListener::OnWritabilityChanged(const SessionHandle& s, bool writable) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (std::find(closed_ids_.begin(), closed_ids_.end(), s.id()) != closed_ids_.end()) {
      ++violations_;
    }
    writability_.push_back(writable);
  }
  if (on_writability) on_writability(s, writable);
  std::lock_guard<std::mutex> lock(mutex_);
  Changed();
}

std::vector<bool> RecordingListener::writability() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return writability_;
}

void RecordingListener::OnMessage(const SessionHandle& s, Package& pkg, const InetAddress& from) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (std::find(closed_ids_.begin(), closed_ids_.end(), s.id()) != closed_ids_.end()) {
      ++violations_;
    }
    if (!on_message) messages_.emplace_back(pkg.bytes());
  }
  if (on_message) on_message(s, pkg, from);
  std::lock_guard<std::mutex> lock(mutex_);
  Changed();
}

void RecordingListener::Changed() {
  ++generation_;
  changed_.notify_all();
}

bool RecordingListener::WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  while (true) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      seen = generation_;
    }
    if (done()) return true;  // evaluated unlocked: it may call the accessors
    std::unique_lock<std::mutex> lock(mutex_);
    if (!changed_.wait_until(lock, deadline, [&] { return generation_ != seen; })) {
      lock.unlock();
      return done();
    }
  }
}

int RecordingListener::opens() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return opens_;
}
int RecordingListener::closes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closes_;
}
int RecordingListener::crons() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return crons_;
}
std::vector<absl::Status> RecordingListener::errors() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return errors_;
}
std::vector<std::string> RecordingListener::messages() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return messages_;
}
std::vector<SessionHandle> RecordingListener::sessions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_;
}
int RecordingListener::protocol_violations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return violations_;
}

absl::StatusOr<PlainTcpClient> PlainTcpClient::Connect(const InetAddress& server) {
  int fd = ::socket(server.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  if (::connect(fd, server.sockaddr(), server.length()) != 0) {
    int e = errno;
    ::close(fd);
    return absl::ErrnoToStatus(e, absl::StrCat("connect ", server.ToString()));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return PlainTcpClient(fd);
}

PlainTcpClient::PlainTcpClient(PlainTcpClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

PlainTcpClient& PlainTcpClient::operator=(PlainTcpClient&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

PlainTcpClient::~PlainTcpClient() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status PlainTcpClient::WriteAll(absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "send");
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

namespace {

// Waits for `fd` to be readable; false on timeout.
bool WaitReadable(int fd, absl::Duration timeout) {
  pollfd p{fd, POLLIN, 0};
  int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  int r;
  do {
    r = ::poll(&p, 1, ms);
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

}  // namespace

absl::StatusOr<std::string> PlainTcpClient::ReadExactly(size_t n, absl::Duration timeout) {
  std::string out;
  out.resize(n);
  size_t got = 0;
  while (got < n) {
    if (!WaitReadable(fd_, timeout)) {
      return absl::DeadlineExceededError(absl::StrCat("read: got ", got, " of ", n, " bytes"));
    }
    ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return absl::ErrnoToStatus(errno, "recv");
    if (r == 0) return absl::OutOfRangeError(absl::StrCat("EOF after ", got, " of ", n, " bytes"));
    got += static_cast<size_t>(r);
  }
  return out;
}

absl::StatusOr<std::string> PlainTcpClient::ReadUntilEof(absl::Duration timeout) {
  std::string out;
  char buf[65536];
  while (true) {
    if (!WaitReadable(fd_, timeout)) return absl::DeadlineExceededError("read: no EOF in time");
    ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return absl::ErrnoToStatus(errno, "recv");
    if (r == 0) return out;
    out.append(buf, static_cast<size_t>(r));
  }
}

void PlainTcpClient::ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

void PlainTcpClient::Reset() {
  linger l{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd_);
  fd_ = -1;
}

void PlainTcpClient::SetReceiveBuffer(int bytes) {
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

void TcpHarness::Start(std::function<void(net::SessionConfig&)> configure, int loops,
                       InetAddress listen) {
  absl::StatusOr<std::unique_ptr<runtime::EventLoopGroup>> g =
      runtime::EventLoopGroup::Create(loops, loop_options);
  ASSERT_TRUE(g.ok()) << g.status();
  group = *std::move(g);
  if (!listener->on_message) {
    listener->on_message = [](const SessionHandle& s, Package& pkg, const InetAddress&) {
      (void)s.WritePkg(std::move(pkg));
    };
  }
  net::TcpServerOptions options;
  options.listen = listen;
  options.new_session = [l = listener, configure](net::SessionConfig& config) {
    config.listener = l;
    if (configure) configure(config);
    return absl::OkStatus();
  };
  absl::StatusOr<std::unique_ptr<net::TcpServer>> s =
      net::TcpServer::Create(group.get(), std::move(options));
  ASSERT_TRUE(s.ok()) << s.status();
  server = *std::move(s);
}

TcpHarness::~TcpHarness() {
  server.reset();
  if (group) group->Stop();
}

absl::StatusOr<PlainUdpSocket> PlainUdpSocket::Bind(const InetAddress& address) {
  int fd = ::socket(address.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  if (::bind(fd, address.sockaddr(), address.length()) != 0) {
    int e = errno;
    ::close(fd);
    return absl::ErrnoToStatus(e, "bind");
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return PlainUdpSocket(fd, InetAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len));
}

PlainUdpSocket::PlainUdpSocket(PlainUdpSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), address_(other.address_) {}

PlainUdpSocket& PlainUdpSocket::operator=(PlainUdpSocket&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    address_ = other.address_;
  }
  return *this;
}

PlainUdpSocket::~PlainUdpSocket() { Close(); }

void PlainUdpSocket::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::Status PlainUdpSocket::SendTo(absl::string_view bytes, const InetAddress& to) {
  if (::sendto(fd_, bytes.data(), bytes.size(), 0, to.sockaddr(), to.length()) < 0) {
    return absl::ErrnoToStatus(errno, "sendto");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<std::string, InetAddress>> PlainUdpSocket::Receive(
    absl::Duration timeout) {
  if (!WaitReadable(fd_, timeout)) return absl::DeadlineExceededError("no datagram in time");
  std::string buf(70000, '\0');
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&ss), &len);
  if (n < 0) return absl::ErrnoToStatus(errno, "recvfrom");
  buf.resize(static_cast<size_t>(n));
  return std::make_pair(buf, InetAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len));
}

void PlainUdpSocket::SetReceiveBuffer(int bytes) {
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

RingState ReceiveRingState(runtime::EventLoop* loop, uint32_t buffer_size) {
  std::promise<RingState> state;
  loop->Post([&] {
    absl::StatusOr<runtime::BufferRing*> ring = loop->GetBufferRing(buffer_size);
    state.set_value(ring.ok() ? RingState{(*ring)->outstanding(), (*ring)->holds_made(),
                                          (*ring)->exhaustions(), (*ring)->waiters()}
                              : RingState{});
  });
  return state.get_future().get();
}

bool AllReceiveBuffersBack(runtime::EventLoop* loop, uint32_t buffer_size) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (ReceiveRingState(loop, buffer_size).outstanding != 0) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

std::string LengthFramed(absl::string_view body) {
  const uint32_t n = static_cast<uint32_t>(body.size());
  std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(body.data(), body.size());
  return out;
}

int RaiseFileLimit(int n) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < static_cast<rlim_t>(n)) {
    lim.rlim_cur = std::min<rlim_t>(static_cast<rlim_t>(n), lim.rlim_max);
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  getrlimit(RLIMIT_NOFILE, &lim);
  return static_cast<int>(lim.rlim_cur);
}

}  // namespace ringnet::testing
