/* Float add/multiply rows for AVX-512 (see kernels.h); exact, like the
 * reference; the tail is one masked vector. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels.h"

#define ADD_S(x, y) ((x) + (y))
#define MUL_S(x, y) ((x) * (y))
#define MAX_S(x, y) ((x) > (y) ? (x) : (y))
#define MIN_S(x, y) ((x) < (y) ? (x) : (y))

#define ROW(NAME, VOP, OP)                                                                              \
    void NAME(const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n) {              \
        if (!sa && !sb) {                                                                                 \
            float v = OP(a[0], b[0]);                                                                       \
            for (int64_t i = 0; i < n; i++) o[i] = v;                                                     \
            return;                                                                                       \
        }                                                                                                 \
        __m512 xs = _mm512_set1_ps(a[0]), ys = _mm512_set1_ps(b[0]);                                      \
        for (int64_t i = 0; i < n; i += 16) {                                                             \
            __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);             \
            __m512 x = sa ? _mm512_maskz_loadu_ps(m, a + i) : xs;                                         \
            __m512 y = sb ? _mm512_maskz_loadu_ps(m, b + i) : ys;                                         \
            _mm512_mask_storeu_ps(o + i, m, VOP(x, y));                                                   \
        }                                                                                                 \
    }
ROW(me_add_f32_row__avx512, _mm512_add_ps, ADD_S)
ROW(me_mul_f32_row__avx512, _mm512_mul_ps, MUL_S)
ROW(me_min_f32_row__avx512, _mm512_min_ps, MIN_S)
ROW(me_max_f32_row__avx512, _mm512_max_ps, MAX_S)
#endif
