/* fuse_softmax: Exp / ReduceSum / Divide (with or without the max
 * subtraction) becomes one Softmax. Each case checks the node list after the
 * pass and runs the graph before and after with the reference kernels; one
 * case checks the numbers against a naive loop. */
#include <math.h>

#include "test_passes_util.h"

static int reduce(me_graph *g, int op, const char *name, int x, int64_t axis) {
    int id = tp_node(g, op, name, 1, &x, 1);
    tp_ints(g, id, "axes", 1, &axis);
    CHECK(me_node_set_scalar_bool(g, id, "keep_dims", true) == ME_OK);
    return tp_fin(g, id);
}

static int softmax(me_graph *g, const char *p, int x, int64_t axis, bool stable) {
    char b[5][64];
    const char *sfx[5] = {"max", "sub", "exp", "sum", "div"};
    for (int i = 0; i < 5; i++) snprintf(b[i], sizeof b[i], "%s_%s", p, sfx[i]);
    int t = x;
    if (stable) t = tp_binary(g, ME_OP_SUBTRACT, b[1], x, reduce(g, ME_OP_REDUCE_MAX, b[0], x, axis));
    int e = tp_unary(g, ME_OP_EXP, b[2], t);
    int s = reduce(g, ME_OP_REDUCE_SUM, b[3], e, axis);
    return tp_binary(g, ME_OP_DIVIDE, b[4], e, s);
}

/* stable over the last axis, plain over axis 1 */
static me_graph *build_softmax(void) {
    me_graph *g = tp_new();
    int64_t xd[3] = {2, 5, 6};
    int x = tp_input(g, "x", ME_DT_F32, 3, xd);
    int y1 = softmax(g, "s1", x, 2, true);
    me_graph_add_output(g, softmax(g, "s2", y1, 1, false));
    return g;
}

static void test_softmax(void) {
    me_graph *g = tp_check_passes(build_softmax, me_pass_fuse_softmax, "fuse_softmax");
    CHECK(tp_live_nodes(g) == 2 && tp_count_op(g, ME_OP_SOFTMAX) == 2);
    const me_node *s2 = &g->nodes[g->tensors[g->outputs[0]].producer];
    CHECK(s2->op == ME_OP_SOFTMAX && me_param_int(s2, "axis", -1) == 1 && s2->n_sources == 3);
    const me_node *s1 = &g->nodes[g->tensors[s2->in[0]].producer];
    CHECK(s1->op == ME_OP_SOFTMAX && me_param_int(s1, "axis", -1) == 2 && s1->n_sources == 5);
    CHECK(s1->in[0] == g->inputs[0] && strcmp(s1->scope, "/block") == 0);
    tp_free(g);
}

/* Stays: the Exp output read a third time; the sum over another axis than
 * the max; Divide the other way round. */
static me_graph *build_stays(void) {
    me_graph *g = tp_new();
    int64_t xd[2] = {3, 4};
    int x = tp_input(g, "x", ME_DT_F32, 2, xd);
    int e = tp_unary(g, ME_OP_EXP, "a_exp", x);
    me_graph_add_output(g, tp_binary(g, ME_OP_DIVIDE, "a_div", e, reduce(g, ME_OP_REDUCE_SUM, "a_sum", e, 1)));
    me_graph_add_output(g, tp_unary(g, ME_OP_NEG, "a_neg", e));
    int t = tp_binary(g, ME_OP_SUBTRACT, "b_sub", x, reduce(g, ME_OP_REDUCE_MAX, "b_max", x, 0));
    e = tp_unary(g, ME_OP_EXP, "b_exp", t);
    me_graph_add_output(g, tp_binary(g, ME_OP_DIVIDE, "b_div", e, reduce(g, ME_OP_REDUCE_SUM, "b_sum", e, 1)));
    e = tp_unary(g, ME_OP_EXP, "c_exp", x);
    me_graph_add_output(g, tp_binary(g, ME_OP_DIVIDE, "c_div", reduce(g, ME_OP_REDUCE_SUM, "c_sum", e, 1), e));
    return g;
}

static void test_stays(void) {
    me_graph *g = tp_check_passes(build_stays, me_pass_fuse_softmax, "fuse_softmax stays");
    CHECK(tp_count_op(g, ME_OP_SOFTMAX) == 0 && tp_count_op(g, ME_OP_EXP) == 3);
    tp_free(g);
}

static void test_values(void) {
    me_graph *g = tp_new();
    enum { R = 3, C = 9 };
    int64_t xd[2] = {R, C};
    int x = tp_input(g, "x", ME_DT_F32, 2, xd);
    me_graph_add_output(g, softmax(g, "s", x, 1, true));
    me_pass_options o = {1, 1, 0};
    CHECK(me_run_passes(g, &o, &tp_diag) == ME_OK);
    CHECK(g->n_nodes == 1 && g->nodes[0].op == ME_OP_SOFTMAX);
    float **xin = tp_inputs(g, 11);
    for (int i = 0; i < R * C; i++) xin[0][i] *= 30.0f;
    tp_run r;
    CHECK(tp_execute(g, (const float *const *)xin, &r) == ME_OK);
    if (r.n_out == 1 && r.count[0] == R * C) {
        for (int i = 0; i < R; i++) {
            double sum = 0;
            for (int j = 0; j < C; j++) sum += exp((double)xin[0][i * C + j]);
            for (int j = 0; j < C; j++) CHECK(fabs(r.out[0][i * C + j] - exp((double)xin[0][i * C + j]) / sum) <= 1e-6);
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
    test_softmax();
    test_stays();
    test_values();
    me_diag_free(&tp_diag);
    return check_exit();
}
