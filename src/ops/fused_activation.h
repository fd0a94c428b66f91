/* Activation fused into a Conv2d / DepthWiseConv2d / TransposeConv2d /
 * FullyConnected / MatMul node by the fuse_activation pass. QNN ops carry no
 * fused activation, so it is our extension (package-neutral) params:
 *   activation      U32  0 none, 1 relu, 2 relu_min_max, 3 silu (x*sigmoid(x)),
 *                        4 gelu (erf form, as the Gelu op), 5 hard_swish
 *   activation_min  F32  (relu_min_max)
 *   activation_max  F32  (relu_min_max)
 * Kernels of those ops call me_apply_fused_activation on their float output
 * as the last step. */
#ifndef ME_FUSED_ACTIVATION_H
#define ME_FUSED_ACTIVATION_H

#include <stdint.h>

#include "../ir/ir.h"
#include "../kernels/dispatch.h"
#include "../runtime/threadpool.h"

enum { ME_FUSED_ACT_NONE = 0, ME_FUSED_ACT_RELU = 1, ME_FUSED_ACT_RELU_MIN_MAX = 2 };
/* Kinds only the float kernels apply (the quantised kernels and the QNN
 * targets take Relu / ReluMinMax only; passes fuse these only into graphs
 * that stay float, see me_pass_options.quantize). */
enum { ME_FUSED_ACT_SILU = 3, ME_FUSED_ACT_GELU = 4, ME_FUSED_ACT_HARD_SWISH = 5, ME_FUSED_ACT_MAX = 5 };

/* Schema rows for an op's param table (all optional). */
#define ME_FUSED_ACTIVATION_PARAMS                                   \
    {"activation", ME_PARAM_SCALAR, ME_DT_U32, false},               \
    {"activation_min", ME_PARAM_SCALAR, ME_DT_F32, false},           \
    {"activation_max", ME_PARAM_SCALAR, ME_DT_F32, false}

/* Same results as the Relu / ReluMinMax / HardSwish kernels; SiLU and Gelu
 * through the unary_f32 registry rows the Sigmoid / Gelu kernels use
 * (kernels/unary_f32_simd.h states their error against libm). NaN passes
 * through. */
static inline void me_apply_fused_activation(const me_node *n, float *data, int64_t count) {
    int64_t act = me_param_int(n, "activation", ME_FUSED_ACT_NONE);
    if (act == ME_FUSED_ACT_RELU) {
        /* eltwise_f32 rows (exact): 0 > x ? 0 : x, which keeps NaN and -0 */
        float zero = 0.0f;
        if (count > 0) me_eltwise_f32_select()->max(&zero, 0, data, 1, data, count);
    } else if (act == ME_FUSED_ACT_RELU_MIN_MAX) {
        /* min(max(x, lo), hi) as ONNX Clip: lo > x ? lo : x, then hi < v ? hi : v */
        float lo = (float)me_param_float(n, "activation_min", 0.0), hi = (float)me_param_float(n, "activation_max", 0.0);
        if (count > 0) {
            const me_eltwise_f32_kernel *ek = me_eltwise_f32_select();
            ek->max(&lo, 0, data, 1, data, count);
            ek->min(&hi, 0, data, 1, data, count);
        }
    } else if (act == ME_FUSED_ACT_SILU) {
        if (count > 0) me_unary_f32_fn_of(NULL, ME_UNARY_SILU)(data, data, count);
    } else if (act == ME_FUSED_ACT_GELU) {
        if (count > 0) me_unary_f32_fn_of(NULL, ME_UNARY_GELU)(data, data, count);
    } else if (act == ME_FUSED_ACT_HARD_SWISH) {
        for (int64_t i = 0; i < count; i++) {
            float r = data[i] + 3.0f;
            r = r < 0.0f ? 0.0f : r > 6.0f ? 6.0f : r;
            data[i] = data[i] * r / 6.0f;
        }
    }
}


/* The same split over a thread pool: element-wise, so the result does not
 * depend on the split (chunks stay multiples of 64 elements). */
typedef struct me_fused_act_job {
    const me_node *n;
    float *data;
} me_fused_act_job;

static inline void me_fused_act_chunk(void *v, int64_t b, int64_t e) {
    const me_fused_act_job *j = v;
    me_apply_fused_activation(j->n, j->data + b, e - b);
}

static inline void me_apply_fused_activation_mt(struct me_threadpool *pool, const me_node *n, float *data,
                                                int64_t count) {
    if (me_param_int(n, "activation", ME_FUSED_ACT_NONE) == ME_FUSED_ACT_NONE || count <= 0) return;
    if (!pool || count < 8192) {
        me_apply_fused_activation(n, data, count);
        return;
    }
    me_fused_act_job j = {n, data};
    me_parallel_for(pool, count, 64, me_fused_act_chunk, &j);
}

#endif
