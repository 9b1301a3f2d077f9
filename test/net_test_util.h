// Test helpers for net/: a listener that records events and runs optional hooks, a condition
// waiter (no sleeps as synchronisation), and plain blocking POSIX socket peers, which are an
// independent implementation to test ringnet against.
#ifndef RINGNET_TEST_NET_TEST_UTIL_H_
#define RINGNET_TEST_NET_TEST_UTIL_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringnet/net/inet_address.h"
#include "ringnet/net/session.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/runtime/event_loop_group.h"

namespace ringnet::testing {

using net::InetAddress;
using net::Package;
using net::SessionHandle;

// Records every callback; optional hooks run first (on the loop thread). Thread-safe.
// Collects endpoint-level errors (an endpoint's on_error) from any thread.
struct ErrorLog {
  std::mutex mutex;
  std::vector<absl::Status> errors;
  std::function<void(const absl::Status&)> Sink() {
    return [this](const absl::Status& s) {
      std::lock_guard<std::mutex> lock(mutex);
      errors.push_back(s);
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mutex);
    return errors.size();
  }
};

class RecordingListener : public net::EventListener {
 public:
  std::function<absl::Status(const SessionHandle&)> on_open;
  std::function<void(const SessionHandle&, Package&, const InetAddress&)> on_message;
  std::function<void(const SessionHandle&)> on_cron;
  std::function<void(const SessionHandle&)> on_close;
  std::function<void(const SessionHandle&, bool)> on_writability;

  absl::Status OnOpen(const SessionHandle& s) override;
  void OnClose(const SessionHandle& s) override;
  void OnError(const SessionHandle& s, const absl::Status& error) override;
  void OnCron(const SessionHandle& s) override;
  void OnMessage(const SessionHandle& s, Package& pkg, const InetAddress& from) override;
  void OnWritabilityChanged(const SessionHandle& s, bool writable) override;

  // Waits (up to `timeout`) until `done()` holds, re-checking after every callback.
  bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(60));

  int opens() const;
  int closes() const;
  int crons() const;
  std::vector<absl::Status> errors() const;
  std::vector<std::string> messages() const;
  std::vector<SessionHandle> sessions() const;
  // Every OnWritabilityChanged, in order.
  std::vector<bool> writability() const;
  // Sessions for which OnClose ran more than once, or a callback arrived after OnClose.
  int protocol_violations() const;

 private:
  void Changed();

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t generation_ = 0;
  int opens_ = 0;
  int closes_ = 0;
  int crons_ = 0;
  int violations_ = 0;
  std::vector<absl::Status> errors_;
  std::vector<std::string> messages_;
  std::vector<SessionHandle> sessions_;
  std::vector<bool> writability_;
  std::vector<uint64_t> closed_ids_;
};

// Blocking TCP client socket helpers (plain POSIX, no ringnet).
class PlainTcpClient {
 public:
  static absl::StatusOr<PlainTcpClient> Connect(const InetAddress& server);
  PlainTcpClient(PlainTcpClient&& other) noexcept;
  PlainTcpClient& operator=(PlainTcpClient&& other) noexcept;
  ~PlainTcpClient();

  absl::Status WriteAll(absl::string_view bytes);
  // Reads exactly `n` bytes, or fails (EOF, error, or nothing for `timeout`).
  absl::StatusOr<std::string> ReadExactly(size_t n, absl::Duration timeout = absl::Seconds(30));
  // Reads until EOF; returns the bytes (fails on timeout or reset).
  absl::StatusOr<std::string> ReadUntilEof(absl::Duration timeout = absl::Seconds(30));
  void ShutdownWrite();
  // Closes with RST (SO_LINGER 0).
  void Reset();
  void SetReceiveBuffer(int bytes);
  int fd() const { return fd_; }

 private:
  explicit PlainTcpClient(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// A plain POSIX UDP socket (no ringnet), bound to loopback.
class PlainUdpSocket {
 public:
  static absl::StatusOr<PlainUdpSocket> Bind(const InetAddress& address);
  PlainUdpSocket(PlainUdpSocket&& other) noexcept;
  PlainUdpSocket& operator=(PlainUdpSocket&& other) noexcept;
  ~PlainUdpSocket();

  absl::Status SendTo(absl::string_view bytes, const InetAddress& to);
  // One datagram (and its sender), or an error after `timeout` without one.
  absl::StatusOr<std::pair<std::string, InetAddress>> Receive(
      absl::Duration timeout = absl::Seconds(30));
  void SetReceiveBuffer(int bytes);
  const InetAddress& address() const { return address_; }
  void Close();

 private:
  PlainUdpSocket(int fd, InetAddress address) : fd_(fd), address_(address) {}
  int fd_ = -1;
  InetAddress address_;
};

// A group and a TcpServer whose sessions report to one RecordingListener. Unless a hook is set,
// `listener->on_message` echoes each package back.
struct TcpHarness {
  // Starts `loops` loops and a server on 127.0.0.1:0 (or `listen`); `configure` adjusts each
  // session's config after the listener is set. Fails the test on error.
  void Start(std::function<void(net::SessionConfig&)> configure = {}, int loops = 1,
             InetAddress listen = InetAddress::Loopback(0));
  ~TcpHarness();

  runtime::EventLoopOptions loop_options;  // for the loops Start creates
  std::unique_ptr<runtime::EventLoopGroup> group;
  std::shared_ptr<RecordingListener> listener = std::make_shared<RecordingListener>();
  std::unique_ptr<net::TcpServer> server;
};

// A loop's receive-buffer ring (the one of `buffer_size` buffers), read on the loop's thread.
struct RingState {
  uint32_t outstanding = 0;  // buffers taken and not back
  uint64_t holds = 0;        // times a write sent bytes from a receive buffer instead of copying
  uint64_t exhaustions = 0;  // receives that found the ring empty (-ENOBUFS)
  size_t waiters = 0;        // receivers waiting for their turn to re-arm
};
RingState ReceiveRingState(runtime::EventLoop* loop, uint32_t buffer_size);
// Polls (no listener event says so) until that ring has every buffer back; false after 30 s.
bool AllReceiveBuffersBack(runtime::EventLoop* loop, uint32_t buffer_size);

// 4-byte big-endian length prefix + body (the length-field codec's framing).
std::string LengthFramed(absl::string_view body);

// Raises RLIMIT_NOFILE's soft limit to at least `n` (up to the hard limit); returns the new one.
int RaiseFileLimit(int n);

}  // namespace ringnet::testing

#endif  // RINGNET_TEST_NET_TEST_UTIL_H_
