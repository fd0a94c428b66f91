/* ONNX ModelProto parser: decodes the protobuf messages the importer needs
 * into onnx_model (onnx_import.h). Strings and typed arrays go to the arena;
 * raw_data and external data stay in the mapped files.
 * Field numbers are those of onnx.proto (NodeProto.metadata_props = 9 comes
 * from onnx >= 1.16; older protos lack it). */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/util.h"
#include "onnx_import.h"
#include "pb.h"

#define MAX_GRAPH_DEPTH 16

typedef struct parse_ctx {
    me_diag *d;
    me_arena *a;
    const char *model_dir;
    const char *model_dir_real; /* realpath of model_dir, resolved on first use */
    onnx_extmaps *ext;
    const char **ext_paths;     /* realpath of each ext->maps[i] */
} parse_ctx;

/* ---- dtypes ---- */
me_dtype onnx_to_me_dtype(int t) {
    switch (t) {
    case ONNX_FLOAT: return ME_DT_F32;
    case ONNX_UINT8: return ME_DT_U8;
    case ONNX_INT8: return ME_DT_I8;
    case ONNX_UINT16: return ME_DT_U16;
    case ONNX_INT16: return ME_DT_I16;
    case ONNX_INT32: return ME_DT_I32;
    case ONNX_INT64: return ME_DT_I64;
    case ONNX_BOOL: return ME_DT_BOOL;
    case ONNX_FLOAT16: return ME_DT_F16;
    case ONNX_DOUBLE: return ME_DT_F64;
    case ONNX_UINT32: return ME_DT_U32;
    case ONNX_UINT64: return ME_DT_U64;
    case ONNX_BFLOAT16: return ME_DT_BF16;
    case ONNX_UINT4: return ME_DT_U4;
    case ONNX_INT4: return ME_DT_I4;
    default: return ME_DT_UNDEFINED;
    }
}

const char *onnx_dtype_name(int t) {
    static const char *const names[] = {
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING", "BOOL", "FLOAT16",
        "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ",
        "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4", "FLOAT4E2M1"};
    if (t >= 0 && t < (int)ME_ARRAY_LEN(names)) return names[t];
    return "unknown";
}

/* Bytes per element as stored in raw_data; 0 for variable/unknown; -1 for 4-bit. */
static int onnx_elem_bytes(int t) {
    switch (t) {
    case ONNX_FLOAT: case ONNX_INT32: case ONNX_UINT32: return 4;
    case ONNX_UINT8: case ONNX_INT8: case ONNX_BOOL:
    case ONNX_FLOAT8E4M3FN: case ONNX_FLOAT8E4M3FNUZ: case ONNX_FLOAT8E5M2: case ONNX_FLOAT8E5M2FNUZ: return 1;
    case ONNX_UINT16: case ONNX_INT16: case ONNX_FLOAT16: case ONNX_BFLOAT16: return 2;
    case ONNX_INT64: case ONNX_DOUBLE: case ONNX_UINT64: case ONNX_COMPLEX64: return 8;
    case ONNX_COMPLEX128: return 16;
    case ONNX_UINT4: case ONNX_INT4: case ONNX_FLOAT4E2M1: return -1;
    default: return 0;
    }
}

/* ---- small helpers ---- */
static me_status nomem(parse_ctx *pc) { return me_fail(pc->d, ME_ERR_NOMEM, "out of memory while parsing the model"); }

static me_status get_string(parse_ctx *pc, const pb_field *f, const char **out) {
    char *s = me_arena_strndup(pc->a, (const char *)f->data, f->len);
    if (!s) return nomem(pc);
    *out = s;
    return ME_OK;
}

static me_status wrong_wire(const pb_reader *r, const pb_field *f, const char *msg) {
    return me_fail(r->d, ME_ERR_FORMAT, "malformed ONNX at byte %zu: field %u of %s has wire type %d", f->offset,
                   f->num, msg, f->wire);
}

/* Counts the elements of a repeated scalar field occurrence (packed or not). */
static me_status count_repeated(const pb_reader *r, const pb_field *f, int elem_wire, size_t *n, const char *msg) {
    if (f->wire == PB_LEN) {
        size_t k;
        me_status st = pb_packed_count(r, f, elem_wire, &k);
        if (st != ME_OK) return st;
        if (!me_add_size(*n, k, n)) return me_fail(r->d, ME_ERR_FORMAT, "too many elements in %s", msg);
        return ME_OK;
    }
    if (f->wire != elem_wire) return wrong_wire(r, f, msg);
    (*n)++;
    return ME_OK;
}

/* Appends the values of a repeated scalar field occurrence as raw 64-bit values. */
static void read_repeated(const pb_field *f, int elem_wire, uint64_t *dst, size_t *i) {
    if (f->wire != PB_LEN) { dst[(*i)++] = f->v; return; }
    const uint8_t *p = f->data, *end = f->data + f->len;
    while (p < end) {
        uint64_t v = 0;
        if (elem_wire == PB_VARINT) {
            size_t k = pb_read_varint(p, end, &v);
            p += k; /* validated by count_repeated */
        } else if (elem_wire == PB_I32) {
            v = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
            p += 4;
        } else {
            for (int b = 7; b >= 0; b--) v = (v << 8) | p[b];
            p += 8;
        }
        dst[(*i)++] = v;
    }
}

static float bits_to_f32(uint64_t v) {
    uint32_t u = (uint32_t)v;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- TensorProto ---- */
typedef struct ext_info {
    const char *location;
    int64_t offset, length;
    bool has_length;
} ext_info;

static me_status parse_string_entry(parse_ctx *pc, const pb_reader *r, const pb_field *f, const char **key,
                                    const char **val) {
    pb_reader sr;
    pb_sub(r, f, &sr);
    *key = "";
    *val = "";
    while (!pb_done(&sr)) {
        pb_field g;
        me_status st = pb_next(&sr, &g);
        if (st != ME_OK) return st;
        if ((g.num == 1 || g.num == 2) && g.wire == PB_LEN) {
            st = get_string(pc, &g, g.num == 1 ? key : val);
            if (st != ME_OK) return st;
        }
    }
    return ME_OK;
}

static bool parse_i64_text(const char *s, int64_t *out) {
    if (!*s) return false;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        if (!me_mul_i64(v, 10, &v) || !me_add_i64(v, *s - '0', &v)) return false;
    }
    *out = v;
    return true;
}

static me_status resolve_external(parse_ctx *pc, onnx_tensor *t, const ext_info *ei, size_t want) {
    const char *nm = t->name;
    if (!ei->location || !ei->location[0])
        return me_fail(pc->d, ME_ERR_FORMAT, "tensor '%s': external data without a location", nm);
    const char *loc = ei->location;
    if (loc[0] == '/' || loc[0] == '\\')
        return me_fail(pc->d, ME_ERR_FORMAT, "tensor '%s': external data location '%s' is an absolute path (refused)", nm, loc);
    /* reject any ".." component */
    for (const char *p = loc; *p;) {
        const char *q = p;
        while (*q && *q != '/' && *q != '\\') q++;
        if (q - p == 2 && p[0] == '.' && p[1] == '.')
            return me_fail(pc->d, ME_ERR_FORMAT,
                           "tensor '%s': external data location '%s' escapes the model's folder (refused)", nm, loc);
        p = *q ? q + 1 : q;
    }
    if (!pc->model_dir)
        return me_fail(pc->d, ME_ERR_UNSUPPORTED, "tensor '%s': external data needs the model's folder", nm);
    if (!pc->model_dir_real) {
        char *rd = realpath(pc->model_dir, NULL);
        if (!rd) return me_fail(pc->d, ME_ERR_IO, "cannot resolve the model's folder '%s'", pc->model_dir);
        pc->model_dir_real = me_arena_strdup(pc->a, rd);
        free(rd);
        if (!pc->model_dir_real) return nomem(pc);
    }
    char *joined = me_arena_printf(pc->a, "%s/%s", pc->model_dir, loc);
    if (!joined) return nomem(pc);
    char *real = realpath(joined, NULL);
    if (!real) return me_fail(pc->d, ME_ERR_IO, "tensor '%s': cannot open external data file '%s'", nm, joined);
    size_t dl = strlen(pc->model_dir_real);
    bool inside = strncmp(real, pc->model_dir_real, dl) == 0 &&
                  (real[dl] == '/' || (dl == 1 && pc->model_dir_real[0] == '/'));
    if (!inside) {
        free(real);
        return me_fail(pc->d, ME_ERR_FORMAT,
                       "tensor '%s': external data location '%s' resolves outside the model's folder (refused)", nm, loc);
    }
    int mi = -1;
    for (int i = 0; i < pc->ext->n; i++)
        if (strcmp(pc->ext_paths[i], real) == 0) { mi = i; break; }
    if (mi < 0) {
        if (pc->ext->n >= pc->ext->cap) {
            int nc = pc->ext->cap ? pc->ext->cap * 2 : 4;
            me_mapfile *nm2 = realloc(pc->ext->maps, (size_t)nc * sizeof *nm2);
            const char **np = me_arena_grow(pc->a, (void *)pc->ext_paths, (size_t)pc->ext->n, (size_t)nc, sizeof *np);
            if (!nm2 || !np) { free(real); if (nm2) pc->ext->maps = nm2; return nomem(pc); }
            pc->ext->maps = nm2;
            pc->ext_paths = np;
            pc->ext->cap = nc;
        }
        me_status st = me_map_file(real, &pc->ext->maps[pc->ext->n], pc->d);
        if (st != ME_OK) { free(real); return st; }
        pc->ext_paths[pc->ext->n] = me_arena_strdup(pc->a, real);
        if (!pc->ext_paths[pc->ext->n]) { me_unmap_file(&pc->ext->maps[pc->ext->n]); free(real); return nomem(pc); }
        mi = pc->ext->n++;
    }
    free(real);
    const me_mapfile *m = &pc->ext->maps[mi];
    int64_t off = ei->offset;
    int64_t len = ei->has_length ? ei->length : (int64_t)want;
    if (off < 0 || len < 0 || (uint64_t)off > m->size || (uint64_t)len > m->size - (uint64_t)off)
        return me_fail(pc->d, ME_ERR_FORMAT,
                       "tensor '%s': external data range (offset %lld, length %lld) exceeds file '%s' (%zu bytes)", nm,
                       (long long)off, (long long)len, loc, m->size);
    if ((uint64_t)len != want)
        return me_fail(pc->d, ME_ERR_FORMAT, "tensor '%s': external data has %lld bytes, its shape needs %zu", nm,
                       (long long)len, want);
    t->data = want ? m->data + off : NULL;
    t->nbytes = want;
    return ME_OK;
}

static me_status parse_tensor(parse_ctx *pc, const pb_reader *parent, const pb_field *tf, onnx_tensor *t) {
    pb_reader r;
    pb_sub(parent, tf, &r);
    memset(t, 0, sizeof *t);
    t->name = "";
    size_t n_dims = 0, n_float = 0, n_i32 = 0, n_i64 = 0, n_dbl = 0, n_u64 = 0, n_str = 0;
    const pb_field *raw = NULL;
    pb_field raw_f;
    bool external = false, has_segment = false;
    ext_info ei = {0};
    me_status st;
    /* pass 1: scalars, counts */
    while (!pb_done(&r)) {
        pb_field f;
        if ((st = pb_next(&r, &f)) != ME_OK) return st;
        switch (f.num) {
        case 1: st = count_repeated(&r, &f, PB_VARINT, &n_dims, "TensorProto.dims"); break;
        case 2: if (f.wire == PB_VARINT) t->data_type = (int)(int32_t)f.v; break;
        case 3: has_segment = true; break;
        case 4: st = count_repeated(&r, &f, PB_I32, &n_float, "TensorProto.float_data"); break;
        case 5: st = count_repeated(&r, &f, PB_VARINT, &n_i32, "TensorProto.int32_data"); break;
        case 6: if (f.wire == PB_LEN) n_str++; break;
        case 7: st = count_repeated(&r, &f, PB_VARINT, &n_i64, "TensorProto.int64_data"); break;
        case 8: if (f.wire == PB_LEN) st = get_string(pc, &f, &t->name); break;
        case 9: if (f.wire == PB_LEN) { raw_f = f; raw = &raw_f; } break;
        case 10: st = count_repeated(&r, &f, PB_I64, &n_dbl, "TensorProto.double_data"); break;
        case 11: st = count_repeated(&r, &f, PB_VARINT, &n_u64, "TensorProto.uint64_data"); break;
        case 13:
            if (f.wire == PB_LEN) {
                const char *k, *v;
                if ((st = parse_string_entry(pc, &r, &f, &k, &v)) != ME_OK) return st;
                if (strcmp(k, "location") == 0) ei.location = v;
                else if (strcmp(k, "offset") == 0) {
                    if (!parse_i64_text(v, &ei.offset))
                        return me_fail(pc->d, ME_ERR_FORMAT, "tensor '%s': bad external data offset '%s'", t->name, v);
                } else if (strcmp(k, "length") == 0) {
                    if (!parse_i64_text(v, &ei.length))
                        return me_fail(pc->d, ME_ERR_FORMAT, "tensor '%s': bad external data length '%s'", t->name, v);
                    ei.has_length = true;
                }
            }
            break;
        case 14: if (f.wire == PB_VARINT) external = f.v == 1; break;
        default: break;
        }
        if (st != ME_OK) return st;
    }
    if (n_dims > ME_MAX_RANK)
        return me_fail(pc->d, ME_ERR_UNSUPPORTED, "tensor '%s': rank %zu exceeds the maximum of %d", t->name, n_dims,
                       ME_MAX_RANK);
    if (has_segment) return me_fail(pc->d, ME_ERR_UNSUPPORTED, "tensor '%s': segmented tensors are not supported", t->name);
    /* pass 2: dims and typed data */
    size_t total = n_float + n_i32 + n_i64 + n_dbl + n_u64;
    uint64_t *vals = NULL;
    if (total) {
        vals = me_arena_calloc(pc->a, total, sizeof(uint64_t));
        if (!vals) return nomem(pc);
    }
    uint64_t dimv[ME_MAX_RANK];
    size_t di = 0, vi = 0;
    unsigned typed_mask = 0;
    pb_sub(parent, tf, &r);
    while (!pb_done(&r)) {
        pb_field f;
        if ((st = pb_next(&r, &f)) != ME_OK) return st;
        switch (f.num) {
        case 1: read_repeated(&f, PB_VARINT, dimv, &di); break;
        case 4: read_repeated(&f, PB_I32, vals, &vi); typed_mask |= 1u << 4; break;
        case 5: read_repeated(&f, PB_VARINT, vals, &vi); typed_mask |= 1u << 5; break;
        case 7: read_repeated(&f, PB_VARINT, vals, &vi); typed_mask |= 1u << 7; break;
        case 10: read_repeated(&f, PB_I64, vals, &vi); typed_mask |= 1u << 10; break;
        case 11: read_repeated(&f, PB_VARINT, vals, &vi); typed_mask |= 1u << 11; break;
        default: break;
        }
    }
    t->rank = (int)n_dims;
    int64_t numel = 1;
    for (int i = 0; i < t->rank; i++) {
        int64_t dv = (int64_t)dimv[i];
        if (dv < 0) return me_fail(pc->d, ME_ERR_FORMAT, "tensor '%s': dimension %d is negative (%lld)", t->name, i, (long long)dv);
        t->dims[i] = dv;
        if (!me_mul_i64(numel, dv, &numel) || numel > ME_MAX_TENSOR_BYTES)
            return me_fail(pc->d, ME_ERR_FORMAT, "tensor '%s': too many elements", t->name);
    }
    int eb = onnx_elem_bytes(t->data_type);
    size_t want = 0;
    if (eb > 0) {
        if (!me_mul_size((size_t)numel, (size_t)eb, &want) || want > (size_t)ME_MAX_TENSOR_BYTES)
            return me_fail(pc->d, ME_ERR_FORMAT, "tensor '%s': too large", t->name);
    } else if (eb < 0) {
        want = (size_t)(numel + 1) / 2;
    } else if (t->data_type != ONNX_STRING) {
        return me_fail(pc->d, ME_ERR_UNSUPPORTED, "tensor '%s': data type %d is not supported", t->name, t->data_type);
    }
    if (t->data_type == ONNX_STRING) {
        (void)n_str; /* string tensors carry no usable data; the importer refuses them when used */
        return ME_OK;
    }
    if (external) return resolve_external(pc, t, &ei, want);
    if (raw) {
        if (raw->len != want)
            return me_fail(pc->d, ME_ERR_FORMAT, "tensor '%s': raw_data has %zu bytes, its shape and type need %zu",
                           t->name, raw->len, want);
        t->data = want ? raw->data : NULL;
        t->nbytes = want;
        return ME_OK;
    }
    if (total == 0) {
        t->data = NULL; /* no data: an error if used with numel > 0 */
        t->nbytes = 0;
        return ME_OK;
    }
    if ((int64_t)vi != numel)
        return me_fail(pc->d, ME_ERR_FORMAT, "tensor '%s': has %zu values, its shape needs %lld", t->name, vi,
                       (long long)numel);
    /* the right typed field for the data type (onnx.proto's storage rules) */
    int need_field;
    switch (t->data_type) {
    case ONNX_FLOAT: need_field = 4; break;
    case ONNX_INT64: need_field = 7; break;
    case ONNX_DOUBLE: need_field = 10; break;
    case ONNX_UINT32: case ONNX_UINT64: need_field = 11; break;
    case ONNX_INT4: case ONNX_UINT4: case ONNX_FLOAT4E2M1:
        return me_fail(pc->d, ME_ERR_UNSUPPORTED, "tensor '%s': 4-bit data in int32_data is not supported", t->name);
    default: need_field = 5; break; /* int32, int16, int8, uint16, uint8, bool, float16, bfloat16, float8 */
    }
    if (typed_mask != 1u << need_field)
        return me_fail(pc->d, ME_ERR_FORMAT, "tensor '%s': its values are not in the field its type %s uses", t->name,
                       onnx_dtype_name(t->data_type));
    uint8_t *buf = me_arena_alloc(pc->a, want ? want : 1);
    if (!buf) return nomem(pc);
    for (int64_t i = 0; i < numel; i++) {
        uint64_t v = vals[i];
        switch (eb) {
        case 1: buf[i] = (uint8_t)v; break;
        case 2: { uint16_t x = (uint16_t)v; memcpy(buf + i * 2, &x, 2); break; }
        case 4: {
            uint32_t x = (uint32_t)v;
            if (t->data_type == ONNX_FLOAT) { float fv = bits_to_f32(v); memcpy(&x, &fv, 4); }
            memcpy(buf + i * 4, &x, 4);
            break;
        }
        case 8: memcpy(buf + i * 8, &v, 8); break;
        default: return me_fail(pc->d, ME_ERR_UNSUPPORTED, "tensor '%s': unsupported element size", t->name);
        }
    }
    t->data = buf;
    t->nbytes = want;
    return ME_OK;
}

/* ---- ValueInfoProto ---- */
static me_status parse_shape(parse_ctx *pc, const pb_reader *parent, const pb_field *sf, onnx_value_info *vi) {
    pb_reader r;
    pb_sub(parent, sf, &r);
    vi->rank = 0;
    me_status st;
    while (!pb_done(&r)) {
        pb_field f;
        if ((st = pb_next(&r, &f)) != ME_OK) return st;
        if (f.num != 1 || f.wire != PB_LEN) continue;
        if (vi->rank >= ME_MAX_RANK)
            return me_fail(pc->d, ME_ERR_UNSUPPORTED, "value '%s': rank exceeds the maximum of %d", vi->name, ME_MAX_RANK);
        int k = vi->rank++;
        vi->dims[k] = -1;
        vi->dim_params[k] = NULL;
        pb_reader dr;
        pb_sub(&r, &f, &dr);
        while (!pb_done(&dr)) {
            pb_field g;
            if ((st = pb_next(&dr, &g)) != ME_OK) return st;
            if (g.num == 1 && g.wire == PB_VARINT) {
                int64_t dv = (int64_t)g.v;
                if (dv < 0)
                    return me_fail(pc->d, ME_ERR_FORMAT, "value '%s': dimension %d is negative (%lld)", vi->name, k,
                                   (long long)dv);
                vi->dims[k] = dv;
                vi->dim_params[k] = NULL;
            } else if (g.num == 2 && g.wire == PB_LEN) {
                if ((st = get_string(pc, &g, &vi->dim_params[k])) != ME_OK) return st;
                vi->dims[k] = -1;
            }
        }
    }
    return ME_OK;
}

static me_status parse_value_info(parse_ctx *pc, const pb_reader *parent, const pb_field *vf, onnx_value_info *vi) {
    pb_reader r;
    pb_sub(parent, vf, &r);
    memset(vi, 0, sizeof *vi);
    vi->name = "";
    vi->rank = -1;
    me_status st;
    pb_field type_f = {0};
    bool has_type = false;
    while (!pb_done(&r)) {
        pb_field f;
        if ((st = pb_next(&r, &f)) != ME_OK) return st;
        if (f.num == 1 && f.wire == PB_LEN) { if ((st = get_string(pc, &f, &vi->name)) != ME_OK) return st; }
        else if (f.num == 2 && f.wire == PB_LEN) { type_f = f; has_type = true; }
    }
    if (!has_type) return ME_OK;
    pb_reader tr;
    pb_sub(&r, &type_f, &tr);
    while (!pb_done(&tr)) {
        pb_field f;
        if ((st = pb_next(&tr, &f)) != ME_OK) return st;
        if (f.num != 1 || f.wire != PB_LEN) continue; /* only tensor_type */
        pb_reader ttr;
        pb_sub(&tr, &f, &ttr);
        while (!pb_done(&ttr)) {
            pb_field g;
            if ((st = pb_next(&ttr, &g)) != ME_OK) return st;
            if (g.num == 1 && g.wire == PB_VARINT) vi->elem_type = (int)(int32_t)g.v;
            else if (g.num == 2 && g.wire == PB_LEN) {
                if ((st = parse_shape(pc, &ttr, &g, vi)) != ME_OK) return st;
            }
        }
    }
    return ME_OK;
}

/* ---- AttributeProto / NodeProto / GraphProto ---- */
static me_status parse_graph(parse_ctx *pc, const pb_reader *parent, const pb_field *gf, onnx_graph *g, int depth);

static me_status parse_attr(parse_ctx *pc, const pb_reader *parent, const pb_field *af, onnx_attr *a, int depth) {
    pb_reader r;
    pb_sub(parent, af, &r);
    memset(a, 0, sizeof *a);
    a->name = "";
    size_t n_floats = 0, n_ints = 0, n_strings = 0;
    int type = -1, seen = 0; /* seen: the first value field present (for files without `type`) */
    me_status st;
    while (!pb_done(&r)) {
        pb_field f;
        if ((st = pb_next(&r, &f)) != ME_OK) return st;
        st = ME_OK;
        switch (f.num) {
        case 1: if (f.wire == PB_LEN) st = get_string(pc, &f, &a->name); break;
        case 20: if (f.wire == PB_VARINT) type = (int)f.v; break;
        case 2: if (f.wire == PB_I32) { a->f = bits_to_f32(f.v); if (!seen) seen = ONNX_ATTR_FLOAT; } break;
        case 3: if (f.wire == PB_VARINT) { a->i = (int64_t)f.v; if (!seen) seen = ONNX_ATTR_INT; } break;
        case 4:
            if (f.wire == PB_LEN) {
                a->s_len = f.len;
                st = get_string(pc, &f, &a->s);
                if (!seen) seen = ONNX_ATTR_STRING;
            }
            break;
        case 5:
            if (f.wire == PB_LEN) {
                a->t = me_arena_alloc(pc->a, sizeof *a->t);
                if (!a->t) return nomem(pc);
                st = parse_tensor(pc, &r, &f, a->t);
                if (!seen) seen = ONNX_ATTR_TENSOR;
            }
            break;
        case 6:
            if (f.wire == PB_LEN) {
                a->g = me_arena_alloc(pc->a, sizeof *a->g);
                if (!a->g) return nomem(pc);
                st = parse_graph(pc, &r, &f, a->g, depth + 1);
                if (!seen) seen = ONNX_ATTR_GRAPH;
            }
            break;
        case 7: st = count_repeated(&r, &f, PB_I32, &n_floats, "AttributeProto.floats"); if (!seen) seen = ONNX_ATTR_FLOATS; break;
        case 8: st = count_repeated(&r, &f, PB_VARINT, &n_ints, "AttributeProto.ints"); if (!seen) seen = ONNX_ATTR_INTS; break;
        case 9: if (f.wire == PB_LEN) { n_strings++; if (!seen) seen = ONNX_ATTR_STRINGS; } break;
        default: break;
        }
        if (st != ME_OK) return st;
    }
    if (n_floats > INT_MAX || n_ints > INT_MAX || n_strings > INT_MAX)
        return me_fail(pc->d, ME_ERR_FORMAT, "attribute '%s': too many values", a->name);
    a->type = (onnx_attr_type)(type >= 0 ? type : seen);
    if (a->type == ONNX_ATTR_FLOATS) a->n = (int)n_floats;
    else if (a->type == ONNX_ATTR_INTS) a->n = (int)n_ints;
    else if (a->type == ONNX_ATTR_STRINGS) a->n = (int)n_strings;
    if (a->type == ONNX_ATTR_TENSOR && !a->t) return me_fail(pc->d, ME_ERR_FORMAT, "attribute '%s': no tensor value", a->name);
    if (a->type == ONNX_ATTR_GRAPH && !a->g) return me_fail(pc->d, ME_ERR_FORMAT, "attribute '%s': no graph value", a->name);
    if (a->type == ONNX_ATTR_STRING && !a->s) a->s = "";
    if (!n_floats && !n_ints && !n_strings) return ME_OK;
    uint64_t *fv = n_floats ? me_arena_calloc(pc->a, n_floats, 8) : NULL;
    uint64_t *iv = n_ints ? me_arena_calloc(pc->a, n_ints, 8) : NULL;
    a->floats = me_arena_calloc(pc->a, n_floats ? n_floats : 1, sizeof(float));
    a->ints = me_arena_calloc(pc->a, n_ints ? n_ints : 1, sizeof(int64_t));
    a->strings = me_arena_calloc(pc->a, n_strings ? n_strings : 1, sizeof(char *));
    if ((n_floats && !fv) || (n_ints && !iv) || !a->floats || !a->ints || !a->strings) return nomem(pc);
    size_t fi = 0, ii = 0, si = 0;
    pb_sub(parent, af, &r);
    while (!pb_done(&r)) {
        pb_field f;
        if ((st = pb_next(&r, &f)) != ME_OK) return st;
        if (f.num == 7) read_repeated(&f, PB_I32, fv, &fi);
        else if (f.num == 8) read_repeated(&f, PB_VARINT, iv, &ii);
        else if (f.num == 9 && f.wire == PB_LEN) {
            if ((st = get_string(pc, &f, &a->strings[si++])) != ME_OK) return st;
        }
    }
    for (size_t i = 0; i < fi; i++) a->floats[i] = bits_to_f32(fv[i]);
    for (size_t i = 0; i < ii; i++) a->ints[i] = (int64_t)iv[i];
    return ME_OK;
}

static me_status parse_node(parse_ctx *pc, const pb_reader *parent, const pb_field *nf, onnx_node *n, int depth) {
    pb_reader r;
    pb_sub(parent, nf, &r);
    memset(n, 0, sizeof *n);
    n->name = "";
    n->op_type = "";
    n->domain = "";
    size_t ni = 0, no = 0, na = 0;
    me_status st;
    while (!pb_done(&r)) {
        pb_field f;
        if ((st = pb_next(&r, &f)) != ME_OK) return st;
        if (f.wire != PB_LEN) continue;
        if (f.num == 1) ni++;
        else if (f.num == 2) no++;
        else if (f.num == 5) na++;
    }
    if (ni > INT_MAX || no > INT_MAX || na > INT_MAX) return me_fail(pc->d, ME_ERR_FORMAT, "node with too many fields");
    n->inputs = me_arena_calloc(pc->a, ni ? ni : 1, sizeof(char *));
    n->outputs = me_arena_calloc(pc->a, no ? no : 1, sizeof(char *));
    n->attrs = me_arena_calloc(pc->a, na ? na : 1, sizeof(onnx_attr));
    if (!n->inputs || !n->outputs || !n->attrs) return nomem(pc);
    pb_sub(parent, nf, &r);
    while (!pb_done(&r)) {
        pb_field f;
        if ((st = pb_next(&r, &f)) != ME_OK) return st;
        if (f.wire != PB_LEN) continue;
        st = ME_OK;
        switch (f.num) {
        case 1: st = get_string(pc, &f, &n->inputs[n->n_in++]); break;
        case 2: st = get_string(pc, &f, &n->outputs[n->n_out++]); break;
        case 3: st = get_string(pc, &f, &n->name); break;
        case 4: st = get_string(pc, &f, &n->op_type); break;
        case 7: st = get_string(pc, &f, &n->domain); break;
        case 5: st = parse_attr(pc, &r, &f, &n->attrs[n->n_attr++], depth); break;
        case 9: {
            const char *k, *v;
            st = parse_string_entry(pc, &r, &f, &k, &v);
            if (st == ME_OK && strcmp(k, "hierarchy_tag") == 0) n->hierarchy_tag = v;
            break;
        }
        default: break;
        }
        if (st != ME_OK) return st;
    }
    if (strcmp(n->domain, "ai.onnx") == 0) n->domain = "";
    return ME_OK;
}

static me_status parse_graph(parse_ctx *pc, const pb_reader *parent, const pb_field *gf, onnx_graph *g, int depth) {
    if (depth > MAX_GRAPH_DEPTH)
        return me_fail(pc->d, ME_ERR_FORMAT, "malformed ONNX at byte %zu: graphs nested deeper than %d", gf->offset,
                       MAX_GRAPH_DEPTH);
    pb_reader r;
    pb_sub(parent, gf, &r);
    memset(g, 0, sizeof *g);
    g->name = "";
    size_t nn = 0, nini = 0, nin = 0, nout = 0, nvi = 0;
    me_status st;
    while (!pb_done(&r)) {
        pb_field f;
        if ((st = pb_next(&r, &f)) != ME_OK) return st;
        if (f.wire != PB_LEN) continue;
        switch (f.num) {
        case 1: nn++; break;
        case 5: nini++; break;
        case 11: nin++; break;
        case 12: nout++; break;
        case 13: nvi++; break;
        case 15: return me_fail(pc->d, ME_ERR_UNSUPPORTED, "sparse initializers are not supported");
        default: break;
        }
    }
    if (nn > INT_MAX || nini > INT_MAX || nin > INT_MAX || nout > INT_MAX || nvi > INT_MAX)
        return me_fail(pc->d, ME_ERR_FORMAT, "graph with too many entries");
    g->nodes = me_arena_calloc(pc->a, nn ? nn : 1, sizeof(onnx_node));
    g->inits = me_arena_calloc(pc->a, nini ? nini : 1, sizeof(onnx_tensor));
    g->inputs = me_arena_calloc(pc->a, nin ? nin : 1, sizeof(onnx_value_info));
    g->outputs = me_arena_calloc(pc->a, nout ? nout : 1, sizeof(onnx_value_info));
    g->value_info = me_arena_calloc(pc->a, nvi ? nvi : 1, sizeof(onnx_value_info));
    if (!g->nodes || !g->inits || !g->inputs || !g->outputs || !g->value_info) return nomem(pc);
    pb_sub(parent, gf, &r);
    while (!pb_done(&r)) {
        pb_field f;
        if ((st = pb_next(&r, &f)) != ME_OK) return st;
        if (f.wire != PB_LEN) continue;
        st = ME_OK;
        switch (f.num) {
        case 1: st = parse_node(pc, &r, &f, &g->nodes[g->n_nodes++], depth); break;
        case 2: st = get_string(pc, &f, &g->name); break;
        case 5: st = parse_tensor(pc, &r, &f, &g->inits[g->n_inits++]); break;
        case 11: st = parse_value_info(pc, &r, &f, &g->inputs[g->n_inputs++]); break;
        case 12: st = parse_value_info(pc, &r, &f, &g->outputs[g->n_outputs++]); break;
        case 13: st = parse_value_info(pc, &r, &f, &g->value_info[g->n_value_info++]); break;
        default: break;
        }
        if (st != ME_OK) return st;
    }
    return ME_OK;
}

me_status onnx_parse_model(const uint8_t *data, size_t size, const char *model_dir, me_arena *arena,
                           onnx_extmaps *ext, onnx_model *out, me_diag *d) {
    memset(out, 0, sizeof *out);
    out->producer_name = "";
    if (!data || size == 0) return me_fail(d, ME_ERR_FORMAT, "the model file is empty");
    parse_ctx pc = {d, arena, model_dir, NULL, ext, NULL};
    /* ext_paths must line up with maps already present (none expected) */
    if (ext->n > 0) {
        pc.ext_paths = me_arena_calloc(arena, (size_t)ext->cap, sizeof(char *));
        if (!pc.ext_paths) return nomem(&pc);
        for (int i = 0; i < ext->n; i++) pc.ext_paths[i] = "";
    }
    pb_reader r;
    pb_init(&r, data, data, size, d);
    size_t nops = 0;
    me_status st;
    pb_field graph_f = {0};
    bool has_graph = false;
    while (!pb_done(&r)) {
        pb_field f;
        if ((st = pb_next(&r, &f)) != ME_OK) return st;
        if (f.num == 1 && f.wire == PB_VARINT) out->ir_version = (int64_t)f.v;
        else if (f.num == 2 && f.wire == PB_LEN) { if ((st = get_string(&pc, &f, &out->producer_name)) != ME_OK) return st; }
        else if (f.num == 8 && f.wire == PB_LEN) nops++;
        else if (f.num == 7 && f.wire == PB_LEN) { graph_f = f; has_graph = true; }
    }
    if (nops > 1024) return me_fail(d, ME_ERR_FORMAT, "too many opset imports (%zu)", nops);
    out->opsets = me_arena_calloc(arena, nops ? nops : 1, sizeof(onnx_opset));
    if (!out->opsets) return nomem(&pc);
    pb_init(&r, data, data, size, d);
    while (!pb_done(&r)) {
        pb_field f;
        if ((st = pb_next(&r, &f)) != ME_OK) return st;
        if (f.num != 8 || f.wire != PB_LEN) continue;
        onnx_opset *o = &out->opsets[out->n_opsets++];
        o->domain = "";
        pb_reader orr;
        pb_sub(&r, &f, &orr);
        while (!pb_done(&orr)) {
            pb_field g;
            if ((st = pb_next(&orr, &g)) != ME_OK) return st;
            if (g.num == 1 && g.wire == PB_LEN) { if ((st = get_string(&pc, &g, &o->domain)) != ME_OK) return st; }
            else if (g.num == 2 && g.wire == PB_VARINT) o->version = (int64_t)g.v;
        }
        if (strcmp(o->domain, "ai.onnx") == 0) o->domain = "";
    }
    if (!has_graph) return me_fail(d, ME_ERR_FORMAT, "the file is not an ONNX model: it has no graph");
    out->graph = me_arena_alloc(arena, sizeof *out->graph);
    if (!out->graph) return nomem(&pc);
    pb_init(&r, data, data, size, d);
    return parse_graph(&pc, &r, &graph_f, out->graph, 0);
}

void onnx_extmaps_free(onnx_extmaps *ext) {
    if (!ext) return;
    for (int i = 0; i < ext->n; i++) me_unmap_file(&ext->maps[i]);
    free(ext->maps);
    memset(ext, 0, sizeof *ext);
}
