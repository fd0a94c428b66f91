/* gemm_f32 for AVX2 + FMA (see kernels.h). Built with -mavx2 -mfma; called
 * only when cpuid says so.
 *
 * nn (up to 8 rows of C: B streamed row by row, C kept in L1; see
 * nn_few_rows), else a 6x16 register tile of C (12 accumulators) over a block of K; one
 * broadcast of A and two loads of B per k. Tails in N use masked loads and
 * stores, tails in M smaller tiles of the same code, so every C element is
 * C + a0*b0 + a1*b1 + ... fused in K order wherever it sits.
 * nt: 2x4 tile of dot products, 8 lanes each, masked K tail, then a fixed
 * horizontal-sum order. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))

enum { NN_MR = 6, NN_NR = 16, NN_MB = 144, NN_KC = 256, NN_FEW_ROWS = 8, NT_JB = 64 };

/* The first w lanes (w clamped to 0..8). */
INLINE __m256i lane_mask(int64_t w) {
    static const int32_t tbl[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    if (w < 0) w = 0;
    if (w > 8) w = 8;
    return _mm256_loadu_si256((const __m256i *)(tbl + 8 - w));
}

INLINE void nn_tile(int mr, int full, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,
                    int64_t ldc, __m256i m0, __m256i m1) {
    __m256 c0[NN_MR], c1[NN_MR];
    for (int r = 0; r < mr; r++) {
        c0[r] = full ? _mm256_loadu_ps(C + r * ldc) : _mm256_maskload_ps(C + r * ldc, m0);
        c1[r] = full ? _mm256_loadu_ps(C + r * ldc + 8) : _mm256_maskload_ps(C + r * ldc + 8, m1);
    }
    for (int64_t k = 0; k < K; k++, B += ldb) {
        __m256 b0 = full ? _mm256_loadu_ps(B) : _mm256_maskload_ps(B, m0);
        __m256 b1 = full ? _mm256_loadu_ps(B + 8) : _mm256_maskload_ps(B + 8, m1);
        for (int r = 0; r < mr; r++) {
            __m256 a = _mm256_broadcast_ss(A + r * lda + k);
            c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
        }
    }
    for (int r = 0; r < mr; r++) {
        if (full) {
            _mm256_storeu_ps(C + r * ldc, c0[r]);
            _mm256_storeu_ps(C + r * ldc + 8, c1[r]);
        } else {
            _mm256_maskstore_ps(C + r * ldc, m0, c0[r]);
            _mm256_maskstore_ps(C + r * ldc + 8, m1, c1[r]);
        }
    }
}

#define NN_CASE(R)                                                                           \
    case R:                                                                                  \
        if (full) nn_tile(R, 1, kc, a, lda, b, ldb, c, ldc, m0, m1);                           \
        else nn_tile(R, 0, kc, a, lda, b, ldb, c, ldc, m0, m1);                                \
        break;

/* Few rows of C: walk B row by row (sequential reads of weights that are
 * usually not in cache), keeping C in L1. Each element gets the same fused
 * K-order sum as in a register tile. */
static void nn_few_rows(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                        float *C, int64_t ldc) {
    for (int64_t k = 0; k < K; k++, B += ldb)
    {
        int64_t j = 0;
        for (; j + 8 <= N; j += 8) {
            __m256 b = _mm256_loadu_ps(B + j);
            for (int64_t i = 0; i < M; i++) {
                float *c = C + i * ldc + j;
                _mm256_storeu_ps(c, _mm256_fmadd_ps(_mm256_broadcast_ss(A + i * lda + k), b, _mm256_loadu_ps(c)));
            }
        }
        if (j < N) {
            __m256i m = lane_mask(N - j);
            __m256 b = _mm256_maskload_ps(B + j, m);
            for (int64_t i = 0; i < M; i++) {
                float *c = C + i * ldc + j;
                __m256 acc = _mm256_maskload_ps(c, m);
                _mm256_maskstore_ps(c, m, _mm256_fmadd_ps(_mm256_broadcast_ss(A + i * lda + k), b, acc));
            }
        }
    }
}

void me_gemm_f32_nn__avx2(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                          float *C, int64_t ldc) {
    if (M <= NN_FEW_ROWS) {
        nn_few_rows(M, N, K, A, lda, B, ldb, C, ldc);
        return;
    }
    for (int64_t i0 = 0; i0 < M; i0 += NN_MB) {
        int64_t i1 = i0 + NN_MB < M ? i0 + NN_MB : M;
        /* K blocks keep the rows of B in use within L2 (and few pages); C
         * holds the running sums in between, which changes no rounding. */
        for (int64_t k0 = 0; k0 < K; k0 += NN_KC) {
            int64_t kc = K - k0 < NN_KC ? K - k0 : NN_KC;
            for (int64_t j = 0; j < N; j += NN_NR) {
                int64_t w = N - j;
                int full = w >= NN_NR;
                __m256i m0 = lane_mask(w), m1 = lane_mask(w - 8);
                const float *b = B + k0 * ldb + j;
                for (int64_t i = i0; i < i1; i += NN_MR) {
                    int64_t rows = i1 - i < NN_MR ? i1 - i : NN_MR;
                    const float *a = A + i * lda + k0;
                    float *c = C + i * ldc + j;
                    switch (rows) {
                        NN_CASE(6) NN_CASE(5) NN_CASE(4) NN_CASE(3) NN_CASE(2) NN_CASE(1)
                    }
                }
            }
        }
    }
}

INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE void nt_tile(int mr, int nr, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,
                    int64_t ldc) {
    __m256 acc[2][4];
    for (int r = 0; r < mr; r++)
        for (int q = 0; q < nr; q++) acc[r][q] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 a[2];
        for (int r = 0; r < mr; r++) a[r] = _mm256_loadu_ps(A + r * lda + k);
        for (int q = 0; q < nr; q++) {
            __m256 b = _mm256_loadu_ps(B + q * ldb + k);
            for (int r = 0; r < mr; r++) acc[r][q] = _mm256_fmadd_ps(a[r], b, acc[r][q]);
        }
    }
    if (k < K) {
        __m256i m = lane_mask(K - k);
        __m256 a[2];
        for (int r = 0; r < mr; r++) a[r] = _mm256_maskload_ps(A + r * lda + k, m);
        for (int q = 0; q < nr; q++) {
            __m256 b = _mm256_maskload_ps(B + q * ldb + k, m);
            for (int r = 0; r < mr; r++) acc[r][q] = _mm256_fmadd_ps(a[r], b, acc[r][q]);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int q = 0; q < nr; q++) C[r * ldc + q] += hsum8(acc[r][q]);
}

#define NT_CASE(R, Q) nt_tile(R, Q, K, a, lda, b, ldb, c, ldc)
#define NT_COLS(R)                                           \
    switch (cols) {                                          \
    case 4: NT_CASE(R, 4); break;                            \
    case 3: NT_CASE(R, 3); break;                            \
    case 2: NT_CASE(R, 2); break;                            \
    default: NT_CASE(R, 1); break;                           \
    }

void me_gemm_f32_nt__avx2(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                          float *C, int64_t ldc) {
    /* A block of B rows stays in cache while every row of A passes by. */
    for (int64_t j0 = 0; j0 < N; j0 += NT_JB) {
        int64_t j1 = j0 + NT_JB < N ? j0 + NT_JB : N;
        for (int64_t i = 0; i < M; i += 2) {
            int64_t rows = M - i < 2 ? M - i : 2;
            for (int64_t j = j0; j < j1; j += 4) {
                int64_t cols = j1 - j < 4 ? j1 - j : 4;
                const float *a = A + i * lda, *b = B + j * ldb;
                float *c = C + i * ldc + j;
                if (rows == 2) { NT_COLS(2) } else { NT_COLS(1) }
            }
        }
    }
}
#endif
