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
/* Packed-weights GEMM: C[M,N] = act(A[M,K] * B[K,N] + bias), overwriting C.
 * B is pre-packed (me_gemm_f32_pack_b, src/kernels/gemm_f32_packed.h) into
 * panels of `pnr` columns (16 in every variant, so any variant reads any
 * variant's packing), each K rows of pnr floats (columns past N are zero),
 * panel after panel; Bp points at the panel holding column 0 of this call,
 * bias (NULL = none) at its column 0. act: 0 none, 1 relu (max(0,x), NaN
 * passes), 2 min(max(x, lo), hi) (fused_activation.h). Each C element is a
 * K-order sum (fused multiply-adds in the SIMD variants) in K blocks that
 * depend only on K, plus the bias, then the activation: the same wherever
 * the element sits in a tile or a thread's share of C. */
typedef struct me_gemm_f32_epi {
    const float *bias;
    int act;
    float lo, hi;
} me_gemm_f32_epi;
typedef void (*me_gemm_f32_packed_fn)(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                                      const float *Bp, float *C, int64_t ldc, const me_gemm_f32_epi *e);
typedef struct me_gemm_f32_kernel {
    const char *id;
    unsigned isa;
    me_gemm_f32_fn nn, nt;
    int mr, nr;          /* nn register tile: rows x columns of C */
    me_gemm_f32_packed_fn packed;
    int pmr, pnr;        /* packed register tile; pnr is the panel width of the packed B */
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
 * Exact IEEE add/multiply, max = a > b ? a : b and min = a < b ? a : b (b when
 * either is NaN, as x86's maxps / minps), so every variant matches the reference bit for bit. o may be
 * a or b (the pooling accumulators). */
typedef void (*me_binary_f32_row_fn)(const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n);
typedef struct me_eltwise_f32_kernel {
    const char *id;
    unsigned isa;
    me_binary_f32_row_fn add, mul, max, min;
} me_eltwise_f32_kernel;

/* ---- blockq_dot: GGML Q4_0 / Q8_0 weight rows against prepared Q8_0 activation rows ----
 * out[r] = dot(weight row of nb blocks, activation row r) for r < nr (1..
 * ME_BLOCKQ_DOT_MAX_ROWS), activation rows act_stride bytes apart. An activation
 * row is Q8_0-quantised as src/ops/fc_blockq.c does (quants in -127..127, never
 * -128) and laid out for the kernels (ME_BLOCKQ_ACT_BYTES(nb) bytes):
 *     uint8 q[nb * 32]   each quant plus 128, block after block
 *     float d[nb * 8]    each block's scale (the fp16 value, exactly) 8 times
 * The integer sum of each block is exact in every variant; only the float
 * accumulation of d_w*d_a*isum differs from the generic reference (ggml's vec_dot
 * order, which me_fc_vec_dot uses). A row's result does not depend on nr. */
enum { ME_BLOCKQ_DOT_MAX_ROWS = 8 };
#define ME_BLOCKQ_ACT_BYTES(nb) ((size_t)(nb) * 64u)
typedef void (*me_blockq_dot_fn)(int64_t nb, const void *wrow, const void *act, size_t act_stride, int nr,
                                 float *out);
/* GEMM form for many activation rows: weight rows w + j*w_stride (j < nw <= 16)
 * against activation rows r < nr (any count): y[r * y_stride + j] = the dot
 * product, computed per block as (float)isum * (d_w * d_a) accumulated over the
 * blocks in order (every variant: exact isum; only float rounding differs). Each
 * result depends only on its own weight row and activation row. scratch:
 * ME_BLOCKQ_GEMM_SCRATCH(nb) bytes, 64-byte aligned (the variant's packed weights).
 * w_stride * 16 must fit in int32. NULL in a row that has no GEMM form. */
#define ME_BLOCKQ_GEMM_SCRATCH(nb) ((size_t)(nb) * 640u)
typedef void (*me_blockq_gemm_fn)(int64_t nb, const void *w, size_t w_stride, int nw, const void *act,
                                  size_t act_stride, int64_t nr, float *y, size_t y_stride, void *scratch);
/* K-quant form: one Q4_K / Q6_K weight row of nsb super-blocks against one
 * activation row in ggml's Q8_K layout (292 bytes per super-block: float d,
 * int8 q[256], int16 bsums[16]). Per super-block the integer sums are exact;
 * the result is sum over super-blocks of d_w*d_a*isum (- dmin_w*d_a*msum for
 * Q4_K), in order. */
typedef float (*me_blockq_kdot_fn)(int64_t nsb, const void *wrow, const void *act);
/* Pre-packed Q4_0 form (me_blockq_p4_pack, one layout for every variant, so weights
 * packed anywhere run with any variant). Weight rows go in groups of
 * ME_BLOCKQ_P4_ROWS = 16, each group ME_BLOCKQ_P4_GROUP_BYTES(nb) bytes (a multiple
 * of 64), group after group; rows past the matrix are zero. In a group:
 *     block k's quants at 256 * k: 4 vectors of 64 bytes, vector p holding bytes
 *       4p..4p+3 of each row's 16 quant bytes (row j at 4j), so its low nibbles are
 *       elements 4p..4p+3 and its high nibbles elements 16+4p..16+4p+3 (unsigned, 0..15)
 *     then at 256 * nb: block k's 16 fp16 scales at 32 * k (row j at 2j), zero padded to 64.
 * Activation rows (ME_BLOCKQ_P4_ACT_BYTES(nb) bytes): int8 q[nb * 32] (the Q8_0
 * quants, -127..127), float d[nb] (each block's scale, the fp16 value exactly),
 * int32 c[nb] (-8 * the block's quant sum: Q4_0's offset, applied once per
 * activation block instead of per weight row).
 * p4 computes y[r * y_stride + 16 g + j] for groups g < ng (w: group 0), j < 16 (j <
 * nw_last in the last group; nothing else written), activation rows r < nr:
 * over the blocks in order, acc += (float)isum * (d_w * d_a) with the exact isum =
 * c + sum nibble * q (SIMD variants fuse the multiply-add). Each result depends only
 * on its weight row and activation row, never on ng, nr or the row's place. */
enum { ME_BLOCKQ_P4_ROWS = 16 };
#define ME_BLOCKQ_P4_GROUP_BYTES(nb) ((size_t)(nb) * 256u + ((size_t)(nb) * 32u + 63u) / 64u * 64u)
#define ME_BLOCKQ_P4_ACT_BYTES(nb) ((size_t)(nb) * 40u)
typedef void (*me_blockq_p4_fn)(int64_t nb, const void *w, int64_t ng, int nw_last, const void *act,
                                size_t act_stride, int64_t nr, float *y, size_t y_stride);
/* Packs m Q4_0 weight rows of nb blocks (row_bytes apart) into the layout above
 * (ceil(m / 16) groups). */
void me_blockq_p4_pack(const void *w, size_t row_bytes, int64_t m, int64_t nb, void *dst);
/* Pre-packed Q8_0 form (p8): the same groups of 16 rows, ME_BLOCKQ_P8_GROUP_BYTES(nb)
 * bytes each; block k's quants at 512 * k: 8 vectors of 64 bytes, vector p holding
 * quants 4p..4p+3 of each row (row j at 4j) plus 128 (unsigned, 0..255), then at
 * 512 * nb the fp16 scales as in p4. Same activation rows as p4; the exact isum is
 * 16 * c + sum u * q (16 * c = -128 * the quant sum takes the +128 back). p8
 * computes what p4 does for these weights, with the same guarantees. */
#define ME_BLOCKQ_P8_GROUP_BYTES(nb) ((size_t)(nb) * 512u + ((size_t)(nb) * 32u + 63u) / 64u * 64u)
/* a group's bytes in the p8 (q8 != 0) or p4 form */
#define ME_BLOCKQ_PQ_GROUP_BYTES(q8, nb) ((q8) ? ME_BLOCKQ_P8_GROUP_BYTES(nb) : ME_BLOCKQ_P4_GROUP_BYTES(nb))
void me_blockq_p8_pack(const void *w, size_t row_bytes, int64_t m, int64_t nb, void *dst);
/* A variant's p4_0 and p8_0 entry points over one impl(q8, nb, w, ng, nw_last, act,
 * act_stride, nr, y, y_stride) */
#define ME_BLOCKQ_PQ_ENTRIES(sfx, impl)                                                                        \
    void me_blockq_p4_0__##sfx(int64_t nb, const void *w, int64_t ng, int nw_last, const void *act, size_t as, \
                               int64_t nr, float *y, size_t ys) {                                             \
        impl(0, nb, w, ng, nw_last, act, as, nr, y, ys);                                                      \
    }                                                                                                         \
    void me_blockq_p8_0__##sfx(int64_t nb, const void *w, int64_t ng, int nw_last, const void *act, size_t as, \
                               int64_t nr, float *y, size_t ys) {                                             \
        impl(1, nb, w, ng, nw_last, act, as, nr, y, ys);                                                      \
    }
/* p4q: one float row of nb * 32 values into the p4 activation layout, quantised to
 * Q8_0 as ggml's x86 build does: amax = the largest |x| (NaN elements count as 0),
 * d = amax / 127 rounded to fp16, q = round-half-even(x * (127 / amax)) (0 when
 * amax is 0, or when the product is NaN or outside [-127, 127]). Bit-identical in
 * every variant. */
typedef void (*me_blockq_p4_quant_fn)(const float *x, int64_t nb, void *row);
/* amax of one 32-float block as ggml's Q8_0 quantiser takes it: the largest |x|,
 * compared as bit patterns (ordered as the floats), NaN elements counting as 0. */
static inline float me_blockq_amax32(const float *x) {
    uint32_t bmax = 0;
    for (int j = 0; j < 32; j++) {
        uint32_t u;
        __builtin_memcpy(&u, &x[j], 4);
        u &= 0x7fffffff;
        u = u > 0x7f800000 ? 0 : u;
        bmax = u > bmax ? u : bmax;
    }
    float amax;
    __builtin_memcpy(&amax, &bmax, 4);
    return amax;
}
/* f rounded to the nearest fp16 value (ties to even; overflow to infinity), as a float */
float me_blockq_round_half(float f);
typedef struct me_blockq_dot_kernel {
    const char *id;
    unsigned isa;
    me_blockq_dot_fn q4_0, q8_0;
    me_blockq_gemm_fn gemm_q4_0, gemm_q8_0;
    me_blockq_kdot_fn q4_k, q6_k;
    me_blockq_p4_fn p4_0;
    me_blockq_p4_quant_fn p4q;
    me_blockq_p4_fn p8_0;
} me_blockq_dot_kernel;
#define ME_BLOCKQ_GEMM_PROTO(name)                                                                            \
    void name(int64_t nb, const void *w, size_t w_stride, int nw, const void *act, size_t act_stride, int64_t nr, \
              float *y, size_t y_stride, void *scratch);
float me_blockq_kdot_q4_k__generic(int64_t nsb, const void *wrow, const void *act);
float me_blockq_kdot_q6_k__generic(int64_t nsb, const void *wrow, const void *act);
#if defined(__x86_64__)
float me_blockq_kdot_q4_k__avx512vnni(int64_t nsb, const void *wrow, const void *act);
float me_blockq_kdot_q6_k__avx512vnni(int64_t nsb, const void *wrow, const void *act);
#endif
ME_BLOCKQ_GEMM_PROTO(me_blockq_gemm_q4_0__generic)
ME_BLOCKQ_GEMM_PROTO(me_blockq_gemm_q8_0__generic)
#if defined(__x86_64__)
ME_BLOCKQ_GEMM_PROTO(me_blockq_gemm_q4_0__avx512vnni)
ME_BLOCKQ_GEMM_PROTO(me_blockq_gemm_q8_0__avx512vnni)
#endif

/* ---- qint8: u8 activation x s8 weight integer kernels (A8W8) ----
 * Output codes y = clamp(rq(acc) + zy, lo, hi) with the exact int32
 * accumulator acc (wrapping int32 arithmetic: exact whenever the true sum
 * fits, which the caller proves) and the requantisation of
 * docs/quantized-arithmetic.md §3.2 restricted to int32 inputs:
 *     rq(acc) = sign(acc) * min((|acc| * mul + 2^(shift-1)) >> shift, 2^24)
 * with mul in [0, 2^31) and shift in [1, 63] (a larger shift gives 0 anyway;
 * the 2^24 cap never changes a code when zy, lo, hi lie in [-2^23, 2^23]).
 * Every variant is bit-exact with the generic one.
 *
 * gemm: y[m][n] = out(bias[n] + sum_k a[m][k] * W[k][n]) for m < M, n < N.
 * W is packed in blocks of 16 columns: block b, K group g (4 rows of K) is
 * 64 bytes at w + (b * ceil(K/4) + g) * 64, column j's 4 values (K rows 4g..
 * 4g+3, zero past K) at bytes 4j..4j+3. bias/mul/shift have ceil(N/16)*16
 * entries. Rows of a are read for exactly K bytes. */
enum { ME_QINT8_NB = 16, ME_QINT8_CAP = 1 << 24 };
typedef struct me_qgemm_u8s8_args {
    const uint8_t *a;
    int64_t lda, M, K, N;
    const int8_t *w;
    const int32_t *bias, *mul, *shift;
    int32_t zy, lo, hi;
    uint8_t *y;
    int64_t ldy;
} me_qgemm_u8s8_args;
typedef void (*me_qgemm_u8s8_fn)(const me_qgemm_u8s8_args *p);
/* dw: one output row of a depthwise conv, NHWC u8, channel multiplier 1:
 * acc[c] = bias[c] + sum over the fh*fw taps of xq * w[tap][c], where xq is
 * the input code, or -ox (the code of a real zero) for a tap outside the
 * input; the caller folds ox * sum_tap w[tap][c] into bias so that acc is the
 * reference's sum of (x + ox) * w over the taps inside. Layout (cp = c rounded
 * up to 64, taps in groups of 4, zero past the last tap / channel): weight
 * (tap, c) at byte me_qdw_w_at(tap, c, cp) of wt; bias/mul/shift of channel c
 * at index me_qdw_p_at(c) (cp entries). */
static inline int64_t me_qdw_p_at(int64_t c) {
    int64_t r = c % 64;
    return (c / 64 * 4 + (r % 16) / 4) * 16 + (r / 16) * 4 + r % 4;
}
static inline int64_t me_qdw_w_at(int64_t tap, int64_t c, int64_t cp) {
    return ((tap / 4) * (cp / 64) * 4 + me_qdw_p_at(c) / 16) * 64 + (me_qdw_p_at(c) % 16) * 4 + tap % 4;
}
typedef struct me_qdw_u8_args {
    const uint8_t *x;        /* one image [h, w, c] */
    int64_t h, w_in, c, cp;
    int64_t fh, fw, stride_h, stride_w, pad_top, pad_left, dil_h, dil_w, ow;
    int32_t ox;              /* input offset, in [-255, 0] */
    const int8_t *wt;
    const int32_t *bias, *mul, *shift;
    int32_t zy, lo, hi;
} me_qdw_u8_args;
typedef void (*me_qdw_u8_row_fn)(const me_qdw_u8_args *a, int64_t oh, uint8_t *yrow);
/* add: y[i] = clamp(rnd(((a[i] + oa) * ma << la) + ((b[i] + ob) * mb << lb)) + zy, 0, 255),
 * rnd(v) = round_half_away(v / 2^s), the sum exact in int64 (|oa|, |ob| <= 255,
 * |ma|, |mb| < 2^31, la, lb <= 22), s in [1, 64]: ElementWiseAdd / Subtract's
 * single rounding (docs/quantized-arithmetic.md §3.2; Subtract negates mb). */
typedef struct me_qadd_u8_args {
    int32_t oa, ob, ma, mb, la, lb, s, zy;
} me_qadd_u8_args;
typedef void (*me_qadd_u8_fn)(const me_qadd_u8_args *p, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n);
/* quant: Quantize F32 -> U8 per tensor, y = clamp(round_half_even(float32(x /
 * scale)) - off, 0, 255), NaN -> clamp(-off) (src/ops/convert.c); |off| <= 2^16. */
typedef void (*me_quant_u8_fn)(const float *x, uint8_t *y, int64_t n, float scale, int32_t off);
/* mul: y[i] = clamp(rq((a[i] + oa) * (b[i] + ob)) + zy, 0, 255) with rq() as
 * for gemm (mul in [0, 2^31), shift in [1, 63]), |oa|, |ob| <= 255 (so the
 * product is an exact int32), |zy| <= 2^23: ElementWiseMultiply (docs/
 * quantized-arithmetic.md §5). */
typedef struct me_qmul_u8_args {
    int32_t oa, ob, mul, shift, zy;
} me_qmul_u8_args;
typedef void (*me_qmul_u8_fn)(const me_qmul_u8_args *p, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n);
/* lut: y[i] = table[x[i]] (x and y may be the same array) */
typedef void (*me_qlut_u8_fn)(const uint8_t *table, const uint8_t *x, uint8_t *y, int64_t n);
typedef struct me_qint8_kernel {
    const char *id;
    unsigned isa;
    me_qgemm_u8s8_fn gemm;
    me_qdw_u8_row_fn dw;
    me_qadd_u8_fn add;
    me_quant_u8_fn quant;
    me_qmul_u8_fn mul;
    me_qlut_u8_fn lut;
} me_qint8_kernel;

/* ---- unary_f32: y[i] = f(x[i]) for the float transcendental activations ----
 * The generic row is libm (the reference); SIMD rows stay within the error
 * bounds stated in unary_f32_simd.h. x and y may be the same array. */
typedef void (*me_unary_f32_fn)(const float *x, float *y, int64_t n);
typedef struct me_unary_f32_kernel {
    const char *id;
    unsigned isa;
    me_unary_f32_fn exp, sigmoid, silu, tanh, erf, gelu;
} me_unary_f32_kernel;
#define ME_UNARY_F32_FNS(M, sfx) M(exp, sfx) M(sigmoid, sfx) M(silu, sfx) M(tanh, sfx) M(erf, sfx) M(gelu, sfx)

/* ---- norm_f32: LayerNorm / RmsNorm over contiguous rows ----
 * sum: the row statistic, sum x[i] (sq = 0) or sum (x[i] - mean)^2 (sq = 1),
 * in double, element i added to partial sum i % 8 in order and the 8 partials
 * combined as ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)); apply: y[i] =
 * (float)((x[i] - mean) * inv_std) [* gamma[i*gs]] [+ beta[i*bs]] (gs, bs in
 * {0, 1}; gamma, beta may be NULL), the double steps then the float ones.
 * Every variant computes exactly that (no FMA), so all match bit for bit. */
typedef double (*me_norm_sum_fn)(const float *x, int64_t n, double mean, int sq);
typedef void (*me_norm_apply_fn)(const float *x, int64_t n, double mean, double inv_std, const float *gamma, int64_t gs,
                                 const float *beta, int64_t bs, float *y);
typedef struct me_norm_f32_kernel {
    const char *id;
    unsigned isa;
    me_norm_sum_fn sum;
    me_norm_apply_fn apply;
} me_norm_f32_kernel;

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
ME_KERNEL_FAMILY_DECL(unary_f32)
ME_KERNEL_FAMILY_DECL(qint8)
ME_KERNEL_FAMILY_DECL(norm_f32)
#undef ME_KERNEL_FAMILY_DECL

/* Variant functions named in the lists. */
#define X(id, isa, nn, nt, mr, nr, packed, pmr, pnr)                                                        \
    void nn(int64_t, int64_t, int64_t, const float *, int64_t, const float *, int64_t, float *, int64_t); \
    void nt(int64_t, int64_t, int64_t, const float *, int64_t, const float *, int64_t, float *, int64_t); \
    void packed(int64_t, int64_t, int64_t, const float *, int64_t, const float *, float *, int64_t,       \
                const me_gemm_f32_epi *);
#include "gemm_f32.inc"
#undef X
#define X(id, isa, fn) void fn(const me_dwconv_f32_args *, int64_t, float *);
#include "dwconv_f32.inc"
#undef X
#define X(id, isa, add, mul, max, min) void add(const float *, int64_t, const float *, int64_t, float *, int64_t); \
    void mul(const float *, int64_t, const float *, int64_t, float *, int64_t); \
    void max(const float *, int64_t, const float *, int64_t, float *, int64_t); \
    void min(const float *, int64_t, const float *, int64_t, float *, int64_t);
#include "eltwise_f32.inc"
#undef X
#define X(id, isa, q4_0, q8_0, g4_0, g8_0, k4, k6, p4, p4q, p8) void q4_0(int64_t, const void *, const void *, size_t, int, float *); \
    void q8_0(int64_t, const void *, const void *, size_t, int, float *); \
    void p4(int64_t, const void *, int64_t, int, const void *, size_t, int64_t, float *, size_t); \
    void p4q(const float *, int64_t, void *); \
    void p8(int64_t, const void *, int64_t, int, const void *, size_t, int64_t, float *, size_t);
#include "blockq_dot.inc"
#undef X
#define ME_UNARY_F32_PROTO(fn, sfx) void me_unary_f32_##fn##__##sfx(const float *, float *, int64_t);
#define X(id, isa, sfx) ME_UNARY_F32_FNS(ME_UNARY_F32_PROTO, sfx)
#include "unary_f32.inc"
#undef X
#undef ME_UNARY_F32_PROTO
#define X(id, isa, gemm, dw, add, quant, mul, lut) void gemm(const me_qgemm_u8s8_args *); \
    void dw(const me_qdw_u8_args *, int64_t, uint8_t *); \
    void add(const me_qadd_u8_args *, const uint8_t *, const uint8_t *, uint8_t *, int64_t); \
    void quant(const float *, uint8_t *, int64_t, float, int32_t); \
    void mul(const me_qmul_u8_args *, const uint8_t *, const uint8_t *, uint8_t *, int64_t); \
    void lut(const uint8_t *, const uint8_t *, uint8_t *, int64_t);
#include "qint8.inc"
#undef X

#define X(id, isa, sfx) double me_norm_f32_sum__##sfx(const float *, int64_t, double, int); \
    void me_norm_f32_apply__##sfx(const float *, int64_t, double, double, const float *, int64_t, const float *, int64_t, float *);
#include "norm_f32.inc"
#undef X

#endif
