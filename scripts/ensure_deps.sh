#!/usr/bin/env bash
# Installs the Debian packages ringnet needs, and only those that are missing: when everything is
# present it does nothing (no apt-get update, no network). Must run as root to install.
#
#   scripts/ensure_deps.sh build   # what `bazel build` and the demo need
#   scripts/ensure_deps.sh test    # plus the independent peers the tests talk to
set -euo pipefail

build_packages=(bazel-bootstrap g++ liburing-dev libabsl-dev googletest libgtest-dev libbenchmark-dev)
test_packages=(python3)

packages=("${build_packages[@]}")
if [[ "${1:-build}" == "test" ]]; then packages+=("${test_packages[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} > 0)); then
  echo "ringnet: installing missing Debian packages: ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "ringnet: run as root (or install them yourself): apt-get install ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
