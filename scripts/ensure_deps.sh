#!/usr/bin/env bash
# Installs the Debian packages ringnet needs, and only those that are missing: when everything is
# present it does nothing (no apt-get update, no network). Must run as root to install.
#
#   scripts/ensure_deps.sh build   # what `bazel build` and the demo need
#   scripts/ensure_deps.sh test    # plus the independent peers the tests talk to
#   scripts/ensure_deps.sh fuzz    # plus clang, lld and compiler-rt for scripts/fuzz.sh
#   scripts/ensure_deps.sh tidy    # plus clang-tidy for scripts/tidy.sh
#
# Test mode also installs nftables (nft) and iproute2 (tc, ip), with which the fault tests
# (test/faults) break the loopback of a network namespace of their own, and the WebSocket interop
# peers (see test/interop/BUILD.bazel):
# python3-websockets; Node.js and npm (Debian's, only when no `node` is on PATH); Node's `ws`,
# installed with `npm ci` from test/interop/node/package-lock.json into
# ${RINGNET_INTEROP_CACHE:-/var/cache/ringnet}/node (outside the source tree; done again only when
# the lock file changes; --prefer-offline, so it works offline once npm's cache holds the
# packages); and chromium, whose failure to install is only a warning (its test then reports
# SKIPPED).
set -euo pipefail
cd "$(dirname "$0")/.."

build_packages=(bazel-bootstrap g++ liburing-dev libabsl-dev googletest libgtest-dev libbenchmark-dev)
test_packages=(python3 python3-websockets nftables iproute2)
fuzz_packages=(clang lld libclang-rt-14-dev)
tidy_packages=(clang-tidy)
mode=${1:-build}

packages=("${build_packages[@]}")
if [[ "${mode}" == "fuzz" ]]; then packages+=("${fuzz_packages[@]}"); fi
if [[ "${mode}" == "tidy" ]]; then packages+=("${tidy_packages[@]}"); fi
if [[ "${mode}" == "test" ]]; then
  packages+=("${test_packages[@]}")
  if ! command -v node >/dev/null; then packages+=(nodejs npm); fi
fi

missing_of() {  # packages... -> those not installed
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      echo "$p"
    fi
  done
}

updated=0
apt_install() {  # packages...
  if [[ $(id -u) -ne 0 ]]; then
    echo "ringnet: run as root (or install them yourself): apt-get install $*" >&2
    return 1
  fi
  if ((updated == 0)); then
    apt-get update -qq
    updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

mapfile -t missing < <(missing_of "${packages[@]}")
if ((${#missing[@]} > 0)); then
  echo "ringnet: installing missing Debian packages: ${missing[*]}" >&2
  apt_install "${missing[@]}"
fi

[[ "${mode}" == "test" ]] || exit 0

# Chromium: optional (the browser interop test reports SKIPPED without it).
mapfile -t missing < <(missing_of chromium)
if ((${#missing[@]} > 0)); then
  echo "ringnet: installing chromium for the browser interop test" >&2
  if ! apt_install chromium; then
    echo "ringnet: warning: chromium could not be installed; its test will be skipped" >&2
  fi
fi

# Node's ws, pinned by the committed lock file, installed outside the source tree.
node_src=test/interop/node
node_dir=${RINGNET_INTEROP_CACHE:-/var/cache/ringnet}/node
if ! cmp -s "${node_src}/package-lock.json" "${node_dir}/package-lock.json" ||
  [[ ! -f "${node_dir}/node_modules/ws/package.json" ]]; then
  echo "ringnet: installing Node packages (npm ci) into ${node_dir}" >&2
  mkdir -p "${node_dir}"
  cp "${node_src}/package.json" "${node_src}/package-lock.json" "${node_dir}/"
  (cd "${node_dir}" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
fi
