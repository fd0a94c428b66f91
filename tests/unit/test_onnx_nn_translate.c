/* Translators of translate_nn.c / translate_seq.c end to end: tiny ONNX
 * models built with pb_writer.h, compiled in memory by me_model_load and run;
 * outputs are checked against values derived by hand (or by the op's formula
 * written out here) -- plus the refusals that must name what is unsupported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "modelexport.h"
#include "pb_writer.h"

static char tmpdir[256];
static char last_error[4096];

typedef struct io {
    const char *name;
    const void *data;
    size_t nbytes;
} io;

/* Compile `graph` (consumed) at `opset`, feed `ins`, run, copy the outputs
 * named in `outs` into their buffers. Returns the compile/run status. */
static me_status run_graph(pbw *graph, int64_t opset, const io *ins, int n_ins, io *outs, int n_outs) {
    pbw model;
    onnx_w_model(&model, graph, opset);
    char path[512];
    snprintf(path, sizeof path, "%s/m.onnx", tmpdir);
    int wr = pbw_write_file(&model, path);
    pbw_free(&model);
    if (wr != 0) return ME_ERR_IO;
    me_error *err = NULL;
    me_model *m = NULL;
    me_session *s = NULL;
    last_error[0] = '\0';
    me_status st = me_model_load(path, NULL, &m, &err);
    if (st == ME_OK) st = me_session_create(m, &s, &err);
    for (int i = 0; st == ME_OK && i < n_ins; i++) {
        int k = me_model_find_input(m, ins[i].name);
        st = k < 0 ? ME_ERR_INVALID_ARG : me_session_set_input(s, k, ins[i].data, ins[i].nbytes, &err);
    }
    if (st == ME_OK) st = me_session_run(s, &err);
    for (int i = 0; st == ME_OK && i < n_outs; i++) {
        int k = me_model_find_output(m, outs[i].name);
        const void *p;
        size_t nb;
        if (k < 0 || me_session_get_output(s, k, &p, &nb) != ME_OK || nb != outs[i].nbytes) {
            snprintf(last_error, sizeof last_error, "output %s missing or of the wrong size", outs[i].name);
            st = ME_ERR_INTERNAL;
            break;
        }
        memcpy((void *)outs[i].data, p, nb);
    }
    if (err) {
        snprintf(last_error, sizeof last_error, "%s", me_error_message(err));
        me_error_free(err);
    }
    if (st != ME_OK && getenv("VERBOSE")) fprintf(stderr, "run failed: %s\n", last_error);
    me_session_destroy(s);
    me_model_free(m);
    return st;
}

static void input_f32(pbw *g, const char *name, int rank, const int64_t *dims) {
    onnx_w_value_info(g, 11, name, T_FLOAT, rank, dims, NULL);
}
static void output_any(pbw *g, const char *name, int elem) { onnx_w_value_info(g, 12, name, elem, -1, NULL, NULL); }
static void init_tensor(pbw *g, const char *name, int dt, int rank, const int64_t *dims, const void *p, size_t n) {
    onnx_w_tensor_raw(g, 5, name, dt, rank, dims, p, n);
}
static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static void test_trilu(void) {
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, y[9], z[9];
    int64_t d[2] = {3, 3};
    int64_t k1 = 1, km1 = -1;
    pbw g = {0}, nd;
    input_f32(&g, "x", 2, d);
    init_tensor(&g, "k1", T_INT64, 0, NULL, &k1, 8);
    init_tensor(&g, "km1", T_INT64, 0, NULL, &km1, 8);
    onnx_w_node_begin(&nd, "Trilu", "up", (const char *[]){"x", "k1", NULL}, (const char *[]){"y", NULL});
    pbw_take(&g, 1, &nd);
    onnx_w_node_begin(&nd, "Trilu", "low", (const char *[]){"x", "km1", NULL}, (const char *[]){"z", NULL});
    onnx_w_attr_int(&nd, "upper", 0);
    pbw_take(&g, 1, &nd);
    output_any(&g, "y", T_FLOAT);
    output_any(&g, "z", T_FLOAT);
    io in[1] = {{"x", x, sizeof x}}, out[2] = {{"y", y, sizeof y}, {"z", z, sizeof z}};
    CHECK(run_graph(&g, 14, in, 1, out, 2) == ME_OK);
    /* upper, k=1: strictly above the diagonal; lower, k=-1: strictly below */
    const float ey[9] = {0, 2, 3, 0, 0, 6, 0, 0, 0}, ez[9] = {0, 0, 0, 4, 0, 0, 7, 8, 0};
    for (int i = 0; i < 9; i++) {
        CHECK(y[i] == ey[i]);
        CHECK(z[i] == ez[i]);
    }
}

static void test_topk_axis0(void) {
    float x[6] = {1, 5, 3, 2, 0, 4}, v[4];
    int64_t idx[4], d[2] = {3, 2}, k = 2, kd[1] = {1};
    pbw g = {0}, nd;
    input_f32(&g, "x", 2, d);
    init_tensor(&g, "k", T_INT64, 1, kd, &k, 8);
    onnx_w_node_begin(&nd, "TopK", "topk", (const char *[]){"x", "k", NULL}, (const char *[]){"v", "i", NULL});
    onnx_w_attr_int(&nd, "axis", 0);
    pbw_take(&g, 1, &nd);
    output_any(&g, "v", T_FLOAT);
    output_any(&g, "i", T_INT64);
    io in[1] = {{"x", x, sizeof x}}, out[2] = {{"v", v, sizeof v}, {"i", idx, sizeof idx}};
    CHECK(run_graph(&g, 11, in, 1, out, 2) == ME_OK);
    /* columns [1,3,0] and [5,2,4]: top two of each, in descending order */
    CHECK(v[0] == 3 && v[1] == 5 && v[2] == 1 && v[3] == 4);
    CHECK(idx[0] == 1 && idx[1] == 0 && idx[2] == 0 && idx[3] == 2);
}

static void test_einsum(void) {
    float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, y[4], s[2];
    int64_t d[2] = {2, 2};
    pbw g = {0}, nd;
    input_f32(&g, "a", 2, d);
    input_f32(&g, "b", 2, d);
    onnx_w_node_begin(&nd, "Einsum", "mm", (const char *[]){"a", "b", NULL}, (const char *[]){"y", NULL});
    onnx_w_attr_str(&nd, "equation", "ij,jk->ki");
    pbw_take(&g, 1, &nd);
    onnx_w_node_begin(&nd, "Einsum", "rowsum", (const char *[]){"a", NULL}, (const char *[]){"s", NULL});
    onnx_w_attr_str(&nd, "equation", "ij->i");
    pbw_take(&g, 1, &nd);
    output_any(&g, "y", T_FLOAT);
    output_any(&g, "s", T_FLOAT);
    io in[2] = {{"a", a, sizeof a}, {"b", b, sizeof b}}, out[2] = {{"y", y, sizeof y}, {"s", s, sizeof s}};
    CHECK(run_graph(&g, 12, in, 2, out, 2) == ME_OK);
    /* a@b = [[19,22],[43,50]], transposed */
    CHECK(y[0] == 19 && y[1] == 43 && y[2] == 22 && y[3] == 50);
    CHECK(s[0] == 3 && s[1] == 7);

    /* a repeated label within one operand (a diagonal) is refused by name */
    pbw g2 = {0};
    input_f32(&g2, "a", 2, d);
    onnx_w_node_begin(&nd, "Einsum", "diag", (const char *[]){"a", NULL}, (const char *[]){"y", NULL});
    onnx_w_attr_str(&nd, "equation", "ii->i");
    pbw_take(&g2, 1, &nd);
    output_any(&g2, "y", T_FLOAT);
    CHECK(run_graph(&g2, 12, in, 1, NULL, 0) == ME_ERR_UNSUPPORTED);
    CHECK(strstr(last_error, "ii->i") != NULL);
}

static void test_attention_causal(void) {
    /* B=H=1, S=T=2, head 1; causal: query 0 sees key 0 only */
    float q[2] = {1, 2}, k[2] = {1, 0}, v[2] = {10, 20}, y[2], qk[4];
    int64_t d[4] = {1, 1, 2, 1};
    pbw g = {0}, nd;
    input_f32(&g, "q", 4, d);
    input_f32(&g, "k", 4, d);
    input_f32(&g, "v", 4, d);
    onnx_w_node_begin(&nd, "Attention", "attn", (const char *[]){"q", "k", "v", NULL},
                      (const char *[]){"y", "", "", "qk", NULL});
    onnx_w_attr_int(&nd, "is_causal", 1);
    pbw_take(&g, 1, &nd);
    output_any(&g, "y", T_FLOAT);
    output_any(&g, "qk", T_FLOAT);
    io in[3] = {{"q", q, sizeof q}, {"k", k, sizeof k}, {"v", v, sizeof v}};
    io out[2] = {{"y", y, sizeof y}, {"qk", qk, sizeof qk}};
    CHECK(run_graph(&g, 23, in, 3, out, 2) == ME_OK);
    double p = exp(2.0) / (exp(2.0) + 1.0); /* row 1: scores [2, 0], scale 1/sqrt(1) */
    CHECK_NEAR(y[0], 10.0, 1e-5);
    CHECK_NEAR(y[1], p * 10 + (1 - p) * 20, 1e-4);
    /* qk_matmul_output mode 0: scaled Q K^T before any mask */
    CHECK(qk[0] == 1 && qk[1] == 0 && qk[2] == 2 && qk[3] == 0);
}

static void test_lstm_one_step(void) {
    float x = 0.5f, h0 = 0.2f, c0 = 0.3f, yh, yc;
    float w[4] = {0.1f, 0.2f, 0.3f, 0.4f}, r[4] = {0.5f, 0.6f, 0.7f, 0.8f}; /* gates i, o, f, c */
    float b[8] = {0.01f, 0.02f, 0.03f, 0.04f, 0.05f, 0.06f, 0.07f, 0.08f};
    int64_t d3[3] = {1, 1, 1}, wd[3] = {1, 4, 1}, bd[2] = {1, 8};
    pbw g = {0}, nd;
    input_f32(&g, "x", 3, d3);
    input_f32(&g, "h0", 3, d3);
    input_f32(&g, "c0", 3, d3);
    init_tensor(&g, "W", T_FLOAT, 3, wd, w, sizeof w);
    init_tensor(&g, "R", T_FLOAT, 3, wd, r, sizeof r);
    init_tensor(&g, "B", T_FLOAT, 2, bd, b, sizeof b);
    onnx_w_node_begin(&nd, "LSTM", "lstm", (const char *[]){"x", "W", "R", "B", "", "h0", "c0", NULL},
                      (const char *[]){"", "yh", "yc", NULL});
    onnx_w_attr_int(&nd, "hidden_size", 1);
    pbw_take(&g, 1, &nd);
    output_any(&g, "yh", T_FLOAT);
    output_any(&g, "yc", T_FLOAT);
    io in[3] = {{"x", &x, 4}, {"h0", &h0, 4}, {"c0", &c0, 4}}, out[2] = {{"yh", &yh, 4}, {"yc", &yc, 4}};
    CHECK(run_graph(&g, 14, in, 3, out, 2) == ME_OK);
    double gate[4];
    for (int k = 0; k < 4; k++) gate[k] = w[k] * x + r[k] * h0 + b[k] + b[4 + k];
    double i = sigmoid(gate[0]), o = sigmoid(gate[1]), f = sigmoid(gate[2]), cc = tanh(gate[3]);
    double c = f * c0 + i * cc;
    CHECK_NEAR(yc, c, 1e-5);
    CHECK_NEAR(yh, o * tanh(c), 1e-5);
}

static void test_gru_one_step(void) {
    float x = 0.5f, h0 = 0.2f, yh;
    float w[3] = {0.1f, 0.2f, 0.3f}, r[3] = {0.4f, 0.5f, 0.6f}, b[6] = {0.01f, 0.02f, 0.03f, 0.04f, 0.05f, 0.06f};
    int64_t d3[3] = {1, 1, 1}, wd[3] = {1, 3, 1}, bd[2] = {1, 6};
    for (int lbr = 0; lbr <= 1; lbr++) {
        pbw g = {0}, nd;
        input_f32(&g, "x", 3, d3);
        input_f32(&g, "h0", 3, d3);
        init_tensor(&g, "W", T_FLOAT, 3, wd, w, sizeof w);
        init_tensor(&g, "R", T_FLOAT, 3, wd, r, sizeof r);
        init_tensor(&g, "B", T_FLOAT, 2, bd, b, sizeof b);
        onnx_w_node_begin(&nd, "GRU", "gru", (const char *[]){"x", "W", "R", "B", "", "h0", NULL},
                          (const char *[]){"", "yh", NULL});
        onnx_w_attr_int(&nd, "hidden_size", 1);
        onnx_w_attr_int(&nd, "linear_before_reset", lbr);
        pbw_take(&g, 1, &nd);
        output_any(&g, "yh", T_FLOAT);
        io in[2] = {{"x", &x, 4}, {"h0", &h0, 4}}, out[1] = {{"yh", &yh, 4}};
        CHECK(run_graph(&g, 14, in, 2, out, 1) == ME_OK);
        /* gates z, r, h */
        double z = sigmoid(w[0] * x + r[0] * h0 + b[0] + b[3]);
        double rt = sigmoid(w[1] * x + r[1] * h0 + b[1] + b[4]);
        double hh = lbr ? tanh(w[2] * x + rt * (r[2] * h0 + b[5]) + b[2])
                        : tanh(w[2] * x + (rt * h0) * r[2] + b[5] + b[2]);
        CHECK_NEAR(yh, (1 - z) * hh + z * h0, 1e-5);
    }
}

static void test_qdq(void) {
    float x[4] = {0.1f, 1.0f, -0.3f, 30.0f}, y[4], scale = 0.1f;
    uint8_t zp = 10, q[4];
    int64_t d[1] = {4};
    pbw g = {0}, nd;
    input_f32(&g, "x", 1, d);
    init_tensor(&g, "s", T_FLOAT, 0, NULL, &scale, 4);
    init_tensor(&g, "z", T_UINT8, 0, NULL, &zp, 1);
    onnx_w_node_begin(&nd, "QuantizeLinear", "q", (const char *[]){"x", "s", "z", NULL}, (const char *[]){"q", NULL});
    pbw_take(&g, 1, &nd);
    onnx_w_node_begin(&nd, "DequantizeLinear", "dq", (const char *[]){"q", "s", "z", NULL}, (const char *[]){"y", NULL});
    pbw_take(&g, 1, &nd);
    output_any(&g, "q", T_UINT8);
    output_any(&g, "y", T_FLOAT);
    io in[1] = {{"x", x, sizeof x}}, out[2] = {{"q", q, sizeof q}, {"y", y, sizeof y}};
    CHECK(run_graph(&g, 13, in, 1, out, 2) == ME_OK);
    /* q = clamp(round(x / 0.1) + 10, 0, 255); 30 / 0.1 + 10 = 310 saturates */
    CHECK(q[0] == 11 && q[1] == 20 && q[2] == 7 && q[3] == 255);
    CHECK_NEAR(y[0], 0.1, 1e-6);
    CHECK_NEAR(y[1], 1.0, 1e-6);
    CHECK_NEAR(y[2], -0.3, 1e-6);
    CHECK_NEAR(y[3], 24.5, 1e-5);
}

static void test_resize_nearest(void) {
    float x[2] = {1, 2}, y[4], sc[4] = {1, 1, 1, 2};
    int64_t d[4] = {1, 1, 1, 2}, sd[1] = {4};
    pbw g = {0}, nd;
    input_f32(&g, "x", 4, d);
    init_tensor(&g, "sc", T_FLOAT, 1, sd, sc, sizeof sc);
    onnx_w_node_begin(&nd, "Resize", "rs", (const char *[]){"x", "", "sc", NULL}, (const char *[]){"y", NULL});
    onnx_w_attr_str(&nd, "mode", "nearest");
    pbw_take(&g, 1, &nd);
    output_any(&g, "y", T_FLOAT);
    io in[1] = {{"x", x, sizeof x}}, out[1] = {{"y", y, sizeof y}};
    CHECK(run_graph(&g, 13, in, 1, out, 1) == ME_OK);
    /* half_pixel: sources -0.25, 0.25, 0.75, 1.25 round (prefer floor) to 0, 0, 1, 1 */
    CHECK(y[0] == 1 && y[1] == 1 && y[2] == 2 && y[3] == 2);
}

static void test_layer_norm_stats(void) {
    float x[4] = {1, 2, 3, 4}, y[4], mean, inv;
    int64_t d[2] = {1, 4};
    pbw g = {0}, nd;
    input_f32(&g, "x", 2, d);
    float one[4] = {1, 1, 1, 1};
    int64_t wd[1] = {4};
    init_tensor(&g, "w", T_FLOAT, 1, wd, one, sizeof one);
    onnx_w_node_begin(&nd, "LayerNormalization", "ln", (const char *[]){"x", "w", NULL},
                      (const char *[]){"y", "mean", "inv", NULL});
    onnx_w_attr_float(&nd, "epsilon", 0.0f);
    pbw_take(&g, 1, &nd);
    output_any(&g, "y", T_FLOAT);
    output_any(&g, "mean", T_FLOAT);
    output_any(&g, "inv", T_FLOAT);
    io in[1] = {{"x", x, sizeof x}}, out[3] = {{"y", y, sizeof y}, {"mean", &mean, 4}, {"inv", &inv, 4}};
    CHECK(run_graph(&g, 17, in, 1, out, 3) == ME_OK);
    /* mean 2.5, variance (2.25 + 0.25) * 2 / 4 = 1.25 */
    CHECK_NEAR(mean, 2.5, 1e-6);
    CHECK_NEAR(inv, 1 / sqrt(1.25), 1e-5);
    for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], (x[i] - 2.5) / sqrt(1.25), 1e-5);
}

/* If: a then/else branch graph attribute on node `nd`. */
static void attr_graph(pbw *nd, const char *name, const char *op, const char *out) {
    pbw sub = {0}, inner, a = {0};
    onnx_w_node_begin(&inner, op, out, (const char *[]){"x", "x", NULL}, (const char *[]){out, NULL});
    pbw_take(&sub, 1, &inner);
    pbw_str(&sub, 2, name);
    output_any(&sub, out, T_FLOAT);
    pbw_str(&a, 1, name);
    pbw_take(&a, 6, &sub);
    pbw_uint(&a, 20, 5);
    pbw_take(nd, 5, &a);
}

static void test_if(void) {
    float x[2] = {3, 4}, y[2];
    int64_t d[1] = {2};
    uint8_t cond = 0;
    /* constant condition: the else branch (x * x) is inlined */
    pbw g = {0}, nd;
    input_f32(&g, "x", 1, d);
    init_tensor(&g, "cond", T_BOOL, 0, NULL, &cond, 1);
    onnx_w_node_begin(&nd, "If", "if", (const char *[]){"cond", NULL}, (const char *[]){"y", NULL});
    attr_graph(&nd, "then_branch", "Add", "t");
    attr_graph(&nd, "else_branch", "Mul", "e");
    pbw_take(&g, 1, &nd);
    output_any(&g, "y", T_FLOAT);
    io in[1] = {{"x", x, sizeof x}}, out[1] = {{"y", y, sizeof y}};
    CHECK(run_graph(&g, 13, in, 1, out, 1) == ME_OK);
    CHECK(y[0] == 9 && y[1] == 16);

    /* a condition computed at run time is refused with the reason */
    pbw g2 = {0};
    input_f32(&g2, "x", 1, d);
    onnx_w_node_begin(&nd, "ReduceSum", "sum", (const char *[]){"x", NULL}, (const char *[]){"s", NULL});
    onnx_w_attr_int(&nd, "keepdims", 0);
    pbw_take(&g2, 1, &nd);
    onnx_w_node_begin(&nd, "Greater", "gt", (const char *[]){"s", "s", NULL}, (const char *[]){"c", NULL});
    pbw_take(&g2, 1, &nd);
    onnx_w_node_begin(&nd, "If", "if_dyn", (const char *[]){"c", NULL}, (const char *[]){"y", NULL});
    attr_graph(&nd, "then_branch", "Add", "t");
    attr_graph(&nd, "else_branch", "Mul", "e");
    pbw_take(&g2, 1, &nd);
    output_any(&g2, "y", T_FLOAT);
    CHECK(run_graph(&g2, 13, in, 1, NULL, 0) == ME_ERR_UNSUPPORTED);
    CHECK(strstr(last_error, "data-dependent control flow") != NULL);
}

static void test_refusals(void) {
    float x[8] = {0};
    int64_t d[4] = {1, 2, 2, 2};
    pbw g = {0}, nd;
    input_f32(&g, "x", 4, d);
    onnx_w_node_begin(&nd, "LRN", "lrn", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
    onnx_w_attr_int(&nd, "size", 4);
    pbw_take(&g, 1, &nd);
    output_any(&g, "y", T_FLOAT);
    io in[1] = {{"x", x, sizeof x}};
    CHECK(run_graph(&g, 13, in, 1, NULL, 0) == ME_ERR_UNSUPPORTED);
    CHECK(strstr(last_error, "size=4") != NULL);

    pbw g2 = {0};
    input_f32(&g2, "x", 4, d);
    onnx_w_node_begin(&nd, "DepthToSpace", "d2s", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
    onnx_w_attr_int(&nd, "blocksize", 2);
    onnx_w_attr_str(&nd, "mode", "XYZ");
    pbw_take(&g2, 1, &nd);
    output_any(&g2, "y", T_FLOAT);
    CHECK(run_graph(&g2, 13, in, 1, NULL, 0) == ME_ERR_UNSUPPORTED);
    CHECK(strstr(last_error, "mode='XYZ'") != NULL);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/me_onnx_nn_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_trilu();
    test_topk_axis0();
    test_einsum();
    test_attention_causal();
    test_lstm_one_step();
    test_gru_one_step();
    test_qdq();
    test_resize_nearest();
    test_layer_norm_stats();
    test_if();
    test_refusals();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_exit();
}
