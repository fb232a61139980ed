/* common.cl — prepended to every kernel family's source.
 *
 * Layout: "blocked" NCxHWx, x = CB: element (n, c, h, w) of a tensor with
 * CBK = ceil(C / CB) channel blocks is at ((n*CBK + c/CB)*H + h)*W + w)*CB + c%CB.
 * Padding lanes (c >= C) are zero in every tensor the kernels write.
 *
 * Portability (OpenCL C 1.2, Mali/Adreno/PowerVR as well as POCL): the
 * kernels avoid half precision, images, printf, 64-bit integer math in
 * indexing, atomics, goto, recursion, variable-length arrays, and
 * out-of-bounds reads even under a false condition (indices are clamped
 * before a load, then the value is masked), which some mobile drivers
 * fault on.
 *
 * Required: CB (4, 8 or 16). ACT (0 none, 1 relu, 2 relu6) where a family
 * uses ACTIVATE. */
#ifndef CB
#error "CB (channel block: 4, 8 or 16) must be defined"
#endif
#if CB != 4 && CB != 8 && CB != 16
#error "CB must be 4, 8 or 16"
#endif

#define MCL_CAT_(a, b) a##b
#define MCL_CAT(a, b) MCL_CAT_(a, b)
typedef MCL_CAT(float, CB) floatx;
#define vloadx MCL_CAT(vload, CB)
#define vstorex MCL_CAT(vstore, CB)

#ifdef ACT
#if ACT == 0
#define ACTIVATE(x) (x)
#elif ACT == 1
#define ACTIVATE(x) fmax((x), 0.0f)
#elif ACT == 2
#define ACTIVATE(x) clamp((x), 0.0f, 6.0f)
#else
#error "ACT must be 0 (none), 1 (relu) or 2 (relu6)"
#endif
#endif
