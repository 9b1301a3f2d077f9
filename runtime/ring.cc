#include "ringnet/runtime/ring.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"

namespace ringnet::runtime {
namespace {

constexpr unsigned kCqMultiplier = 4;

unsigned SetupFlags(RingMode mode) {
  // SUBMIT_ALL: a bad SQE gets its own error CQE instead of stopping the rest of the batch.
  unsigned flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  switch (mode) {
    case RingMode::kDeferTaskrun:
      // Disabled until the loop thread enables it: SINGLE_ISSUER binds the ring to the enabling
      // thread, so a ring may be created on one thread and run on another.
      return flags | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
             IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_R_DISABLED;
    case RingMode::kCoopTaskrun:
      return flags | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    case RingMode::kPlain:
      return IORING_SETUP_CQSIZE;
  }
  return IORING_SETUP_CQSIZE;
}

RingMode Fallback(RingMode mode) {
  return mode == RingMode::kDeferTaskrun ? RingMode::kCoopTaskrun : RingMode::kPlain;
}

}  // namespace

absl::Status RingSetupError(int error) {
  switch (error) {
    case ENOSYS:
      return absl::UnimplementedError(
          "io_uring_setup failed with ENOSYS: this kernel has no io_uring support");
    case EPERM:
      return absl::PermissionDeniedError(
          "io_uring_setup failed with EPERM: io_uring is blocked by a seccomp filter (e.g. "
          "Docker's default profile) or by the kernel.io_uring_disabled sysctl");
    case ENOMEM:
      return absl::ResourceExhaustedError(
          "io_uring_setup failed with ENOMEM: the rings do not fit in RLIMIT_MEMLOCK (kernels "
          "before 5.12 charge them there; raise `ulimit -l`) or memory is exhausted");
    default:
      return absl::ErrnoToStatus(error, "io_uring_setup failed");
  }
}

absl::StatusOr<std::unique_ptr<Ring>> Ring::Create(const RingOptions& options) {
  std::unique_ptr<Ring> ring(new Ring());
  const unsigned sq = std::max<uint32_t>(options.sq_entries, 2);
  const unsigned cq = std::max<uint32_t>(options.cq_entries, sq * kCqMultiplier);
  RingMode mode = options.best_mode;
  while (true) {
    io_uring_params params{};
    params.flags = SetupFlags(mode);
    params.cq_entries = cq;
    int ret = io_uring_queue_init_params(sq, &ring->ring_, &params);
    if (ret == 0) {
      ring->initialized_ = true;
      ring->mode_ = mode;
      ring->needs_enable_ = (params.flags & IORING_SETUP_R_DISABLED) != 0;
      ring->features_ = params.features;
      break;
    }
    // EINVAL: the kernel does not know a flag; try a plainer mode. Anything else is final.
    if (ret != -EINVAL || mode == RingMode::kPlain) return RingSetupError(-ret);
    mode = Fallback(mode);
  }
  if (absl::Status probed = ring->Probe(); !probed.ok()) return probed;
  return ring;
}

Ring::~Ring() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

absl::Status Ring::Probe() {
  io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
  if (probe == nullptr) {
    return absl::InternalError("io_uring probe failed (IORING_REGISTER_PROBE, kernel < 5.6?)");
  }
  for (int op = 0; op < 256; ++op) {
    if (io_uring_opcode_supported(probe, op)) ops_.set(op);
  }
  io_uring_free_probe(probe);
  return absl::OkStatus();
}

absl::Status Ring::BindToCurrentThread() {
  if (needs_enable_) {
    // Debian's liburing.so 2.3 does not export io_uring_enable_rings; the register call is simple.
    if (syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) <
        0) {
      return absl::ErrnoToStatus(errno, "IORING_REGISTER_ENABLE_RINGS failed");
    }
    needs_enable_ = false;
  }
  // A registered ring fd saves a file-table lookup on every enter; it is per thread. Failing to
  // register only costs that lookup.
  if (!registered_fd_ && io_uring_register_ring_fd(&ring_) == 1) registered_fd_ = true;
  return absl::OkStatus();
}

io_uring_sqe* Ring::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  for (int attempt = 0; sqe == nullptr && attempt < 3; ++attempt) {
    ++sq_full_flushes_;
    int ret = SubmitAndWait(0, nullptr);
    if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN) {
      last_error_ = -ret;
      return nullptr;
    }
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

unsigned Ring::FlushSq() {
  io_uring_sq& sq = ring_.sq;
  const unsigned tail = sq.sqe_tail;
  if (sq.sqe_head != tail) {
    sq.sqe_head = tail;
    // The kernel reads the tail when we enter; the release orders the SQE contents before it.
    std::atomic_ref<unsigned>(*sq.ktail).store(tail, std::memory_order_release);
  }
  return tail - std::atomic_ref<unsigned>(*sq.khead).load(std::memory_order_acquire);
}

int Ring::SubmitAndWait(unsigned wait_nr, const __kernel_timespec* timeout) {
  const unsigned to_submit = FlushSq();
  const unsigned sq_flags =
      std::atomic_ref<unsigned>(*ring_.sq.kflags).load(std::memory_order_relaxed);
  const bool kernel_work = (sq_flags & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)) != 0;
  // COOP/plain rings post completions without an enter; DEFER_TASKRUN ones need one, which the
  // TASKRUN flag announces.
  if (to_submit == 0 && wait_nr == 0 && !kernel_work) return 0;

  unsigned flags = IORING_ENTER_GETEVENTS;
  const int fd = registered_fd_ ? ring_.enter_ring_fd : ring_.ring_fd;
  if (registered_fd_) flags |= IORING_ENTER_REGISTERED_RING;
  int ret;
  if (timeout != nullptr && (features_ & IORING_FEAT_EXT_ARG) != 0) {
    io_uring_getevents_arg arg{};
    arg.sigmask_sz = _NSIG / 8;
    arg.ts = reinterpret_cast<uint64_t>(timeout);
    ret = io_uring_enter2(fd, to_submit, wait_nr, flags | IORING_ENTER_EXT_ARG,
                          reinterpret_cast<sigset_t*>(&arg), sizeof(arg));
  } else {
    unsigned submit = to_submit;
    if (timeout != nullptr) {
      // Kernels before 5.11 cannot bound the wait in the enter itself: a timeout request does it.
      // Its CQE carries kInternalUserData and is skipped by the loop.
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe != nullptr) {
        io_uring_prep_timeout(sqe, const_cast<__kernel_timespec*>(timeout), 1, 0);
        io_uring_sqe_set_data64(sqe, kInternalUserData);
        submit = FlushSq();
      }
    }
    ret = io_uring_enter(fd, submit, wait_nr, flags, nullptr);
  }
  ++enter_calls_;
  if (ret > 0) sqes_submitted_ += static_cast<unsigned>(ret);
  return ret;
}

uint32_t Ring::DroppedCompletions() const {
  return std::atomic_ref<unsigned>(*ring_.cq.koverflow).load(std::memory_order_relaxed);
}

}  // namespace ringnet::runtime
