#!/usr/bin/env bash
# mobicl's OpenCL kernels on Oclgrind's simulator: out-of-bounds accesses,
# API misuse, data races (--check-api --data-races). Runs
#   1. build-ocl/kernels_small (tests/oclgrind/kernels_small.c): every kernel
#      family once on tiny shapes that hit the tail paths (odd widths,
#      channels not a multiple of the block, stride 2, padding), results
#      checked against tests/ref; with channel blocks 4 and 16. The fused
#      depthwise + 1x1 (dwpw, with slot-table stores and pass rows) is
#      driven there directly: the planner fuses on CPU devices only, and
#      Oclgrind's device is a GPU;
#   2. plans: a small graph whose 1x1s write a shuffled concat next to an
#      earlier tensor (test_plan's dwpw_into_shuffled_concat: pwconv
#      scatter and pass rows, blocks 16/8/4), and a whole zoo network
#      (mobilenet_v1 alpha 0.25 at 128x128; with MOBICL_OCLGRIND_FULL=1
#      every zoo network at its own size too, 0.5-5 min each): IN_NCHW
#      first conv, ONB/OOFF pool, slot gather, scatter and pass rows.
# Fails on any Oclgrind report (its log is parsed) or wrong result.
# --uninitialized is a second, separate pass, informational unless
# MOBICL_OCLGRIND_UNINIT=strict: Oclgrind 21.10's Uninitialized plugin aborts
# kernels on LLVM's `freeze` instruction, so that pass compiles with
# -cl-opt-disable, and its reports are counted and listed, not failed on:
# they name values the kernels did write (`kernels_small 4 softmax`: 1
# report, on the element that reads back equal to the reference; a case
# run alone is clean where it is not after other cases). Unwritten memory
# is checked by poison mode instead (tests/test_poison.c, ctest
# kernels_small_poison_b*). The last argument of kernels_small filters
# cases by name, to narrow a report down.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v oclgrind >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends oclgrind
fi
bash tools/setup.sh
B=build-ocl
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOBICL_WERROR=ON -DMOBICL_BENCH=OFF >/dev/null
cmake --build "$B" -j "$(nproc)" --target kernels_small mobicl_cli test_plan
fail=0
logdir=$B/oclgrind
mkdir -p "$logdir"
# Oclgrind's reports start at column 0 with a capital letter ("Invalid read
# of size 4 ...", "Read-write data race ...", "OCLGRIND FATAL ERROR ...").
reports() { grep -cE '^[A-Z]' "$1" || true; }
check() { # name, then the command
  local name=$1; shift
  local log=$logdir/$name.log t=$SECONDS rc=0
  oclgrind --check-api --data-races --log "$log" "$@" >"$logdir/$name.out" 2>&1 || rc=$?
  local n; n=$(reports "$log")
  if ((rc == 0 && n == 0)); then
    echo "oclgrind: $name clean ($((SECONDS - t)) s)"
  else
    echo "oclgrind: $name FAILED: exit $rc, $n reports ($((SECONDS - t)) s); $log"
    grep -E '^[A-Z]|Kernel:|At line' "$log" | head -30
    tail -5 "$logdir/$name.out"
    fail=1
  fi
}
check kernels_block4 "$B/kernels_small" 4
check kernels_block16 "$B/kernels_small" 16
check plan_shuffled_concat "$B/test_plan" --filter 'plan/dwpw_into_shuffled_concat' --jobs 1
check mobilenet_v1_a025_r128 "$B/mobicl" run --model mobilenet_v1 --alpha 0.25 --resolution 128 --runs 1 --warmup 0
if [ "${MOBICL_OCLGRIND_FULL:-0}" = 1 ]; then
  for n in shufflenet_v2_x0_5 shufflenet_v2_x1_0 shufflenet_v2_x1_5 shufflenet_v2_x2_0 shufflenet_v1 \
           mobilenet_v1 mobilenet_v2 mnasnet0_5 mnasnet1_0; do
    check "$n" "$B/mobicl" run --model "$n" --runs 1 --warmup 0
  done
fi
# informational pass: uninitialised values
ulog=$logdir/uninitialized.log
oclgrind --uninitialized --build-options -cl-opt-disable --log "$ulog" "$B/kernels_small" 4 >"$logdir/uninitialized.out" 2>&1 || true
un=$(reports "$ulog")
echo "oclgrind --uninitialized (kernels_small, block 4): $un reports; by kernel and line:"
awk '/^[A-Z]/{h=$0; sub(/ address 0x[0-9a-f]+/, "", h)} /Kernel:/{k=$2} /At line/{sub(/ \(column.*/, ""); print "  " k ", " $0 ": " h}' "$ulog" |
  sed 's/\t//g' | sort | uniq -c | sort -rn | head -10
if [ "${MOBICL_OCLGRIND_UNINIT:-}" = strict ] && ((un > 0)); then fail=1; fi
exit $fail
