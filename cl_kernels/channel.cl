/* channel.cl — one gather kernel for channel shuffle, split, concat and
 * their fusions, on the blocked layout. The source is the concatenation of
 * in0 (C0 channels) and in1 along channels; output channel c < COUT reads
 * source channel OFF + (c % G) * (COUT / G) + c / G; lanes c >= COUT are 0.
 *
 *   in0: [N][SB0][HW][CB], in1: [N][SB1][HW][CB], out: [N][OBK][HW][CB]
 *
 * A block whose CB source channels are one aligned source block (no
 * shuffle, aligned offset) is copied as one vector; the rest lane by lane.
 * Work-item: PIX pixels of one output block of one image.
 * Tunables: none. Switches: CB. */

#define PIX 16 /* pixels per work-item: the lane map is computed once for them */

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
    const int s0 = OFF + c0;
    if (G == 1 && c0 + CB <= COUT && s0 % CB == 0 && (s0 + CB <= C0 || (s0 >= C0 && (s0 - C0) % CB == 0))) {
        __global const float *ip = s0 < C0 ? in0 + (n * SB0 + s0 / CB) * HW * CB
                                           : in1 + (n * SB1 + (s0 - C0) / CB) * HW * CB;
        for (int p = p0; p < pend; p++)
            vstorex(vloadx(p, ip), p, op);
        return;
    }
    /* lane l reads src[l][p * CB]; zero lanes (past COUT) read a valid
     * address and are masked, so every lane is one unconditional load */
    __global const float *src[CB];
    int live[CB];
    const int per = COUT / G;
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
        vstorex(vloadx(0, v), p, op);
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
