/* LayerNorm / RmsNorm rows for aarch64 NEON (see kernels.h): four vectors of
 * 2 doubles hold the reference's 8 partial sums lane for lane, and the output
 * takes the reference's steps in the same order, so the results are
 * bit-identical (no contraction into FMA). */
#pragma GCC optimize("fp-contract=off")
#if defined(__aarch64__)
#include <arm_neon.h>

#include "kernels.h"
#include "norm_f32_row.h"

double me_norm_f32_sum__neon(const float *x, int64_t n, double mean, int sq) {
    float64x2_t s[4] = {vdupq_n_f64(0), vdupq_n_f64(0), vdupq_n_f64(0), vdupq_n_f64(0)};
    const float64x2_t m = vdupq_n_f64(mean);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
        float64x2_t v[4] = {vcvt_f64_f32(vget_low_f32(a)), vcvt_high_f64_f32(a), vcvt_f64_f32(vget_low_f32(b)),
                            vcvt_high_f64_f32(b)};
        for (int k = 0; k < 4; k++) {
            if (sq) {
                v[k] = vsubq_f64(v[k], m);
                v[k] = vmulq_f64(v[k], v[k]);
            }
            s[k] = vaddq_f64(s[k], v[k]);
        }
    }
    double p[8];
    for (int k = 0; k < 4; k++) vst1q_f64(p + 2 * k, s[k]);
    me_norm_f32_sum_tail(x, i, n, mean, sq, p);
    return me_norm_f32_combine8(p);
}

void me_norm_f32_apply__neon(const float *x, int64_t n, double mean, double inv_std, const float *gamma, int64_t gs,
                             const float *beta, int64_t bs, float *y) {
    const float64x2_t m = vdupq_n_f64(mean), r = vdupq_n_f64(inv_std);
    const float32x4_t g1 = vdupq_n_f32(gamma ? gamma[0] : 1.0f), b1 = vdupq_n_f32(beta ? beta[0] : 0.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t a = vld1q_f32(x + i);
        float64x2_t l = vmulq_f64(vsubq_f64(vcvt_f64_f32(vget_low_f32(a)), m), r);
        float64x2_t h = vmulq_f64(vsubq_f64(vcvt_high_f64_f32(a), m), r);
        float32x4_t v = vcvt_high_f32_f64(vcvt_f32_f64(l), h);
        if (gamma) v = vmulq_f32(v, gs ? vld1q_f32(gamma + i) : g1);
        if (beta) v = vaddq_f32(v, bs ? vld1q_f32(beta + i) : b1);
        vst1q_f32(y + i, v);
    }
    me_norm_f32_apply__generic(x + i, n - i, mean, inv_std, gamma ? gamma + i * gs : NULL, gs, beta ? beta + i * bs : NULL,
                               bs, y + i);
}
#endif
