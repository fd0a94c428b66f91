/* Activation fused into a Conv2d / DepthWiseConv2d / TransposeConv2d /
 * FullyConnected / MatMul node by the fuse_activation pass. QNN ops carry no
 * fused activation, so it is our extension (package-neutral) params:
 *   activation      U32  0 none, 1 relu, 2 relu_min_max
 *   activation_min  F32  (relu_min_max)
 *   activation_max  F32  (relu_min_max)
 * Kernels of those ops call me_apply_fused_activation on their float output
 * as the last step. */
#ifndef ME_FUSED_ACTIVATION_H
#define ME_FUSED_ACTIVATION_H

#include <stdint.h>

#include "../ir/ir.h"

enum { ME_FUSED_ACT_NONE = 0, ME_FUSED_ACT_RELU = 1, ME_FUSED_ACT_RELU_MIN_MAX = 2 };

/* Schema rows for an op's param table (all optional). */
#define ME_FUSED_ACTIVATION_PARAMS                                   \
    {"activation", ME_PARAM_SCALAR, ME_DT_U32, false},               \
    {"activation_min", ME_PARAM_SCALAR, ME_DT_F32, false},           \
    {"activation_max", ME_PARAM_SCALAR, ME_DT_F32, false}

/* Same results as the Relu / ReluMinMax kernels (NaN passes through). */
static inline void me_apply_fused_activation(const me_node *n, float *data, int64_t count) {
    int64_t act = me_param_int(n, "activation", ME_FUSED_ACT_NONE);
    if (act == ME_FUSED_ACT_RELU) {
        for (int64_t i = 0; i < count; i++)
            if (data[i] < 0.0f) data[i] = 0.0f;
    } else if (act == ME_FUSED_ACT_RELU_MIN_MAX) {
        float lo = (float)me_param_float(n, "activation_min", 0.0), hi = (float)me_param_float(n, "activation_max", 0.0);
        for (int64_t i = 0; i < count; i++) { /* min(max(x, lo), hi), as ONNX Clip */
            float v = data[i] < lo ? lo : data[i];
            data[i] = v > hi ? hi : v;
        }
    }
}

#endif
