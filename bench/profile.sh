#!/usr/bin/env bash
# Where each slow op's time goes (issue 6: "a profile, not a guess"):
# installs linux-perf and binutils, builds mobicl with its benches
# (tools/build.sh), measures the device's ceilings (bench_peak), times
# every layer (bench_ops --csv) and profiles each layer that misses its
# target (pointwise below 60% of the FMA peak, depthwise below 50% of the
# copy bandwidth) and the standalone 8 MiB shuffles with
# bench/profile_ops.py, or only the layers given.
#   bash bench/profile.sh [--out DIR] [--net NAME] [--layer "pw 144x56x56->24" ...]
# Results: OUT/peak.json, ops.csv, profile.txt (default OUT: build/profile).
# perf samples the whole system (-a): run as root or with
# kernel.perf_event_paranoid <= 0.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/profile
layers=()
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --layer) layers+=(--layer "$2"); shift 2 ;;
    --net) layers+=(--net "$2"); shift 2 ;;
    *) echo "usage: bash bench/profile.sh [--out DIR] [--net NAME] [--layer TEXT ...]" >&2; exit 2 ;;
  esac
done
bash tools/setup.sh linux-perf binutils
if [ "$(id -u)" -ne 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 0 ]; then
  echo "mobicl profile: perf record -a needs root or kernel.perf_event_paranoid <= 0 (it is $(cat /proc/sys/kernel/perf_event_paranoid))" >&2
  exit 1
fi
bash tools/build.sh -DMOBICL_BENCH=ON
mkdir -p "$out"
./build/bench_peak > "$out/peak.json"
read -r gf gbs < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["fma_gflops"], d["copy_gbs"])' "$out/peak.json")
echo "mobicl profile: FMA peak $gf GFLOP/s, copy $gbs GB/s"
if ((${#layers[@]})); then
  python3 bench/profile_ops.py --peak-gflops "$gf" --peak-gbs "$gbs" "${layers[@]}" | tee "$out/profile.txt"
else
  ./build/bench_ops --rounds 5 --csv "$out/ops.csv" > "$out/ops.txt"
  python3 bench/profile_ops.py --csv "$out/ops.csv" --peak-gflops "$gf" --peak-gbs "$gbs" | tee "$out/profile.txt"
  # the standalone 8 MiB channel shuffles (GB/s against bench_peak's copy)
  python3 bench/profile_ops.py --peak-gflops "$gf" --peak-gbs "$gbs" --net shuffle_8mib \
    --layer "shuffle 512x64x64->512 k1s1 g2" --layer "shuffle 488x66x66" --layer "shuffle 512x64x64->512 k1s1 g4" |
    tee -a "$out/profile.txt"
fi
