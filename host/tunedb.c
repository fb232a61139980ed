/* Tuning database: one JSON file per device, written by `mobicl tune`
 * (mcl_tunedb_save), loaded at context creation (mcl_tunedb_attach) and
 * looked up by mcl_op_tunables at reshape:
 *
 *   {
 *   "device": {"compute_units": 2, "driver_version": "6.0", "name": "pthread-..."},
 *   "entries": [
 *   {"default_ms": 0.05210, "ms": 0.04100, "op": "pwconv n=1 in=64 ...", "tile_c": 4, "tile_w": 8, "wg": 16},
 *   {"default_ms": 0.0777, "ms": 0.0715, "op": "dwpw n=1 ...", "split": 1, "tile_c": 2, "tile_w": 7, "wg": 2},
 *   ...
 *   ],
 *   "format": "mobicl-tuning-db",
 *   "version": 1
 *   }
 *
 * Keys sorted, one entry per line, entries sorted by op key, numbers
 * written without the locale: files diff well. The reader is strict and
 * bounded (file size, string length, nesting depth, entry count, number
 * ranges); a file that breaks a rule is rejected whole, an entry that does
 * not fit the device (space, work-group limit) is dropped alone. "split"
 * is written only where it is set (the families that have it) and is
 * optional on reading (0: the heuristic's). */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DB_FORMAT "mobicl-tuning-db"
#define DB_MAX_BYTES (16u << 20)
#define DB_MAX_ENTRIES 100000u
#define DB_MAX_DEPTH 8
#define DB_MAX_STR 256

/* ---- reader ---- */

typedef struct jp {
    const char *start, *p, *end;
    char *why;
    size_t wn;
    int failed;
} jp;

static int jfail(jp *j, const char *what)
{
    if (!j->failed) {
        int line = 1;
        for (const char *q = j->start; q < j->p && q < j->end; q++)
            line += *q == '\n';
        snprintf(j->why, j->wn, "line %d: %s", line, what);
        j->failed = 1;
    }
    return 0;
}

static void jws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int jpeek(jp *j, char c)
{
    jws(j);
    return j->p < j->end && *j->p == c;
}

static int jlit(jp *j, char c)
{
    if (!jpeek(j, c))
        return 0;
    j->p++;
    return 1;
}

static int jexpect(jp *j, char c)
{
    if (jlit(j, c))
        return 1;
    char m[48];
    snprintf(m, sizeof m, j->p < j->end ? "expected '%c'" : "expected '%c', the file ends", c);
    return jfail(j, m);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A string into out (cap bytes with the NUL); longer ones fail. */
static int jstring(jp *j, char *out, size_t cap)
{
    if (!jlit(j, '"'))
        return jfail(j, "expected a string");
    size_t n = 0;
    for (;;) {
        if (j->p >= j->end)
            return jfail(j, "unterminated string");
        unsigned char c = (unsigned char)*j->p++;
        unsigned char u[3];
        size_t k = 1;
        u[0] = c;
        if (c == '"')
            break;
        if (c < 0x20)
            return jfail(j, "control character in a string");
        if (c == '\\') {
            if (j->p >= j->end)
                return jfail(j, "unterminated string");
            char e = *j->p++;
            const char *esc = strchr("\"\\/bfnrt", e);
            if (e && esc) {
                u[0] = (unsigned char)"\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"];
            } else if (e == 'u') {
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    int h = j->p < j->end ? hexval(*j->p++) : -1;
                    if (h < 0)
                        return jfail(j, "bad \\u escape");
                    v = v * 16 + (unsigned)h;
                }
                if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
                    return jfail(j, "\\u0000 or a surrogate in a string");
                if (v < 0x80) {
                    u[0] = (unsigned char)v;
                } else if (v < 0x800) {
                    u[0] = (unsigned char)(0xC0 | v >> 6);
                    u[1] = (unsigned char)(0x80 | (v & 63));
                    k = 2;
                } else {
                    u[0] = (unsigned char)(0xE0 | v >> 12);
                    u[1] = (unsigned char)(0x80 | ((v >> 6) & 63));
                    u[2] = (unsigned char)(0x80 | (v & 63));
                    k = 3;
                }
            } else {
                return jfail(j, "bad escape in a string");
            }
        }
        if (n + k >= cap)
            return jfail(j, "string too long");
        memcpy(out + n, u, k);
        n += k;
    }
    out[n] = 0;
    return 1;
}

/* A JSON number, parsed without the locale; |exponent| and digits bounded. */
static int jnumber(jp *j, double *v)
{
    jws(j);
    const char *q = j->p, *e = j->end;
    int neg = 0, digits = 0, frac = 0, ex = 0, exneg = 0;
    uint64_t m = 0;
    if (q < e && *q == '-')
        neg = 1, q++;
    if (q >= e || *q < '0' || *q > '9')
        return jfail(j, "expected a number");
    if (*q == '0' && q + 1 < e && q[1] >= '0' && q[1] <= '9')
        return jfail(j, "number with a leading zero");
    for (; q < e && *q >= '0' && *q <= '9'; q++, digits++)
        m = m * 10 + (uint64_t)(*q - '0');
    if (q < e && *q == '.') {
        q++;
        if (q >= e || *q < '0' || *q > '9')
            return jfail(j, "bad number");
        for (; q < e && *q >= '0' && *q <= '9'; q++, digits++, frac++)
            m = m * 10 + (uint64_t)(*q - '0');
    }
    if (q < e && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < e && (*q == '+' || *q == '-'))
            exneg = *q++ == '-';
        if (q >= e || *q < '0' || *q > '9')
            return jfail(j, "bad number");
        for (; q < e && *q >= '0' && *q <= '9'; q++)
            if ((ex = ex * 10 + (*q - '0')) > 300)
                return jfail(j, "number out of range");
    }
    if (digits > 18)
        return jfail(j, "number with too many digits");
    j->p = q;
    *v = (neg ? -1.0 : 1.0) * (double)m * pow(10.0, (exneg ? -ex : ex) - frac);
    return 1;
}

static int jskip(jp *j, int depth)
{
    char tmp[DB_MAX_STR];
    double v;
    if (depth > DB_MAX_DEPTH)
        return jfail(j, "nested too deeply");
    jws(j);
    if (j->p >= j->end)
        return jfail(j, "expected a value, the file ends");
    char c = *j->p;
    if (c == '"')
        return jstring(j, tmp, sizeof tmp);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        if (jlit(j, close))
            return 1;
        do {
            if (c == '{' && (!jstring(j, tmp, sizeof tmp) || !jexpect(j, ':')))
                return 0;
            if (!jskip(j, depth + 1))
                return 0;
        } while (jlit(j, ','));
        return jexpect(j, close);
    }
    static const char *const lits[3] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(lits[i]);
        if ((size_t)(j->end - j->p) >= l && !memcmp(j->p, lits[i], l)) {
            j->p += l;
            return 1;
        }
    }
    return jnumber(j, &v);
}

/* A number that must be an integer in lo..hi, or a real in lo..hi. */
static int jrange(jp *j, const char *name, int integer, double lo, double hi, double *v)
{
    if (!jnumber(j, v))
        return 0;
    if (!(*v >= lo && *v <= hi) || (integer && *v != floor(*v))) {
        char m[96];
        snprintf(m, sizeof m, "\"%.24s\" must be %s in %g..%g", name, integer ? "an integer" : "a number", lo, hi);
        return jfail(j, m);
    }
    return 1;
}

/* Iterate over an object's members: calls member(j, key, ctx) after the ':'. */
typedef int (*member_fn)(jp *j, const char *key, void *u);
static int jobject(jp *j, member_fn member, void *u)
{
    char key[DB_MAX_STR];
    if (!jexpect(j, '{'))
        return 0;
    if (jlit(j, '}'))
        return 1;
    do {
        if (!jstring(j, key, sizeof key) || !jexpect(j, ':') || !member(j, key, u))
            return 0;
    } while (jlit(j, ','));
    return jexpect(j, '}');
}

typedef struct entry_parse {
    mcl_tune_entry e;
    char op[MCL_TUNE_KEY_MAX];
    unsigned have;
} entry_parse;

static int entry_member(jp *j, const char *key, void *u)
{
    entry_parse *ep = u;
    /* "split" (the last) is optional: files from before it existed load */
    static const char *const names[7] = {"op", "tile_w", "tile_c", "wg", "ms", "default_ms", "split"};
    int f = -1;
    for (int i = 0; i < 7; i++)
        if (!strcmp(key, names[i]))
            f = i;
    double v = 0;
    if (f < 0)
        return jskip(j, 3);
    ep->have |= 1u << f;
    if (f == 0)
        return jstring(j, ep->op, sizeof ep->op);
    if (f <= 3 || f == 6) {
        if (!jrange(j, key, 1, 0, 65536, &v))
            return 0;
        uint32_t *dst[4] = {&ep->e.t.tile_w, &ep->e.t.tile_c, &ep->e.t.wg, &ep->e.t.split};
        *dst[f == 6 ? 3 : f - 1] = (uint32_t)v;
        return 1;
    }
    if (!jrange(j, key, 0, 0, 1e6, &v))
        return 0;
    *(f == 4 ? &ep->e.ms : &ep->e.default_ms) = v;
    return 1;
}

static int db_add(mcl_tunedb *db, const char *key, const mcl_tunables *t, double ms, double def_ms)
{
    if (db->n == db->cap) {
        size_t cap = db->cap ? db->cap * 2 : 32;
        mcl_tune_entry *e = realloc(db->e, cap * sizeof *e);
        if (!e)
            return 0;
        db->e = e;
        db->cap = cap;
    }
    size_t l = strlen(key) + 1;
    char *k = malloc(l);
    if (!k)
        return 0;
    memcpy(k, key, l);
    db->e[db->n++] = (mcl_tune_entry){k, *t, ms, def_ms};
    return 1;
}

static int entries_parse(jp *j, mcl_tunedb *db)
{
    if (!jexpect(j, '['))
        return 0;
    if (jlit(j, ']'))
        return 1;
    do {
        entry_parse ep;
        memset(&ep, 0, sizeof ep);
        if (db->n >= DB_MAX_ENTRIES)
            return jfail(j, "too many entries");
        if (!jobject(j, entry_member, &ep))
            return 0;
        if ((ep.have & 63u) != 63u)
            return jfail(j, "an entry lacks one of \"op\", \"tile_w\", \"tile_c\", \"wg\", \"ms\", \"default_ms\"");
        if (!db_add(db, ep.op, &ep.e.t, ep.e.ms, ep.e.default_ms))
            return jfail(j, "out of memory");
    } while (jlit(j, ','));
    return jexpect(j, ']');
}

typedef struct top_parse {
    mcl_tunedb *db;
    unsigned have;
    double version;
    char format[DB_MAX_STR];
} top_parse;

static int device_member(jp *j, const char *key, void *u)
{
    top_parse *tp = u;
    double v;
    if (!strcmp(key, "name")) {
        tp->have |= 8;
        return jstring(j, tp->db->name, sizeof tp->db->name);
    }
    if (!strcmp(key, "driver_version")) {
        tp->have |= 16;
        return jstring(j, tp->db->driver, sizeof tp->db->driver);
    }
    if (!strcmp(key, "compute_units")) {
        tp->have |= 32;
        if (!jrange(j, key, 1, 0, 1e6, &v))
            return 0;
        tp->db->compute_units = (uint32_t)v;
        return 1;
    }
    return jskip(j, 2);
}

static int top_member(jp *j, const char *key, void *u)
{
    top_parse *tp = u;
    if (!strcmp(key, "format")) {
        tp->have |= 1;
        return jstring(j, tp->format, sizeof tp->format);
    }
    if (!strcmp(key, "version")) {
        tp->have |= 2;
        return jnumber(j, &tp->version);
    }
    if (!strcmp(key, "device"))
        return jobject(j, device_member, tp);
    if (!strcmp(key, "entries")) {
        if (tp->have & 4)
            return jfail(j, "two \"entries\" arrays");
        tp->have |= 4;
        return entries_parse(j, tp->db);
    }
    return jskip(j, 1);
}

void mcl_tunedb_free(mcl_tunedb *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->n; i++)
        free(db->e[i].key);
    free(db->e);
    free(db);
}

mcl_status mcl_tunedb_parse(const char *text, size_t len, mcl_tunedb **out, char *why, size_t wn)
{
    *out = NULL;
    mcl_tunedb *db = calloc(1, sizeof *db);
    if (!db) {
        snprintf(why, wn, "out of memory");
        return MCL_STATUS_OUT_OF_MEMORY;
    }
    jp j = {text, text, text + len, why, wn, 0};
    top_parse tp;
    memset(&tp, 0, sizeof tp);
    tp.db = db;
    int ok = jobject(&j, top_member, &tp);
    if (ok) {
        jws(&j);
        if (j.p != j.end)
            ok = jfail(&j, "data after the closing '}'");
    }
    if (ok && (!(tp.have & 1) || strcmp(tp.format, DB_FORMAT)))
        ok = jfail(&j, "\"format\" is not \"" DB_FORMAT "\"");
    if (ok && (!(tp.have & 2) || tp.version != 1))
        ok = jfail(&j, "\"version\" is not 1");
    if (ok && (tp.have & 56) != 56)
        ok = jfail(&j, "\"device\" needs \"name\", \"driver_version\" and \"compute_units\"");
    if (ok && !(tp.have & 4))
        ok = jfail(&j, "no \"entries\" array");
    if (!ok) {
        mcl_tunedb_free(db);
        return MCL_STATUS_INVALID_ARGUMENT;
    }
    *out = db;
    return MCL_STATUS_OK;
}

/* Read and parse a file; IO_ERROR (why set) if it cannot be read. */
static mcl_status db_load(const char *path, mcl_tunedb **db, char *why, size_t wn)
{
    *db = NULL;
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(why, wn, "%s", !f ? strerror(errno) : "not a regular file");
        if (f)
            fclose(f);
        return MCL_STATUS_IO_ERROR;
    }
    if (sb.st_size > (off_t)DB_MAX_BYTES) {
        fclose(f);
        snprintf(why, wn, "%lld bytes, more than the %u MiB limit", (long long)sb.st_size, DB_MAX_BYTES >> 20);
        return MCL_STATUS_INVALID_ARGUMENT;
    }
    size_t n = (size_t)sb.st_size;
    char *text = malloc(n ? n : 1);
    size_t got = text ? fread(text, 1, n, f) : 0;
    int err = ferror(f);
    fclose(f);
    if (!text || got != n || err) {
        free(text);
        snprintf(why, wn, text ? "read error" : "out of memory");
        return text ? MCL_STATUS_IO_ERROR : MCL_STATUS_OUT_OF_MEMORY;
    }
    mcl_status st = mcl_tunedb_parse(text, n, db, why, wn);
    free(text);
    return st;
}

static int same_device(const mcl_tunedb *db, const mcl_device_info *d)
{
    return !strcmp(db->name, d->name) && !strcmp(db->driver, d->driver_version) &&
           db->compute_units == d->compute_units;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const mcl_tune_entry *)a)->key, ((const mcl_tune_entry *)b)->key);
}

int mcl_tune_key_family(const char *key)
{
    size_t l = strcspn(key, " ");
    for (int f = 0; f < MCL_FAMILY_COUNT_; f++) {
        const char *name = mcl_space_get((mcl_family)f)->family;
        if (strlen(name) == l && !strncmp(key, name, l))
            return f;
    }
    return -1;
}

/* A parsed database (or the reason there is none) put to use: checked
 * against the device, entries that do not fit dropped. */
static void attach(mcl_context *ctx, mcl_tunedb *db, const char *path, const char *why)
{
    if (!db) {
        mcl_log(ctx, MCL_LOG_WARN, "tuning database %s ignored: %s", path, why);
        return;
    }
    const mcl_device_info *d = &ctx->info;
    if (!same_device(db, d)) {
        mcl_log(ctx, MCL_LOG_WARN,
                "tuning database %s ignored: it is for \"%s\" (driver %s, %u compute units), this device is \"%s\" "
                "(driver %s, %u compute units)",
                path, db->name, db->driver, db->compute_units, d->name, d->driver_version, d->compute_units);
        mcl_tunedb_free(db);
        return;
    }
    /* drop entries that do not fit: unknown family, outside the space or the
     * device's work-group limit, a key given twice; sorted for bsearch */
    if (db->n)
        qsort(db->e, db->n, sizeof *db->e, cmp_entry);
    size_t kept = 0, dropped = 0, total = db->n;
    char first[MCL_TUNE_KEY_MAX + 200] = "";
    for (size_t i = 0; i < db->n; i++) {
        mcl_tune_entry *e = &db->e[i];
        int f = mcl_tune_key_family(e->key);
        char r[160] = "";
        if (f < 0)
            snprintf(r, sizeof r, "no kernel family of that name");
        else if (kept && !strcmp(db->e[kept - 1].key, e->key))
            snprintf(r, sizeof r, "the key appears twice");
        else
            mcl_tunables_fit(ctx, (mcl_family)f, &e->t, r, sizeof r);
        if (!r[0]) {
            db->e[kept++] = *e;
            continue;
        }
        if (!dropped++)
            snprintf(first, sizeof first, "\"%s\": %s", e->key, r);
        free(e->key);
    }
    db->n = kept;
    if (dropped)
        mcl_log(ctx, MCL_LOG_WARN, "tuning database %s: %zu of %zu entries ignored (first %s)", path, dropped, total,
                first);
    if (!db->n) {
        mcl_tunedb_free(db);
        return;
    }
    ctx->tunedb = db;
    mcl_log(ctx, MCL_LOG_INFO, "tuning database %s: %zu entries", path, db->n);
}

void mcl_tunedb_attach(mcl_context *ctx, const char *path)
{
    char why[256] = "";
    mcl_tunedb *db = NULL;
    db_load(path, &db, why, sizeof why);
    attach(ctx, db, path, why);
}

void mcl_tunedb_attach_bytes(mcl_context *ctx, const void *data, size_t size, const char *label)
{
    char why[256] = "";
    mcl_tunedb *db = NULL;
    if (size > DB_MAX_BYTES)
        snprintf(why, sizeof why, "%zu bytes, more than the %u MiB limit", size, DB_MAX_BYTES >> 20);
    else
        mcl_tunedb_parse(data, size, &db, why, sizeof why);
    attach(ctx, db, label, why);
}

size_t mcl_context_tuning_db_entries(const mcl_context *ctx) { return ctx && ctx->tunedb ? ctx->tunedb->n : 0; }

/* ---- lookup ---- */

/* The key's class (the key without its " hw=HxW" token) and pixel count. */
static int key_class(const char *key, char *cls, size_t n, double *px)
{
    const char *h = strstr(key, " hw=");
    unsigned a = 0, b = 0;
    if (!h || sscanf(h + 4, "%ux%u", &a, &b) != 2)
        return 0;
    const char *rest = strchr(h + 1, ' ');
    snprintf(cls, n, "%.*s%s", (int)(h - key), key, rest ? rest : "");
    *px = (double)a * b;
    return 1;
}

const mcl_tune_entry *mcl_tunedb_lookup(const mcl_tunedb *db, const char *key, int *near)
{
    *near = 0;
    if (!db || !db->n)
        return NULL;
    mcl_tune_entry probe = {(char *)key, {0, 0, 0, 0}, 0, 0};
    const mcl_tune_entry *hit = bsearch(&probe, db->e, db->n, sizeof *db->e, cmp_entry);
    if (hit)
        return hit;
    char cls[MCL_TUNE_KEY_MAX], c2[MCL_TUNE_KEY_MAX];
    double px, p2, best = log(4.0) + 1e-9;
    const mcl_tune_entry *pick = NULL;
    if (!key_class(key, cls, sizeof cls, &px) || px <= 0)
        return NULL;
    for (size_t i = 0; i < db->n; i++)
        if (key_class(db->e[i].key, c2, sizeof c2, &p2) && p2 > 0 && !strcmp(cls, c2) && fabs(log(p2 / px)) < best) {
            best = fabs(log(p2 / px));
            pick = &db->e[i];
        }
    *near = pick != NULL;
    return pick;
}

/* ---- writer ---- */

static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* ms with 5 decimals, whatever the locale. */
static void put_ms(FILE *f, double ms)
{
    long long v = llround((ms > 0 && ms < 1e6 ? ms : 0) * 1e5);
    fprintf(f, "%lld.%05lld", v / 100000, v % 100000);
}

static int db_write(const mcl_tunedb *db, FILE *f)
{
    fprintf(f, "{\n\"device\": {\"compute_units\": %u, \"driver_version\": ", db->compute_units);
    put_str(f, db->driver);
    fprintf(f, ", \"name\": ");
    put_str(f, db->name);
    fprintf(f, "},\n\"entries\": [\n");
    for (size_t i = 0; i < db->n; i++) {
        const mcl_tune_entry *e = &db->e[i];
        fprintf(f, "{\"default_ms\": ");
        put_ms(f, e->default_ms);
        fprintf(f, ", \"ms\": ");
        put_ms(f, e->ms);
        fprintf(f, ", \"op\": ");
        put_str(f, e->key);
        if (e->t.split)
            fprintf(f, ", \"split\": %u", e->t.split);
        fprintf(f, ", \"tile_c\": %u, \"tile_w\": %u, \"wg\": %u}%s\n", e->t.tile_c, e->t.tile_w, e->t.wg,
                i + 1 < db->n ? "," : "");
    }
    fprintf(f, "],\n\"format\": \"" DB_FORMAT "\",\n\"version\": 1\n}\n");
    return !ferror(f);
}

/* mkdir -p of path's directory */
static void make_parents(const char *path)
{
    char d[1024];
    if (strlen(path) >= sizeof d)
        return;
    strcpy(d, path);
    for (char *q = d + 1; *q; q++)
        if (*q == '/') {
            *q = 0;
            mkdir(d, 0755);
            *q = '/';
        }
}

mcl_status mcl_tunedb_save(mcl_context *ctx, const char *path, const mcl_tune_result *r, size_t n, size_t *total)
{
    mcl_clear_error();
    if (!ctx || !path || !*path || (n && !r))
        return mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT, "mcl_tunedb_save: %s is NULL or empty",
                        !ctx ? "ctx" : !path || !*path ? "path" : "r");
    char why[256];
    mcl_tunedb *db = NULL;
    mcl_status st = db_load(path, &db, why, sizeof why);
    if (st == MCL_STATUS_IO_ERROR && access(path, F_OK) == 0) /* there, but unreadable or a directory */
        return mcl_fail(ctx, st, "tuning database %s: %s", path, why);
    if (st != MCL_STATUS_OK && st != MCL_STATUS_IO_ERROR)
        mcl_log(ctx, MCL_LOG_WARN, "tuning database %s is corrupt (%s): replaced", path, why);
    const mcl_device_info *d = &ctx->info;
    if (db && !same_device(db, d)) {
        st = mcl_fail(ctx, MCL_STATUS_INVALID_ARGUMENT,
                      "tuning database %s belongs to \"%s\" (driver %s, %u compute units), not to this device "
                      "\"%s\": use another file",
                      path, db->name, db->driver, db->compute_units, d->name);
        mcl_tunedb_free(db);
        return st;
    }
    if (!db && !(db = calloc(1, sizeof *db)))
        return mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "tuning database");
    snprintf(db->name, sizeof db->name, "%s", d->name);
    snprintf(db->driver, sizeof db->driver, "%s", d->driver_version);
    db->compute_units = d->compute_units;
    st = MCL_STATUS_OK;
    for (size_t i = 0; i < n && st == MCL_STATUS_OK; i++) {
        size_t k = 0;
        while (k < db->n && strcmp(db->e[k].key, r[i].key))
            k++;
        if (k < db->n)
            db->e[k] = (mcl_tune_entry){db->e[k].key, r[i].best, r[i].best_ms, r[i].default_ms};
        else if (!db_add(db, r[i].key, &r[i].best, r[i].best_ms, r[i].default_ms))
            st = mcl_fail(ctx, MCL_STATUS_OUT_OF_MEMORY, "tuning database entry");
    }
    if (st == MCL_STATUS_OK) {
        if (db->n)
            qsort(db->e, db->n, sizeof *db->e, cmp_entry);
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
        make_parents(path);
        FILE *f = fopen(tmp, "w");
        int ok = f && db_write(db, f);
        ok = f && !fclose(f) && ok;
        if (!ok || rename(tmp, path) != 0) {
            st = mcl_fail(ctx, MCL_STATUS_IO_ERROR, "cannot write the tuning database %s: %s", path, strerror(errno));
            remove(tmp);
        }
    }
    if (total)
        *total = db->n;
    mcl_tunedb_free(db);
    return st;
}

mcl_status mcl_tunedb_default_path(const mcl_context *ctx, char *buf, size_t n)
{
    mcl_clear_error();
    if (!ctx || !buf || !n)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "mcl_tunedb_default_path: NULL argument");
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char base[900];
    if (xdg && *xdg)
        snprintf(base, sizeof base, "%s", xdg);
    else if (home && *home)
        snprintf(base, sizeof base, "%s/.cache", home);
    else
        return mcl_fail(NULL, MCL_STATUS_NOT_FOUND, "neither XDG_CACHE_HOME nor HOME is set");
    char slug[65];
    size_t k = 0;
    for (const char *s = ctx->info.name; *s && k < sizeof slug - 1; s++) {
        char c = *s;
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        if (keep || (k && slug[k - 1] != '_'))
            slug[k++] = keep ? c : '_';
    }
    slug[k] = 0;
    if ((size_t)snprintf(buf, n, "%s/mobicl/tuning-%s.json", base, k ? slug : "device") >= n)
        return mcl_fail(NULL, MCL_STATUS_OVERFLOW, "mcl_tunedb_default_path: buffer of %zu bytes is too small", n);
    return MCL_STATUS_OK;
}
