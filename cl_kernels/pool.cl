/* pool.cl — max / average pooling and global average pooling on the
 * blocked layout, vectorised across the CB channels of a block.
 *
 *   in: [N][CBK][H][W][CB] -> out: [N][CBK][OH][OW][CB]
 *   AVG divides by the in-bounds window count, or with COUNT_PAD by the
 *   window's count inside the padded extent (PyTorch's count_include_pad).
 *
 * The output may be a channel range of a larger tensor (a concat written in
 * place by the graph runtime): image n, block cb goes to block
 * n * ONB + OOFF + cb of out.
 *
 * Tunables: TILE_W (output pixels per work-item). Shape constants: KH, KW,
 * SH, SW. Switches: MODE (0 max, 1 avg), COUNT_PAD, ACT, CB. */
#ifndef TILE_W
#error "TILE_W must be defined"
#endif
#if !defined(KH) || !defined(KW) || !defined(SH) || !defined(SW)
#error "KH, KW, SH, SW must be defined"
#endif
#ifndef MODE
#error "MODE must be defined"
#endif
#ifndef COUNT_PAD
#error "COUNT_PAD must be defined"
#endif
#ifndef ACT
#error "ACT must be defined"
#endif

__kernel void pool(__global const float *restrict in, __global float *restrict out, int H, int W, int OH,
                   int OW, int PT, int PL, int PB, int PR, int CBK, int ONB, int OOFF)
{
    /* dim 0: (output row, tile of the row) flattened; dim 1: n * CBK + cb */
    const int OWT = (OW + TILE_W - 1) / TILE_W;
    const int g = get_global_id(0);
    if (g >= OH * OWT)
        return;
    const int oy = g / OWT, ox0 = (g % OWT) * TILE_W;
    const int z = get_global_id(1);
    __global const float *ip = in + z * H * W * CB;
    const int zo = (z / CBK) * ONB + OOFF + z % CBK;
    const int y0 = oy * SH - PT;
#pragma unroll
    for (int t = 0; t < TILE_W; t++) {
        const int ox = ox0 + t;
        if (ox >= OW)
            break;
        const int x0 = ox * SW - PL;
#if MODE == 0
        floatx acc = (floatx)(-INFINITY);
#else
        floatx acc = (floatx)(0.0f);
#endif
        int count = 0;
#pragma unroll
        for (int ky = 0; ky < KH; ky++) {
            const int iy = y0 + ky;
            if (iy < 0 || iy >= H)
                continue;
#pragma unroll
            for (int kx = 0; kx < KW; kx++) {
                const int ix = x0 + kx;
                if (ix < 0 || ix >= W)
                    continue;
                const floatx v = ldx(iy * W + ix, ip);
#if MODE == 0
                acc = select(fmax(acc, v), acc + v, isnan(acc) | isnan(v)); /* NaN is kept */
#else
                acc += v;
#endif
                count++;
            }
        }
#if MODE == 1
#if COUNT_PAD
        const int hy = min(y0 + KH, H + PB) - max(y0, -PT);
        const int hx = min(x0 + KW, W + PR) - max(x0, -PL);
        count = hy * hx;
#endif
        acc *= 1.0f / (float)max(count, 1);
#endif
        stx(ACTIVATE(acc), (zo * OH + oy) * OW + ox, out);
    }
}

/* Global average over H*W. Work-item: one channel block of one image. */
__kernel void global_avg(__global const float *restrict in, __global float *restrict out, int HW)
{
    const int z = get_global_id(0);
    __global const float *ip = in + z * HW * CB;
    floatx s0 = (floatx)(0.0f), s1 = (floatx)(0.0f);
    int p = 0;
    for (; p + 1 < HW; p += 2) {
        s0 += ldx(p, ip);
        s1 += ldx(p + 1, ip);
    }
    if (p < HW)
        s0 += ldx(p, ip);
    stx((s0 + s1) * (1.0f / (float)HW), z, out);
}
