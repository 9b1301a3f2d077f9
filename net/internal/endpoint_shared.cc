#include "ringnet/net/internal/endpoint_shared.h"

#include <chrono>

namespace ringnet::net::internal {

EndpointShared::EndpointShared(runtime::EventLoopGroup* group) : group_(group) {
  for (int i = 0; i < group_->size(); ++i) objects_[group_->loop(i)];
}

void EndpointShared::StopAll(const std::shared_ptr<EndpointShared>& self) {
  for (int i = 0; i < self->group_->size(); ++i) {
    runtime::EventLoop* loop = self->group_->loop(i);
    // A loop that already stopped aborted these objects itself; Post then refuses.
    loop->Post([self, loop] {
      auto& set = self->objects_.find(loop)->second;
      std::vector<EndpointObject*> objects(set.begin(), set.end());
      for (EndpointObject* object : objects) object->Stop();
    });
  }
}

void EndpointShared::Retain() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++live_;
}

void EndpointShared::Release() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (--live_ == 0) idle_.notify_all();
}

bool EndpointShared::WaitIdle(absl::Duration timeout) {
  for (int i = 0; i < group_->size(); ++i) {
    if (group_->loop(i)->IsInLoopThread()) return false;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  auto done = [this] { return live_ == 0; };
  if (timeout == absl::InfiniteDuration()) {
    idle_.wait(lock, done);
    return true;
  }
  return idle_.wait_for(lock, absl::ToChronoNanoseconds(timeout), done);
}

void EndpointShared::AddSession(const SessionHandle& session) {
  std::lock_guard<std::mutex> lock(mutex_);
  sessions_.emplace(session.id(), session);
}

void EndpointShared::RemoveSession(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  sessions_.erase(id);
}

std::vector<SessionHandle> EndpointShared::Sessions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SessionHandle> out;
  out.reserve(sessions_.size());
  for (const auto& [id, handle] : sessions_) out.push_back(handle);
  return out;
}

size_t EndpointShared::session_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.size();
}

}  // namespace ringnet::net::internal
