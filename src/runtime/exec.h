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
} me_exec;

me_status me_exec_create(const me_graph *g, me_exec *e, me_diag *d);
/* The same with a plan computed elsewhere (a context binary's): it is copied
 * and checked with me_plan_check instead of being rebuilt. */
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
/* Where tensor `t`'s bytes live during/after a run (static: its data). */
void *me_exec_tensor_data(const me_exec *e, int t);

#endif
