#!/usr/bin/env bash
# `mobicl run` on every zoo network under valgrind's memcheck: fails on any
# invalid read/write or use of uninitialised memory reported in mobicl's
# code, and on any definite or indirect leak. The OpenCL driver stack
# (POCL, LLVM, the ICD loader) is suppressed by tests/valgrind.supp: it
# keeps process-lifetime caches and does things memcheck cannot follow in
# its JIT-compiled kernels. The kernels' own memory safety is Oclgrind's job
# (tools/oclgrind.sh). valgrind cannot execute AVX-512 and reports another
# CPU, so POCL is told to compile for haswell (AVX2, POCL_LLVM_CPU_NAME) and
# each network first runs once without valgrind with that setting, filling
# POCL's kernel cache: under valgrind the kernels then load from it instead
# of being compiled at valgrind speed. Usage: tools/valgrind.sh [network...]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends valgrind
fi
bash tools/setup.sh
# own build folder (shared with tools/oclgrind.sh), with debug info for the reports
cmake -S . -B build-ocl -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOBICL_WERROR=ON -DMOBICL_BENCH=OFF >/dev/null
cmake --build build-ocl -j "$(nproc)" --target mobicl_cli
M=./build-ocl/mobicl
nets=("$@")
# every zoo network (mcl_zoo_names, `mobicl run --help`)
((${#nets[@]})) || nets=(mobilenet_v1 mobilenet_v2 shufflenet_v1 shufflenet_v2_x0_5 shufflenet_v2_x1_0
                          shufflenet_v2_x1_5 shufflenet_v2_x2_0 mnasnet0_5 mnasnet1_0)
export POCL_LLVM_CPU_NAME=haswell
fail=0
for n in "${nets[@]}"; do
  "$M" run --model "$n" --runs 1 --warmup 0 >/dev/null
  log=$(mktemp)
  t=$SECONDS
  if valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
       --errors-for-leak-kinds=definite,indirect --suppressions=tests/valgrind.supp --error-exitcode=42 \
       --log-file="$log" "$M" run --model "$n" --runs 1 --warmup 0 >/dev/null; then
    echo "valgrind: $n clean ($((SECONDS - t)) s): $(grep -E 'ERROR SUMMARY' "$log" | sed 's/^==[0-9]*== //')"
  else
    echo "valgrind: $n FAILED ($((SECONDS - t)) s):"
    grep -E '^==[0-9]+== ' "$log" | head -60
    fail=1
  fi
  rm -f "$log"
done
exit $fail
