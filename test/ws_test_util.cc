#include "ringnet/test/ws_test_util.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ringnet/codec/websocket/close.h"
#include "ringnet/codec/websocket/server_handshake.h"
#include "ringnet/net/websocket.h"

namespace ringnet::testing {

namespace ws = codec::websocket;

namespace {

constexpr ws::MaskKey kTestMask = {0x12, 0x34, 0x56, 0x78};

bool WaitReadable(int fd, absl::Duration timeout) {
  pollfd p{fd, POLLIN, 0};
  const int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  int r;
  do {
    r = ::poll(&p, 1, ms);
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

absl::Status WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "send");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ConnectTo(const InetAddress& server) {
  int fd = ::socket(server.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  if (::connect(fd, server.sockaddr(), server.length()) != 0) {
    const int e = errno;
    ::close(fd);
    return absl::ErrnoToStatus(e, absl::StrCat("connect ", server.ToString()));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace

RawWsPeer::RawWsPeer(int fd, ws::Role role)
    : fd_(fd),
      role_(role),
      parser_(std::make_unique<ws::MessageParser>(ws::ParserOptions{
          .role = role == ws::Role::kClient ? ws::Role::kClient : ws::Role::kServer,
          .max_message_size = uint64_t{64} << 20})) {}

RawWsPeer::RawWsPeer(RawWsPeer&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      role_(other.role_),
      parser_(std::move(other.parser_)),
      raw_(std::move(other.raw_)),
      messages_(std::move(other.messages_)) {}

RawWsPeer::~RawWsPeer() {
  if (fd_ >= 0) ::close(fd_);
}

std::string RawWsPeer::UpgradeRequest(absl::string_view path, absl::string_view extra_headers) {
  return absl::StrCat("GET ", path,
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: "
                      "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n",
                      extra_headers, "\r\n");
}

absl::StatusOr<RawWsPeer> RawWsPeer::ConnectRaw(const InetAddress& server,
                                                absl::string_view request, int* http_status,
                                                std::string* response) {
  absl::StatusOr<int> fd = ConnectTo(server);
  if (!fd.ok()) return fd.status();
  RawWsPeer peer(*fd, ws::Role::kClient);
  if (absl::Status s = peer.SendBytes(request); !s.ok()) return s;
  std::string head;
  if (absl::Status s = peer.ReadHead(&head); !s.ok()) return s;
  // "HTTP/1.1 101 Switching Protocols"
  if (head.size() < 12 || !absl::SimpleAtoi(head.substr(9, 3), http_status)) {
    return absl::InternalError(absl::StrCat("bad response head: ", head));
  }
  if (response != nullptr) *response = head;
  return peer;
}

absl::StatusOr<RawWsPeer> RawWsPeer::Connect(const InetAddress& server, absl::string_view path,
                                             absl::string_view trailing) {
  int status = 0;
  std::string head;
  absl::StatusOr<RawWsPeer> peer =
      ConnectRaw(server, absl::StrCat(UpgradeRequest(path), trailing), &status, &head);
  if (!peer.ok()) return peer.status();
  if (status != 101) return absl::InternalError(absl::StrCat("upgrade refused: ", head));
  if (head.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == std::string::npos) {
    return absl::InternalError(absl::StrCat("wrong Sec-WebSocket-Accept: ", head));
  }
  return peer;
}

absl::Status RawWsPeer::SendFrame(Opcode opcode, bool fin, absl::string_view payload,
                                  std::optional<bool> mask) {
  const bool masked = mask.value_or(role_ == ws::Role::kClient);
  std::string frame;
  ws::AppendFrameHeader(opcode, fin, payload.size(),
                        masked ? std::optional<ws::MaskKey>(kTestMask) : std::nullopt, &frame);
  const size_t start = frame.size();
  frame.append(payload.data(), payload.size());
  if (masked) ws::ApplyMask(frame.data() + start, payload.size(), kTestMask);
  return SendBytes(frame);
}

absl::Status RawWsPeer::SendClose(uint16_t code, absl::string_view reason) {
  std::string payload;
  if (absl::Status s = ws::AppendClosePayload(code, reason, &payload); !s.ok()) return s;
  return SendFrame(Opcode::kClose, true, payload);
}

absl::Status RawWsPeer::SendBytes(absl::string_view bytes) { return WriteAll(fd_, bytes); }

absl::Status RawWsPeer::ReadSome(absl::Duration timeout) {
  if (!WaitReadable(fd_, timeout)) return absl::DeadlineExceededError("nothing to read in time");
  char buf[65536];
  ssize_t n;
  do {
    n = ::recv(fd_, buf, sizeof(buf), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return absl::ErrnoToStatus(errno, "recv");
  if (n == 0) return absl::OutOfRangeError("EOF");
  raw_.append(buf, static_cast<size_t>(n));
  return absl::OkStatus();
}

absl::StatusOr<WsMessage> RawWsPeer::Read(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (messages_.empty()) {
    if (!raw_.empty()) {
      absl::Status s = parser_->Feed(absl::MakeSpan(raw_), [&](const ws::Message& m) {
        WsMessage out;
        out.type = m.type;
        out.payload = std::string(m.payload);
        out.close_code = m.close.code;
        out.close_reason = std::string(m.close.reason);
        messages_.push_back(std::move(out));
      });
      raw_.clear();
      if (!s.ok()) return s;
      continue;
    }
    if (absl::Status s = ReadSome(deadline - absl::Now()); !s.ok()) return s;
  }
  WsMessage m = std::move(messages_.front());
  messages_.pop_front();
  return m;
}

absl::Status RawWsPeer::WaitEof(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::Status s = ReadSome(deadline - absl::Now());
    if (absl::IsOutOfRange(s)) return absl::OkStatus();
    if (!s.ok()) return s;
  }
}

absl::Status RawWsPeer::ReadHead(std::string* head, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  size_t end;
  while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
    if (absl::Status s = ReadSome(deadline - absl::Now()); !s.ok()) return s;
  }
  *head = raw_.substr(0, end + 4);
  raw_.erase(0, end + 4);
  return absl::OkStatus();
}

void RawWsPeer::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RawWsPeer::SetReceiveBuffer(int bytes) {
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

absl::StatusOr<std::unique_ptr<PlainTcpListener>> PlainTcpListener::Create() {
  auto listener = std::unique_ptr<PlainTcpListener>(new PlainTcpListener());
  listener->fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener->fd_ < 0) return absl::ErrnoToStatus(errno, "socket");
  InetAddress any = InetAddress::Loopback(0);
  if (::bind(listener->fd_, any.sockaddr(), any.length()) != 0 ||
      ::listen(listener->fd_, 64) != 0) {
    return absl::ErrnoToStatus(errno, "bind/listen");
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(listener->fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  listener->address_ = InetAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  return listener;
}

PlainTcpListener::~PlainTcpListener() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<int> PlainTcpListener::Accept(absl::Duration timeout) {
  if (!WaitReadable(fd_, timeout)) return absl::DeadlineExceededError("no connection in time");
  int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, "accept");
  return fd;
}

absl::StatusOr<RawWsPeer> AcceptUpgrade(PlainTcpListener& listener, absl::string_view trailing) {
  absl::StatusOr<int> fd = listener.Accept();
  if (!fd.ok()) return fd.status();
  RawWsPeer peer(*fd, ws::Role::kServer);
  std::string head;
  if (absl::Status s = peer.ReadHead(&head); !s.ok()) return s;
  ws::ServerHandshake h = ws::HandleUpgrade(head, ws::UpgradeOptions());
  if (h.outcome != ws::ServerHandshake::Outcome::kAccepted) {
    return absl::InternalError(absl::StrCat("bad upgrade request (", h.reason, "): ", head));
  }
  if (absl::Status s = peer.SendBytes(absl::StrCat(h.response, trailing)); !s.ok()) return s;
  return peer;
}

void WsHarness::Start(std::function<void(net::SessionConfig&)> configure,
                      std::function<void(net::WsServerOptions&)> adjust, int loops) {
  absl::StatusOr<std::unique_ptr<runtime::EventLoopGroup>> g =
      runtime::EventLoopGroup::Create(loops);
  ASSERT_TRUE(g.ok()) << g.status();
  group = *std::move(g);
  if (!listener->on_message) {
    listener->on_message = [](const SessionHandle& s, Package& pkg, const InetAddress&) {
      (void)s.WritePkg(std::move(pkg));
    };
  }
  net::WsServerOptions options;
  options.listen = InetAddress::Loopback(0);
  options.new_session = [l = listener, configure](net::SessionConfig& config) {
    config.listener = l;
    if (configure) configure(config);
    return absl::OkStatus();
  };
  if (adjust) adjust(options);
  absl::StatusOr<std::unique_ptr<net::WsServer>> s =
      net::WsServer::Create(group.get(), std::move(options));
  ASSERT_TRUE(s.ok()) << s.status();
  server = *std::move(s);
}

WsHarness::~WsHarness() {
  server.reset();
  if (group) group->Stop();
}

bool HasCloseCode(const std::vector<absl::Status>& errors, uint16_t code) {
  for (const absl::Status& e : errors) {
    if (net::WebSocketCloseCode(e) == code) return true;
  }
  return false;
}

}  // namespace ringnet::testing
