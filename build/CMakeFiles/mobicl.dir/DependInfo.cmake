
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/host/clapi.c" "CMakeFiles/mobicl.dir/host/clapi.c.o" "gcc" "CMakeFiles/mobicl.dir/host/clapi.c.o.d"
  "/work/main/host/context.c" "CMakeFiles/mobicl.dir/host/context.c.o" "gcc" "CMakeFiles/mobicl.dir/host/context.c.o.d"
  "/work/main/host/op.c" "CMakeFiles/mobicl.dir/host/op.c.o" "gcc" "CMakeFiles/mobicl.dir/host/op.c.o.d"
  "/work/main/host/op_channel.c" "CMakeFiles/mobicl.dir/host/op_channel.c.o" "gcc" "CMakeFiles/mobicl.dir/host/op_channel.c.o.d"
  "/work/main/host/op_conv.c" "CMakeFiles/mobicl.dir/host/op_conv.c.o" "gcc" "CMakeFiles/mobicl.dir/host/op_conv.c.o.d"
  "/work/main/host/op_eltwise.c" "CMakeFiles/mobicl.dir/host/op_eltwise.c.o" "gcc" "CMakeFiles/mobicl.dir/host/op_eltwise.c.o.d"
  "/work/main/host/op_fc.c" "CMakeFiles/mobicl.dir/host/op_fc.c.o" "gcc" "CMakeFiles/mobicl.dir/host/op_fc.c.o.d"
  "/work/main/host/op_pool.c" "CMakeFiles/mobicl.dir/host/op_pool.c.o" "gcc" "CMakeFiles/mobicl.dir/host/op_pool.c.o.d"
  "/work/main/host/program.c" "CMakeFiles/mobicl.dir/host/program.c.o" "gcc" "CMakeFiles/mobicl.dir/host/program.c.o.d"
  "/work/main/host/status.c" "CMakeFiles/mobicl.dir/host/status.c.o" "gcc" "CMakeFiles/mobicl.dir/host/status.c.o.d"
  "/work/main/host/tensor.c" "CMakeFiles/mobicl.dir/host/tensor.c.o" "gcc" "CMakeFiles/mobicl.dir/host/tensor.c.o.d"
  "/work/main/build/mcl_kernels_embedded.c" "CMakeFiles/mobicl.dir/mcl_kernels_embedded.c.o" "gcc" "CMakeFiles/mobicl.dir/mcl_kernels_embedded.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
