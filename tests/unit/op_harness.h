/* Test helper: build a small graph around one op node, run its shape
 * inference, the IR verifier and its reference kernel, and hand back the
 * output buffers.
 *
 *   oh_ctx c; oh_init(&c);
 *   int a = oh_in(&c, ME_DT_F32, 2, (int64_t[]){2, 3}, xs);
 *   int b = oh_in(&c, ME_DT_F32, 1, (int64_t[]){3}, ys);
 *   int y = oh_out(&c, ME_DT_UNDEFINED);
 *   oh_node(&c, ME_OP_ADD, (int[]){a, b}, 2, &y, 1);
 *   me_node_set_scalar_u32(&c.g, c.node, "axis", 1);   // params, if any
 *   if (oh_run(&c) == ME_OK) { const float *o = oh_data(&c, 0); ... }
 *   oh_free(&c);
 *
 * Inputs are static tensors (their bytes are copied into the graph), so the
 * graph verifies without graph inputs. On failure, oh_msg(&c) holds the
 * diagnostic text. */
#ifndef ME_TEST_OP_HARNESS_H
#define ME_TEST_OP_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ops/ops.h"

#define OH_MAX_OUT 8

typedef struct oh_ctx {
    me_graph g;
    me_diag d;
    int node;                   /* the last node added */
    int n_names;
    void *out[OH_MAX_OUT];      /* output buffers after oh_run */
    size_t out_nbytes[OH_MAX_OUT];
    int verify;                 /* run me_graph_verify after infer (default 1) */
    struct me_threadpool *pool; /* handed to the kernel (default NULL: one thread) */
} oh_ctx;

static inline void oh_init(oh_ctx *c) {
    memset(c, 0, sizeof *c);
    me_diag_init(&c->d);
    me_graph_init(&c->g, &c->d);
    c->node = -1;
    c->verify = 1;
}

static inline void oh_free(oh_ctx *c) {
    for (int i = 0; i < OH_MAX_OUT; i++) free(c->out[i]);
    me_graph_free(&c->g);
    me_diag_free(&c->d);
}

/* A static input tensor holding a copy of `data` (numel * dtype size bytes;
 * NULL data is fine for an empty shape). */
static inline int oh_in(oh_ctx *c, me_dtype dt, int rank, const int64_t *dims, const void *data) {
    char name[32];
    snprintf(name, sizeof name, "t%d", c->n_names++);
    int64_t numel = me_shape_numel(rank, dims);
    size_t nbytes = (size_t)numel * me_dtype_size(dt);
    if (nbytes == 0) { /* an empty tensor: static, no bytes */
        int t = me_graph_add_tensor(&c->g, name, dt, rank, dims, &c->d);
        if (t >= 0) c->g.tensors[t].flags |= ME_TF_STATIC;
        return t;
    }
    return me_graph_add_static_copy(&c->g, name, dt, rank, dims, data, nbytes, &c->d);
}

/* An output tensor; dt is the dtype its creator presets (UNDEFINED for most
 * ops, the target dtype for Cast/Quantize). */
static inline int oh_out(oh_ctx *c, me_dtype dt) {
    char name[32];
    snprintf(name, sizeof name, "t%d", c->n_names++);
    return me_graph_add_tensor(&c->g, name, dt, 0, NULL, &c->d);
}

static inline int oh_node(oh_ctx *c, int op, const int *in, int n_in, const int *out, int n_out) {
    char name[32];
    snprintf(name, sizeof name, "n%d", c->g.n_nodes);
    c->node = me_graph_add_node(&c->g, name, op, in, n_in, out, n_out, "", &c->d);
    return c->node;
}

static inline const me_tensor *oh_tensor(const oh_ctx *c, int out_index) {
    return &c->g.tensors[c->g.nodes[c->node].out[out_index]];
}

static inline const void *oh_data(const oh_ctx *c, int out_index) { return c->out[out_index]; }

static inline const char *oh_msg(const oh_ctx *c) { return me_diag_text(&c->d); }

/* Infer (+ verify), allocate outputs and scratch, run the kernel of the last node. */
static inline me_status oh_run(oh_ctx *c) {
    if (c->node < 0) return ME_ERR_INVALID_ARG;
    me_node *n = &c->g.nodes[c->node];
    const me_opdef *def = me_opdefs[n->op];
    me_status st = def->infer(&c->g, n, &c->d);
    if (st != ME_OK) return st;
    if (c->verify) {
        st = me_graph_verify(&c->g, &c->d);
        if (st != ME_OK) return st;
    }
    if (n->n_out > OH_MAX_OUT || n->n_in > 16) return ME_ERR_INVALID_ARG;
    const me_tensor *ins[16];
    const void *in_data[16];
    const me_tensor *outs[OH_MAX_OUT];
    void *out_data[OH_MAX_OUT];
    for (int i = 0; i < n->n_in; i++) {
        ins[i] = n->in[i] >= 0 ? &c->g.tensors[n->in[i]] : NULL;
        in_data[i] = ins[i] ? ins[i]->data : NULL;
    }
    for (int i = 0; i < n->n_out; i++) {
        outs[i] = &c->g.tensors[n->out[i]];
        size_t nb = me_tensor_nbytes(outs[i]);
        free(c->out[i]);
        c->out[i] = calloc(1, nb ? nb : 1);
        c->out_nbytes[i] = nb;
        if (!c->out[i]) return ME_ERR_NOMEM;
        out_data[i] = c->out[i];
    }
    size_t sb = def->scratch_bytes ? def->scratch_bytes(&c->g, n) : 0;
    void *scratch = sb ? aligned_alloc(64, (sb + 63) & ~(size_t)63) : NULL;
    if (sb && !scratch) return ME_ERR_NOMEM;
    me_kernel_ctx k = {n, ins, outs, in_data, out_data, n->n_in, n->n_out, scratch, c->pool};
    st = def->run(&k, &c->d);
    free(scratch);
    return st;
}

/* Convenience: compare n floats, NaN equal to NaN, with an absolute+relative tolerance. */
static inline int oh_close_f32(const float *got, const float *want, int64_t n, double tol) {
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        if (isnan(g) && isnan(w)) continue;
        if (isinf(w) && g == w) continue;
        if (!(fabs(g - w) <= tol * (1.0 + fabs(w)))) {
            if (bad < 5) fprintf(stderr, "  element %lld: got %.9g want %.9g\n", (long long)i, g, w);
            bad++;
        }
    }
    return bad == 0;
}

/* oh_run that must succeed: a failure counts as a failed CHECK. */
static inline me_status oh_run_ok(oh_ctx *c) {
    me_status st = oh_run(c);
    CHECK(st == ME_OK);
    if (st != ME_OK) fprintf(stderr, "  run failed: %s\n", oh_msg(c));
    return st;
}

static inline bool oh_shape_is(const me_tensor *t, int rank, const int64_t *dims) {
    if (t->rank != rank) return false;
    for (int i = 0; i < rank; i++)
        if (t->dims[i] != dims[i]) return false;
    return true;
}

#endif
