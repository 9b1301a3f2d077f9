#!/usr/bin/env bash
# Fails if anything under //codec depends on liburing, runtime/ or net/: codec must stay pure.
set -euo pipefail
deps_file="$1"
if grep -E '@liburing|//runtime|//net' "${deps_file}"; then
  echo "codec/ must depend on absl only; the lines above break the layering rule" >&2
  exit 1
fi
echo "codec/ depends on: $(grep -c . "${deps_file}") targets, none of liburing/runtime/net"
