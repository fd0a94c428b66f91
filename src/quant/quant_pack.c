/* Pre-packed weights for the integer kernels (quant_kernels.h). None of
 * the integer kernels reads a packed layout yet. */
#include "quant_kernels.h"

size_t me_qnode_packed_bytes(const me_graph *g, const me_node *n, const void *variant) {
    (void)g, (void)n, (void)variant;
    return 0;
}

me_status me_qnode_pack(const me_graph *g, const me_node *n, const void *variant, void *dst, me_diag *d) {
    (void)g, (void)variant, (void)dst;
    return me_fail(d, ME_ERR_INTERNAL, "node '%s': no packed layout for its integer kernel", n->name);
}
