// Ring: RAII owner of one io_uring instance.
//
// `Ring::Create` sets the ring up in the best mode the kernel offers and probes which opcodes it
// supports. The modes, tried in this order:
//
//   kDeferTaskrun  SINGLE_ISSUER | DEFER_TASKRUN: completions are produced only when the owning
//                  thread enters the kernel, so they arrive in batches and never interrupt it.
//   kCoopTaskrun   COOP_TASKRUN | TASKRUN_FLAG: no inter-processor interrupt per completion.
//   kPlain         what every io_uring kernel accepts.
//
// A setup failure is returned as an absl::Status that names the cause (no io_uring in the kernel,
// blocked by seccomp or `kernel.io_uring_disabled`, RLIMIT_MEMLOCK), never an abort.
//
// The ring is submitted to by one thread: call `BindToCurrentThread()` on it before the first
// submission. Submission goes through `SubmitAndWait`, which issues exactly one `io_uring_enter`
// (counted) for everything prepared since the last call.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<Ring>> ring = Ring::Create({});
//   if (!ring.ok()) return ring.status();  // e.g. PermissionDenied under Docker's seccomp profile
//   absl::Status bound = (*ring)->BindToCurrentThread();  // on the submitting thread
//
// Not thread-safe: a Ring belongs to one event loop.
#ifndef RINGNET_RUNTIME_RING_H_
#define RINGNET_RUNTIME_RING_H_

#include <liburing.h>

#include <bitset>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ringnet/runtime/ring_options.h"

namespace ringnet::runtime {

class Ring {
 public:
  // `user_data` of requests the ring issues for itself; their CQEs belong to no Operation.
  static constexpr uint64_t kInternalUserData = LIBURING_UDATA_TIMEOUT;

  // Sets up a ring. Errors: Unimplemented (ENOSYS, kernel without io_uring), PermissionDenied
  // (EPERM, seccomp or kernel.io_uring_disabled), ResourceExhausted (ENOMEM, RLIMIT_MEMLOCK on
  // kernels before 5.12), or the errno's own code. Thread-safe.
  static absl::StatusOr<std::unique_ptr<Ring>> Create(const RingOptions& options);

  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();

  // Makes the calling thread the ring's submitter: enables a SINGLE_ISSUER ring created disabled,
  // and registers the ring fd for this thread. Call once, on the thread that will submit.
  absl::Status BindToCurrentThread();

  // Returns a free SQE. When the SQ is full, submits what it holds (one counted enter) and retries,
  // so a prepared request is never dropped. Returns nullptr only if the kernel refuses to take
  // any SQE (reported with errno in `last_error()`).
  io_uring_sqe* GetSqe();

  // Submits every prepared SQE and waits for at least `wait_nr` completions or until `timeout`
  // (nullptr: no limit) in one io_uring_enter. Skips the system call when there is nothing to
  // submit, nothing to wait for and no kernel work pending. Returns the number of SQEs the kernel
  // consumed, or a negative errno (-ETIME on timeout, -EINTR, -EBUSY).
  int SubmitAndWait(unsigned wait_nr, const __kernel_timespec* timeout);

  // Number of SQEs prepared but not yet submitted.
  unsigned PendingSqes() const { return ring_.sq.sqe_tail - ring_.sq.sqe_head; }

  // Fills `cqes` with up to `max` ready completions without consuming them; `Advance(n)` then
  // consumes the first n in one store.
  unsigned PeekBatch(io_uring_cqe** cqes, unsigned max) {
    return io_uring_peek_batch_cqe(&ring_, cqes, max);
  }
  void Advance(unsigned n) { io_uring_cq_advance(&ring_, n); }
  // Whether completions are waiting in the CQ.
  bool HasCompletions() const { return io_uring_cq_ready(&ring_) > 0; }

  // Completions the kernel dropped because the CQ was full (only on kernels without NODROP).
  uint32_t DroppedCompletions() const;

  // Whether the kernel supports `opcode` (IORING_OP_*).
  bool SupportsOp(int opcode) const { return opcode >= 0 && opcode < 256 && ops_.test(opcode); }
  // IORING_FEAT_* bits the kernel reported.
  uint32_t features() const { return features_; }
  RingMode mode() const { return mode_; }
  uint32_t sq_entries() const { return ring_.sq.ring_entries; }
  uint32_t cq_entries() const { return ring_.cq.ring_entries; }

  // io_uring_enter calls made so far, and SQEs the kernel consumed.
  uint64_t enter_calls() const { return enter_calls_; }
  uint64_t sqes_submitted() const { return sqes_submitted_; }
  // Times a full SQ had to be flushed early.
  uint64_t sq_full_flushes() const { return sq_full_flushes_; }
  int last_error() const { return last_error_; }

  // The liburing handle, for runtime internals (buffer ring registration).
  io_uring* raw() { return &ring_; }

 private:
  Ring() = default;
  absl::Status Probe();
  unsigned FlushSq();

  io_uring ring_{};
  bool initialized_ = false;
  RingMode mode_ = RingMode::kPlain;
  bool needs_enable_ = false;
  bool registered_fd_ = false;
  uint32_t features_ = 0;
  std::bitset<256> ops_;
  uint64_t enter_calls_ = 0;
  uint64_t sqes_submitted_ = 0;
  uint64_t sq_full_flushes_ = 0;
  int last_error_ = 0;
};

// Converts a setup errno into the Status described at Ring::Create.
absl::Status RingSetupError(int error);

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_RING_H_
