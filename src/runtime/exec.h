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
} me_exec;

me_status me_exec_create(const me_graph *g, me_exec *e, me_diag *d);
void me_exec_free(me_exec *e);
/* Runs every node in order; a kernel error is returned naming the node. */
me_status me_exec_run(me_exec *e, me_diag *d);
/* Where tensor `t`'s bytes live during/after a run (static: its data). */
void *me_exec_tensor_data(const me_exec *e, int t);

#endif
