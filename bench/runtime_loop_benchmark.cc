// Runtime costs, each next to a baseline measured in the same run:
//
//   BM_SubmitReap/B   cost per NOP of preparing B NOPs, one io_uring_enter, reaping B CQEs.
//                     The baseline is B=1; the ratio batch-1 / batch-256 is what batching buys.
//   BM_PostWakeup     round trip of EventLoop::Post to a sleeping loop thread and back.
//   BM_EventfdWakeup  the same round trip to a thread blocked in read(eventfd): the floor.
//
//   bazel run -c opt //bench:runtime_loop
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "benchmark/benchmark.h"
#include "ringnet/bench/collecting_reporter.h"
#include "ringnet/runtime/event_loop.h"
#include "ringnet/runtime/ring.h"

namespace ringnet::runtime {
namespace {

void BM_SubmitReap(benchmark::State& state) {
  const unsigned batch = static_cast<unsigned>(state.range(0));
  RingOptions options;
  options.sq_entries = 512;
  absl::StatusOr<std::unique_ptr<Ring>> created = Ring::Create(options);
  if (!created.ok() || !(*created)->BindToCurrentThread().ok()) {
    state.SkipWithError("io_uring unavailable");
    return;
  }
  Ring& ring = **created;
  io_uring_cqe* cqes[512];
  for (auto _ : state) {
    for (unsigned i = 0; i < batch; ++i) io_uring_prep_nop(ring.GetSqe());
    ring.SubmitAndWait(batch, nullptr);
    unsigned reaped = 0;
    while (reaped < batch) {
      unsigned n = ring.PeekBatch(cqes, 512);
      if (n == 0) {
        ring.SubmitAndWait(batch - reaped, nullptr);
        continue;
      }
      ring.Advance(n);
      reaped += n;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * batch);
  state.counters["enters_per_op"] = benchmark::Counter(
      static_cast<double>(ring.enter_calls()) / (static_cast<double>(state.iterations()) * batch));
}
BENCHMARK(BM_SubmitReap)->Arg(1)->Arg(8)->Arg(32)->Arg(256);

void BM_PostWakeup(benchmark::State& state) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) {
    state.SkipWithError("io_uring unavailable");
    return;
  }
  std::thread thread([&] { (void)(*loop)->Run(); });
  std::atomic<bool> done{false};
  for (auto _ : state) {
    done.store(false, std::memory_order_relaxed);
    (*loop)->Post([&] { done.store(true, std::memory_order_release); });
    while (!done.load(std::memory_order_acquire)) {
    }
  }
  (*loop)->Stop();
  thread.join();
  const LoopCounters c = (*loop)->counters();
  state.counters["loop_iterations_per_post"] =
      benchmark::Counter(static_cast<double>(c.iterations) / state.iterations());
  state.counters["enters_per_post"] =
      benchmark::Counter(static_cast<double>(c.enter_calls) / state.iterations());
}
BENCHMARK(BM_PostWakeup)->UseRealTime();

void BM_EventfdWakeup(benchmark::State& state) {
  // The floor under Post: wake a thread blocked in read(eventfd) and see its store, with no loop.
  int fd = eventfd(0, EFD_CLOEXEC);
  std::atomic<bool> done{false};
  std::atomic<bool> stop{false};
  std::thread thread([&] {
    uint64_t v;
    while (read(fd, &v, sizeof(v)) == sizeof(v) && !stop.load(std::memory_order_relaxed)) {
      done.store(true, std::memory_order_release);
    }
  });
  const uint64_t one = 1;
  for (auto _ : state) {
    done.store(false, std::memory_order_relaxed);
    (void)!write(fd, &one, sizeof(one));
    while (!done.load(std::memory_order_acquire)) {
    }
  }
  stop.store(true);
  (void)!write(fd, &one, sizeof(one));
  thread.join();
  close(fd);
}
BENCHMARK(BM_EventfdWakeup)->UseRealTime();

// The same-run ratios.
void PrintRatios(const bench::CollectingReporter& reporter) {
  const double b1 = reporter.NsPerIteration("BM_SubmitReap/1");
  const double b256 = reporter.NsPerIteration("BM_SubmitReap/256") / 256;
  if (b1 > 0 && b256 > 0) {
    std::printf(
        "\nsubmit+reap cost per op: batch 1 = %.1f ns, batch 256 = %.1f ns, "
        "ratio batch-1/batch-256 = %.1fx\n",
        b1, b256, b1 / b256);
  }
  const double post = reporter.NsPerIteration("BM_PostWakeup/real_time");
  const double floor = reporter.NsPerIteration("BM_EventfdWakeup/real_time");
  if (post > 0 && floor > 0) {
    std::printf(
        "Post wakeup round trip = %.2f us, bare eventfd wakeup = %.2f us, "
        "ratio = %.2fx\n",
        post / 1000, floor / 1000, post / floor);
  }
}

}  // namespace
}  // namespace ringnet::runtime

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  ringnet::bench::CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  ringnet::runtime::PrintRatios(reporter);
  benchmark::Shutdown();
  return 0;
}
