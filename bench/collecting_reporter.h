// CollectingReporter: Google Benchmark's console table, plus every run's figures kept by name,
// so a bench can print same-run ratios against its baseline once all runs are done.
//
// Example:
//
//   CollectingReporter reporter;
//   benchmark::RunSpecifiedBenchmarks(&reporter);
//   double batch1 = reporter.NsPerIteration("BM_SubmitReap/1");
//   double gbps = reporter.Counter("BM_Decode/1024", "bytes_per_second") / 1e9;
#ifndef RINGNET_BENCH_COLLECTING_REPORTER_H_
#define RINGNET_BENCH_COLLECTING_REPORTER_H_

#include <map>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"

namespace ringnet::bench {

class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      Figures& f = figures_[run.benchmark_name()];
      f.ns_per_iteration = run.GetAdjustedRealTime() *
                           benchmark::GetTimeUnitMultiplier(run.time_unit) /
                           benchmark::GetTimeUnitMultiplier(benchmark::kNanosecond);
      for (const auto& [name, counter] : run.counters) f.counters[name] = counter.value;
    }
  }

  // Real time per iteration of run `name` in nanoseconds; 0 if it did not run.
  double NsPerIteration(const std::string& name) const {
    auto it = figures_.find(name);
    return it == figures_.end() ? 0.0 : it->second.ns_per_iteration;
  }

  // Counter `counter` of run `name` (rates already per second); 0 if absent.
  double Counter(const std::string& name, const std::string& counter) const {
    auto it = figures_.find(name);
    if (it == figures_.end()) return 0.0;
    auto c = it->second.counters.find(counter);
    return c == it->second.counters.end() ? 0.0 : c->second;
  }

 private:
  struct Figures {
    double ns_per_iteration = 0;
    std::map<std::string, double> counters;
  };
  std::map<std::string, Figures> figures_;
};

}  // namespace ringnet::bench

#endif  // RINGNET_BENCH_COLLECTING_REPORTER_H_
