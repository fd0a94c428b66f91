/* Reductions, Argmax/Argmin, TopK and CumulativeSum: hand-computed cases,
 * keep_dims, empty sets, ties, and a naive reference for a 4-D reduction. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "op_harness.h"

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})

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

static void set_axes(oh_ctx *c, int n, const int64_t *axes) {
    me_node_set_tensor_int(&c->g, c->node, "axes", ME_DT_U32, 1, DIMS(n), axes);
}

static int shape_is(const me_tensor *t, int rank, const int64_t *dims) {
    if (t->rank != rank) return 0;
    for (int i = 0; i < rank; i++)
        if (t->dims[i] != dims[i]) return 0;
    return 1;
}

/* x[2,3,2] = 1..12 */
static const float X12[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void test_reduce_basic(void) {
    oh_ctx c;
    build1(&c, ME_OP_REDUCE_SUM, ME_DT_F32, 3, DIMS(2, 3, 2), X12);
    set_axes(&c, 1, DIMS(1));
    CHECK(run(&c) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 2, DIMS(2, 2)));
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){9, 12, 27, 30}, 4, 0));
    oh_free(&c);

    build1(&c, ME_OP_REDUCE_SUM, ME_DT_F32, 3, DIMS(2, 3, 2), X12);
    set_axes(&c, 1, DIMS(1));
    me_node_set_scalar_bool(&c.g, c.node, "keep_dims", true);
    CHECK(run(&c) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 3, DIMS(2, 1, 2)));
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){9, 12, 27, 30}, 4, 0));
    oh_free(&c);

    build1(&c, ME_OP_REDUCE_SUM, ME_DT_F32, 3, DIMS(2, 3, 2), X12);
    set_axes(&c, 2, DIMS(2, 0));
    CHECK(run(&c) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 1, DIMS(3)));
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){18, 26, 34}, 3, 0));
    oh_free(&c);

    build1(&c, ME_OP_REDUCE_MEAN, ME_DT_F32, 3, DIMS(2, 3, 2), X12);
    set_axes(&c, 1, DIMS(2));
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){1.5f, 3.5f, 5.5f, 7.5f, 9.5f, 11.5f}, 6, 0));
    oh_free(&c);

    build1(&c, ME_OP_REDUCE_MAX, ME_DT_F32, 3, DIMS(2, 3, 2), X12);
    set_axes(&c, 3, DIMS(0, 1, 2));
    CHECK(run(&c) == ME_OK);
    CHECK(oh_tensor(&c, 0)->rank == 0);
    CHECK(((const float *)oh_data(&c, 0))[0] == 12);
    oh_free(&c);

    build1(&c, ME_OP_REDUCE_MIN, ME_DT_F32, 3, DIMS(2, 3, 2), X12);
    set_axes(&c, 3, DIMS(0, 1, 2));
    me_node_set_scalar_bool(&c.g, c.node, "keep_dims", true);
    CHECK(run(&c) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 3, DIMS(1, 1, 1)));
    CHECK(((const float *)oh_data(&c, 0))[0] == 1);
    oh_free(&c);

    build1(&c, ME_OP_REDUCE_PROD, ME_DT_F32, 3, DIMS(2, 3, 2), X12);
    set_axes(&c, 1, DIMS(2));
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){2, 12, 30, 56, 90, 132}, 6, 0));
    oh_free(&c);

    build1(&c, ME_OP_REDUCE_SUM_SQUARE, ME_DT_F32, 3, DIMS(2, 3, 2), X12);
    set_axes(&c, 1, DIMS(0));
    CHECK(run(&c) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){50, 68, 90, 116, 146, 180}, 6, 0));
    oh_free(&c);

    /* integers */
    const int32_t xi[6] = {-5, -2, 7, 3, 4, -9};
    build1(&c, ME_OP_REDUCE_MAX, ME_DT_I32, 2, DIMS(2, 3), xi);
    set_axes(&c, 1, DIMS(1));
    CHECK(run(&c) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){7, 4}, 8) == 0);
    oh_free(&c);
    build1(&c, ME_OP_REDUCE_MEAN, ME_DT_I32, 2, DIMS(2, 3), xi);
    set_axes(&c, 1, DIMS(0));
    CHECK(run(&c) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){-1, 1, -1}, 12) == 0); /* -1, 2/2, -2/2 */
    oh_free(&c);
    const int64_t xl[3] = {INT64_MAX, 1, 5};
    build1(&c, ME_OP_REDUCE_SUM, ME_DT_I64, 1, DIMS(3), xl);
    set_axes(&c, 1, DIMS(0));
    CHECK(run(&c) == ME_OK);
    CHECK(((const int64_t *)oh_data(&c, 0))[0] == INT64_MIN + 5);
    oh_free(&c);
    const uint8_t u8[4] = {3, 250, 7, 9};
    build1(&c, ME_OP_REDUCE_MIN, ME_DT_U8, 2, DIMS(2, 2), u8);
    set_axes(&c, 1, DIMS(0));
    CHECK(run(&c) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){3, 9}, 2) == 0);
    oh_free(&c);
    const uint8_t bools[4] = {0, 1, 0, 0};
    build1(&c, ME_OP_REDUCE_MAX, ME_DT_BOOL, 2, DIMS(2, 2), bools);
    set_axes(&c, 1, DIMS(1));
    CHECK(run(&c) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const uint8_t[]){1, 0}, 2) == 0);
    oh_free(&c);

    /* NaN propagates through max/min */
    const float nanv[3] = {1, NAN, 0};
    build1(&c, ME_OP_REDUCE_MIN, ME_DT_F32, 1, DIMS(3), nanv);
    set_axes(&c, 1, DIMS(0));
    CHECK(run(&c) == ME_OK);
    CHECK(isnan(((const float *)oh_data(&c, 0))[0]));
    oh_free(&c);
}

static void test_reduce_empty(void) {
    oh_ctx c;
    struct { int op; float want; } cases[] = {
        {ME_OP_REDUCE_SUM, 0}, {ME_OP_REDUCE_SUM_SQUARE, 0}, {ME_OP_REDUCE_PROD, 1},
        {ME_OP_REDUCE_MAX, -INFINITY}, {ME_OP_REDUCE_MIN, INFINITY}, {ME_OP_REDUCE_MEAN, NAN},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        oh_init(&c);
        int x = me_graph_add_tensor(&c.g, "x", ME_DT_F32, 3, DIMS(2, 0, 3), &c.d);
        c.g.tensors[x].flags |= ME_TF_STATIC;
        int o = oh_out(&c, ME_DT_UNDEFINED);
        oh_node(&c, cases[k].op, &x, 1, &o, 1);
        set_axes(&c, 1, DIMS(1));
        me_node_set_scalar_bool(&c.g, c.node, "keep_dims", true);
        CHECK(run(&c) == ME_OK);
        CHECK(shape_is(oh_tensor(&c, 0), 3, DIMS(2, 1, 3)));
        float want[6];
        for (int i = 0; i < 6; i++) want[i] = cases[k].want;
        CHECK(oh_close_f32(oh_data(&c, 0), want, 6, 0));
        oh_free(&c);
    }
    oh_init(&c);
    int x = me_graph_add_tensor(&c.g, "x", ME_DT_I32, 2, DIMS(0, 2), &c.d);
    c.g.tensors[x].flags |= ME_TF_STATIC;
    int o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_REDUCE_MAX, &x, 1, &o, 1);
    set_axes(&c, 1, DIMS(0));
    CHECK(run(&c) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){INT32_MIN, INT32_MIN}, 8) == 0);
    oh_free(&c);

    /* no axes: nothing is reduced */
    build1(&c, ME_OP_REDUCE_SUM, ME_DT_F32, 3, DIMS(2, 3, 2), X12);
    set_axes(&c, 0, NULL);
    CHECK(run(&c) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 3, DIMS(2, 3, 2)));
    CHECK(oh_close_f32(oh_data(&c, 0), X12, 12, 0));
    oh_free(&c);
}

static void test_reduce_errors(void) {
    oh_ctx c;
    build1(&c, ME_OP_REDUCE_SUM, ME_DT_F32, 3, DIMS(2, 3, 2), X12);
    set_axes(&c, 1, DIMS(3));
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "(ReduceSum): axis 3 is out of range for rank 3") != NULL);
    oh_free(&c);
    build1(&c, ME_OP_REDUCE_SUM, ME_DT_F32, 3, DIMS(2, 3, 2), X12);
    set_axes(&c, 2, DIMS(1, 1));
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
    build1(&c, ME_OP_REDUCE_SUM, ME_DT_F32, 3, DIMS(2, 3, 2), X12);
    CHECK(oh_run(&c) == ME_ERR_FORMAT); /* axes missing */
    oh_free(&c);
    const uint8_t b[2] = {1, 0};
    build1(&c, ME_OP_REDUCE_SUM, ME_DT_BOOL, 1, DIMS(2), b);
    set_axes(&c, 1, DIMS(0));
    CHECK(oh_run(&c) == ME_ERR_UNSUPPORTED);
    oh_free(&c);
}

/* 4-D reduce over axes {0,2} against nested loops. */
static void test_reduce_naive(void) {
    enum { A = 3, B = 4, C = 5, D = 2 };
    static float x[A * B * C * D];
    for (int i = 0; i < A * B * C * D; i++) x[i] = (float)((i * 13) % 29) * 0.25f - 3.0f;
    oh_ctx c;
    int ops[3] = {ME_OP_REDUCE_SUM, ME_OP_REDUCE_MAX, ME_OP_REDUCE_MEAN};
    for (int k = 0; k < 3; k++) {
        build1(&c, ops[k], ME_DT_F32, 4, DIMS(A, B, C, D), x);
        set_axes(&c, 2, DIMS(2, 0));
        CHECK(run(&c) == ME_OK);
        CHECK(shape_is(oh_tensor(&c, 0), 2, DIMS(B, D)));
        float want[B * D];
        for (int b = 0; b < B; b++)
            for (int d = 0; d < D; d++) {
                double s = 0, m = -INFINITY;
                for (int a = 0; a < A; a++)
                    for (int cc = 0; cc < C; cc++) {
                        double v = x[((a * B + b) * C + cc) * D + d];
                        s += v;
                        m = v > m ? v : m;
                    }
                want[b * D + d] = (float)(k == 0 ? s : k == 1 ? m : s / (A * C));
            }
        CHECK(oh_close_f32(oh_data(&c, 0), want, B * D, 1e-6));
        oh_free(&c);
    }
}

static void test_argminmax(void) {
    oh_ctx c;
    const float x[6] = {1, 5, 5, 7, 2, 7};
    build1(&c, ME_OP_ARGMAX, ME_DT_F32, 2, DIMS(2, 3), x);
    me_node_set_scalar_u32(&c.g, c.node, "axis", 1);
    CHECK(run(&c) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 1, DIMS(2)) && oh_tensor(&c, 0)->dtype == ME_DT_I32);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){1, 0}, 8) == 0);
    oh_free(&c);
    build1(&c, ME_OP_ARGMIN, ME_DT_F32, 2, DIMS(2, 3), x);
    me_node_set_scalar_u32(&c.g, c.node, "axis", 1);
    CHECK(run(&c) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){0, 1}, 8) == 0);
    oh_free(&c);
    build1(&c, ME_OP_ARGMAX, ME_DT_F32, 2, DIMS(2, 3), x);
    me_node_set_scalar_u32(&c.g, c.node, "axis", 0);
    me_node_set_scalar_bool(&c.g, c.node, "keep_dims", true);
    CHECK(run(&c) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 2, DIMS(1, 3)));
    CHECK(memcmp(oh_data(&c, 0), (const int32_t[]){1, 0, 1}, 12) == 0);
    oh_free(&c);
    const int64_t xi[4] = {-3, -3, -7, -7};
    build1(&c, ME_OP_ARGMIN, ME_DT_I64, 1, DIMS(4), xi);
    me_node_set_scalar_u32(&c.g, c.node, "axis", 0);
    CHECK(run(&c) == ME_OK);
    CHECK(oh_tensor(&c, 0)->rank == 0 && ((const int32_t *)oh_data(&c, 0))[0] == 2);
    oh_free(&c);
    /* required axis, empty axis */
    build1(&c, ME_OP_ARGMAX, ME_DT_F32, 2, DIMS(2, 3), x);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
    oh_init(&c);
    int t = me_graph_add_tensor(&c.g, "e", ME_DT_F32, 2, DIMS(2, 0), &c.d);
    c.g.tensors[t].flags |= ME_TF_STATIC;
    int o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_ARGMAX, &t, 1, &o, 1);
    me_node_set_scalar_u32(&c.g, c.node, "axis", 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

static me_status build_topk(oh_ctx *c, me_dtype dt, int r, const int64_t *dims, const void *x, uint32_t k, int largest) {
    oh_init(c);
    int t = oh_in(c, dt, r, dims, x);
    int o[2] = {oh_out(c, ME_DT_UNDEFINED), oh_out(c, ME_DT_UNDEFINED)};
    oh_node(c, ME_OP_TOPK, &t, 1, o, 2);
    me_node_set_scalar_u32(&c->g, c->node, "k", k);
    if (largest >= 0) me_node_set_scalar_bool(&c->g, c->node, "largest", largest != 0);
    return run(c);
}

static void test_topk(void) {
    oh_ctx c;
    const float x[10] = {1, 3, 3, 2, 5, 4, 4, 4, 1, 0};
    CHECK(build_topk(&c, ME_DT_F32, 2, DIMS(2, 5), x, 3, -1) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 2, DIMS(2, 3)) && oh_tensor(&c, 1)->dtype == ME_DT_I32);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){5, 3, 3, 4, 4, 4}, 6, 0));
    CHECK(memcmp(oh_data(&c, 1), (const int32_t[]){4, 1, 2, 0, 1, 2}, 24) == 0);
    oh_free(&c);
    CHECK(build_topk(&c, ME_DT_F32, 2, DIMS(2, 5), x, 2, 0) == ME_OK);
    CHECK(oh_close_f32(oh_data(&c, 0), (const float[]){1, 2, 0, 1}, 4, 0));
    CHECK(memcmp(oh_data(&c, 1), (const int32_t[]){0, 3, 4, 3}, 16) == 0);
    oh_free(&c);
    /* NaN sorts as the largest */
    const float xn[3] = {1, NAN, 2};
    CHECK(build_topk(&c, ME_DT_F32, 1, DIMS(3), xn, 2, 1) == ME_OK);
    CHECK(memcmp(oh_data(&c, 1), (const int32_t[]){1, 2}, 8) == 0);
    oh_free(&c);
    CHECK(build_topk(&c, ME_DT_F32, 1, DIMS(3), xn, 3, 0) == ME_OK);
    CHECK(memcmp(oh_data(&c, 1), (const int32_t[]){0, 2, 1}, 12) == 0);
    oh_free(&c);
    /* int64 with k = whole row, against a selection sort in the test */
    enum { L = 37 };
    int64_t xi[L];
    for (int i = 0; i < L; i++) xi[i] = (i * 17) % 11 - 5;
    CHECK(build_topk(&c, ME_DT_I64, 1, DIMS(L), xi, L, 1) == ME_OK);
    const int64_t *v = oh_data(&c, 0);
    const int32_t *ix = oh_data(&c, 1);
    int used[L] = {0}, bad = 0;
    for (int r = 0; r < L; r++) {
        int best = -1;
        for (int i = 0; i < L; i++)
            if (!used[i] && (best < 0 || xi[i] > xi[best])) best = i;
        used[best] = 1;
        if (v[r] != xi[best] || ix[r] != best) bad++;
    }
    CHECK(bad == 0);
    oh_free(&c);
    /* k = 0 and k > dim */
    CHECK(build_topk(&c, ME_DT_F32, 2, DIMS(2, 5), x, 0, -1) == ME_OK);
    CHECK(shape_is(oh_tensor(&c, 0), 2, DIMS(2, 0)));
    oh_free(&c);
    oh_init(&c);
    int t = oh_in(&c, ME_DT_F32, 2, DIMS(2, 5), x);
    int o[2] = {oh_out(&c, ME_DT_UNDEFINED), oh_out(&c, ME_DT_UNDEFINED)};
    oh_node(&c, ME_OP_TOPK, &t, 1, o, 2);
    me_node_set_scalar_u32(&c.g, c.node, "k", 6);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "k = 6 exceeds the last dimension 5") != NULL);
    oh_free(&c);
}

static void test_cumsum(void) {
    oh_ctx c;
    const float x[6] = {1, 2, 3, 4, 5, 6};
    struct { int axis, exclusive, reverse; float want[6]; } cases[] = {
        {1, 0, 0, {1, 3, 6, 4, 9, 15}},
        {1, 1, 0, {0, 1, 3, 0, 4, 9}},
        {1, 0, 1, {6, 5, 3, 15, 11, 6}},
        {1, 1, 1, {5, 3, 0, 11, 6, 0}},
        {0, 0, 0, {1, 2, 3, 5, 7, 9}},
        {0, 1, 1, {4, 5, 6, 0, 0, 0}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        build1(&c, ME_OP_CUMSUM, ME_DT_F32, 2, DIMS(2, 3), x);
        me_node_set_scalar_u32(&c.g, c.node, "axis", (uint32_t)cases[k].axis);
        if (cases[k].exclusive) me_node_set_scalar_bool(&c.g, c.node, "exclusive", true);
        if (cases[k].reverse) me_node_set_scalar_bool(&c.g, c.node, "reverse", true);
        CHECK(run(&c) == ME_OK);
        CHECK(oh_close_f32(oh_data(&c, 0), cases[k].want, 6, 0));
        oh_free(&c);
    }
    const int64_t xi[4] = {5, -2, 10, INT64_MAX};
    build1(&c, ME_OP_CUMSUM, ME_DT_I64, 1, DIMS(4), xi);
    me_node_set_scalar_u32(&c.g, c.node, "axis", 0);
    CHECK(run(&c) == ME_OK);
    CHECK(memcmp(oh_data(&c, 0), (const int64_t[]){5, 3, 13, INT64_MIN + 12}, 32) == 0);
    oh_free(&c);
    build1(&c, ME_OP_CUMSUM, ME_DT_F32, 2, DIMS(2, 3), x);
    CHECK(oh_run(&c) == ME_ERR_FORMAT); /* axis required */
    oh_free(&c);
}

int main(void) {
    test_reduce_basic();
    test_reduce_empty();
    test_reduce_errors();
    test_reduce_naive();
    test_argminmax();
    test_topk();
    test_cumsum();
    return check_exit();
}
