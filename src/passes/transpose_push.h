/* Pushing a Transpose through a layout-agnostic op (transpose_cancel's
 * main rewrite). Internal to src/passes. */
#ifndef ME_TRANSPOSE_PUSH_H
#define ME_TRANSPOSE_PUSH_H

#include "pass_util.h"

/* How an op can take its input in another axis order. */
typedef enum mp_layout_kind {
    MP_LK_NONE = 0,  /* layout-sensitive or unknown: a transpose stops here */
    MP_LK_ELEMWISE,  /* element-wise (broadcasting), no axis params */
    MP_LK_CONCAT,    /* `axis` (default rank-1), all inputs same rank */
    MP_LK_AXIS,      /* one `axis` param: Softmax, LogSoftmax, CumulativeSum */
    MP_LK_SPLIT,     /* `axis`, one output per slice */
    MP_LK_REDUCE,    /* `axes` tensor + `keep_dims` */
    MP_LK_ARG,       /* Argmax/Argmin: `axis` + `keep_dims` */
    MP_LK_PAD,       /* `pad_amount` rows */
    MP_LK_TILE,      /* `multiples` */
    MP_LK_SLICE      /* StridedSlice `ranges` rows and axis bit masks */
} mp_layout_kind;

mp_layout_kind mp_layout_kind_of(int op);

/* If every non-static input of node `c` (live) is produced by a Transpose
 * with one same perm and c's params can be remapped: rewrite c to read the
 * transposes' inputs (static inputs become permuted copies) and put a
 * Transpose after each output. Refused when an input transpose writes a
 * graph output or has a consumer that could not take a transpose itself
 * (the transpose would stay and the push would add one). *done tells
 * whether c was rewritten. */
me_status mp_push_transpose(me_graph *g, mp_uses *u, int c, bool *done, me_diag *d);

/* The live Transpose producing t and its perm (rank of t's input), or -1. */
int mp_transpose_producer(const me_graph *g, int t, int *perm);

/* True if perm swaps the last two axes and keeps the others. */
bool mp_perm_is_last_two_swap(const int *p, int rank);

/* True if input `slot` of `consumer`, produced by Transpose node `tnode`,
 * can take the transpose: it merges (Transpose), is pushed through
 * (layout-agnostic op), is a pure relabel before a Reshape, or toggles a
 * MatMul transpose_in flag. */
bool mp_transpose_absorbable(const me_graph *g, int consumer, int slot, int tnode);

/* True if the Transpose `tnode` writing t may move below its consumers:
 * t is no graph output and every consumer can absorb the transpose. */
bool mp_transpose_movable(const me_graph *g, const mp_uses *u, int t, int tnode);

/* Reshape(T(perm)(a)) = T(out_perm)(Reshape'(a)) when the reshape only
 * merges or splits axes that are adjacent and in order in a's layout (unit
 * axes aside). Fills Reshape'(a)'s dims; false when it does not apply. */
bool mp_reshape_plan(const me_graph *g, int reshape_node, const int *perm, int64_t *dims, int *out_perm);

/* Apply that rewrite to Reshape node c when its input transpose may move. */
me_status mp_push_through_reshape(me_graph *g, mp_uses *u, int c, bool *done, me_diag *d);

#endif
