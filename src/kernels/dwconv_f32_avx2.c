/* Depthwise-conv row for AVX2 + FMA (see kernels.h): per output pixel,
 * blocks of up to 32 channels stay in registers across all taps (fused
 * multiply-add in (kh, kw) order); the channel tail is masked. Interior
 * columns go 4 pixels at a time so each weight vector is loaded once per 4
 * outputs. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))

INLINE __m256i lane_mask(int64_t w) {
    static const int32_t tbl[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    if (w < 0) w = 0;
    if (w > 8) w = 8;
    return _mm256_loadu_si256((const __m256i *)(tbl + 8 - w));
}

/* nv vectors of 8 channels starting at ch; the last one masked by `last`. */
INLINE void block(int nv, const me_dwconv_f32_args *a, int64_t ch, int64_t kh0, int64_t kh1, int64_t kw0,
                  int64_t kw1, int64_t ih0, int64_t iw0, float *y, __m256i last) {
    const int64_t c = a->c;
    __m256 acc[4];
    for (int v = 0; v < nv; v++) {
        __m256i m = v == nv - 1 ? last : _mm256_set1_epi32(-1);
        acc[v] = a->bias ? _mm256_maskload_ps(a->bias + ch + 8 * v, m) : _mm256_setzero_ps();
    }
    for (int64_t kh = kh0; kh < kh1; kh++) {
        const float *xr = a->x + ((ih0 + kh * a->dil_h) * a->w_in) * c + ch;
        const float *wr = a->w + kh * a->fw * c + ch;
        for (int64_t kw = kw0; kw < kw1; kw++) {
            const float *x = xr + (iw0 + kw * a->dil_w) * c, *w = wr + kw * c;
            for (int v = 0; v < nv; v++) {
                __m256i m = v == nv - 1 ? last : _mm256_set1_epi32(-1);
                acc[v] = _mm256_fmadd_ps(_mm256_maskload_ps(x + 8 * v, m), _mm256_maskload_ps(w + 8 * v, m), acc[v]);
            }
        }
    }
    for (int v = 0; v < nv; v++) {
        __m256i m = v == nv - 1 ? last : _mm256_set1_epi32(-1);
        _mm256_maskstore_ps(y + ch + 8 * v, m, acc[v]);
    }
}

/* PX output pixels (stride_w apart, every tap in range horizontally) by nv
 * vectors of 8 channels: each weight vector is loaded once for the PX
 * pixels. Per element the same bias-then-(kh, kw)-ordered FMAs as block(), so
 * the results are identical to it. */
#define PX 4
INLINE void block_px(int nv, const me_dwconv_f32_args *a, int64_t ch, int64_t kh0, int64_t kh1, int64_t ih0,
                     int64_t iw0, float *y, __m256i last) {
    const int64_t c = a->c, sx = a->stride_w * c;
    __m256 acc[PX][2];
    for (int v = 0; v < nv; v++) {
        __m256i m = v == nv - 1 ? last : _mm256_set1_epi32(-1);
        __m256 b = a->bias ? _mm256_maskload_ps(a->bias + ch + 8 * v, m) : _mm256_setzero_ps();
        for (int p = 0; p < PX; p++) acc[p][v] = b;
    }
    for (int64_t kh = kh0; kh < kh1; kh++) {
        const float *xr = a->x + ((ih0 + kh * a->dil_h) * a->w_in + iw0) * c + ch;
        const float *wr = a->w + kh * a->fw * c + ch;
        for (int64_t kw = 0; kw < a->fw; kw++) {
            const float *x = xr + kw * a->dil_w * c, *w = wr + kw * c;
            for (int v = 0; v < nv; v++) {
                __m256i m = v == nv - 1 ? last : _mm256_set1_epi32(-1);
                __m256 wv = _mm256_maskload_ps(w + 8 * v, m);
                for (int p = 0; p < PX; p++)
                    acc[p][v] = _mm256_fmadd_ps(_mm256_maskload_ps(x + p * sx + 8 * v, m), wv, acc[p][v]);
            }
        }
    }
    for (int p = 0; p < PX; p++)
        for (int v = 0; v < nv; v++) {
            __m256i m = v == nv - 1 ? last : _mm256_set1_epi32(-1);
            _mm256_maskstore_ps(y + p * c + ch + 8 * v, m, acc[p][v]);
        }
}

/* First and one-past-last tap index whose input coordinate is inside [0, n). */
static void tap_range(int64_t i0, int64_t dil, int64_t taps, int64_t n, int64_t *t0, int64_t *t1) {
    int64_t lo = 0, hi = taps;
    while (lo < hi && i0 + lo * dil < 0) lo++;
    while (hi > lo && i0 + (hi - 1) * dil >= n) hi--;
    *t0 = lo;
    *t1 = hi;
}

void me_dwconv_f32_row__avx2(const me_dwconv_f32_args *a, int64_t oh, float *yrow) {
    const int64_t c = a->c;
    const int64_t ih0 = oh * a->stride_h - a->pad_top;
    int64_t kh0, kh1;
    tap_range(ih0, a->dil_h, a->fh, a->h, &kh0, &kh1);
    const __m256i all = _mm256_set1_epi32(-1);
    /* output columns [ow_lo, ow_hi) see every horizontal tap */
    int64_t ow_lo = a->pad_left > 0 ? (a->pad_left + a->stride_w - 1) / a->stride_w : 0;
    int64_t span = (a->fw - 1) * a->dil_w, ow_hi = 0;
    if (a->w_in - 1 - span + a->pad_left >= 0) ow_hi = (a->w_in - 1 - span + a->pad_left) / a->stride_w + 1;
    if (ow_hi > a->ow) ow_hi = a->ow;
    for (int64_t ow = 0; ow < a->ow; ow++) {
        float *y = yrow + ow * c;
        if (ow >= ow_lo && ow + PX <= ow_hi) {
            const int64_t iw0 = ow * a->stride_w - a->pad_left;
            int64_t ch = 0;
            for (; ch + 16 <= c; ch += 16) block_px(2, a, ch, kh0, kh1, ih0, iw0, y, all);
            for (; ch + 8 <= c; ch += 8) block_px(1, a, ch, kh0, kh1, ih0, iw0, y, all);
            if (ch < c) block_px(1, a, ch, kh0, kh1, ih0, iw0, y, lane_mask(c - ch));
            ow += PX - 1;
            continue;
        }
        const int64_t iw0 = ow * a->stride_w - a->pad_left;
        int64_t kw0, kw1;
        tap_range(iw0, a->dil_w, a->fw, a->w_in, &kw0, &kw1);
        int64_t ch = 0;
        for (; ch + 32 <= c; ch += 32) block(4, a, ch, kh0, kh1, kw0, kw1, ih0, iw0, y, all);
        for (; ch + 8 <= c; ch += 8) block(1, a, ch, kh0, kh1, kw0, kw1, ih0, iw0, y, all);
        if (ch < c) block(1, a, ch, kh0, kh1, kw0, kw1, ih0, iw0, y, lane_mask(c - ch));
    }
}
#endif
