#include "ringnet/net/internal/write_queue.h"

#include <algorithm>
#include <utility>

namespace ringnet::net::internal {

std::string WriteQueue::NewBuffer() {
  std::string buffer = pool_ != nullptr ? pool_->TakeBuffer() : std::string();
  // Chunks live in a vector that may reallocate while a send is in flight; a heap buffer keeps
  // its address when the string object moves, a small-string buffer would not.
  if (buffer.capacity() < kMinCapacity) buffer.reserve(kMinCapacity);
  return buffer;
}

void WriteQueue::Retire(std::string&& buffer) {
  if (pool_ != nullptr) pool_->GiveBuffer(std::move(buffer));
}

std::string* WriteQueue::AppendTarget(size_t hint) {
  const bool tail_usable = !chunks_.empty() && static_cast<int>(chunks_.size()) > gathered_ &&
                           chunks_.back().data.size() + hint <= kCoalesceLimit;
  if (!tail_usable) chunks_.push_back(Chunk{NewBuffer(), 0});
  return &chunks_.back().data;
}

void WriteQueue::DropEmptyTail() {
  if (!chunks_.empty() && static_cast<int>(chunks_.size()) > gathered_ &&
      chunks_.back().data.empty()) {
    Retire(std::move(chunks_.back().data));
    chunks_.pop_back();
  }
}

void WriteQueue::Append(absl::string_view bytes) {
  if (bytes.empty()) return;
  if (bytes.size() >= kCoalesceLimit) {
    size_ += bytes.size();
    chunks_.push_back(Chunk{std::string(bytes), 0});
    return;
  }
  AppendWith(bytes.size(), [&](std::string* out) {
    out->append(bytes.data(), bytes.size());
    return true;
  });
}

void WriteQueue::AppendOwned(std::string&& bytes) {
  if (bytes.empty()) return;
  if (bytes.capacity() < kMinCapacity) {  // may be a small string stored inline: copy it
    Append(bytes);
    return;
  }
  size_ += bytes.size();
  chunks_.push_back(Chunk{std::move(bytes), 0});
}

int WriteQueue::Gather(iovec* iov, int max, size_t* bytes) {
  size_t total = 0;
  int n = 0;
  int frozen = 0;
  for (Chunk& c : chunks_) {
    const size_t left = c.data.size() - c.sent;
    if (left > 0) {
      if (n == max) break;
      iov[n].iov_base = c.data.data() + c.sent;
      iov[n].iov_len = left;
      total += left;
      ++n;
    }
    ++frozen;
  }
  gathered_ = frozen;
  *bytes = total;
  return n;
}

void WriteQueue::Consume(size_t n) {
  size_ -= n;
  size_t retired = 0;
  for (; retired < chunks_.size(); ++retired) {
    Chunk& c = chunks_[retired];
    const size_t left = c.data.size() - c.sent;
    if (n < left) {
      c.sent += n;  // a partial send resumes here
      break;
    }
    n -= left;
  }
  for (size_t i = 0; i < retired; ++i) Retire(std::move(chunks_[i].data));
  chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<ptrdiff_t>(retired));
  gathered_ = 0;
}

void WriteQueue::Clear() {
  for (Chunk& c : chunks_) Retire(std::move(c.data));
  chunks_.clear();
  size_ = 0;
  gathered_ = 0;
}

}  // namespace ringnet::net::internal
