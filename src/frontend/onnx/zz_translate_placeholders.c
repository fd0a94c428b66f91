/* TEMPORARY during bring-up: weak placeholder translators so the tree links
 * while translate_*.c files are being written. A real definition in a
 * translate_*.c file overrides each (archive order puts this file last). */
#include "onnx_import.h"

static me_status placeholder(mo_ctx *c, const onnx_node *n) {
    return mo_error(c, n, ME_ERR_UNSUPPORTED, "no translator for this op yet");
}

#define WEAK_TR(fn) \
    __attribute__((weak)) me_status fn(mo_ctx *c, const onnx_node *n) { return placeholder(c, n); }
WEAK_TR(function)
WEAK_TR(mo_tr_unary)
WEAK_TR(mo_tr_binary)
WEAK_TR(mo_tr_variadic)
WEAK_TR(mo_tr_where)
WEAK_TR(mo_tr_clip)
WEAK_TR(mo_tr_activation)
WEAK_TR(mo_tr_softmax)
WEAK_TR(mo_tr_conv)
WEAK_TR(mo_tr_conv_transpose)
WEAK_TR(mo_tr_pool)
WEAK_TR(mo_tr_gemm)
WEAK_TR(mo_tr_matmul)
WEAK_TR(mo_tr_batchnorm)
WEAK_TR(mo_tr_reshape)
WEAK_TR(mo_tr_identity)
WEAK_TR(mo_tr_transpose)
WEAK_TR(mo_tr_concat)
WEAK_TR(mo_tr_split)
WEAK_TR(mo_tr_slice)
WEAK_TR(mo_tr_pad)
WEAK_TR(mo_tr_tile)
WEAK_TR(mo_tr_expand)
WEAK_TR(mo_tr_gather)
WEAK_TR(mo_tr_cast)
WEAK_TR(mo_tr_constant)
WEAK_TR(mo_tr_constant_of_shape)
WEAK_TR(mo_tr_shape)
WEAK_TR(mo_tr_range)
WEAK_TR(mo_tr_reduce)
WEAK_TR(mo_tr_argminmax)
WEAK_TR(mo_tr_norm)
WEAK_TR(mo_tr_lrn)
WEAK_TR(mo_tr_resize)
WEAK_TR(mo_tr_depth_space)
WEAK_TR(mo_tr_topk)
WEAK_TR(mo_tr_cumsum)
WEAK_TR(mo_tr_trilu)
WEAK_TR(mo_tr_qdq)
WEAK_TR(mo_tr_if)
WEAK_TR(mo_tr_attention)
WEAK_TR(mo_tr_rotary)
WEAK_TR(mo_tr_lstm)
WEAK_TR(mo_tr_gru)
WEAK_TR(mo_tr_einsum)
