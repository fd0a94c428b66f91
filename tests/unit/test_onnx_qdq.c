/* --format onnx-qdq: protobuf encoding, and a float round trip: a small
 * NCHW Conv/Relu/MaxPool/Gemm model is compiled to ONNX by our writer, read
 * back by our own ONNX frontend, and both run on the same input must agree
 * with a direct NCHW computation written here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/backend/onnx_qdq/pb_out.h"
#include "check.h"
#include "modelexport.h"
#include "pb_writer.h"

static char tmpdir[64];

static void test_pb_encoding(void) {
    pb_out b = {0};
    pb_varint(&b, 300); /* protobuf docs: 300 = ac 02 */
    CHECK(b.n == 2 && b.p[0] == 0xac && b.p[1] == 0x02);
    b.n = 0;
    pb_int(&b, 1, -1); /* tag 08, then ten bytes ff..ff 01 */
    CHECK(b.n == 11 && b.p[0] == 0x08 && b.p[1] == 0xff && b.p[9] == 0xff && b.p[10] == 0x01);
    b.n = 0;
    pb_float(&b, 2, 1.0f); /* tag 15, 00 00 80 3f */
    CHECK(b.n == 5 && b.p[0] == 0x15 && b.p[3] == 0x80 && b.p[4] == 0x3f);
    b.n = 0;
    pb_str(&b, 4, "ab"); /* tag 22, len 2 */
    CHECK(b.n == 4 && b.p[0] == 0x22 && b.p[1] == 2 && b.p[2] == 'a');
    CHECK(pb_len_field_size(9, 200) == 1 + 2 + 200);
    CHECK(pb_varint_len(127) == 1 && pb_varint_len(128) == 2);
    pb_out_free(&b);
}

enum { C_IN = 2, H = 6, W = 6, C_OUT = 3, K = 3, PH = 3, PW = 3, CLS = 4 };

static float wconv[C_OUT][C_IN][K][K], bconv[C_OUT], wfc[CLS][C_OUT * PH * PW], bfc[CLS], xin[C_IN][H][W];

static void fill(void) {
    unsigned s = 12345;
    float *all[] = {&wconv[0][0][0][0], bconv, &wfc[0][0], bfc, &xin[0][0][0]};
    size_t cnt[] = {sizeof wconv / 4, sizeof bconv / 4, sizeof wfc / 4, sizeof bfc / 4, sizeof xin / 4};
    for (int a = 0; a < 5; a++)
        for (size_t i = 0; i < cnt[a]; i++) {
            s = s * 1103515245u + 12345u;
            all[a][i] = (float)((s >> 16) % 2001) / 1000.0f - 1.0f;
        }
}

/* Conv (pad 1, stride 1) -> Relu -> MaxPool 2x2 stride 2 -> Flatten -> Gemm, in NCHW. */
static void reference(float *out) {
    float conv[C_OUT][H][W], pool[C_OUT][PH][PW];
    for (int o = 0; o < C_OUT; o++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double acc = bconv[o];
                for (int c = 0; c < C_IN; c++)
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            int iy = y + ky - 1, ix = x + kx - 1;
                            if (iy >= 0 && iy < H && ix >= 0 && ix < W) acc += (double)wconv[o][c][ky][kx] * xin[c][iy][ix];
                        }
                conv[o][y][x] = acc > 0 ? (float)acc : 0.0f;
            }
    for (int o = 0; o < C_OUT; o++)
        for (int y = 0; y < PH; y++)
            for (int x = 0; x < PW; x++) {
                float m = conv[o][2 * y][2 * x];
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) m = fmaxf(m, conv[o][2 * y + dy][2 * x + dx]);
                pool[o][y][x] = m;
            }
    for (int k = 0; k < CLS; k++) {
        double acc = bfc[k];
        for (int i = 0; i < C_OUT * PH * PW; i++) acc += (double)wfc[k][i] * (&pool[0][0][0])[i];
        out[k] = (float)acc;
    }
}

static int write_source(const char *path) {
    pbw g = {0}, node, model;
    const int64_t xd[4] = {1, C_IN, H, W}, yd[2] = {1, CLS}, wd[4] = {C_OUT, C_IN, K, K}, bd[1] = {C_OUT},
                  fd[2] = {CLS, C_OUT * PH * PW}, fbd[1] = {CLS};
    onnx_w_node_begin(&node, "Conv", "conv", (const char *const[]){"x", "w", "b", NULL}, (const char *const[]){"c", NULL});
    onnx_w_attr_ints(&node, "pads", (const int64_t[]){1, 1, 1, 1}, 4, 0);
    onnx_w_attr_ints(&node, "kernel_shape", (const int64_t[]){K, K}, 2, 0);
    pbw_take(&g, 1, &node);
    onnx_w_node_begin(&node, "Relu", "relu", (const char *const[]){"c", NULL}, (const char *const[]){"r", NULL});
    pbw_take(&g, 1, &node);
    onnx_w_node_begin(&node, "MaxPool", "pool", (const char *const[]){"r", NULL}, (const char *const[]){"p", NULL});
    onnx_w_attr_ints(&node, "kernel_shape", (const int64_t[]){2, 2}, 2, 0);
    onnx_w_attr_ints(&node, "strides", (const int64_t[]){2, 2}, 2, 0);
    pbw_take(&g, 1, &node);
    onnx_w_node_begin(&node, "Flatten", "flat", (const char *const[]){"p", NULL}, (const char *const[]){"f", NULL});
    pbw_take(&g, 1, &node);
    onnx_w_node_begin(&node, "Gemm", "fc", (const char *const[]){"f", "wf", "bf", NULL}, (const char *const[]){"y", NULL});
    onnx_w_attr_int(&node, "transB", 1);
    pbw_take(&g, 1, &node);
    pbw_str(&g, 2, "roundtrip");
    onnx_w_tensor_raw(&g, 5, "w", T_FLOAT, 4, wd, wconv, sizeof wconv);
    onnx_w_tensor_raw(&g, 5, "b", T_FLOAT, 1, bd, bconv, sizeof bconv);
    onnx_w_tensor_raw(&g, 5, "wf", T_FLOAT, 2, fd, wfc, sizeof wfc);
    onnx_w_tensor_raw(&g, 5, "bf", T_FLOAT, 1, fbd, bfc, sizeof bfc);
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 4, xd, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, 2, yd, NULL);
    onnx_w_model(&model, &g, 17);
    int rc = pbw_write_file(&model, path);
    pbw_free(&model);
    return rc;
}

static int run_model(const char *path, float *out) {
    me_model *m = NULL;
    me_session *s = NULL;
    me_error *err = NULL;
    int ok = 0;
    if (me_model_load(path, NULL, &m, &err) == ME_OK && me_session_create(m, &s, &err) == ME_OK &&
        me_session_set_input(s, 0, xin, sizeof xin, &err) == ME_OK && me_session_run(s, &err) == ME_OK) {
        const void *p;
        size_t n;
        if (me_session_get_output(s, 0, &p, &n) == ME_OK && n == CLS * sizeof(float)) {
            memcpy(out, p, n);
            ok = 1;
        }
    }
    if (err) fprintf(stderr, "%s: %s\n", path, me_error_message(err));
    me_error_free(err);
    me_session_destroy(s);
    me_model_free(m);
    return ok;
}

static void test_float_roundtrip(void) {
    char src[128], out[128];
    snprintf(src, sizeof src, "%s/src.onnx", tmpdir);
    snprintf(out, sizeof out, "%s/out.onnx", tmpdir);
    fill();
    CHECK(write_source(src) == 0);
    me_compile_options o;
    me_compile_options_init(&o);
    o.format = ME_FORMAT_ONNX_QDQ;
    me_error *err = NULL;
    me_status st = me_compile(src, out, &o, &err);
    if (err) fprintf(stderr, "%s\n", me_error_message(err));
    me_error_free(err);
    CHECK(st == ME_OK);
    float want[CLS], a[CLS], b[CLS];
    reference(want);
    CHECK(run_model(src, a));
    CHECK(run_model(out, b));
    for (int k = 0; k < CLS; k++) {
        CHECK_NEAR(a[k], want[k], 1e-4);
        CHECK_NEAR(b[k], want[k], 1e-4);
    }
    /* a failed export leaves nothing behind */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no_such_dir/out.onnx", tmpdir);
    CHECK(me_compile(src, bad, &o, &err) != ME_OK);
    me_error_free(err);
    CHECK(access(bad, F_OK) != 0);
    remove(src);
    remove(out);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/me_test_qdq_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_pb_encoding();
    test_float_roundtrip();
    rmdir(tmpdir);
    return check_exit();
}
