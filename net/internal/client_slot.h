// ClientSlot: one connection slot of a client endpoint (TcpClient, UdpClient, ...): dial, run a
// session, and when it closes or the dial fails, dial again after a backoff, until the client
// closes or the attempt limit is reached. Subclasses only know how to dial.
//
// Loop thread only (Stop() arrives through EndpointShared::StopAll).
#ifndef RINGNET_NET_INTERNAL_CLIENT_SLOT_H_
#define RINGNET_NET_INTERNAL_CLIENT_SLOT_H_

#include <atomic>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ringnet/net/internal/backoff.h"
#include "ringnet/net/internal/endpoint_shared.h"
#include "ringnet/net/internal/session_base.h"
#include "ringnet/net/session.h"

namespace ringnet::net::internal {

// When and how often a slot dials again.
struct ReconnectPolicy {
  bool reconnect = true;
  bool after_clean_close = true;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
  // Consecutive failures (failed dials, sessions closed before opening) before giving up;
  // 0: never give up.
  int max_attempts = 0;
  std::function<void(const absl::Status&)> on_error;
  NewSessionCallback new_session;
};

// The policy in a client's options (TcpClientOptions, UdpClientOptions, ...: same field names).
template <typename ClientOptions>
ReconnectPolicy ReconnectPolicyOf(const ClientOptions& options) {
  ReconnectPolicy policy;
  policy.reconnect = options.reconnect;
  policy.after_clean_close = options.reconnect_after_clean_close;
  policy.initial_backoff = options.reconnect_initial_backoff;
  policy.max_backoff = options.reconnect_max_backoff;
  policy.max_attempts = options.max_reconnect_attempts;
  policy.on_error = options.on_error;
  policy.new_session = options.new_session;
  return policy;
}

// What a client endpoint shares with its slots.
struct ClientState {
  ClientState(runtime::EventLoopGroup* group, ReconnectPolicy p)
      : endpoint(group), policy(std::move(p)) {}
  EndpointShared endpoint;
  const ReconnectPolicy policy;
  std::atomic<uint64_t> attempts{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> opened{0};
};

class ClientSlot : public EndpointObject, public SessionObserver {
 public:
  ClientSlot(runtime::EventLoop* loop, std::shared_ptr<ClientState> state);
  ~ClientSlot() override;

  // Registers with the endpoint and dials. Loop thread.
  void Start();
  // No more dials; closes the session gracefully; goes away once everything is done.
  void Stop() override;
  void Abort() override { Stop(); }

  // Posts a new slot to `loop`, where it starts. False if the loop has stopped.
  static bool PostStart(runtime::EventLoop* loop, std::unique_ptr<ClientSlot> slot);

 protected:
  // Starts an attempt, which ends in OpenSession() or DialFailed().
  virtual void Dial() = 0;
  // Stops an attempt in progress; it still ends in DialFailed() or OpenSession().
  virtual void CancelDial() {}
  // Whether an attempt is in progress (requests in flight).
  virtual bool Dialing() const { return false; }

  // Adopts and opens the session the dial produced.
  void OpenSession(std::unique_ptr<SessionBase> session);
  void DialFailed(const absl::Status& error);
  // Re-checks whether the slot can go away (call when a dial's requests are all done).
  void MaybeFinish();

  const ReconnectPolicy& policy() const { return state_->policy; }
  bool stopped() const { return stopped_; }

  runtime::EventLoop* const loop_;

 private:
  void TryDial();
  // SessionObserver.
  void OnSessionOpening(SessionBase* session) override;
  void OnSessionOpenResult(SessionBase* session, const absl::Status& result) override;
  void OnSessionClosed(SessionBase* session, bool clean) override;
  void CountFailure(const absl::Status& error);
  bool GaveUp() const;
  void ScheduleRedial();

  std::shared_ptr<ClientState> state_;
  Backoff backoff_;
  SessionBase* session_ = nullptr;
  runtime::TimerId redial_timer_;
  bool stopped_ = false;
  bool finished_ = false;
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_CLIENT_SLOT_H_
