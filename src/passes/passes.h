/* Graph passes (pipeline stage 2). Each pass is a plain function over the IR,
 * listed in the pass table (passes.def). */
#ifndef ME_PASSES_H
#define ME_PASSES_H

#include "../ir/ir.h"

typedef struct me_pass_options {
    int optimize;          /* 0: run only the passes required for correctness */
    int verify_each_pass;  /* run me_graph_verify after every pass */
} me_pass_options;

typedef me_status (*me_pass_fn)(me_graph *g, const me_pass_options *o, me_diag *d);

typedef struct me_pass {
    const char *name;
    me_pass_fn fn;
    int required;          /* runs even when optimize == 0 */
} me_pass;

extern const me_pass me_passes[];
extern const int me_n_passes;

/* Run the pass table in order. */
me_status me_run_passes(me_graph *g, const me_pass_options *o, me_diag *d);

#endif
