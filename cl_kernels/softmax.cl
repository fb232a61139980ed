/* softmax.cl — softmax over channels for each (n, h, w), blocked layout.
 * Work-item: one pixel of one image (channel counts here are small).
 * Tunables: none. Switches: CB. */

__kernel void softmax(__global const float *restrict in, __global float *restrict out, int C, int HW)
{
    const int p = get_global_id(0), n = get_global_id(1);
    const int CBK = (C + CB - 1) / CB;
    const int base = n * CBK * HW * CB + p * CB;
#define AT(c) (base + ((c) / CB) * HW * CB + (c) % CB)
    float m = -INFINITY;
    for (int c = 0; c < C; c++)
        m = fmax(m, in[AT(c)]);
    float s = 0.0f;
    for (int c = 0; c < C; c++)
        s += exp(in[AT(c)] - m);
    const float inv = 1.0f / s;
    for (int c = 0; c < CBK * CB; c++)
        out[AT(c)] = c < C ? exp(in[AT(min(c, C - 1))] - m) * inv : 0.0f;
#undef AT
}
