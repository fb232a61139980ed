/* Uninitialised device memory (issue 7, part 3), checked without a
 * simulator: every buffer the library creates without host data starts
 * filled with NaN bit patterns (faultinj.c's poison mode) instead of what
 * the allocator left there (on POCL usually zeros, which would hide a
 * kernel that reads a padding lane or a tail nothing wrote). Each zoo
 * network then plans and runs at its own size with channel blocks 16 and
 * 4, and its logits must be free of NaN, match the naive reference executor
 * (tests/ref/ref_graph.c) and be bit-identical to a run without poison.
 * Padding lanes are read by every 1x1 and FC layer that follows a layer
 * whose channel count is not a multiple of the block (times a zero weight:
 * NaN x 0 is NaN), so a writer that leaves them unwritten fails here.
 * The op-level cases (tests/oclgrind/kernels_small.c) run in poison mode
 * as the ctest tests kernels_small_poison_b4/_b16. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "faultinj.h"
#include "mobicl.h"
#include "mobicl_graph.h"
#include "ref_graph.h"

/* run g once on a fresh context (block b, poison on or off); returns the logits */
static float *run_once(const mcl_graph *g, const float *x, size_t nx, size_t ny, uint32_t block, uint32_t disable,
                       int poison)
{
    fi_poison(poison);
    mcl_context_options o = {0};
    o.block = block;
    o.tuning_db = "";
    mcl_context *ctx = NULL;
    cr_assert(mcl_context_create(&o, &ctx) == MCL_STATUS_OK, "%s", mcl_last_error());
    mcl_plan_options po = {.disable = disable};
    mcl_plan *plan = NULL;
    cr_assert(mcl_plan_create(ctx, g, &po, &plan) == MCL_STATUS_OK, "%s", mcl_last_error());
    float *y = malloc(ny * sizeof *y);
    cr_assert(y);
    cr_assert(mcl_plan_set_input(plan, 0, x, nx) == MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(mcl_plan_run(plan, 0) == MCL_STATUS_OK, "%s", mcl_last_error());
    cr_assert(mcl_plan_get_output(plan, 0, y, ny) == MCL_STATUS_OK, "%s", mcl_last_error());
    mcl_plan_destroy(plan);
    mcl_context_destroy(ctx);
    fi_poison(0);
    return y;
}

static void check_network(const char *name, uint32_t disable)
{
    cr_assert(fi_install() == 0);
    fi_reset();
    mcl_zoo_options zo = {0};
    mcl_graph *g = NULL;
    cr_assert(mcl_zoo_build(name, &zo, &g) == MCL_STATUS_OK, "%s: %s", name, mcl_last_error());
    size_t nx = ref_graph_value_count(g, mcl_graph_input_value(g, 0));
    size_t ny = ref_graph_value_count(g, mcl_graph_output_value(g, 0));
    float *x = malloc(nx * sizeof *x);
    cr_assert(x);
    ref_graph_fill_input(x, nx, 7);
    const float *in[1] = {x};
    float *want[1] = {NULL};
    cr_assert(ref_graph_run(g, in, want) == 0, "%s", ref_graph_error());
    double mx = 0;
    for (size_t k = 0; k < ny; k++)
        mx = fmax(mx, fabs(want[0][k]));
    const uint32_t blocks[2] = {16, 4};
    for (int b = 0; b < 2; b++) {
        float *clean = run_once(g, x, nx, ny, blocks[b], disable, 0);
        float *poisoned = run_once(g, x, nx, ny, blocks[b], disable, 1);
        double err = 0;
        for (size_t k = 0; k < ny; k++) {
            cr_assert(!isnan(poisoned[k]), "%s block %u: logit %zu is NaN with poisoned buffers (the plain run gave %g)",
                      name, blocks[b], k, clean[k]);
            err = fmax(err, fabs((double)poisoned[k] - want[0][k]));
        }
        cr_assert(err <= 1e-4 * (mx > 1 ? mx : 1), "%s block %u: differs from the reference by %g (largest |logit| %g)",
                  name, blocks[b], err, mx);
        cr_assert(memcmp(clean, poisoned, ny * sizeof *clean) == 0,
                  "%s block %u: the poisoned run is not bit-identical to the plain one", name, blocks[b]);
        free(clean);
        free(poisoned);
    }
    cr_assert(fi_live_total() == 0, "%s: OpenCL objects left alive", name);
    free(want[0]);
    free(x);
    mcl_graph_destroy(g);
    fi_uninstall();
}

#define NET(id, name) \
    Test(poison, id, .timeout = 900) { check_network(name, 0); }
NET(mobilenet_v1, "mobilenet_v1")
NET(mobilenet_v2, "mobilenet_v2")
NET(shufflenet_v1, "shufflenet_v1")
NET(shufflenet_v2_x0_5, "shufflenet_v2_x0_5")
NET(shufflenet_v2_x1_0, "shufflenet_v2_x1_0")
NET(shufflenet_v2_x1_5, "shufflenet_v2_x1_5")
NET(shufflenet_v2_x2_0, "shufflenet_v2_x2_0")
NET(mnasnet0_5, "mnasnet0_5")
NET(mnasnet1_0, "mnasnet1_0")

/* every pass off: the unfused kernels (standalone shuffle, split and concat
 * copies, BatchNorm, ReLU, Add) each write and read their own buffers */
Test(poison, shufflenet_v2_x1_0_all_passes_off, .timeout = 900)
{
    check_network("shufflenet_v2_x1_0", MCL_PASS_ALL);
}
Test(poison, mobilenet_v2_all_passes_off, .timeout = 900) { check_network("mobilenet_v2", MCL_PASS_ALL); }
