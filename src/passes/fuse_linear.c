/* fuse_linear: MatMul(x, W) with a static 2-D float W [K, N] (or [N, K] with
 * transpose_in1), as ONNX MatMul / PyTorch Linear export it, becomes one
 * FullyConnected(x, W' [N, K], bias) with keep_dims=1, so the output keeps
 * x's leading dims ([B, S, K] -> [B, S, N]). An Add of a static per-column
 * constant ([N], [1, ..., N] or a scalar) that is the MatMul output's only
 * reader becomes the FullyConnected bias. x must have rank >= 2 and no
 * transpose_in0; a MatMul with a fused activation or a bias input stays. The
 * new node keeps the MatMul's name and scope and records the sources of both
 * nodes. */
#include <stdio.h>
#include <string.h>

#include "../core/util.h"
#include "pass_util.h"

static bool same_shape(const me_tensor *a, const me_tensor *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

/* Static bias operand of Add node `an` whose other input is y ([..., n]):
 * every dim but the last is 1 and the last is n or 1, rank <= y's. Returns
 * the constant's tensor (and its element count in *count) or -1. */
static int bias_operand(const me_graph *g, const me_node *a, int y, int64_t n, int64_t *count) {
    if (a->op != ME_OP_ADD || a->n_in != 2 || a->n_out != 1) return -1;
    int c = a->in[0] == y ? a->in[1] : a->in[0];
    if ((a->in[0] == y) == (a->in[1] == y)) return -1; /* y on both sides, or neither */
    const me_tensor *ct = &g->tensors[c], *yt = &g->tensors[y];
    if (!mp_is_static(g, c) || !mp_plain_f32(g, c) || !ct->data || ct->rank > yt->rank) return -1;
    for (int i = 0; i + 1 < ct->rank; i++)
        if (ct->dims[i] != 1) return -1;
    int64_t last = ct->rank ? ct->dims[ct->rank - 1] : 1;
    if (last != n && last != 1) return -1;
    if (!mp_plain_f32(g, a->out[0]) || !same_shape(&g->tensors[a->out[0]], yt)) return -1;
    *count = last;
    return c;
}

static me_status try_fuse(me_graph *g, mp_uses *u, int mn, const void *arg, me_diag *d) {
    (void)arg;
    const me_node *m = &g->nodes[mn];
    if (m->op != ME_OP_MATMUL || m->n_out != 1 || m->n_in < 2) return ME_OK;
    if (m->n_in > 2 && m->in[2] >= 0) return ME_OK;
    if (me_param_int(m, "transpose_in0", 0) != 0 || me_param_int(m, "activation", 0) != 0) return ME_OK;
    int x = m->in[0], w = m->in[1], y = m->out[0];
    bool t1 = me_param_int(m, "transpose_in1", 0) != 0;
    if (!mp_plain_f32(g, x) || !mp_plain_f32(g, y) || !mp_is_static(g, w) || !mp_plain_f32(g, w)) return ME_OK;
    const me_tensor *xt = &g->tensors[x], *wt = &g->tensors[w], *yt = &g->tensors[y];
    if (xt->rank < 2 || wt->rank != 2 || !wt->data || mp_is_static(g, x)) return ME_OK;
    int64_t k = t1 ? wt->dims[1] : wt->dims[0], n = t1 ? wt->dims[0] : wt->dims[1];
    if (k != xt->dims[xt->rank - 1] || k <= 0 || n <= 0) return ME_OK;
    /* the FullyConnected output (keep_dims) must be the MatMul's */
    if (yt->rank != xt->rank || yt->dims[yt->rank - 1] != n) return ME_OK;
    for (int i = 0; i + 1 < xt->rank; i++)
        if (yt->dims[i] != xt->dims[i]) return ME_OK;

    /* an Add of a per-column constant, the MatMul output's only reader */
    int an = -1, bias = -1, out = y;
    int64_t nb = 0;
    if (!mp_is_output(g, y)) {
        int c = mp_single_consumer(u, y);
        if (c >= 0 && (bias = bias_operand(g, &g->nodes[c], y, n, &nb)) >= 0) {
            an = c;
            out = g->nodes[c].out[0];
        }
    }

    /* W' [N, K] (already so with transpose_in1) and the bias */
    size_t wbytes = me_tensor_nbytes(wt);
    int new_w = w;
    char name[512];
    if (!t1) {
        float *nw = me_arena_alloc(&g->arena, wbytes);
        if (!nw) return me_fail(d, ME_ERR_NOMEM, "out of memory fusing '%s'", m->name);
        const float *src = mp_f32(g, w);
        for (int64_t r = 0; r < k; r++)
            for (int64_t c = 0; c < n; c++) nw[c * k + r] = src[r * n + c];
        int64_t nd[2] = {n, k};
        snprintf(name, sizeof name, "%.480s_nk", wt->name);
        new_w = mp_add_static(g, u, name, ME_DT_F32, 2, nd, nw, wbytes, d);
        if (new_w < 0) return me_fail(d, ME_ERR_NOMEM, "out of memory fusing '%s'", m->name);
    }
    int new_b = -1;
    if (bias >= 0) {
        if (nb == n && g->tensors[bias].rank == 1) {
            new_b = bias;
        } else {
            float *bv = me_arena_alloc(&g->arena, (size_t)n * sizeof(float));
            if (!bv) return me_fail(d, ME_ERR_NOMEM, "out of memory fusing '%s'", m->name);
            const float *src = mp_f32(g, bias);
            for (int64_t c = 0; c < n; c++) bv[c] = src[nb == 1 ? 0 : c];
            int64_t bd[1] = {n};
            snprintf(name, sizeof name, "%.480s_bias", m->name);
            new_b = mp_add_static(g, u, name, ME_DT_F32, 1, bd, bv, (size_t)n * sizeof(float), d);
            if (new_b < 0) return me_fail(d, ME_ERR_NOMEM, "out of memory fusing '%s'", m->name);
        }
    }

    /* the FullyConnected node replaces the MatMul (and the Add) */
    const char *mname = m->name, *scope = m->scope;
    mp_kill(g, u, mn);
    if (an >= 0) mp_kill(g, u, an);
    int in[3] = {x, new_w, new_b};
    int fc = mp_add_node(g, u, mname, ME_OP_FULLY_CONNECTED, in, new_b >= 0 ? 3 : 2, &out, 1, scope, d);
    if (fc < 0) return me_fail(d, ME_ERR_NOMEM, "out of memory fusing '%s'", mname);
    me_status st = me_node_set_scalar_bool(g, fc, "keep_dims", true);
    if (st == ME_OK) st = mp_absorb_sources(g, fc, mn);
    if (st == ME_OK && an >= 0) st = mp_absorb_sources(g, fc, an);
    if (st != ME_OK) return me_fail(d, st, "out of memory fusing '%s'", mname);
    if (new_w != w && mp_use_count(u, w) == 0 && !mp_is_output(g, w)) me_graph_release_static(g, w);
    return ME_OK;
}

me_status me_pass_fuse_linear(me_graph *g, const me_pass_options *o, me_diag *d) {
    (void)o;
    return mp_each_node(g, try_fuse, NULL, d);
}
