/* Reference executor: runs a planned graph node by node with the op table's
 * reference kernels. Everything (buffer, kernel contexts) is prepared by
 * me_exec_create; me_exec_run allocates nothing. */
#ifndef ME_EXEC_H
#define ME_EXEC_H

#include "../ops/ops.h"
#include "plan.h"

typedef struct me_exec {
    const me_graph *g;     /* must outlive the executor and stay unchanged */
    me_plan plan;
    unsigned char *buf;    /* activations, then scratch; ME_PLAN_ALIGN aligned */
    size_t buf_bytes;
    me_kernel_ctx *ctx;    /* one per step */
    void *ptr_pool;        /* the pointer arrays the contexts refer to */
    /* Called after each node ran (its outputs are in me_exec_tensor_data);
     * NULL = none. Used by calibration and accuracy reports. */
    void (*observe)(void *user, const struct me_exec *e, const me_node *n);
    void *observe_user;
    struct me_threadpool *pool; /* not owned; handed to every kernel (NULL: one thread) */
    unsigned char *packed_buf;  /* pre-packed weights made by me_exec_pack (owned), or NULL */
    size_t packed_buf_bytes;
} me_exec;

/* Plans the graph, fixes every node's kernel variant to this CPU's choice
 * and packs the weights of the nodes whose kernels want them (me_exec_pack). */
me_status me_exec_create(const me_graph *g, me_exec *e, me_diag *d);
/* The same with a plan computed elsewhere (a context binary's): it is copied
 * and checked with me_plan_check instead of being rebuilt. Nothing is packed:
 * the caller fixes the stored kernels, then points nodes at stored packed
 * weights (me_exec_use_packed) or calls me_exec_pack. */
me_status me_exec_create_planned(const me_graph *g, const me_plan *plan, me_exec *e, me_diag *d);
void me_exec_free(me_exec *e);
/* Runs every node in order; a kernel error is returned naming the node. */
me_status me_exec_run(me_exec *e, me_diag *d);
/* Kernels run from now on split their work over `pool` (NULL: one thread). */
void me_exec_set_pool(me_exec *e, struct me_threadpool *pool);
/* Node `node` runs with kernel registry variant `id` (src/kernels/kernels.h,
 * e.g. a context binary's "gemm_f32__avx2_fma_6x16") instead of the CPU's
 * dispatch choice; "ref.<QNN op>" keeps the op's own kernel. Fails when the
 * id is not a variant of the node's op family in this build, or needs ISA
 * features this CPU lacks (exec_kernels.c). */
me_status me_exec_fix_kernel(me_exec *e, int node, const char *id, me_diag *d);
/* (Re)packs the weights of every node whose kernel variant wants a packed
 * layout (src/runtime/pack.h) into one allocation owned by e. */
me_status me_exec_pack(me_exec *e, me_diag *d);
/* Node `node` reads pre-packed weights at `packed` (not owned; 64-byte
 * aligned; e.g. a context binary's PACKED section), or none (NULL). */
me_status me_exec_use_packed(me_exec *e, int node, const void *packed, me_diag *d);
/* The kernel registry row node `node` runs with (NULL: its reference kernel). */
const void *me_exec_variant(const me_exec *e, int node);
/* Where tensor `t`'s bytes live during/after a run (static: its data). */
void *me_exec_tensor_data(const me_exec *e, int t);

#endif
