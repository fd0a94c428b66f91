/* Shared by the pass tests: a small graph builder (output shapes come from
 * each op's own inference) and a tiny interpreter over me_graph_toposort +
 * the reference kernels, to compare a graph's outputs before and after the
 * passes. */
#ifndef ME_TEST_PASSES_UTIL_H
#define ME_TEST_PASSES_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ops/ops.h"
#include "passes/passes.h"

static me_diag tp_diag;

/* Referencing every me_opdef_<ID> from the test object makes the linker take
 * the real definitions from the static library rather than the weak
 * placeholders of zz_unimplemented.o (same trick as op_harness.h). */
static const me_opdef *const tp_opdefs[ME_OP_COUNT] __attribute__((used)) = {
#define X(id, qnn_name, pkg, stem) &me_opdef_##id,
#include "ops/ops.def"
#undef X
};

static inline void tp_report(me_status st, const char *what) {
    if (st != ME_OK) fprintf(stderr, "%s: %s: %s\n", what, me_status_str(st), me_diag_text(&tp_diag));
    me_diag_clear(&tp_diag);
}

static inline me_graph *tp_new(void) {
    me_graph *g = calloc(1, sizeof *g);
    me_graph_init(g, NULL);
    return g;
}

static inline void tp_free(me_graph *g) {
    me_graph_free(g);
    free(g);
}

static inline int tp_input(me_graph *g, const char *name, me_dtype dt, int rank, const int64_t *dims) {
    int t = me_graph_add_tensor(g, name, dt, rank, dims, &tp_diag);
    CHECK(t >= 0);
    me_graph_add_input(g, t);
    return t;
}

static inline int tp_const(me_graph *g, const char *name, int rank, const int64_t *dims, const float *v) {
    int64_t n = me_shape_numel(rank, dims);
    int t = me_graph_add_static_copy(g, name, ME_DT_F32, rank, dims, v, (size_t)n * sizeof(float), &tp_diag);
    CHECK(t >= 0);
    return t;
}

/* Deterministic values in [-1, 1). */
static inline float tp_value(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static inline int tp_const_rand(me_graph *g, const char *name, int rank, const int64_t *dims, uint32_t seed) {
    int64_t n = me_shape_numel(rank, dims);
    float *v = malloc((size_t)(n ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++) v[i] = tp_value(&seed);
    int t = tp_const(g, name, rank, dims, v);
    free(v);
    return t;
}

/* A node with n_out fresh outputs named after it ("name", or "name_k"). */
static inline int tp_node(me_graph *g, int op, const char *name, int n_in, const int *in, int n_out) {
    int out[8];
    for (int k = 0; k < n_out; k++) {
        char buf[256];
        if (n_out == 1) snprintf(buf, sizeof buf, "%s", name);
        else snprintf(buf, sizeof buf, "%s_%d", name, k);
        out[k] = me_graph_add_tensor(g, buf, ME_DT_F32, 0, NULL, &tp_diag);
    }
    int id = me_graph_add_node(g, name, op, in, n_in, out, n_out, "/block", &tp_diag);
    CHECK(id >= 0);
    me_node_add_source(g, id, name);
    return id;
}

/* Infer the node's output shapes (after its params are set). */
static inline int tp_fin(me_graph *g, int id) {
    me_status st = me_opdefs[g->nodes[id].op]->infer(g, &g->nodes[id], &tp_diag);
    CHECK(st == ME_OK);
    tp_report(st, g->nodes[id].name);
    return g->nodes[id].out[0];
}

static inline void tp_ints(me_graph *g, int id, const char *name, int count, const int64_t *v) {
    int64_t dims[1] = {count};
    CHECK(me_node_set_tensor_int(g, id, name, ME_DT_U32, 1, dims, v) == ME_OK);
}

static inline void tp_pairs(me_graph *g, int id, const char *name, int rows, const int64_t *v) {
    int64_t dims[2] = {rows, 2};
    CHECK(me_node_set_tensor_int(g, id, name, ME_DT_U32, 2, dims, v) == ME_OK);
}

/* One-input, no-param op. */
static inline int tp_unary(me_graph *g, int op, const char *name, int x) {
    return tp_fin(g, tp_node(g, op, name, 1, &x, 1));
}

static inline int tp_binary(me_graph *g, int op, const char *name, int a, int b) {
    int in[2] = {a, b};
    return tp_fin(g, tp_node(g, op, name, 2, in, 1));
}

static inline int tp_transpose(me_graph *g, const char *name, int x, int rank, const int *perm) {
    int id = tp_node(g, ME_OP_TRANSPOSE, name, 1, &x, 1);
    int64_t p[ME_MAX_RANK];
    for (int i = 0; i < rank; i++) p[i] = perm[i];
    tp_ints(g, id, "perm", rank, p);
    return tp_fin(g, id);
}

static const int TP_TO_NHWC[4] = {0, 2, 3, 1}, TP_TO_NCHW[4] = {0, 3, 1, 2};

/* Reshape to explicit dims (no params; the output tensor carries the shape). */
static inline int tp_reshape(me_graph *g, const char *name, int x, int rank, const int64_t *dims) {
    int id = tp_node(g, ME_OP_RESHAPE, name, 1, &x, 1);
    int y = g->nodes[id].out[0];
    g->tensors[y].rank = rank;
    memcpy(g->tensors[y].dims, dims, (size_t)rank * sizeof(int64_t));
    g->tensors[y].dtype = g->tensors[x].dtype;
    return y;
}

/* Conv2d (3x3 pad 1 or 1x1) on NHWC x with HWIO weights; bias may be -1. */
static inline int tp_conv(me_graph *g, int op, const char *name, int x, int w, int b) {
    int in[3] = {x, w, b};
    int id = tp_node(g, op, name, b >= 0 ? 3 : 2, in, 1);
    int64_t k = g->tensors[w].dims[0], pad = (k - 1) / 2;
    int64_t stride[2] = {1, 1}, pads[4] = {pad, pad, pad, pad};
    tp_ints(g, id, "stride", 2, stride);
    tp_pairs(g, id, "pad_amount", 2, pads);
    return tp_fin(g, id);
}

/* ---- the interpreter ---- */

typedef struct tp_run {
    int n_out;
    float **out;     /* copies of the graph outputs (F32) */
    int64_t *count;
} tp_run;

static inline void tp_run_free(tp_run *r) {
    for (int i = 0; i < r->n_out; i++) free(r->out[i]);
    free(r->out);
    free(r->count);
    memset(r, 0, sizeof *r);
}

/* Run g with float inputs in[i] (graph input order). Returns ME_OK on success. */
static inline me_status tp_execute(const me_graph *g, const float *const *in, tp_run *r) {
    memset(r, 0, sizeof *r);
    void **buf = calloc((size_t)g->n_tensors, sizeof *buf);
    int *order = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(int));
    int n_order = 0;
    me_status st = me_graph_toposort(g, order, &n_order, &tp_diag);
    for (int i = 0; i < g->n_tensors && st == ME_OK; i++) {
        const me_tensor *t = &g->tensors[i];
        if (t->flags & ME_TF_STATIC) continue;
        buf[i] = calloc(1, me_tensor_nbytes(t) + 16);
    }
    for (int i = 0; i < g->n_inputs && st == ME_OK; i++)
        memcpy(buf[g->inputs[i]], in[i], me_tensor_nbytes(&g->tensors[g->inputs[i]]));
    for (int s = 0; s < n_order && st == ME_OK; s++) {
        const me_node *n = &g->nodes[order[s]];
        const me_tensor *ti[16], *to[8];
        const void *di[16];
        void *dout[8];
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            ti[k] = t >= 0 ? &g->tensors[t] : NULL;
            di[k] = t < 0 ? NULL : (g->tensors[t].flags & ME_TF_STATIC) ? g->tensors[t].data : buf[t];
        }
        for (int k = 0; k < n->n_out; k++) {
            to[k] = &g->tensors[n->out[k]];
            dout[k] = buf[n->out[k]];
        }
        const me_opdef *def = me_opdefs[n->op];
        size_t sb = def->scratch_bytes ? def->scratch_bytes(g, n) : 0;
        void *scratch = sb ? aligned_alloc(64, (sb + 63) & ~(size_t)63) : NULL;
        me_kernel_ctx k = {n, ti, to, di, dout, n->n_in, n->n_out, scratch};
        st = def->run(&k, &tp_diag);
        free(scratch);
        tp_report(st, n->name);
    }
    if (st == ME_OK) {
        r->n_out = g->n_outputs;
        r->out = calloc((size_t)g->n_outputs, sizeof *r->out);
        r->count = calloc((size_t)g->n_outputs, sizeof *r->count);
        for (int i = 0; i < g->n_outputs; i++) {
            const me_tensor *t = &g->tensors[g->outputs[i]];
            r->count[i] = me_tensor_numel(t);
            r->out[i] = malloc((size_t)(r->count[i] ? r->count[i] : 1) * sizeof(float));
            const void *src = (t->flags & ME_TF_STATIC) ? t->data : buf[g->outputs[i]];
            memcpy(r->out[i], src, (size_t)r->count[i] * sizeof(float));
        }
    }
    for (int i = 0; i < g->n_tensors; i++) free(buf[i]);
    free(buf);
    free(order);
    return st;
}

/* Outputs agree within 1e-5 relative (1e-5 absolute near zero). */
static inline int tp_same_outputs(const tp_run *a, const tp_run *b) {
    if (a->n_out != b->n_out) return 0;
    int ok = 1;
    for (int i = 0; i < a->n_out; i++) {
        if (a->count[i] != b->count[i]) return 0;
        for (int64_t e = 0; e < a->count[i]; e++) {
            double x = a->out[i][e], y = b->out[i][e];
            double tol = 1e-5 * (fabs(x) > 1.0 ? fabs(x) : 1.0);
            if (!(fabs(x - y) <= tol)) {
                if (ok) fprintf(stderr, "output %d element %lld: %.9g vs %.9g\n", i, (long long)e, x, y);
                ok = 0;
            }
        }
    }
    return ok;
}

static inline int tp_count_op(const me_graph *g, int op) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == op) n++;
    return n;
}

static inline int tp_live_nodes(const me_graph *g) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += !g->nodes[i].dead;
    return n;
}

static inline int tp_verify(const me_graph *g) {
    me_status st = me_graph_verify(g, &tp_diag);
    tp_report(st, "verify");
    return st == ME_OK;
}

/* Every node's inputs are produced by earlier nodes (the runtime runs nodes in array order). */
static inline int tp_in_order(const me_graph *g) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int t = g->nodes[i].in[k];
            if (t >= 0 && g->tensors[t].producer >= i) return 0;
        }
    return 1;
}

/* Random input buffers for every graph input. */
static inline float **tp_inputs(const me_graph *g, uint32_t seed) {
    float **in = calloc((size_t)g->n_inputs + 1, sizeof *in);
    for (int i = 0; i < g->n_inputs; i++) {
        int64_t n = me_tensor_numel(&g->tensors[g->inputs[i]]);
        in[i] = malloc((size_t)(n ? n : 1) * sizeof(float));
        for (int64_t e = 0; e < n; e++) in[i][e] = tp_value(&seed);
    }
    return in;
}

static inline void tp_inputs_free(float **in, int n) {
    for (int i = 0; i < n; i++) free(in[i]);
    free(in);
}

/* Build a graph twice, run passes on the second, compare the outputs.
 * Returns the optimised graph (caller frees) for structural checks. */
typedef me_graph *(*tp_builder)(void);

static inline me_graph *tp_check_passes(tp_builder build, me_status (*pass)(me_graph *, const me_pass_options *, me_diag *),
                                 const char *what) {
    me_graph *ref = build(), *opt = build();
    CHECK(tp_verify(ref));
    me_pass_options o = {1, 1};
    me_status st = pass ? pass(opt, &o, &tp_diag) : me_run_passes(opt, &o, &tp_diag);
    CHECK(st == ME_OK);
    tp_report(st, what);
    CHECK(tp_verify(opt));
    float **in = tp_inputs(ref, 12345);
    tp_run a, b;
    me_status s1 = tp_execute(ref, (const float *const *)in, &a);
    me_status s2 = tp_execute(opt, (const float *const *)in, &b);
    CHECK(s1 == ME_OK && s2 == ME_OK);
    if (s1 == ME_OK && s2 == ME_OK) {
        int same = tp_same_outputs(&a, &b);
        CHECK(same);
        if (!same) fprintf(stderr, "  (in %s)\n", what);
    }
    tp_run_free(&a);
    tp_run_free(&b);
    tp_inputs_free(in, ref->n_inputs);
    tp_free(ref);
    return opt;
}

#endif
