/* Cast, Quantize, Dequantize: edge cases of conversion, per-tensor and
 * per-axis encodings, and a quantise/dequantise round trip. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "op_harness.h"

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})

static me_status cast(oh_ctx *c, me_dtype from, me_dtype to, int64_t n, const void *x) {
    oh_init(c);
    int t = oh_in(c, from, 1, DIMS(n), x);
    int o = oh_out(c, to);
    oh_node(c, ME_OP_CAST, &t, 1, &o, 1);
    me_status st = oh_run(c);
    if (st != ME_OK) fprintf(stderr, "  (%s)\n", oh_msg(c));
    return st;
}

static void test_cast(void) {
    oh_ctx c;
    const float f[5] = {1.9f, -1.9f, NAN, 3e9f, -3e9f};
    CHECK(cast(&c, ME_DT_F32, ME_DT_I32, 5, f) == ME_OK);
    CHECK(oh_tensor(&c, 0)->dtype == ME_DT_I32 && oh_tensor(&c, 0)->dims[0] == 5);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){1, -1, 0, INT32_MAX, INT32_MIN}, 20) == 0);
    oh_free(&c);
    const float g[4] = {-1, 300, 2.5f, 255.9f};
    CHECK(cast(&c, ME_DT_F32, ME_DT_U8, 4, g) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){0, 255, 2, 255}, 4) == 0);
    oh_free(&c);
    const int32_t i[3] = {300, -129, -1};
    CHECK(cast(&c, ME_DT_I32, ME_DT_I8, 3, i) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int8_t[]){44, 127, -1}, 3) == 0);
    oh_free(&c);
    CHECK(cast(&c, ME_DT_I32, ME_DT_U16, 3, i) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint16_t[]){300, 65407, 65535}, 6) == 0);
    oh_free(&c);
    CHECK(cast(&c, ME_DT_I32, ME_DT_U64, 3, i) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint64_t[]){300, (uint64_t)-129, UINT64_MAX}, 24) == 0);
    oh_free(&c);
    const float b[4] = {0, -0.0f, 0.5f, NAN};
    CHECK(cast(&c, ME_DT_F32, ME_DT_BOOL, 4, b) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){0, 0, 1, 1}, 4) == 0);
    oh_free(&c);
    const uint8_t bb[3] = {1, 0, 1};
    CHECK(cast(&c, ME_DT_BOOL, ME_DT_F32, 3, bb) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){1, 0, 1}, 3, 0));
    oh_free(&c);
    CHECK(cast(&c, ME_DT_BOOL, ME_DT_I64, 3, bb) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int64_t[]){1, 0, 1}, 24) == 0);
    oh_free(&c);
    /* f16 */
    const float h[4] = {1.0f, 65504.0f, 1e5f, -2.0f};
    CHECK(cast(&c, ME_DT_F32, ME_DT_F16, 4, h) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint16_t[]){0x3C00, 0x7BFF, 0x7C00, 0xC000}, 8) == 0);
    oh_free(&c);
    const uint16_t hh[2] = {0x3555, 0xFC00};
    CHECK(cast(&c, ME_DT_F16, ME_DT_F32, 2, hh) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){0.333251953125f, -INFINITY}, 2, 0));
    oh_free(&c);
    CHECK(cast(&c, ME_DT_F16, ME_DT_I32, 1, hh) == ME_OK);
    CHECK(((const int32_t *)oh_data(&c, 0))[0] == 0);
    oh_free(&c);
    /* bf16 of 1.0 is 0x3F80 */
    CHECK(cast(&c, ME_DT_F32, ME_DT_BF16, 1, h) == ME_OK);
    CHECK(((const uint16_t *)oh_data(&c, 0))[0] == 0x3F80);
    oh_free(&c);
    /* wide integers keep their precision */
    const int64_t big[2] = {(int64_t)1 << 53 | 1, INT64_MIN};
    CHECK(cast(&c, ME_DT_I64, ME_DT_F64, 2, big) == ME_OK);
    CHECK(((const double *)oh_data(&c, 0))[0] == 9007199254740992.0);
    oh_free(&c);
    CHECK(cast(&c, ME_DT_I64, ME_DT_I32, 2, big) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){1, 0}, 8) == 0);
    oh_free(&c);
    const uint64_t um[1] = {UINT64_MAX};
    CHECK(cast(&c, ME_DT_U64, ME_DT_F32, 1, um) == ME_OK);
    CHECK(((const float *)oh_data(&c, 0))[0] == 18446744073709551616.0f);
    oh_free(&c);
    CHECK(cast(&c, ME_DT_U64, ME_DT_I64, 1, um) == ME_OK);
    CHECK(((const int64_t *)oh_data(&c, 0))[0] == -1);
    oh_free(&c);
    const double dd[2] = {1e300, -0.75};
    CHECK(cast(&c, ME_DT_F64, ME_DT_F32, 2, dd) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){INFINITY, -0.75f}, 2, 0));
    oh_free(&c);
    CHECK(cast(&c, ME_DT_F64, ME_DT_I64, 2, dd) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int64_t[]){INT64_MAX, 0}, 16) == 0);
    oh_free(&c);
    /* a longer run crosses the chunk boundary */
    static int32_t many[1000];
    for (int k = 0; k < 1000; k++) many[k] = k * 3 - 1500;
    CHECK(cast(&c, ME_DT_I32, ME_DT_F32, 1000, many) == ME_OK);
    const float *mf = oh_data(&c, 0);
    int bad = 0;
    for (int k = 0; k < 1000; k++) bad += mf[k] != (float)(k * 3 - 1500);
    CHECK(bad == 0);
    oh_free(&c);
    /* target dtype must be set and castable */
    CHECK(cast(&c, ME_DT_F32, ME_DT_UNDEFINED, 1, f) == ME_ERR_FORMAT);
    oh_free(&c);
    CHECK(cast(&c, ME_DT_F32, ME_DT_I4, 1, f) == ME_ERR_UNSUPPORTED);
    oh_free(&c);
}

/* x [rank, dims] -> Quantize (encoding q) -> out dtype `to`. */
static me_status quantize(oh_ctx *c, int rank, const int64_t *dims, const float *x, me_dtype to, me_qenc *q) {
    oh_init(c);
    int t = oh_in(c, ME_DT_F32, rank, dims, x);
    int o = oh_out(c, to);
    c->g.tensors[o].qenc = q;
    oh_node(c, ME_OP_QUANTIZE, &t, 1, &o, 1);
    me_status st = oh_run(c);
    if (st != ME_OK) fprintf(stderr, "  (%s)\n", oh_msg(c));
    return st;
}

static me_status dequantize(oh_ctx *c, int rank, const int64_t *dims, me_dtype dt, const void *x, me_qenc *q) {
    oh_init(c);
    int t = oh_in(c, dt, rank, dims, x);
    c->g.tensors[t].qenc = q;
    int o = oh_out(c, ME_DT_UNDEFINED);
    oh_node(c, ME_OP_DEQUANTIZE, &t, 1, &o, 1);
    me_status st = oh_run(c);
    if (st != ME_OK) fprintf(stderr, "  (%s)\n", oh_msg(c));
    return st;
}

static void test_quantize_per_tensor(void) {
    oh_ctx c;
    float scale = 0.5f;
    int32_t offset = -128; /* zero point 128 */
    me_qenc q = {ME_QENC_SCALE_OFFSET, 8, false, 0, 1, &scale, &offset, 0, 0};
    const float x[8] = {0, 0.25f, 0.75f, -0.25f, 100, -100, 1.0f, NAN};
    CHECK(quantize(&c, 1, DIMS(8), x, ME_DT_U8, &q) == ME_OK);
    /* x/s = 0, .5, 1.5, -.5, 200, -200, 2 -> half-even 0, 0, 2, 0, 200, -200, 2 -> + 128, clamped */
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){128, 128, 130, 128, 255, 0, 130, 128}, 8) == 0);
    oh_free(&c);

    const uint8_t qv[3] = {0, 128, 255};
    CHECK(dequantize(&c, 1, DIMS(3), ME_DT_U8, qv, &q) == ME_OK);
    CHECK(oh_tensor(&c, 0)->dtype == ME_DT_F32);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){-64, 0, 63.5f}, 3, 0));
    oh_free(&c);

    /* i16 symmetric */
    float s16 = 0.001f;
    int32_t o16 = 0;
    me_qenc q16 = {ME_QENC_SCALE_OFFSET, 16, true, 0, 1, &s16, &o16, 0, 0};
    const float y[3] = {0.0105f, -40.0f, 1.0f};
    CHECK(quantize(&c, 1, DIMS(3), y, ME_DT_I16, &q16) == ME_OK);
    const int16_t *qy = oh_data(&c, 0);
    CHECK(qy[0] == (int16_t)nearbyint(0.0105f / 0.001f) && qy[1] == -32768 && qy[2] == 1000);
    oh_free(&c);
}

static void test_quantize_per_axis(void) {
    oh_ctx c;
    /* axis 1 of [2,3]: scales {1, .5, .25}, zero points {0, 2, -3} (offsets {0, -2, 3}) */
    float scales[3] = {1, 0.5f, 0.25f};
    int32_t offsets[3] = {0, -2, 3};
    me_qenc q = {ME_QENC_AXIS_SCALE_OFFSET, 8, true, 1, 3, scales, offsets, 0, 0};
    const float x[6] = {1, 1, 1, -1, 2, -2};
    CHECK(quantize(&c, 2, DIMS(2, 3), x, ME_DT_I8, &q) == ME_OK);
    int8_t qx[6];
    memcpy(qx, oh_data(&c, 0), 6);
    CHECK(memcmp(qx, (const int8_t[]){1, 4, 1, -1, 6, -11}, 6) == 0);
    oh_free(&c);
    CHECK(dequantize(&c, 2, DIMS(2, 3), ME_DT_I8, qx, &q) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), x, 6, 0));
    oh_free(&c);

    /* round trip on axis 0 of [4,5,3]: error <= scale/2 inside the range */
    enum { A = 4, B = 5, C = 3 };
    float sc[A] = {0.1f, 0.02f, 0.5f, 0.003f};
    int32_t of[A] = {-128, -100, -200, -50};
    me_qenc qa = {ME_QENC_AXIS_SCALE_OFFSET, 8, false, 0, A, sc, of, 0, 0};
    static float xs[A * B * C];
    for (int i = 0; i < A * B * C; i++) {
        int a = i / (B * C);
        xs[i] = ((float)((i * 37) % 101) / 101.0f - 0.4f) * 100.0f * sc[a];
    }
    CHECK(quantize(&c, 3, DIMS(A, B, C), xs, ME_DT_U8, &qa) == ME_OK);
    static uint8_t qs[A * B * C];
    memcpy(qs, oh_data(&c, 0), sizeof qs);
    oh_free(&c);
    CHECK(dequantize(&c, 3, DIMS(A, B, C), ME_DT_U8, qs, &qa) == ME_OK);
    const float *back = oh_data(&c, 0);
    int bad = 0;
    for (int i = 0; i < A * B * C; i++) {
        int a = i / (B * C);
        double zp = -of[a], want_q = fmin(255, fmax(0, nearbyint(xs[i] / sc[a]) + zp));
        if (qs[i] != (uint8_t)want_q) bad++;
        if (want_q > 0 && want_q < 255 && fabs(back[i] - xs[i]) > sc[a] * 0.5 + 1e-6) bad++;
    }
    CHECK(bad == 0);
    oh_free(&c);
}

static void test_quant_errors(void) {
    oh_ctx c;
    const float x[6] = {0};
    float scales[2] = {1, 1};
    int32_t offsets[2] = {0, 0};
    CHECK(quantize(&c, 2, DIMS(2, 3), x, ME_DT_U8, NULL) == ME_ERR_FORMAT); /* no encoding */
    oh_free(&c);
    me_qenc bad_n = {ME_QENC_AXIS_SCALE_OFFSET, 8, false, 1, 2, scales, offsets, 0, 0};
    CHECK(quantize(&c, 2, DIMS(2, 3), x, ME_DT_U8, &bad_n) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "2 scales for axis 1 of size 3") != NULL);
    oh_free(&c);
    me_qenc bad_axis = {ME_QENC_AXIS_SCALE_OFFSET, 8, false, 2, 2, scales, offsets, 0, 0};
    CHECK(quantize(&c, 2, DIMS(2, 3), x, ME_DT_U8, &bad_axis) == ME_ERR_FORMAT);
    oh_free(&c);
    float zero = 0;
    me_qenc bad_scale = {ME_QENC_SCALE_OFFSET, 8, false, 0, 1, &zero, offsets, 0, 0};
    CHECK(quantize(&c, 2, DIMS(2, 3), x, ME_DT_U8, &bad_scale) == ME_ERR_FORMAT);
    oh_free(&c);
    me_qenc ok = {ME_QENC_SCALE_OFFSET, 8, false, 0, 1, scales, offsets, 0, 0};
    CHECK(quantize(&c, 2, DIMS(2, 3), x, ME_DT_F32, &ok) == ME_ERR_UNSUPPORTED);
    oh_free(&c);
    CHECK(quantize(&c, 2, DIMS(2, 3), x, ME_DT_UNDEFINED, &ok) == ME_ERR_FORMAT);
    oh_free(&c);
    CHECK(dequantize(&c, 1, DIMS(6), ME_DT_F32, x, &ok) == ME_ERR_UNSUPPORTED);
    oh_free(&c);
    const uint8_t u[2] = {0};
    CHECK(dequantize(&c, 1, DIMS(2), ME_DT_U8, u, NULL) == ME_ERR_FORMAT);
    oh_free(&c);
}

int main(void) {
    test_cast();
    test_quantize_per_tensor();
    test_quantize_per_axis();
    test_quant_errors();
    return check_exit();
}
