/* Activations, ElementWiseNeuron, Softplus, Prelu, Softmax/LogSoftmax:
 * hand-computed values and double-precision formulas written in the test. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "op_harness.h"

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})

/* Builds x -> op -> y; params are set by the caller before oh_run. */
static void build1(oh_ctx *c, int op, me_dtype t, int r, const int64_t *dims, const void *a) {
    oh_init(c);
    int x = oh_in(c, t, r, dims, a);
    int o = oh_out(c, ME_DT_UNDEFINED);
    oh_node(c, op, &x, 1, &o, 1);
}

static me_status run(oh_ctx *c) {
    me_status st = oh_run(c);
    if (st != ME_OK) fprintf(stderr, "  (%s)\n", oh_msg(c));
    return st;
}

static double sigmoid_ref(double x) { return 1.0 / (1.0 + exp(-x)); }

static void test_relu_family(void) {
    oh_ctx c;
    const float x[4] = {-1, 0, 2, NAN};
    build1(&c, ME_OP_RELU, ME_DT_F32, 1, DIMS(4), x);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){0, 0, 2, NAN}, 4, 0));
    oh_free(&c);
    const int32_t xi[3] = {-3, 4, 0};
    build1(&c, ME_OP_RELU, ME_DT_I32, 1, DIMS(3), xi);
    CHECK(run(&c) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){0, 4, 0}, 12) == 0);
    oh_free(&c);

    const float y[5] = {-5, -1, 0, 3, NAN};
    build1(&c, ME_OP_RELU_MIN_MAX, ME_DT_F32, 1, DIMS(5), y);
    me_node_set_scalar_f32(&c.g, c.node, "min_value", -1);
    me_node_set_scalar_f32(&c.g, c.node, "max_value", 2);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){-1, -1, 0, 2, NAN}, 5, 0));
    oh_free(&c);
    /* missing max_value */
    build1(&c, ME_OP_RELU_MIN_MAX, ME_DT_F32, 1, DIMS(5), y);
    me_node_set_scalar_f32(&c.g, c.node, "min_value", -1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "max_value") != NULL);
    oh_free(&c);
    /* integer clip: bounds round inward */
    const int32_t z[3] = {-5, 0, 5};
    build1(&c, ME_OP_RELU_MIN_MAX, ME_DT_I32, 1, DIMS(3), z);
    me_node_set_scalar_f32(&c.g, c.node, "min_value", -1.5f);
    me_node_set_scalar_f32(&c.g, c.node, "max_value", 2.5f);
    CHECK(run(&c) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){-1, 0, 2}, 12) == 0);
    oh_free(&c);
    const uint8_t u[3] = {5, 15, 25};
    build1(&c, ME_OP_RELU_MIN_MAX, ME_DT_U8, 1, DIMS(3), u);
    me_node_set_scalar_f32(&c.g, c.node, "min_value", 10);
    me_node_set_scalar_f32(&c.g, c.node, "max_value", 20);
    CHECK(run(&c) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){10, 15, 20}, 3) == 0);
    oh_free(&c);
    /* wrong param dtype */
    build1(&c, ME_OP_RELU_MIN_MAX, ME_DT_F32, 1, DIMS(5), y);
    me_node_set_scalar_u32(&c.g, c.node, "min_value", 1);
    me_node_set_scalar_f32(&c.g, c.node, "max_value", 2);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

static void test_smooth_activations(void) {
    oh_ctx c;
    const float x[6] = {-1000, -100, -1, 0, 0.5f, 100};
    build1(&c, ME_OP_SIGMOID, ME_DT_F32, 1, DIMS(6), x);
    CHECK(run(&c) == ME_OK);
    float want[6];
    for (int i = 0; i < 6; i++) want[i] = (float)sigmoid_ref(x[i]);
    CHECK(oh_close_f32(oh_data(&c, 0), want, 6, 1e-6));
    CHECK(((const float *)oh_data(&c, 0))[1] > 0); /* exp(-100) is representable, not flushed by overflow */
    oh_free(&c);

    build1(&c, ME_OP_TANH, ME_DT_F32, 1, DIMS(6), x);
    CHECK(run(&c) == ME_OK);
    for (int i = 0; i < 6; i++) want[i] = (float)tanh(x[i]);
    CHECK(oh_close_f32(oh_data(&c, 0), want, 6, 1e-6));
    oh_free(&c);

    const float e[2] = {-1, 1};
    build1(&c, ME_OP_ELU, ME_DT_F32, 1, DIMS(2), e);
    me_node_set_scalar_f32(&c.g, c.node, "alpha", 2);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){-1.26424112f, 1}, 2, 1e-6));
    oh_free(&c);
    build1(&c, ME_OP_ELU, ME_DT_F32, 1, DIMS(2), e); /* default alpha 1 */
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){-0.63212056f, 1}, 2, 1e-6));
    oh_free(&c);

    const float g[3] = {1, -1, 0};
    build1(&c, ME_OP_GELU, ME_DT_F32, 1, DIMS(3), g);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){0.84134475f, -0.15865525f, 0}, 3, 1e-6));
    oh_free(&c);

    const float h[5] = {-4, -1, 1, 4, NAN};
    build1(&c, ME_OP_HARD_SWISH, ME_DT_F32, 1, DIMS(5), h);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){0, -1.0f / 3, 2.0f / 3, 4, NAN}, 5, 1e-6));
    oh_free(&c);

    build1(&c, ME_OP_SIGMOID, ME_DT_I32, 1, DIMS(1), (const int32_t[]){1});
    CHECK(oh_run(&c) == ME_ERR_UNSUPPORTED);
    oh_free(&c);
}

static void test_softplus_neuron(void) {
    oh_ctx c;
    const float x[5] = {-100, -1, 0, 1, 30};
    build1(&c, ME_OP_SOFTPLUS, ME_DT_F32, 1, DIMS(5), x);
    CHECK(run(&c) == ME_OK);
    float want[5];
    for (int i = 0; i < 5; i++) want[i] = x[i] > 20 ? x[i] : (float)log1p(exp((double)x[i]));
    CHECK(oh_close_f32(oh_data(&c, 0), want, 5, 1e-6));
    CHECK(((const float *)oh_data(&c, 0))[0] > 0);
    oh_free(&c);
    /* beta 2, threshold 1: y = x once 2x > 1 */
    build1(&c, ME_OP_SOFTPLUS, ME_DT_F32, 1, DIMS(5), x);
    me_node_set_scalar_f32(&c.g, c.node, "beta", 2);
    me_node_set_scalar_f32(&c.g, c.node, "threshold", 1);
    CHECK(run(&c) == ME_OK);
    for (int i = 0; i < 5; i++) want[i] = 2 * x[i] > 1 ? x[i] : (float)(log1p(exp(2.0 * x[i])) / 2);
    CHECK(oh_close_f32(oh_data(&c, 0), want, 5, 1e-6));
    oh_free(&c);
    build1(&c, ME_OP_SOFTPLUS, ME_DT_F32, 1, DIMS(5), x);
    me_node_set_scalar_f32(&c.g, c.node, "beta", 0);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);

    /* Neuron HARD_SIGMOID with default alpha 0.2, beta 0.5 */
    const float hs[4] = {-5, 0, 1, 5};
    build1(&c, ME_OP_NEURON, ME_DT_F32, 1, DIMS(4), hs);
    me_node_set_scalar_u32(&c.g, c.node, "operation", 2);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){0, 0.5f, 0.7f, 1}, 4, 1e-6));
    oh_free(&c);
    build1(&c, ME_OP_NEURON, ME_DT_F32, 1, DIMS(4), hs);
    me_node_set_scalar_u32(&c.g, c.node, "operation", 2);
    me_node_set_scalar_f32(&c.g, c.node, "alpha", 0.5f);
    me_node_set_scalar_f32(&c.g, c.node, "beta", 0.25f);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){0, 0.25f, 0.75f, 1}, 4, 1e-6));
    oh_free(&c);
    /* Neuron RELU_MIN_MAX, ELU (alpha), SIGMOID */
    build1(&c, ME_OP_NEURON, ME_DT_F32, 1, DIMS(4), hs);
    me_node_set_scalar_u32(&c.g, c.node, "operation", 5);
    me_node_set_scalar_f32(&c.g, c.node, "min_value", 0);
    me_node_set_scalar_f32(&c.g, c.node, "max_value", 3);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){0, 0, 1, 3}, 4, 0));
    oh_free(&c);
    build1(&c, ME_OP_NEURON, ME_DT_F32, 1, DIMS(4), hs);
    me_node_set_scalar_u32(&c.g, c.node, "operation", 5);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
    build1(&c, ME_OP_NEURON, ME_DT_F32, 1, DIMS(4), hs);
    me_node_set_scalar_u32(&c.g, c.node, "operation", 0);
    me_node_set_scalar_f32(&c.g, c.node, "alpha", 0.5f);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){(float)(0.5 * (exp(-5.0) - 1)), 0, 1, 5}, 4, 1e-6));
    oh_free(&c);
    build1(&c, ME_OP_NEURON, ME_DT_F32, 1, DIMS(4), hs);
    me_node_set_scalar_u32(&c.g, c.node, "operation", 6);
    CHECK(run(&c) == ME_OK);
    float sw[4];
    for (int i = 0; i < 4; i++) sw[i] = (float)sigmoid_ref(hs[i]);
    CHECK(oh_close_f32(oh_data(&c, 0), sw, 4, 1e-6));
    oh_free(&c);
    /* unknown operation, missing operation */
    build1(&c, ME_OP_NEURON, ME_DT_F32, 1, DIMS(4), hs);
    me_node_set_scalar_u32(&c.g, c.node, "operation", 99);
    CHECK(oh_run(&c) == ME_ERR_UNSUPPORTED);
    oh_free(&c);
    build1(&c, ME_OP_NEURON, ME_DT_F32, 1, DIMS(4), hs);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

static void test_prelu(void) {
    oh_ctx c;
    const float x[4] = {-1, 2, -3, 4}, s2[2] = {0.1f, 0.2f}, s1[1] = {0.5f};
    oh_init(&c);
    int tx = oh_in(&c, ME_DT_F32, 2, DIMS(2, 2), x), ts = oh_in(&c, ME_DT_F32, 1, DIMS(2), s2);
    int o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_PRELU, (int[]){tx, ts}, 2, &o, 1);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){-0.1f, 2, -0.3f, 4}, 4, 1e-7));
    oh_free(&c);
    /* per-row slope [2,1] */
    oh_init(&c);
    tx = oh_in(&c, ME_DT_F32, 2, DIMS(2, 2), x);
    ts = oh_in(&c, ME_DT_F32, 2, DIMS(2, 1), s2);
    o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_PRELU, (int[]){tx, ts}, 2, &o, 1);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){-0.1f, 2, -0.6f, 4}, 4, 1e-7));
    oh_free(&c);
    oh_init(&c);
    tx = oh_in(&c, ME_DT_F32, 2, DIMS(2, 2), x);
    ts = oh_in(&c, ME_DT_F32, 1, DIMS(1), s1);
    o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_PRELU, (int[]){tx, ts}, 2, &o, 1);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){-0.5f, 2, -1.5f, 4}, 4, 1e-7));
    oh_free(&c);
    /* slope that would grow the output is rejected */
    oh_init(&c);
    tx = oh_in(&c, ME_DT_F32, 1, DIMS(2), s2);
    ts = oh_in(&c, ME_DT_F32, 2, DIMS(2, 2), x);
    o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_PRELU, (int[]){tx, ts}, 2, &o, 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

/* softmax(beta*x) along `axis` of a [d0,d1,d2] tensor, in double. */
static void softmax_ref(const float *x, float *y, const int64_t *dims, int axis, double beta, int log_out) {
    int64_t d0 = dims[0], d1 = dims[1], d2 = dims[2];
    int64_t stride[3] = {d1 * d2, d2, 1};
    for (int64_t i = 0; i < d0; i++)
        for (int64_t j = 0; j < d1; j++)
            for (int64_t k = 0; k < d2; k++) {
                int64_t idx[3] = {i, j, k};
                if (idx[axis] != 0) continue;
                int64_t base = i * stride[0] + j * stride[1] + k * stride[2];
                double m = -INFINITY, s = 0;
                for (int64_t t = 0; t < dims[axis]; t++) m = fmax(m, beta * x[base + t * stride[axis]]);
                for (int64_t t = 0; t < dims[axis]; t++) s += exp(beta * x[base + t * stride[axis]] - m);
                for (int64_t t = 0; t < dims[axis]; t++) {
                    double z = beta * x[base + t * stride[axis]] - m;
                    y[base + t * stride[axis]] = (float)(log_out ? z - log(s) : exp(z) / s);
                }
            }
}

static void test_softmax(void) {
    oh_ctx c;
    const float x[6] = {1, 2, 3, 1, 1, 1};
    build1(&c, ME_OP_SOFTMAX, ME_DT_F32, 2, DIMS(2, 3), x);
    CHECK(run(&c) == ME_OK);
    double s = exp(-2.0) + exp(-1.0) + 1;
    CHECK(oh_close_f32(oh_data(&c, 0),
                       (const float[]){(float)(exp(-2.0) / s), (float)(exp(-1.0) / s), (float)(1 / s), 1.0f / 3, 1.0f / 3, 1.0f / 3},
                       6, 1e-6));
    oh_free(&c);
    /* axis 0 of [2,3]: columns (1,1), (2,1), (3,1) */
    build1(&c, ME_OP_SOFTMAX, ME_DT_F32, 2, DIMS(2, 3), x);
    me_node_set_scalar_u32(&c.g, c.node, "axis", 0);
    CHECK(run(&c) == ME_OK);
    double e1 = 1 / (1 + exp(-1.0)), e2 = 1 / (1 + exp(-2.0));
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){0.5f, (float)e1, (float)e2, 0.5f, (float)(1 - e1), (float)(1 - e2)}, 6, 1e-6));
    oh_free(&c);
    /* a middle axis of a 3-D tensor, with beta, softmax and log-softmax */
    static float big[2 * 4 * 3], want[2 * 4 * 3];
    for (int i = 0; i < 24; i++) big[i] = (float)((i * 7) % 11) * 0.37f - 1.5f;
    for (int lg = 0; lg < 2; lg++) {
        build1(&c, lg ? ME_OP_LOG_SOFTMAX : ME_OP_SOFTMAX, ME_DT_F32, 3, DIMS(2, 4, 3), big);
        me_node_set_scalar_u32(&c.g, c.node, "axis", 1);
        me_node_set_scalar_f32(&c.g, c.node, "beta", 1.7f);
        CHECK(run(&c) == ME_OK);
        softmax_ref(big, want, DIMS(2, 4, 3), 1, 1.7f, lg);
        CHECK(oh_close_f32(oh_data(&c, 0), want, 24, 1e-5));
        oh_free(&c);
    }
    /* stability: huge inputs */
    const float h[2] = {1000, 1000};
    build1(&c, ME_OP_SOFTMAX, ME_DT_F32, 1, DIMS(2), h);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){0.5f, 0.5f}, 2, 1e-7));
    oh_free(&c);
    build1(&c, ME_OP_LOG_SOFTMAX, ME_DT_F32, 1, DIMS(2), (const float[]){-1000, 0});
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){-1000, 0}, 2, 1e-6));
    oh_free(&c);
    /* axis out of range */
    build1(&c, ME_OP_SOFTMAX, ME_DT_F32, 2, DIMS(2, 3), x);
    me_node_set_scalar_u32(&c.g, c.node, "axis", 2);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "(Softmax): axis 2 is out of range") != NULL);
    oh_free(&c);
}

int main(void) {
    test_relu_family();
    test_smooth_activations();
    test_softplus_neuron();
    test_prelu();
    test_softmax();
    return check_exit();
}
