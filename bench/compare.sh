#!/usr/bin/env bash
# The side-by-side comparison of issue 6: ringnet's echo server against the epoll baseline, Boost.Asio
# (epoll and io_uring builds), Go's net package and a hand-written liburing ceiling, and its
# WebSocket echo against Node's ws and Boost.Beast; writes bench/RESULTS.md and the plots in
# bench/results/. See bench/README.md.
#
#   bench/compare.sh            # the default sweep (11-15 minutes on 2 vCPUs, build included)
#   bench/compare.sh --quick    # a representative subset, a few minutes
#   bench/compare.sh -- --rounds=5 --duration=1   # extra flags for //bench:compare
#
# Installs the Debian packages it lacks first (libboost1.81-dev, golang-go, gnuplot-nox,
# linux-perf), builds everything with -c opt, builds the Go peer with `go build` into a temporary
# directory, runs the passes with the servers pinned to CPU 0 and the load client to CPU 1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0
compare_args=()
while (($# > 0)); do
  case "$1" in
    --quick) quick=1 ;;
    --) shift; compare_args+=("$@"); break ;;
    *) compare_args+=("$1") ;;
  esac
  shift
done

# 1. Packages: ringnet's own (with Node's ws for the WebSocket rows), then the peers' and the report's.
scripts/ensure_deps.sh test
missing=()
for p in libboost1.81-dev golang-go gnuplot-nox linux-perf; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} > 0)); then
  echo "compare: installing missing Debian packages: ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "compare: run as root (or install them yourself): apt-get install ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 2. Build: the C++ servers and drivers with Bazel (the Asio and Beast peers are `manual`), Go with
# go build.
bazel build -c opt //bench:compare //bench:udp_send //bench:epoll_echo_server //examples:echo_server \
  //bench/peers:liburing_echo_server //bench/peers:asio_echo_server //bench/peers:asio_uring_echo_server \
  //bench/peers:beast_echo_server
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
GOPROXY=off GOFLAGS= GOCACHE="$work/gocache" go build -o "$work/go_echo_server" bench/peers/go_echo_server.go

# 3. Measure.
out="$work/out"
mkdir -p "$out" bench/results
if ((quick)); then
  compare_args=(--sizes=64,4096 --connections=1,256,1000 --memory_connections=10000 "${compare_args[@]}")
fi
echo "compare: measuring (servers on CPU 0, client on CPU 1); load now: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$bin/bench/compare" --out_dir="$out" \
  --ringnet="$bin/examples/echo_server" --epoll="$bin/bench/epoll_echo_server" \
  --liburing="$bin/bench/peers/liburing_echo_server" \
  --asio_epoll="$bin/bench/peers/asio_echo_server" --asio_uring="$bin/bench/peers/asio_uring_echo_server" \
  --go="$work/go_echo_server" "${compare_args[@]}"
echo "compare: //bench:udp_send" >&2
"$bin/bench/udp_send" --rounds=3 > "$out/udp_send.md" 2> /dev/null

# WebSocket rows: ringnet against Node's ws and Boost.Beast, from //bench:websocket (its own
# interleaved rounds; the Beast binary by absolute path, as `bazel run` starts in the runfiles tree).
echo "compare: //bench:websocket" >&2
if ! bazel run -c opt //bench:websocket -- --beast_server="$bin/bench/peers/beast_echo_server" \
  > "$out/websocket.md" 2> "$work/websocket.log"; then
  { echo "//bench:websocket failed:"; echo '```'; tail -20 "$work/websocket.log"; echo '```'; } > "$out/websocket.md"
fi

# 4. Plots: messages/s and server CPU per message against connections, one line per server.
bench/plot_compare.sh "$out/tcp_medians.csv" bench/results

# 5. RESULTS.md.
elapsed=$(($(date +%s) - start))
bench/write_results.sh "$out" "$elapsed" > bench/RESULTS.md
cp "$out/tcp_samples.csv" bench/results/tcp_samples.csv
cp "$out/tcp_medians.csv" bench/results/tcp_medians.csv
echo "compare: wrote bench/RESULTS.md and bench/results/ in ${elapsed} s" >&2
