/* Float32 matrix-multiply building blocks shared by the dense and
 * convolution kernels (FullyConnected, MatMul, Conv2d).
 *
 * All matrices are row-major with an explicit leading dimension (elements
 * between consecutive rows), so sub-blocks and strided channel groups can be
 * passed without copying. The kernels accumulate into C (C += A*B); callers
 * start C from the bias or zero with me_gemm_f32_init. They are plain C
 * written so that the compiler vectorises the fixed-width inner blocks. */
#ifndef ME_OPS_GEMM_F32_H
#define ME_OPS_GEMM_F32_H

#include <stdint.h>

/* C[i][j] = bias ? bias[j] : 0 for an M x N block. */
void me_gemm_f32_init(int64_t M, int64_t N, float *C, int64_t ldc, const float *bias);

/* C[M,N] += A[M,K] * B[K,N]   (B rows are K-indexed: "no transpose"). */
void me_gemm_f32_nn(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc);

/* C[M,N] += A[M,K] * B[N,K]^T (both operands K-contiguous: dot products). */
void me_gemm_f32_nt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc);

/* y[0..n) += a * x[0..n) */
void me_axpy_f32(int64_t n, float a, const float *x, float *y);

#endif
