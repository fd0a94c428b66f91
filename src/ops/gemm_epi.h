/* The fused bias + activation of a Conv2d / FullyConnected / MatMul node as
 * a packed GEMM epilogue (me_gemm_f32_epi, src/kernels/kernels.h). */
#ifndef ME_OPS_GEMM_EPI_H
#define ME_OPS_GEMM_EPI_H

#include <stdbool.h>

#include "../kernels/kernels.h"
#include "fused_activation.h"

/* Fills e for node n with `bias` (NULL = none). Relu and relu_min_max are
 * applied in the GEMM's store; returns true when the node's activation is
 * another kind, which the caller applies afterwards with
 * me_apply_fused_activation. */
static inline bool me_gemm_epi_for_node(const me_node *n, const float *bias, me_gemm_f32_epi *e) {
    int64_t act = me_param_int(n, "activation", ME_FUSED_ACT_NONE);
    e->bias = bias;
    e->act = 0;
    e->lo = e->hi = 0.0f;
    if (act == ME_FUSED_ACT_RELU) {
        e->act = 1;
    } else if (act == ME_FUSED_ACT_RELU_MIN_MAX) {
        e->act = 2;
        e->lo = (float)me_param_float(n, "activation_min", 0.0);
        e->hi = (float)me_param_float(n, "activation_max", 0.0);
    }
    return act != ME_FUSED_ACT_NONE && e->act == 0;
}

#endif
