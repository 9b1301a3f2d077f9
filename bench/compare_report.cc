// //bench:compare's report: Markdown sections for bench/RESULTS.md and CSV files for the plots.
#include <cstdio>
#include <fstream>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ringnet/bench/compare.h"

namespace ringnet::bench {
namespace {

// A server at or above this share of its core during the window is the bottleneck.
constexpr double kSaturated = 0.9;

std::string CellName(const Cell& c) {
  const std::string size = c.size >= 1024 && c.size % 1024 == 0
                               ? absl::StrCat(c.size / 1024, " KiB")
                               : absl::StrCat(c.size, " B");
  return absl::StrCat(size, " | ", c.connections, " | ", c.depth);
}

std::string Rate(double v) {
  if (v >= 1e5) return absl::StrFormat("%.0fk", v / 1e3);
  if (v >= 1e3) return absl::StrFormat("%.1fk", v / 1e3);
  return absl::StrFormat("%.0f", v);
}

std::string Micros(double v) {
  if (v >= 100) return absl::StrFormat("%.0f", v);
  if (v >= 10) return absl::StrFormat("%.1f", v);
  return absl::StrFormat("%.2f", v);
}

// Which CPU was full during the window (median over the rounds), whoever filled it: S the
// server's, C the client's, SC both, - neither (latency-bound). A capital letter when the process
// itself used at least 90% of its core, lower case when other processes made up the rest.
std::string Bound(const Series& s) {
  std::string b;
  if (s.Of(&Sample::server_cpu_busy).median >= kSaturated) {
    b += s.Of(&Sample::server_util).median >= kSaturated ? "S" : "s";
  }
  if (s.Of(&Sample::client_cpu_busy).median >= kSaturated) {
    b += s.Of(&Sample::client_util).median >= kSaturated ? "C" : "c";
  }
  return b.empty() ? "-" : b;
}

const Series* Find(const Results& r, const std::string& server, const Cell& cell) {
  auto it = r.find(server);
  if (it == r.end()) return nullptr;
  auto jt = it->second.find(cell);
  return jt == it->second.end() ? nullptr : &jt->second;
}

std::string Header(const std::vector<std::string>& servers) {
  std::string h = "| size | conns | depth |";
  std::string rule = "|---:|---:|---:|";
  for (const std::string& s : servers) {
    absl::StrAppend(&h, " ", s, " |");
    absl::StrAppend(&rule, "---:|");
  }
  return absl::StrCat(h, "\n", rule, "\n");
}

using CellFormat = std::function<std::string(const Series&)>;

// One row per cell, one column per server.
std::string Table(const Results& r, const std::vector<Cell>& cells,
                  const std::vector<std::string>& servers, const CellFormat& format) {
  std::string out = Header(servers);
  for (const Cell& c : cells) {
    absl::StrAppend(&out, "| ", CellName(c), " |");
    for (const std::string& s : servers) {
      const Series* series = Find(r, s, c);
      std::string text = "-";
      if (series != nullptr && series->Of(&Sample::msgs_per_sec).valid()) {
        text = format(*series);
        if (series->failures > 0) absl::StrAppend(&text, " (", series->failures, " failed)");
        if (series->errors > 0) absl::StrAppend(&text, " **", series->errors, " errors**");
      } else if (series != nullptr) {
        text = "failed";
      }
      absl::StrAppend(&out, " ", text, " |");
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

// Appends a column to `table` (one header, one rule and one row per cell): the median share of
// the two CPUs other processes took during the cell's windows, over every server's runs.
std::string WithOthers(const Results& r, const std::string& table, const std::vector<Cell>& cells) {
  std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  if (lines.size() != cells.size() + 2) return table;
  std::string out = absl::StrCat(lines[0], " others |\n", lines[1], "---:|\n");
  for (size_t i = 0; i < cells.size(); ++i) {
    std::vector<double> v;
    for (const auto& [server, by_cell] : r) {
      auto it = by_cell.find(cells[i]);
      if (it == by_cell.end()) continue;
      for (const Sample& s : it->second.samples) {
        if (s.ok) v.push_back(s.other_load);
      }
    }
    absl::StrAppend(&out, lines[i + 2], absl::StrFormat(" %.0f%% |\n", 100 * Spread::Of(v).median));
  }
  return out;
}

std::vector<std::string> Names(const RunConfig& config) {
  std::vector<std::string> names;
  for (const Peer& p : config.peers) names.push_back(p.name);
  return names;
}

std::string TcpSection(const Report& rep) {
  const std::vector<std::string> names = Names(rep.config);
  const std::vector<Cell>& cells = rep.config.cells;
  std::string out;
  absl::StrAppend(
      &out, "### Messages per second\n\n",
      "Median (min-max) over the rounds. The letters say which CPU was full (at least 90% busy, "
      "median over the rounds): **S** the server's, **C** the load client's (the figure is then "
      "the client's limit, not the server's: compare CPU per message), **-** neither "
      "(latency-bound). Lower case (s, c): that CPU was full only because other processes used "
      "part of it. The last column is the median share of the two CPUs other processes took "
      "during the cell's windows.\n\n");
  absl::StrAppend(&out, WithOthers(rep.tcp,
                                   Table(rep.tcp, cells, names,
                                         [](const Series& s) {
                                           const Spread m = s.Of(&Sample::msgs_per_sec);
                                           return absl::StrCat(Rate(m.median), " (", Rate(m.min),
                                                               "-", Rate(m.max), ") ", Bound(s));
                                         }),
                                   cells));
  absl::StrAppend(
      &out, "\n### Server CPU per message (microseconds)\n\n",
      "The server's CPU time over the measured window (all its threads, from "
      "/proc/PID/task/*/schedstat) divided by the messages echoed in it: the robust figure when "
      "the client is the bottleneck. Median (min-max).\n\n");
  absl::StrAppend(&out, Table(rep.tcp, cells, names, [](const Series& s) {
    const Spread c = s.Of(&Sample::server_cpu_us_per_msg);
    return absl::StrCat(Micros(c.median), " (", Micros(c.min), "-", Micros(c.max), ")");
  }));
  absl::StrAppend(&out, "\n### Latency, p50 / p99 (microseconds)\n\n",
                  "Round trip of one message, from its write to the arrival of its last byte, "
                  "at the client. Medians over the rounds.\n\n");
  absl::StrAppend(&out, Table(rep.tcp, cells, names, [](const Series& s) {
    return absl::StrCat(Micros(s.Of(&Sample::p50_us).median), " / ",
                        Micros(s.Of(&Sample::p99_us).median));
  }));
  // ringnet against each peer.
  std::vector<std::string> peers;
  for (const std::string& n : names) {
    if (n != "ringnet") peers.push_back(n);
  }
  if (Find(rep.tcp, "ringnet", cells.empty() ? Cell{} : cells[0]) != nullptr && !peers.empty()) {
    absl::StrAppend(
        &out, "\n### ringnet relative to each server\n\n",
        "`msgs/s ratio` is ringnet / server; `CPU ratio` is server CPU per message / ringnet's; "
        "above 1 ringnet is better in both. In parentheses: the two servers' ranges overlap, so "
        "the difference is **not established**.\n\n");
    std::vector<std::string> columns;
    for (const std::string& p : peers) columns.push_back(absl::StrCat("vs ", p));
    std::string table = Header(columns);
    for (const Cell& c : cells) {
      const Series* mine = Find(rep.tcp, "ringnet", c);
      absl::StrAppend(&table, "| ", CellName(c), " |");
      for (const std::string& p : peers) {
        const Series* other = Find(rep.tcp, p, c);
        if (mine == nullptr || other == nullptr) {
          absl::StrAppend(&table, " - |");
          continue;
        }
        const Ratio msgs =
            Ratio::Of(mine->Of(&Sample::msgs_per_sec), other->Of(&Sample::msgs_per_sec));
        const Ratio cpu = Ratio::Of(other->Of(&Sample::server_cpu_us_per_msg),
                                    mine->Of(&Sample::server_cpu_us_per_msg));
        auto f = [](const Ratio& r) {
          return r.established ? absl::StrFormat("%.2fx", r.median)
                               : absl::StrFormat("(%.2fx)", r.median);
        };
        absl::StrAppend(&table, " ", f(msgs), " / ", f(cpu), " |");
      }
      absl::StrAppend(&table, "\n");
    }
    absl::StrAppend(&out, "Each entry: msgs/s ratio / CPU ratio.\n\n", table);
  }
  // The servers' own counters.
  std::vector<std::string> counted;
  for (const Peer& p : rep.config.peers) {
    if (!p.calls_key.empty()) counted.push_back(p.name);
  }
  if (!counted.empty()) {
    absl::StrAppend(
        &out, "\n### System calls per message, counted by the servers themselves\n\n",
        "ringnet, ringnet-busypoll and liburing count io_uring_enter calls; the epoll baseline and "
        "ringnet-epoll "
        "count every system call they make (epoll_wait, accept4, read, write, close). Whole run "
        "(warm-up, set-up and "
        "tear-down included) divided by every message echoed. Asio and Go count nothing: see the "
        "perf pass below for a count that covers every server.\n\n");
    absl::StrAppend(&out, Table(rep.tcp, cells, counted, [](const Series& s) {
      const Spread k = s.Of(&Sample::calls_per_msg);
      return k.valid() && k.median >= 0 ? absl::StrFormat("%.4f", k.median) : std::string("n/a");
    }));
  }
  return out;
}

std::string SyscallSection(const Report& rep) {
  std::string out;
  if (!rep.syscalls_note.empty()) return absl::StrCat("Not measured: ", rep.syscalls_note, "\n");
  if (rep.syscalls.empty()) return "Not measured (pass disabled).\n";
  absl::StrAppend(
      &out,
      "Each server once more on these cells under `perf stat -e "
      "raw_syscalls:sys_enter,syscalls:sys_enter_io_uring_enter` (every thread, whole run "
      "including set-up, warm-up and tear-down, divided by every message echoed). Kept "
      "out of the timed runs: tracepoints cost time. Entry: all system calls / "
      "io_uring_enter calls per message.\n\n");
  const std::vector<std::string> names = Names(rep.config);
  std::string h = "| size | conns | depth |";
  std::string rule = "|---:|---:|---:|";
  for (const std::string& n : names) {
    absl::StrAppend(&h, " ", n, " |");
    absl::StrAppend(&rule, "---:|");
  }
  absl::StrAppend(&out, h, "\n", rule, "\n");
  for (const Cell& c : rep.config.syscall_cells) {
    absl::StrAppend(&out, "| ", CellName(c), " |");
    for (const std::string& n : names) {
      auto it = rep.syscalls.find(n);
      const SyscallCount* k = nullptr;
      if (it != rep.syscalls.end() && it->second.count(c) > 0) k = &it->second.at(c);
      if (k == nullptr) {
        absl::StrAppend(&out, " - |");
      } else if (!k->ok) {
        absl::StrAppend(&out, " failed |");
      } else {
        absl::StrAppend(
            &out, absl::StrFormat(" %.4f / %.4f |", k->syscalls_per_msg, k->uring_enters_per_msg));
      }
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

double PerConnection(int64_t rss, const MemorySample& m) {
  return static_cast<double>(rss - m.rss_base) / m.connections;
}

std::string MemorySection(const Report& rep) {
  if (rep.memory.empty()) return "Not measured (pass disabled).\n";
  std::string out = absl::StrCat(
      "Each server alone, with ", rep.config.memory_connections,
      " connections opened by plain sockets and left idle. VmRSS from /proc/PID/status: with no "
      "connection (base), once every connection is accepted, and after one 64-byte echo on "
      "every connection (buffers touched, then idle again); per connection = (RSS - base) / "
      "connections. User-space memory only: kernel socket buffers are not in RSS.\n\n",
      "| server | base RSS | accepted, idle | per connection | after one echo, idle | per "
      "connection |\n|---|---:|---:|---:|---:|---:|\n");
  for (const std::string& n : Names(rep.config)) {
    auto it = rep.memory.find(n);
    if (it == rep.memory.end() || it->second.empty()) continue;
    const MemorySample& m = it->second.front();
    if (!m.ok) {
      absl::StrAppend(&out, "| ", n, " | failed: ", m.failure, " | | | | |\n");
      continue;
    }
    absl::StrAppend(
        &out, absl::StrFormat("| %s | %.1f MiB | %.1f MiB | %.0f B | %.1f MiB | %.0f B |\n", n,
                              m.rss_base / 1048576.0, m.rss_connected / 1048576.0,
                              PerConnection(m.rss_connected, m), m.rss_after_echo / 1048576.0,
                              PerConnection(m.rss_after_echo, m)));
  }
  return out;
}

std::string UdpSection(const Report& rep) {
  if (rep.udp.empty()) return "Not measured (pass disabled or no server).\n";
  std::vector<std::string> names;
  for (const auto& [name, cells] : rep.udp) names.push_back(name);
  std::string out = absl::StrCat(
      "Connected UDP sockets from the same load client (`--proto=udp`); each datagram carries "
      "its sequence number, lost ones are replaced after 200 ms and counted. Entry: messages/s "
      "median (min-max) / server CPU us per message / p50 us.\n\n");
  absl::StrAppend(&out, Table(rep.udp, rep.config.udp_cells, names, [](const Series& s) {
    const Spread m = s.Of(&Sample::msgs_per_sec);
    uint64_t lost = 0;
    for (const Sample& x : s.samples) lost += x.lost;
    return absl::StrCat(Rate(m.median), " (", Rate(m.min), "-", Rate(m.max), ") / ",
                        Micros(s.Of(&Sample::server_cpu_us_per_msg).median), " / ",
                        Micros(s.Of(&Sample::p50_us).median),
                        lost > 0 ? absl::StrCat(" (", lost, " lost)") : std::string());
  }));
  if (rep.udp.count("ringnet") > 0 && rep.udp.count("go") > 0) {
    absl::StrAppend(&out, "\n| size | conns | depth | msgs/s ringnet / go | CPU go / ringnet |\n",
                    "|---:|---:|---:|---:|---:|\n");
    for (const Cell& c : rep.config.udp_cells) {
      const Series* a = Find(rep.udp, "ringnet", c);
      const Series* b = Find(rep.udp, "go", c);
      if (a == nullptr || b == nullptr) continue;
      absl::StrAppend(
          &out, "| ", CellName(c), " | ",
          Ratio::Of(a->Of(&Sample::msgs_per_sec), b->Of(&Sample::msgs_per_sec)).Format(), " | ",
          Ratio::Of(b->Of(&Sample::server_cpu_us_per_msg), a->Of(&Sample::server_cpu_us_per_msg))
              .Format(),
          " |\n");
    }
  }
  return out;
}

// One figure of every round of a series (0 for a failed run, so rounds stay aligned).
std::vector<double> PerRound(const Series& s, double Sample::*field) {
  std::vector<double> v;
  for (const Sample& x : s.samples) v.push_back(x.ok ? x.*field : 0);
  return v;
}

std::string FormatPaired(const Spread& p) {
  if (!p.valid()) return "-";
  return absl::StrFormat("%.2fx (%.2f-%.2f, %d rounds)", p.median, p.min, p.max, p.n);
}

// The rounds of `s` that ran undisturbed (rounds are aligned across servers, and a disturbed
// round is marked in every server's series), or all of them when fewer than 3 did.
Series Undisturbed(const Series& s) {
  Series out;
  for (const Sample& x : s.samples) {
    if (!x.disturbed) out.samples.push_back(x);
  }
  if (out.samples.size() < 3) return s;
  for (const Sample& x : out.samples) {
    out.failures += x.ok ? 0 : 1;
    out.errors += x.errors;
  }
  return out;
}

// "7 undisturbed rounds of 9" for a target cell.
std::string RoundsNote(const Report& rep, const Cell& cell) {
  const Series* s = Find(rep.tcp, "ringnet", cell);
  if (s == nullptr) return "";
  const size_t all = s->samples.size();
  const size_t clean = Undisturbed(*s).samples.size();
  return clean == all ? absl::StrCat(all, " rounds, none disturbed")
                      : absl::StrCat(clean, " undisturbed rounds of ", all);
}

std::string TargetsSection(const Report& rep) {
  std::string out = absl::StrCat(
      "Judged on the target cells' undisturbed rounds only: rounds in which other processes took "
      "more than ",
      absl::StrFormat("%.0f%%", 100 * rep.config.disturbed),
      " of the two pinned CPUs during any server's run are left out (the sweep tables keep "
      "them), and the cells are run again until ",
      rep.config.target_rounds,
      " rounds are undisturbed or the extra rounds run out. 64 B x 256 x 16: ",
      RoundsNote(rep, {64, 256, 16}), "; 64 B x 1 x 1: ", RoundsNote(rep, {64, 1, 1}), ".\n\n",
      "Ratios are ringnet / the other server, medians with the range the two servers' ranges "
      "allow; *per round* is the median (min-max) of the ratios within each round, where the "
      "servers ran back to back. A verdict is **met** or **missed** when the ranges settle it, "
      "\"in every round\" when only the per-round ratios do, and *not established* otherwise. "
      "Bound: which CPU was full (see the TCP tables). msgs/s here measure the load client as much "
      "as the server (it runs on one core too); the CPU-per-message ratio is the server's own "
      "figure.\n\n",
      "| target | ratio (range) | per round | CPU per message, other / ringnet: per round | "
      "verdict |\n|---|---|---|---|---|\n");
  const Cell busy{64, 256, 16};
  // Undisturbed copies of the target cells' series.
  std::map<std::pair<std::string, Cell>, Series> clean;
  auto series = [&](const std::string& server, const Cell& cell) -> const Series* {
    const Series* s = Find(rep.tcp, server, cell);
    if (s == nullptr) return nullptr;
    auto [it, added] = clean.try_emplace({server, cell});
    if (added) it->second = Undisturbed(*s);
    return &it->second;
  };
  const Series* ringnet = series("ringnet", busy);
  auto msgs_row = [&](const std::string& peer, double target, const std::string& label) {
    const Series* other = series(peer, busy);
    if (ringnet == nullptr || other == nullptr) {
      absl::StrAppend(&out, "| ", label, " | not measured | | | - |\n");
      return;
    }
    const Ratio r = Ratio::Of(ringnet->Of(&Sample::msgs_per_sec), other->Of(&Sample::msgs_per_sec));
    const Spread paired = PairedRatios(PerRound(*ringnet, &Sample::msgs_per_sec),
                                       PerRound(*other, &Sample::msgs_per_sec));
    const Spread cpu = PairedRatios(PerRound(*other, &Sample::server_cpu_us_per_msg),
                                    PerRound(*ringnet, &Sample::server_cpu_us_per_msg));
    absl::StrAppend(&out, "| ", label, " | ", r.Format(), "; bound ringnet ", Bound(*ringnet), ", ",
                    peer, " ", Bound(*other), " | ", FormatPaired(paired), " | ", FormatPaired(cpu),
                    " | ", Verdict(r, paired, target, true), " |\n");
  };
  msgs_row("epoll", 1.3, "256 conns x 64 B x depth 16: msgs/s >= 1.3x epoll");
  // The faster Asio build: the higher median.
  std::string asio;
  double best = -1;
  for (const char* a : {"asio-epoll", "asio-uring"}) {
    const Series* s = series(a, busy);
    if (s != nullptr && s->Of(&Sample::msgs_per_sec).median > best) {
      best = s->Of(&Sample::msgs_per_sec).median;
      asio = a;
    }
  }
  msgs_row(asio.empty() ? "asio" : asio, 1.2,
           absl::StrCat("256 conns x 64 B x depth 16: msgs/s >= 1.2x the faster Asio build (",
                        asio.empty() ? "none ran" : asio, ")"));
  msgs_row("liburing", 0.95, "256 conns x 64 B x depth 16: msgs/s >= 0.95x the liburing ceiling");
  if (ringnet != nullptr) {
    const Spread e = ringnet->Of(&Sample::calls_per_msg);
    absl::StrAppend(
        &out, absl::StrFormat(
                  "| 256 conns x 64 B x depth 16: < 0.1 io_uring_enter per "
                  "message | %.4f (%.4f-%.4f), ringnet's own count | | | %s |\n",
                  e.median, e.min, e.max,
                  e.max < 0.1 ? "**met**" : (e.min >= 0.1 ? "**missed**" : "not established")));
  }
  const Cell single{64, 1, 1};
  const Series* a = series("ringnet", single);
  const Series* b = series("liburing", single);
  if (a != nullptr && b != nullptr) {
    const Ratio r = Ratio::Of(a->Of(&Sample::p50_us), b->Of(&Sample::p50_us));
    const Spread paired =
        PairedRatios(PerRound(*a, &Sample::p50_us), PerRound(*b, &Sample::p50_us));
    absl::StrAppend(&out,
                    absl::StrFormat("| 1 conn x 64 B x depth 1: p50 latency <= 1.05x liburing's | "
                                    "ringnet %s us, liburing %s us: %s | %s | | %s |\n",
                                    Micros(a->Of(&Sample::p50_us).median),
                                    Micros(b->Of(&Sample::p50_us).median), r.Format(),
                                    FormatPaired(paired), Verdict(r, paired, 1.05, false)));
  }
  auto mem = rep.memory.find("ringnet");
  if (mem != rep.memory.end() && !mem->second.empty() && mem->second.front().ok) {
    const MemorySample& m = mem->second.front();
    const double idle = PerConnection(m.rss_connected, m);
    const double echoed = PerConnection(m.rss_after_echo, m);
    absl::StrAppend(
        &out, absl::StrFormat("| <= 1 KiB of user-space memory per idle TCP session | %.0f B "
                              "accepted and idle; %.0f B idle after one echo (%d connections) | "
                              "| | %s |\n",
                              idle, echoed, m.connections,
                              std::max(idle, echoed) <= 1024 ? "**met**" : "**missed**"));
  }
  return out;
}

void WriteCsv(const Report& rep, const std::string& dir) {
  std::ofstream samples(dir + "/tcp_samples.csv");
  samples
      << "server,size,connections,depth,run,ok,msgs_per_sec,server_cpu_us_per_msg,"
         "server_util,client_util,server_cpu_busy,client_cpu_busy,other_load,calls_per_msg,p50_us,"
         "p99_us,errors,disturbed\n";
  std::ofstream medians(dir + "/tcp_medians.csv");
  medians << "server,size,connections,depth,msgs_per_sec,msgs_min,msgs_max,cpu_us_per_msg,"
             "cpu_min,cpu_max,p50_us,p99_us\n";
  for (const auto& [server, cells] : rep.tcp) {
    for (const auto& [c, series] : cells) {
      int run = 0;
      for (const Sample& s : series.samples) {
        samples << absl::StrFormat(
            "%s,%d,%d,%d,%d,%d,%.1f,%.4f,%.3f,%.3f,%.3f,%.3f,%.3f,%.5f,%.1f,%.1f,%d,%d\n", server,
            c.size, c.connections, c.depth, run++, s.ok ? 1 : 0, s.msgs_per_sec,
            s.server_cpu_us_per_msg, s.server_util, s.client_util, s.server_cpu_busy,
            s.client_cpu_busy, s.other_load, s.calls_per_msg, s.p50_us, s.p99_us, s.errors,
            s.disturbed ? 1 : 0);
      }
      const Spread m = series.Of(&Sample::msgs_per_sec);
      const Spread cpu = series.Of(&Sample::server_cpu_us_per_msg);
      if (!m.valid()) continue;
      medians << absl::StrFormat("%s,%d,%d,%d,%.1f,%.1f,%.1f,%.4f,%.4f,%.4f,%.1f,%.1f\n", server,
                                 c.size, c.connections, c.depth, m.median, m.min, m.max, cpu.median,
                                 cpu.min, cpu.max, series.Of(&Sample::p50_us).median,
                                 series.Of(&Sample::p99_us).median);
    }
  }
}

// Median and worst share of the two CPUs other processes took during the measured windows.
std::string NoiseLine(const Results& r) {
  std::vector<double> v;
  for (const auto& [server, cells] : r) {
    for (const auto& [c, series] : cells) {
      for (const Sample& s : series.samples) {
        if (s.ok) v.push_back(s.other_load);
      }
    }
  }
  const Spread s = Spread::Of(v);
  if (!s.valid()) return "";
  int over = 0;
  for (double x : v) over += x > 0.1 ? 1 : 0;
  return absl::StrFormat(
      "Other processes used a median %.0f%% (worst %.0f%%) of the two pinned CPUs during the "
      "measured windows; %d of %d runs had more than 10%%.",
      100 * s.median, 100 * s.max, over, s.n);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

}  // namespace

void WriteReport(const Report& rep, const std::string& dir) {
  WriteFile(dir + "/tcp.md", rep.tcp.empty() ? "Not measured (pass disabled).\n" : TcpSection(rep));
  WriteFile(dir + "/targets.md", TargetsSection(rep));
  WriteFile(dir + "/syscalls.md", SyscallSection(rep));
  WriteFile(dir + "/memory.md", MemorySection(rep));
  WriteFile(dir + "/udp.md", UdpSection(rep));
  WriteFile(dir + "/run.md",
            absl::StrFormat(
                "%d TCP cells x %d servers x %d rounds of %.2f s measured after "
                "%.2f s of warm-up each (a fresh server per run; longer where many "
                "bytes are in flight)%s; servers: %s; all passes took %.0f s. %s\n",
                rep.config.cells.size(), rep.config.peers.size(), rep.config.rounds,
                rep.config.duration, rep.config.warmup,
                rep.config.target_cells.empty()
                    ? std::string()
                    : absl::StrCat(", then more rounds of the ", rep.config.target_cells.size(),
                                   " target cells until ", rep.config.target_rounds,
                                   " of their rounds ran undisturbed"),
                absl::StrJoin(Names(rep.config), ", "), rep.seconds, NoiseLine(rep.tcp)));
  WriteCsv(rep, dir);
}

}  // namespace ringnet::bench
