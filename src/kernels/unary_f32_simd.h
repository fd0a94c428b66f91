/* Vectorised float transcendental rows, written once with GCC vector
 * extensions and instantiated per ISA: unary_f32_avx2.c / _avx512.c /
 * _neon.c define UNARY_VW (lanes) and UNARY_SUFFIX, then include this file,
 * which defines the me_unary_f32_<fn>__<suffix> rows of kernels.h.
 *
 * Every lane computes the same formula, and the tail of a row goes through
 * the same vector code (copied through a small buffer), so an element's
 * result does not depend on where it sits in the row or on how a row is cut
 * over threads.
 *
 * Methods and accuracy against the libm reference (unary_f32_generic.c),
 * measured over the whole float range by tests/unit/test_kernels_unary.c:
 *   exp      x = n ln2 + r, |r| <= ln2/2 (two-constant Cody-Waite), e^r by a
 *            degree-7 polynomial (6 fitted coefficients), times 2^n applied
 *            as two power-of-two factors so results that are subnormal round
 *            once and overflow gives +inf; < 2 ulp.
 *   sigmoid  e = exp(-|x|), (x >= 0 ? 1 : e) / (1 + e) (the reference's
 *            form, so no cancellation and subnormal tails); < 3 ulp.
 *   silu     x * sigmoid(x); < 3 ulp.
 *   tanh     |x| < 0.625: x + x z P(z), z = x^2 (odd minimax polynomial);
 *            else sign(x) (1 - 2 / (exp(2|x|) + 1)); < 3 ulp.
 *   erf      |x| < 1: x P(x^2); else sign(x) (1 - erfc(|x|)) with erfc as
 *            t exp(-x^2 + R(t)), t = 1 / (1 + |x|/2) (see verfc_big);
 *            < 3 ulp.
 *   gelu     0.5 x (1 + erf(x / sqrt 2)), the negative tail through erfc
 *            (no cancellation); < 4 ulp + 2^-24 |x| absolute.
 * NaN gives NaN, +-inf the limits (exp(-inf) = 0, sigmoid 0/1, tanh +-1). */
#include <stdint.h>
#include <string.h>

#include "kernels.h"

#ifndef UNARY_VW
#error "define UNARY_VW and UNARY_SUFFIX before including unary_f32_simd.h"
#endif

#define UN_CAT2(a, b) a##b
#define UN_CAT(a, b) UN_CAT2(a, b)
#define UN_NAME(fn) UN_CAT(UN_CAT(me_unary_f32_, fn), UN_CAT(__, UNARY_SUFFIX))

typedef float vf __attribute__((vector_size(UNARY_VW * 4)));
typedef int32_t vi __attribute__((vector_size(UNARY_VW * 4)));
typedef uint32_t vu __attribute__((vector_size(UNARY_VW * 4)));

static inline vf vload(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
static inline vf vsplat(float s) { return (vf){0} + s; }
static inline vf vsel(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }
static inline vf vabs(vf x) { return (vf)((vi)x & 0x7fffffff); }
static inline vf vcopysign(vf mag, vf sgn) {
    return (vf)(((vi)mag & 0x7fffffff) | ((vi)sgn & (int32_t)0x80000000u));
}

/* e^x for any x (see the header comment). */
static inline vf vexp(vf x) {
    x = vsel(x > 88.8f, vsplat(88.8f), x);
    x = vsel(x < -104.0f, vsplat(-104.0f), x);
    const vf magic = vsplat(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    vf n = (x * 1.44269504088896341f + magic) - magic;
    vf r = x - n * 0.693359375f;       /* ln2 split: 0.693359375 is exact in 9 bits */
    r = r - n * -2.12194440e-4f;
    vf p = vsplat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = (p * (r * r) + r) + 1.0f;
#if defined(UNARY_SCALEF)
    /* p * 2^n in one rounding (AVX-512 vscalefps), as the two factors below give */
    return (vf)_mm512_scalef_ps((__m512)p, (__m512)n);
#else
    vi ni = __builtin_convertvector(n, vi);
    vi n1 = ni >> 1, n2 = ni - n1;
    /* shifted as unsigned (a NaN lane converts to INT_MIN; its result is NaN through p anyway) */
    vf s1 = (vf)((vu)(n1 + 127) << 23), s2 = (vf)((vu)(n2 + 127) << 23);
    return p * s1 * s2;
#endif
}

static inline vf vsigmoid_q(vf x, vf *num) {
    vf e = vexp(-vabs(x));
    *num = vsel(x >= 0.0f, vsplat(1.0f), e);
    return 1.0f + e;
}
static inline vf vsigmoid(vf x) {
    vf num, den = vsigmoid_q(x, &num);
    return num / den;
}
static inline vf vsilu(vf x) {
    vf num, den = vsigmoid_q(x, &num);
    return x * (num / den);
}

static inline vf vtanh(vf x) {
    vf ax = vabs(x), z = x * x;
    vf p = vsplat(-5.70498872745e-3f);
    p = p * z + 2.06390887954e-2f;
    p = p * z + -5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z + -3.33332819422e-1f;
    vf small = x + x * z * p;
    vf e = vexp(ax + ax);
    vf large = vcopysign(1.0f - 2.0f / (e + 1.0f), x);
    return vsel(ax < 0.625f, small, large);
}

/* erf(x) for |x| < 1: x P(x^2), P of degree 6 fitted (weighted least
 * squares reweighted towards the largest errors) to erf(x)/x on [0, 1],
 * relative error 1.2e-9 before rounding. */
static inline vf verf_small(vf x, vf z) {
    vf p = vsplat(7.889505650382489e-05f);
    p = p * z + -0.0008020958630368114f;
    p = p * z + 0.005189548712223768f;
    p = p * z + -0.02685445174574852f;
    p = p * z + 0.11283600330352783f;
    p = p * z + -0.3761262595653534f;
    p = p * z + 1.1283791065216064f;
    return x * p;
}
/* erfc(a) for a = |x| >= 1 (also right, less precisely relative, below):
 * t exp(-a^2 + R(t)), t = 1 / (1 + a/2), R a degree-9 polynomial (the
 * Chebyshev-fitted erfc of Numerical Recipes, fractional error < 1.2e-7). */
static inline vf verfc_big(vf a) {
    vf t = 1.0f / (1.0f + 0.5f * a);
    vf p = vsplat(0.17087277f);
    p = p * t + -0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t + -1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t + -0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t + -1.26551223f;
    return t * vexp(p - a * a);
}
static inline vf verf(vf x) {
    vf ax = vabs(x);
    vf big = vcopysign(1.0f - verfc_big(ax), x);
    return vsel(ax < 1.0f, verf_small(x, x * x), big);
}
/* 0.5 x (1 + erf(z)), z = x / sqrt 2; for z <= -1, 1 + erf(z) = erfc(|z|)
 * directly (no cancellation in the negative tail). */
static inline vf vgelu(vf x) {
    vf z = x * 0.70710678118654752f, az = vabs(z);
    vf ec = verfc_big(az);
    vf big = vsel(z >= 0.0f, 2.0f - ec, ec);
    vf onep = vsel(az < 1.0f, 1.0f + verf_small(z, z * z), big);
    return 0.5f * x * onep;
}

/* Apply F to n floats; the tail through a padded buffer. */
#define UN_ROW(fn, F)                                                   \
    void UN_NAME(fn)(const float *x, float *y, int64_t n) {             \
        int64_t i = 0;                                                  \
        for (; i + UNARY_VW <= n; i += UNARY_VW) vstore(y + i, F(vload(x + i))); \
        if (i < n) {                                                    \
            float buf[UNARY_VW] = {0};                                  \
            memcpy(buf, x + i, (size_t)(n - i) * sizeof(float));        \
            vstore(buf, F(vload(buf)));                                 \
            memcpy(y + i, buf, (size_t)(n - i) * sizeof(float));        \
        }                                                               \
    }
UN_ROW(exp, vexp)
UN_ROW(sigmoid, vsigmoid)
UN_ROW(silu, vsilu)
UN_ROW(tanh, vtanh)
UN_ROW(erf, verf)
UN_ROW(gelu, vgelu)
#undef UN_ROW
