#!/usr/bin/env bash
# Runs a Python 3 test script with the system interpreter (Debian's python3).
set -euo pipefail
exec python3 "$@"
