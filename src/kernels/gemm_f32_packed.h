/* Packed-weights float32 GEMM (the `packed` entry of the gemm_f32 family,
 * kernels.h): packing a constant B into a variant's panel layout, and the
 * threaded driver over a variant's packed kernel. */
#ifndef ME_KERNELS_GEMM_F32_PACKED_H
#define ME_KERNELS_GEMM_F32_PACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/threadpool.h"
#include "kernels.h"

/* Bytes of B [K, N] packed in panels of pnr columns (N rounded up to whole
 * panels); false on overflow or a bad size. */
bool me_gemm_f32_packed_size(int64_t N, int64_t K, int pnr, size_t *bytes);

/* Packs B (element (k, n) at B[k * sk + n * sn]: sk = ldb, sn = 1 for a
 * [K, N] matrix; sk = 1, sn = ldb for [N, K]) into dst, which holds
 * me_gemm_f32_packed_size bytes. Columns past N are zero. */
void me_gemm_f32_pack_b(int pnr, int64_t N, int64_t K, const float *B, int64_t sk, int64_t sn, float *dst);

/* C[M,N] = act(A * B + bias) with B packed for `kern` (NULL = dispatch's
 * choice; it must be the variant B was packed for), split over the pool's
 * threads by row blocks and column panels. Results do not depend on the
 * thread count. */
void me_sgemm_packed(me_threadpool *tp, const me_gemm_f32_kernel *kern, int64_t M, int64_t N, int64_t K,
                     const float *A, int64_t lda, const float *Bp, float *C, int64_t ldc, const me_gemm_f32_epi *e);

#endif
