#include "ringnet/net/internal/loop_registry.h"

#include <utility>

namespace ringnet::net::internal {
namespace {

// Spare buffers kept per loop, and the largest capacity worth keeping.
constexpr size_t kMaxSpareBuffers = 256;
constexpr size_t kMaxSpareCapacity = 256 << 10;
// Spare send gather lists kept per loop (one per session with a send in flight is the peak).
constexpr size_t kMaxSpareVectors = 1024;

}  // namespace

LoopRegistry::LoopRegistry(runtime::EventLoop* loop) : loop_(loop) {
  loop_->AddStopHook([this] { AbortAll(); });
}

LoopRegistry::~LoopRegistry() {
  // Objects still here never started I/O (or the loop never ran): abort, then destroy.
  AbortAll();
  owned_.clear();
}

void LoopRegistry::ReleaseLater(LoopOwned* object) {
  loop_->Defer([this, object] { owned_.erase(object); });
}

void LoopRegistry::AbortAll() {
  std::vector<LoopOwned*> all;
  all.reserve(owned_.size());
  for (auto& [raw, owned] : owned_) all.push_back(raw);
  // Abort never destroys synchronously (releases are deferred), so the pointers stay valid.
  for (LoopOwned* object : all) object->Abort();
}

std::string LoopRegistry::TakeBuffer() {
  if (spare_buffers_.empty()) return std::string();
  std::string buffer = std::move(spare_buffers_.back());
  spare_buffers_.pop_back();
  return buffer;
}

void LoopRegistry::GiveBuffer(std::string&& buffer) {
  if (spare_buffers_.size() >= kMaxSpareBuffers || buffer.capacity() > kMaxSpareCapacity) return;
  buffer.clear();
  spare_buffers_.push_back(std::move(buffer));
}

std::unique_ptr<SendVector> LoopRegistry::TakeSendVector() {
  if (spare_vectors_.empty()) return std::make_unique<SendVector>();
  std::unique_ptr<SendVector> vector = std::move(spare_vectors_.back());
  spare_vectors_.pop_back();
  return vector;
}

void LoopRegistry::GiveSendVector(std::unique_ptr<SendVector> vector) {
  if (vector == nullptr || spare_vectors_.size() >= kMaxSpareVectors) return;
  spare_vectors_.push_back(std::move(vector));
}

}  // namespace ringnet::net::internal
