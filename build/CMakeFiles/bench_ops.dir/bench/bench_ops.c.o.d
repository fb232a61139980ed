CMakeFiles/bench_ops.dir/bench/bench_ops.c.o: \
 /work/main/bench/bench_ops.c /usr/include/stdc-predef.h
