/* DLC reader: maps the file, checks the trailer CRC before anything else,
 * then validates every field before it is used and builds an IR graph whose
 * static tensors point into the mapping. Any malformed file gives
 * ME_ERR_FORMAT with a reason; no field is trusted. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../core/util.h"
#include "../../ops/ops.h"
#include "dlc.h"
#include "dlc_format.h"

#define MAX_NODE_PARAMS 64       /* no op has more; bounds the duplicate check */
#define MAX_NODE_IO (1 << 20)

typedef struct rsec {
    int present;
    uint32_t count;
    uint64_t off, size;
    const uint8_t *p;
} rsec;

typedef struct reader {
    const char *path;
    me_diag *d;
    const uint8_t *base;
    uint64_t size, trailer_off;
    rsec sec[DLC_SEC_COUNT_];
    me_qenc *encs;
    uint32_t n_encs;
    int *scratch_ids;
    size_t scratch_cap;
} reader;

static me_status bad(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static me_status bad(reader *r, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return me_fail(r->d, ME_ERR_FORMAT, "'%s' is not a valid DLC: %s", r->path, msg);
}

int me_dlc_has_magic(const void *data, size_t size) {
    return data && size >= 8 && memcmp(data, DLC_MAGIC, 8) == 0;
}

/* ---- checked access helpers ---- */
static const char *str_at(reader *r, uint32_t ref) {
    const rsec *s = &r->sec[DLC_SEC_STRINGS];
    return ref < s->size ? (const char *)s->p + ref : NULL; /* STRINGS ends with NUL (checked) */
}

static int words_ok(const reader *r, uint64_t first, uint64_t n) {
    uint64_t end;
    return !__builtin_add_overflow(first, n, &end) && end <= r->sec[DLC_SEC_WORDS].count;
}

static uint32_t word(const reader *r, uint64_t i) { return dlc_get_u32(r->sec[DLC_SEC_WORDS].p + 4 * i); }

/* ---- container level ---- */
static me_status check_crc(reader *r, int covered) {
    const uint8_t *t = r->base + r->trailer_off;
    if (memcmp(t + DLC_T_MAGIC, DLC_TRAILER_MAGIC, 8) != 0 || dlc_get_u32(t + DLC_T_RESERVED) != 0) {
        uint64_t said = dlc_get_u64(r->base + DLC_H_FILE_SIZE);
        if (said != r->size)
            return bad(r, "the file is truncated or extended (the header says %llu bytes, the file has %llu)",
                       (unsigned long long)said, (unsigned long long)r->size);
        return bad(r, "the trailer is missing or damaged");
    }
    if (covered) return ME_OK;
    uint32_t stored = dlc_get_u32(t + DLC_T_CRC);
    uint32_t crc = (uint32_t)crc32_z(crc32_z(0, NULL, 0), r->base, (size_t)r->trailer_off);
    if (crc != stored) return bad(r, "CRC mismatch (stored %08x, computed %08x): the file is corrupt", stored, crc);
    return ME_OK;
}

static me_status read_header(reader *r, me_dlc_info *info) {
    const uint8_t *h = r->base;
    uint32_t version = dlc_get_u32(h + DLC_H_VERSION);
    if (version != DLC_VERSION_1 && version != DLC_VERSION)
        return bad(r, "format version %u is not supported (this build reads versions 1 and %u)", version, DLC_VERSION);
    if (dlc_get_u32(h + DLC_H_FLAGS) != 0) return bad(r, "unknown header flags 0x%x", dlc_get_u32(h + DLC_H_FLAGS));
    if (dlc_get_u64(h + DLC_H_FILE_SIZE) != r->size) return bad(r, "the header's file size does not match the file");
    if (dlc_get_u32(h + DLC_H_HEADER_SIZE) != DLC_HEADER_SIZE) return bad(r, "unexpected header size");
    for (int i = 40; i < (int)DLC_HEADER_SIZE; i++)
        if (h[i]) return bad(r, "reserved header bytes are not zero");
    uint32_t nsec = dlc_get_u32(h + DLC_H_SECTION_COUNT);
    uint64_t table = dlc_get_u64(h + DLC_H_TABLE_OFFSET);
    if (nsec == 0 || nsec > DLC_MAX_SECTIONS) return bad(r, "section count %u is out of range", nsec);
    if (table < DLC_HEADER_SIZE || table % 8 || table > r->trailer_off ||
        (uint64_t)nsec * DLC_SECTION_ENTRY_SIZE > r->trailer_off - table)
        return bad(r, "the section table lies outside the file");
    uint64_t table_end = table + (uint64_t)nsec * DLC_SECTION_ENTRY_SIZE;
    for (uint32_t i = 0; i < nsec; i++) {
        const uint8_t *e = h + table + (uint64_t)i * DLC_SECTION_ENTRY_SIZE;
        uint32_t type = dlc_get_u32(e + DLC_S_TYPE);
        if (type == 0 || type >= DLC_SEC_COUNT_) return bad(r, "section %u has unknown type %u", i, type);
        rsec *s = &r->sec[type];
        if (s->present) return bad(r, "section type %u appears twice", type);
        s->present = 1;
        s->count = dlc_get_u32(e + DLC_S_COUNT);
        s->off = dlc_get_u64(e + DLC_S_OFFSET);
        s->size = dlc_get_u64(e + DLC_S_SIZE);
        if (dlc_get_u64(e + DLC_S_RESERVED) != 0) return bad(r, "section %u: reserved field is not zero", type);
        if (s->off % DLC_ALIGN) return bad(r, "section %u is not %u-byte aligned", type, DLC_ALIGN);
        if (s->off > r->trailer_off || s->size > r->trailer_off - s->off)
            return bad(r, "section %u lies outside the file", type);
        if (s->size && (s->off < DLC_HEADER_SIZE || (s->off < table_end && s->off + s->size > table)))
            return bad(r, "section %u overlaps the header or the section table", type);
        s->p = r->base + s->off;
    }
    for (int t = 1; t < DLC_SEC_REQUIRED_END; t++)
        if (!r->sec[t].present) return bad(r, "section type %d is missing", t);
    for (int t = DLC_SEC_REQUIRED_END; t < DLC_SEC_COUNT_; t++)
        if (r->sec[t].present && version < DLC_VERSION)
            return bad(r, "section type %d needs format version %u", t, DLC_VERSION);
    for (int a = 1; a < DLC_SEC_COUNT_; a++)
        for (int b = a + 1; b < DLC_SEC_COUNT_; b++) {
            const rsec *x = &r->sec[a], *y = &r->sec[b];
            if (x->size && y->size && x->off < y->off + y->size && y->off < x->off + x->size)
                return bad(r, "sections %d and %d overlap", a, b);
        }
    static const struct { int type; uint32_t rec; } recs[] = {
        {DLC_SEC_TENSORS, DLC_TENSOR_SIZE}, {DLC_SEC_ENCODINGS, DLC_ENCODING_SIZE},
        {DLC_SEC_NODES, DLC_NODE_SIZE},     {DLC_SEC_PARAMS, DLC_PARAM_SIZE},
        {DLC_SEC_WORDS, 4},                 {DLC_SEC_SUBGRAPHS, DLC_SUBGRAPH_SIZE},
    };
    for (size_t i = 0; i < ME_ARRAY_LEN(recs); i++) {
        const rsec *s = &r->sec[recs[i].type];
        if ((uint64_t)s->count * recs[i].rec != s->size)
            return bad(r, "section %d: %u records do not fill its %llu bytes", recs[i].type, s->count,
                       (unsigned long long)s->size);
    }
    if (r->sec[DLC_SEC_TENSORS].count > INT_MAX / 2 || r->sec[DLC_SEC_NODES].count > INT_MAX / 2)
        return bad(r, "too many tensors or nodes");
    static const int bytes_secs[] = {DLC_SEC_STRINGS, DLC_SEC_GRAPH, DLC_SEC_META, DLC_SEC_DATA, DLC_SEC_LLM};
    for (size_t i = 0; i < ME_ARRAY_LEN(bytes_secs); i++)
        if (r->sec[bytes_secs[i]].count != 0) return bad(r, "section %d: record count must be 0", bytes_secs[i]);
    const rsec *s = &r->sec[DLC_SEC_STRINGS];
    if (s->size < 1 || s->p[0] != 0 || s->p[s->size - 1] != 0)
        return bad(r, "the string table is not NUL-terminated");
    if (r->sec[DLC_SEC_META].size != DLC_META_SIZE) return bad(r, "the META section has the wrong size");
    if (info) info->version = version;
    return ME_OK;
}

static me_status read_meta(reader *r, me_graph *g, me_dlc_info *info) {
    const uint8_t *m = r->sec[DLC_SEC_META].p;
    const char *src = str_at(r, dlc_get_u32(m + DLC_M_SOURCE_PATH));
    const char *opts = str_at(r, dlc_get_u32(m + DLC_M_COMPILE_OPTIONS));
    const char *prod = str_at(r, dlc_get_u32(m + DLC_M_PRODUCER));
    if (!src || !opts || !prod) return bad(r, "META: string reference out of range");
    if (dlc_get_u32(m + DLC_M_RESERVED) != 0) return bad(r, "META: reserved field is not zero");
    memcpy(g->source_hash, m + DLC_M_SOURCE_HASH, 32);
    g->source_path = me_arena_strdup(&g->arena, src);
    g->compile_options = me_arena_strdup(&g->arena, opts);
    if (!g->source_path || !g->compile_options) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
    if (info) snprintf(info->producer, sizeof info->producer, "%s", prod);
    return ME_OK;
}

static me_status read_encodings(reader *r, me_graph *g) {
    const rsec *s = &r->sec[DLC_SEC_ENCODINGS];
    r->n_encs = s->count;
    if (!s->count) return ME_OK;
    r->encs = me_arena_calloc(&g->arena, s->count, sizeof(me_qenc));
    if (!r->encs) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < s->count; i++) {
        const uint8_t *e = s->p + (uint64_t)i * DLC_ENCODING_SIZE;
        me_qenc *q = &r->encs[i];
        uint32_t kind = dlc_get_u32(e + DLC_E_KIND), bw = dlc_get_u32(e + DLC_E_BITWIDTH);
        uint32_t sg = dlc_get_u32(e + DLC_E_SIGNED);
        int64_t n = dlc_get_i64(e + DLC_E_N), block = dlc_get_i64(e + DLC_E_BLOCK_SIZE);
        uint64_t first = dlc_get_u64(e + DLC_E_WORDS);
        if (kind < ME_QENC_SCALE_OFFSET || kind > ME_QENC_BLOCK) return bad(r, "encoding %u: unknown kind %u", i, kind);
        if (bw != 4 && bw != 8 && bw != 16 && bw != 32) return bad(r, "encoding %u: bitwidth %u", i, bw);
        if (sg > 1) return bad(r, "encoding %u: bad signedness flag", i);
        if (dlc_get_u32(e + DLC_E_RESERVED) != 0) return bad(r, "encoding %u: reserved field is not zero", i);
        if (n < 1 || !words_ok(r, first, 2 * (uint64_t)n)) return bad(r, "encoding %u: %lld scales do not fit", i, (long long)n);
        if (kind == ME_QENC_SCALE_OFFSET && n != 1) return bad(r, "encoding %u: per-tensor encoding with %lld scales", i, (long long)n);
        if (kind == ME_QENC_BLOCK && block < 1) return bad(r, "encoding %u: block size %lld", i, (long long)block);
        q->kind = (me_qenc_kind)kind;
        q->bitwidth = (int)bw;
        q->is_signed = sg != 0;
        q->axis = dlc_get_i32(e + DLC_E_AXIS);
        q->n = n;
        q->block_size = block;
        q->block_type = dlc_get_i32(e + DLC_E_BLOCK_TYPE);
        q->scales = me_arena_calloc(&g->arena, (size_t)n, sizeof(float));
        q->offsets = me_arena_calloc(&g->arena, (size_t)n, sizeof(int32_t));
        if (!q->scales || !q->offsets) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
        for (int64_t k = 0; k < n; k++) {
            uint32_t w = word(r, first + (uint64_t)k);
            memcpy(&q->scales[k], &w, 4);
            q->offsets[k] = (int32_t)word(r, first + (uint64_t)n + (uint64_t)k);
        }
    }
    return ME_OK;
}

static me_status check_encoding_fits(reader *r, const me_tensor *t, const me_qenc *q) {
    if (q->kind == ME_QENC_AXIS_SCALE_OFFSET || q->kind == ME_QENC_BLOCK) {
        if (q->axis < 0 || q->axis >= t->rank) return bad(r, "tensor '%s': encoding axis %d is out of range", t->name, q->axis);
        if (q->kind == ME_QENC_AXIS_SCALE_OFFSET && q->n != t->dims[q->axis])
            return bad(r, "tensor '%s': %lld scales for an axis of %lld", t->name, (long long)q->n, (long long)t->dims[q->axis]);
    }
    return ME_OK;
}

static me_status read_tensors(reader *r, me_graph *g, uint32_t *rec_flags) {
    const rsec *s = &r->sec[DLC_SEC_TENSORS];
    const rsec *data = &r->sec[DLC_SEC_DATA];
    for (uint32_t i = 0; i < s->count; i++) {
        const uint8_t *e = s->p + (uint64_t)i * DLC_TENSOR_SIZE;
        const char *name = str_at(r, dlc_get_u32(e + DLC_T_NAME));
        if (!name) return bad(r, "tensor %u: name reference out of range", i);
        uint32_t dt = dlc_get_u32(e + DLC_T_DTYPE), rank = dlc_get_u32(e + DLC_T_RANK);
        uint32_t flags = dlc_get_u32(e + DLC_T_FLAGS);
        if (dt == ME_DT_UNDEFINED || dt >= ME_DT_COUNT) return bad(r, "tensor '%s': unknown dtype %u", name, dt);
        if (rank > ME_MAX_RANK) return bad(r, "tensor '%s': rank %u exceeds %d", name, rank, ME_MAX_RANK);
        if (flags & ~(DLC_TF_INPUT | DLC_TF_OUTPUT | DLC_TF_STATIC)) return bad(r, "tensor '%s': unknown flags 0x%x", name, flags);
        if ((flags & DLC_TF_INPUT) && (flags & DLC_TF_STATIC)) return bad(r, "tensor '%s': a graph input cannot be static", name);
        if (dlc_get_u32(e + DLC_T_RESERVED2) != 0) return bad(r, "tensor '%s': reserved field is not zero", name);
        int64_t dims[ME_MAX_RANK];
        for (uint32_t k = 0; k < ME_MAX_RANK; k++) {
            int64_t v = dlc_get_i64(e + DLC_T_DIMS + 8 * k);
            if (k < rank && v < 0) return bad(r, "tensor '%s': negative dimension", name);
            if (k >= rank && v != 0) return bad(r, "tensor '%s': unused dimension slots are not zero", name);
            dims[k] = v;
        }
        int64_t numel = me_shape_numel((int)rank, dims);
        if (numel < 0 || numel > ME_MAX_TENSOR_BYTES) return bad(r, "tensor '%s': shape is too large", name);
        uint64_t off = dlc_get_u64(e + DLC_T_DATA_OFFSET), size = dlc_get_u64(e + DLC_T_DATA_SIZE);
        int32_t enc = dlc_get_i32(e + DLC_T_ENCODING);
        if (enc < -1 || (enc >= 0 && (uint32_t)enc >= r->n_encs)) return bad(r, "tensor '%s': encoding index %d out of range", name, enc);

        int t = me_graph_add_tensor(g, name, (me_dtype)dt, (int)rank, dims, r->d);
        if (t < 0) return bad(r, "tensor %u ('%s') cannot be added", i, name);
        me_tensor *tt = &g->tensors[t];
        if (enc >= 0) tt->qenc = &r->encs[enc]; /* a BLOCKQ tensor's byte size depends on its encoding */
        size_t nbytes = me_tensor_nbytes(tt);
        if (nbytes == 0 && numel > 0) return bad(r, "tensor '%s': byte size overflows", name);
        if (flags & DLC_TF_STATIC) {
            if (size != nbytes)
                return bad(r, "tensor '%s': %llu data bytes, its shape needs %zu", name, (unsigned long long)size, nbytes);
            if (off % DLC_ALIGN) return bad(r, "tensor '%s': data offset is not %u-byte aligned", name, DLC_ALIGN);
            if (off > data->size || size > data->size - off) return bad(r, "tensor '%s': data lies outside the DATA section", name);
            tt->flags |= ME_TF_STATIC;
            tt->data = data->p + off; /* never NULL, also for empty tensors */
            tt->nbytes = nbytes;
        } else if (off || size) {
            return bad(r, "tensor '%s' is not static but has a data range", name);
        }
        if (enc >= 0) {
            tt->qenc = &r->encs[enc];
            me_status st = check_encoding_fits(r, tt, tt->qenc);
            if (st != ME_OK) return st;
        }
        rec_flags[i] = flags;
    }
    return ME_OK;
}

static me_status read_graph_io(reader *r, me_graph *g, const uint32_t *rec_flags) {
    const rsec *s = &r->sec[DLC_SEC_GRAPH];
    if (s->size < DLC_GRAPH_FIXED_SIZE) return bad(r, "the GRAPH section is too small");
    const char *name = str_at(r, dlc_get_u32(s->p + DLC_G_NAME));
    uint32_t ni = dlc_get_u32(s->p + DLC_G_N_INPUTS), no = dlc_get_u32(s->p + DLC_G_N_OUTPUTS);
    if (!name) return bad(r, "graph name reference out of range");
    if (dlc_get_u32(s->p + DLC_G_RESERVED) != 0) return bad(r, "GRAPH: reserved field is not zero");
    if (s->size != DLC_GRAPH_FIXED_SIZE + 4 * ((uint64_t)ni + no)) return bad(r, "GRAPH: %u inputs and %u outputs do not fill the section", ni, no);
    if (no == 0) return bad(r, "the graph has no outputs");
    g->name = me_arena_strdup(&g->arena, name);
    if (!g->name) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
    const uint8_t *ids = s->p + DLC_GRAPH_FIXED_SIZE;
    for (uint64_t i = 0; i < (uint64_t)ni + no; i++) {
        uint32_t t = dlc_get_u32(ids + 4 * i);
        int is_in = i < ni;
        if (t >= (uint32_t)g->n_tensors) return bad(r, "graph %s %llu: tensor id %u out of range", is_in ? "input" : "output", (unsigned long long)(is_in ? i : i - ni), t);
        if (is_in) {
            if (g->tensors[t].flags & ME_TF_INPUT) return bad(r, "tensor '%s' is listed twice as a graph input", g->tensors[t].name);
            if (g->tensors[t].flags & ME_TF_STATIC) return bad(r, "graph input '%s' is static", g->tensors[t].name);
        }
        me_status st = is_in ? me_graph_add_input(g, (int)t) : me_graph_add_output(g, (int)t);
        if (st != ME_OK) return me_fail(r->d, st, "out of memory");
    }
    for (int t = 0; t < g->n_tensors; t++) {
        uint32_t want = rec_flags[t] & (DLC_TF_INPUT | DLC_TF_OUTPUT);
        uint32_t have = ((g->tensors[t].flags & ME_TF_INPUT) ? DLC_TF_INPUT : 0) |
                        ((g->tensors[t].flags & ME_TF_OUTPUT) ? DLC_TF_OUTPUT : 0);
        if (want != have) return bad(r, "tensor '%s': input/output flags disagree with the graph's lists", g->tensors[t].name);
    }
    return ME_OK;
}

static int valid_param_dtype(uint32_t kind, uint32_t dt) {
    if (dt == ME_DT_U32 || dt == ME_DT_I32 || dt == ME_DT_F32) return 1;
    return kind == ME_PARAM_SCALAR && dt == ME_DT_BOOL;
}

static me_status read_param(reader *r, me_graph *g, const char *node, uint64_t index, me_param *p) {
    const uint8_t *e = r->sec[DLC_SEC_PARAMS].p + index * DLC_PARAM_SIZE;
    const char *name = str_at(r, dlc_get_u32(e + DLC_P_NAME));
    if (!name || !*name) return bad(r, "node '%s': param %llu has no valid name", node, (unsigned long long)index);
    uint32_t kind = dlc_get_u32(e + DLC_P_KIND), dt = dlc_get_u32(e + DLC_P_DTYPE), rank = dlc_get_u32(e + DLC_P_RANK);
    int64_t d0 = dlc_get_i64(e + DLC_P_DIMS), d1 = dlc_get_i64(e + DLC_P_DIMS + 8);
    uint64_t value = dlc_get_u64(e + DLC_P_VALUE);
    int64_t count = dlc_get_i64(e + DLC_P_COUNT);
    if (kind > ME_PARAM_TENSOR || !valid_param_dtype(kind, dt))
        return bad(r, "node '%s': param '%s' has kind %u / dtype %u", node, name, kind, dt);
    p->name = me_arena_strdup(&g->arena, name);
    if (!p->name) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
    p->kind = (me_param_kind)kind;
    p->dtype = (me_dtype)dt;
    if (kind == ME_PARAM_SCALAR) {
        if (rank || d0 || d1 || count) return bad(r, "node '%s': scalar param '%s' has a shape", node, name);
        int64_t v = (int64_t)value;
        if (dt == ME_DT_F32) {
            memcpy(&p->s.f, &value, 8);
        } else {
            if ((dt == ME_DT_BOOL && (v < 0 || v > 1)) || (dt == ME_DT_U32 && (v < 0 || v > (int64_t)UINT32_MAX)) ||
                (dt == ME_DT_I32 && (v < INT32_MIN || v > INT32_MAX)))
                return bad(r, "node '%s': param '%s' value %lld is out of range for %s", node, name, (long long)v, me_dtype_name((me_dtype)dt));
            p->s.i = v;
        }
        return ME_OK;
    }
    if (rank < 1 || rank > 2 || d0 < 0 || d1 < 0 || (rank == 1 && d1 != 0))
        return bad(r, "node '%s': tensor param '%s' has a bad shape", node, name);
    int64_t want = rank == 1 ? d0 : (d0 > DLC_MAX_PARAM_COUNT || d1 > DLC_MAX_PARAM_COUNT ? -1 : d0 * d1);
    if (count != want || count > DLC_MAX_PARAM_COUNT)
        return bad(r, "node '%s': tensor param '%s' has %lld values for its shape", node, name, (long long)count);
    int is_f = dt == ME_DT_F32;
    if (!words_ok(r, value, (uint64_t)count * (is_f ? 1 : 2)))
        return bad(r, "node '%s': tensor param '%s' values lie outside WORDS", node, name);
    p->rank = (int)rank;
    p->dims[0] = d0;
    p->dims[1] = d1;
    p->count = count;
    if (is_f) {
        p->fvals = me_arena_calloc(&g->arena, (size_t)(count ? count : 1), sizeof(float));
        if (!p->fvals) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
        for (int64_t k = 0; k < count; k++) {
            uint32_t w = word(r, value + (uint64_t)k);
            memcpy(&p->fvals[k], &w, 4);
        }
    } else {
        p->ivals = me_arena_calloc(&g->arena, (size_t)(count ? count : 1), sizeof(int64_t));
        if (!p->ivals) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
        for (int64_t k = 0; k < count; k++) {
            uint64_t lo = word(r, value + 2 * (uint64_t)k), hi = word(r, value + 2 * (uint64_t)k + 1);
            int64_t v = (int64_t)(lo | hi << 32);
            if ((dt == ME_DT_U32 && (v < 0 || v > (int64_t)UINT32_MAX)) || (dt == ME_DT_I32 && (v < INT32_MIN || v > INT32_MAX)))
                return bad(r, "node '%s': tensor param '%s' value %lld is out of range", node, name, (long long)v);
            p->ivals[k] = v;
        }
    }
    return ME_OK;
}

static me_status read_node(reader *r, me_graph *g, uint32_t i) {
    const uint8_t *e = r->sec[DLC_SEC_NODES].p + (uint64_t)i * DLC_NODE_SIZE;
    const char *name = str_at(r, dlc_get_u32(e + DLC_N_NAME));
    const char *opname = str_at(r, dlc_get_u32(e + DLC_N_OP));
    const char *pkg = str_at(r, dlc_get_u32(e + DLC_N_PACKAGE));
    const char *scope = str_at(r, dlc_get_u32(e + DLC_N_SCOPE));
    if (!name || !opname || !pkg || !scope) return bad(r, "node %u: string reference out of range", i);
    int op = me_op_from_name(opname);
    if (op < 0) return bad(r, "node '%s': unknown op type '%s'", name, opname);
    if (strcmp(pkg, me_opdefs[op]->package) != 0)
        return bad(r, "node '%s': op '%s' belongs to package '%s', not '%s'", name, opname, me_opdefs[op]->package, pkg);
    uint32_t n_in = dlc_get_u32(e + DLC_N_N_IN), n_out = dlc_get_u32(e + DLC_N_N_OUT);
    uint32_t n_params = dlc_get_u32(e + DLC_N_N_PARAMS), n_src = dlc_get_u32(e + DLC_N_N_SOURCES);
    uint32_t io = dlc_get_u32(e + DLC_N_IO_WORDS), srcw = dlc_get_u32(e + DLC_N_SOURCE_WORDS);
    uint32_t first_param = dlc_get_u32(e + DLC_N_FIRST_PARAM);
    if (dlc_get_u32(e + DLC_N_RESERVED) != 0) return bad(r, "node '%s': reserved field is not zero", name);
    if (n_in > MAX_NODE_IO || n_out > MAX_NODE_IO || n_out == 0) return bad(r, "node '%s': %u inputs, %u outputs", name, n_in, n_out);
    if (!words_ok(r, io, (uint64_t)n_in + n_out)) return bad(r, "node '%s': input/output ids lie outside WORDS", name);
    if (!words_ok(r, srcw, n_src)) return bad(r, "node '%s': source names lie outside WORDS", name);
    if (n_params > MAX_NODE_PARAMS || (uint64_t)first_param + n_params > r->sec[DLC_SEC_PARAMS].count)
        return bad(r, "node '%s': params %u..+%u out of range", name, first_param, n_params);

    size_t need = (size_t)n_in + n_out;
    if (need > r->scratch_cap) {
        int *ns = realloc(r->scratch_ids, need * sizeof(int));
        if (!ns) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
        r->scratch_ids = ns;
        r->scratch_cap = need;
    }
    int *ids = r->scratch_ids;
    for (uint32_t k = 0; k < n_in + n_out; k++) {
        int32_t t = (int32_t)word(r, (uint64_t)io + k);
        int lo = k < n_in ? -1 : 0;
        if (t < lo || t >= g->n_tensors)
            return bad(r, "node '%s': %s %u refers to tensor %d (there are %d)", name, k < n_in ? "input" : "output",
                       k < n_in ? k : k - n_in, t, g->n_tensors);
        ids[k] = t;
    }
    for (uint32_t k = 0; k < n_out; k++) {
        const me_tensor *t = &g->tensors[ids[n_in + k]];
        if (t->producer >= 0) return bad(r, "tensor '%s' is produced by two nodes", t->name);
        if (t->flags & (ME_TF_STATIC | ME_TF_INPUT)) return bad(r, "node '%s' writes '%s', a constant or graph input", name, t->name);
    }
    int n = me_graph_add_node(g, name, op, ids, (int)n_in, ids + n_in, (int)n_out, scope, r->d);
    if (n < 0) return bad(r, "node '%s' cannot be added", name);
    me_node *nd = &g->nodes[n];
    if (n_src) {
        nd->sources = me_arena_calloc(&g->arena, n_src, sizeof(char *));
        if (!nd->sources) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
        for (uint32_t k = 0; k < n_src; k++) {
            const char *sname = str_at(r, word(r, (uint64_t)srcw + k));
            if (!sname) return bad(r, "node '%s': source name reference out of range", name);
            nd->sources[k] = me_arena_strdup(&g->arena, sname);
            if (!nd->sources[k]) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
        }
        nd->n_sources = (int)n_src;
    }
    if (n_params) {
        nd->params = me_arena_calloc(&g->arena, n_params, sizeof(me_param));
        if (!nd->params) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
        for (uint32_t k = 0; k < n_params; k++) {
            me_status st = read_param(r, g, name, (uint64_t)first_param + k, &nd->params[k]);
            if (st != ME_OK) return st;
            for (uint32_t j = 0; j < k; j++)
                if (strcmp(nd->params[j].name, nd->params[k].name) == 0)
                    return bad(r, "node '%s': param '%s' appears twice", name, nd->params[k].name);
        }
        nd->n_params = (int)n_params;
    }
    return ME_OK;
}

/* Version 2: named graphs (ids of the shared tensor table) and the LLM blob. */
static me_status read_subgraphs(reader *r, me_graph *g) {
    const rsec *s = &r->sec[DLC_SEC_SUBGRAPHS];
    if (r->sec[DLC_SEC_LLM].present && r->sec[DLC_SEC_LLM].size) {
        g->llm_blob = r->sec[DLC_SEC_LLM].p;
        g->llm_blob_bytes = (size_t)r->sec[DLC_SEC_LLM].size;
    }
    if (!s->present || !s->count) return ME_OK;
    if (s->count > 64) return bad(r, "SUBGRAPHS: %u graphs (at most 64)", s->count);
    me_subgraph *sg = me_arena_calloc(&g->arena, s->count, sizeof *sg);
    if (!sg) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < s->count; i++) {
        const uint8_t *e = s->p + (uint64_t)i * DLC_SUBGRAPH_SIZE;
        const char *name = str_at(r, dlc_get_u32(e + DLC_SG_NAME));
        uint32_t ni = dlc_get_u32(e + DLC_SG_N_INPUTS), no = dlc_get_u32(e + DLC_SG_N_OUTPUTS);
        uint32_t w = dlc_get_u32(e + DLC_SG_IO_WORDS);
        if (!name || !*name) return bad(r, "SUBGRAPHS: graph %u has no name", i);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(sg[j].name, name) == 0) return bad(r, "SUBGRAPHS: graph name '%s' appears twice", name);
        if (no < 1 || ni > (uint32_t)g->n_tensors || no > (uint32_t)g->n_tensors || !words_ok(r, w, (uint64_t)ni + no))
            return bad(r, "SUBGRAPHS: graph '%s' has bad input/output counts", name);
        sg[i].name = me_arena_strdup(&g->arena, name);
        sg[i].inputs = me_arena_calloc(&g->arena, ni + 1, sizeof(int));
        sg[i].outputs = me_arena_calloc(&g->arena, no, sizeof(int));
        if (!sg[i].name || !sg[i].inputs || !sg[i].outputs) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
        for (uint32_t k = 0; k < ni + no; k++) {
            uint32_t id = word(r, (uint64_t)w + k);
            if (id >= (uint32_t)g->n_tensors) return bad(r, "SUBGRAPHS: graph '%s': tensor id %u out of range", name, id);
            if (k < ni && !(g->tensors[id].flags & ME_TF_INPUT))
                return bad(r, "SUBGRAPHS: graph '%s': input '%s' is not a graph input", name, g->tensors[id].name);
            if (k >= ni && !(g->tensors[id].flags & ME_TF_OUTPUT))
                return bad(r, "SUBGRAPHS: graph '%s': output '%s' is not a graph output", name, g->tensors[id].name);
            if (k < ni) sg[i].inputs[k] = (int)id;
            else sg[i].outputs[k - ni] = (int)id;
        }
        sg[i].n_inputs = (int)ni;
        sg[i].n_outputs = (int)no;
    }
    g->subgraphs = sg;
    g->n_subgraphs = (int)s->count;
    return ME_OK;
}

me_status me_dlc_read_info(const char *path, me_graph *g, me_dlc_info *info, me_diag *d) {
    if (!path || !g) return me_fail(d, ME_ERR_INVALID_ARG, "me_dlc_read: NULL argument");
    if (info) memset(info, 0, sizeof *info);
    me_mapfile m;
    me_status st = me_map_file(path, &m, d);
    if (st != ME_OK) return st;
    const uint8_t *base = m.data;
    size_t size = m.size;
    /* The graph owns the mapping from here on, also on failure. */
    st = me_graph_adopt_map(g, &m);
    if (st != ME_OK) {
        me_unmap_file(&m);
        return me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    return me_dlc_parse(path, base, size, g, info, d);
}

static me_status parse_image(const char *path, const uint8_t *base, size_t size, me_graph *g, me_dlc_info *info,
                             int covered, me_diag *d) {
    me_status st;
    if (info) memset(info, 0, sizeof *info);
    reader r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.d = d;
    r.base = base;
    r.size = size;
    if (size == 0) return me_fail(d, ME_ERR_FORMAT, "'%s' is empty", path);
    if (size >= 4 && memcmp(base, "PK\3\4", 4) == 0)
        return me_fail(d, ME_ERR_FORMAT, "'%s' looks like Qualcomm's DLC (a ZIP archive); modelexport reads only its own DLC format", path);
    if (!me_dlc_has_magic(base, size)) return me_fail(d, ME_ERR_FORMAT, "'%s' is not a modelexport DLC (bad magic)", path);
    if (size < DLC_HEADER_SIZE + DLC_TRAILER_SIZE) return bad(&r, "the file is truncated (%zu bytes)", size);
    r.trailer_off = size - DLC_TRAILER_SIZE;
    if (info) info->file_size = size;

    uint32_t *rec_flags = NULL;
    st = check_crc(&r, covered);
    if (st == ME_OK) st = read_header(&r, info);
    if (st == ME_OK) st = read_meta(&r, g, info);
    if (st == ME_OK) st = read_encodings(&r, g);
    if (st == ME_OK) {
        rec_flags = calloc((size_t)r.sec[DLC_SEC_TENSORS].count + 1, sizeof *rec_flags);
        if (!rec_flags) st = me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    if (st == ME_OK) st = read_tensors(&r, g, rec_flags);
    if (st == ME_OK) st = read_graph_io(&r, g, rec_flags);
    for (uint32_t i = 0; st == ME_OK && i < r.sec[DLC_SEC_NODES].count; i++) st = read_node(&r, g, i);
    if (st == ME_OK) st = read_subgraphs(&r, g);
    free(rec_flags);
    free(r.scratch_ids);
    if (st != ME_OK) return st;

    me_diag sub;
    me_diag_init(&sub);
    if (me_graph_verify(g, &sub) != ME_OK) {
        st = bad(&r, "the graph does not verify:");
        me_diag_add(d, "%s", me_diag_text(&sub));
    }
    me_diag_free(&sub);
    return st;
}

me_status me_dlc_parse(const char *path, const uint8_t *base, size_t size, me_graph *g, me_dlc_info *info,
                       me_diag *d) {
    return parse_image(path, base, size, g, info, 0, d);
}

me_status me_dlc_parse_covered(const char *path, const uint8_t *base, size_t size, me_graph *g, me_dlc_info *info,
                               me_diag *d) {
    return parse_image(path, base, size, g, info, 1, d);
}

me_status me_dlc_read(const char *path, me_graph *g, me_diag *d) { return me_dlc_read_info(path, g, NULL, d); }
