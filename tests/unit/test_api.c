/* Public API: error paths (missing files, wrong formats and sizes, refused
 * output formats, NULL frees), a DLC loaded and run through sessions, and
 * me_inspect's text and JSON. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/dlc/dlc.h"
#include "check.h"
#include "modelexport.h"
#include "ops/ops.h"

static char tmpdir[64];

static void tmp_path(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", tmpdir, name); }

static int exists(const char *p) { return access(p, F_OK) == 0; }

static int write_text(const char *p, const char *s) {
    FILE *f = fopen(p, "wb");
    if (!f) return 0;
    fputs(s, f);
    return fclose(f) == 0;
}

/* y = relu(x + b) with x [2,2] input, b static; scopes /enc/l0 and /enc/l1. */
static int make_dlc(const char *path) {
    me_graph g;
    me_graph_init(&g, NULL);
    int64_t dims[2] = {2, 2};
    const float b[4] = {1, 2, 3, 4};
    int tx = me_graph_add_tensor(&g, "x", ME_DT_F32, 2, dims, NULL);
    int tb = me_graph_add_static_copy(&g, "b", ME_DT_F32, 2, dims, b, sizeof b, NULL);
    me_graph_add_input(&g, tx);
    int ta = me_graph_add_tensor(&g, "a", ME_DT_F32, 2, dims, NULL);
    int ty = me_graph_add_tensor(&g, "y:0", ME_DT_F32, 2, dims, NULL);
    int in0[2] = {tx, tb};
    int n0 = me_graph_add_node(&g, "add", ME_OP_ADD, in0, 2, &ta, 1, "/enc/l0", NULL);
    int n1 = me_graph_add_node(&g, "relu", ME_OP_RELU, &ta, 1, &ty, 1, "/enc/l1", NULL);
    me_graph_add_output(&g, ty);
    me_diag d;
    me_diag_init(&d);
    int ok = n0 >= 0 && n1 >= 0 && me_opdefs[ME_OP_ADD]->infer(&g, &g.nodes[n0], &d) == ME_OK &&
             me_opdefs[ME_OP_RELU]->infer(&g, &g.nodes[n1], &d) == ME_OK && me_dlc_write(&g, path, &d) == ME_OK;
    if (!ok) fprintf(stderr, "make_dlc: %s\n", me_diag_text(&d));
    me_diag_free(&d);
    me_graph_free(&g);
    return ok;
}

static void test_null_and_messages(void) {
    me_error_free(NULL);
    me_model_free(NULL);
    me_session_destroy(NULL);
    me_string_free(NULL);
    CHECK(me_error_message(NULL) != NULL);
    CHECK(me_model_num_inputs(NULL) == 0);
    CHECK(me_model_find_input(NULL, "x") == -1);
    me_tensor_info ti;
    CHECK(me_model_input_info(NULL, 0, &ti) == ME_ERR_INVALID_ARG);
    CHECK(strcmp(me_status_str(ME_ERR_FORMAT), "malformed input") == 0);
    me_compile_options o;
    me_compile_options_init(&o);
    CHECK(o.optimize == 1 && o.format == ME_FORMAT_AUTO && o.stats == NULL);
}

static void test_load_errors(void) {
    char p[128];
    me_model *m = (me_model *)&m; /* must be overwritten with NULL */
    me_error *err = NULL;
    tmp_path(p, sizeof p, "missing.dlc");
    CHECK(me_model_load(p, NULL, &m, &err) == ME_ERR_IO);
    CHECK(m == NULL);
    CHECK(err && strstr(me_error_message(err), "missing.dlc"));
    me_error_free(err);

    tmp_path(p, sizeof p, "notes.txt");
    write_text(p, "hello");
    err = NULL;
    CHECK(me_model_load(p, NULL, &m, &err) == ME_ERR_FORMAT);
    CHECK(err && strstr(me_error_message(err), "neither"));
    me_error_free(err);

    tmp_path(p, sizeof p, "junk.dlc");
    write_text(p, "MEDLC\0\0\0 but nothing else of a DLC");
    CHECK(me_model_load(p, NULL, &m, NULL) == ME_ERR_FORMAT); /* err may be NULL */

    tmp_path(p, sizeof p, "empty.dlc");
    write_text(p, "");
    err = NULL;
    CHECK(me_model_load(p, NULL, &m, &err) == ME_ERR_FORMAT);
    CHECK(err && strstr(me_error_message(err), "empty"));
    me_error_free(err);

    char *text = NULL;
    err = NULL;
    tmp_path(p, sizeof p, "missing.onnx");
    CHECK(me_inspect(p, 0, &text, &err) == ME_ERR_IO);
    CHECK(text == NULL);
    me_error_free(err);
}

static void test_compile_refusals(void) {
    char out[128];
    me_error *err = NULL;
    const char *onnx = "../shared/conformance/onnx-node/test_add/model.onnx";
    me_compile_options o;
    me_compile_options_init(&o);
    /* a Qualcomm (HTP) context binary needs the QNN SDK */
    tmp_path(out, sizeof out, "model.bin");
    o.backend = "htp";
    CHECK(me_compile(onnx, out, &o, &err) == ME_ERR_UNSUPPORTED);
    CHECK(err && strstr(me_error_message(err), "QNN SDK"));
    me_error_free(err);
    CHECK(!exists(out));
    o.backend = NULL;

    o.format = ME_FORMAT_CPP;
    tmp_path(out, sizeof out, "model.dlc");
    err = NULL;
    CHECK(me_compile(onnx, out, &o, &err) == ME_ERR_UNSUPPORTED);
    CHECK(err && strstr(me_error_message(err), "'cpp'"));
    me_error_free(err);
    CHECK(!exists(out));

    tmp_path(out, sizeof out, "model.weird");
    err = NULL;
    CHECK(me_compile(onnx, out, NULL, &err) == ME_ERR_INVALID_ARG);
    CHECK(err && strstr(me_error_message(err), "--format"));
    me_error_free(err);

    /* a missing input leaves no output behind */
    tmp_path(out, sizeof out, "model.dlc");
    err = NULL;
    CHECK(me_compile("/nonexistent/model.onnx", out, NULL, &err) == ME_ERR_IO);
    me_error_free(err);
    CHECK(!exists(out));
}

static void test_session(const char *dlc) {
    me_model *m = NULL;
    me_error *err = NULL;
    CHECK(me_model_load(dlc, NULL, &m, &err) == ME_OK);
    if (!m) { fprintf(stderr, "%s\n", me_error_message(err)); me_error_free(err); return; }
    CHECK(me_model_num_inputs(m) == 1 && me_model_num_outputs(m) == 1);
    me_tensor_info ti;
    CHECK(me_model_input_info(m, 0, &ti) == ME_OK);
    CHECK(strcmp(ti.name, "x") == 0 && ti.dtype == ME_DT_F32 && ti.rank == 2 && ti.nbytes == 16);
    CHECK(me_model_input_info(m, 1, &ti) == ME_ERR_INVALID_ARG);
    CHECK(me_model_output_info(m, 0, &ti) == ME_OK && strcmp(ti.name, "y:0") == 0);
    CHECK(me_model_find_output(m, "y:0") == 0 && me_model_find_input(m, "nope") == -1);

    me_session *s = NULL;
    CHECK(me_session_create(m, &s, &err) == ME_OK);
    const float x[4] = {-5, 0, 1, -3.5f};
    err = NULL;
    CHECK(me_session_set_input(s, 0, x, 12, &err) == ME_ERR_INVALID_ARG); /* wrong size */
    CHECK(err && strstr(me_error_message(err), "needs 16 bytes, got 12"));
    me_error_free(err);
    err = NULL;
    CHECK(me_session_set_input(s, 3, x, 16, &err) == ME_ERR_INVALID_ARG); /* wrong index */
    me_error_free(err);
    CHECK(me_session_set_input(s, 0, x, sizeof x, NULL) == ME_OK);
    CHECK(me_session_run(s, NULL) == ME_OK);
    const void *data;
    size_t nb;
    CHECK(me_session_get_output(s, 1, &data, &nb) == ME_ERR_INVALID_ARG);
    CHECK(me_session_get_output(s, 0, &data, &nb) == ME_OK && nb == 16);
    const float *y = data;
    const float want[4] = {0, 2, 4, 0.5f}; /* relu(x + {1,2,3,4}) */
    for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], want[i], 0);
    me_session_destroy(s);
    me_model_free(m);
}

static void test_inspect(const char *dlc) {
    char *text = NULL;
    me_error *err = NULL;
    CHECK(me_inspect(dlc, 0, &text, &err) == ME_OK);
    if (!text) { fprintf(stderr, "%s\n", me_error_message(err)); me_error_free(err); return; }
    CHECK(strstr(text, "version 1") != NULL);
    CHECK(strstr(text, "ElementWiseAdd") != NULL && strstr(text, "Relu") != NULL);
    CHECK(strstr(text, "\n/ (2)\n  /enc (2)\n    /l0 (1)\n    /l1 (1)\n") != NULL);
    CHECK(strstr(text, "parameters: 4 ") != NULL);
    me_string_free(text);

    CHECK(me_inspect(dlc, 1, &text, NULL) == ME_OK);
    cJSON *j = cJSON_Parse(text);
    CHECK(j != NULL);
    if (j) {
        CHECK(cJSON_GetObjectItem(j, "parameters")->valuedouble == 4);
        CHECK(cJSON_GetObjectItem(j, "format_version")->valuedouble == 1);
        cJSON *ops = cJSON_GetObjectItem(j, "ops");
        CHECK(ops && cJSON_GetObjectItem(ops, "Relu")->valuedouble == 1);
        cJSON *h = cJSON_GetObjectItem(j, "hierarchy");
        CHECK(h && cJSON_GetObjectItem(h, "nodes")->valuedouble == 2);
        cJSON *enc = cJSON_GetArrayItem(cJSON_GetObjectItem(h, "children"), 0);
        CHECK(enc && strcmp(cJSON_GetObjectItem(enc, "name")->valuestring, "/enc") == 0);
        CHECK(enc && cJSON_GetArraySize(cJSON_GetObjectItem(enc, "children")) == 2);
        cJSON_Delete(j);
    }
    me_string_free(text);
}

/* Needs the shared conformance cases (present beside the repository). */
static void test_compile_onnx(void) {
    const char *onnx = "../shared/conformance/onnx-node/test_add/model.onnx";
    if (!exists(onnx)) { printf("skipping the ONNX compile check: %s is absent\n", onnx); return; }
    char out[128];
    tmp_path(out, sizeof out, "add.dlc");
    me_compile_options o;
    me_compile_options_init(&o);
    me_compile_stats st;
    o.stats = &st;
    o.command_line = "modelexport compile-qnn test_add.onnx add.dlc";
    me_error *err = NULL;
    CHECK(me_compile(onnx, out, &o, &err) == ME_OK);
    if (err) { fprintf(stderr, "%s\n", me_error_message(err)); me_error_free(err); return; }
    struct stat fs;
    CHECK(stat(out, &fs) == 0 && (uint64_t)fs.st_size == st.file_bytes);
    CHECK(st.n_nodes == 1 && st.n_params == 0);
    me_model *m = NULL;
    CHECK(me_model_load(out, NULL, &m, NULL) == ME_OK);
    CHECK(me_model_num_inputs(m) == 2);
    me_model_free(m);
    char *text = NULL;
    CHECK(me_inspect(out, 0, &text, NULL) == ME_OK);
    CHECK(text && strstr(text, "compile options: modelexport compile-qnn test_add.onnx add.dlc"));
    me_string_free(text);
    CHECK(me_inspect(onnx, 0, &text, NULL) == ME_OK);
    CHECK(text && strstr(text, "format: ONNX"));
    me_string_free(text);
    /* compiling a DLC again is refused */
    char out2[128];
    tmp_path(out2, sizeof out2, "again.dlc");
    err = NULL;
    CHECK(me_compile(out, out2, NULL, &err) != ME_OK);
    me_error_free(err);
    CHECK(!exists(out2));
    unlink(out);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/me_test_apiXXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    test_null_and_messages();
    test_load_errors();
    test_compile_refusals();
    char dlc[128];
    tmp_path(dlc, sizeof dlc, "tiny.dlc");
    CHECK(make_dlc(dlc));
    test_session(dlc);
    test_inspect(dlc);
    test_compile_onnx();
    const char *names[] = {"tiny.dlc", "notes.txt", "junk.dlc", "empty.dlc"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[128];
        tmp_path(p, sizeof p, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    return check_exit();
}
