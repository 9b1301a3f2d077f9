#include "ringnet/net/endpoint.h"

#include <utility>

#include "ringnet/net/internal/endpoint_shared.h"

namespace ringnet::net {

Endpoint::Endpoint(std::shared_ptr<internal::EndpointShared> shared, std::function<void()> on_close)
    : shared_(std::move(shared)), on_close_(std::move(on_close)) {}

Endpoint::~Endpoint() {
  Close();
  WaitClosed();
}

void Endpoint::Close() {
  if (!shared_->BeginClosing()) return;
  if (on_close_) on_close_();
  internal::EndpointShared::StopAll(shared_);
}

bool Endpoint::WaitClosed(absl::Duration timeout) { return shared_->WaitIdle(timeout); }

size_t Endpoint::session_count() const { return shared_->session_count(); }

std::vector<SessionHandle> Endpoint::Sessions() const { return shared_->Sessions(); }

}  // namespace ringnet::net
