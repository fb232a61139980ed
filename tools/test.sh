#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: set-up, build, then
# every Criterion test on the default OpenCL device (POCL's CPU device here).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
cd build
ctest --output-on-failure -j "$(nproc)"
