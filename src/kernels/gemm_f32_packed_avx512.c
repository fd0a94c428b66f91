/* Packed-weights gemm_f32 for AVX-512 F (kernels.h, gemm_f32_packed.h).
 * Built with the AVX-512 flags; called only when cpuid says so.
 *
 * Register tile: up to 14 rows x 32 columns (28 zmm accumulators), B read
 * from two consecutive 16-column panels, A broadcast straight from its rows. Loops:
 * column blocks of NC (the B block stays in L2), K blocks of KC, then row
 * tiles (the A tile stays in L1) and the panels of the block. The first K
 * block starts from zero, later ones from the partial sums in C; the last
 * adds the bias and applies the activation before the store. Column tails
 * are masked loads/stores of C (B panels are zero-padded). */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))

/* PF: B prefetch distance in K steps (4 KB ahead per panel stream; helps
 * when the weights come from L3 or memory, as in few-row layers) */
enum { MR = 14, NR = 32, PNR = 16, KC = 320, NC = 512, PF = 64 };

INLINE __mmask16 lane_mask(int64_t w) {
    if (w <= 0) return 0;
    if (w >= 16) return 0xffff;
    return (__mmask16)((1u << w) - 1);
}

INLINE __m512 act512(__m512 v, int act, __m512 lo, __m512 hi) {
    /* max/min return the second operand when either is NaN: NaN passes */
    if (act == 1) return _mm512_max_ps(_mm512_setzero_ps(), v);
    if (act == 2) return _mm512_min_ps(hi, _mm512_max_ps(lo, v));
    return v;
}

/* R rows x NV vectors of 16 columns. a: row 0 of A at the K block, lda in
 * floats; b: the panel at the K block. */
INLINE void tile(int R, int NV, int64_t kc, const float *a, int64_t lda, const float *b, int64_t bs, float *C, int64_t ldc,
                 __mmask16 m0, __mmask16 m1, int first, int last, const me_gemm_f32_epi *e, const float *bias) {
    __m512 c0[MR], c1[MR];
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {
        if (first) {
            c0[r] = _mm512_setzero_ps();
            c1[r] = _mm512_setzero_ps();
        } else {
            c0[r] = _mm512_maskz_loadu_ps(m0, C + r * ldc);
            if (NV > 1) c1[r] = _mm512_maskz_loadu_ps(m1, C + r * ldc + 16);
        }
    }
    /* five row bases, rows at base + 0/1/2 lda: few address registers */
    const float *p0 = a, *p1 = a + 3 * lda, *p2 = a + 6 * lda, *p3 = a + 9 * lda, *p4 = a + 12 * lda;
    const int64_t l2 = 2 * lda;
#define ROW(r) ((r) < 3 ? p0 : (r) < 6 ? p1 : (r) < 9 ? p2 : (r) < 12 ? p3 : p4)[((r) % 3 == 0 ? 0 : (r) % 3 == 1 ? lda : l2)]
    for (int64_t k = 0; k < kc; k++) {
        _mm_prefetch((const char *)(b + PF * PNR), _MM_HINT_T0);
        if (NV > 1) _mm_prefetch((const char *)(b + bs + PF * PNR), _MM_HINT_T0);
        __m512 b0 = _mm512_loadu_ps(b), b1;
        if (NV > 1) b1 = _mm512_loadu_ps(b + bs);
        b += PNR;
#define STEP(r)                                                          \
        if (R > r) {                                                     \
            __m512 av = _mm512_set1_ps(ROW(r));                          \
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);                      \
            if (NV > 1) c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);          \
        }
        STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6)
        STEP(7) STEP(8) STEP(9) STEP(10) STEP(11) STEP(12) STEP(13)
#undef STEP
        p0++; p1++; p2++; p3++; p4++;
    }
#undef ROW
    if (last) {
        __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
        __m512 bb0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
        __m512 bb1 = bias && NV > 1 ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {
            if (bias) {
                c0[r] = _mm512_add_ps(c0[r], bb0);
                if (NV > 1) c1[r] = _mm512_add_ps(c1[r], bb1);
            }
            c0[r] = act512(c0[r], e->act, lo, hi);
            if (NV > 1) c1[r] = act512(c1[r], e->act, lo, hi);
        }
    }
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {
        _mm512_mask_storeu_ps(C + r * ldc, m0, c0[r]);
        if (NV > 1) _mm512_mask_storeu_ps(C + r * ldc + 16, m1, c1[r]);
    }
}

typedef void (*tile_fn)(int64_t, const float *, int64_t, const float *, int64_t, float *, int64_t, __mmask16, __mmask16, int,
                        int, const me_gemm_f32_epi *, const float *);
#define TILE_FN(R, NV)                                                                                        \
    static void tile_##R##_##NV(int64_t kc, const float *a, int64_t lda, const float *b, int64_t bs, float *C,   \
                                int64_t ldc,                                                                  \
                                __mmask16 m0, __mmask16 m1, int first, int last, const me_gemm_f32_epi *e,     \
                                const float *bias) {                                                          \
        tile(R, NV, kc, a, lda, b, bs, C, ldc, m0, m1, first, last, e, bias);                                     \
    }
#define TILE_FNS(R) TILE_FN(R, 1) TILE_FN(R, 2)
TILE_FNS(1) TILE_FNS(2) TILE_FNS(3) TILE_FNS(4) TILE_FNS(5) TILE_FNS(6) TILE_FNS(7)
TILE_FNS(8) TILE_FNS(9) TILE_FNS(10) TILE_FNS(11) TILE_FNS(12) TILE_FNS(13) TILE_FNS(14)
#define TILE_ROW(R) {tile_##R##_1, tile_##R##_2}
static const tile_fn tiles[MR + 1][2] = {
    {0, 0}, TILE_ROW(1), TILE_ROW(2), TILE_ROW(3), TILE_ROW(4), TILE_ROW(5), TILE_ROW(6), TILE_ROW(7),
    TILE_ROW(8), TILE_ROW(9), TILE_ROW(10), TILE_ROW(11), TILE_ROW(12), TILE_ROW(13), TILE_ROW(14),
};

void me_gemm_f32_packed__avx512(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *Bp,
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
                    int nv = w > 16 ? 2 : 1;
                    tiles[rows][nv - 1](kc, a, lda, Bp + j * K + k0 * PNR, PNR * K, C + i * ldc + j, ldc, lane_mask(w),
                                        lane_mask(w - 16), first, last, e, e->bias ? e->bias + j : NULL);
                }
                i += rows;
            }
        }
    }
}
#endif
