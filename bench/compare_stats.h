// Small statistics for //bench:compare: medians with their spread over rounds, ratios between two
// such figures, and whether a difference is established (the rounds' ranges do not overlap).
#ifndef RINGNET_BENCH_COMPARE_STATS_H_
#define RINGNET_BENCH_COMPARE_STATS_H_

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"

namespace ringnet::bench {

// The median and range of one figure over the rounds.
struct Spread {
  double median = 0;
  double min = 0;
  double max = 0;
  int n = 0;

  static Spread Of(std::vector<double> v) {
    Spread s;
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    s.n = static_cast<int>(v.size());
    s.min = v.front();
    s.max = v.back();
    s.median = v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    return s;
  }
  bool valid() const { return n > 0; }
  // Whether the two ranges share no value.
  bool Separated(const Spread& other) const { return max < other.min || other.max < min; }
};

// a / b: the ratio of medians and the range it can take given both spreads.
struct Ratio {
  double median = 0;
  double low = 0;            // a.min / b.max
  double high = 0;           // a.max / b.min
  bool established = false;  // the ranges of a and b do not overlap

  static Ratio Of(const Spread& a, const Spread& b) {
    Ratio r;
    if (!a.valid() || !b.valid() || b.median <= 0 || b.min <= 0 || b.max <= 0) return r;
    r.median = a.median / b.median;
    r.low = a.min / b.max;
    r.high = a.max / b.min;
    r.established = a.Separated(b);
    return r;
  }

  // "1.23x (1.10-1.35)" plus ", not established" when the ranges overlap.
  std::string Format() const {
    return absl::StrFormat("%.2fx (%.2f-%.2f%s)", median, low, high,
                           established ? "" : ", not established");
  }
};

// a[i] / b[i] for the rounds where both ran: the servers take turns within a round, so a slow
// phase of the machine hits both sides of a round's ratio alike.
inline Spread PairedRatios(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] > 0 && b[i] > 0) r.push_back(a[i] / b[i]);
  }
  return Spread::Of(r);
}

// Verdict on "a / b >= target" (at_least) or "a / b <= target". Met when even the least favourable
// ratio the two ranges allow meets it; missed when even the most favourable one misses. Otherwise
// the per-round (paired) ratios decide when they all fall on one side ("in every round"); else it
// is not established, and the median says which way it leans.
inline std::string Verdict(const Ratio& r, const Spread& paired, double target, bool at_least) {
  auto meets = [&](double v) { return at_least ? v >= target : v <= target; };
  if (meets(at_least ? r.low : r.high)) return "**met**";
  if (!meets(at_least ? r.high : r.low)) return "**missed**";
  if (paired.valid()) {
    if (meets(at_least ? paired.min : paired.max)) return "**met** in every round (ranges overlap)";
    if (!meets(at_least ? paired.max : paired.min)) {
      return "**missed** in every round (ranges overlap)";
    }
  }
  return meets(r.median) ? "not established (met at the median)"
                         : "not established (missed at the median)";
}

}  // namespace ringnet::bench

#endif  // RINGNET_BENCH_COMPARE_STATS_H_
