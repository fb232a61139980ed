/* common.cl — prepended to every kernel family's source.
 *
 * Layout: "blocked" NCxHWx, x = CB: element (n, c, h, w) of a tensor with
 * CBK = ceil(C / CB) channel blocks is at ((n*CBK + c/CB)*H + h)*W + w)*CB + c%CB.
 * Padding lanes (c >= C) are zero in every tensor the kernels write.
 *
 * Portability (OpenCL C 1.2, Mali/Adreno/PowerVR as well as POCL): the
 * kernels avoid half precision, images, printf, 64-bit integer math in
 * indexing, atomics, goto, recursion, variable-length arrays, and
 * out-of-bounds reads even under a false condition (indices are clamped
 * before a load, then the value is masked), which some mobile drivers
 * fault on.
 *
 * Required: CB (4, 8 or 16). ACT (0 none, 1 relu, 2 relu6) where a family
 * uses ACTIVATE. */
#ifndef CB
#error "CB (channel block: 4, 8 or 16) must be defined"
#endif
#if CB != 4 && CB != 8 && CB != 16
#error "CB must be 4, 8 or 16"
#endif

#define MCL_CAT_(a, b) a##b
#define MCL_CAT(a, b) MCL_CAT_(a, b)
typedef MCL_CAT(float, CB) floatx;
#define vloadx MCL_CAT(vload, CB)
#define vstorex MCL_CAT(vstore, CB)

/* Half- and quarter-block vectors, lane indices and interleaves (the
 * channel gather's runs, channel.cl). */
#if CB == 16
#define MCL_R2 8
#elif CB == 8
#define MCL_R2 4
#else
#define MCL_R2 2
#endif
typedef MCL_CAT(float, MCL_R2) floath;
typedef MCL_CAT(int, MCL_R2) inth;
typedef MCL_CAT(int, CB) intx;
#define vloadh MCL_CAT(vload, MCL_R2)
#if CB == 16
#define MCL_LANES_X (intx)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define MCL_LANES_H (inth)(0, 1, 2, 3, 4, 5, 6, 7)
#define MCL_ZIP2(e, o)                                                                                     \
    (floatx)((e).s0, (o).s0, (e).s1, (o).s1, (e).s2, (o).s2, (e).s3, (o).s3, (e).s4, (o).s4, (e).s5, (o).s5, \
             (e).s6, (o).s6, (e).s7, (o).s7)
#elif CB == 8
#define MCL_LANES_X (intx)(0, 1, 2, 3, 4, 5, 6, 7)
#define MCL_LANES_H (inth)(0, 1, 2, 3)
#define MCL_ZIP2(e, o) (floatx)((e).s0, (o).s0, (e).s1, (o).s1, (e).s2, (o).s2, (e).s3, (o).s3)
#else
#define MCL_LANES_X (intx)(0, 1, 2, 3)
#define MCL_LANES_H (inth)(0, 1)
#define MCL_ZIP2(e, o) (floatx)((e).s0, (o).s0, (e).s1, (o).s1)
#endif

#if CB >= 8 /* runs of CB/4 lanes for 4 groups */
#if CB == 16
#define MCL_R4 4
#else
#define MCL_R4 2
#endif
typedef MCL_CAT(float, MCL_R4) floatq;
typedef MCL_CAT(int, MCL_R4) intq;
#define vloadq MCL_CAT(vload, MCL_R4)
#if CB == 16
#define MCL_LANES_Q (intq)(0, 1, 2, 3)
#define MCL_ZIP4(a, b, c, d)                                                                              \
    (floatx)((a).s0, (b).s0, (c).s0, (d).s0, (a).s1, (b).s1, (c).s1, (d).s1, (a).s2, (b).s2, (c).s2, (d).s2, \
             (a).s3, (b).s3, (c).s3, (d).s3)
#else
#define MCL_LANES_Q (intq)(0, 1)
#define MCL_ZIP4(a, b, c, d) (floatx)((a).s0, (b).s0, (c).s0, (d).s0, (a).s1, (b).s1, (c).s1, (d).s1)
#endif
#define MCL_G4_RUNS 1
#define MCL_RUNS_PATH(g) ((g) == 1 || (g) == 2 || (g) == 4)
#else
#define MCL_G4_RUNS 0
#define MCL_RUNS_PATH(g) ((g) == 1 || (g) == 2)
#endif

/* Aligned block access to global memory, as vloadx / vstorex but only where
 * p + i * CB is a whole number of blocks from a buffer's base (a pixel's
 * block, a weight vector, a bias block), which OpenCL aligns for floatx.
 * POCL's vload16 / vstore16 inline as 16 scalar accesses that LLVM merges
 * back only late, and POCL generates a kernel's code at its first launch:
 * plain vector accesses cut that for the fused depthwise+1x1 kernel from
 * 0.56 to 0.36 s. vloadx stays for unaligned loads (channel.cl's runs). */
#define ldx(i, p) (((const __global floatx *)(p))[i])
#define stx(v, i, p) (((__global floatx *)(p))[i] = (v))

/* ReLU / ReLU6 that let NaN through (fmax and clamp would turn it into a
 * number and hide a broken input); scalar or vector x. */
#define MCL_RELU(x) select(fmax((x), 0.0f), (x), isnan(x))
#define MCL_RELU6(x) select(clamp((x), 0.0f, 6.0f), (x), isnan(x))

/* Activation a (0 none, 1 relu, 2 relu6) of x; ACTIVATE uses the family's
 * ACT switch, looked up where it is used (so that one program can hold
 * several families' variants: host/program.c, bundles). */
#define MCL_ACT(a, x) ((a) == 1 ? MCL_RELU(x) : (a) == 2 ? MCL_RELU6(x) : (x))
#define ACTIVATE(x) MCL_ACT(ACT, x)

/* MCL_OUTLINE: a helper that a few work-items run once (the pass-through
 * rows), kept out of line on CPUs, where POCL generates a kernel's code at
 * its first launch: inlining mcl_copy_lanes into the fused depthwise+1x1
 * kernel cost 0.16 s of that (0.78 -> 0.62 s). MCL_CPU is set by the host
 * for CPU devices; GPU compilers keep their own choice. */
#if defined(MCL_CPU) && MCL_CPU
#define MCL_OUTLINE __attribute__((noinline))
#else
#define MCL_OUTLINE inline
#endif

/* Copy channel lanes between two blocked tensors of HW pixels, pixels
 * [p0, p1): lane l copies slot src[l] of `in` (-1: writes 0) to slot dst[l]
 * of `out` (-1: skipped). ib / ob: the image's first block in in / out.
 * A row that fills one destination block is stored as one vector.
 * Used by the slot gather (channel.cl) and the pass rows of pwconv and dwpw. */
static MCL_OUTLINE void mcl_copy_lanes(__global const float *in, __global float *out, __global const int *src,
                                       __global const int *dst, int ib, int ob, int HW, int p0, int p1)
{
    int so[CB], dof[CB];
    int wdst = 1; /* the lanes fill one destination block, in order */
    int wsrc = 1; /* ... from one source block, in order: a vector copy */
#pragma unroll 1 /* once per work-item; unrolled it cost POCL 35 ms of code generation per kernel */
    for (int l = 0; l < CB; l++) {
        const int s = src[l], d = dst[l];
        so[l] = s < 0 ? -1 : (ib + s / CB) * HW * CB + s % CB;
        dof[l] = d < 0 ? -1 : (ob + d / CB) * HW * CB + d % CB;
        wdst = wdst && d >= 0 && d - l == dst[0] && dst[0] % CB == 0;
        wsrc = wsrc && s >= 0 && s - l == src[0] && src[0] % CB == 0;
    }
    if (wdst && wsrc) {
        for (int p = p0; p < p1; p++)
            stx(ldx(0, in + so[0] + p * CB), 0, out + dof[0] + p * CB);
    } else if (wdst) {
        for (int p = p0; p < p1; p++) {
            float v[CB];
#pragma unroll 1
            for (int l = 0; l < CB; l++)
                v[l] = so[l] < 0 ? 0.0f : in[max(so[l], 0) + p * CB];
            stx(vloadx(0, v), 0, out + dof[0] + p * CB);
        }
    } else {
        for (int p = p0; p < p1; p++) {
#pragma unroll 1
            for (int l = 0; l < CB; l++)
                if (dof[l] >= 0)
                    out[dof[l] + p * CB] = so[l] < 0 ? 0.0f : in[max(so[l], 0) + p * CB];
        }
    }
}
