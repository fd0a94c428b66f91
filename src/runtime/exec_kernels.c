/* me_exec_fix_kernel: run one node with a named kernel registry variant
 * (a context binary's choice) instead of the CPU's dispatch choice. */
#include <string.h>

#include "../kernels/kernels.h"
#include "exec.h"

/* The registry row `id` of the family that implements `op`; NULL if absent. */
static const void *find_variant(int op, const char *id, unsigned *isa) {
    switch (op) {
    case ME_OP_CONV2D:
    case ME_OP_FULLY_CONNECTED:
    case ME_OP_MATMUL: {
        const me_gemm_f32_kernel *k = me_gemm_f32_find(id);
        if (k) *isa = k->isa;
        return k;
    }
    case ME_OP_DEPTHWISE_CONV2D: {
        const me_dwconv_f32_kernel *k = me_dwconv_f32_find(id);
        if (k) *isa = k->isa;
        return k;
    }
    case ME_OP_ADD:
    case ME_OP_MULTIPLY: {
        const me_eltwise_f32_kernel *k = me_eltwise_f32_find(id);
        if (k) *isa = k->isa;
        return k;
    }
    default:
        return NULL;
    }
}

me_status me_exec_fix_kernel(me_exec *e, int node, const char *id, me_diag *d) {
    if (!e || !id || node < 0 || node >= e->g->n_nodes)
        return me_fail(d, ME_ERR_INVALID_ARG, "me_exec_fix_kernel: bad node %d or id", node);
    const me_node *n = &e->g->nodes[node];
    int step = -1;
    for (int s = 0; s < e->plan.n_steps; s++)
        if (e->plan.order[s] == node) { step = s; break; }
    if (step < 0) return me_fail(d, ME_ERR_INVALID_ARG, "node '%s' is not scheduled", n->name);
    if (strncmp(id, "ref.", 4) == 0) {
        if (strcmp(id + 4, me_op_names[n->op]) != 0)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): kernel '%s' is another op's reference kernel", n->name,
                           me_op_names[n->op], id);
        e->ctx[step].variant = NULL;
        return ME_OK;
    }
    unsigned isa = 0;
    const void *v = find_variant(n->op, id, &isa);
    if (!v)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): kernel '%s' is not in this build for this op", n->name,
                       me_op_names[n->op], id);
    if ((me_cpu_isa_detected() & isa) != isa) {
        char have[64], need[64];
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s': kernel '%s' needs %s; this CPU has %s", n->name, id,
                       me_isa_str(isa, need, sizeof need), me_isa_str(me_cpu_isa_detected(), have, sizeof have));
    }
    e->ctx[step].variant = v;
    return ME_OK;
}
