// RingOptions and RingMode: how an io_uring is to be set up, without liburing.
//
// Split from ring.h so that the public event_loop.h (whose options carry a RingOptions) does not
// pull liburing into every user of the loop. ring.h includes this header.
//
// Example:
//
//   RingOptions options;
//   options.best_mode = RingMode::kCoopTaskrun;  // skip DEFER_TASKRUN
//   std::puts(std::string(RingModeName(options.best_mode)).c_str());  // "coop_taskrun"
#ifndef RINGNET_RUNTIME_RING_OPTIONS_H_
#define RINGNET_RUNTIME_RING_OPTIONS_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace ringnet::runtime {

// How the ring was set up; see ring.h's file comment.
enum class RingMode { kDeferTaskrun, kCoopTaskrun, kPlain };

// Returns "defer_taskrun", "coop_taskrun" or "plain".
absl::string_view RingModeName(RingMode mode);

struct RingOptions {
  // Submission queue size (rounded up to a power of two by the kernel).
  uint32_t sq_entries = 1024;
  // Completion queue size; at least 4x `sq_entries`, because multishot requests post many CQEs.
  uint32_t cq_entries = 0;
  // The best mode to try; the ring falls back from there. Tests use it to cover each mode.
  RingMode best_mode = RingMode::kDeferTaskrun;
};

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_RING_OPTIONS_H_
