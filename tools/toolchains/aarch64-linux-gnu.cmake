# CMake toolchain: Linux arm64 (aarch64) with Debian's cross compiler
# (apt-get install crossbuild-essential-arm64), used by tools/cross_arm64.sh.
#
#   cmake -S . -B build-arm64 \
#         -DCMAKE_TOOLCHAIN_FILE=tools/toolchains/aarch64-linux-gnu.cmake \
#         -DMOBICL_SYSROOT=/path/to/sysroot
#
# MOBICL_SYSROOT (or the environment variable of that name) is an optional
# folder holding arm64 packages unpacked with `dpkg -x` (OpenCL headers and
# ICD loader, Criterion and its libraries): its usr/include is searched for
# headers, its library folders for libraries, and it is where the linker
# finds the libraries those libraries need. The C library itself comes from
# the cross toolchain (/usr/aarch64-linux-gnu). Without a sysroot, build
# with -DMOBICL_ANDROID=ON -DMOBICL_TESTS=OFF and OpenCL headers found
# elsewhere (OpenCL_INCLUDE_DIR).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(MOBICL_CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${MOBICL_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${MOBICL_CROSS_TRIPLE}-g++)

if(NOT MOBICL_SYSROOT AND DEFINED ENV{MOBICL_SYSROOT})
  set(MOBICL_SYSROOT "$ENV{MOBICL_SYSROOT}")
endif()
# try_compile projects see the same value.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MOBICL_SYSROOT)

set(CMAKE_FIND_ROOT_PATH /usr/${MOBICL_CROSS_TRIPLE})
if(MOBICL_SYSROOT)
  list(APPEND CMAKE_FIND_ROOT_PATH ${MOBICL_SYSROOT})
  string(APPEND CMAKE_C_FLAGS_INIT " -isystem ${MOBICL_SYSROOT}/usr/include")
  foreach(dir usr/lib/${MOBICL_CROSS_TRIPLE} lib/${MOBICL_CROSS_TRIPLE})
    string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -Wl,-rpath-link,${MOBICL_SYSROOT}/${dir}")
    string(APPEND CMAKE_SHARED_LINKER_FLAGS_INIT " -Wl,-rpath-link,${MOBICL_SYSROOT}/${dir}")
  endforeach()
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

