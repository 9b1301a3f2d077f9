#!/usr/bin/env bash
# Fails if a codec/websocket library depends on anything but codec/ and absl
# (no liburing, no runtime/, no net/): the codec layer must stay pure functions
# over bytes. $1 is the output of :codec_deps (a genquery of their deps).
set -euo pipefail
deps_file=$1
if [[ ! -s "${deps_file}" ]]; then
  echo "empty dependency list: ${deps_file}" >&2
  exit 1
fi
forbidden=$(grep -vE '^(//codec/|@com_google_absl//)' "${deps_file}" || true)
if [[ -n "${forbidden}" ]]; then
  echo "codec/websocket libraries depend on targets outside codec/ and absl:" >&2
  echo "${forbidden}" >&2
  exit 1
fi
echo "codec/websocket depends only on codec/ and absl ($(wc -l <"${deps_file}") targets)"
