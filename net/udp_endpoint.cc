#include "ringnet/net/udp_endpoint.h"

#include <future>
#include <utility>

#include "ringnet/net/internal/endpoint_shared.h"
#include "ringnet/net/internal/loop_registry.h"
#include "ringnet/net/internal/socket.h"
#include "ringnet/net/internal/udp_session.h"

namespace ringnet::net {

// The session's observer. It lives until the session has closed: the UdpEndpoint owns it, and
// so does the session's `keep_alive` reference (set before the session starts, dropped in its
// last callback), since an endpoint destroyed on its loop thread cannot wait for the session.
struct UdpEndpoint::State final : internal::SessionObserver {
  explicit State(runtime::EventLoopGroup* group) : endpoint(group) {}
  void OnSessionClosed(internal::SessionBase* session, bool) override {
    std::shared_ptr<State> last = std::move(keep_alive);  // may free this on return
    endpoint.RemoveSession(session->id());
    endpoint.Release();
  }
  internal::EndpointShared endpoint;
  std::shared_ptr<State> keep_alive;  // the session's reference; loop thread once it starts
};

namespace internal {

// Opens `session` on its loop (the calling thread must not be that loop's); returns its handle.
// `observer` keeps `endpoint`'s books and outlives the session.
absl::StatusOr<SessionHandle> OpenOnLoop(runtime::EventLoop* loop,
                                         std::unique_ptr<SessionBase> session,
                                         const NewSessionCallback& callback,
                                         EndpointShared* endpoint, SessionObserver* observer) {
  std::promise<absl::StatusOr<SessionHandle>> opened;
  SessionHandle handle = session->handle();
  endpoint->Retain();
  endpoint->AddSession(handle);
  session->set_observer(observer);
  const bool posted = loop->Post([&, loop, owned = std::move(session)]() mutable {
    SessionBase* raw = LoopRegistry::Of(loop).Adopt(std::move(owned));
    absl::Status status = raw->Open(callback);
    if (status.ok()) {
      opened.set_value(raw->handle());
    } else {
      opened.set_value(status);
    }
  });
  if (!posted) {
    endpoint->RemoveSession(handle.id());
    endpoint->Release();
    return absl::FailedPreconditionError("the event loop group has stopped");
  }
  return opened.get_future().get();
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<UdpEndpoint>> UdpEndpoint::Create(
    runtime::EventLoopGroup* group, const UdpEndpointOptions& options) {
  if (group == nullptr) return absl::InvalidArgumentError("UdpEndpoint needs an EventLoopGroup");
  if (!options.bind.valid()) {
    return absl::InvalidArgumentError("UdpEndpointOptions.bind is not an IPv4/IPv6 address");
  }
  if (!options.new_session) {
    return absl::InvalidArgumentError("UdpEndpointOptions.new_session is required");
  }
  runtime::EventLoop* loop = group->Next();
  if (loop->IsInLoopThread()) {
    return absl::FailedPreconditionError("UdpEndpoint::Create called on its own loop's thread");
  }
  absl::StatusOr<internal::UniqueFd> fd = internal::CreateBoundUdpSocket(options.bind);
  if (!fd.ok()) return fd.status();
  absl::Status sized =
      internal::SetBufferSizes(fd->get(), options.receive_buffer_bytes, options.send_buffer_bytes);
  if (!sized.ok()) return sized;
  absl::StatusOr<InetAddress> bound = internal::LocalAddressOf(fd->get());
  if (!bound.ok()) return bound.status();

  auto session = std::make_unique<internal::UdpSession>(loop, *std::move(fd), /*connected=*/false);
  std::unique_ptr<UdpEndpoint> endpoint(
      new UdpEndpoint(std::make_shared<State>(group), *bound, session->handle()));
  endpoint->state_->keep_alive = endpoint->state_;
  if (options.per_peer_sessions) {
    session->EnablePeerSessions(
        [callback = options.new_session, idle = options.peer_idle_timeout](SessionConfig& c) {
          c.options.idle_timeout = idle;  // the default; the callback may set its own
          return callback(c);
        },
        options.max_peers);
  }
  absl::StatusOr<SessionHandle> handle =
      internal::OpenOnLoop(loop, std::move(session), options.new_session,
                           &endpoint->state_->endpoint, endpoint->state_.get());
  if (!handle.ok()) {
    // The session is gone: closed after its rejection (which dropped the reference already) or
    // never posted.
    endpoint->state_->keep_alive.reset();
    return handle.status();
  }
  return endpoint;
}

UdpEndpoint::UdpEndpoint(std::shared_ptr<State> state, const InetAddress& address,
                         SessionHandle session)
    : Endpoint(std::shared_ptr<internal::EndpointShared>(state, &state->endpoint),
               [session] { session.Close(); }),
      state_(std::move(state)),
      address_(address),
      session_(std::move(session)) {}

}  // namespace ringnet::net
