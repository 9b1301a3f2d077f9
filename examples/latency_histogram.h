// LatencyHistogram: log-linear buckets (32 per power of two, about 3% resolution) for latency
// figures without storing every sample. Not thread-safe: one per thread, merged at the end.
#ifndef RINGNET_EXAMPLES_LATENCY_HISTOGRAM_H_
#define RINGNET_EXAMPLES_LATENCY_HISTOGRAM_H_

#include <array>
#include <bit>
#include <cstdint>

namespace ringnet::examples {

class LatencyHistogram {
 public:
  void Add(int64_t ns) {
    ++buckets_[Index(ns < 0 ? 0 : static_cast<uint64_t>(ns))];
    ++count_;
  }
  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
    count_ += other.count_;
  }
  uint64_t count() const { return count_; }

  // The value (ns) at quantile q in [0, 1]: the upper bound of the bucket holding it.
  double Quantile(double q) const {
    if (count_ == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return static_cast<double>(UpperBound(i));
    }
    return static_cast<double>(UpperBound(buckets_.size() - 1));
  }

 private:
  static constexpr size_t kSub = 32;  // buckets per power of two

  static size_t Index(uint64_t v) {
    if (v < 2 * kSub) return static_cast<size_t>(v);
    const int shift =
        static_cast<int>(std::bit_width(v)) - 6;  // keeps 6 significant bits: [32, 64)
    return (static_cast<size_t>(shift) + 1) * kSub + static_cast<size_t>(v >> shift) - kSub;
  }
  static uint64_t UpperBound(size_t index) {
    if (index < 2 * kSub) return index;
    const size_t shift = index / kSub - 1;
    const uint64_t mantissa = index % kSub + kSub;
    return ((mantissa + 1) << shift) - 1;
  }

  std::array<uint64_t, 64 * kSub> buckets_{};
  uint64_t count_ = 0;
};

}  // namespace ringnet::examples

#endif  // RINGNET_EXAMPLES_LATENCY_HISTOGRAM_H_
