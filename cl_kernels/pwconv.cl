/* pwconv.cl — pointwise (1x1, stride 1) convolution on the blocked layout,
 * plain or grouped, in one launch; a register tile of TILE_C output channel
 * blocks x TILE_W pixels per work-item (outer products: one input scalar
 * broadcast against a CB-wide weight vector).
 *
 *   in:   [N][ICB][HW][CB]
 *   wt:   [OB][KB*CB][CB]  for output block ob, KB input blocks starting at
 *         block start[ob]; weights of channels outside ob's group are zero
 *   bias: [OB*CB]
 *   res, out: [N][ONB][HW][CB]; output block ob is block OOFF + ob of out
 *   y = ACTIVATE(conv + bias (+ res))
 *
 * Graph-runtime extensions (compile-time switches, 0 for the plain op):
 *   SCATTER: lane l of output block ob goes to channel slot oslot[ob*CB+l]
 *            of out (-1: dropped): a channel shuffle or an interleaved
 *            concat folded into the store (res is read at the same slot).
 *   PASS:    NPASS extra rows of work-items along dim 1 copy channels of
 *            pin ([N][PNB][HW][CB]) into out: lane l of pass block j copies
 *            slot psrc[j*CB+l] (-1: writes 0) to slot pdst[j*CB+l] (-1:
 *            nothing) — the other half of a ShuffleNet V2 concat, moved by
 *            the launch that writes this half, so no copy kernel runs.
 *
 * Tunables: TILE_W (pixels per work-item), TILE_C (output blocks per
 * work-item). Switches: GROUPED (start[] not all equal; one start for all
 * blocks is an input offset, e.g. the second half of a split), HAS_RES, ACT, CB,
 * SCATTER, PASS. */
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
#if !defined(SCATTER) || !defined(PASS)
#error "SCATTER and PASS must be defined"
#endif

__kernel void pwconv(__global const float *restrict in, __global const float *restrict wt,
                     __global const float *restrict bias, __global const int *restrict start,
                     __global const float *restrict res, __global float *restrict out,
                     int HW, int ICB, int OB, int KB, int ONB, int OOFF,
                     __global const int *restrict oslot, __global const float *restrict pin,
                     __global const int *restrict psrc, __global const int *restrict pdst, int PNB,
                     int NPASS)
{
    const int p0 = get_global_id(0) * TILE_W;
    const int ob0 = get_global_id(1) * TILE_C;
    const int n = get_global_id(2);
#if PASS
    {
        const int j = get_global_id(1) - (OB + TILE_C - 1) / TILE_C;
        if (j >= 0) {
            if (j < NPASS && p0 < HW)
                mcl_copy_lanes(pin, out, psrc + j * CB, pdst + j * CB, n * PNB, n * ONB, HW, p0,
                               min(p0 + TILE_W, HW));
            return;
        }
    }
#endif
    if (p0 >= HW || ob0 >= OB)
        return;

    int pix[TILE_W]; /* pixel tail: clamp the loads, skip the stores */
#pragma unroll
    for (int t = 0; t < TILE_W; t++)
        pix[t] = min(p0 + t, HW - 1) * CB;

    floatx acc[TILE_C][TILE_W];
#pragma unroll
    for (int c = 0; c < TILE_C; c++) {
        const floatx b = ldx(min(ob0 + c, OB - 1), bias);
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
        _Pragma("unroll 4") for (int l = 0; l < CB; l++) {                      \
            floatx w[TILE_C];                                                   \
            _Pragma("unroll") for (int c = 0; c < TILE_C; c++)                  \
                w[c] = ldx(l, wp + min(c, OB - 1 - ob0) * wstride);          \
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
    __global const float *ip = in + (n * ICB + start[ob0]) * HW * CB; /* one start for all blocks */
    PW_LOOP(PW_SHARED, ip += HW * CB;)
#endif
#undef PW_LOOP
#undef PW_SHARED

#pragma unroll
    for (int c = 0; c < TILE_C; c++) {
        const int ob = ob0 + c;
        if (ob >= OB)
            break;
#if SCATTER
        int so[CB]; /* each lane's offset in out for pixel 0, -1: dropped */
#pragma unroll
        for (int l = 0; l < CB; l++) {
            const int sl = oslot[ob * CB + l];
            so[l] = sl < 0 ? -1 : (n * ONB + sl / CB) * HW * CB + sl % CB;
        }
#endif
#pragma unroll
        for (int t = 0; t < TILE_W; t++) {
            const int p = p0 + t;
            if (p >= HW)
                break;
#if SCATTER
            floatx vv = acc[c][t];
            float *v = (float *)&vv;
#pragma unroll 1
            for (int l = 0; l < CB; l++) {
                if (so[l] < 0)
                    continue;
                const int o = so[l] + p * CB;
#if HAS_RES
                v[l] += res[o];
#endif
                out[o] = ACTIVATE(v[l]);
            }
#else
            const int o = ((n * ONB + OOFF + ob) * HW + p) * CB;
            floatx v = acc[c][t];
#if HAS_RES
            v += ldx(0, res + o);
#endif
            stx(ACTIVATE(v), 0, out + o);
#endif
        }
    }
}
