#!/usr/bin/env bash
# Set-up, build, then run the mobicl command line with the given arguments
# (default: `mobicl run --model shufflenet_v2_x1_0`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh >&2
if (($# == 0)); then set -- run --model shufflenet_v2_x1_0; fi
exec ./build/mobicl "$@"
