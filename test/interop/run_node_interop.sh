#!/usr/bin/env bash
# //test/interop:node_interop_test: Node's ws (pinned by node/package-lock.json) against ringnet's
# WebSocket server and client. node_modules is installed outside the source tree by
# scripts/ensure_deps.sh test, in ${RINGNET_INTEROP_CACHE:-/var/cache/ringnet}/node.
set -euo pipefail
ws_peer=$1
cache=${RINGNET_INTEROP_CACHE:-/var/cache/ringnet}
node=$(command -v node || true)
for candidate in /usr/bin/node /usr/local/bin/node; do
  [[ -z "${node}" && -x "${candidate}" ]] && node=${candidate}
done
if [[ -z "${node}" ]]; then
  echo "FAIL: node is not installed; run scripts/ensure_deps.sh test" >&2
  exit 1
fi
if ! cmp -s test/interop/node/package-lock.json "${cache}/node/package-lock.json" ||
  [[ ! -f "${cache}/node/node_modules/ws/package.json" ]]; then
  echo "FAIL: ${cache}/node/node_modules is missing or not installed from" \
    "test/interop/node/package-lock.json; run scripts/ensure_deps.sh test" >&2
  exit 1
fi
NODE_PATH="${cache}/node/node_modules" exec "${node}" test/interop/node/ws_interop.js "${ws_peer}"
