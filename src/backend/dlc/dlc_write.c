/* DLC writer: lays out every section in memory except DATA, then streams the
 * file (header, table, sections, static data straight from the tensors'
 * pointers, trailer CRC) into a temporary file that is renamed into place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../core/util.h"
#include "../../ops/ops.h"
#include "dlc.h"
#include "dlc_format.h"

/* ---- growable byte buffer ---- */
typedef struct dbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} dbuf;

/* Appends n zero bytes and returns them (NULL after an allocation failure). */
static uint8_t *dbuf_grow(dbuf *b, size_t n) {
    if (b->oom) return NULL;
    size_t need;
    if (!me_add_size(b->len, n, &need)) { b->oom = 1; return NULL; }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) {
            if (!me_mul_size(cap, 2, &cap)) { b->oom = 1; return NULL; }
        }
        uint8_t *np = realloc(b->p, cap);
        if (!np) { b->oom = 1; return NULL; }
        b->p = np;
        b->cap = cap;
    }
    uint8_t *r = b->p + b->len;
    memset(r, 0, n);
    b->len = need;
    return r;
}

static void dbuf_free(dbuf *b) { free(b->p); memset(b, 0, sizeof *b); }

/* ---- string table with de-duplication (scopes and op names repeat a lot) ---- */
typedef struct strtab {
    dbuf bytes;
    uint32_t *slots;   /* offset + 1; 0 = empty */
    size_t cap, n;
} strtab;

static uint64_t str_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int strtab_rehash(strtab *st, size_t cap) {
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < st->cap; i++) {
        uint32_t v = st->slots[i];
        if (!v) continue;
        size_t k = str_hash((const char *)st->bytes.p + v - 1) & (cap - 1);
        while (slots[k]) k = (k + 1) & (cap - 1);
        slots[k] = v;
    }
    free(st->slots);
    st->slots = slots;
    st->cap = cap;
    return 0;
}

/* Returns 0 and the string's ref, or -1 (out of memory / table over 4 GiB). */
static int strtab_ref(strtab *st, const char *s, uint32_t *ref) {
    if (!s) s = "";
    if (!*s) { *ref = 0; return 0; } /* offset 0 holds "" */
    if ((st->n + 1) * 2 > st->cap && strtab_rehash(st, st->cap ? st->cap * 2 : 1024) < 0) return -1;
    size_t k = str_hash(s) & (st->cap - 1);
    while (st->slots[k]) {
        const char *have = (const char *)st->bytes.p + st->slots[k] - 1;
        if (strcmp(have, s) == 0) { *ref = st->slots[k] - 1; return 0; }
        k = (k + 1) & (st->cap - 1);
    }
    size_t len = strlen(s) + 1, off = st->bytes.len;
    if (off + len >= UINT32_MAX) return -1;
    uint8_t *dst = dbuf_grow(&st->bytes, len);
    if (!dst) return -1;
    memcpy(dst, s, len);
    st->slots[k] = (uint32_t)off + 1;
    st->n++;
    *ref = (uint32_t)off;
    return 0;
}

static void strtab_free(strtab *st) {
    dbuf_free(&st->bytes);
    free(st->slots);
    memset(st, 0, sizeof *st);
}

/* ---- the in-memory sections ---- */
typedef struct dlc_builder {
    const me_graph *g;
    me_diag *d;
    strtab strs;
    dbuf graph, tensors, encodings, nodes, params, words, meta;
    uint32_t n_tensors, n_encodings, n_nodes, n_params;
    dbuf subgraphs;       /* version 2 only */
    uint64_t *data_off;   /* per tensor: offset in DATA (static only) */
    uint64_t data_size;
    me_status st;
} dlc_builder;

static me_status oom(dlc_builder *b) {
    if (b->st == ME_OK) b->st = me_fail(b->d, ME_ERR_NOMEM, "out of memory while writing the DLC");
    return b->st;
}

static uint32_t sref(dlc_builder *b, const char *s) {
    uint32_t r = 0;
    if (strtab_ref(&b->strs, s, &r) < 0) oom(b);
    return r;
}

static uint64_t word_index(const dlc_builder *b) { return b->words.len / 4; }

static void put_word(dlc_builder *b, uint32_t w) {
    uint8_t *p = dbuf_grow(&b->words, 4);
    if (!p) { oom(b); return; }
    dlc_put_u32(p, w);
}

static me_status build_encoding(dlc_builder *b, const me_tensor *t, int32_t *index) {
    const me_qenc *q = t->qenc;
    *index = -1;
    if (!q || q->kind == ME_QENC_NONE) return ME_OK;
    if (q->n < 0 || q->n > (int64_t)1 << 28 || (q->n > 0 && (!q->scales || !q->offsets)))
        return me_fail(b->d, ME_ERR_INTERNAL, "tensor '%s': malformed quantisation encoding", t->name);
    uint8_t *r = dbuf_grow(&b->encodings, DLC_ENCODING_SIZE);
    if (!r) return oom(b);
    dlc_put_u32(r + DLC_E_KIND, (uint32_t)q->kind);
    dlc_put_u32(r + DLC_E_BITWIDTH, (uint32_t)q->bitwidth);
    dlc_put_u32(r + DLC_E_SIGNED, q->is_signed ? 1u : 0u);
    dlc_put_u32(r + DLC_E_AXIS, (uint32_t)(int32_t)q->axis);
    dlc_put_u64(r + DLC_E_N, (uint64_t)q->n);
    dlc_put_u64(r + DLC_E_BLOCK_SIZE, (uint64_t)q->block_size);
    dlc_put_u32(r + DLC_E_BLOCK_TYPE, (uint32_t)(int32_t)q->block_type);
    dlc_put_u64(r + DLC_E_WORDS, word_index(b));
    for (int64_t i = 0; i < q->n; i++) {
        uint32_t w;
        memcpy(&w, &q->scales[i], 4);
        put_word(b, w);
    }
    for (int64_t i = 0; i < q->n; i++) put_word(b, (uint32_t)q->offsets[i]);
    *index = (int32_t)b->n_encodings++;
    return b->st;
}

static me_status build_tensors(dlc_builder *b) {
    const me_graph *g = b->g;
    uint64_t data = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        const me_tensor *t = &g->tensors[i];
        if (t->rank < 0 || t->rank > ME_MAX_RANK || (unsigned)t->dtype >= ME_DT_COUNT || t->dtype == ME_DT_UNDEFINED)
            return me_fail(b->d, ME_ERR_INTERNAL, "tensor '%s' has an invalid dtype or rank", t->name);
        uint32_t flags = 0;
        if (t->flags & ME_TF_INPUT) flags |= DLC_TF_INPUT;
        if (t->flags & ME_TF_OUTPUT) flags |= DLC_TF_OUTPUT;
        if (t->flags & ME_TF_STATIC) {
            flags |= DLC_TF_STATIC;
            if (t->nbytes != me_tensor_nbytes(t) || (t->nbytes && !t->data))
                return me_fail(b->d, ME_ERR_INTERNAL, "static tensor '%s' holds %zu bytes, its shape needs %zu",
                               t->name, t->nbytes, me_tensor_nbytes(t));
            data = me_align_up(data, DLC_ALIGN);
            b->data_off[i] = data;
            data += t->nbytes;
        }
        int32_t enc;
        me_status est = build_encoding(b, t, &enc);
        if (est != ME_OK) return est;
        uint8_t *r = dbuf_grow(&b->tensors, DLC_TENSOR_SIZE);
        if (!r) return oom(b);
        dlc_put_u32(r + DLC_T_NAME, sref(b, t->name));
        dlc_put_u32(r + DLC_T_DTYPE, (uint32_t)t->dtype);
        dlc_put_u32(r + DLC_T_RANK, (uint32_t)t->rank);
        dlc_put_u32(r + DLC_T_FLAGS, flags);
        for (int k = 0; k < t->rank; k++) dlc_put_u64(r + DLC_T_DIMS + 8 * k, (uint64_t)t->dims[k]);
        if (t->flags & ME_TF_STATIC) {
            dlc_put_u64(r + DLC_T_DATA_OFFSET, b->data_off[i]);
            dlc_put_u64(r + DLC_T_DATA_SIZE, t->nbytes);
        }
        dlc_put_u32(r + DLC_T_ENCODING, (uint32_t)enc);
        b->n_tensors++;
    }
    b->data_size = data;
    return b->st;
}

static me_status build_param(dlc_builder *b, const me_node *n, const me_param *p) {
    uint8_t *r = dbuf_grow(&b->params, DLC_PARAM_SIZE);
    if (!r) return oom(b);
    dlc_put_u32(r + DLC_P_NAME, sref(b, p->name));
    dlc_put_u32(r + DLC_P_KIND, (uint32_t)p->kind);
    dlc_put_u32(r + DLC_P_DTYPE, (uint32_t)p->dtype);
    if (p->kind == ME_PARAM_SCALAR) {
        uint64_t v;
        if (p->dtype == ME_DT_F32) memcpy(&v, &p->s.f, 8);
        else v = (uint64_t)p->s.i;
        dlc_put_u64(r + DLC_P_VALUE, v);
    } else {
        int is_f = p->dtype == ME_DT_F32;
        if (p->rank < 1 || p->rank > 2 || p->count < 0 || p->count > DLC_MAX_PARAM_COUNT ||
            (p->count > 0 && (is_f ? !p->fvals : !p->ivals)))
            return me_fail(b->d, ME_ERR_INTERNAL, "node '%s': param '%s' is malformed", n->name, p->name);
        dlc_put_u32(r + DLC_P_RANK, (uint32_t)p->rank);
        for (int k = 0; k < p->rank; k++) dlc_put_u64(r + DLC_P_DIMS + 8 * k, (uint64_t)p->dims[k]);
        dlc_put_u64(r + DLC_P_VALUE, word_index(b));
        dlc_put_u64(r + DLC_P_COUNT, (uint64_t)p->count);
        for (int64_t i = 0; i < p->count; i++) {
            if (is_f) {
                uint32_t w;
                memcpy(&w, &p->fvals[i], 4);
                put_word(b, w);
            } else { /* two words, low first: values are kept as int64 */
                put_word(b, (uint32_t)(uint64_t)p->ivals[i]);
                put_word(b, (uint32_t)((uint64_t)p->ivals[i] >> 32));
            }
        }
    }
    b->n_params++;
    return b->st;
}

static me_status build_nodes(dlc_builder *b) {
    const me_graph *g = b->g;
    for (int i = 0; i < g->n_nodes; i++) {
        const me_node *n = &g->nodes[i];
        if (n->dead) continue;
        if (n->op < 0 || n->op >= ME_OP_COUNT || n->n_in < 0 || n->n_out < 0 || n->n_params < 0 || n->n_sources < 0)
            return me_fail(b->d, ME_ERR_INTERNAL, "node '%s' is malformed", n->name);
        if (word_index(b) + (uint64_t)n->n_in + (uint64_t)n->n_out + (uint64_t)n->n_sources >= UINT32_MAX)
            return me_fail(b->d, ME_ERR_UNSUPPORTED, "the graph is too large for the DLC index fields");
        uint8_t *r = dbuf_grow(&b->nodes, DLC_NODE_SIZE);
        if (!r) return oom(b);
        const me_opdef *def = me_opdefs[n->op];
        dlc_put_u32(r + DLC_N_NAME, sref(b, n->name));
        dlc_put_u32(r + DLC_N_OP, sref(b, me_op_names[n->op]));
        dlc_put_u32(r + DLC_N_PACKAGE, sref(b, def->package));
        dlc_put_u32(r + DLC_N_SCOPE, sref(b, n->scope));
        dlc_put_u32(r + DLC_N_N_IN, (uint32_t)n->n_in);
        dlc_put_u32(r + DLC_N_N_OUT, (uint32_t)n->n_out);
        dlc_put_u32(r + DLC_N_N_PARAMS, (uint32_t)n->n_params);
        dlc_put_u32(r + DLC_N_N_SOURCES, (uint32_t)n->n_sources);
        dlc_put_u32(r + DLC_N_IO_WORDS, (uint32_t)word_index(b));
        for (int k = 0; k < n->n_in; k++) put_word(b, (uint32_t)(int32_t)n->in[k]);
        for (int k = 0; k < n->n_out; k++) put_word(b, (uint32_t)(int32_t)n->out[k]);
        uint32_t src_words = (uint32_t)word_index(b);
        for (int k = 0; k < n->n_sources; k++) put_word(b, sref(b, n->sources[k]));
        dlc_put_u32(r + DLC_N_SOURCE_WORDS, src_words);
        dlc_put_u32(r + DLC_N_FIRST_PARAM, b->n_params);
        for (int k = 0; k < n->n_params; k++) {
            me_status pst = build_param(b, n, &n->params[k]);
            if (pst != ME_OK) return pst;
        }
        if (b->st != ME_OK) return b->st;
        b->n_nodes++;
    }
    return b->st;
}

static me_status build_graph_and_meta(dlc_builder *b) {
    const me_graph *g = b->g;
    uint8_t *r = dbuf_grow(&b->graph, DLC_GRAPH_FIXED_SIZE + 4 * ((size_t)g->n_inputs + (size_t)g->n_outputs));
    if (!r) return oom(b);
    dlc_put_u32(r + DLC_G_NAME, sref(b, g->name));
    dlc_put_u32(r + DLC_G_N_INPUTS, (uint32_t)g->n_inputs);
    dlc_put_u32(r + DLC_G_N_OUTPUTS, (uint32_t)g->n_outputs);
    uint8_t *ids = r + DLC_GRAPH_FIXED_SIZE;
    for (int i = 0; i < g->n_inputs; i++) dlc_put_u32(ids + 4 * (size_t)i, (uint32_t)g->inputs[i]);
    ids += 4 * (size_t)g->n_inputs;
    for (int i = 0; i < g->n_outputs; i++) dlc_put_u32(ids + 4 * (size_t)i, (uint32_t)g->outputs[i]);

    char producer[64];
    snprintf(producer, sizeof producer, "modelexport %d.%d.%d", ME_VERSION_MAJOR, ME_VERSION_MINOR, ME_VERSION_PATCH);
    uint8_t *m = dbuf_grow(&b->meta, DLC_META_SIZE);
    if (!m) return oom(b);
    memcpy(m + DLC_M_SOURCE_HASH, g->source_hash, 32);
    dlc_put_u32(m + DLC_M_SOURCE_PATH, sref(b, g->source_path));
    dlc_put_u32(m + DLC_M_COMPILE_OPTIONS, sref(b, g->compile_options));
    dlc_put_u32(m + DLC_M_PRODUCER, sref(b, producer));
    return b->st;
}

/* Version 2: the named graphs (tensor ids of the shared table). */
static me_status build_subgraphs(dlc_builder *b) {
    const me_graph *g = b->g;
    for (int i = 0; i < g->n_subgraphs; i++) {
        const me_subgraph *sg = &g->subgraphs[i];
        if (sg->n_inputs < 0 || sg->n_outputs < 1 || (sg->n_inputs && !sg->inputs) || !sg->outputs)
            return me_fail(b->d, ME_ERR_INTERNAL, "subgraph %d is malformed", i);
        uint8_t *r = dbuf_grow(&b->subgraphs, DLC_SUBGRAPH_SIZE);
        if (!r) return oom(b);
        dlc_put_u32(r + DLC_SG_NAME, sref(b, sg->name));
        dlc_put_u32(r + DLC_SG_N_INPUTS, (uint32_t)sg->n_inputs);
        dlc_put_u32(r + DLC_SG_N_OUTPUTS, (uint32_t)sg->n_outputs);
        dlc_put_u32(r + DLC_SG_IO_WORDS, (uint32_t)word_index(b));
        for (int k = 0; k < sg->n_inputs; k++) put_word(b, (uint32_t)sg->inputs[k]);
        for (int k = 0; k < sg->n_outputs; k++) put_word(b, (uint32_t)sg->outputs[k]);
    }
    return b->st;
}

/* ---- streaming out with a running CRC ---- */
typedef struct sink {
    me_atomic_file f;
    uLong crc;
    uint64_t pos;
    me_diag *d;
} sink;

static me_status sink_write(sink *s, const void *p, size_t n) {
    if (!n) return ME_OK;
    me_status st = me_atomic_write(&s->f, p, n, s->d);
    if (st != ME_OK) return st;
    s->crc = crc32_z(s->crc, p, n);
    s->pos += n;
    return ME_OK;
}

static me_status sink_pad_to(sink *s, uint64_t off) {
    static const uint8_t zeros[DLC_ALIGN];
    while (s->pos < off) {
        uint64_t n = off - s->pos;
        me_status st = sink_write(s, zeros, n > sizeof zeros ? sizeof zeros : (size_t)n);
        if (st != ME_OK) return st;
    }
    return s->pos == off ? ME_OK : me_fail(s->d, ME_ERR_INTERNAL, "DLC writer: layout mismatch");
}

typedef struct sec_out {
    uint32_t type, count;
    const dbuf *body;  /* NULL for DATA */
    uint64_t offset, size;
} sec_out;

static me_status stream_file(dlc_builder *b, const char *path) {
    const me_graph *g = b->g;
    dbuf llm = {(uint8_t *)(uintptr_t)g->llm_blob, g->llm_blob ? g->llm_blob_bytes : 0, 0, 0};
    sec_out secs[] = {
        {DLC_SEC_STRINGS, 0, &b->strs.bytes, 0, 0},
        {DLC_SEC_GRAPH, 0, &b->graph, 0, 0},
        {DLC_SEC_TENSORS, b->n_tensors, &b->tensors, 0, 0},
        {DLC_SEC_ENCODINGS, b->n_encodings, &b->encodings, 0, 0},
        {DLC_SEC_NODES, b->n_nodes, &b->nodes, 0, 0},
        {DLC_SEC_PARAMS, b->n_params, &b->params, 0, 0},
        {DLC_SEC_WORDS, 0, &b->words, 0, 0},
        {DLC_SEC_META, 0, &b->meta, 0, 0},
        {DLC_SEC_DATA, 0, NULL, 0, 0},
        {DLC_SEC_SUBGRAPHS, (uint32_t)g->n_subgraphs, &b->subgraphs, 0, 0},
        {DLC_SEC_LLM, 0, &llm, 0, 0},
    };
    /* version 1 files (no named graphs, no LLM blob) keep their 9 sections */
    const int v2 = g->n_subgraphs > 0 || g->llm_blob_bytes > 0;
    const uint32_t nsec = (uint32_t)ME_ARRAY_LEN(secs) - (v2 ? 0 : 2);
    uint64_t words = b->words.len / 4;
    if (words > UINT32_MAX) return me_fail(b->d, ME_ERR_UNSUPPORTED, "the graph is too large for the DLC index fields");
    secs[6].count = (uint32_t)words;

    uint64_t off = DLC_HEADER_SIZE + (uint64_t)nsec * DLC_SECTION_ENTRY_SIZE;
    for (uint32_t i = 0; i < nsec; i++) {
        off = me_align_up(off, DLC_ALIGN);
        secs[i].offset = off;
        secs[i].size = secs[i].body ? secs[i].body->len : b->data_size;
        off += secs[i].size;
    }
    uint64_t trailer = me_align_up(off, 8);
    uint64_t file_size = trailer + DLC_TRAILER_SIZE;

    uint8_t head[DLC_HEADER_SIZE + DLC_MAX_SECTIONS * DLC_SECTION_ENTRY_SIZE];
    memset(head, 0, sizeof head);
    memcpy(head + DLC_H_MAGIC, DLC_MAGIC, 8);
    dlc_put_u32(head + DLC_H_VERSION, v2 ? DLC_VERSION : DLC_VERSION_1);
    dlc_put_u64(head + DLC_H_FILE_SIZE, file_size);
    dlc_put_u32(head + DLC_H_SECTION_COUNT, nsec);
    dlc_put_u32(head + DLC_H_HEADER_SIZE, DLC_HEADER_SIZE);
    dlc_put_u64(head + DLC_H_TABLE_OFFSET, DLC_HEADER_SIZE);
    for (uint32_t i = 0; i < nsec; i++) {
        uint8_t *e = head + DLC_HEADER_SIZE + i * DLC_SECTION_ENTRY_SIZE;
        dlc_put_u32(e + DLC_S_TYPE, secs[i].type);
        dlc_put_u32(e + DLC_S_COUNT, secs[i].count);
        dlc_put_u64(e + DLC_S_OFFSET, secs[i].offset);
        dlc_put_u64(e + DLC_S_SIZE, secs[i].size);
    }

    sink s;
    memset(&s, 0, sizeof s);
    s.d = b->d;
    s.crc = crc32_z(0, NULL, 0);
    me_status st = me_atomic_open(&s.f, path, b->d);
    if (st != ME_OK) return st;
    st = sink_write(&s, head, DLC_HEADER_SIZE + nsec * DLC_SECTION_ENTRY_SIZE);
    for (uint32_t i = 0; st == ME_OK && i < nsec; i++) {
        st = sink_pad_to(&s, secs[i].offset);
        if (st != ME_OK) break;
        if (secs[i].body) {
            st = sink_write(&s, secs[i].body->p, secs[i].body->len);
            continue;
        }
        for (int t = 0; st == ME_OK && t < g->n_tensors; t++) {
            const me_tensor *tt = &g->tensors[t];
            if (!(tt->flags & ME_TF_STATIC)) continue;
            st = sink_pad_to(&s, secs[i].offset + b->data_off[t]);
            if (st == ME_OK) st = sink_write(&s, tt->data, tt->nbytes);
        }
    }
    if (st == ME_OK) st = sink_pad_to(&s, trailer);
    if (st == ME_OK) {
        uint8_t tr[DLC_TRAILER_SIZE] = {0};
        dlc_put_u32(tr + DLC_T_CRC, (uint32_t)s.crc);
        memcpy(tr + DLC_T_MAGIC, DLC_TRAILER_MAGIC, 8);
        st = me_atomic_write(&s.f, tr, sizeof tr, b->d);
    }
    if (st != ME_OK) {
        me_atomic_abort(&s.f);
        return st;
    }
    return me_atomic_commit(&s.f, b->d);
}

me_status me_dlc_write(const me_graph *g, const char *path, me_diag *d) {
    if (!g || !path) return me_fail(d, ME_ERR_INVALID_ARG, "me_dlc_write: NULL argument");
    dlc_builder b;
    memset(&b, 0, sizeof b);
    b.g = g;
    b.d = d;
    b.data_off = calloc((size_t)(g->n_tensors > 0 ? g->n_tensors : 1), sizeof *b.data_off);
    if (!b.data_off || !dbuf_grow(&b.strs.bytes, 1)) oom(&b); /* offset 0: "" */
    me_status st = b.st;
    if (st == ME_OK) st = build_tensors(&b);
    if (st == ME_OK) st = build_nodes(&b);
    if (st == ME_OK) st = build_graph_and_meta(&b);
    if (st == ME_OK) st = build_subgraphs(&b);
    if (st == ME_OK && (b.strs.bytes.oom || b.words.oom)) st = oom(&b);
    if (st == ME_OK) st = stream_file(&b, path);
    strtab_free(&b.strs);
    dbuf_free(&b.graph); dbuf_free(&b.tensors); dbuf_free(&b.encodings); dbuf_free(&b.nodes);
    dbuf_free(&b.params); dbuf_free(&b.words); dbuf_free(&b.meta); dbuf_free(&b.subgraphs);
    free(b.data_off);
    return st;
}
