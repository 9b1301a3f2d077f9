// //bench:compare: ringnet's TCP echo against an epoll baseline, Boost.Asio (epoll and io_uring),
// Go's net package and a hand-written liburing ceiling, plus UDP echo against Go; see
// bench/README.md. bench/compare.sh builds every peer and runs this; run alone:
//
//   bazel run -c opt //bench:compare -- --out_dir=/tmp/cmp [--asio_epoll=... --go=...]
//
// Passes, each optional:
//   --tcp       the sweep: every cell (size x connections x depth), servers interleaved in each
//               round, rounds repeated; each run starts a fresh server (warm-up, then a measured
//               window), records messages/s, latency, server CPU per message (schedstat over the
//               window) and the server's own call counters;
//   --syscalls  a few cells once more with each server under `perf stat` (syscall tracepoints),
//               so every server gets the same count, kept out of the timed runs;
//   --memory    RSS per idle connection with --memory_connections connections;
//   --udp       UDP echo round trips, ringnet against Go.
// Servers run pinned to --server_cpu, the load client (in this process) to --client_cpu.
#include "ringnet/bench/compare.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ringnet/bench/server_process.h"
#include "ringnet/examples/load_client.h"

ABSL_FLAG(std::string, out_dir, "", "directory for the report's sections and CSV files");
ABSL_FLAG(double, duration, 0.5, "measured seconds per run");
ABSL_FLAG(double, warmup, 0.25, "warm-up seconds per run (excluded from the figures)");
ABSL_FLAG(int, rounds, 3, "rounds; the servers take turns in each");
ABSL_FLAG(std::string, sizes, "64,512,4096,65536", "TCP message sizes");
ABSL_FLAG(std::string, connections, "1,64,256,1000", "TCP connection counts");
ABSL_FLAG(std::string, depths, "1,16", "messages in flight per connection");
ABSL_FLAG(std::string, syscall_cells, "64:1:1,64:256:16,4096:64:16",
          "SIZE:CONNECTIONS:DEPTH cells of the perf pass");
ABSL_FLAG(std::string, udp_cells, "64:1:1,64:1:16,64:64:16,1024:64:16",
          "SIZE:CONNECTIONS:DEPTH cells of the UDP pass");
ABSL_FLAG(std::string, target_cells, "64:256:16,64:1:1",
          "SIZE:CONNECTIONS:DEPTH cells of the issue's targets: run until --target_rounds "
          "undisturbed rounds");
ABSL_FLAG(int, target_rounds, 7, "undisturbed rounds wanted for each target cell");
ABSL_FLAG(int, target_max_extra, 8, "at most this many extra rounds per target cell");
ABSL_FLAG(double, disturbed, 0.10,
          "a round is disturbed when other processes took more than this share of the two "
          "pinned CPUs during any of its runs");
ABSL_FLAG(int, memory_connections, 10000, "idle connections of the memory pass");
ABSL_FLAG(bool, tcp, true, "run the TCP sweep");
ABSL_FLAG(bool, syscalls, true, "run the perf syscall pass");
ABSL_FLAG(bool, memory, true, "run the idle-memory pass");
ABSL_FLAG(bool, udp, true, "run the UDP pass");
ABSL_FLAG(int, server_cpu, 0, "CPU for the servers (-1: no pinning)");
ABSL_FLAG(int, client_cpu, 1, "CPU for the load client (-1: no pinning)");
ABSL_FLAG(std::string, perf, "perf", "perf binary for the syscall pass");
ABSL_FLAG(std::string, ringnet, "examples/echo_server", "ringnet's echo server");
ABSL_FLAG(std::string, epoll, "bench/epoll_echo_server", "the epoll baseline");
ABSL_FLAG(std::string, liburing, "bench/peers/liburing_echo_server", "the liburing ceiling");
ABSL_FLAG(std::string, asio_epoll, "", "Asio echo server, epoll build (empty: skipped)");
ABSL_FLAG(std::string, asio_uring, "", "Asio echo server, io_uring build (empty: skipped)");
ABSL_FLAG(std::string, go, "", "Go echo server (empty: skipped)");
ABSL_FLAG(std::string, only, "", "comma-separated server names to run (empty: all available)");

namespace ringnet::bench {

std::vector<std::string> Peer::Argv(const std::string& proto) const {
  if (go_flags) {
    // env execs the server, so the pid (and the CPU pinning) stay the same.
    return {"/usr/bin/env",    "GOMAXPROCS=1",        path,
            "-proto=" + proto, "-listen=127.0.0.1:0", "-stats"};
  }
  if (name == "ringnet") {
    return {path, "--proto=" + proto, "--listen=127.0.0.1:0", "--loops=1", "--stats"};
  }
  if (name == "ringnet-epoll") {
    // The same binary forced onto its epoll backend, as an operator would (issue 7).
    return {"/usr/bin/env",     "RINGNET_BACKEND=epoll", path,
            "--proto=" + proto, "--listen=127.0.0.1:0",  "--loops=1",
            "--stats"};
  }
  if (name == "ringnet-busypoll") {
    // The same binary with busy polling on (EventLoopOptions::busy_poll): an opt-in for
    // latency-bound servers, shown beside the default.
    return {path,        "--proto=" + proto,  "--listen=127.0.0.1:0",
            "--loops=1", "--busy_poll_us=50", "--stats"};
  }
  return {path, "--listen=127.0.0.1:0", "--stats"};
}

namespace {

std::vector<int> ParseInts(const std::string& text) {
  std::vector<int> out;
  for (absl::string_view s : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int v;
    if (absl::SimpleAtoi(s, &v)) out.push_back(v);
  }
  return out;
}

std::vector<Cell> ParseCells(const std::string& text) {
  std::vector<Cell> out;
  for (absl::string_view c : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<int> v;
    for (absl::string_view s : absl::StrSplit(c, ':')) {
      int x;
      if (absl::SimpleAtoi(s, &x)) v.push_back(x);
    }
    if (v.size() == 3) out.push_back({v[0], v[1], v[2]});
  }
  return out;
}

// CPU time of every thread of this process (the load client's loop threads and this one).
int64_t SelfCpuNs() {
  int64_t total = 0;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(absl::StrCat("/proc/self/task/", e->d_name, "/schedstat"));
    int64_t ns = 0;
    if (in >> ns) total += ns;
  }
  closedir(d);
  return total;
}

// Busy time (user, nice, system, irq, softirq, steal) of one CPU so far, from /proc/stat (10 ms
// ticks); 0 for a negative CPU.
int64_t CpuBusyNs(int cpu) {
  if (cpu < 0) return 0;
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    int n = -1;
    long long v[8] = {};
    if (std::sscanf(line.c_str(), "cpu%d %lld %lld %lld %lld %lld %lld %lld %lld", &n, &v[0], &v[1],
                    &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 9 &&
        n == cpu) {
      return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * (1'000'000'000 / sysconf(_SC_CLK_TCK));
    }
  }
  return 0;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void Sleep(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

std::vector<Peer> AvailablePeers() {
  const std::vector<Peer> all = {
      {"ringnet", RunfilePath(absl::GetFlag(FLAGS_ringnet)), "enters", false},
      {"ringnet-epoll", RunfilePath(absl::GetFlag(FLAGS_ringnet)), "syscalls", false},
      {"ringnet-busypoll", RunfilePath(absl::GetFlag(FLAGS_ringnet)), "enters", false},
      {"liburing", RunfilePath(absl::GetFlag(FLAGS_liburing)), "enters", false},
      {"epoll", RunfilePath(absl::GetFlag(FLAGS_epoll)), "syscalls", false},
      {"asio-epoll", absl::GetFlag(FLAGS_asio_epoll), "", false},
      {"asio-uring", absl::GetFlag(FLAGS_asio_uring), "", false},
      {"go", absl::GetFlag(FLAGS_go), "", true},
  };
  const std::vector<std::string> only =
      absl::StrSplit(absl::GetFlag(FLAGS_only), ',', absl::SkipEmpty());
  std::vector<Peer> peers;
  for (const Peer& p : all) {
    if (!only.empty() && std::find(only.begin(), only.end(), p.name) == only.end()) continue;
    if (p.path.empty() || access(p.path.c_str(), X_OK) != 0) {
      std::fprintf(stderr, "compare: %s skipped (no binary at \"%s\")\n", p.name.c_str(),
                   p.path.c_str());
      continue;
    }
    peers.push_back(p);
  }
  return peers;
}

// Warm-up and window of one run: the flags', stretched when the bytes in flight are so many that
// a round trip takes a large part of a second (64 KiB x 1000 connections x depth 16 is 1 GiB:
// about 0.7 s per round trip at loopback speed), so that the warm-up covers two round trips and
// the window three.
std::pair<absl::Duration, absl::Duration> WindowFor(const Cell& cell) {
  const double in_flight = static_cast<double>(cell.size) * cell.connections * cell.depth;
  const double round_trip = in_flight / 1.0e9;  // seconds, at about 1 GB/s
  return {absl::Seconds(std::max(absl::GetFlag(FLAGS_warmup), 2 * round_trip)),
          absl::Seconds(std::max(absl::GetFlag(FLAGS_duration), 3 * round_trip))};
}

// One load run against a fresh server.
Sample RunOnce(const Peer& peer, const std::string& proto, const Cell& cell) {
  Sample s;
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(peer.Argv(proto), absl::GetFlag(FLAGS_server_cpu));
  if (!server.ok()) {
    s.failure = server.status().ToString();
    return s;
  }
  examples::LoadOptions load;
  load.proto = proto == "udp" ? examples::LoadProto::kUdp : examples::LoadProto::kTcp;
  load.server = (*server)->address();
  load.connections = cell.connections;
  load.size = static_cast<size_t>(cell.size);
  load.depth = cell.depth;
  std::tie(load.warmup, load.duration) = WindowFor(cell);
  int64_t server_start = 0, server_end = 0, client_start = 0, client_end = 0;
  const int server_cpu = absl::GetFlag(FLAGS_server_cpu);
  const int client_cpu = absl::GetFlag(FLAGS_client_cpu);
  int64_t busy0_start = 0, busy0_end = 0, busy1_start = 0, busy1_end = 0;
  double wall_start = 0, wall_end = 0;
  load.on_window_start = [&] {
    wall_start = Now();
    server_start = (*server)->CpuNs();
    client_start = SelfCpuNs();
    busy0_start = CpuBusyNs(server_cpu);
    busy1_start = CpuBusyNs(client_cpu);
  };
  load.on_window_end = [&] {
    wall_end = Now();
    server_end = (*server)->CpuNs();
    client_end = SelfCpuNs();
    busy0_end = CpuBusyNs(server_cpu);
    busy1_end = CpuBusyNs(client_cpu);
  };
  absl::StatusOr<examples::LoadResult> result = examples::RunLoad(load);
  std::map<std::string, uint64_t> stats = (*server)->Stop();
  if (!result.ok()) {
    s.failure = result.status().ToString();
    return s;
  }
  const double window_ns = (wall_end - wall_start) * 1e9;
  s.ok = result->messages > 0;
  if (!s.ok) s.failure = "no message completed in the window";
  s.msgs_per_sec = result->messages_per_second();
  s.server_cpu_us_per_msg =
      result->messages > 0 ? (server_end - server_start) / 1e3 / result->messages : 0;
  s.server_util = window_ns > 0 ? (server_end - server_start) / window_ns : 0;
  s.client_util = window_ns > 0 ? (client_end - client_start) / window_ns : 0;
  if (window_ns > 0 && server_cpu >= 0 && client_cpu >= 0 && server_cpu != client_cpu) {
    s.server_cpu_busy = (busy0_end - busy0_start) / window_ns;
    s.client_cpu_busy = (busy1_end - busy1_start) / window_ns;
    const double ours = (server_end - server_start + client_end - client_start) / window_ns;
    s.other_load = std::max(0.0, (s.server_cpu_busy + s.client_cpu_busy - ours) / 2);
  }
  if (!peer.calls_key.empty() && stats.count(peer.calls_key) > 0 && result->total_messages > 0) {
    s.calls_per_msg = static_cast<double>(stats[peer.calls_key]) / result->total_messages;
  }
  s.p50_us = result->p50_us;
  s.p99_us = result->p99_us;
  s.errors = result->errors;
  s.lost = result->lost;
  return s;
}

// Every cell, every round; in each round the servers take turns, starting one later each time.
void Sweep(const std::vector<Peer>& peers, const std::vector<Cell>& cells, const std::string& proto,
           int rounds, const std::string& label, Results* results) {
  const double start = Now();
  const size_t total = static_cast<size_t>(rounds) * cells.size() * peers.size();
  size_t done = 0;
  for (int round = 0; round < rounds; ++round) {
    for (size_t c = 0; c < cells.size(); ++c) {
      for (size_t k = 0; k < peers.size(); ++k) {
        const Peer& peer = peers[(k + static_cast<size_t>(round) + c) % peers.size()];
        Sample s = RunOnce(peer, proto, cells[c]);
        Series& series = (*results)[peer.name][cells[c]];
        if (!s.ok) {
          ++series.failures;
          std::fprintf(stderr, "\ncompare: %s %s %d B x %d x %d failed: %s\n", peer.name.c_str(),
                       proto.c_str(), cells[c].size, cells[c].connections, cells[c].depth,
                       s.failure.c_str());
        }
        series.errors += s.errors;
        series.samples.push_back(std::move(s));
        ++done;
      }
      const double elapsed = Now() - start;
      std::fprintf(stderr, "\r%s: round %d/%d, %zu/%zu runs, %.0f s elapsed, ~%.0f s left   ",
                   label.c_str(), round + 1, rounds, done, total, elapsed,
                   elapsed / static_cast<double>(done) * static_cast<double>(total - done));
    }
  }
  std::fprintf(stderr, "\n");
}

// Marks round `round` of `cell` disturbed (every server's sample) when other processes took more
// than --disturbed of the CPUs during any of its runs; returns whether it was.
bool MarkRound(Results* results, const Cell& cell, size_t round) {
  bool disturbed = false;
  for (auto& [server, cells] : *results) {
    auto it = cells.find(cell);
    if (it != cells.end() && round < it->second.samples.size()) {
      disturbed |= it->second.samples[round].other_load > absl::GetFlag(FLAGS_disturbed);
    }
  }
  for (auto& [server, cells] : *results) {
    auto it = cells.find(cell);
    if (it != cells.end() && round < it->second.samples.size()) {
      it->second.samples[round].disturbed = disturbed;
    }
  }
  return disturbed;
}

// A target cell: more rounds (servers interleaved as in the sweep) until --target_rounds of its
// rounds ran undisturbed, at most --target_max_extra more. The report judges targets on the
// undisturbed rounds.
void TargetRounds(const std::vector<Peer>& peers, const Cell& cell, Results* results) {
  const size_t swept = (*results)[peers.front().name][cell].samples.size();
  int clean = 0;
  for (size_t r = 0; r < swept; ++r) clean += MarkRound(results, cell, r) ? 0 : 1;
  for (int extra = 0;
       clean < absl::GetFlag(FLAGS_target_rounds) && extra < absl::GetFlag(FLAGS_target_max_extra);
       ++extra) {
    Sweep(peers, {cell}, "tcp", 1,
          absl::StrCat("tcp, target cell ", cell.size, " B x ", cell.connections, " x ", cell.depth,
                       ", ", clean, " undisturbed rounds"),
          results);
    clean += MarkRound(results, cell, swept + static_cast<size_t>(extra)) ? 0 : 1;
  }
}

// `perf stat` over a whole run: every system call of the server's threads, and io_uring_enter.
SyscallCount CountSyscalls(const Peer& peer, const Cell& cell, const std::string& dir) {
  SyscallCount out;
  const std::string file = absl::StrCat(dir, "/perf_", peer.name, ".csv");
  std::vector<std::string> argv = {absl::GetFlag(FLAGS_perf),
                                   "stat",
                                   "-x,",
                                   "-o",
                                   file,
                                   "-e",
                                   "raw_syscalls:sys_enter,syscalls:sys_enter_io_uring_enter",
                                   "--"};
  for (const std::string& a : peer.Argv("tcp")) argv.push_back(a);
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::StartWrapped(argv, absl::GetFlag(FLAGS_server_cpu));
  if (!server.ok()) {
    out.failure = server.status().ToString();
    return out;
  }
  examples::LoadOptions load;
  load.server = (*server)->address();
  load.connections = cell.connections;
  load.size = static_cast<size_t>(cell.size);
  load.depth = cell.depth;
  std::tie(load.warmup, load.duration) = WindowFor(cell);
  absl::StatusOr<examples::LoadResult> result = examples::RunLoad(load);
  (*server)->Stop();
  if (!result.ok() || result->total_messages == 0) {
    out.failure = result.ok() ? "no messages" : result.status().ToString();
    return out;
  }
  std::ifstream in(file);
  std::string line;
  double all = -1, enters = -1;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() < 3) continue;
    double v;
    if (!absl::SimpleAtod(f[0], &v)) continue;
    if (f[2] == "raw_syscalls:sys_enter") all = v;
    if (f[2] == "syscalls:sys_enter_io_uring_enter") enters = v;
  }
  std::remove(file.c_str());
  if (all < 0 || enters < 0) {
    out.failure = "perf stat reported no counts (tracepoints unavailable?)";
    return out;
  }
  out.ok = true;
  out.syscalls_per_msg = all / result->total_messages;
  out.uring_enters_per_msg = enters / result->total_messages;
  out.msgs_per_sec = result->messages_per_second();
  return out;
}

// Whether perf can count syscall tracepoints here; the reason if not.
std::string PerfProblem() {
  const std::string cmd =
      absl::StrCat(absl::GetFlag(FLAGS_perf), " stat -x, -e raw_syscalls:sys_enter -- true 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "cannot run perf";
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  const int rc = pclose(p);
  if (rc != 0 || out.find("raw_syscalls:sys_enter") == std::string::npos ||
      out.find("<not supported>") != std::string::npos) {
    return absl::StrCat("`perf stat -e raw_syscalls:sys_enter` does not work here: ", out);
  }
  return "";
}

// Opens `n` connections to `server`, each connected and with TCP_NODELAY; returns their fds.
absl::StatusOr<std::vector<int>> OpenIdle(const net::InetAddress& server, int n) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, server.sockaddr(), server.length()) != 0) {
      const int error = errno;
      if (fd >= 0) close(fd);
      for (int f : fds) close(f);
      return absl::ErrnoToStatus(error, absl::StrCat("connection ", i + 1, " of ", n));
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    fds.push_back(fd);
  }
  return fds;
}

// One 64-byte echo on every connection (all written first, then all read back and checked).
absl::Status EchoOnce(const std::vector<int>& fds) {
  char out[64], in[64];
  for (size_t i = 0; i < sizeof(out); ++i) out[i] = static_cast<char>('a' + i % 26);
  for (int fd : fds) {
    if (write(fd, out, sizeof(out)) != static_cast<ssize_t>(sizeof(out))) {
      return absl::ErrnoToStatus(errno, "write");
    }
  }
  for (int fd : fds) {
    size_t got = 0;
    while (got < sizeof(in)) {
      const ssize_t r = read(fd, in + got, sizeof(in) - got);
      if (r <= 0) return absl::ErrnoToStatus(r == 0 ? ECONNRESET : errno, "read echo");
      got += static_cast<size_t>(r);
    }
    if (std::memcmp(in, out, sizeof(in)) != 0) return absl::DataLossError("wrong echo");
  }
  return absl::OkStatus();
}

MemorySample MeasureIdle(const Peer& peer, int n) {
  MemorySample m;
  m.connections = n;
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(peer.Argv("tcp"), absl::GetFlag(FLAGS_server_cpu));
  if (!server.ok()) {
    m.failure = server.status().ToString();
    return m;
  }
  Sleep(0.3);
  m.rss_base = (*server)->RssBytes();
  const int fds_before = (*server)->OpenFds();
  absl::StatusOr<std::vector<int>> fds = OpenIdle((*server)->address(), n);
  if (!fds.ok()) {
    m.failure = fds.status().ToString();
    return m;
  }
  // Every connection accepted: the server holds one more descriptor for each.
  const double deadline = Now() + 20;
  while ((*server)->OpenFds() < fds_before + n && Now() < deadline) Sleep(0.05);
  if ((*server)->OpenFds() < fds_before + n) {
    m.failure = "the server did not accept every connection within 20 s";
  } else {
    Sleep(0.5);
    m.rss_connected = (*server)->RssBytes();
    if (absl::Status echoed = EchoOnce(*fds); !echoed.ok()) {
      m.failure = echoed.ToString();
    } else {
      Sleep(0.5);
      m.rss_after_echo = (*server)->RssBytes();
      m.ok = true;
    }
  }
  for (int fd : *fds) close(fd);
  (*server)->Stop();
  return m;
}

void RaiseFileLimit() {
  rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);  // servers started from here inherit it
  }
}

int Main() {
  const std::string dir = absl::GetFlag(FLAGS_out_dir);
  if (dir.empty()) {
    std::fprintf(stderr, "compare: --out_dir is required\n");
    return 2;
  }
  RaiseFileLimit();
  PinThisThread(absl::GetFlag(FLAGS_client_cpu));
  const double start = Now();
  Report report;
  RunConfig& config = report.config;
  config.peers = AvailablePeers();
  if (config.peers.empty()) {
    std::fprintf(stderr, "compare: no server to run\n");
    return 1;
  }
  for (int size : ParseInts(absl::GetFlag(FLAGS_sizes))) {
    for (int conns : ParseInts(absl::GetFlag(FLAGS_connections))) {
      for (int depth : ParseInts(absl::GetFlag(FLAGS_depths))) {
        config.cells.push_back({size, conns, depth});
      }
    }
  }
  config.syscall_cells = ParseCells(absl::GetFlag(FLAGS_syscall_cells));
  config.udp_cells = ParseCells(absl::GetFlag(FLAGS_udp_cells));
  config.duration = absl::GetFlag(FLAGS_duration);
  config.warmup = absl::GetFlag(FLAGS_warmup);
  config.rounds = absl::GetFlag(FLAGS_rounds);
  config.memory_connections = absl::GetFlag(FLAGS_memory_connections);

  if (absl::GetFlag(FLAGS_tcp)) {
    Sweep(config.peers, config.cells, "tcp", std::max(1, config.rounds), "tcp", &report.tcp);
    // The targets' cells get more rounds (appended to the same series), if they were swept.
    for (const Cell& c : ParseCells(absl::GetFlag(FLAGS_target_cells))) {
      if (std::find(config.cells.begin(), config.cells.end(), c) != config.cells.end()) {
        TargetRounds(config.peers, c, &report.tcp);
        config.target_cells.push_back(c);
      }
    }
    config.target_rounds = absl::GetFlag(FLAGS_target_rounds);
    config.disturbed = absl::GetFlag(FLAGS_disturbed);
  }
  if (absl::GetFlag(FLAGS_syscalls)) {
    report.syscalls_note = PerfProblem();
    if (report.syscalls_note.empty()) {
      for (const Cell& cell : config.syscall_cells) {
        for (const Peer& peer : config.peers) {
          report.syscalls[peer.name][cell] = CountSyscalls(peer, cell, dir);
          std::fprintf(stderr, "\rsyscalls: %s %d B x %d x %d    ", peer.name.c_str(), cell.size,
                       cell.connections, cell.depth);
        }
      }
      std::fprintf(stderr, "\n");
    }
  }
  if (absl::GetFlag(FLAGS_memory)) {
    for (const Peer& peer : config.peers) {
      if (peer.name == "ringnet-busypoll") continue;  // ringnet's binary and memory, spinning
      std::fprintf(stderr, "\rmemory: %s with %d idle connections    ", peer.name.c_str(),
                   config.memory_connections);
      report.memory[peer.name].push_back(MeasureIdle(peer, config.memory_connections));
    }
    std::fprintf(stderr, "\n");
  }
  if (absl::GetFlag(FLAGS_udp)) {
    std::vector<Peer> udp_peers;
    for (const Peer& p : config.peers) {
      if (p.name == "ringnet" || p.name == "ringnet-epoll" || p.name == "go")
        udp_peers.push_back(p);
    }
    if (!udp_peers.empty()) {
      Sweep(udp_peers, config.udp_cells, "udp", std::max(1, config.rounds), "udp", &report.udp);
    }
  }
  report.seconds = Now() - start;
  WriteReport(report, dir);
  std::fprintf(stderr, "compare: done in %.0f s; sections in %s\n", report.seconds, dir.c_str());
  return 0;
}

}  // namespace
}  // namespace ringnet::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return ringnet::bench::Main();
}
