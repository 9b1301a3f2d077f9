// The baseline for //bench:tcp_echo: a plain epoll TCP echo server, written the way a careful
// engineer writes one by hand. One thread, edge-triggered, non-blocking: on readiness it reads
// until EAGAIN and writes each chunk back at once; bytes the socket will not take yet wait in a
// per-connection buffer and leave on EPOLLOUT. TCP_NODELAY, like ringnet's sessions.
//
//   epoll_echo_server --listen=127.0.0.1:0 [--stats]
//
// Prints "listening tcp HOST:PORT"; exits 0 on SIGTERM/SIGINT, with --stats printing
// "stats syscalls=N" (epoll_wait + accept4 + read + write + close calls).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

namespace {

struct Connection {
  std::string pending;  // bytes the socket did not take yet
};

unsigned long long g_syscalls = 0;

bool ParseListen(const char* text, sockaddr_in* addr) {
  std::string s(text);
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_port = htons(static_cast<uint16_t>(std::stoi(s.substr(colon + 1))));
  return inet_pton(AF_INET, s.substr(0, colon).c_str(), &addr->sin_addr) == 1;
}

// Writes `data` now as far as the socket allows; keeps the rest. False if the peer is gone.
bool Send(int fd, Connection& c, const char* data, size_t len) {
  if (!c.pending.empty()) {
    c.pending.append(data, len);
    return true;
  }
  while (len > 0) {
    ++g_syscalls;
    ssize_t n = write(fd, data, len);
    if (n > 0) {
      data += n;
      len -= static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      c.pending.append(data, len);
      return true;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

bool FlushPending(int fd, Connection& c) {
  size_t off = 0;
  while (off < c.pending.size()) {
    ++g_syscalls;
    ssize_t n = write(fd, c.pending.data() + off, c.pending.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      break;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  c.pending.erase(0, off);
  return true;
}

// Reads until EAGAIN, echoing as it goes. False when the connection should close.
bool OnReadable(int fd, Connection& c) {
  char buf[16384];
  while (true) {
    ++g_syscalls;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      if (!Send(fd, c, buf, static_cast<size_t>(n))) return false;
    } else if (n == 0) {
      return false;
    } else if (errno == EAGAIN) {
      return true;
    } else if (errno != EINTR) {
      return false;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* listen_text = "127.0.0.1:0";
  bool stats = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--listen=", 9) == 0) listen_text = argv[i] + 9;
    if (std::strcmp(argv[i], "--stats") == 0) stats = true;
  }
  sockaddr_in addr;
  if (!ParseListen(listen_text, &addr)) {
    std::fprintf(stderr, "bad --listen=%s (IPv4 HOST:PORT)\n", listen_text);
    return 2;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(lfd, 4096) != 0) {
    std::perror("bind/listen");
    return 1;
  }
  socklen_t len = sizeof(addr);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  char host[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr.sin_addr, host, sizeof(host));
  std::printf("listening tcp %s:%d\n", host, ntohs(addr.sin_port));
  std::fflush(stdout);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  ev.events = EPOLLIN;
  ev.data.fd = sfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);

  std::unordered_map<int, Connection> connections;
  epoll_event events[1024];
  bool running = true;
  while (running) {
    ++g_syscalls;
    int n = epoll_wait(ep, events, 1024, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == sfd) {
        running = false;
      } else if (fd == lfd) {
        while (true) {
          ++g_syscalls;
          int cfd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) break;
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
          cev.data.fd = cfd;
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
          connections[cfd];
        }
      } else {
        Connection& c = connections[fd];
        bool keep = true;
        if (events[i].events & EPOLLOUT) keep = FlushPending(fd, c);
        if (keep && (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
          keep = OnReadable(fd, c);
        }
        if (!keep) {
          ++g_syscalls;
          close(fd);
          connections.erase(fd);
        }
      }
    }
  }
  for (auto& [fd, c] : connections) close(fd);
  if (stats) std::printf("stats syscalls=%llu\n", g_syscalls);
  return 0;
}
