/* pwconv.cl — pointwise (1x1, stride 1) convolution on the blocked layout,
 * plain or grouped, in one launch; a register tile of TILE_C output channel
 * blocks x TILE_W pixels per work-item (outer products: one input scalar
 * broadcast against a CB-wide weight vector).
 *
 *   in:   [N][ICB][HW][CB]
 *   wt:   [OB][KB*CB][CB]  for output block ob, KB input blocks starting at
 *         block start[ob]; weights of channels outside ob's group are zero
 *   bias: [OB*CB]
 *   res, out: [N][OB][HW][CB]
 *   y = ACTIVATE(conv + bias (+ res))
 *
 * Tunables: TILE_W (pixels per work-item), TILE_C (output blocks per
 * work-item). Switches: GROUPED (start[] differs per ob), HAS_RES, ACT, CB. */
#ifndef TILE_W
#error "TILE_W must be defined"
#endif
#ifndef TILE_C
#error "TILE_C must be defined"
#endif
#ifndef GROUPED
#error "GROUPED must be defined"
#endif
#ifndef HAS_RES
#error "HAS_RES must be defined"
#endif
#ifndef ACT
#error "ACT must be defined"
#endif

__kernel void pwconv(__global const float *restrict in, __global const float *restrict wt,
                     __global const float *restrict bias, __global const int *restrict start,
                     __global const float *restrict res, __global float *restrict out,
                     int HW, int ICB, int OB, int KB)
{
    const int p0 = get_global_id(0) * TILE_W;
    const int ob0 = get_global_id(1) * TILE_C;
    const int n = get_global_id(2);
    if (p0 >= HW || ob0 >= OB)
        return;

    int pix[TILE_W]; /* pixel tail: clamp the loads, skip the stores */
#pragma unroll
    for (int t = 0; t < TILE_W; t++)
        pix[t] = min(p0 + t, HW - 1) * CB;

    floatx acc[TILE_C][TILE_W];
#pragma unroll
    for (int c = 0; c < TILE_C; c++) {
        const floatx b = vloadx(min(ob0 + c, OB - 1), bias);
#pragma unroll
        for (int t = 0; t < TILE_W; t++)
            acc[c][t] = b;
    }

    /* All TILE_C x TILE_W accumulators are live in the inner loop. When the
     * tile's output blocks share one input range (always without groups;
     * with groups when start[] is equal across the tile, start[] being
     * non-decreasing) one input scalar feeds TILE_C FMAs; otherwise each
     * output block reads its own range and a scalar feeds one FMA. */
    __global const float *wp = wt + ob0 * KB * CB * CB;
    const int wstride = KB * CB * CB; /* between output blocks */
#define PW_LOOP(LOAD_AND_FMA, ADVANCE)                                          \
    for (int k = 0; k < KB; k++) {                                              \
        _Pragma("unroll") for (int l = 0; l < CB; l++) {                        \
            floatx w[TILE_C];                                                   \
            _Pragma("unroll") for (int c = 0; c < TILE_C; c++)                  \
                w[c] = vloadx(l, wp + min(c, OB - 1 - ob0) * wstride);          \
            _Pragma("unroll") for (int t = 0; t < TILE_W; t++) { LOAD_AND_FMA } \
        }                                                                       \
        ADVANCE                                                                 \
        wp += CB * CB;                                                          \
    }
#define PW_SHARED                                                               \
    const floatx a = (floatx)(ip[pix[t] + l]);                                  \
    _Pragma("unroll") for (int c = 0; c < TILE_C; c++) acc[c][t] = fma(a, w[c], acc[c][t]);

#if GROUPED
    if (start[ob0] == start[min(ob0 + TILE_C - 1, OB - 1)]) {
        __global const float *ip = in + (n * ICB + start[ob0]) * HW * CB;
        PW_LOOP(PW_SHARED, ip += HW * CB;)
    } else {
        __global const float *ipc[TILE_C];
#pragma unroll
        for (int c = 0; c < TILE_C; c++)
            ipc[c] = in + (n * ICB + start[min(ob0 + c, OB - 1)]) * HW * CB;
        PW_LOOP(_Pragma("unroll") for (int c = 0; c < TILE_C; c++)
                    acc[c][t] = fma((floatx)(ipc[c][pix[t] + l]), w[c], acc[c][t]);,
                _Pragma("unroll") for (int c = 0; c < TILE_C; c++) ipc[c] += HW * CB;)
    }
#else
    __global const float *ip = in + n * ICB * HW * CB;
    PW_LOOP(PW_SHARED, ip += HW * CB;)
#endif
#undef PW_LOOP
#undef PW_SHARED

#pragma unroll
    for (int c = 0; c < TILE_C; c++) {
        const int ob = ob0 + c;
        if (ob >= OB)
            break;
#pragma unroll
        for (int t = 0; t < TILE_W; t++) {
            const int p = p0 + t;
            if (p >= HW)
                break;
            const int o = ((n * OB + ob) * HW + p) * CB;
            floatx v = acc[c][t];
#if HAS_RES
            v += vloadx(0, res + o);
#endif
            vstorex(ACTIVATE(v), 0, out + o);
        }
    }
}
