#!/usr/bin/env bash
# CTest robustness.fuzz_smoke: builds the libFuzzer targets with clang into
# BUILD/fuzz-smoke (-DME_FUZZ=ON; incremental after the first time), makes the
# seed corpus with the normal build's modelexport, and runs each target over
# a bounded number of inputs. Exit 77 (skipped) without clang/libFuzzer.
#
#   fuzz_smoke.sh BUILD_DIR MODELEXPORT [RUNS]
set -uo pipefail
cd "$(dirname "$0")/../.."
build=$1 me=$2 runs=${3:-5000}
if ! command -v clang >/dev/null 2>&1; then
  echo "notice: clang is not installed; fuzz smoke test skipped (tools/install-deps.sh test installs it)"
  exit 77
fi
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' >"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
  rm -rf "$probe"
  echo "notice: clang cannot link libFuzzer (libclang-rt-dev missing?); fuzz smoke test skipped"
  exit 77
fi
rm -rf "$probe"
fb=$build/fuzz-smoke
if ! { CC=clang cmake -S . -B "$fb" -DME_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
       cmake --build "$fb" -j2 --target fuzz_targets >"$fb.build.log" 2>&1; }; then
  tail -30 "$fb.build.log"
  echo "FAIL: building the fuzz targets"
  exit 1
fi
rm -rf "$fb/seeds" "$fb/fuzz-corpus"
/usr/bin/python3 tests/fuzz/make_corpus.py --out "$fb/seeds" --modelexport "$me" || exit 1
exec tests/fuzz/run_fuzz.sh --build "$fb" --seeds "$fb/seeds" --runs "$runs"
