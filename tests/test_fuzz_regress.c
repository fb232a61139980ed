/* Replays every input the fuzzers (tools/fuzz.sh, tests/fuzz/) found a crash
 * with, through the normal build: tests/fuzz/regress/<target>-<what>.<ext>
 * where target is npy, tunedb, bincache or onnx. Each input must now be
 * handled without a crash (the sanitizer build, tools/sanitize.sh, checks
 * memory safety too) and give a consistent answer: an error status with a
 * message and no output, or success with an output. The crashing inputs
 * found so far are all invalid, so each one must be rejected. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mobicl_graph.h"
#if MOBICL_HAVE_ONNX
#include "mobicl_onnx.h"
#endif

#define REGRESS_DIR MOBICL_SOURCE_DIR "/tests/fuzz/regress"

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    cr_assert(fseek(f, 0, SEEK_END) == 0);
    long len = ftell(f);
    cr_assert(len >= 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)len + 1);
    cr_assert(buf);
    cr_assert(fread(buf, 1, (size_t)len, f) == (size_t)len, "short read of %s", path);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static void expect_rejected(mcl_status st, const char *path)
{
    cr_expect_neq(st, MCL_STATUS_OK, "%s: accepted, expected an error", path);
    const char *msg = mcl_last_error();
    cr_expect(msg && *msg, "%s: error without a message", path);
}

static void replay_npy(const char *path)
{
    float *x = NULL;
    uint32_t dims[4];
    size_t nd = 0;
    expect_rejected(mcl_npy_read(path, &x, dims, &nd), path);
    cr_expect_null(x, "%s: output left after an error", path);
    free(x);
}

static void replay_tunedb(const char *path)
{
    size_t n;
    unsigned char *buf = slurp(path, &n);
    mcl_tunedb *db = NULL;
    char why[256] = "";
    mcl_status st = mcl_tunedb_parse((const char *)buf, n, &db, why, sizeof why);
    cr_expect_neq(st, MCL_STATUS_OK, "%s: accepted, expected an error", path);
    cr_expect(why[0], "%s: error without a reason", path);
    cr_expect_null(db, "%s: database left after an error", path);
    mcl_tunedb_free(db);
    free(buf);
}

static void replay_bincache(const char *path)
{
    size_t n;
    unsigned char *buf = slurp(path, &n);
    const unsigned char *payload = NULL;
    size_t psize = 0;
    const char *why = mcl_bincache_parse(buf, n, 0x1234, 0x5678, &payload, &psize);
    cr_expect(why != NULL, "%s: accepted, expected an error", path);
    cr_expect(payload == NULL && psize == 0, "%s: payload left after an error", path);
    free(buf);
}

static void replay_onnx(const char *path)
{
#if MOBICL_HAVE_ONNX
    size_t n;
    unsigned char *buf = slurp(path, &n);
    mcl_graph *g = NULL;
    expect_rejected(mcl_onnx_load_memory(buf, n, NULL, NULL, &g), path);
    cr_expect_null(g, "%s: graph left after an error", path);
    mcl_graph_destroy(g);
    free(buf);
#else
    cr_log_info("%s: not replayed, the ONNX importer is not built", path);
#endif
}

Test(fuzz_regress, every_crash_input_is_rejected_cleanly)
{
    static const struct {
        const char *prefix;
        void (*replay)(const char *);
    } kinds[] = {{"npy-", replay_npy}, {"tunedb-", replay_tunedb}, {"bincache-", replay_bincache}, {"onnx-", replay_onnx}};
    DIR *d = opendir(REGRESS_DIR);
    cr_assert(d, "cannot open %s", REGRESS_DIR);
    size_t replayed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "README.md"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", REGRESS_DIR, de->d_name);
        size_t k = 0;
        while (k < sizeof kinds / sizeof kinds[0] && strncmp(de->d_name, kinds[k].prefix, strlen(kinds[k].prefix)))
            k++;
        cr_assert(k < sizeof kinds / sizeof kinds[0], "%s: name must start with npy-, tunedb-, bincache- or onnx-", path);
        kinds[k].replay(path);
        replayed++;
    }
    closedir(d);
    cr_assert_gt(replayed, 0, "no inputs in %s", REGRESS_DIR);
}
