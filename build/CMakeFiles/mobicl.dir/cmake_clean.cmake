file(REMOVE_RECURSE
  "CMakeFiles/mobicl.dir/host/clapi.c.o"
  "CMakeFiles/mobicl.dir/host/clapi.c.o.d"
  "CMakeFiles/mobicl.dir/host/context.c.o"
  "CMakeFiles/mobicl.dir/host/context.c.o.d"
  "CMakeFiles/mobicl.dir/host/op.c.o"
  "CMakeFiles/mobicl.dir/host/op.c.o.d"
  "CMakeFiles/mobicl.dir/host/op_channel.c.o"
  "CMakeFiles/mobicl.dir/host/op_channel.c.o.d"
  "CMakeFiles/mobicl.dir/host/op_conv.c.o"
  "CMakeFiles/mobicl.dir/host/op_conv.c.o.d"
  "CMakeFiles/mobicl.dir/host/op_eltwise.c.o"
  "CMakeFiles/mobicl.dir/host/op_eltwise.c.o.d"
  "CMakeFiles/mobicl.dir/host/op_fc.c.o"
  "CMakeFiles/mobicl.dir/host/op_fc.c.o.d"
  "CMakeFiles/mobicl.dir/host/op_pool.c.o"
  "CMakeFiles/mobicl.dir/host/op_pool.c.o.d"
  "CMakeFiles/mobicl.dir/host/program.c.o"
  "CMakeFiles/mobicl.dir/host/program.c.o.d"
  "CMakeFiles/mobicl.dir/host/status.c.o"
  "CMakeFiles/mobicl.dir/host/status.c.o.d"
  "CMakeFiles/mobicl.dir/host/tensor.c.o"
  "CMakeFiles/mobicl.dir/host/tensor.c.o.d"
  "CMakeFiles/mobicl.dir/mcl_kernels_embedded.c.o"
  "CMakeFiles/mobicl.dir/mcl_kernels_embedded.c.o.d"
  "libmobicl.a"
  "libmobicl.pdb"
  "mcl_kernels_embedded.c"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/mobicl.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
