// Test helpers for WebSocket sessions: a blocking WebSocket peer over a plain POSIX socket (frames
// are written by hand with the codec's pure functions, so a test controls every bit: masks, RSV
// bits, fragments, bad UTF-8), a plain listening socket for client tests, and a harness with a
// WsServer whose sessions report to a RecordingListener.
#ifndef RINGNET_TEST_WS_TEST_UTIL_H_
#define RINGNET_TEST_WS_TEST_UTIL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ringnet/codec/websocket/frame.h"
#include "ringnet/codec/websocket/message_parser.h"
#include "ringnet/net/inet_address.h"
#include "ringnet/net/session.h"
#include "ringnet/net/ws_server.h"
#include "ringnet/runtime/event_loop_group.h"
#include "ringnet/test/net_test_util.h"

namespace ringnet::testing {

using codec::websocket::Opcode;

// One message as a raw peer received it.
struct WsMessage {
  Opcode type = Opcode::kBinary;
  std::string payload;
  uint16_t close_code = 0;  // kClose: the code (1005 when none)
  std::string close_reason;
};

// A blocking WebSocket peer on one connected socket (owned). As a client it masks what it sends
// and expects unmasked frames; as a server the reverse. Not thread-safe.
class RawWsPeer {
 public:
  RawWsPeer(int fd, codec::websocket::Role role);
  RawWsPeer(RawWsPeer&& other) noexcept;
  RawWsPeer& operator=(RawWsPeer&&) = delete;
  ~RawWsPeer();

  // Connects to `server`, sends a valid upgrade request for `path` followed by `trailing` bytes
  // in the same write, and checks the 101 response.
  static absl::StatusOr<RawWsPeer> Connect(const InetAddress& server, absl::string_view path = "/",
                                           absl::string_view trailing = "");
  // Connects and writes `request` as is; returns the peer and the response head's HTTP status
  // (the response's bytes are read up to its blank line; frames after it are kept).
  static absl::StatusOr<RawWsPeer> ConnectRaw(const InetAddress& server, absl::string_view request,
                                              int* http_status, std::string* response = nullptr);
  // A valid upgrade request for `path` with `extra_headers` ("Name: value\r\n" lines).
  static std::string UpgradeRequest(absl::string_view path, absl::string_view extra_headers = "");

  // Sends one frame, masked with a fixed key when this peer is a client (or when `mask` says so).
  absl::Status SendFrame(Opcode opcode, bool fin, absl::string_view payload,
                         std::optional<bool> mask = std::nullopt);
  absl::Status SendClose(uint16_t code, absl::string_view reason);
  absl::Status SendBytes(absl::string_view bytes);

  // The next message; DeadlineExceeded if none comes in time, OutOfRange at EOF.
  absl::StatusOr<WsMessage> Read(absl::Duration timeout = absl::Seconds(30));
  // Reads (and drops) until EOF; OK at EOF.
  absl::Status WaitEof(absl::Duration timeout = absl::Seconds(30));
  // Reads an HTTP head (through CRLF CRLF) into `*head`, keeping what follows for frames.
  absl::Status ReadHead(std::string* head, absl::Duration timeout = absl::Seconds(30));

  // Closes the socket (after WaitEof: the TCP close a WebSocket client does last).
  void Close();
  void SetReceiveBuffer(int bytes);
  int fd() const { return fd_; }

 private:
  // Reads what is available (waiting up to `timeout`) into `raw_`; OutOfRange at EOF.
  absl::Status ReadSome(absl::Duration timeout);

  int fd_;
  codec::websocket::Role role_;
  std::unique_ptr<codec::websocket::MessageParser> parser_;
  std::string raw_;  // received bytes not yet parsed
  std::deque<WsMessage> messages_;
};

// A plain listening socket on 127.0.0.1 (for WsClient tests), accepting blocking sockets.
class PlainTcpListener {
 public:
  static absl::StatusOr<std::unique_ptr<PlainTcpListener>> Create();
  ~PlainTcpListener();
  const InetAddress& address() const { return address_; }
  // Waits for a connection; its fd, owned by the caller.
  absl::StatusOr<int> Accept(absl::Duration timeout = absl::Seconds(30));

 private:
  int fd_ = -1;
  InetAddress address_;
};

// Accepts one connection on `listener`, reads the upgrade request, and answers it with the
// codec's 101 response followed by `trailing` bytes (e.g. a first frame) in the same write.
absl::StatusOr<RawWsPeer> AcceptUpgrade(PlainTcpListener& listener,
                                        absl::string_view trailing = "");

// A group and a WsServer whose sessions report to one RecordingListener. Unless a hook is set,
// `listener->on_message` echoes each message back with its kind.
struct WsHarness {
  // Starts a server on 127.0.0.1:0; `configure` adjusts each session's config, `adjust` the
  // server options. Fails the test on error.
  void Start(std::function<void(net::SessionConfig&)> configure = {},
             std::function<void(net::WsServerOptions&)> adjust = {}, int loops = 1);
  ~WsHarness();

  std::unique_ptr<runtime::EventLoopGroup> group;
  std::shared_ptr<RecordingListener> listener = std::make_shared<RecordingListener>();
  std::unique_ptr<net::WsServer> server;
};

// Whether `errors` holds one whose WebSocket close code is `code`.
bool HasCloseCode(const std::vector<absl::Status>& errors, uint16_t code);

}  // namespace ringnet::testing

#endif  // RINGNET_TEST_WS_TEST_UTIL_H_
