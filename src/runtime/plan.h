/* Memory plan for running a graph: execution order, tensor lifetimes, and
 * one activation buffer in which every non-static tensor (graph inputs and
 * outputs included) has a fixed 64-byte aligned offset. Tensors whose
 * lifetimes overlap never share bytes; dead tensors' bytes are reused. */
#ifndef ME_PLAN_H
#define ME_PLAN_H

#include <stddef.h>

#include "../ir/ir.h"

#define ME_PLAN_ALIGN 64
#define ME_PLAN_NONE ((size_t)-1)   /* offset of a tensor that lives outside the buffer (static) */

typedef struct me_plan {
    int n_steps;
    int *order;            /* node ids in execution order */
    int *first, *last;     /* per tensor: lifetime in steps, inclusive; -1 when not planned */
    size_t *offset;        /* per tensor: offset in the activation buffer, or ME_PLAN_NONE */
    size_t arena_bytes;    /* activation buffer size */
    size_t sum_bytes;      /* what the buffer would need without reuse (debug statistic) */
    size_t scratch_bytes;  /* max scratch over nodes, rounded up to ME_PLAN_ALIGN */
} me_plan;

/* Build the plan for a graph whose shapes are final. */
me_status me_plan_build(const me_graph *g, me_plan *p, me_diag *d);
void me_plan_free(me_plan *p);

/* The offset assignment on its own: `n` blocks of `size` bytes alive over
 * steps [first, last] (inclusive). Sets offset[i] (ME_PLAN_ALIGN aligned) so
 * that blocks with overlapping lifetimes do not overlap in memory, and
 * *total to the buffer size. Blocks with first < 0 are skipped (offset
 * ME_PLAN_NONE). Greedy: largest block first, lowest free offset. */
me_status me_plan_offsets(int n, const size_t *size, const int *first, const int *last,
                          size_t *offset, size_t *total, me_diag *d);

/* Check a plan that was stored elsewhere (a context binary) against `g`
 * without trusting it: the order is a valid schedule of every live node,
 * every non-static tensor has a lifetime covering its uses and an aligned
 * range inside arena_bytes, tensors alive at the same step do not share
 * bytes, and scratch_bytes covers every node. Sets sum_bytes. ME_ERR_FORMAT
 * with the first problem found. */
me_status me_plan_check(const me_graph *g, me_plan *p, me_diag *d);
/* Deep copy of a plan over `n_tensors` tensors into *out. */
me_status me_plan_copy(const me_plan *p, int n_tensors, me_plan *out, me_diag *d);

#endif
