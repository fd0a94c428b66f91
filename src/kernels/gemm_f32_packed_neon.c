/* Packed-weights gemm_f32 for aarch64 NEON (kernels.h, gemm_f32_packed.h).
 *
 * Same loop structure as the x86 variants: up to 6 rows x 16 columns (24
 * accumulators of 4 lanes) from one 16-column B panel, A broadcast from its
 * rows, K blocks with partial sums in C, bias and activation in the last
 * block's store. Column tails (< 16) go through a small buffer (NEON has no
 * masked loads), with the same per-lane arithmetic. */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))

enum { MR = 6, PNR = 16, KC = 256, NC = 512, PF = 64 };

INLINE float32x4_t act4(float32x4_t v, int act, float32x4_t lo, float32x4_t hi) {
    /* fmax / fmin return NaN when an operand is NaN: NaN passes */
    if (act == 1) return vmaxq_f32(v, vdupq_n_f32(0.0f));
    if (act == 2) return vminq_f32(vmaxq_f32(v, lo), hi);
    return v;
}

INLINE void load16(const float *p, int64_t w, float32x4_t *v) {
    float tmp[PNR];
    if (w < PNR) {
        memset(tmp, 0, sizeof tmp);
        memcpy(tmp, p, (size_t)w * sizeof(float));
        p = tmp;
    }
    for (int q = 0; q < 4; q++) v[q] = vld1q_f32(p + 4 * q);
}

INLINE void store16(float *p, int64_t w, const float32x4_t *v) {
    float tmp[PNR];
    float *d = w < PNR ? tmp : p;
    for (int q = 0; q < 4; q++) vst1q_f32(d + 4 * q, v[q]);
    if (w < PNR) memcpy(p, tmp, (size_t)w * sizeof(float));
}

INLINE void tile(int R, int64_t kc, const float *a, int64_t lda, const float *b, float *C, int64_t ldc, int64_t w,
                 int first, int last, const me_gemm_f32_epi *e, const float *bias) {
    float32x4_t c[MR][4];
    for (int r = 0; r < R; r++) {
        if (first)
            for (int q = 0; q < 4; q++) c[r][q] = vdupq_n_f32(0.0f);
        else
            load16(C + r * ldc, w, c[r]);
    }
    for (int64_t k = 0; k < kc; k++) {
        __builtin_prefetch(b + PF * PNR);
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
        b += PNR;
        for (int r = 0; r < R; r++) {
            float av = a[r * lda + k];
            c[r][0] = vfmaq_n_f32(c[r][0], b0, av);
            c[r][1] = vfmaq_n_f32(c[r][1], b1, av);
            c[r][2] = vfmaq_n_f32(c[r][2], b2, av);
            c[r][3] = vfmaq_n_f32(c[r][3], b3, av);
        }
    }
    if (last) {
        float32x4_t lo = vdupq_n_f32(e->lo), hi = vdupq_n_f32(e->hi), bb[4];
        if (bias) load16(bias, w, bb);
        for (int r = 0; r < R; r++)
            for (int q = 0; q < 4; q++) {
                if (bias) c[r][q] = vaddq_f32(c[r][q], bb[q]);
                c[r][q] = act4(c[r][q], e->act, lo, hi);
            }
    }
    for (int r = 0; r < R; r++) store16(C + r * ldc, w, c[r]);
}

typedef void (*tile_fn)(int64_t, const float *, int64_t, const float *, float *, int64_t, int64_t, int, int,
                        const me_gemm_f32_epi *, const float *);
#define TILE_FN(R)                                                                                              \
    static void tile_##R(int64_t kc, const float *a, int64_t lda, const float *b, float *C, int64_t ldc, int64_t w, \
                         int first, int last, const me_gemm_f32_epi *e, const float *bias) {                     \
        tile(R, kc, a, lda, b, C, ldc, w, first, last, e, bias);                                                 \
    }
TILE_FN(1) TILE_FN(2) TILE_FN(3) TILE_FN(4) TILE_FN(5) TILE_FN(6)
static const tile_fn tiles[MR + 1] = {0, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6};

void me_gemm_f32_packed__neon(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *Bp,
                              float *C, int64_t ldc, const me_gemm_f32_epi *e) {
    if (M <= 0) return;
    int64_t nkb = K > 0 ? (K + KC - 1) / KC : 1;
    for (int64_t n0 = 0; n0 < N; n0 += NC) {
        int64_t n1 = N - n0 < NC ? N : n0 + NC;
        for (int64_t kb = 0; kb < nkb; kb++) {
            int64_t k0 = kb * KC, kc = K - k0 < KC ? K - k0 : KC;
            int first = kb == 0, last = kb == nkb - 1;
            int64_t nt = (M + MR - 1) / MR, base = M / nt, extra = M % nt;
            for (int64_t t = 0, i = 0; t < nt; t++) {
                int64_t rows = base + (t < extra);
                for (int64_t j = n0; j < n1; j += PNR) {
                    int64_t w = n1 - j < PNR ? n1 - j : PNR;
                    tiles[rows](kc, A + i * lda + k0, lda, Bp + j * K + k0 * PNR, C + i * ldc + j, ldc, w, first, last,
                                e, e->bias ? e->bias + j : NULL);
                }
                i += rows;
            }
        }
    }
}
#endif
