#!/usr/bin/env bash
# The peer comparison of issue 6: installs its Debian packages (PyTorch,
# torchvision, ONNX, OpenCV, gnuplot, CLBlast), builds mobicl into ./build
# (tools/build.sh) and runs bench/compare.py with Debian's python3.
#   bash bench/compare.sh [--rounds N] [--out DIR] [--quick] [--runs N] [--nets a,b]
# Results: OUT/results.csv, results.json, table.txt and PNG plots
# (default OUT: build/compare).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(python3-torch python3-torchvision python3-onnx python3-opencv python3-numpy
      libclblast-dev procps util-linux)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v gnuplot >/dev/null || missing+=(gnuplot-nox) # any gnuplot variant will do
if ((${#missing[@]})); then
  echo "mobicl compare: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
bash tools/build.sh -DMOBICL_BENCH=ON
# OpenBLAS' spinning threads fight torch's; OpenCV's OpenCL target needs POCL's CPU device allowed
export OPENBLAS_NUM_THREADS=1 OPENCV_OPENCL_DEVICE=:CPU: OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES=1
exec /usr/bin/python3 bench/compare.py "$@"
