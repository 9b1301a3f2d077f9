#!/usr/bin/env bash
# //test/interop:chromium_interop_test: headless Chromium opens WebSockets to ringnet's server from
# a page, driven over the DevTools protocol by browser/chromium_interop.py (Debian's python3 and
# python3-websockets). Prints SKIPPED and passes only when Chromium is not installed (when
# scripts/ensure_deps.sh test could not install it).
set -euo pipefail
ws_peer=$1
chromium=""
for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
  [[ -z "${chromium}" && -x "${candidate}" ]] && chromium=${candidate}
done
if [[ -z "${chromium}" ]]; then
  echo "SKIPPED: Chromium is not installed (scripts/ensure_deps.sh test installs the Debian" \
    "package chromium when the archive is reachable)"
  exit 0
fi
python=/usr/bin/python3
if ! "${python}" -c "import websockets" 2>/dev/null; then
  echo "FAIL: ${python} cannot import websockets; run scripts/ensure_deps.sh test" >&2
  exit 1
fi
exec "${python}" test/interop/browser/chromium_interop.py "${chromium}" "${ws_peer}"
