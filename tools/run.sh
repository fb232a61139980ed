#!/usr/bin/env bash
# Set-up, build, then run the mobicl command line with the given arguments
# (default: `mobicl info`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh >&2
if (($# == 0)); then set -- info; fi
exec ./build/mobicl "$@"
