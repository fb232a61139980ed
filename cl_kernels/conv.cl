/* conv.cl — direct KxK convolution on the blocked layout, any group count
 * (the general path: first layers, grouped KxK, dilated). A work-item
 * computes TILE_W output pixels of a row for one output channel block:
 * input scalars broadcast against CB-wide weight vectors.
 *
 *   in:   [N][ICB][H][W][CB]
 *   wt:   [OB][KB*CB][KH][KW][CB]  for output block ob, KB input blocks from
 *         block start[ob]; weights of channels outside ob's group are zero
 *   bias: [OB*CB];  res, out: [N][OB][OH][OW][CB]
 *   y = ACTIVATE(conv + bias (+ res))
 *
 * IN_NCHW: the input is plain NCHW ([N][IC][H][W]: a network's image, read
 * where it was uploaded, without a layout kernel and without reading 16
 * lanes per pixel for 3 channels). Then ICN is the image's channel count
 * (if <= CB, the lane loop is unrolled) and a work-item computes OBN
 * output blocks (up to 4 for a first layer, groups 1), so each input row
 * it loads feeds OBN x TILE_W accumulators instead of TILE_W.
 *
 * Tunables: TILE_W. Shape constants: KH, KW, SH, SW, DH, DW.
 * Switches: HAS_RES, ACT, CB, IN_NCHW (with ICN, OBN). */
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
#ifndef IN_NCHW
#error "IN_NCHW must be defined"
#endif
#if IN_NCHW && (!defined(ICN) || !defined(OBN))
#error "IN_NCHW needs ICN and OBN"
#endif
#if !IN_NCHW
#define OBN 1
#endif

#define RW ((TILE_W - 1) * SW + (KW - 1) * DW + 1)

__kernel void conv(__global const float *restrict in, __global const float *restrict wt,
                   __global const float *restrict bias, __global const int *restrict start,
                   __global const float *restrict res, __global float *restrict out,
                   int H, int W, int OH, int OW, int PT, int PL, int ICB, int OB, int KB, int IC)
{
    /* dim 0: (output row, tile of the row) flattened */
    const int OWT = (OW + TILE_W - 1) / TILE_W;
    const int g = get_global_id(0);
    if (g >= OH * OWT)
        return;
    const int oy = g / OWT, ox0 = (g % OWT) * TILE_W;
    /* dim 1: n * (OB / OBN) + output-block group */
    const int z = get_global_id(1), OBG = (OB + OBN - 1) / OBN;
    const int n = z / OBG, ob0 = (z % OBG) * OBN;

    floatx acc[OBN][TILE_W];
#pragma unroll
    for (int c = 0; c < OBN; c++) {
        const floatx b = ldx(min(ob0 + c, OB - 1), bias);
#pragma unroll
        for (int t = 0; t < TILE_W; t++)
            acc[c][t] = b;
    }

    const int ix0 = ox0 * SW - PL;
    const int s = start[ob0]; /* OBN > 1 only without groups: one start for all */
    for (int k = 0; k < KB; k++) {
#if IN_NCHW
        __global const float *ip = in + (n * IC + (s + k) * CB) * H * W; /* lane l: plane l */
#define IN_AT(y, x, l) ip[((l) * H + (y)) * W + (x)]
#else
        __global const float *ip = in + (n * ICB + s + k) * H * W * CB;
#define IN_AT(y, x, l) ip[((y) * W + (x)) * CB + (l)]
#endif
#if IN_NCHW && ICN <= CB
        const int lanes = ICN; /* the image's channels: a constant, unrolled */
#pragma unroll
#else
        /* lanes past the real input channels are zero: skip them */
        const int lanes = min(CB, IC - (s + k) * CB);
#endif
        for (int l = 0; l < lanes; l++) {
            /* rows stay a loop: on POCL the stem (3 -> 32, 224x224) ran
             * ~1.2x faster and compiled in 0.42 s instead of 0.73 s */
#pragma unroll 1
            for (int ky = 0; ky < KH; ky++) {
                const int iy = oy * SH - PT + ky * DH;
                if (iy < 0 || iy >= H)
                    continue;
                float row[RW];
#pragma unroll
                for (int r = 0; r < RW; r++) {
                    const int ix = ix0 + r;
                    const float v = IN_AT(iy, clamp(ix, 0, W - 1), l);
                    row[r] = (ix >= 0 && ix < W) ? v : 0.0f;
                }
#pragma unroll
                for (int c = 0; c < OBN; c++) {
                    __global const float *wp = wt + (min(ob0 + c, OB - 1) * KB + k) * CB * KH * KW * CB;
#pragma unroll
                    for (int kx = 0; kx < KW; kx++) {
                        const floatx w = ldx((l * KH + ky) * KW + kx, wp);
#pragma unroll
                        for (int t = 0; t < TILE_W; t++)
                            acc[c][t] = fma((floatx)(row[t * SW + kx * DW]), w, acc[c][t]);
                    }
                }
            }
        }
    }

#undef IN_AT
#pragma unroll
    for (int c = 0; c < OBN; c++) {
#pragma unroll
        for (int t = 0; t < TILE_W; t++) {
            const int ox = ox0 + t;
            if (ox >= OW || ob0 + c >= OB)
                break;
            const int o = (((n * OB + ob0 + c) * OH + oy) * OW + ox) * CB;
            floatx v = acc[c][t];
#if HAS_RES
            v += ldx(0, res + o);
#endif
            stx(ACTIVATE(v), 0, out + o);
        }
    }
}
