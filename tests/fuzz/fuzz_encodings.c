/* libFuzzer target: the encodings JSON reader (src/quant/encodings_json.c,
 * --quantization_overrides), both QNN schemas (legacy 0.x objects and 1.0.0
 * lists), against a small graph whose tensor names the seeds use. A file that
 * reads back is printed and parsed again: what we print must read back. */
#include "fuzz_common.h"
#include "quant/encodings_json.h"

static me_graph g;

static void build_graph(void) {
    me_diag d;
    me_diag_init(&d);
    if (me_graph_init(&g, &d) != ME_OK) abort();
    static const struct { const char *name; me_dtype dt; int rank; int64_t dims[4]; int flags; } ts[] = {
        {"input", ME_DT_F32, 4, {1, 8, 8, 3}, ME_TF_INPUT},
        {"conv.weight", ME_DT_F32, 4, {3, 3, 3, 4}, ME_TF_STATIC},
        {"conv.bias", ME_DT_F32, 1, {4}, ME_TF_STATIC},
        {"conv_out", ME_DT_F32, 4, {1, 8, 8, 4}, 0},
        {"relu_out", ME_DT_F32, 4, {1, 8, 8, 4}, 0},
        {"fc.weight", ME_DT_F32, 2, {16, 256}, ME_TF_STATIC},
        {"fc.bias", ME_DT_F32, 1, {16}, ME_TF_STATIC},
        {"output", ME_DT_F32, 2, {1, 16}, ME_TF_OUTPUT},
        {"ids", ME_DT_I32, 1, {5}, ME_TF_INPUT},
        {"0", ME_DT_F32, 0, {0}, 0},
    };
    static float zeros[16 * 256];
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        int t;
        if (ts[i].flags == ME_TF_STATIC) {
            int64_t n = 1;
            for (int k = 0; k < ts[i].rank; k++) n *= ts[i].dims[k];
            t = me_graph_add_static_ref(&g, ts[i].name, ts[i].dt, ts[i].rank, ts[i].dims, zeros, (size_t)n * 4, &d);
        } else {
            t = me_graph_add_tensor(&g, ts[i].name, ts[i].dt, ts[i].rank, ts[i].dims, &d);
        }
        if (t < 0) abort();
        if (ts[i].flags == ME_TF_INPUT && me_graph_add_input(&g, t) != ME_OK) abort();
        if (ts[i].flags == ME_TF_OUTPUT && me_graph_add_output(&g, t) != ME_OK) abort();
    }
    me_diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g.n_tensors) build_graph();
    const char *path = fuzz_write_file("encodings.json", data, size);
    me_diag d;
    me_diag_init(&d);
    me_enc_table t;
    if (me_enc_table_init(&t, g.n_tensors, &d) != ME_OK) abort();
    me_status st = me_encodings_read(path, &g, &t, &d);
    fuzz_note("encodings", st, &d);
    if (st == ME_OK) {
        /* as me_quantize_graph leaves the table before export: static tensors are params */
        for (int i = 0; i < g.n_tensors; i++)
            if (g.tensors[i].flags & ME_TF_STATIC) t.e[i].is_param = true;
        char *text = me_encodings_print(&g, &t);
        if (text) {
            me_enc_table t2;
            if (me_enc_table_init(&t2, g.n_tensors, &d) != ME_OK) abort();
            if (me_encodings_parse(text, "printed", &g, &t2, &d) != ME_OK) {
                fprintf(stderr, "printed encodings do not read back:\n%s\n%s\n", me_diag_text(&d), text);
                abort();
            }
            me_enc_table_free(&t2);
            free(text);
        }
    }
    me_enc_table_free(&t);
    me_diag_free(&d);
    return 0;
}
