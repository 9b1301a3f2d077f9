// TcpClient: connection pool, reconnect with backoff, attempt limit, connect timeout; and the
// server's behaviour when accept runs out of file descriptors.
#include "ringnet/net/tcp_client.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/net/internal/loop_registry.h"
#include "ringnet/net/internal/socket.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/test/net_test_util.h"

namespace ringnet::net {
namespace {

using testing::ErrorLog;
using testing::PlainTcpClient;
using testing::RecordingListener;
using testing::TcpHarness;

TcpClientOptions ClientTo(const InetAddress& server, std::shared_ptr<RecordingListener> l) {
  TcpClientOptions options;
  options.server = server;
  options.reconnect_initial_backoff = absl::Milliseconds(5);
  options.reconnect_max_backoff = absl::Milliseconds(20);
  options.new_session = [l](SessionConfig& c) {
    c.listener = l;
    return absl::OkStatus();
  };
  return options;
}

// An address nothing listens on: bind a port, then close the socket.
InetAddress DeadAddress() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  InetAddress any = InetAddress::Loopback(0);
  ::bind(fd, any.sockaddr(), any.length());
  InetAddress bound = *internal::LocalAddressOf(fd);
  ::close(fd);
  return bound;
}

// How many objects (listeners, slots, sessions) `loop` keeps alive, read on its thread.
size_t LoopObjects(runtime::EventLoop* loop) {
  std::promise<size_t> count;
  std::future<size_t> got = count.get_future();
  if (!loop->Post([&] { count.set_value(internal::LoopRegistry::Of(loop).size()); })) return 0;
  return got.get();
}

TEST(TcpClientTest, KeepsNConnectionsAndReconnectsWhenTheServerDropsThem) {
  TcpHarness server;
  server.Start();
  auto client_listener = std::make_shared<RecordingListener>();
  TcpClientOptions options = ClientTo(server.server->address(), client_listener);
  options.connections = 4;
  auto client = TcpClient::Create(server.group.get(), options);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(client_listener->WaitFor([&] { return client_listener->opens() == 4; }));
  // A client's connect completes once the kernel queued it; the server may accept it later.
  ASSERT_TRUE(server.listener->WaitFor([&] { return server.listener->opens() == 4; }));
  EXPECT_EQ((*client)->session_count(), 4u);
  // The server closes every session: each slot reconnects.
  for (const SessionHandle& s : server.listener->sessions()) s.Close();
  ASSERT_TRUE(client_listener->WaitFor([&] { return client_listener->opens() == 8; }));
  ASSERT_TRUE(client_listener->WaitFor([&] { return (*client)->session_count() == 4; }));
  (*client)->Close();
  EXPECT_TRUE((*client)->WaitClosed(absl::Seconds(30)));
  EXPECT_EQ((*client)->stats().sessions_opened, 8u);
  EXPECT_EQ(client_listener->closes(), 8);
  EXPECT_EQ(client_listener->protocol_violations(), 0);
}

TEST(TcpClientTest, GivesUpAfterTheAttemptLimitWithClearErrors) {
  auto group = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(group.ok());
  runtime::EventLoopGroup* group_raw = group->get();
  auto listener = std::make_shared<RecordingListener>();
  ErrorLog log;
  TcpClientOptions options = ClientTo(DeadAddress(), listener);
  options.max_reconnect_attempts = 3;
  options.on_error = log.Sink();
  auto client = TcpClient::Create(group_raw, options);
  ASSERT_TRUE(client.ok());
  // Wait for the three refusals without sleeping: the slot finishes after the third.
  while (log.size() < 3) std::this_thread::yield();
  (*client)->Close();
  ASSERT_TRUE((*client)->WaitClosed(absl::Seconds(30)));
  EXPECT_EQ((*client)->stats().connect_attempts, 3u);
  EXPECT_EQ((*client)->stats().connect_failures, 3u);
  std::lock_guard<std::mutex> lock(log.mutex);
  ASSERT_EQ(log.errors.size(), 3u);
  EXPECT_NE(log.errors[0].message().find("ECONNREFUSED"), std::string::npos) << log.errors[0];
  EXPECT_EQ(listener->opens(), 0);
}

TEST(TcpClientTest, NoReconnectAfterACleanCloseWhenSoConfigured) {
  TcpHarness server;
  server.Start();
  auto client_listener = std::make_shared<RecordingListener>();
  TcpClientOptions options = ClientTo(server.server->address(), client_listener);
  options.reconnect_after_clean_close = false;
  auto client = TcpClient::Create(server.group.get(), options);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client_listener->WaitFor([&] { return client_listener->opens() == 1; }));
  client_listener->sessions()[0].Close();
  ASSERT_TRUE(client_listener->WaitFor([&] { return client_listener->closes() == 1; }));
  // The slot is done: nothing else to wait for, and no second session was opened.
  (*client)->Close();
  ASSERT_TRUE((*client)->WaitClosed(absl::Seconds(30)));
  EXPECT_EQ(client_listener->opens(), 1);
  EXPECT_EQ((*client)->stats().connect_attempts, 1u);
}

TEST(TcpClientTest, ConnectTimeoutIsReportedAsDeadlineExceeded) {
  // A listener whose accept queue is full drops new SYNs: connect() hangs until our timeout.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  InetAddress any = InetAddress::Loopback(0);
  ASSERT_EQ(::bind(fd, any.sockaddr(), any.length()), 0);
  ASSERT_EQ(::listen(fd, 0), 0);
  InetAddress full = *internal::LocalAddressOf(fd);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(c, full.sockaddr(), full.length());
    fillers.push_back(c);
  }
  auto group = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(group.ok());
  auto listener = std::make_shared<RecordingListener>();
  ErrorLog log;
  TcpClientOptions options = ClientTo(full, listener);
  options.connect_timeout = absl::Milliseconds(100);
  options.max_reconnect_attempts = 1;
  options.on_error = log.Sink();
  auto client = TcpClient::Create(group->get(), options);
  ASSERT_TRUE(client.ok());
  while (log.size() < 1) std::this_thread::yield();
  (*client)->Close();
  ASSERT_TRUE((*client)->WaitClosed(absl::Seconds(30)));
  {
    std::lock_guard<std::mutex> lock(log.mutex);
    EXPECT_EQ(log.errors[0].code(), absl::StatusCode::kDeadlineExceeded) << log.errors[0];
    EXPECT_NE(log.errors[0].message().find("timed out"), std::string::npos);
  }
  for (int c : fillers) ::close(c);
  ::close(fd);
}

TEST(TcpClientTest, OptionsLoopPinsEveryConnectionToThatLoop) {
  TcpHarness server;
  server.Start({}, /*loops=*/3);
  runtime::EventLoop* pinned = server.group->loop(1);
  auto client_listener = std::make_shared<RecordingListener>();
  TcpClientOptions options = ClientTo(server.server->address(), client_listener);
  options.connections = 4;
  options.loop = pinned;
  auto client = TcpClient::Create(server.group.get(), options);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(client_listener->WaitFor([&] { return client_listener->opens() == 4; }));
  // Without `loop` the four would be spread round-robin over the three loops.
  for (const SessionHandle& s : client_listener->sessions()) EXPECT_EQ(s.loop(), pinned);
  (*client)->Close();
  EXPECT_TRUE((*client)->WaitClosed(absl::Seconds(30)));

  // A loop of another group is refused, naming the field.
  auto other = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(other.ok());
  options.loop = (*other)->loop(0);
  absl::StatusOr<std::unique_ptr<TcpClient>> refused =
      TcpClient::Create(server.group.get(), options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("TcpClientOptions.loop"), std::string::npos)
      << refused.status();
}

// A relay owns one client per connection it serves and drops it on the loop thread, from its
// session's OnClose or while the client still dials. The destructor cannot wait there
// (WaitClosed returns false at once): it closes, and the slot and its session finish on their
// own, before the group stops.
TEST(TcpClientTest, DestroyedOnItsLoopThreadItClosesAndFinishesWithoutWaiting) {
  TcpHarness server;
  server.Start();
  runtime::EventLoop* loop = server.group->loop(0);
  const size_t before = LoopObjects(loop);  // the server's listener
  auto client_listener = std::make_shared<RecordingListener>();
  TcpClientOptions options = ClientTo(server.server->address(), client_listener);
  options.reconnect = false;
  auto made = TcpClient::Create(server.group.get(), options);
  ASSERT_TRUE(made.ok()) << made.status();
  std::shared_ptr<TcpClient> client = *std::move(made);
  std::atomic<bool> destroyed{false};
  client_listener->on_close = [&](const SessionHandle&) {
    client.reset();  // on the loop thread, inside a callback of the client's own session
    destroyed = true;
  };
  ASSERT_TRUE(client_listener->WaitFor([&] { return client_listener->opens() == 1; }));
  ASSERT_TRUE(server.listener->WaitFor([&] { return server.listener->opens() == 1; }));
  server.listener->sessions()[0].Close();
  ASSERT_TRUE(client_listener->WaitFor([&] { return destroyed.load(); }));
  EXPECT_EQ(client_listener->closes(), 1);

  // And while it dials (a connect nothing answers: the accept queue of a listener is full),
  // destroyed from a task: the dial is cancelled.
  int full_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  InetAddress any = InetAddress::Loopback(0);
  ASSERT_EQ(::bind(full_fd, any.sockaddr(), any.length()), 0);
  ASSERT_EQ(::listen(full_fd, 0), 0);
  InetAddress full = *internal::LocalAddressOf(full_fd);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(c, full.sockaddr(), full.length());
    fillers.push_back(c);
  }
  TcpClientOptions dialing = ClientTo(full, client_listener);
  dialing.loop = loop;
  dialing.connect_timeout = absl::Seconds(60);
  auto second = TcpClient::Create(server.group.get(), dialing);
  ASSERT_TRUE(second.ok()) << second.status();
  std::shared_ptr<TcpClient> doomed = *std::move(second);
  EXPECT_GT(LoopObjects(loop), before);  // its slot, dialing
  ASSERT_TRUE(loop->Post([&] { doomed.reset(); }));
  // Every slot and session of both clients goes away on its own, long before the timeout.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (LoopObjects(loop) != before && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(LoopObjects(loop), before);
  EXPECT_EQ(client_listener->opens(), 1);
  EXPECT_EQ(client_listener->protocol_violations(), 0);
  for (int c : fillers) ::close(c);
  ::close(full_fd);
}

TEST(TcpServerTest, BadOptionsAndBindErrorsAreReturnedByCreate) {
  auto group = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(group.ok());
  TcpServerOptions options;
  options.listen = InetAddress::Loopback(0);
  EXPECT_EQ(TcpServer::Create(group->get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);  // no new_session
  options.new_session = [](SessionConfig&) { return absl::OkStatus(); };
  EXPECT_EQ(TcpServer::Create(nullptr, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  TcpServerOptions no_address;
  no_address.new_session = options.new_session;
  EXPECT_EQ(TcpServer::Create(group->get(), no_address).status().code(),
            absl::StatusCode::kInvalidArgument);
  TcpServerOptions bad_bind;
  bad_bind.new_session = options.new_session;
  bad_bind.listen = *InetAddress::Parse("192.0.2.1:0");  // TEST-NET-1: not this host's address
  absl::StatusOr<std::unique_ptr<TcpServer>> s = TcpServer::Create(group->get(), bad_bind);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("EADDRNOTAVAIL"), std::string::npos) << s.status();
}

// In a child process whose file limit is tiny, a server keeps serving through EMFILE: accept
// errors are reported, the loop backs off instead of spinning, and once descriptors free up the
// waiting connections are accepted.
TEST(TcpServerTest, AcceptSurvivesEmfileWithoutSpinning) {
  int ready[2];
  int done[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(done), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ready[0]);
    close(done[1]);
    rlimit lim{48, 48};
    setrlimit(RLIMIT_NOFILE, &lim);
    auto group = runtime::EventLoopGroup::Create(1);
    if (!group.ok()) _exit(10);
    std::atomic<int> emfile{0};
    TcpServerOptions options;
    options.listen = InetAddress::Loopback(0);
    options.accept_retry = absl::Milliseconds(20);
    options.on_error = [&](const absl::Status& s) {
      if (s.message().find("EMFILE") == absl::string_view::npos) return;
      // The first one tells the parent, which holds every connection open until then.
      if (emfile++ == 0) (void)!write(ready[1], "E", 1);
    };
    auto echo = std::make_shared<RecordingListener>();
    echo->on_message = [](const SessionHandle& s, Package& p, const InetAddress&) {
      (void)s.WritePkg(std::move(p));
    };
    options.new_session = [echo](SessionConfig& c) {
      c.listener = echo;
      return absl::OkStatus();
    };
    auto server = TcpServer::Create(group->get(), options);
    if (!server.ok()) _exit(11);
    uint16_t port = (*server)->address().port();
    if (write(ready[1], &port, sizeof(port)) != sizeof(port)) _exit(12);
    char c;
    (void)!read(done[0], &c, 1);  // EOF: the parent is finished
    std::atomic<uint64_t> iterations{0};
    std::atomic<bool> read_counters{false};
    (*group)->loop(0)->Post([&] {
      iterations = (*group)->loop(0)->counters().iterations;
      read_counters = true;
    });
    while (!read_counters) std::this_thread::yield();
    if (emfile == 0) _exit(20);
    // A loop spinning on EMFILE would run millions of iterations here.
    if (iterations > 100'000) _exit(21);
    _exit(0);
  }
  close(ready[1]);
  close(done[0]);
  uint16_t port = 0;
  ASSERT_EQ(read(ready[0], &port, sizeof(port)), static_cast<ssize_t>(sizeof(port)));
  // 80 connections against a 48-descriptor server: some wait in the accept queue.
  std::vector<PlainTcpClient> peers;
  for (int i = 0; i < 80; ++i) {
    auto p = PlainTcpClient::Connect(InetAddress::Loopback(port));
    ASSERT_TRUE(p.ok()) << p.status();
    peers.push_back(*std::move(p));
  }
  // All 80 stay open until the server has run out of descriptors (however slowly it accepts:
  // with single-shot accepts under load it might otherwise free descriptors as fast as it takes
  // them and never meet EMFILE).
  pollfd emfile_seen{ready[0], POLLIN, 0};
  ASSERT_EQ(poll(&emfile_seen, 1, 30'000), 1) << "no EMFILE reported within 30 s";
  char e = 0;
  ASSERT_EQ(read(ready[0], &e, 1), 1);
  EXPECT_EQ(e, 'E');
  // Each is served once the ones before it have gone and freed their descriptors.
  int served = 0;
  for (int i = 0; i < 80; ++i) {
    ASSERT_TRUE(peers[i].WriteAll("z").ok());
    absl::StatusOr<std::string> echo = peers[i].ReadExactly(1, absl::Seconds(30));
    if (echo.ok() && *echo == "z") ++served;
    peers[i].Reset();
  }
  EXPECT_EQ(served, 80);
  close(done[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "20: no EMFILE reported, 21: the loop spun";
  close(ready[0]);
}

}  // namespace
}  // namespace ringnet::net
