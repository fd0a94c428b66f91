/* GGUF LLM -> IR (docs/llm.md). One routine builds the transformer for a
 * given token count T; it runs twice, for the prefill graph (T = seq_len) and
 * the decode graph (T = 1). Both use the same weight tensors (GGUF names,
 * static references into the mapped file), the same RoPE tables and the
 * same KV-cache inputs "kv_cache.{k,v}.N" [n_head_kv, context, head_dim].
 *
 * Inputs of a graph G: G/tokens [T] int32, G/positions [T] int32 (absolute
 * positions, for RoPE), G/mask [T, context + T] float32 (additive: 0 or -inf,
 * columns = cache rows then the T new tokens), then the caches. Outputs:
 * G/logits [T, vocab], then G/k_new.N and G/v_new.N [n_head_kv, T, head_dim]:
 * the rows the caller writes into the cache at the tokens' positions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/blockq.h"
#include "../../core/sha256.h"
#include "../../core/util.h"
#include "../../ops/ops.h"
#include "llm_arch.h"
#include "llm_gguf.h"

typedef struct llm_b {
    me_graph *g;
    me_diag *d;
    const gguf_file *f;
    const llm_arch *arch;
    const me_llm_hparams *hp;
    bool to_float;
    const char *gname;    /* "prefill" / "decode" */
    int T, C;             /* new tokens, cache rows */
    char scope[64];       /* "blk.3/attn_q" (no leading slash) */
    bool failed;
    int rope_cos, rope_sin;
    me_notice_fn notice;  /* progress ("progress: ..." messages) */
    void *notice_user;
} llm_b;

/* ---------------------------------------------------------------- building blocks */

static int act(llm_b *b, const char *what) {
    if (b->failed) return -1;
    char name[200];
    snprintf(name, sizeof name, "%s/%s/%s", b->gname, b->scope, what);
    int t = me_graph_add_tensor_unique(b->g, name, ME_DT_UNDEFINED, 0, NULL, b->d);
    if (t < 0) b->failed = true;
    return t;
}

/* Adds node op(in) -> out (a fresh tensor unless out >= 0 was prepared, e.g.
 * a Reshape's), sets params through `set` and infers the output shape. */
typedef me_status (*param_fn)(me_graph *g, int node, const void *arg);

static int node(llm_b *b, int op, const int *in, int n_in, int out, const char *what, param_fn set, const void *arg) {
    if (b->failed) return -1;
    for (int i = 0; i < n_in; i++)
        if (in[i] < -1) { b->failed = true; return -1; }
    if (out < 0) out = act(b, what);
    if (out < 0) return -1;
    char scope[80];
    snprintf(scope, sizeof scope, "/%s", b->scope);
    int n = me_graph_add_node(b->g, b->g->tensors[out].name, op, in, n_in, &out, 1, scope, b->d);
    if (n < 0) { b->failed = true; return -1; }
    if (set && set(b->g, n, arg) != ME_OK) {
        me_fail(b->d, ME_ERR_NOMEM, "out of memory setting params of '%s'", b->g->nodes[n].name);
        b->failed = true;
        return -1;
    }
    if (me_opdefs[op]->infer(b->g, &b->g->nodes[n], b->d) != ME_OK) {
        me_diag_add(b->d, "while building the LLM graph (node '%s')", b->g->nodes[n].name);
        b->failed = true;
        return -1;
    }
    return out;
}

static int binary(llm_b *b, int op, int x, int y, const char *what) {
    int in[2] = {x, y};
    return node(b, op, in, 2, -1, what, NULL, NULL);
}

static int unary(llm_b *b, int op, int x, const char *what) { return node(b, op, &x, 1, -1, what, NULL, NULL); }

static int reshape(llm_b *b, int x, int rank, const int64_t *dims, const char *what) {
    if (b->failed) return -1;
    int out = act(b, what);
    if (out < 0) return -1;
    me_tensor *t = &b->g->tensors[out];
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
    return node(b, ME_OP_RESHAPE, &x, 1, out, what, NULL, NULL);
}

typedef struct u32_list { const char *name; int n; const int64_t *v; } u32_list;
static me_status set_u32_list(me_graph *g, int n, const void *arg) {
    const u32_list *l = arg;
    int64_t dims[1] = {l->n};
    return me_node_set_tensor_int(g, n, l->name, ME_DT_U32, 1, dims, l->v);
}

static int transpose(llm_b *b, int x, int rank, const int64_t *perm, const char *what) {
    u32_list l = {"perm", rank, perm};
    return node(b, ME_OP_TRANSPOSE, &x, 1, -1, what, set_u32_list, &l);
}

typedef struct slice_arg { int rank, axis; int64_t begin, end; const int64_t *dims; } slice_arg;
static me_status set_slice(me_graph *g, int n, const void *arg) {
    const slice_arg *s = arg;
    int64_t r[ME_MAX_RANK * 3];
    for (int i = 0; i < s->rank; i++) {
        r[3 * i] = i == s->axis ? s->begin : 0;
        r[3 * i + 1] = i == s->axis ? s->end : s->dims[i];
        r[3 * i + 2] = 1;
    }
    int64_t dims[2] = {s->rank, 3};
    return me_node_set_tensor_int(g, n, "ranges", ME_DT_I32, 2, dims, r);
}

static int slice(llm_b *b, int x, int axis, int64_t begin, int64_t end, const char *what) {
    if (b->failed) return -1;
    const me_tensor *t = &b->g->tensors[x];
    slice_arg s = {t->rank, axis, begin, end, t->dims};
    return node(b, ME_OP_STRIDED_SLICE, &x, 1, -1, what, set_slice, &s);
}

static me_status set_axis(me_graph *g, int n, const void *arg) {
    return me_node_set_scalar_u32(g, n, "axis", (uint32_t)*(const int *)arg);
}

static int concat(llm_b *b, const int *ins, int n_in, int axis, const char *what) {
    return node(b, ME_OP_CONCAT, ins, n_in, -1, what, set_axis, &axis);
}

static me_status set_transpose_in1(me_graph *g, int n, const void *arg) {
    (void)arg;
    return me_node_set_scalar_bool(g, n, "transpose_in1", true);
}

static int matmul(llm_b *b, int x, int y, bool t1, const char *what) {
    int in[2] = {x, y};
    return node(b, ME_OP_MATMUL, in, 2, -1, what, t1 ? set_transpose_in1 : NULL, NULL);
}

static me_status set_softmax(me_graph *g, int n, const void *arg) {
    me_status st = me_node_set_scalar_u32(g, n, "axis", (uint32_t)g->tensors[g->nodes[n].in[0]].rank - 1);
    return st ? st : me_node_set_scalar_f32(g, n, "beta", *(const float *)arg);
}

static int softmax(llm_b *b, int x, float beta, const char *what) {
    return node(b, ME_OP_SOFTMAX, &x, 1, -1, what, set_softmax, &beta);
}

static me_status set_rmsnorm(me_graph *g, int n, const void *arg) {
    int64_t axis = g->tensors[g->nodes[n].in[0]].rank - 1, dims[1] = {1};
    me_status st = me_node_set_scalar_f32(g, n, "epsilon", *(const float *)arg);
    return st ? st : me_node_set_tensor_int(g, n, "axes", ME_DT_U32, 1, dims, &axis);
}

static int rmsnorm(llm_b *b, int x, int gamma) {
    float eps = b->hp->eps;
    int in[2] = {x, gamma};
    return node(b, ME_OP_RMS_NORM, in, 2, -1, "out", set_rmsnorm, &eps);
}

static me_status set_gather(me_graph *g, int n, const void *arg) {
    (void)arg;
    return me_node_set_scalar_i32(g, n, "axis", 0);
}

static int gather(llm_b *b, int table, int idx, const char *what) {
    int in[2] = {table, idx};
    /* Embedding rows are computed in float32 whatever the table's storage
     * (F16/BF16 tables only widen when the output is preset to float32). */
    int out = b->failed ? -1 : act(b, what);
    if (out < 0) return -1;
    b->g->tensors[out].dtype = ME_DT_F32;
    return node(b, ME_OP_GATHER, in, 2, out, what, set_gather, NULL);
}

static int fc(llm_b *b, int x, int w, int bias) {
    int in[3] = {x, w, bias};
    return node(b, ME_OP_FULLY_CONNECTED, in, bias >= 0 ? 3 : 2, -1, "out", NULL, NULL);
}

/* A float32 constant shared by both graphs (found by name). */
static int const_f32(llm_b *b, const char *name, int rank, const int64_t *dims, const float *vals) {
    if (b->failed) return -1;
    int t = me_graph_find_tensor(b->g, name);
    if (t >= 0) return t;
    int64_t n = me_shape_numel(rank, dims);
    t = me_graph_add_static_copy(b->g, name, ME_DT_F32, rank, dims, vals, (size_t)n * sizeof(float), b->d);
    if (t < 0) b->failed = true;
    return t;
}

static int scalar_f32(llm_b *b, const char *name, float v) {
    int64_t one = 1;
    return const_f32(b, name, 1, &one, &v);
}

/* ---------------------------------------------------------------- weights */

static int blockq_bits(int type) {
    return type == ME_GGML_Q8_0 || type == ME_GGML_Q6_K || type == ME_GGML_Q5_0 || type == ME_GGML_Q5_1 ||
                   type == ME_GGML_Q5_K
               ? 8 : 4;
}

/* The IR tensor for GGUF tensor `name` (created on first use, then shared).
 * rank 1: [ne0]; rank 2: [ne1, ne0] = [out, in]. Returns -2 if optional and absent. */
static int weight(llm_b *b, const char *name, int rank, bool optional) {
    if (b->failed) return -1;
    int t = me_graph_find_tensor(b->g, name);
    if (t >= 0) return t;
    const gguf_tensor *gt = gguf_find_tensor(b->f, name);
    if (!gt) {
        if (optional) return -2;
        me_fail(b->d, ME_ERR_FORMAT, "GGUF: the tensor '%s' is missing", name);
        b->failed = true;
        return -1;
    }
    for (uint32_t i = (uint32_t)rank; i < 4; i++)
        if (i < gt->n_dims && gt->ne[i] != 1) {
            me_fail(b->d, ME_ERR_FORMAT, "GGUF: tensor '%s' has %u dimensions, expected %d", name, gt->n_dims, rank);
            b->failed = true;
            return -1;
        }
    int64_t dims[2] = {rank == 2 ? gt->ne[1] : gt->ne[0], gt->ne[0]};
    int64_t numel = rank == 2 ? gt->ne[0] * gt->ne[1] : gt->ne[0];
    me_diag *d = b->d;
    bool float_out = b->to_float || rank == 1;
    if (gt->type == ME_GGML_F32) {
        if (gt->nbytes != (uint64_t)numel * 4) goto bad_size;
        t = me_graph_add_static_ref(b->g, name, ME_DT_F32, rank, dims, gt->data, (size_t)gt->nbytes, d);
    } else if (!float_out && (gt->type == ME_GGML_F16 || gt->type == ME_GGML_BF16)) {
        if (gt->nbytes != (uint64_t)numel * 2) goto bad_size;
        me_dtype dt = gt->type == ME_GGML_F16 ? ME_DT_F16 : ME_DT_BF16;
        t = me_graph_add_static_ref(b->g, name, dt, rank, dims, gt->data, (size_t)gt->nbytes, d);
    } else if (gt->type == ME_GGML_F16 || gt->type == ME_GGML_BF16) {
        if (gt->nbytes != (uint64_t)numel * 2) goto bad_size;
        float *v = me_arena_calloc(&b->g->arena, (size_t)numel, sizeof(float));
        if (!v) goto oom;
        const uint8_t *p = gt->data;
        for (int64_t i = 0; i < numel; i++) {
            uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            v[i] = gt->type == ME_GGML_F16 ? me_f16_to_f32(h) : me_bf16_to_f32(h);
        }
        t = me_graph_add_static_ref(b->g, name, ME_DT_F32, rank, dims, v, (size_t)numel * 4, d);
    } else {
        const me_blockq_traits *tr = me_blockq_get((int)gt->type);
        if (!tr) {
            me_fail(d, ME_ERR_UNSUPPORTED, "GGUF: tensor '%s' has type %u, which is not supported", name, gt->type);
            b->failed = true;
            return -1;
        }
        size_t row = me_blockq_row_bytes((int)gt->type, gt->ne[0]);
        if (!row || (uint64_t)row * (uint64_t)(numel / gt->ne[0]) != gt->nbytes) goto bad_size;
        if (float_out) {
            float *v = me_arena_calloc(&b->g->arena, (size_t)numel, sizeof(float));
            if (!v) goto oom;
            tr->to_float(gt->data, v, numel);
            t = me_graph_add_static_ref(b->g, name, ME_DT_F32, rank, dims, v, (size_t)numel * 4, d);
        } else {
            /* the byte size of a BLOCKQ tensor follows from its encoding: set it first */
            t = me_graph_add_tensor(b->g, name, ME_DT_BLOCKQ, rank, dims, d);
            if (t >= 0) {
                me_qenc *q = me_arena_calloc(&b->g->arena, 1, sizeof *q);
                float *sc = me_arena_calloc(&b->g->arena, 1, sizeof *sc);
                int32_t *of = me_arena_calloc(&b->g->arena, 1, sizeof *of);
                if (!q || !sc || !of) goto oom;
                sc[0] = 1.0f;
                q->kind = ME_QENC_BLOCK;
                q->bitwidth = blockq_bits((int)gt->type);
                q->is_signed = true;
                q->axis = rank - 1;
                q->n = 1;
                q->scales = sc;
                q->offsets = of;
                q->block_size = tr->block_size;
                q->block_type = (int)gt->type;
                me_tensor *tt = &b->g->tensors[t];
                tt->qenc = q;
                if (me_tensor_nbytes(tt) != gt->nbytes) goto bad_size;
                tt->flags |= ME_TF_STATIC;
                tt->data = gt->data;
                tt->nbytes = (size_t)gt->nbytes;
            }
        }
    }
    if (t < 0) b->failed = true;
    return t;
bad_size:
    me_fail(d, ME_ERR_FORMAT, "GGUF: tensor '%s' has %llu bytes, which does not match its type and shape", name,
            (unsigned long long)gt->nbytes);
    b->failed = true;
    return -1;
oom:
    me_fail(d, ME_ERR_NOMEM, "out of memory converting '%s'", name);
    b->failed = true;
    return -1;
}

static int layer_weight(llm_b *b, int layer, const char *what, int rank, bool optional) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s", layer, what);
    return weight(b, name, rank, optional);
}

/* Checks a weight's logical shape. */
static bool shape_is(llm_b *b, int t, int64_t d0, int64_t d1, const char *name) {
    if (b->failed || t < 0) return false;
    const me_tensor *w = &b->g->tensors[t];
    bool ok = w->rank == 2 ? (w->dims[0] == d0 && w->dims[1] == d1) : (w->dims[0] == d0 && d1 == 0);
    if (!ok) {
        me_fail(b->d, ME_ERR_FORMAT, "GGUF: tensor '%s' has shape [%lld, %lld], expected [%lld, %lld]", name,
                (long long)w->dims[0], (long long)(w->rank == 2 ? w->dims[1] : 0), (long long)d0, (long long)d1);
        b->failed = true;
    }
    return ok;
}

/* ---------------------------------------------------------------- transformer pieces */

static void set_scope(llm_b *b, const char *fmt, int layer) { snprintf(b->scope, sizeof b->scope, fmt, layer); }

/* RoPE tables [context, n_rot/2] as ggml computes the angles: theta_k =
 * p * base^(-2k/n_rot) by repeated float multiplication, divided by the
 * optional per-frequency factors (rope_freqs.weight). */
static void build_rope_tables(llm_b *b) {
    const me_llm_hparams *hp = b->hp;
    int64_t half = hp->n_rot / 2, C = b->C;
    int64_t dims[2] = {C, half};
    size_t n = (size_t)C * (size_t)half;
    float *c = me_arena_calloc(&b->g->arena, n ? n : 1, sizeof *c), *s = me_arena_calloc(&b->g->arena, n ? n : 1, sizeof *s);
    if (!c || !s) {
        me_fail(b->d, ME_ERR_NOMEM, "out of memory for the RoPE tables");
        b->failed = true;
        return;
    }
    const float *ff = NULL;
    int fw = weight(b, "rope_freqs.weight", 1, true);
    if (fw >= 0) {
        if (b->g->tensors[fw].dims[0] != half) {
            me_fail(b->d, ME_ERR_FORMAT, "GGUF: rope_freqs.weight must have %lld values", (long long)half);
            b->failed = true;
            return;
        }
        ff = b->g->tensors[fw].data;
    }
    const float theta_scale = powf(hp->rope_base, -2.0f / (float)hp->n_rot);
    for (int64_t p = 0; p < C; p++) {
        float theta = (float)p;
        for (int64_t k = 0; k < half; k++) {
            float th = ff ? theta / ff[k] : theta;
            c[p * half + k] = cosf(th);
            s[p * half + k] = sinf(th);
            theta *= theta_scale;
        }
    }
    b->rope_cos = me_graph_add_static_ref(b->g, "rope.cos", ME_DT_F32, 2, dims, c, n * 4, b->d);
    b->rope_sin = me_graph_add_static_ref(b->g, "rope.sin", ME_DT_F32, 2, dims, s, n * 4, b->d);
    if (b->rope_cos < 0 || b->rope_sin < 0) b->failed = true;
}

/* x [T, heads, hd] rotated by the gathered cos/sin [T, n_rot/2]. */
static int rope(llm_b *b, int x, int heads, int cosv, int sinv, const char *tag) {
    const me_llm_hparams *hp = b->hp;
    int64_t T = b->T, hd = hp->head_dim, r = hp->n_rot, half = r / 2;
    char w[48];
    int rot = x, pass = -1;
    if (r < hd) {
        snprintf(w, sizeof w, "%s_rot", tag);
        rot = slice(b, x, 2, 0, r, w);
        snprintf(w, sizeof w, "%s_pass", tag);
        pass = slice(b, x, 2, r, hd, w);
    }
    bool neox = hp->rope_neox;
    int pair_axis = neox ? 2 : 3;
    int64_t split[4] = {T, heads, neox ? 2 : half, neox ? half : 2};
    int64_t cs_dims[4] = {T, 1, neox ? 1 : half, neox ? half : 1};
    snprintf(w, sizeof w, "%s_pairs", tag);
    int xp = reshape(b, rot, 4, split, w);
    snprintf(w, sizeof w, "%s_cos", tag);
    int c = reshape(b, cosv, 4, cs_dims, w);
    snprintf(w, sizeof w, "%s_sin", tag);
    int s = reshape(b, sinv, 4, cs_dims, w);
    snprintf(w, sizeof w, "%s_x0", tag);
    int x0 = slice(b, xp, pair_axis, 0, 1, w);
    snprintf(w, sizeof w, "%s_x1", tag);
    int x1 = slice(b, xp, pair_axis, 1, 2, w);
    /* ggml: y0 = x0 cos - x1 sin, y1 = x0 sin + x1 cos */
    int y0 = binary(b, ME_OP_SUBTRACT, binary(b, ME_OP_MULTIPLY, x0, c, "x0cos"), binary(b, ME_OP_MULTIPLY, x1, s, "x1sin"),
                    "y0");
    int y1 = binary(b, ME_OP_ADD, binary(b, ME_OP_MULTIPLY, x0, s, "x0sin"), binary(b, ME_OP_MULTIPLY, x1, c, "x1cos"),
                    "y1");
    int ys[2] = {y0, y1};
    snprintf(w, sizeof w, "%s_rotated", tag);
    int cat = concat(b, ys, 2, pair_axis, w);
    int64_t back[3] = {T, heads, r};
    snprintf(w, sizeof w, "%s_roped", tag);
    int out = reshape(b, cat, 3, back, w);
    if (pass >= 0) {
        int parts[2] = {out, pass};
        snprintf(w, sizeof w, "%s_full", tag);
        out = concat(b, parts, 2, 2, w);
    }
    return out;
}

static int cast_to(llm_b *b, int x, me_dtype dt, const char *what) {
    int out = act(b, what);
    if (out < 0) return -1;
    b->g->tensors[out].dtype = dt;
    return node(b, ME_OP_CAST, &x, 1, out, what, NULL, NULL);
}

/* float32 -> float16 -> float32 */
static int round_f16(llm_b *b, int x, const char *what) {
    char w[48];
    snprintf(w, sizeof w, "%s_f16", what);
    return cast_to(b, cast_to(b, x, ME_DT_F16, w), ME_DT_F32, what);
}

/* ggml's GELU (CPU): a table indexed by the float16 value of x, holding
 * float16(0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2)))); reproduced by
 * rounding the input and the result through float16. */
static int gelu_tanh(llm_b *b, int x) {
    x = round_f16(b, x, "x_f16_rounded");
    int x2 = binary(b, ME_OP_MULTIPLY, x, x, "x2");
    int inner = binary(b, ME_OP_ADD, binary(b, ME_OP_MULTIPLY, x2, scalar_f32(b, "const.gelu_c", 0.044715f), "cx2"),
                       scalar_f32(b, "const.one", 1.0f), "1_cx2");
    int arg = binary(b, ME_OP_MULTIPLY, binary(b, ME_OP_MULTIPLY, x, inner, "x_1_cx2"),
                     scalar_f32(b, "const.sqrt_2_over_pi", 0.7978845608028654f), "arg");
    int th = unary(b, ME_OP_TANH, arg, "tanh");
    int onep = binary(b, ME_OP_ADD, th, scalar_f32(b, "const.one", 1.0f), "1_tanh");
    int g = binary(b, ME_OP_MULTIPLY, binary(b, ME_OP_MULTIPLY, x, onep, "x_1_tanh"), scalar_f32(b, "const.half", 0.5f),
                   "gelu_f32");
    return round_f16(b, g, "gelu");
}

static int attention(llm_b *b, int layer, int x, int cosv, int sinv, int mask, int *k_new, int *v_new) {
    const me_llm_hparams *hp = b->hp;
    int64_t T = b->T, C = b->C, H = hp->n_head, Hkv = hp->n_head_kv, hd = hp->head_dim, G = H / Hkv, d = hp->n_embd;
    set_scope(b, "blk.%d/attn_norm", layer);
    int gam = layer_weight(b, layer, "attn_norm.weight", 1, false);
    shape_is(b, gam, d, 0, "attn_norm.weight");
    int h = rmsnorm(b, x, gam);
    int q, k, v;
    int wqkv = layer_weight(b, layer, "attn_qkv.weight", 2, true);
    if (wqkv >= 0) {
        set_scope(b, "blk.%d/attn_qkv", layer);
        shape_is(b, wqkv, (H + 2 * Hkv) * hd, d, "attn_qkv.weight");
        int bias = layer_weight(b, layer, "attn_qkv.bias", 1, true);
        int qkv = fc(b, h, wqkv, bias);
        q = slice(b, qkv, 1, 0, H * hd, "q");
        k = slice(b, qkv, 1, H * hd, (H + Hkv) * hd, "k");
        v = slice(b, qkv, 1, (H + Hkv) * hd, (H + 2 * Hkv) * hd, "v");
    } else {
        static const char *const nm[3] = {"attn_q", "attn_k", "attn_v"};
        int *dst[3] = {&q, &k, &v};
        for (int i = 0; i < 3; i++) {
            char wn[32], bn[32];
            snprintf(wn, sizeof wn, "%s.weight", nm[i]);
            snprintf(bn, sizeof bn, "%s.bias", nm[i]);
            snprintf(b->scope, sizeof b->scope, "blk.%d/%s", layer, nm[i]);
            int w = layer_weight(b, layer, wn, 2, false);
            shape_is(b, w, (i ? Hkv : H) * hd, d, wn);
            *dst[i] = fc(b, h, w, layer_weight(b, layer, bn, 1, true));
        }
    }
    set_scope(b, "blk.%d/rope", layer);
    int64_t qd[3] = {T, H, hd}, kd[3] = {T, Hkv, hd};
    q = rope(b, reshape(b, q, 3, qd, "q_heads"), (int)H, cosv, sinv, "q");
    k = rope(b, reshape(b, k, 3, kd, "k_heads"), (int)Hkv, cosv, sinv, "k");
    v = reshape(b, v, 3, kd, "v_heads");
    set_scope(b, "blk.%d/attn", layer);
    float scale = 1.0f / sqrtf((float)hd);
    if (b->arch->q_prescale) {
        q = binary(b, ME_OP_MULTIPLY, q, scalar_f32(b, "const.q_scale", scale), "q_scaled");
        scale = 1.0f;
    }
    /* q-head i uses kv-head i / G: group the q heads of each kv head together */
    int64_t qg4[4] = {T, Hkv, G, hd}, qp[4] = {1, 2, 0, 3}, qg3[3] = {Hkv, G * T, hd};
    int qg = reshape(b, transpose(b, reshape(b, q, 4, qg4, "q_groups"), 4, qp, "q_by_kv"), 3, qg3, "q_rows");
    int64_t kp[3] = {1, 0, 2};
    *k_new = transpose(b, k, 3, kp, "k_new");
    *v_new = transpose(b, v, 3, kp, "v_new");
    char cn[48];
    snprintf(cn, sizeof cn, "kv_cache.k.%d", layer);
    int kc = me_graph_find_tensor(b->g, cn);
    snprintf(cn, sizeof cn, "kv_cache.v.%d", layer);
    int vc = me_graph_find_tensor(b->g, cn);
    if (kc < 0 || vc < 0) {
        if (!b->failed) me_fail(b->d, ME_ERR_INTERNAL, "KV cache inputs of layer %d are missing", layer);
        b->failed = true;
        return -1;
    }
    /* Few query rows per kv head (decode): scores against the cache and the new rows
     * separately, so the cache is never copied (only the small score rows are); else one
     * MatMul against Concat(cache, new rows). The slices count from the end, so they do
     * not depend on the context length (the session resizes it, src/llm/llm_session.c). */
    const bool split = G * T < hd;
    int s, kall = -1, vall = -1;
    if (split) {
        int sin[2] = {matmul(b, qg, kc, true, "scores_cache"), matmul(b, qg, *k_new, true, "scores_new")};
        s = concat(b, sin, 2, 2, "scores");
    } else {
        int kin[2] = {kc, *k_new}, vin[2] = {vc, *v_new};
        kall = concat(b, kin, 2, 1, "k_all");
        vall = concat(b, vin, 2, 1, "v_all");
        s = matmul(b, qg, kall, true, "scores");
    }
    int64_t s4[4] = {Hkv, G, T, C + T}, s3[3] = {Hkv, G * T, C + T};
    s = binary(b, ME_OP_ADD, reshape(b, s, 4, s4, "scores_4d"), mask, "masked");
    int p = reshape(b, softmax(b, s, scale, "probs"), 3, s3, "probs_rows");
    int o;
    if (split) {
        int pc = slice(b, p, 2, 0, -T, "probs_cache"), pn = slice(b, p, 2, -T, INT32_MAX, "probs_new");
        o = binary(b, ME_OP_ADD, matmul(b, pc, vc, false, "context_cache"), matmul(b, pn, *v_new, false, "context_new"),
                   "context");
    } else {
        o = matmul(b, p, vall, false, "context");
    }
    int64_t o4[4] = {Hkv, G, T, hd}, op[4] = {2, 0, 1, 3}, o2[2] = {T, H * hd};
    o = reshape(b, transpose(b, reshape(b, o, 4, o4, "context_4d"), 4, op, "context_t"), 2, o2, "context_2d");
    set_scope(b, "blk.%d/attn_output", layer);
    int wo = layer_weight(b, layer, "attn_output.weight", 2, false);
    shape_is(b, wo, d, H * hd, "attn_output.weight");
    o = fc(b, o, wo, layer_weight(b, layer, "attn_output.bias", 1, true));
    set_scope(b, "blk.%d", layer);
    return binary(b, ME_OP_ADD, x, o, "attn_residual");
}

static int ffn(llm_b *b, int layer, int x) {
    const me_llm_hparams *hp = b->hp;
    int64_t d = hp->n_embd, f = hp->n_ff;
    set_scope(b, "blk.%d/ffn_norm", layer);
    int gam = layer_weight(b, layer, "ffn_norm.weight", 1, false);
    shape_is(b, gam, d, 0, "ffn_norm.weight");
    int h = rmsnorm(b, x, gam);
    int gate, up;
    if (b->arch->ffn_fused_gate_up) {
        set_scope(b, "blk.%d/ffn_up", layer);
        int w = layer_weight(b, layer, "ffn_up.weight", 2, false);
        shape_is(b, w, 2 * f, d, "ffn_up.weight");
        int gu = fc(b, h, w, layer_weight(b, layer, "ffn_up.bias", 1, true));
        gate = slice(b, gu, 1, 0, f, "gate");
        up = slice(b, gu, 1, f, 2 * f, "up");
    } else {
        set_scope(b, "blk.%d/ffn_gate", layer);
        int wg = layer_weight(b, layer, "ffn_gate.weight", 2, false);
        shape_is(b, wg, f, d, "ffn_gate.weight");
        gate = fc(b, h, wg, layer_weight(b, layer, "ffn_gate.bias", 1, true));
        set_scope(b, "blk.%d/ffn_up", layer);
        int wu = layer_weight(b, layer, "ffn_up.weight", 2, false);
        shape_is(b, wu, f, d, "ffn_up.weight");
        up = fc(b, h, wu, layer_weight(b, layer, "ffn_up.bias", 1, true));
    }
    set_scope(b, "blk.%d/ffn_act", layer);
    int a = b->arch->ffn_act == LLM_FFN_GELU_TANH
                ? gelu_tanh(b, gate)
                : binary(b, ME_OP_MULTIPLY, gate, unary(b, ME_OP_SIGMOID, gate, "sigmoid"), "silu");
    a = binary(b, ME_OP_MULTIPLY, a, up, "gated");
    set_scope(b, "blk.%d/ffn_down", layer);
    int wd = layer_weight(b, layer, "ffn_down.weight", 2, false);
    shape_is(b, wd, d, f, "ffn_down.weight");
    int o = fc(b, a, wd, layer_weight(b, layer, "ffn_down.bias", 1, true));
    set_scope(b, "blk.%d", layer);
    return binary(b, ME_OP_ADD, x, o, "ffn_residual");
}

static int graph_input(llm_b *b, const char *what, me_dtype dt, int rank, const int64_t *dims) {
    if (b->failed) return -1;
    char name[96];
    snprintf(name, sizeof name, "%s/%s", b->gname, what);
    int t = me_graph_add_tensor(b->g, name, dt, rank, dims, b->d);
    if (t < 0 || me_graph_add_input(b->g, t) != ME_OK) b->failed = true;
    return t;
}

/* Builds one graph and records it as subgraph `sg`. */
static void build_graph(llm_b *b, const char *gname, int T, me_subgraph *sg) {
    const me_llm_hparams *hp = b->hp;
    int L = (int)hp->n_layer;
    b->gname = gname;
    b->T = T;
    int64_t td[1] = {T}, md[2] = {T, (int64_t)b->C + T};
    int *ins = me_arena_calloc(&b->g->arena, (size_t)(3 + 2 * L), sizeof *ins);
    int *outs = me_arena_calloc(&b->g->arena, (size_t)(1 + 2 * L), sizeof *outs);
    if (!ins || !outs) {
        me_fail(b->d, ME_ERR_NOMEM, "out of memory");
        b->failed = true;
        return;
    }
    ins[0] = graph_input(b, "tokens", ME_DT_I32, 1, td);
    ins[1] = graph_input(b, "positions", ME_DT_I32, 1, td);
    ins[2] = graph_input(b, "mask", ME_DT_F32, 2, md);
    for (int l = 0; l < L && !b->failed; l++) {
        char name[48];
        for (int kv = 0; kv < 2; kv++) {
            snprintf(name, sizeof name, "kv_cache.%c.%d", kv ? 'v' : 'k', l);
            int t = me_graph_find_tensor(b->g, name);
            if (t < 0) {
                int64_t cd[3] = {hp->n_head_kv, b->C, hp->head_dim};
                t = me_graph_add_tensor(b->g, name, ME_DT_F32, 3, cd, b->d);
                if (t < 0 || me_graph_add_input(b->g, t) != ME_OK) b->failed = true;
            }
            ins[3 + 2 * l + kv] = t;
        }
    }
    set_scope(b, "token_embd", 0);
    int embd = weight(b, "token_embd.weight", 2, false);
    shape_is(b, embd, hp->n_vocab, hp->n_embd, "token_embd.weight");
    int x = gather(b, embd, ins[0], "out");
    if (b->arch->embd_scale_sqrt)
        x = binary(b, ME_OP_MULTIPLY, x, scalar_f32(b, "const.embd_scale", sqrtf((float)hp->n_embd)), "scaled");
    set_scope(b, "rope", 0);
    int cosv = gather(b, b->rope_cos, ins[1], "cos");
    int sinv = gather(b, b->rope_sin, ins[1], "sin");
    for (int l = 0; l < L && !b->failed; l++) {
        if (b->notice) {
            char msg[96];
            snprintf(msg, sizeof msg, "progress: gguf: %s graph, layer %d/%d", gname, l + 1, L);
            b->notice(b->notice_user, msg);
        }
        x = attention(b, l, x, cosv, sinv, ins[2], &outs[1 + 2 * l], &outs[2 + 2 * l]);
        x = ffn(b, l, x);
    }
    set_scope(b, "output_norm", 0);
    int gam = weight(b, "output_norm.weight", 1, false);
    shape_is(b, gam, hp->n_embd, 0, "output_norm.weight");
    x = rmsnorm(b, x, gam);
    set_scope(b, "output", 0);
    int head = b->arch->always_tied ? -2 : weight(b, "output.weight", 2, true);
    if (head == -2) head = embd;
    shape_is(b, head, hp->n_vocab, hp->n_embd, "output.weight");
    outs[0] = fc(b, x, head, -1);
    if (b->failed) return;
    char name[96];
    for (int i = 0; i < 1 + 2 * L; i++) {
        me_tensor *t = &b->g->tensors[outs[i]];
        /* stable names the session looks up */
        if (i == 0) snprintf(name, sizeof name, "%s/logits", gname);
        else snprintf(name, sizeof name, "%s/%c_new.%d", gname, (i - 1) % 2 ? 'v' : 'k', (i - 1) / 2);
        const char *nn = me_arena_strdup(&b->g->arena, name);
        if (!nn || me_graph_find_tensor(b->g, name) >= 0) {
            me_fail(b->d, ME_ERR_INTERNAL, "cannot name output '%s'", name);
            b->failed = true;
            return;
        }
        t->name = nn;
        if (me_graph_add_output(b->g, outs[i]) != ME_OK) { b->failed = true; return; }
    }
    sg->name = gname;
    sg->n_inputs = 3 + 2 * L;
    sg->n_outputs = 1 + 2 * L;
    sg->inputs = ins;
    sg->outputs = outs;
}

/* ---------------------------------------------------------------- entry point */

me_status me_import_gguf_llm(const char *path, const me_compile_options *o, me_graph *g, me_diag *d) {
    gguf_file f;
    me_status st = gguf_open(path, &g->arena, &f, d);
    if (st != ME_OK) return st;
    gguf_str an;
    const llm_arch *arch = NULL;
    if (!gguf_get_str(&f, "general.architecture", &an)) {
        st = me_fail(d, ME_ERR_FORMAT, "GGUF '%s': general.architecture is missing", path);
        goto out;
    }
    arch = llm_arch_find(an.p, (unsigned long)an.n);
    if (!arch) {
        st = me_fail(d, ME_ERR_UNSUPPORTED, "GGUF '%s': architecture '%.*s' is not supported (supported: %s)", path,
                     (int)(an.n > 64 ? 64 : an.n), an.p, llm_arch_list());
        goto out;
    }
    me_llm_desc *desc = me_arena_calloc(&g->arena, 1, sizeof *desc);
    if (!desc) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); goto out; }
    if ((st = llm_read_hparams(&f, arch->name, &desc->hp, d)) || (st = llm_read_vocab(&f, &g->arena, &desc->vocab, d)))
        goto out;
    me_llm_hparams *hp = &desc->hp;
    /* every block has weights in the file: a large block_count in a small file
     * would otherwise make the builder add millions of KV-cache inputs before
     * it looks for the first missing weight (found by fuzzing) */
    if (hp->n_layer > f.n_tensors) {
        st = me_fail(d, ME_ERR_FORMAT, "GGUF '%s': block_count %u, but the file has only %llu tensors", path,
                     hp->n_layer, (unsigned long long)f.n_tensors);
        goto out;
    }
    hp->n_vocab = desc->vocab.n_tokens;
    uint64_t vs;
    char key[96];
    snprintf(key, sizeof key, "%s.vocab_size", arch->name);
    if (gguf_get_u64(&f, key, &vs) && vs != hp->n_vocab) {
        st = me_fail(d, ME_ERR_FORMAT, "GGUF '%s': %s = %llu but the tokenizer has %u tokens", path, key,
                     (unsigned long long)vs, hp->n_vocab);
        goto out;
    }
    hp->rope_neox = arch->rope_neox;
    int seq = o && o->llm_seq_len > 0 ? o->llm_seq_len : 64;
    int ctx = o && o->llm_context_length > 0 ? o->llm_context_length
                                             : (int)(hp->ctx_train < 4096 ? hp->ctx_train : 4096);
    if (o && (o->llm_seq_len < 0 || o->llm_context_length < 0 || seq > 65536 || ctx > (1 << 20))) {
        st = me_fail(d, ME_ERR_INVALID_ARG, "--seq-len must be 1..65536 and --context-length 1..1048576");
        goto out;
    }
    if (seq > ctx) seq = ctx;
    hp->seq_len = (uint32_t)seq;
    hp->context_length = (uint32_t)ctx;
    g->name = me_arena_strdup(&g->arena, arch->name);
    g->source_path = me_arena_strdup(&g->arena, path);
    me_sha256_digest(f.map.data, f.map.size, g->source_hash);
    llm_b b = {.g = g, .d = d, .f = &f, .arch = arch, .hp = hp, .to_float = o && o->llm_float, .C = ctx};
    if (o) {
        b.notice = o->notice;
        b.notice_user = o->notice_user;
    }
    build_rope_tables(&b);
    me_subgraph *sgs = me_arena_calloc(&g->arena, 2, sizeof *sgs);
    if (!sgs) b.failed = true;
    if (!b.failed) build_graph(&b, "prefill", seq, &sgs[0]);
    if (!b.failed) build_graph(&b, "decode", 1, &sgs[1]);
    if (b.failed) {
        st = me_diag_text(d)[0] ? ME_ERR_FORMAT : me_fail(d, ME_ERR_INTERNAL, "building the LLM graph failed");
        /* keep the more specific status of the first failure when there is one */
        if (strstr(me_diag_text(d), "not supported")) st = ME_ERR_UNSUPPORTED;
        if (strstr(me_diag_text(d), "out of memory")) st = ME_ERR_NOMEM;
        goto out;
    }
    /* a tensor the builder never asked for means a variant it does not know
     * (llama.cpp refuses such files too): better an error than wrong numbers */
    for (uint64_t i = 0; i < f.n_tensors; i++) {
        char tn[80];
        gguf_str s = f.tensors[i].name;
        snprintf(tn, sizeof tn, "%.*s", (int)(s.n < 79 ? s.n : 79), s.p);
        if (me_graph_find_tensor(g, tn) < 0) {
            st = me_fail(d, ME_ERR_UNSUPPORTED, "GGUF '%s': tensor '%s' is not used by the %s graph builder "
                                                "(a variant that is not supported yet)", path, tn, arch->name);
            goto out;
        }
    }
    g->subgraphs = sgs;
    g->n_subgraphs = 2;
    void *blob;
    size_t blob_n;
    if ((st = me_llm_desc_pack(desc, &blob, &blob_n, d))) goto out;
    void *ab = me_arena_alloc(&g->arena, blob_n);
    if (!ab) {
        free(blob);
        st = me_fail(d, ME_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(ab, blob, blob_n);
    free(blob);
    g->llm_blob = ab;
    g->llm_blob_bytes = blob_n;
    st = me_graph_adopt_map(g, &f.map);
    if (st != ME_OK) st = me_fail(d, ME_ERR_NOMEM, "out of memory");
out:
    gguf_close(&f);
    return st;
}
