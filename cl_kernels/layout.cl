/* layout.cl — conversion between plain NCHW and the blocked layout.
 * Tunables: none. Required: CB, ACT (applied by nchw_to_blocked's epilogue). */
#ifndef ACT
#error "ACT must be defined"
#endif

/* src: NCHW [N][C][HW] -> dst: blocked [N][CBK][HW][CB], CBK = global size 1.
 * flags bit 0: add bias[CBK*CB]; bit 1: add residual (blocked, dst's shape);
 * then ACTIVATE. Work-item: one pixel p, one channel block, one image. */
__kernel void nchw_to_blocked(__global const float *restrict src, __global float *restrict dst,
                              __global const float *restrict bias, __global const float *restrict res,
                              int flags, int C, int HW)
{
    const int p = get_global_id(0), cb = get_global_id(1), n = get_global_id(2);
    const int CBK = get_global_size(1);
    float tmp[CB];
    for (int l = 0; l < CB; l++) {
        const int c = cb * CB + l;
        const int cc = min(c, C - 1);
        const float v = src[(n * C + cc) * HW + p];
        tmp[l] = c < C ? v : 0.0f;
    }
    floatx v = vloadx(0, tmp);
    const int idx = ((n * CBK + cb) * HW + p) * CB;
    if (flags & 1)
        v += vloadx(cb, bias);
    if (flags & 2)
        v += vloadx(0, res + idx);
    vstorex(ACTIVATE(v), 0, dst + idx);
}

/* src: blocked -> dst: NCHW. Work-item: one pixel, one channel, one image. */
__kernel void blocked_to_nchw(__global const float *restrict src, __global float *restrict dst, int C, int HW)
{
    const int p = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    const int CBK = (C + CB - 1) / CB;
    dst[(n * C + c) * HW + p] = src[((n * CBK + c / CB) * HW + p) * CB + c % CB];
}
