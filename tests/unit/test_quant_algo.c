/* Encoding algorithms, calibration statistics files and encodings JSON. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "quant/algo.h"
#include "quant/calib.h"
#include "quant/encodings_json.h"

/* Quantise as QNN defines it: q = clamp(round(x/scale) - offset, 0, 2^bw-1). */
static int code_of(double x, const me_enc1 *e) {
    double q = floor(x / e->scale + 0.5) - e->offset, hi = pow(2, e->bw) - 1;
    return (int)(q < 0 ? 0 : q > hi ? hi : q);
}

static void test_tf(void) {
    /* qnn.md §4.1 worked example */
    me_enc1 e = me_algo_tf(-1.8, 0.5, 8);
    CHECK_NEAR(e.scale, 2.3 / 255, 1e-7);
    CHECK(e.offset == -200);
    CHECK_NEAR(e.min, -1.803922, 1e-5);
    CHECK_NEAR(e.max, 0.496078, 1e-5);
    CHECK(code_of(-1.8, &e) == 0);
    CHECK(code_of(-1.0, &e) == 89);
    CHECK(code_of(0.0, &e) == 200);
    CHECK(code_of(0.5, &e) == 255);
    /* zero forced into the range */
    e = me_algo_tf(0.5, 2.0, 8);
    CHECK(e.offset == 0);
    CHECK_NEAR(e.scale, 2.0 / 255, 1e-8);
    e = me_algo_tf(-3.0, -1.0, 8);
    CHECK(e.offset == -255);
    CHECK_NEAR(e.scale, 3.0 / 255, 1e-8);
    /* minimum range */
    e = me_algo_tf(0, 0, 8);
    CHECK_NEAR(e.scale, 1e-4 / 255, 1e-12);
    /* 16 bit */
    e = me_algo_tf(-1, 1, 16);
    CHECK_NEAR(e.scale, 2.0 / 65535, 1e-10);
    CHECK(e.offset == -32768 || e.offset == -32767);
}

static void test_symmetric_adjusted(void) {
    me_enc1 e = me_algo_symmetric(-1.0, 0.5, 8);
    CHECK_NEAR(e.scale, 1.0 / 127, 1e-8);
    CHECK(e.offset == -128);
    CHECK(e.sym);
    e = me_algo_symmetric(-0.3, 1.4, 4);
    CHECK_NEAR(e.scale, 0.2, 1e-7); /* 1.4 / 7 */
    CHECK(e.offset == -8);
    /* adjusted widens instead of sliding: [-1, 2.2] -> zero code 80, scale 2.2/175 */
    e = me_algo_adjusted(-1.0, 2.2, 8);
    CHECK(e.offset == -80);
    CHECK_NEAR(e.scale, 2.2 / 175, 1e-7);
    CHECK(e.min <= -1.0 && e.max >= 2.2 - 1e-6);
    me_enc1 t = me_algo_tf(-1.0, 2.2, 8);
    CHECK(t.offset == -80);
    CHECK(t.max < 2.2); /* tf slid the window */
    CHECK_NEAR(me_algo_weight_scale(1.27, 8), 0.01, 1e-8);
    CHECK_NEAR(me_algo_weight_scale(1.4, 4), 0.2, 1e-7);
    CHECK_NEAR(me_algo_weight_scale(3.2767, 16), 1e-4, 1e-10);
}

static me_calib_tensor stats_of(const float *x, int64_t n) {
    me_calib_tensor c;
    me_calib_of_data(x, n, &c, NULL);
    return c;
}

static void test_enhanced(void) {
    enum { N = 100000 };
    float *x = malloc(N * sizeof *x);
    /* long tail: a dense body in [-1, 1] and a rare outlier at 100; tf spends the
     * grid on the outlier (step 101/255), enhanced clips it: its expected cost
     * (body noise + 3 x outlier clipping, written out here) is far lower */
    me_calib_tensor c = {0};
    c.min = -1;
    c.max = 100;
    c.hist = calloc(ME_CALIB_BINS, sizeof *c.hist);
    double w = 101.0 / ME_CALIB_BINS;
    for (int b = 0; (b + 1) * w <= 2.0; b++) { c.hist[b] = 100000000; c.count += c.hist[b]; }
    c.hist[ME_CALIB_BINS - 1] = 1;
    c.count += 1;
    me_enc1 tf = me_algo_tf(c.min, c.max, 8);
    me_enc1 en = me_algo_enhanced(&c, 8, false);
    CHECK(en.max < 5);                          /* the tail is clipped */
    CHECK(en.min <= -0.9);
    double p_out = 1.0 / (double)c.count;
    double cost_tf = tf.scale * (double)tf.scale / 12;
    double cost_en = en.scale * (double)en.scale / 12 + 3 * p_out * (100 - en.max) * (100 - en.max);
    CHECK(cost_en < cost_tf / 10);
    free(c.hist);
    /* no tail: enhanced keeps (about) the full range */
    for (int i = 0; i < N; i++) x[i] = (float)(-1.0 + 2.0 * ((i * 7919) % N) / (double)N);
    c = stats_of(x, N);
    en = me_algo_enhanced(&c, 8, false);
    CHECK(en.max > 0.85 && en.min < -0.85);
    free(c.hist);
    /* percentile: 0..999, p = 99 -> max about 990 */
    for (int i = 0; i < 1000; i++) x[i] = (float)i;
    c = stats_of(x, 1000);
    double lo, hi;
    me_algo_calib_range(&c, ME_CALIB_PERCENTILE, 99.0, 8, &lo, &hi);
    CHECK(hi > 985 && hi < 995);
    me_algo_calib_range(&c, ME_CALIB_PERCENTILE, 100.0, 8, &lo, &hi);
    CHECK_NEAR(hi, 999, 1e-9);
    me_algo_calib_range(&c, ME_CALIB_MIN_MAX, 0, 8, &lo, &hi);
    CHECK_NEAR(lo, 0, 1e-9);
    CHECK_NEAR(hi, 999, 1e-9);
    free(c.hist);
    free(x);
}

static void test_calib_file(void) {
    float x[6] = {-2, 0, 1, 3, 7, NAN};
    me_calib_stats s = {0};
    s.n = 1;
    s.n_samples = 3;
    s.t = calloc(1, sizeof *s.t);
    me_calib_of_data(x, 6, &s.t[0], NULL);
    s.t[0].name = strdup("act/0");
    char path[] = "/tmp/me_test_calibXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    me_diag d;
    me_diag_init(&d);
    CHECK(me_calib_save(&s, path, &d) == ME_OK);
    me_calib_stats r;
    CHECK(me_calib_load(path, &r, &d) == ME_OK);
    CHECK(r.n == 1 && r.n_samples == 3);
    if (r.n == 1) {
        CHECK(strcmp(r.t[0].name, "act/0") == 0);
        CHECK(r.t[0].min == -2 && r.t[0].max == 7 && r.t[0].count == 5 && r.t[0].nonfinite == 1);
        CHECK(r.t[0].hist[0] == 1 && r.t[0].hist[ME_CALIB_BINS - 1] == 1);
        CHECK(me_calib_find(&r, "act/0") == &r.t[0]);
    }
    me_calib_free(&r);
    /* a truncated file is refused with the file named */
    CHECK(truncate(path, 40) == 0);
    me_diag_clear(&d);
    CHECK(me_calib_load(path, &r, &d) == ME_ERR_FORMAT);
    CHECK(strstr(me_diag_text(&d), path) != NULL);
    /* fuzzing: a 20-byte header claiming 2^24 tensors was answered by
     * allocating 800 MB of records before reading any; the count is now
     * checked against the file's size first */
    FILE *f = fopen(path, "wb");
    uint32_t h[3] = {ME_CALIB_BINS, 1u << 24, 1};
    CHECK(f && fwrite("MECALIB1", 1, 8, f) == 8 && fwrite(h, 4, 3, f) == 3);
    if (f) fclose(f);
    me_diag_clear(&d);
    CHECK(me_calib_load(path, &r, &d) == ME_ERR_FORMAT);
    CHECK(strstr(me_diag_text(&d), "implausible tensor count") != NULL);
    unlink(path);
    me_calib_free(&s);
    me_diag_free(&d);
}

/* A graph with an activation "x" and a static weight "w" [1,1,1,2]. */
static void small_graph(me_graph *g) {
    me_graph_init(g, NULL);
    int64_t dx[2] = {1, 4}, dw[4] = {1, 1, 1, 2};
    static const float w[2] = {0.5f, -1.0f};
    me_graph_add_tensor(g, "x", ME_DT_F32, 2, dx, NULL);
    me_graph_add_static_copy(g, "w", ME_DT_F32, 4, dw, w, sizeof w, NULL);
}

static me_status parse(const me_graph *g, const char *json, me_enc_table *t, me_diag *d) {
    me_enc_table_init(t, g->n_tensors, d);
    me_diag_clear(d);
    return me_encodings_parse(json, "enc.json", g, t, d);
}

static void test_json(void) {
    me_graph g;
    small_graph(&g);
    me_diag d;
    me_diag_init(&d);
    me_enc_table t;
    /* legacy: scale/offset used as given; min/max derivation when absent */
    CHECK(parse(&g,
                "{\"activation_encodings\": {\"x\": [{\"bitwidth\": 8, \"dtype\": \"int\", \"is_symmetric\": \"False\","
                " \"max\": 0.496078, \"min\": -1.803922, \"offset\": -200, \"scale\": 0.009020}]},"
                " \"param_encodings\": {\"w\": [{\"bitwidth\": 8, \"is_symmetric\": \"True\", \"min\": -1.0, \"max\": 0.5},"
                " {\"bitwidth\": 8, \"is_symmetric\": \"True\", \"min\": -2.54, \"max\": 1}]}}",
                &t, &d) == ME_OK);
    CHECK(t.e[0].kind == ME_TENC_INT && t.e[0].n == 1 && t.e[0].offsets[0] == -200);
    CHECK_NEAR(t.e[0].scales[0], 0.009020, 1e-9);
    CHECK(t.e[1].kind == ME_TENC_INT && t.e[1].n == 2 && t.e[1].sym);
    CHECK_NEAR(t.e[1].scales[0], 1.0 / 127, 1e-8);
    CHECK_NEAR(t.e[1].scales[1], 0.02, 1e-8);
    CHECK(t.e[1].offsets[1] == -128);
    /* fuzzing: a legacy min/max range too wide for a float scale (4.9e59 / 255
     * overflows float) was accepted with an infinite scale and printed as null */
    me_enc_table wide;
    CHECK(parse(&g, "{\"activation_encodings\": {\"x\": [{\"bitwidth\": 8, \"min\": 0, \"max\": 4.9e59}]},"
                    " \"param_encodings\": {}}", &wide, &d) == ME_ERR_FORMAT);
    CHECK(strstr(me_diag_text(&d), "scale must be positive and finite") != NULL);
    me_enc_table_free(&wide);
    /* fuzzing: a scale that is positive as a double but 0 as a float */
    CHECK(parse(&g, "{\"version\": \"1.0.0\", \"activation_encodings\": [], \"param_encodings\": [{\"name\": \"w\","
                    " \"dtype\": \"INT\", \"bw\": 8, \"scale\": [1e-85], \"offset\": [0]}]}", &wide, &d) == ME_ERR_FORMAT);
    CHECK(strstr(me_diag_text(&d), "scale must be positive and finite") != NULL);
    me_enc_table_free(&wide);
    /* fuzzing: a 4-bit param_encodings entry naming an activation was accepted
     * (and exported as an activation encoding that does not read back) */
    CHECK(parse(&g, "{\"activation_encodings\": {}, \"param_encodings\": {\"x\": [{\"bitwidth\": 4,"
                    " \"min\": -1, \"max\": 1}]}}", &wide, &d) == ME_ERR_FORMAT);
    CHECK(strstr(me_diag_text(&d), "bitwidth 4") != NULL);
    me_enc_table_free(&wide);
    CHECK(parse(&g, "{\"activation_encodings\": {}, \"param_encodings\": {\"w\": [{\"bitwidth\": 4,"
                    " \"min\": -1, \"max\": 1}]}}", &wide, &d) == ME_OK);
    me_enc_table_free(&wide);
    /* print -> parse gives the same encodings */
    t.e[1].is_param = true;
    char *text = me_encodings_print(&g, &t);
    me_enc_table u;
    CHECK(text && parse(&g, text, &u, &d) == ME_OK);
    for (int i = 0; i < 2; i++) {
        CHECK(u.e[i].kind == t.e[i].kind && u.e[i].n == t.e[i].n && u.e[i].bw == t.e[i].bw && u.e[i].sym == t.e[i].sym);
        for (int c = 0; c < t.e[i].n && c < u.e[i].n; c++) {
            CHECK(u.e[i].scales[c] == t.e[i].scales[c]);
            CHECK(u.e[i].offsets[c] == t.e[i].offsets[c]);
        }
    }
    free(text);
    me_enc_table_free(&u);
    me_enc_table_free(&t);

    /* version 1.0.0: per-channel entry and a float activation */
    CHECK(parse(&g,
                "{\"version\": \"1.0.0\", \"activation_encodings\": [{\"name\": \"x\", \"dtype\": \"FLOAT\", \"bw\": 16,"
                " \"enc_type\": \"PER_TENSOR\"}], \"param_encodings\": [{\"name\": \"w\", \"dtype\": \"INT\", \"enc_type\":"
                " \"PER_CHANNEL\", \"bw\": 4, \"is_sym\": true, \"scale\": [0.1, 0.25], \"offset\": [-8, -8]}]}",
                &t, &d) == ME_OK);
    CHECK(t.e[0].kind == ME_TENC_FLOAT && t.e[0].bw == 16);
    CHECK(t.e[1].kind == ME_TENC_INT && t.e[1].bw == 4 && t.e[1].n == 2 && t.e[1].offsets[0] == -8);
    CHECK_NEAR(t.e[1].scales[1], 0.25, 1e-9);
    me_enc_table_free(&t);

    /* LPBQ: per-channel scales, one integer multiplier per channel x block */
    CHECK(parse(&g,
                "{\"version\": \"1.0.0\", \"activation_encodings\": [], \"param_encodings\": [{\"name\": \"w\","
                " \"dtype\": \"INT\", \"enc_type\": \"LPBQ\", \"bw\": 8, \"compressed_bw\": 4, \"block_size\": 2,"
                " \"is_sym\": true, \"scale\": [0.5, 0.25], \"offset\": [-8, -128], \"per_block_int_scale\": [1, 16, 3, 4]}]}",
                &t, &d) == ME_OK);
    CHECK(t.e[1].kind == ME_TENC_INT && t.e[1].bw == 8 && t.e[1].n == 2 && t.e[1].block_size == 2 &&
          t.e[1].compressed_bw == 4 && t.e[1].n_blocks == 2 && t.e[1].offsets[0] == -128 && t.e[1].offsets[1] == -128);
    CHECK(t.e[1].block_scales && t.e[1].block_scales[1] == 16 && t.e[1].block_scales[3] == 4);
    {   /* written back in schema 1.0.0 (the legacy one has no LPBQ) with the same fields */
        char *text = me_encodings_print(&g, &t);
        CHECK(text && strstr(text, "\"1.0.0\"") && strstr(text, "\"LPBQ\"") && strstr(text, "per_block_int_scale"));
        free(text);
    }
    me_enc_table_free(&t);

    /* errors name the file and the line / tensor / field */
    static const struct { const char *json; const char *needle; } bad[] = {
        {"{\n\"activation_encodings\": {\n\"x\": [{\"bitwidth\": 8,,}]}}", "line 3"},
        {"{\"activation_encodings\": {\"nope\": [{\"bitwidth\": 8, \"min\": 0, \"max\": 1}]}, \"param_encodings\": {}}", "'nope'"},
        {"{\"activation_encodings\": {\"x\": [{\"bitwidth\": 12, \"min\": 0, \"max\": 1}]}, \"param_encodings\": {}}", "bitwidth 12"},
        {"{\"activation_encodings\": {\"x\": [{\"bitwidth\": 8, \"is_symmetric\": \"maybe\", \"min\": 0, \"max\": 1}]}, \"param_encodings\": {}}", "is_symmetric"},
        {"{\"activation_encodings\": {\"x\": [{\"bitwidth\": 8, \"scale\": -1, \"offset\": 0}]}, \"param_encodings\": {}}", "scale"},
        {"{\"activation_encodings\": {\"x\": [{\"min\": 0, \"max\": 1}]}, \"param_encodings\": {}}", "'bitwidth' is missing"},
        {"{\"activation_encodings\": {}}", "'param_encodings' is missing"},
        {"{\"version\": \"1.0.0\", \"activation_encodings\": [], \"param_encodings\": [{\"name\": \"w\", \"dtype\": \"INT\","
         " \"enc_type\": \"LPBQ\", \"bw\": 4, \"is_sym\": true, \"scale\": [1], \"offset\": [-8]}]}", "decompressed bitwidth"},
        {"{\"version\": \"1.0.0\", \"activation_encodings\": [], \"param_encodings\": [{\"name\": \"w\", \"dtype\": \"INT\","
         " \"enc_type\": \"PER_BLOCK\", \"bw\": 4, \"is_sym\": true, \"scale\": [1], \"offset\": [-8]}]}", "PER_BLOCK"},
        {"{\"version\": \"1.0.0\", \"activation_encodings\": [], \"param_encodings\": [{\"name\": \"w\", \"dtype\": \"INT\","
         " \"enc_type\": \"LPBQ\", \"bw\": 8, \"compressed_bw\": 4, \"block_size\": 2, \"is_sym\": true, \"scale\": [1, 2],"
         " \"offset\": [-128, -128], \"per_block_int_scale\": [1, 2, 3]}]}", "per_block_int_scale"},
        {"{\"version\": \"1.0.0\", \"activation_encodings\": [], \"param_encodings\": [{\"name\": \"w\", \"dtype\": \"INT\","
         " \"enc_type\": \"LPBQ\", \"bw\": 8, \"compressed_bw\": 4, \"block_size\": 2, \"is_sym\": true, \"scale\": [1, 2],"
         " \"offset\": [-128, -128], \"per_block_int_scale\": [1, 17]}]}", "per_block_int_scale"},
        {"{\"version\": \"1.0.0\", \"activation_encodings\": [{\"name\": \"x\", \"bw\": 8, \"scale\": [0.1, 0.2], \"offset\": [0]}],"
         " \"param_encodings\": []}", "offset"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        me_status st = parse(&g, bad[i].json, &t, &d);
        CHECK(st != ME_OK);
        CHECK(strstr(me_diag_text(&d), "enc.json") != NULL);
        if (!strstr(me_diag_text(&d), bad[i].needle))
            fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, me_diag_text(&d), bad[i].needle);
        CHECK(strstr(me_diag_text(&d), bad[i].needle) != NULL);
        me_enc_table_free(&t);
    }
    me_diag_free(&d);
    me_graph_free(&g);
}

int main(void) {
    test_tf();
    test_symmetric_adjusted();
    test_enhanced();
    test_calib_file();
    test_json();
    return check_exit();
}
