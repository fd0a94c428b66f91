/* fuse_linear: MatMul(x, static W) (+ Add of a static per-column constant)
 * becomes FullyConnected(x, W^T, bias) with keep_dims. Each case checks the
 * node list after the pass, runs the graph before and after with the
 * reference kernels, and one case checks the numbers against a naive loop. */
#include "test_passes_util.h"

/* [2, 3, 4] x [4, 5] + b[5]; then a 2-D [6, 5] x [5, 3] with a [1, 3] bias
 * written Add(bias, y); then a rank-4 x with transpose_in1 weights [2, 3]
 * and a scalar bias. */
static me_graph *build_linear(void) {
    me_graph *g = tp_new();
    int64_t xd[3] = {2, 3, 4}, wd[2] = {4, 5}, bd[1] = {5};
    int x = tp_input(g, "x", ME_DT_F32, 3, xd);
    int in1[2] = {x, tp_const_rand(g, "w1", 2, wd, 1)};
    int m1 = tp_fin(g, tp_node(g, ME_OP_MATMUL, "mm1", 2, in1, 1));
    int a1 = tp_binary(g, ME_OP_ADD, "add1", m1, tp_const_rand(g, "b1", 1, bd, 2));
    int64_t rd[2] = {6, 5}, w2d[2] = {5, 3}, b2d[2] = {1, 3};
    int r = tp_reshape(g, "flat", a1, 2, rd);
    int in2[2] = {r, tp_const_rand(g, "w2", 2, w2d, 3)};
    int m2 = tp_fin(g, tp_node(g, ME_OP_MATMUL, "mm2", 2, in2, 1));
    int a2 = tp_binary(g, ME_OP_ADD, "add2", tp_const_rand(g, "b2", 2, b2d, 4), m2);
    me_graph_add_output(g, a2);
    int64_t x4d[4] = {1, 2, 3, 3}, w3d[2] = {2, 3}, sd[1] = {1};
    int x4 = tp_input(g, "x4", ME_DT_F32, 4, x4d);
    int in3[2] = {x4, tp_const_rand(g, "w3", 2, w3d, 5)};
    int n3 = tp_node(g, ME_OP_MATMUL, "mm3", 2, in3, 1);
    CHECK(me_node_set_scalar_bool(g, n3, "transpose_in1", true) == ME_OK);
    int m3 = tp_fin(g, n3);
    me_graph_add_output(g, tp_binary(g, ME_OP_ADD, "add3", m3, tp_const_rand(g, "b3", 1, sd, 6)));
    return g;
}

static const me_node *producer_of(const me_graph *g, int t) { return &g->nodes[g->tensors[t].producer]; }

static int has_source(const me_node *n, const char *s) {
    for (int i = 0; i < n->n_sources; i++)
        if (strcmp(n->sources[i], s) == 0) return 1;
    return 0;
}

static void test_linear(void) {
    me_graph *g = tp_check_passes(build_linear, me_pass_fuse_linear, "fuse_linear");
    CHECK(tp_count_op(g, ME_OP_MATMUL) == 0 && tp_count_op(g, ME_OP_ADD) == 0);
    CHECK(tp_count_op(g, ME_OP_FULLY_CONNECTED) == 3 && tp_live_nodes(g) == 4);
    const me_node *f2 = producer_of(g, g->outputs[0]);
    CHECK(f2->op == ME_OP_FULLY_CONNECTED && strcmp(f2->name, "mm2") == 0 && strcmp(f2->scope, "/block") == 0);
    CHECK(has_source(f2, "mm2") && has_source(f2, "add2") && f2->n_sources == 2);
    CHECK(me_param_int(f2, "keep_dims", 0) == 1);
    CHECK(f2->n_in == 3 && g->tensors[f2->in[2]].rank == 1 && g->tensors[f2->in[2]].dims[0] == 3);
    const me_tensor *w2 = &g->tensors[f2->in[1]];
    CHECK(w2->rank == 2 && w2->dims[0] == 3 && w2->dims[1] == 5);
    /* the rank-3 one keeps its output shape [2, 3, 5] */
    const me_node *f1 = producer_of(g, producer_of(g, f2->in[0])->in[0]); /* through the Reshape */
    CHECK(f1->op == ME_OP_FULLY_CONNECTED && strcmp(f1->name, "mm1") == 0);
    const me_tensor *y1 = &g->tensors[f1->out[0]];
    CHECK(y1->rank == 3 && y1->dims[0] == 2 && y1->dims[1] == 3 && y1->dims[2] == 5);
    CHECK(strcmp(y1->name, "add1") == 0);
    /* transpose_in1 weights are used as they are */
    const me_node *f3 = producer_of(g, g->outputs[1]);
    CHECK(f3->op == ME_OP_FULLY_CONNECTED && f3->in[1] == me_graph_find_tensor(g, "w3"));
    CHECK(f3->n_in == 3 && me_tensor_numel(&g->tensors[f3->in[2]]) == 2);
    tp_free(g);
}

/* Stays: the MatMul output is read twice (the Add stays, the MatMul still
 * becomes a bias-less FC); a MatMul of two activations; a bias that is not
 * per-column ([3, 1]); the Add output broadcast up. */
static me_graph *build_stays(void) {
    me_graph *g = tp_new();
    int64_t xd[2] = {3, 4}, wd[2] = {4, 2}, bd[1] = {2}, ycd[2] = {3, 1};
    int x = tp_input(g, "x", ME_DT_F32, 2, xd);
    int in1[2] = {x, tp_const_rand(g, "w1", 2, wd, 11)};
    int m1 = tp_fin(g, tp_node(g, ME_OP_MATMUL, "mm1", 2, in1, 1));
    int a1 = tp_binary(g, ME_OP_ADD, "add1", m1, tp_const_rand(g, "b1", 1, bd, 12));
    me_graph_add_output(g, tp_binary(g, ME_OP_MULTIPLY, "twice", a1, m1));
    int64_t x2d[2] = {4, 3};
    int x2 = tp_input(g, "x2", ME_DT_F32, 2, x2d);
    int in2[2] = {x, x2};
    me_graph_add_output(g, tp_fin(g, tp_node(g, ME_OP_MATMUL, "mm_act", 2, in2, 1)));
    int in3[2] = {x, tp_const_rand(g, "w3", 2, wd, 13)};
    int m3 = tp_fin(g, tp_node(g, ME_OP_MATMUL, "mm3", 2, in3, 1));
    me_graph_add_output(g, tp_binary(g, ME_OP_ADD, "add3", m3, tp_const_rand(g, "b3", 2, ycd, 14)));
    int64_t bigd[3] = {2, 3, 2};
    int in4[2] = {x, tp_const_rand(g, "w4", 2, wd, 15)};
    int m4 = tp_fin(g, tp_node(g, ME_OP_MATMUL, "mm4", 2, in4, 1));
    me_graph_add_output(g, tp_binary(g, ME_OP_ADD, "add4", m4, tp_const_rand(g, "b4", 3, bigd, 16)));
    return g;
}

static void test_stays(void) {
    me_graph *g = tp_check_passes(build_stays, me_pass_fuse_linear, "fuse_linear stays");
    CHECK(tp_count_op(g, ME_OP_MATMUL) == 1);             /* mm_act */
    CHECK(tp_count_op(g, ME_OP_FULLY_CONNECTED) == 3);    /* mm1, mm3, mm4 without bias */
    CHECK(tp_count_op(g, ME_OP_ADD) == 3);
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == ME_OP_FULLY_CONNECTED) CHECK(g->nodes[i].n_in == 2);
    tp_free(g);
}

/* The numbers against a naive loop: y[b, s, n] = sum_k x[b, s, k] W[k, n] + bias[n]. */
static void test_values(void) {
    me_graph *g = tp_new();
    enum { B = 2, S = 3, K = 5, N = 4 };
    int64_t xd[3] = {B, S, K}, wd[2] = {K, N}, bd[1] = {N};
    int x = tp_input(g, "x", ME_DT_F32, 3, xd);
    int w = tp_const_rand(g, "w", 2, wd, 21), b = tp_const_rand(g, "b", 1, bd, 22);
    int in[2] = {x, w};
    int m = tp_fin(g, tp_node(g, ME_OP_MATMUL, "mm", 2, in, 1));
    me_graph_add_output(g, tp_binary(g, ME_OP_ADD, "y", m, b));
    float wv[K * N], bv[N];
    memcpy(wv, g->tensors[w].data, sizeof wv);
    memcpy(bv, g->tensors[b].data, sizeof bv);
    me_pass_options o = {1, 1, 0};
    CHECK(me_run_passes(g, &o, &tp_diag) == ME_OK);
    CHECK(g->n_nodes == 1 && g->nodes[0].op == ME_OP_FULLY_CONNECTED);
    float **xin = tp_inputs(g, 99);
    tp_run r;
    CHECK(tp_execute(g, (const float *const *)xin, &r) == ME_OK);
    if (r.n_out == 1 && r.count[0] == B * S * N) {
        for (int bs = 0; bs < B * S; bs++)
            for (int n = 0; n < N; n++) {
                double want = bv[n];
                for (int k = 0; k < K; k++) want += (double)xin[0][bs * K + k] * wv[k * N + n];
                CHECK(fabs(r.out[0][bs * N + n] - want) <= 1e-5);
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
    test_linear();
    test_stays();
    test_values();
    me_diag_free(&tp_diag);
    return check_exit();
}
