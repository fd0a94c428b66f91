/* Convolution and pooling ops: Conv2d, DepthWiseConv2d, TransposeConv2d,
 * PoolMax2d, PoolAvg2d. Expected values are hand-computed, or computed by a
 * naive direct formula written here (gather for convolution, scatter for
 * transpose convolution), or taken from ONNX's conformance data (case named
 * in a comment; NCHW with N = C = 1 has the same memory order as NHWC). */
#include <stdint.h>

#include "check.h"
#include "op_harness.h"

#define DIMS(...) ((int64_t[]){__VA_ARGS__})

static void set_pair(oh_ctx *c, const char *name, int64_t a, int64_t b) {
    CHECK(me_node_set_tensor_int(&c->g, c->node, name, ME_DT_U32, 1, DIMS(2), DIMS(a, b)) == ME_OK);
}

static void set_pads(oh_ctx *c, int64_t top, int64_t bottom, int64_t left, int64_t right) {
    CHECK(me_node_set_tensor_int(&c->g, c->node, "pad_amount", ME_DT_U32, 2, DIMS(2, 2),
                                 DIMS(top, bottom, left, right)) == ME_OK);
}

/* Deterministic values in [-1, 1). */
static void fill(float *p, int64_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* ---------------------------------------------------------------- Conv2d */

typedef struct conv_case {
    int64_t n, h, w, cin, cout, fh, fw, group;
    int64_t stride[2], pad[4], dil[2];
    bool bias;
} conv_case;

static int64_t conv_len(int64_t in, int64_t p0, int64_t p1, int64_t f, int64_t d, int64_t s) {
    return (p0 + in + p1 - ((f - 1) * d + 1)) / s + 1;
}

/* y[n,oh,ow,co] = b[co] + sum x[n, oh*s-pt+kh*d, ow*s-pl+kw*d, g*cin_g+ci] * w[kh,kw,ci,co] */
static void conv_naive(const conv_case *k, const float *x, const float *w, const float *b, float *y, int64_t oh_n,
                       int64_t ow_n) {
    int64_t cin_g = k->cin / k->group, cout_g = k->cout / k->group;
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t oh = 0; oh < oh_n; oh++)
            for (int64_t ow = 0; ow < ow_n; ow++)
                for (int64_t co = 0; co < k->cout; co++) {
                    double acc = b ? b[co] : 0.0;
                    int64_t g = co / cout_g;
                    for (int64_t kh = 0; kh < k->fh; kh++)
                        for (int64_t kw = 0; kw < k->fw; kw++)
                            for (int64_t ci = 0; ci < cin_g; ci++) {
                                int64_t ih = oh * k->stride[0] - k->pad[0] + kh * k->dil[0];
                                int64_t iw = ow * k->stride[1] - k->pad[2] + kw * k->dil[1];
                                if (ih < 0 || ih >= k->h || iw < 0 || iw >= k->w) continue;
                                acc += (double)x[((n * k->h + ih) * k->w + iw) * k->cin + g * cin_g + ci] *
                                       w[((kh * k->fw + kw) * cin_g + ci) * k->cout + co];
                            }
                    y[((n * oh_n + oh) * ow_n + ow) * k->cout + co] = (float)acc;
                }
}

static void check_conv_case(const conv_case *k, bool depthwise) {
    int64_t cin_g = depthwise ? 1 : k->cin / k->group;
    int64_t nx = k->n * k->h * k->w * k->cin, nw = k->fh * k->fw * cin_g * k->cout;
    float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float)), b[256];
    fill(x, nx, 1);
    fill(w, nw, 2);
    fill(b, k->cout, 3);
    oh_ctx c; oh_init(&c);
    int in[3];
    in[0] = oh_in(&c, ME_DT_F32, 4, DIMS(k->n, k->h, k->w, k->cin), x);
    in[1] = oh_in(&c, ME_DT_F32, 4, DIMS(k->fh, k->fw, cin_g, k->cout), w);
    in[2] = k->bias ? oh_in(&c, ME_DT_F32, 1, DIMS(k->cout), b) : -1;
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, depthwise ? ME_OP_DEPTHWISE_CONV2D : ME_OP_CONV2D, in, 3, &y, 1);
    set_pair(&c, "stride", k->stride[0], k->stride[1]);
    set_pads(&c, k->pad[0], k->pad[1], k->pad[2], k->pad[3]);
    if (k->dil[0] != 1 || k->dil[1] != 1) set_pair(&c, "dilation", k->dil[0], k->dil[1]);
    if (!depthwise && k->group != 1) CHECK(me_node_set_scalar_u32(&c.g, c.node, "group", (uint32_t)k->group) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        int64_t oh = conv_len(k->h, k->pad[0], k->pad[1], k->fh, k->dil[0], k->stride[0]);
        int64_t ow = conv_len(k->w, k->pad[2], k->pad[3], k->fw, k->dil[1], k->stride[1]);
        CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(k->n, oh, ow, k->cout)));
        float *want = malloc(k->n * oh * ow * k->cout * sizeof(float));
        conv_case kk = *k;
        if (depthwise) kk.group = k->cin;
        conv_naive(&kk, x, w, k->bias ? b : NULL, want, oh, ow);
        CHECK(oh_close_f32(oh_data(&c, 0), want, k->n * oh * ow * k->cout, 1e-5));
        free(want);
    }
    oh_free(&c);
    free(x);
    free(w);
}

static void test_conv_hand(void) {
    /* 1x3x3x1 input 1..9, 3x3 ones kernel, pad 1, stride 2, bias 1:
     * windows cover {1,2,4,5}, {2,3,5,6}, {4,5,7,8}, {5,6,8,9}. */
    oh_ctx c; oh_init(&c);
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, b[1] = {1};
    int in[3] = {oh_in(&c, ME_DT_F32, 4, DIMS(1, 3, 3, 1), x), oh_in(&c, ME_DT_F32, 4, DIMS(3, 3, 1, 1), w),
                 oh_in(&c, ME_DT_F32, 1, DIMS(1), b)};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_CONV2D, in, 3, &y, 1);
    set_pair(&c, "stride", 2, 2);
    set_pads(&c, 1, 1, 1, 1);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(1, 2, 2, 1)));
        CHECK(oh_close_f32(oh_data(&c, 0), (float[]){13, 17, 25, 29}, 4, 0));
    }
    oh_free(&c);

    /* dilation 2 on a 5x5 ramp x[r][c] = 5r + c with a 2x2 ones kernel:
     * y[r][c] = x[r][c] + x[r][c+2] + x[r+2][c] + x[r+2][c+2] = 20r + 4c + 24 */
    oh_init(&c);
    float ramp[25];
    for (int i = 0; i < 25; i++) ramp[i] = (float)i;
    int in2[2] = {oh_in(&c, ME_DT_F32, 4, DIMS(1, 5, 5, 1), ramp), oh_in(&c, ME_DT_F32, 4, DIMS(2, 2, 1, 1), w)};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_CONV2D, in2, 2, &y, 1);
    set_pair(&c, "stride", 1, 1);
    set_pads(&c, 0, 0, 0, 0);
    set_pair(&c, "dilation", 2, 2);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(1, 3, 3, 1)));
        float want[9];
        for (int r = 0; r < 3; r++)
            for (int q = 0; q < 3; q++) want[r * 3 + q] = (float)(20 * r + 4 * q + 24);
        CHECK(oh_close_f32(oh_data(&c, 0), want, 9, 0));
    }
    oh_free(&c);

    /* groups: x = [1,2,3,4], group 2, 1x1 weights [ci_local][co] = [[1,10],[2,20]]:
     * y0 = 1*1 + 2*2 = 5 (channels 0,1), y1 = 3*10 + 4*20 = 110 (channels 2,3) */
    oh_init(&c);
    int in3[2] = {oh_in(&c, ME_DT_F32, 4, DIMS(1, 1, 1, 4), (float[]){1, 2, 3, 4}),
                  oh_in(&c, ME_DT_F32, 4, DIMS(1, 1, 2, 2), (float[]){1, 10, 2, 20})};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_CONV2D, in3, 2, &y, 1);
    set_pair(&c, "stride", 1, 1);
    set_pads(&c, 0, 0, 0, 0);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "group", 2) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) CHECK(oh_close_f32(oh_data(&c, 0), (float[]){5, 110}, 2, 0));
    oh_free(&c);
}

/* ONNX conformance test_conv_with_strides_and_asymmetric_padding: x 7x5 ramp
 * 0..34, 3x3 ones, strides 2, pads (top 1, left 0, bottom 1, right 0). */
static void test_conv_conformance(void) {
    oh_ctx c; oh_init(&c);
    float x[35], w[9];
    for (int i = 0; i < 35; i++) x[i] = (float)i;
    for (int i = 0; i < 9; i++) w[i] = 1;
    int in[2] = {oh_in(&c, ME_DT_F32, 4, DIMS(1, 7, 5, 1), x), oh_in(&c, ME_DT_F32, 4, DIMS(3, 3, 1, 1), w)};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_CONV2D, in, 2, &y, 1);
    set_pair(&c, "stride", 2, 2);
    set_pads(&c, 1, 1, 0, 0);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(1, 4, 2, 1)));
        CHECK(oh_close_f32(oh_data(&c, 0), (float[]){21, 33, 99, 117, 189, 207, 171, 183}, 8, 1e-6));
    }
    oh_free(&c);
}

static void test_conv_vs_naive(void) {
    /* pointwise path, with groups */
    check_conv_case(&(conv_case){2, 3, 4, 8, 36, 1, 1, 2, {1, 1}, {0, 0, 0, 0}, {1, 1}, true}, false);
    /* patch path: stride, asymmetric pads, dilation, groups, >16 and odd Cout */
    check_conv_case(&(conv_case){2, 7, 6, 6, 34, 3, 2, 2, {2, 1}, {1, 0, 1, 2}, {1, 2}, true}, false);
    check_conv_case(&(conv_case){1, 9, 9, 5, 7, 3, 3, 1, {1, 1}, {1, 1, 1, 1}, {1, 1}, false}, false);
    /* 1x1 with stride 2 goes through the patch path */
    check_conv_case(&(conv_case){1, 6, 6, 16, 20, 1, 1, 1, {2, 2}, {0, 0, 0, 0}, {1, 1}, true}, false);
    /* channel multiplier via groups (Cin/group = 1) */
    check_conv_case(&(conv_case){1, 5, 5, 3, 6, 3, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, true}, false);
    /* depthwise */
    check_conv_case(&(conv_case){2, 6, 5, 11, 11, 3, 3, 1, {2, 1}, {1, 1, 0, 2}, {1, 1}, true}, true);
    check_conv_case(&(conv_case){1, 8, 8, 4, 4, 3, 3, 1, {1, 1}, {2, 2, 2, 2}, {2, 2}, false}, true);
}

static void test_depthwise_hand(void) {
    /* 1x2x2x2, channel 0 = [1,2,3,4], channel 1 = [10,20,30,40]; 2x2 filter
     * channel 0 = [1,0,0,1], channel 1 = [0,1,1,0]; bias [0.5, -0.5]:
     * y0 = 1 + 4 + 0.5, y1 = 20 + 30 - 0.5 */
    oh_ctx c; oh_init(&c);
    int in[3] = {oh_in(&c, ME_DT_F32, 4, DIMS(1, 2, 2, 2), (float[]){1, 10, 2, 20, 3, 30, 4, 40}),
                 oh_in(&c, ME_DT_F32, 4, DIMS(2, 2, 1, 2), (float[]){1, 0, 0, 1, 0, 1, 1, 0}),
                 oh_in(&c, ME_DT_F32, 1, DIMS(2), (float[]){0.5f, -0.5f})};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_DEPTHWISE_CONV2D, in, 3, &y, 1);
    set_pair(&c, "stride", 1, 1);
    set_pads(&c, 0, 0, 0, 0);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(1, 1, 1, 2)));
        CHECK(oh_close_f32(oh_data(&c, 0), (float[]){5.5f, 49.5f}, 2, 0));
    }
    oh_free(&c);
}

static void test_conv_errors(void) {
    /* Cin 3 not divisible by group 2 */
    oh_ctx c; oh_init(&c);
    float x[32] = {0}, w[32] = {0};
    int in[2] = {oh_in(&c, ME_DT_F32, 4, DIMS(1, 2, 2, 3), x), oh_in(&c, ME_DT_F32, 4, DIMS(1, 1, 1, 2), w)};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_CONV2D, in, 2, &y, 1);
    set_pair(&c, "stride", 1, 1);
    set_pads(&c, 0, 0, 0, 0);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "group", 2) == ME_OK);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "n0") != NULL);
    oh_free(&c);

    /* filter larger than the padded input */
    oh_init(&c);
    int in2[2] = {oh_in(&c, ME_DT_F32, 4, DIMS(1, 2, 2, 1), x), oh_in(&c, ME_DT_F32, 4, DIMS(3, 3, 1, 1), w)};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_CONV2D, in2, 2, &y, 1);
    set_pair(&c, "stride", 1, 1);
    set_pads(&c, 0, 0, 0, 0);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);

    /* missing pad_amount */
    oh_init(&c);
    int in3[2] = {oh_in(&c, ME_DT_F32, 4, DIMS(1, 2, 2, 1), x), oh_in(&c, ME_DT_F32, 4, DIMS(1, 1, 1, 1), w)};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_CONV2D, in3, 2, &y, 1);
    set_pair(&c, "stride", 1, 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);

    /* depthwise weights must be [fh,fw,1,Cin] */
    oh_init(&c);
    int in4[2] = {oh_in(&c, ME_DT_F32, 4, DIMS(1, 2, 2, 2), x), oh_in(&c, ME_DT_F32, 4, DIMS(1, 1, 1, 3), w)};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_DEPTHWISE_CONV2D, in4, 2, &y, 1);
    set_pair(&c, "stride", 1, 1);
    set_pads(&c, 0, 0, 0, 0);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);

    /* an empty batch runs and produces nothing */
    oh_init(&c);
    int in5[2] = {oh_in(&c, ME_DT_F32, 4, DIMS(0, 3, 3, 1), x), oh_in(&c, ME_DT_F32, 4, DIMS(3, 3, 1, 2), w)};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_CONV2D, in5, 2, &y, 1);
    set_pair(&c, "stride", 1, 1);
    set_pads(&c, 1, 1, 1, 1);
    if (oh_run_ok(&c) == ME_OK) CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(0, 3, 3, 2)));
    oh_free(&c);
}

static void test_conv_fused_relu(void) {
    /* x = [1,-1] (1x1x1x2), 1x1 weights identity-ish -> y = [1, -2] then relu */
    oh_ctx c; oh_init(&c);
    int in[2] = {oh_in(&c, ME_DT_F32, 4, DIMS(1, 1, 1, 2), (float[]){1, -1}),
                 oh_in(&c, ME_DT_F32, 4, DIMS(1, 1, 2, 2), (float[]){1, 0, 0, 2})};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_CONV2D, in, 2, &y, 1);
    set_pair(&c, "stride", 1, 1);
    set_pads(&c, 0, 0, 0, 0);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "activation", 1) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) CHECK(oh_close_f32(oh_data(&c, 0), (float[]){1, 0}, 2, 0));
    oh_free(&c);
}

/* ---------------------------------------------------------------- TransposeConv2d */

typedef struct tconv_case {
    int64_t n, h, w, cin, cout, fh, fw, group;
    int64_t stride[2], pad[4], dil[2], out_pad[2];
} tconv_case;

static void check_tconv_case(const tconv_case *k) {
    int64_t cin_g = k->cin / k->group, cout_g = k->cout / k->group;
    int64_t oh = k->stride[0] * (k->h - 1) + k->out_pad[0] + (k->fh - 1) * k->dil[0] + 1 - k->pad[0] - k->pad[1];
    int64_t ow = k->stride[1] * (k->w - 1) + k->out_pad[1] + (k->fw - 1) * k->dil[1] + 1 - k->pad[2] - k->pad[3];
    int64_t nx = k->n * k->h * k->w * k->cin, nw = k->fh * k->fw * k->cin * cout_g, ny = k->n * oh * ow * k->cout;
    float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float)), b[64];
    fill(x, nx, 7);
    fill(w, nw, 8);
    fill(b, k->cout, 9);
    /* scatter: every input element adds x * w into the output pixel it reaches */
    double *want = calloc(ny, sizeof(double));
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t i = 0; i < oh * ow; i++)
            for (int64_t co = 0; co < k->cout; co++) want[(n * oh * ow + i) * k->cout + co] = b[co];
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t ih = 0; ih < k->h; ih++)
            for (int64_t iw = 0; iw < k->w; iw++)
                for (int64_t ci = 0; ci < k->cin; ci++)
                    for (int64_t kh = 0; kh < k->fh; kh++)
                        for (int64_t kw = 0; kw < k->fw; kw++) {
                            int64_t y0 = ih * k->stride[0] - k->pad[0] + kh * k->dil[0];
                            int64_t x0 = iw * k->stride[1] - k->pad[2] + kw * k->dil[1];
                            if (y0 < 0 || y0 >= oh || x0 < 0 || x0 >= ow) continue;
                            int64_t g = ci / cin_g;
                            for (int64_t col = 0; col < cout_g; col++)
                                want[((n * oh + y0) * ow + x0) * k->cout + g * cout_g + col] +=
                                    (double)x[((n * k->h + ih) * k->w + iw) * k->cin + ci] *
                                    w[((kh * k->fw + kw) * k->cin + ci) * cout_g + col];
                        }
    float *wantf = malloc(ny * sizeof(float));
    for (int64_t i = 0; i < ny; i++) wantf[i] = (float)want[i];

    oh_ctx c; oh_init(&c);
    int in[3] = {oh_in(&c, ME_DT_F32, 4, DIMS(k->n, k->h, k->w, k->cin), x),
                 oh_in(&c, ME_DT_F32, 4, DIMS(k->fh, k->fw, k->cin, cout_g), w),
                 oh_in(&c, ME_DT_F32, 1, DIMS(k->cout), b)};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_TRANSPOSE_CONV2D, in, 3, &y, 1);
    set_pair(&c, "stride", k->stride[0], k->stride[1]);
    set_pads(&c, k->pad[0], k->pad[1], k->pad[2], k->pad[3]);
    set_pair(&c, "dilation", k->dil[0], k->dil[1]);
    set_pair(&c, "output_padding", k->out_pad[0], k->out_pad[1]);
    if (k->group != 1) CHECK(me_node_set_scalar_u32(&c.g, c.node, "group", (uint32_t)k->group) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(k->n, oh, ow, k->cout)));
        CHECK(oh_close_f32(oh_data(&c, 0), wantf, ny, 1e-5));
    }
    oh_free(&c);
    free(x); free(w); free(want); free(wantf);
}

static void test_tconv(void) {
    /* stride 2, 2x2 ones kernel: every input pixel fills its own 2x2 block */
    oh_ctx c; oh_init(&c);
    int in[2] = {oh_in(&c, ME_DT_F32, 4, DIMS(1, 2, 2, 1), (float[]){1, 2, 3, 4}),
                 oh_in(&c, ME_DT_F32, 4, DIMS(2, 2, 1, 1), (float[]){1, 1, 1, 1})};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_TRANSPOSE_CONV2D, in, 2, &y, 1);
    set_pair(&c, "stride", 2, 2);
    set_pads(&c, 0, 0, 0, 0);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(1, 4, 4, 1)));
        CHECK(oh_close_f32(oh_data(&c, 0), (float[]){1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 16, 0));
    }
    oh_free(&c);

    check_tconv_case(&(tconv_case){1, 3, 3, 2, 3, 3, 3, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, {0, 0}});
    check_tconv_case(&(tconv_case){2, 4, 3, 4, 6, 3, 2, 2, {2, 3}, {1, 0, 0, 2}, {1, 1}, {1, 2}});
    check_tconv_case(&(tconv_case){1, 3, 4, 3, 20, 2, 3, 1, {2, 2}, {1, 1, 2, 1}, {2, 2}, {1, 0}});
}

/* ---------------------------------------------------------------- pooling */

static int pool_node(oh_ctx *c, int op, int x, int64_t f0, int64_t f1, int64_t s0, int64_t s1, int64_t pt,
                     int64_t pb, int64_t pl, int64_t pr) {
    int y = oh_out(c, ME_DT_UNDEFINED);
    oh_node(c, op, &x, 1, &y, 1);
    set_pair(c, "filter_size", f0, f1);
    set_pair(c, "stride", s0, s1);
    set_pads(c, pt, pb, pl, pr);
    return y;
}

static void test_pool_hand(void) {
    float x9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    oh_ctx c; oh_init(&c);
    pool_node(&c, ME_OP_POOL_MAX2D, oh_in(&c, ME_DT_F32, 4, DIMS(1, 3, 3, 1), x9), 2, 2, 1, 1, 0, 0, 0, 0);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(1, 2, 2, 1)));
        CHECK(oh_close_f32(oh_data(&c, 0), (float[]){5, 6, 8, 9}, 4, 0));
    }
    oh_free(&c);

    /* two channels, average over 2x2 windows with stride 2 */
    oh_init(&c);
    float x2[16] = {1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60, 7, 70, 8, 80}; /* [1,2,4,2] */
    pool_node(&c, ME_OP_POOL_AVG2D, oh_in(&c, ME_DT_F32, 4, DIMS(1, 2, 4, 2), x2), 2, 2, 2, 2, 0, 0, 0, 0);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(1, 1, 2, 2)));
        /* window (cols 0,1): (1+2+5+6)/4 = 3.5 and 35; (cols 2,3): (3+4+7+8)/4 = 5.5 and 55 */
        CHECK(oh_close_f32(oh_data(&c, 0), (float[]){3.5f, 35, 5.5f, 55}, 4, 1e-7));
    }
    oh_free(&c);

    /* ONNX test_averagepool_2d_ceil: 4x4 ramp 1..16, kernel 3, stride 2, ceil */
    float x16[16];
    for (int i = 0; i < 16; i++) x16[i] = (float)(i + 1);
    oh_init(&c);
    pool_node(&c, ME_OP_POOL_AVG2D, oh_in(&c, ME_DT_F32, 4, DIMS(1, 4, 4, 1), x16), 3, 3, 2, 2, 0, 0, 0, 0);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "rounding_mode", 1) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(1, 2, 2, 1)));
        CHECK(oh_close_f32(oh_data(&c, 0), (float[]){6, 7.5f, 12, 13.5f}, 4, 1e-6));
    }
    oh_free(&c);

    /* ONNX test_maxpool_2d_ceil: same input, max, kernel 3, stride 2, ceil */
    oh_init(&c);
    pool_node(&c, ME_OP_POOL_MAX2D, oh_in(&c, ME_DT_F32, 4, DIMS(1, 4, 4, 1), x16), 3, 3, 2, 2, 0, 0, 0, 0);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "rounding_mode", 1) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) CHECK(oh_close_f32(oh_data(&c, 0), (float[]){11, 12, 15, 16}, 4, 0));
    oh_free(&c);

    /* ceil mode drops a window that would start in the trailing pad: 2x2 input,
     * kernel 1, stride 2, ceil -> ceil(1/2)+1 = 2, but window 1 starts at 2 = in + p0,
     * so the output is 1x1 (ONNX test_maxpool_2d_ceil_output_size_reduce_by_one) */
    oh_init(&c);
    pool_node(&c, ME_OP_POOL_MAX2D, oh_in(&c, ME_DT_F32, 4, DIMS(1, 2, 2, 1), (float[]){1, 2, 3, 4}), 1, 1, 2, 2, 0,
              0, 0, 0);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "rounding_mode", 1) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(1, 1, 1, 1)));
        CHECK(oh_close_f32(oh_data(&c, 0), (float[]){1}, 1, 0));
    }
    oh_free(&c);

    /* count_pad_for_edges: 2x2 input [1,2,3,4], kernel 3, stride 3, pad 1, ceil
     * (ONNX test_averagepool_2d_ceil_last_window_starts_on_pad): one window covering
     * the whole padded 4x4 minus its last row/column: 9 taps, 4 real. */
    for (int count_pad = 0; count_pad <= 1; count_pad++) {
        oh_init(&c);
        pool_node(&c, ME_OP_POOL_AVG2D, oh_in(&c, ME_DT_F32, 4, DIMS(1, 2, 2, 1), (float[]){1, 2, 3, 4}), 3, 3, 3, 3,
                  1, 1, 1, 1);
        CHECK(me_node_set_scalar_u32(&c.g, c.node, "rounding_mode", 1) == ME_OK);
        CHECK(me_node_set_scalar_bool(&c.g, c.node, "count_pad_for_edges", count_pad) == ME_OK);
        if (oh_run_ok(&c) == ME_OK) {
            CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(1, 1, 1, 1)));
            CHECK_NEAR(((const float *)oh_data(&c, 0))[0], count_pad ? 10.0 / 9.0 : 10.0 / 4.0, 1e-6);
        }
        oh_free(&c);
    }

    /* count_pad with floor mode: 3x3 ones, kernel 2, stride 2, pad 1 each side:
     * the divisor is always 4 while the windows hold 1, 2, 2 and 4 real ones */
    float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    oh_init(&c);
    pool_node(&c, ME_OP_POOL_AVG2D, oh_in(&c, ME_DT_F32, 4, DIMS(1, 3, 3, 1), ones), 2, 2, 2, 2, 1, 1, 1, 1);
    CHECK(me_node_set_scalar_bool(&c.g, c.node, "count_pad_for_edges", 1) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        /* windows start at -1 and 1: real taps per axis 1 and 2, all taps inside the padded extent */
        CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(1, 2, 2, 1)));
        CHECK(oh_close_f32(oh_data(&c, 0), (float[]){0.25f, 0.5f, 0.5f, 1.0f}, 4, 1e-7));
    }
    oh_free(&c);

    /* dilation 2 max pool on the 4x4 ramp: max of x[r][c], x[r][c+2], x[r+2][c], x[r+2][c+2] */
    oh_init(&c);
    pool_node(&c, ME_OP_POOL_MAX2D, oh_in(&c, ME_DT_F32, 4, DIMS(1, 4, 4, 1), x16), 2, 2, 1, 1, 0, 0, 0, 0);
    set_pair(&c, "dilation", 2, 2);
    if (oh_run_ok(&c) == ME_OK) CHECK(oh_close_f32(oh_data(&c, 0), (float[]){11, 12, 15, 16}, 4, 0));
    oh_free(&c);

    /* window larger than the padded input */
    oh_init(&c);
    pool_node(&c, ME_OP_POOL_MAX2D, oh_in(&c, ME_DT_F32, 4, DIMS(1, 3, 3, 1), x9), 4, 4, 1, 1, 0, 0, 0, 0);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

/* Naive pooling: explicit window walk per output element. */
static void check_pool_case(bool avg, int64_t h, int64_t w, int64_t ch, int64_t f0, int64_t f1, int64_t s0,
                            int64_t s1, const int64_t *pad, int64_t d0, int64_t d1, int ceil_mode, int count_pad) {
    int64_t nx = 2 * h * w * ch;
    float *x = malloc(nx * sizeof(float));
    fill(x, nx, 11);
    oh_ctx c; oh_init(&c);
    pool_node(&c, avg ? ME_OP_POOL_AVG2D : ME_OP_POOL_MAX2D, oh_in(&c, ME_DT_F32, 4, DIMS(2, h, w, ch), x), f0, f1,
              s0, s1, pad[0], pad[1], pad[2], pad[3]);
    set_pair(&c, "dilation", d0, d1);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "rounding_mode", (uint32_t)ceil_mode) == ME_OK);
    if (avg) CHECK(me_node_set_scalar_bool(&c.g, c.node, "count_pad_for_edges", count_pad) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        const me_tensor *t = oh_tensor(&c, 0);
        int64_t oh = t->dims[1], ow = t->dims[2];
        /* expected sizes: floor/ceil of (p0+in+p1-k')/s + 1, ceil mode drops a window starting past in+p0 */
        int64_t kh = (f0 - 1) * d0 + 1, kw = (f1 - 1) * d1 + 1;
        double eh = (double)(pad[0] + h + pad[1] - kh) / s0 + 1, ew = (double)(pad[2] + w + pad[3] - kw) / s1 + 1;
        int64_t xh = ceil_mode ? (int64_t)ceil(eh) : (int64_t)floor(eh);
        int64_t xw = ceil_mode ? (int64_t)ceil(ew) : (int64_t)floor(ew);
        if (ceil_mode && (xh - 1) * s0 >= h + pad[0]) xh--;
        if (ceil_mode && (xw - 1) * s1 >= w + pad[2]) xw--;
        CHECK(oh == xh && ow == xw);
        float *want = malloc(2 * oh * ow * ch * sizeof(float));
        for (int64_t n = 0; n < 2; n++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++)
                    for (int64_t q = 0; q < ch; q++) {
                        double acc = avg ? 0.0 : -INFINITY;
                        int64_t real = 0, padded = 0;
                        for (int64_t a = 0; a < f0; a++)
                            for (int64_t b = 0; b < f1; b++) {
                                int64_t r = i * s0 - pad[0] + a * d0, cc = j * s1 - pad[2] + b * d1;
                                if (r >= -pad[0] && r < h + pad[1] && cc >= -pad[2] && cc < w + pad[3]) padded++;
                                if (r < 0 || r >= h || cc < 0 || cc >= w) continue;
                                real++;
                                double v = x[((n * h + r) * w + cc) * ch + q];
                                if (avg) acc += v;
                                else if (v > acc) acc = v;
                            }
                        if (avg) acc /= count_pad ? padded : real;
                        want[((n * oh + i) * ow + j) * ch + q] = (float)acc;
                    }
        CHECK(oh_close_f32(oh_data(&c, 0), want, 2 * oh * ow * ch, 1e-6));
        free(want);
    }
    oh_free(&c);
    free(x);
}

static void test_pool_vs_naive(void) {
    for (int avg = 0; avg <= 1; avg++)
        for (int ceil_mode = 0; ceil_mode <= 1; ceil_mode++)
            for (int count_pad = 0; count_pad <= avg; count_pad++) {
                check_pool_case(avg, 7, 8, 3, 3, 2, 2, 3, DIMS(1, 1, 0, 1), 1, 1, ceil_mode, count_pad);
                check_pool_case(avg, 9, 6, 10, 2, 3, 3, 2, DIMS(1, 0, 2, 1), 2, 1, ceil_mode, count_pad);
                check_pool_case(avg, 5, 5, 1, 5, 5, 1, 1, DIMS(0, 0, 0, 0), 1, 1, ceil_mode, count_pad); /* global */
            }
}

int main(void) {
    test_conv_hand();
    test_conv_conformance();
    test_conv_vs_naive();
    test_depthwise_hand();
    test_conv_errors();
    test_conv_fused_relu();
    test_tconv();
    test_pool_hand();
    test_pool_vs_naive();
    return check_exit();
}
