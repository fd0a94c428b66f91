/* TEMPORARY during bring-up: weak placeholder definitions so the tree links
 * while op files are being written. A placeholder refuses to infer or run.
 * Each real src/ops/<stem>.c overrides these; this file is deleted once all exist. */
#include "ops.h"

static me_status unimpl_infer(me_graph *g, me_node *n, me_diag *d) {
    (void)g;
    return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s': op %s is not implemented yet", n->name, me_op_names[n->op]);
}
static me_status unimpl_run(const me_kernel_ctx *k, me_diag *d) {
    return me_fail(d, ME_ERR_UNSUPPORTED, "op %s has no kernel yet", me_op_names[k->node->op]);
}
static const me_param_schema no_params[] = {{NULL}};

#define X(id, qnn_name, pkg, stem)                                                         \
    __attribute__((weak)) const me_opdef me_opdef_##id = {qnn_name, pkg, 0, -1, 1, 8, no_params, \
                                                          unimpl_infer, unimpl_run, NULL};
#include "ops.def"
#undef X
