/* Tuning database: round trip (mcl_tunedb_save -> a context loads it -> ops
 * take their tunables from it, "db" source, output still matches the naive
 * reference), diff-friendly layout, merge, the nearby-shape fallback, the
 * MOBICL_TUNING_DB variable, and every bad-file case: missing, directory,
 * empty, truncated, garbage, NUL bytes, too deep, too large, wrong format or
 * version, another device (name, driver, compute units), numbers out of
 * range, entries that do not fit the space or the device, unknown family,
 * duplicate key. Each is reported exactly once through the log callback and
 * ignored: the context works, the ops use their defaults and compute the
 * right thing. The strict parser is also fed every prefix of a valid file
 * and thousands of seeded mutations. */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"

/* ---- log capture ---- */

typedef struct logcap {
    int warn, error;
    char last[1024];
} logcap;

static void log_fn(void *user, mcl_log_level level, const char *msg)
{
    logcap *l = user;
    if (level == MCL_LOG_WARN)
        l->warn++;
    if (level == MCL_LOG_ERROR)
        l->error++;
    if (level <= MCL_LOG_WARN)
        snprintf(l->last, sizeof l->last, "%s", msg);
}

static mcl_context *db_context(const char *db, logcap *l)
{
    mcl_context_options o;
    memset(&o, 0, sizeof o);
    o.tuning_db = db;
    o.log = log_fn;
    o.log_user = l;
    o.log_level = MCL_LOG_WARN;
    memset(l, 0, sizeof *l);
    return h_context_opts(&o, db ? db : "(env)");
}

static char *tmp_path(const char *name)
{
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/mcl_tunedb_XXXXXX");
        cr_assert(mkdtemp(dir) != NULL, "mkdtemp");
    }
    char *p = h_malloc(512);
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static void write_text(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    cr_assert_eq(fwrite(text, 1, n, f), n);
    fclose(f);
}

static char *read_text(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = h_malloc((size_t)len + 1);
    cr_assert_eq(fread(t, 1, (size_t)len, f), (size_t)len);
    t[len] = 0;
    fclose(f);
    if (n)
        *n = (size_t)len;
    return t;
}

/* ---- the ops of the tests: a ShuffleNet-like 1x1, a depthwise, a pool ---- */

static const mcl_conv2d_desc k_pw = {CIO(48, 32, 1), CK(1), CS(1), CP(0), CD(1), .activation = MCL_ACT_RELU};
static const mcl_conv2d_desc k_dw = {CIO(32, 32, 32), CK(3), CS(1), CP(1), CD(1)};
static const mcl_pool2d_desc k_pool = {MCL_POOL_MAX, 3, 3, 2, 2, 1, 1, 1, 1, 0};
static const mcl_shape k_pw_in = SHP(1, 48, 14, 14), k_dw_in = SHP(1, 32, 14, 14), k_pool_in = SHP(1, 32, 28, 28);

/* An op (0 pw, 1 dw, 2 pool) reshaped for `in`. */
static mcl_op *make_op(mcl_context *ctx, int which, mcl_shape in)
{
    mcl_op *op = NULL;
    mcl_shape out;
    static float w[48 * 32 * 9];
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) /* non-zero: the packer narrows to blocks with weights */
        w[i] = 0.01f;
    if (which == 2)
        H_OK("pool", mcl_pool2d_create(ctx, &k_pool, &op));
    else
        H_OK("conv", mcl_conv2d_create(ctx, which ? &k_dw : &k_pw, w, NULL, &op));
    H_OK("reshape", mcl_op_reshape(op, 1, &in, &out));
    return op;
}

static void key_of(mcl_context *ctx, int which, mcl_shape in, char key[MCL_TUNE_KEY_MAX], mcl_tunables *def)
{
    mcl_op *op = make_op(ctx, which, in);
    H_OK("key", mcl_op_tune_key(op, key, MCL_TUNE_KEY_MAX));
    mcl_family f;
    H_OK("get", mcl_op_get_tunables(op, &f, def));
    cr_assert_str_eq(mcl_op_tunables_source(op), "default");
    mcl_op_destroy(op);
}

/* Run the op through the harness (naive reference) and check where its
 * tunables came from. */
static void check_op(mcl_context *ctx, int which, mcl_shape in, const char *want_src, const mcl_tunables *want,
                     const char *label)
{
    char l[256];
    snprintf(l, sizeof l, "%s: %s", label, which == 0 ? "pwconv" : which == 1 ? "dwconv" : "pool");
    mcl_op *op = make_op(ctx, which, in);
    cr_assert_str_eq(mcl_op_tunables_source(op), want_src, "[%s] tunables from \"%s\", expected \"%s\"", l,
                     mcl_op_tunables_source(op), want_src);
    mcl_family f;
    mcl_tunables got;
    H_OK(l, mcl_op_get_tunables(op, &f, &got));
    if (want)
        cr_assert(got.tile_w == want->tile_w && got.tile_c == want->tile_c && got.wg == want->wg,
                  "[%s] tunables %u/%u/%u, expected %u/%u/%u", l, got.tile_w, got.tile_c, got.wg, want->tile_w,
                  want->tile_c, want->wg);
    mcl_op_destroy(op);
    if (which == 2) {
        h_pool_check(ctx, &k_pool, in, NULL, l);
    } else {
        const mcl_conv2d_desc *d = which ? &k_dw : &k_pw;
        h_conv_check(ctx, d, in, 0, NULL, which ? MCL_FAMILY_DWCONV : MCL_FAMILY_PWCONV, l);
    }
}

/* Non-default tunables of each op's family (a different point of its space). */
static mcl_tunables other(int which, const mcl_tunables *def)
{
    mcl_tunables t = *def;
    t.tile_w = def->tile_w == 2 ? 1 : 2;
    t.wg = def->wg == 16 ? 32 : 16;
    if (which == 0)
        t.tile_c = def->tile_c == 2 ? 1 : 2;
    return t;
}

/* A database file with the three ops' keys and non-default tunables. */
static char *good_db(mcl_context *ctx, const char *name, mcl_tunables t[3], char keys[3][MCL_TUNE_KEY_MAX])
{
    const mcl_shape in[3] = {k_pw_in, k_dw_in, k_pool_in};
    mcl_tune_result r[3];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 3; i++) {
        mcl_tunables def;
        key_of(ctx, i, in[i], keys[i], &def);
        t[i] = other(i, &def);
        memcpy(r[i].key, keys[i], MCL_TUNE_KEY_MAX);
        r[i].def = def;
        r[i].best = t[i];
        r[i].default_ms = 0.5;
        r[i].best_ms = 0.25 + 0.01 * i;
    }
    char *path = tmp_path(name);
    unlink(path);
    size_t total = 0;
    H_OK("save", mcl_tunedb_save(ctx, path, r, 3, &total));
    cr_assert_eq(total, 3);
    return path;
}

Test(tunedb, round_trip, .timeout = 300)
{
    logcap l;
    mcl_context *ctx = db_context("", &l);
    mcl_tunables t[3];
    char keys[3][MCL_TUNE_KEY_MAX];
    char *path = good_db(ctx, "round_trip.json", t, keys);
    mcl_context_destroy(ctx);

    /* the file: one entry per line, keys sorted, entries sorted by op key */
    char *text = read_text(path, NULL);
    const char *lines[] = {"{", "\"device\": {\"compute_units\": ", "\"entries\": [", "{\"default_ms\": ",
                           "{\"default_ms\": ", "{\"default_ms\": ", "],", "\"format\": \"mobicl-tuning-db\",",
                           "\"version\": 1", "}"};
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    const char *prev_op = "";
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++, line = strtok_r(NULL, "\n", &save)) {
        cr_assert(line, "file ends before line %zu", i + 1);
        cr_assert(!strncmp(line, lines[i], strlen(lines[i])), "line %zu is \"%s\", expected \"%s...\"", i + 1, line,
                  lines[i]);
        if (i >= 3 && i <= 5) {
            const char *a = strstr(line, "\"ms\""), *b = strstr(line, "\"op\""), *c = strstr(line, "\"tile_c\""),
                       *d = strstr(line, "\"tile_w\""), *e = strstr(line, "\"wg\"");
            cr_assert(a && b && c && d && e && a < b && b < c && c < d && d < e, "entry keys not sorted: %s", line);
            cr_assert(strcmp(b, prev_op) > 0, "entries not sorted by op: %s after %s", b, prev_op);
            prev_op = b;
        }
    }
    cr_assert_null(line, "extra line \"%s\"", line ? line : "");
    free(text);

    /* loaded: every op takes its tunables from the database, and is right */
    ctx = db_context(path, &l);
    cr_assert_eq(mcl_context_tuning_db_entries(ctx), 3, "entries loaded: %zu", mcl_context_tuning_db_entries(ctx));
    cr_assert_eq(l.warn + l.error, 0, "a good database was reported: %s", l.last);
    const mcl_shape in[3] = {k_pw_in, k_dw_in, k_pool_in};
    for (int i = 0; i < 3; i++)
        check_op(ctx, i, in[i], "db", &t[i], "round trip");
    /* the user's tunables still win */
    mcl_op *op = make_op(ctx, 0, k_pw_in);
    mcl_tunables u = {1, 1, 8, 0}, got;
    mcl_family f;
    H_OK("set", mcl_op_set_tunables(op, &u));
    mcl_shape out;
    H_OK("reshape", mcl_op_reshape(op, 1, &k_pw_in, &out));
    H_OK("get", mcl_op_get_tunables(op, &f, &got));
    cr_assert_str_eq(mcl_op_tunables_source(op), "user");
    cr_assert(got.tile_w == 1 && got.tile_c == 1 && got.wg == 8);
    mcl_op_destroy(op);
    mcl_context_destroy(ctx);
    free(path);
}

/* A database given as bytes (an app's asset): the same entries as from
 * the file, and bad bytes reported once and ignored like a bad file. */
Test(tunedb, in_memory, .timeout = 300)
{
    logcap l;
    mcl_context *ctx = db_context("", &l);
    mcl_tunables t[3];
    char keys[3][MCL_TUNE_KEY_MAX];
    char *path = good_db(ctx, "in_memory.json", t, keys);
    mcl_context_destroy(ctx);
    size_t n = 0;
    char *text = read_text(path, &n);
    const mcl_shape in[3] = {k_pw_in, k_dw_in, k_pool_in};
    for (int k = 0; k < 4; k++) {
        mcl_context_options o;
        memset(&o, 0, sizeof o);
        o.tuning_db = k == 3 ? path : NULL; /* the bytes win over a path too */
        o.tuning_db_data = k == 1 ? "{\"format\": 7" : text;
        o.tuning_db_size = k == 1 ? 13 : k == 2 ? 0 : n;
        o.log = log_fn;
        o.log_user = &l;
        o.log_level = MCL_LOG_WARN;
        memset(&l, 0, sizeof l);
        char *copy = NULL;
        if (k == 0 || k == 3) { /* parsed during create: the caller's buffer may go away afterwards */
            copy = h_malloc(n);
            memcpy(copy, text, n);
            o.tuning_db_data = copy;
        }
        ctx = h_context_opts(&o, "in memory");
        free(copy);
        const int good = k == 0 || k == 3;
        cr_assert_eq(mcl_context_tuning_db_entries(ctx), good ? 3u : 0u, "[case %d] entries %zu", k,
                     mcl_context_tuning_db_entries(ctx));
        cr_assert_eq(l.warn + l.error, good ? 0 : 1, "[case %d] %d reports: %s", k, l.warn + l.error, l.last);
        if (!good)
            cr_assert(strstr(l.last, "(in memory)"), "[case %d] report does not name the source: %s", k, l.last);
        for (int i = 0; i < 3; i++)
            check_op(ctx, i, in[i], good ? "db" : "default", good ? &t[i] : NULL, "in memory");
        mcl_context_destroy(ctx);
    }
    free(text);
    free(path);
}

/* The dwpw family's split: saved where set, loaded back, and optional on
 * reading (a file from before the field existed gives 0: the heuristic's). */
Test(tunedb, dwpw_split, .timeout = 300)
{
    logcap l;
    mcl_context *ctx = db_context("", &l);
    const mcl_conv2d_desc dw = {CIO(32, 32, 32), CK(3), CS(1), CP(1), CD(1), .activation = MCL_ACT_RELU};
    const mcl_conv2d_desc pw = {CIO(32, 48, 1), CK(1), CS(1), CP(0), CD(1), .activation = MCL_ACT_RELU};
    static float w[48 * 32], b[48];
    const mcl_shape in = SHP(1, 32, 7, 7);
    mcl_shape out;
    mcl_op *op = NULL;
    H_OK("dwpw", mcl_dwpw_create(ctx, &dw, w, b, &pw, w, b, &op));
    H_OK("reshape", mcl_op_reshape(op, 1, &in, &out));
    mcl_family f;
    mcl_tunables def;
    H_OK("get", mcl_op_get_tunables(op, &f, &def));
    cr_assert_eq((int)f, (int)MCL_FAMILY_DWPW);
    cr_assert(def.split >= 1, "the heuristic sets split (got %u)", def.split);
    mcl_tune_result r;
    memset(&r, 0, sizeof r);
    H_OK("key", mcl_op_tune_key(op, r.key, sizeof r.key));
    mcl_op_destroy(op);
    r.best = def;
    r.best.split = def.split == 4 ? 2 : 4;
    r.best_ms = 0.01;
    r.default_ms = 0.02;
    r.ops = 1;
    char *path = tmp_path("split.json");
    unlink(path);
    H_OK("save", mcl_tunedb_save(ctx, path, &r, 1, NULL));
    mcl_context_destroy(ctx);
    char *text = read_text(path, NULL), want[32];
    snprintf(want, sizeof want, "\"split\": %u, \"tile_c\"", r.best.split);
    cr_assert(strstr(text, want), "\"%s\" not in the file:\n%s", want, text);

    for (int old = 0; old < 2; old++) {
        if (old) { /* the same file without the field */
            char *at = strstr(text, "\"split\": ");
            cr_assert(at);
            char *end = strchr(at, ',');
            memmove(at, end + 2, strlen(end + 2) + 1);
            write_text(path, text, strlen(text));
        }
        ctx = db_context(path, &l);
        cr_assert_eq(mcl_context_tuning_db_entries(ctx), 1, "[%s] entries loaded", old ? "no split" : "split");
        cr_assert_eq(l.warn + l.error, 0, "a good database was reported: %s", l.last);
        H_OK("dwpw", mcl_dwpw_create(ctx, &dw, w, b, &pw, w, b, &op));
        H_OK("reshape", mcl_op_reshape(op, 1, &in, &out));
        mcl_tunables got;
        H_OK("get", mcl_op_get_tunables(op, &f, &got));
        cr_assert_str_eq(mcl_op_tunables_source(op), "db");
        cr_assert_eq(got.split, old ? 0u : r.best.split, "[%s] split %u", old ? "no split" : "split", got.split);
        cr_assert(got.tile_w == r.best.tile_w && got.tile_c == r.best.tile_c && got.wg == r.best.wg);
        mcl_op_destroy(op);
        mcl_context_destroy(ctx);
    }
    free(text);
}

Test(tunedb, merge_and_env, .timeout = 300)
{
    logcap l;
    mcl_context *ctx = db_context("", &l);
    mcl_tunables t[3];
    char keys[3][MCL_TUNE_KEY_MAX];
    char *path = good_db(ctx, "merge.json", t, keys);
    /* merge: one entry replaced, one added */
    mcl_tune_result r[2];
    memset(r, 0, sizeof r);
    memcpy(r[0].key, keys[1], MCL_TUNE_KEY_MAX);
    r[0].best = (mcl_tunables){4, 1, 64, 0};
    r[0].best_ms = 0.125;
    r[0].default_ms = 0.5;
    snprintf(r[1].key, sizeof r[1].key, "pwconv n=1 in=999 out=999 hw=1x1 kb=1 grp=0 res=0 scat=0 pass=0 cb=16");
    r[1].best = (mcl_tunables){1, 1, 8, 0};
    size_t total = 0;
    H_OK("merge", mcl_tunedb_save(ctx, path, r, 2, &total));
    cr_assert_eq(total, 4);
    mcl_context_destroy(ctx);
    ctx = db_context(path, &l);
    cr_assert_eq(mcl_context_tuning_db_entries(ctx), 4);
    check_op(ctx, 0, k_pw_in, "db", &t[0], "merged, kept");
    check_op(ctx, 1, k_dw_in, "db", &r[0].best, "merged, replaced");
    mcl_context_destroy(ctx);

    /* MOBICL_TUNING_DB when the option is NULL; "" switches it off */
    setenv("MOBICL_TUNING_DB", path, 1);
    ctx = db_context(NULL, &l);
    cr_assert_eq(mcl_context_tuning_db_entries(ctx), 4);
    check_op(ctx, 2, k_pool_in, "db", &t[2], "from the environment");
    mcl_context_destroy(ctx);
    ctx = db_context("", &l);
    cr_assert_eq(mcl_context_tuning_db_entries(ctx), 0);
    check_op(ctx, 2, k_pool_in, "default", NULL, "environment switched off");
    mcl_context_destroy(ctx);
    unsetenv("MOBICL_TUNING_DB");

    /* another device's file is not merged into */
    char *text = read_text(path, NULL), *other_dev = h_malloc(strlen(text) + 32);
    char *name = strstr(text, "\"name\": \"");
    cr_assert(name);
    name += 9;
    snprintf(other_dev, strlen(text) + 32, "%.*sOTHER %s", (int)(name - text), text, name);
    write_text(path, other_dev, strlen(other_dev));
    ctx = db_context("", &l);
    H_FAIL("other device", mcl_tunedb_save(ctx, path, r, 2, NULL), MCL_STATUS_INVALID_ARGUMENT);
    char *after = read_text(path, NULL);
    cr_assert_str_eq(after, other_dev, "another device's file was modified");
    mcl_context_destroy(ctx);
    free(after);
    free(other_dev);
    free(text);
    free(path);
}

Test(tunedb, nearby_shape_class, .timeout = 300)
{
    logcap l;
    mcl_context *ctx = db_context("", &l);
    mcl_tunables t[3];
    char keys[3][MCL_TUNE_KEY_MAX];
    char *path = good_db(ctx, "nearby.json", t, keys); /* pw at 14x14 */
    mcl_tunables def28, def56;
    char k28[MCL_TUNE_KEY_MAX], k56[MCL_TUNE_KEY_MAX];
    key_of(ctx, 0, (mcl_shape)SHP(1, 48, 28, 28), k28, &def28);
    key_of(ctx, 0, (mcl_shape)SHP(1, 48, 56, 56), k56, &def56);
    mcl_context_destroy(ctx);
    ctx = db_context(path, &l);
    /* 28x28: 4x the pixels of 14x14, the same class: the 14x14 entry */
    check_op(ctx, 0, (mcl_shape)SHP(1, 48, 28, 28), "db-near", &t[0], "4x the pixels");
    check_op(ctx, 0, (mcl_shape)SHP(1, 48, 10, 10), "db-near", &t[0], "half the pixels");
    /* 56x56: 16x: too far; other channels: another class */
    check_op(ctx, 0, (mcl_shape)SHP(1, 48, 56, 56), "default", &def56, "16x the pixels");
    check_op(ctx, 1, (mcl_shape)SHP(1, 32, 28, 28), "db-near", &t[1], "dwconv 28x28");
    mcl_context_destroy(ctx);
    free(path);
}

/* ---- bad files ---- */

typedef struct bad_case {
    const char *name;
    const char *text;
    size_t len; /* 0: strlen(text) */
    int entries; /* entries expected to survive */
} bad_case;

static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    cr_assert(p, "\"%s\" not in the file", from);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *r = h_malloc(n);
    snprintf(r, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
    return r;
}

/* One bad database: exactly one message, the context works, ops right. */
static void expect_ignored(const char *path, int entries, const char *label)
{
    logcap l;
    mcl_context *ctx = db_context(path, &l);
    cr_assert_eq(l.warn, 1, "[%s] %d warnings (last: %s), expected exactly one", label, l.warn, l.last);
    cr_assert_eq(l.error, 0, "[%s] %d errors logged (%s)", label, l.error, l.last);
    cr_assert(strstr(l.last, path) != NULL, "[%s] the message does not name the file: %s", label, l.last);
    cr_assert_eq(mcl_context_tuning_db_entries(ctx), (size_t)entries, "[%s] %zu entries in use, expected %d", label,
                 mcl_context_tuning_db_entries(ctx), entries);
    if (!entries) {
        const mcl_shape in[3] = {k_pw_in, k_dw_in, k_pool_in};
        for (int i = 0; i < 3; i++)
            check_op(ctx, i, in[i], "default", NULL, label);
    }
    mcl_context_destroy(ctx);
}

Test(tunedb, bad_files, .timeout = 600)
{
    logcap l;
    mcl_context *ctx = db_context("", &l);
    mcl_tunables t[3];
    char keys[3][MCL_TUNE_KEY_MAX];
    char *good = good_db(ctx, "good.json", t, keys);
    mcl_context_destroy(ctx);
    size_t n = 0;
    char *text = read_text(good, &n);
    char deep[20000], wg_line[64];
    size_t dn = 0;
    dn += (size_t)snprintf(deep, sizeof deep, "{\"x\": ");
    for (int i = 0; i < 5000; i++)
        deep[dn++] = '[';
    deep[dn] = 0;
    snprintf(wg_line, sizeof wg_line, "\"wg\": %u}", t[0].wg);
    char *nul = h_malloc(n);
    memcpy(nul, text, n);
    nul[n / 2] = 0;
    bad_case cases[] = {
        {"empty", "", 0, 0},
        {"truncated to half", text, n / 2, 0},
        {"truncated by 3 bytes", text, n - 3, 0},
        {"garbage", "\x89PNG\r\n\x1a\n\xff\xfe garbage", 0, 0},
        {"a NUL byte", nul, n, 0},
        {"nested 5000 deep", deep, dn, 0},
        {"wrong format", replace(text, "mobicl-tuning-db", "other-db"), 0, 0},
        {"version 2", replace(text, "\"version\": 1", "\"version\": 2"), 0, 0},
        {"another device", replace(text, "\"name\": \"", "\"name\": \"OTHER "), 0, 0},
        {"another driver", replace(text, "\"driver_version\": \"", "\"driver_version\": \"9"), 0, 0},
        {"other compute units", replace(text, "\"compute_units\": ", "\"compute_units\": 9"), 0, 0},
        {"tile_w 1e300", replace(text, "\"tile_w\": ", "\"tile_w\": 1e300, \"x\": "), 0, 0},
        {"tile_c -1", replace(text, "\"tile_c\": ", "\"tile_c\": -1, \"x\": "), 0, 0},
        {"tile_w 2.5", replace(text, "\"tile_w\": ", "\"tile_w\": 2.5, \"x\": "), 0, 0},
        {"ms NaN", replace(text, "\"ms\": ", "\"ms\": NaN, \"x\": "), 0, 0},
        {"an entry without wg", replace(text, ", \"wg\": ", "}, {\"wg\": "), 0, 0},
        /* entries that do not fit are dropped alone */
        {"tile_w 3: outside the space", replace(text, "\"tile_w\": ", "\"tile_w\": 3, \"x\": "), 0, 2},
        {"wg 8192: outside the space and the device", replace(text, wg_line, "\"wg\": 8192}"), 0, 2},
        {"unknown family", replace(text, "\"op\": \"", "\"op\": \"winograd "), 0, 2},
        {"a key twice", replace(text, keys[1], keys[0]), 0, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bad_case *c = &cases[i];
        char *path = tmp_path("bad.json");
        write_text(path, c->text, c->len ? c->len : strlen(c->text));
        expect_ignored(path, c->entries, c->name);
        free(path);
    }
    /* not there, a directory, too large */
    char *path = tmp_path("missing.json");
    expect_ignored(path, 0, "missing");
    free(path);
    path = tmp_path("a_dir.json");
    mkdir(path, 0755);
    expect_ignored(path, 0, "a directory");
    free(path);
    path = tmp_path("huge.json");
    write_text(path, text, n);
    cr_assert_eq(truncate(path, 64l << 20), 0);
    expect_ignored(path, 0, "64 MiB");
    free(path);
    free(nul);
    free(text);
    free(good);
}

/* ---- the parser alone: prefixes and mutations ---- */

Test(tunedb, parser_fuzz, .timeout = 300)
{
    logcap l;
    mcl_context *ctx = db_context("", &l);
    mcl_tunables t[3];
    char keys[3][MCL_TUNE_KEY_MAX];
    char *good = good_db(ctx, "fuzz.json", t, keys);
    mcl_context_destroy(ctx);
    size_t n = 0;
    char *text = read_text(good, &n), why[256];
    mcl_tunedb *db = NULL;
    H_OK("good", mcl_tunedb_parse(text, n, &db, why, sizeof why));
    cr_assert_eq(db->n, 3);
    mcl_tunedb_free(db);
    /* every prefix that cuts into the document fails, with a reason */
    size_t last = n;
    while (last > 0 && text[last - 1] != '}')
        last--;
    for (size_t k = 0; k < last; k++) {
        db = (mcl_tunedb *)1;
        why[0] = 0;
        mcl_status st = mcl_tunedb_parse(text, k, &db, why, sizeof why);
        cr_assert(st != MCL_STATUS_OK && db == NULL && why[0], "prefix of %zu bytes: %s, reason \"%s\"", k,
                  mcl_status_string(st), why);
    }
    /* seeded mutations: flips, insertions, deletions; never a crash, and
     * what parses is well formed */
    uint64_t s = 12345;
    char *m = h_malloc(n + 64);
    for (int it = 0; it < 20000; it++) {
        memcpy(m, text, n);
        size_t len = n;
        int edits = 1 + it % 3;
        for (int e = 0; e < edits; e++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(s >> 33) % len;
            unsigned char byte = (unsigned char)(s >> 17);
            int kind = (int)(s >> 60) % 3;
            if (kind == 0)
                m[at] = (char)byte;
            else if (kind == 1 && len < n + 60) {
                memmove(m + at + 1, m + at, len - at);
                m[at] = (char)(byte & 1 ? "{}[],:\"0-e\\"[byte % 11] : byte);
                len++;
            } else if (len > 1) {
                memmove(m + at, m + at + 1, len - at - 1);
                len--;
            }
        }
        db = NULL;
        if (mcl_tunedb_parse(m, len, &db, why, sizeof why) == MCL_STATUS_OK) {
            cr_assert(db && db->n <= 4, "mutation %d: %zu entries", it, db ? db->n : 0);
            for (size_t i = 0; i < db->n; i++)
                cr_assert(strlen(db->e[i].key) < MCL_TUNE_KEY_MAX && db->e[i].t.tile_w <= 65536 &&
                              db->e[i].ms >= 0 && db->e[i].ms <= 1e6,
                          "mutation %d: a bad entry was accepted", it);
            cr_assert(strlen(db->name) < sizeof db->name);
            mcl_tunedb_free(db);
        } else {
            cr_assert(db == NULL && why[0], "mutation %d: failed without a reason", it);
        }
    }
    free(m);
    free(text);
    free(good);
}
