/* transpose_cancel: graphs built the way the ONNX frontend emits them
 * (layout-sensitive ops wrapped in NCHW<->NHWC transposes), checked for the
 * number of transposes left and for unchanged outputs. */
#include "test_passes_util.h"

/* NCHW-wrapped NHWC op, as the frontend emits it. */
static int nhwc_conv(me_graph *g, const char *name, int x_nchw, int w, int b) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s_to_nhwc", name);
    int t = tp_transpose(g, buf, x_nchw, 4, TP_TO_NHWC);
    int c = tp_conv(g, ME_OP_CONV2D, name, t, w, b);
    snprintf(buf, sizeof buf, "%s_to_nchw", name);
    return tp_transpose(g, buf, c, 4, TP_TO_NCHW);
}

static int nhwc_bn(me_graph *g, const char *name, int x_nchw, int c, uint32_t seed) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s_to_nhwc", name);
    int t = tp_transpose(g, buf, x_nchw, 4, TP_TO_NHWC);
    int64_t dc[1] = {c};
    snprintf(buf, sizeof buf, "%s_w", name);
    int w = tp_const_rand(g, buf, 1, dc, seed);
    snprintf(buf, sizeof buf, "%s_b", name);
    int in[3] = {t, w, tp_const_rand(g, buf, 1, dc, seed + 1)};
    int y = tp_fin(g, tp_node(g, ME_OP_BATCHNORM, name, 3, in, 1));
    snprintf(buf, sizeof buf, "%s_to_nchw", name);
    return tp_transpose(g, buf, y, 4, TP_TO_NCHW);
}

static int count_transposes(const me_graph *g) { return tp_count_op(g, ME_OP_TRANSPOSE); }

/* Conv-BN-Relu-Conv-BN-Add-Relu-GAP-Flatten-Gemm on a 4-channel stem, with
 * the block's feature map as a second (NCHW) output. */
static me_graph *build_resnet_block(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 3, 6, 6}, w0d[4] = {3, 3, 3, 4}, wd[4] = {3, 3, 4, 4}, d4[1] = {4};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int s = nhwc_conv(g, "stem", x, tp_const_rand(g, "w0", 4, w0d, 1), tp_const_rand(g, "b0", 1, d4, 2));
    int r = tp_unary(g, ME_OP_RELU, "stem_relu", s);
    int c1 = nhwc_conv(g, "conv1", r, tp_const_rand(g, "w1", 4, wd, 3), -1);
    int b1 = nhwc_bn(g, "bn1", c1, 4, 4);
    int r1 = tp_unary(g, ME_OP_RELU, "relu1", b1);
    int c2 = nhwc_conv(g, "conv2", r1, tp_const_rand(g, "w2", 4, wd, 6), -1);
    int b2 = nhwc_bn(g, "bn2", c2, 4, 7);
    int sum = tp_binary(g, ME_OP_ADD, "add", b2, r);
    int feat = tp_unary(g, ME_OP_RELU, "feat", sum);
    /* GlobalAveragePool, NHWC-wrapped */
    int t = tp_transpose(g, "gap_to_nhwc", feat, 4, TP_TO_NHWC);
    int pn = tp_node(g, ME_OP_POOL_AVG2D, "gap", 1, &t, 1);
    int64_t f[2] = {6, 6}, st[2] = {1, 1}, pads[4] = {0, 0, 0, 0};
    tp_ints(g, pn, "filter_size", 2, f);
    tp_ints(g, pn, "stride", 2, st);
    tp_pairs(g, pn, "pad_amount", 2, pads);
    int gap = tp_transpose(g, "gap_to_nchw", tp_fin(g, pn), 4, TP_TO_NCHW); /* [1,4,1,1] */
    int64_t fd[2] = {1, 4}, fwd[2] = {5, 4}, d5[1] = {5};
    int flat = tp_reshape(g, "flatten", gap, 2, fd);
    int in[3] = {flat, tp_const_rand(g, "fc_w", 2, fwd, 8), tp_const_rand(g, "fc_b", 1, d5, 9)};
    int logits = tp_fin(g, tp_node(g, ME_OP_FULLY_CONNECTED, "gemm", 3, in, 1));
    me_graph_add_output(g, logits);
    me_graph_add_output(g, feat);
    return g;
}

static void test_resnet_block(void) {
    me_graph *g0 = build_resnet_block();
    CHECK(count_transposes(g0) == 12);
    tp_free(g0);

    me_graph *g = tp_check_passes(build_resnet_block, me_pass_transpose_cancel, "transpose_cancel resnet");
    /* one after the input, one before the NCHW feature output, none before the 2-D logits */
    CHECK(count_transposes(g) == 2);
    int x = g->inputs[0];
    int n_after_input = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == ME_OP_TRANSPOSE && g->nodes[i].in[0] == x) n_after_input++;
    CHECK(n_after_input == 1);
    const me_node *fp = &g->nodes[g->tensors[g->outputs[1]].producer];
    CHECK(fp->op == ME_OP_TRANSPOSE);
    const me_node *lp = &g->nodes[g->tensors[g->outputs[0]].producer];
    CHECK(lp->op == ME_OP_FULLY_CONNECTED);
    tp_free(g);

    /* the full pipeline: BN folded, activations fused, nodes in order */
    g = tp_check_passes(build_resnet_block, NULL, "all passes resnet");
    CHECK(count_transposes(g) == 2);
    CHECK(tp_count_op(g, ME_OP_BATCHNORM) == 0);
    CHECK(tp_count_op(g, ME_OP_CONV2D) == 3);
    CHECK(tp_count_op(g, ME_OP_RELU) == 1); /* the one after the Add */
    CHECK(tp_in_order(g));
    CHECK(strcmp(g->tensors[g->outputs[0]].name, "gemm") == 0 && strcmp(g->tensors[g->outputs[1]].name, "feat") == 0);
    tp_free(g);
}

/* Per-channel NCHW constants ([C,1,1] and [1,C,1,1]), a scalar, Concat,
 * Softmax over channels, ReduceMean over H,W, a Split and a Pad, all
 * between NHWC convs. */
static me_graph *build_agnostic(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 2, 4, 5}, wd[4] = {1, 1, 2, 4}, cd[3] = {4, 1, 1}, c4d[4] = {1, 4, 1, 1}, d1[1] = {1};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int a = nhwc_conv(g, "conv_a", x, tp_const_rand(g, "wa", 4, wd, 1), -1);
    int b = nhwc_conv(g, "conv_b", x, tp_const_rand(g, "wb", 4, wd, 2), -1);
    int m = tp_binary(g, ME_OP_MULTIPLY, "mul_c", a, tp_const_rand(g, "k", 3, cd, 3));
    int s = tp_binary(g, ME_OP_SUBTRACT, "sub_c", tp_const_rand(g, "k4", 4, c4d, 4), m);
    const float half[1] = {0.5f};
    int h = tp_binary(g, ME_OP_MULTIPLY, "scale", s, tp_const(g, "half", 1, d1, half));
    int cin[2] = {h, b};
    int cn = tp_node(g, ME_OP_CONCAT, "concat", 2, cin, 1);
    CHECK(me_node_set_scalar_u32(g, cn, "axis", 1) == ME_OK);
    int cat = tp_fin(g, cn); /* [1,8,4,5] */
    int sn = tp_node(g, ME_OP_SOFTMAX, "softmax", 1, &cat, 1);
    CHECK(me_node_set_scalar_u32(g, sn, "axis", 1) == ME_OK);
    int sm = tp_fin(g, sn);
    int spn = tp_node(g, ME_OP_SPLIT, "split", 1, &sm, 2);
    CHECK(me_node_set_scalar_u32(g, spn, "axis", 1) == ME_OK);
    int64_t si[1] = {3};
    tp_ints(g, spn, "split_index", 1, si);
    tp_fin(g, spn);
    int sp0 = g->nodes[spn].out[0], sp1 = g->nodes[spn].out[1]; /* [1,3,4,5], [1,5,4,5] */
    int pn = tp_node(g, ME_OP_PAD, "pad", 1, &sp0, 1);
    int64_t pads[8] = {0, 0, 1, 0, 0, 1, 2, 0}; /* C: +1 before, H: +1 after, W: +2 before */
    tp_pairs(g, pn, "pad_amount", 4, pads);
    int pad = tp_fin(g, pn); /* [1,4,5,7] */
    int64_t w2d[4] = {1, 1, 4, 2};
    int out1 = nhwc_conv(g, "conv_out", pad, tp_const_rand(g, "wo", 4, w2d, 5), -1);
    me_graph_add_output(g, out1);
    int rn = tp_node(g, ME_OP_REDUCE_MEAN, "mean_hw", 1, &sp1, 1);
    int64_t axes[2] = {2, 3};
    tp_ints(g, rn, "axes", 2, axes);
    me_graph_add_output(g, tp_fin(g, rn)); /* [1,5] */
    return g;
}

static void test_agnostic_ops(void) {
    me_graph *g0 = build_agnostic();
    int before = count_transposes(g0);
    tp_free(g0);
    me_graph *g = tp_check_passes(build_agnostic, me_pass_transpose_cancel, "transpose_cancel agnostic");
    /* one into the shared input, one out of the last conv */
    CHECK(before == 6);
    CHECK(count_transposes(g) == 2);
    tp_free(g);
}

/* A transpose whose output is also read by a layout-sensitive op that is
 * not wrapped (here a FullyConnected on the NCHW tensor flattened by rank)
 * is not pushed: that would add a transpose. */
static me_graph *build_fanout(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 2, 3, 3}, wd[4] = {1, 1, 2, 2}, fwd[2] = {4, 3};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int c = nhwc_conv(g, "conv", x, tp_const_rand(g, "w", 4, wd, 1), -1);
    me_graph_add_output(g, tp_unary(g, ME_OP_SIGMOID, "sig", c));
    int in[2] = {c, tp_const_rand(g, "fw", 2, fwd, 2)};
    me_graph_add_output(g, tp_fin(g, tp_node(g, ME_OP_FULLY_CONNECTED, "fc", 2, in, 1)));
    return g;
}

static void test_fanout(void) {
    me_graph *g = tp_check_passes(build_fanout, me_pass_transpose_cancel, "transpose_cancel fanout");
    CHECK(count_transposes(g) == 2);
    CHECK(tp_count_op(g, ME_OP_SIGMOID) == 1);
    tp_free(g);
}

/* Attention-style K^T: MatMul(q, Transpose(k, swap last two)) absorbs the
 * transpose; a cancelling pair around a Reshape-free chain disappears. */
static me_graph *build_matmul(void) {
    me_graph *g = tp_new();
    int64_t qd[3] = {2, 3, 4};
    int q = tp_input(g, "q", ME_DT_F32, 3, qd);
    int k = tp_input(g, "k", ME_DT_F32, 3, qd);
    const int swap[3] = {0, 2, 1};
    int kt = tp_transpose(g, "k_t", k, 3, swap);
    int in[2] = {q, kt};
    int s = tp_fin(g, tp_node(g, ME_OP_MATMUL, "scores", 2, in, 1)); /* [2,3,3] */
    int t1 = tp_transpose(g, "t1", s, 3, swap);
    int e = tp_unary(g, ME_OP_EXP, "exp", t1);
    me_graph_add_output(g, tp_transpose(g, "y", e, 3, swap));
    return g;
}

static void test_matmul(void) {
    me_graph *g = tp_check_passes(build_matmul, me_pass_transpose_cancel, "transpose_cancel matmul");
    CHECK(count_transposes(g) == 0);
    int y = g->outputs[0];
    CHECK(strcmp(g->tensors[y].name, "y") == 0);
    const me_node *mm = NULL;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == ME_OP_MATMUL) mm = &g->nodes[i];
    CHECK(mm && me_param_int(mm, "transpose_in1", 0) == 1);
    tp_free(g);
}

/* Transpose(p) then Transpose(q) not cancelling merge into one. */
static me_graph *build_merge(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {2, 3, 4, 5};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    const int p[4] = {1, 0, 3, 2}, q[4] = {0, 2, 1, 3};
    int a = tp_transpose(g, "a", x, 4, p);
    me_graph_add_output(g, tp_transpose(g, "b", a, 4, q));
    return g;
}

static void test_merge(void) {
    me_graph *g = tp_check_passes(build_merge, me_pass_transpose_cancel, "transpose_cancel merge");
    CHECK(count_transposes(g) == 1);
    tp_free(g);
}

/* ViT patch embedding: conv -> flatten(2) -> Transpose(0,2,1): the
 * transpose moves below the flattening Reshape and cancels. */
static me_graph *build_patch_embed(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 3, 4, 4}, wd[4] = {1, 1, 3, 6}, fd[3] = {1, 6, 16}, pd[2] = {16, 6};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int c = nhwc_conv(g, "patch", x, tp_const_rand(g, "w", 4, wd, 1), -1); /* [1,6,4,4] */
    int f = tp_reshape(g, "flatten", c, 3, fd);
    const int swap[3] = {0, 2, 1};
    int t = tp_transpose(g, "tokens", f, 3, swap); /* [1,16,6] */
    me_graph_add_output(g, tp_binary(g, ME_OP_ADD, "pos", t, tp_const_rand(g, "pos_emb", 2, pd, 2)));
    return g;
}

static void test_patch_embed(void) {
    me_graph *g = tp_check_passes(build_patch_embed, me_pass_transpose_cancel, "transpose_cancel patch embed");
    CHECK(count_transposes(g) == 1); /* the one after the input */
    tp_free(g);
}

/* An NCHW graph input flattened after a transpose that cannot merge groups
 * in order keeps its transpose (Reshape [N, C*H*W] of NCHW data). */
static me_graph *build_flatten_nchw(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 2, 3, 3}, wd[4] = {1, 1, 2, 2}, fd[2] = {1, 18};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int c = nhwc_conv(g, "conv", x, tp_const_rand(g, "w", 4, wd, 1), -1);
    me_graph_add_output(g, tp_reshape(g, "flat", c, 2, fd));
    return g;
}

static void test_flatten_nchw(void) {
    me_graph *g = tp_check_passes(build_flatten_nchw, me_pass_transpose_cancel, "transpose_cancel flatten");
    CHECK(count_transposes(g) == 2);
    tp_free(g);
}

/* MobileNetV3-style: x * hardsigmoid(x) (one transpose feeding two
 * consumers, one of which reads the other), then squeeze-excite with
 * ReduceMean keep_dims, 1x1 convs and a broadcasting Mul. */
static me_graph *build_se(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 2, 3, 3}, wd[4] = {1, 1, 2, 4}, sd[4] = {1, 1, 4, 4}, od[4] = {1, 1, 4, 2};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int c = nhwc_conv(g, "conv", x, tp_const_rand(g, "w", 4, wd, 1), -1);
    int hn = tp_node(g, ME_OP_NEURON, "hsig", 1, &c, 1);
    CHECK(me_node_set_scalar_u32(g, hn, "operation", 2) == ME_OK);
    int h = tp_fin(g, hn);
    int hs = tp_binary(g, ME_OP_MULTIPLY, "hswish", c, h);
    int rn = tp_node(g, ME_OP_REDUCE_MEAN, "se_pool", 1, &hs, 1);
    int64_t axes[2] = {2, 3};
    tp_ints(g, rn, "axes", 2, axes);
    CHECK(me_node_set_scalar_bool(g, rn, "keep_dims", true) == ME_OK);
    int pooled = tp_fin(g, rn); /* [1,4,1,1] */
    int s1 = nhwc_conv(g, "se_fc1", pooled, tp_const_rand(g, "ws1", 4, sd, 2), -1);
    int s2 = tp_unary(g, ME_OP_SIGMOID, "se_gate", tp_unary(g, ME_OP_RELU, "se_relu", s1));
    int scaled = tp_binary(g, ME_OP_MULTIPLY, "se_scale", hs, s2);
    me_graph_add_output(g, nhwc_conv(g, "proj", scaled, tp_const_rand(g, "wo", 4, od, 3), -1));
    return g;
}

static void test_se(void) {
    me_graph *g = tp_check_passes(build_se, me_pass_transpose_cancel, "transpose_cancel se");
    CHECK(count_transposes(g) == 2);
    tp_free(g);
}

/* StridedSlice (with a mask), Tile, and ReduceSum over H without
 * keep_dims (its output needs a different transpose, [N,W,C] -> [N,C,W]). */
static me_graph *build_slice_reduce(void) {
    me_graph *g = tp_new();
    int64_t xd[4] = {1, 2, 4, 3}, wd[4] = {1, 1, 2, 5};
    int x = tp_input(g, "x", ME_DT_F32, 4, xd);
    int c = nhwc_conv(g, "conv", x, tp_const_rand(g, "w", 4, wd, 1), -1); /* [1,5,4,3] */
    int sn = tp_node(g, ME_OP_STRIDED_SLICE, "slice", 1, &c, 1);
    int64_t ranges[12] = {0, 1, 1, 1, 5, 2, 0, 4, 1, 3, 0, -1}, rd[2] = {4, 3};
    CHECK(me_node_set_tensor_int(g, sn, "ranges", ME_DT_I32, 2, rd, ranges) == ME_OK);
    CHECK(me_node_set_scalar_u32(g, sn, "end_mask", 1u << 3) == ME_OK);
    int sl = tp_fin(g, sn); /* [1,2,4,3] channels 1,3; W reversed */
    int tn = tp_node(g, ME_OP_TILE, "tile", 1, &sl, 1);
    int64_t mult[4] = {1, 2, 1, 2};
    tp_ints(g, tn, "multiples", 4, mult);
    int tl = tp_fin(g, tn); /* [1,4,4,6] */
    int rn = tp_node(g, ME_OP_REDUCE_SUM, "sum_h", 1, &tl, 1);
    int64_t axes[1] = {2};
    tp_ints(g, rn, "axes", 1, axes);
    me_graph_add_output(g, tp_fin(g, rn)); /* [1,4,6] */
    int an = tp_node(g, ME_OP_ARGMAX, "argmax_c", 1, &tl, 1);
    CHECK(me_node_set_scalar_u32(g, an, "axis", 1) == ME_OK);
    int am = tp_fin(g, an);
    /* the interpreter compares float outputs: cast the indices */
    int cn = tp_node(g, ME_OP_CAST, "argmax_f", 1, &am, 1);
    int cf = g->nodes[cn].out[0];
    g->tensors[cf].dtype = ME_DT_F32;
    tp_fin(g, cn);
    me_graph_add_output(g, cf);
    return g;
}

static void test_slice_reduce(void) {
    me_graph *g = tp_check_passes(build_slice_reduce, me_pass_transpose_cancel, "transpose_cancel slice/reduce");
    /* the input's, and one for the [N,W,C] sum; the argmax over channels needs none */
    CHECK(count_transposes(g) == 2);
    tp_free(g);
}

int main(void) {
    me_diag_init(&tp_diag);
    test_resnet_block();
    test_agnostic_ops();
    test_fanout();
    test_matmul();
    test_merge();
    test_patch_embed();
    test_flatten_nchw();
    test_se();
    test_slice_reduce();
    me_diag_free(&tp_diag);
    return check_exit();
}
