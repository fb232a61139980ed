#!/usr/bin/env bash
# Installs what mobicl needs to build and test on Debian 12, skipping what is
# already there: compiler and CMake, the OpenCL ICD loader and headers, POCL
# (the CPU OpenCL device the tests run on), CLBlast and Criterion; and the
# Debian packages given as arguments (the benches' extras).
#   bash tools/setup.sh [PACKAGE ...]
set -euo pipefail
pkgs=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd
      libclblast-dev libcriterion-dev clinfo
      protobuf-c-compiler libprotobuf-c-dev python3-onnx python3-numpy
      python3-torch python3-torchvision libonnx-testdata "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "mobicl setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
