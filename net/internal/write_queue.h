// WriteQueue: the bytes a stream session has accepted and not yet sent.
//
// Small writes are appended to the tail buffer, so many packages leave in one iovec; large owned
// writes become buffers of their own without a copy. `Gather` hands everything unsent to one
// sendmsg; buffers in flight are never appended to (their addresses are in the kernel's hands),
// and `Consume` retires what the kernel took, resuming partial sends where they stopped.
//
// Not thread-safe: one session's loop thread.
#ifndef RINGNET_NET_INTERNAL_WRITE_QUEUE_H_
#define RINGNET_NET_INTERNAL_WRITE_QUEUE_H_

#include <sys/uio.h>

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ringnet/net/internal/loop_registry.h"

namespace ringnet::net::internal {

class WriteQueue {
 public:
  // A write this large or larger gets a buffer of its own instead of joining the tail.
  static constexpr size_t kCoalesceLimit = 64 << 10;
  // Every buffer has at least this capacity, so its bytes are on the heap (see NewBuffer).
  static constexpr size_t kMinCapacity = 64;

  // `pool` recycles retired buffers across the loop's sessions; may be nullptr.
  explicit WriteQueue(LoopRegistry* pool) : pool_(pool) {}
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;
  ~WriteQueue() { Clear(); }

  // The pool given at construction.
  LoopRegistry* pool() const { return pool_; }

  // Queues what `append(std::string* out)` appends to `*out` (it must only append), expecting
  // about `hint` bytes; returns what `append` returns. Encoders write straight into the queue.
  template <typename Append>
  auto AppendWith(size_t hint, Append&& append) {
    std::string* target = AppendTarget(hint);
    const size_t before = target->size();
    auto result = append(target);
    size_ += target->size() - before;
    if (target->empty()) DropEmptyTail();
    return result;
  }
  // Queues a copy of `bytes`.
  void Append(absl::string_view bytes);
  // Queues `bytes` as a buffer of its own (no copy).
  void AppendOwned(std::string&& bytes);

  // Unsent bytes.
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Whether a Gather is outstanding.
  bool in_flight() const { return gathered_ > 0; }

  // Describes up to `max` buffers of unsent bytes in `iov`; returns how many, and sets `*bytes`.
  // The buffers are frozen until the next Consume.
  int Gather(iovec* iov, int max, size_t* bytes);
  // The kernel took `n` bytes of the last Gather (n may be less: a partial send).
  void Consume(size_t n);
  // Drops everything.
  void Clear();

 private:
  struct Chunk {
    std::string data;
    size_t sent = 0;
  };
  std::string* AppendTarget(size_t hint);
  void DropEmptyTail();
  std::string NewBuffer();
  void Retire(std::string&& buffer);

  LoopRegistry* pool_;
  std::vector<Chunk> chunks_;
  size_t size_ = 0;
  int gathered_ = 0;  // leading chunks frozen by the outstanding Gather
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_WRITE_QUEUE_H_
