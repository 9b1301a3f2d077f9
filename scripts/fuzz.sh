#!/usr/bin/env bash
# Builds a libFuzzer target with --config=fuzz (clang, ASan, UBSan) and runs it
# for N seconds over a scratch copy of its seed corpus; exits non-zero if the
# fuzzer finds a crash or a broken invariant. CI runs each target for 60 s.
#
#   scripts/fuzz.sh frame_parser_fuzzer 60
#   scripts/fuzz.sh handshake_fuzzer 60
#   scripts/fuzz.sh stream_codec_fuzzer 60   # LengthFieldCodec and LineCodec
#
# Extra arguments go to the fuzzer (e.g. -jobs=2). Crash reproducers are kept
# in ${FUZZ_ARTIFACTS:-/tmp/ringnet-fuzz}/<target>/; replay one with
#   bazel-bin/codec/websocket/<target> <file>   (bazel-bin/codec/stream_codec_fuzzer; after a
#   --config=fuzz build).
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: scripts/fuzz.sh <frame_parser_fuzzer|handshake_fuzzer|stream_codec_fuzzer> <seconds> [fuzzer args...]"
target=${1:?${usage}}
seconds=${2:?${usage}}
shift 2
case "${target}" in
  frame_parser_fuzzer) package=codec/websocket corpus=codec/websocket/corpus/frame ;;
  handshake_fuzzer) package=codec/websocket corpus=codec/websocket/corpus/handshake ;;
  stream_codec_fuzzer) package=codec corpus=codec/corpus/stream ;;
  *) echo "${usage}" >&2; exit 2 ;;
esac

# clang, lld and libFuzzer (installed when missing; nothing happens when they are present).
scripts/ensure_deps.sh fuzz

bazel build --config=fuzz "//${package}:${target}"
binary="$(bazel info --config=fuzz bazel-bin)/${package}/${target}"

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
cp -r "${corpus}" "${work}/corpus"
artifacts="${FUZZ_ARTIFACTS:-/tmp/ringnet-fuzz}/${target}"
mkdir -p "${artifacts}"

echo "=== ${target}: ${seconds} s over $(ls "${corpus}" | wc -l) seed inputs"
"${binary}" -max_total_time="${seconds}" -print_final_stats=1 \
  -artifact_prefix="${artifacts}/" "$@" "${work}/corpus"
