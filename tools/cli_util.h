/* Helpers shared by the mobicl subcommands. */
#ifndef MOBICL_TOOLS_CLI_UTIL_H
#define MOBICL_TOOLS_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "mobicl_graph.h"

/* Parse flag's value s; on error print "mobicl <cmd>: <flag> needs ..., got
 * "<s>"" on stderr and return 0. */
int cli_parse_u32(const char *cmd, const char *flag, const char *s, uint32_t lo, uint32_t hi, uint32_t *out);
int cli_parse_float(const char *cmd, const char *flag, const char *s, float *out); /* in (0, 100] */
/* Monotonic clock in milliseconds. */
double cli_now_ms(void);
/* Median of v[0..n) (sorts v). */
double cli_median(double *v, size_t n);
/* n floats uniform in [-1, 1), deterministic in seed; NULL if no memory. */
float *cli_random_floats(size_t n, uint64_t seed);

/* --model: a path ending in .onnx (or naming a file with a '/') is an ONNX
 * model (batch from zo->batch, 0 = the model's); anything else a zoo name. */
int cli_is_onnx_model(const char *model);
mcl_status cli_load_model(const char *model, const mcl_zoo_options *zo, mcl_graph **g);

#endif
