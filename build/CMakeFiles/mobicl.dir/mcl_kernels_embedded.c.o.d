CMakeFiles/mobicl.dir/mcl_kernels_embedded.c.o: \
 /work/main/build/mcl_kernels_embedded.c /usr/include/stdc-predef.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h
