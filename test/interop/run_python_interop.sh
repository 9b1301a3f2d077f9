#!/usr/bin/env bash
# //test/interop:python_interop_test: Debian's python3-websockets against ringnet's WebSocket
# server and client. Debian's own interpreter (/usr/bin/python3): a pyenv or venv python3 earlier
# on PATH would not see /usr/lib/python3/dist-packages. scripts/test installs the package.
set -euo pipefail
ws_peer=$1
python=/usr/bin/python3
if ! "${python}" -c "import websockets" 2>/dev/null; then
  echo "FAIL: ${python} cannot import websockets; install it with scripts/ensure_deps.sh test" \
    "(Debian package python3-websockets)" >&2
  exit 1
fi
exec "${python}" test/interop/python/ws_interop.py "${ws_peer}"
