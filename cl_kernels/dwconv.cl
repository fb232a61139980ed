/* dwconv.cl — depthwise convolution on the blocked layout, vectorised
 * across the CB channels of a block. Kernel size, stride and dilation are
 * compile-time constants, so each (KH, KW, SH, SW) — 3x3 and 5x5, stride 1
 * and 2 in the target networks — gets its own fully unrolled program.
 * A work-item computes TILE_W output pixels of one row of one channel
 * block; per kernel row it loads the input row segment once and reuses it
 * across the KW taps and the TILE_W outputs.
 *
 *   in:   [N][CBK][H][W][CB]   wt: [CBK][KH][KW][CB]   bias: [CBK*CB]
 *   res, out: [N][CBK][OH][OW][CB];  y = ACTIVATE(conv + bias (+ res))
 *
 * Tunables: TILE_W. Shape constants: KH, KW, SH, SW, DH, DW.
 * Switches: HAS_RES, ACT, CB. */
#ifndef TILE_W
#error "TILE_W must be defined"
#endif
#if !defined(KH) || !defined(KW) || !defined(SH) || !defined(SW) || !defined(DH) || !defined(DW)
#error "KH, KW, SH, SW, DH, DW must be defined"
#endif
#ifndef HAS_RES
#error "HAS_RES must be defined"
#endif
#ifndef ACT
#error "ACT must be defined"
#endif

#define RW ((TILE_W - 1) * SW + (KW - 1) * DW + 1) /* input columns a tile reads */

__kernel void dwconv(__global const float *restrict in, __global const float *restrict wt,
                     __global const float *restrict bias, __global const float *restrict res,
                     __global float *restrict out, int H, int W, int OH, int OW, int PT, int PL, int CBK)
{
    /* dim 0: (output row, tile of the row) flattened, so that small planes
     * still give the work-groups enough items; dim 1: n * CBK + cb */
    const int OWT = (OW + TILE_W - 1) / TILE_W;
    const int g = get_global_id(0);
    if (g >= OH * OWT)
        return;
    const int oy = g / OWT, ox0 = (g % OWT) * TILE_W;
    const int z = get_global_id(1);
    const int cb = z % CBK;
    __global const float *ip = in + z * H * W * CB;
    __global const float *wp = wt + cb * KH * KW * CB;

    floatx acc[TILE_W];
    const floatx b = ldx(cb, bias);
#pragma unroll
    for (int t = 0; t < TILE_W; t++)
        acc[t] = b;

    const int ix0 = ox0 * SW - PL;
#pragma unroll
    for (int ky = 0; ky < KH; ky++) {
        const int iy = oy * SH - PT + ky * DH;
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
                acc[t] = fma(row[t * SW + kx * DW], w, acc[t]);
        }
    }

#pragma unroll
    for (int t = 0; t < TILE_W; t++) {
        const int ox = ox0 + t;
        if (ox >= OW)
            break;
        const int o = ((z * OH + oy) * OW + ox) * CB;
        floatx v = acc[t];
#if HAS_RES
        v += ldx(0, res + o);
#endif
        stx(ACTIVATE(v), 0, out + o);
    }
}
