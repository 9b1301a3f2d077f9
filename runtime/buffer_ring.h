// BufferRing: a provided-buffer ring (io_uring_register_buf_ring) for one buffer group.
//
// The kernel picks a buffer from the ring when a request with IOSQE_BUFFER_SELECT (multishot recv,
// recvmsg) has data, and names it in the CQE (IORING_CQE_F_BUFFER, id in the upper flag bits). Idle
// sockets therefore hold no receive memory. The owner reads the bytes, then hands the buffer back
// with `Recycle()` as soon as they are consumed. When every buffer is out the kernel fails
// requests with -ENOBUFS; the owner reports that with `NoteExhausted()` and re-arms later.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<BufferRing>> buffers =
//       BufferRing::Create(ring, /*group_id=*/0, /*count=*/256, /*size=*/16384);
//   ...
//   // in a recv completion with IORING_CQE_F_BUFFER set:
//   uint16_t id = BufferRing::BufferId(flags);
//   Consume((*buffers)->Data(id), result);
//   (*buffers)->Recycle(id);
//
// Not thread-safe: used by the loop thread that owns the ring.
#ifndef RINGNET_RUNTIME_BUFFER_RING_H_
#define RINGNET_RUNTIME_BUFFER_RING_H_

#include <liburing.h>

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "ringnet/runtime/ring.h"

namespace ringnet::runtime {

class BufferRing {
 public:
  // Registers `count` buffers (a power of two, at most 32768) of `size` bytes as buffer group
  // `group_id` of `ring`. The memory is reserved, not touched: pages become resident only once the
  // kernel writes into them. Must run on the ring's submitting thread.
  static absl::StatusOr<std::unique_ptr<BufferRing>> Create(Ring& ring, uint16_t group_id,
                                                            uint32_t count, uint32_t size);
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  // Unregisters the group and releases the memory. No request may still select from it.
  ~BufferRing();

  // Whether a CQE's flags name a buffer, and which.
  static bool HasBuffer(uint32_t cqe_flags) { return (cqe_flags & IORING_CQE_F_BUFFER) != 0; }
  static uint16_t BufferId(uint32_t cqe_flags) {
    return static_cast<uint16_t>(cqe_flags >> IORING_CQE_BUFFER_SHIFT);
  }

  // Takes the buffer a CQE names out of the ring's accounting and returns its first byte.
  char* Take(uint16_t id) {
    ++outstanding_;
    return Data(id);
  }
  // The first byte of buffer `id` (64-byte aligned, whatever the buffer size).
  char* Data(uint16_t id) const { return buffers_ + static_cast<size_t>(id) * stride_; }

  // Gives buffer `id` back to the kernel.
  void Recycle(uint16_t id);

  // Records that a request found the ring empty (-ENOBUFS).
  void NoteExhausted() { ++exhaustions_; }

  uint16_t group_id() const { return group_id_; }
  uint32_t count() const { return count_; }
  uint32_t buffer_size() const { return size_; }
  // Buffers taken and not yet recycled.
  uint32_t outstanding() const { return outstanding_; }
  // Times a request found the ring empty.
  uint64_t exhaustions() const { return exhaustions_; }

 private:
  BufferRing(Ring& ring, uint16_t group_id, uint32_t count, uint32_t size)
      : ring_(ring),
        group_id_(group_id),
        count_(count),
        size_(size),
        stride_((static_cast<size_t>(size) + 63) & ~size_t{63}) {}

  Ring& ring_;
  const uint16_t group_id_;
  const uint32_t count_;
  const uint32_t size_;
  const size_t stride_;  // distance between buffers: size_ rounded up to 64 bytes
  io_uring_buf_ring* entries_ = nullptr;
  size_t entries_bytes_ = 0;
  char* buffers_ = nullptr;
  size_t buffers_bytes_ = 0;
  bool registered_ = false;
  uint32_t outstanding_ = 0;
  uint64_t exhaustions_ = 0;
};

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_BUFFER_RING_H_
