/* fuse_norm: decomposed LayerNorm / RMSNorm become one LayerNorm / RmsNorm.
 * Each case checks the node list after the pass and runs the graph before
 * and after with the reference kernels; one case checks LayerNorm against a
 * naive loop. */
#include <math.h>

#include "test_passes_util.h"

static int scalar(me_graph *g, const char *name, float v) {
    int64_t d[1] = {1};
    return tp_const(g, name, 1, d, &v);
}

static int rmean(me_graph *g, const char *name, int x, int n_axes, const int64_t *axes) {
    int id = tp_node(g, ME_OP_REDUCE_MEAN, name, 1, &x, 1);
    tp_ints(g, id, "axes", n_axes, axes);
    CHECK(me_node_set_scalar_bool(g, id, "keep_dims", true) == ME_OK);
    return tp_fin(g, id);
}

static int nm(char *buf, const char *p, const char *s) {
    snprintf(buf, 64, "%s_%s", p, s);
    return 0;
}

/* torch's decomposition: (x - mean) / sqrt(mean((x - mean)^2) + eps) [* g] [+ b] */
static int layernorm(me_graph *g, const char *p, int x, int n_axes, const int64_t *axes, bool pow2, int gamma, int beta) {
    char b[12][64];
    const char *sfx[12] = {"mean", "sub", "sq", "var", "eps", "add", "sqrt", "div", "mul", "addb", "two", "e"};
    for (int i = 0; i < 12; i++) nm(b[i], p, sfx[i]);
    int m = rmean(g, b[0], x, n_axes, axes);
    int d = tp_binary(g, ME_OP_SUBTRACT, b[1], x, m);
    int q = pow2 ? tp_binary(g, ME_OP_POWER, b[2], d, scalar(g, b[10], 2.0f)) : tp_binary(g, ME_OP_MULTIPLY, b[2], d, d);
    int v = rmean(g, b[3], q, n_axes, axes);
    int a = tp_binary(g, ME_OP_ADD, b[5], v, scalar(g, b[4], 1e-5f));
    int s = tp_unary(g, ME_OP_SQRT, b[6], a);
    int y = tp_binary(g, ME_OP_DIVIDE, b[7], d, s);
    if (gamma >= 0) y = tp_binary(g, ME_OP_MULTIPLY, b[8], y, gamma);
    if (beta >= 0) y = tp_binary(g, ME_OP_ADD, b[9], beta, y);
    return y;
}

/* LN over the last axis with gamma/beta (Pow), LN over the last two axes
 * without affine (d * d), RMSNorm with Reciprocal(Sqrt) and gamma, RMSNorm
 * with Rsqrt, RMSNorm as x / Sqrt with Divide(1, .) absent. */
static me_graph *build_norms(void) {
    me_graph *g = tp_new();
    int64_t xd[3] = {2, 3, 8}, cd[1] = {8}, last[1] = {2}, two[2] = {1, 2}, g2d[3] = {1, 1, 8};
    int x = tp_input(g, "x", ME_DT_F32, 3, xd);
    int y1 = layernorm(g, "ln1", x, 1, last, true, tp_const_rand(g, "gamma1", 1, cd, 1), tp_const_rand(g, "beta1", 1, cd, 2));
    int y2 = layernorm(g, "ln2", y1, 2, two, false, -1, -1);
    /* RMSNorm 1: x * Reciprocal(Sqrt(mean(x^2) + eps)) * gamma */
    int q = tp_binary(g, ME_OP_POWER, "rms1_sq", y2, scalar(g, "rms1_two", 2.0f));
    int v = rmean(g, "rms1_var", q, 1, last);
    int a = tp_binary(g, ME_OP_ADD, "rms1_add", scalar(g, "rms1_eps", 1e-6f), v);
    int r = tp_unary(g, ME_OP_RECIPROCAL, "rms1_rcp", tp_unary(g, ME_OP_SQRT, "rms1_sqrt", a));
    int y3 = tp_binary(g, ME_OP_MULTIPLY, "rms1_mul", y2, r);
    y3 = tp_binary(g, ME_OP_MULTIPLY, "rms1_gamma", tp_const_rand(g, "gamma3", 3, g2d, 3), y3);
    /* RMSNorm 2: Rsqrt, x * x */
    q = tp_binary(g, ME_OP_MULTIPLY, "rms2_sq", y3, y3);
    v = rmean(g, "rms2_var", q, 1, last);
    a = tp_binary(g, ME_OP_ADD, "rms2_add", v, scalar(g, "rms2_eps", 1e-6f));
    int y4 = tp_binary(g, ME_OP_MULTIPLY, "rms2_mul", tp_unary(g, ME_OP_RSQRT, "rms2_rsqrt", a), y3);
    /* RMSNorm 3: x / Sqrt(.) */
    q = tp_binary(g, ME_OP_POWER, "rms3_sq", y4, scalar(g, "rms3_two", 2.0f));
    v = rmean(g, "rms3_var", q, 1, last);
    a = tp_binary(g, ME_OP_ADD, "rms3_add", v, scalar(g, "rms3_eps", 1e-6f));
    me_graph_add_output(g, tp_binary(g, ME_OP_DIVIDE, "rms3_div", y4, tp_unary(g, ME_OP_SQRT, "rms3_sqrt", a)));
    return g;
}

static const me_node *producer_of(const me_graph *g, int t) { return &g->nodes[g->tensors[t].producer]; }

static void test_norms(void) {
    me_graph *g = tp_check_passes(build_norms, me_pass_fuse_norm, "fuse_norm");
    CHECK(tp_count_op(g, ME_OP_LAYER_NORM) == 2 && tp_count_op(g, ME_OP_RMS_NORM) == 3);
    CHECK(tp_live_nodes(g) == 5);
    const me_node *r3 = producer_of(g, g->outputs[0]);
    CHECK(r3->op == ME_OP_RMS_NORM && r3->n_in == 1 && strcmp(g->tensors[r3->out[0]].name, "rms3_div") == 0);
    const me_node *r2 = producer_of(g, r3->in[0]), *r1 = producer_of(g, r2->in[0]);
    CHECK(r2->op == ME_OP_RMS_NORM && r1->op == ME_OP_RMS_NORM && r1->n_in == 2);
    CHECK(r1->n_sources == 7 && strcmp(r1->scope, "/block") == 0);
    const me_node *l2 = producer_of(g, r1->in[0]), *l1 = producer_of(g, l2->in[0]);
    CHECK(l2->op == ME_OP_LAYER_NORM && l2->n_in == 1);
    const me_param *ax = me_node_param(l2, "axes");
    CHECK(ax && ax->count == 2 && ax->ivals[0] == 1 && ax->ivals[1] == 2);
    CHECK(l1->op == ME_OP_LAYER_NORM && l1->n_in == 3 && l1->n_sources == 9);
    CHECK(fabs(me_param_float(l1, "epsilon", 0) - 1e-5) < 1e-9);
    tp_free(g);
}

/* Stays: d read by a third node; the two means over different axes; a
 * non-scalar eps; x * x where the x are different tensors is no square. */
static me_graph *build_stays(void) {
    me_graph *g = tp_new();
    int64_t xd[2] = {4, 6}, last[1] = {1}, first[1] = {0}, e2[2] = {1, 6};
    int x = tp_input(g, "x", ME_DT_F32, 2, xd);
    /* 1: d also read by an Exp */
    int m = rmean(g, "a_mean", x, 1, last);
    int d = tp_binary(g, ME_OP_SUBTRACT, "a_sub", x, m);
    int v = rmean(g, "a_var", tp_binary(g, ME_OP_MULTIPLY, "a_sq", d, d), 1, last);
    int s = tp_unary(g, ME_OP_SQRT, "a_sqrt", tp_binary(g, ME_OP_ADD, "a_add", v, scalar(g, "a_eps", 1e-5f)));
    me_graph_add_output(g, tp_binary(g, ME_OP_DIVIDE, "a_div", d, s));
    me_graph_add_output(g, tp_unary(g, ME_OP_EXP, "a_exp", d));
    /* 2: the variance over axis 0 */
    m = rmean(g, "b_mean", x, 1, last);
    d = tp_binary(g, ME_OP_SUBTRACT, "b_sub", x, m);
    v = rmean(g, "b_var", tp_binary(g, ME_OP_MULTIPLY, "b_sq", d, d), 1, first);
    s = tp_unary(g, ME_OP_SQRT, "b_sqrt", tp_binary(g, ME_OP_ADD, "b_add", v, scalar(g, "b_eps", 1e-5f)));
    me_graph_add_output(g, tp_binary(g, ME_OP_DIVIDE, "b_div", d, s));
    /* 3: eps per column */
    int q = tp_binary(g, ME_OP_MULTIPLY, "c_sq", x, x);
    v = rmean(g, "c_var", q, 1, last);
    const float ev[6] = {1e-5f, 2e-5f, 1e-4f, 1e-5f, 1e-3f, 1e-5f};
    int a = tp_binary(g, ME_OP_ADD, "c_add", v, tp_const(g, "c_eps", 2, e2, ev));
    me_graph_add_output(g, tp_binary(g, ME_OP_MULTIPLY, "c_mul", x, tp_unary(g, ME_OP_RSQRT, "c_rsqrt", a)));
    return g;
}

static void test_stays(void) {
    me_graph *g = tp_check_passes(build_stays, me_pass_fuse_norm, "fuse_norm stays");
    /* no LayerNorm; cases 1 and 2 still hold a true RMSNorm of d (d / sqrt(mean(d*d) + eps)) */
    CHECK(tp_count_op(g, ME_OP_LAYER_NORM) == 0 && tp_count_op(g, ME_OP_RMS_NORM) == 2);
    CHECK(tp_count_op(g, ME_OP_RSQRT) == 1 && tp_count_op(g, ME_OP_REDUCE_MEAN) == 3);
    tp_free(g);
}

/* LayerNorm with gamma and beta against a naive loop in double. */
static void test_values(void) {
    me_graph *g = tp_new();
    enum { R = 3, C = 7 };
    int64_t xd[2] = {R, C}, cd[1] = {C}, last[1] = {1};
    int x = tp_input(g, "x", ME_DT_F32, 2, xd);
    int gm = tp_const_rand(g, "gamma", 1, cd, 8), bt = tp_const_rand(g, "beta", 1, cd, 9);
    float gv[C], bv[C];
    memcpy(gv, g->tensors[gm].data, sizeof gv);
    memcpy(bv, g->tensors[bt].data, sizeof bv);
    me_graph_add_output(g, layernorm(g, "ln", x, 1, last, true, gm, bt));
    me_pass_options o = {1, 1, 0};
    CHECK(me_run_passes(g, &o, &tp_diag) == ME_OK);
    CHECK(g->n_nodes == 1 && g->nodes[0].op == ME_OP_LAYER_NORM);
    float **xin = tp_inputs(g, 5);
    tp_run r;
    CHECK(tp_execute(g, (const float *const *)xin, &r) == ME_OK);
    if (r.n_out == 1 && r.count[0] == R * C) {
        for (int i = 0; i < R; i++) {
            double mean = 0, var = 0;
            for (int j = 0; j < C; j++) mean += xin[0][i * C + j];
            mean /= C;
            for (int j = 0; j < C; j++) var += (xin[0][i * C + j] - mean) * (xin[0][i * C + j] - mean);
            var /= C;
            for (int j = 0; j < C; j++) {
                double want = (xin[0][i * C + j] - mean) / sqrt(var + 1e-5) * gv[j] + bv[j];
                CHECK(fabs(r.out[0][i * C + j] - want) <= 1e-5);
            }
        }
    } else {
        CHECK(0);
    }
    tp_run_free(&r);
    tp_inputs_free(xin, 1);
    tp_free(g);
}

int main(void) {
    me_diag_init(&tp_diag);
    test_norms();
    test_stays();
    test_values();
    me_diag_free(&tp_diag);
    return check_exit();
}
