/* Node-level dispatch of the packing hooks (pack.h). */
#include "pack.h"

#include "../quant/qk_common.h"
#include "../quant/quant_kernels.h"

size_t me_node_packed_bytes(const me_graph *g, const me_node *n, const void *variant) {
    if (n->dead) return 0;
    if (me_op_has_quant_kernel(g, n)) return me_qnode_packed_bytes(g, n, variant);
    const me_opdef *od = me_opdefs[n->op];
    return od->packed_bytes && od->pack ? od->packed_bytes(g, n, variant) : 0;
}

me_status me_node_pack(const me_graph *g, const me_node *n, const void *variant, void *dst, me_diag *d) {
    if (me_op_has_quant_kernel(g, n)) return me_qnode_pack(g, n, variant, dst, d);
    const me_opdef *od = me_opdefs[n->op];
    if (!od->pack) return me_fail(d, ME_ERR_INTERNAL, "node '%s': op %s has no packed layout", n->name, me_op_names[n->op]);
    return od->pack(g, n, variant, dst, d);
}

me_status me_node_packed_check(const me_graph *g, const me_kernel_ctx *k, const void *packed, me_diag *d) {
    /* the float layouts are plain numbers read at offsets the node's shapes give */
    return me_op_has_quant_kernel(g, k->node) ? me_qk_packed_check(k, packed, d) : ME_OK;
}
