#!/usr/bin/env python3
"""Same-run A/B of two echo_server binaries (e.g. a commit and the one before it).

Rounds alternate A and B (A first in odd rounds, B first in even ones), each server pinned to
one CPU and the load client (echo_client) to the other, for each cell. Per run it records the
client's messages/s and the server's CPU time (utime + stime from /proc) per message. Prints
per cell the medians, the B/A ratios (msgs/s: B/A; CPU per message: A/B, so > 1 favours B) and
the per-round ratio range; a ratio whose per-round range straddles 1.0 is in parentheses (not
established). Build the binaries with -c opt first:

  git worktree add /tmp/old <commit> && (cd /tmp/old && bazel build -c opt //examples:echo_server)
  bazel build -c opt //examples:echo_server //examples:echo_client
  bench/ab_echo.py --a=/tmp/old/bazel-bin/examples/echo_server \\
      --b=bazel-bin/examples/echo_server --client=bazel-bin/examples/echo_client

Cells are PROTO:SIZE:CONNECTIONS:DEPTH (default: issue 17's four).
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time

DEFAULT_CELLS = "tcp:64:256:16,tcp:4096:256:16,ws:64:64:16,udp:64:64:16"


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(server, client, cell, args):
    proto, size, conns, depth = cell.split(":")
    srv = subprocess.Popen(["taskset", "-c", str(args.server_cpu), server, f"--proto={proto}",
                            "--listen=127.0.0.1:0"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    try:
        line = srv.stdout.readline().split()
        if len(line) != 3 or line[0] != "listening":
            raise RuntimeError(f"{server}: no listening line: {line}")
        address = line[2]
        before = cpu_seconds(srv.pid)
        out = subprocess.run(
            ["taskset", "-c", str(args.client_cpu), client, f"--proto={proto}",
             f"--connect={address}", f"--connections={conns}", f"--size={size}",
             f"--depth={depth}", f"--duration={args.duration}", f"--warmup={args.warmup}"],
            capture_output=True, text=True, timeout=120)
        cpu = cpu_seconds(srv.pid) - before
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=10)
    m = re.search(r"msgs_per_sec=([\d.]+).* errors=(\d+)", out.stdout)
    if out.returncode != 0 or m is None or int(m.group(2)) != 0:
        raise RuntimeError(f"{cell}: client failed: {out.stdout}{out.stderr}")
    rate = float(m.group(1))
    messages = rate * (args.duration + args.warmup)
    return rate, cpu / messages * 1e6  # msgs/s, server CPU us per message (warm-up included)


def fmt(ratio, lo, hi):
    text = f"{ratio:.3f}x"
    return f"({text})" if lo < 1.0 < hi else text


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--a", required=True, help="baseline echo_server")
    p.add_argument("--b", required=True, help="candidate echo_server")
    p.add_argument("--client", required=True, help="echo_client")
    p.add_argument("--cells", default=DEFAULT_CELLS)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=float, default=2.0)
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--server_cpu", type=int, default=0)
    p.add_argument("--client_cpu", type=int, default=1)
    args = p.parse_args()
    print(f"A = {args.a}\nB = {args.b}\n{args.rounds} alternating rounds of {args.duration} s\n")
    print("| cell | A msgs/s | B msgs/s | msgs/s B/A (range) | A us/msg | B us/msg | CPU/msg A/B (range) |")
    print("|---|---:|---:|---|---:|---:|---|")
    for cell in args.cells.split(","):
        results = {"a": [], "b": []}
        for r in range(args.rounds):
            order = ["a", "b"] if r % 2 == 0 else ["b", "a"]
            for which in order:
                results[which].append(run(getattr(args, which), args.client, cell, args))
        rate_ratios = [b[0] / a[0] for a, b in zip(results["a"], results["b"])]
        cpu_ratios = [a[1] / b[1] for a, b in zip(results["a"], results["b"])]
        med = lambda xs, i: statistics.median(x[i] for x in xs)
        print(f"| {cell} | {med(results['a'], 0):.0f} | {med(results['b'], 0):.0f} | "
              f"{fmt(statistics.median(rate_ratios), min(rate_ratios), max(rate_ratios))} "
              f"({min(rate_ratios):.2f}-{max(rate_ratios):.2f}) | {med(results['a'], 1):.3f} | "
              f"{med(results['b'], 1):.3f} | "
              f"{fmt(statistics.median(cpu_ratios), min(cpu_ratios), max(cpu_ratios))} "
              f"({min(cpu_ratios):.2f}-{max(cpu_ratios):.2f}) |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
