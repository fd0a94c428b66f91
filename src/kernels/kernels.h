/* Kernel registry: SIMD variants of the hot float kernels, one X-macro list
 * per family (gemm_f32.inc, dwconv_f32.inc, eltwise_f32.inc). Each row is
 *
 *     X(id, isa, fields...)
 *
 * with a stable string id ("gemm_f32__avx2_fma_6x16": family, ISA, tile)
 * that a context binary can record, and the ISA bits (cpu.h) it needs. Rows
 * are ordered best first and end with the portable reference ("__generic",
 * no ISA bits), so dispatch takes the first row this CPU supports. The same
 * lists drive runtime dispatch and the unit tests, which run every variant
 * the CPU has against the reference.
 *
 * Variants for other architectures are compiled out (the .inc rows are under
 * #if), so a list holds what this build can run on some CPU. */
#ifndef ME_KERNELS_H
#define ME_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

/* ---- gemm_f32: C += A*B (nn: B is [K,N]) and C += A*B^T (nt: B is [N,K]) ----
 * Row-major with leading dimensions, as in src/ops/gemm_f32.h. Every variant
 * computes each C element in the same way wherever it sits in a tile (the
 * tails use masked vectors, not a different summation), so splitting C over
 * threads by rows or columns gives identical results. */
typedef void (*me_gemm_f32_fn)(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                               int64_t ldb, float *C, int64_t ldc);
typedef struct me_gemm_f32_kernel {
    const char *id;
    unsigned isa;
    me_gemm_f32_fn nn, nt;
    int mr, nr;          /* nn register tile: rows x columns of C */
} me_gemm_f32_kernel;

/* ---- dwconv_f32: one output row of a depthwise conv (NHWC, weights [fh,fw,C]) ----
 * y[ow][c] = bias[c] (or 0) + sum over valid taps (kh, kw in order) of
 * x[ih][iw][c] * w[kh][kw][c]; padding taps are skipped. */
typedef struct me_dwconv_f32_args {
    const float *x;      /* one image [h, w, c] */
    const float *w;      /* [fh, fw, c] */
    const float *bias;   /* [c] or NULL */
    int64_t h, w_in, c;
    int64_t fh, fw;
    int64_t stride_h, stride_w, pad_top, pad_left, dil_h, dil_w;
    int64_t ow;          /* output width */
} me_dwconv_f32_args;
typedef void (*me_dwconv_f32_row_fn)(const me_dwconv_f32_args *a, int64_t oh, float *yrow);
typedef struct me_dwconv_f32_kernel {
    const char *id;
    unsigned isa;
    me_dwconv_f32_row_fn row;
} me_dwconv_f32_kernel;

/* ---- eltwise_f32: o[i] = a[i*sa] op b[i*sb], sa/sb in {0,1} (broadcast row) ----
 * Exact IEEE add/multiply, so every variant matches the reference bit for bit. */
typedef void (*me_binary_f32_row_fn)(const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n);
typedef struct me_eltwise_f32_kernel {
    const char *id;
    unsigned isa;
    me_binary_f32_row_fn add, mul;
} me_eltwise_f32_kernel;

/* ---- blockq_dot: GGML Q4_0 / Q8_0 weight rows against Q8_0 activation rows ----
 * out[r] = dot(weight row of nb blocks, activation row r) for r < nr (1..
 * ME_BLOCKQ_DOT_MAX_ROWS), activation rows act_stride bytes apart, quantised as
 * src/ops/fc_blockq.c does (Q8_0 quants in -127..127, never -128). The integer
 * sum of each block is exact in every variant; only the float accumulation of
 * d_w*d_a*isum differs from the generic reference (ggml's vec_dot order, which
 * me_fc_vec_dot uses). A row's result does not depend on nr. act_d: the
 * activation block scales as floats (row r at act_d + r * nb, exactly the fp16
 * values), or NULL to read the fp16 scales from act. */
enum { ME_BLOCKQ_DOT_MAX_ROWS = 4 };
typedef void (*me_blockq_dot_fn)(int64_t nb, const void *wrow, const void *act, size_t act_stride,
                                 const float *act_d, int nr, float *out);
typedef struct me_blockq_dot_kernel {
    const char *id;
    unsigned isa;
    me_blockq_dot_fn q4_0, q8_0;
} me_blockq_dot_kernel;

/* Every family gets: the list, its length, the chosen variant (first one
 * the CPU supports under ME_ISA; chosen once), and lookup by id (NULL when
 * absent from this build). */
#define ME_KERNEL_FAMILY_DECL(fam)                                 \
    extern const me_##fam##_kernel me_##fam##_kernels[];           \
    extern const int me_##fam##_kernel_count;                      \
    const me_##fam##_kernel *me_##fam##_select(void);              \
    const me_##fam##_kernel *me_##fam##_find(const char *id);
ME_KERNEL_FAMILY_DECL(gemm_f32)
ME_KERNEL_FAMILY_DECL(dwconv_f32)
ME_KERNEL_FAMILY_DECL(eltwise_f32)
ME_KERNEL_FAMILY_DECL(blockq_dot)
#undef ME_KERNEL_FAMILY_DECL

/* Variant functions named in the lists. */
#define X(id, isa, nn, nt, mr, nr)                                                                           \
    void nn(int64_t, int64_t, int64_t, const float *, int64_t, const float *, int64_t, float *, int64_t); \
    void nt(int64_t, int64_t, int64_t, const float *, int64_t, const float *, int64_t, float *, int64_t);
#include "gemm_f32.inc"
#undef X
#define X(id, isa, fn) void fn(const me_dwconv_f32_args *, int64_t, float *);
#include "dwconv_f32.inc"
#undef X
#define X(id, isa, add, mul) void add(const float *, int64_t, const float *, int64_t, float *, int64_t); \
    void mul(const float *, int64_t, const float *, int64_t, float *, int64_t);
#include "eltwise_f32.inc"
#undef X
#define X(id, isa, q4_0, q8_0) void q4_0(int64_t, const void *, const void *, size_t, const float *, int, float *); \
    void q8_0(int64_t, const void *, const void *, size_t, const float *, int, float *);
#include "blockq_dot.inc"
#undef X

#endif
