/* LayerNorm / RmsNorm rows for AVX2 (see kernels.h): two vectors of 4
 * doubles hold the reference's 8 partial sums lane for lane, and the output
 * takes the reference's steps in the same order, so the results are
 * bit-identical (no contraction into FMA). */
#pragma GCC optimize("fp-contract=off")
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels.h"
#include "norm_f32_row.h"

double me_norm_f32_sum__avx2(const float *x, int64_t n, double mean, int sq) {
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    const __m256d m = _mm256_set1_pd(mean);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d a = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), b = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
        if (sq) {
            a = _mm256_sub_pd(a, m);
            b = _mm256_sub_pd(b, m);
            a = _mm256_mul_pd(a, a);
            b = _mm256_mul_pd(b, b);
        }
        lo = _mm256_add_pd(lo, a);
        hi = _mm256_add_pd(hi, b);
    }
    double s[8];
    _mm256_storeu_pd(s, lo);
    _mm256_storeu_pd(s + 4, hi);
    me_norm_f32_sum_tail(x, i, n, mean, sq, s);
    return me_norm_f32_combine8(s);
}

void me_norm_f32_apply__avx2(const float *x, int64_t n, double mean, double inv_std, const float *gamma, int64_t gs,
                             const float *beta, int64_t bs, float *y) {
    const __m256d m = _mm256_set1_pd(mean), r = _mm256_set1_pd(inv_std);
    const __m128 g1 = _mm_set1_ps(gamma ? gamma[0] : 1.0f), b1 = _mm_set1_ps(beta ? beta[0] : 0.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 v = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i)), m), r));
        if (gamma) v = _mm_mul_ps(v, gs ? _mm_loadu_ps(gamma + i) : g1);
        if (beta) v = _mm_add_ps(v, bs ? _mm_loadu_ps(beta + i) : b1);
        _mm_storeu_ps(y + i, v);
    }
    me_norm_f32_apply__generic(x + i, n - i, mean, inv_std, gamma ? gamma + i * gs : NULL, gs, beta ? beta + i * bs : NULL,
                               bs, y + i);
}
#endif
