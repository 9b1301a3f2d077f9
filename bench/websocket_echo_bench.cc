// //bench:websocket: ringnet's WebSocket echo server against Node's `ws` echo server and, when
// given, Boost.Beast's (bench/peers/beast_echo_server.cc), with the same load client
// (examples/load_client over ringnet's WsClient), in the same run.
//
//   scripts/ensure_deps.sh test   # Node and ws (npm ci into /var/cache/ringnet/node)
//   bazel build -c opt //bench/peers:beast_echo_server   # optional; needs libboost1.81-dev
//   bazel run -c opt //bench:websocket -- [--duration=1] [--rounds=3]
//       [--beast_server=$PWD/bazel-bin/bench/peers/beast_echo_server]
//
// Each server runs as a child process pinned to CPU 0 (Node's event loop is one thread, Beast's
// io_context runs on one thread, ringnet runs one loop); the client runs here, pinned to CPU 1.
// For every cell (message size x connections x depth) the servers take turns (ringnet, ws, then
// Beast), round after round, and the table shows medians: messages/s and the server's CPU
// microseconds per message (its CPU time over the measured window: the robust figure when the
// client, not the server, is the bottleneck). Ratios are ringnet/other for messages/s and
// other/ringnet for CPU, so > 1 always means ringnet is better.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "ringnet/bench/server_process.h"
#include "ringnet/examples/load_client.h"

ABSL_FLAG(double, duration, 1.0, "measured seconds per run");
ABSL_FLAG(double, warmup, 0.3, "warm-up seconds per run");
ABSL_FLAG(int, rounds, 3, "rounds (servers interleaved in each)");
ABSL_FLAG(std::string, cells, "64x1x1,64x64x16,4096x64x16",
          "cells as SIZExCONNECTIONSxDEPTH, comma-separated");
ABSL_FLAG(int, server_cpu, 0, "CPU for the servers (-1: no pinning)");
ABSL_FLAG(int, client_cpu, 1, "CPU for the client (-1: no pinning)");
ABSL_FLAG(std::string, ringnet_server, "examples/echo_server", "ringnet echo server binary");
ABSL_FLAG(std::string, node_server, "test/interop/node/echo_server.js", "ws echo server script");
ABSL_FLAG(std::string, node_modules, "",
          "node_modules holding ws (default: $RINGNET_INTEROP_CACHE/node/node_modules, "
          "RINGNET_INTEROP_CACHE defaulting to /var/cache/ringnet)");
ABSL_FLAG(std::string, beast_server, "",
          "Boost.Beast echo server binary (//bench/peers:beast_echo_server), as an absolute path "
          "(`bazel run` starts in the runfiles tree); empty: no Beast columns");

namespace ringnet::bench {
namespace {

// One server of the comparison; servers[0] is ringnet, the one every ratio is about.
struct Server {
  std::string name;         // column label
  std::string description;  // for the table's title
  std::vector<std::string> argv;
};

struct Cell {
  int size = 0, connections = 0, depth = 0;
  // Per server (indexed like the servers), one sample per round.
  std::vector<std::vector<double>> rate, cpu;
  uint64_t errors = 0;
};

struct Sample {
  double msgs_per_sec = 0;
  double cpu_us_per_msg = 0;
  uint64_t errors = 0;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<Cell> ParseCells(const std::string& text) {
  std::vector<Cell> cells;
  for (absl::string_view spec : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(spec, 'x');
    Cell c;
    if (parts.size() == 3 && absl::SimpleAtoi(parts[0], &c.size) &&
        absl::SimpleAtoi(parts[1], &c.connections) && absl::SimpleAtoi(parts[2], &c.depth)) {
      cells.push_back(c);
    }
  }
  return cells;
}

// The node binary on PATH (or in the usual places), or empty.
std::string FindNode() {
  const char* path = getenv("PATH");
  std::vector<std::string> dirs = absl::StrSplit(path != nullptr ? path : "", ':');
  dirs.push_back("/usr/bin");
  dirs.push_back("/usr/local/bin");
  for (const std::string& dir : dirs) {
    const std::string candidate = absl::StrCat(dir, "/node");
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string NodeModules() {
  if (!absl::GetFlag(FLAGS_node_modules).empty()) return absl::GetFlag(FLAGS_node_modules);
  const char* cache = getenv("RINGNET_INTEROP_CACHE");
  return absl::StrCat(cache != nullptr ? cache : "/var/cache/ringnet", "/node/node_modules");
}

absl::StatusOr<Sample> RunOnce(const std::vector<std::string>& argv, const Cell& cell) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(argv, absl::GetFlag(FLAGS_server_cpu));
  if (!server.ok()) return server.status();
  examples::LoadOptions load;
  load.proto = examples::LoadProto::kWebSocket;
  load.server = (*server)->address();
  load.connections = cell.connections;
  load.size = static_cast<size_t>(cell.size);
  load.depth = cell.depth;
  load.duration = absl::Seconds(absl::GetFlag(FLAGS_duration));
  load.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup));
  int64_t cpu_start = 0, cpu_end = 0;
  load.on_window_start = [&] { cpu_start = (*server)->CpuNs(); };
  load.on_window_end = [&] { cpu_end = (*server)->CpuNs(); };
  absl::StatusOr<examples::LoadResult> result = examples::RunLoad(load);
  (*server)->Stop();
  if (!result.ok()) return result.status();
  Sample s;
  s.msgs_per_sec = result->messages_per_second();
  s.cpu_us_per_msg = result->messages > 0
                         ? (cpu_end - cpu_start) / 1e3 / static_cast<double>(result->messages)
                         : 0;
  s.errors = result->errors;
  return s;
}

// Columns: every server's msg/s, ringnet/other for each other server, every server's CPU us/msg,
// other/ringnet for each other server. With ws alone, the ratio columns are just "ratio" and "CPU
// ratio".
void PrintTable(const std::vector<Server>& servers, const std::vector<Cell>& cells, int rounds) {
  const size_t n = servers.size();
  std::string title = servers[0].description;
  for (size_t i = 1; i < n; ++i) {
    absl::StrAppend(&title, i == 1 ? " vs " : (i + 1 == n ? " and " : ", "),
                    servers[i].description);
  }
  std::printf(
      "WebSocket echo, %s, same client (ringnet WsClient, 1 loop); medians of %d rounds of "
      "%.1f s\n\n",
      title.c_str(), rounds, absl::GetFlag(FLAGS_duration));
  auto ratio_label = [&](const char* what, size_t i) {
    return n == 2 ? std::string(what) : absl::StrCat(what, " vs ", servers[i].name);
  };
  std::string header = "| size | conns | depth |";
  for (const Server& s : servers) absl::StrAppend(&header, " ", s.name, " msg/s |");
  for (size_t i = 1; i < n; ++i) absl::StrAppend(&header, " ", ratio_label("ratio", i), " |");
  for (const Server& s : servers) absl::StrAppend(&header, " ", s.name, " CPU us/msg |");
  for (size_t i = 1; i < n; ++i) absl::StrAppend(&header, " ", ratio_label("CPU ratio", i), " |");
  std::printf("%s\n|---:|---:|---:|", header.c_str());
  for (size_t i = 0; i < 4 * n - 2; ++i) std::printf("---:|");
  std::printf("\n");
  for (const Cell& c : cells) {
    std::vector<double> rate(n), cpu(n);
    for (size_t i = 0; i < n; ++i) {
      rate[i] = Median(c.rate[i]);
      cpu[i] = Median(c.cpu[i]);
    }
    std::string row = absl::StrFormat("| %d | %d | %d |", c.size, c.connections, c.depth);
    for (double r : rate) absl::StrAppendFormat(&row, " %.0f |", r);
    for (size_t i = 1; i < n; ++i) {
      absl::StrAppendFormat(&row, " %.2fx |", rate[i] > 0 ? rate[0] / rate[i] : 0);
    }
    for (double u : cpu) absl::StrAppendFormat(&row, " %.3f |", u);
    for (size_t i = 1; i < n; ++i) {
      absl::StrAppendFormat(&row, " %.2fx |", cpu[0] > 0 ? cpu[i] / cpu[0] : 0);
    }
    std::printf("%s\n", row.c_str());
  }
}

int Main() {
  const std::string node = FindNode();
  const std::string modules = NodeModules();
  if (node.empty() || access(absl::StrCat(modules, "/ws/package.json").c_str(), R_OK) != 0) {
    std::fprintf(stderr,
                 "bench/websocket: needs node and ws in %s; run scripts/ensure_deps.sh test\n",
                 modules.c_str());
    return 1;
  }
  const std::string beast = absl::GetFlag(FLAGS_beast_server);
  if (!beast.empty() && access(beast.c_str(), X_OK) != 0) {
    std::fprintf(stderr,
                 "bench/websocket: --beast_server=%s is not an executable (build "
                 "//bench/peers:beast_echo_server; give an absolute path)\n",
                 beast.c_str());
    return 1;
  }
  setenv("NODE_PATH", modules.c_str(), 1);  // inherited by the Node server
  PinThisThread(absl::GetFlag(FLAGS_client_cpu));
  std::vector<Server> servers = {
      {"ringnet",
       "ringnet (1 loop)",
       {RunfilePath(absl::GetFlag(FLAGS_ringnet_server)), "--proto=ws", "--listen=127.0.0.1:0",
        "--loops=1"}},
      {"ws",
       "Node ws (one event loop)",
       {node, RunfilePath(absl::GetFlag(FLAGS_node_server)), "--listen=127.0.0.1:0"}},
  };
  if (!beast.empty()) {
    servers.push_back(
        {"beast", "Boost.Beast 1.81 (one io_context thread)", {beast, "--listen=127.0.0.1:0"}});
  }
  std::vector<Cell> cells = ParseCells(absl::GetFlag(FLAGS_cells));
  for (Cell& cell : cells) {
    cell.rate.resize(servers.size());
    cell.cpu.resize(servers.size());
  }
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  for (int round = 0; round < rounds; ++round) {
    for (Cell& cell : cells) {
      for (size_t i = 0; i < servers.size(); ++i) {
        absl::StatusOr<Sample> s = RunOnce(servers[i].argv, cell);
        if (!s.ok()) {
          std::fprintf(stderr, "run failed (%s): %s\n", servers[i].name.c_str(),
                       s.status().ToString().c_str());
          return 1;
        }
        cell.rate[i].push_back(s->msgs_per_sec);
        cell.cpu[i].push_back(s->cpu_us_per_msg);
        cell.errors += s->errors;
        std::fprintf(stderr, ".");
      }
    }
  }
  std::fprintf(stderr, "\n");
  PrintTable(servers, cells, rounds);
  uint64_t errors = 0;
  for (const Cell& c : cells) errors += c.errors;
  std::printf("\nverification errors: %llu\n", static_cast<unsigned long long>(errors));
  return errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace ringnet::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return ringnet::bench::Main();
}
