/* Portable reference rows of the unary_f32 family (kernels.h): libm, one
 * element at a time. The SIMD variants are tested against these. */
#include <math.h>

#include "kernels.h"

static inline float sigmoid1(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

void me_unary_f32_exp__generic(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}
void me_unary_f32_sigmoid__generic(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = sigmoid1(x[i]);
}
void me_unary_f32_silu__generic(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * sigmoid1(x[i]);
}
void me_unary_f32_erf__generic(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = erff(x[i]);
}
void me_unary_f32_gelu__generic(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}
void me_unary_f32_tanh__generic(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}
