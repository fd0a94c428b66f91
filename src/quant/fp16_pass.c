/* FP16 mode (--float-bitwidth 16): every float32 activation and static
 * float tensor inside the graph is stored as float16 — without --quantize
 * the whole graph, with it the ops left in float (float fallback), whose
 * Dequantize nodes then write and Quantize nodes read float16.
 * Graph inputs and outputs keep float32 (raw files stay interchangeable):
 * a Cast to f16 follows each input and a Cast to f32 precedes each output.
 * Kernels load f16, compute in f32 with the op's float kernel and store f16
 * rounded to nearest even (me_node_run; data movement moves f16 as is). */
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "../passes/pass_util.h"
#include "fp16_pass.h"
#include "quant_kernels.h"

/* May tensor t be stored as f16? A graph input read only by Quantize and
 * an output written by Dequantize stay f32: a Cast there would only round. */
static bool convertible(const me_graph *g, const mp_uses *u, int t) {
    const me_tensor *tt = &g->tensors[t];
    if (tt->dtype != ME_DT_F32 || tt->qenc) return false;
    if (tt->flags & ME_TF_OUTPUT) {
        int p = mp_producer(g, t);
        if (p >= 0 && g->nodes[p].op == ME_OP_DEQUANTIZE) return false;
    }
    if (tt->flags & ME_TF_INPUT) {
        bool all_quantize = u->t[t].n > 0;
        for (int i = 0; i < u->t[t].n; i++) all_quantize &= g->nodes[u->t[t].v[i].node].op == ME_OP_QUANTIZE;
        if (all_quantize) return false;
    }
    return true;
}

static me_status add_cast(me_graph *g, mp_uses *u, int from, int to, const char *name, const char *scope, me_diag *d) {
    int nn = mp_add_node(g, u, name, ME_OP_CAST, &from, 1, &to, 1, scope, d);
    return nn < 0 ? me_fail(d, ME_ERR_NOMEM, "fp16: cannot add a Cast") : ME_OK;
}

me_status me_fp16_convert(me_graph *g, me_diag *d) {
    mp_uses u;
    me_status st = mp_uses_build(g, &u, d);
    if (st) return st;
    int n0 = g->n_tensors;
    char *conv = calloc((size_t)(n0 ? n0 : 1), 1);
    if (!conv) { mp_uses_free(&u); return me_fail(d, ME_ERR_NOMEM, "out of memory"); }
    for (int t = 0; t < n0; t++) conv[t] = convertible(g, &u, t);
    for (int t = 0; t < n0 && !st; t++) {
        if (!conv[t]) continue;
        me_tensor *tt = &g->tensors[t];
        bool io = (tt->flags & (ME_TF_INPUT | ME_TF_OUTPUT)) != 0;
        if (tt->flags & ME_TF_STATIC) {
            if (io) continue;
            int64_t cnt = me_tensor_numel(tt);
            uint16_t *h = me_arena_alloc(&g->arena, (size_t)(cnt > 0 ? cnt : 1) * 2);
            if (!h) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); break; }
            for (int64_t i = 0; i < cnt; i++) h[i] = me_f32_to_f16(((const float *)tt->data)[i]);
            tt->data = h;
            tt->dtype = ME_DT_F16;
            tt->nbytes = (size_t)cnt * 2;
            continue;
        }
        if (!io) {
            tt->dtype = ME_DT_F16;
            continue;
        }
        int rank = tt->rank;
        int64_t dims[ME_MAX_RANK];
        memcpy(dims, tt->dims, sizeof dims);
        if (tt->flags & ME_TF_INPUT) {
            /* input -> Cast -> f16 copy read by every consumer */
            if (mp_use_count(&u, t) == 0 || (tt->flags & ME_TF_OUTPUT)) continue;
            int h = mp_add_tensor_like(g, &u, t, "_f16", rank, dims, d);
            if (h < 0) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); break; }
            g->tensors[h].dtype = ME_DT_F16;
            if ((st = mp_replace_uses(g, &u, t, h, d))) break;
            st = add_cast(g, &u, t, h, g->tensors[h].name, "", d);
        } else {
            /* producer -> f16 copy -> Cast -> output (f32) */
            int p = mp_producer(g, t);
            if (p < 0) continue;
            int h = mp_add_tensor_like(g, &u, t, "_f16", rank, dims, d);
            if (h < 0) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); break; }
            g->tensors[h].dtype = ME_DT_F16;
            me_node *pn = &g->nodes[p];
            int k = 0;
            while (k < pn->n_out && pn->out[k] != t) k++;
            if ((st = mp_replace_uses(g, &u, t, h, d))) break;
            mp_set_output(g, p, k, h);
            st = add_cast(g, &u, h, t, g->tensors[h].name, g->nodes[p].scope, d);
        }
    }
    free(conv);
    mp_uses_free(&u);
    if (st) return st;
    return me_graph_order_nodes(g, d);
}

me_status me_fp16_apply_option(int float_bitwidth, me_graph *g, me_diag *d) {
    if (float_bitwidth == 32 || float_bitwidth == 0) return ME_OK;
    if (float_bitwidth != 16)
        return me_fail(d, ME_ERR_INVALID_ARG, "float bitwidth %d is out of range (32 or 16)", float_bitwidth);
    me_status st = me_fp16_convert(g, d);
    if (st) return st;
    me_diag vd;
    me_diag_init(&vd);
    if (me_graph_verify(g, &vd) != ME_OK) {
        me_fail(d, ME_ERR_INTERNAL, "internal error: the float16 graph does not verify:");
        me_diag_add(d, "%s", me_diag_text(&vd));
        st = ME_ERR_INTERNAL;
    }
    me_diag_free(&vd);
    return st;
}
