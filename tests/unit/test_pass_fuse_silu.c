/* fuse_silu (Conv/FC/MatMul -> Multiply(x, Sigmoid(x)) becomes fused
 * activation SILU) and fuse_activation's float-only kinds (Gelu, HardSwish).
 * Each case checks the node list after the pass, runs the graph before and
 * after with the reference kernels, and checks that with
 * me_pass_options.quantize nothing of this is fused. The fused SiLU is also
 * checked against a naive loop. */
#include <math.h>

#include "ops/fused_activation.h"
#include "test_passes_util.h"

static int silu(me_graph *g, const char *p, int x, bool swap) {
    char sn[64], mn[64];
    snprintf(sn, sizeof sn, "%s_sigmoid", p);
    snprintf(mn, sizeof mn, "%s_mul", p);
    int s = tp_unary(g, ME_OP_SIGMOID, sn, x);
    return swap ? tp_binary(g, ME_OP_MULTIPLY, mn, s, x) : tp_binary(g, ME_OP_MULTIPLY, mn, x, s);
}

/* conv -> SiLU -> dwconv -> SiLU (operands swapped) -> FC (keep_dims) -> SiLU;
 * a conv whose output is read by a third node keeps its SiLU; a SiLU on a
 * graph input stays. */
static me_graph *build_silu(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 4, 4, 3}, wd[4] = {3, 3, 3, 4}, dwd[4] = {3, 3, 1, 4}, d4[1] = {4}, fwd[2] = {5, 4};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int c = tp_conv(g, ME_OP_CONV2D, "conv", x, tp_const_rand(g, "w", 4, wd, 1), tp_const_rand(g, "b", 1, d4, 2));
    int y1 = silu(g, "act1", c, false);
    int dw = tp_conv(g, ME_OP_DEPTHWISE_CONV2D, "dw", y1, tp_const_rand(g, "wd", 4, dwd, 3), -1);
    int y2 = silu(g, "act2", dw, true);
    int fin[2] = {y2, tp_const_rand(g, "fw", 2, fwd, 4)};
    int fcn = tp_node(g, ME_OP_FULLY_CONNECTED, "fc", 2, fin, 1);
    CHECK(me_node_set_scalar_bool(g, fcn, "keep_dims", true) == ME_OK);
    int f = tp_fin(g, fcn);
    me_graph_add_output(g, silu(g, "act3", f, false));
    int c2 = tp_conv(g, ME_OP_CONV2D, "conv2", x, tp_const_rand(g, "w2", 4, wd, 5), -1);
    int y4 = silu(g, "act4", c2, false);
    me_graph_add_output(g, tp_binary(g, ME_OP_ADD, "also", y4, c2));
    me_graph_add_output(g, silu(g, "act5", x, false));
    return g;
}

static const me_node *producer_of(const me_graph *g, int t) { return &g->nodes[g->tensors[t].producer]; }

static void test_silu(void) {
    me_graph *g = tp_check_passes(build_silu, me_pass_fuse_silu, "fuse_silu");
    CHECK(tp_count_op(g, ME_OP_SIGMOID) == 2 && tp_count_op(g, ME_OP_MULTIPLY) == 2);
    const me_node *fc = producer_of(g, g->outputs[0]);
    CHECK(fc->op == ME_OP_FULLY_CONNECTED && me_param_int(fc, "activation", 0) == ME_FUSED_ACT_SILU);
    CHECK(strcmp(g->tensors[fc->out[0]].name, "act3_mul") == 0 && fc->n_sources == 3);
    const me_node *dw = producer_of(g, fc->in[0]);
    CHECK(dw->op == ME_OP_DEPTHWISE_CONV2D && me_param_int(dw, "activation", 0) == ME_FUSED_ACT_SILU);
    const me_node *conv = producer_of(g, dw->in[0]);
    CHECK(conv->op == ME_OP_CONV2D && me_param_int(conv, "activation", 0) == ME_FUSED_ACT_SILU);
    int found = 0;
    for (int i = 0; i < conv->n_sources; i++) found |= strcmp(conv->sources[i], "act1_sigmoid") == 0;
    CHECK(found && strcmp(conv->scope, "/block") == 0);
    int c2 = me_graph_find_tensor(g, "conv2");
    CHECK(c2 >= 0 && me_param_int(producer_of(g, c2), "activation", 0) == 0);
    tp_free(g);

    /* quantize: nothing fused */
    g = build_silu();
    int before = tp_live_nodes(g);
    me_pass_options o = {1, 1, 1};
    CHECK(me_pass_fuse_silu(g, &o, &tp_diag) == ME_OK);
    CHECK(tp_live_nodes(g) == before);
    tp_free(g);
}

static int hard_sigmoid(me_graph *g, const char *name, int x, float alpha) {
    int id = tp_node(g, ME_OP_NEURON, name, 1, &x, 1);
    CHECK(me_node_set_scalar_u32(g, id, "operation", 2) == ME_OK);
    CHECK(me_node_set_scalar_f32(g, id, "alpha", alpha) == ME_OK);
    CHECK(me_node_set_scalar_f32(g, id, "beta", 0.5f) == ME_OK);
    return tp_fin(g, id);
}

/* x * HardSigmoid(x) (alpha 1/6, beta 0.5) after a conv and on a graph input
 * that is also read elsewhere; alpha 0.2 is no HardSwish. */
static me_graph *build_hswish(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 3, 3, 2}, wd[4] = {1, 1, 2, 3};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int c = tp_conv(g, ME_OP_CONV2D, "conv", x, tp_const_rand(g, "w", 4, wd, 31), -1);
    int h = hard_sigmoid(g, "hs1", c, 1.0f / 6.0f);
    me_graph_add_output(g, tp_binary(g, ME_OP_MULTIPLY, "hs1_mul", c, h));
    int h2 = hard_sigmoid(g, "hs2", x, 1.0f / 6.0f);
    me_graph_add_output(g, tp_binary(g, ME_OP_MULTIPLY, "hs2_mul", h2, x));
    me_graph_add_output(g, tp_unary(g, ME_OP_TANH, "x_tanh", x));
    int h3 = hard_sigmoid(g, "hs3", x, 0.2f);
    me_graph_add_output(g, tp_binary(g, ME_OP_MULTIPLY, "hs3_mul", x, h3));
    return g;
}

static void test_hswish(void) {
    me_graph *g = tp_check_passes(build_hswish, me_pass_fuse_silu, "fuse_silu hardswish");
    CHECK(tp_count_op(g, ME_OP_HARD_SWISH) == 2 && tp_count_op(g, ME_OP_NEURON) == 1);
    CHECK(tp_count_op(g, ME_OP_MULTIPLY) == 1 && tp_live_nodes(g) == 6);
    const me_node *h = producer_of(g, g->outputs[1]);
    CHECK(h->op == ME_OP_HARD_SWISH && h->in[0] == g->inputs[0] && h->n_sources == 2);
    tp_free(g);
    /* the same with quantize: HardSwish is an ordinary op */
    g = build_hswish();
    me_pass_options o = {1, 1, 1};
    CHECK(me_pass_fuse_silu(g, &o, &tp_diag) == ME_OK);
    CHECK(tp_count_op(g, ME_OP_HARD_SWISH) == 2);
    tp_free(g);
    /* the whole pipeline fuses the conv's HardSwish into the conv */
    g = tp_check_passes(build_hswish, NULL, "all passes hardswish");
    const me_node *c = producer_of(g, g->outputs[0]);
    CHECK(c->op == ME_OP_CONV2D && me_param_int(c, "activation", 0) == ME_FUSED_ACT_HARD_SWISH);
    tp_free(g);
}

/* conv -> Gelu; FC -> HardSwish; MatMul -> Neuron(GELU); conv -> Relu (fused
 * in either mode). */
static me_graph *build_float_kinds(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 3, 3, 2}, wd[4] = {1, 1, 2, 6}, fwd[2] = {4, 6}, md[2] = {4, 3};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int c = tp_conv(g, ME_OP_CONV2D, "conv", x, tp_const_rand(g, "w", 4, wd, 11), -1);
    int a = tp_unary(g, ME_OP_GELU, "gelu", c);
    int fin[2] = {a, tp_const_rand(g, "fw", 2, fwd, 12)};
    int fcn = tp_node(g, ME_OP_FULLY_CONNECTED, "fc", 2, fin, 1);
    CHECK(me_node_set_scalar_bool(g, fcn, "keep_dims", true) == ME_OK);
    int h = tp_unary(g, ME_OP_HARD_SWISH, "hswish", tp_fin(g, fcn));
    int min[2] = {h, tp_const_rand(g, "mw", 2, md, 13)};
    int mm = tp_fin(g, tp_node(g, ME_OP_MATMUL, "mm", 2, min, 1));
    int nn = tp_node(g, ME_OP_NEURON, "neuron_gelu", 1, &mm, 1);
    CHECK(me_node_set_scalar_u32(g, nn, "operation", 1) == ME_OK);
    me_graph_add_output(g, tp_fin(g, nn));
    int c2 = tp_conv(g, ME_OP_CONV2D, "conv2", x, tp_const_rand(g, "w2", 4, wd, 14), -1);
    me_graph_add_output(g, tp_unary(g, ME_OP_RELU, "relu", c2));
    return g;
}

static void test_float_kinds(void) {
    me_graph *g = tp_check_passes(build_float_kinds, me_pass_fuse_activation, "fuse_activation float kinds");
    CHECK(tp_live_nodes(g) == 4);
    const me_node *mm = producer_of(g, g->outputs[0]);
    CHECK(mm->op == ME_OP_MATMUL && me_param_int(mm, "activation", 0) == ME_FUSED_ACT_GELU);
    const me_node *fc = producer_of(g, mm->in[0]);
    CHECK(fc->op == ME_OP_FULLY_CONNECTED && me_param_int(fc, "activation", 0) == ME_FUSED_ACT_HARD_SWISH);
    const me_node *conv = producer_of(g, fc->in[0]);
    CHECK(conv->op == ME_OP_CONV2D && me_param_int(conv, "activation", 0) == ME_FUSED_ACT_GELU);
    tp_free(g);

    /* quantize: only the Relu fuses */
    g = build_float_kinds();
    me_pass_options o = {1, 1, 1};
    CHECK(me_pass_fuse_activation(g, &o, &tp_diag) == ME_OK);
    CHECK(tp_verify(g));
    CHECK(tp_count_op(g, ME_OP_RELU) == 0 && tp_count_op(g, ME_OP_GELU) == 1);
    CHECK(tp_count_op(g, ME_OP_HARD_SWISH) == 1 && tp_count_op(g, ME_OP_NEURON) == 1);
    tp_free(g);
}

/* The fused SiLU / HardSwish / Gelu of a 1x1 conv against naive loops. */
static void test_values(void) {
    for (int kind = 0; kind < 3; kind++) {
        me_graph *g = tp_new();
        int64_t xd[4] = {1, 2, 3, 2}, wd[4] = {1, 1, 2, 3};
        const float wv[6] = {1.5f, -2, 0.25f, 3, 0.5f, -1};
        int x = tp_input(g, "x", ME_DT_F32, 4, xd);
        int c = tp_conv(g, ME_OP_CONV2D, "conv", x, tp_const(g, "w", 4, wd, wv), -1);
        int y = kind == 0 ? silu(g, "act", c, false) : tp_unary(g, kind == 1 ? ME_OP_HARD_SWISH : ME_OP_GELU, "act", c);
        me_graph_add_output(g, y);
        me_pass_options o = {1, 1, 0};
        CHECK(me_run_passes(g, &o, &tp_diag) == ME_OK);
        CHECK(g->n_nodes == 1 && g->nodes[0].op == ME_OP_CONV2D);
        float **xin = tp_inputs(g, 3 + (uint32_t)kind);
        for (int i = 0; i < 12; i++) xin[0][i] *= 5.0f;
        tp_run r;
        CHECK(tp_execute(g, (const float *const *)xin, &r) == ME_OK);
        if (r.n_out == 1 && r.count[0] == 18) {
            for (int p = 0; p < 6; p++)
                for (int co = 0; co < 3; co++) {
                    double v = (double)xin[0][p * 2] * wv[co] + (double)xin[0][p * 2 + 1] * wv[3 + co], want;
                    if (kind == 0) want = v / (1.0 + exp(-v));
                    else if (kind == 1) want = v * fmin(fmax(v + 3.0, 0.0), 6.0) / 6.0;
                    else want = 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
                    CHECK(fabs(r.out[0][p * 3 + co] - want) <= 1e-5 * (fabs(want) > 1 ? fabs(want) : 1));
                }
        } else {
            CHECK(0);
        }
        tp_run_free(&r);
        tp_inputs_free(xin, 1);
        tp_free(g);
    }
}

int main(void) {
    me_diag_init(&tp_diag);
    test_silu();
    test_hswish();
    test_float_kinds();
    test_values();
    me_diag_free(&tp_diag);
    return check_exit();
}
