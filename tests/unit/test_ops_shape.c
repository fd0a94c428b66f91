/* Data-movement ops: Reshape, Transpose, Concat, Split, StridedSlice, Pad,
 * Tile, DepthToSpace, SpaceToDepth, Gather, GatherElements. Expected values
 * are hand-computed, computed by a naive index formula written here, or taken
 * from ONNX's conformance data (case named in a comment). */
#include <stdint.h>

#include "check.h"
#include "op_harness.h"

#define DIMS(...) ((int64_t[]){__VA_ARGS__})
#define IDS(...) ((int[]){__VA_ARGS__})

/* oh_run that must succeed (a failure counts as a failed check). */

static void set_u32s(oh_ctx *c, const char *name, int rank, const int64_t *dims, const int64_t *vals) {
    CHECK(me_node_set_tensor_int(&c->g, c->node, name, ME_DT_U32, rank, dims, vals) == ME_OK);
}

/* ---- Reshape ---- */
static void test_reshape(void) {
    oh_ctx c; oh_init(&c);
    float x[6] = {1, 2, 3, 4, 5, 6};
    int a = oh_in(&c, ME_DT_F32, 2, DIMS(2, 3), x);
    int y = oh_out(&c, ME_DT_UNDEFINED);
    c.g.tensors[y].rank = 3;
    c.g.tensors[y].dims[0] = 3; c.g.tensors[y].dims[1] = 1; c.g.tensors[y].dims[2] = 2;
    oh_node(&c, ME_OP_RESHAPE, &a, 1, &y, 1);
    oh_run_ok(&c);
    CHECK(oh_tensor(&c, 0)->dtype == ME_DT_F32);
    CHECK(oh_shape_is(oh_tensor(&c, 0), 3, DIMS(3, 1, 2)));
    CHECK(memcmp(oh_data(&c, 0), x, sizeof x) == 0);
    oh_free(&c);

    /* element counts differ */
    oh_init(&c);
    a = oh_in(&c, ME_DT_I64, 1, DIMS(4), (int64_t[]){1, 2, 3, 4});
    y = oh_out(&c, ME_DT_UNDEFINED);
    c.g.tensors[y].rank = 1;
    c.g.tensors[y].dims[0] = 5;
    oh_node(&c, ME_OP_RESHAPE, &a, 1, &y, 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

/* ---- Transpose ---- */
static void test_transpose(void) {
    /* [2,3,4] int32, perm (2,0,1): out[k][i][j] = in[i][j][k] */
    int32_t x[24];
    for (int i = 0; i < 24; i++) x[i] = 100 + i;
    oh_ctx c; oh_init(&c);
    int a = oh_in(&c, ME_DT_I32, 3, DIMS(2, 3, 4), x);
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_TRANSPOSE, &a, 1, &y, 1);
    set_u32s(&c, "perm", 1, DIMS(3), DIMS(2, 0, 1));
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 3, DIMS(4, 2, 3)));
        const int32_t *o = oh_data(&c, 0);
        int bad = 0;
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++) bad += o[(k * 2 + i) * 3 + j] != x[(i * 3 + j) * 4 + k];
        CHECK(bad == 0);
    }
    oh_free(&c);

    /* u8 [2,3,2] perm (1,0,2): the inner axis stays, rows are memcpy'd */
    uint8_t xb[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    oh_init(&c);
    a = oh_in(&c, ME_DT_U8, 3, DIMS(2, 3, 2), xb);
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_TRANSPOSE, &a, 1, &y, 1);
    set_u32s(&c, "perm", 1, DIMS(3), DIMS(1, 0, 2));
    if (oh_run_ok(&c) == ME_OK) {
        const uint8_t want[12] = {0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11};
        CHECK(memcmp(oh_data(&c, 0), want, 12) == 0);
    }
    oh_free(&c);

    /* NCHW with 3 channels to NHWC, u8 and f32 (the column-by-column narrow path) */
    static uint8_t xn[3 * 10 * 9];
    static float xf[3 * 10 * 9];
    for (int i = 0; i < 3 * 10 * 9; i++) { xn[i] = (uint8_t)(i * 7 + 1); xf[i] = (float)i * 0.5f - 3.0f; }
    for (int f = 0; f < 2; f++) {
        oh_init(&c);
        a = f ? oh_in(&c, ME_DT_F32, 4, DIMS(1, 3, 10, 9), xf) : oh_in(&c, ME_DT_U8, 4, DIMS(1, 3, 10, 9), xn);
        y = oh_out(&c, ME_DT_UNDEFINED);
        oh_node(&c, ME_OP_TRANSPOSE, &a, 1, &y, 1);
        set_u32s(&c, "perm", 1, DIMS(4), DIMS(0, 2, 3, 1));
        if (oh_run_ok(&c) == ME_OK) {
            CHECK(oh_shape_is(oh_tensor(&c, 0), 4, DIMS(1, 10, 9, 3)));
            int bad = 0;
            for (int p = 0; p < 90; p++)
                for (int ch = 0; ch < 3; ch++)
                    bad += f ? ((const float *)oh_data(&c, 0))[p * 3 + ch] != xf[ch * 90 + p]
                             : ((const uint8_t *)oh_data(&c, 0))[p * 3 + ch] != xn[ch * 90 + p];
            CHECK(bad == 0);
        }
        oh_free(&c);
    }

    /* i64 2-D transpose */
    oh_init(&c);
    a = oh_in(&c, ME_DT_I64, 2, DIMS(2, 3), (int64_t[]){1, 2, 3, 4, 5, 6});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_TRANSPOSE, &a, 1, &y, 1);
    set_u32s(&c, "perm", 1, DIMS(2), DIMS(1, 0));
    if (oh_run_ok(&c) == ME_OK) {
        const int64_t want[6] = {1, 4, 2, 5, 3, 6};
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* zero-size input */
    oh_init(&c);
    a = oh_in(&c, ME_DT_F32, 2, DIMS(0, 3), NULL);
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_TRANSPOSE, &a, 1, &y, 1);
    set_u32s(&c, "perm", 1, DIMS(2), DIMS(1, 0));
    oh_run_ok(&c);
    CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(3, 0)));
    oh_free(&c);

    /* perm is not a permutation */
    oh_init(&c);
    a = oh_in(&c, ME_DT_F32, 3, DIMS(1, 2, 3), (float[6]){0});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_TRANSPOSE, &a, 1, &y, 1);
    set_u32s(&c, "perm", 1, DIMS(3), DIMS(0, 0, 1));
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "permutation") != NULL);
    oh_free(&c);
}

/* ---- Concat ---- */
static void test_concat(void) {
    /* [2,1] ++ [2,0] ++ [2,2] along axis 1 (the default, rank-1) */
    oh_ctx c; oh_init(&c);
    int a = oh_in(&c, ME_DT_F32, 2, DIMS(2, 1), (float[]){1, 2});
    int b = oh_in(&c, ME_DT_F32, 2, DIMS(2, 0), NULL);
    int e = oh_in(&c, ME_DT_F32, 2, DIMS(2, 2), (float[]){3, 4, 5, 6});
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_CONCAT, IDS(a, b, e), 3, &y, 1);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(2, 3)));
        const float want[6] = {1, 3, 4, 2, 5, 6};
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* axis 0, int64 */
    oh_init(&c);
    a = oh_in(&c, ME_DT_I64, 2, DIMS(1, 2), (int64_t[]){7, 8});
    b = oh_in(&c, ME_DT_I64, 2, DIMS(2, 2), (int64_t[]){1, 2, 3, 4});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_CONCAT, IDS(a, b), 2, &y, 1);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "axis", 0) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        const int64_t want[6] = {7, 8, 1, 2, 3, 4};
        CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(3, 2)));
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* shapes differ off the axis */
    oh_init(&c);
    a = oh_in(&c, ME_DT_F32, 2, DIMS(2, 1), (float[]){1, 2});
    b = oh_in(&c, ME_DT_F32, 2, DIMS(3, 1), (float[]){1, 2, 3});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_CONCAT, IDS(a, b), 2, &y, 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

/* ---- Split ---- */
static void test_split(void) {
    /* 12 -> 4,4,4 with split_index [4, 8] */
    int32_t x[12];
    for (int i = 0; i < 12; i++) x[i] = i * 10;
    oh_ctx c; oh_init(&c);
    int a = oh_in(&c, ME_DT_I32, 1, DIMS(12), x);
    int ys[3] = {oh_out(&c, ME_DT_UNDEFINED), oh_out(&c, ME_DT_UNDEFINED), oh_out(&c, ME_DT_UNDEFINED)};
    oh_node(&c, ME_OP_SPLIT, &a, 1, ys, 3);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "axis", 0) == ME_OK);
    set_u32s(&c, "split_index", 1, DIMS(2), DIMS(4, 8));
    if (oh_run_ok(&c) == ME_OK) {
        for (int o = 0; o < 3; o++) {
            CHECK(oh_shape_is(oh_tensor(&c, o), 1, DIMS(4)));
            const int32_t *p = oh_data(&c, o);
            for (int i = 0; i < 4; i++) CHECK(p[i] == (o * 4 + i) * 10);
        }
    }
    oh_free(&c);

    /* [2,5] along axis 1 at [2, 2]: widths 2, 0, 3 */
    float xf[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    oh_init(&c);
    a = oh_in(&c, ME_DT_F32, 2, DIMS(2, 5), xf);
    int zs[3] = {oh_out(&c, ME_DT_UNDEFINED), oh_out(&c, ME_DT_UNDEFINED), oh_out(&c, ME_DT_UNDEFINED)};
    oh_node(&c, ME_OP_SPLIT, &a, 1, zs, 3);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "axis", 1) == ME_OK);
    set_u32s(&c, "split_index", 1, DIMS(2), DIMS(2, 2));
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(2, 2)));
        CHECK(oh_shape_is(oh_tensor(&c, 1), 2, DIMS(2, 0)));
        CHECK(oh_shape_is(oh_tensor(&c, 2), 2, DIMS(2, 3)));
        const float w0[4] = {0, 1, 5, 6}, w2[6] = {2, 3, 4, 7, 8, 9};
        CHECK(memcmp(oh_data(&c, 0), w0, sizeof w0) == 0);
        CHECK(memcmp(oh_data(&c, 2), w2, sizeof w2) == 0);
    }
    oh_free(&c);

    /* decreasing split_index */
    oh_init(&c);
    a = oh_in(&c, ME_DT_I32, 1, DIMS(12), x);
    int ws[3] = {oh_out(&c, ME_DT_UNDEFINED), oh_out(&c, ME_DT_UNDEFINED), oh_out(&c, ME_DT_UNDEFINED)};
    oh_node(&c, ME_OP_SPLIT, &a, 1, ws, 3);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "axis", 0) == ME_OK);
    set_u32s(&c, "split_index", 1, DIMS(2), DIMS(8, 4));
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

/* ---- StridedSlice ---- */
static int slice_node(oh_ctx *c, me_dtype dt, int rank, const int64_t *dims, const void *data,
                      const int64_t *ranges) {
    int a = oh_in(c, dt, rank, dims, data);
    int y = oh_out(c, ME_DT_UNDEFINED);
    oh_node(c, ME_OP_STRIDED_SLICE, &a, 1, &y, 1);
    CHECK(me_node_set_tensor_int(&c->g, c->node, "ranges", ME_DT_I32, 2, DIMS(rank, 3), ranges) == ME_OK);
    return c->node;
}

static void test_strided_slice(void) {
    int32_t x10[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

    /* negative stride through index 0: begin 8, end -1 ("past the beginning"), stride -3 -> 8, 5, 2 */
    oh_ctx c; oh_init(&c);
    slice_node(&c, ME_DT_I32, 1, DIMS(10), x10, DIMS(8, -1, -3));
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 1, DIMS(3)));
        const int32_t *o = oh_data(&c, 0);
        CHECK(o[0] == 8 && o[1] == 5 && o[2] == 2);
    }
    oh_free(&c);

    /* -1 is "past the beginning" only with a negative stride: stride -1 from 9 reaches 0 */
    oh_init(&c);
    slice_node(&c, ME_DT_I32, 1, DIMS(10), x10, DIMS(9, -1, -1));
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 1, DIMS(10)));
        const int32_t *o = oh_data(&c, 0);
        CHECK(o[0] == 9 && o[9] == 0);
    }
    oh_free(&c);

    /* begin_mask + end_mask with a negative stride reverse the axis; -2 stride -> 9,7,5,3,1 */
    oh_init(&c);
    slice_node(&c, ME_DT_I32, 1, DIMS(10), x10, DIMS(0, 0, -2));
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "begin_mask", 1) == ME_OK);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "end_mask", 1) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        const int32_t want[5] = {9, 7, 5, 3, 1};
        CHECK(oh_shape_is(oh_tensor(&c, 0), 1, DIMS(5)));
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* end beyond the axis is clamped; 2-D with a contiguous inner run */
    float x34[12] = {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23};
    oh_init(&c);
    slice_node(&c, ME_DT_F32, 2, DIMS(3, 4), x34, DIMS(0, 100, 2, 1, 3, 1));
    if (oh_run_ok(&c) == ME_OK) {
        const float want[4] = {1, 2, 21, 22};
        CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(2, 2)));
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* shrink axis 0 at row 1, columns 0 and 2 (stride 2): rank drops to 1 */
    oh_init(&c);
    slice_node(&c, ME_DT_F32, 2, DIMS(3, 4), x34, DIMS(1, 2, 1, 0, 4, 2));
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "shrink_axes", 1) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 1, DIMS(2)));
        const float *o = oh_data(&c, 0);
        CHECK(o[0] == 10 && o[1] == 12);
    }
    oh_free(&c);

    /* negative strides on both axes of a bool tensor, begin/end inside */
    uint8_t xb[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1};
    oh_init(&c);
    slice_node(&c, ME_DT_BOOL, 2, DIMS(3, 4), xb, DIMS(2, -1, -1, 3, 0, -1));
    if (oh_run_ok(&c) == ME_OK) {
        /* rows 2,1,0 x cols 3,2,1 */
        const uint8_t want[9] = {1, 1, 0, 0, 0, 1, 0, 0, 0};
        CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(3, 3)));
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* empty result: begin >= end with a positive stride */
    oh_init(&c);
    slice_node(&c, ME_DT_I32, 1, DIMS(10), x10, DIMS(5, 5, 1));
    oh_run_ok(&c);
    CHECK(oh_shape_is(oh_tensor(&c, 0), 1, DIMS(0)));
    oh_free(&c);

    /* stride 0 and new_axes_mask are refused */
    oh_init(&c);
    slice_node(&c, ME_DT_I32, 1, DIMS(10), x10, DIMS(0, 5, 0));
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
    oh_init(&c);
    slice_node(&c, ME_DT_I32, 1, DIMS(10), x10, DIMS(0, 5, 1));
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "new_axes_mask", 1) == ME_OK);
    CHECK(oh_run(&c) == ME_ERR_UNSUPPORTED);
    oh_free(&c);

    /* ranges of the wrong shape */
    oh_init(&c);
    slice_node(&c, ME_DT_F32, 1, DIMS(12), x34, DIMS(0, 5, 1));
    CHECK(me_node_set_tensor_int(&c.g, c.node, "ranges", ME_DT_I32, 2, DIMS(2, 3), DIMS(0, 1, 1, 0, 1, 1)) == ME_OK);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

/* ---- Pad ---- */
static int pad_node(oh_ctx *c, me_dtype dt, int rank, const int64_t *dims, const void *data, int scheme,
                    const int64_t *amounts) {
    int a = oh_in(c, dt, rank, dims, data);
    int y = oh_out(c, ME_DT_UNDEFINED);
    oh_node(c, ME_OP_PAD, &a, 1, &y, 1);
    CHECK(me_node_set_scalar_u32(&c->g, c->node, "scheme", (uint32_t)scheme) == ME_OK);
    set_u32s(c, "pad_amount", 2, DIMS(rank, 2), amounts);
    return c->node;
}

static void test_pad_1d(int scheme, const int32_t *want) {
    /* [1,2,3] padded (7, 6); expected values from numpy.pad */
    oh_ctx c; oh_init(&c);
    pad_node(&c, ME_DT_I32, 1, DIMS(3), (int32_t[]){1, 2, 3}, scheme, DIMS(7, 6));
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 1, DIMS(16)));
        const int32_t *o = oh_data(&c, 0);
        int bad = 0;
        for (int i = 0; i < 16; i++) bad += o[i] != want[i];
        if (bad) fprintf(stderr, "  pad scheme %d: %d wrong elements\n", scheme, bad);
        CHECK(bad == 0);
    }
    oh_free(&c);
}

/* One channel of an ONNX conformance Pad case: [4,5] padded by 1 on both axes. */
static void test_pad_conformance(const char *name, int scheme, const int32_t *in, const int32_t *want) {
    oh_ctx c; oh_init(&c);
    pad_node(&c, ME_DT_I32, 2, DIMS(4, 5), in, scheme, DIMS(1, 1, 1, 1));
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(6, 7)));
        int bad = memcmp(oh_data(&c, 0), want, 42 * sizeof(int32_t)) != 0;
        if (bad) fprintf(stderr, "  %s differs\n", name);
        CHECK(!bad);
    }
    oh_free(&c);
}

static void test_pad(void) {
    test_pad_1d(2, (const int32_t[]){2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1}); /* MIRROR_REFLECT */
    test_pad_1d(1, (const int32_t[]){1, 1, 2, 3, 3, 2, 1, 1, 2, 3, 3, 2, 1, 1, 2, 3}); /* MIRROR_SYMMETRIC */
    test_pad_1d(4, (const int32_t[]){3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3}); /* WRAP */
    test_pad_1d(3, (const int32_t[]){1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3}); /* EDGE */

    /* test_reflect_pad, channel 0 */
    test_pad_conformance("test_reflect_pad", 2,
        (const int32_t[]){0, 0, 0, -1, 0, 0, -1, 0, 0, 0, 0, 0, 1, -1, 0, 0, 0, 0, 0, 0},
        (const int32_t[]){-1, 0, -1, 0, 0, 0, 0,  0, 0, 0, 0, -1, 0, -1,  -1, 0, -1, 0, 0, 0, 0,
                          0, 0, 0, 1, -1, 0, -1,  0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 1, -1, 0, -1});
    /* test_edge_pad, channel 1 */
    test_pad_conformance("test_edge_pad", 3,
        (const int32_t[]){-2, 0, 0, 0, 2, -1, 0, 0, 1, 1, 0, 0, 0, -1, 0, 0, 1, 1, 0, 0},
        (const int32_t[]){-2, -2, 0, 0, 0, 2, 2,  -2, -2, 0, 0, 0, 2, 2,  -1, -1, 0, 0, 1, 1, 1,
                          0, 0, 0, 0, -1, 0, 0,  0, 0, 1, 1, 0, 0, 0,  0, 0, 1, 1, 0, 0, 0});
    /* test_wrap_pad, channel 2 */
    test_pad_conformance("test_wrap_pad", 4,
        (const int32_t[]){0, 1, 0, 0, -1, 0, -1, -1, 1, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0},
        (const int32_t[]){0, 0, 0, 0, 0, 0, 0,  -1, 0, 1, 0, 0, -1, 0,  0, 0, -1, -1, 1, 0, 0,
                          -1, 0, 0, 0, 0, -1, 0,  0, 0, 0, 0, 0, 0, 0,  -1, 0, 1, 0, 0, -1, 0});

    /* constant, f32 [2,2] with [[1,0],[0,2]] and value 9.5 */
    oh_ctx c; oh_init(&c);
    pad_node(&c, ME_DT_F32, 2, DIMS(2, 2), (float[]){1, 2, 3, 4}, 0, DIMS(1, 0, 0, 2));
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "pad_constant_value", 9.5f) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        const float want[12] = {9.5f, 9.5f, 9.5f, 9.5f, 1, 2, 9.5f, 9.5f, 3, 4, 9.5f, 9.5f};
        CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(3, 4)));
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* constant on int64 (value converted) and an empty input axis */
    oh_init(&c);
    pad_node(&c, ME_DT_I64, 2, DIMS(0, 2), NULL, 0, DIMS(1, 1, 0, 1));
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "pad_constant_value", -3.0f) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(2, 3)));
        const int64_t *o = oh_data(&c, 0);
        int bad = 0;
        for (int i = 0; i < 6; i++) bad += o[i] != -3;
        CHECK(bad == 0);
    }
    oh_free(&c);

    /* u8 constant saturates */
    oh_init(&c);
    pad_node(&c, ME_DT_U8, 1, DIMS(2), (uint8_t[]){5, 6}, 0, DIMS(1, 1));
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "pad_constant_value", 300.0f) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        const uint8_t want[4] = {255, 5, 6, 255};
        CHECK(memcmp(oh_data(&c, 0), want, 4) == 0);
    }
    oh_free(&c);

    /* reflect on a [2,3] f32 in 2-D: rows and columns both reflected (numpy.pad) */
    oh_init(&c);
    pad_node(&c, ME_DT_F32, 2, DIMS(2, 3), (float[]){1, 2, 3, 4, 5, 6}, 2, DIMS(1, 0, 2, 1));
    if (oh_run_ok(&c) == ME_OK) {
        const float want[18] = {6, 5, 4, 5, 6, 5,  3, 2, 1, 2, 3, 2,  6, 5, 4, 5, 6, 5};
        CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(3, 6)));
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* a non-constant scheme cannot pad an empty axis */
    oh_init(&c);
    pad_node(&c, ME_DT_F32, 1, DIMS(0), NULL, 2, DIMS(1, 1));
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

/* ---- Tile ---- */
static void test_tile(void) {
    int16_t x[6] = {1, 2, 3, 4, 5, 6};
    oh_ctx c; oh_init(&c);
    int a = oh_in(&c, ME_DT_I16, 2, DIMS(2, 3), x);
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_TILE, &a, 1, &y, 1);
    set_u32s(&c, "multiples", 1, DIMS(2), DIMS(3, 2));
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(6, 6)));
        const int16_t *o = oh_data(&c, 0);
        int bad = 0;
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) bad += o[i * 6 + j] != x[(i % 2) * 3 + j % 3];
        CHECK(bad == 0);
    }
    oh_free(&c);

    /* multiples 0 gives an empty output */
    oh_init(&c);
    a = oh_in(&c, ME_DT_F32, 1, DIMS(2), (float[]){1, 2});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_TILE, &a, 1, &y, 1);
    set_u32s(&c, "multiples", 1, DIMS(1), DIMS(0));
    oh_run_ok(&c);
    CHECK(oh_shape_is(oh_tensor(&c, 0), 1, DIMS(0)));
    oh_free(&c);
}

/* ---- DepthToSpace / SpaceToDepth ---- */
/* Run a depth/space op on an NHWC f32 tensor; returns the output copy in out. */
static me_status run_ds(int op, int mode, int64_t bh, int64_t bw, const int64_t *dims, const float *x,
                        float *out, int64_t *out_dims) {
    oh_ctx c; oh_init(&c);
    int a = oh_in(&c, ME_DT_F32, 4, dims, x);
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, op, &a, 1, &y, 1);
    set_u32s(&c, "block_size", 1, DIMS(2), DIMS(bh, bw));
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "mode", (uint32_t)mode) == ME_OK);
    me_status st = oh_run_ok(&c);
    if (st == ME_OK) {
        const me_tensor *t = oh_tensor(&c, 0);
        for (int i = 0; i < 4; i++) out_dims[i] = t->dims[i];
        memcpy(out, oh_data(&c, 0), (size_t)me_tensor_numel(t) * sizeof(float));
    }
    oh_free(&c);
    return st;
}

static void nchw_to_nhwc(const float *x, float *y, int64_t N, int64_t C, int64_t H, int64_t W) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++) y[((n * H + h) * W + w) * C + c] = x[((n * C + c) * H + h) * W + w];
}

static void test_depth_space(void) {
    /* test_depthtospace_example / test_depthtospace_crd_mode_example: input NCHW
     * [1,8,2,3] with x[c][h][w] = 9c + 3h + w; outputs NCHW [1,2,4,6]. */
    float x_nchw[48], x[48], want[48], got[48];
    for (int c = 0; c < 8; c++)
        for (int h = 0; h < 2; h++)
            for (int w = 0; w < 3; w++) x_nchw[(c * 2 + h) * 3 + w] = (float)(9 * c + 3 * h + w);
    nchw_to_nhwc(x_nchw, x, 1, 8, 2, 3);
    static const float dcr[48] = {0, 18, 1, 19, 2, 20, 36, 54, 37, 55, 38, 56, 3, 21, 4, 22, 5, 23,
                                  39, 57, 40, 58, 41, 59, 9, 27, 10, 28, 11, 29, 45, 63, 46, 64, 47, 65,
                                  12, 30, 13, 31, 14, 32, 48, 66, 49, 67, 50, 68};
    static const float crd[48] = {0, 9, 1, 10, 2, 11, 18, 27, 19, 28, 20, 29, 3, 12, 4, 13, 5, 14,
                                  21, 30, 22, 31, 23, 32, 36, 45, 37, 46, 38, 47, 54, 63, 55, 64, 56, 65,
                                  39, 48, 40, 49, 41, 50, 57, 66, 58, 67, 59, 68};
    int64_t od[4];
    for (int mode = 0; mode < 2; mode++) {
        nchw_to_nhwc(mode == 0 ? dcr : crd, want, 1, 2, 4, 6);
        if (run_ds(ME_OP_DEPTH_TO_SPACE, mode, 2, 2, DIMS(1, 2, 3, 8), x, got, od) == ME_OK) {
            CHECK(od[0] == 1 && od[1] == 4 && od[2] == 6 && od[3] == 2);
            CHECK(memcmp(got, want, sizeof want) == 0);
        }
    }

    /* test_spacetodepth_example: NCHW [1,1,4,6] -> [1,4,2,3] holding 0..23 */
    static const float s_in[24] = {0, 6, 1, 7, 2, 8, 12, 18, 13, 19, 14, 20,
                                   3, 9, 4, 10, 5, 11, 15, 21, 16, 22, 17, 23};
    float s_out_nchw[24];
    for (int i = 0; i < 24; i++) s_out_nchw[i] = (float)i;
    nchw_to_nhwc(s_out_nchw, want, 1, 4, 2, 3);
    if (run_ds(ME_OP_SPACE_TO_DEPTH, 0, 2, 2, DIMS(1, 4, 6, 1), s_in, got, od) == ME_OK) {
        CHECK(od[0] == 1 && od[1] == 2 && od[2] == 3 && od[3] == 4);
        CHECK(memcmp(got, want, 24 * sizeof(float)) == 0);
    }

    /* SpaceToDepth inverts DepthToSpace in both modes, also for a non-square block */
    float y[48], back[48];
    int64_t yd[4];
    for (int mode = 0; mode < 2; mode++) {
        if (run_ds(ME_OP_DEPTH_TO_SPACE, mode, 2, 4, DIMS(1, 2, 3, 8), x, y, yd) != ME_OK) continue;
        CHECK(yd[1] == 4 && yd[2] == 12 && yd[3] == 1);
        if (run_ds(ME_OP_SPACE_TO_DEPTH, mode, 2, 4, yd, y, back, od) == ME_OK) {
            CHECK(od[1] == 2 && od[2] == 3 && od[3] == 8);
            CHECK(memcmp(back, x, sizeof back) == 0);
        }
    }

    /* CRD SpaceToDepth by hand: [1,2,2,2] block 2 -> channel c*4 + i*2 + j */
    const float sx[8] = {0, 1, 2, 3, 4, 5, 6, 7}; /* x[h][w][c] = 4h + 2w + c */
    if (run_ds(ME_OP_SPACE_TO_DEPTH, 1, 2, 2, DIMS(1, 2, 2, 2), sx, got, od) == ME_OK) {
        const float w8[8] = {0, 2, 4, 6, 1, 3, 5, 7};
        CHECK(memcmp(got, w8, sizeof w8) == 0);
    }

    /* channels not divisible by the block */
    oh_ctx c; oh_init(&c);
    int a = oh_in(&c, ME_DT_F32, 4, DIMS(1, 1, 1, 6), (float[6]){0});
    int o = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_DEPTH_TO_SPACE, &a, 1, &o, 1);
    set_u32s(&c, "block_size", 1, DIMS(2), DIMS(2, 2));
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

/* ---- Gather / GatherElements ---- */
static void test_gather(void) {
    /* data [3,2], indices int64 [2,2] with negatives, axis 0 -> [2,2,2] */
    float data[6] = {1, 2, 3, 4, 5, 6};
    oh_ctx c; oh_init(&c);
    int a = oh_in(&c, ME_DT_F32, 2, DIMS(3, 2), data);
    int i = oh_in(&c, ME_DT_I64, 2, DIMS(2, 2), (int64_t[]){0, -1, 1, -3});
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_GATHER, IDS(a, i), 2, &y, 1);
    CHECK(me_node_set_scalar_i32(&c.g, c.node, "axis", 0) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        const float want[8] = {1, 2, 5, 6, 3, 4, 1, 2};
        CHECK(oh_shape_is(oh_tensor(&c, 0), 3, DIMS(2, 2, 2)));
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* scalar int32 index on axis -1 -> [3] */
    oh_init(&c);
    a = oh_in(&c, ME_DT_F32, 2, DIMS(3, 2), data);
    i = oh_in(&c, ME_DT_I32, 0, NULL, (int32_t[]){1});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_GATHER, IDS(a, i), 2, &y, 1);
    CHECK(me_node_set_scalar_i32(&c.g, c.node, "axis", -1) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        const float want[3] = {2, 4, 6};
        CHECK(oh_shape_is(oh_tensor(&c, 0), 1, DIMS(3)));
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* test_gather_negative_indices: arange(10)[[0, -9, -10]] = [0, 1, 0] */
    float ar[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    oh_init(&c);
    a = oh_in(&c, ME_DT_F32, 1, DIMS(10), ar);
    i = oh_in(&c, ME_DT_I64, 1, DIMS(3), (int64_t[]){0, -9, -10});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_GATHER, IDS(a, i), 2, &y, 1);
    CHECK(me_node_set_scalar_i32(&c.g, c.node, "axis", 0) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        const float *o = oh_data(&c, 0);
        CHECK(o[0] == 0 && o[1] == 1 && o[2] == 0);
    }
    oh_free(&c);

    /* uint32 indices on int64 data, axis 1 */
    oh_init(&c);
    a = oh_in(&c, ME_DT_I64, 2, DIMS(2, 3), (int64_t[]){10, 11, 12, 20, 21, 22});
    i = oh_in(&c, ME_DT_U32, 1, DIMS(2), (uint32_t[]){2, 0});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_GATHER, IDS(a, i), 2, &y, 1);
    CHECK(me_node_set_scalar_i32(&c.g, c.node, "axis", 1) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        const int64_t want[4] = {12, 10, 22, 20};
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* out of range is a data error from the kernel */
    oh_init(&c);
    a = oh_in(&c, ME_DT_F32, 1, DIMS(10), ar);
    i = oh_in(&c, ME_DT_I64, 1, DIMS(2), (int64_t[]){3, -11});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_GATHER, IDS(a, i), 2, &y, 1);
    CHECK(me_node_set_scalar_i32(&c.g, c.node, "axis", 0) == ME_OK);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "gather index -11 out of range [-10, 10)") != NULL);
    oh_free(&c);
}

static void test_gather_elements(void) {
    float d33[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    /* test_gather_elements_0: axis 1 */
    oh_ctx c; oh_init(&c);
    int a = oh_in(&c, ME_DT_F32, 2, DIMS(2, 2), (float[]){1, 2, 3, 4});
    int i = oh_in(&c, ME_DT_I64, 2, DIMS(2, 2), (int64_t[]){0, 0, 1, 0});
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_GATHER_ELEMENTS, IDS(a, i), 2, &y, 1);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "axis", 1) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        const float want[4] = {1, 1, 4, 3};
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* test_gather_elements_negative_indices: axis 0 (the default), indices [2,3] */
    oh_init(&c);
    a = oh_in(&c, ME_DT_F32, 2, DIMS(3, 3), d33);
    i = oh_in(&c, ME_DT_I64, 2, DIMS(2, 3), (int64_t[]){-1, -2, 0, -2, 0, 0});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_GATHER_ELEMENTS, IDS(a, i), 2, &y, 1);
    if (oh_run_ok(&c) == ME_OK) {
        const float want[6] = {7, 5, 3, 4, 2, 3};
        CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(2, 3)));
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* indices narrower than data on the other axis: axis 1, indices [3,2] int32 */
    oh_init(&c);
    a = oh_in(&c, ME_DT_F32, 2, DIMS(3, 3), d33);
    i = oh_in(&c, ME_DT_I32, 2, DIMS(3, 2), (int32_t[]){2, 0, 1, 1, 0, -1});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_GATHER_ELEMENTS, IDS(a, i), 2, &y, 1);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "axis", 1) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        const float want[6] = {3, 1, 5, 5, 7, 9};
        CHECK(memcmp(oh_data(&c, 0), want, sizeof want) == 0);
    }
    oh_free(&c);

    /* out of range */
    oh_init(&c);
    a = oh_in(&c, ME_DT_F32, 2, DIMS(3, 3), d33);
    i = oh_in(&c, ME_DT_I64, 2, DIMS(1, 1), (int64_t[]){3});
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_GATHER_ELEMENTS, IDS(a, i), 2, &y, 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "out of range") != NULL);
    oh_free(&c);
}

int main(void) {
    test_reshape();
    test_transpose();
    test_concat();
    test_split();
    test_strided_slice();
    test_pad();
    test_tile();
    test_depth_space();
    test_gather();
    test_gather_elements();
    return check_exit();
}
