/* me_exec_fix_kernel: run one node with a named kernel registry variant
 * (a context binary's choice) instead of the CPU's dispatch choice. */
#include <string.h>

#include "kernel_families.h"
#include "exec.h"

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
    const void *v = me_kernel_family_find(me_kernel_family_of(e->g, n), id, &isa);
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
