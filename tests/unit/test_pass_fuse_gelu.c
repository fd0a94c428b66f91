/* fuse_gelu: the erf-form decomposition of GELU becomes one Gelu. Each case
 * checks the node list after the pass and runs the graph before and after
 * with the reference kernels; one case checks the numbers against a naive
 * loop of the formula. */
#include <math.h>

#include "test_passes_util.h"

static int scalar(me_graph *g, const char *name, int rank, float v) {
    int64_t d[1] = {1};
    return tp_const(g, name, rank, d, &v);
}

/* GELU as torch.onnx writes it: Mul(Mul(x, Add(Erf(Div(x, sqrt2)), 1)), 0.5). */
static int gelu_torch(me_graph *g, const char *p, int x, int rank) {
    char n[8][64];
    const char *sfx[8] = {"div", "erf", "add", "mul", "mul1", "sqrt2", "one", "half"};
    for (int i = 0; i < 8; i++) snprintf(n[i], sizeof n[i], "%s_%s", p, sfx[i]);
    int s = tp_binary(g, ME_OP_DIVIDE, n[0], x, scalar(g, n[5], rank, 1.4142135f));
    int e = tp_unary(g, ME_OP_ERF, n[1], s);
    int a = tp_binary(g, ME_OP_ADD, n[2], e, scalar(g, n[6], rank, 1.0f));
    int m = tp_binary(g, ME_OP_MULTIPLY, n[3], x, a);
    return tp_binary(g, ME_OP_MULTIPLY, n[4], m, scalar(g, n[7], rank, 0.5f));
}

/* Two torch-form GELUs in a row (rank-0 and rank-1 constants), then the
 * (x * 0.5) * A form with x * (1/sqrt2) and 1 + Erf, then x * (A * 0.5). */
static me_graph *build_gelu(void) {
    me_graph *g = tp_new();
    int64_t xd[3] = {2, 3, 4};
    int x = tp_input(g, "x", ME_DT_F32, 3, xd);
    int y1 = gelu_torch(g, "g1", x, 0);
    int y2 = gelu_torch(g, "g2", y1, 1);
    int s = tp_binary(g, ME_OP_MULTIPLY, "g3_scale", scalar(g, "rsqrt2", 0, 0.70710678f), y2);
    int e = tp_unary(g, ME_OP_ERF, "g3_erf", s);
    int a = tp_binary(g, ME_OP_ADD, "g3_add", scalar(g, "one3", 0, 1.0f), e);
    int h = tp_binary(g, ME_OP_MULTIPLY, "g3_half", y2, scalar(g, "half3", 0, 0.5f));
    int y3 = tp_binary(g, ME_OP_MULTIPLY, "g3_mul", a, h);
    int s4 = tp_binary(g, ME_OP_DIVIDE, "g4_div", y3, scalar(g, "sqrt2_4", 0, 1.41421356f));
    int e4 = tp_unary(g, ME_OP_ERF, "g4_erf", s4);
    int a4 = tp_binary(g, ME_OP_ADD, "g4_add", e4, scalar(g, "one4", 0, 1.0f));
    int h4 = tp_binary(g, ME_OP_MULTIPLY, "g4_half", a4, scalar(g, "half4", 0, 0.5f));
    me_graph_add_output(g, tp_binary(g, ME_OP_MULTIPLY, "g4_mul", y3, h4));
    return g;
}

static void test_gelu(void) {
    me_graph *g = tp_check_passes(build_gelu, me_pass_fuse_gelu, "fuse_gelu");
    CHECK(tp_count_op(g, ME_OP_GELU) == 4 && tp_live_nodes(g) == 4);
    const me_node *last = &g->nodes[g->tensors[g->outputs[0]].producer];
    CHECK(last->op == ME_OP_GELU && strcmp(g->tensors[last->out[0]].name, "g4_mul") == 0);
    CHECK(strcmp(last->scope, "/block") == 0 && last->n_sources == 5);
    const char *want[5] = {"g4_div", "g4_erf", "g4_add", "g4_half", "g4_mul"};
    for (int k = 0; k < 5; k++) {
        int found = 0;
        for (int i = 0; i < last->n_sources; i++) found |= strcmp(last->sources[i], want[k]) == 0;
        CHECK(found);
    }
    tp_free(g);
}

/* Not fused: an intermediate read elsewhere, an intermediate that is a graph
 * output, a wrong constant (0.4 for 0.5), a divisor that is not sqrt2, and a
 * final Mul by a different tensor than the Erf's input. */
static me_graph *build_stays(void) {
    me_graph *g = tp_new();
    int64_t xd[2] = {3, 5};
    int x = tp_input(g, "x", ME_DT_F32, 2, xd);
    /* 1: the Erf output is also read by a Tanh */
    int s = tp_binary(g, ME_OP_DIVIDE, "a_div", x, scalar(g, "c1", 0, 1.4142135f));
    int e = tp_unary(g, ME_OP_ERF, "a_erf", s);
    int a = tp_binary(g, ME_OP_ADD, "a_add", e, scalar(g, "c2", 0, 1.0f));
    int m = tp_binary(g, ME_OP_MULTIPLY, "a_mul", x, a);
    me_graph_add_output(g, tp_binary(g, ME_OP_MULTIPLY, "a_mul1", m, scalar(g, "c3", 0, 0.5f)));
    me_graph_add_output(g, tp_unary(g, ME_OP_TANH, "a_tanh", e));
    /* 2: the product x * A is a graph output */
    s = tp_binary(g, ME_OP_DIVIDE, "b_div", x, scalar(g, "c4", 0, 1.4142135f));
    e = tp_unary(g, ME_OP_ERF, "b_erf", s);
    a = tp_binary(g, ME_OP_ADD, "b_add", e, scalar(g, "c5", 0, 1.0f));
    m = tp_binary(g, ME_OP_MULTIPLY, "b_mul", x, a);
    me_graph_add_output(g, m);
    me_graph_add_output(g, tp_binary(g, ME_OP_MULTIPLY, "b_mul1", m, scalar(g, "c6", 0, 0.5f)));
    /* 3: 0.4 instead of 0.5 */
    s = tp_binary(g, ME_OP_DIVIDE, "c_div", x, scalar(g, "c7", 0, 1.4142135f));
    e = tp_unary(g, ME_OP_ERF, "c_erf", s);
    a = tp_binary(g, ME_OP_ADD, "c_add", e, scalar(g, "c8", 0, 1.0f));
    m = tp_binary(g, ME_OP_MULTIPLY, "c_mul", x, a);
    me_graph_add_output(g, tp_binary(g, ME_OP_MULTIPLY, "c_mul1", m, scalar(g, "c9", 0, 0.4f)));
    /* 4: divided by 1.5 */
    s = tp_binary(g, ME_OP_DIVIDE, "d_div", x, scalar(g, "c10", 0, 1.5f));
    e = tp_unary(g, ME_OP_ERF, "d_erf", s);
    a = tp_binary(g, ME_OP_ADD, "d_add", e, scalar(g, "c11", 0, 1.0f));
    m = tp_binary(g, ME_OP_MULTIPLY, "d_mul", x, a);
    me_graph_add_output(g, tp_binary(g, ME_OP_MULTIPLY, "d_mul1", m, scalar(g, "c12", 0, 0.5f)));
    /* 5: the Erf reads x2 / sqrt2, the product reads x */
    int x2 = tp_input(g, "x2", ME_DT_F32, 2, xd);
    s = tp_binary(g, ME_OP_DIVIDE, "e_div", x2, scalar(g, "c13", 0, 1.4142135f));
    e = tp_unary(g, ME_OP_ERF, "e_erf", s);
    a = tp_binary(g, ME_OP_ADD, "e_add", e, scalar(g, "c14", 0, 1.0f));
    m = tp_binary(g, ME_OP_MULTIPLY, "e_mul", x, a);
    me_graph_add_output(g, tp_binary(g, ME_OP_MULTIPLY, "e_mul1", m, scalar(g, "c15", 0, 0.5f)));
    return g;
}

static void test_stays(void) {
    me_graph *g = tp_check_passes(build_stays, me_pass_fuse_gelu, "fuse_gelu stays");
    CHECK(tp_count_op(g, ME_OP_GELU) == 0 && tp_count_op(g, ME_OP_ERF) == 5);
    tp_free(g);
}

/* The numbers against the formula 0.5 x (1 + erf(x / sqrt 2)) in double. */
static void test_values(void) {
    me_graph *g = tp_new();
    int64_t xd[2] = {4, 9};
    int x = tp_input(g, "x", ME_DT_F32, 2, xd);
    me_graph_add_output(g, gelu_torch(g, "g", x, 0));
    me_pass_options o = {1, 1, 0};
    CHECK(me_run_passes(g, &o, &tp_diag) == ME_OK);
    CHECK(g->n_nodes == 1 && g->nodes[0].op == ME_OP_GELU);
    float **xin = tp_inputs(g, 7);
    for (int i = 0; i < 36; i++) xin[0][i] *= 4.0f; /* [-4, 4) */
    tp_run r;
    CHECK(tp_execute(g, (const float *const *)xin, &r) == ME_OK);
    if (r.n_out == 1 && r.count[0] == 36) {
        for (int i = 0; i < 36; i++) {
            double v = xin[0][i], want = 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
            CHECK(fabs(r.out[0][i] - want) <= 1e-5 * (fabs(want) > 1 ? fabs(want) : 1));
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
    test_gelu();
    test_stays();
    test_values();
    me_diag_free(&tp_diag);
    return check_exit();
}
