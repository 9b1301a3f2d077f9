#include "ringnet/net/tcp_server.h"

#include <liburing.h>

#include <atomic>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/endpoint_shared.h"
#include "ringnet/net/internal/loop_registry.h"
#include "ringnet/net/internal/socket.h"
#include "ringnet/net/internal/stream_endpoint_access.h"
#include "ringnet/net/internal/tcp_session.h"

namespace ringnet::net {

using internal::EndpointObject;
using internal::LoopRegistry;
using internal::SessionBase;
using internal::UniqueFd;

namespace internal {
class TcpListener;
}  // namespace internal

struct TcpServer::State {
  State(runtime::EventLoopGroup* group, TcpServerOptions opts,
        internal::StreamSessionFactory make_session)
      : endpoint(group), options(std::move(opts)), factory(std::move(make_session)) {}
  internal::EndpointShared endpoint;
  const TcpServerOptions options;
  const internal::StreamSessionFactory factory;
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> accept_errors{0};
};

namespace internal {

// One listening socket on one loop, with its multishot accept and the sessions it made.
class TcpListener final : public EndpointObject, public SessionObserver {
 public:
  TcpListener(runtime::EventLoop* loop, UniqueFd fd, std::shared_ptr<TcpServer::State> state)
      : loop_(loop), fd_(std::move(fd)), state_(std::move(state)) {
    state_->endpoint.Retain();
  }

  ~TcpListener() override {
    if (!finished_) state_->endpoint.Release();  // never started (its loop had stopped)
  }

  void Start() {
    state_->endpoint.Register(loop_, this);
    Arm();
  }

  // Stops accepting; closes the sessions gracefully; goes away once they are all gone.
  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    if (retry_timer_.valid()) loop_->Cancel(retry_timer_);
    retry_timer_ = runtime::TimerId();
    if (accept_armed_) {
      ++cancels_;
      loop_->SubmitCancel(&accept_op_, &cancel_op_);
    }
    std::vector<SessionBase*> open(sessions_.begin(), sessions_.end());
    for (SessionBase* s : open) s->Close();
    MaybeFinish();
  }

  void Abort() override { Stop(); }

 private:
  void Arm() {
    if (loop_->stopping()) Stop();
    if (stopped_ || accept_armed_) return;
    accept_armed_ = true;
    loop_->SubmitAcceptMultishot(&accept_op_, fd_.get());
  }

  void OnAccept(int32_t result, uint32_t flags) {
    const bool more = (flags & IORING_CQE_F_MORE) != 0;
    if (!more) accept_armed_ = false;
    bool retry_later = false;
    if (result >= 0) {
      UniqueFd fd(result);
      if (!stopped_) NewSession(std::move(fd));
    } else if (result != -ECANCELED) {
      state_->accept_errors.fetch_add(1, std::memory_order_relaxed);
      retry_later =
          result == -EMFILE || result == -ENFILE || result == -ENOMEM || result == -ENOBUFS;
      ReportError(SocketError("accept", -result), retry_later);
    }
    if (!more && !stopped_) {
      if (retry_later) {
        // Out of descriptors: the connection waits in the kernel's queue; try again later
        // instead of spinning on the same error.
        retry_timer_ = loop_->RunAfter(state_->options.accept_retry, [this] {
          retry_timer_ = runtime::TimerId();
          Arm();
        });
      } else {
        Arm();
      }
    }
    MaybeFinish();
  }

  void ReportError(const absl::Status& error, bool retrying) {
    if (!state_->options.on_error) return;
    if (!retrying) {
      state_->options.on_error(error);
      return;
    }
    state_->options.on_error(absl::Status(
        error.code(), absl::StrCat(error.message(), "; accepting again in ",
                                   absl::FormatDuration(state_->options.accept_retry))));
  }

  void NewSession(UniqueFd fd) {
    TcpSession* session = LoopRegistry::Of(loop_).Adopt(state_->factory(loop_, std::move(fd)));
    state_->endpoint.Retain();
    sessions_.insert(session);
    session->set_observer(this);
    // Opens at once (TCP) or after a handshake (WebSocket).
    session->Start(state_->options.new_session);
  }

  // SessionObserver. A session is listed before OnOpen runs; a rejected one is removed again.
  void OnSessionOpening(SessionBase* s) override { state_->endpoint.AddSession(s->handle()); }
  void OnSessionOpenResult(SessionBase*, const absl::Status& result) override {
    (result.ok() ? state_->accepted : state_->rejected).fetch_add(1, std::memory_order_relaxed);
  }
  void OnSessionClosed(SessionBase* s, bool) override {
    sessions_.erase(s);
    state_->endpoint.RemoveSession(s->id());
    state_->endpoint.Release();
    MaybeFinish();
  }

  void OnCancelled(int32_t, uint32_t) {
    --cancels_;
    MaybeFinish();
  }

  void MaybeFinish() {
    if (!stopped_ || finished_ || accept_armed_ || cancels_ > 0 || !sessions_.empty()) return;
    finished_ = true;
    fd_.Reset();
    state_->endpoint.Unregister(loop_, this);
    state_->endpoint.Release();
    LoopRegistry::Of(loop_).ReleaseLater(this);
  }

  runtime::EventLoop* loop_;
  UniqueFd fd_;
  std::shared_ptr<TcpServer::State> state_;
  runtime::MemberOperation<TcpListener, &TcpListener::OnAccept> accept_op_{this};
  runtime::MemberOperation<TcpListener, &TcpListener::OnCancelled> cancel_op_{this};
  runtime::TimerId retry_timer_;
  absl::flat_hash_set<SessionBase*> sessions_;
  int cancels_ = 0;
  bool accept_armed_ = false;
  bool stopped_ = false;
  bool finished_ = false;
};

}  // namespace internal

absl::StatusOr<std::unique_ptr<TcpServer>> TcpServer::Create(runtime::EventLoopGroup* group,
                                                             TcpServerOptions options) {
  return internal::StreamEndpointAccess::CreateServer(
      group, std::move(options),
      [](runtime::EventLoop* loop, UniqueFd fd) {
        return std::make_unique<internal::TcpSession>(loop, std::move(fd));
      },
      "TcpServer");
}

absl::StatusOr<std::unique_ptr<TcpServer>> internal::StreamEndpointAccess::CreateServer(
    runtime::EventLoopGroup* group, TcpServerOptions options, StreamSessionFactory factory,
    absl::string_view endpoint) {
  if (group == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(endpoint, " needs an EventLoopGroup"));
  }
  if (!options.listen.valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat(endpoint, "Options.listen is not an IPv4/IPv6 address"));
  }
  if (!options.new_session) {
    return absl::InvalidArgumentError(absl::StrCat(endpoint, "Options.new_session is required"));
  }
  InetAddress address = options.listen;
  std::vector<UniqueFd> fds;
  for (int i = 0; i < group->size(); ++i) {
    absl::StatusOr<UniqueFd> fd =
        internal::CreateTcpListener(address, /*reuse_port=*/true, options.backlog);
    if (!fd.ok()) return fd.status();
    if (i == 0) {
      // Port 0: the other loops' sockets join the port the kernel picked for the first.
      absl::StatusOr<InetAddress> bound = internal::LocalAddressOf(fd->get());
      if (!bound.ok()) return bound.status();
      address = *bound;
    }
    fds.push_back(*std::move(fd));
  }
  auto state = std::make_shared<TcpServer::State>(group, std::move(options), std::move(factory));
  std::unique_ptr<TcpServer> server(new TcpServer(state));
  server->address_ = address;
  for (int i = 0; i < group->size(); ++i) {
    runtime::EventLoop* loop = group->loop(i);
    auto listener = std::make_unique<internal::TcpListener>(loop, std::move(fds[i]), state);
    if (!loop->Post([loop, owned = std::move(listener)]() mutable {
          LoopRegistry::Of(loop).Adopt(std::move(owned))->Start();
        })) {
      return absl::FailedPreconditionError(
          absl::StrCat(endpoint, ": the event loop group has stopped"));
    }
  }
  return server;
}

TcpServer::TcpServer(std::shared_ptr<State> state)
    : Endpoint(std::shared_ptr<internal::EndpointShared>(state, &state->endpoint)),
      state_(std::move(state)) {}

TcpServer::Stats TcpServer::stats() const {
  Stats s;
  s.accepted = state_->accepted.load(std::memory_order_relaxed);
  s.rejected = state_->rejected.load(std::memory_order_relaxed);
  s.accept_errors = state_->accept_errors.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ringnet::net
