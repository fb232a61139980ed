#!/usr/bin/env bash
# Cross-compiles mobicl for Linux arm64 (aarch64) on an amd64 Debian 12 host:
# the library, the `mobicl` tool and the Criterion tests, with -Werror, into
# ./build-arm64, then checks that every binary is an aarch64 ELF.
#
# The cross compiler is Debian's crossbuild-essential-arm64. The arm64
# libraries the build links against (the OpenCL ICD loader, Criterion and
# what libcriterion.so needs) cannot be installed on the host without adding
# arm64 to dpkg's architectures, so they are downloaded with a private apt
# configuration (arm64 package lists in build-arm64/apt, the host's dpkg
# state untouched) and unpacked with `dpkg -x` into build-arm64/sysroot,
# which tools/toolchains/aarch64-linux-gnu.cmake uses (MOBICL_SYSROOT).
# The OpenCL library is linked as on desktop Linux (not dlopen'ed).
#
# Idempotent: the sysroot is made once (remade when the package list below
# changes), CMake rebuilds only what changed. Extra arguments go to cmake.
# The binaries run on an arm64 Linux with an OpenCL ICD; to run the tests
# emulated, see tools/qemu_arm64.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build-arm64
SYSROOT=$PWD/$BUILD/sysroot
APTDIR=$PWD/$BUILD/apt
# Unpacked with their whole runtime closure (minus what the cross toolchain
# already has); the -dev packages and headers without dependencies.
RUNTIME_PKGS=(ocl-icd-libopencl1 libcriterion3 libprotobuf-c1)
DEV_PKGS=(ocl-icd-opencl-dev opencl-c-headers libcriterion-dev libboxfort-dev libprotobuf-c-dev)
SKIP_RE='^(libc6|libgcc-s1|libstdc\+\+6|gcc-12-base|libcrypt1)$'

t_all=$SECONDS
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# ---- host packages -----------------------------------------------------------
missing=()
for p in crossbuild-essential-arm64 cmake file debian-archive-keyring; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "cross_arm64: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# ---- arm64 sysroot -----------------------------------------------------------
want="${RUNTIME_PKGS[*]} | ${DEV_PKGS[*]}"
if [ ! -f "$SYSROOT/.mobicl-sysroot" ] || [ "$(cat "$SYSROOT/.mobicl-sysroot")" != "$want" ]; then
  t=$SECONDS
  rm -rf "$SYSROOT" "$APTDIR"
  mkdir -p "$SYSROOT" "$APTDIR"/{lists/partial,archives/partial,sources.list.d,preferences.d}
  : > "$APTDIR/status"
  mirror=${MOBICL_ARM64_MIRROR:-}
  if [ -z "$mirror" ]; then
    # The first Debian (not -security) mirror of the host's sources, deb822 or one-line.
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
      awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}
           /^deb / {sub(/\[[^]]*\]/, ""); print $2}' |
      grep -E '/debian/?$' | head -n1 || true)
    mirror=${mirror:-http://deb.debian.org/debian}
  fi
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main" \
    > "$APTDIR/sources.list"
  apt_arm64=(apt-get -q
    -o APT::Architecture=arm64 -o APT::Architectures=arm64
    -o Dir::State::Lists="$APTDIR/lists" -o Dir::State::status="$APTDIR/status"
    -o Dir::Cache::archives="$APTDIR/archives" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
    -o Dir::Etc::SourceList="$APTDIR/sources.list" -o Dir::Etc::SourceParts="$APTDIR/sources.list.d"
    -o Dir::Etc::Preferences="$APTDIR/preferences" -o Dir::Etc::PreferencesParts="$APTDIR/preferences.d"
    -o APT::Sandbox::User=root)
  echo "cross_arm64: arm64 package lists from $mirror (private, in $APTDIR)"
  "${apt_arm64[@]}" update
  # Runtime closure: what apt would install on an empty arm64 system.
  "${apt_arm64[@]}" install -y --download-only --no-install-recommends "${RUNTIME_PKGS[@]}"
  (cd "$APTDIR/archives" && "${apt_arm64[@]}" download "${DEV_PKGS[@]}")
  for deb in "$APTDIR"/archives/*.deb; do
    pkg=$(dpkg-deb -f "$deb" Package)
    if [[ $pkg =~ $SKIP_RE ]]; then continue; fi
    echo "cross_arm64: unpacking $(basename "$deb")"
    dpkg -x "$deb" "$SYSROOT"
  done
  rm -f "$APTDIR"/archives/*.deb
  echo "$want" > "$SYSROOT/.mobicl-sysroot"
  echo "cross_arm64: sysroot took $((SECONDS - t)) s"
fi

# ---- build ---------------------------------------------------------------------
# Debian 12's gcc 12.2 for arm64 (cross and native) crashes (internal compiler
# error in vect_transform_reduction) vectorizing a loop of fmax() reductions
# over doubles, as in tests/test_cli.c; -fno-tree-loop-vectorize avoids it.
# MOBICL_ARM64_CFLAGS="" drops the workaround.
CFLAGS_ARM64=${MOBICL_ARM64_CFLAGS--fno-tree-loop-vectorize}
t=$SECONDS
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$CFLAGS_ARM64" \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/tools/toolchains/aarch64-linux-gnu.cmake" -DMOBICL_SYSROOT="$SYSROOT" \
  -DMOBICL_WERROR=ON -DMOBICL_TESTS=ON -DMOBICL_BENCH=ON -DMOBICL_CLBLAST=OFF "$@"
cmake --build "$BUILD" -j "$(nproc)"
echo "cross_arm64: build took $((SECONDS - t)) s"

# ---- every executable and the library must be aarch64 -----------------------
bins=("$BUILD/mobicl" "$BUILD/libmobicl.a")
while IFS= read -r -d '' f; do bins+=("$f"); done < <(find "$BUILD" -maxdepth 1 -type f \( -name 'test_*' -o -name 'bench_*' \) -perm -u+x -print0)
bad=0
for f in "${bins[@]}"; do
  if [[ $f == *.a ]]; then
    # An archive: the machines of its members.
    desc=$(readelf -h "$f" | sed -n 's/^ *Machine: *//p' | sort -u | tr '\n' ' ')
  else
    desc=$(file -b "$f")
  fi
  case $desc in
    *"ARM aarch64"* | "AArch64 ") echo "cross_arm64: ok  $f: ${desc:0:90}" ;;
    *) echo "cross_arm64: NOT aarch64: $f: $desc" >&2; bad=1 ;;
  esac
done
((${#bins[@]} > 2)) || { echo "cross_arm64: no test binaries were built" >&2; bad=1; }

# ---- smoke run under qemu-user: the tests that need no OpenCL device ---------
# (MOBICL_ARM64_SMOKE=0 skips it; the full suite runs in tools/qemu_arm64.sh.)
if [ "${MOBICL_ARM64_SMOKE:-1}" = 1 ] && ((bad == 0)); then
  if ! command -v qemu-aarch64-static >/dev/null; then
    echo "cross_arm64: installing qemu-user-static"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends qemu-user-static
  fi
  t=$SECONDS
  export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
  export LD_LIBRARY_PATH=$SYSROOT/usr/lib/aarch64-linux-gnu:$SYSROOT/lib/aarch64-linux-gnu
  qemu-aarch64-static "$BUILD/mobicl" --help >/dev/null
  for t_ in test_npy test_graph_ir; do
    qemu-aarch64-static "$BUILD/$t_" --jobs 1 2>&1 | tail -n1
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "cross_arm64: $t_ failed under qemu-aarch64" >&2; bad=1; }
  done
  unset QEMU_LD_PREFIX LD_LIBRARY_PATH
  echo "cross_arm64: smoke run under qemu-aarch64 took $((SECONDS - t)) s"
fi
echo "cross_arm64: done in $((SECONDS - t_all)) s (${#bins[@]} binaries checked)"
exit $bad
