#!/usr/bin/env bash
# libFuzzer on mobicl's parsers of untrusted bytes, with ASan + UBSan:
#   fuzz_npy      .npy reader (graph/npy.c)
#   fuzz_tunedb   tuning database parser (host/tunedb.c)
#   fuzz_bincache program binary cache entry validator (host/program.c)
#   fuzz_onnx     ONNX importer (graph/onnx.c; only when it is built)
# Builds into ./build-fuzz with clang (-DMOBICL_FUZZ=ON), makes seed corpora
# from valid files at run time (build-fuzz/corpus/<target>/: a tuning DB and
# cache entries written by `mobicl`, .npy files written by NumPy, ONNX node
# test models and a torchvision export), then runs each harness for the
# given seconds and prints libFuzzer's final stats (executions, coverage).
# Fails on any crash; the crashing input is left in build-fuzz/crashes/.
# Usage: tools/fuzz.sh [seconds=60] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
root=$PWD
B=$root/build-fuzz
need=()
command -v clang-14 >/dev/null || need+=(clang-14)
command -v protoc-c >/dev/null || need+=(protobuf-c-compiler libprotobuf-c-dev)
/usr/bin/python3 -c "import numpy, onnx" 2>/dev/null || need+=(python3-numpy python3-onnx)
[ -d /usr/share/libonnx-testdata ] || need+=(libonnx-testdata)
if ((${#need[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}"
fi
bash tools/setup.sh
CC=clang-14 cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOBICL_WERROR=ON \
  -DMOBICL_SANITIZE=address,undefined -DMOBICL_FUZZ=ON -DMOBICL_TESTS=OFF -DMOBICL_BENCH=OFF >/dev/null
cmake --build "$B" -j "$(nproc)"
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(fuzz_npy fuzz_tunedb fuzz_bincache)
  [ -x "$B/fuzz_onnx" ] && targets+=(fuzz_onnx)
fi

# ---- seed corpora (regenerated only when missing) ----
C=$B/corpus
seed_npy() {
  mkdir -p "$C/fuzz_npy"
  /usr/bin/python3 - "$C/fuzz_npy" <<'PY'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(1)
for i, shape in enumerate([(), (3,), (2, 3), (1, 2, 3, 4), (1, 3, 5, 2)]):
    np.save(f"{d}/f32_{i}.npy", rng.standard_normal(shape).astype(np.float32))
np.save(f"{d}/f32_big_endian.npy", np.arange(6, dtype=">f4").reshape(2, 3))
np.save(f"{d}/f32_fortran.npy", np.asfortranarray(np.ones((2, 3), np.float32)))
np.save(f"{d}/f64.npy", np.ones(4))
with open(f"{d}/v2.npy", "wb") as f:
    np.lib.format.write_array(f, np.ones((2, 2), np.float32), version=(2, 0))
PY
}
seed_tunedb() {
  mkdir -p "$C/fuzz_tunedb"
  MOBICL_TUNING_DB="$C/fuzz_tunedb/tuned.json" "$root/build/mobicl" tune --op pwconv --shape 1x8x5x5 --out 8 \
    --budget 5s --runs 1 --quiet >/dev/null 2>&1 || true
  [ -s "$C/fuzz_tunedb/tuned.json" ] || cp tests/fuzz/seeds/tunedb.json "$C/fuzz_tunedb/"
  cp tests/fuzz/seeds/tunedb.json "$C/fuzz_tunedb/handwritten.json"
}
seed_bincache() {
  mkdir -p "$C/fuzz_bincache"
  local tmp; tmp=$(mktemp -d)
  "$root/build/mobicl" run --model shufflenet_v2_x0_5 --runs 1 --warmup 0 --cache-dir "$tmp" >/dev/null 2>&1 || true
  # the two smallest real entries (POCL binaries are large: keep the corpus fast)
  ls -S "$tmp"/*.bin 2>/dev/null | tail -n 2 | while read -r f; do cp "$f" "$C/fuzz_bincache/"; done
  rm -rf "$tmp"
  printf 'MCLBIN01' >"$C/fuzz_bincache/magic_only"
}
seed_onnx() {
  mkdir -p "$C/fuzz_onnx"
  local i=0
  for m in /usr/share/libonnx-testdata/data/node/test_{conv,relu,add,averagepool,maxpool,globalaveragepool,gemm,softmax,reshape,transpose,concat,flatten,batchnorm,clip}*/model.onnx; do
    [ -f "$m" ] && [ "$(stat -c %s "$m")" -lt 4096 ] && cp "$m" "$C/fuzz_onnx/node_$((i++)).onnx"
  done
  /usr/bin/python3 - "$C/fuzz_onnx/tiny_cnn.onnx" <<'PY' || true
import sys, torch, torch.nn as nn
torch.manual_seed(0)
m = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.BatchNorm2d(4), nn.ReLU6(), nn.Conv2d(4, 4, 3, 1, 1, groups=4),
                  nn.Conv2d(4, 8, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5), nn.Softmax(1)).eval()
torch.onnx.export(m, torch.zeros(1, 3, 8, 8), sys.argv[1], opset_version=11)
PY
}
for t in "${targets[@]}"; do
  [ -n "$(ls -A "$C/$t" 2>/dev/null)" ] || "seed_${t#fuzz_}"
  cp tests/fuzz/regress/"${t#fuzz_}"-* "$C/$t/" 2>/dev/null || true # past crashes: keep them covered
done

# ---- run ----
mkdir -p "$B/crashes"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fail=0
for t in "${targets[@]}"; do
  mkdir -p "$B/work/$t"
  log=$B/$t.log
  echo "== $t: ${secs}s, corpus $(ls "$C/$t" | wc -l) seeds"
  if "$B/$t" "$B/work/$t" "$C/$t" -max_total_time="$secs" -print_final_stats=1 -max_len=65536 \
       -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$B/crashes/$t-" >"$log" 2>&1; then
    grep -E '^#[0-9]+.*(DONE|pulse)' "$log" | tail -n 1
    grep -E 'stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$log"
    echo "$t: OK"
  else
    tail -n 40 "$log"
    echo "$t: CRASH (input in $B/crashes/, log $log)"
    fail=1
  fi
done
exit $fail
