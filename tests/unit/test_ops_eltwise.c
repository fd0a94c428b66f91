/* Element-wise binary, select and unary ops: hand-computed cases, broadcasting
 * against naive index arithmetic, integer division/mod signs, error paths. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "op_harness.h"

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})

static me_status run2(oh_ctx *c, int op, me_dtype ta, int ra, const int64_t *da, const void *a, me_dtype tb, int rb,
                      const int64_t *db, const void *b) {
    oh_init(c);
    int x = oh_in(c, ta, ra, da, a);
    int y = oh_in(c, tb, rb, db, b);
    int o = oh_out(c, ME_DT_UNDEFINED);
    oh_node(c, op, (int[]){x, y}, 2, &o, 1);
    me_status st = oh_run(c);
    if (st != ME_OK) fprintf(stderr, "  (%s)\n", oh_msg(c));
    return st;
}

static me_status run1(oh_ctx *c, int op, me_dtype t, int r, const int64_t *dims, const void *a) {
    oh_init(c);
    int x = oh_in(c, t, r, dims, a);
    int o = oh_out(c, ME_DT_UNDEFINED);
    oh_node(c, op, &x, 1, &o, 1);
    me_status st = oh_run(c);
    if (st != ME_OK) fprintf(stderr, "  (%s)\n", oh_msg(c));
    return st;
}

static int shape_is(const me_tensor *t, int rank, const int64_t *dims) {
    if (t->rank != rank) return 0;
    for (int i = 0; i < rank; i++)
        if (t->dims[i] != dims[i]) return 0;
    return 1;
}

static void test_float_broadcast(void) {
    oh_ctx c;
    const float xs[6] = {1, 2, 3, 4, 5, 6};
    /* row: [2,3] + [3] */
    const float row[3] = {10, 20, 30};
    CHECK(run2(&c, ME_OP_ADD, ME_DT_F32, 2, DIMS(2, 3), xs, ME_DT_F32, 1, DIMS(3), row) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 2, DIMS(2, 3)) && oh_tensor(&c, 0)->dtype == ME_DT_F32);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){11, 22, 33, 14, 25, 36}, 6, 0));
    oh_free(&c);
    /* column: [2,3] - [2,1] */
    const float col[2] = {100, 200};
    CHECK(run2(&c, ME_OP_SUBTRACT, ME_DT_F32, 2, DIMS(2, 3), xs, ME_DT_F32, 2, DIMS(2, 1), col) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){-99, -98, -97, -196, -195, -194}, 6, 0));
    oh_free(&c);
    /* scalar (rank 0) on the left: 2 * x */
    const float two = 2;
    CHECK(run2(&c, ME_OP_MULTIPLY, ME_DT_F32, 0, NULL, &two, ME_DT_F32, 2, DIMS(2, 3), xs) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 2, DIMS(2, 3)));
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){2, 4, 6, 8, 10, 12}, 6, 0));
    oh_free(&c);
    /* outer: [3,1] / [1,4] -> [3,4] */
    const float a3[3] = {1, 2, 3}, b4[4] = {1, 2, 4, 8};
    CHECK(run2(&c, ME_OP_DIVIDE, ME_DT_F32, 2, DIMS(3, 1), a3, ME_DT_F32, 2, DIMS(1, 4), b4) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 2, DIMS(3, 4)));
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){1, 0.5f, 0.25f, 0.125f, 2, 1, 0.5f, 0.25f, 3, 1.5f, 0.75f, 0.375f}, 12, 0));
    oh_free(&c);
    /* float division by zero is IEEE */
    const float z[2] = {1, 0}, zd[2] = {0, 0};
    CHECK(run2(&c, ME_OP_DIVIDE, ME_DT_F32, 1, DIMS(2), z, ME_DT_F32, 1, DIMS(2), zd) == ME_OK);
    const float *o = oh_data(&c, 0);
    CHECK(isinf(o[0]) && o[0] > 0 && isnan(o[1]));
    oh_free(&c);
}

/* A 4-D / 3-D broadcast against naive index arithmetic (exercises the odometer). */
static void test_general_broadcast(void) {
    enum { N = 2, C = 3, H = 4, W = 5 };
    static float a[N * C * H * W], b[C * 1 * W];
    for (int i = 0; i < N * C * H * W; i++) a[i] = (float)(i % 17) - 8.0f;
    for (int i = 0; i < C * W; i++) b[i] = (float)(i * 3 % 11) + 0.5f;
    oh_ctx c;
    CHECK(run2(&c, ME_OP_MULTIPLY, ME_DT_F32, 4, DIMS(N, C, H, W), a, ME_DT_F32, 3, DIMS(C, 1, W), b) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 4, DIMS(N, C, H, W)));
    const float *o = oh_data(&c, 0);
    int bad = 0;
    for (int n = 0; n < N; n++)
        for (int ch = 0; ch < C; ch++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++) {
                    int ia = ((n * C + ch) * H + h) * W + w, ib = ch * W + w;
                    if (o[ia] != a[ia] * b[ib]) bad++;
                }
    CHECK(bad == 0);
    oh_free(&c);

    /* [2,1,3] + [4,1] -> [2,4,3] */
    const float p[6] = {1, 2, 3, 4, 5, 6}, q[4] = {10, 20, 30, 40};
    CHECK(run2(&c, ME_OP_ADD, ME_DT_F32, 3, DIMS(2, 1, 3), p, ME_DT_F32, 2, DIMS(4, 1), q) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 3, DIMS(2, 4, 3)));
    o = oh_data(&c, 0);
    bad = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++)
                if (o[(i * 4 + j) * 3 + k] != p[i * 3 + k] + q[j]) bad++;
    CHECK(bad == 0);
    oh_free(&c);
}

static void test_int_division(void) {
    oh_ctx c;
    const int32_t a[4] = {7, -7, 7, -7}, b[4] = {2, 2, -2, -2};
    CHECK(run2(&c, ME_OP_DIVIDE, ME_DT_I32, 1, DIMS(4), a, ME_DT_I32, 1, DIMS(4), b) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){3, -3, -3, 3}, 16) == 0);
    oh_free(&c);
    CHECK(run2(&c, ME_OP_MOD, ME_DT_I32, 1, DIMS(4), a, ME_DT_I32, 1, DIMS(4), b) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){1, 1, -1, -1}, 16) == 0);
    oh_free(&c);
    CHECK(run2(&c, ME_OP_FMOD, ME_DT_I32, 1, DIMS(4), a, ME_DT_I32, 1, DIMS(4), b) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){1, -1, 1, -1}, 16) == 0);
    oh_free(&c);
    /* MOD with a larger divisor: -1 mod 5 = 4, 1 mod -5 = -4 */
    const int64_t m1[2] = {-1, 1}, m2[2] = {5, -5};
    CHECK(run2(&c, ME_OP_MOD, ME_DT_I64, 1, DIMS(2), m1, ME_DT_I64, 1, DIMS(2), m2) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int64_t[]){4, -4}, 16) == 0);
    oh_free(&c);
    /* float MOD (sign of divisor) and FMOD (sign of dividend) */
    const float fa[2] = {-7.5f, 7.5f}, fb[2] = {2, -2};
    CHECK(run2(&c, ME_OP_MOD, ME_DT_F32, 1, DIMS(2), fa, ME_DT_F32, 1, DIMS(2), fb) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){0.5f, -0.5f}, 2, 0));
    oh_free(&c);
    CHECK(run2(&c, ME_OP_FMOD, ME_DT_F32, 1, DIMS(2), fa, ME_DT_F32, 1, DIMS(2), fb) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){-1.5f, 1.5f}, 2, 0));
    oh_free(&c);
    /* INT_MIN / -1 wraps, INT_MIN mod -1 is 0 */
    const int32_t mn[1] = {INT32_MIN}, m1s[1] = {-1};
    CHECK(run2(&c, ME_OP_DIVIDE, ME_DT_I32, 1, DIMS(1), mn, ME_DT_I32, 1, DIMS(1), m1s) == ME_OK);
    CHECK(((const int32_t *)oh_data(&c, 0))[0] == INT32_MIN);
    oh_free(&c);
    CHECK(run2(&c, ME_OP_MOD, ME_DT_I32, 1, DIMS(1), mn, ME_DT_I32, 1, DIMS(1), m1s) == ME_OK);
    CHECK(((const int32_t *)oh_data(&c, 0))[0] == 0);
    oh_free(&c);
    /* unsigned */
    const uint8_t u1[2] = {200, 13}, u2[1] = {7};
    CHECK(run2(&c, ME_OP_DIVIDE, ME_DT_U8, 1, DIMS(2), u1, ME_DT_U8, 0, NULL, u2) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){28, 1}, 2) == 0);
    oh_free(&c);
    CHECK(run2(&c, ME_OP_MOD, ME_DT_U8, 1, DIMS(2), u1, ME_DT_U8, 0, NULL, u2) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){4, 6}, 2) == 0);
    oh_free(&c);
    /* division by zero is a data error, not a crash */
    const int32_t d1[2] = {1, 2}, d0[2] = {1, 0};
    CHECK(run2(&c, ME_OP_DIVIDE, ME_DT_I32, 1, DIMS(2), d1, ME_DT_I32, 1, DIMS(2), d0) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "division by zero") != NULL && strstr(oh_msg(&c), "n0") != NULL);
    oh_free(&c);
    const int16_t e1[1] = {5}, e0[1] = {0};
    CHECK(run2(&c, ME_OP_MOD, ME_DT_I16, 1, DIMS(1), e1, ME_DT_I16, 1, DIMS(1), e0) == ME_ERR_FORMAT);
    oh_free(&c);
}

static void test_int_arith(void) {
    oh_ctx c;
    const int64_t a[2] = {INT64_MAX, -3}, b[2] = {1, 4};
    CHECK(run2(&c, ME_OP_ADD, ME_DT_I64, 1, DIMS(2), a, ME_DT_I64, 1, DIMS(2), b) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int64_t[]){INT64_MIN, 1}, 16) == 0);
    oh_free(&c);
    const uint16_t u[2] = {65535, 300}, v[1] = {2};
    CHECK(run2(&c, ME_OP_MULTIPLY, ME_DT_U16, 1, DIMS(2), u, ME_DT_U16, 1, DIMS(1), v) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint16_t[]){65534, 600}, 4) == 0);
    oh_free(&c);
    const int8_t s[3] = {-5, 100, 7}, t[3] = {3, -100, 7};
    CHECK(run2(&c, ME_OP_MAXIMUM, ME_DT_I8, 1, DIMS(3), s, ME_DT_I8, 1, DIMS(3), t) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int8_t[]){3, 100, 7}, 3) == 0);
    oh_free(&c);
    CHECK(run2(&c, ME_OP_SUBTRACT, ME_DT_I8, 1, DIMS(3), s, ME_DT_I8, 1, DIMS(3), t) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int8_t[]){-8, -56 /* 200 wraps */, 0}, 3) == 0);
    oh_free(&c);
}

static void test_minmax_nan(void) {
    oh_ctx c;
    const float a[3] = {1, NAN, 3}, b[3] = {2, 0, NAN};
    CHECK(run2(&c, ME_OP_MAXIMUM, ME_DT_F32, 1, DIMS(3), a, ME_DT_F32, 1, DIMS(3), b) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){2, NAN, NAN}, 3, 0));
    oh_free(&c);
    CHECK(run2(&c, ME_OP_MINIMUM, ME_DT_F32, 1, DIMS(3), a, ME_DT_F32, 1, DIMS(3), b) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){1, NAN, NAN}, 3, 0));
    oh_free(&c);
}

static void test_power(void) {
    oh_ctx c;
    const float base[3] = {2, 3, 4}, e3 = 3;
    CHECK(run2(&c, ME_OP_POWER, ME_DT_F32, 1, DIMS(3), base, ME_DT_F32, 0, NULL, &e3) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){8, 27, 64}, 3, 1e-6));
    oh_free(&c);
    const int32_t ie = 2;
    CHECK(run2(&c, ME_OP_POWER, ME_DT_F32, 1, DIMS(3), base, ME_DT_I32, 0, NULL, &ie) == ME_OK);
    CHECK(oh_tensor(&c, 0)->dtype == ME_DT_F32);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){4, 9, 16}, 3, 1e-6));
    oh_free(&c);
    const int32_t ib[4] = {2, -3, 5, 7}, iex[4] = {3, 3, 0, 1};
    CHECK(run2(&c, ME_OP_POWER, ME_DT_I32, 1, DIMS(4), ib, ME_DT_I32, 1, DIMS(4), iex) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){8, -27, 1, 7}, 16) == 0);
    oh_free(&c);
    const int64_t nb[3] = {2, 1, -1}, ne[3] = {-1, -5, -3};
    CHECK(run2(&c, ME_OP_POWER, ME_DT_I64, 1, DIMS(3), nb, ME_DT_I64, 1, DIMS(3), ne) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int64_t[]){0, 1, -1}, 24) == 0);
    oh_free(&c);
    const int64_t sb[2] = {4, 9};
    const float half = 0.5f;
    CHECK(run2(&c, ME_OP_POWER, ME_DT_I64, 1, DIMS(2), sb, ME_DT_F32, 0, NULL, &half) == ME_OK);
    CHECK(oh_tensor(&c, 0)->dtype == ME_DT_I64);
    CHECK(memcmp(oh_data(&c, 0), (const int64_t[]){2, 3}, 16) == 0);
    oh_free(&c);
}

static void test_compare_logical(void) {
    oh_ctx c;
    const float a[3] = {1, 2, NAN}, b[3] = {2, 2, 1};
    struct { int op; uint8_t want[3]; } cases[] = {
        {ME_OP_GREATER, {0, 0, 0}}, {ME_OP_GREATER_EQUAL, {0, 1, 0}}, {ME_OP_EQUAL, {0, 1, 0}},
        {ME_OP_NOT_EQUAL, {1, 0, 1}}, {ME_OP_LESS, {1, 0, 0}}, {ME_OP_LESS_EQUAL, {1, 1, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(run2(&c, cases[i].op, ME_DT_F32, 1, DIMS(3), a, ME_DT_F32, 1, DIMS(3), b) == ME_OK);
        CHECK(oh_tensor(&c, 0)->dtype == ME_DT_BOOL);
        CHECK(memcmp(oh_data(&c, 0), cases[i].want, 3) == 0);
        oh_free(&c);
    }
    /* integer compare with a broadcast scalar */
    const int64_t ia[3] = {-5, 0, 5}, zero = 0;
    CHECK(run2(&c, ME_OP_GREATER, ME_DT_I64, 1, DIMS(3), ia, ME_DT_I64, 0, NULL, &zero) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){0, 0, 1}, 3) == 0);
    oh_free(&c);
    const uint8_t ba[4] = {1, 0, 1, 0}, bb[4] = {1, 1, 0, 0};
    CHECK(run2(&c, ME_OP_EQUAL, ME_DT_BOOL, 1, DIMS(4), ba, ME_DT_BOOL, 1, DIMS(4), bb) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){1, 0, 0, 1}, 4) == 0);
    oh_free(&c);
    /* logical ops, [2,2] against [2] */
    const uint8_t la[4] = {1, 1, 0, 0}, lb[2] = {1, 0};
    CHECK(run2(&c, ME_OP_AND, ME_DT_BOOL, 2, DIMS(2, 2), la, ME_DT_BOOL, 1, DIMS(2), lb) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){1, 0, 0, 0}, 4) == 0);
    oh_free(&c);
    CHECK(run2(&c, ME_OP_OR, ME_DT_BOOL, 2, DIMS(2, 2), la, ME_DT_BOOL, 1, DIMS(2), lb) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){1, 1, 1, 0}, 4) == 0);
    oh_free(&c);
    CHECK(run2(&c, ME_OP_XOR, ME_DT_BOOL, 2, DIMS(2, 2), la, ME_DT_BOOL, 1, DIMS(2), lb) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){0, 1, 1, 0}, 4) == 0);
    oh_free(&c);
}

static void test_binary_errors(void) {
    oh_ctx c;
    const float a[6] = {0}, b[4] = {0};
    CHECK(run2(&c, ME_OP_ADD, ME_DT_F32, 2, DIMS(2, 3), a, ME_DT_F32, 1, DIMS(4), b) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "node 'n0' (ElementWiseAdd): input shapes [2,3] and [4] do not broadcast") != NULL);
    oh_free(&c);
    const int32_t ib[3] = {0};
    CHECK(run2(&c, ME_OP_ADD, ME_DT_F32, 1, DIMS(3), a, ME_DT_I32, 1, DIMS(3), ib) == ME_ERR_FORMAT);
    oh_free(&c);
    CHECK(run2(&c, ME_OP_AND, ME_DT_F32, 1, DIMS(3), a, ME_DT_F32, 1, DIMS(3), a) == ME_ERR_UNSUPPORTED);
    oh_free(&c);
    /* one input only */
    oh_init(&c);
    int x = oh_in(&c, ME_DT_F32, 1, DIMS(3), a), o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_ADD, &x, 1, &o, 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
    /* empty output */
    oh_init(&c);
    int e = me_graph_add_tensor(&c.g, "empty", ME_DT_F32, 2, DIMS(0, 3), &c.d);
    c.g.tensors[e].flags |= ME_TF_STATIC; /* no bytes needed */
    int r = oh_in(&c, ME_DT_F32, 1, DIMS(3), a);
    o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_ADD, (int[]){e, r}, 2, &o, 1);
    CHECK(oh_run(&c) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 2, DIMS(0, 3)));
    oh_free(&c);
}

static void test_select(void) {
    oh_ctx c;
    /* cond [2,1], a [3], b scalar -> [2,3] */
    const uint8_t cond[2] = {1, 0};
    const int64_t a[3] = {1, 2, 3}, b = 9;
    oh_init(&c);
    int tc = oh_in(&c, ME_DT_BOOL, 2, DIMS(2, 1), cond), ta = oh_in(&c, ME_DT_I64, 1, DIMS(3), a),
        tb = oh_in(&c, ME_DT_I64, 0, NULL, &b), o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_SELECT, (int[]){tc, ta, tb}, 3, &o, 1);
    CHECK(oh_run(&c) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 2, DIMS(2, 3)) && oh_tensor(&c, 0)->dtype == ME_DT_I64);
    CHECK(memcmp(oh_data(&c, 0), (const int64_t[]){1, 2, 3, 9, 9, 9}, 48) == 0);
    oh_free(&c);
    /* cond [1,3], a [2,1], b [2,3] (f32) against naive indexing */
    const uint8_t c3[3] = {1, 0, 1};
    const float a2[2] = {10, 20}, b6[6] = {-1, -2, -3, -4, -5, -6};
    oh_init(&c);
    tc = oh_in(&c, ME_DT_BOOL, 2, DIMS(1, 3), c3);
    ta = oh_in(&c, ME_DT_F32, 2, DIMS(2, 1), a2);
    tb = oh_in(&c, ME_DT_F32, 2, DIMS(2, 3), b6);
    o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_SELECT, (int[]){tc, ta, tb}, 3, &o, 1);
    CHECK(oh_run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){10, -2, 10, 20, -5, 20}, 6, 0));
    oh_free(&c);
    /* cond must be bool; shapes must broadcast */
    oh_init(&c);
    tc = oh_in(&c, ME_DT_F32, 1, DIMS(2), a2);
    ta = oh_in(&c, ME_DT_F32, 1, DIMS(2), a2);
    tb = oh_in(&c, ME_DT_F32, 1, DIMS(2), a2);
    o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_SELECT, (int[]){tc, ta, tb}, 3, &o, 1);
    CHECK(oh_run(&c) == ME_ERR_UNSUPPORTED);
    oh_free(&c);
    oh_init(&c);
    tc = oh_in(&c, ME_DT_BOOL, 1, DIMS(3), c3);
    ta = oh_in(&c, ME_DT_F32, 1, DIMS(2), a2);
    tb = oh_in(&c, ME_DT_F32, 1, DIMS(2), a2);
    o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_SELECT, (int[]){tc, ta, tb}, 3, &o, 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "[3], [2] and [2] do not broadcast") != NULL);
    oh_free(&c);
}

static void test_unary(void) {
    oh_ctx c;
    const float r[8] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.6f, 2.4f, NAN};
    CHECK(run1(&c, ME_OP_ROUND, ME_DT_F32, 1, DIMS(8), r) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){0, 2, 2, 0, -2, -3, 2, NAN}, 8, 0));
    oh_free(&c);
    CHECK(run1(&c, ME_OP_CEIL, ME_DT_F32, 1, DIMS(8), r) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){1, 2, 3, 0, -1, -2, 3, NAN}, 8, 0));
    oh_free(&c);
    CHECK(run1(&c, ME_OP_FLOOR, ME_DT_F32, 1, DIMS(8), r) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){0, 1, 2, -1, -2, -3, 2, NAN}, 8, 0));
    oh_free(&c);
    const float s[4] = {-2, 0, 3, NAN};
    CHECK(run1(&c, ME_OP_SIGN, ME_DT_F32, 1, DIMS(4), s) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){-1, 0, 1, NAN}, 4, 0));
    oh_free(&c);
    CHECK(run1(&c, ME_OP_ABS, ME_DT_F32, 1, DIMS(4), s) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){2, 0, 3, NAN}, 4, 0));
    oh_free(&c);
    CHECK(run1(&c, ME_OP_NEG, ME_DT_F32, 1, DIMS(4), s) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){2, 0, -3, NAN}, 4, 0));
    oh_free(&c);
    const int32_t is[3] = {INT32_MIN, -5, 6};
    CHECK(run1(&c, ME_OP_ABS, ME_DT_I32, 1, DIMS(3), is) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){INT32_MIN, 5, 6}, 12) == 0);
    oh_free(&c);
    CHECK(run1(&c, ME_OP_SIGN, ME_DT_I32, 1, DIMS(3), is) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){-1, -1, 1}, 12) == 0);
    oh_free(&c);
    const int8_t i8[2] = {-128, 5};
    CHECK(run1(&c, ME_OP_NEG, ME_DT_I8, 1, DIMS(2), i8) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int8_t[]){-128, -5}, 2) == 0);
    oh_free(&c);
    const uint8_t u8[2] = {200, 0};
    CHECK(run1(&c, ME_OP_ABS, ME_DT_U8, 1, DIMS(2), u8) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), u8, 2) == 0);
    oh_free(&c);
    CHECK(run1(&c, ME_OP_SIGN, ME_DT_U8, 1, DIMS(2), u8) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){1, 0}, 2) == 0);
    oh_free(&c);
    CHECK(run1(&c, ME_OP_NEG, ME_DT_U8, 1, DIMS(2), u8) == ME_ERR_UNSUPPORTED);
    oh_free(&c);
    const uint8_t bits[3] = {0, 1, 1};
    CHECK(run1(&c, ME_OP_NOT, ME_DT_BOOL, 1, DIMS(3), bits) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){1, 0, 0}, 3) == 0);
    oh_free(&c);
    CHECK(run1(&c, ME_OP_NOT, ME_DT_F32, 1, DIMS(3), r) == ME_ERR_UNSUPPORTED);
    oh_free(&c);

    /* transcendental ops against double-precision libm */
    const float x[4] = {0.25f, 1.0f, 2.0f, 4.0f};
    struct { int op; double (*f)(double); } fns[] = {
        {ME_OP_EXP, exp}, {ME_OP_LOG, log}, {ME_OP_SIN, sin}, {ME_OP_COS, cos}, {ME_OP_SQRT, sqrt}, {ME_OP_ERF, erf},
    };
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
        CHECK(run1(&c, fns[k].op, ME_DT_F32, 1, DIMS(4), x) == ME_OK);
        float want[4];
        for (int i = 0; i < 4; i++) want[i] = (float)fns[k].f(x[i]);
        CHECK(oh_close_f32(oh_data(&c, 0), want, 4, 1e-6));
        oh_free(&c);
    }
    CHECK(run1(&c, ME_OP_RSQRT, ME_DT_F32, 1, DIMS(4), x) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){2, 1, 0.70710678f, 0.5f}, 4, 1e-6));
    oh_free(&c);
    CHECK(run1(&c, ME_OP_RECIPROCAL, ME_DT_F32, 1, DIMS(4), x) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){4, 1, 0.5f, 0.25f}, 4, 0));
    oh_free(&c);
    CHECK(run1(&c, ME_OP_ERF, ME_DT_F32, 1, DIMS(1), (const float[]){1.0f}) == ME_OK);
    CHECK_NEAR(((const float *)oh_data(&c, 0))[0], 0.8427007929, 1e-6);
    oh_free(&c);
    CHECK(run1(&c, ME_OP_EXP, ME_DT_I32, 1, DIMS(3), is) == ME_ERR_UNSUPPORTED);
    oh_free(&c);
}

int main(void) {
    test_float_broadcast();
    test_general_broadcast();
    test_int_division();
    test_int_arith();
    test_minmax_nan();
    test_power();
    test_compare_logical();
    test_binary_errors();
    test_select();
    test_unary();
    return check_exit();
}
