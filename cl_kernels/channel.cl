/* channel.cl — one gather kernel for channel shuffle, split, concat and
 * their fusions, on the blocked layout. The source is the concatenation of
 * in0 (C0 channels) and in1 along channels; output channel c < COUT reads
 * source channel OFF + (c % G) * (COUT / G) + c / G; lanes c >= COUT are 0.
 *
 *   in0: [N][SB0][HW][CB], in1: [N][SB1][HW][CB], out: [N][OBK][HW][CB]
 *
 * A block whose CB source channels are one aligned source block (no
 * shuffle, aligned offset) is copied as one vector; the rest lane by lane.
 * Work-item: one pixel of one output block of one image.
 * Tunables: none. Switches: CB. */

__kernel void gather(__global const float *restrict in0, __global const float *restrict in1,
                     __global float *restrict out, int C0, int SB0, int SB1, int HW, int COUT, int OBK,
                     int OFF, int G)
{
    const int p = get_global_id(0), ob = get_global_id(1), n = get_global_id(2);
    const int o = ((n * OBK + ob) * HW + p) * CB;
    const int c0 = ob * CB;
    const int s0 = OFF + c0;
    if (G == 1 && c0 + CB <= COUT && s0 % CB == 0 && (s0 + CB <= C0 || (s0 >= C0 && (s0 - C0) % CB == 0))) {
        floatx v;
        if (s0 < C0)
            v = vloadx(0, in0 + ((n * SB0 + s0 / CB) * HW + p) * CB);
        else
            v = vloadx(0, in1 + ((n * SB1 + (s0 - C0) / CB) * HW + p) * CB);
        vstorex(v, 0, out + o);
        return;
    }
    const int per = COUT / G;
    for (int l = 0; l < CB; l++) {
        const int c = c0 + l;
        float v = 0.0f;
        if (c < COUT) {
            const int s = OFF + (c % G) * per + c / G;
            if (s < C0)
                v = in0[((n * SB0 + s / CB) * HW + p) * CB + s % CB];
            else
                v = in1[((n * SB1 + (s - C0) / CB) * HW + p) * CB + (s - C0) % CB];
        }
        out[o + l] = v;
    }
}
