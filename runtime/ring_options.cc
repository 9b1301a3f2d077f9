// RingModeName, the one function of ring_options.h.
#include "ringnet/runtime/ring_options.h"

namespace ringnet::runtime {

absl::string_view RingModeName(RingMode mode) {
  switch (mode) {
    case RingMode::kDeferTaskrun:
      return "defer_taskrun";
    case RingMode::kCoopTaskrun:
      return "coop_taskrun";
    case RingMode::kPlain:
      return "plain";
  }
  return "unknown";
}

}  // namespace ringnet::runtime
