/* Kernel entry points for the op files: the variant chosen for this CPU
 * (kernels.h), with the work split over the pool's threads by output rows
 * or columns (never over a reduction), so results do not depend on the
 * thread count. `tp` may be NULL (one thread); `kern` is the variant to use
 * (a row of the family's list, e.g. fixed by a context binary) or NULL for
 * the family's dispatch choice. */
#ifndef ME_KERNELS_DISPATCH_H
#define ME_KERNELS_DISPATCH_H

#include <stdint.h>

#include "../runtime/threadpool.h"
#include "kernels.h"

/* C[M,N] += A[M,K] * B[K,N] */
void me_sgemm_nn(me_threadpool *tp, const me_gemm_f32_kernel *kern, int64_t M, int64_t N, int64_t K,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc);
/* C[M,N] += A[M,K] * B[N,K]^T */
void me_sgemm_nt(me_threadpool *tp, const me_gemm_f32_kernel *kern, int64_t M, int64_t N, int64_t K,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc);

/* All batch * oh output rows of a depthwise conv (row r: image r / oh,
 * output row r % oh); a->x is image 0 of the batch, y the whole output. */
void me_dwconv_f32_rows(me_threadpool *tp, const me_dwconv_f32_kernel *kern, const me_dwconv_f32_args *a,
                        int64_t batch, int64_t oh, float *y);

/* o = a op b over one broadcast row (strides 0/1), split over threads. */
void me_add_f32(me_threadpool *tp, const me_eltwise_f32_kernel *kern, const float *a, int64_t sa, const float *b,
                int64_t sb, float *o, int64_t n);
void me_mul_f32(me_threadpool *tp, const me_eltwise_f32_kernel *kern, const float *a, int64_t sa, const float *b,
                int64_t sb, float *o, int64_t n);
void me_max_f32(me_threadpool *tp, const me_eltwise_f32_kernel *kern, const float *a, int64_t sa, const float *b,
                int64_t sb, float *o, int64_t n);
void me_min_f32(me_threadpool *tp, const me_eltwise_f32_kernel *kern, const float *a, int64_t sa, const float *b,
                int64_t sb, float *o, int64_t n);

/* y = f(x) over n floats with the unary_f32 row `op` of kern (NULL: the
 * dispatch choice), split over threads in 64-element-aligned chunks (each
 * element computed alone, so results do not depend on the split). x == y is
 * allowed. me_unary_f32_fn_of gives the row itself. */
typedef enum me_unary_op {
    ME_UNARY_EXP, ME_UNARY_SIGMOID, ME_UNARY_SILU, ME_UNARY_TANH, ME_UNARY_ERF, ME_UNARY_GELU
} me_unary_op;
me_unary_f32_fn me_unary_f32_fn_of(const me_unary_f32_kernel *kern, me_unary_op op);
void me_unary_f32(me_threadpool *tp, const me_unary_f32_kernel *kern, me_unary_op op, const float *x, float *y,
                  int64_t n);

#endif
