/* The quantize pass: float IR + encodings -> quantised IR (see quantize_pass.h). */
#include "quantize_pass.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "../ops/ops.h"
#include "../passes/passes.h"
#include "algo.h"
#include "quant_kernels.h"

/* ---- encoding table ---- */
me_status me_enc_table_init(me_enc_table *t, int n, me_diag *d) {
    t->n = n;
    t->e = calloc((size_t)(n > 0 ? n : 1), sizeof *t->e);
    return t->e ? ME_OK : me_fail(d, ME_ERR_NOMEM, "out of memory");
}

void me_enc_table_free(me_enc_table *t) {
    if (!t || !t->e) return;
    for (int i = 0; i < t->n; i++) {
        free(t->e[i].scales);
        free(t->e[i].offsets);
        free(t->e[i].block_scales);
    }
    free(t->e);
    memset(t, 0, sizeof *t);
}

me_status me_enc_set(me_tensor_enc *e, me_tenc_kind kind, int bw, bool sym, int n, const float *scales,
                     const int32_t *offsets, me_diag *d) {
    bool param = e->is_param;
    free(e->scales);
    free(e->offsets);
    free(e->block_scales);
    memset(e, 0, sizeof *e);
    e->is_param = param;
    e->kind = kind;
    e->bw = bw;
    e->sym = sym;
    if (kind != ME_TENC_INT) return ME_OK;
    e->n = n;
    e->scales = malloc((size_t)n * sizeof *e->scales);
    e->offsets = malloc((size_t)n * sizeof *e->offsets);
    if (!e->scales || !e->offsets) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    memcpy(e->scales, scales, (size_t)n * sizeof *scales);
    memcpy(e->offsets, offsets, (size_t)n * sizeof *offsets);
    return ME_OK;
}

me_status me_enc_set_lpbq(me_tensor_enc *e, int64_t block_size, int compressed_bw, int64_t n_blocks,
                          const uint32_t *block_scales, me_diag *d) {
    size_t count;
    if (e->kind != ME_TENC_INT || block_size < 1 || n_blocks < 1 || !me_mul_size((size_t)e->n, (size_t)n_blocks, &count) ||
        count > SIZE_MAX / sizeof *block_scales)
        return me_fail(d, ME_ERR_INTERNAL, "LPBQ encoding without channels or blocks");
    uint32_t *copy = malloc(count * sizeof *copy);
    if (!copy) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    memcpy(copy, block_scales, count * sizeof *copy);
    free(e->block_scales);
    e->block_scales = copy;
    e->block_size = block_size;
    e->compressed_bw = compressed_bw;
    e->n_blocks = n_blocks;
    return ME_OK;
}

/* ---- pass state ---- */
typedef struct qstate {
    me_graph *g;
    const me_compile_options *o;
    me_enc_table *enc;
    me_diag *d;
    int n0;          /* tensors of the float graph */
    int *q_of;       /* [n0] tensor holding the quantised version, or -1 */
    int *f_of;       /* [n0] tensor holding the float version, or -1 */
    int *uses;       /* [n0] number of node inputs reading the tensor */
    bool *act;       /* [n0] a float activation of the float graph */
} qstate;

enum { ROLE_OTHER, ROLE_ACT, ROLE_WEIGHT, ROLE_BIAS, ROLE_CONST };

static bool is_f32_act(const me_tensor *t) { return t->dtype == ME_DT_F32 && !(t->flags & ME_TF_STATIC); }
static bool is_f32_static(const me_tensor *t) { return t->dtype == ME_DT_F32 && (t->flags & ME_TF_STATIC); }

static bool is_conv(int op) {
    return op == ME_OP_CONV2D || op == ME_OP_DEPTHWISE_CONV2D || op == ME_OP_TRANSPOSE_CONV2D;
}

/* Data-movement ops whose output keeps the input's encoding. */
static bool keeps_encoding(int op) {
    switch (op) {
    case ME_OP_RESHAPE: case ME_OP_TRANSPOSE: case ME_OP_SPLIT: case ME_OP_STRIDED_SLICE: case ME_OP_GATHER:
    case ME_OP_PAD: case ME_OP_TILE: case ME_OP_DEPTH_TO_SPACE: case ME_OP_SPACE_TO_DEPTH: case ME_OP_POOL_MAX2D:
    case ME_OP_RELU: case ME_OP_RELU_MIN_MAX:
        return true;
    default:
        return false;
    }
}

static int role_of(const qstate *s, const me_node *n, int k) {
    const me_graph *g = s->g;
    int t = n->in[k];
    if (t < 0 || t >= s->n0) return ROLE_OTHER;
    const me_tensor *tt = &g->tensors[t];
    if (s->act[t]) return ROLE_ACT;
    if (!is_f32_static(tt)) return ROLE_OTHER;
    if (is_conv(n->op) || n->op == ME_OP_FULLY_CONNECTED || n->op == ME_OP_MATMUL) {
        if (k == 1) return ROLE_WEIGHT;
        if (k == 2) return ROLE_BIAS;
    }
    return ROLE_CONST;
}

/* Output-channel axis of a weight (qnn.md §2.6). */
static int weight_axis(const me_graph *g, const me_node *n) {
    const me_tensor *w = &g->tensors[n->in[1]];
    if (n->op == ME_OP_FULLY_CONNECTED) return 0;
    if (n->op == ME_OP_MATMUL) return me_param_int(n, "transpose_in1", 0) ? w->rank - 2 : w->rank - 1;
    return w->rank - 1;
}

static me_dtype act_dtype(int bw) { return bw == 16 ? ME_DT_U16 : ME_DT_U8; }
static me_dtype weight_dtype(int bw) { return bw == 4 ? ME_DT_I4 : bw == 16 ? ME_DT_I16 : ME_DT_I8; }

static me_qenc *make_qenc(me_graph *g, int bw, bool is_signed, int axis, int n, const float *scales,
                          const int32_t *offsets) {
    me_qenc *q = me_arena_calloc(&g->arena, 1, sizeof *q);
    if (!q) return NULL;
    q->kind = axis >= 0 ? ME_QENC_AXIS_SCALE_OFFSET : ME_QENC_SCALE_OFFSET;
    q->bitwidth = bw;
    q->is_signed = is_signed;
    q->axis = axis >= 0 ? axis : 0;
    q->n = n;
    q->scales = me_arena_alloc(&g->arena, (size_t)n * sizeof(float));
    q->offsets = me_arena_calloc(&g->arena, (size_t)n, sizeof(int32_t));
    if (!q->scales || !q->offsets) return NULL;
    memcpy(q->scales, scales, (size_t)n * sizeof(float));
    if (offsets) memcpy(q->offsets, offsets, (size_t)n * sizeof(int32_t));
    return q;
}

/* The activation encoding of float-graph tensor t as an IR encoding. */
static me_qenc *act_qenc(qstate *s, int t) {
    const me_tensor_enc *e = &s->enc->e[t];
    return make_qenc(s->g, e->bw, false, -1, 1, e->scales, e->offsets);
}

static int add_node1(qstate *s, const char *name, int op, int in, int out, const char *scope) {
    return me_graph_add_node(s->g, name, op, &in, 1, &out, 1, scope, s->d);
}

/* A new tensor shaped like t. */
static int clone_tensor(qstate *s, int t, const char *suffix, me_dtype dt, me_qenc *q) {
    char name[512];
    snprintf(name, sizeof name, "%s%s", s->g->tensors[t].name, suffix);
    int r = me_graph_add_tensor_unique(s->g, name, dt, s->g->tensors[t].rank, s->g->tensors[t].dims, s->d);
    if (r >= 0) s->g->tensors[r].qenc = q;
    return r;
}

/* Float version of float-graph tensor t (Dequantize inserted once). */
static int get_float(qstate *s, int t, const char *scope) {
    if (s->f_of[t] >= 0) return s->f_of[t];
    int q = s->q_of[t];
    if (q < 0) return t;
    int f = clone_tensor(s, t, "_dequantized", ME_DT_F32, NULL);
    if (f < 0) return -1;
    char name[512];
    snprintf(name, sizeof name, "%s_dequantize", s->g->tensors[t].name);
    if (add_node1(s, name, ME_OP_DEQUANTIZE, q, f, scope) < 0) return -1;
    s->f_of[t] = f;
    return f;
}

/* ---- weights ---- */
typedef struct saved_static {
    int t;
    me_dtype dtype;
    const void *data;
    size_t nbytes;
    me_qenc *qenc;
} saved_static;

static void store_code(void *data, me_dtype dt, int64_t i, int32_t v) {
    switch (dt) {
    case ME_DT_I8: ((int8_t *)data)[i] = (int8_t)v; break;
    case ME_DT_I16: ((int16_t *)data)[i] = (int16_t)v; break;
    case ME_DT_I32: ((int32_t *)data)[i] = v; break;
    case ME_DT_I4: {
        uint8_t *b = data;
        uint8_t nib = (uint8_t)(v & 0xF);
        b[i / 2] = (i & 1) ? (uint8_t)((b[i / 2] & 0x0F) | (nib << 4)) : (uint8_t)((b[i / 2] & 0xF0) | nib);
        break;
    }
    default: break;
    }
}

static size_t storage_bytes(me_dtype dt, int64_t n) {
    if (dt == ME_DT_I4) return (size_t)((n + 1) / 2);
    return (size_t)n * me_dtype_size(dt);
}

/* Write the quantised tensor into a new static tensor or in place. Returns
 * the tensor id now holding it. */
static int put_static(qstate *s, int t, bool in_place, me_dtype dt, void *data, size_t nbytes, me_qenc *q,
                      saved_static *sv) {
    me_graph *g = s->g;
    if (in_place) {
        me_tensor *tt = &g->tensors[t];
        sv->t = t;
        sv->dtype = tt->dtype;
        sv->data = tt->data;
        sv->nbytes = tt->nbytes;
        sv->qenc = tt->qenc;
        tt->dtype = dt;
        tt->data = data;
        tt->nbytes = nbytes;
        tt->qenc = q;
        return t;
    }
    char name[512];
    snprintf(name, sizeof name, "%s_quantized", g->tensors[t].name);
    int64_t dims[ME_MAX_RANK];
    int rank = g->tensors[t].rank;
    memcpy(dims, g->tensors[t].dims, sizeof dims);
    int base = me_graph_find_tensor(g, name);
    char uname[600];
    snprintf(uname, sizeof uname, "%s", name);
    for (int k = 1; base >= 0; k++) {
        snprintf(uname, sizeof uname, "%s_%d", name, k);
        base = me_graph_find_tensor(g, uname);
    }
    int r = me_graph_add_static_ref(g, uname, dt, rank, dims, data, nbytes, s->d);
    if (r >= 0) g->tensors[r].qenc = q;
    return r;
}

/* Per-channel (axis >= 0) or per-tensor symmetric scales for weight t,
 * from the override in enc or computed. Fills scales[nc]. */
static me_status weight_scales(qstate *s, int t, int axis, int bw, float *scales, int64_t nc) {
    const me_tensor *w = &s->g->tensors[t];
    const me_tensor_enc *e = &s->enc->e[t];
    if (e->kind == ME_TENC_INT) {
        if (e->n != nc && !(e->n == 1 && nc == 1))
            return me_fail(s->d, ME_ERR_FORMAT, "encoding of weight '%s': %d scale%s given, %lld channel%s expected", me_tensor_source_name(w),
                           e->n, e->n == 1 ? "" : "s", (long long)nc, nc == 1 ? "" : "s");
        for (int64_t c = 0; c < nc; c++) {
            if (e->offsets[c] != 0 && e->offsets[c] != -(1 << (e->bw - 1)))
                return me_fail(s->d, ME_ERR_UNSUPPORTED, "encoding of weight '%s': offset %d; weights must be symmetric (offset %d)",
                               me_tensor_source_name(w), e->offsets[c], -(1 << (e->bw - 1)));
            scales[c] = e->scales[c];
        }
        return ME_OK;
    }
    const float *x = w->data;
    int64_t outer, run;
    if (axis >= 0) {
        outer = 1;
        for (int i = 0; i < axis; i++) outer *= w->dims[i];
        run = 1;
        for (int i = axis + 1; i < w->rank; i++) run *= w->dims[i];
    } else {
        outer = 1;
        run = me_tensor_numel(w);
    }
    int64_t per = outer * run;
    float *buf = malloc((size_t)(per > 0 ? per : 1) * sizeof *buf);
    if (!buf) return me_fail(s->d, ME_ERR_NOMEM, "out of memory");
    for (int64_t c = 0; c < nc; c++) {
        int64_t m = 0;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t r = 0; r < run; r++) buf[m++] = x[(o * nc + c) * run + r];
        scales[c] = me_algo_weight_scale_of(buf, m, s->o->param_quantizer, bw);
    }
    free(buf);
    return ME_OK;
}

/* Quantise weight input of node ni; returns the tensor id to use, or -1. */
static int quantise_weight(qstate *s, int ni, int t, bool in_place, saved_static *sv, int *axis_out) {
    me_graph *g = s->g;
    const me_node *n = &g->nodes[ni];
    int bw = s->enc->e[t].kind == ME_TENC_INT ? s->enc->e[t].bw : s->o->weights_bitwidth;
    if (bw != 4 && bw != 8 && bw != 16) {
        me_fail(s->d, ME_ERR_UNSUPPORTED, "weight '%s': bitwidth %d (4, 8 or 16 are supported)", me_tensor_source_name(&g->tensors[t]), bw);
        return -1;
    }
    bool per_ch = is_conv(n->op) ? s->o->per_channel : s->o->per_row;
    const me_tensor_enc *ov = &s->enc->e[t];
    const bool lpbq = ov->kind == ME_TENC_INT && ov->block_size > 0;
    if (ov->kind == ME_TENC_INT) per_ch = ov->n > 1 || lpbq;
    if (lpbq && n->op != ME_OP_FULLY_CONNECTED && n->op != ME_OP_MATMUL && n->op != ME_OP_CONV2D) {
        me_fail(s->d, ME_ERR_UNSUPPORTED, "weight '%s': an LPBQ encoding needs the weight of a FullyConnected, MatMul or "
                "Conv2d (its input channels are cut into blocks); node '%s' is %s", me_tensor_source_name(&g->tensors[t]), n->name,
                me_op_names[n->op]);
        return -1;
    }
    int axis = per_ch ? weight_axis(g, n) : -1;
    int64_t nc = axis >= 0 ? g->tensors[t].dims[axis] : 1;
    if (s->enc->e[t].kind == ME_TENC_INT && s->enc->e[t].n > 1 && s->enc->e[t].n != nc) {
        me_fail(s->d, ME_ERR_FORMAT, "encoding of weight '%s': %d channels given, the output channel axis %d has %lld",
                me_tensor_source_name(&g->tensors[t]), s->enc->e[t].n, axis, (long long)nc);
        return -1;
    }
    /* LPBQ: the input-channel axis, cut into ov->n_blocks blocks */
    int in_axis = -1;
    int64_t in_dim = 1, in_stride = 1;
    if (lpbq) {
        const me_tensor *w = &g->tensors[t];
        in_axis = n->op == ME_OP_FULLY_CONNECTED ? 1
                  : n->op == ME_OP_MATMUL ? (me_param_int(n, "transpose_in1", 0) ? w->rank - 1 : w->rank - 2)
                                          : w->rank - 2; /* Conv2d HWIO: I */
        in_dim = in_axis >= 0 && in_axis < w->rank ? w->dims[in_axis] : 0;
        for (int i = in_axis + 1; i < w->rank; i++) in_stride *= w->dims[i];
        if (in_axis < 0 || in_axis == axis || in_dim % ov->block_size != 0 || in_dim / ov->block_size != ov->n_blocks) {
            me_fail(s->d, ME_ERR_FORMAT, "LPBQ encoding of weight '%s': block_size %lld and %lld blocks per channel do not "
                    "cut its %lld input channels into equal blocks", me_tensor_source_name(w), (long long)ov->block_size,
                    (long long)ov->n_blocks, (long long)in_dim);
            return -1;
        }
    }
    float *scales = malloc((size_t)nc * sizeof *scales);
    uint32_t *mult = lpbq ? malloc((size_t)(nc * ov->n_blocks) * sizeof *mult) : NULL;
    if (!scales || (lpbq && !mult)) { free(scales); free(mult); me_fail(s->d, ME_ERR_NOMEM, "out of memory"); return -1; }
    if (weight_scales(s, t, axis, bw, scales, nc) != ME_OK) { free(scales); free(mult); return -1; }
    const int64_t lp_block = lpbq ? ov->block_size : 0, lp_blocks = lpbq ? ov->n_blocks : 0;
    const int lp_bw = lpbq ? ov->compressed_bw : 0;
    if (lpbq) memcpy(mult, ov->block_scales, (size_t)(nc * lp_blocks) * sizeof *mult);
    const me_tensor *w = &g->tensors[t];
    int64_t numel = me_tensor_numel(w), outer = 1, run = 1;
    if (axis >= 0) {
        for (int i = 0; i < axis; i++) outer *= w->dims[i];
        for (int i = axis + 1; i < w->rank; i++) run *= w->dims[i];
    } else {
        run = numel;
    }
    me_dtype dt = weight_dtype(bw);
    size_t nbytes = storage_bytes(dt, numel);
    void *data = me_arena_calloc(&g->arena, nbytes ? nbytes : 1, 1);
    me_qenc *q = make_qenc(g, bw, true, axis, (int)nc, scales, NULL);
    if (!data || !q) { free(scales); free(mult); me_fail(s->d, ME_ERR_NOMEM, "out of memory"); return -1; }
    const float *x = w->data;
    int32_t lo = -(1 << (bw - 1)), hi = (1 << (bw - 1)) - 1;
    /* LPBQ codes have compressed_bw bits; code x multiplier fits bw bits (the reader bounds the multipliers) */
    const int32_t clo = lpbq ? -(1 << (lp_bw - 1)) : lo, chi = lpbq ? (1 << (lp_bw - 1)) - 1 : hi;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < nc; c++)
            for (int64_t r = 0; r < run; r++) {
                int64_t i = (o * nc + c) * run + r;
                double m = lpbq ? (double)mult[c * lp_blocks + ((i / in_stride) % in_dim) / lp_block] : 1.0;
                double v = nearbyint((double)x[i] / ((double)scales[c] * m));
                if (!(v >= clo)) v = v != v ? 0 : clo;
                if (v > chi) v = chi;
                store_code(data, dt, i, (int32_t)(v * m));
            }
    /* record what was used (unsigned view: offset -2^(bw-1)) */
    int32_t *offs = malloc((size_t)nc * sizeof *offs);
    if (!offs) { free(scales); me_fail(s->d, ME_ERR_NOMEM, "out of memory"); return -1; }
    for (int64_t c = 0; c < nc; c++) offs[c] = lo;
    me_status st = me_enc_set(&s->enc->e[t], ME_TENC_INT, bw, true, (int)nc, scales, offs, s->d);
    if (st == ME_OK && lpbq) st = me_enc_set_lpbq(&s->enc->e[t], lp_block, lp_bw, lp_blocks, mult, s->d);
    free(offs);
    free(scales);
    free(mult);
    if (st != ME_OK) return -1;
    *axis_out = axis;
    return put_static(s, t, in_place, dt, data, nbytes, q, sv);
}

/* Bias: I32 at in_scale * w_scale[c] (or I8 with its own symmetric scale). */
static int quantise_bias(qstate *s, int t, const me_qenc *in_q, const me_qenc *w_q, bool in_place, saved_static *sv) {
    me_graph *g = s->g;
    const me_tensor *b = &g->tensors[t];
    int64_t n = me_tensor_numel(b);
    const float *x = b->data;
    int bw = s->o->bias_bitwidth;
    const me_tensor_enc *ov = &s->enc->e[t];
    bool per_ch = w_q->kind == ME_QENC_AXIS_SCALE_OFFSET;
    int64_t nc = per_ch ? w_q->n : 1;
    if (per_ch && nc != n) {
        me_fail(s->d, ME_ERR_FORMAT, "bias '%s' has %lld elements, the weight has %lld channels", b->name, (long long)n,
                (long long)nc);
        return -1;
    }
    float *scales = malloc((size_t)nc * sizeof *scales);
    if (!scales) { me_fail(s->d, ME_ERR_NOMEM, "out of memory"); return -1; }
    if (bw == 8) {
        double absmax = 0;
        for (int64_t i = 0; i < n; i++) absmax = fmax(absmax, fabs(x[i]));
        nc = 1;
        per_ch = false;
        scales[0] = ov->kind == ME_TENC_INT && ov->n == 1 ? ov->scales[0] : me_algo_weight_scale(absmax, 8);
    } else {
        for (int64_t c = 0; c < nc; c++) scales[c] = in_q->scales[0] * w_q->scales[c];
        /* a bias beyond int32 at that scale (e.g. A16W16) gets a coarser scale of its own */
        for (int64_t i = 0; i < n; i++) {
            int64_t c = per_ch ? i : 0;
            double need = fabs((double)x[i]) / 2147483520.0;
            if (isfinite(need) && need > scales[c]) scales[c] = (float)need * 1.0000002f;
        }
    }
    me_dtype dt = bw == 8 ? ME_DT_I8 : ME_DT_I32;
    size_t nbytes = storage_bytes(dt, n);
    void *data = me_arena_calloc(&g->arena, nbytes ? nbytes : 1, 1);
    me_qenc *q = make_qenc(g, bw, true, per_ch ? 0 : -1, (int)nc, scales, NULL);
    if (!data || !q) { free(scales); me_fail(s->d, ME_ERR_NOMEM, "out of memory"); return -1; }
    double lo = bw == 8 ? -128 : -2147483648.0, hi = bw == 8 ? 127 : 2147483647.0;
    for (int64_t i = 0; i < n; i++) {
        double v = nearbyint((double)x[i] / scales[per_ch ? i : 0]);
        if (!(v >= lo)) v = v != v ? 0 : lo;
        if (v > hi) v = hi;
        store_code(data, dt, i, (int32_t)v);
    }
    int32_t *offs = malloc((size_t)nc * sizeof *offs);
    if (!offs) { free(scales); me_fail(s->d, ME_ERR_NOMEM, "out of memory"); return -1; }
    for (int64_t c = 0; c < nc; c++) offs[c] = bw == 8 ? -128 : INT32_MIN;
    me_status st = me_enc_set(&s->enc->e[t], ME_TENC_INT, bw, true, (int)nc, scales, offs, s->d);
    free(offs);
    free(scales);
    if (st != ME_OK) return -1;
    return put_static(s, t, in_place, dt, data, nbytes, q, sv);
}

/* Other float constants read by a quantised op: unsigned, tf at act bitwidth. */
static int quantise_const(qstate *s, int t, bool in_place, saved_static *sv) {
    me_graph *g = s->g;
    const me_tensor *c = &g->tensors[t];
    int64_t n = me_tensor_numel(c);
    const float *x = c->data;
    me_enc1 e;
    const me_tensor_enc *ov = &s->enc->e[t];
    if (ov->kind == ME_TENC_INT && ov->n == 1) {
        e = me_enc1_from_scale(ov->scales[0], ov->offsets[0], ov->bw, ov->sym);
    } else {
        double mn = 0, mx = 0;
        for (int64_t i = 0; i < n; i++)
            if (isfinite(x[i])) { mn = fmin(mn, x[i]); mx = fmax(mx, x[i]); }
        e = me_algo_tf(mn, mx, s->o->act_bitwidth);
    }
    if (e.bw != 8 && e.bw != 16) {
        me_fail(s->d, ME_ERR_UNSUPPORTED, "constant '%s': bitwidth %d (8 or 16 are supported)", c->name, e.bw);
        return -1;
    }
    me_dtype dt = act_dtype(e.bw);
    size_t nbytes = storage_bytes(dt, n);
    void *data = me_arena_calloc(&g->arena, nbytes ? nbytes : 1, 1);
    me_qenc *q = make_qenc(g, e.bw, false, -1, 1, &e.scale, &e.offset);
    if (!data || !q) { me_fail(s->d, ME_ERR_NOMEM, "out of memory"); return -1; }
    double hi = ldexp(1.0, e.bw) - 1;
    for (int64_t i = 0; i < n; i++) {
        double v = nearbyint((double)x[i] / e.scale) - e.offset;
        if (!(v >= 0)) v = 0;
        if (v > hi) v = hi;
        if (dt == ME_DT_U8) ((uint8_t *)data)[i] = (uint8_t)v;
        else ((uint16_t *)data)[i] = (uint16_t)v;
    }
    if (me_enc_set(&s->enc->e[t], ME_TENC_INT, e.bw, e.sym, 1, &e.scale, &e.offset, s->d) != ME_OK) return -1;
    return put_static(s, t, in_place, dt, data, nbytes, q, sv);
}

static void restore_static(me_graph *g, const saved_static *sv) {
    me_tensor *t = &g->tensors[sv->t];
    t->dtype = sv->dtype;
    t->data = sv->data;
    t->nbytes = sv->nbytes;
    t->qenc = sv->qenc;
}

static bool qenc_same(const me_qenc *a, const me_qenc *b) {
    return a && b && a->kind == b->kind && a->bitwidth == b->bitwidth && a->n == b->n &&
           memcmp(a->scales, b->scales, (size_t)a->n * sizeof(float)) == 0 &&
           memcmp(a->offsets, b->offsets, (size_t)a->n * sizeof(int32_t)) == 0;
}

/* Float ops writing quantised tensors: node writes a float temp, Quantize into t. */
static me_status float_outputs(qstate *s, int ni) {
    me_graph *g = s->g;
    for (int k = 0; k < g->nodes[ni].n_out; k++) {
        int t = g->nodes[ni].out[k];
        if (t >= s->n0 || !is_f32_act(&g->tensors[t]) || s->enc->e[t].kind != ME_TENC_INT) {
            if (t < s->n0) s->f_of[t] = t;
            continue;
        }
        me_qenc *q = act_qenc(s, t);
        int tf = clone_tensor(s, t, "_float", ME_DT_F32, NULL);
        if (!q || tf < 0) return me_fail(s->d, ME_ERR_NOMEM, "out of memory");
        g->nodes[ni].out[k] = tf;
        g->tensors[tf].producer = ni;
        g->tensors[t].dtype = act_dtype(s->enc->e[t].bw);
        g->tensors[t].qenc = q;
        char name[512];
        snprintf(name, sizeof name, "%s_quantize", g->tensors[t].name);
        const char *scope = g->nodes[ni].scope;
        if (add_node1(s, name, ME_OP_QUANTIZE, tf, t, scope) < 0) return ME_ERR_NOMEM;
        s->q_of[t] = t;
        s->f_of[t] = tf;
    }
    return ME_OK;
}

/* Try node ni quantised; on refusal everything is undone and *ok = false. */
static me_status try_quantised(qstate *s, int ni, bool *ok) {
    me_graph *g = s->g;
    *ok = false;
    me_node *n = &g->nodes[ni];
    if (!me_op_quant_capable(n->op)) return ME_OK;
    int n_in = n->n_in, n_out = n->n_out;
    /* every float activation must have a quantised version, every output an encoding */
    for (int k = 0; k < n_in; k++) {
        int t = n->in[k];
        if (role_of(s, n, k) == ROLE_ACT && (t >= s->n0 || s->q_of[t] < 0)) return ME_OK;
        if ((role_of(s, n, k) == ROLE_WEIGHT || role_of(s, n, k) == ROLE_BIAS || role_of(s, n, k) == ROLE_CONST) &&
            s->enc->e[t].kind == ME_TENC_FLOAT)
            return ME_OK;
    }
    bool keep = keeps_encoding(n->op) && n->in[0] >= 0 && n->in[0] < s->n0 && s->q_of[n->in[0]] >= 0;
    for (int k = 0; k < n_out; k++) {
        int t = n->out[k];
        if (!is_f32_act(&g->tensors[t])) continue;
        if (s->enc->e[t].kind == ME_TENC_FLOAT) return ME_OK;
        if (s->enc->e[t].kind != ME_TENC_INT && !keep) return ME_OK;
    }
    int *old_in = malloc((size_t)(n_in + 1) * sizeof *old_in);
    saved_static *sv = calloc((size_t)(n_in + 1), sizeof *sv);
    me_dtype *old_dt = malloc((size_t)(n_out + 1) * sizeof *old_dt);
    me_qenc **old_q = malloc((size_t)(n_out + 1) * sizeof *old_q);
    if (!old_in || !sv || !old_dt || !old_q) {
        free(old_in); free(sv); free(old_dt); free(old_q);
        return me_fail(s->d, ME_ERR_NOMEM, "out of memory");
    }
    memcpy(old_in, n->in, (size_t)n_in * sizeof *old_in);
    for (int k = 0; k < n_in; k++) sv[k].t = -1;
    me_status st = ME_OK;
    int w_axis = -1;
    const me_qenc *in_q = NULL, *w_q = NULL;
    for (int k = 0; k < n_in && st == ME_OK; k++) {
        int t = g->nodes[ni].in[k];
        int role = role_of(s, &g->nodes[ni], k);
        int nt = t;
        bool in_place = t >= 0 && t < s->n0 && s->uses[t] == 1;
        if (role == ROLE_ACT) {
            nt = s->q_of[t];
            if (k == 0) in_q = g->tensors[nt].qenc;
        } else if (role == ROLE_WEIGHT) {
            nt = quantise_weight(s, ni, t, in_place, &sv[k], &w_axis);
            if (nt >= 0) w_q = g->tensors[nt].qenc;
        } else if (role == ROLE_BIAS) {
            nt = in_q && w_q ? quantise_bias(s, t, in_q, w_q, in_place, &sv[k]) : -2;
        } else if (role == ROLE_CONST) {
            nt = quantise_const(s, t, in_place, &sv[k]);
        }
        if (nt == -2) { st = ME_ERR_UNSUPPORTED; break; } /* not quantisable here: float */
        if (nt < 0) { st = ME_ERR_FORMAT; break; }         /* a real error (diag says why) */
        g->nodes[ni].in[k] = nt;
    }
    if (st == ME_OK) {
        const me_qenc *kept = keep ? g->tensors[s->q_of[old_in[0]]].qenc : NULL;
        for (int k = 0; k < n_out; k++) {
            int t = g->nodes[ni].out[k];
            old_dt[k] = g->tensors[t].dtype;
            old_q[k] = g->tensors[t].qenc;
            if (!is_f32_act(&g->tensors[t])) continue;
            me_qenc *q = kept ? (me_qenc *)kept : act_qenc(s, t);
            if (!q) { st = me_fail(s->d, ME_ERR_NOMEM, "out of memory"); break; }
            g->tensors[t].dtype = act_dtype(q->bitwidth);
            g->tensors[t].qenc = q;
        }
    }
    bool accept = st == ME_OK && me_op_has_quant_kernel(g, &g->nodes[ni]);
    if (!accept) {
        for (int k = 0; k < n_in; k++)
            if (sv[k].t >= 0) restore_static(g, &sv[k]);
        memcpy(g->nodes[ni].in, old_in, (size_t)n_in * sizeof *old_in);
        for (int k = 0; k < n_out && st == ME_OK; k++) {
            int t = g->nodes[ni].out[k];
            g->tensors[t].dtype = old_dt[k];
            g->tensors[t].qenc = old_q[k];
        }
        /* a refused weight keeps no encoding of ours: the op runs in float */
        for (int k = 0; k < n_in; k++) {
            int t = old_in[k];
            int role = role_of(s, &g->nodes[ni], k);
            if (t >= 0 && t < s->n0 && (role == ROLE_WEIGHT || role == ROLE_BIAS || role == ROLE_CONST) &&
                s->enc->e[t].kind == ME_TENC_INT && s->uses[t] == 1)
                me_enc_set(&s->enc->e[t], ME_TENC_NONE, 0, false, 0, NULL, NULL, NULL);
        }
        if (st == ME_ERR_UNSUPPORTED) st = ME_OK;
    } else {
        for (int k = 0; k < n_out; k++) {
            int t = g->nodes[ni].out[k];
            if (t >= s->n0 || !g->tensors[t].qenc) continue;
            s->q_of[t] = t;
            const me_qenc *q = g->tensors[t].qenc;
            st = me_enc_set(&s->enc->e[t], ME_TENC_INT, q->bitwidth, false, 1, q->scales, q->offsets, s->d);
        }
        *ok = true;
    }
    free(old_in); free(sv); free(old_dt); free(old_q);
    return st;
}

/* Concat inputs with another encoding than the output: Dequantize -> Quantize. */
static me_status requantise_concat_inputs(qstate *s, int ni) {
    me_graph *g = s->g;
    if (g->nodes[ni].op != ME_OP_CONCAT) return ME_OK;
    me_qenc *oq = g->tensors[g->nodes[ni].out[0]].qenc;
    for (int k = 0; k < g->nodes[ni].n_in; k++) {
        int t = g->nodes[ni].in[k];
        if (t < 0 || !g->tensors[t].qenc || qenc_same(g->tensors[t].qenc, oq)) continue;
        int f = clone_tensor(s, t, "_rq_float", ME_DT_F32, NULL);
        int q = clone_tensor(s, t, "_requantized", g->tensors[g->nodes[ni].out[0]].dtype, oq);
        if (f < 0 || q < 0) return ME_ERR_NOMEM;
        const char *scope = g->nodes[ni].scope;
        char name[512];
        snprintf(name, sizeof name, "%s_rq_dequantize", g->tensors[t].name);
        if (add_node1(s, name, ME_OP_DEQUANTIZE, t, f, scope) < 0) return ME_ERR_NOMEM;
        snprintf(name, sizeof name, "%s_rq_quantize", g->tensors[t].name);
        if (add_node1(s, name, ME_OP_QUANTIZE, f, q, scope) < 0) return ME_ERR_NOMEM;
        g->nodes[ni].in[k] = q;
    }
    return ME_OK;
}

/* Graph output t (quantised now): its producer writes a new tensor, and a
 * Dequantize restores t in float. */
static me_status dequantize_output(qstate *s, int t) {
    me_graph *g = s->g;
    if (g->tensors[t].dtype == ME_DT_F32 || !g->tensors[t].qenc) return ME_OK;
    int p = -1, pk = -1;
    for (int i = 0; i < g->n_nodes && p < 0; i++) {
        if (g->nodes[i].dead) continue;
        for (int k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] == t) { p = i; pk = k; break; }
    }
    if (p < 0) return ME_OK;
    int tq = clone_tensor(s, t, "_quantized", g->tensors[t].dtype, g->tensors[t].qenc);
    if (tq < 0) return ME_ERR_NOMEM;
    g->nodes[p].out[pk] = tq;
    g->tensors[tq].producer = p;
    /* later readers of t read tq */
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == t) g->nodes[i].in[k] = tq;
    g->tensors[t].dtype = ME_DT_F32;
    g->tensors[t].qenc = NULL;
    char name[512];
    snprintf(name, sizeof name, "%s_dequantize", g->tensors[t].name);
    if (add_node1(s, name, ME_OP_DEQUANTIZE, tq, t, g->nodes[p].scope) < 0) return ME_ERR_NOMEM;
    s->q_of[t] = tq;
    s->f_of[t] = t;
    return ME_OK;
}

me_status me_quantize_graph(me_graph *g, const me_compile_options *o, me_enc_table *enc, me_diag *d) {
    qstate s = {g, o, enc, d, g->n_tensors, NULL, NULL, NULL, NULL};
    if (enc->n != g->n_tensors) return me_fail(d, ME_ERR_INTERNAL, "encoding table does not match the graph");
    s.q_of = malloc((size_t)(s.n0 + 1) * sizeof(int));
    s.f_of = malloc((size_t)(s.n0 + 1) * sizeof(int));
    s.uses = calloc((size_t)(s.n0 + 1), sizeof(int));
    s.act = calloc((size_t)(s.n0 + 1), sizeof(bool));
    int *order = malloc((size_t)(g->n_nodes + 1) * sizeof(int));
    me_status st = ME_OK;
    if (!s.q_of || !s.f_of || !s.uses || !s.act || !order) st = me_fail(d, ME_ERR_NOMEM, "out of memory");
    int n_order = 0;
    if (st == ME_OK) st = me_graph_toposort(g, order, &n_order, d);
    for (int t = 0; st == ME_OK && t < s.n0; t++) {
        s.q_of[t] = -1;
        s.f_of[t] = -1;
        s.act[t] = is_f32_act(&g->tensors[t]);
        if (g->tensors[t].flags & ME_TF_STATIC) enc->e[t].is_param = true;
    }
    for (int i = 0; st == ME_OK && i < g->n_nodes; i++) {
        if (g->nodes[i].dead) continue;
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0) s.uses[g->nodes[i].in[k]]++;
    }
    for (int t = 0; st == ME_OK && t < g->n_outputs; t++) s.uses[g->outputs[t]]++;
    /* graph inputs: Quantize right after each float input */
    for (int k = 0; st == ME_OK && k < g->n_inputs; k++) {
        int x = g->inputs[k];
        if (g->tensors[x].dtype != ME_DT_F32) continue;
        s.f_of[x] = -1;
        if (enc->e[x].kind != ME_TENC_INT) { s.f_of[x] = x; continue; }
        me_qenc *q = act_qenc(&s, x);
        int xq = q ? clone_tensor(&s, x, "_quantized", act_dtype(enc->e[x].bw), q) : -1;
        if (xq < 0) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); break; }
        char name[512];
        snprintf(name, sizeof name, "%s_quantize", g->tensors[x].name);
        if (add_node1(&s, name, ME_OP_QUANTIZE, x, xq, "") < 0) st = ME_ERR_NOMEM;
        s.q_of[x] = xq;
    }
    for (int oi = 0; st == ME_OK && oi < n_order; oi++) {
        int ni = order[oi];
        bool ok = false;
        st = try_quantised(&s, ni, &ok);
        if (st != ME_OK) break;
        if (ok) {
            st = requantise_concat_inputs(&s, ni);
        } else {
            for (int k = 0; st == ME_OK && k < g->nodes[ni].n_in; k++) {
                int t = g->nodes[ni].in[k];
                if (t < 0 || t >= s.n0 || !s.act[t] || s.q_of[t] < 0) continue;
                int f = get_float(&s, t, g->nodes[ni].scope);
                if (f < 0) st = ME_ERR_NOMEM;
                else g->nodes[ni].in[k] = f;
            }
            if (st == ME_OK) st = float_outputs(&s, ni);
        }
    }
    for (int k = 0; st == ME_OK && k < g->n_outputs; k++) st = dequantize_output(&s, g->outputs[k]);
    if (st == ME_OK) st = me_graph_order_nodes(g, d);
    free(s.q_of);
    free(s.f_of);
    free(s.uses);
    free(s.act);
    free(order);
    if (st != ME_OK && d && d->count == 0) me_fail(d, st, "quantisation failed (%s)", me_status_str(st));
    return st;
}
