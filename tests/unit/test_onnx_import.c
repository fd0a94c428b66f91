/* ONNX import: tiny models built byte by byte (pb_writer.h), imported, and
 * the resulting IR checked against hand-derived expectations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "frontend/frontend.h"
#include "ops/ops.h"
#include "pb_writer.h"

static char tmpdir[256];

static const char *write_model(pbw *model, const char *file) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, file);
    if (pbw_write_file(model, path) != 0) fprintf(stderr, "cannot write %s\n", path);
    pbw_free(model);
    return path;
}

/* Imports `graph` (consumed) at `opset`; returns the status; diag text in *msg (static buffer). */
static char last_msg[8192];
static char last_notice[1024];
static void on_notice(void *user, const char *m) {
    (void)user;
    snprintf(last_notice, sizeof last_notice, "%s", m);
}

static me_status import_graph(pbw *graph, int64_t opset, const me_compile_options *opts, me_graph *g) {
    pbw model;
    onnx_w_model(&model, graph, opset);
    const char *path = write_model(&model, "m.onnx");
    me_diag d;
    me_diag_init(&d);
    me_graph_init(g, NULL);
    me_compile_options o;
    me_compile_options_init(&o);
    if (!opts) opts = &o;
    me_status st = me_import_onnx(path, opts, g, &d);
    snprintf(last_msg, sizeof last_msg, "%s", me_diag_text(&d));
    if (st != ME_OK && getenv("VERBOSE")) fprintf(stderr, "import: %s\n", last_msg);
    me_diag_free(&d);
    return st;
}

static bool expect_ok(me_status st, me_graph *ir) {
    CHECK(st == ME_OK);
    if (st != ME_OK) {
        fprintf(stderr, "  import failed: %s\n", last_msg);
        me_graph_free(ir);
        return false;
    }
    return true;
}

static int count_op(const me_graph *g, int op) {
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) k += !g->nodes[i].dead && g->nodes[i].op == op;
    return k;
}

static const me_node *find_op(const me_graph *g, int op) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == op) return &g->nodes[i];
    return NULL;
}

static bool dims_are(const me_tensor *t, int rank, const int64_t *dims) {
    if (t->rank != rank) return false;
    for (int i = 0; i < rank; i++)
        if (t->dims[i] != dims[i]) return false;
    return true;
}

static void node1(pbw *graph, const char *op, const char *name, const char *in0, const char *out0) {
    const char *ins[] = {in0, NULL}, *outs[] = {out0, NULL};
    pbw n;
    onnx_w_node_begin(&n, op, name, ins, outs);
    pbw_take(graph, 1, &n);
}

/* ---- tests ---- */
static void test_relu(void) {
    pbw g = {0};
    int64_t d[2] = {2, 3};
    pbw n;
    const char *ins[] = {"x", NULL}, *outs[] = {"y", NULL};
    onnx_w_node_begin(&n, "Relu", "/enc/layer0/Relu", ins, outs);
    pbw_take(&g, 1, &n);
    pbw_str(&g, 2, "tiny");
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 2, d, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, 2, d, NULL);
    me_graph ir;
    if (!expect_ok(import_graph(&g, 17, NULL, &ir), &ir)) return;
    CHECK(ir.n_inputs == 1 && ir.n_outputs == 1);
    CHECK(strcmp(ir.tensors[ir.inputs[0]].name, "x") == 0);
    CHECK(strcmp(ir.tensors[ir.outputs[0]].name, "y") == 0);
    CHECK(dims_are(&ir.tensors[ir.outputs[0]], 2, d));
    CHECK(count_op(&ir, ME_OP_RELU) == 1);
    const me_node *r = find_op(&ir, ME_OP_RELU);
    CHECK(r && strcmp(r->scope, "/enc/layer0") == 0);
    CHECK(r && r->n_sources == 1 && strcmp(r->sources[0], "/enc/layer0/Relu") == 0);
    CHECK(strcmp(ir.name, "tiny") == 0);
    me_graph_free(&ir);
}

static void test_hierarchy_tag(void) {
    pbw g = {0};
    int64_t d[1] = {4};
    pbw n;
    const char *ins[] = {"x", NULL}, *outs[] = {"y", NULL};
    onnx_w_node_begin(&n, "Relu", "r", ins, outs);
    onnx_w_node_meta(&n, "hierarchy_tag", "/model/block1");
    pbw_take(&g, 1, &n);
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, 1, d, NULL);
    me_graph ir;
    if (!expect_ok(import_graph(&g, 17, NULL, &ir), &ir)) return;
    const me_node *r = find_op(&ir, ME_OP_RELU);
    CHECK(r && strcmp(r->scope, "/model/block1") == 0);
    me_graph_free(&ir);
}

/* Conv with static OIHW weights: NHWC conv, HWIO weights, pads as [[t,b],[l,r]]. */
static void test_conv(void) {
    enum { CO = 4, CI = 2, KH = 3, KW = 2 };
    float w[CO * CI * KH * KW], bias[CO] = {1, 2, 3, 4};
    for (int i = 0; i < CO * CI * KH * KW; i++) w[i] = (float)i;
    pbw g = {0};
    int64_t xd[4] = {1, CI, 5, 6}, wd[4] = {CO, CI, KH, KW}, bd[1] = {CO};
    onnx_w_tensor_raw(&g, 5, "W", T_FLOAT, 4, wd, w, sizeof w);
    onnx_w_tensor_raw(&g, 5, "B", T_FLOAT, 1, bd, bias, sizeof bias);
    pbw n;
    const char *ins[] = {"x", "W", "B", NULL}, *outs[] = {"y", NULL};
    onnx_w_node_begin(&n, "Conv", "conv", ins, outs);
    int64_t pads[4] = {1, 0, 1, 1}; /* top, left, bottom, right */
    onnx_w_attr_ints(&n, "pads", pads, 4, 1);
    int64_t strides[2] = {2, 1};
    onnx_w_attr_ints(&n, "strides", strides, 2, 0);
    pbw_take(&g, 1, &n);
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 4, xd, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
    me_graph ir;
    if (!expect_ok(import_graph(&g, 13, NULL, &ir), &ir)) return;
    const me_node *cv = find_op(&ir, ME_OP_CONV2D);
    CHECK(cv != NULL);
    if (cv) {
        const me_tensor *xin = &ir.tensors[cv->in[0]], *wt = &ir.tensors[cv->in[1]];
        int64_t nhwc[4] = {1, 5, 6, CI}, hwio[4] = {KH, KW, CI, CO};
        CHECK(dims_are(xin, 4, nhwc));
        CHECK(dims_are(wt, 4, hwio));
        CHECK(wt->flags & ME_TF_STATIC);
        int bad = 0;
        const float *hw = wt->data;
        for (int o = 0; o < CO; o++)
            for (int ci = 0; ci < CI; ci++)
                for (int kh = 0; kh < KH; kh++)
                    for (int kw = 0; kw < KW; kw++)
                        bad += hw[((kh * KW + kw) * CI + ci) * CO + o] != w[((o * CI + ci) * KH + kh) * KW + kw];
        CHECK(bad == 0);
        const me_param *pa = me_node_param(cv, "pad_amount");
        CHECK(pa && pa->count == 4 && pa->ivals[0] == 1 && pa->ivals[1] == 1 && pa->ivals[2] == 0 && pa->ivals[3] == 1);
        const me_param *sp = me_node_param(cv, "stride");
        CHECK(sp && sp->count == 2 && sp->ivals[0] == 2 && sp->ivals[1] == 1);
        CHECK(cv->n_in == 3 && (ir.tensors[cv->in[2]].flags & ME_TF_STATIC));
    }
    /* out: H = floor((1+5+1-3)/2)+1 = 3, W = (0+6+1-2)/1+1 = 6 */
    int64_t yd[4] = {1, CO, 3, 6};
    CHECK(dims_are(&ir.tensors[ir.outputs[0]], 4, yd));
    CHECK(strcmp(ir.tensors[ir.outputs[0]].name, "y") == 0);
    CHECK(count_op(&ir, ME_OP_TRANSPOSE) == 2); /* to NHWC and back; weights folded */
    me_graph_free(&ir);
}

static void test_depthwise(void) {
    enum { C = 3 };
    float w[C * 1 * 3 * 3];
    for (int i = 0; i < C * 9; i++) w[i] = (float)(i % 7);
    pbw g = {0};
    int64_t xd[4] = {1, C, 4, 4}, wd[4] = {C, 1, 3, 3};
    onnx_w_tensor_raw(&g, 5, "W", T_FLOAT, 4, wd, w, sizeof w);
    pbw n;
    const char *ins[] = {"x", "W", NULL}, *outs[] = {"y", NULL};
    onnx_w_node_begin(&n, "Conv", "dw", ins, outs);
    onnx_w_attr_int(&n, "group", C);
    onnx_w_attr_str(&n, "auto_pad", "SAME_UPPER");
    pbw_take(&g, 1, &n);
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 4, xd, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
    me_graph ir;
    if (!expect_ok(import_graph(&g, 13, NULL, &ir), &ir)) return;
    const me_node *cv = find_op(&ir, ME_OP_DEPTHWISE_CONV2D);
    CHECK(cv != NULL);
    if (cv) {
        int64_t wdims[4] = {3, 3, 1, C};
        CHECK(dims_are(&ir.tensors[cv->in[1]], 4, wdims));
        const me_param *pa = me_node_param(cv, "pad_amount");
        CHECK(pa && pa->ivals[0] == 1 && pa->ivals[1] == 1 && pa->ivals[2] == 1 && pa->ivals[3] == 1);
    }
    CHECK(dims_are(&ir.tensors[ir.outputs[0]], 4, xd));
    me_graph_free(&ir);
}

static void test_unsupported_listing(void) {
    pbw g = {0};
    int64_t d[1] = {4};
    node1(&g, "FooOp", "n1", "x", "a");
    node1(&g, "FooOp", "n2", "a", "b");
    node1(&g, "BarOp", NULL, "b", "c");
    pbw n;
    const char *ins[] = {"c", NULL}, *outs[] = {"y", NULL};
    onnx_w_node_begin(&n, "Fancy", "n4", ins, outs);
    onnx_w_node_domain(&n, "com.example");
    pbw_take(&g, 1, &n);
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, 1, d, NULL);
    me_graph ir;
    CHECK(import_graph(&g, 17, NULL, &ir) == ME_ERR_UNSUPPORTED);
    CHECK(strstr(last_msg, "unsupported ONNX ops: FooOp (node 'n1'), FooOp (node 'n2'), BarOp (node 'BarOp_2'), "
                           "com.example.Fancy (node 'n4')") != NULL);
    CHECK(strchr(last_msg, '\n') == NULL); /* one line */
    me_graph_free(&ir);
}

static void test_cycle(void) {
    pbw g = {0};
    int64_t d[1] = {4};
    const char *ins1[] = {"x", "b", NULL}, *outs1[] = {"a", NULL};
    pbw n;
    onnx_w_node_begin(&n, "Add", "add", ins1, outs1);
    pbw_take(&g, 1, &n);
    node1(&g, "Relu", "relu", "a", "b");
    node1(&g, "Relu", "out", "b", "y");
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, 1, d, NULL);
    me_graph ir;
    CHECK(import_graph(&g, 17, NULL, &ir) == ME_ERR_FORMAT);
    CHECK(strstr(last_msg, "the graph has a cycle through node '") != NULL);
    me_graph_free(&ir);
}

static void test_missing_input(void) {
    pbw g = {0};
    int64_t d[1] = {4};
    node1(&g, "Relu", "r", "nope", "y");
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, 1, d, NULL);
    me_graph ir;
    CHECK(import_graph(&g, 17, NULL, &ir) == ME_ERR_FORMAT);
    CHECK(strstr(last_msg, "node 'r' (Relu): input 'nope' is not produced by any node, initializer or graph input") != NULL);
    me_graph_free(&ir);
}

/* Graph with an initializer stored as external data at `location`. */
static me_status import_external(const char *location, int64_t offset, me_graph *ir) {
    pbw g = {0};
    int64_t d[1] = {4};
    pbw t = {0};
    pbw_int(&t, 1, 4);
    pbw_uint(&t, 2, T_FLOAT);
    pbw_str(&t, 8, "w");
    pbw e = {0};
    pbw_str(&e, 1, "location");
    pbw_str(&e, 2, location);
    pbw_take(&t, 13, &e);
    char off[32];
    snprintf(off, sizeof off, "%lld", (long long)offset);
    pbw_str(&e, 1, "offset");
    pbw_str(&e, 2, off);
    pbw_take(&t, 13, &e);
    pbw_str(&e, 1, "length");
    pbw_str(&e, 2, "16");
    pbw_take(&t, 13, &e);
    pbw_uint(&t, 14, 1);
    pbw_take(&g, 5, &t);
    const char *ins[] = {"x", "w", NULL}, *outs[] = {"y", NULL};
    pbw n;
    onnx_w_node_begin(&n, "Add", "add", ins, outs);
    pbw_take(&g, 1, &n);
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, 1, d, NULL);
    return import_graph(&g, 17, NULL, ir);
}

static void test_external_data(void) {
    char path[600];
    snprintf(path, sizeof path, "%s/weights.bin", tmpdir);
    float vals[5] = {99, 1.5f, -2, 3, 4.25f};
    FILE *f = fopen(path, "wb");
    fwrite(vals, 1, sizeof vals, f);
    fclose(f);
    me_graph ir;
    CHECK(import_external("weights.bin", 4, &ir) == ME_OK);
    /* the weights are the Add's static input (the ADD itself is not folded: x is an input) */
    const me_node *add = find_op(&ir, ME_OP_ADD);
    CHECK(add != NULL);
    if (add) {
        const me_tensor *w = &ir.tensors[add->in[1]];
        CHECK((w->flags & ME_TF_STATIC) && w->nbytes == 16);
        float got[4];
        memcpy(got, w->data, 16);
        CHECK(got[0] == 1.5f && got[1] == -2 && got[2] == 3 && got[3] == 4.25f);
    }
    me_graph_free(&ir);

    CHECK(import_external("../weights.bin", 0, &ir) == ME_ERR_FORMAT);
    CHECK(strstr(last_msg, "escapes the model's folder") != NULL);
    me_graph_free(&ir);
    CHECK(import_external("/etc/passwd", 0, &ir) == ME_ERR_FORMAT);
    CHECK(strstr(last_msg, "absolute path") != NULL);
    me_graph_free(&ir);
    /* a symlink inside the folder that points outside */
    char link[600];
    snprintf(link, sizeof link, "%s/link.bin", tmpdir);
    CHECK(symlink("/etc/hostname", link) == 0);
    CHECK(import_external("link.bin", 0, &ir) == ME_ERR_FORMAT);
    CHECK(strstr(last_msg, "resolves outside the model's folder") != NULL);
    me_graph_free(&ir);
    /* range beyond the file */
    CHECK(import_external("weights.bin", 8, &ir) == ME_ERR_FORMAT);
    CHECK(strstr(last_msg, "exceeds file") != NULL);
    me_graph_free(&ir);
}

/* Reshape and Tile whose shape/repeats are graph inputs: both named at once. */
static void test_must_be_fixed(void) {
    pbw g = {0};
    int64_t xd[2] = {2, 3}, sd[1] = {2};
    const char *ins1[] = {"x", "shape", NULL}, *outs1[] = {"r", NULL};
    pbw n;
    onnx_w_node_begin(&n, "Reshape", "reshape", ins1, outs1);
    pbw_take(&g, 1, &n);
    const char *ins2[] = {"r", "reps", NULL}, *outs2[] = {"t", NULL};
    onnx_w_node_begin(&n, "Tile", "tile", ins2, outs2);
    pbw_take(&g, 1, &n);
    const char *ins3[] = {"x", "reps", NULL}, *outs3[] = {"u", NULL};
    onnx_w_node_begin(&n, "Tile", "tile2", ins3, outs3);
    pbw_take(&g, 1, &n);
    node1(&g, "Relu", "relu", "t", "y");
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 2, xd, NULL);
    onnx_w_value_info(&g, 11, "shape", T_INT64, 1, sd, NULL);
    onnx_w_value_info(&g, 11, "reps", T_INT64, 1, sd, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
    onnx_w_value_info(&g, 12, "u", T_FLOAT, -1, NULL, NULL);
    pbw copy = {0};
    pbw_raw(&copy, g.d, g.n);
    me_graph ir;
    CHECK(import_graph(&g, 17, NULL, &ir) == ME_ERR_UNSUPPORTED);
    CHECK(strcmp(last_msg, "graph inputs must be fixed at compile time: shape reps (use --freeze-input NAME=FILE)") == 0);
    me_graph_free(&ir);

    /* freeze both: the import succeeds and they are no longer inputs */
    char sp[600], rp[600];
    snprintf(sp, sizeof sp, "%s/shape.raw", tmpdir);
    snprintf(rp, sizeof rp, "%s/reps.raw", tmpdir);
    int64_t shape[2] = {3, 2}, reps[2] = {2, 1};
    FILE *f = fopen(sp, "wb");
    fwrite(shape, 1, sizeof shape, f);
    fclose(f);
    f = fopen(rp, "wb");
    fwrite(reps, 1, sizeof reps, f);
    fclose(f);
    me_frozen_input fz[2] = {{"shape", sp}, {"reps", rp}};
    me_compile_options o;
    me_compile_options_init(&o);
    o.frozen_inputs = fz;
    o.n_frozen_inputs = 2;
    if (!expect_ok(import_graph(&copy, 17, &o, &ir), &ir)) return;
    CHECK(ir.n_inputs == 1);
    int64_t yd[2] = {6, 2}, ud[2] = {4, 3};
    CHECK(dims_are(&ir.tensors[ir.outputs[0]], 2, yd));
    CHECK(dims_are(&ir.tensors[ir.outputs[1]], 2, ud));
    me_graph_free(&ir);
}

static void test_symbolic_dims(void) {
    int64_t d[3] = {-1, 3, 4};
    for (int pass = 0; pass < 3; pass++) {
        pbw g = {0};
        node1(&g, "Relu", "r", "x", "y");
        int64_t dd[3] = {d[0], pass == 1 ? -1 : 3, 4};
        onnx_w_value_info(&g, 11, "x", T_FLOAT, 3, dd, pass == 1 ? "seq" : "batch");
        onnx_w_value_info(&g, 12, "y", T_FLOAT, 3, dd, "batch");
        me_compile_options o;
        me_compile_options_init(&o);
        o.notice = on_notice;
        me_input_dim id = {"x", 3, {5, 7, 4}};
        if (pass == 2) { o.input_dims = &id; o.n_input_dims = 1; }
        last_notice[0] = 0;
        me_graph ir;
        me_status st = import_graph(&g, 17, &o, &ir);
        if (pass == 0) {
            CHECK(st == ME_OK);
            int64_t want[3] = {1, 3, 4};
            CHECK(st == ME_OK && dims_are(&ir.tensors[ir.inputs[0]], 3, want));
            CHECK(strcmp(last_notice, "input 'x': dimension 0 ('batch') is symbolic; using 1 (set it with --input-dim x 1,...)") == 0);
        } else if (pass == 1) {
            CHECK(st == ME_ERR_UNSUPPORTED);
            CHECK(strstr(last_msg, "input 'x': dimension 1 ('seq') is symbolic") != NULL);
            CHECK(strstr(last_msg, "--input-dim") != NULL);
        } else {
            /* 7 disagrees with the fixed 3 */
            CHECK(st == ME_ERR_INVALID_ARG);
            CHECK(strstr(last_msg, "dimension 1 is 7") != NULL);
        }
        me_graph_free(&ir);
    }
    /* --input-dim naming an input the model lacks */
    pbw g = {0};
    int64_t dd[1] = {4};
    node1(&g, "Relu", "r", "x", "y");
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 1, dd, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, 1, dd, NULL);
    me_compile_options o;
    me_compile_options_init(&o);
    me_input_dim id = {"nope", 1, {4}};
    o.input_dims = &id;
    o.n_input_dims = 1;
    me_graph ir;
    CHECK(import_graph(&g, 17, &o, &ir) == ME_ERR_INVALID_ARG);
    CHECK(strstr(last_msg, "no input 'nope'") != NULL);
    me_graph_free(&ir);
}

/* Shape -> Gather -> Concat -> Reshape folds to one Reshape. */
static void test_shape_folding(void) {
    pbw g = {0};
    int64_t xd[3] = {2, 3, 4};
    int64_t idx = 0, minus1 = -1;
    int64_t sd0[1] = {1};
    onnx_w_tensor_raw(&g, 5, "i0", T_INT64, 0, NULL, &idx, 8);
    onnx_w_tensor_raw(&g, 5, "m1", T_INT64, 1, sd0, &minus1, 8);
    node1(&g, "Shape", "shape", "x", "s");
    pbw n;
    const char *gi[] = {"s", "i0", NULL}, *go[] = {"n", NULL};
    onnx_w_node_begin(&n, "Gather", "gather", gi, go);
    pbw_take(&g, 1, &n);
    const char *ui[] = {"n", NULL}, *uo[] = {"n1", NULL};
    onnx_w_node_begin(&n, "Unsqueeze", "unsq", ui, uo);
    onnx_w_attr_ints(&n, "axes", &idx, 1, 1);
    pbw_take(&g, 1, &n);
    const char *ci[] = {"n1", "m1", NULL}, *co[] = {"shp", NULL};
    onnx_w_node_begin(&n, "Concat", "concat", ci, co);
    onnx_w_attr_int(&n, "axis", 0);
    pbw_take(&g, 1, &n);
    const char *ri[] = {"x", "shp", NULL}, *ro[] = {"y", NULL};
    onnx_w_node_begin(&n, "Reshape", "reshape", ri, ro);
    pbw_take(&g, 1, &n);
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 3, xd, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
    me_graph ir;
    if (!expect_ok(import_graph(&g, 11, NULL, &ir), &ir)) return;
    CHECK(ir.n_nodes == 1 && count_op(&ir, ME_OP_RESHAPE) == 1);
    int64_t yd[2] = {2, 12};
    CHECK(dims_are(&ir.tensors[ir.outputs[0]], 2, yd));
    CHECK(strcmp(ir.tensors[ir.outputs[0]].name, "y") == 0);
    me_graph_free(&ir);
}

static void test_float16_io(void) {
    pbw g = {0};
    int64_t d[1] = {3};
    node1(&g, "Relu", "r", "x", "y");
    onnx_w_value_info(&g, 11, "x", T_FLOAT16, 1, d, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT16, 1, d, NULL);
    me_graph ir;
    if (!expect_ok(import_graph(&g, 17, NULL, &ir), &ir)) return;
    CHECK(ir.tensors[ir.inputs[0]].dtype == ME_DT_F16 && strcmp(ir.tensors[ir.inputs[0]].name, "x") == 0);
    CHECK(ir.tensors[ir.outputs[0]].dtype == ME_DT_F16 && strcmp(ir.tensors[ir.outputs[0]].name, "y") == 0);
    CHECK(count_op(&ir, ME_OP_CAST) == 2);
    const me_node *r = find_op(&ir, ME_OP_RELU);
    CHECK(r && ir.tensors[r->in[0]].dtype == ME_DT_F32);
    me_graph_free(&ir);
}

/* Outputs that are a graph input, a constant, or the same tensor twice get copies. */
static void test_output_copies(void) {
    pbw g = {0};
    int64_t d[1] = {2};
    float cv[2] = {1, 2};
    onnx_w_tensor_raw(&g, 5, "c", T_FLOAT, 1, d, cv, sizeof cv);
    node1(&g, "Identity", "id", "x", "y");
    node1(&g, "Relu", "r", "x", "z");
    node1(&g, "Identity", "id2", "z", "z2");
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "c", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "z", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "z2", T_FLOAT, 1, d, NULL);
    me_graph ir;
    if (!expect_ok(import_graph(&g, 17, NULL, &ir), &ir)) return;
    CHECK(ir.n_outputs == 4);
    const char *names[4] = {"y", "c", "z", "z2"};
    for (int i = 0; i < 4 && i < ir.n_outputs; i++) {
        const me_tensor *t = &ir.tensors[ir.outputs[i]];
        CHECK(strcmp(t->name, names[i]) == 0);
        CHECK(t->producer >= 0 && !(t->flags & (ME_TF_STATIC | ME_TF_INPUT)));
        for (int k = 0; k < i; k++) CHECK(ir.outputs[k] != ir.outputs[i]);
    }
    me_graph_free(&ir);
}

/* Typed (non-raw) initializer fields: float_data packed/unpacked, int64_data, int32_data for int8. */
static void test_typed_fields(void) {
    pbw g = {0};
    int64_t d[1] = {3};
    pbw t = {0};
    pbw_int(&t, 1, 3);
    pbw_uint(&t, 2, T_FLOAT);
    pbw_str(&t, 8, "fp");
    pbw p = {0};
    float fv[3] = {0.5f, -1, 2};
    pbw_raw(&p, fv, sizeof fv);
    pbw_take(&t, 4, &p);
    pbw_take(&g, 5, &t);
    pbw_int(&t, 1, 3);
    pbw_uint(&t, 2, T_FLOAT);
    pbw_str(&t, 8, "fu");
    for (int i = 0; i < 3; i++) pbw_f32(&t, 4, fv[i] * 2);
    pbw_take(&g, 5, &t);
    pbw_int(&t, 1, 3);
    pbw_uint(&t, 2, T_INT8);
    pbw_str(&t, 8, "i8");
    pbw_int(&t, 5, -3);
    pbw_int(&t, 5, 7);
    pbw_int(&t, 5, -128);
    pbw_take(&g, 5, &t);
    const char *ai[] = {"fp", "fu", NULL}, *ao[] = {"s", NULL};
    pbw n;
    onnx_w_node_begin(&n, "Add", "add", ai, ao);
    pbw_take(&g, 1, &n);
    const char *bi[] = {"x", "s", NULL}, *bo[] = {"y", NULL};
    onnx_w_node_begin(&n, "Add", "add2", bi, bo);
    pbw_take(&g, 1, &n);
    node1(&g, "Identity", "idi8", "i8", "q");
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "q", T_INT8, 1, d, NULL);
    me_graph ir;
    if (!expect_ok(import_graph(&g, 17, NULL, &ir), &ir)) return;
    const me_node *add = find_op(&ir, ME_OP_ADD);
    CHECK(add != NULL && count_op(&ir, ME_OP_ADD) == 1); /* fp + fu folded */
    if (add) {
        const me_tensor *s = &ir.tensors[add->in[1]];
        CHECK(s->flags & ME_TF_STATIC);
        const float *sv = s->data;
        CHECK(sv[0] == 1.5f && sv[1] == -3 && sv[2] == 6);
    }
    const me_node *cp = find_op(&ir, ME_OP_RESHAPE);
    CHECK(cp != NULL);
    if (cp) {
        const me_tensor *q = &ir.tensors[cp->in[0]];
        CHECK(q->dtype == ME_DT_I8);
        const int8_t *qv = q->data;
        CHECK(qv[0] == -3 && qv[1] == 7 && qv[2] == -128);
    }
    me_graph_free(&ir);
}

static void test_opset_range(void) {
    pbw g = {0};
    int64_t d[1] = {4};
    node1(&g, "Relu", "r", "x", "y");
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, 1, d, NULL);
    me_graph ir;
    CHECK(import_graph(&g, 30, NULL, &ir) == ME_ERR_UNSUPPORTED);
    CHECK(strstr(last_msg, "opset 30") != NULL && strstr(last_msg, "7..28") != NULL);
    me_graph_free(&ir);
}

static void test_malformed(void) {
    /* a truncated model: every prefix must fail cleanly (never crash) */
    pbw g = {0};
    int64_t d[1] = {4};
    node1(&g, "Relu", "r", "x", "y");
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 1, d, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, 1, d, NULL);
    pbw model;
    onnx_w_model(&model, &g, 17);
    int bad = 0;
    char path[600];
    snprintf(path, sizeof path, "%s/trunc.onnx", tmpdir);
    for (size_t cut = 1; cut < model.n; cut++) {
        pbw part = {0};
        pbw_raw(&part, model.d, cut);
        pbw_write_file(&part, path);
        pbw_free(&part);
        me_graph ir;
        me_graph_init(&ir, NULL);
        me_diag dg;
        me_diag_init(&dg);
        me_compile_options o;
        me_compile_options_init(&o);
        me_status st = me_import_onnx(path, &o, &ir, &dg);
        if (st == ME_OK) bad++;
        me_diag_free(&dg);
        me_graph_free(&ir);
    }
    CHECK(bad == 0);
    pbw_free(&model);
}

static void test_attr_wrong_type(void) {
    pbw g = {0};
    int64_t d[2] = {2, 3};
    pbw n;
    const char *ins[] = {"x", NULL}, *outs[] = {"y", NULL};
    onnx_w_node_begin(&n, "Flatten", "flat", ins, outs);
    onnx_w_attr_str(&n, "axis", "one");
    pbw_take(&g, 1, &n);
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 2, d, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
    me_graph ir;
    CHECK(import_graph(&g, 17, NULL, &ir) == ME_ERR_FORMAT);
    CHECK(strstr(last_msg, "node 'flat' (Flatten): attribute 'axis' has type STRING, expected INT") != NULL);
    me_graph_free(&ir);
}

/* 3-D max pooling becomes two 2-D pools (H,W per depth slice, then D). */
static void test_pool3d(void) {
    pbw g = {0};
    int64_t xd[5] = {1, 2, 5, 4, 6};
    pbw n;
    const char *ins[] = {"x", NULL}, *outs[] = {"y", NULL};
    onnx_w_node_begin(&n, "MaxPool", "pool", ins, outs);
    int64_t k[3] = {3, 2, 2}, st[3] = {2, 2, 1};
    onnx_w_attr_ints(&n, "kernel_shape", k, 3, 1);
    onnx_w_attr_ints(&n, "strides", st, 3, 0);
    pbw_take(&g, 1, &n);
    onnx_w_value_info(&g, 11, "x", T_FLOAT, 5, xd, NULL);
    onnx_w_value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
    me_graph ir;
    if (!expect_ok(import_graph(&g, 17, NULL, &ir), &ir)) return;
    CHECK(count_op(&ir, ME_OP_POOL_MAX2D) == 2);
    /* D: (5-3)/2+1 = 2, H: (4-2)/2+1 = 2, W: (6-2)/1+1 = 5 */
    int64_t yd[5] = {1, 2, 2, 2, 5};
    CHECK(dims_are(&ir.tensors[ir.outputs[0]], 5, yd));
    me_graph_free(&ir);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/me_onnx_test_XXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    test_relu();
    test_hierarchy_tag();
    test_conv();
    test_depthwise();
    test_unsupported_listing();
    test_cycle();
    test_missing_input();
    test_external_data();
    test_must_be_fixed();
    test_symbolic_dims();
    test_shape_folding();
    test_float16_io();
    test_output_copies();
    test_typed_fields();
    test_opset_range();
    test_malformed();
    test_attr_wrong_type();
    test_pool3d();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_exit();
}
