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

void WriteQueue::Retire(Chunk& chunk) {
  if (chunk.ring != nullptr) {
    chunk.ring->Release(chunk.id);
    chunk.ring = nullptr;
  } else if (pool_ != nullptr) {
    pool_->GiveBuffer(std::move(chunk.data));
  }
}

std::string* WriteQueue::AppendTarget(size_t hint) {
  const bool tail_usable = !chunks_.empty() && static_cast<int>(chunks_.size()) > gathered_ &&
                           chunks_.back().ring == nullptr &&
                           chunks_.back().data.size() + hint <= kCoalesceLimit;
  if (!tail_usable) chunks_.push_back(Chunk{NewBuffer()});
  return &chunks_.back().data;
}

void WriteQueue::DropEmptyTail() {
  if (!chunks_.empty() && static_cast<int>(chunks_.size()) > gathered_ &&
      chunks_.back().ring == nullptr && chunks_.back().data.empty()) {
    Retire(chunks_.back());
    chunks_.pop_back();
  }
}

void WriteQueue::AppendLent(absl::string_view bytes) {
  const ReceiveWindow& window = pool_->receiving();
  size_ += bytes.size();
  if (ExtendsLentTail(window, bytes)) {
    chunks_.back().lent_size += static_cast<uint32_t>(bytes.size());  // same buffer: one hold
    return;
  }
  Chunk chunk;
  chunk.lent = bytes.data();
  chunk.lent_size = static_cast<uint32_t>(bytes.size());
  chunk.ring = window.ring;
  chunk.id = window.id;
  window.ring->Hold(window.id);
  chunks_.push_back(std::move(chunk));
}

void WriteQueue::Append(absl::string_view bytes) {
  if (bytes.empty()) return;
  if (CanLend(bytes)) {
    AppendLent(bytes);
    return;
  }
  if (bytes.size() >= kCoalesceLimit) {
    size_ += bytes.size();
    chunks_.push_back(Chunk{std::string(bytes)});
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
  chunks_.push_back(Chunk{std::move(bytes)});
}

int WriteQueue::Gather(iovec* iov, int max, size_t* bytes) {
  size_t total = 0;
  int n = 0;
  int frozen = 0;
  for (Chunk& c : chunks_) {
    const size_t left = c.size() - c.sent;
    if (left > 0) {
      if (n == max) break;
      iov[n].iov_base = const_cast<char*>(c.bytes()) + c.sent;
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
  consumed_ += n;
  size_t retired = 0;
  for (; retired < chunks_.size(); ++retired) {
    Chunk& c = chunks_[retired];
    const size_t left = c.size() - c.sent;
    if (n < left) {
      c.sent += n;  // a partial send resumes here
      break;
    }
    n -= left;
  }
  for (size_t i = 0; i < retired; ++i) Retire(chunks_[i]);
  chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<ptrdiff_t>(retired));
  gathered_ = 0;
}

void WriteQueue::Clear() {
  for (Chunk& c : chunks_) Retire(c);
  chunks_.clear();
  size_ = 0;
  gathered_ = 0;
}

}  // namespace ringnet::net::internal
