/* Normalisation ops: Batchnorm, LayerNorm, RmsNorm, InstanceNorm, GroupNorm,
 * Lrn. Expected values come from the defining formula evaluated here in
 * double with explicit index arithmetic, from hand computation, or from
 * ONNX's conformance data (case named in a comment). */
#include <stdint.h>

#include "check.h"
#include "op_harness.h"

#define DIMS(...) ((int64_t[]){__VA_ARGS__})

static void fill(float *p, int64_t n, uint32_t seed, float offset) {
    uint32_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = offset + (float)((s >> 8) & 0xffff) / 16384.0f - 2.0f;
    }
}

/* ---------------------------------------------------------------- Batchnorm */

static void test_batchnorm(void) {
    /* [2,2,3]: y = x * w[c] + b[c] with w = [1,2,-1], b = [0,1,2] */
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)i;
    oh_ctx c; oh_init(&c);
    int in[3] = {oh_in(&c, ME_DT_F32, 3, DIMS(2, 2, 3), x), oh_in(&c, ME_DT_F32, 1, DIMS(3), (float[]){1, 2, -1}),
                 oh_in(&c, ME_DT_F32, 1, DIMS(3), (float[]){0, 1, 2})};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_BATCHNORM, in, 3, &y, 1);
    if (oh_run_ok(&c) == ME_OK) {
        float want[12];
        for (int i = 0; i < 12; i++) {
            int ch = i % 3;
            want[i] = ch == 0 ? x[i] : ch == 1 ? 2 * x[i] + 1 : 2 - x[i];
        }
        CHECK(oh_close_f32(oh_data(&c, 0), want, 12, 0));
    }
    oh_free(&c);

    /* weights of the wrong length */
    oh_init(&c);
    int in2[3] = {oh_in(&c, ME_DT_F32, 2, DIMS(2, 3), x), oh_in(&c, ME_DT_F32, 1, DIMS(2), (float[]){1, 2}),
                  oh_in(&c, ME_DT_F32, 1, DIMS(3), (float[]){0, 1, 2})};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_BATCHNORM, in2, 3, &y, 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

/* ---------------------------------------------------------------- LayerNorm / RmsNorm */

/* Reference over a rank-3 input [d0,d1,d2] normalised over the axes in `norm`
 * (a 3-bit mask); gamma/beta are indexed by gidx(i0,i1,i2). */
typedef int64_t (*affine_index)(int64_t i0, int64_t i1, int64_t i2);

static void norm3_ref(bool rms, const int64_t *dm, unsigned norm, const float *x, const float *gamma,
                      const float *beta, affine_index gidx, double eps, float *y) {
    int64_t d0 = dm[0], d1 = dm[1], d2 = dm[2];
    for (int64_t o0 = 0; o0 < ((norm & 1) ? 1 : d0); o0++)
        for (int64_t o1 = 0; o1 < ((norm & 2) ? 1 : d1); o1++)
            for (int64_t o2 = 0; o2 < ((norm & 4) ? 1 : d2); o2++) {
                double sum = 0, sq = 0, cnt = 0;
                for (int64_t i0 = 0; i0 < d0; i0++)
                    for (int64_t i1 = 0; i1 < d1; i1++)
                        for (int64_t i2 = 0; i2 < d2; i2++) {
                            if ((!(norm & 1) && i0 != o0) || (!(norm & 2) && i1 != o1) || (!(norm & 4) && i2 != o2))
                                continue;
                            double v = x[(i0 * d1 + i1) * d2 + i2];
                            sum += v;
                            sq += v * v;
                            cnt++;
                        }
                double mean = rms ? 0.0 : sum / cnt;
                double var = sq / cnt - (rms ? 0.0 : mean * mean);
                for (int64_t i0 = 0; i0 < d0; i0++)
                    for (int64_t i1 = 0; i1 < d1; i1++)
                        for (int64_t i2 = 0; i2 < d2; i2++) {
                            if ((!(norm & 1) && i0 != o0) || (!(norm & 2) && i1 != o1) || (!(norm & 4) && i2 != o2))
                                continue;
                            int64_t at = (i0 * d1 + i1) * d2 + i2, g = gidx(i0, i1, i2);
                            double v = (x[at] - mean) / sqrt(var + eps);
                            if (gamma) v *= gamma[g];
                            if (beta) v += beta[g];
                            y[at] = (float)v;
                        }
            }
}

static int64_t g_last(int64_t i0, int64_t i1, int64_t i2) { (void)i0; (void)i1; return i2; }
static int64_t g_last2(int64_t i0, int64_t i1, int64_t i2) { (void)i0; return i1 * 5 + i2; }
static int64_t g_mid(int64_t i0, int64_t i1, int64_t i2) { (void)i0; (void)i2; return i1; }
static int64_t g_first_last(int64_t i0, int64_t i1, int64_t i2) { (void)i1; return i0 * 5 + i2; }

static void check_norm3(int op, const int64_t *axes, int n_axes, const int64_t *gdims, int grank, affine_index gidx,
                        bool with_beta, float offset) {
    const int64_t dm[3] = {2, 3, 5};
    float x[30], gamma[30], beta[30], want[30];
    fill(x, 30, 1, offset);
    fill(gamma, 30, 2, 0);
    fill(beta, 30, 3, 0);
    unsigned mask = 0;
    for (int i = 0; i < n_axes; i++) mask |= 1u << axes[i];
    bool rms = op == ME_OP_RMS_NORM;
    double eps = 1e-3;
    norm3_ref(rms, dm, mask, x, grank ? gamma : NULL, with_beta ? beta : NULL, gidx, eps, want);

    oh_ctx c; oh_init(&c);
    int in[3] = {oh_in(&c, ME_DT_F32, 3, dm, x), grank ? oh_in(&c, ME_DT_F32, grank, gdims, gamma) : -1,
                 with_beta ? oh_in(&c, ME_DT_F32, grank, gdims, beta) : -1};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, op, in, 3, &y, 1);
    CHECK(me_node_set_tensor_int(&c.g, c.node, "axes", ME_DT_U32, 1, DIMS(n_axes), axes) == ME_OK);
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "epsilon", (float)eps) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) CHECK(oh_close_f32(oh_data(&c, 0), want, 30, 2e-5));
    oh_free(&c);
}

static void test_layer_rms_norm(void) {
    for (int op = ME_OP_LAYER_NORM; op <= ME_OP_RMS_NORM; op++) {
        check_norm3(op, DIMS(2), 1, DIMS(5), 1, g_last, true, 0);
        check_norm3(op, DIMS(2), 1, DIMS(5), 1, g_last, false, 100); /* large offset: precision */
        check_norm3(op, DIMS(1, 2), 2, DIMS(3, 5), 2, g_last2, true, 0);
        check_norm3(op, DIMS(1, 2), 2, DIMS(5), 1, g_last, true, 0);   /* gamma broadcast over axis 1 */
        check_norm3(op, DIMS(1), 1, DIMS(3), 1, g_mid, true, 0);       /* a non-trailing axis */
        check_norm3(op, DIMS(1), 1, DIMS(1, 3, 1), 3, g_mid, true, 0); /* full-rank gamma */
        check_norm3(op, DIMS(2, 0), 2, DIMS(2, 5), 2, g_first_last, true, 0); /* axes 0 and 2 */
        check_norm3(op, DIMS(0, 1, 2), 3, DIMS(1), 0, g_last, false, 1);      /* no gamma/beta */
    }

    /* ONNX test_layer_normalization_2d_axis1 shape check and default epsilon: a
     * constant row normalises to 0 + beta */
    oh_ctx c; oh_init(&c);
    int in[3] = {oh_in(&c, ME_DT_F32, 2, DIMS(1, 4), (float[]){3, 3, 3, 3}), -1,
                 oh_in(&c, ME_DT_F32, 1, DIMS(4), (float[]){1, 2, 3, 4})};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_LAYER_NORM, in, 3, &y, 1);
    CHECK(me_node_set_tensor_int(&c.g, c.node, "axes", ME_DT_U32, 1, DIMS(1), DIMS(1)) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) CHECK(oh_close_f32(oh_data(&c, 0), (float[]){1, 2, 3, 4}, 4, 0));
    oh_free(&c);

    /* RmsNorm by hand: x = [3, 4], mean(x^2) = 12.5, eps 0 -> x / sqrt(12.5) */
    oh_init(&c);
    int in2[1] = {oh_in(&c, ME_DT_F32, 2, DIMS(1, 2), (float[]){3, 4})};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_RMS_NORM, in2, 1, &y, 1);
    CHECK(me_node_set_tensor_int(&c.g, c.node, "axes", ME_DT_U32, 1, DIMS(1), DIMS(1)) == ME_OK);
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "epsilon", 0) == ME_OK);
    if (oh_run_ok(&c) == ME_OK)
        CHECK(oh_close_f32(oh_data(&c, 0), (float[]){(float)(3 / sqrt(12.5)), (float)(4 / sqrt(12.5))}, 2, 1e-7));
    oh_free(&c);

    /* bad axes: repeated, out of range, missing */
    const int64_t bad_axes[2][2] = {{1, 1}, {0, 2}};
    for (int i = 0; i < 3; i++) {
        oh_init(&c);
        int in3 = oh_in(&c, ME_DT_F32, 2, DIMS(1, 2), (float[]){3, 4});
        y = oh_out(&c, ME_DT_UNDEFINED);
        oh_node(&c, ME_OP_LAYER_NORM, &in3, 1, &y, 1);
        if (i < 2)
            CHECK(me_node_set_tensor_int(&c.g, c.node, "axes", ME_DT_U32, 1, DIMS(2), bad_axes[i]) == ME_OK);
        CHECK(oh_run(&c) == ME_ERR_FORMAT);
        oh_free(&c);
    }
    /* gamma that does not match the normalised dims */
    oh_init(&c);
    int in4[2] = {oh_in(&c, ME_DT_F32, 2, DIMS(2, 3), (float[6]){0}), oh_in(&c, ME_DT_F32, 1, DIMS(2), (float[]){1, 1})};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_LAYER_NORM, in4, 2, &y, 1);
    CHECK(me_node_set_tensor_int(&c.g, c.node, "axes", ME_DT_U32, 1, DIMS(1), DIMS(1)) == ME_OK);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

/* ---------------------------------------------------------------- InstanceNorm / GroupNorm */

/* [N, S, C] with G groups: stats over (s, channels of the group). */
static void group_ref(int64_t n_, int64_t s_, int64_t c_, int64_t groups, const float *x, const float *gamma,
                      const float *beta, double eps, float *y) {
    int64_t cg = c_ / groups;
    for (int64_t n = 0; n < n_; n++)
        for (int64_t g = 0; g < groups; g++) {
            double sum = 0, cnt = 0;
            for (int64_t s = 0; s < s_; s++)
                for (int64_t k = 0; k < cg; k++) { sum += x[(n * s_ + s) * c_ + g * cg + k]; cnt++; }
            double mean = sum / cnt, var = 0;
            for (int64_t s = 0; s < s_; s++)
                for (int64_t k = 0; k < cg; k++) {
                    double v = x[(n * s_ + s) * c_ + g * cg + k] - mean;
                    var += v * v;
                }
            var /= cnt;
            for (int64_t s = 0; s < s_; s++)
                for (int64_t k = 0; k < cg; k++) {
                    int64_t ch = g * cg + k, at = (n * s_ + s) * c_ + ch;
                    double v = (x[at] - mean) / sqrt(var + eps);
                    if (gamma) v *= gamma[ch];
                    if (beta) v += beta[ch];
                    y[at] = (float)v;
                }
        }
}

static void test_instance_group_norm(void) {
    /* ONNX test_instancenorm_example: x NCHW [1,2,1,3] = [[-1,0,1]], [[2,3,4]],
     * scale [1, 1.5], bias [0, 1], epsilon 1e-5; here as NHWC [1,1,3,2] */
    oh_ctx c; oh_init(&c);
    int in[3] = {oh_in(&c, ME_DT_F32, 4, DIMS(1, 1, 3, 2), (float[]){-1, 2, 0, 3, 1, 4}),
                 oh_in(&c, ME_DT_F32, 1, DIMS(2), (float[]){1, 1.5f}), oh_in(&c, ME_DT_F32, 1, DIMS(2), (float[]){0, 1})};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_INSTANCE_NORM, in, 3, &y, 1);
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "epsilon", 1e-5f) == ME_OK);
    if (oh_run_ok(&c) == ME_OK)
        CHECK(oh_close_f32(oh_data(&c, 0),
                           (float[]){-1.2247356f, -0.8371035f, 0.0f, 1.0f, 1.2247356f, 2.8371034f}, 6, 1e-6));
    oh_free(&c);

    /* formula checks: [2, 3, 4, 6] (S = 12), instance (G = C) and group (G = 2, 3) */
    float x[2 * 12 * 6], gamma[6], beta[6], want[2 * 12 * 6];
    fill(x, 144, 4, 5.0f);
    fill(gamma, 6, 5, 0);
    fill(beta, 6, 6, 0);
    for (int variant = 0; variant < 4; variant++) {
        bool instance = variant == 0;
        int64_t groups = variant == 0 ? 6 : variant == 1 ? 2 : 3;
        bool with_gamma = variant != 3;
        group_ref(2, 12, 6, groups, x, with_gamma ? gamma : NULL, variant == 2 ? NULL : beta, 1e-4, want);
        oh_init(&c);
        int ins[3] = {oh_in(&c, ME_DT_F32, 4, DIMS(2, 3, 4, 6), x),
                      with_gamma ? oh_in(&c, ME_DT_F32, 1, DIMS(6), gamma) : -1,
                      variant == 2 ? -1 : oh_in(&c, ME_DT_F32, 1, DIMS(6), beta)};
        y = oh_out(&c, ME_DT_UNDEFINED);
        oh_node(&c, instance ? ME_OP_INSTANCE_NORM : ME_OP_GROUP_NORM, ins, 3, &y, 1);
        CHECK(me_node_set_scalar_f32(&c.g, c.node, "epsilon", 1e-4f) == ME_OK);
        if (!instance) CHECK(me_node_set_scalar_u32(&c.g, c.node, "group", (uint32_t)groups) == ME_OK);
        if (oh_run_ok(&c) == ME_OK) CHECK(oh_close_f32(oh_data(&c, 0), want, 144, 2e-5));
        oh_free(&c);
    }

    /* unsupported InstanceNorm variants are refused */
    const char *names[3] = {"mode", "normalize_variance", "region"};
    const uint32_t vals[3] = {1, 0, 1};
    for (int i = 0; i < 3; i++) {
        oh_init(&c);
        int ins[2] = {oh_in(&c, ME_DT_F32, 3, DIMS(1, 2, 2), (float[4]){0}),
                      oh_in(&c, ME_DT_F32, 1, DIMS(2), (float[]){1, 1})};
        y = oh_out(&c, ME_DT_UNDEFINED);
        oh_node(&c, ME_OP_INSTANCE_NORM, ins, 2, &y, 1);
        if (i == 1) CHECK(me_node_set_scalar_bool(&c.g, c.node, names[i], vals[i]) == ME_OK);
        else CHECK(me_node_set_scalar_u32(&c.g, c.node, names[i], vals[i]) == ME_OK);
        CHECK(oh_run(&c) == ME_ERR_UNSUPPORTED);
        oh_free(&c);
    }
    /* GroupNorm: group must divide the channels */
    oh_init(&c);
    int ins[1] = {oh_in(&c, ME_DT_F32, 3, DIMS(1, 2, 3), (float[6]){0})};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_GROUP_NORM, ins, 1, &y, 1);
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "epsilon", 1e-5f) == ME_OK);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "group", 2) == ME_OK);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

/* ---------------------------------------------------------------- Lrn */

static void test_lrn(void) {
    /* [2, 7] rows, radius 2: y[c] = x[c] / (bias + alpha * sum_{|j-c|<=2, 0<=j<7} x[j]^2)^beta */
    float x[14], want[14];
    fill(x, 14, 9, 0);
    const double alpha = 0.02, beta = 0.75, bias = 1.5;
    for (int r = 0; r < 2; r++)
        for (int ch = 0; ch < 7; ch++) {
            double s = 0;
            for (int j = ch - 2; j <= ch + 2; j++)
                if (j >= 0 && j < 7) s += (double)x[r * 7 + j] * x[r * 7 + j];
            want[r * 7 + ch] = (float)(x[r * 7 + ch] / pow(bias + alpha * s, beta));
        }
    oh_ctx c; oh_init(&c);
    int in = oh_in(&c, ME_DT_F32, 2, DIMS(2, 7), x);
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_LRN, &in, 1, &y, 1);
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "alpha", (float)alpha) == ME_OK);
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "beta", (float)beta) == ME_OK);
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "bias", (float)bias) == ME_OK);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "radius", 2) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) CHECK(oh_close_f32(oh_data(&c, 0), want, 14, 1e-6));
    oh_free(&c);

    /* radius 0, alpha 1, beta 1, bias 0: y = x / x^2 = 1/x */
    oh_init(&c);
    in = oh_in(&c, ME_DT_F32, 1, DIMS(3), (float[]){2, -4, 0.5f});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_LRN, &in, 1, &y, 1);
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "beta", 1) == ME_OK);
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "bias", 0) == ME_OK);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "radius", 0) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) CHECK(oh_close_f32(oh_data(&c, 0), (float[]){0.5f, -0.25f, 2}, 3, 1e-7));
    oh_free(&c);

    /* WITHIN_CHANNEL is refused */
    oh_init(&c);
    in = oh_in(&c, ME_DT_F32, 1, DIMS(3), (float[]){2, -4, 0.5f});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_LRN, &in, 1, &y, 1);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "radius", 1) == ME_OK);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "region", 1) == ME_OK);
    CHECK(oh_run(&c) == ME_ERR_UNSUPPORTED);
    oh_free(&c);
}

int main(void) {
    test_batchnorm();
    test_layer_rms_norm();
    test_instance_group_norm();
    test_lrn();
    return check_exit();
}
