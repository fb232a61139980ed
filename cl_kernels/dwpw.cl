/* dwpw.cl — depthwise KHxKW (stride SH x SW) fused with the pointwise 1x1
 * that follows it, on the blocked layout; the depthwise result never goes
 * to global memory:
 *
 *   in:   [N][ICB][H][W][CB]    wdw: [ICB][KH][KW][CB]   bdw: [ICB*CB]
 *   wpw:  [OB][ICB*CB][CB]      bpw: [OB*CB]
 *   res, out: [N][OB][OH][OW][CB]
 *   y = ACT2(pw(ACT1(dw(in) + bdw)) + bpw (+ res))
 *
 * A work-item owns TILE_W output pixels of one output row and OPB output
 * blocks (dim 1 splits the OB output blocks in groups of OPB). The
 * depthwise of its pixels is computed once per work-item, i.e. once per
 * output-block group over the whole launch: ceil(OB / OPB) times in all —
 * the price of not sharing it through memory. Two orders:
 *
 *   INTERLEAVE 0: the depthwise of all ICB input blocks into a private
 *     buffer [ICB][TILE_W][CB] (sized for ICB_MAX blocks, a compile-time
 *     bound: ICB itself is an argument, so layers of one stride and
 *     kernel size share a program), then
 *     the pointwise over the group in register tiles of TILE_C blocks x
 *     TILE_W pixels (pwconv.cl's outer products, the scalar broadcast read
 *     from the buffer), so the depthwise and the pointwise accumulators are
 *     never live together.
 *   INTERLEAVE 1 (OPB == TILE_C): per input block, the depthwise of the
 *     TILE_W pixels into a [TILE_W][CB] buffer, then at once that block's
 *     outer products; the TILE_C x TILE_W accumulators stay live across the
 *     depthwise.
 *
 * Padding lanes: the packed weights and biases of lanes >= C are zero, so
 * ACT1(0) = 0 enters the pointwise and padded output lanes are ACT2(0) = 0.
 *
 * Padding PT / PL is a kernel argument (any; the networks use K/2).
 *
 * Measured on POCL, CPU, CB 16 (bench/bench_dwpw.c, MobileNet V1/V2,
 * MnasNet, ShuffleNet V2 pairs): INTERLEAVE 0 with TILE_W 7, TILE_C 2 and
 * OPB = OB (the depthwise computed once) wins most pairs, OPB = OB/2..OB/4
 * on 7x7 planes (both cores busy), TILE_W 8, TILE_C 1 for 16-channel
 * outputs. Recomputing the depthwise per register tile (OPB == TILE_C <
 * OB, either order) was ~1.5-1.8x slower (median over the pairs). Against the two library ops the fused
 * kernel was faster on nearly every pair: ~1.05-1.1x where the pointwise
 * dominates (wide outputs), 1.3-1.9x for the narrow projections. The
 * graph runtime uses it for every depthwise -> 1x1 pair on CPUs, the 1x1
 * writing a tensor of its own or its part of a concat (host/op_dwpw.c,
 * graph/plan.c try_dwpw).
 *
 * Graph-runtime output extensions, as in pwconv.cl (0 for the plain op):
 * out has ONB blocks and output block ob is block OOFF + ob of it; SCATTER:
 * lane l of output block ob goes to channel slot oslot[ob*CB+l] of out (-1:
 * dropped) — a ShuffleNet V2 branch writing its half of the shuffled
 * concat; PASS: NPASS extra rows of work-items along dim 1 copy channel
 * slots of pin into out (mcl_copy_lanes), the other half of that concat.
 *
 * Tunables: TILE_W, TILE_C, INTERLEAVE; OPB (an argument: a multiple of
 * TILE_C; INTERLEAVE 1 needs OPB == TILE_C). Shape constants: KH, KW, SH,
 * SW, ICB_MAX (ICB <= ICB_MAX is an argument). Switches: ACT1, ACT2 (0 none,
 * 1 relu, 2 relu6), HAS_RES, CB, SCATTER, PASS. */
#ifndef TILE_W
#error "TILE_W must be defined"
#endif
#ifndef TILE_C
#error "TILE_C must be defined"
#endif
#ifndef INTERLEAVE
#error "INTERLEAVE must be defined"
#endif
#if !defined(KH) || !defined(KW) || !defined(SH) || !defined(SW)
#error "KH, KW, SH, SW must be defined"
#endif
#ifndef ICB_MAX
#error "ICB_MAX (the most input channel blocks: the private buffer's size) must be defined"
#endif
#if !defined(ACT1) || !defined(ACT2)
#error "ACT1 and ACT2 must be defined"
#endif
#ifndef HAS_RES
#error "HAS_RES must be defined"
#endif
#if !defined(SCATTER) || !defined(PASS)
#error "SCATTER and PASS must be defined"
#endif

#if ACT1 < 0 || ACT1 > 2 || ACT2 < 0 || ACT2 > 2
#error "ACT1 and ACT2 must be 0 (none), 1 (relu) or 2 (relu6)"
#endif

#define RW ((TILE_W - 1) * SW + KW) /* input columns a tile reads */

/* Depthwise of one input block for the TILE_W pixels of an output-row tile:
 * dst[t * CB + l] = ACT1(dw + bias), lane l of pixel t. */
static inline void dwpw_depthwise(__global const float *ip, __global const float *wp, floatx b, int iy0, int ix0,
                                  int H, int W, floatx *dst)
{
    floatx acc[TILE_W];
#pragma unroll
    for (int t = 0; t < TILE_W; t++)
        acc[t] = b;
#pragma unroll 1 /* rows stay a loop: compile time (POCL: -25%), same speed */
    for (int ky = 0; ky < KH; ky++) {
        const int iy = iy0 + ky;
        if (iy < 0 || iy >= H)
            continue;
        floatx row[RW];
#pragma unroll
        for (int r = 0; r < RW; r++) {
            const int ix = ix0 + r;
            const floatx v = ldx(0, ip + (iy * W + clamp(ix, 0, W - 1)) * CB);
            row[r] = (ix >= 0 && ix < W) ? v : (floatx)(0.0f);
        }
#pragma unroll
        for (int kx = 0; kx < KW; kx++) {
            const floatx w = ldx(ky * KW + kx, wp);
#pragma unroll
            for (int t = 0; t < TILE_W; t++)
                acc[t] = fma(row[t * SW + kx], w, acc[t]);
        }
    }
#pragma unroll
    for (int t = 0; t < TILE_W; t++)
        dst[t] = MCL_ACT(ACT1, acc[t]);
}

/* One input block's outer products: src [TILE_W][CB] (depthwise result),
 * wp: the block's [CB][CB] weights of output block ob0, WSTRIDE apart
 * between output blocks (clamped to the last real block past OB). */
#define WSTRIDE (ICB * CB * CB)
#define DWPW_OUTER(src)                                                        \
    _Pragma("unroll 4") for (int l = 0; l < CB; l++)                           \
    {                                                                          \
        floatx w[TILE_C];                                                      \
        _Pragma("unroll") for (int c = 0; c < TILE_C; c++)                     \
            w[c] = ldx(l, wp + min(c, OB - 1 - ob0) * WSTRIDE);             \
        _Pragma("unroll") for (int t = 0; t < TILE_W; t++)                     \
        {                                                                      \
            const floatx a = (floatx)((src)[t * CB + l]);                      \
            _Pragma("unroll") for (int c = 0; c < TILE_C; c++)                 \
                acc[c][t] = fma(a, w[c], acc[c][t]);                           \
        }                                                                      \
    }

#define DWPW_INIT                                                              \
    _Pragma("unroll") for (int c = 0; c < TILE_C; c++)                         \
    {                                                                          \
        const floatx b = ldx(min(ob0 + c, OB - 1), bpw);                    \
        _Pragma("unroll") for (int t = 0; t < TILE_W; t++) acc[c][t] = b;      \
    }

/* Store the tile's blocks below obe and pixels below OW: plain vector
 * stores at block OOFF + ob of out, or (SCATTER) each lane at its slot. */
#if SCATTER
#define DWPW_STORE(obe)                                                        \
    _Pragma("unroll") for (int c = 0; c < TILE_C; c++)                         \
    {                                                                          \
        if (ob0 + c < (obe)) {                                                 \
            int so[CB];                                                        \
            _Pragma("unroll 1") for (int l = 0; l < CB; l++)                   \
            {                                                                  \
                const int sl = oslot[(ob0 + c) * CB + l];                      \
                so[l] = sl < 0 ? -1 : (n * ONB + sl / CB) * OH * OW * CB + sl % CB;\
            }                                                                  \
            _Pragma("unroll") for (int t = 0; t < TILE_W; t++)                 \
            {                                                                  \
                if (ox0 + t < OW) {                                            \
                    const floatx vv = acc[c][t];                               \
                    const float *v = (const float *)&vv;                       \
                    const int po = (oy * OW + ox0 + t) * CB;                   \
                    _Pragma("unroll 1") for (int l = 0; l < CB; l++)           \
                    {                                                          \
                        if (so[l] >= 0) {                                      \
                            float x = v[l];                                    \
                            if (HAS_RES)                                       \
                                x += res[so[l] + po];                          \
                            out[so[l] + po] = MCL_ACT(ACT2, x);               \
                        }                                                      \
                    }                                                          \
                }                                                              \
            }                                                                  \
        }                                                                      \
    }
#else
#define DWPW_STORE(obe)                                                        \
    _Pragma("unroll") for (int c = 0; c < TILE_C; c++)                         \
    {                                                                          \
        _Pragma("unroll") for (int t = 0; t < TILE_W; t++)                     \
        {                                                                      \
            if (ob0 + c < (obe) && ox0 + t < OW) {                             \
                const int o = (((n * ONB + OOFF + ob0 + c) * OH + oy) * OW + ox0 + t) * CB;\
                floatx v = acc[c][t];                                          \
                if (HAS_RES)                                                   \
                    v += ldx(0, res + o);                                   \
                stx(MCL_ACT(ACT2, v), 0, out + o);                        \
            }                                                                  \
        }                                                                      \
    }
#endif

__kernel void dwpw(__global const float *restrict in, __global const float *restrict wdw,
                   __global const float *restrict bdw, __global const float *restrict wpw,
                   __global const float *restrict bpw, __global const float *restrict res,
                   __global float *restrict out, int H, int W, int OH, int OW, int PT, int PL, int OB,
                   int ONB, int OOFF, __global const int *restrict oslot, __global const float *restrict pin,
                   __global const int *restrict psrc, __global const int *restrict pdst, int PNB, int NPASS,
                   int ICB, int OPB)
{
    /* dim 0: (output row, tile of the row) flattened; dim 1: output-block
     * group (then NPASS pass rows); dim 2: image */
    const int OWT = (OW + TILE_W - 1) / TILE_W;
    const int g = get_global_id(0);
    const int n = get_global_id(2);
#if PASS
    {
        const int j = get_global_id(1) - (OB + OPB - 1) / OPB;
        if (j >= 0) {
            if (j < NPASS && g < OH * OWT) { /* this work-item's pixels: one row tile */
                const int p0 = (g / OWT) * OW + (g % OWT) * TILE_W;
                mcl_copy_lanes(pin, out, psrc + j * CB, pdst + j * CB, n * PNB, n * ONB, OH * OW, p0,
                               p0 + min(TILE_W, OW - (g % OWT) * TILE_W));
            }
            return;
        }
    }
#endif
    const int obg = get_global_id(1) * OPB;
    if (g >= OH * OWT || obg >= OB)
        return;
    const int oy = g / OWT, ox0 = (g % OWT) * TILE_W;
    __global const float *ip = in + n * ICB * H * W * CB;
    const int iy0 = oy * SH - PT, ix0 = ox0 * SW - PL;
    floatx acc[TILE_C][TILE_W];

#if INTERLEAVE
    const int ob0 = obg;
    floatx d[TILE_W];
    __global const float *wp = wpw + ob0 * WSTRIDE;
    DWPW_INIT
    for (int k = 0; k < ICB; k++) {
        dwpw_depthwise(ip + k * H * W * CB, wdw + k * KH * KW * CB, ldx(k, bdw), iy0, ix0, H, W, d);
        DWPW_OUTER((const float *)d)
        wp += CB * CB;
    }
    DWPW_STORE(OB)
#else
    floatx d[ICB_MAX * TILE_W];
    for (int k = 0; k < ICB; k++)
        dwpw_depthwise(ip + k * H * W * CB, wdw + k * KH * KW * CB, ldx(k, bdw), iy0, ix0, H, W,
                       d + k * TILE_W);
    const int obe = min(obg + OPB, OB);
    for (int ob0 = obg; ob0 < obe; ob0 += TILE_C) {
        __global const float *wp = wpw + ob0 * WSTRIDE;
        DWPW_INIT
        for (int k = 0; k < ICB; k++) {
            DWPW_OUTER((const float *)(d + k * TILE_W))
            wp += CB * CB;
        }
        DWPW_STORE(obe)
    }
#endif
}
