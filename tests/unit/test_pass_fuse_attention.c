/* fuse_attention: the three shapes attention takes in PyTorch exports (scale
 * on q as in torchvision's ViT, scale then Select with a causal mask as in a
 * GPT block, Divide then an additive mask as in BERT) each become one
 * Attention node; graphs that must stay are left alone. Every case runs the
 * graph before and after with the reference kernels; one checks the fused
 * kernel against a naive double-precision loop. */
#include <math.h>

#include "test_passes_util.h"

static int scalar(me_graph *g, const char *name, float v) { return tp_const(g, name, 0, NULL, &v); }

static int matmul(me_graph *g, const char *name, int a, int b, bool transpose_b) {
    int in[2] = {a, b};
    int id = tp_node(g, ME_OP_MATMUL, name, 2, in, 1);
    if (transpose_b) CHECK(me_node_set_scalar_bool(g, id, "transpose_in1", true) == ME_OK);
    return tp_fin(g, id);
}

static int softmax(me_graph *g, const char *name, int x, uint32_t axis) {
    int id = tp_node(g, ME_OP_SOFTMAX, name, 1, &x, 1);
    CHECK(me_node_set_scalar_u32(g, id, "axis", axis) == ME_OK);
    return tp_fin(g, id);
}

static const me_node *producer(const me_graph *g, int t) { return &g->nodes[g->tensors[t].producer]; }

/* ViT: Divide(q, 2) . Transpose(k), Softmax, . v; rank 3 */
static me_graph *build_vit(void) {
    me_graph *g = tp_new();
    int64_t qd[3] = {2, 5, 4}, vd[3] = {2, 5, 3};
    int q = tp_input(g, "q", ME_DT_F32, 3, qd), k = tp_input(g, "k", ME_DT_F32, 3, qd), v = tp_input(g, "v", ME_DT_F32, 3, vd);
    static const int perm[3] = {0, 2, 1};
    int kt = tp_transpose(g, "kt", k, 3, perm);
    int qs = tp_binary(g, ME_OP_DIVIDE, "q_scaled", q, scalar(g, "two", 2.0f));
    int p = softmax(g, "probs", matmul(g, "scores", qs, kt, false), 2);
    me_graph_add_output(g, matmul(g, "context", p, v, false));
    return g;
}

static void test_vit(void) {
    me_graph *g = tp_check_passes(build_vit, me_pass_fuse_attention, "fuse_attention vit");
    CHECK(tp_count_op(g, ME_OP_ATTENTION) == 1 && tp_live_nodes(g) == 2);
    const me_node *a = producer(g, g->outputs[0]);
    CHECK(a->op == ME_OP_ATTENTION && a->n_in == 3 && a->in[0] == g->inputs[0] && a->in[2] == g->inputs[2]);
    CHECK(fabs(me_param_float(a, "scale", 0) - 0.5) < 1e-7 && me_param_int(a, "transpose_k", 0) == 0 &&
          me_param_int(a, "mask_mode", 0) == 0 && a->n_sources == 4);
    tp_free(g);
}

/* GPT: q . k^T (k given [.., D, S]), Multiply by 0.35, Select(causal, -inf, scores), Softmax, . v */
static me_graph *build_gpt(void) {
    me_graph *g = tp_new();
    int64_t qd[4] = {1, 2, 4, 8}, kd[4] = {1, 2, 8, 4};
    int q = tp_input(g, "q", ME_DT_F32, 4, qd), k = tp_input(g, "k", ME_DT_F32, 4, kd), v = tp_input(g, "v", ME_DT_F32, 4, qd);
    unsigned char future[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) future[i * 4 + j] = j > i;
    int64_t md[2] = {4, 4};
    int mask = me_graph_add_static_copy(g, "future", ME_DT_BOOL, 2, md, future, sizeof future, &tp_diag);
    int s = tp_binary(g, ME_OP_MULTIPLY, "scaled", matmul(g, "scores", q, k, false), scalar(g, "c", 0.35f));
    int sel_in[3] = {mask, scalar(g, "ninf", -INFINITY), s};
    int masked = tp_fin(g, tp_node(g, ME_OP_SELECT, "masked", 3, sel_in, 1));
    me_graph_add_output(g, matmul(g, "context", softmax(g, "probs", masked, 3), v, false));
    return g;
}

static void test_gpt(void) {
    me_graph *g = tp_check_passes(build_gpt, me_pass_fuse_attention, "fuse_attention gpt");
    CHECK(tp_count_op(g, ME_OP_ATTENTION) == 1 && tp_live_nodes(g) == 1);
    const me_node *a = producer(g, g->outputs[0]);
    CHECK(a->op == ME_OP_ATTENTION && a->n_in == 5 && me_param_int(a, "mask_mode", 0) == 2);
    CHECK(fabs(me_param_float(a, "scale", 0) - 0.35) < 1e-7 && g->tensors[a->in[3]].dtype == ME_DT_BOOL);
    tp_free(g);
}

/* BERT: MatMul(q, k, transpose_in1), Divide by 4, Add(mask [1,1,1,S]), Softmax(axis 3), . v */
static me_graph *build_bert(void) {
    me_graph *g = tp_new();
    int64_t qd[4] = {2, 3, 6, 4}, md[4] = {2, 1, 1, 6};
    int q = tp_input(g, "q", ME_DT_F32, 4, qd), k = tp_input(g, "k", ME_DT_F32, 4, qd), v = tp_input(g, "v", ME_DT_F32, 4, qd);
    int mask = tp_input(g, "mask", ME_DT_F32, 4, md);
    int s = tp_binary(g, ME_OP_DIVIDE, "scaled", matmul(g, "scores", q, k, true), scalar(g, "four", 4.0f));
    int m = tp_binary(g, ME_OP_ADD, "masked", s, mask);
    me_graph_add_output(g, matmul(g, "context", softmax(g, "probs", m, 3), v, false));
    return g;
}

static void test_bert(void) {
    me_graph *g = tp_check_passes(build_bert, me_pass_fuse_attention, "fuse_attention bert");
    CHECK(tp_count_op(g, ME_OP_ATTENTION) == 1 && tp_live_nodes(g) == 1);
    const me_node *a = producer(g, g->outputs[0]);
    CHECK(a->op == ME_OP_ATTENTION && a->n_in == 4 && me_param_int(a, "mask_mode", 0) == 1 &&
          me_param_int(a, "transpose_k", 0) == 1 && a->in[3] == g->inputs[3]);
    CHECK(fabs(me_param_float(a, "scale", 0) - 0.25) < 1e-7);
    tp_free(g);
}

/* Stays: the probabilities are also a graph output; a Softmax over another
 * axis than the keys; the second MatMul reads the probabilities as its
 * right operand. */
static me_graph *build_stays(void) {
    me_graph *g = tp_new();
    int64_t qd[3] = {2, 4, 4};
    int q = tp_input(g, "q", ME_DT_F32, 3, qd), k = tp_input(g, "k", ME_DT_F32, 3, qd), v = tp_input(g, "v", ME_DT_F32, 3, qd);
    int p = softmax(g, "a_probs", matmul(g, "a_scores", q, k, true), 2);
    me_graph_add_output(g, matmul(g, "a_context", p, v, false));
    me_graph_add_output(g, p);
    me_graph_add_output(g, matmul(g, "b_context", softmax(g, "b_probs", matmul(g, "b_scores", q, k, true), 1), v, false));
    me_graph_add_output(g, matmul(g, "c_context", v, softmax(g, "c_probs", matmul(g, "c_scores", q, k, true), 2), false));
    return g;
}

static void test_stays(void) {
    me_graph *g = tp_check_passes(build_stays, me_pass_fuse_attention, "fuse_attention stays");
    CHECK(tp_count_op(g, ME_OP_ATTENTION) == 0 && tp_count_op(g, ME_OP_SOFTMAX) == 3);
    tp_free(g);
}

/* The fused kernel against softmax(scale * q.k^T + mask) . v in double. */
static void test_values(void) {
    me_graph *g = build_bert();
    me_pass_options o = {1, 1, 0};
    CHECK(me_pass_fuse_attention(g, &o, &tp_diag) == ME_OK && tp_count_op(g, ME_OP_ATTENTION) == 1);
    float **in = tp_inputs(g, 7);
    enum { B = 2, H = 3, S = 6, D = 4 };
    for (int i = 0; i < B * H * S * D; i++) in[0][i] *= 6.0f; /* peaked rows */
    in[3][3] = -1e9f;                                       /* one key masked out in batch 0 */
    tp_run r;
    CHECK(tp_execute(g, (const float *const *)in, &r) == ME_OK);
    if (r.n_out == 1 && r.count[0] == B * H * S * D) {
        double worst = 0;
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < S; i++) {
                    const float *qr = in[0] + ((b * H + h) * S + i) * D;
                    double s[S], mx = -INFINITY, sum = 0;
                    for (int j = 0; j < S; j++) {
                        const float *kr = in[1] + ((b * H + h) * S + j) * D;
                        double dot = 0;
                        for (int e = 0; e < D; e++) dot += (double)qr[e] * kr[e];
                        s[j] = dot / 4.0 + in[3][b * S + j];
                        if (s[j] > mx) mx = s[j];
                    }
                    for (int j = 0; j < S; j++) sum += (s[j] = exp(s[j] - mx));
                    for (int e = 0; e < D; e++) {
                        double y = 0;
                        for (int j = 0; j < S; j++) y += s[j] / sum * in[2][((b * H + h) * S + j) * D + e];
                        double got = r.out[0][((b * H + h) * S + i) * D + e];
                        if (fabs(got - y) > worst) worst = fabs(got - y);
                    }
                }
        CHECK(worst <= 1e-5);
        if (worst > 1e-5) fprintf(stderr, "attention vs naive: max abs error %g\n", worst);
    } else {
        CHECK(0);
    }
    tp_run_free(&r);
    tp_inputs_free(in, g->n_inputs);
    tp_free(g);
}

int main(void) {
    me_diag_init(&tp_diag);
    test_vit();
    test_gpt();
    test_bert();
    test_stays();
    test_values();
    me_diag_free(&tp_diag);
    return check_exit();
}
