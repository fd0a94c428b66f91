/* ONNX -> IR translators for sequence models: Attention (opset 23/24),
 * RotaryEmbedding, LSTM, GRU and Einsum. None has a QNN op of its own, so
 * each is decomposed into MatMul / element-wise / Softmax / shape ops; every
 * shape is static, so masks and loop bounds are resolved at compile time. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../core/util.h"
#include "translate_build.h"


static const int PERM_0213[4] = {0, 2, 1, 3};
static const int PERM_102[3] = {1, 0, 2};

/* ============================================================ Attention */

typedef struct attn_shape {
    int64_t batch, q_heads, kv_heads, q_len, kv_len, past_len, head, v_head;
    bool q3d;
} attn_shape;

/* [B, S, heads*D] -> [B, heads, S, D]. */
static int split_heads(mo_ctx *c, const onnx_node *n, int t, int64_t heads, const char *what) {
    const me_tensor *tt = mo_t(c, t);
    int64_t d[4] = {tt->dims[0], tt->dims[1], heads, tt->dims[2] / heads};
    int r = mo_reshape(c, n, t, 4, d, what);
    if (r < 0) return -1;
    return mo_transpose(c, n, r, PERM_0213, what);
}

/* Cast a float16 tensor to float32 (the decomposition computes in float32). */
static int to_f32(mo_ctx *c, const onnx_node *n, int t, const char *what) {
    if (t < 0 || mo_t(c, t)->dtype == ME_DT_F32 || mo_t(c, t)->dtype == ME_DT_BOOL) return t;
    return mo_cast(c, n, t, ME_DT_F32, what);
}

/* K/V heads repeated for grouped-query attention: query head h reads kv head h / rep. */
static int repeat_kv(mo_ctx *c, const onnx_node *n, int t, int64_t rep, const char *what) {
    if (rep == 1) return t;
    const me_tensor *tt = mo_t(c, t);
    int64_t b = tt->dims[0], h = tt->dims[1], s = tt->dims[2], d = tt->dims[3];
    int64_t d5[5] = {b, h, 1, s, d};
    int r = mo_reshape(c, n, t, 5, d5, what);
    if (r < 0) return -1;
    int64_t mult[5] = {1, 1, rep, 1, 1};
    r = mo_build_tile(c, n, r, mult, what);
    if (r < 0) return -1;
    int64_t d4[4] = {b, h * rep, s, d};
    return mo_reshape(c, n, r, 4, d4, what);
}

/* Additive float mask from attn_mask: bool -> 0 / -inf; a mask shorter than
 * the total kv length is padded with -inf (opset 24). */
static int user_mask_bias(mo_ctx *c, const onnx_node *n, int mask, int64_t total) {
    int bias = mask;
    if (mo_t(c, mask)->dtype == ME_DT_BOOL) {
        int zero = mo_build_scalar(c, ME_DT_F32, 0.0);
        int ninf = mo_build_scalar(c, ME_DT_F32, -INFINITY);
        if (zero < 0 || ninf < 0) return -1;
        bias = mo_build_select(c, n, mask, zero, ninf, "mask_bias");
    } else {
        bias = to_f32(c, n, mask, "mask_f32");
    }
    if (bias < 0) return -1;
    const me_tensor *bt = mo_t(c, bias);
    int rank = bt->rank;
    if (rank < 1) {
        mo_error(c, n, ME_ERR_FORMAT, "attn_mask must have rank >= 1");
        return -1;
    }
    int64_t have = bt->dims[rank - 1];
    if (have > total) {
        mo_error(c, n, ME_ERR_FORMAT, "attn_mask last dim %lld exceeds the total sequence length %lld",
                 (long long)have, (long long)total);
        return -1;
    }
    if (have < total) {
        int64_t pd[ME_MAX_RANK];
        memcpy(pd, bt->dims, sizeof(int64_t) * (size_t)rank);
        pd[rank - 1] = total - have;
        int pad = mo_build_fill_f32(c, "mask_pad", rank, pd, -INFINITY);
        if (pad < 0) return -1;
        int ins[2] = {bias, pad};
        bias = mo_build_concat(c, n, ins, 2, rank - 1, "mask_padded");
    }
    return bias;
}

/* Causal mask [S, T] with query row i at absolute position i + offset. */
static int causal_bias_static(mo_ctx *c, const onnx_node *n, int64_t rows, int64_t cols, int64_t offset) {
    int64_t numel;
    if (!me_mul_i64(rows, cols, &numel) || numel > ME_MAX_TENSOR_BYTES / 4) {
        mo_error(c, n, ME_ERR_FORMAT, "attention mask too large");
        return -1;
    }
    float *m = mo_build_alloc(c, (size_t)numel, sizeof(float));
    if (m == NULL) return -1;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) m[i * cols + j] = i + offset < j ? -INFINITY : 0.0f;
    int64_t d[2] = {rows, cols};
    return mo_const(c, "causal_mask", ME_DT_F32, 2, d, m);
}

/* 0, 1, ..., len-1 as float, shaped `dims` (rank r with one non-1 dim). */
static int iota_f32(mo_ctx *c, int64_t len, int rank, const int64_t *dims) {
    float *v = mo_build_alloc(c, (size_t)len, sizeof(float));
    if (v == NULL) return -1;
    for (int64_t i = 0; i < len; i++) v[i] = (float)i;
    return mo_const(c, "iota", ME_DT_F32, rank, dims, v);
}

/* Masks from nonpad_kv_seqlen [B] (opset 24, data-dependent):
 * padding: key j of batch b is visible iff j < len[b];
 * causal:  query i sees key j iff i + len[b] - S >= j. Result [B,1,S|1,T]. */
static int nonpad_bias(mo_ctx *c, const onnx_node *n, int lens, const attn_shape *s, bool causal) {
    int lf = mo_cast(c, n, lens, ME_DT_F32, "kv_len_f32");
    if (lf < 0) return -1;
    int64_t bd[4] = {s->batch, 1, 1, 1};
    lf = mo_reshape(c, n, lf, 4, bd, "kv_len_4d");
    if (lf < 0) return -1;
    int64_t cd[4] = {1, 1, 1, s->kv_len};
    int col = iota_f32(c, s->kv_len, 4, cd);
    if (col < 0) return -1;
    int zero = mo_build_scalar(c, ME_DT_F32, 0.0), ninf = mo_build_scalar(c, ME_DT_F32, -INFINITY);
    if (zero < 0 || ninf < 0) return -1;
    int keep = mo_binary(c, n, ME_OP_LESS, col, lf, "kv_visible");
    if (keep < 0) return -1;
    int bias = mo_build_select(c, n, keep, zero, ninf, "padding_bias");
    if (bias < 0 || !causal) return bias;
    int64_t rd[4] = {1, 1, s->q_len, 1};
    int row = iota_f32(c, s->q_len, 4, rd);
    int sl = mo_build_scalar(c, ME_DT_F32, (double)s->q_len);
    if (row < 0 || sl < 0) return -1;
    int off = mo_binary(c, n, ME_OP_SUBTRACT, lf, sl, "causal_offset");
    if (off < 0) return -1;
    int pos = mo_binary(c, n, ME_OP_ADD, row, off, "query_pos");
    if (pos < 0) return -1;
    int hidden = mo_binary(c, n, ME_OP_LESS, pos, col, "causal_hidden");
    if (hidden < 0) return -1;
    int cb = mo_build_select(c, n, hidden, ninf, zero, "causal_bias");
    if (cb < 0) return -1;
    return mo_binary(c, n, ME_OP_ADD, bias, cb, "nonpad_bias");
}

static int add_bias(mo_ctx *c, const onnx_node *n, int total, int b) {
    if (b < 0) return -1;
    if (total < 0) return b;
    return mo_binary(c, n, ME_OP_ADD, total, b, "attn_bias");
}

/* Rows whose every key is masked get probability 0 (not NaN): where the
 * row max of the bias is -inf. Returns probs unchanged when no row can be. */
static int zero_masked_rows(mo_ctx *c, const onnx_node *n, int probs, int bias) {
    int rank = mo_t(c, bias)->rank;
    int64_t axis = rank - 1;
    int rmax = mo_build_reduce(c, n, ME_OP_REDUCE_MAX, bias, &axis, 1, true, "bias_row_max");
    if (rmax < 0) return -1;
    int ninf = mo_build_scalar(c, ME_DT_F32, -INFINITY);
    if (ninf < 0) return -1;
    int all = mo_binary(c, n, ME_OP_EQUAL, rmax, ninf, "row_all_masked");
    if (all < 0) return -1;
    if (mo_is_const(c, all)) {
        const me_tensor *at = mo_t(c, all);
        const uint8_t *v = at->data;
        int64_t cnt = me_shape_numel(at->rank, at->dims);
        bool any = false;
        for (int64_t i = 0; i < cnt && !any; i++) any = v[i] != 0;
        if (!any) return probs;
    }
    int zero = mo_build_scalar(c, ME_DT_F32, 0.0);
    if (zero < 0) return -1;
    return mo_build_select(c, n, all, zero, probs, "probs_safe");
}

static me_status attn_shapes(mo_ctx *c, const onnx_node *n, int q, int k, int v, int past_k, int past_v,
                             attn_shape *s) {
    const me_tensor *qt = mo_t(c, q), *kt = mo_t(c, k), *vt = mo_t(c, v);
    if (qt->rank != kt->rank || qt->rank != vt->rank || (qt->rank != 3 && qt->rank != 4))
        return mo_error(c, n, ME_ERR_FORMAT, "Q, K and V must all be 3-D or all 4-D (ranks %d, %d, %d)", qt->rank,
                        kt->rank, vt->rank);
    memset(s, 0, sizeof(*s));
    s->batch = qt->dims[0];
    if (qt->rank == 3) {
        s->q3d = true;
        s->q_heads = mo_attr_int(n, "q_num_heads", 0);
        s->kv_heads = mo_attr_int(n, "kv_num_heads", 0);
        if (s->q_heads <= 0 || s->kv_heads <= 0)
            return mo_error(c, n, ME_ERR_FORMAT, "3-D inputs need the q_num_heads and kv_num_heads attributes");
        if (qt->dims[2] % s->q_heads || kt->dims[2] % s->kv_heads || vt->dims[2] % s->kv_heads)
            return mo_error(c, n, ME_ERR_FORMAT, "hidden sizes are not multiples of the head counts");
        s->q_len = qt->dims[1];
        s->kv_len = kt->dims[1];
        s->head = qt->dims[2] / s->q_heads;
        if (kt->dims[2] / s->kv_heads != s->head)
            return mo_error(c, n, ME_ERR_FORMAT, "Q and K head sizes differ");
        s->v_head = vt->dims[2] / s->kv_heads;
        if (vt->dims[1] != s->kv_len) return mo_error(c, n, ME_ERR_FORMAT, "K and V sequence lengths differ");
    } else {
        s->q_heads = qt->dims[1];
        s->kv_heads = kt->dims[1];
        s->q_len = qt->dims[2];
        s->kv_len = kt->dims[2];
        s->head = qt->dims[3];
        s->v_head = vt->dims[3];
        if (kt->dims[3] != s->head) return mo_error(c, n, ME_ERR_FORMAT, "Q and K head sizes differ");
        if (vt->dims[1] != s->kv_heads || vt->dims[2] != s->kv_len)
            return mo_error(c, n, ME_ERR_FORMAT, "K and V shapes disagree");
    }
    if (kt->dims[0] != s->batch || vt->dims[0] != s->batch)
        return mo_error(c, n, ME_ERR_FORMAT, "Q, K and V batch sizes differ");
    if (s->kv_heads <= 0 || s->q_heads % s->kv_heads != 0)
        return mo_error(c, n, ME_ERR_FORMAT, "q heads (%lld) must be a multiple of kv heads (%lld)",
                        (long long)s->q_heads, (long long)s->kv_heads);
    if ((past_k >= 0) != (past_v >= 0)) return mo_error(c, n, ME_ERR_FORMAT, "past_key and past_value go together");
    if (past_k >= 0) {
        const me_tensor *pk = mo_t(c, past_k), *pv = mo_t(c, past_v);
        if (pk->rank != 4 || pv->rank != 4 || pk->dims[0] != s->batch || pk->dims[1] != s->kv_heads ||
            pk->dims[3] != s->head || pv->dims[0] != s->batch || pv->dims[1] != s->kv_heads ||
            pv->dims[2] != pk->dims[2] || pv->dims[3] != s->v_head)
            return mo_error(c, n, ME_ERR_FORMAT, "past_key/past_value must be [B, kv_heads, P, head_size]");
        s->past_len = pk->dims[2];
    }
    return ME_OK;
}

me_status mo_tr_attention(mo_ctx *c, const onnx_node *n) {
    int q = mo_in(c, n, 0), k = mo_in(c, n, 1), v = mo_in(c, n, 2);
    int mask = mo_in(c, n, 3), past_k = mo_in(c, n, 4), past_v = mo_in(c, n, 5), nonpad = mo_in(c, n, 6);
    if (q < 0 || k < 0 || v < 0) return mo_error(c, n, ME_ERR_FORMAT, "inputs Q, K and V are required");
    attn_shape s;
    TRY_ST(attn_shapes(c, n, q, k, v, past_k, past_v, &s));
    me_dtype dt = mo_t(c, q)->dtype;
    if (dt != ME_DT_F32 && dt != ME_DT_F16)
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "dtype %s is not supported (float32/float16)", me_dtype_name(dt));
    int64_t mode = mo_attr_int(n, "qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3)
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "attribute qk_matmul_output_mode=%lld is not supported", (long long)mode);
    bool causal = mo_attr_int(n, "is_causal", 0) != 0;
    float softcap = mo_attr_float(n, "softcap", 0.0f);
    if (softcap < 0.0f || !isfinite(softcap))
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "attribute softcap=%g is not supported", softcap);
    if (nonpad >= 0 && past_k >= 0)
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "nonpad_kv_seqlen together with past_key is not supported");

    /* 4-D float32 views [B, heads, S, D] */
    TRY_T(q = to_f32(c, n, q, "q_f32"));
    TRY_T(k = to_f32(c, n, k, "k_f32"));
    TRY_T(v = to_f32(c, n, v, "v_f32"));
    if (s.q3d) {
        TRY_T(q = split_heads(c, n, q, s.q_heads, "q_heads"));
        TRY_T(k = split_heads(c, n, k, s.kv_heads, "k_heads"));
        TRY_T(v = split_heads(c, n, v, s.kv_heads, "v_heads"));
    }
    int64_t total = s.past_len + s.kv_len;
    if (past_k >= 0) {
        TRY_T(past_k = to_f32(c, n, past_k, "past_k_f32"));
        TRY_T(past_v = to_f32(c, n, past_v, "past_v_f32"));
        int ki[2] = {past_k, k}, vi[2] = {past_v, v};
        TRY_T(k = mo_build_concat(c, n, ki, 2, 2, "present_key"));
        TRY_T(v = mo_build_concat(c, n, vi, 2, 2, "present_value"));
    }
    for (int i = 1; i <= 2; i++) {
        if (!output_used(n, i)) continue;
        int pt = i == 1 ? k : v;
        if (dt != ME_DT_F32) TRY_T(pt = mo_cast(c, n, pt, dt, i == 1 ? "present_key_out" : "present_value_out"));
        TRY_ST(mo_bind(c, n, i, pt));
    }
    int64_t rep = s.q_heads / s.kv_heads;
    int kx = repeat_kv(c, n, k, rep, "k_repeated");
    TRY_T(kx);
    int vx = repeat_kv(c, n, v, rep, "v_repeated");
    TRY_T(vx);

    /* scores = (Q K^T) * scale  [B, Hq, S, T] */
    const onnx_attr *scale_attr = mo_attr(n, "scale");
    float scale = scale_attr != NULL ? scale_attr->f : (float)(1.0 / sqrt((double)s.head));
    int scores = mo_build_matmul(c, n, q, kx, false, true, "qk");
    TRY_T(scores);
    int sc = mo_build_scalar(c, ME_DT_F32, scale);
    TRY_T(sc);
    TRY_T(scores = mo_binary(c, n, ME_OP_MULTIPLY, scores, sc, "qk_scaled"));
    int qk_out = mode == 0 ? scores : -1;
    if (softcap > 0.0f) {
        int cap = mo_build_scalar(c, ME_DT_F32, softcap);
        TRY_T(cap);
        TRY_T(scores = mo_binary(c, n, ME_OP_DIVIDE, scores, cap, "softcap_div"));
        TRY_T(scores = mo_unary(c, n, ME_OP_TANH, scores, "softcap_tanh"));
        TRY_T(scores = mo_binary(c, n, ME_OP_MULTIPLY, scores, cap, "softcap"));
    }
    if (mode == 1) qk_out = scores;

    /* additive bias: user mask + causal + key padding */
    int bias = -1;
    if (mask >= 0) TRY_T(bias = user_mask_bias(c, n, mask, total));
    if (nonpad >= 0) {
        const me_tensor *nt = mo_t(c, nonpad);
        if (me_shape_numel(nt->rank, nt->dims) != s.batch)
            return mo_error(c, n, ME_ERR_FORMAT, "nonpad_kv_seqlen must have one value per batch");
        TRY_T(bias = add_bias(c, n, bias, nonpad_bias(c, n, nonpad, &s, causal)));
    } else if (causal) {
        TRY_T(bias = add_bias(c, n, bias, causal_bias_static(c, n, s.q_len, total, s.past_len)));
    }
    if (bias >= 0) TRY_T(scores = mo_binary(c, n, ME_OP_ADD, scores, bias, "qk_masked"));
    if (mode == 2) qk_out = scores;

    int probs = mo_build_softmax(c, n, scores, 3, "softmax");
    TRY_T(probs);
    if (bias >= 0) TRY_T(probs = zero_masked_rows(c, n, probs, bias));
    if (mode == 3) qk_out = probs;

    int y = mo_build_matmul(c, n, probs, vx, false, false, "attn_v");
    TRY_T(y);
    if (s.q3d) {
        TRY_T(y = mo_transpose(c, n, y, PERM_0213, "y_bshd"));
        int64_t yd[3] = {s.batch, s.q_len, s.q_heads * s.v_head};
        TRY_T(y = mo_reshape(c, n, y, 3, yd, "y"));
    }
    if (dt != ME_DT_F32) TRY_T(y = mo_cast(c, n, y, dt, "y_out"));
    TRY_ST(mo_bind(c, n, 0, y));
    if (output_used(n, 3)) {
        if (dt != ME_DT_F32) TRY_T(qk_out = mo_cast(c, n, qk_out, dt, "qk_out"));
        TRY_ST(mo_bind(c, n, 3, qk_out));
    }
    return ME_OK;
}

/* ====================================================== RotaryEmbedding */

me_status mo_tr_rotary(mo_ctx *c, const onnx_node *n) {
    int x = mo_in(c, n, 0), cos_c = mo_in(c, n, 1), sin_c = mo_in(c, n, 2), pos = mo_in(c, n, 3);
    if (x < 0 || cos_c < 0 || sin_c < 0) return mo_error(c, n, ME_ERR_FORMAT, "inputs X, cos_cache and sin_cache are required");
    const me_tensor *xt = mo_t(c, x);
    int rank = xt->rank;
    int64_t xdims[4];
    if (rank != 3 && rank != 4) return mo_error(c, n, ME_ERR_FORMAT, "input rank %d: 3-D or 4-D expected", rank);
    memcpy(xdims, xt->dims, sizeof(int64_t) * (size_t)rank);
    int64_t batch = xdims[0], seq, head;
    int xw = x;
    if (rank == 3) {
        int64_t heads = mo_attr_int(n, "num_heads", 0);
        if (heads <= 0 || xdims[2] % heads != 0)
            return mo_error(c, n, ME_ERR_FORMAT, "3-D input needs a num_heads attribute dividing %lld", (long long)xdims[2]);
        seq = xdims[1];
        head = xdims[2] / heads;
        int64_t d4[4] = {batch, seq, heads, head}; /* [B, S, H, D] */
        TRY_T(xw = mo_reshape(c, n, x, 4, d4, "x_heads"));
    } else {
        seq = xdims[2]; /* [B, H, S, D] */
        head = xdims[3];
    }
    int64_t rot = mo_attr_int(n, "rotary_embedding_dim", 0);
    if (rot == 0) rot = head;
    if (rot < 2 || rot > head || rot % 2 != 0)
        return mo_error(c, n, ME_ERR_FORMAT, "rotary_embedding_dim %lld must be even and at most the head size %lld",
                        (long long)rot, (long long)head);
    int64_t half = rot / 2;
    bool interleaved = mo_attr_int(n, "interleaved", 0) != 0;

    /* cos/sin [B, S, half] */
    int cs[2] = {cos_c, sin_c};
    for (int i = 0; i < 2; i++) {
        int t = cs[i];
        if (pos >= 0) {
            int idx = pos;
            if (mo_t(c, idx)->dtype != ME_DT_I32) TRY_T(idx = mo_cast(c, n, idx, ME_DT_I32, "position_ids_i32"));
            int ins[2] = {t, idx};
            int node = mo_node(c, n, ME_OP_GATHER, ins, 2, 1, i ? "sin_gather" : "cos_gather");
            if (node < 0) return mo_build_failed(c, n);
            if (me_node_set_scalar_i32(mo_graph(c), node, "axis", 0) != ME_OK) return mo_build_failed(c, n);
            TRY_ST(mo_finish(c, node, &t));
        }
        const me_tensor *tt = mo_t(c, t);
        if (tt->rank != 3 || tt->dims[0] != batch || tt->dims[1] != seq || tt->dims[2] < half)
            return mo_error(c, n, ME_ERR_FORMAT, "%s cache must give [batch, seq, >= %lld] values", i ? "sin" : "cos",
                            (long long)half);
        if (tt->dims[2] > half) TRY_T(t = mo_build_slice(c, n, t, 2, 0, half, i ? "sin_slice" : "cos_slice"));
        if (mo_t(c, t)->dtype != mo_t(c, x)->dtype)
            TRY_T(t = mo_cast(c, n, t, mo_t(c, x)->dtype, i ? "sin_cast" : "cos_cast"));
        /* broadcast over heads: [B,1,S,half] for [B,H,S,D], [B,S,1,half] for [B,S,H,D];
         * interleaved pairs add a trailing 1 */
        int64_t d[5];
        int r = 4;
        if (rank == 4) d[0] = batch, d[1] = 1, d[2] = seq, d[3] = half;
        else d[0] = batch, d[1] = seq, d[2] = 1, d[3] = half;
        if (interleaved) d[4] = 1, r = 5;
        TRY_T(t = mo_reshape(c, n, t, r, d, i ? "sin_b" : "cos_b"));
        cs[i] = t;
    }

    const me_tensor *wt = mo_t(c, xw);
    int64_t wd[5];
    memcpy(wd, wt->dims, sizeof(int64_t) * 4);
    int parts[2] = {xw, -1};
    if (rot < head) {
        int64_t sizes[2] = {rot, head - rot};
        TRY_ST(mo_build_split(c, n, xw, 3, sizes, 2, parts, "rotate_split"));
    }
    int xr = parts[0], x1, x2, axis;
    if (interleaved) {
        int64_t d5[5] = {wd[0], wd[1], wd[2], half, 2};
        TRY_T(xr = mo_reshape(c, n, xr, 5, d5, "pairs"));
        int64_t sizes[2] = {1, 1};
        int halves[2];
        TRY_ST(mo_build_split(c, n, xr, 4, sizes, 2, halves, "pair_split"));
        x1 = halves[0], x2 = halves[1], axis = 4;
    } else {
        int64_t sizes[2] = {half, half};
        int halves[2];
        TRY_ST(mo_build_split(c, n, xr, 3, sizes, 2, halves, "half_split"));
        x1 = halves[0], x2 = halves[1], axis = 3;
    }
    int a, b, real, imag;
    TRY_T(a = mo_binary(c, n, ME_OP_MULTIPLY, cs[0], x1, "cos_x1"));
    TRY_T(b = mo_binary(c, n, ME_OP_MULTIPLY, cs[1], x2, "sin_x2"));
    TRY_T(real = mo_binary(c, n, ME_OP_SUBTRACT, a, b, "real"));
    TRY_T(a = mo_binary(c, n, ME_OP_MULTIPLY, cs[1], x1, "sin_x1"));
    TRY_T(b = mo_binary(c, n, ME_OP_MULTIPLY, cs[0], x2, "cos_x2"));
    TRY_T(imag = mo_binary(c, n, ME_OP_ADD, a, b, "imag"));
    int ri[2] = {real, imag};
    int y;
    TRY_T(y = mo_build_concat(c, n, ri, 2, axis, "rotated"));
    if (interleaved) {
        int64_t d4[4] = {wd[0], wd[1], wd[2], rot};
        TRY_T(y = mo_reshape(c, n, y, 4, d4, "rotated_flat"));
    }
    if (rot < head) {
        int yi[2] = {y, parts[1]};
        TRY_T(y = mo_build_concat(c, n, yi, 2, 3, "with_pass"));
    }
    if (rank == 3) TRY_T(y = mo_reshape(c, n, y, 3, xdims, "y"));
    return mo_bind(c, n, 0, y);
}

/* ============================================================ LSTM / GRU */

typedef enum { ACT_SIGMOID, ACT_TANH, ACT_RELU, ACT_AFFINE, ACT_LEAKY_RELU, ACT_THRESHOLDED_RELU,
               ACT_SCALED_TANH, ACT_HARD_SIGMOID, ACT_ELU, ACT_SOFTSIGN, ACT_SOFTPLUS } act_kind;

typedef struct rnn_act {
    act_kind kind;
    float alpha, beta;
} rnn_act;

static const struct {
    const char *name;
    act_kind kind;
    int n_params;           /* how many of alpha, beta it consumes */
    float alpha, beta;      /* ONNX defaults */
} ACTS[] = {
    {"Sigmoid", ACT_SIGMOID, 0, 0, 0},         {"Tanh", ACT_TANH, 0, 0, 0},
    {"Relu", ACT_RELU, 0, 0, 0},               {"Affine", ACT_AFFINE, 2, 1.0f, 0.0f},
    {"LeakyRelu", ACT_LEAKY_RELU, 1, 0.01f, 0}, {"ThresholdedRelu", ACT_THRESHOLDED_RELU, 1, 1.0f, 0},
    {"ScaledTanh", ACT_SCALED_TANH, 2, 1.0f, 1.0f}, {"HardSigmoid", ACT_HARD_SIGMOID, 2, 0.2f, 0.5f},
    {"Elu", ACT_ELU, 1, 1.0f, 0},              {"Softsign", ACT_SOFTSIGN, 0, 0, 0},
    {"Softplus", ACT_SOFTPLUS, 0, 0, 0},
};

typedef struct rnn_cfg {
    bool gru;
    int gates;              /* 4 (LSTM iofc) or 3 (GRU zrh) */
    int n_dir;
    bool reverse_only;
    int64_t hidden, seq, batch, input;
    int layout;
    float clip;             /* 0 = none */
    bool input_forget, linear_before_reset;
    rnn_act act[2][3];      /* per direction: f, g[, h] */
    int init_h, init_c;     /* [num_dir, B, H] tensors or -1 */
} rnn_cfg;

static int apply_act(mo_ctx *c, const onnx_node *n, int x, const rnn_act *a) {
    int t, k;
    switch (a->kind) {
    case ACT_SIGMOID: return mo_unary(c, n, ME_OP_SIGMOID, x, "sigmoid");
    case ACT_TANH: return mo_unary(c, n, ME_OP_TANH, x, "tanh");
    case ACT_RELU: return mo_unary(c, n, ME_OP_RELU, x, "relu");
    case ACT_AFFINE: return mo_build_affine(c, n, x, a->alpha, a->beta, "affine");
    case ACT_LEAKY_RELU: /* max(x, alpha x) for alpha <= 1, else min */
        if ((t = mo_build_affine(c, n, x, a->alpha, 0.0f, "leaky")) < 0) return -1;
        return mo_binary(c, n, a->alpha <= 1.0f ? ME_OP_MAXIMUM : ME_OP_MINIMUM, x, t, "leaky_relu");
    case ACT_THRESHOLDED_RELU: {
        int th = mo_build_scalar(c, ME_DT_F32, a->alpha), zero = mo_build_scalar(c, ME_DT_F32, 0.0);
        if (th < 0 || zero < 0) return -1;
        if ((t = mo_binary(c, n, ME_OP_GREATER, x, th, "above")) < 0) return -1;
        return mo_build_select(c, n, t, x, zero, "thresholded_relu");
    }
    case ACT_SCALED_TANH:
        if ((t = mo_build_affine(c, n, x, a->beta, 0.0f, "scaled_in")) < 0) return -1;
        if ((t = mo_unary(c, n, ME_OP_TANH, t, "tanh")) < 0) return -1;
        return mo_build_affine(c, n, t, a->alpha, 0.0f, "scaled_tanh");
    case ACT_HARD_SIGMOID:
        if ((t = mo_build_affine(c, n, x, a->alpha, a->beta, "hard_in")) < 0) return -1;
        return mo_build_clamp(c, n, t, 0.0f, 1.0f, "hard_sigmoid");
    case ACT_ELU: {
        /* x > 0 ? x : alpha (e^x - 1) */
        int zero = mo_build_scalar(c, ME_DT_F32, 0.0);
        if (zero < 0) return -1;
        if ((t = mo_unary(c, n, ME_OP_EXP, x, "exp")) < 0) return -1;
        if ((t = mo_build_affine(c, n, t, a->alpha, -a->alpha, "elu_neg")) < 0) return -1;
        if ((k = mo_binary(c, n, ME_OP_GREATER, x, zero, "positive")) < 0) return -1;
        return mo_build_select(c, n, k, x, t, "elu");
    }
    case ACT_SOFTSIGN:
        if ((t = mo_unary(c, n, ME_OP_ABS, x, "abs")) < 0) return -1;
        if ((t = mo_build_affine(c, n, t, 1.0f, 1.0f, "abs_1")) < 0) return -1;
        return mo_binary(c, n, ME_OP_DIVIDE, x, t, "softsign");
    case ACT_SOFTPLUS:
        if ((t = mo_unary(c, n, ME_OP_EXP, x, "exp")) < 0) return -1;
        if ((t = mo_build_affine(c, n, t, 1.0f, 1.0f, "exp_1")) < 0) return -1;
        return mo_unary(c, n, ME_OP_LOG, t, "softplus");
    }
    return -1;
}

static me_status rnn_activations(mo_ctx *c, const onnx_node *n, rnn_cfg *r) {
    int per_dir = r->gru ? 2 : 3;
    for (int d = 0; d < 2; d++) {
        r->act[d][0] = (rnn_act){ACT_SIGMOID, 0, 0};
        r->act[d][1] = (rnn_act){ACT_TANH, 0, 0};
        r->act[d][2] = (rnn_act){ACT_TANH, 0, 0};
    }
    const onnx_attr *names = mo_attr(n, "activations");
    if (names == NULL) return ME_OK;
    if (names->type != ONNX_ATTR_STRINGS || names->n != per_dir * r->n_dir)
        return mo_error(c, n, ME_ERR_FORMAT, "attribute activations must list %d functions", per_dir * r->n_dir);
    const float *alphas = NULL, *betas = NULL;
    int na = mo_attr_floats(n, "activation_alpha", &alphas), nb = mo_attr_floats(n, "activation_beta", &betas);
    int ia = 0, ib = 0;
    for (int i = 0; i < names->n; i++) {
        const char *name = names->strings[i];
        size_t k = 0;
        while (k < ME_ARRAY_LEN(ACTS) && strcasecmp(ACTS[k].name, name) != 0) k++;
        if (k == ME_ARRAY_LEN(ACTS))
            return mo_error(c, n, ME_ERR_UNSUPPORTED, "activation '%s' is not supported", name);
        rnn_act a = {ACTS[k].kind, ACTS[k].alpha, ACTS[k].beta};
        /* alpha/beta values are consumed in order by the functions that take them */
        if (ACTS[k].n_params >= 1 && ia < na) a.alpha = alphas[ia++];
        if (ACTS[k].n_params >= 2 && ib < nb) a.beta = betas[ib++];
        r->act[i / per_dir][i % per_dir] = a;
    }
    return ME_OK;
}

static me_status rnn_config(mo_ctx *c, const onnx_node *n, bool gru, rnn_cfg *r) {
    memset(r, 0, sizeof(*r));
    r->gru = gru;
    r->gates = gru ? 3 : 4;
    int x = mo_in(c, n, 0), w = mo_in(c, n, 1), rr = mo_in(c, n, 2);
    if (x < 0 || w < 0 || rr < 0) return mo_error(c, n, ME_ERR_FORMAT, "inputs X, W and R are required");
    const char *dir = mo_attr_str(n, "direction", "forward");
    if (strcmp(dir, "forward") == 0) r->n_dir = 1;
    else if (strcmp(dir, "reverse") == 0) r->n_dir = 1, r->reverse_only = true;
    else if (strcmp(dir, "bidirectional") == 0) r->n_dir = 2;
    else return mo_error(c, n, ME_ERR_UNSUPPORTED, "attribute direction='%s' is not supported", dir);
    r->layout = (int)mo_attr_int(n, "layout", 0);
    if (r->layout != 0 && r->layout != 1)
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "attribute layout=%d is not supported", r->layout);
    const me_tensor *xt = mo_t(c, x), *wt = mo_t(c, w), *rt = mo_t(c, rr);
    if (xt->rank != 3) return mo_error(c, n, ME_ERR_FORMAT, "X must be 3-D");
    r->seq = r->layout ? xt->dims[1] : xt->dims[0];
    r->batch = r->layout ? xt->dims[0] : xt->dims[1];
    r->input = xt->dims[2];
    r->hidden = mo_attr_int(n, "hidden_size", 0);
    if (r->hidden <= 0 && wt->rank == 3) r->hidden = wt->dims[1] / r->gates;
    if (r->hidden <= 0) return mo_error(c, n, ME_ERR_FORMAT, "hidden_size is missing");
    if (wt->rank != 3 || wt->dims[0] != r->n_dir || wt->dims[1] != r->gates * r->hidden || wt->dims[2] != r->input)
        return mo_error(c, n, ME_ERR_FORMAT, "W must be [%d, %lld, %lld]", r->n_dir, (long long)(r->gates * r->hidden),
                        (long long)r->input);
    if (rt->rank != 3 || rt->dims[0] != r->n_dir || rt->dims[1] != r->gates * r->hidden || rt->dims[2] != r->hidden)
        return mo_error(c, n, ME_ERR_FORMAT, "R must be [%d, %lld, %lld]", r->n_dir, (long long)(r->gates * r->hidden),
                        (long long)r->hidden);
    if (r->seq < 1 || r->seq > 4096)
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "sequence length %lld: 1..4096 supported (the loop is unrolled)",
                        (long long)r->seq);
    const onnx_attr *clip = mo_attr(n, "clip");
    r->clip = clip ? clip->f : 0.0f;
    if (clip && !(r->clip > 0.0f)) return mo_error(c, n, ME_ERR_FORMAT, "attribute clip=%g must be positive", r->clip);
    r->input_forget = !gru && mo_attr_int(n, "input_forget", 0) != 0;
    r->linear_before_reset = gru && mo_attr_int(n, "linear_before_reset", 0) != 0;
    if (mo_t(c, x)->dtype != ME_DT_F32)
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "dtype %s is not supported (float32)", me_dtype_name(mo_t(c, x)->dtype));
    int sl = mo_in(c, n, 4);
    if (sl >= 0) {
        int64_t *lens, cnt;
        TRY_ST(mo_const_ints(c, n, 4, &lens, &cnt));
        for (int64_t i = 0; i < cnt; i++)
            if (lens[i] != r->seq)
                return mo_error(c, n, ME_ERR_UNSUPPORTED,
                                "sequence_lens[%lld]=%lld: only sequences of the full length %lld are supported",
                                (long long)i, (long long)lens[i], (long long)r->seq);
    }
    return rnn_activations(c, n, r);
}

/* Per-direction slice of a [num_dir, ...] tensor, without the leading axis. */
static int dir_slice(mo_ctx *c, const onnx_node *n, int t, int d, int n_dir, const char *what) {
    const me_tensor *tt = mo_t(c, t);
    int rank = tt->rank;
    int64_t dims[ME_MAX_RANK];
    for (int i = 1; i < rank; i++) dims[i - 1] = tt->dims[i];
    int s = t;
    if (n_dir > 1 && (s = mo_build_slice(c, n, t, 0, d, d + 1, what)) < 0) return -1;
    return mo_reshape(c, n, s, rank - 1, dims, what);
}

static int clip_gate(mo_ctx *c, const onnx_node *n, const rnn_cfg *r, int t) {
    if (r->clip <= 0.0f) return t;
    return mo_build_clamp(c, n, t, -r->clip, r->clip, "clip");
}

/* One direction of an LSTM or GRU; writes the hidden state per time step
 * into hs[seq] (indexed by time), and the final states. */
static me_status rnn_direction(mo_ctx *c, const onnx_node *n, const rnn_cfg *r, int d, bool reverse, int xs_all,
                               int *hs, int *h_last, int *c_last) {
    const rnn_act *act = r->act[d];
    int64_t H = r->hidden, B = r->batch, S = r->seq, G = r->gates;
    int w = dir_slice(c, n, mo_in(c, n, 1), d, r->n_dir, "w");
    TRY_T(w);
    int rw = dir_slice(c, n, mo_in(c, n, 2), d, r->n_dir, "r");
    TRY_T(rw);
    int wb = -1, rb = -1;
    if (mo_in(c, n, 3) >= 0) {
        int bias = dir_slice(c, n, mo_in(c, n, 3), d, r->n_dir, "b");
        TRY_T(bias);
        int64_t sizes[2] = {G * H, G * H};
        int parts[2];
        TRY_ST(mo_build_split(c, n, bias, 0, sizes, 2, parts, "b_split"));
        wb = parts[0], rb = parts[1];
    }
    /* input projections for every step at once: [S*B, I] x W^T -> [S, B, G*H] */
    int xw = mo_build_matmul(c, n, xs_all, w, false, true, "x_w");
    TRY_T(xw);
    if (wb >= 0) TRY_T(xw = mo_binary(c, n, ME_OP_ADD, xw, wb, "x_w_b"));
    int64_t sd[3] = {S, B, G * H};
    TRY_T(xw = mo_reshape(c, n, xw, 3, sd, "x_w_seq"));
    int *steps = mo_build_alloc(c, (size_t)S, sizeof(int));
    int64_t *ones = mo_build_alloc(c, (size_t)S, sizeof(int64_t));
    if (steps == NULL || ones == NULL) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
    for (int64_t t = 0; t < S; t++) ones[t] = 1;
    TRY_ST(mo_build_split(c, n, xw, 0, ones, (int)S, steps, "x_w_step"));

    /* GRU without linear_before_reset multiplies r into H before Rh: split R. */
    int r_zr = rw, r_h = -1, rb_zr = rb, rb_h = -1;
    if (r->gru && !r->linear_before_reset) {
        int64_t sizes[2] = {2 * H, H};
        int parts[2];
        TRY_ST(mo_build_split(c, n, rw, 0, sizes, 2, parts, "r_split"));
        r_zr = parts[0], r_h = parts[1];
        if (rb >= 0) {
            TRY_ST(mo_build_split(c, n, rb, 0, sizes, 2, parts, "rb_split"));
            rb_zr = parts[0], rb_h = parts[1];
        }
    }
    int pi = -1, po = -1, pf = -1;
    if (!r->gru && mo_in(c, n, 7) >= 0) {
        int p = dir_slice(c, n, mo_in(c, n, 7), d, r->n_dir, "p");
        TRY_T(p);
        int64_t sizes[3] = {H, H, H};
        int parts[3];
        TRY_ST(mo_build_split(c, n, p, 0, sizes, 3, parts, "p_split"));
        pi = parts[0], po = parts[1], pf = parts[2];
    }
    int64_t bh[2] = {B, H};
    int h = -1, cell = -1;
    if (r->init_h >= 0) TRY_T(h = dir_slice(c, n, r->init_h, d, r->n_dir, "initial_h"));
    else TRY_T(h = mo_build_fill_f32(c, "h0", 2, bh, 0.0f));
    if (!r->gru) {
        if (r->init_c >= 0) TRY_T(cell = dir_slice(c, n, r->init_c, d, r->n_dir, "initial_c"));
        else TRY_T(cell = mo_build_fill_f32(c, "c0", 2, bh, 0.0f));
    }
    int64_t gh[2] = {B, G * H};
    for (int64_t k = 0; k < S; k++) {
        int64_t t = reverse ? S - 1 - k : k;
        int xt;
        TRY_T(xt = mo_reshape(c, n, steps[t], 2, gh, "x_t"));
        int hr;
        TRY_T(hr = mo_build_matmul(c, n, h, r_zr, false, true, "h_r"));
        if (rb_zr >= 0) TRY_T(hr = mo_binary(c, n, ME_OP_ADD, hr, rb_zr, "h_r_b"));
        if (!r->gru) {
            int gates;
            TRY_T(gates = mo_binary(c, n, ME_OP_ADD, xt, hr, "gates"));
            int64_t sizes[4] = {H, H, H, H};
            int g4[4]; /* i, o, f, c */
            TRY_ST(mo_build_split(c, n, gates, 1, sizes, 4, g4, "gate_split"));
            int gi = g4[0], go = g4[1], gf = g4[2], gc = g4[3];
            if (pi >= 0) {
                int m;
                TRY_T(m = mo_binary(c, n, ME_OP_MULTIPLY, pi, cell, "p_i"));
                TRY_T(gi = mo_binary(c, n, ME_OP_ADD, gi, m, "i_peep"));
                TRY_T(m = mo_binary(c, n, ME_OP_MULTIPLY, pf, cell, "p_f"));
                TRY_T(gf = mo_binary(c, n, ME_OP_ADD, gf, m, "f_peep"));
            }
            int it, ft, ct;
            TRY_T(gi = clip_gate(c, n, r, gi));
            TRY_T(it = apply_act(c, n, gi, &act[0]));
            if (r->input_forget) {
                TRY_T(ft = mo_build_affine(c, n, it, -1.0f, 1.0f, "f_coupled"));
            } else {
                TRY_T(gf = clip_gate(c, n, r, gf));
                TRY_T(ft = apply_act(c, n, gf, &act[0]));
            }
            TRY_T(gc = clip_gate(c, n, r, gc));
            TRY_T(ct = apply_act(c, n, gc, &act[1]));
            int a, b;
            TRY_T(a = mo_binary(c, n, ME_OP_MULTIPLY, ft, cell, "f_c"));
            TRY_T(b = mo_binary(c, n, ME_OP_MULTIPLY, it, ct, "i_g"));
            TRY_T(cell = mo_binary(c, n, ME_OP_ADD, a, b, "c_t"));
            if (po >= 0) {
                int m;
                TRY_T(m = mo_binary(c, n, ME_OP_MULTIPLY, po, cell, "p_o"));
                TRY_T(go = mo_binary(c, n, ME_OP_ADD, go, m, "o_peep"));
            }
            int ot, hc;
            TRY_T(go = clip_gate(c, n, r, go));
            TRY_T(ot = apply_act(c, n, go, &act[0]));
            TRY_T(hc = apply_act(c, n, cell, &act[2]));
            TRY_T(h = mo_binary(c, n, ME_OP_MULTIPLY, ot, hc, "h_t"));
        } else {
            int64_t xs3[3] = {H, H, H};
            int xg[3];
            TRY_ST(mo_build_split(c, n, xt, 1, xs3, 3, xg, "x_gate_split"));
            int hg[3];
            if (r->linear_before_reset) {
                TRY_ST(mo_build_split(c, n, hr, 1, xs3, 3, hg, "h_gate_split"));
            } else {
                int64_t s2[2] = {H, H};
                TRY_ST(mo_build_split(c, n, hr, 1, s2, 2, hg, "h_gate_split"));
            }
            int z, rt, hh, a;
            TRY_T(a = mo_binary(c, n, ME_OP_ADD, xg[0], hg[0], "z_in"));
            TRY_T(a = clip_gate(c, n, r, a));
            TRY_T(z = apply_act(c, n, a, &act[0]));
            TRY_T(a = mo_binary(c, n, ME_OP_ADD, xg[1], hg[1], "r_in"));
            TRY_T(a = clip_gate(c, n, r, a));
            TRY_T(rt = apply_act(c, n, a, &act[0]));
            if (r->linear_before_reset) {
                TRY_T(a = mo_binary(c, n, ME_OP_MULTIPLY, rt, hg[2], "r_hr"));
            } else {
                TRY_T(a = mo_binary(c, n, ME_OP_MULTIPLY, rt, h, "r_h"));
                TRY_T(a = mo_build_matmul(c, n, a, r_h, false, true, "r_h_rh"));
                if (rb_h >= 0) TRY_T(a = mo_binary(c, n, ME_OP_ADD, a, rb_h, "r_h_rh_b"));
            }
            TRY_T(a = mo_binary(c, n, ME_OP_ADD, xg[2], a, "h_in"));
            TRY_T(a = clip_gate(c, n, r, a));
            TRY_T(hh = apply_act(c, n, a, &act[1]));
            /* H = (1 - z) * hh + z * H = hh + z * (H - hh) */
            int diff, zd;
            TRY_T(diff = mo_binary(c, n, ME_OP_SUBTRACT, h, hh, "h_diff"));
            TRY_T(zd = mo_binary(c, n, ME_OP_MULTIPLY, z, diff, "z_diff"));
            TRY_T(h = mo_binary(c, n, ME_OP_ADD, hh, zd, "h_t"));
        }
        hs[t] = h;
    }
    *h_last = h;
    *c_last = cell;
    return ME_OK;
}

/* Stack per-direction [B, H] states into [num_dir, B, H] (or [B, num_dir, H]). */
static int stack_dirs(mo_ctx *c, const onnx_node *n, const rnn_cfg *r, const int *st, const char *what) {
    int parts[2] = {-1, -1};
    int64_t d3[3] = {1, r->batch, r->hidden};
    for (int d = 0; d < r->n_dir; d++)
        if ((parts[d] = mo_reshape(c, n, st[d], 3, d3, what)) < 0) return -1;
    int y = parts[0];
    if (r->n_dir > 1 && (y = mo_build_concat(c, n, parts, r->n_dir, 0, what)) < 0) return -1;
    if (r->layout) {
        y = mo_transpose(c, n, y, PERM_102, what);
    }
    return y;
}

static me_status tr_rnn(mo_ctx *c, const onnx_node *n, bool gru) {
    rnn_cfg r;
    TRY_ST(rnn_config(c, n, gru, &r));
    int64_t S = r.seq, B = r.batch, H = r.hidden;
    int x = mo_in(c, n, 0);
    if (r.layout) TRY_T(x = mo_transpose(c, n, x, PERM_102, "x_seq_major"));
    int64_t flat[2] = {S * B, r.input};
    TRY_T(x = mo_reshape(c, n, x, 2, flat, "x_flat"));
    /* initial states in layout 1 are [B, num_dir, H]: bring them to [num_dir, B, H] */
    r.init_h = mo_in(c, n, 5);
    r.init_c = gru ? -1 : mo_in(c, n, 6);
    if (r.layout && r.init_h >= 0) TRY_T(r.init_h = mo_transpose(c, n, r.init_h, PERM_102, "initial_h_dir_major"));
    if (r.layout && r.init_c >= 0) TRY_T(r.init_c = mo_transpose(c, n, r.init_c, PERM_102, "initial_c_dir_major"));
    int *hs[2] = {NULL, NULL};
    int h_last[2], c_last[2];
    for (int d = 0; d < r.n_dir; d++) {
        hs[d] = mo_build_alloc(c, (size_t)S, sizeof(int));
        if (hs[d] == NULL) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
        bool reverse = r.reverse_only || d == 1;
        TRY_ST(rnn_direction(c, n, &r, d, reverse, x, hs[d], &h_last[d], &c_last[d]));
    }
    if (output_used(n, 0)) {
        int *steps = mo_build_alloc(c, (size_t)S, sizeof(int));
        if (steps == NULL) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
        int64_t d4[4] = {1, 1, B, H};
        for (int64_t t = 0; t < S; t++) {
            int parts[2];
            for (int d = 0; d < r.n_dir; d++) TRY_T(parts[d] = mo_reshape(c, n, hs[d][t], 4, d4, "y_t"));
            steps[t] = parts[0];
            if (r.n_dir > 1) TRY_T(steps[t] = mo_build_concat(c, n, parts, 2, 1, "y_t_dirs"));
        }
        int y = steps[0];
        if (S > 1) TRY_T(y = mo_build_concat(c, n, steps, (int)S, 0, "y"));
        if (r.layout) {
            static const int p2013[4] = {2, 0, 1, 3};
            TRY_T(y = mo_transpose(c, n, y, p2013, "y_batch_major"));
        }
        TRY_ST(mo_bind(c, n, 0, y));
    }
    if (output_used(n, 1)) {
        int yh = stack_dirs(c, n, &r, h_last, "y_h");
        TRY_T(yh);
        TRY_ST(mo_bind(c, n, 1, yh));
    }
    if (!gru && output_used(n, 2)) {
        int yc = stack_dirs(c, n, &r, c_last, "y_c");
        TRY_T(yc);
        TRY_ST(mo_bind(c, n, 2, yc));
    }
    return ME_OK;
}

me_status mo_tr_lstm(mo_ctx *c, const onnx_node *n) { return tr_rnn(c, n, false); }
me_status mo_tr_gru(mo_ctx *c, const onnx_node *n) { return tr_rnn(c, n, true); }

/* =============================================================== Einsum */

/* Labels: 'a'..'z', 'A'..'Z' map to 0..51; ellipsis dims get 52.., right-aligned
 * so that the last ellipsis dim of every operand has label 52 + ME_MAX_RANK - 1. */
#define EIN_MAX_LABELS (52 + ME_MAX_RANK)

typedef struct ein_term {
    int n;
    int labels[ME_MAX_RANK];
} ein_term;

static int ein_label(char ch) {
    if (ch >= 'a' && ch <= 'z') return ch - 'a';
    if (ch >= 'A' && ch <= 'Z') return 26 + (ch - 'A');
    return -1;
}

/* Parse one term; an ellipsis expands to its dims' labels (the output's to ell_rank of them). */
static bool ein_parse_term(const char *s, const char *end, int rank, int *ell_rank, ein_term *t, bool is_output) {
    t->n = 0;
    int explicit_n = 0;
    bool has_ell = false;
    for (const char *p = s; p < end; p++) {
        if (*p == ' ') continue;
        if (*p == '.') {
            if (end - p < 3 || p[1] != '.' || p[2] != '.' || has_ell) return false;
            has_ell = true;
            p += 2;
        } else if (ein_label(*p) >= 0) {
            explicit_n++;
        } else {
            return false;
        }
    }
    int ell = 0;
    if (has_ell) {
        if (is_output) ell = *ell_rank;
        else {
            ell = rank - explicit_n;
            if (ell < 0) return false;
            if (ell > *ell_rank) *ell_rank = ell;
        }
    } else if (!is_output && explicit_n != rank) {
        return false;
    }
    if (explicit_n + ell > ME_MAX_RANK) return false;
    for (const char *p = s; p < end; p++) {
        if (*p == ' ') continue;
        if (*p == '.') {
            for (int i = 0; i < ell; i++) t->labels[t->n++] = 52 + ME_MAX_RANK - ell + i;
            p += 2;
        } else {
            t->labels[t->n++] = ein_label(*p);
        }
    }
    return true;
}

static int ein_find(const ein_term *t, int label) {
    for (int i = 0; i < t->n; i++)
        if (t->labels[i] == label) return i;
    return -1;
}

/* Reduce-sum the axes of x whose labels are not in keep; updates term. */
static int ein_sum_out(mo_ctx *c, const onnx_node *n, int x, ein_term *t, const bool *keep) {
    int64_t axes[ME_MAX_RANK];
    int na = 0;
    ein_term rest = {0, {0}};
    for (int i = 0; i < t->n; i++) {
        if (keep[t->labels[i]]) rest.labels[rest.n++] = t->labels[i];
        else axes[na++] = i;
    }
    if (na == 0) return x;
    int y = mo_build_reduce(c, n, ME_OP_REDUCE_SUM, x, axes, na, false, "einsum_sum");
    *t = rest;
    return y;
}

/* Transpose x (labels t) into the order `order` (a permutation of t). */
static int ein_permute(mo_ctx *c, const onnx_node *n, int x, const ein_term *t, const int *order, int cnt) {
    int perm[ME_MAX_RANK];
    bool ident = true;
    for (int i = 0; i < cnt; i++) {
        perm[i] = ein_find(t, order[i]);
        if (perm[i] != i) ident = false;
    }
    if (ident) return x;
    return mo_transpose(c, n, x, perm, "einsum_perm");
}

me_status mo_tr_einsum(mo_ctx *c, const onnx_node *n) {
    const char *eq = mo_attr_str(n, "equation", NULL);
    if (eq == NULL) return mo_error(c, n, ME_ERR_FORMAT, "attribute equation is missing");
    int n_ops = 0, ins[2];
    for (int i = 0; i < n->n_in; i++) {
        if (n_ops == 2) return mo_error(c, n, ME_ERR_UNSUPPORTED, "Einsum '%s': more than two operands are not supported", eq);
        if ((ins[n_ops] = mo_in(c, n, i)) < 0) return mo_error(c, n, ME_ERR_FORMAT, "operand %d is missing", i);
        n_ops++;
    }
    if (n_ops == 0) return mo_error(c, n, ME_ERR_FORMAT, "Einsum needs at least one operand");
    const char *arrow = strstr(eq, "->");
    const char *lhs_end = arrow ? arrow : eq + strlen(eq);
    ein_term terms[2];
    int ell_rank = 0, k = 0;
    const char *p = eq;
    while (true) {
        const char *comma = memchr(p, ',', (size_t)(lhs_end - p));
        const char *e = comma ? comma : lhs_end;
        if (k >= n_ops || !ein_parse_term(p, e, mo_t(c, ins[k])->rank, &ell_rank, &terms[k], false))
            return mo_error(c, n, ME_ERR_UNSUPPORTED, "Einsum equation '%s' is malformed or does not match the inputs", eq);
        k++;
        if (!comma) break;
        p = comma + 1;
    }
    if (k != n_ops) return mo_error(c, n, ME_ERR_FORMAT, "Einsum equation '%s' names %d operands, node has %d", eq, k, n_ops);
    /* dims per label; a label repeated within one operand (a diagonal) is refused */
    int64_t dim[EIN_MAX_LABELS];
    int count[EIN_MAX_LABELS] = {0};
    for (int i = 0; i < EIN_MAX_LABELS; i++) dim[i] = -1;
    for (int o = 0; o < n_ops; o++) {
        const me_tensor *tt = mo_t(c, ins[o]);
        for (int i = 0; i < terms[o].n; i++) {
            int l = terms[o].labels[i];
            if (ein_find(&terms[o], l) != i)
                return mo_error(c, n, ME_ERR_UNSUPPORTED, "Einsum '%s': repeated labels within an operand (diagonals) are not supported", eq);
            count[l]++;
            if (dim[l] >= 0 && dim[l] != tt->dims[i])
                return mo_error(c, n, ME_ERR_UNSUPPORTED, "Einsum '%s': label dims differ (%lld vs %lld; broadcasting is not supported)",
                                eq, (long long)dim[l], (long long)tt->dims[i]);
            dim[l] = tt->dims[i];
        }
    }
    ein_term out;
    if (arrow) {
        if (!ein_parse_term(arrow + 2, eq + strlen(eq), 0, &ell_rank, &out, true))
            return mo_error(c, n, ME_ERR_UNSUPPORTED, "Einsum equation '%s' has a malformed output", eq);
        for (int i = 0; i < out.n; i++)
            if (count[out.labels[i]] == 0 || ein_find(&out, out.labels[i]) != i)
                return mo_error(c, n, ME_ERR_FORMAT, "Einsum '%s': output label not in the inputs or repeated", eq);
    } else { /* implicit: ellipsis dims, then labels seen once, alphabetically */
        out.n = 0;
        for (int l = 52 + ME_MAX_RANK - ell_rank; l < 52 + ME_MAX_RANK; l++) out.labels[out.n++] = l;
        for (int l = 0; l < 52; l++)
            if (count[l] == 1) {
                if (out.n >= ME_MAX_RANK) return mo_error(c, n, ME_ERR_UNSUPPORTED, "Einsum '%s': output rank too large", eq);
                out.labels[out.n++] = l;
            }
    }
    bool in_out[EIN_MAX_LABELS] = {false};
    for (int i = 0; i < out.n; i++) in_out[out.labels[i]] = true;

    int y;
    if (n_ops == 1) {
        ein_term t = terms[0];
        TRY_T(y = ein_sum_out(c, n, ins[0], &t, in_out));
        TRY_T(y = ein_permute(c, n, y, &t, out.labels, out.n));
        return mo_bind(c, n, 0, y);
    }
    /* Two operands: sum labels private to one operand and absent from the
     * output, then batch (both + out), contracted (both, not out), kept. */
    ein_term ta = terms[0], tb = terms[1];
    bool keep_a[EIN_MAX_LABELS], keep_b[EIN_MAX_LABELS];
    for (int l = 0; l < EIN_MAX_LABELS; l++) {
        keep_a[l] = in_out[l] || ein_find(&tb, l) >= 0;
        keep_b[l] = in_out[l] || ein_find(&ta, l) >= 0;
    }
    int a, b;
    TRY_T(a = ein_sum_out(c, n, ins[0], &ta, keep_a));
    TRY_T(b = ein_sum_out(c, n, ins[1], &tb, keep_b));
    int batch[ME_MAX_RANK], contr[ME_MAX_RANK], ka[ME_MAX_RANK], kb[ME_MAX_RANK];
    int nbatch = 0, ncontr = 0, nka = 0, nkb = 0;
    for (int i = 0; i < ta.n; i++) {
        int l = ta.labels[i];
        bool inb = ein_find(&tb, l) >= 0;
        if (inb && in_out[l]) batch[nbatch++] = l;
        else if (inb) contr[ncontr++] = l;
        else ka[nka++] = l;
    }
    for (int i = 0; i < tb.n; i++)
        if (ein_find(&ta, tb.labels[i]) < 0) kb[nkb++] = tb.labels[i];
    int64_t nb = 1, m = 1, kk = 1, nn = 1;
    for (int i = 0; i < nbatch; i++) nb *= dim[batch[i]];
    for (int i = 0; i < nka; i++) m *= dim[ka[i]];
    for (int i = 0; i < ncontr; i++) kk *= dim[contr[i]];
    for (int i = 0; i < nkb; i++) nn *= dim[kb[i]];
    /* A -> [batch, kept_a, contracted] -> [nb, m, k]; B -> [batch, contracted, kept_b] -> [nb, k, n] */
    int order[ME_MAX_RANK], cnt = 0;
    for (int i = 0; i < nbatch; i++) order[cnt++] = batch[i];
    for (int i = 0; i < nka; i++) order[cnt++] = ka[i];
    for (int i = 0; i < ncontr; i++) order[cnt++] = contr[i];
    TRY_T(a = ein_permute(c, n, a, &ta, order, cnt));
    cnt = 0;
    for (int i = 0; i < nbatch; i++) order[cnt++] = batch[i];
    for (int i = 0; i < ncontr; i++) order[cnt++] = contr[i];
    for (int i = 0; i < nkb; i++) order[cnt++] = kb[i];
    TRY_T(b = ein_permute(c, n, b, &tb, order, cnt));
    int64_t da[3] = {nb, m, kk}, db[3] = {nb, kk, nn};
    TRY_T(a = mo_reshape(c, n, a, 3, da, "einsum_a"));
    TRY_T(b = mo_reshape(c, n, b, 3, db, "einsum_b"));
    TRY_T(y = mo_build_matmul(c, n, a, b, false, false, "einsum_matmul"));
    ein_term res = {0, {0}};
    int64_t rd[ME_MAX_RANK];
    for (int i = 0; i < nbatch; i++) res.labels[res.n++] = batch[i];
    for (int i = 0; i < nka; i++) res.labels[res.n++] = ka[i];
    for (int i = 0; i < nkb; i++) res.labels[res.n++] = kb[i];
    if (res.n > ME_MAX_RANK) return mo_error(c, n, ME_ERR_UNSUPPORTED, "Einsum '%s': result rank too large", eq);
    for (int i = 0; i < res.n; i++) rd[i] = dim[res.labels[i]];
    TRY_T(y = mo_reshape(c, n, y, res.n, rd, "einsum_result"));
    TRY_T(y = ein_permute(c, n, y, &res, out.labels, out.n));
    return mo_bind(c, n, 0, y);
}
