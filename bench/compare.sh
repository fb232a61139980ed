#!/usr/bin/env bash
# The peer comparison of issue 6: installs its Debian packages (PyTorch,
# torchvision, ONNX, OpenCV, gnuplot, CLBlast), builds mobicl into ./build
# (tools/build.sh) and runs bench/compare.py with Debian's python3.
#   bash bench/compare.sh [--rounds N] [--out DIR] [--quick] [--runs N] [--nets a,b]
# Results: OUT/results.csv, results.json, table.txt and PNG plots
# (default OUT: build/compare).
set -euo pipefail
cd "$(dirname "$0")/.."
extra=(python3-opencv procps util-linux)
command -v gnuplot >/dev/null || extra+=(gnuplot-nox) # any gnuplot variant will do
bash tools/setup.sh "${extra[@]}"
bash tools/build.sh -DMOBICL_BENCH=ON
# OpenBLAS' spinning threads fight torch's; OpenCV's OpenCL target needs POCL's CPU device allowed
export OPENBLAS_NUM_THREADS=1 OPENCV_OPENCL_DEVICE=:CPU: OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES=1
exec /usr/bin/python3 bench/compare.py "$@"
