#include "ringnet/net/tcp_client.h"

#include <sys/socket.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/client_slot.h"
#include "ringnet/net/internal/socket.h"
#include "ringnet/net/internal/stream_endpoint_access.h"
#include "ringnet/net/internal/tcp_session.h"

namespace ringnet::net {
namespace internal {

// A slot that dials with an asynchronous connect (IORING_OP_CONNECT) bounded by a timeout.
class TcpConnector final : public ClientSlot {
 public:
  TcpConnector(runtime::EventLoop* loop, std::shared_ptr<ClientState> state, InetAddress server,
               absl::Duration timeout, StreamSessionFactory factory)
      : ClientSlot(loop, std::move(state)),
        server_(server),
        timeout_(timeout),
        factory_(std::move(factory)) {}

 protected:
  void Dial() override {
    absl::StatusOr<UniqueFd> fd = CreateSocket(server_.family(), SOCK_STREAM);
    if (!fd.ok()) {
      DialFailed(fd.status());
      return;
    }
    fd_ = *std::move(fd);
    connecting_ = true;
    timed_out_ = false;
    loop_->SubmitConnect(&connect_op_, fd_.get(), server_.sockaddr(), server_.length());
    timeout_timer_ = loop_->RunAfter(timeout_, [this] {
      timeout_timer_ = runtime::TimerId();
      timed_out_ = true;
      CancelDial();
    });
  }

  void CancelDial() override {
    if (!connecting_) return;
    ++cancels_;
    loop_->SubmitCancel(&connect_op_, &cancel_op_);
  }

  bool Dialing() const override { return connecting_ || cancels_ > 0; }

 private:
  void OnConnect(int32_t result, uint32_t) {
    connecting_ = false;
    if (timeout_timer_.valid()) loop_->Cancel(timeout_timer_);
    timeout_timer_ = runtime::TimerId();
    if (result == 0 && !stopped()) {
      OpenSession(factory_(loop_, std::move(fd_)));
    } else {
      fd_.Reset();
      DialFailed(timed_out_
                     ? absl::DeadlineExceededError(absl::StrCat("connect ", server_.ToString(),
                                                                ": timed out after ",
                                                                absl::FormatDuration(timeout_)))
                     : SocketError(absl::StrCat("connect ", server_.ToString()).c_str(), -result));
    }
    MaybeFinish();
  }

  void OnCancelled(int32_t, uint32_t) {
    --cancels_;
    MaybeFinish();
  }

  const InetAddress server_;
  const absl::Duration timeout_;
  const StreamSessionFactory factory_;
  UniqueFd fd_;
  runtime::MemberOperation<TcpConnector, &TcpConnector::OnConnect> connect_op_{this};
  runtime::MemberOperation<TcpConnector, &TcpConnector::OnCancelled> cancel_op_{this};
  runtime::TimerId timeout_timer_;
  int cancels_ = 0;
  bool connecting_ = false;
  bool timed_out_ = false;
};

}  // namespace internal

absl::StatusOr<std::unique_ptr<TcpClient>> TcpClient::Create(runtime::EventLoopGroup* group,
                                                             const TcpClientOptions& options) {
  return internal::StreamEndpointAccess::CreateClient(
      group, options,
      [](runtime::EventLoop* loop, internal::UniqueFd fd) {
        return std::make_unique<internal::TcpSession>(loop, std::move(fd));
      },
      "TcpClient");
}

absl::StatusOr<std::unique_ptr<TcpClient>> internal::StreamEndpointAccess::CreateClient(
    runtime::EventLoopGroup* group, const TcpClientOptions& options,
    const StreamSessionFactory& factory, absl::string_view endpoint) {
  if (group == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(endpoint, " needs an EventLoopGroup"));
  }
  if (!options.server.valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat(endpoint, "Options.server is not an IPv4/IPv6 address"));
  }
  if (!options.new_session) {
    return absl::InvalidArgumentError(absl::StrCat(endpoint, "Options.new_session is required"));
  }
  if (options.connections < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(endpoint, "Options.connections must be at least 1"));
  }
  if (options.loop != nullptr) {
    bool in_group = false;
    for (int i = 0; i < group->size(); ++i) in_group = in_group || group->loop(i) == options.loop;
    if (!in_group) {
      return absl::InvalidArgumentError(
          absl::StrCat(endpoint, "Options.loop is not a loop of the EventLoopGroup"));
    }
  }
  auto state = std::make_shared<internal::ClientState>(group, internal::ReconnectPolicyOf(options));
  std::unique_ptr<TcpClient> client(new TcpClient(state));
  for (int i = 0; i < options.connections; ++i) {
    runtime::EventLoop* loop = options.loop != nullptr ? options.loop : group->Next();
    if (!internal::ClientSlot::PostStart(
            loop, std::make_unique<internal::TcpConnector>(loop, state, options.server,
                                                           options.connect_timeout, factory))) {
      return absl::FailedPreconditionError(
          absl::StrCat(endpoint, ": the event loop group has stopped"));
    }
  }
  return client;
}

TcpClient::TcpClient(std::shared_ptr<internal::ClientState> state)
    : Endpoint(std::shared_ptr<internal::EndpointShared>(state, &state->endpoint)),
      state_(std::move(state)) {}

TcpClient::Stats TcpClient::stats() const {
  Stats s;
  s.connect_attempts = state_->attempts.load(std::memory_order_relaxed);
  s.connect_failures = state_->failures.load(std::memory_order_relaxed);
  s.sessions_opened = state_->opened.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ringnet::net
