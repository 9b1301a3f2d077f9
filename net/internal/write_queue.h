// WriteQueue: the bytes a stream session has accepted and not yet sent.
//
// Small writes are appended to the tail buffer, so many packages leave in one iovec; large owned
// writes become buffers of their own without a copy. `Gather` hands everything unsent to one
// sendmsg; buffers in flight are never appended to (their addresses are in the kernel's hands),
// and `Consume` retires what the kernel took, resuming partial sends where they stopped.
// Bytes that lie in the receive buffer the loop is handling right now (an echo, a forward to
// another session on the same loop) are not copied at all when they are large enough: the chunk
// holds the receive buffer and sends from it, and the buffer returns to its ring when that chunk
// is sent or dropped (the ring puts a spare buffer in its place meanwhile). Only into an empty
// queue, though: bytes joining a queue that already waits are copied (see kMinLend).
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
#include "ringnet/runtime/buffer_ring.h"

namespace ringnet::net::internal {

class WriteQueue {
 public:
  // A write this large or larger gets a buffer of its own instead of joining the tail.
  static constexpr size_t kCoalesceLimit = 64 << 10;
  // Every buffer has at least this capacity, so its bytes are on the heap (see NewBuffer).
  static constexpr size_t kMinCapacity = 64;
  // Bytes in the loop's current receive buffer are sent from it (not copied) from this size up,
  // when the queue is empty (or they continue the lent bytes at its tail) and the ring has a
  // spare buffer to put in its place. Into a queue that already waits (a slow peer, a bulk
  // stream, many packages per iteration) bytes are copied: they coalesce into few large
  // buffers, so sends stay large, and no receive buffer is held for long.
  static constexpr size_t kMinLend = 1024;

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
  // Queues `bytes`: a copy, or a hold on the receive buffer they lie in (see CanLend).
  void Append(absl::string_view bytes);
  // Whether Append(bytes) would send them from the loop's current receive buffer.
  bool CanLend(absl::string_view bytes) const {
    if (pool_ == nullptr || bytes.size() < kMinLend) return false;
    const ReceiveWindow& window = pool_->receiving();
    if (!window.Contains(bytes)) return false;
    return size_ == 0 ? window.ring->CanLend(window.id) : ExtendsLentTail(window, bytes);
  }
  // Queues `bytes` lent (no copy) although the queue is no longer empty: for a protocol that
  // asked CanLend(bytes) first and has queued only a header since.
  void Lend(absl::string_view bytes) { AppendLent(bytes); }
  // Queues `bytes` as a buffer of its own (no copy).
  void AppendOwned(std::string&& bytes);

  // Unsent bytes.
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Bytes consumed (sent) since the queue was made: with size(), every byte ever queued has an
  // offset, consumed() + size() being the end of the last.
  uint64_t consumed() const { return consumed_; }
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
  // Owned bytes (`data`), or bytes lent by a receive buffer the chunk holds (`ring` not null).
  struct Chunk {
    std::string data;
    const char* lent = nullptr;
    runtime::BufferRing* ring = nullptr;
    size_t sent = 0;
    uint32_t lent_size = 0;  // at most one receive buffer
    uint16_t id = 0;

    const char* bytes() const { return ring != nullptr ? lent : data.data(); }
    size_t size() const { return ring != nullptr ? lent_size : data.size(); }
  };
  std::string* AppendTarget(size_t hint);
  // Whether `bytes` continue the lent chunk at the (unsent) tail, in the same buffer.
  bool ExtendsLentTail(const ReceiveWindow& window, absl::string_view bytes) const {
    if (chunks_.empty() || static_cast<int>(chunks_.size()) <= gathered_) return false;
    const Chunk& tail = chunks_.back();
    return tail.ring == window.ring && tail.id == window.id &&
           tail.lent + tail.lent_size == bytes.data();
  }
  void AppendLent(absl::string_view bytes);
  void DropEmptyTail();
  std::string NewBuffer();
  void Retire(Chunk& chunk);

  LoopRegistry* pool_;
  std::vector<Chunk> chunks_;
  size_t size_ = 0;
  uint64_t consumed_ = 0;
  int gathered_ = 0;  // leading chunks frozen by the outstanding Gather
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_WRITE_QUEUE_H_
