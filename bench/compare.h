// //bench:compare: ringnet's echo server side by side with an epoll baseline, Boost.Asio (epoll and
// io_uring builds), Go's net package and a hand-written liburing ceiling. See bench/README.md.
//
// This header holds what the measuring passes (compare.cc) hand to the report (compare_report.cc).
#ifndef RINGNET_BENCH_COMPARE_H_
#define RINGNET_BENCH_COMPARE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ringnet/bench/compare_stats.h"

namespace ringnet::bench {

// One echo server of the comparison.
struct Peer {
  // "ringnet", "ringnet-epoll", "ringnet-busypoll", "epoll", "asio-epoll", "asio-uring", "go",
  // "liburing"
  std::string name;
  std::string path;  // its binary
  // The key of its "stats" line counting system calls ("enters": io_uring_enter calls,
  // "syscalls": every call), or empty when it counts none.
  std::string calls_key;
  bool go_flags = false;  // Go's flag syntax and GOMAXPROCS=1
  // The command line that serves `proto` ("tcp" or "udp") on an ephemeral loopback port.
  std::vector<std::string> Argv(const std::string& proto) const;
};

struct Cell {
  int size = 0;
  int connections = 0;
  int depth = 0;
  bool operator<(const Cell& o) const {
    return std::tie(size, connections, depth) < std::tie(o.size, o.connections, o.depth);
  }
  bool operator==(const Cell& o) const {
    return size == o.size && connections == o.connections && depth == o.depth;
  }
};

// One run of one server on one cell.
struct Sample {
  bool ok = false;
  std::string failure;
  double msgs_per_sec = 0;
  double server_cpu_us_per_msg = 0;
  double server_util = 0;  // server CPU time / window (1.0: one core busy)
  double client_util = 0;  // the load client's CPU time / window
  // How busy the server's and the client's CPUs were during the window, whoever used them
  // (/proc/stat, 10 ms ticks), and the share of the two that other processes used.
  double server_cpu_busy = 0;
  double client_cpu_busy = 0;
  double other_load = 0;
  double calls_per_msg = -1;  // from the server's own counters; -1: not counted
  double p50_us = 0;
  double p99_us = 0;
  uint64_t errors = 0;
  uint64_t lost = 0;  // UDP
  // Target cells: other processes took more than --disturbed of the CPUs during this run or
  // another run of the same round.
  bool disturbed = false;
};

// The rounds of one server on one cell.
struct Series {
  std::vector<Sample> samples;
  int failures = 0;
  uint64_t errors = 0;
  Spread Of(double Sample::*field) const {
    std::vector<double> v;
    for (const Sample& s : samples) {
      if (s.ok) v.push_back(s.*field);
    }
    return Spread::Of(v);
  }
};

// server name -> cell -> rounds.
using Results = std::map<std::string, std::map<Cell, Series>>;

// System calls counted by `perf stat` (tracepoints) over a whole run, per message.
struct SyscallCount {
  bool ok = false;
  std::string failure;
  double syscalls_per_msg = 0;
  double uring_enters_per_msg = 0;
  double msgs_per_sec = 0;
};

// Resident memory with idle connections.
struct MemorySample {
  bool ok = false;
  std::string failure;
  int connections = 0;
  int64_t rss_base = 0;        // no connection
  int64_t rss_connected = 0;   // every connection accepted, nothing sent
  int64_t rss_after_echo = 0;  // after one 64-byte echo on every connection, idle again
};

struct RunConfig {
  std::vector<Peer> peers;
  std::vector<Cell> cells;
  std::vector<Cell> syscall_cells;
  std::vector<Cell> udp_cells;
  double duration = 0;
  double warmup = 0;
  int rounds = 0;
  std::vector<Cell> target_cells;  // run until `target_rounds` undisturbed rounds
  int target_rounds = 0;
  double disturbed = 0;  // threshold of other processes' CPU share
  int memory_connections = 0;
};

struct Report {
  RunConfig config;
  Results tcp;
  std::map<std::string, std::map<Cell, SyscallCount>> syscalls;
  std::string syscalls_note;  // why the pass did not run, if it did not
  std::map<std::string, std::vector<MemorySample>> memory;
  Results udp;
  double seconds = 0;  // wall time of all passes
};

// Writes the report's Markdown sections and CSV files into `dir`:
//   tcp.md, targets.md, syscalls.md, memory.md, udp.md  (sections of RESULTS.md)
//   tcp_samples.csv  (every run)   tcp_medians.csv  (per server and cell, for the plots)
void WriteReport(const Report& report, const std::string& dir);

}  // namespace ringnet::bench

#endif  // RINGNET_BENCH_COMPARE_H_
