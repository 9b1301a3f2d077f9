#include "ringnet/net/tcp_client.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/endpoint_shared.h"
#include "ringnet/net/internal/loop_registry.h"
#include "ringnet/net/internal/socket.h"
#include "ringnet/net/internal/tcp_client_access.h"
#include "ringnet/net/internal/tcp_session.h"

namespace ringnet::net {

namespace internal {
class Connector;
}  // namespace internal

struct TcpClient::State {
  State(runtime::EventLoopGroup* group, TcpClientOptions opts,
        internal::StreamSessionFactory make_session)
      : endpoint(group), options(std::move(opts)), factory(std::move(make_session)) {}
  internal::EndpointShared endpoint;
  const TcpClientOptions options;
  const internal::StreamSessionFactory factory;
  std::atomic<uint64_t> attempts{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> opened{0};
};

namespace internal {

// One connection slot on one loop: connect, run a session, back off, reconnect.
class Connector final : public EndpointObject {
 public:
  Connector(runtime::EventLoop* loop, std::shared_ptr<TcpClient::State> state)
      : loop_(loop), state_(std::move(state)) {
    state_->endpoint.Retain();
  }

  ~Connector() override {
    if (!finished_) state_->endpoint.Release();  // never started (its loop had stopped)
  }

  void Start() {
    state_->endpoint.Register(loop_, this);
    Connect();
  }

  // No more connects; closes the session gracefully; goes away once everything is done.
  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    CancelTimer(&backoff_timer_);
    CancelTimer(&timeout_timer_);
    if (connecting_) CancelConnect();
    if (session_ != nullptr) session_->Close();
    MaybeFinish();
  }

  void Abort() override { Stop(); }

 private:
  const TcpClientOptions& options() const { return state_->options; }

  void Connect() {
    if (loop_->stopping()) Stop();
    if (stopped_) return;
    state_->attempts.fetch_add(1, std::memory_order_relaxed);
    absl::StatusOr<UniqueFd> fd = CreateSocket(options().server.family(), SOCK_STREAM);
    if (!fd.ok()) {
      Failed(fd.status());
      return;
    }
    fd_ = *std::move(fd);
    connecting_ = true;
    timed_out_ = false;
    loop_->SubmitConnect(&connect_op_, fd_.get(), options().server.sockaddr(),
                         options().server.length());
    timeout_timer_ = loop_->RunAfter(options().connect_timeout, [this] {
      timeout_timer_ = runtime::TimerId();
      timed_out_ = true;
      CancelConnect();
    });
  }

  void CancelConnect() {
    ++cancels_;
    loop_->SubmitCancel(&connect_op_, &cancel_op_);
  }

  void OnConnect(int32_t result, uint32_t) {
    connecting_ = false;
    CancelTimer(&timeout_timer_);
    if (result == 0 && !stopped_) {
      StartSession();
    } else if (!stopped_) {
      fd_.Reset();
      Failed(timed_out_ ? absl::DeadlineExceededError(absl::StrCat(
                              "connect ", options().server.ToString(), ": timed out after ",
                              absl::FormatDuration(options().connect_timeout)))
                        : SocketError(absl::StrCat("connect ", options().server.ToString()).c_str(),
                                      -result));
    } else {
      fd_.Reset();
    }
    MaybeFinish();
  }

  void StartSession() {
    TcpSession* session = LoopRegistry::Of(loop_).Adopt(state_->factory(loop_, std::move(fd_)));
    session_ = session;
    state_->endpoint.Retain();
    session->set_on_closed([this](SessionBase* s, bool clean) { OnSessionClosed(s, clean); });
    // Listed before OnOpen runs (a rejected session is removed again by the hook above).
    session->set_on_opening([this](SessionBase* s) { state_->endpoint.AddSession(s->handle()); });
    session->set_on_open_result([this](SessionBase*, const absl::Status& result) {
      if (result.ok()) {
        failures_ = 0;
        state_->opened.fetch_add(1, std::memory_order_relaxed);
      } else if (!stopped_) {
        CountFailure(result);  // the reconnect follows from OnSessionClosed
      }
    });
    // Opens at once (TCP) or after a handshake (WebSocket).
    session->Start(options().new_session);
  }

  void OnSessionClosed(SessionBase* session, bool clean) {
    state_->endpoint.RemoveSession(session->id());
    state_->endpoint.Release();
    session_ = nullptr;
    if (!stopped_ && options().reconnect && (!clean || options().reconnect_after_clean_close) &&
        !GaveUp()) {
      ScheduleReconnect();
    } else {
      stopped_ = true;
    }
    MaybeFinish();
  }

  void Failed(const absl::Status& error) {
    CountFailure(error);
    if (!options().reconnect || GaveUp()) {
      stopped_ = true;
      return;
    }
    ScheduleReconnect();
  }

  void CountFailure(const absl::Status& error) {
    state_->failures.fetch_add(1, std::memory_order_relaxed);
    ++failures_;
    if (options().on_error) options().on_error(error);
  }

  bool GaveUp() const {
    const int limit = options().max_reconnect_attempts;
    return limit > 0 && failures_ >= limit;
  }

  void ScheduleReconnect() {
    const int exponent = std::min(failures_ > 0 ? failures_ - 1 : 0, 30);
    absl::Duration delay = options().reconnect_initial_backoff * (int64_t{1} << exponent);
    delay = std::min(delay, options().reconnect_max_backoff);
    // +-20% jitter.
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    delay = delay * jitter(rng_);
    backoff_timer_ = loop_->RunAfter(delay, [this] {
      backoff_timer_ = runtime::TimerId();
      Connect();
    });
  }

  void OnCancelled(int32_t, uint32_t) {
    --cancels_;
    MaybeFinish();
  }

  void CancelTimer(runtime::TimerId* timer) {
    if (timer->valid()) loop_->Cancel(*timer);
    *timer = runtime::TimerId();
  }

  void MaybeFinish() {
    if (!stopped_ || finished_ || connecting_ || cancels_ > 0 || session_ != nullptr) return;
    finished_ = true;
    CancelTimer(&backoff_timer_);
    CancelTimer(&timeout_timer_);
    fd_.Reset();
    state_->endpoint.Unregister(loop_, this);
    state_->endpoint.Release();
    LoopRegistry::Of(loop_).ReleaseLater(this);
  }

  runtime::EventLoop* loop_;
  std::shared_ptr<TcpClient::State> state_;
  UniqueFd fd_;
  SessionBase* session_ = nullptr;
  runtime::MemberOperation<Connector, &Connector::OnConnect> connect_op_{this};
  runtime::MemberOperation<Connector, &Connector::OnCancelled> cancel_op_{this};
  runtime::TimerId backoff_timer_;
  runtime::TimerId timeout_timer_;
  std::minstd_rand rng_{std::random_device{}()};
  int failures_ = 0;
  int cancels_ = 0;
  bool connecting_ = false;
  bool timed_out_ = false;
  bool stopped_ = false;
  bool finished_ = false;
};

}  // namespace internal

absl::StatusOr<std::unique_ptr<TcpClient>> TcpClient::Create(runtime::EventLoopGroup* group,
                                                             TcpClientOptions options) {
  return internal::TcpClientAccess::Create(
      group, std::move(options), [](runtime::EventLoop* loop, internal::UniqueFd fd) {
        return std::make_unique<internal::TcpSession>(loop, std::move(fd));
      });
}

absl::StatusOr<std::unique_ptr<TcpClient>> internal::TcpClientAccess::Create(
    runtime::EventLoopGroup* group, TcpClientOptions options, StreamSessionFactory factory) {
  if (group == nullptr) return absl::InvalidArgumentError("TcpClient needs an EventLoopGroup");
  if (!options.server.valid()) {
    return absl::InvalidArgumentError("TcpClientOptions.server is not an IPv4/IPv6 address");
  }
  if (!options.new_session) {
    return absl::InvalidArgumentError("TcpClientOptions.new_session is required");
  }
  if (options.connections < 1) {
    return absl::InvalidArgumentError("TcpClientOptions.connections must be at least 1");
  }
  const int connections = options.connections;
  auto state = std::make_shared<TcpClient::State>(group, std::move(options), std::move(factory));
  std::unique_ptr<TcpClient> client(new TcpClient(state));
  for (int i = 0; i < connections; ++i) {
    runtime::EventLoop* loop = group->Next();
    auto connector = std::make_unique<internal::Connector>(loop, state);
    if (!loop->Post([loop, owned = std::move(connector)]() mutable {
          internal::LoopRegistry::Of(loop).Adopt(std::move(owned))->Start();
        })) {
      return absl::FailedPreconditionError("TcpClient: the event loop group has stopped");
    }
  }
  return client;
}

TcpClient::~TcpClient() {
  Close();
  WaitClosed();
}

void TcpClient::Close() {
  if (!state_->endpoint.BeginClosing()) return;
  internal::EndpointShared::StopAll(
      std::shared_ptr<internal::EndpointShared>(state_, &state_->endpoint));
}

bool TcpClient::WaitClosed(absl::Duration timeout) { return state_->endpoint.WaitIdle(timeout); }

size_t TcpClient::session_count() const { return state_->endpoint.session_count(); }

std::vector<SessionHandle> TcpClient::Sessions() const { return state_->endpoint.Sessions(); }

TcpClient::Stats TcpClient::stats() const {
  Stats s;
  s.connect_attempts = state_->attempts.load(std::memory_order_relaxed);
  s.connect_failures = state_->failures.load(std::memory_order_relaxed);
  s.sessions_opened = state_->opened.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ringnet::net
