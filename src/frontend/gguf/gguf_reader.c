/* GGUF reader (gguf.md §1-3): parse and validate a mapped GGUF file.
 * Every read goes through a bounds-checked cursor; every count is compared
 * with the bytes left in the file before anything is allocated for it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/util.h"
#include "gguf.h"

#define GGUF_MAGIC 0x46554747u
#define GGUF_MAX_STRING ((uint64_t)1 << 30)
#define GGUF_MAX_ARRAY ((uint64_t)1 << 30)
#define GGUF_MAX_NAME 64
#define GGUF_DEFAULT_ALIGNMENT 32

/* ggml type table (gguf.md §3): name, weights per block, bytes per block.
 * Removed ids (4, 5, 31-33, 36-38) have no entry. */
typedef struct ggml_type_info { const char *name; int block, bytes; } ggml_type_info;
static const ggml_type_info type_info[] = {
    [0] = {"F32", 1, 4},        [1] = {"F16", 1, 2},         [2] = {"Q4_0", 32, 18},
    [3] = {"Q4_1", 32, 20},     [6] = {"Q5_0", 32, 22},      [7] = {"Q5_1", 32, 24},
    [8] = {"Q8_0", 32, 34},     [9] = {"Q8_1", 32, 36},      [10] = {"Q2_K", 256, 84},
    [11] = {"Q3_K", 256, 110},  [12] = {"Q4_K", 256, 144},   [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210},  [15] = {"Q8_K", 256, 292},   [16] = {"IQ2_XXS", 256, 66},
    [17] = {"IQ2_XS", 256, 74}, [18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50},
    [20] = {"IQ4_NL", 32, 18},  [21] = {"IQ3_S", 256, 110},  [22] = {"IQ2_S", 256, 82},
    [23] = {"IQ4_XS", 256, 136}, [24] = {"I8", 1, 1},        [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},       [27] = {"I64", 1, 8},        [28] = {"F64", 1, 8},
    [29] = {"IQ1_M", 256, 56},  [30] = {"BF16", 1, 2},       [34] = {"TQ1_0", 256, 54},
    [35] = {"TQ2_0", 256, 66},  [39] = {"MXFP4", 32, 17},    [40] = {"NVFP4", 64, 36},
    [41] = {"Q1_0", 128, 18},   [42] = {"Q2_0", 64, 18},
};

const char *gguf_type_name(uint32_t type) {
    return type < ME_ARRAY_LEN(type_info) && type_info[type].name ? type_info[type].name : NULL;
}

bool gguf_type_size(uint32_t type, int *block_size, int *block_bytes) {
    if (!gguf_type_name(type)) return false;
    if (block_size) *block_size = type_info[type].block;
    if (block_bytes) *block_bytes = type_info[type].bytes;
    return true;
}

static const int scalar_size[GGUF_T_COUNT] = {
    [GGUF_T_UINT8] = 1, [GGUF_T_INT8] = 1, [GGUF_T_UINT16] = 2, [GGUF_T_INT16] = 2,
    [GGUF_T_UINT32] = 4, [GGUF_T_INT32] = 4, [GGUF_T_FLOAT32] = 4, [GGUF_T_BOOL] = 1,
    [GGUF_T_UINT64] = 8, [GGUF_T_INT64] = 8, [GGUF_T_FLOAT64] = 8,
};

const char *gguf_vtype_name(uint32_t t) {
    static const char *const names[GGUF_T_COUNT] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                                    "bool", "string", "array", "u64", "i64", "f64"};
    return t < GGUF_T_COUNT ? names[t] : "unknown";
}

typedef struct cursor {
    const uint8_t *p;
    uint64_t size, pos;
    const char *path;
    me_diag *d;
} cursor;

static me_status bad(cursor *c, const char *what, ...) __attribute__((format(printf, 2, 3)));
static me_status bad(cursor *c, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return me_fail(c->d, ME_ERR_FORMAT, "GGUF '%s': %s (at byte %llu of %llu)", c->path, msg,
                   (unsigned long long)c->pos, (unsigned long long)c->size);
}

static uint64_t left(const cursor *c) { return c->size - c->pos; }

static me_status take(cursor *c, uint64_t n, const uint8_t **out, const char *what) {
    if (n > left(c)) return bad(c, "truncated: %s needs %llu bytes, %llu left", what, (unsigned long long)n,
                                (unsigned long long)left(c));
    *out = c->p + c->pos;
    c->pos += n;
    return ME_OK;
}

static uint64_t get_le(const uint8_t *b, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

static me_status read_u32(cursor *c, uint32_t *v, const char *what) {
    const uint8_t *b = NULL;
    me_status st = take(c, 4, &b, what);
    if (!st) *v = (uint32_t)get_le(b, 4);
    return st;
}

static me_status read_u64(cursor *c, uint64_t *v, const char *what) {
    const uint8_t *b = NULL;
    me_status st = take(c, 8, &b, what);
    if (!st) *v = get_le(b, 8);
    return st;
}

static me_status read_str(cursor *c, gguf_str *s, const char *what) {
    uint64_t n;
    me_status st = read_u64(c, &n, what);
    if (st) return st;
    if (n > GGUF_MAX_STRING) return bad(c, "%s length %llu exceeds 2^30", what, (unsigned long long)n);
    const uint8_t *b = NULL;
    if ((st = take(c, n, &b, what))) return st;
    s->p = (const char *)b;
    s->n = n;
    return ME_OK;
}

/* Widen one scalar element of type t at b into kv->v. */
static void load_scalar(gguf_vtype t, const uint8_t *b, gguf_kv *kv) {
    uint64_t raw = get_le(b, scalar_size[t]);
    switch (t) {
    case GGUF_T_INT8: kv->v.i = (int8_t)raw; break;
    case GGUF_T_INT16: kv->v.i = (int16_t)raw; break;
    case GGUF_T_INT32: kv->v.i = (int32_t)raw; break;
    case GGUF_T_INT64: kv->v.i = (int64_t)raw; break;
    case GGUF_T_FLOAT32: { uint32_t u = (uint32_t)raw; float f; memcpy(&f, &u, 4); kv->v.f = f; break; }
    case GGUF_T_FLOAT64: { double f; memcpy(&f, &raw, 8); kv->v.f = f; break; }
    case GGUF_T_BOOL: kv->v.b = raw != 0; break;
    default: kv->v.u = raw; break;
    }
}

static me_status read_value(cursor *c, me_arena *a, gguf_kv *kv) {
    me_status st;
    const uint8_t *b = NULL;
    if (kv->type == GGUF_T_STRING) return read_str(c, &kv->s, "string value");
    if (kv->type != GGUF_T_ARRAY) {
        if ((st = take(c, (uint64_t)scalar_size[kv->type], &b, "value"))) return st;
        load_scalar(kv->type, b, kv);
        return ME_OK;
    }
    uint32_t et;
    uint64_t n;
    if ((st = read_u32(c, &et, "array element type"))) return st;
    if (et == GGUF_T_ARRAY) return bad(c, "key '%.*s': nested arrays are not allowed", (int)kv->key.n, kv->key.p);
    if (et >= GGUF_T_COUNT) return bad(c, "key '%.*s': unknown array element type %u", (int)kv->key.n, kv->key.p, et);
    if ((st = read_u64(c, &n, "array length"))) return st;
    if (n > GGUF_MAX_ARRAY)
        return bad(c, "key '%.*s': array length %llu exceeds 2^30", (int)kv->key.n, kv->key.p, (unsigned long long)n);
    kv->arr_type = (gguf_vtype)et;
    kv->arr_n = n;
    if (et != GGUF_T_STRING) {
        /* n <= 2^30 and size <= 8, so the product cannot overflow */
        if ((st = take(c, n * (uint64_t)scalar_size[et], &b, "array data"))) return st;
        kv->arr_data = b;
        return ME_OK;
    }
    /* each string needs at least its 8-byte length: bound n before allocating */
    if (n > left(c) / 8)
        return bad(c, "key '%.*s': %llu strings cannot fit in the %llu bytes left", (int)kv->key.n, kv->key.p,
                   (unsigned long long)n, (unsigned long long)left(c));
    kv->arr_data = c->p + c->pos;
    if (n && !(kv->arr_strs = me_arena_calloc(a, (size_t)n, sizeof *kv->arr_strs)))
        return me_fail(c->d, ME_ERR_NOMEM, "GGUF '%s': out of memory for %llu strings", c->path,
                       (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++)
        if ((st = read_str(c, &kv->arr_strs[i], "array string"))) return st;
    return ME_OK;
}

static int cmp_str(const gguf_str *x, const gguf_str *y) {
    if (x->n != y->n) return x->n < y->n ? -1 : 1;
    return x->n ? memcmp(x->p, y->p, (size_t)x->n) : 0;
}
static int cmp_str_ptr(const void *a, const void *b) {
    return cmp_str(*(const gguf_str *const *)a, *(const gguf_str *const *)b);
}

/* Names are checked for duplicates by sorting pointers (n log n, whatever n is). */
static me_status check_unique(cursor *c, const gguf_str **v, uint64_t n, const char *what) {
    if (n < 2) return ME_OK;
    qsort(v, (size_t)n, sizeof *v, cmp_str_ptr);
    for (uint64_t i = 1; i < n; i++)
        if (!cmp_str(v[i - 1], v[i]))
            return me_fail(c->d, ME_ERR_FORMAT, "GGUF '%s': duplicate %s '%.*s'", c->path, what,
                           (int)ME_MIN(v[i]->n, 200), v[i]->p);
    return ME_OK;
}

static me_status read_kvs(cursor *c, me_arena *a, gguf_file *f) {
    /* smallest pair: 8-byte key length + 1 key byte + 4-byte type + 1 value byte */
    if (f->n_kv > left(c) / 14)
        return bad(c, "metadata count %llu cannot fit in the file", (unsigned long long)f->n_kv);
    if (f->n_kv && !(f->kvs = me_arena_calloc(a, (size_t)f->n_kv, sizeof *f->kvs)))
        return me_fail(c->d, ME_ERR_NOMEM, "GGUF '%s': out of memory for metadata", c->path);
    me_status st;
    for (uint64_t i = 0; i < f->n_kv; i++) {
        gguf_kv *kv = &f->kvs[i];
        uint32_t t;
        if ((st = read_str(c, &kv->key, "metadata key"))) return st;
        if (kv->key.n == 0) return bad(c, "metadata key %llu is empty", (unsigned long long)i);
        if ((st = read_u32(c, &t, "metadata value type"))) return st;
        if (t >= GGUF_T_COUNT)
            return bad(c, "key '%.*s' has unknown value type %u", (int)ME_MIN(kv->key.n, 200), kv->key.p, t);
        kv->type = (gguf_vtype)t;
        if ((st = read_value(c, a, kv))) return st;
    }
    const gguf_str **names = f->n_kv ? malloc((size_t)f->n_kv * sizeof *names) : NULL;
    if (f->n_kv && !names) return me_fail(c->d, ME_ERR_NOMEM, "GGUF '%s': out of memory", c->path);
    for (uint64_t i = 0; i < f->n_kv; i++) names[i] = &f->kvs[i].key;
    st = check_unique(c, names, f->n_kv, "metadata key");
    free(names);
    return st;
}

static me_status read_tensor_info(cursor *c, gguf_tensor *t) {
    me_status st;
    if ((st = read_str(c, &t->name, "tensor name"))) return st;
    if (t->name.n == 0) return bad(c, "tensor name is empty");
    if (t->name.n >= GGUF_MAX_NAME)
        return bad(c, "tensor name '%.*s' is %llu bytes, the limit is %d", (int)ME_MIN(t->name.n, 200), t->name.p,
                   (unsigned long long)t->name.n, GGUF_MAX_NAME - 1);
    int nl = (int)t->name.n;
    if ((st = read_u32(c, &t->n_dims, "tensor rank"))) return st;
    if (t->n_dims < 1 || t->n_dims > 4) return bad(c, "tensor '%.*s' has %u dimensions (1..4)", nl, t->name.p, t->n_dims);
    for (int i = 0; i < 4; i++) t->ne[i] = 1;
    for (uint32_t i = 0; i < t->n_dims; i++) {
        uint64_t v;
        if ((st = read_u64(c, &v, "tensor dimension"))) return st;
        if (v == 0 || v > (uint64_t)INT64_MAX)
            return bad(c, "tensor '%.*s' dimension %u is %llu", nl, t->name.p, i, (unsigned long long)v);
        t->ne[i] = (int64_t)v;
    }
    if ((st = read_u32(c, &t->type, "tensor type"))) return st;
    if ((st = read_u64(c, &t->offset, "tensor offset"))) return st;
    int bs, bb;
    if (!gguf_type_size(t->type, &bs, &bb)) return bad(c, "tensor '%.*s' has unknown type %u", nl, t->name.p, t->type);
    if (t->ne[0] % bs)
        return bad(c, "tensor '%.*s' (%s): row length %lld is not a multiple of the block size %d", nl, t->name.p,
                   gguf_type_name(t->type), (long long)t->ne[0], bs);
    int64_t n, n_el = 1;
    bool ok = me_mul_i64(t->ne[0] / bs, bb, &n);
    for (int i = 1; i < 4; i++) ok = ok && me_mul_i64(n, t->ne[i], &n);
    for (int i = 0; i < 4; i++) ok = ok && me_mul_i64(n_el, t->ne[i], &n_el);
    if (!ok || n > (int64_t)c->size)
        return bad(c, "tensor '%.*s' is larger than the file", nl, t->name.p);
    t->nbytes = (uint64_t)n;
    return ME_OK;
}

static me_status read_alignment(cursor *c, gguf_file *f) {
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *kv = gguf_find_kv(f, "general.alignment");
    if (!kv) return ME_OK;
    if (kv->type != GGUF_T_UINT32)
        return me_fail(c->d, ME_ERR_FORMAT, "GGUF '%s': general.alignment must be a u32, is %s", c->path,
                       gguf_vtype_name(kv->type));
    if (kv->v.u == 0 || (kv->v.u & (kv->v.u - 1)))
        return me_fail(c->d, ME_ERR_FORMAT, "GGUF '%s': general.alignment %llu is not a power of two", c->path,
                       (unsigned long long)kv->v.u);
    f->alignment = kv->v.u;
    return ME_OK;
}

static int cmp_tensor_offset(const void *a, const void *b) {
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Data section bounds, alignment and overlaps; sets each tensor's data pointer. */
static me_status place_tensors(cursor *c, gguf_file *f) {
    uint64_t start = c->pos;
    if (start > UINT64_MAX - f->alignment) return bad(c, "data section offset overflows");
    start = (start + f->alignment - 1) & ~(f->alignment - 1);
    f->data_offset = start;
    if (f->n_tensors == 0) return ME_OK;
    if (start > c->size) return bad(c, "the data section starts at byte %llu, past the end of the file",
                                    (unsigned long long)start);
    uint64_t data_size = c->size - start;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        if (t->offset % f->alignment)
            return me_fail(c->d, ME_ERR_FORMAT, "GGUF '%s': tensor '%.*s' offset %llu is not a multiple of the "
                           "alignment %llu", c->path, (int)t->name.n, t->name.p, (unsigned long long)t->offset,
                           (unsigned long long)f->alignment);
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return me_fail(c->d, ME_ERR_FORMAT, "GGUF '%s': tensor '%.*s' (%llu bytes at data offset %llu) lies "
                           "outside the %llu-byte data section", c->path, (int)t->name.n, t->name.p,
                           (unsigned long long)t->nbytes, (unsigned long long)t->offset,
                           (unsigned long long)data_size);
        t->data = c->p + start + t->offset;
    }
    const gguf_tensor **order = malloc((size_t)f->n_tensors * sizeof *order);
    if (!order) return me_fail(c->d, ME_ERR_NOMEM, "GGUF '%s': out of memory", c->path);
    for (uint64_t i = 0; i < f->n_tensors; i++) order[i] = &f->tensors[i];
    qsort(order, (size_t)f->n_tensors, sizeof *order, cmp_tensor_offset);
    me_status st = ME_OK;
    for (uint64_t i = 1; i < f->n_tensors && !st; i++) {
        const gguf_tensor *p = order[i - 1], *q = order[i];
        if (p->offset + p->nbytes > q->offset)
            st = me_fail(c->d, ME_ERR_FORMAT, "GGUF '%s': tensors '%.*s' and '%.*s' overlap", c->path,
                         (int)p->name.n, p->name.p, (int)q->name.n, q->name.p);
    }
    free(order);
    return st;
}

static me_status read_tensors(cursor *c, me_arena *a, gguf_file *f) {
    /* smallest info: 8 + 1 name + 4 rank + 8 dim + 4 type + 8 offset */
    if (f->n_tensors > left(c) / 33)
        return bad(c, "tensor count %llu cannot fit in the file", (unsigned long long)f->n_tensors);
    if (f->n_tensors && !(f->tensors = me_arena_calloc(a, (size_t)f->n_tensors, sizeof *f->tensors)))
        return me_fail(c->d, ME_ERR_NOMEM, "GGUF '%s': out of memory for tensor infos", c->path);
    me_status st;
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if ((st = read_tensor_info(c, &f->tensors[i]))) return st;
    const gguf_str **names = f->n_tensors ? malloc((size_t)f->n_tensors * sizeof *names) : NULL;
    if (f->n_tensors && !names) return me_fail(c->d, ME_ERR_NOMEM, "GGUF '%s': out of memory", c->path);
    for (uint64_t i = 0; i < f->n_tensors; i++) names[i] = &f->tensors[i].name;
    st = check_unique(c, names, f->n_tensors, "tensor name");
    free(names);
    return st;
}

static me_status parse(cursor *c, me_arena *a, gguf_file *f) {
    uint32_t magic;
    me_status st;
    if (c->size < 4 || (st = read_u32(c, &magic, "magic")) || magic != GGUF_MAGIC)
        return me_fail(c->d, ME_ERR_FORMAT, "'%s' is not a GGUF file (bad magic)", c->path);
    if ((st = read_u32(c, &f->version, "version"))) return st;
    if (f->version == 1) return bad(c, "GGUF version 1 is not supported (only 2 and 3)");
    if (f->version == 0x03000000u || f->version == 0x02000000u)
        return bad(c, "big-endian GGUF files are not supported");
    if (f->version < 2 || f->version > 3) return bad(c, "unsupported GGUF version %u (only 2 and 3)", f->version);
    if ((st = read_u64(c, &f->n_tensors, "tensor count")) || (st = read_u64(c, &f->n_kv, "metadata count")))
        return st;
    if ((st = read_kvs(c, a, f)) || (st = read_alignment(c, f)) || (st = read_tensors(c, a, f))) return st;
    return place_tensors(c, f);
}

me_status gguf_open(const char *path, me_arena *arena, gguf_file *out, me_diag *d) {
    memset(out, 0, sizeof *out);
    me_status st = me_map_file(path, &out->map, d);
    if (st) return st;
    if (!out->map.data) {
        gguf_close(out);
        return me_fail(d, ME_ERR_FORMAT, "GGUF '%s': the file is empty", path);
    }
    cursor c = {out->map.data, out->map.size, 0, path, d};
    if ((st = parse(&c, arena, out))) {
        gguf_close(out);
        return st;
    }
    return ME_OK;
}

void gguf_close(gguf_file *f) {
    if (!f) return;
    me_unmap_file(&f->map);
    memset(f, 0, sizeof *f);
}

bool gguf_str_eq(gguf_str s, const char *c) {
    size_t n = strlen(c);
    return s.n == n && (n == 0 || !memcmp(s.p, c, n));
}

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key) {
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (gguf_str_eq(f->kvs[i].key, key)) return &f->kvs[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name) {
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (gguf_str_eq(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

static bool is_signed_int(gguf_vtype t) {
    return t == GGUF_T_INT8 || t == GGUF_T_INT16 || t == GGUF_T_INT32 || t == GGUF_T_INT64;
}
static bool is_unsigned_int(gguf_vtype t) {
    return t == GGUF_T_UINT8 || t == GGUF_T_UINT16 || t == GGUF_T_UINT32 || t == GGUF_T_UINT64;
}

static bool scalar_u64(gguf_vtype t, const gguf_kv *kv, uint64_t *out) {
    if (is_unsigned_int(t)) { *out = kv->v.u; return true; }
    if (is_signed_int(t) && kv->v.i >= 0) { *out = (uint64_t)kv->v.i; return true; }
    return false;
}

static bool scalar_f64(gguf_vtype t, const gguf_kv *kv, double *out) {
    if (t == GGUF_T_FLOAT32 || t == GGUF_T_FLOAT64) *out = kv->v.f;
    else if (is_unsigned_int(t)) *out = (double)kv->v.u;
    else if (is_signed_int(t)) *out = (double)kv->v.i;
    else return false;
    return true;
}

bool gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    return kv && scalar_u64(kv->type, kv, out);
}

bool gguf_get_f64(const gguf_file *f, const char *key, double *out) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    return kv && scalar_f64(kv->type, kv, out);
}

bool gguf_get_str(const gguf_file *f, const char *key, gguf_str *out) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv || kv->type != GGUF_T_STRING) return false;
    *out = kv->s;
    return true;
}

bool gguf_get_bool(const gguf_file *f, const char *key, bool *out) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv || kv->type != GGUF_T_BOOL) return false;
    *out = kv->v.b;
    return true;
}

static bool arr_elem(const gguf_kv *kv, uint64_t i, gguf_kv *tmp) {
    if (!kv || kv->type != GGUF_T_ARRAY || i >= kv->arr_n || kv->arr_type == GGUF_T_STRING) return false;
    int sz = scalar_size[kv->arr_type];
    load_scalar(kv->arr_type, kv->arr_data + i * (uint64_t)sz, tmp);
    return true;
}

bool gguf_arr_u64(const gguf_kv *kv, uint64_t i, uint64_t *out) {
    gguf_kv tmp;
    return arr_elem(kv, i, &tmp) && scalar_u64(kv->arr_type, &tmp, out);
}

bool gguf_arr_i64(const gguf_kv *kv, uint64_t i, int64_t *out) {
    gguf_kv tmp;
    if (!arr_elem(kv, i, &tmp)) return false;
    if (is_signed_int(kv->arr_type)) *out = tmp.v.i;
    else if (is_unsigned_int(kv->arr_type) && tmp.v.u <= (uint64_t)INT64_MAX) *out = (int64_t)tmp.v.u;
    else return false;
    return true;
}

bool gguf_arr_f64(const gguf_kv *kv, uint64_t i, double *out) {
    gguf_kv tmp;
    return arr_elem(kv, i, &tmp) && scalar_f64(kv->arr_type, &tmp, out);
}

bool gguf_arr_str(const gguf_kv *kv, uint64_t i, gguf_str *out) {
    if (!kv || kv->type != GGUF_T_ARRAY || kv->arr_type != GGUF_T_STRING || i >= kv->arr_n) return false;
    *out = kv->arr_strs[i];
    return true;
}
