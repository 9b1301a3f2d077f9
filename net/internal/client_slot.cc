#include "ringnet/net/internal/client_slot.h"

#include <utility>

#include "ringnet/net/internal/loop_registry.h"

namespace ringnet::net::internal {

ClientSlot::ClientSlot(runtime::EventLoop* loop, std::shared_ptr<ClientState> state)
    : loop_(loop),
      state_(std::move(state)),
      backoff_(state_->policy.initial_backoff, state_->policy.max_backoff) {
  state_->endpoint.Retain();
}

ClientSlot::~ClientSlot() {
  if (!finished_) state_->endpoint.Release();  // never started (its loop had stopped)
}

bool ClientSlot::PostStart(runtime::EventLoop* loop, std::unique_ptr<ClientSlot> slot) {
  return loop->Post([loop, owned = std::move(slot)]() mutable {
    LoopRegistry::Of(loop).Adopt(std::move(owned))->Start();
  });
}

void ClientSlot::Start() {
  state_->endpoint.Register(loop_, this);
  TryDial();
}

void ClientSlot::TryDial() {
  if (loop_->stopping()) Stop();
  if (stopped_) return;
  state_->attempts.fetch_add(1, std::memory_order_relaxed);
  Dial();
}

void ClientSlot::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (redial_timer_.valid()) loop_->Cancel(redial_timer_);
  redial_timer_ = runtime::TimerId();
  if (Dialing()) CancelDial();
  if (session_ != nullptr) session_->Close();
  MaybeFinish();
}

void ClientSlot::OpenSession(std::unique_ptr<SessionBase> owned) {
  SessionBase* session = LoopRegistry::Of(loop_).Adopt(std::move(owned));
  session_ = session;
  state_->endpoint.Retain();
  session->set_observer(this);
  // Opens at once (TCP, UDP) or after a handshake (WebSocket).
  session->Start(policy().new_session);
}

void ClientSlot::OnSessionOpening(SessionBase* session) {
  // Listed before OnOpen runs; a rejected one is removed again by OnSessionClosed.
  state_->endpoint.AddSession(session->handle());
}

void ClientSlot::OnSessionOpenResult(SessionBase*, const absl::Status& result) {
  if (result.ok()) {
    backoff_.Succeeded();
    state_->opened.fetch_add(1, std::memory_order_relaxed);
  } else if (!stopped_) {
    // Rejected by new_session or OnOpen, or a failed handshake: a failed attempt; the redial
    // follows from OnSessionClosed.
    CountFailure(result);
  }
}

void ClientSlot::OnSessionClosed(SessionBase* session, bool clean) {
  state_->endpoint.RemoveSession(session->id());
  state_->endpoint.Release();
  session_ = nullptr;
  if (!stopped_ && policy().reconnect && (!clean || policy().after_clean_close) && !GaveUp()) {
    ScheduleRedial();
  } else {
    stopped_ = true;
  }
  MaybeFinish();
}

void ClientSlot::CountFailure(const absl::Status& error) {
  state_->failures.fetch_add(1, std::memory_order_relaxed);
  backoff_.Failed();
  if (policy().on_error) policy().on_error(error);
}

bool ClientSlot::GaveUp() const {
  const int limit = policy().max_attempts;
  return limit > 0 && backoff_.failures() >= limit;
}

void ClientSlot::DialFailed(const absl::Status& error) {
  if (stopped_) {
    MaybeFinish();
    return;
  }
  CountFailure(error);
  if (!policy().reconnect || GaveUp()) {
    stopped_ = true;
    MaybeFinish();
    return;
  }
  ScheduleRedial();
}

void ClientSlot::ScheduleRedial() {
  redial_timer_ = loop_->RunAfter(backoff_.NextDelay(), [this] {
    redial_timer_ = runtime::TimerId();
    TryDial();
  });
}

void ClientSlot::MaybeFinish() {
  if (!stopped_ || finished_ || Dialing() || session_ != nullptr) return;
  finished_ = true;
  if (redial_timer_.valid()) loop_->Cancel(redial_timer_);
  redial_timer_ = runtime::TimerId();
  state_->endpoint.Unregister(loop_, this);
  state_->endpoint.Release();
  LoopRegistry::Of(loop_).ReleaseLater(this);
}

}  // namespace ringnet::net::internal
