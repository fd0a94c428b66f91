/* Graph passes (pipeline stage 2). Each pass is a plain function over the IR,
 * listed in the pass table (passes.def). Passes edit the graph in place (mark
 * nodes dead, rewire inputs, add tensors and nodes); me_run_passes compacts
 * the graph and orders its nodes topologically at the end. Graph inputs and
 * outputs keep their names, dtypes and shapes, and every graph output keeps a
 * producer. */
#ifndef ME_PASSES_H
#define ME_PASSES_H

#include "../ir/ir.h"

typedef struct me_pass_options {
    int optimize;          /* 0: run only the passes required for correctness */
    int verify_each_pass;  /* run me_graph_verify after every pass */
    int quantize;          /* 1: the graph will be quantised: no fusion that only
                              the float kernels implement (fused SiLU / Gelu /
                              HardSwish, ops/fused_activation.h) */
} me_pass_options;

typedef me_status (*me_pass_fn)(me_graph *g, const me_pass_options *o, me_diag *d);

typedef struct me_pass {
    const char *name;
    me_pass_fn fn;
    int required;          /* runs even when optimize == 0 */
} me_pass;

extern const me_pass me_passes[];
extern const int me_n_passes;

/* One declaration per row of passes.def. */
#define X(name, fn, required) me_status fn(me_graph *g, const me_pass_options *o, me_diag *d);
#include "passes.def"
#undef X

/* Run the pass table in order (o == NULL: optimise, no verification). With
 * o->verify_each_pass, a verifier failure after pass NAME fails the run with
 * "after pass 'NAME': <verifier text>". */
me_status me_run_passes(me_graph *g, const me_pass_options *o, me_diag *d);

/* Put the live nodes of g in a topological order that keeps the existing
 * order wherever it is already valid (nodes appended by a pass move up to
 * just before their first consumer). Producers are recomputed. */
me_status me_graph_order_nodes(me_graph *g, me_diag *d);

#endif
