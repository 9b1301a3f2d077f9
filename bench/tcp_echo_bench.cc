// //bench:tcp_echo: ringnet's TCP echo server against a plain epoll echo server (the baseline),
// with the same load client, in the same run.
//
//   bazel run -c opt //bench:tcp_echo -- [--duration=1] [--rounds=3]
//
// Each server runs as a child process pinned to CPU 0; the client runs here, pinned to CPU 1.
// For every cell (message size x connections x depth) the servers take turns, round after round,
// and the table shows medians: messages/s, the server's CPU microseconds per message (its CPU
// time over the measured window; the robust figure when the client is the bottleneck), and
// io_uring_enter calls (ringnet) or system calls (epoll) per message. Ratios are ringnet/epoll
// for messages/s and epoll/ringnet for CPU, so > 1 always means ringnet is better.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "ringnet/bench/server_process.h"
#include "ringnet/examples/load_client.h"

ABSL_FLAG(double, duration, 1.0, "measured seconds per run");
ABSL_FLAG(double, warmup, 0.3, "warm-up seconds per run");
ABSL_FLAG(int, rounds, 3, "rounds (servers interleaved in each)");
ABSL_FLAG(std::string, sizes, "64,4096", "message sizes");
ABSL_FLAG(std::string, connections, "1,64", "connection counts");
ABSL_FLAG(std::string, depths, "1,16", "messages in flight per connection");
ABSL_FLAG(int, server_cpu, 0, "CPU for the servers (-1: no pinning)");
ABSL_FLAG(int, client_cpu, 1, "CPU for the client (-1: no pinning)");
ABSL_FLAG(std::string, ringnet_server, "examples/echo_server", "ringnet echo server binary");
ABSL_FLAG(std::string, epoll_server, "bench/epoll_echo_server", "epoll baseline binary");

namespace ringnet::bench {
namespace {

struct Sample {
  double msgs_per_sec = 0;
  double cpu_us_per_msg = 0;
  double calls_per_msg = 0;  // io_uring_enter (ringnet) or syscalls (epoll) per message
  double p50_us = 0;
  uint64_t errors = 0;
};

std::vector<int> ParseList(const std::string& text) {
  std::vector<int> out;
  for (absl::string_view s : absl::StrSplit(text, ',')) {
    int v;
    if (absl::SimpleAtoi(s, &v)) out.push_back(v);
  }
  return out;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

absl::StatusOr<Sample> RunOnce(bool ringnet, int size, int connections, int depth) {
  std::vector<std::string> argv;
  if (ringnet) {
    argv = {RunfilePath(absl::GetFlag(FLAGS_ringnet_server)), "--proto=tcp", "--listen=127.0.0.1:0",
            "--loops=1", "--stats"};
  } else {
    argv = {RunfilePath(absl::GetFlag(FLAGS_epoll_server)), "--listen=127.0.0.1:0", "--stats"};
  }
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(argv, absl::GetFlag(FLAGS_server_cpu));
  if (!server.ok()) return server.status();
  examples::LoadOptions load;
  load.server = (*server)->address();
  load.connections = connections;
  load.size = static_cast<size_t>(size);
  load.depth = depth;
  load.duration = absl::Seconds(absl::GetFlag(FLAGS_duration));
  load.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup));
  int64_t cpu_start = 0, cpu_end = 0;
  load.on_window_start = [&] { cpu_start = (*server)->CpuNs(); };
  load.on_window_end = [&] { cpu_end = (*server)->CpuNs(); };
  absl::StatusOr<examples::LoadResult> result = examples::RunLoad(load);
  std::map<std::string, uint64_t> stats = (*server)->Stop();
  if (!result.ok()) return result.status();
  Sample s;
  s.msgs_per_sec = result->messages_per_second();
  s.cpu_us_per_msg = result->messages > 0
                         ? (cpu_end - cpu_start) / 1e3 / static_cast<double>(result->messages)
                         : 0;
  const uint64_t calls = ringnet ? stats["enters"] : stats["syscalls"];
  s.calls_per_msg =
      result->total_messages > 0 ? static_cast<double>(calls) / result->total_messages : 0;
  s.p50_us = result->p50_us;
  s.errors = result->errors;
  return s;
}

int Main() {
  PinThisThread(absl::GetFlag(FLAGS_client_cpu));
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  struct Cell {
    int size, connections, depth;
    std::vector<Sample> ringnet, epoll;
  };
  std::vector<Cell> cells;
  for (int size : ParseList(absl::GetFlag(FLAGS_sizes))) {
    for (int conns : ParseList(absl::GetFlag(FLAGS_connections))) {
      for (int depth : ParseList(absl::GetFlag(FLAGS_depths)))
        cells.push_back({size, conns, depth, {}, {}});
    }
  }
  for (int round = 0; round < rounds; ++round) {
    for (Cell& cell : cells) {
      for (bool ringnet : {true, false}) {
        absl::StatusOr<Sample> s = RunOnce(ringnet, cell.size, cell.connections, cell.depth);
        if (!s.ok()) {
          std::fprintf(stderr, "run failed: %s\n", s.status().ToString().c_str());
          return 1;
        }
        (ringnet ? cell.ringnet : cell.epoll).push_back(*s);
        std::fprintf(stderr, ".");
      }
    }
  }
  std::fprintf(stderr, "\n");
  std::printf("TCP echo, ringnet (1 loop) vs epoll baseline; medians of %d rounds of %.1f s\n\n",
              rounds, absl::GetFlag(FLAGS_duration));
  std::printf(
      "| size | conns | depth | ringnet msg/s | epoll msg/s | ratio | ringnet CPU us/msg | "
      "epoll CPU us/msg | CPU ratio | ringnet enters/msg | epoll syscalls/msg |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  uint64_t errors = 0;
  for (const Cell& c : cells) {
    auto median = [](const std::vector<Sample>& v, double Sample::*field) {
      std::vector<double> x;
      for (const Sample& s : v) x.push_back(s.*field);
      return Median(x);
    };
    for (const Sample& s : c.ringnet) errors += s.errors;
    for (const Sample& s : c.epoll) errors += s.errors;
    const double rm = median(c.ringnet, &Sample::msgs_per_sec);
    const double em = median(c.epoll, &Sample::msgs_per_sec);
    const double rc = median(c.ringnet, &Sample::cpu_us_per_msg);
    const double ec = median(c.epoll, &Sample::cpu_us_per_msg);
    std::printf("| %d | %d | %d | %.0f | %.0f | %.2fx | %.3f | %.3f | %.2fx | %.4f | %.3f |\n",
                c.size, c.connections, c.depth, rm, em, em > 0 ? rm / em : 0, rc, ec,
                rc > 0 ? ec / rc : 0, median(c.ringnet, &Sample::calls_per_msg),
                median(c.epoll, &Sample::calls_per_msg));
  }
  std::printf("\nverification errors: %llu\n", static_cast<unsigned long long>(errors));
  return errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace ringnet::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return ringnet::bench::Main();
}
