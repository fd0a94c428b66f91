/* DLC container: write a hand-built graph, read it back and compare every
 * field; the read graph runs and gives hand-computed values; every flipped
 * byte and every truncation is rejected; corruptions with a repaired CRC
 * never crash the reader (and a file it accepts runs safely). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "backend/dlc/dlc.h"
#include "check.h"
#include "ops/ops.h"
#include "runtime/exec.h"

static char tmpdir[64];

static void path_in_tmp(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", tmpdir, name); }

static int add_node(me_graph *g, const char *name, int op, const int *in, int nin, const char *out, const char *scope) {
    int o = me_graph_add_tensor(g, out, ME_DT_F32, 0, NULL, NULL);
    return me_graph_add_node(g, name, op, in, nin, &o, 1, scope, NULL);
}

static int infer(me_graph *g, int n) {
    me_diag d;
    me_diag_init(&d);
    me_status st = me_opdefs[g->nodes[n].op]->infer(g, &g->nodes[n], &d);
    if (st != ME_OK) fprintf(stderr, "infer %s: %s\n", g->nodes[n].name, me_diag_text(&d));
    me_diag_free(&d);
    return st == ME_OK;
}

static const float X[6] = {1, -2, 3, -4, 5, -6};
static const float W[6] = {0.5f, 0.5f, 0.5f, 1, 1, 1};

/* x[2,3] + w -> a; ReluMinMax(0,6) -> r; Transpose [1,0] -> t[3,2]; Softmax(axis 1) -> y.
 * Outputs: y and a. Plus two unused statics (packed int4, empty int64). */
static int build_graph(me_graph *g) {
    me_graph_init(g, NULL);
    g->name = "tiny";
    for (int i = 0; i < 32; i++) g->source_hash[i] = (uint8_t)(i * 7 + 1);
    g->source_path = "models/tiny.onnx";
    g->compile_options = "modelexport compile-qnn tiny.onnx tiny.dlc --input-dim x 2,3";
    int64_t d23[2] = {2, 3}, d5[1] = {5}, d0[1] = {0};
    int x = me_graph_add_tensor(g, "x", ME_DT_F32, 2, d23, NULL);
    int w = me_graph_add_static_copy(g, "w", ME_DT_F32, 2, d23, W, sizeof W, NULL);
    uint8_t nib[3] = {0x21, 0x43, 0x05};
    int q = me_graph_add_static_copy(g, "packed", ME_DT_I4, 1, d5, nib, 3, NULL);
    int e = me_graph_add_static_copy(g, "empty", ME_DT_I64, 1, d0, NULL, 0, NULL);
    if (x < 0 || w < 0 || q < 0 || e < 0) return 0;
    me_qenc *enc = me_arena_calloc(&g->arena, 1, sizeof *enc);
    enc->kind = ME_QENC_AXIS_SCALE_OFFSET;
    enc->bitwidth = 8;
    enc->is_signed = true;
    enc->axis = 1;
    enc->n = 3;
    enc->scales = me_arena_calloc(&g->arena, 3, sizeof(float));
    enc->offsets = me_arena_calloc(&g->arena, 3, sizeof(int32_t));
    for (int i = 0; i < 3; i++) { enc->scales[i] = 0.25f * (float)(i + 1); enc->offsets[i] = -i; }
    g->tensors[w].qenc = enc;
    me_qenc *enc2 = me_arena_calloc(&g->arena, 1, sizeof *enc2);
    enc2->kind = ME_QENC_SCALE_OFFSET;
    enc2->bitwidth = 4;
    enc2->n = 1;
    enc2->scales = me_arena_calloc(&g->arena, 1, sizeof(float));
    enc2->offsets = me_arena_calloc(&g->arena, 1, sizeof(int32_t));
    enc2->scales[0] = 0.125f;
    enc2->offsets[0] = -8;
    g->tensors[q].qenc = enc2;
    if (me_graph_add_input(g, x) != ME_OK) return 0;

    int in_add[2] = {x, w};
    int n0 = add_node(g, "Add_0", ME_OP_ADD, in_add, 2, "a", "/block/add");
    me_node_add_source(g, n0, "/block/Add");
    me_node_add_source(g, n0, "/block/Add_extra");
    if (!infer(g, n0)) return 0;
    int a = me_graph_find_tensor(g, "a");
    int n1 = add_node(g, "Relu6_0", ME_OP_RELU_MIN_MAX, &a, 1, "r", "/block");
    me_node_set_scalar_f32(g, n1, "min_value", 0.0f);
    me_node_set_scalar_f32(g, n1, "max_value", 6.0f);
    if (!infer(g, n1)) return 0;
    int r = me_graph_find_tensor(g, "r");
    int n2 = add_node(g, "Transpose_0", ME_OP_TRANSPOSE, &r, 1, "t", "/head");
    int64_t pd[1] = {2}, pv[2] = {1, 0};
    me_node_set_tensor_int(g, n2, "perm", ME_DT_U32, 1, pd, pv);
    if (!infer(g, n2)) return 0;
    int t = me_graph_find_tensor(g, "t");
    int n3 = add_node(g, "Softmax_0", ME_OP_SOFTMAX, &t, 1, "y", "/head/softmax");
    me_node_set_scalar_u32(g, n3, "axis", 1);
    me_node_set_scalar_f32(g, n3, "beta", 1.0f);
    if (!infer(g, n3)) return 0;
    if (me_graph_add_output(g, me_graph_find_tensor(g, "y")) != ME_OK) return 0;
    if (me_graph_add_output(g, a) != ME_OK) return 0;
    me_diag d;
    me_diag_init(&d);
    me_status st = me_graph_verify(g, &d);
    if (st != ME_OK) fprintf(stderr, "verify: %s\n", me_diag_text(&d));
    me_diag_free(&d);
    return st == ME_OK;
}

static int same_str(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

static void compare_graphs(const me_graph *a, const me_graph *b) {
    CHECK(same_str(a->name, b->name));
    CHECK(memcmp(a->source_hash, b->source_hash, 32) == 0);
    CHECK(same_str(a->source_path, b->source_path));
    CHECK(same_str(a->compile_options, b->compile_options));
    CHECK(a->n_tensors == b->n_tensors);
    CHECK(a->n_nodes == b->n_nodes);
    CHECK(a->n_inputs == b->n_inputs && a->n_outputs == b->n_outputs);
    if (a->n_tensors != b->n_tensors || a->n_nodes != b->n_nodes) return;
    for (int i = 0; i < a->n_inputs && i < b->n_inputs; i++) CHECK(a->inputs[i] == b->inputs[i]);
    for (int i = 0; i < a->n_outputs && i < b->n_outputs; i++) CHECK(a->outputs[i] == b->outputs[i]);
    for (int t = 0; t < a->n_tensors; t++) {
        const me_tensor *x = &a->tensors[t], *y = &b->tensors[t];
        CHECK(same_str(x->name, y->name));
        CHECK(x->dtype == y->dtype && x->rank == y->rank && x->flags == y->flags);
        for (int k = 0; k < x->rank; k++) CHECK(x->dims[k] == y->dims[k]);
        CHECK(x->producer == y->producer);
        CHECK(x->nbytes == y->nbytes);
        if (x->flags & ME_TF_STATIC) {
            CHECK(y->data != NULL);
            CHECK(((uintptr_t)y->data & 63) == 0); /* usable in place: aligned inside the mapping */
            CHECK(x->nbytes == 0 || memcmp(x->data, y->data, x->nbytes) == 0);
        }
        CHECK((x->qenc == NULL) == (y->qenc == NULL));
        if (x->qenc && y->qenc) {
            const me_qenc *p = x->qenc, *q = y->qenc;
            CHECK(p->kind == q->kind && p->bitwidth == q->bitwidth && p->is_signed == q->is_signed);
            CHECK(p->axis == q->axis && p->n == q->n && p->block_size == q->block_size);
            for (int64_t k = 0; k < p->n && k < q->n; k++)
                CHECK(p->scales[k] == q->scales[k] && p->offsets[k] == q->offsets[k]);
        }
    }
    for (int i = 0; i < a->n_nodes; i++) {
        const me_node *x = &a->nodes[i], *y = &b->nodes[i];
        CHECK(same_str(x->name, y->name));
        CHECK(x->op == y->op);
        CHECK(same_str(x->scope, y->scope));
        CHECK(x->n_in == y->n_in && x->n_out == y->n_out);
        for (int k = 0; k < x->n_in && k < y->n_in; k++) CHECK(x->in[k] == y->in[k]);
        for (int k = 0; k < x->n_out && k < y->n_out; k++) CHECK(x->out[k] == y->out[k]);
        CHECK(x->n_sources == y->n_sources);
        for (int k = 0; k < x->n_sources && k < y->n_sources; k++) CHECK(same_str(x->sources[k], y->sources[k]));
        CHECK(x->n_params == y->n_params);
        for (int k = 0; k < x->n_params && k < y->n_params; k++) {
            const me_param *p = &x->params[k], *q = &y->params[k];
            CHECK(same_str(p->name, q->name));
            CHECK(p->kind == q->kind && p->dtype == q->dtype);
            if (p->kind == ME_PARAM_SCALAR) {
                if (p->dtype == ME_DT_F32) CHECK(p->s.f == q->s.f);
                else CHECK(p->s.i == q->s.i);
            } else {
                CHECK(p->rank == q->rank && p->count == q->count && p->dims[0] == q->dims[0] && p->dims[1] == q->dims[1]);
                for (int64_t v = 0; v < p->count && v < q->count; v++) CHECK(p->ivals[v] == q->ivals[v]);
            }
        }
    }
}

/* Expected values computed here from the definitions, not by the kernels. */
static void check_run(const me_graph *g) {
    me_exec e;
    me_diag d;
    me_diag_init(&d);
    me_status st = me_exec_create(g, &e, &d);
    CHECK(st == ME_OK);
    if (st != ME_OK) { fprintf(stderr, "%s\n", me_diag_text(&d)); me_diag_free(&d); return; }
    memcpy(me_exec_tensor_data(&e, g->inputs[0]), X, sizeof X);
    st = me_exec_run(&e, &d);
    CHECK(st == ME_OK);
    if (st != ME_OK) fprintf(stderr, "%s\n", me_diag_text(&d));
    const float *y = me_exec_tensor_data(&e, g->outputs[0]);
    const float *a = me_exec_tensor_data(&e, g->outputs[1]);
    float av[6], rv[6], tv[3][2];
    for (int i = 0; i < 6; i++) {
        av[i] = X[i] + W[i];
        rv[i] = av[i] < 0 ? 0 : av[i] > 6 ? 6 : av[i];
        CHECK_NEAR(a[i], av[i], 0);
    }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) tv[i][j] = rv[j * 3 + i];
    for (int i = 0; i < 3; i++) {
        double s = exp(tv[i][0]) + exp(tv[i][1]);
        CHECK_NEAR(y[2 * i], exp(tv[i][0]) / s, 1e-6);
        CHECK_NEAR(y[2 * i + 1], exp(tv[i][1]) / s, 1e-6);
    }
    me_exec_free(&e);
    me_diag_free(&d);
}

static unsigned char *slurp(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len);
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) { free(b); b = NULL; }
    fclose(f);
    *n = (size_t)len;
    return b;
}

static int write_bytes(const char *p, const unsigned char *b, size_t n) {
    FILE *f = fopen(p, "wb");
    if (!f) return 0;
    int ok = fwrite(b, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* Returns the reader's status; a graph it accepts must also plan and run. */
static me_status try_read(const char *p, int run_it) {
    me_graph g;
    me_graph_init(&g, NULL);
    me_diag d;
    me_diag_init(&d);
    me_status st = me_dlc_read(p, &g, &d);
    if (st == ME_OK && run_it) {
        me_exec e;
        if (me_exec_create(&g, &e, &d) == ME_OK) {
            for (int i = 0; i < g.n_inputs; i++) {
                int t = g.inputs[i];
                memset(me_exec_tensor_data(&e, t), 0, me_tensor_nbytes(&g.tensors[t]));
            }
            me_exec_run(&e, &d);
            me_exec_free(&e);
        }
    }
    me_diag_free(&d);
    me_graph_free(&g);
    return st;
}

static void fix_crc(unsigned char *b, size_t n) {
    uint32_t c = (uint32_t)crc32_z(crc32_z(0, NULL, 0), b, n - 16);
    for (int i = 0; i < 4; i++) b[n - 16 + i] = (unsigned char)(c >> (8 * i));
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/me_test_dlcXXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    char path[128], bad[128];
    path_in_tmp(path, sizeof path, "tiny.dlc");
    path_in_tmp(bad, sizeof bad, "bad.dlc");

    me_graph g;
    int built = build_graph(&g);
    CHECK(built);
    if (!built) return check_exit();
    me_diag d;
    me_diag_init(&d);
    me_status st = me_dlc_write(&g, path, &d);
    CHECK(st == ME_OK);
    if (st != ME_OK) fprintf(stderr, "write: %s\n", me_diag_text(&d));

    me_graph r;
    me_graph_init(&r, NULL);
    me_dlc_info info;
    st = me_dlc_read_info(path, &r, &info, &d);
    CHECK(st == ME_OK);
    if (st != ME_OK) fprintf(stderr, "read: %s\n", me_diag_text(&d));
    CHECK(info.version == 1);
    CHECK(strncmp(info.producer, "modelexport ", 12) == 0);
    compare_graphs(&g, &r);
    check_run(&r);
    me_graph_free(&r);
    me_graph_free(&g);

    /* no partial file: a write into a missing directory fails and leaves nothing */
    char nodir[160];
    snprintf(nodir, sizeof nodir, "%s/missing/x.dlc", tmpdir);
    me_graph g2;
    build_graph(&g2);
    CHECK(me_dlc_write(&g2, nodir, &d) == ME_ERR_IO);
    CHECK(access(nodir, F_OK) != 0);
    me_graph_free(&g2);

    size_t n;
    unsigned char *orig = slurp(path, &n);
    CHECK(orig != NULL && n > 200);
    if (!orig) return check_exit();
    unsigned char *buf = malloc(n);

    /* every single-byte change is caught (CRC first) */
    int accepted = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(buf, orig, n);
        buf[i] ^= (unsigned char)(1u << (i % 8));
        write_bytes(bad, buf, n);
        if (try_read(bad, 0) == ME_OK) accepted++;
    }
    CHECK(accepted == 0);

    /* every truncation is caught */
    accepted = 0;
    for (size_t len = 0; len < n; len++) {
        write_bytes(bad, orig, len);
        if (try_read(bad, 0) == ME_OK) accepted++;
    }
    CHECK(accepted == 0);

    /* with the CRC repaired, field validation alone must hold: no crash, and
     * whatever is accepted plans and runs (ASan/UBSan builds make this strict) */
    int ok_single = 0;
    for (size_t i = 0; i + 16 < n; i++) {
        for (int v = 0; v < 2; v++) {
            memcpy(buf, orig, n);
            buf[i] = v ? (unsigned char)(buf[i] ^ 0x80) : 0xff;
            fix_crc(buf, n);
            write_bytes(bad, buf, n);
            if (try_read(bad, 1) == ME_OK) ok_single++;
        }
    }
    srand(12345);
    int ok_multi = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, orig, n);
        int k = 1 + rand() % 6;
        for (int j = 0; j < k; j++) buf[(size_t)rand() % (n - 16)] = (unsigned char)rand();
        fix_crc(buf, n);
        write_bytes(bad, buf, n);
        if (try_read(bad, 1) == ME_OK) ok_multi++;
    }
    printf("CRC-repaired corruptions accepted (harmless bytes such as data or names): %d single, %d multi\n",
           ok_single, ok_multi);
    /* the untouched file still reads after all that */
    write_bytes(bad, orig, n);
    CHECK(try_read(bad, 1) == ME_OK);

    /* not-a-DLC inputs */
    write_bytes(bad, (const unsigned char *)"PK\3\4zipzipzip", 14);
    me_diag_clear(&d);
    me_graph_init(&g, NULL);
    CHECK(me_dlc_read(bad, &g, &d) == ME_ERR_FORMAT);
    CHECK(strstr(me_diag_text(&d), "Qualcomm") != NULL);
    me_graph_free(&g);
    me_graph_init(&g, NULL);
    CHECK(me_dlc_read(nodir, &g, &d) == ME_ERR_IO);
    me_graph_free(&g);

    free(buf);
    free(orig);
    me_diag_free(&d);
    unlink(bad);
    unlink(path);
    rmdir(tmpdir);
    return check_exit();
}
