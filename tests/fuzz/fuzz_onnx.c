/* libFuzzer target: the ONNX importer (src/frontend/onnx) through the path
 * `compile` takes: import, graph passes, IR verifier; then, for small graphs,
 * one run with zeroed inputs. An ME_ERR_INTERNAL status means an invariant
 * broke on some input: that is a finding, so the harness aborts on it. */
#include "api/api_internal.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_file("model.onnx", data, size);
    me_compile_options o;
    me_compile_options_init(&o);
    me_graph g;
    me_diag d;
    me_diag_init(&d);
    me_graph_init(&g, &d);
    me_status st = me_api_build_graph(path, &o, 1, &g, &d);
    fuzz_note("onnx", st, &d);
    if (st == ME_ERR_INTERNAL) {
        fprintf(stderr, "ME_ERR_INTERNAL on a fuzz input:\n%s\n", me_diag_text(&d));
        abort();
    }
    if (st == ME_OK) fuzz_run_graph(&g);
    me_graph_free(&g);
    me_diag_free(&d);
    return 0;
}
