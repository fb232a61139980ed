/* channel.cl — one gather kernel for channel shuffle, split, concat and
 * their fusions, on the blocked layout. The source is the concatenation of
 * in0 (C0 channels) and in1 along channels; output channel c < COUT reads
 * source channel OFF + (c % G) * (COUT / G) + c / G; lanes c >= COUT are 0.
 *
 *   in0: [N][SB0][HW][CB], in1: [N][SB1][HW][CB], out: [N][OBK][HW][CB]
 *
 * Work-item: PIX pixels of one output block of one image. Two paths:
 *
 *   runs (G 1, 2, or 4 with CB >= 8; a full output block): the block's
 *     lanes are G runs of R = CB/G consecutive source channels (run i:
 *     lanes i, i+G, ...), each inside one input. A run starting at lane k of
 *     source block b is two unaligned R-wide loads, X at lane k of block b
 *     and Y at lane k-CB of block b+1, merged by a lane mask (lanes
 *     >= CB-k from Y); the two runs of G 2 are then interleaved by a
 *     constant shuffle. Every load stays inside the input: X runs past its
 *     pixel only when the run continues in block b+1 (which then exists),
 *     Y starts before block b+1 only into block b; a run that does not
 *     cross a block reads Y from X's address, masked off. G 2 and 4 then
 *     interleave their runs by a constant shuffle.
 *   lanes (anything else): lane l reads its own source address; a zero
 *     lane (past COUT) reads a valid address and is masked, so every lane
 *     is one unconditional load.
 *
 * Measured on POCL (CPU, CB 16, bench_ops --net shufflenet_v2_x1_0, 5
 * interleaved runs, medians) against the lanes path alone, which builds
 * each vector from CB scalar loads: shuffle 116 ch @28x28 1.46x faster
 * (0.052 -> 0.035 ms), 232 ch @14x14 2.5x (0.036 -> 0.015 ms), the
 * unaligned split 1.1x; the concat is level. Shuffle of 4 groups, 512 ch
 * @64x64 (bench_ops --net shufflenet_v1, 4 interleaved runs, Intel Xeon
 * VM): 31 -> 36.5 GB/s (median), 38-61% -> 57-65% of the copy kernel.
 * Tunables: none. Switches: CB, PIX. */
#ifndef PIX
#error "PIX (pixels per work-item) must be defined"
#endif

/* The run of R channels starting at source channel s (inside one input):
 * *x, *y: the addresses of its pixel 0 loads, returns k (its first lane in
 * its block); the caller masks lanes >= CB - k from y. */
static inline int run_at(__global const float *in0, __global const float *in1, int C0, int SB0, int SB1,
                         int HW, int n, int s, int R, __global const float **x, __global const float **y)
{
    __global const float *base = s < C0 ? in0 + n * SB0 * HW * CB : in1 + n * SB1 * HW * CB;
    const int t = s < C0 ? s : s - C0, k = t % CB;
    *x = base + (t / CB) * HW * CB + k;
    *y = k + R > CB ? base + (t / CB + 1) * HW * CB + k - CB : *x;
    return k;
}

__kernel void gather(__global const float *restrict in0, __global const float *restrict in1,
                     __global float *restrict out, int C0, int SB0, int SB1, int HW, int COUT, int OBK,
                     int OFF, int G)
{
    const int p0 = get_global_id(0) * PIX, ob = get_global_id(1), n = get_global_id(2);
    if (p0 >= HW)
        return;
    const int pend = min(p0 + PIX, HW);
    __global float *op = out + (n * OBK + ob) * HW * CB;
    const int c0 = ob * CB;
    const int per = COUT / G;
    if (MCL_RUNS_PATH(G) && c0 + CB <= COUT) {
        const int R = CB / G;
        const int se = OFF + c0 / G, so = se + per; /* the runs' first source channels */
        const int c1 = C0 - 1;
        int inside = 1; /* every run inside one input */
        for (int i = 0; i < G; i++) {
            const int s = se + i * per;
            inside = inside && (s + R - 1 <= c1 || s > c1);
        }
        if (inside) {
            __global const float *xe, *ye, *xo, *yo;
            const int ke = run_at(in0, in1, C0, SB0, SB1, HW, n, se, R, &xe, &ye);
            if (G == 1) {
                const intx m = MCL_LANES_X >= (intx)(CB - ke);
                for (int p = p0; p < pend; p++)
                    stx(select(vloadx(p, xe), vloadx(p, ye), m), p, op);
            }
#if MCL_G4_RUNS
            else if (G == 4) {
                __global const float *x1, *y1, *x2, *y2, *x3, *y3;
                const int k1 = run_at(in0, in1, C0, SB0, SB1, HW, n, so, R, &x1, &y1);
                const int k2 = run_at(in0, in1, C0, SB0, SB1, HW, n, so + per, R, &x2, &y2);
                const int k3 = run_at(in0, in1, C0, SB0, SB1, HW, n, so + 2 * per, R, &x3, &y3);
                const intq m0 = MCL_LANES_Q >= (intq)(CB - ke), m1 = MCL_LANES_Q >= (intq)(CB - k1);
                const intq m2 = MCL_LANES_Q >= (intq)(CB - k2), m3 = MCL_LANES_Q >= (intq)(CB - k3);
                for (int p = p0; p < pend; p++) {
                    const int o = p * CB;
                    const floatq a = select(vloadq(0, xe + o), vloadq(0, ye + o), m0);
                    const floatq b = select(vloadq(0, x1 + o), vloadq(0, y1 + o), m1);
                    const floatq c = select(vloadq(0, x2 + o), vloadq(0, y2 + o), m2);
                    const floatq d = select(vloadq(0, x3 + o), vloadq(0, y3 + o), m3);
                    stx(MCL_ZIP4(a, b, c, d), p, op);
                }
            }
#endif
            else {
                const int ko = run_at(in0, in1, C0, SB0, SB1, HW, n, so, R, &xo, &yo);
                const inth me = MCL_LANES_H >= (inth)(CB - ke), mo = MCL_LANES_H >= (inth)(CB - ko);
                for (int p = p0; p < pend; p++) {
                    const floath e = select(vloadh(0, xe + p * CB), vloadh(0, ye + p * CB), me);
                    const floath o = select(vloadh(0, xo + p * CB), vloadh(0, yo + p * CB), mo);
                    stx(MCL_ZIP2(e, o), p, op);
                }
            }
            return;
        }
    }
    /* lane l reads src[l][p * CB]; zero lanes (past COUT) read a valid
     * address and are masked, so every lane is one unconditional load */
    __global const float *src[CB];
    int live[CB];
#pragma unroll
    for (int l = 0; l < CB; l++) {
        const int c = c0 + l;
        const int s = OFF + (c % G) * per + c / G;
        const int t = s - C0;
        live[l] = c < COUT;
        src[l] = !live[l] ? in0 + (n * SB0) * HW * CB
                 : s < C0 ? in0 + (n * SB0 + s / CB) * HW * CB + s % CB
                          : in1 + (n * SB1 + t / CB) * HW * CB + t % CB;
    }
    for (int p = p0; p < pend; p++) {
        float v[CB];
#pragma unroll
        for (int l = 0; l < CB; l++)
            v[l] = live[l] ? src[l][p * CB] : 0.0f;
        stx(vloadx(0, v), p, op);
    }
}

/* Slot gather, the graph runtime's general channel move (a shuffle, split
 * or concat that could not be folded away): block j of the table moves CB
 * lanes, lane l from slot src[j*CB+l] of in (-1: 0) to slot dst[j*CB+l] of
 * out (-1: none). in: [N][INB][HW][CB], out: [N][ONB][HW][CB].
 * Work-item: PIX pixels of one table block of one image. */
__kernel void slot_gather(__global const float *restrict in, __global float *restrict out,
                          __global const int *restrict src, __global const int *restrict dst, int HW, int INB,
                          int ONB, int NBLK)
{
    const int p0 = get_global_id(0) * PIX, j = get_global_id(1), n = get_global_id(2);
    if (p0 >= HW || j >= NBLK)
        return;
    mcl_copy_lanes(in, out, src + j * CB, dst + j * CB, n * INB, n * ONB, HW, p0, min(p0 + PIX, HW));
}
