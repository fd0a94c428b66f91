/* Graph passes: constant_fold, dead_code, fold_batchnorm, fuse_activation,
 * remove_identity and the pass manager. Each case checks the structure after
 * the pass and runs the graph before and after with the reference kernels.
 * transpose_cancel has its own file (test_passes_layout.c). */
#include "test_passes_util.h"

/* ---------------------------------------------------------------- constant_fold */

/* y = x * (a + b), with a, b static: the Add folds. */
static me_graph *build_fold(void) {
    me_graph *g = tp_new();
    int64_t d4[1] = {4};
    const float av[4] = {1, 2, 3, 4}, bv[4] = {0.5f, -1, 2, 10};
    int x = tp_input(g, "x", ME_DT_F32, 1, d4);
    int a = tp_const(g, "a", 1, d4, av), b = tp_const(g, "b", 1, d4, bv);
    int s = tp_binary(g, ME_OP_ADD, "sum", a, b);
    int y = tp_binary(g, ME_OP_MULTIPLY, "y", x, s);
    me_graph_add_output(g, y);
    /* a static-only node writing a graph output stays */
    int z = tp_binary(g, ME_OP_SUBTRACT, "z", a, b);
    me_graph_add_output(g, z);
    return g;
}

static void test_constant_fold(void) {
    me_graph *g = tp_check_passes(build_fold, me_pass_constant_fold, "constant_fold");
    CHECK(tp_count_op(g, ME_OP_ADD) == 0);
    CHECK(tp_count_op(g, ME_OP_SUBTRACT) == 1);
    CHECK(tp_count_op(g, ME_OP_MULTIPLY) == 1);
    int s = me_graph_find_tensor(g, "sum");
    CHECK(s >= 0 && (g->tensors[s].flags & ME_TF_STATIC) && g->tensors[s].producer == -1);
    if (s >= 0 && g->tensors[s].data) {
        const float *v = g->tensors[s].data;
        CHECK(v[0] == 1.5f && v[1] == 1.0f && v[2] == 5.0f && v[3] == 14.0f);
        CHECK(g->tensors[s].nbytes == 16);
    }
    tp_free(g);

    /* a data error in a constant subgraph fails the pass, naming the node */
    g = tp_new();
    int64_t d3[1] = {3}, d1[1] = {1};
    const float tv[3] = {1, 2, 3};
    int tab = tp_const(g, "table", 1, d3, tv);
    int32_t bad = 7;
    int idx = me_graph_add_static_copy(g, "idx", ME_DT_I32, 1, d1, &bad, 4, &tp_diag);
    int x = tp_input(g, "x", ME_DT_F32, 1, d1);
    int in[2] = {tab, idx};
    int gn = tp_node(g, ME_OP_GATHER, "gather", 2, in, 1);
    CHECK(me_node_set_scalar_i32(g, gn, "axis", 0) == ME_OK);
    int gt = tp_fin(g, gn);
    me_graph_add_output(g, tp_binary(g, ME_OP_ADD, "y", x, gt));
    me_status st = me_pass_constant_fold(g, NULL, &tp_diag);
    CHECK(st == ME_ERR_FORMAT);
    CHECK(strstr(me_diag_text(&tp_diag), "gather") != NULL);
    me_diag_clear(&tp_diag);
    tp_free(g);
}

/* ---------------------------------------------------------------- dead_code */

static me_graph *build_dead(void) {
    me_graph *g = tp_new();
    int64_t d4[1] = {4};
    int x = tp_input(g, "x", ME_DT_F32, 1, d4);
    int r = tp_unary(g, ME_OP_RELU, "r", x);
    me_graph_add_output(g, tp_unary(g, ME_OP_SIGMOID, "y", r));
    /* an unused chain of three nodes, one of them reading a constant */
    int64_t d1[1] = {1};
    const float c[1] = {2};
    int k = tp_const(g, "k", 1, d1, c);
    int a = tp_unary(g, ME_OP_TANH, "dead_a", r);
    int b = tp_binary(g, ME_OP_MULTIPLY, "dead_b", a, k);
    tp_unary(g, ME_OP_EXP, "dead_c", b);
    return g;
}

static void test_dead_code(void) {
    me_graph *g = tp_check_passes(build_dead, me_pass_dead_code, "dead_code");
    CHECK(tp_live_nodes(g) == 2);
    CHECK(tp_count_op(g, ME_OP_TANH) == 0 && tp_count_op(g, ME_OP_EXP) == 0);
    CHECK(me_graph_compact(g, &tp_diag) == ME_OK);
    CHECK(g->n_nodes == 2);
    CHECK(me_graph_find_tensor(g, "k") < 0); /* the unused constant went with them */
    tp_free(g);
}

/* ---------------------------------------------------------------- fold_batchnorm */

static int add_bn(me_graph *g, const char *name, int x, int c, uint32_t seed, bool with_bias) {
    int64_t dc[1] = {c};
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s_w", name);
    snprintf(bn, sizeof bn, "%s_b", name);
    int w = tp_const_rand(g, wn, 1, dc, seed);
    int in[3] = {x, w, with_bias ? tp_const_rand(g, bn, 1, dc, seed + 1) : -1};
    return tp_fin(g, tp_node(g, ME_OP_BATCHNORM, name, with_bias ? 3 : 2, in, 1));
}

/* conv (bias) -> BN ; dwconv (no bias) -> BN ; conv -> Mul[1,1,1,C] -> Add[C] */
static me_graph *build_conv_bn(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 5, 5, 3}, w1d[4] = {3, 3, 3, 4}, w2d[4] = {3, 3, 1, 4}, w3d[4] = {1, 1, 4, 4};
    int64_t d4[1] = {4}, m4[4] = {1, 1, 1, 4};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int c1 = tp_conv(g, ME_OP_CONV2D, "conv1", x, tp_const_rand(g, "w1", 4, w1d, 1), tp_const_rand(g, "b1", 1, d4, 2));
    int y1 = add_bn(g, "bn1", c1, 4, 3, true);
    int c2 = tp_conv(g, ME_OP_DEPTHWISE_CONV2D, "dw2", y1, tp_const_rand(g, "w2", 4, w2d, 5), -1);
    int y2 = add_bn(g, "bn2", c2, 4, 6, true);
    int c3 = tp_conv(g, ME_OP_CONV2D, "conv3", y2, tp_const_rand(g, "w3", 4, w3d, 7), -1);
    int y3 = tp_binary(g, ME_OP_MULTIPLY, "mul3", c3, tp_const_rand(g, "m3", 4, m4, 8));
    int y4 = tp_binary(g, ME_OP_ADD, "add3", tp_const_rand(g, "a3", 1, d4, 9), y3);
    me_graph_add_output(g, y4);
    return g;
}

static void test_fold_conv_bn(void) {
    me_graph *g = tp_check_passes(build_conv_bn, me_pass_fold_batchnorm, "fold_batchnorm conv");
    CHECK(tp_count_op(g, ME_OP_BATCHNORM) == 0);
    CHECK(tp_count_op(g, ME_OP_MULTIPLY) == 0 && tp_count_op(g, ME_OP_ADD) == 0);
    CHECK(tp_count_op(g, ME_OP_CONV2D) == 2 && tp_count_op(g, ME_OP_DEPTHWISE_CONV2D) == 1);
    /* the graph output keeps its name and is written by the conv */
    int y = g->outputs[0];
    CHECK(strcmp(g->tensors[y].name, "add3") == 0);
    const me_node *p = &g->nodes[g->tensors[y].producer];
    CHECK(p->op == ME_OP_CONV2D && strcmp(p->name, "conv3") == 0);
    CHECK(p->n_in == 3 && p->in[2] >= 0); /* a bias was created */
    int has_mul = 0, has_add = 0;
    for (int i = 0; i < p->n_sources; i++) {
        has_mul |= strcmp(p->sources[i], "mul3") == 0;
        has_add |= strcmp(p->sources[i], "add3") == 0;
    }
    CHECK(has_mul && has_add);
    CHECK(strcmp(p->scope, "/block") == 0);
    tp_free(g);
}

/* Hand-computed: 1x1 conv, 1 input channel, 2 output channels. */
static void test_fold_values(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 1, 1, 1}, wd[4] = {1, 1, 1, 2}, d2[1] = {2};
    const float wv[2] = {2, 3}, bv[2] = {1, -1}, sv[2] = {10, 0.5f}, tv[2] = {4, 6};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int c = tp_conv(g, ME_OP_CONV2D, "conv", x, tp_const(g, "w", 4, wd, wv), tp_const(g, "b", 1, d2, bv));
    int in[3] = {c, tp_const(g, "s", 1, d2, sv), tp_const(g, "t", 1, d2, tv)};
    int y = tp_fin(g, tp_node(g, ME_OP_BATCHNORM, "bn", 3, in, 1));
    me_graph_add_output(g, y);
    CHECK(me_pass_fold_batchnorm(g, NULL, &tp_diag) == ME_OK);
    const me_node *p = &g->nodes[g->tensors[y].producer];
    const float *nw = g->tensors[p->in[1]].data, *nb = g->tensors[p->in[2]].data;
    /* w' = w*s = {20, 1.5}; b' = t + s*b = {14, 5.5} */
    CHECK(nw[0] == 20.0f && nw[1] == 1.5f);
    CHECK(nb[0] == 14.0f && nb[1] == 5.5f);
    /* the original weights are untouched */
    CHECK(((const float *)g->tensors[me_graph_find_tensor(g, "w")].data)[0] == 2.0f);
    tp_free(g);
}

/* TransposeConv2d with groups, then FullyConnected, each followed by BN. */
static me_graph *build_tconv_fc_bn(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 3, 3, 4}, wd[4] = {2, 2, 4, 3}, d6[1] = {6};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int in[3] = {x, tp_const_rand(g, "tw", 4, wd, 21), tp_const_rand(g, "tb", 1, d6, 22)};
    int id = tp_node(g, ME_OP_TRANSPOSE_CONV2D, "tconv", 3, in, 1);
    int64_t stride[2] = {2, 2}, pads[4] = {0, 0, 0, 0};
    tp_ints(g, id, "stride", 2, stride);
    tp_pairs(g, id, "pad_amount", 2, pads);
    CHECK(me_node_set_scalar_u32(g, id, "group", 2) == ME_OK);
    int t = tp_fin(g, id); /* [1, 6, 6, 6] */
    int y1 = add_bn(g, "bn_t", t, 6, 23, true);
    int64_t fd[2] = {1, 216}, fwd[2] = {5, 216};
    int flat = tp_reshape(g, "flat", y1, 2, fd);
    int fin[2] = {flat, tp_const_rand(g, "fw", 2, fwd, 24)};
    int f = tp_fin(g, tp_node(g, ME_OP_FULLY_CONNECTED, "fc", 2, fin, 1));
    me_graph_add_output(g, add_bn(g, "bn_f", f, 5, 25, false));
    return g;
}

static void test_fold_tconv_fc(void) {
    me_graph *g = tp_check_passes(build_tconv_fc_bn, me_pass_fold_batchnorm, "fold_batchnorm tconv/fc");
    CHECK(tp_count_op(g, ME_OP_BATCHNORM) == 0);
    tp_free(g);
}

/* BN after a graph input, and BN after a conv whose output is also read
 * elsewhere, stay. */
static me_graph *build_bn_stays(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 2, 2, 3}, wd[4] = {1, 1, 3, 3};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int b0 = add_bn(g, "bn0", x, 3, 31, true);
    int c = tp_conv(g, ME_OP_CONV2D, "conv", b0, tp_const_rand(g, "w", 4, wd, 32), -1);
    int b1 = add_bn(g, "bn1", c, 3, 33, true);
    me_graph_add_output(g, tp_binary(g, ME_OP_ADD, "y", b1, c));
    return g;
}

static void test_fold_stays(void) {
    me_graph *g = tp_check_passes(build_bn_stays, me_pass_fold_batchnorm, "fold_batchnorm stays");
    CHECK(tp_count_op(g, ME_OP_BATCHNORM) == 2);
    tp_free(g);
}

/* ---------------------------------------------------------------- fuse_activation */

static me_graph *build_fuse(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 4, 4, 2}, wd[4] = {3, 3, 2, 3}, d3[1] = {3}, fwd[2] = {4, 3};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int c = tp_conv(g, ME_OP_CONV2D, "conv", x, tp_const_rand(g, "w", 4, wd, 41), tp_const_rand(g, "b", 1, d3, 42));
    int r = tp_unary(g, ME_OP_RELU, "relu", c);
    int fin[2] = {r, tp_const_rand(g, "fw", 2, fwd, 43)};
    int fcn = tp_node(g, ME_OP_FULLY_CONNECTED, "fc", 2, fin, 1);
    CHECK(me_node_set_scalar_bool(g, fcn, "keep_dims", true) == ME_OK);
    int f = tp_fin(g, fcn);
    int cn = tp_node(g, ME_OP_RELU_MIN_MAX, "clip", 1, &f, 1);
    CHECK(me_node_set_scalar_f32(g, cn, "min_value", -0.25f) == ME_OK);
    CHECK(me_node_set_scalar_f32(g, cn, "max_value", 0.5f) == ME_OK);
    int y = tp_fin(g, cn);
    me_graph_add_output(g, y);
    /* Relu after a conv whose output is also a graph output: not fused */
    int c2 = tp_conv(g, ME_OP_CONV2D, "conv2", x, tp_const_rand(g, "w2", 4, wd, 44), -1);
    me_graph_add_output(g, c2);
    me_graph_add_output(g, tp_unary(g, ME_OP_RELU, "relu2", c2));
    /* DepthWiseConv2d -> ElementWiseNeuron(RELU); MatMul -> Relu */
    int64_t dwd[4] = {3, 3, 1, 2}, md[2] = {2, 3};
    int dw = tp_conv(g, ME_OP_DEPTHWISE_CONV2D, "dw", x, tp_const_rand(g, "wd", 4, dwd, 45), -1);
    int nn = tp_node(g, ME_OP_NEURON, "neuron_relu", 1, &dw, 1);
    CHECK(me_node_set_scalar_u32(g, nn, "operation", 4) == ME_OK);
    int nr = tp_fin(g, nn);
    int min[2] = {nr, tp_const_rand(g, "mw", 2, md, 46)};
    int mm = tp_fin(g, tp_node(g, ME_OP_MATMUL, "matmul", 2, min, 1));
    me_graph_add_output(g, tp_unary(g, ME_OP_RELU, "relu3", mm));
    return g;
}

static void test_fuse_activation(void) {
    me_graph *g = tp_check_passes(build_fuse, me_pass_fuse_activation, "fuse_activation");
    CHECK(tp_count_op(g, ME_OP_RELU) == 1);
    CHECK(tp_count_op(g, ME_OP_RELU_MIN_MAX) == 0 && tp_count_op(g, ME_OP_NEURON) == 0);
    const me_node *mm = &g->nodes[g->tensors[g->outputs[3]].producer];
    CHECK(mm->op == ME_OP_MATMUL && me_param_int(mm, "activation", 0) == 1);
    const me_node *dw = &g->nodes[g->tensors[mm->in[0]].producer];
    CHECK(dw->op == ME_OP_DEPTHWISE_CONV2D && me_param_int(dw, "activation", 0) == 1);
    int y = g->outputs[0];
    const me_node *fc = &g->nodes[g->tensors[y].producer];
    CHECK(fc->op == ME_OP_FULLY_CONNECTED);
    CHECK(me_param_int(fc, "activation", 0) == 2);
    CHECK(me_param_float(fc, "activation_min", 0) == -0.25 && me_param_float(fc, "activation_max", 0) == 0.5);
    int found = 0;
    for (int i = 0; i < fc->n_sources; i++) found |= strcmp(fc->sources[i], "clip") == 0;
    CHECK(found && fc->n_sources == 2);
    const me_node *conv = &g->nodes[g->tensors[fc->in[0]].producer];
    CHECK(conv->op == ME_OP_CONV2D && me_param_int(conv, "activation", 0) == 1);
    CHECK(strcmp(g->tensors[fc->in[0]].name, "relu") == 0);
    tp_free(g);
}

/* ---------------------------------------------------------------- remove_identity */

static me_graph *build_identity(void) {
    me_graph *g = tp_new();
    int64_t xd[2] = {2, 3};
    int x = tp_input(g, "x", ME_DT_F32, 2, xd);
    int r = tp_unary(g, ME_OP_SIGMOID, "s", x);
    int a = tp_reshape(g, "same_shape", r, 2, xd);
    const int id_perm[2] = {0, 1};
    int t = tp_transpose(g, "id_transpose", a, 2, id_perm);
    int cn = tp_node(g, ME_OP_CAST, "same_cast", 1, &t, 1);
    int cast = g->nodes[cn].out[0];
    g->tensors[cast].dtype = ME_DT_F32;
    g->tensors[cast].rank = 2;
    memcpy(g->tensors[cast].dims, xd, sizeof xd);
    int y = tp_unary(g, ME_OP_TANH, "tanh", cast);
    me_graph_add_output(g, tp_reshape(g, "y", y, 2, xd)); /* a graph output: the tanh writes it */
    /* graph input straight to a graph output through an identity: kept */
    me_graph_add_output(g, tp_reshape(g, "passthrough", x, 2, xd));
    return g;
}

static void test_remove_identity(void) {
    me_graph *g = tp_check_passes(build_identity, me_pass_remove_identity, "remove_identity");
    CHECK(tp_count_op(g, ME_OP_TRANSPOSE) == 0 && tp_count_op(g, ME_OP_CAST) == 0);
    CHECK(tp_count_op(g, ME_OP_RESHAPE) == 1);
    CHECK(tp_live_nodes(g) == 3);
    int y = g->outputs[0];
    CHECK(strcmp(g->tensors[y].name, "y") == 0 && g->nodes[g->tensors[y].producer].op == ME_OP_TANH);
    CHECK(g->nodes[g->tensors[g->outputs[1]].producer].op == ME_OP_RESHAPE);
    tp_free(g);
}

/* ---------------------------------------------------------------- pass manager */

static void test_manager(void) {
    CHECK(me_n_passes == 13);
    CHECK(strcmp(me_passes[0].name, "fold_qdq") == 0 && me_passes[0].required);
    CHECK(strcmp(me_passes[1].name, "constant_fold") == 0 && me_passes[1].required);
    CHECK(strcmp(me_passes[2].name, "dead_code") == 0 && me_passes[2].required);
    CHECK(strcmp(me_passes[3].name, "transpose_cancel") == 0 && !me_passes[3].required);
    CHECK(strcmp(me_passes[me_n_passes - 1].name, "remove_identity") == 0);

    /* optimize = 0 runs only the required passes */
    me_graph *g = build_conv_bn();
    me_pass_options o = {0, 1};
    CHECK(me_run_passes(g, &o, &tp_diag) == ME_OK);
    CHECK(tp_count_op(g, ME_OP_BATCHNORM) == 2);
    tp_free(g);

    /* a broken graph fails the verifier after the first pass, with its name */
    g = tp_new();
    int64_t d4[1] = {4}, d5[1] = {5};
    int x = tp_input(g, "x", ME_DT_F32, 1, d4);
    int r = tp_unary(g, ME_OP_RELU, "r", x);
    g->tensors[r].dims[0] = 5; /* stale shape */
    (void)d5;
    me_graph_add_output(g, r);
    o = (me_pass_options){1, 1};
    me_status st = me_run_passes(g, &o, &tp_diag);
    CHECK(st != ME_OK);
    CHECK(strncmp(me_diag_text(&tp_diag), "after pass 'fold_qdq': ", 23) == 0);
    me_diag_clear(&tp_diag);
    tp_free(g);

    /* the whole pipeline: nodes end up compacted and in order */
    g = tp_check_passes(build_fuse, NULL, "all passes");
    CHECK(tp_in_order(g));
    for (int i = 0; i < g->n_nodes; i++) CHECK(!g->nodes[i].dead);
    tp_free(g);
}

/* me_graph_order_nodes moves an appended producer before its consumer. */
static void test_order_nodes(void) {
    me_graph *g = tp_new();
    int64_t d2[1] = {2};
    int x = tp_input(g, "x", ME_DT_F32, 1, d2);
    int mid = me_graph_add_tensor(g, "mid", ME_DT_F32, 1, d2, &tp_diag);
    int y = tp_unary(g, ME_OP_EXP, "y", mid);    /* node 0 reads mid */
    int s = tp_unary(g, ME_OP_SIGMOID, "s", x);  /* node 1, unrelated */
    int n2 = me_graph_add_node(g, "late", ME_OP_NEG, &x, 1, &mid, 1, "", &tp_diag); /* node 2 writes mid */
    CHECK(n2 == 2);
    me_graph_add_output(g, y);
    me_graph_add_output(g, s);
    CHECK(me_graph_order_nodes(g, &tp_diag) == ME_OK);
    CHECK(strcmp(g->nodes[0].name, "late") == 0 && strcmp(g->nodes[1].name, "y") == 0 &&
          strcmp(g->nodes[2].name, "s") == 0);
    CHECK(tp_in_order(g));
    tp_free(g);
}

int main(void) {
    me_diag_init(&tp_diag);
    test_constant_fold();
    test_dead_code();
    test_fold_conv_bn();
    test_fold_values();
    test_fold_tconv_fc();
    test_fold_stays();
    test_fuse_activation();
    test_remove_identity();
    test_manager();
    test_order_nodes();
    me_diag_free(&tp_diag);
    return check_exit();
}
