/* Resize. Expected outputs are ONNX conformance outputs (case named in each
 * row; inputs there are NCHW with N = C = 1, the same memory order as the
 * NHWC [1,H,W,1] tensors used here), plus hand-computed cases. */
#include <stdint.h>

#include "check.h"
#include "op_harness.h"

#define DIMS(...) ((int64_t[]){__VA_ARGS__})
#define FLOATS(...) ((const float[]){__VA_ARGS__})

enum { HALF_PIXEL = 0, PYTORCH_HALF_PIXEL = 1, ALIGN_CORNERS = 2, ASYMMETRIC = 3 };
enum { NEAREST = 0, LINEAR = 1, CUBIC = 2 };
enum { ROUND_PREFER_FLOOR = 0, ROUND_PREFER_CEIL = 1, FLOOR = 2, CEIL = 3 };

static me_status run(oh_ctx *c) {
    me_status st = oh_run(c);
    CHECK(st == ME_OK);
    if (st != ME_OK) fprintf(stderr, "  run failed: %s\n", oh_msg(c));
    return st;
}

typedef struct rs_case {
    const char *name;
    int64_t ih, iw, oh, ow;
    const float *scales; /* ONNX scales for H and W, or NULL when sizes were given */
    int transform, interp, nearest, exclude, symmetric;
    float cubic_a;
    const float *want;
} rs_case;

static const rs_case cases[] = {
    {"test_resize_upsample_scales_nearest", 2, 2, 4, 6, NULL, HALF_PIXEL, NEAREST, ROUND_PREFER_FLOOR, 0, 0, -0.75f,
     FLOATS(1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4)},
    {"test_resize_downsample_scales_nearest", 2, 4, 1, 2, FLOATS(0.6f, 0.6f), HALF_PIXEL, NEAREST, ROUND_PREFER_FLOOR,
     0, 0, -0.75f, FLOATS(1, 3)},
    {"test_resize_upsample_sizes_nearest", 2, 2, 7, 8, NULL, HALF_PIXEL, NEAREST, ROUND_PREFER_FLOOR, 0, 0, -0.75f,
     FLOATS(1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3,
            3, 4, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4)},
    {"test_resize_upsample_sizes_nearest_ceil_half_pixel", 4, 4, 8, 8, NULL, HALF_PIXEL, NEAREST, CEIL, 0, 0, -0.75f,
     FLOATS(1, 2, 2, 3, 3, 4, 4, 4, 5, 6, 6, 7, 7, 8, 8, 8, 5, 6, 6, 7, 7, 8, 8, 8, 9, 10, 10, 11, 11, 12, 12, 12, 9,
            10, 10, 11, 11, 12, 12, 12, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14,
            15, 15, 16, 16, 16)},
    {"test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric", 4, 4, 8, 8, NULL, ASYMMETRIC, NEAREST,
     ROUND_PREFER_CEIL, 0, 0, -0.75f,
     FLOATS(1, 2, 2, 3, 3, 4, 4, 4, 5, 6, 6, 7, 7, 8, 8, 8, 5, 6, 6, 7, 7, 8, 8, 8, 9, 10, 10, 11, 11, 12, 12, 12, 9,
            10, 10, 11, 11, 12, 12, 12, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14,
            15, 15, 16, 16, 16)},
    {"test_resize_upsample_sizes_nearest_floor_align_corners", 4, 4, 8, 8, NULL, ALIGN_CORNERS, NEAREST, FLOOR, 0, 0,
     -0.75f,
     FLOATS(1, 1, 1, 2, 2, 3, 3, 4, 1, 1, 1, 2, 2, 3, 3, 4, 1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 5, 6, 6, 7, 7, 8, 5, 5, 5, 6,
            6, 7, 7, 8, 9, 9, 9, 10, 10, 11, 11, 12, 9, 9, 9, 10, 10, 11, 11, 12, 13, 13, 13, 14, 14, 15, 15, 16)},
    {"test_resize_upsample_scales_linear", 2, 2, 4, 4, NULL, HALF_PIXEL, LINEAR, 0, 0, 0, -0.75f,
     FLOATS(1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4)},
    {"test_resize_upsample_scales_linear_align_corners", 2, 2, 4, 4, NULL, ALIGN_CORNERS, LINEAR, 0, 0, 0, -0.75f,
     FLOATS(1, 1.33333337f, 1.66666663f, 2, 1.66666663f, 2, 2.33333325f, 2.66666675f, 2.33333325f, 2.66666675f, 3,
            3.33333325f, 3, 3.33333325f, 3.66666675f, 4)},
    {"test_resize_downsample_scales_linear", 2, 4, 1, 2, FLOATS(0.6f, 0.6f), HALF_PIXEL, LINEAR, 0, 0, 0, -0.75f,
     FLOATS(2.66666651f, 4.33333302f)},
    {"test_resize_downsample_scales_linear_align_corners", 2, 4, 1, 2, FLOATS(0.6f, 0.6f), ALIGN_CORNERS, LINEAR, 0, 0,
     0, -0.75f, FLOATS(1, 3.14285707f)},
    {"test_resize_downsample_sizes_linear_pytorch_half_pixel", 4, 4, 3, 1, NULL, PYTORCH_HALF_PIXEL, LINEAR, 0, 0, 0,
     -0.75f, FLOATS(1.66666663f, 7, 12.333333f)},
    {"test_resize_downsample_scales_linear_half_pixel_symmetric", 1, 4, 1, 2, FLOATS(1, 0.6f), HALF_PIXEL, LINEAR, 0,
     0, 1, -0.75f, FLOATS(1.66666675f, 3.33333325f)},
    {"test_resize_upsample_scales_linear_half_pixel_symmetric", 2, 2, 4, 5, FLOATS(2.3f, 2.94f), HALF_PIXEL, LINEAR, 0,
     0, 1, -0.75f,
     FLOATS(1, 1.15986395f, 1.5f, 1.84013605f, 2, 1.56521738f, 1.72508132f, 2.06521749f, 2.40535355f, 2.56521749f,
            2.43478251f, 2.59464645f, 2.93478251f, 3.27491856f, 3.43478251f, 3, 3.15986395f, 3.5f, 3.84013605f, 4)},
    {"test_resize_upsample_scales_cubic", 4, 4, 8, 8, NULL, HALF_PIXEL, CUBIC, 0, 0, 0, -0.75f,
     FLOATS(0.47265625f, 0.76953125f, 1.24609375f, 1.875f, 2.28125f, 2.91015625f, 3.38671875f, 3.68359375f,
            1.66015625f, 1.95703125f, 2.43359375f, 3.0625f, 3.46875f, 4.09765625f, 4.57421875f, 4.87109375f,
            3.56640625f, 3.86328125f, 4.33984375f, 4.96875f, 5.375f, 6.00390625f, 6.48046875f, 6.77734375f,
            6.08203125f, 6.37890625f, 6.85546875f, 7.484375f, 7.890625f, 8.51953125f, 8.99609375f, 9.29296875f,
            7.70703125f, 8.00390625f, 8.48046875f, 9.109375f, 9.515625f, 10.1445312f, 10.6210938f, 10.9179688f,
            10.2226562f, 10.5195312f, 10.9960938f, 11.625f, 12.03125f, 12.6601562f, 13.1367188f, 13.4335938f,
            12.1289062f, 12.4257812f, 12.9023438f, 13.53125f, 13.9375f, 14.5664062f, 15.0429688f, 15.3398438f,
            13.3164062f, 13.6132812f, 14.0898438f, 14.71875f, 15.125f, 15.7539062f, 16.2304688f, 16.5273438f)},
    {"test_resize_upsample_scales_cubic_asymmetric", 4, 4, 8, 8, NULL, ASYMMETRIC, CUBIC, 0, 0, 0, -0.75f,
     FLOATS(1, 1.40625f, 2, 2.5f, 3, 3.59375f, 4, 4.09375f, 2.625f, 3.03125f, 3.625f, 4.125f, 4.625f, 5.21875f, 5.625f,
            5.71875f, 5, 5.40625f, 6, 6.5f, 7, 7.59375f, 8, 8.09375f, 7, 7.40625f, 8, 8.5f, 9, 9.59375f, 10, 10.09375f,
            9, 9.40625f, 10, 10.5f, 11, 11.59375f, 12, 12.09375f, 11.375f, 11.78125f, 12.375f, 12.875f, 13.375f,
            13.96875f, 14.375f, 14.46875f, 13, 13.40625f, 14, 14.5f, 15, 15.59375f, 16, 16.09375f, 13.375f, 13.78125f,
            14.375f, 14.875f, 15.375f, 15.96875f, 16.375f, 16.46875f)},
    {"test_resize_upsample_scales_cubic_align_corners", 4, 4, 8, 8, NULL, ALIGN_CORNERS, CUBIC, 0, 0, 0, -0.75f,
     FLOATS(1, 1.34110785f, 1.80029154f, 2.32944608f, 2.67055392f, 3.19970846f, 3.65889215f, 4, 2.36443138f,
            2.70553946f, 3.16472292f, 3.69387746f, 4.03498554f, 4.56413984f, 5.02332354f, 5.36443138f, 4.20116615f,
            4.542274f, 5.00145769f, 5.53061247f, 5.87172031f, 6.40087461f, 6.86005831f, 7.20116615f, 6.31778431f,
            6.65889215f, 7.11807585f, 7.64723015f, 7.98833799f, 8.51749229f, 8.97667599f, 9.31778431f, 7.68221569f,
            8.02332401f, 8.48250771f, 9.01166153f, 9.35276985f, 9.88192463f, 10.3411083f, 10.6822157f, 9.79883385f,
            10.1399412f, 10.5991249f, 11.1282797f, 11.469388f, 11.9985418f, 12.4577255f, 12.7988338f, 11.6355686f,
            11.976676f, 12.4358597f, 12.9650145f, 13.3061228f, 13.8352766f, 14.2944603f, 14.6355686f, 13,
            13.3411083f, 13.800292f, 14.3294458f, 14.6705542f, 15.199708f, 15.6588917f, 16)},
    {"test_resize_upsample_scales_cubic_A_n0p5_exclude_outside", 4, 4, 8, 8, NULL, HALF_PIXEL, CUBIC, 0, 1, 0, -0.5f,
     FLOATS(0.558823526f, 0.814942062f, 1.35698247f, 1.89705884f, 2.39705873f, 2.93713522f, 3.47917557f, 3.7352941f,
            1.58329761f, 1.83941603f, 2.38145661f, 2.92153287f, 3.42153287f, 3.96160913f, 4.50364971f, 4.75976801f,
            3.75145936f, 4.0075779f, 4.54961824f, 5.0896945f, 5.5896945f, 6.12977076f, 6.67181158f, 6.92792988f,
            5.91176462f, 6.1678834f, 6.70992374f, 7.25f, 7.75f, 8.29007626f, 8.83211708f, 9.0882349f, 7.91176462f,
            8.16788292f, 8.70992374f, 9.25f, 9.75f, 10.2900763f, 10.8321171f, 11.0882349f, 10.0720701f, 10.3281889f,
            10.8702288f, 11.410305f, 11.910305f, 12.4503813f, 12.9924221f, 13.2485409f, 12.2402315f, 12.4963503f,
            13.0383911f, 13.5784674f, 14.0784674f, 14.6185436f, 15.1605835f, 15.4167023f, 13.2647057f, 13.5208244f,
            14.0628653f, 14.6029415f, 15.1029415f, 15.6430178f, 16.1850586f, 16.4411774f)},
    {"test_resize_downsample_scales_cubic", 4, 4, 3, 3, FLOATS(0.8f, 0.8f), HALF_PIXEL, CUBIC, 0, 0, 0, -0.75f,
     FLOATS(1.47119141f, 2.78125f, 4.08251953f, 6.71142578f, 8.02148438f, 9.32275391f, 11.9165039f, 13.2265625f,
            14.527832f)},
    {"test_resize_downsample_scales_cubic_align_corners", 4, 4, 3, 3, FLOATS(0.8f, 0.8f), ALIGN_CORNERS, CUBIC, 0, 0,
     0, -0.75f,
     FLOATS(1, 2.39519167f, 3.7903831f, 6.5807662f, 7.97595787f, 9.37114906f, 12.1615324f, 13.5567236f, 14.9519157f)},
    {"test_resize_downsample_scales_cubic_A_n0p5_exclude_outside", 4, 4, 3, 3, FLOATS(0.8f, 0.8f), HALF_PIXEL, CUBIC, 0,
     1, 0, -0.5f,
     FLOATS(1.36812675f, 2.6695013f, 4.01333666f, 6.57362509f, 7.875f, 9.21883488f, 11.948966f, 13.2503414f,
            14.5941763f)},
    {"test_resize_downsample_sizes_cubic", 4, 4, 3, 3, NULL, HALF_PIXEL, CUBIC, 0, 0, 0, -0.75f,
     FLOATS(1.63078701f, 3.00462961f, 4.37847233f, 7.12615728f, 8.5f, 9.87384224f, 12.6215277f, 13.9953699f,
            15.3692131f)},
};

/* Resize node over x [1, ih, iw, ch] with output [1, oh, ow, ch]. */
static int resize_node(oh_ctx *c, const rs_case *k, const float *x, int64_t ch) {
    int in = oh_in(c, ME_DT_F32, 4, DIMS(1, k->ih, k->iw, ch), x);
    int y = oh_out(c, ME_DT_UNDEFINED);
    me_tensor *t = &c->g.tensors[y];
    t->rank = 4;
    t->dims[0] = 1; t->dims[1] = k->oh; t->dims[2] = k->ow; t->dims[3] = ch;
    oh_node(c, ME_OP_RESIZE, &in, 1, &y, 1);
    CHECK(me_node_set_scalar_u32(&c->g, c->node, "transformation_mode", (uint32_t)k->transform) == ME_OK);
    CHECK(me_node_set_scalar_u32(&c->g, c->node, "interpolation_mode", (uint32_t)k->interp) == ME_OK);
    CHECK(me_node_set_scalar_u32(&c->g, c->node, "nearest_mode", (uint32_t)k->nearest) == ME_OK);
    CHECK(me_node_set_scalar_bool(&c->g, c->node, "exclude_outside", k->exclude) == ME_OK);
    CHECK(me_node_set_scalar_f32(&c->g, c->node, "cubic_coeff", k->cubic_a) == ME_OK);
    if (k->symmetric) CHECK(me_node_set_scalar_bool(&c->g, c->node, "half_pixel_symmetric", true) == ME_OK);
    if (k->scales)
        CHECK(me_node_set_tensor_f32(&c->g, c->node, "scales", 4, (float[]){1, k->scales[0], k->scales[1], 1}) == ME_OK);
    return y;
}

static void test_conformance_cases(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rs_case *k = &cases[i];
        float x[16];
        for (int j = 0; j < 16; j++) x[j] = (float)(j + 1); /* every case's input is the ramp 1, 2, ... */
        oh_ctx c; oh_init(&c);
        resize_node(&c, k, x, 1);
        me_status st = oh_run(&c);
        CHECK(st == ME_OK);
        if (st != ME_OK) fprintf(stderr, "  %s: %s\n", k->name, oh_msg(&c));
        else if (!oh_close_f32(oh_data(&c, 0), k->want, k->oh * k->ow, 1e-6)) {
            fprintf(stderr, "  mismatch in %s\n", k->name);
            CHECK(0);
        }
        oh_free(&c);

        /* the same case with two channels, the second scaled by -10: the channel
         * axis is copied unchanged (the contiguous inner-block path) */
        float x2[32], *want2 = malloc(2 * k->oh * k->ow * sizeof(float));
        for (int j = 0; j < 16; j++) { x2[2 * j] = x[j]; x2[2 * j + 1] = -10 * x[j]; }
        for (int64_t j = 0; j < k->oh * k->ow; j++) { want2[2 * j] = k->want[j]; want2[2 * j + 1] = -10 * k->want[j]; }
        oh_init(&c);
        resize_node(&c, k, x2, 2);
        if (run(&c) == ME_OK && !oh_close_f32(oh_data(&c, 0), want2, 2 * k->oh * k->ow, 1e-6)) {
            fprintf(stderr, "  mismatch in 2-channel %s\n", k->name);
            CHECK(0);
        }
        oh_free(&c);
        free(want2);
    }
}

static void test_resize_other_axes(void) {
    /* rank 2, resize of the last (contiguous) axis only, linear half_pixel 2 -> 4:
     * x_orig = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> [a, .75a+.25b, .25a+.75b, b] */
    oh_ctx c; oh_init(&c);
    int in = oh_in(&c, ME_DT_F32, 2, DIMS(2, 2), (float[]){0, 4, 10, 20});
    int y = oh_out(&c, ME_DT_UNDEFINED);
    c.g.tensors[y].rank = 2;
    c.g.tensors[y].dims[0] = 2; c.g.tensors[y].dims[1] = 4;
    oh_node(&c, ME_OP_RESIZE, &in, 1, &y, 1);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "interpolation_mode", LINEAR) == ME_OK);
    if (run(&c) == ME_OK)
        CHECK(oh_close_f32(oh_data(&c, 0), (float[]){0, 1, 3, 4, 10, 12.5f, 17.5f, 20}, 8, 1e-6));
    oh_free(&c);

    /* rank 3, nearest downsample of the first axis 4 -> 2 (asymmetric: rows 0, 2) */
    oh_init(&c);
    in = oh_in(&c, ME_DT_F32, 3, DIMS(4, 1, 2), (float[]){1, 2, 3, 4, 5, 6, 7, 8});
    y = oh_out(&c, ME_DT_UNDEFINED);
    c.g.tensors[y].rank = 3;
    c.g.tensors[y].dims[0] = 2; c.g.tensors[y].dims[1] = 1; c.g.tensors[y].dims[2] = 2;
    oh_node(&c, ME_OP_RESIZE, &in, 1, &y, 1);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "transformation_mode", ASYMMETRIC) == ME_OK);
    if (run(&c) == ME_OK) CHECK(oh_close_f32(oh_data(&c, 0), (float[]){1, 2, 5, 6}, 4, 0));
    oh_free(&c);
}

static void test_resize_errors(void) {
    /* output shape not set by the creator */
    oh_ctx c; oh_init(&c);
    int in = oh_in(&c, ME_DT_F32, 2, DIMS(2, 2), (float[]){0, 1, 2, 3});
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_RESIZE, &in, 1, &y, 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "n0") != NULL);
    oh_free(&c);

    /* scales of the wrong length; unknown mode; half_pixel_symmetric with another transform */
    for (int i = 0; i < 3; i++) {
        oh_init(&c);
        in = oh_in(&c, ME_DT_F32, 2, DIMS(2, 2), (float[]){0, 1, 2, 3});
        y = oh_out(&c, ME_DT_UNDEFINED);
        c.g.tensors[y].rank = 2;
        c.g.tensors[y].dims[0] = 4; c.g.tensors[y].dims[1] = 4;
        oh_node(&c, ME_OP_RESIZE, &in, 1, &y, 1);
        if (i == 0) CHECK(me_node_set_tensor_f32(&c.g, c.node, "scales", 3, (float[]){2, 2, 2}) == ME_OK);
        if (i == 1) CHECK(me_node_set_scalar_u32(&c.g, c.node, "interpolation_mode", 3) == ME_OK);
        if (i == 2) {
            CHECK(me_node_set_scalar_u32(&c.g, c.node, "transformation_mode", ALIGN_CORNERS) == ME_OK);
            CHECK(me_node_set_scalar_bool(&c.g, c.node, "half_pixel_symmetric", true) == ME_OK);
        }
        c.verify = 0; /* the verifier would also catch some of these; we want infer's answer */
        CHECK(oh_run(&c) == ME_ERR_FORMAT);
        oh_free(&c);
    }
}

int main(void) {
    test_conformance_cases();
    test_resize_other_axes();
    test_resize_errors();
    return check_exit();
}
