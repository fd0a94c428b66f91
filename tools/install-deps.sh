#!/usr/bin/env bash
# Installs what the build (`build`), the tests (`test`) or the demo (`demo`)
# need: Debian packages via apt-get (as root), npm packages from the lockfile.
# Already-installed packages are left alone, so repeated runs are quick.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-build}
build_pkgs="cmake make gcc pkg-config libcjson-dev zlib1g-dev libxxhash-dev"
demo_pkgs="python3-onnx python3-numpy"
# libclang-rt-14-dev: libFuzzer and the sanitizer runtimes (only recommended by
# Debian 12's clang, and recommends are not installed); `make fuzz` and
# robustness.fuzz_smoke need them
test_pkgs="$demo_pkgs python3-torch python3-torchvision python3-xxhash clang libclang-rt-14-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"

case "$what" in
  build) pkgs="$build_pkgs" ;;
  demo)  pkgs="$build_pkgs $demo_pkgs" ;;
  test)  pkgs="$build_pkgs $test_pkgs" ;;
  *) echo "usage: $0 build|demo|test" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if ! command -v node >/dev/null 2>&1 && [ "$what" = test ]; then missing="$missing nodejs npm"; fi

if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "modelexport: these Debian packages are needed:$missing" >&2
    echo "modelexport: run 'sudo apt-get install$missing' (or run make as root)" >&2
    exit 1
  fi
  echo "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "$what" = test ] && [ -f package-lock.json ]; then
  # ONNX Runtime and llama.cpp (reference outputs). --ignore-scripts: their
  # install scripts would try to download GPU binaries or build; the CPU
  # binaries ship inside the packages. `npm install` with the lockfile rather
  # than `npm ci`: node-llama-cpp lists optional per-platform packages that the
  # registry does not serve, which `npm ci` (npm 11) reports as a lockfile
  # mismatch; `npm install` still installs the locked versions.
  if [ ! -d node_modules/onnxruntime-node ] || [ ! -d node_modules/node-llama-cpp ] ||
     [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm install --ignore-scripts --no-audit --no-fund --loglevel=error
  fi
fi
