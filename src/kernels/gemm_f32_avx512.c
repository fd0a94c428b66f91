/* gemm_f32 for AVX-512 F/BW/VL (see kernels.h). Built with -mavx512f
 * -mavx512bw -mavx512vl -mavx512dq; called only when cpuid says so.
 *
 * nn: 8x32 register tile (16 zmm accumulators), masked N tails, smaller M
 * tiles of the same code; up to 8 rows of C stream B row by row instead. nt: 4x4 tile of 16-lane dot products with a masked
 * K tail. Per C element the arithmetic does not depend on the tile. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))

enum { NN_MR = 8, NN_NR = 32, NN_MB = 144, NN_KC = 256, NN_FEW_ROWS = 8, NT_MR = 4, NT_NR = 4, NT_JB = 64 };

INLINE __mmask16 lane_mask(int64_t w) {
    if (w <= 0) return 0;
    if (w >= 16) return 0xffff;
    return (__mmask16)((1u << w) - 1);
}

/* full: all 32 columns present (plain loads and stores, cheaper than masked ones) */
INLINE void nn_tile(int mr, int full, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,
                    int64_t ldc, __mmask16 m0, __mmask16 m1) {
    __m512 c0[NN_MR], c1[NN_MR];
    for (int r = 0; r < mr; r++) {
        c0[r] = full ? _mm512_loadu_ps(C + r * ldc) : _mm512_maskz_loadu_ps(m0, C + r * ldc);
        c1[r] = full ? _mm512_loadu_ps(C + r * ldc + 16) : _mm512_maskz_loadu_ps(m1, C + r * ldc + 16);
    }
    for (int64_t k = 0; k < K; k++, B += ldb) {
        __m512 b0 = full ? _mm512_loadu_ps(B) : _mm512_maskz_loadu_ps(m0, B);
        __m512 b1 = full ? _mm512_loadu_ps(B + 16) : _mm512_maskz_loadu_ps(m1, B + 16);
        for (int r = 0; r < mr; r++) {
            __m512 a = _mm512_set1_ps(A[r * lda + k]);
            c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
        }
    }
    for (int r = 0; r < mr; r++) {
        if (full) {
            _mm512_storeu_ps(C + r * ldc, c0[r]);
            _mm512_storeu_ps(C + r * ldc + 16, c1[r]);
        } else {
            _mm512_mask_storeu_ps(C + r * ldc, m0, c0[r]);
            _mm512_mask_storeu_ps(C + r * ldc + 16, m1, c1[r]);
        }
    }
}

#define NN_CASE(R)                                                       \
    case R:                                                              \
        if (full) nn_tile(R, 1, kc, a, lda, b, ldb, c, ldc, m0, m1);     \
        else nn_tile(R, 0, kc, a, lda, b, ldb, c, ldc, m0, m1);          \
        break;

/* Few rows of C: walk B row by row (sequential reads of weights that are
 * usually not in cache), keeping C in L1. Each element gets the same fused
 * K-order sum as in a register tile. */
static void nn_few_rows(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                        float *C, int64_t ldc) {
    for (int64_t k = 0; k < K; k++, B += ldb)
    {
        int64_t j = 0;
        for (; j + 16 <= N; j += 16) {
            __m512 b = _mm512_loadu_ps(B + j);
            for (int64_t i = 0; i < M; i++) {
                float *c = C + i * ldc + j;
                _mm512_storeu_ps(c, _mm512_fmadd_ps(_mm512_set1_ps(A[i * lda + k]), b, _mm512_loadu_ps(c)));
            }
        }
        if (j < N) {
            __mmask16 m = lane_mask(N - j);
            __m512 b = _mm512_maskz_loadu_ps(m, B + j);
            for (int64_t i = 0; i < M; i++) {
                float *c = C + i * ldc + j;
                __m512 acc = _mm512_maskz_loadu_ps(m, c);
                _mm512_mask_storeu_ps(c, m, _mm512_fmadd_ps(_mm512_set1_ps(A[i * lda + k]), b, acc));
            }
        }
    }
}

void me_gemm_f32_nn__avx512(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                            int64_t ldb, float *C, int64_t ldc) {
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
                __mmask16 m0 = lane_mask(w), m1 = lane_mask(w - 16);
                const float *b = B + k0 * ldb + j;
                for (int64_t i = i0; i < i1; i += NN_MR) {
                    int64_t rows = i1 - i < NN_MR ? i1 - i : NN_MR;
                    const float *a = A + i * lda + k0;
                    float *c = C + i * ldc + j;
                    switch (rows) {
                        NN_CASE(8) NN_CASE(7) NN_CASE(6) NN_CASE(5) NN_CASE(4) NN_CASE(3) NN_CASE(2) NN_CASE(1)
                    }
                }
            }
        }
    }
}

INLINE void nt_tile(int mr, int nr, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,
                    int64_t ldc) {
    __m512 acc[NT_MR][NT_NR];
    for (int r = 0; r < mr; r++)
        for (int q = 0; q < nr; q++) acc[r][q] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 16) {
        __mmask16 m = lane_mask(K - k);
        __m512 a[NT_MR];
        for (int r = 0; r < mr; r++) a[r] = _mm512_maskz_loadu_ps(m, A + r * lda + k);
        for (int q = 0; q < nr; q++) {
            __m512 b = _mm512_maskz_loadu_ps(m, B + q * ldb + k);
            for (int r = 0; r < mr; r++) acc[r][q] = _mm512_fmadd_ps(a[r], b, acc[r][q]);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int q = 0; q < nr; q++) C[r * ldc + q] += _mm512_reduce_add_ps(acc[r][q]);
}

#define NT_CASE(R, Q) nt_tile(R, Q, K, a, lda, b, ldb, c, ldc)
#define NT_COLS(R)                \
    switch (cols) {               \
    case 4: NT_CASE(R, 4); break; \
    case 3: NT_CASE(R, 3); break; \
    case 2: NT_CASE(R, 2); break; \
    default: NT_CASE(R, 1); break; \
    }

void me_gemm_f32_nt__avx512(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                            int64_t ldb, float *C, int64_t ldc) {
    for (int64_t j0 = 0; j0 < N; j0 += NT_JB) {
        int64_t j1 = j0 + NT_JB < N ? j0 + NT_JB : N;
        for (int64_t i = 0; i < M; i += NT_MR) {
            int64_t rows = M - i < NT_MR ? M - i : NT_MR;
            for (int64_t j = j0; j < j1; j += NT_NR) {
                int64_t cols = j1 - j < NT_NR ? j1 - j : NT_NR;
                const float *a = A + i * lda, *b = B + j * ldb;
                float *c = C + i * ldc + j;
                switch (rows) {
                case 4: NT_COLS(4) break;
                case 3: NT_COLS(3) break;
                case 2: NT_COLS(2) break;
                default: NT_COLS(1) break;
                }
            }
        }
    }
}
#endif
