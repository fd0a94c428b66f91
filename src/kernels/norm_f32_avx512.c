/* LayerNorm / RmsNorm rows for AVX-512 (see kernels.h): one vector of 8
 * doubles holds the reference's 8 partial sums lane for lane, and the output
 * takes the reference's steps in the same order, so the results are
 * bit-identical (no contraction into FMA). */
#pragma GCC optimize("fp-contract=off")
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels.h"
#include "norm_f32_row.h"

static double combine8(__m512d s) {
    double v[8];
    _mm512_storeu_pd(v, s);
    return me_norm_f32_combine8(v);
}

double me_norm_f32_sum__avx512(const float *x, int64_t n, double mean, int sq) {
    __m512d s = _mm512_setzero_pd();
    const __m512d m = _mm512_set1_pd(mean);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
        if (sq) {
            v = _mm512_sub_pd(v, m);
            v = _mm512_mul_pd(v, v);
        }
        s = _mm512_add_pd(s, v);
    }
    if (i < n) { /* the tail goes to lanes 0.. as in the reference (i is a multiple of 8) */
        __mmask8 k = (__mmask8)((1u << (n - i)) - 1u);
        __m512d v = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, x + i));
        if (sq) {
            v = _mm512_sub_pd(v, m);
            v = _mm512_mul_pd(v, v);
        }
        s = _mm512_mask_add_pd(s, k, s, v);
    }
    return combine8(s);
}

void me_norm_f32_apply__avx512(const float *x, int64_t n, double mean, double inv_std, const float *gamma, int64_t gs,
                               const float *beta, int64_t bs, float *y) {
    const __m512d m = _mm512_set1_pd(mean), r = _mm512_set1_pd(inv_std);
    const __m256 g1 = _mm256_set1_ps(gamma ? gamma[0] : 1.0f), b1 = _mm256_set1_ps(beta ? beta[0] : 0.0f);
    for (int64_t i = 0; i < n; i += 8) {
        __mmask8 k = n - i >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - i)) - 1u);
        __m256 v = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_sub_pd(_mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, x + i)), m), r));
        if (gamma) v = _mm256_mul_ps(v, gs ? _mm256_maskz_loadu_ps(k, gamma + i) : g1);
        if (beta) v = _mm256_add_ps(v, bs ? _mm256_maskz_loadu_ps(k, beta + i) : b1);
        _mm256_mask_storeu_ps(y + i, k, v);
    }
}
#endif
