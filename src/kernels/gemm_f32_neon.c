/* gemm_f32 for aarch64 NEON (see kernels.h).
 *
 * nn: 8x8 register tile (16 accumulators of 4 lanes), smaller M tiles of the
 * same code; the N tail (< 8 columns) is scalar fmaf, which rounds exactly
 * like the vector lanes, so every C element is the same fused K-order sum
 * wherever it sits. nt: 2x4 tile of 4-lane dot products, fixed horizontal
 * sum, scalar fused K tail. */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>

#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))

enum { NN_MR = 8, NN_NR = 8, NN_MB = 144, NT_JB = 64 };

INLINE void nn_tile(int mr, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,
                    int64_t ldc) {
    float32x4_t c0[NN_MR], c1[NN_MR];
    for (int r = 0; r < mr; r++) {
        c0[r] = vld1q_f32(C + r * ldc);
        c1[r] = vld1q_f32(C + r * ldc + 4);
    }
    for (int64_t k = 0; k < K; k++, B += ldb) {
        float32x4_t b0 = vld1q_f32(B), b1 = vld1q_f32(B + 4);
        for (int r = 0; r < mr; r++) {
            float32x4_t a = vdupq_n_f32(A[r * lda + k]);
            c0[r] = vfmaq_f32(c0[r], a, b0);
            c1[r] = vfmaq_f32(c1[r], a, b1);
        }
    }
    for (int r = 0; r < mr; r++) {
        vst1q_f32(C + r * ldc, c0[r]);
        vst1q_f32(C + r * ldc + 4, c1[r]);
    }
}

#define NN_CASE(R) case R: nn_tile(R, K, a, lda, B + j, ldb, c, ldc); break;

void me_gemm_f32_nn__neon(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                          float *C, int64_t ldc) {
    for (int64_t i0 = 0; i0 < M; i0 += NN_MB) {
        int64_t i1 = i0 + NN_MB < M ? i0 + NN_MB : M;
        int64_t j = 0;
        for (; j + NN_NR <= N; j += NN_NR)
            for (int64_t i = i0; i < i1; i += NN_MR) {
                int64_t rows = i1 - i < NN_MR ? i1 - i : NN_MR;
                const float *a = A + i * lda;
                float *c = C + i * ldc + j;
                switch (rows) {
                    NN_CASE(8) NN_CASE(7) NN_CASE(6) NN_CASE(5) NN_CASE(4) NN_CASE(3) NN_CASE(2) NN_CASE(1)
                }
            }
        for (; j < N; j++)
            for (int64_t i = i0; i < i1; i++) {
                float s = C[i * ldc + j];
                for (int64_t k = 0; k < K; k++) s = fmaf(A[i * lda + k], B[k * ldb + j], s);
                C[i * ldc + j] = s;
            }
    }
}

INLINE void nt_tile(int mr, int nr, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,
                    int64_t ldc) {
    float32x4_t acc[2][4];
    for (int r = 0; r < mr; r++)
        for (int q = 0; q < nr; q++) acc[r][q] = vdupq_n_f32(0.0f);
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {
        float32x4_t a[2];
        for (int r = 0; r < mr; r++) a[r] = vld1q_f32(A + r * lda + k);
        for (int q = 0; q < nr; q++) {
            float32x4_t b = vld1q_f32(B + q * ldb + k);
            for (int r = 0; r < mr; r++) acc[r][q] = vfmaq_f32(acc[r][q], a[r], b);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int q = 0; q < nr; q++) {
            float s = vaddvq_f32(acc[r][q]);
            for (int64_t t = k; t < K; t++) s = fmaf(A[r * lda + t], B[q * ldb + t], s);
            C[r * ldc + q] += s;
        }
}

#define NT_CASE(R, Q) nt_tile(R, Q, K, a, lda, b, ldb, c, ldc)
#define NT_COLS(R)                \
    switch (cols) {               \
    case 4: NT_CASE(R, 4); break; \
    case 3: NT_CASE(R, 3); break; \
    case 2: NT_CASE(R, 2); break; \
    default: NT_CASE(R, 1); break; \
    }

void me_gemm_f32_nt__neon(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                          float *C, int64_t ldc) {
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
