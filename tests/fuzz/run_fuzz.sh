#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (docs/fuzzing.md).
#
#   run_fuzz.sh --build DIR --seeds DIR (--seconds N | --runs N) [--live DIR] [--extra] [TARGET...]
#
# --build: a build configured with -DME_FUZZ=ON (binaries in DIR/fuzz).
# --seeds: the output of make_corpus.py (one folder per reader).
# --seconds N: fuzz each target for N seconds (-max_total_time); --runs N: run
#   N inputs each (-runs; the smoke test). Targets run one after the other.
# --live DIR: where new interesting inputs are kept between runs (default
#   BUILD/fuzz-corpus); the seed folder is never written.
# --extra: also read ../shared/conformance/onnx-node's models (in place,
#   read-only) as ONNX seeds.
# A crash, leak, UB report or timeout (10 s per input) stops with exit 1 and
# leaves the input in BUILD/fuzz-artifacts/.
set -uo pipefail
cd "$(dirname "$0")/../.."
build= seeds= seconds= runs= live= extra=0 targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --live) live=$2; shift 2 ;;
    --extra) extra=1; shift ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ -z "$build" ] || [ -z "$seeds" ] || { [ -z "$seconds" ] && [ -z "$runs" ]; }; then
  echo "usage: $0 --build DIR --seeds DIR (--seconds N | --runs N) [--live DIR] [--extra] [TARGET...]" >&2
  exit 2
fi
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_onnx fuzz_dlc fuzz_ctxbin fuzz_gguf fuzz_encodings fuzz_calib fuzz_input_list)
live=${live:-$build/fuzz-corpus}
art=$build/fuzz-artifacts
mkdir -p "$art"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in "${targets[@]}"; do
  kind=${t#fuzz_}
  bin=$build/fuzz/$t
  if [ ! -x "$bin" ]; then echo "run_fuzz.sh: $bin is missing (build with -DME_FUZZ=ON)" >&2; exit 1; fi
  mkdir -p "$live/$kind"
  dirs=("$live/$kind" "$seeds/$kind")
  if [ "$extra" = 1 ] && [ "$kind" = onnx ] && [ -d ../shared/conformance/onnx-node ]; then
    dirs+=(../shared/conformance/onnx-node)
  fi
  # --runs (the smoke test) uses a fixed seed: the same mutations every time
  if [ -n "$seconds" ]; then limit=(-max_total_time="$seconds"); else limit=(-runs="$runs" -seed=1); fi
  log=$build/fuzz-artifacts/$t.log
  start=$(date +%s)
  "$bin" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art/$t-" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  end=$(date +%s)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ $rc -ne 0 ]; then
    echo "FAIL $t after $((end - start)) s (exit $rc); log: $log"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -8
    status=1
  else
    echo "ok   $t: ${execs:-?} inputs in $((end - start)) s, $cov"
  fi
done
exit $status
