/* ONNX importer: ModelProto (parsed by protobuf-c from code generated at
 * build time from python3-onnx's onnx.proto) -> mcl_graph.
 *
 * Every ONNX name maps to an entry that is either
 *   - a graph value (an mcl_value, NCHW, plus the ONNX "logical" dims it
 *     stands for: rank 4 [N,C,H,W]; rank 2 [N,C] = N,C,1,1; rank 3 [A,B,L]
 *     = A,B,1,L; rank 1 [C] = 1,C,1,1; or, after Flatten/Reshape, the rank-2
 *     view [N, C*H*W] of an NCHW value, which only FC-like consumers take),
 *   - a constant tensor (float or int64; initializers, Constant nodes and
 *     everything computed from constants only, e.g. the Shape / Gather /
 *     Unsqueeze / Concat subgraphs exporters emit: folded here, since input
 *     shapes are fixed), or
 *   - a pending channel shuffle: Reshape [N,C,H,W] -> [N,g,C/g,H,W], then
 *     Transpose (0,2,1,3,4), then Reshape back to 4-D becomes one shuffle
 *     node.
 * Nodes are taken in dependency order (not file order): a node whose inputs
 * never appear is a dangling reference, nodes that wait on each other a
 * cycle. Every error names the source, the node, its op type and opset. */
#include "graph_internal.h"
#include "mobicl_onnx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MOBICL_WITH_ONNX

static mcl_status no_onnx(void)
{
    return mcl_fail(NULL, MCL_STATUS_UNSUPPORTED,
                    "ONNX import: this mobicl was built without protobuf-c (CMake MOBICL_ONNX=OFF or not found)");
}
mcl_status mcl_onnx_load(const char *path, const mcl_onnx_options *opt, mcl_graph **g)
{
    (void)path, (void)opt, (void)g;
    return no_onnx();
}
mcl_status mcl_onnx_load_memory(const void *data, size_t size, const char *base_dir, const mcl_onnx_options *opt,
                                mcl_graph **g)
{
    (void)data, (void)size, (void)base_dir, (void)opt, (void)g;
    return no_onnx();
}
mcl_status mcl_onnx_read_tensor(const char *path, float **data, int64_t dims[MCL_ONNX_MAX_DIMS], size_t *ndim)
{
    (void)path, (void)data, (void)dims, (void)ndim;
    return no_onnx();
}

#else

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "onnx.pb-c.h"

/* Largest file or tensor accepted (bytes). */
#define MAX_BYTES ((uint64_t)1 << 32)

enum { E_VALUE = 1, E_CONST, E_SHUFFLE5, E_SHUFFLE5T };
enum { T_FLOAT = 1, T_INT64 = 7 };

typedef struct entry {
    char *name;
    int kind;
    int64_t dims[MCL_ONNX_MAX_DIMS];
    size_t nd;
    /* E_VALUE / E_SHUFFLE*: */
    mcl_value v;
    uint32_t groups; /* E_SHUFFLE* */
    /* E_CONST: */
    int type;    /* T_FLOAT or T_INT64 */
    size_t count;
    float *f;
    int64_t *i;
} entry;

typedef struct ox {
    const char *src;      /* file name for messages */
    const char *base_dir; /* external data */
    int opset;
    mcl_graph *g;
    entry *e;
    size_t n, cap;
    const Onnx__NodeProto *node; /* being converted, for messages */
    char msg[512];
} ox;

static mcl_status oerr(ox *o, mcl_status st, const char *fmt, ...) MCL_PRINTF(3, 4);
static mcl_status oerr(ox *o, mcl_status st, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (o->node)
        return mcl_fail(NULL, st, "ONNX %s: node '%s' (%s, opset %d): %s", o->src,
                        o->node->name && *o->node->name ? o->node->name : "(unnamed)",
                        o->node->op_type ? o->node->op_type : "?", o->opset, buf);
    return mcl_fail(NULL, st, "ONNX %s: %s", o->src, buf);
}

/* ---- entries ------------------------------------------------------------------ */

static entry *find(ox *o, const char *name)
{
    if (!name || !*name)
        return NULL;
    for (size_t k = o->n; k-- > 0;)
        if (!strcmp(o->e[k].name, name))
            return &o->e[k];
    return NULL;
}

static entry *add_entry(ox *o, const char *name, int kind)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 256;
        entry *e = realloc(o->e, cap * sizeof *e);
        if (!e)
            return NULL;
        o->e = e;
        o->cap = cap;
    }
    entry *e = &o->e[o->n];
    memset(e, 0, sizeof *e);
    size_t len = strlen(name);
    if (!(e->name = malloc(len + 1)))
        return NULL;
    memcpy(e->name, name, len + 1);
    e->kind = kind;
    e->v = -1;
    o->n++;
    return e;
}

static void free_entries(ox *o)
{
    for (size_t k = 0; k < o->n; k++) {
        free(o->e[k].name);
        free(o->e[k].f);
        free(o->e[k].i);
    }
    free(o->e);
}

static int64_t prod(const int64_t *d, size_t nd)
{
    int64_t p = 1;
    for (size_t k = 0; k < nd; k++)
        p *= d[k];
    return p;
}

/* dims of a rank 1..4 tensor as the NCHW shape that stands for it */
static int map4(const int64_t *d, size_t nd, mcl_shape *s)
{
    for (size_t k = 0; k < nd; k++)
        if (d[k] <= 0 || d[k] > UINT32_MAX)
            return 0;
    switch (nd) {
    case 1: *s = (mcl_shape){1, (uint32_t)d[0], 1, 1}; return 1;
    case 2: *s = (mcl_shape){(uint32_t)d[0], (uint32_t)d[1], 1, 1}; return 1;
    case 3: *s = (mcl_shape){(uint32_t)d[0], (uint32_t)d[1], 1, (uint32_t)d[2]}; return 1;
    case 4: *s = (mcl_shape){(uint32_t)d[0], (uint32_t)d[1], (uint32_t)d[2], (uint32_t)d[3]}; return 1;
    default: return 0;
    }
}

static mcl_shape vshape(ox *o, mcl_value v)
{
    mcl_shape s = {0, 0, 0, 0};
    mcl_graph_value_shape(o->g, v, &s);
    return s;
}

static int shape_eq(mcl_shape a, mcl_shape b) { return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w; }

/* The entry's dims map exactly onto its value's NCHW shape (not a
 * flattened view). */
static int is_nchw(ox *o, const entry *e)
{
    mcl_shape s;
    return e->kind == E_VALUE && map4(e->dims, e->nd, &s) && shape_eq(s, vshape(o, e->v));
}

/* A new graph value entry for output name with the value's own dims. */
static mcl_status put_value(ox *o, const char *name, mcl_value v, const int64_t *dims, size_t nd)
{
    entry *e = add_entry(o, name, E_VALUE);
    if (!e)
        return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
    e->v = v;
    if (dims) {
        memcpy(e->dims, dims, nd * sizeof *dims);
        e->nd = nd;
    } else {
        mcl_shape s = vshape(o, v);
        int64_t d[4] = {s.n, s.c, s.h, s.w};
        memcpy(e->dims, d, sizeof d);
        e->nd = 4;
    }
    return MCL_STATUS_OK;
}

/* A constant entry owning f or i (count elements). */
static mcl_status put_const(ox *o, const char *name, int type, const int64_t *dims, size_t nd, float *f, int64_t *i)
{
    entry *e = add_entry(o, name, E_CONST);
    if (!e) {
        free(f);
        free(i);
        return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    e->type = type;
    if (nd)
        memcpy(e->dims, dims, nd * sizeof *dims);
    e->nd = nd;
    e->count = (size_t)prod(dims, nd);
    e->f = f;
    e->i = i;
    return MCL_STATUS_OK;
}

static mcl_status put_i64(ox *o, const char *name, const int64_t *vals, size_t n, const int64_t *dims, size_t nd)
{
    int64_t *i = malloc((n ? n : 1) * sizeof *i);
    if (!i)
        return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
    if (n)
        memcpy(i, vals, n * sizeof *i);
    return put_const(o, name, T_INT64, dims, nd, NULL, i);
}

/* Element k of a constant as double / int64. */
static double cget(const entry *e, size_t k) { return e->type == T_FLOAT ? e->f[k] : (double)e->i[k]; }
static int64_t iget(const entry *e, size_t k) { return e->type == T_FLOAT ? (int64_t)e->f[k] : e->i[k]; }

/* ---- tensors from protobuf ------------------------------------------------------ */

static int safe_rel_path(const char *p)
{
    if (!p || !*p || p[0] == '/' || strchr(p, '\\'))
        return 0;
    for (const char *s = p; *s;) {
        const char *slash = strchr(s, '/');
        size_t len = slash ? (size_t)(slash - s) : strlen(s);
        if (len == 2 && s[0] == '.' && s[1] == '.')
            return 0;
        s += len + (slash != NULL);
    }
    return 1;
}

/* Reads `len` bytes at `off` of base_dir/loc into a new buffer. */
static mcl_status read_external(ox *o, const char *tname, const char *loc, uint64_t off, uint64_t len, int has_len,
                                uint64_t want, unsigned char **out)
{
    if (!o->base_dir)
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT,
                    "tensor '%s' has external data ('%s') but the model was loaded from memory without a folder",
                    tname, loc ? loc : "");
    if (!safe_rel_path(loc))
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT,
                    "tensor '%s': external data location '%s' must be a relative path inside the model's folder "
                    "(no '..', not absolute)", tname, loc ? loc : "");
    if (has_len && len != want)
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "tensor '%s': external length %llu, its dims need %llu bytes",
                    tname, (unsigned long long)len, (unsigned long long)want);
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", o->base_dir, loc) >= (int)sizeof path)
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "tensor '%s': external data path too long", tname);
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f)
            fclose(f);
        return oerr(o, MCL_STATUS_IO_ERROR, "tensor '%s': cannot read external data file %s", tname, path);
    }
    if (off > (uint64_t)st.st_size || want > (uint64_t)st.st_size - off) {
        fclose(f);
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT,
                    "tensor '%s': external data %s has %lld bytes, the tensor needs %llu at offset %llu", tname, path,
                    (long long)st.st_size, (unsigned long long)want, (unsigned long long)off);
    }
    unsigned char *buf = malloc(want ? want : 1);
    int ok = buf && fseek(f, (long)off, SEEK_SET) == 0 && fread(buf, 1, want, f) == want;
    fclose(f);
    if (!ok) {
        free(buf);
        return oerr(o, buf ? MCL_STATUS_IO_ERROR : MCL_STATUS_OUT_OF_MEMORY, "tensor '%s': reading %s failed", tname,
                    path);
    }
    *out = buf;
    return MCL_STATUS_OK;
}

/* TensorProto -> constant entry named `name` (float, or integer types as int64). */
static mcl_status tensor_in(ox *o, const Onnx__TensorProto *t, const char *name)
{
    const char *tn = name && *name ? name : "(unnamed)";
    if (t->n_dims > MCL_ONNX_MAX_DIMS)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "tensor '%s' has %zu dims (at most %d)", tn, t->n_dims,
                    MCL_ONNX_MAX_DIMS);
    uint64_t count = 1;
    for (size_t k = 0; k < t->n_dims; k++) {
        if (t->dims[k] < 0)
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "tensor '%s': dim %zu is %lld (negative)", tn, k,
                        (long long)t->dims[k]);
        if (t->dims[k] && count > MAX_BYTES / 8 / (uint64_t)t->dims[k])
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "tensor '%s': dims overflow the %llu-byte limit", tn,
                        (unsigned long long)MAX_BYTES);
        count *= (uint64_t)t->dims[k];
    }
    const int dt = t->has_data_type ? t->data_type : 0;
    size_t esize;
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: esize = 4; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: esize = 8; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: esize = 1; break;
    default:
        return oerr(o, MCL_STATUS_UNSUPPORTED, "tensor '%s': data type %d is not supported (float, double, int8/32/64, "
                    "uint8, bool)", tn, dt);
    }
    const uint64_t bytes = count * esize;
    unsigned char *ext = NULL;
    const unsigned char *raw = NULL;
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        const char *loc = NULL;
        uint64_t off = 0, len = 0;
        int has_len = 0;
        for (size_t k = 0; k < t->n_external_data; k++) {
            const char *key = t->external_data[k]->key, *val = t->external_data[k]->value;
            if (!key || !val)
                continue;
            char *end = NULL;
            if (!strcmp(key, "location"))
                loc = val;
            else if (!strcmp(key, "offset") || !strcmp(key, "length")) {
                errno = 0;
                unsigned long long x = strtoull(val, &end, 10);
                if (errno || !*val || *end || val[0] == '-')
                    return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "tensor '%s': external %s '%s' is not a number", tn,
                                key, val);
                if (key[0] == 'o')
                    off = x;
                else
                    len = x, has_len = 1;
            }
        }
        mcl_status st = read_external(o, tn, loc, off, len, has_len, bytes, &ext);
        if (st)
            return st;
        raw = ext;
    } else if (t->has_raw_data && t->raw_data.len) {
        if (t->raw_data.len != bytes)
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "tensor '%s': %zu bytes of raw data, its dims need %llu", tn,
                        t->raw_data.len, (unsigned long long)bytes);
        raw = t->raw_data.data;
    } else {
        size_t have = dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT    ? t->n_float_data
                      : dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64  ? t->n_int64_data
                      : dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->n_double_data
                                                                     : t->n_int32_data;
        if (have != count)
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "tensor '%s': %zu values stored, its dims need %llu", tn, have,
                        (unsigned long long)count);
    }
    const int is_f = dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    float *f = is_f ? malloc((count ? count : 1) * sizeof *f) : NULL;
    int64_t *iv = is_f ? NULL : malloc((count ? count : 1) * sizeof *iv);
    if (!f && !iv) {
        free(ext);
        return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "tensor '%s': %llu values", tn, (unsigned long long)count);
    }
    for (uint64_t k = 0; k < count; k++) {
        const unsigned char *p = raw ? raw + k * esize : NULL;
        switch (dt) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
            if (p)
                memcpy(&f[k], p, 4);
            else
                f[k] = t->float_data[k];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
            double d;
            if (p)
                memcpy(&d, p, 8);
            else
                d = t->double_data[k];
            f[k] = (float)d;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
            if (p)
                memcpy(&iv[k], p, 8);
            else
                iv[k] = t->int64_data[k];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
            int32_t x;
            if (p)
                memcpy(&x, p, 4);
            else
                x = t->int32_data[k];
            iv[k] = x;
            break;
        }
        default: /* 1-byte types: int32_data holds them when not raw */
            iv[k] = p ? (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? (int64_t)(int8_t)*p : (int64_t)*p)
                      : t->int32_data[k];
            break;
        }
    }
    free(ext);
    return put_const(o, name, is_f ? T_FLOAT : T_INT64, t->dims, t->n_dims, f, iv);
}

/* ---- attributes and inputs ------------------------------------------------------ */

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t k = 0; k < n->n_attribute; k++)
        if (n->attribute[k]->name && !strcmp(n->attribute[k]->name, name))
            return n->attribute[k];
    return NULL;
}

static int64_t attr_i(const Onnx__NodeProto *n, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_i ? a->i : def;
}

static float attr_f(const Onnx__NodeProto *n, const char *name, float def)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_f ? a->f : def;
}

/* ints attribute into v (at most cap); returns the count, or -1 if absent. */
static int attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *v, size_t cap)
{
    const Onnx__AttributeProto *a = attr(n, name);
    if (!a)
        return -1;
    size_t c = a->n_ints < cap ? a->n_ints : cap;
    if (c) /* an empty list has ints == NULL: no memcpy from NULL */
        memcpy(v, a->ints, c * sizeof *v);
    return (int)a->n_ints;
}

static int attr_is(const Onnx__NodeProto *n, const char *name, const char *val)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_s && a->s.len == strlen(val) && !memcmp(a->s.data, val, a->s.len);
}

/* Input k (NULL if absent or named ""). */
static entry *in_k(ox *o, size_t k)
{
    return k < o->node->n_input ? find(o, o->node->input[k]) : NULL;
}

static mcl_status need_value(ox *o, size_t k, entry **e, int nchw)
{
    *e = in_k(o, k);
    if (!*e || (*e)->kind != E_VALUE)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "input %zu ('%s') must be a tensor computed from the graph's inputs",
                    k, k < o->node->n_input ? o->node->input[k] : "");
    if (nchw && !is_nchw(o, *e))
        return oerr(o, MCL_STATUS_UNSUPPORTED, "input '%s' is a flattened view; this op needs an N,C[,H,W] tensor",
                    (*e)->name);
    return MCL_STATUS_OK;
}

static mcl_status need_const(ox *o, size_t k, entry **e)
{
    *e = in_k(o, k);
    if (!*e || (*e)->kind != E_CONST)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "input %zu ('%s') must be a constant (an initializer)", k,
                    k < o->node->n_input ? o->node->input[k] : "");
    return MCL_STATUS_OK;
}

static const char *out0(ox *o) { return o->node->n_output ? o->node->output[0] : ""; }
static const char *nname(ox *o) { return o->node->name && *o->node->name ? o->node->name : out0(o); }

/* ---- constant folding ----------------------------------------------------------- */

static int all_const(ox *o)
{
    for (size_t k = 0; k < o->node->n_input; k++) {
        const char *s = o->node->input[k];
        if (!s || !*s)
            continue;
        entry *e = find(o, s);
        if (!e || e->kind != E_CONST)
            return 0;
    }
    return o->node->n_input > 0;
}

static mcl_status fold_elementwise(ox *o, const char *op)
{
    entry *a, *b;
    mcl_status st;
    if ((st = need_const(o, 0, &a)) || (st = need_const(o, 1, &b)))
        return st;
    const entry *big = a->count >= b->count ? a : b;
    if ((a->count != big->count && a->count != 1) || (b->count != big->count && b->count != 1))
        return oerr(o, MCL_STATUS_UNSUPPORTED, "constant folding: broadcasting %zu against %zu values", a->count,
                    b->count);
    const int flt = a->type == T_FLOAT || b->type == T_FLOAT;
    const size_t n = big->count;
    float *f = flt ? malloc((n ? n : 1) * sizeof *f) : NULL;
    int64_t *iv = flt ? NULL : malloc((n ? n : 1) * sizeof *iv);
    if (!f && !iv)
        return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
    for (size_t k = 0; k < n; k++) {
        const size_t ka = a->count == 1 ? 0 : k, kb = b->count == 1 ? 0 : k;
        if (flt) {
            double x = cget(a, ka), y = cget(b, kb);
            f[k] = (float)(op[0] == 'A' ? x + y : op[0] == 'S' ? x - y : op[0] == 'M' ? x * y : x / y);
        } else {
            int64_t x = a->i[ka], y = b->i[kb];
            if (op[0] == 'D' && y == 0) {
                free(iv);
                return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "constant folding: integer division by zero");
            }
            iv[k] = op[0] == 'A' ? x + y : op[0] == 'S' ? x - y : op[0] == 'M' ? x * y : x / y;
        }
    }
    return put_const(o, out0(o), flt ? T_FLOAT : T_INT64, big->dims, big->nd, f, iv);
}

/* Normalised axis in [0, rank). */
/* Flatten's axis: in [-rank, rank], negative counted from the end. */
static int flatten_axis(int64_t a, size_t rank, size_t *out)
{
    if (a < 0)
        a += (int64_t)rank;
    if (a < 0 || a > (int64_t)rank)
        return 0;
    *out = (size_t)a;
    return 1;
}

static int axis_of(int64_t a, size_t rank, size_t *out)
{
    if (a < 0)
        a += (int64_t)rank;
    if (a < 0 || a >= (int64_t)rank)
        return 0;
    *out = (size_t)a;
    return 1;
}

static mcl_status new_dims(ox *o, const int64_t *x, size_t xn, int64_t *d, size_t *dn);

/* Folds the shape-computing ops on constants. Returns UNSUPPORTED with a
 * message for an op it cannot fold. */
static mcl_status fold(ox *o)
{
    const char *op = o->node->op_type;
    entry *a = in_k(o, 0);
    mcl_status st;
    if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div"))
        return fold_elementwise(o, op);
    if (!a && strcmp(op, "Concat")) /* all_const skips empty names: input 0 may be "" */
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "%s: its first input is missing", op);
    if (!strcmp(op, "Identity") || !strcmp(op, "Dropout") || !strcmp(op, "Cast")) {
        int to = (int)attr_i(o->node, "to", a->type == T_FLOAT ? 1 : 7);
        int flt = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || to == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
        float *f = flt ? malloc((a->count ? a->count : 1) * sizeof *f) : NULL;
        int64_t *iv = flt ? NULL : malloc((a->count ? a->count : 1) * sizeof *iv);
        if (!f && !iv)
            return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        for (size_t k = 0; k < a->count; k++) {
            if (flt)
                f[k] = (float)cget(a, k);
            else
                iv[k] = iget(a, k);
        }
        return put_const(o, out0(o), flt ? T_FLOAT : T_INT64, a->dims, a->nd, f, iv);
    }
    if (!strcmp(op, "Shape")) {
        int64_t s = attr_i(o->node, "start", 0), e = attr_i(o->node, "end", (int64_t)a->nd);
        s = s < 0 ? s + (int64_t)a->nd : s;
        e = e < 0 ? e + (int64_t)a->nd : e;
        s = s < 0 ? 0 : s > (int64_t)a->nd ? (int64_t)a->nd : s;
        e = e < s ? s : e > (int64_t)a->nd ? (int64_t)a->nd : e;
        int64_t d = e - s;
        return put_i64(o, out0(o), a->dims + s, (size_t)d, &d, 1);
    }
    if (!strcmp(op, "Gather")) {
        entry *idx;
        if ((st = need_const(o, 1, &idx)))
            return st;
        size_t ax;
        if (a->nd != 1 || !axis_of(attr_i(o->node, "axis", 0), 1, &ax))
            return oerr(o, MCL_STATUS_UNSUPPORTED, "constant Gather: only on a 1-D tensor");
        int64_t *v = malloc((idx->count ? idx->count : 1) * sizeof *v);
        if (!v)
            return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        for (size_t k = 0; k < idx->count; k++) {
            int64_t j = iget(idx, k);
            j = j < 0 ? j + a->dims[0] : j;
            if (j < 0 || j >= a->dims[0]) {
                free(v);
                return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "Gather index %lld out of range [0, %lld)",
                            (long long)iget(idx, k), (long long)a->dims[0]);
            }
            v[k] = iget(a, (size_t)j);
        }
        if (a->type == T_FLOAT) {
            float *f = malloc((idx->count ? idx->count : 1) * sizeof *f);
            for (size_t k = 0; f && k < idx->count; k++)
                f[k] = a->f[v[k] < 0 ? v[k] + a->dims[0] : v[k]];
            free(v);
            return f ? put_const(o, out0(o), T_FLOAT, idx->dims, idx->nd, f, NULL)
                     : oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        }
        st = put_i64(o, out0(o), v, idx->count, idx->dims, idx->nd);
        free(v);
        return st;
    }
    if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze") || !strcmp(op, "Reshape") || !strcmp(op, "Flatten")) {
        int64_t d[MCL_ONNX_MAX_DIMS];
        size_t nd = 0;
        if ((st = new_dims(o, a->dims, a->nd, d, &nd)))
            return st;
        float *f = a->f ? malloc((a->count ? a->count : 1) * sizeof *f) : NULL;
        int64_t *iv = a->i ? malloc((a->count ? a->count : 1) * sizeof *iv) : NULL;
        if ((a->f && !f) || (a->i && !iv)) {
            free(f);
            free(iv);
            return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        }
        if (f && a->count)
            memcpy(f, a->f, a->count * sizeof *f);
        if (iv && a->count)
            memcpy(iv, a->i, a->count * sizeof *iv);
        return put_const(o, out0(o), a->type, d, nd, f, iv);
    }
    if (!strcmp(op, "Concat")) {
        size_t total = 0;
        int flt = 0;
        for (size_t k = 0; k < o->node->n_input; k++) {
            entry *e = in_k(o, k);
            if (!e)
                continue;
            if (e->nd > 1)
                return oerr(o, MCL_STATUS_UNSUPPORTED, "constant Concat: only of 1-D tensors");
            total += e->count;
            flt |= e->type == T_FLOAT;
        }
        float *f = flt ? malloc((total ? total : 1) * sizeof *f) : NULL;
        int64_t *iv = flt ? NULL : malloc((total ? total : 1) * sizeof *iv);
        if (!f && !iv)
            return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        size_t at = 0;
        for (size_t k = 0; k < o->node->n_input; k++) {
            entry *e = in_k(o, k);
            for (size_t j = 0; e && j < e->count; j++, at++) {
                if (flt)
                    f[at] = (float)cget(e, j);
                else
                    iv[at] = e->i[j];
            }
        }
        int64_t d = (int64_t)total;
        return put_const(o, out0(o), flt ? T_FLOAT : T_INT64, &d, 1, f, iv);
    }
    if (!strcmp(op, "Slice") && a->nd == 1) {
        int64_t s = 0, e = a->dims[0], step = 1;
        entry *es = in_k(o, 1), *ee = in_k(o, 2), *est = in_k(o, 4);
        int64_t v[1];
        if (o->opset < 10) {
            if (attr_ints(o->node, "starts", v, 1) >= 1)
                s = v[0];
            if (attr_ints(o->node, "ends", v, 1) >= 1)
                e = v[0];
        } else {
            if (!es || !ee || es->kind != E_CONST || ee->kind != E_CONST || !es->count || !ee->count)
                return oerr(o, MCL_STATUS_UNSUPPORTED, "constant Slice needs constant starts and ends");
            s = iget(es, 0);
            e = iget(ee, 0);
            if (est && est->kind == E_CONST && est->count)
                step = iget(est, 0);
        }
        const int64_t n = a->dims[0];
        if (step != 1)
            return oerr(o, MCL_STATUS_UNSUPPORTED, "constant Slice with step %lld", (long long)step);
        s = s < 0 ? s + n : s;
        e = e < 0 ? e + n : e;
        s = s < 0 ? 0 : s > n ? n : s;
        e = e < s ? s : e > n ? n : e;
        int64_t d = e - s;
        if (a->type == T_FLOAT) {
            float *f = malloc((d ? d : 1) * sizeof *f);
            if (!f)
                return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
            memcpy(f, a->f + s, (size_t)d * sizeof *f);
            return put_const(o, out0(o), T_FLOAT, &d, 1, f, NULL);
        }
        return put_i64(o, out0(o), a->i + s, (size_t)d, &d, 1);
    }
    if (!strcmp(op, "ConstantOfShape")) {
        size_t n = (size_t)(a->count ? prod(a->i, a->count) : 1);
        if (a->type != T_INT64 || n > MAX_BYTES / 8)
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "ConstantOfShape: bad shape");
        const Onnx__AttributeProto *va = attr(o->node, "value");
        float fv = 0;
        int64_t ivv = 0;
        int flt = 1;
        if (va && va->t) {
            if ((st = tensor_in(o, va->t, "\x01value")))
                return st;
            entry *t = &o->e[o->n - 1];
            flt = t->type == T_FLOAT;
            fv = t->count ? (float)cget(t, 0) : 0;
            ivv = t->count ? iget(t, 0) : 0;
        }
        float *f = flt ? malloc((n ? n : 1) * sizeof *f) : NULL;
        int64_t *iv = flt ? NULL : malloc((n ? n : 1) * sizeof *iv);
        if (!f && !iv)
            return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        for (size_t k = 0; k < n; k++) {
            if (flt)
                f[k] = fv;
            else
                iv[k] = ivv;
        }
        return put_const(o, out0(o), flt ? T_FLOAT : T_INT64, a->i, a->count, f, iv);
    }
    if (!strcmp(op, "Range")) {
        entry *l, *d;
        if ((st = need_const(o, 1, &l)) || (st = need_const(o, 2, &d)))
            return st;
        double s0 = cget(a, 0), lim = cget(l, 0), dl = cget(d, 0);
        double nn = dl != 0 ? ceil((lim - s0) / dl) : -1;
        if (!(nn >= 0) || nn > 1e7)
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "Range of %g elements", nn);
        int64_t n = (int64_t)nn;
        if (a->type == T_FLOAT) {
            float *f = malloc((n ? n : 1) * sizeof *f);
            for (int64_t k = 0; f && k < n; k++)
                f[k] = (float)(s0 + k * dl);
            return f ? put_const(o, out0(o), T_FLOAT, &n, 1, f, NULL)
                     : oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        }
        int64_t *v = malloc((n ? n : 1) * sizeof *v);
        for (int64_t k = 0; v && k < n; k++)
            v[k] = a->i[0] + k * d->i[0];
        if (!v)
            return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        return put_const(o, out0(o), T_INT64, &n, 1, NULL, v);
    }
    return oerr(o, MCL_STATUS_UNSUPPORTED, "op '%s' on constant inputs is not supported", op);
}

/* ---- ops on graph values -------------------------------------------------------- */

/* After a builder call: its status, and the value it wrote to *v (read
 * only now, after the call). */
static mcl_status emit(ox *o, mcl_status st, const mcl_value *v, const int64_t *dims, size_t nd)
{
    if (st != MCL_STATUS_OK)
        return oerr(o, st, "%s", mcl_last_error());
    return put_value(o, out0(o), *v, dims, nd);
}

/* pads/auto_pad of a 2-D window: p[0..3] = top, left, bottom, right */
static mcl_status window_pads(ox *o, mcl_shape in, const int64_t *k, const int64_t *s, const int64_t *d, int64_t *p)
{
    int64_t pads[4] = {0, 0, 0, 0};
    int np = attr_ints(o->node, "pads", pads, 4);
    if (np >= 0 && np != 4)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "pads has %d values (2-D needs 4)", np);
    const int upper = attr_is(o->node, "auto_pad", "SAME_UPPER"), lower = attr_is(o->node, "auto_pad", "SAME_LOWER");
    if (upper || lower) {
        const int64_t len[2] = {in.h, in.w};
        for (int a = 0; a < 2; a++) {
            int64_t out = (len[a] + s[a] - 1) / s[a];
            int64_t tot = (out - 1) * s[a] + (k[a] - 1) * d[a] + 1 - len[a];
            tot = tot < 0 ? 0 : tot;
            pads[a] = upper ? tot / 2 : tot - tot / 2;
            pads[a + 2] = tot - pads[a];
        }
    } else if (attr_is(o->node, "auto_pad", "VALID")) {
        memset(pads, 0, sizeof pads);
    }
    p[0] = pads[0], p[1] = pads[1], p[2] = pads[2], p[3] = pads[3];
    for (int a = 0; a < 4; a++)
        if (p[a] < 0 || p[a] > 1 << 20)
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "pad %lld out of range", (long long)p[a]);
    return MCL_STATUS_OK;
}

static mcl_status window_ints(ox *o, const char *name, int64_t *v, int64_t def)
{
    v[0] = v[1] = def;
    int n = attr_ints(o->node, name, v, 2);
    if (n >= 0 && n != 2)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "%s has %d values (only 2-D windows are supported)", name, n);
    if (v[0] <= 0 || v[1] <= 0 || v[0] > 1 << 16 || v[1] > 1 << 16)
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "%s (%lld, %lld) must be positive", name, (long long)v[0],
                    (long long)v[1]);
    return MCL_STATUS_OK;
}

static mcl_status op_conv(ox *o)
{
    entry *x, *w, *b = NULL;
    mcl_status st;
    if ((st = need_value(o, 0, &x, 1)) || (st = need_const(o, 1, &w)))
        return st;
    if (o->node->n_input > 2 && o->node->input[2][0] && (st = need_const(o, 2, &b)))
        return st;
    if (w->nd != 4 || w->type != T_FLOAT || x->nd != 4)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "only 2-D convolution (4-D input and weights) is supported");
    mcl_shape in = vshape(o, x->v);
    int64_t k[2] = {w->dims[2], w->dims[3]}, s[2], d[2], p[4], ks[2];
    if (attr(o->node, "kernel_shape") &&
        ((st = window_ints(o, "kernel_shape", ks, 1)) || ks[0] != k[0] || ks[1] != k[1]))
        return st ? st : oerr(o, MCL_STATUS_INVALID_ARGUMENT, "kernel_shape (%lld, %lld) differs from the weights' "
                              "(%lld, %lld)", (long long)ks[0], (long long)ks[1], (long long)k[0], (long long)k[1]);
    if (k[0] <= 0 || k[1] <= 0 || k[0] > 1 << 16 || k[1] > 1 << 16)
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "kernel %lld x %lld", (long long)k[0], (long long)k[1]);
    if ((st = window_ints(o, "strides", s, 1)) || (st = window_ints(o, "dilations", d, 1)) ||
        (st = window_pads(o, in, k, s, d, p)))
        return st;
    const int64_t group = attr_i(o->node, "group", 1);
    if (group <= 0 || group > (int64_t)in.c || w->dims[0] <= 0 || w->dims[0] > UINT32_MAX)
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "group %lld for %u input channels", (long long)group, in.c);
    if (b && (b->count != (size_t)w->dims[0] || b->type != T_FLOAT))
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "bias has %zu values for %lld outputs", b->count,
                    (long long)w->dims[0]);
    if (w->dims[1] * group != (int64_t)in.c)
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "weights take %lld x %lld groups input channels, the input has %u",
                    (long long)w->dims[1], (long long)group, in.c);
    mcl_conv2d_desc cd = {.in_channels = in.c, .out_channels = (uint32_t)w->dims[0], .groups = (uint32_t)group,
                          .kernel_h = (uint32_t)k[0], .kernel_w = (uint32_t)k[1], .stride_h = (uint32_t)s[0],
                          .stride_w = (uint32_t)s[1], .pad_top = (uint32_t)p[0], .pad_left = (uint32_t)p[1],
                          .pad_bottom = (uint32_t)p[2], .pad_right = (uint32_t)p[3], .dilation_h = (uint32_t)d[0],
                          .dilation_w = (uint32_t)d[1]};
    mcl_value y = -1;
    return emit(o, mcl_graph_conv2d(o->g, nname(o), &cd, w->f, b ? b->f : NULL, x->v, -1, &y), &y, NULL, 0);
}

static mcl_status op_batchnorm(ox *o)
{
    entry *x, *p[4];
    mcl_status st;
    if ((st = need_value(o, 0, &x, 1)))
        return st;
    for (int k = 0; k < 4; k++)
        if ((st = need_const(o, (size_t)k + 1, &p[k])))
            return st;
    const uint32_t c = vshape(o, x->v).c;
    for (int k = 0; k < 4; k++)
        if (p[k]->count != c || p[k]->type != T_FLOAT)
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "parameter %d has %zu values for %u channels", k + 1,
                        p[k]->count, c);
    if (attr_i(o->node, "training_mode", 0) || o->node->n_output > 1)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "training mode (more than one output) is not supported");
    mcl_value y = -1;
    return emit(o,
                mcl_graph_batchnorm(o->g, nname(o), x->v, p[0]->f, p[1]->f, p[2]->f, p[3]->f,
                                    attr_f(o->node, "epsilon", 1e-5f), &y),
                &y, x->dims, x->nd);
}

static mcl_status activation(ox *o, mcl_activation act)
{
    entry *x;
    mcl_status st = need_value(o, 0, &x, 0);
    if (st)
        return st;
    mcl_value y = -1;
    return emit(o, mcl_graph_activation(o->g, nname(o), act, x->v, &y), &y, x->dims, x->nd);
}

static mcl_status op_clip(ox *o)
{
    float lo = -INFINITY, hi = INFINITY;
    if (o->opset < 11) {
        lo = attr_f(o->node, "min", -INFINITY);
        hi = attr_f(o->node, "max", INFINITY);
    } else {
        for (size_t k = 1; k < 3 && k < o->node->n_input; k++) {
            if (!o->node->input[k][0])
                continue;
            entry *e;
            mcl_status st = need_const(o, k, &e);
            if (st)
                return st;
            if (e->count != 1)
                return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "Clip bound has %zu values (a scalar is needed)", e->count);
            *(k == 1 ? &lo : &hi) = (float)cget(e, 0);
        }
    }
    if (lo == 0 && hi == 6)
        return activation(o, MCL_ACT_RELU6);
    if (lo == 0 && isinf(hi) && hi > 0)
        return activation(o, MCL_ACT_RELU);
    return oerr(o, MCL_STATUS_UNSUPPORTED, "Clip to [%g, %g]: only [0, 6] (ReLU6) and [0, inf) (ReLU)", lo, hi);
}

/* x (op) constant, per channel or scalar, as a BatchNorm node. */
static mcl_status affine(ox *o, entry *x, entry *c, const char *op, int const_first)
{
    if (!is_nchw(o, x))
        return oerr(o, MCL_STATUS_UNSUPPORTED, "input '%s' is a flattened view", x->name);
    const uint32_t ch = vshape(o, x->v).c;
    /* per channel: [C] or [1,C] against [N,C]; [C,1,1] or [1,C,1,1] against N,C,H,W */
    int per_channel = c->count == ch && c->nd >= 1;
    if (per_channel && x->nd == 4)
        per_channel = c->nd >= 3 && c->dims[c->nd - 1] == 1 && c->dims[c->nd - 2] == 1 && c->nd <= 4;
    else if (per_channel)
        per_channel = x->nd == 2 && c->nd <= 2;
    if (c->count != 1 && !per_channel)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "%s by a constant of %zu values: only a scalar or one per channel (%u)",
                    op, c->count, ch);
    if (op[0] == 'S' && const_first)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "constant minus a tensor is not supported");
    if (op[0] == 'D' && const_first)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "constant divided by a tensor is not supported");
    float *p = malloc(4 * (size_t)ch * sizeof *p);
    if (!p)
        return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
    for (uint32_t k = 0; k < ch; k++) {
        const float v = (float)cget(c, c->count == 1 ? 0 : k);
        float g = 1, b = 0;
        switch (op[0]) {
        case 'A': b = v; break;
        case 'S': b = -v; break;
        case 'M': g = v; break;
        default: g = 1.0f / v; break;
        }
        p[k] = g, p[ch + k] = b, p[2 * ch + k] = 0, p[3 * ch + k] = 1;
    }
    mcl_value y = -1;
    mcl_status st = mcl_graph_batchnorm(o->g, nname(o), x->v, p, p + ch, p + 2 * ch, p + 3 * ch, 0.0f, &y);
    free(p);
    return emit(o, st, &y, x->dims, x->nd);
}

static mcl_status op_binary(ox *o)
{
    entry *a = in_k(o, 0), *b = in_k(o, 1);
    const char *op = o->node->op_type;
    if (!a || !b)
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "needs two inputs");
    if (a->kind == E_VALUE && b->kind == E_CONST)
        return affine(o, a, b, op, 0);
    if (a->kind == E_CONST && b->kind == E_VALUE && (op[0] == 'A' || op[0] == 'M'))
        return affine(o, b, a, op, 1);
    if (a->kind == E_VALUE && b->kind == E_VALUE && op[0] == 'A') {
        if (!shape_eq(vshape(o, a->v), vshape(o, b->v)))
            return oerr(o, MCL_STATUS_UNSUPPORTED, "Add of two tensors needs equal shapes (no broadcasting)");
        mcl_value y = -1;
        return emit(o, mcl_graph_add(o->g, nname(o), a->v, b->v, MCL_ACT_NONE, &y), &y, a->dims, a->nd);
    }
    return oerr(o, MCL_STATUS_UNSUPPORTED, "%s of two computed tensors is not supported (only Add; Mul/Sub/Div by a "
                "constant)", op);
}

static int channel_axis(ox *o, const entry *x, int64_t def)
{
    size_t ax;
    return axis_of(attr_i(o->node, "axis", def), x->nd, &ax) && ax == 1;
}

static mcl_status op_concat(ox *o)
{
    size_t n = o->node->n_input;
    mcl_value v[MCL_GRAPH_MAX_IO];
    if (n < 1 || n > MCL_GRAPH_MAX_IO)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "Concat of %zu inputs (1..%d)", n, MCL_GRAPH_MAX_IO);
    entry *first = NULL;
    int64_t c = 0;
    for (size_t k = 0; k < n; k++) {
        entry *e;
        mcl_status st = need_value(o, k, &e, 1);
        if (st)
            return st;
        if (!first)
            first = e;
        if (e->nd != first->nd)
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "inputs of different ranks");
        v[k] = e->v;
        c += e->dims[1];
    }
    if (first->nd < 2 || !channel_axis(o, first, 1))
        return oerr(o, MCL_STATUS_UNSUPPORTED, "Concat only along axis 1 (channels), got axis %lld on rank %zu",
                    (long long)attr_i(o->node, "axis", 1), first->nd);
    int64_t d[MCL_ONNX_MAX_DIMS];
    memcpy(d, first->dims, first->nd * sizeof *d);
    d[1] = c;
    if (n == 1)
        return put_value(o, out0(o), v[0], d, first->nd);
    mcl_value y = -1;
    return emit(o, mcl_graph_concat(o->g, nname(o), n, v, &y), &y, d, first->nd);
}

/* Split x along channels into `sizes` (outputs named in order; a NULL
 * name drops that part). */
static mcl_status channel_split(ox *o, entry *x, size_t n, const uint32_t *sizes, const char *const *names)
{
    mcl_value outs[MCL_GRAPH_MAX_IO];
    if (n == 1) {
        outs[0] = x->v;
    } else {
        mcl_status st = mcl_graph_split(o->g, nname(o), x->v, n, sizes, outs);
        if (st)
            return oerr(o, st, "%s", mcl_last_error());
    }
    for (size_t k = 0; k < n; k++) {
        if (!names[k])
            continue;
        int64_t d[MCL_ONNX_MAX_DIMS];
        memcpy(d, x->dims, x->nd * sizeof *d);
        d[1] = sizes[k];
        mcl_status st = put_value(o, names[k], outs[k], d, x->nd);
        if (st)
            return st;
    }
    return MCL_STATUS_OK;
}

static mcl_status op_split(ox *o)
{
    entry *x;
    mcl_status st = need_value(o, 0, &x, 1);
    if (st)
        return st;
    const size_t n = o->node->n_output;
    if (x->nd < 2 || !channel_axis(o, x, 0))
        return oerr(o, MCL_STATUS_UNSUPPORTED, "Split only along axis 1 (channels)");
    if (n < 1 || n > MCL_GRAPH_MAX_IO)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "Split into %zu parts (1..%d)", n, MCL_GRAPH_MAX_IO);
    int64_t sz[MCL_GRAPH_MAX_IO];
    int ns = attr_ints(o->node, "split", sz, MCL_GRAPH_MAX_IO);
    entry *se = in_k(o, 1);
    if (ns < 0 && se) {
        if (se->kind != E_CONST || se->count > MCL_GRAPH_MAX_IO)
            return oerr(o, MCL_STATUS_UNSUPPORTED, "split sizes must be a constant of at most %d values",
                        MCL_GRAPH_MAX_IO);
        ns = (int)se->count;
        for (int k = 0; k < ns; k++)
            sz[k] = iget(se, (size_t)k);
    }
    const int64_t c = x->dims[1];
    uint32_t sizes[MCL_GRAPH_MAX_IO];
    int64_t total = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t s = ns < 0 ? (c + (int64_t)n - 1) / (int64_t)n : k < (size_t)ns ? sz[k] : -1;
        if (ns < 0 && k == n - 1)
            s = c - total;
        if (s <= 0 || s > c)
            return oerr(o, MCL_STATUS_UNSUPPORTED, "split part %zu of %lld channels (parts must be non-empty)", k,
                        (long long)s);
        sizes[k] = (uint32_t)s;
        total += s;
    }
    if ((ns >= 0 && (size_t)ns != n) || total != c)
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "split sizes sum to %lld, the input has %lld channels",
                    (long long)total, (long long)c);
    const char *names[MCL_GRAPH_MAX_IO];
    for (size_t k = 0; k < n; k++)
        names[k] = o->node->output[k][0] ? o->node->output[k] : NULL;
    return channel_split(o, x, n, sizes, names);
}

static mcl_status op_slice(ox *o)
{
    entry *x;
    mcl_status st = need_value(o, 0, &x, 1);
    if (st)
        return st;
    int64_t starts[8], ends[8], axes[8], steps[8];
    int n;
    if (o->opset < 10) {
        n = attr_ints(o->node, "starts", starts, 8);
        if (n < 0 || attr_ints(o->node, "ends", ends, 8) != n)
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "starts and ends must have one value per axis");
        if (attr_ints(o->node, "axes", axes, 8) < 0)
            for (int k = 0; k < n; k++)
                axes[k] = k;
        for (int k = 0; k < n; k++)
            steps[k] = 1;
    } else {
        entry *e[4] = {in_k(o, 1), in_k(o, 2), in_k(o, 3), in_k(o, 4)};
        if (!e[0] || !e[1] || e[0]->kind != E_CONST || e[1]->kind != E_CONST || e[0]->count != e[1]->count ||
            e[0]->count > 8)
            return oerr(o, MCL_STATUS_UNSUPPORTED, "starts and ends must be constants of equal length");
        n = (int)e[0]->count;
        for (int k = 0; k < n; k++) {
            starts[k] = iget(e[0], (size_t)k);
            ends[k] = iget(e[1], (size_t)k);
            axes[k] = e[2] && e[2]->kind == E_CONST && (size_t)k < e[2]->count ? iget(e[2], (size_t)k) : k;
            steps[k] = e[3] && e[3]->kind == E_CONST && (size_t)k < e[3]->count ? iget(e[3], (size_t)k) : 1;
        }
    }
    int64_t lo = 0, hi = x->dims[1];
    for (int k = 0; k < n; k++) {
        size_t ax;
        if (!axis_of(axes[k], x->nd, &ax))
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "Slice axis %lld out of range", (long long)axes[k]);
        const int64_t dim = x->dims[ax];
        int64_t s = starts[k] < 0 ? starts[k] + dim : starts[k], e = ends[k] < 0 ? ends[k] + dim : ends[k];
        s = s < 0 ? 0 : s > dim ? dim : s;
        e = e < 0 ? 0 : e > dim ? dim : e;
        if (steps[k] != 1)
            return oerr(o, MCL_STATUS_UNSUPPORTED, "Slice with step %lld (only 1)", (long long)steps[k]);
        if (ax != 1) {
            if (s != 0 || e != dim)
                return oerr(o, MCL_STATUS_UNSUPPORTED, "Slice along axis %zu (only channels, axis 1)", ax);
            continue;
        }
        lo = s, hi = e;
    }
    if (hi <= lo)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "Slice gives no channels");
    uint32_t sizes[3];
    const char *names[3];
    size_t parts = 0;
    if (lo > 0)
        sizes[parts] = (uint32_t)lo, names[parts++] = NULL;
    sizes[parts] = (uint32_t)(hi - lo), names[parts++] = out0(o);
    if (hi < x->dims[1])
        sizes[parts] = (uint32_t)(x->dims[1] - hi), names[parts++] = NULL;
    return channel_split(o, x, parts, sizes, names);
}

static mcl_status op_pool(ox *o, int max)
{
    entry *x;
    mcl_status st = need_value(o, 0, &x, 1);
    if (st)
        return st;
    if (x->nd != 4)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "only 2-D pooling (4-D input) is supported");
    if (o->node->n_output > 1 && o->node->output[1][0])
        return oerr(o, MCL_STATUS_UNSUPPORTED, "the Indices output is not supported");
    mcl_shape in = vshape(o, x->v);
    int64_t k[2], s[2], d[2], p[4];
    if (!attr(o->node, "kernel_shape"))
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "kernel_shape is required");
    if ((st = window_ints(o, "kernel_shape", k, 1)) || (st = window_ints(o, "strides", s, 1)) ||
        (st = window_ints(o, "dilations", d, 1)) || (st = window_pads(o, in, k, s, d, p)))
        return st;
    if (d[0] != 1 || d[1] != 1)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "pooling with dilations is not supported");
    const int cip = !max && attr_i(o->node, "count_include_pad", 0);
    if (attr_i(o->node, "ceil_mode", 0)) {
        const int64_t len[2] = {in.h, in.w};
        for (int a = 0; a < 2; a++) {
            int64_t span = len[a] + p[a] + p[a + 2] - k[a];
            if (span < 0)
                continue;
            int64_t oc = (span + s[a] - 1) / s[a] + 1;
            if ((oc - 1) * s[a] >= len[a] + p[a]) /* the last window would start in the end padding */
                oc--;
            int64_t extra = (oc - 1) * s[a] + k[a] - (len[a] + p[a] + p[a + 2]);
            if (extra > 0) {
                if (cip)
                    return oerr(o, MCL_STATUS_UNSUPPORTED, "ceil_mode with count_include_pad is not supported");
                p[a + 2] += extra;
            }
        }
    }
    mcl_pool2d_desc pd = {.type = max ? MCL_POOL_MAX : MCL_POOL_AVG, .kernel_h = (uint32_t)k[0],
                          .kernel_w = (uint32_t)k[1], .stride_h = (uint32_t)s[0], .stride_w = (uint32_t)s[1],
                          .pad_top = (uint32_t)p[0], .pad_left = (uint32_t)p[1], .pad_bottom = (uint32_t)p[2],
                          .pad_right = (uint32_t)p[3], .count_include_pad = cip};
    mcl_value y = -1;
    return emit(o, mcl_graph_pool2d(o->g, nname(o), &pd, MCL_ACT_NONE, x->v, &y), &y, NULL, 0);
}

static mcl_status global_pool(ox *o, entry *x, int keep)
{
    mcl_pool2d_desc pd = {.type = MCL_POOL_GLOBAL_AVG};
    mcl_value y = -1;
    mcl_status st = mcl_graph_pool2d(o->g, nname(o), &pd, MCL_ACT_NONE, x->v, &y);
    mcl_shape s = vshape(o, x->v);
    int64_t d[4] = {s.n, s.c, 1, 1};
    return emit(o, st, &y, d, keep ? 4 : 2);
}

static mcl_status op_reduce_mean(ox *o)
{
    entry *x;
    mcl_status st = need_value(o, 0, &x, 1);
    if (st)
        return st;
    int64_t axes[4];
    int n = attr_ints(o->node, "axes", axes, 4);
    size_t a0, a1;
    if (x->nd != 4 || n != 2 || !axis_of(axes[0], 4, &a0) || !axis_of(axes[1], 4, &a1) || a0 + a1 != 5 || a0 == a1 ||
        (a0 != 2 && a0 != 3))
        return oerr(o, MCL_STATUS_UNSUPPORTED, "ReduceMean only over axes (2, 3) of a 4-D tensor");
    return global_pool(o, x, (int)attr_i(o->node, "keepdims", 1));
}

/* FC from x ([N,K] view of N,C,H,W with K = C*H*W) and W [out][K]. */
static mcl_status fc(ox *o, entry *x, const float *w, const float *b, uint32_t out, uint32_t k)
{
    mcl_shape s = vshape(o, x->v);
    if ((uint64_t)s.c * s.h * s.w != k || (x->nd != 2 && !(x->nd == 4 && s.h == 1 && s.w == 1)))
        return oerr(o, MCL_STATUS_UNSUPPORTED, "a %u x %u matrix product needs an [N, %u] input", out, k, k);
    mcl_fc_desc fd = {.in_features = k, .out_features = out};
    mcl_value y = -1;
    int64_t d[2] = {s.n, out};
    return emit(o, mcl_graph_fc(o->g, nname(o), &fd, w, b, x->v, &y), &y, d, 2);
}

static mcl_status op_gemm(ox *o, int matmul)
{
    entry *x, *bm, *c = NULL;
    mcl_status st;
    if ((st = need_value(o, 0, &x, 0)) || (st = need_const(o, 1, &bm)))
        return st;
    if (!matmul && o->node->n_input > 2 && o->node->input[2][0] && (st = need_const(o, 2, &c)))
        return st;
    const int ta = matmul ? 0 : (int)attr_i(o->node, "transA", 0), tb = matmul ? 0 : (int)attr_i(o->node, "transB", 0);
    const float alpha = matmul ? 1 : attr_f(o->node, "alpha", 1), beta = matmul ? 1 : attr_f(o->node, "beta", 1);
    if (ta || bm->nd != 2 || bm->type != T_FLOAT || (x->nd != 2 && x->nd != 4))
        return oerr(o, MCL_STATUS_UNSUPPORTED, "only [N,K] x constant [K,M] (transA 0) is supported");
    const int64_t k = tb ? bm->dims[1] : bm->dims[0], m = tb ? bm->dims[0] : bm->dims[1];
    if (k <= 0 || m <= 0 || k > UINT32_MAX || m > UINT32_MAX)
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "matrix of %lld x %lld", (long long)k, (long long)m);
    if (c && c->count != 1 && c->count != (size_t)m)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "bias C of %zu values (scalar or [M] only)", c->count);
    float *w = malloc((size_t)k * (size_t)m * sizeof *w), *b = c ? malloc((size_t)m * sizeof *b) : NULL;
    if (!w || (c && !b)) {
        free(w);
        free(b);
        return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < k; j++)
            w[i * k + j] = alpha * (tb ? bm->f[i * k + j] : bm->f[j * m + i]);
    for (int64_t i = 0; b && i < m; i++)
        b[i] = beta * (float)cget(c, c->count == 1 ? 0 : (size_t)i);
    st = fc(o, x, w, b, (uint32_t)m, (uint32_t)k);
    free(w);
    free(b);
    return st;
}

static mcl_status op_softmax(ox *o)
{
    entry *x;
    mcl_status st = need_value(o, 0, &x, 0);
    if (st)
        return st;
    mcl_shape s = vshape(o, x->v);
    size_t ax;
    int ok = axis_of(attr_i(o->node, "axis", o->opset < 13 ? 1 : -1), x->nd, &ax);
    /* mobicl's softmax runs over the channels of each (n, h, w). From
     * opset 13 on, axis 1 is exactly that for any rank (rank 3 [A,B,L] is
     * A,B,1,L); before 13, axis 1 means all dims after the first as one, so
     * the trailing dims must be 1; the last axis of a rank-2 tensor is 1. */
    if (ok && ax == 1 && o->opset < 13)
        ok = s.h == 1 && s.w == 1;
    ok = ok && ax == 1 && is_nchw(o, x);
    if (!ok)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "Softmax only over axis 1 (channels; before opset 13 with trailing dims "
                    "of 1)");
    mcl_value y = -1;
    return emit(o, mcl_graph_softmax(o->g, nname(o), x->v, &y), &y, x->dims, x->nd);
}

/* Reshape / Flatten / Squeeze / Unsqueeze of a graph value: a view when the
 * new dims stand for the same NCHW shape or flatten it to [N, C*H*W]; the
 * first half of the channel-shuffle pattern; else unsupported. */
static mcl_status view(ox *o, entry *x, const int64_t *d, size_t nd)
{
    mcl_shape s = vshape(o, x->v), t;
    if (x->kind == E_SHUFFLE5T) {
        if (map4(d, nd, &t) && shape_eq(t, s) && nd == 4) {
            mcl_value y = -1;
            return emit(o, mcl_graph_shuffle(o->g, nname(o), x->v, x->groups, &y), &y, d, nd);
        }
        return oerr(o, MCL_STATUS_UNSUPPORTED, "a transposed 5-D view must be reshaped back to [N,C,H,W]");
    }
    if (x->kind != E_VALUE)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "reshaping a 5-D view other than the channel-shuffle pattern");
    if (nd == 5 && is_nchw(o, x) && d[0] == s.n && d[1] * d[2] == s.c && d[3] == s.h && d[4] == s.w && d[1] > 0) {
        entry *e = add_entry(o, out0(o), E_SHUFFLE5);
        if (!e)
            return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        e->v = x->v;
        e->groups = (uint32_t)d[1];
        memcpy(e->dims, d, 5 * sizeof *d);
        e->nd = 5;
        return MCL_STATUS_OK;
    }
    if ((map4(d, nd, &t) && shape_eq(t, s)) || (nd == 2 && d[0] == s.n && d[1] == (int64_t)s.c * s.h * s.w))
        return put_value(o, out0(o), x->v, d, nd);
    return oerr(o, MCL_STATUS_UNSUPPORTED, "reshape of %ux%ux%ux%u to this shape is not supported (only views that keep "
                "N,C,H,W, flatten to [N, C*H*W], or the channel-shuffle pattern)", s.n, s.c, s.h, s.w);
}

/* Dims after Reshape / Flatten / Squeeze / Unsqueeze of a tensor of dims
 * x[0..xn) (the same rules for constants and computed tensors). */
static mcl_status new_dims(ox *o, const int64_t *x, size_t xn, int64_t *d, size_t *dn)
{
    const char *op = o->node->op_type;
    const int64_t total = prod(x, xn);
    size_t nd = 0;
    if (!strcmp(op, "Flatten")) {
        size_t ax;
        if (!flatten_axis(attr_i(o->node, "axis", 1), xn, &ax))
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "Flatten axis out of range");
        d[0] = prod(x, ax);
        d[1] = prod(x + ax, xn - ax);
        nd = 2;
    } else if (!strcmp(op, "Reshape")) {
        entry *s;
        mcl_status st = need_const(o, 1, &s);
        if (st)
            return st;
        if (s->count > MCL_ONNX_MAX_DIMS)
            return oerr(o, MCL_STATUS_UNSUPPORTED, "Reshape to %zu dims", s->count);
        nd = s->count;
        int64_t known = 1;
        int infer = -1;
        for (size_t k = 0; k < nd; k++) {
            d[k] = iget(s, k);
            if (d[k] == 0 && !attr_i(o->node, "allowzero", 0))
                d[k] = k < xn ? x[k] : 0;
            if (d[k] == -1 && infer < 0)
                infer = (int)k;
            else if (d[k] < 0)
                return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "Reshape dim %zu is %lld", k, (long long)d[k]);
            else
                known *= d[k];
        }
        if (infer >= 0)
            d[infer] = known ? total / known : 0;
        if (prod(d, nd) != total)
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "Reshape of %lld elements to %lld", (long long)total,
                        (long long)prod(d, nd));
    } else { /* Squeeze / Unsqueeze: axes as an attribute (< 13) or input 1 */
        int64_t axes[MCL_ONNX_MAX_DIMS];
        int na = attr_ints(o->node, "axes", axes, MCL_ONNX_MAX_DIMS);
        entry *ax = in_k(o, 1);
        if (na < 0 && ax && ax->kind == E_CONST && ax->count <= MCL_ONNX_MAX_DIMS) {
            na = (int)ax->count;
            for (int k = 0; k < na; k++)
                axes[k] = iget(ax, (size_t)k);
        }
        if (op[0] == 'U') {
            size_t r = xn + (size_t)(na < 0 ? 0 : na);
            int mark[MCL_ONNX_MAX_DIMS] = {0};
            if (na < 0 || r > MCL_ONNX_MAX_DIMS)
                return oerr(o, MCL_STATUS_UNSUPPORTED, "Unsqueeze needs axes (at most %d dims)", MCL_ONNX_MAX_DIMS);
            for (int k = 0; k < na; k++) {
                size_t p;
                if (!axis_of(axes[k], r, &p) || mark[p])
                    return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "Unsqueeze axis %lld invalid", (long long)axes[k]);
                mark[p] = 1;
            }
            for (size_t k = 0, j = 0; k < r; k++)
                d[nd++] = mark[k] ? 1 : x[j++];
        } else {
            for (size_t k = 0; k < xn; k++) {
                int drop = na < 0 && x[k] == 1;
                for (int j = 0; j < na; j++) {
                    size_t p;
                    drop |= axis_of(axes[j], xn, &p) && p == k;
                }
                if (drop && x[k] != 1)
                    return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "Squeeze of a dim of size %lld", (long long)x[k]);
                if (!drop)
                    d[nd++] = x[k];
            }
        }
    }
    *dn = nd;
    return MCL_STATUS_OK;
}

static mcl_status op_reshape_like(ox *o)
{
    entry *x = in_k(o, 0);
    if (!x || (x->kind != E_VALUE && x->kind != E_SHUFFLE5T))
        return oerr(o, MCL_STATUS_UNSUPPORTED, "input must be a computed tensor");
    int64_t d[MCL_ONNX_MAX_DIMS];
    size_t nd = 0;
    mcl_status st = new_dims(o, x->dims, x->nd, d, &nd);
    return st ? st : view(o, x, d, nd);
}

static mcl_status op_transpose(ox *o)
{
    entry *x = in_k(o, 0);
    int64_t perm[8];
    int n = attr_ints(o->node, "perm", perm, 8);
    if (x && x->kind == E_SHUFFLE5 && n == 5 && perm[0] == 0 && perm[1] == 2 && perm[2] == 1 && perm[3] == 3 &&
        perm[4] == 4) {
        entry *e = add_entry(o, out0(o), E_SHUFFLE5T);
        if (!e)
            return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        x = in_k(o, 0); /* add_entry may have moved the table */
        e->v = x->v;
        e->groups = x->groups;
        int64_t d[5] = {x->dims[0], x->dims[2], x->dims[1], x->dims[3], x->dims[4]};
        memcpy(e->dims, d, sizeof d);
        e->nd = 5;
        return MCL_STATUS_OK;
    }
    return oerr(o, MCL_STATUS_UNSUPPORTED, "Transpose is supported only as part of a channel shuffle (Reshape to "
                "[N,g,C/g,H,W], Transpose perm (0,2,1,3,4), Reshape back)");
}

static mcl_status op_constant(ox *o)
{
    const Onnx__AttributeProto *a;
    if ((a = attr(o->node, "value")) && a->t)
        return tensor_in(o, a->t, out0(o));
    if ((a = attr(o->node, "value_float")) && a->has_f) {
        float *f = malloc(sizeof *f);
        if (!f)
            return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        *f = a->f;
        return put_const(o, out0(o), T_FLOAT, NULL, 0, f, NULL);
    }
    if ((a = attr(o->node, "value_int")) && a->has_i)
        return put_i64(o, out0(o), &a->i, 1, NULL, 0);
    if ((a = attr(o->node, "value_ints"))) {
        int64_t d = (int64_t)a->n_ints;
        return put_i64(o, out0(o), a->ints, a->n_ints, &d, 1);
    }
    if ((a = attr(o->node, "value_floats"))) {
        int64_t d = (int64_t)a->n_floats;
        float *f = malloc((a->n_floats ? a->n_floats : 1) * sizeof *f);
        if (!f)
            return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        memcpy(f, a->floats, a->n_floats * sizeof *f);
        return put_const(o, out0(o), T_FLOAT, &d, 1, f, NULL);
    }
    return oerr(o, MCL_STATUS_UNSUPPORTED, "Constant without a supported value attribute");
}

static mcl_status convert(ox *o)
{
    const char *op = o->node->op_type;
    if (o->node->domain && *o->node->domain && strcmp(o->node->domain, "ai.onnx"))
        return oerr(o, MCL_STATUS_UNSUPPORTED, "op '%s' of domain '%s' is not supported", op, o->node->domain);
    if (o->opset < 9) {
        /* Older models: only ops whose earlier versions compute what this
         * importer assumes (their later changes added types, attributes with
         * the old default, or moved attributes to inputs handled above). */
        static const char *const same[] = {"Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool",
                                           "BatchNormalization", "Softmax", "Concat", "Identity", "Dropout",
                                           "Flatten", "Clip", "Gemm", "Constant", "Add", "Mul", "Sub", "Div"};
        int ok = 0;
        for (size_t k = 0; k < sizeof same / sizeof *same; k++)
            ok |= !strcmp(op, same[k]);
        if (ok && op[0] != 'C' && op[0] != 'R' && attr_i(o->node, "broadcast", 0) && strcmp(op, "Gemm"))
            ok = 0; /* legacy axis broadcasting (opset < 7) */
        if (ok && !strcmp(op, "BatchNormalization") && !attr_i(o->node, "spatial", 1))
            ok = 0;
        if (!ok)
            return oerr(o, MCL_STATUS_UNSUPPORTED, "op '%s' at opset %d is not supported (models before opset 9: "
                        "only ops unchanged in meaning since)", op, o->opset);
    }
    if (!strcmp(op, "Constant"))
        return op_constant(o);
    if (!strcmp(op, "Shape")) {
        entry *x = in_k(o, 0);
        if (x && x->kind != E_CONST) { /* the shape of a computed tensor is known */
            int64_t s = attr_i(o->node, "start", 0), e = attr_i(o->node, "end", (int64_t)x->nd), r = (int64_t)x->nd;
            s = s < 0 ? s + r : s;
            e = e < 0 ? e + r : e;
            s = s < 0 ? 0 : s > r ? r : s;
            e = e < s ? s : e > r ? r : e;
            int64_t d = e - s;
            return put_i64(o, out0(o), x->dims + s, (size_t)d, &d, 1);
        }
    }
    if (all_const(o))
        return fold(o);
    if (!strcmp(op, "Conv"))
        return op_conv(o);
    if (!strcmp(op, "BatchNormalization"))
        return op_batchnorm(o);
    if (!strcmp(op, "Relu"))
        return activation(o, MCL_ACT_RELU);
    if (!strcmp(op, "Clip"))
        return op_clip(o);
    if (!strcmp(op, "Add") || !strcmp(op, "Mul") || !strcmp(op, "Sub") || !strcmp(op, "Div"))
        return op_binary(o);
    if (!strcmp(op, "Concat"))
        return op_concat(o);
    if (!strcmp(op, "Split"))
        return op_split(o);
    if (!strcmp(op, "Slice"))
        return op_slice(o);
    if (!strcmp(op, "MaxPool") || !strcmp(op, "AveragePool"))
        return op_pool(o, op[0] == 'M');
    if (!strcmp(op, "GlobalAveragePool")) {
        entry *x;
        mcl_status st = need_value(o, 0, &x, 1);
        return st ? st : x->nd != 4 ? oerr(o, MCL_STATUS_UNSUPPORTED, "needs a 4-D input") : global_pool(o, x, 1);
    }
    if (!strcmp(op, "ReduceMean"))
        return op_reduce_mean(o);
    if (!strcmp(op, "Gemm") || !strcmp(op, "MatMul"))
        return op_gemm(o, op[0] == 'M');
    if (!strcmp(op, "Softmax"))
        return op_softmax(o);
    if (!strcmp(op, "Reshape") || !strcmp(op, "Flatten") || !strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze"))
        return op_reshape_like(o);
    if (!strcmp(op, "Transpose"))
        return op_transpose(o);
    if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) {
        entry *x;
        mcl_status st = need_value(o, 0, &x, 0);
        if (st)
            return st;
        if (o->node->n_output > 1 && o->node->output[1][0])
            return oerr(o, MCL_STATUS_UNSUPPORTED, "the Dropout mask output is not supported");
        return put_value(o, out0(o), x->v, x->dims, x->nd);
    }
    return oerr(o, MCL_STATUS_UNSUPPORTED, "op '%s' is not supported", op);
}

/* ---- the model ------------------------------------------------------------------ */

static int produced_by_a_node(const Onnx__GraphProto *gp, const char *name)
{
    for (size_t k = 0; k < gp->n_node; k++)
        for (size_t j = 0; j < gp->node[k]->n_output; j++)
            if (gp->node[k]->output[j] && !strcmp(gp->node[k]->output[j], name))
                return 1;
    return 0;
}

static mcl_status graph_inputs(ox *o, const Onnx__GraphProto *gp, const mcl_onnx_options *opt)
{
    for (size_t k = 0; opt && k < opt->n_constants; k++) {
        const mcl_onnx_constant *c = &opt->constants[k];
        if (!c->name || (!c->data && c->ndim) || c->ndim > MCL_ONNX_MAX_DIMS || (c->ndim && !c->dims))
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "options.constants[%zu] is malformed (name, data, dims)", k);
        uint64_t n = 1;
        for (size_t j = 0; j < c->ndim; j++) {
            if (c->dims[j] < 0 || (c->dims[j] && n > MAX_BYTES / 4 / (uint64_t)c->dims[j]))
                return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "options.constants '%s': dim %zu is %lld", c->name, j,
                            (long long)c->dims[j]);
            n *= (uint64_t)c->dims[j];
        }
        float *f = malloc((n ? n : 1) * sizeof *f);
        if (!f)
            return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
        if (n)
            memcpy(f, c->data, n * sizeof *f);
        mcl_status st = put_const(o, c->name, T_FLOAT, c->dims, c->ndim, f, NULL);
        if (st)
            return st;
    }
    for (size_t k = 0; k < gp->n_initializer; k++) {
        const Onnx__TensorProto *t = gp->initializer[k];
        if (!t->name || !*t->name)
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "initializer %zu has no name", k);
        if (find(o, t->name))
            continue; /* bound by options.constants */
        mcl_status st = tensor_in(o, t, t->name);
        if (st)
            return st;
    }
    size_t n_in = 0;
    for (size_t k = 0; k < gp->n_input; k++) {
        const Onnx__ValueInfoProto *vi = gp->input[k];
        if (!vi->name || find(o, vi->name))
            continue; /* an initializer or a bound constant */
        const Onnx__TypeProto *tp = vi->type;
        if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
            !tp->tensor_type->shape)
            return oerr(o, MCL_STATUS_UNSUPPORTED, "graph input '%s' is not a tensor with a shape", vi->name);
        if (tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
            return oerr(o, MCL_STATUS_UNSUPPORTED, "graph input '%s' has element type %d (only float)", vi->name,
                        tp->tensor_type->elem_type);
        const Onnx__TensorShapeProto *sp = tp->tensor_type->shape;
        int64_t d[4];
        if (sp->n_dim < 1 || sp->n_dim > 4)
            return oerr(o, MCL_STATUS_UNSUPPORTED, "graph input '%s' has rank %zu (1 to 4)", vi->name, sp->n_dim);
        for (size_t j = 0; j < sp->n_dim; j++) {
            const Onnx__TensorShapeProto__Dimension *dm = sp->dim[j];
            int known = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[j] = known ? dm->dim_value : 1;
            if (j == 0 && opt && opt->batch)
                d[j] = opt->batch;
            else if (!known && j > 0)
                return oerr(o, MCL_STATUS_UNSUPPORTED, "graph input '%s': dim %zu is symbolic ('%s'); only the batch "
                            "may be", vi->name, j, dm->dim_param ? dm->dim_param : "");
            if (d[j] <= 0 || d[j] > 1 << 24)
                return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "graph input '%s': dim %zu is %lld", vi->name, j,
                            (long long)d[j]);
        }
        mcl_shape s;
        map4(d, sp->n_dim, &s);
        mcl_value v = -1;
        mcl_status st = mcl_graph_input(o->g, vi->name, &s, &v);
        if (st)
            return oerr(o, st, "graph input '%s': %s", vi->name, mcl_last_error());
        if ((st = put_value(o, vi->name, v, d, sp->n_dim)))
            return st;
        n_in++;
    }
    if (!n_in)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "the graph has no input that is not a constant");
    return MCL_STATUS_OK;
}

static mcl_status nodes(ox *o, const Onnx__GraphProto *gp)
{
    const size_t n = gp->n_node;
    unsigned char *done = calloc(n ? n : 1, 1);
    if (!done)
        return oerr(o, MCL_STATUS_OUT_OF_MEMORY, "out of memory");
    size_t left = n;
    mcl_status st = MCL_STATUS_OK;
    while (left && !st) {
        size_t progress = 0;
        for (size_t k = 0; k < n && !st; k++) {
            if (done[k])
                continue;
            const Onnx__NodeProto *nd = gp->node[k];
            int ready = nd->op_type != NULL;
            for (size_t j = 0; ready && j < nd->n_input; j++)
                ready = !nd->input[j] || !*nd->input[j] || find(o, nd->input[j]);
            if (!ready)
                continue;
            for (size_t j = 0; j < nd->n_output; j++)
                if (!nd->output[j]) {
                    o->node = nd;
                    st = oerr(o, MCL_STATUS_INVALID_ARGUMENT, "output %zu has no name", j);
                }
            if (!nd->n_output) {
                o->node = nd;
                st = oerr(o, MCL_STATUS_INVALID_ARGUMENT, "node without outputs");
            }
            if (st)
                break;
            o->node = nd;
            st = convert(o);
            o->node = NULL;
            done[k] = 1;
            left--;
            progress++;
        }
        if (!st && left && !progress) {
            /* nothing could run: a name nobody makes, or nodes waiting on each other */
            for (size_t k = 0; k < n && !st; k++) {
                if (done[k])
                    continue;
                const Onnx__NodeProto *nd = gp->node[k];
                o->node = nd;
                if (!nd->op_type)
                    st = oerr(o, MCL_STATUS_INVALID_ARGUMENT, "node without an op type");
                for (size_t j = 0; j < nd->n_input && !st; j++)
                    if (nd->input[j] && *nd->input[j] && !find(o, nd->input[j]) &&
                        !produced_by_a_node(gp, nd->input[j]))
                        st = oerr(o, MCL_STATUS_INVALID_ARGUMENT,
                                  "input '%s' is not a graph input, an initializer or any node's output", nd->input[j]);
            }
            o->node = NULL;
            if (!st)
                st = oerr(o, MCL_STATUS_INVALID_ARGUMENT, "the graph has a cycle (%zu nodes wait on each other)", left);
        }
    }
    free(done);
    return st;
}

static mcl_status load(ox *o, const Onnx__ModelProto *m, const mcl_onnx_options *opt)
{
    o->opset = 0;
    for (size_t k = 0; k < m->n_opset_import; k++) {
        const Onnx__OperatorSetIdProto *os = m->opset_import[k];
        if (!os->domain || !*os->domain || !strcmp(os->domain, "ai.onnx"))
            o->opset = (int)os->version;
    }
    if (!m->n_opset_import)
        o->opset = 1;
    if (o->opset < 1 || o->opset > 17)
        return oerr(o, MCL_STATUS_UNSUPPORTED, "opset %d of the default domain (supported: 9 to 17, and older "
                    "models whose ops mean the same as at opset 9)", o->opset);
    if (!m->graph)
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "the model has no graph");
    const Onnx__GraphProto *gp = m->graph;
    mcl_status st;
    if ((st = graph_inputs(o, gp, opt)) || (st = nodes(o, gp)))
        return st;
    if (!gp->n_output)
        return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "the graph has no outputs");
    for (size_t k = 0; k < gp->n_output; k++) {
        const char *name = gp->output[k]->name;
        entry *e = find(o, name);
        if (!e)
            return oerr(o, MCL_STATUS_INVALID_ARGUMENT, "graph output '%s' is not produced by any node", name ? name : "");
        if (e->kind != E_VALUE)
            return oerr(o, MCL_STATUS_UNSUPPORTED, "graph output '%s' is a constant or a 5-D view", name);
        if ((st = mcl_graph_output(o->g, e->v)))
            return oerr(o, st, "graph output '%s': %s", name, mcl_last_error());
    }
    return mcl_graph_validate(o->g) ? oerr(o, MCL_STATUS_INVALID_ARGUMENT, "%s", mcl_last_error()) : MCL_STATUS_OK;
}

static mcl_status load_buf(ox *o, const void *data, size_t size, const mcl_onnx_options *opt, mcl_graph **g)
{
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
    if (!m)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "ONNX %s: not a valid ModelProto (truncated or corrupt, %zu "
                        "bytes)", o->src, size);
    mcl_status st = mcl_graph_create(&o->g);
    if (!st)
        st = load(o, m, opt);
    onnx__model_proto__free_unpacked(m, NULL);
    free_entries(o);
    if (st) {
        mcl_graph_destroy(o->g);
        return st;
    }
    *g = o->g;
    return MCL_STATUS_OK;
}

static mcl_status read_file(const char *path, unsigned char **buf, size_t *size)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mcl_fail(NULL, MCL_STATUS_IO_ERROR, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return mcl_fail(NULL, MCL_STATUS_IO_ERROR, "%s is not a regular file", path);
    }
    if ((uint64_t)st.st_size > MAX_BYTES || st.st_size == 0) {
        fclose(f);
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "%s has %lld bytes (1 to %llu accepted)", path,
                        (long long)st.st_size, (unsigned long long)MAX_BYTES);
    }
    *size = (size_t)st.st_size;
    *buf = malloc(*size);
    int ok = *buf && fread(*buf, 1, *size, f) == *size;
    fclose(f);
    if (!ok) {
        free(*buf);
        *buf = NULL;
        return mcl_fail(NULL, MCL_STATUS_IO_ERROR, "reading %s failed", path);
    }
    return MCL_STATUS_OK;
}

mcl_status mcl_onnx_load_memory(const void *data, size_t size, const char *base_dir, const mcl_onnx_options *opt,
                                mcl_graph **g)
{
    if (!g)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "mcl_onnx_load_memory: g is NULL");
    *g = NULL;
    if (!data || !size)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "mcl_onnx_load_memory: no data (%zu bytes)", size);
    if (size > MAX_BYTES)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "ONNX model of %zu bytes (limit %llu)", size,
                        (unsigned long long)MAX_BYTES);
    ox o = {.src = "(memory)", .base_dir = base_dir};
    return load_buf(&o, data, size, opt, g);
}

mcl_status mcl_onnx_load(const char *path, const mcl_onnx_options *opt, mcl_graph **g)
{
    if (!g)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "mcl_onnx_load: g is NULL");
    *g = NULL;
    if (!path || !*path)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "mcl_onnx_load: no path");
    unsigned char *buf = NULL;
    size_t size = 0;
    mcl_status st = read_file(path, &buf, &size);
    if (st)
        return st;
    /* external data lives next to the model */
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (slash != path) ? (int)(slash - path) : 1, path);
    ox o = {.src = path, .base_dir = dir};
    st = load_buf(&o, buf, size, opt, g);
    free(buf);
    return st;
}

mcl_status mcl_onnx_read_tensor(const char *path, float **data, int64_t dims[MCL_ONNX_MAX_DIMS], size_t *ndim)
{
    if (!path || !data || !dims || !ndim)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "mcl_onnx_read_tensor: NULL argument");
    *data = NULL;
    *ndim = 0;
    unsigned char *buf = NULL;
    size_t size = 0;
    mcl_status st = read_file(path, &buf, &size);
    if (st)
        return st;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, size, buf);
    free(buf);
    if (!t)
        return mcl_fail(NULL, MCL_STATUS_INVALID_ARGUMENT, "ONNX tensor %s: not a valid TensorProto (truncated or "
                        "corrupt)", path);
    ox o = {.src = path};
    st = tensor_in(&o, t, "tensor");
    if (!st && o.e[0].type != T_FLOAT)
        st = mcl_fail(NULL, MCL_STATUS_UNSUPPORTED, "ONNX tensor %s: data type %d (only float)", path, t->data_type);
    if (!st) {
        *data = o.e[0].f;
        o.e[0].f = NULL;
        memcpy(dims, o.e[0].dims, o.e[0].nd * sizeof *dims);
        *ndim = o.e[0].nd;
    }
    onnx__tensor_proto__free_unpacked(t, NULL);
    free_entries(&o);
    return st;
}

#endif /* MOBICL_WITH_ONNX */
