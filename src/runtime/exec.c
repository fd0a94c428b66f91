/* The executor: one activation buffer + scratch, per-node kernel contexts
 * prepared once, then a loop over the plan's order. */
#include "exec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../core/util.h"
#include "kernel_families.h"
#include "../quant/quant_kernels.h"
#include "pack.h"

/* Static tensors with no bytes still get a non-NULL pointer, so kernels can
 * tell them from omitted optional inputs. */
static _Alignas(64) const unsigned char empty_static[64];

void *me_exec_tensor_data(const me_exec *e, int t) {
    if (t < 0 || t >= e->g->n_tensors) return NULL;
    const me_tensor *tt = &e->g->tensors[t];
    if (tt->flags & ME_TF_STATIC) return (void *)(tt->data ? tt->data : empty_static);
    if (e->plan.offset[t] == ME_PLAN_NONE) return NULL;
    return e->buf + e->plan.offset[t];
}

void me_exec_free(me_exec *e) {
    if (!e) return;
    me_plan_free(&e->plan);
    if (e->buf) munmap(e->buf, e->buf_bytes);
    if (e->packed_buf) munmap(e->packed_buf, e->packed_buf_bytes);
    free(e->ctx);
    free(e->ptr_pool);
    memset(e, 0, sizeof *e);
}

static me_status exec_prepare(me_exec *e, me_diag *d);

me_status me_exec_create(const me_graph *g, me_exec *e, me_diag *d) {
    memset(e, 0, sizeof *e);
    e->g = g;
    me_status st = me_plan_build(g, &e->plan, d);
    if (st != ME_OK) return st;
    st = exec_prepare(e, d);
    if (st == ME_OK && (st = me_exec_pack(e, d)) != ME_OK) me_exec_free(e);
    return st;
}

me_status me_exec_create_planned(const me_graph *g, const me_plan *plan, me_exec *e, me_diag *d) {
    memset(e, 0, sizeof *e);
    e->g = g;
    me_status st = me_plan_copy(plan, g->n_tensors, &e->plan, d);
    if (st == ME_OK) st = me_plan_check(g, &e->plan, d);
    if (st != ME_OK) {
        me_plan_free(&e->plan);
        return st;
    }
    return exec_prepare(e, d);
}

static me_status exec_prepare(me_exec *e, me_diag *d) {
    const me_graph *g = e->g;

    size_t bytes;
    if (!me_add_size(e->plan.arena_bytes, e->plan.scratch_bytes, &bytes) || !me_add_size(bytes, ME_PLAN_ALIGN, &bytes)) {
        me_exec_free(e);
        return me_fail(d, ME_ERR_NOMEM, "activation memory size overflows");
    }
    bytes = me_align_up(bytes, ME_PLAN_ALIGN);
    /* An anonymous mapping: page aligned and zero-filled, with pages committed
     * only when a kernel first writes them. */
    void *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    e->buf = buf == MAP_FAILED ? NULL : buf;
    e->buf_bytes = bytes;
    /* pointer arrays: per input a tensor and a data pointer, per output the same */
    size_t n_ptrs = 0;
    for (int s = 0; s < e->plan.n_steps; s++) {
        const me_node *n = &g->nodes[e->plan.order[s]];
        n_ptrs += 2 * ((size_t)n->n_in + (size_t)n->n_out);
    }
    e->ctx = calloc((size_t)(e->plan.n_steps > 0 ? e->plan.n_steps : 1), sizeof *e->ctx);
    e->ptr_pool = calloc(n_ptrs ? n_ptrs : 1, sizeof(void *));
    if (!e->buf || !e->ctx || !e->ptr_pool) {
        me_exec_free(e);
        return me_fail(d, ME_ERR_NOMEM, "out of memory allocating %zu bytes of activations", bytes);
    }
    if (getenv("ME_DEBUG_PLAN"))
        fprintf(stderr, "modelexport: plan: %d steps, activations %zu bytes (without reuse %zu), scratch %zu bytes\n",
                e->plan.n_steps, e->plan.arena_bytes, e->plan.sum_bytes, e->plan.scratch_bytes);
    void **pool = e->ptr_pool;
    void *scratch = e->plan.scratch_bytes ? e->buf + e->plan.arena_bytes : NULL;
    for (int s = 0; s < e->plan.n_steps; s++) {
        const me_node *n = &g->nodes[e->plan.order[s]];
        const me_tensor **tin = (const me_tensor **)pool; pool += n->n_in;
        const void **din = (const void **)pool;          pool += n->n_in;
        const me_tensor **tout = (const me_tensor **)pool; pool += n->n_out;
        void **dout = pool;                               pool += n->n_out;
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            tin[k] = t >= 0 ? &g->tensors[t] : NULL;
            din[k] = t >= 0 ? me_exec_tensor_data(e, t) : NULL;
            if (t >= 0 && !din[k]) {
                me_exec_free(e);
                return me_fail(d, ME_ERR_INTERNAL, "node '%s': input '%s' has no memory", n->name, g->tensors[t].name);
            }
        }
        for (int k = 0; k < n->n_out; k++) {
            int t = n->out[k];
            tout[k] = &g->tensors[t];
            dout[k] = me_exec_tensor_data(e, t);
            if (!dout[k] || (g->tensors[t].flags & ME_TF_STATIC)) {
                me_exec_free(e);
                return me_fail(d, ME_ERR_INTERNAL, "node '%s': output '%s' has no memory", n->name, g->tensors[t].name);
            }
        }
        me_kernel_ctx *c = &e->ctx[s];
        c->node = n;
        c->in = tin;
        c->out = tout;
        c->in_data = din;
        c->out_data = dout;
        c->n_in = n->n_in;
        c->n_out = n->n_out;
        c->scratch = scratch;
        const me_kernel_family *fam = me_kernel_family_of(g, n);
        c->variant = fam ? fam->select() : NULL;
        if (!me_opdefs[n->op]->run) {
            me_exec_free(e);
            return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s': op %s has no kernel", n->name, me_op_names[n->op]);
        }
    }
    return ME_OK;
}

static int step_of(const me_exec *e, int node) {
    for (int s = 0; s < e->plan.n_steps; s++)
        if (e->plan.order[s] == node) return s;
    return -1;
}

me_status me_exec_pack(me_exec *e, me_diag *d) {
    if (e->packed_buf) munmap(e->packed_buf, e->packed_buf_bytes);
    e->packed_buf = NULL;
    e->packed_buf_bytes = 0;
    size_t total = 0;
    for (int s = 0; s < e->plan.n_steps; s++) {
        me_kernel_ctx *c = &e->ctx[s];
        c->packed = NULL;
        size_t b = me_node_packed_bytes(e->g, c->node, c->variant);
        if (b && (!me_add_size(total, me_align_up(b, 64), &total) || total > SIZE_MAX / 2))
            return me_fail(d, ME_ERR_NOMEM, "pre-packed weights size overflows");
    }
    if (!total) return ME_OK;
    void *buf = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) return me_fail(d, ME_ERR_NOMEM, "out of memory packing %zu bytes of weights", total);
    e->packed_buf = buf;
    e->packed_buf_bytes = total;
    size_t at = 0;
    for (int s = 0; s < e->plan.n_steps; s++) {
        me_kernel_ctx *c = &e->ctx[s];
        size_t b = me_node_packed_bytes(e->g, c->node, c->variant);
        if (!b) continue;
        me_status st = me_node_pack(e->g, c->node, c->variant, e->packed_buf + at, d);
        if (st != ME_OK) return st;
        c->packed = e->packed_buf + at;
        at += me_align_up(b, 64);
    }
    /* read-only from here: a kernel writing its weights is a bug to catch */
    mprotect(e->packed_buf, e->packed_buf_bytes, PROT_READ);
    return ME_OK;
}

me_status me_exec_use_packed(me_exec *e, int node, const void *packed, me_diag *d) {
    int s = node >= 0 && node < e->g->n_nodes ? step_of(e, node) : -1;
    if (s < 0) return me_fail(d, ME_ERR_INVALID_ARG, "me_exec_use_packed: node %d is not scheduled", node);
    if (((uintptr_t)packed & 63) != 0)
        return me_fail(d, ME_ERR_FORMAT, "node '%s': packed weights are not 64-byte aligned", e->g->nodes[node].name);
    me_status st = me_node_packed_check(e->g, &e->ctx[s], packed, d);
    if (st != ME_OK) return st;
    e->ctx[s].packed = packed;
    return ME_OK;
}

const void *me_exec_variant(const me_exec *e, int node) {
    int s = node >= 0 && node < e->g->n_nodes ? step_of(e, node) : -1;
    return s < 0 ? NULL : e->ctx[s].variant;
}

void me_exec_set_pool(me_exec *e, struct me_threadpool *pool) {
    e->pool = pool;
    for (int s = 0; s < e->plan.n_steps; s++) e->ctx[s].pool = pool;
}

me_status me_exec_run(me_exec *e, me_diag *d) {
    for (int s = 0; s < e->plan.n_steps; s++) {
        const me_kernel_ctx *c = &e->ctx[s];
        me_diag sub;
        me_diag_init(&sub); /* allocates only if the kernel reports something */
        me_status st = me_node_run(c, &sub);
        if (st != ME_OK) {
            const char *why = me_diag_text(&sub);
            me_fail(d, st, "node '%s' (%s) failed: %s", c->node->name, me_op_names[c->node->op],
                    *why ? why : me_status_str(st));
            me_diag_free(&sub);
            return st;
        }
        me_diag_free(&sub);
        if (e->observe) e->observe(e->observe_user, e, c->node);
    }
    return ME_OK;
}
