/* Pre-packed weights of a node, whichever kernel (float opdef or integer)
 * runs it: see me_opdef.packed_bytes / pack in src/ops/ops.h. */
#ifndef ME_RUNTIME_PACK_H
#define ME_RUNTIME_PACK_H

#include "../ops/ops.h"

size_t me_node_packed_bytes(const me_graph *g, const me_node *n, const void *variant);
me_status me_node_pack(const me_graph *g, const me_node *n, const void *variant, void *dst, me_diag *d);
/* A record from outside (a context binary) checked against the node whose
 * context k is, before it is used: ME_ERR_FORMAT when damaged. */
me_status me_node_packed_check(const me_graph *g, const me_kernel_ctx *k, const void *packed, me_diag *d);

#endif
