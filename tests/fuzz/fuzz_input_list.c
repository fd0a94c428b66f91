/* libFuzzer target: both QNN input-list parsers, the library's
 * (me_input_list_load, src/quant/calib_list.c: calibration, verify) and the
 * CLI's (il_load, src/cli/input_list.c: `run --input_list`), against a model
 * with two inputs "x" (float32 [1,2], 8 bytes) and "y:0" (uint8 [3]) and an
 * output "out". The list's directory holds x.raw (8 bytes), y.raw (3 bytes)
 * and bad.raw (5 bytes) for the entries to find. */
#include "api/api_internal.h"
#include "cli/input_list.h"
#include "fuzz_common.h"
#include "quant/calib.h"

static me_model model;

static void setup(void) {
    me_diag d;
    me_diag_init(&d);
    me_graph *g = &model.g;
    if (me_graph_init(g, &d) != ME_OK) abort();
    int64_t dx[2] = {1, 2}, dy[1] = {3}, dout[1] = {4};
    int x = me_graph_add_tensor(g, "x", ME_DT_F32, 2, dx, &d);
    int y = me_graph_add_tensor(g, "y:0", ME_DT_U8, 1, dy, &d);
    int out = me_graph_add_tensor(g, "out", ME_DT_F32, 1, dout, &d);
    if (x < 0 || y < 0 || out < 0 || me_graph_add_input(g, x) || me_graph_add_input(g, y) || me_graph_add_output(g, out))
        abort();
    me_diag_free(&d);
    static const uint8_t zeros[8];
    fuzz_write_file("x.raw", zeros, 8);
    fuzz_write_file("y.raw", zeros, 3);
    fuzz_write_file("bad.raw", zeros, 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!model.g.n_tensors) setup();
    const char *path = fuzz_write_file("input_list.txt", data, size);
    me_diag d;
    me_diag_init(&d);
    me_input_list l;
    me_status st = me_input_list_load(path, &model.g, &l, &d);
    fuzz_note("input_list", st, &d);
    if (st == ME_OK) me_input_list_free(&l);
    me_diag_free(&d);
    input_list il;
    memset(&il, 0, sizeof il);
    if (il_load(path, &model, &il) == 0) il_free(&il);
    return 0;
}
