// BufferRing: a pool of equal receive buffers, named by id, that requests pick from.
//
// In kernel mode it is a provided-buffer ring (io_uring_register_buf_ring): the kernel picks a
// buffer when a request with IOSQE_BUFFER_SELECT (multishot recv, recvmsg) has data and names it
// in the CQE (IORING_CQE_F_BUFFER, id in the upper flag bits), so idle sockets hold no receive
// memory. In user mode (the epoll backend) the loop picks a buffer itself with `Select()` once
// a socket is readable, just before it receives; completions look the same.
// Either way the owner reads the bytes, then hands the buffer back with `Recycle()` as soon as
// they are consumed. When every buffer is out, receives fail with -ENOBUFS; the owner reports
// that with `NoteExhausted()` and re-arms later.
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
  // buffer group `group_id` of `ring`. The memory is reserved, not touched: pages become resident
  // only once the kernel writes into them. Must run on the ring's submitting thread.
  static absl::StatusOr<std::unique_ptr<BufferRing>> Create(Ring& ring, uint16_t group_id,
                                                            uint32_t count, uint32_t size);
  // User mode: the same pool, selected by the loop with Select() instead of by the kernel.
  static absl::StatusOr<std::unique_ptr<BufferRing>> CreateUserSpace(uint16_t group_id,
                                                                     uint32_t count, uint32_t size);
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
  char* Take(uint16_t id) {
    ++outstanding_;
    return Data(id);
  }
  // The first byte of buffer `id` (64-byte aligned, whatever the buffer size).
  char* Data(uint16_t id) const { return buffers_ + static_cast<size_t>(id) * stride_; }

  // Gives buffer `id` back (to the kernel, or to the free list in user mode).
  void Recycle(uint16_t id);

  // User mode: picks a free buffer for a receive about to start; -1 when none is free.
  int32_t Select();
  // User mode: returns a selected buffer that received nothing (no Take happened).
  void Unselect(uint16_t id) { free_.push_back(id); }

  // Records that a request found the ring empty (-ENOBUFS).
  void NoteExhausted() { ++exhaustions_; }

  bool kernel_mode() const { return ring_ != nullptr; }
  uint16_t group_id() const { return group_id_; }
  uint32_t count() const { return count_; }
  uint32_t buffer_size() const { return size_; }
  // Buffers taken and not yet recycled.
  uint32_t outstanding() const { return outstanding_; }
  // Times a request found the ring empty.
  uint64_t exhaustions() const { return exhaustions_; }

 private:
  BufferRing(Ring* ring, uint16_t group_id, uint32_t count, uint32_t size)
      : ring_(ring),
        group_id_(group_id),
        count_(count),
        size_(size),
        stride_((static_cast<size_t>(size) + 63) & ~size_t{63}) {}
  absl::Status Map();

  Ring* const ring_;  // null in user mode
  const uint16_t group_id_;
  const uint32_t count_;
  const uint32_t size_;
  const size_t stride_;  // distance between buffers: size_ rounded up to 64 bytes
  io_uring_buf_ring* entries_ = nullptr;
  size_t entries_bytes_ = 0;
  char* buffers_ = nullptr;
  size_t buffers_bytes_ = 0;
  bool registered_ = false;
  std::vector<uint16_t> free_;  // user mode: buffers not in use
  uint32_t outstanding_ = 0;
  uint64_t exhaustions_ = 0;
};

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_BUFFER_RING_H_
