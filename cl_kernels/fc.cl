/* fc.cl — fully connected layer over a blocked input, vectorised across
 * CB output features. The weights are packed at create time in the order of
 * the blocked input, so the flatten (c, h, w) costs nothing.
 *
 *   in:  [N][K] (the blocked tensor, K = ICB*H*W*CB floats per image)
 *   wt:  [OB][K][CB]; bias [OB*CB];  out: [N][OB][1][1][CB]
 *
 * Tunables: none. Switches: ACT, CB. */
#ifndef ACT
#error "ACT must be defined"
#endif

__kernel void fc(__global const float *restrict in, __global const float *restrict wt,
                 __global const float *restrict bias, __global float *restrict out, int K, int OB)
{
    const int ob = get_global_id(0), n = get_global_id(1);
    if (ob >= OB)
        return;
    __global const float *ip = in + n * K;
    __global const float *wp = wt + ob * K * CB;
    floatx a0 = ldx(ob, bias), a1 = (floatx)(0.0f);
    int k = 0;
    for (; k + 1 < K; k += 2) {
        a0 = fma((floatx)(ip[k]), ldx(k, wp), a0);
        a1 = fma((floatx)(ip[k + 1]), ldx(k + 1, wp), a1);
    }
    if (k < K)
        a0 = fma((floatx)(ip[k]), ldx(k, wp), a0);
    stx(ACTIVATE(a0 + a1), n * OB + ob, out);
}
