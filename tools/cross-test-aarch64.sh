#!/usr/bin/env bash
# Cross-builds the kernel unit tests for aarch64 (NEON variants included) and
# runs them under qemu-user. Usage: tools/cross-test-aarch64.sh BUILD_DIR
# Exits 77 (skipped) when the cross compiler or qemu-aarch64 is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: $0 BUILD_DIR}
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  echo "skip: aarch64-linux-gnu-gcc or qemu-aarch64 missing (tools/install-deps.sh test installs them)"
  exit 77
fi
cmake -S tests/cross_aarch64 -B "$build" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64.cmake" >/dev/null
cmake --build "$build" -j2 2>&1 | grep -E "warning|error" && { echo "cross build is not warning-free"; exit 1; }
cmake --build "$build" -j2 >/dev/null
rc=0
for t in "$build"/test_kernels_*; do
  echo "== $(basename "$t") (qemu-aarch64)"
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$t" || rc=1
done
exit $rc
