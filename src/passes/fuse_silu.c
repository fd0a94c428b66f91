/* fuse_silu: the "x * gate(x)" activations as exporters write them.
 *  - HardSwish: Multiply(x, HardSigmoid(x)) with HardSigmoid's alpha = 1/6,
 *    beta = 0.5 (ElementWiseNeuron HARD_SIGMOID; torch's Hardswish before
 *    opset 14) becomes one HardSwish(x), which fuse_activation (run after)
 *    can fuse further. Always: HardSwish is an ordinary quantisable op.
 *  - SiLU / Swish: Multiply(x, Sigmoid(x)) right after a Conv2d /
 *    DepthWiseConv2d / TransposeConv2d / FullyConnected / MatMul becomes the
 *    producer's fused activation SILU (ops/fused_activation.h). Skipped when
 *    the graph is to be quantised (options->quantize): the quantised kernels
 *    apply only the Relu kinds, and quantisation then sees Sigmoid and
 *    Multiply as before.
 * In both the gate's output is read only by the Multiply and is no graph
 * output; for SiLU also x is read by exactly the gate and the Multiply and is
 * no graph output (it disappears into the producer); float32 only, and the
 * producer of a fused SiLU has no fused activation yet. */
#include <math.h>
#include <stdio.h>

#include "../ops/fused_activation.h"
#include "pass_util.h"

static bool is_sigmoid(const me_node *n) {
    return n->op == ME_OP_SIGMOID || (n->op == ME_OP_NEURON && me_param_int(n, "operation", -1) == 6);
}

/* ElementWiseNeuron HARD_SIGMOID with alpha 1/6 (to float precision) and beta 0.5. */
static bool is_hard_sigmoid_6(const me_node *n) {
    if (n->op != ME_OP_NEURON || me_param_int(n, "operation", -1) != 2) return false;
    double a = me_param_float(n, "alpha", 0.2), b = me_param_float(n, "beta", 0.5);
    return fabs(a - 1.0 / 6.0) <= 1e-7 && b == 0.5;
}

static me_status try_fuse(me_graph *g, mp_uses *u, int sn, const void *arg, me_diag *d) {
    const bool float_only = *(const bool *)arg;
    const me_node *s = &g->nodes[sn];
    bool hswish = is_hard_sigmoid_6(s);
    if (!(hswish || (float_only && is_sigmoid(s))) || s->n_in != 1 || s->n_out != 1) return ME_OK;
    int x = s->in[0], sg = s->out[0];
    if (mp_is_output(g, sg)) return ME_OK;
    if (!hswish && (mp_is_output(g, x) || mp_use_count(u, x) != 2)) return ME_OK; /* x itself goes away */
    int mn = mp_single_consumer(u, sg);
    if (mn < 0) return ME_OK;
    const me_node *m = &g->nodes[mn];
    if (m->op != ME_OP_MULTIPLY || m->n_in != 2 || m->n_out != 1) return ME_OK;
    if (!((m->in[0] == x && m->in[1] == sg) || (m->in[0] == sg && m->in[1] == x))) return ME_OK;
    int y = m->out[0];
    if (hswish) {
        if (!mp_plain_f32(g, x) || !mp_plain_f32(g, sg) || !mp_plain_f32(g, y)) return ME_OK;
        const me_tensor *xt = &g->tensors[x], *yt = &g->tensors[y];
        if (xt->rank != yt->rank) return ME_OK;
        for (int i = 0; i < xt->rank; i++)
            if (xt->dims[i] != yt->dims[i]) return ME_OK;
        char name[512];
        snprintf(name, sizeof name, "%.480s_hard_swish", s->name);
        const char *scope = s->scope;
        mp_kill(g, u, sn);
        mp_kill(g, u, mn);
        int id = mp_add_node(g, u, name, ME_OP_HARD_SWISH, &x, 1, &y, 1, scope, d);
        if (id < 0) return me_fail(d, ME_ERR_NOMEM, "out of memory fusing '%s'", name);
        if (mp_absorb_sources(g, id, sn) != ME_OK || mp_absorb_sources(g, id, mn) != ME_OK)
            return me_fail(d, ME_ERR_NOMEM, "out of memory fusing '%s'", name);
        return ME_OK;
    }
    int pn = mp_producer(g, x);
    if (pn < 0) return ME_OK;
    const me_node *p = &g->nodes[pn];
    if (p->op != ME_OP_CONV2D && p->op != ME_OP_DEPTHWISE_CONV2D && p->op != ME_OP_TRANSPOSE_CONV2D &&
        p->op != ME_OP_FULLY_CONNECTED && p->op != ME_OP_MATMUL)
        return ME_OK;
    if (!mp_schema_has(p->op, "activation") || p->n_out != 1 || me_param_int(p, "activation", 0) != ME_FUSED_ACT_NONE)
        return ME_OK;
    if (!mp_plain_f32(g, x) || !mp_plain_f32(g, sg) || !mp_plain_f32(g, y)) return ME_OK;
    const me_tensor *xt = &g->tensors[x], *yt = &g->tensors[y];
    if (xt->rank != yt->rank) return ME_OK;
    for (int i = 0; i < xt->rank; i++)
        if (xt->dims[i] != yt->dims[i]) return ME_OK;
    me_status st = me_node_set_scalar_u32(g, pn, "activation", ME_FUSED_ACT_SILU);
    if (st == ME_OK) st = mp_absorb_sources(g, pn, sn);
    if (st == ME_OK) st = mp_absorb_sources(g, pn, mn);
    if (st != ME_OK) return me_fail(d, st, "out of memory fusing '%s'", g->nodes[mn].name);
    mp_kill(g, u, sn);
    mp_kill(g, u, mn);
    mp_set_output(g, pn, 0, y);
    return ME_OK;
}

me_status me_pass_fuse_silu(me_graph *g, const me_pass_options *o, me_diag *d) {
    bool float_only = !o || !o->quantize;
    return mp_each_node(g, try_fuse, &float_only, d);
}
