/* eltwise.cl — elementwise add of two blocked tensors of one shape, then
 * ACTIVATE (padding lanes stay zero: 0 + 0, activated, is 0).
 * Work-item: one CB-wide vector. Tunables: none. Switches: ACT, CB. */
#ifndef ACT
#error "ACT must be defined"
#endif

__kernel void add(__global const float *restrict a, __global const float *restrict b,
                  __global float *restrict out, int nvec)
{
    const int i = get_global_id(0);
    if (i >= nvec)
        return;
    stx(ACTIVATE(ldx(i, a) + ldx(i, b)), i, out);
}
