#!/usr/bin/env bash
# clang-tidy (Debian's clang-tidy 14) over the library (runtime/, net/, codec/) and examples/,
# with the checks in .clang-tidy. Exits non-zero on any finding. Extra arguments: the files to
# check (default: every non-test source).
#
#   scripts/tidy.sh                 # everything, two files at a time
#   scripts/tidy.sh net/session.cc  # one file
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure_deps.sh tidy

# Headers are included as "ringnet/<package>/...": a directory whose ringnet/ is this checkout.
include_dir=$(mktemp -d)
trap 'rm -rf "${include_dir}"' EXIT
ln -s "$PWD" "${include_dir}/ringnet"

if (($# > 0)); then
  files=("$@")
else
  mapfile -t files < <(git ls-files 'runtime/*.cc' 'net/*.cc' 'codec/*.cc' 'examples/*.cc' |
    grep -vE '_test\.cc$|_fuzzer\.cc$|corpus_gen\.cc$|fuzz_replay_main\.cc$|test_inputs')
fi

log_dir=$(mktemp -d)
jobs=$(nproc)
printf '%s\n' "${files[@]}" | xargs -P "${jobs}" -I{} sh -c \
  'clang-tidy --quiet "$1" -- -std=c++20 -x c++ -I"$2" >"$3/$(echo "$1" | tr / _).log" 2>&1 || echo "$1" >>"$3/failed"' \
  _ {} "${include_dir}" "${log_dir}"
cat "${log_dir}"/*.log | grep -E '(warning|error):' | sort -u || true
if [[ -f "${log_dir}/failed" ]]; then
  echo "tidy: findings in $(wc -l <"${log_dir}/failed") of ${#files[@]} files:" $(sort "${log_dir}/failed")
  rm -rf "${log_dir}"
  exit 1
fi
rm -rf "${log_dir}"
echo "tidy: ${#files[@]} files, no findings"
