/* Depthwise-conv row for AVX-512 (see kernels.h): blocks of up to 64
 * channels in registers across all taps, fused multiply-add in (kh, kw)
 * order, masked channel tail; interior columns 4 pixels at a time so each
 * weight vector is loaded once per 4 outputs. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))

INLINE void block(int nv, const me_dwconv_f32_args *a, int64_t ch, int64_t kh0, int64_t kh1, int64_t kw0,
                  int64_t kw1, int64_t ih0, int64_t iw0, float *y, __mmask16 last) {
    const int64_t c = a->c;
    __m512 acc[4];
    for (int v = 0; v < nv; v++) {
        __mmask16 m = v == nv - 1 ? last : (__mmask16)0xffff;
        acc[v] = a->bias ? _mm512_maskz_loadu_ps(m, a->bias + ch + 16 * v) : _mm512_setzero_ps();
    }
    for (int64_t kh = kh0; kh < kh1; kh++) {
        const float *xr = a->x + ((ih0 + kh * a->dil_h) * a->w_in) * c + ch;
        const float *wr = a->w + kh * a->fw * c + ch;
        for (int64_t kw = kw0; kw < kw1; kw++) {
            const float *x = xr + (iw0 + kw * a->dil_w) * c, *w = wr + kw * c;
            for (int v = 0; v < nv; v++) {
                __mmask16 m = v == nv - 1 ? last : (__mmask16)0xffff;
                acc[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + 16 * v), _mm512_maskz_loadu_ps(m, w + 16 * v),
                                         acc[v]);
            }
        }
    }
    for (int v = 0; v < nv; v++) {
        __mmask16 m = v == nv - 1 ? last : (__mmask16)0xffff;
        _mm512_mask_storeu_ps(y + ch + 16 * v, m, acc[v]);
    }
}

/* PX output pixels (stride_w apart, every tap in range horizontally) by nv
 * vectors of 16 channels: each weight vector is loaded once for the PX
 * pixels. Per element the same bias-then-(kh, kw)-ordered FMAs as block(), so
 * the results are identical to it. */
#define PX 4
INLINE void block_px(int nv, const me_dwconv_f32_args *a, int64_t ch, int64_t kh0, int64_t kh1, int64_t ih0,
                     int64_t iw0, float *y, __mmask16 last) {
    const int64_t c = a->c, sx = a->stride_w * c;
    __m512 acc[PX][2];
    for (int v = 0; v < nv; v++) {
        __mmask16 m = v == nv - 1 ? last : (__mmask16)0xffff;
        __m512 b = a->bias ? _mm512_maskz_loadu_ps(m, a->bias + ch + 16 * v) : _mm512_setzero_ps();
        for (int p = 0; p < PX; p++) acc[p][v] = b;
    }
    for (int64_t kh = kh0; kh < kh1; kh++) {
        const float *xr = a->x + ((ih0 + kh * a->dil_h) * a->w_in + iw0) * c + ch;
        const float *wr = a->w + kh * a->fw * c + ch;
        for (int64_t kw = 0; kw < a->fw; kw++) {
            const float *x = xr + kw * a->dil_w * c, *w = wr + kw * c;
            for (int v = 0; v < nv; v++) {
                __mmask16 m = v == nv - 1 ? last : (__mmask16)0xffff;
                __m512 wv = _mm512_maskz_loadu_ps(m, w + 16 * v);
                for (int p = 0; p < PX; p++)
                    acc[p][v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + p * sx + 16 * v), wv, acc[p][v]);
            }
        }
    }
    for (int p = 0; p < PX; p++)
        for (int v = 0; v < nv; v++) {
            __mmask16 m = v == nv - 1 ? last : (__mmask16)0xffff;
            _mm512_mask_storeu_ps(y + p * c + ch + 16 * v, m, acc[p][v]);
        }
}

static void tap_range(int64_t i0, int64_t dil, int64_t taps, int64_t n, int64_t *t0, int64_t *t1) {
    int64_t lo = 0, hi = taps;
    while (lo < hi && i0 + lo * dil < 0) lo++;
    while (hi > lo && i0 + (hi - 1) * dil >= n) hi--;
    *t0 = lo;
    *t1 = hi;
}

void me_dwconv_f32_row__avx512(const me_dwconv_f32_args *a, int64_t oh, float *yrow) {
    const int64_t c = a->c;
    const int64_t ih0 = oh * a->stride_h - a->pad_top;
    int64_t kh0, kh1;
    tap_range(ih0, a->dil_h, a->fh, a->h, &kh0, &kh1);
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
            for (; ch + 32 <= c; ch += 32) block_px(2, a, ch, kh0, kh1, ih0, iw0, y, 0xffff);
            for (; ch + 16 <= c; ch += 16) block_px(1, a, ch, kh0, kh1, ih0, iw0, y, 0xffff);
            if (ch < c) block_px(1, a, ch, kh0, kh1, ih0, iw0, y, (__mmask16)((1u << (c - ch)) - 1));
            ow += PX - 1;
            continue;
        }
        const int64_t iw0 = ow * a->stride_w - a->pad_left;
        int64_t kw0, kw1;
        tap_range(iw0, a->dil_w, a->fw, a->w_in, &kw0, &kw1);
        int64_t ch = 0;
        for (; ch + 64 <= c; ch += 64) block(4, a, ch, kh0, kh1, kw0, kw1, ih0, iw0, y, 0xffff);
        for (; ch + 16 <= c; ch += 16) block(1, a, ch, kh0, kh1, kw0, kw1, ih0, iw0, y, 0xffff);
        if (ch < c) block(1, a, ch, kh0, kh1, kw0, kw1, ih0, iw0, y, (__mmask16)((1u << (c - ch)) - 1));
    }
}
#endif
