/* Which IR nodes the integer reference kernels execute on quantised tensors.
 * The quantize pass (q1) and the QDQ folding pass ask this to decide whether a
 * node stays quantised or is wrapped in Dequantize -> float op -> Quantize
 * (float fallback). Semantics: docs/quantized-arithmetic.md. */
#ifndef ME_QUANT_KERNELS_H
#define ME_QUANT_KERNELS_H

#include <stdbool.h>

#include "../ops/ops.h"

/* True iff node n, with the dtypes and encodings its input and output tensors
 * carry right now, is executed by an integer kernel. Activations must be
 * U8/U16 with a per-tensor SCALE_OFFSET encoding; static weights I8/I4/I16
 * symmetric (per tensor or per output channel); bias I32 (or I8). */
bool me_op_has_quant_kernel(const me_graph *g, const me_node *n);

/* True iff op `op` has an integer kernel for some encodings (a coarse test
 * usable before encodings are chosen). */
bool me_op_quant_capable(int op);

/* Run / infer one node, choosing the integer kernel when the node carries
 * quantised tensors and the op's float reference kernel otherwise. The
 * runtime, constant folding and verification call these instead of
 * me_opdefs[op]->run / ->infer. */
me_status me_node_run(const me_kernel_ctx *k, me_diag *d);
me_status me_node_infer(me_graph *g, me_node *n, me_diag *d);

/* Pre-packed weights of a node that me_op_has_quant_kernel: the integer
 * kernels' counterpart of me_opdef.packed_bytes / pack (same contract). */
size_t me_qnode_packed_bytes(const me_graph *g, const me_node *n, const void *variant);
me_status me_qnode_pack(const me_graph *g, const me_node *n, const void *variant, void *dst, me_diag *d);

#endif
