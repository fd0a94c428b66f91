/* Float add/multiply rows for AVX2 (see kernels.h); exact, like the reference. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels.h"

#define ADD_S(x, y) ((x) + (y))
#define MUL_S(x, y) ((x) * (y))
#define MAX_S(x, y) ((x) > (y) ? (x) : (y))
#define MIN_S(x, y) ((x) < (y) ? (x) : (y))

#define ROW(NAME, VOP, OP)                                                                              \
    void NAME(const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n) {              \
        int64_t i = 0;                                                                                    \
        if (sa && sb) {                                                                                   \
            for (; i + 16 <= n; i += 16) {                                                                \
                _mm256_storeu_ps(o + i, VOP(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));              \
                _mm256_storeu_ps(o + i + 8, VOP(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)));  \
            }                                                                                             \
            for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, VOP(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i))); \
            for (; i < n; i++) o[i] = OP(a[i], b[i]);                                                       \
        } else if (sa) {                                                                                  \
            __m256 y = _mm256_set1_ps(b[0]);                                                              \
            for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, VOP(_mm256_loadu_ps(a + i), y));           \
            for (; i < n; i++) o[i] = OP(a[i], b[0]);                                                       \
        } else if (sb) {                                                                                  \
            __m256 x = _mm256_set1_ps(a[0]);                                                              \
            for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, VOP(x, _mm256_loadu_ps(b + i)));           \
            for (; i < n; i++) o[i] = OP(a[0], b[i]);                                                       \
        } else {                                                                                          \
            float v = OP(a[0], b[0]);                                                                       \
            for (; i < n; i++) o[i] = v;                                                                  \
        }                                                                                                 \
    }
ROW(me_add_f32_row__avx2, _mm256_add_ps, ADD_S)
ROW(me_mul_f32_row__avx2, _mm256_mul_ps, MUL_S)
ROW(me_min_f32_row__avx2, _mm256_min_ps, MIN_S)
ROW(me_max_f32_row__avx2, _mm256_max_ps, MAX_S)
#endif
