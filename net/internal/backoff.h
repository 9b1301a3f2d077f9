// Backoff: the reconnect schedule clients share: an initial delay doubled per consecutive
// failure, capped, with +-20% jitter so clients restarted together do not retry together.
//
// Not thread-safe: one per connection slot.
#ifndef RINGNET_NET_INTERNAL_BACKOFF_H_
#define RINGNET_NET_INTERNAL_BACKOFF_H_

#include <algorithm>
#include <random>

#include "absl/time/time.h"

namespace ringnet::net::internal {

class Backoff {
 public:
  // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): named as the options name them.
  Backoff(absl::Duration initial, absl::Duration max) : initial_(initial), max_(max) {}

  // Records a failed attempt; returns how many failed in a row.
  int Failed() { return ++failures_; }
  // A connection succeeded: the next delay starts from `initial` again.
  void Succeeded() { failures_ = 0; }
  int failures() const { return failures_; }

  // The delay before the next attempt.
  absl::Duration NextDelay() {
    const int exponent = std::min(failures_ > 0 ? failures_ - 1 : 0, 30);
    absl::Duration delay = std::min(initial_ * (int64_t{1} << exponent), max_);
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    return delay * jitter(rng_);
  }

 private:
  const absl::Duration initial_;
  const absl::Duration max_;
  int failures_ = 0;
  std::minstd_rand rng_{std::random_device{}()};
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_BACKOFF_H_
