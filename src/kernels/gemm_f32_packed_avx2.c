/* Packed-weights gemm_f32 for AVX2 + FMA (kernels.h, gemm_f32_packed.h).
 * Built with -mavx2 -mfma; called only when cpuid says so.
 *
 * Same loop structure as the AVX-512 variant: up to 6 rows x 16 columns
 * (12 ymm accumulators) from 16-column B panels, A broadcast from its rows,
 * K blocks with partial sums in C, bias and activation in the last block's
 * store, masked column tails. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))

enum { MR = 6, NR = 16, KC = 256, NC = 512, PF = 64 }; /* PF: B prefetch distance in K steps */

INLINE __m256i lane_mask8(int64_t w) {
    static const int32_t ramp[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int32_t n = w <= 0 ? 0 : w >= 8 ? 8 : (int32_t)w;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_loadu_si256((const __m256i *)ramp));
}

INLINE __m256 act256(__m256 v, int act, __m256 lo, __m256 hi) {
    if (act == 1) return _mm256_max_ps(_mm256_setzero_ps(), v);
    if (act == 2) return _mm256_min_ps(hi, _mm256_max_ps(lo, v));
    return v;
}

INLINE void tile(int R, int NV, int64_t kc, const float *a, int64_t lda, const float *b, float *C, int64_t ldc,
                 __m256i m0, __m256i m1, int first, int last, const me_gemm_f32_epi *e, const float *bias) {
    __m256 c0[MR], c1[MR];
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {
        if (first) {
            c0[r] = _mm256_setzero_ps();
            c1[r] = _mm256_setzero_ps();
        } else {
            c0[r] = _mm256_maskload_ps(C + r * ldc, m0);
            if (NV > 1) c1[r] = _mm256_maskload_ps(C + r * ldc + 8, m1);
        }
    }
    const float *p0 = a, *p1 = a + 3 * lda;
    const int64_t l2 = 2 * lda;
#define ROW(r) ((r) < 3 ? p0 : p1)[((r) % 3 == 0 ? 0 : (r) % 3 == 1 ? lda : l2)]
    for (int64_t k = 0; k < kc; k++) {
        _mm_prefetch((const char *)(b + PF * NR), _MM_HINT_T0);
        __m256 b0 = _mm256_loadu_ps(b), b1;
        if (NV > 1) b1 = _mm256_loadu_ps(b + 8);
        b += NR;
#define STEP(r)                                                          \
        if (R > r) {                                                     \
            __m256 av = _mm256_broadcast_ss(&ROW(r));                    \
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);                      \
            if (NV > 1) c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);          \
        }
        STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5)
#undef STEP
        p0++; p1++;
    }
#undef ROW
    if (last) {
        __m256 lo = _mm256_set1_ps(e->lo), hi = _mm256_set1_ps(e->hi);
        __m256 bb0 = bias ? _mm256_maskload_ps(bias, m0) : _mm256_setzero_ps();
        __m256 bb1 = bias && NV > 1 ? _mm256_maskload_ps(bias + 8, m1) : _mm256_setzero_ps();
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {
            if (bias) {
                c0[r] = _mm256_add_ps(c0[r], bb0);
                if (NV > 1) c1[r] = _mm256_add_ps(c1[r], bb1);
            }
            c0[r] = act256(c0[r], e->act, lo, hi);
            if (NV > 1) c1[r] = act256(c1[r], e->act, lo, hi);
        }
    }
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {
        _mm256_maskstore_ps(C + r * ldc, m0, c0[r]);
        if (NV > 1) _mm256_maskstore_ps(C + r * ldc + 8, m1, c1[r]);
    }
}

typedef void (*tile_fn)(int64_t, const float *, int64_t, const float *, float *, int64_t, __m256i, __m256i, int, int,
                        const me_gemm_f32_epi *, const float *);
#define TILE_FN(R, NV)                                                                                        \
    static void tile_##R##_##NV(int64_t kc, const float *a, int64_t lda, const float *b, float *C, int64_t ldc, \
                                __m256i m0, __m256i m1, int first, int last, const me_gemm_f32_epi *e,         \
                                const float *bias) {                                                          \
        tile(R, NV, kc, a, lda, b, C, ldc, m0, m1, first, last, e, bias);                                     \
    }
#define TILE_FNS(R) TILE_FN(R, 1) TILE_FN(R, 2)
TILE_FNS(1) TILE_FNS(2) TILE_FNS(3) TILE_FNS(4) TILE_FNS(5) TILE_FNS(6)
#define TILE_ROW(R) {tile_##R##_1, tile_##R##_2}
static const tile_fn tiles[MR + 1][2] = {
    {0, 0}, TILE_ROW(1), TILE_ROW(2), TILE_ROW(3), TILE_ROW(4), TILE_ROW(5), TILE_ROW(6),
};

void me_gemm_f32_packed__avx2(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *Bp,
                              float *C, int64_t ldc, const me_gemm_f32_epi *e) {
    if (M <= 0) return;
    int64_t nkb = K > 0 ? (K + KC - 1) / KC : 1;
    for (int64_t n0 = 0; n0 < N; n0 += NC) {
        int64_t n1 = N - n0 < NC ? N : n0 + NC;
        for (int64_t kb = 0; kb < nkb; kb++) {
            int64_t k0 = kb * KC, kc = K - k0 < KC ? K - k0 : KC;
            int first = kb == 0, last = kb == nkb - 1;
            /* row tiles of near-equal height (49 rows: 13+12+12+12, not 14+14+14+7) */
            int64_t nt = (M + MR - 1) / MR, base = M / nt, extra = M % nt;
            for (int64_t t = 0, i = 0; t < nt; t++) {
                int64_t rows = base + (t < extra);
                const float *a = A + i * lda + k0;
                for (int64_t j = n0; j < n1; j += NR) {
                    int64_t w = n1 - j;
                    int nv = w > 8 ? 2 : 1;
                    tiles[rows][nv - 1](kc, a, lda, Bp + j * K + k0 * NR, C + i * ldc + j, ldc, lane_mask8(w),
                                        lane_mask8(w - 8), first, last, e, e->bias ? e->bias + j : NULL);
                }
                i += rows;
            }
        }
    }
}
#endif
