/* fold_qdq: an ONNX model already quantised in QDQ form (ONNX Runtime's
 * quantize_static: QuantizeLinear/DequantizeLinear around every quantised
 * op, static weights behind DequantizeLinear) becomes the quantised IR with
 * the model's own encodings, no calibration. Runs before constant_fold so
 * Dequantize(static int weight) is still there.
 *
 *  1. Static weights: Dequantize(W) -> Transpose / Reshape (the layout
 *     changes the frontend made, e.g. OIHW -> HWIO) becomes
 *     Dequantize(W') with W' the moved integer data and the encoding axis
 *     moved along.
 *  2. Data movement on a dequantised activation, Move(Dequantize(q)),
 *     becomes Dequantize(Move(q)): codes move, the encoding stays.
 *     Quantize(Move(y)) -> Move(Quantize(y)) likewise, and the same for
 *     Relu / ReluMinMax, which commute exactly with Quantize.
 *  3. A node with an integer kernel whose inputs come from Dequantize and
 *     whose only consumer is a Quantize reads the quantised tensors directly
 *     and writes the Quantize's output (me_op_has_quant_kernel decides).
 * Everything else stays as imported: Dequantize -> float op -> Quantize
 * (float fallback); leftover Dequantize(static) nodes are folded to float by
 * constant_fold and unused ones dropped by dead_code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "../passes/pass_util.h"
#include "quant_kernels.h"
#include "qk_common.h"

static int dq_of(const me_graph *g, int t) {
    int p = t >= 0 ? mp_producer(g, t) : -1;
    return p >= 0 && g->nodes[p].op == ME_OP_DEQUANTIZE && g->nodes[p].n_in == 1 ? p : -1;
}

static bool is_quant_static(const me_tensor *t) {
    int64_t lo, hi;
    return (t->flags & ME_TF_STATIC) && t->qenc && me_qdtype_range(t->dtype, &lo, &hi) &&
           (t->qenc->kind == ME_QENC_SCALE_OFFSET || t->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET);
}

static size_t packed_bytes(me_dtype dt, int64_t numel) {
    return dt == ME_DT_I4 || dt == ME_DT_U4 ? (size_t)(numel + 1) / 2 : (size_t)numel * me_dtype_size(dt);
}

/* 1: Transpose/Reshape of a dequantised static weight -> moved static weight. */
static me_status fold_weight_move(me_graph *g, mp_uses *u, int mv, bool *changed, me_diag *d) {
    me_node *m = &g->nodes[mv];
    if (m->n_in < 1 || m->n_out != 1) return ME_OK;
    int t = m->in[0], dqn = dq_of(g, t);
    if (dqn < 0 || mp_single_consumer(u, t) != mv || mp_is_output(g, t)) return ME_OK;
    int w = g->nodes[dqn].in[0];
    if (w < 0 || !is_quant_static(&g->tensors[w])) return ME_OK;
    const me_tensor *wt = &g->tensors[w];
    const me_tensor *ot = &g->tensors[m->out[0]];
    me_qenc *enc = me_arena_alloc(&g->arena, sizeof *enc);
    if (!enc) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    *enc = *wt->qenc;
    int64_t numel = me_tensor_numel(wt);
    size_t nb = packed_bytes(wt->dtype, numel);
    void *data = NULL;
    if (m->op == ME_OP_TRANSPOSE) {
        int perm[ME_MAX_RANK];
        if (!mp_get_perm(m, wt->rank, perm)) return ME_OK;
        if (enc->kind == ME_QENC_AXIS_SCALE_OFFSET)
            for (int i = 0; i < wt->rank; i++)
                if (perm[i] == wt->qenc->axis) enc->axis = i;
        bool packed = wt->dtype == ME_DT_I4 || wt->dtype == ME_DT_U4;
        size_t es = packed ? 1 : me_dtype_size(wt->dtype);
        data = me_arena_alloc(&g->arena, nb ? nb : 1);
        if (!data) return me_fail(d, ME_ERR_NOMEM, "out of memory");
        if (packed) {
            int8_t *src = malloc((size_t)(numel ? numel : 1)), *dst = malloc((size_t)(numel ? numel : 1));
            if (!src || !dst) { free(src); free(dst); return me_fail(d, ME_ERR_NOMEM, "out of memory"); }
            for (int64_t i = 0; i < numel; i++) src[i] = (int8_t)me_qload(wt->data, wt->dtype, i);
            mp_permute_data(src, dst, 1, wt->rank, wt->dims, perm);
            memset(data, 0, nb);
            for (int64_t i = 0; i < numel; i++) ((uint8_t *)data)[i / 2] |= (uint8_t)((dst[i] & 15) << ((i & 1) * 4));
            free(src);
            free(dst);
        } else {
            mp_permute_data(wt->data, data, es, wt->rank, wt->dims, perm);
        }
    } else if (m->op == ME_OP_RESHAPE) {
        if (enc->kind != ME_QENC_SCALE_OFFSET) return ME_OK; /* the channel axis would be lost */
        data = (void *)wt->data;
    } else {
        return ME_OK;
    }
    int rank = ot->rank;
    int64_t dims[ME_MAX_RANK];
    memcpy(dims, ot->dims, sizeof dims);
    me_dtype dt = wt->dtype;
    char base[64];
    snprintf(base, sizeof base, "%.40s_moved", g->tensors[w].name);
    int w2 = mp_add_static(g, u, base, dt, rank, dims, data, nb, d);
    if (w2 < 0) return me_fail(d, ME_ERR_NOMEM, "fold_qdq: cannot add the moved weight");
    g->tensors[w2].qenc = enc;
    int out = g->nodes[mv].out[0];
    const char *scope = g->nodes[mv].scope;
    char name[96];
    snprintf(name, sizeof name, "%.80s_dq", g->nodes[mv].name);
    mp_kill(g, u, mv);
    int nn = mp_add_node(g, u, name, ME_OP_DEQUANTIZE, &w2, 1, &out, 1, scope, d);
    if (nn < 0) return me_fail(d, ME_ERR_NOMEM, "fold_qdq: cannot add a node");
    mp_absorb_sources(g, nn, dqn);
    *changed = true;
    return ME_OK;
}

static bool is_move_op(int op) {
    return op == ME_OP_RESHAPE || op == ME_OP_TRANSPOSE || op == ME_OP_STRIDED_SLICE || op == ME_OP_TILE ||
           op == ME_OP_DEPTH_TO_SPACE || op == ME_OP_SPACE_TO_DEPTH || op == ME_OP_GATHER;
}

/* 2: Move(Dequantize(q)) -> Dequantize(Move(q)) for an activation q. */
static me_status fold_act_move(me_graph *g, mp_uses *u, int mv, bool *changed, me_diag *d) {
    me_node *m = &g->nodes[mv];
    if (m->n_in < 1 || m->n_out != 1) return ME_OK;
    int t = m->in[0], dqn = dq_of(g, t);
    if (dqn < 0) return ME_OK;
    int q = g->nodes[dqn].in[0];
    if (q < 0 || (g->tensors[q].flags & ME_TF_STATIC) || !me_qk_is_qact(&g->tensors[q])) return ME_OK;
    int y = m->out[0];
    int rank = g->tensors[y].rank;
    int64_t dims[ME_MAX_RANK];
    memcpy(dims, g->tensors[y].dims, sizeof dims);
    int q2 = mp_add_tensor_like(g, u, q, "_moved", rank, dims, d);
    if (q2 < 0) return me_fail(d, ME_ERR_NOMEM, "fold_qdq: cannot add a tensor");
    me_status st = mp_set_input(g, u, mv, 0, q, d);
    if (st) return st;
    mp_set_output(g, mv, 0, q2);
    char name[96];
    snprintf(name, sizeof name, "%.80s_dq", g->nodes[mv].name);
    int nn = mp_add_node(g, u, name, ME_OP_DEQUANTIZE, &q2, 1, &y, 1, g->nodes[mv].scope, d);
    if (nn < 0) return me_fail(d, ME_ERR_NOMEM, "fold_qdq: cannot add a node");
    *changed = true;
    return ME_OK;
}

/* 3: a node with an integer kernel reads quantised inputs and writes the
 * following Quantize's output. */
static me_status fold_compute(me_graph *g, mp_uses *u, int ni, bool *changed, me_diag *d) {
    me_node *n = &g->nodes[ni];
    if (n->n_out != 1 || n->n_in > 16 || !me_op_quant_capable(n->op) || is_move_op(n->op)) return ME_OK;
    int y = n->out[0];
    if (mp_is_output(g, y)) return ME_OK;
    int qn = mp_single_consumer(u, y);
    if (qn < 0 || g->nodes[qn].op != ME_OP_QUANTIZE) return ME_OK;
    int qy = g->nodes[qn].out[0];
    int old_in[16], new_in[16];
    bool any = false;
    for (int i = 0; i < n->n_in; i++) {
        old_in[i] = new_in[i] = n->in[i];
        int dqn = dq_of(g, n->in[i]);
        if (dqn < 0) continue;
        int q = g->nodes[dqn].in[0];
        if (q < 0) continue;
        const me_tensor *qt = &g->tensors[q];
        if (!(is_quant_static(qt) || me_qk_is_qact(qt))) continue;
        new_in[i] = q;
        any = true;
    }
    if (!any) return ME_OK;
    /* ask the kernel table about the rewired node */
    for (int i = 0; i < n->n_in; i++) n->in[i] = new_in[i];
    n->out[0] = qy;
    bool ok = me_op_has_quant_kernel(g, n);
    for (int i = 0; i < n->n_in; i++) n->in[i] = old_in[i];
    n->out[0] = y;
    if (!ok) return ME_OK;
    for (int i = 0; i < n->n_in; i++)
        if (new_in[i] != old_in[i]) {
            me_status st = mp_set_input(g, u, ni, i, new_in[i], d);
            if (st) return st;
        }
    mp_absorb_sources(g, ni, qn);
    mp_kill(g, u, qn);
    mp_set_output(g, ni, 0, qy);
    me_status st = me_node_infer(g, &g->nodes[ni], d);
    if (st) return st;
    *changed = true;
    return ME_OK;
}

/* 5: Quantize(Move(y)) -> Move(Quantize(y)) for a per-tensor encoding, so the
 * producer of y sees its Quantize (the frontend puts layout Transposes
 * between a Conv and the model's QuantizeLinear). */
static me_status fold_move_quant(me_graph *g, mp_uses *u, int mv, bool *changed, me_diag *d) {
    me_node *m = &g->nodes[mv];
    /* Relu / ReluMinMax commute with Quantize exactly (rounding is monotonic
     * and Quantize(0) is the zero point): Q(max(y, 0)) = max(Q(y), Q(0)) */
    bool clamp = m->op == ME_OP_RELU || m->op == ME_OP_RELU_MIN_MAX;
    if ((!is_move_op(m->op) && !clamp) || m->n_in < 1 || m->n_out != 1) return ME_OK;
    int y = m->in[0], t = m->out[0];
    if (y < 0 || mp_is_output(g, t) || (g->tensors[y].flags & ME_TF_STATIC) || g->tensors[y].dtype != ME_DT_F32)
        return ME_OK;
    int qn = mp_single_consumer(u, t);
    if (qn < 0 || g->nodes[qn].op != ME_OP_QUANTIZE) return ME_OK;
    int qt = g->nodes[qn].out[0];
    if (!me_qk_is_qact(&g->tensors[qt])) return ME_OK;
    int p = mp_producer(g, y);
    if (p < 0 || g->nodes[p].op == ME_OP_DEQUANTIZE) return ME_OK;
    int rank = g->tensors[y].rank;
    int64_t dims[ME_MAX_RANK];
    memcpy(dims, g->tensors[y].dims, sizeof dims);
    int q2 = mp_add_tensor_like(g, u, qt, "_pre", rank, dims, d);
    if (q2 < 0) return me_fail(d, ME_ERR_NOMEM, "fold_qdq: cannot add a tensor");
    char name[96];
    snprintf(name, sizeof name, "%.80s_q", g->nodes[qn].name);
    const char *scope = g->nodes[qn].scope;
    mp_kill(g, u, qn);
    int nn = mp_add_node(g, u, name, ME_OP_QUANTIZE, &y, 1, &q2, 1, scope, d);
    if (nn < 0) return me_fail(d, ME_ERR_NOMEM, "fold_qdq: cannot add a node");
    me_status st = mp_set_input(g, u, mv, 0, q2, d);
    if (st) return st;
    mp_set_output(g, mv, 0, qt);
    *changed = true;
    return ME_OK;
}

/* 4: Quantize(Dequantize(q)) with q's own dtype and encoding is q. */
static me_status fold_requant_pair(me_graph *g, mp_uses *u, int qn, bool *changed, me_diag *d) {
    me_node *n = &g->nodes[qn];
    if (n->op != ME_OP_QUANTIZE || n->n_in != 1 || n->n_out != 1) return ME_OK;
    int dqn = dq_of(g, n->in[0]);
    if (dqn < 0) return ME_OK;
    int q = g->nodes[dqn].in[0], qy = n->out[0];
    if (q < 0 || mp_is_output(g, qy) || g->tensors[q].dtype != g->tensors[qy].dtype ||
        !mp_qenc_equal(g->tensors[q].qenc, g->tensors[qy].qenc))
        return ME_OK;
    me_status st = mp_replace_uses(g, u, qy, q, d);
    if (st) return st;
    mp_kill(g, u, qn);
    *changed = true;
    return ME_OK;
}

me_status me_pass_fold_qdq(me_graph *g, const me_pass_options *o, me_diag *d) {
    (void)o;
    bool any_dq = false;
    for (int i = 0; i < g->n_nodes && !any_dq; i++) any_dq = !g->nodes[i].dead && g->nodes[i].op == ME_OP_DEQUANTIZE;
    if (!any_dq) return ME_OK;
    mp_uses u;
    me_status st = mp_uses_build(g, &u, d);
    if (st) return st;
    for (int round = 0; round < 64; round++) {
        bool changed = false;
        int n_nodes = g->n_nodes;
        for (int i = 0; i < n_nodes && !st; i++) {
            if (g->nodes[i].dead) continue;
            int op = g->nodes[i].op;
            if (op == ME_OP_TRANSPOSE || op == ME_OP_RESHAPE) st = fold_weight_move(g, &u, i, &changed, d);
            if (!st && !g->nodes[i].dead && is_move_op(op)) st = fold_act_move(g, &u, i, &changed, d);
            if (!st && !g->nodes[i].dead) st = fold_move_quant(g, &u, i, &changed, d);
        }
        for (int i = 0; i < n_nodes && !st; i++)
            if (!g->nodes[i].dead) st = fold_requant_pair(g, &u, i, &changed, d);
        for (int i = 0; i < n_nodes && !st; i++)
            if (!g->nodes[i].dead) st = fold_compute(g, &u, i, &changed, d);
        if (st || !changed) break;
    }
    mp_uses_free(&u);
    return st;
}
