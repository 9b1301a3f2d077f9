#!/usr/bin/env bash
# Runs the README's quick-start echo pairs exactly as the README shows them (`bazel run -c opt
# //examples:echo_server` and `//examples:echo_client`), for tcp, udp (connected and not) and ws,
# and the tcp pair through `//examples:tcp_proxy`: each client must exit 0 with errors=0, and each
# server (and the proxy) must exit 0 on SIGTERM. Servers listen on port 0 (the README's ports may
# be taken) and each client is pointed at the port printed. Exits non-zero on the first failure.
#
#   scripts/quickstart_check.sh [--duration=SECONDS]   # default 1
set -euo pipefail
cd "$(dirname "$0")/.."
duration=1
for arg in "$@"; do
  case "${arg}" in
    --duration=*) duration=${arg#--duration=} ;;
    *) echo "usage: $0 [--duration=SECONDS]" >&2; exit 2 ;;
  esac
done
scripts/ensure_deps.sh build
bazel build -c opt //examples:echo_server //examples:echo_client //examples:tcp_proxy

work=$(mktemp -d)
server_pid=
proxy_pid=
cleanup() {
  [[ -n "${server_pid}" ]] && kill -KILL "${server_pid}" 2>/dev/null || true
  [[ -n "${proxy_pid}" ]] && kill -KILL "${proxy_pid}" 2>/dev/null || true
  rm -rf "${work}"
}
trap cleanup EXIT

# proto, extra client flags...
check_pair() {
  local proto=$1
  shift
  local name="${proto}${1:+ $*}"
  bazel run -c opt //examples:echo_server -- --proto="${proto}" --listen=127.0.0.1:0 \
    >"${work}/server.out" 2>"${work}/server.err" &
  server_pid=$!
  local address=
  for _ in $(seq 1 600); do  # the line comes once the build is up to date: seconds at most
    address=$(awk '$1 == "listening" { print $3; exit }' "${work}/server.out")
    [[ -n "${address}" ]] && break
    kill -0 "${server_pid}" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "${address}" ]]; then
    echo "quickstart: ${name}: echo_server printed no 'listening' line" >&2
    cat "${work}/server.err" >&2
    return 1
  fi
  local rc=0
  bazel run -c opt //examples:echo_client -- --proto="${proto}" --connect="${address}" \
    --connections=64 --size=64 --depth=16 --duration="${duration}" "$@" \
    >"${work}/client.out" 2>"${work}/client.err" || rc=$?
  local result
  result=$(grep '^RESULT ' "${work}/client.out" || true)
  kill -TERM "${server_pid}"
  local server_rc=0
  wait "${server_pid}" || server_rc=$?
  server_pid=
  echo "quickstart: ${name}: client exit ${rc}, server exit ${server_rc}: ${result}"
  if ((rc != 0)) || [[ "${result}" != *" errors=0 "* ]] || ((server_rc != 0)); then
    cat "${work}/client.out" "${work}/client.err" "${work}/server.err" >&2
    return 1
  fi
}

# The tcp pair with tcp_proxy between them: echo_client -> tcp_proxy -> echo_server.
check_proxy() {
  bazel run -c opt //examples:echo_server -- --proto=tcp --listen=127.0.0.1:0 \
    >"${work}/server.out" 2>"${work}/server.err" &
  server_pid=$!
  local upstream
  upstream=$(wait_listening "${work}/server.out" "${server_pid}") || {
    echo "quickstart: proxy: echo_server printed no 'listening' line" >&2
    cat "${work}/server.err" >&2
    return 1
  }
  bazel run -c opt //examples:tcp_proxy -- --listen=127.0.0.1:0 --upstream="${upstream}" \
    >"${work}/proxy.out" 2>"${work}/proxy.err" &
  proxy_pid=$!
  local address
  address=$(wait_listening "${work}/proxy.out" "${proxy_pid}") || {
    echo "quickstart: proxy: tcp_proxy printed no 'listening' line" >&2
    cat "${work}/proxy.err" >&2
    return 1
  }
  local rc=0
  bazel run -c opt //examples:echo_client -- --proto=tcp --connect="${address}" \
    --connections=64 --size=64 --depth=16 --duration="${duration}" \
    >"${work}/client.out" 2>"${work}/client.err" || rc=$?
  local result
  result=$(grep '^RESULT ' "${work}/client.out" || true)
  kill -TERM "${proxy_pid}" "${server_pid}"
  local proxy_rc=0 server_rc=0
  wait "${proxy_pid}" || proxy_rc=$?
  wait "${server_pid}" || server_rc=$?
  proxy_pid=
  server_pid=
  echo "quickstart: tcp through tcp_proxy: client exit ${rc}, proxy exit ${proxy_rc}, server" \
    "exit ${server_rc}: ${result}"
  if ((rc != 0)) || [[ "${result}" != *" errors=0 "* ]] || ((proxy_rc != 0)) ||
    ((server_rc != 0)); then
    cat "${work}/client.out" "${work}/client.err" "${work}/proxy.err" "${work}/server.err" >&2
    return 1
  fi
}

# out-file pid: prints the address of the process's "listening" line once it is there.
wait_listening() {
  local address=
  for _ in $(seq 1 600); do  # the line comes once the build is up to date: seconds at most
    address=$(awk '$1 == "listening" { print $3; exit }' "$1")
    [[ -n "${address}" ]] && break
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n "${address}" ]] && echo "${address}"
}

check_pair tcp
check_pair udp
check_pair udp --connected=false
check_pair ws
check_proxy
echo "quickstart: every pair passed"
