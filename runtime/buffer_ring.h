// BufferRing: a pool of equal receive buffers, named by id, that requests pick from.
//
// In kernel mode it is a provided-buffer ring (io_uring_register_buf_ring): the kernel picks a
// buffer when a request with IOSQE_BUFFER_SELECT (multishot recv, recvmsg) has data and names it
// in the CQE (IORING_CQE_F_BUFFER, id in the upper flag bits), so idle sockets hold no receive
// memory. In user mode (the epoll backend) the loop picks a buffer itself with `Select()` once
// a socket is readable, just before it receives; completions look the same.
// Either way the owner reads the bytes, then hands the buffer back with `Recycle()` as soon as
// they are consumed. When every buffer is out, receives fail with -ENOBUFS; the owner then waits
// for its turn (`Wait`, see below) and re-arms when woken.
//
// Starved receivers. With more data arriving than the ring holds (bulk traffic on many
// connections) a few receives drain the ring and every other one fails. Re-arming all of them
// at once would fail again and again, each time costing a request and a completion. So they
// queue here in order, and the loop wakes the oldest at the end of each iteration, while buffers
// are free: at most `wake_limit()` of them, which halves after an iteration in which receives
// found the ring empty and doubles after one in which none did (from 1 to `count()`).
//
// Lending: an owner may let a buffer's bytes live on after it has handled them (a write that
// sends them straight from the buffer, without a copy). It pairs `Take` with `Release` instead
// of `Recycle`, and each lender calls `Hold` and later `Release`; the buffer goes back when the
// last holder releases it. A lent buffer may stay out for long (until its send completes), so
// the ring keeps `spares` extra buffers: when a buffer is first lent, a spare takes its place
// in the ring, so lending never shrinks what receives can pick from. `CanLend` says no once the
// spares are used up; the lender then copies. Buffers coming back refill the ring first, then
// the spares.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<BufferRing>> buffers =
//       BufferRing::Create(ring, /*group_id=*/0, /*count=*/256, /*size=*/16384);
//   ...
//   // in a recv completion with IORING_CQE_F_BUFFER set:
//   uint16_t id = BufferRing::BufferId(flags);
//   Consume((*buffers)->Take(id), result);
//   (*buffers)->Recycle(id);
//
// Not thread-safe: used by the loop thread that owns it.
#ifndef RINGNET_RUNTIME_BUFFER_RING_H_
#define RINGNET_RUNTIME_BUFFER_RING_H_

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "ringnet/runtime/ring.h"

namespace ringnet::runtime {

class BufferRing {
 public:
  // Kernel mode: registers `count` buffers (a power of two, at most 32768) of `size` bytes as
  // buffer group `group_id` of `ring`, plus `spares` (at most `count`) that stand in for lent
  // buffers. The memory is reserved, not touched: pages become resident only once the kernel
  // writes into them. Must run on the ring's submitting thread.
  static absl::StatusOr<std::unique_ptr<BufferRing>> Create(Ring& ring, uint16_t group_id,
                                                            uint32_t count, uint32_t size,
                                                            uint32_t spares = 0);
  // User mode: the same pool, selected by the loop with Select() instead of by the kernel.
  static absl::StatusOr<std::unique_ptr<BufferRing>> CreateUserSpace(uint16_t group_id,
                                                                     uint32_t count, uint32_t size,
                                                                     uint32_t spares = 0);
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  // Unregisters the group (kernel mode) and releases the memory. No request may still use it.
  ~BufferRing();

  // Whether a CQE's flags name a buffer, and which; and the flags that name buffer `id`.
  static bool HasBuffer(uint32_t cqe_flags) { return (cqe_flags & IORING_CQE_F_BUFFER) != 0; }
  static uint16_t BufferId(uint32_t cqe_flags) {
    return static_cast<uint16_t>(cqe_flags >> IORING_CQE_BUFFER_SHIFT);
  }
  static uint32_t FlagsFor(uint16_t id) {
    return IORING_CQE_F_BUFFER | (static_cast<uint32_t>(id) << IORING_CQE_BUFFER_SHIFT);
  }

  // Takes the buffer a CQE names out of the ring's accounting and returns its first byte.
  // The taker holds it once (see Release).
  char* Take(uint16_t id) {
    ++outstanding_;
    holds_[id] = 1;
    if (ring_ != nullptr) --in_ring_;  // user mode: Select took it off the free list
    return Data(id);
  }
  // The first byte of buffer `id` (64-byte aligned, whatever the buffer size).
  char* Data(uint16_t id) const { return buffers_ + static_cast<size_t>(id) * stride_; }

  // Gives buffer `id` back, whoever holds it: to the kernel (the free list in user mode) while
  // the ring has room, else to the spares.
  void Recycle(uint16_t id);

  // Lending a taken buffer (see the top): `Hold` adds a holder (the first one puts a spare in
  // the buffer's place), `Release` drops one (the taker's too) and recycles the buffer when none
  // is left. `CanLend` says whether buffer `id` may be held: it already is, or a spare is left.
  void Hold(uint16_t id);
  void Release(uint16_t id) {
    if (--holds_[id] == 0) Recycle(id);
  }
  bool CanLend(uint16_t id) const { return holds_[id] > 1 || !spares_.empty(); }
  // Holds made by lenders so far, and spare buffers not in use (for tests and statistics).
  uint64_t holds_made() const { return holds_made_; }
  size_t spares_left() const { return spares_.size(); }

  // User mode: picks a free buffer for a receive about to start; -1 when none is free.
  int32_t Select();
  // User mode: returns a selected buffer that received nothing (no Take happened).
  void Unselect(uint16_t id) { free_.push_back(id); }

  // A receiver waiting for buffers (see the top). Its owner unlinks it (CancelWait) before it
  // goes away.
  class Waiter {
   public:
    // Buffers are free and it is this receiver's turn: re-arm the receive. It is no longer
    // waiting; it may Wait again.
    virtual void OnBuffersFree() = 0;

   protected:
    Waiter() = default;
    ~Waiter() = default;

   private:
    friend class BufferRing;
    Waiter* prev_ = nullptr;
    Waiter* next_ = nullptr;
  };

  // Records that `waiter`'s request found the ring empty (-ENOBUFS) and queues it, last, until
  // WakeWaiters gives it its turn. Queueing one already waiting only counts the exhaustion.
  void Wait(Waiter* waiter);
  // Takes `waiter` out of the queue (no-op when it is not in it).
  void CancelWait(Waiter* waiter);
  bool IsWaiting(const Waiter* waiter) const {
    return waiter->prev_ != nullptr || waiters_head_ == waiter;
  }
  size_t waiters() const { return waiters_; }
  // Whether WakeWaiters would wake someone now (the loop does not sleep while it would).
  bool CanWake() const { return waiters_head_ != nullptr && Available() > 0; }
  // Wakes the oldest waiters, at most wake_limit() of them, if any buffer is free; returns how
  // many. The loop calls it once per iteration while there are waiters.
  size_t WakeWaiters();
  uint32_t wake_limit() const { return wake_limit_; }

  bool kernel_mode() const { return ring_ != nullptr; }
  uint16_t group_id() const { return group_id_; }
  // Buffers the ring holds for receives (spares not counted).
  uint32_t count() const { return count_; }
  uint32_t buffer_size() const { return size_; }
  // Buffers taken and not yet recycled.
  uint32_t outstanding() const { return outstanding_; }
  // Times a request found the ring empty.
  uint64_t exhaustions() const { return exhaustions_; }

 private:
  // Only Create calls it, after CheckGeometry named each value.
  // NOLINTNEXTLINE(bugprone-easily-swappable-parameters)
  BufferRing(Ring* ring, uint16_t group_id, uint32_t count, uint32_t size, uint32_t spares)
      : ring_(ring),
        group_id_(group_id),
        count_(count),
        total_(count + spares),
        size_(size),
        stride_((static_cast<size_t>(size) + 63) & ~size_t{63}),
        holds_(count + spares, 0),
        wake_limit_(count) {}
  absl::Status Map();
  // Puts buffer `id` where receives pick from: the kernel's ring, or the free list.
  void Provide(uint16_t id);
  // Buffers receives can pick from right now (kernel mode: as far as reaped CQEs tell).
  size_t Available() const { return ring_ != nullptr ? in_ring_ : free_.size(); }

  Ring* const ring_;  // null in user mode
  const uint16_t group_id_;
  const uint32_t count_;
  const uint32_t total_;  // count_ + spares
  const uint32_t size_;
  const size_t stride_;  // distance between buffers: size_ rounded up to 64 bytes
  io_uring_buf_ring* entries_ = nullptr;
  size_t entries_bytes_ = 0;
  char* buffers_ = nullptr;
  size_t buffers_bytes_ = 0;
  bool registered_ = false;
  std::vector<uint16_t> free_;    // user mode: buffers not in use
  std::vector<uint16_t> spares_;  // buffers neither where receives pick from nor taken
  std::vector<uint32_t> holds_;   // per buffer: the taker and lenders holding it
  uint32_t in_ring_ = 0;          // kernel mode: buffers added to the ring minus those taken
  uint32_t outstanding_ = 0;
  uint64_t holds_made_ = 0;
  uint64_t exhaustions_ = 0;
  // Starved receivers, oldest first (an intrusive list through Waiter).
  Waiter* waiters_head_ = nullptr;
  Waiter* waiters_tail_ = nullptr;
  size_t waiters_ = 0;
  uint32_t wake_limit_;
  uint64_t exhaustions_at_wake_ = 0;  // exhaustions_ when WakeWaiters last woke some
};

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_BUFFER_RING_H_
