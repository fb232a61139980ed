#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (leak checking on): builds into ./build-asan with -DMOBICL_SANITIZE=
# address,undefined and runs ctest there. Any ASan/UBSan report fails the
# test it happens in (halt_on_error, no recovery). tests/lsan.supp lists
# the only leaks ignored: allocations of the OpenCL driver stack, never
# mobicl's. Slower than the plain suite (about 3x). Extra arguments go to
# ctest (e.g. -R test_plan).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOBICL_WERROR=ON \
      -DMOBICL_SANITIZE=address,undefined
cmake --build build-asan -j "$(nproc)"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd build-asan
ctest --output-on-failure -j "$(nproc)" "$@"
