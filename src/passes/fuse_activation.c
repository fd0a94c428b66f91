/* fuse_activation: Relu / ReluMinMax (or ElementWiseNeuron RELU /
 * RELU_MIN_MAX) right after a Conv2d / DepthWiseConv2d / TransposeConv2d /
 * FullyConnected / MatMul whose output only it reads becomes the producer's
 * `activation` params (ops/fused_activation.h). Only float32 outputs, and
 * only ops whose schema declares the params (the kernel honours them).
 * Gelu and HardSwish (or the Neuron GELU / HARD_SWISH operations) fuse the
 * same way unless the graph is to be quantised (options->quantize): the
 * quantised kernels apply only the Relu kinds. */
#include <math.h>

#include "../ops/fused_activation.h"
#include "pass_util.h"

/* Neuron `operation` values (QNN ElementWiseNeuron). */
enum { NEURON_GELU = 1, NEURON_HARD_SWISH = 3, NEURON_RELU = 4, NEURON_RELU_MIN_MAX = 5 };

static bool activation_of(const me_node *n, bool float_kinds, int *kind, float *lo, float *hi) {
    int64_t op = n->op == ME_OP_NEURON ? me_param_int(n, "operation", -1) : -1;
    if (float_kinds && (n->op == ME_OP_GELU || op == NEURON_GELU)) {
        *kind = ME_FUSED_ACT_GELU;
        return true;
    }
    if (float_kinds && (n->op == ME_OP_HARD_SWISH || op == NEURON_HARD_SWISH)) {
        *kind = ME_FUSED_ACT_HARD_SWISH;
        return true;
    }
    if (n->op == ME_OP_RELU || op == NEURON_RELU) {
        *kind = ME_FUSED_ACT_RELU;
        return true;
    }
    if (n->op == ME_OP_RELU_MIN_MAX || op == NEURON_RELU_MIN_MAX) {
        const me_param *a = me_node_param(n, "min_value"), *b = me_node_param(n, "max_value");
        if (!a || !b || a->kind != ME_PARAM_SCALAR || b->kind != ME_PARAM_SCALAR) return false;
        *kind = ME_FUSED_ACT_RELU_MIN_MAX;
        *lo = (float)me_param_float(n, "min_value", 0.0);
        *hi = (float)me_param_float(n, "max_value", 0.0);
        return !isnan(*lo) && !isnan(*hi); /* the kernel refuses NaN bounds */
    }
    return false;
}

static me_status try_fuse(me_graph *g, mp_uses *u, int an, bool float_kinds, me_diag *d) {
    const me_node *a = &g->nodes[an];
    int kind = 0;
    float lo = 0, hi = 0;
    if (a->n_in != 1 || a->n_out != 1 || !activation_of(a, float_kinds, &kind, &lo, &hi)) return ME_OK;
    int x = a->in[0], y = a->out[0];
    int pn = mp_producer(g, x);
    if (pn < 0 || mp_is_output(g, x) || mp_single_consumer(u, x) != an) return ME_OK;
    const me_node *p = &g->nodes[pn];
    if (p->op != ME_OP_CONV2D && p->op != ME_OP_DEPTHWISE_CONV2D && p->op != ME_OP_TRANSPOSE_CONV2D &&
        p->op != ME_OP_FULLY_CONNECTED && p->op != ME_OP_MATMUL)
        return ME_OK;
    if (!mp_schema_has(p->op, "activation") || !mp_schema_has(p->op, "activation_min") ||
        !mp_schema_has(p->op, "activation_max"))
        return ME_OK;
    if (p->n_out != 1 || me_param_int(p, "activation", 0) != ME_FUSED_ACT_NONE) return ME_OK;
    if (!mp_plain_f32(g, x) || !mp_plain_f32(g, y)) return ME_OK;
    me_status st = me_node_set_scalar_u32(g, pn, "activation", (uint32_t)kind);
    if (st == ME_OK && kind == ME_FUSED_ACT_RELU_MIN_MAX) {
        st = me_node_set_scalar_f32(g, pn, "activation_min", lo);
        if (st == ME_OK) st = me_node_set_scalar_f32(g, pn, "activation_max", hi);
    }
    if (st == ME_OK) st = mp_absorb_sources(g, pn, an);
    if (st != ME_OK) return me_fail(d, st, "out of memory fusing '%s'", g->nodes[an].name);
    mp_kill(g, u, an);
    mp_set_output(g, pn, 0, y);
    return ME_OK;
}

me_status me_pass_fuse_activation(me_graph *g, const me_pass_options *o, me_diag *d) {
    bool float_kinds = !o || !o->quantize;
    mp_uses u;
    me_status st = mp_uses_build(g, &u, d);
    for (int i = 0; st == ME_OK && i < g->n_nodes; i++)
        if (!g->nodes[i].dead) st = try_fuse(g, &u, i, float_kinds, d);
    mp_uses_free(&u);
    return st;
}
