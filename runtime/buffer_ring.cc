#include "ringnet/runtime/buffer_ring.h"

#include <sys/mman.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ringnet::runtime {
namespace {

void* MapAnonymous(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the order of BufferRing::Create's.
absl::Status CheckGeometry(uint32_t count, uint32_t size, uint32_t spares) {
  if (count == 0 || count > 32768 || (count & (count - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("buffer ring count must be a power of two in [1, 32768], got ", count));
  }
  if (spares > count) {
    return absl::InvalidArgumentError(
        absl::StrCat("buffer ring spares must be at most its count ", count, ", got ", spares));
  }
  if (size == 0) return absl::InvalidArgumentError("buffer ring buffer size must be positive");
  return absl::OkStatus();
}

}  // namespace

absl::Status BufferRing::Map() {
  buffers_bytes_ = static_cast<size_t>(total_) * stride_;
  // Lowest ids on top: used first, so few spare pages ever become resident.
  spares_.reserve(total_ - count_);
  for (uint32_t i = total_; i > count_; --i) spares_.push_back(static_cast<uint16_t>(i - 1));
  buffers_ = static_cast<char*>(MapAnonymous(buffers_bytes_));
  if (buffers_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot map ", buffers_bytes_, " bytes for buffer group ", group_id_));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BufferRing>> BufferRing::Create(Ring& ring, uint16_t group_id,
                                                               uint32_t count, uint32_t size,
                                                               uint32_t spares) {
  if (absl::Status ok = CheckGeometry(count, size, spares); !ok.ok()) return ok;
  std::unique_ptr<BufferRing> br(new BufferRing(&ring, group_id, count, size, spares));
  if (absl::Status mapped = br->Map(); !mapped.ok()) return mapped;
  br->entries_bytes_ = sizeof(io_uring_buf) * count;
  br->entries_ = static_cast<io_uring_buf_ring*>(MapAnonymous(br->entries_bytes_));
  if (br->entries_ == nullptr) return absl::ResourceExhaustedError("cannot map a buffer ring");
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br->entries_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  int ret = io_uring_register_buf_ring(ring.raw(), &reg, 0);
  if (ret < 0) {
    return absl::ErrnoToStatus(
        -ret, absl::StrCat("io_uring_register_buf_ring (group ", group_id, ") failed"));
  }
  br->registered_ = true;
  io_uring_buf_ring_init(br->entries_);
  const int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(br->entries_, br->Data(static_cast<uint16_t>(i)), size,
                          static_cast<uint16_t>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(br->entries_, static_cast<int>(count));
  br->in_ring_ = count;
  return br;
}

absl::StatusOr<std::unique_ptr<BufferRing>> BufferRing::CreateUserSpace(uint16_t group_id,
                                                                        uint32_t count,
                                                                        uint32_t size,
                                                                        uint32_t spares) {
  if (absl::Status ok = CheckGeometry(count, size, spares); !ok.ok()) return ok;
  std::unique_ptr<BufferRing> br(new BufferRing(nullptr, group_id, count, size, spares));
  if (absl::Status mapped = br->Map(); !mapped.ok()) return mapped;
  br->free_.reserve(count);
  // Lowest ids on top: reused first, so few pages of the pool ever become resident.
  for (uint32_t i = count; i > 0; --i) br->free_.push_back(static_cast<uint16_t>(i - 1));
  return br;
}

BufferRing::~BufferRing() {
  if (registered_) io_uring_unregister_buf_ring(ring_->raw(), group_id_);
  if (entries_ != nullptr) munmap(entries_, entries_bytes_);
  if (buffers_ != nullptr) munmap(buffers_, buffers_bytes_);
}

int32_t BufferRing::Select() {
  if (free_.empty()) return -1;
  const uint16_t id = free_.back();
  free_.pop_back();
  return id;
}

void BufferRing::Provide(uint16_t id) {
  if (ring_ == nullptr) {
    free_.push_back(id);
    return;
  }
  // The ring has room: the kernel holds at most in_ring_ < count_ entries (it may have taken
  // more than the CQEs reaped so far tell, never fewer).
  io_uring_buf_ring_add(entries_, Data(id), size_, id, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(entries_, 1);
  ++in_ring_;
}

void BufferRing::Recycle(uint16_t id) {
  --outstanding_;
  holds_[id] = 0;
  if (Available() < count_) {
    Provide(id);
  } else {
    spares_.push_back(id);
  }
}

void BufferRing::Hold(uint16_t id) {
  ++holds_made_;
  if (++holds_[id] == 2 && !spares_.empty() && Available() < count_) {
    // First lent: a spare takes its place where receives pick from.
    const uint16_t spare = spares_.back();
    spares_.pop_back();
    Provide(spare);
  }
}

void BufferRing::Wait(Waiter* waiter) {
  ++exhaustions_;
  if (IsWaiting(waiter)) return;
  waiter->prev_ = waiters_tail_;
  waiter->next_ = nullptr;
  if (waiters_tail_ != nullptr) {
    waiters_tail_->next_ = waiter;
  } else {
    waiters_head_ = waiter;
  }
  waiters_tail_ = waiter;
  ++waiters_;
}

void BufferRing::CancelWait(Waiter* waiter) {
  if (!IsWaiting(waiter)) return;
  (waiter->prev_ != nullptr ? waiter->prev_->next_ : waiters_head_) = waiter->next_;
  (waiter->next_ != nullptr ? waiter->next_->prev_ : waiters_tail_) = waiter->prev_;
  waiter->prev_ = nullptr;
  waiter->next_ = nullptr;
  --waiters_;
}

size_t BufferRing::WakeWaiters() {
  if (waiters_head_ == nullptr || Available() == 0) return 0;
  // Receives that found the ring empty since the last wake: too many woken (or still armed)
  // for the buffers there are. None: room for more.
  if (exhaustions_ != exhaustions_at_wake_) {
    wake_limit_ = std::max<uint32_t>(wake_limit_ / 2, 1);
  } else {
    wake_limit_ = std::min<uint32_t>(wake_limit_ * 2, count_);
  }
  exhaustions_at_wake_ = exhaustions_;
  // Only those waiting now: one that waits again at once queues last and keeps until next time.
  const size_t wake = std::min<size_t>(waiters_, wake_limit_);
  size_t woken = 0;
  while (woken < wake && waiters_head_ != nullptr) {
    Waiter* waiter = waiters_head_;
    CancelWait(waiter);
    ++woken;
    waiter->OnBuffersFree();
  }
  return woken;
}

}  // namespace ringnet::runtime
