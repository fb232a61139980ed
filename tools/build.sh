#!/usr/bin/env bash
# Installs the dependencies (tools/setup.sh), then configures and builds
# mobicl into ./build with warnings as errors. Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMOBICL_WERROR=ON "$@"
cmake --build build -j "$(nproc)"
