/* Helpers shared by the mobicl subcommands. */
#include "cli_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mobicl_onnx.h"

int cli_parse_u32(const char *cmd, const char *flag, const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = s && *s && *s != '-' ? strtoul(s, &end, 10) : 0;
    if (!s || !*s || *s == '-' || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "mobicl %s: %s needs an integer in %u..%u, got \"%s\"\n", cmd, flag, lo, hi, s ? s : "");
        return 0;
    }
    *out = (uint32_t)v;
    return 1;
}

int cli_parse_float(const char *cmd, const char *flag, const char *s, float *out)
{
    char *end = NULL;
    float v = s ? strtof(s, &end) : 0;
    if (!s || !*s || *end || !(v > 0) || v > 100) {
        fprintf(stderr, "mobicl %s: %s needs a positive number, got \"%s\"\n", cmd, flag, s ? s : "");
        return 0;
    }
    *out = v;
    return 1;
}

double cli_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double cli_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n ? (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2])) : 0;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float *cli_random_floats(size_t n, uint64_t seed)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; x && i < n; i++)
        x[i] = (float)((splitmix(&seed) >> 40) * (1.0 / 16777216.0) * 2.0 - 1.0);
    return x;
}

int cli_is_onnx_model(const char *model)
{
    size_t n = model ? strlen(model) : 0;
    return (n > 5 && !strcmp(model + n - 5, ".onnx")) || (model && strchr(model, '/'));
}

mcl_status cli_load_model(const char *model, const mcl_zoo_options *zo, mcl_graph **g)
{
    if (!cli_is_onnx_model(model))
        return mcl_zoo_build(model, zo, g);
    mcl_onnx_options oo = {0};
    oo.batch = zo ? zo->batch : 0;
    return mcl_onnx_load(model, &oo, g);
}
