/* qint8 (kernels.h) with AVX-512 VNNI: vpdpbusd multiplies 4 u8 activation
 * codes by 4 s8 weights and adds the exact sum to an int32 lane (no
 * saturation); an 8 x 32 register tile of accumulators, requantised in
 * 64-bit lanes in the store. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "qint8_scalar.h"

/* 16 accumulators -> 16 output codes (kernels.h: out()). */
static inline __m128i requant16(__m512i acc, const int32_t *mulp, const int32_t *shp, __m512i zy, __m512i lo,
                                __m512i hi) {
    const __m512i one = _mm512_set1_epi64(1), cap = _mm512_set1_epi64(ME_QINT8_CAP);
    const __m512i lo32 = _mm512_set1_epi64(0xffffffff);
    __m512i mul = _mm512_loadu_si512(mulp), sh = _mm512_loadu_si512(shp);
    __m512i mag = _mm512_abs_epi32(acc);
    __m512i she = _mm512_and_si512(sh, lo32), sho = _mm512_srli_epi64(sh, 32);
    __m512i pe = _mm512_mul_epu32(mag, mul);
    __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(mag, 32), _mm512_srli_epi64(mul, 32));
    pe = _mm512_srlv_epi64(_mm512_add_epi64(pe, _mm512_sllv_epi64(one, _mm512_sub_epi64(she, one))), she);
    po = _mm512_srlv_epi64(_mm512_add_epi64(po, _mm512_sllv_epi64(one, _mm512_sub_epi64(sho, one))), sho);
    pe = _mm512_min_epu64(pe, cap);
    po = _mm512_min_epu64(po, cap);
    __m512i r = _mm512_or_si512(pe, _mm512_slli_epi64(po, 32));
    r = _mm512_mask_sub_epi32(r, _mm512_movepi32_mask(acc), _mm512_setzero_si512(), r);
    r = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(r, zy), lo), hi);
    return _mm512_cvtepi32_epi8(r);
}

static inline int32_t load4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline int32_t loadn(const uint8_t *p, int64_t n) {
    int32_t v = 0;
    memcpy(&v, p, (size_t)n);
    return v;
}

static inline void store_rows(const me_qgemm_u8s8_args *p, int64_t m, int mr, int64_t n0, const __m512i *acc,
                              __m512i zy, __m512i lo, __m512i hi) {
    if (n0 >= p->N) return;
    int64_t cnt = p->N - n0 < ME_QINT8_NB ? p->N - n0 : ME_QINT8_NB;
    __mmask16 mask = (__mmask16)((1u << cnt) - 1);
    for (int r = 0; r < mr; r++) {
        __m128i out = requant16(acc[r], p->mul + n0, p->shift + n0, zy, lo, hi);
        _mm_mask_storeu_epi8(p->y + (m + r) * p->ldy + n0, mask, out);
    }
}

/* A tile of up to 8 (R8) or 4 rows x 2 (TWO) or 1 column blocks: rows
 * [m, m+mr) (missing rows of a tail tile repeat row m and are not stored) x
 * column blocks nb (and nb+1). */
static inline __attribute__((always_inline)) void tile(const me_qgemm_u8s8_args *p, int64_t m, int mr, int64_t nb,
                                                       const int R8, const int TWO) {
    const int64_t kg = (p->K + 3) / 4, kfull = p->K / 4, ktail = p->K % 4, lda = p->lda;
    const uint8_t *a0 = p->a + m * lda;
    const uint8_t *a1 = mr > 1 ? a0 + lda : a0, *a2 = mr > 2 ? a0 + 2 * lda : a0, *a3 = mr > 3 ? a0 + 3 * lda : a0;
    const uint8_t *a4 = mr > 4 ? a0 + 4 * lda : a0, *a5 = mr > 5 ? a0 + 5 * lda : a0, *a6 = mr > 6 ? a0 + 6 * lda : a0;
    const uint8_t *a7 = mr > 7 ? a0 + 7 * lda : a0;
    const int8_t *w0 = p->w + nb * kg * 64, *w1 = w0 + kg * 64;
    const __m512i bias0 = _mm512_loadu_si512(p->bias + nb * ME_QINT8_NB);
    const __m512i bias1 = TWO ? _mm512_loadu_si512(p->bias + (nb + 1) * ME_QINT8_NB) : bias0;
    __m512i c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1, c30 = bias0, c31 = bias1;
    __m512i c40 = bias0, c41 = bias1, c50 = bias0, c51 = bias1, c60 = bias0, c61 = bias1, c70 = bias0, c71 = bias1;
#define ROW(r, av)                                                   \
    {                                                                \
        const __m512i v_ = (av);                                     \
        c##r##0 = _mm512_dpbusd_epi32(c##r##0, v_, b0);              \
        if (TWO) c##r##1 = _mm512_dpbusd_epi32(c##r##1, v_, b1);     \
    }
#define ROWS(LOAD)                                 \
    ROW(0, _mm512_set1_epi32(LOAD(a0)))            \
    ROW(1, _mm512_set1_epi32(LOAD(a1)))            \
    ROW(2, _mm512_set1_epi32(LOAD(a2)))            \
    ROW(3, _mm512_set1_epi32(LOAD(a3)))            \
    if (R8) {                                      \
        ROW(4, _mm512_set1_epi32(LOAD(a4)))        \
        ROW(5, _mm512_set1_epi32(LOAD(a5)))        \
        ROW(6, _mm512_set1_epi32(LOAD(a6)))        \
        ROW(7, _mm512_set1_epi32(LOAD(a7)))        \
    }
#define LOAD_FULL(ap) load4((ap) + o)
#define LOAD_TAIL(ap) loadn((ap) + o, ktail)
    for (int64_t g = 0; g < kfull; g++) {
        const __m512i b0 = _mm512_loadu_si512(w0 + g * 64), b1 = TWO ? _mm512_loadu_si512(w1 + g * 64) : b0;
        const int64_t o = 4 * g;
        ROWS(LOAD_FULL)
    }
    if (ktail) {
        const __m512i b0 = _mm512_loadu_si512(w0 + kfull * 64), b1 = TWO ? _mm512_loadu_si512(w1 + kfull * 64) : b0;
        const int64_t o = 4 * kfull;
        ROWS(LOAD_TAIL)
    }
#undef ROW
#undef ROWS
#undef LOAD_FULL
#undef LOAD_TAIL
    const __m512i zy = _mm512_set1_epi32(p->zy), lo = _mm512_set1_epi32(p->lo), hi = _mm512_set1_epi32(p->hi);
    const __m512i r0[8] = {c00, c10, c20, c30, c40, c50, c60, c70};
    store_rows(p, m, mr, nb * ME_QINT8_NB, r0, zy, lo, hi);
    if (TWO) {
        const __m512i r1[8] = {c01, c11, c21, c31, c41, c51, c61, c71};
        store_rows(p, m, mr, (nb + 1) * ME_QINT8_NB, r1, zy, lo, hi);
    }
}

static void tile8x2(const me_qgemm_u8s8_args *p, int64_t m, int mr, int64_t nb) { tile(p, m, mr, nb, 1, 1); }
static void tile8x1(const me_qgemm_u8s8_args *p, int64_t m, int mr, int64_t nb) { tile(p, m, mr, nb, 1, 0); }
static void tile4x2(const me_qgemm_u8s8_args *p, int64_t m, int mr, int64_t nb) { tile(p, m, mr, nb, 0, 1); }
static void tile4x1(const me_qgemm_u8s8_args *p, int64_t m, int mr, int64_t nb) { tile(p, m, mr, nb, 0, 0); }

void me_qgemm_u8s8__avx512vnni(const me_qgemm_u8s8_args *p) {
    const int64_t nblk = (p->N + ME_QINT8_NB - 1) / ME_QINT8_NB;
    for (int64_t nb = 0; nb < nblk; nb += 2) {
        const int two = nb + 1 < nblk;
        for (int64_t m = 0; m < p->M;) {
            const int64_t left = p->M - m;
            if (left > 4) {
                const int mr = left < 8 ? (int)left : 8;
                if (two) tile8x2(p, m, mr, nb);
                else tile8x1(p, m, mr, nb);
                m += mr;
            } else {
                if (two) tile4x2(p, m, (int)left, nb);
                else tile4x1(p, m, (int)left, nb);
                m += left;
            }
        }
    }
}

/* Depthwise: 4 taps of 64 channels are interleaved byte-wise (two unpack
 * levels) so that each int32 lane holds one channel's 4 taps, in the
 * channel order the packed weights and parameters use (kernels.h); a 4x4
 * dword transpose restores the natural order of the output bytes. */
enum { DW_MAX_TAPS = 64 };

void me_qdw_u8_row__avx512vnni(const me_qdw_u8_args *p, int64_t oh, uint8_t *yrow) {
    const int64_t taps = p->fh * p->fw, groups = (taps + 3) / 4, nb = p->cp / 64;
    if (taps > DW_MAX_TAPS) {
        for (int64_t ow = 0; ow < p->ow; ow++) me_qint8_dw_px(p, oh, ow, 0, p->c, yrow + ow * p->c);
        return;
    }
    const __m512i zy = _mm512_set1_epi32(p->zy), lo = _mm512_set1_epi32(p->lo), hi = _mm512_set1_epi32(p->hi);
    const __m512i padv = _mm512_set1_epi8((char)(uint8_t)(-p->ox));
    const uint8_t *tp[DW_MAX_TAPS + 3];
    for (int64_t ow = 0; ow < p->ow; ow++) {
        for (int64_t kh = 0; kh < p->fh; kh++) {
            int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
            for (int64_t kw = 0; kw < p->fw; kw++) {
                int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dil_w;
                tp[kh * p->fw + kw] = ih < 0 || ih >= p->h || iw < 0 || iw >= p->w_in
                                          ? NULL : p->x + (ih * p->w_in + iw) * p->c;
            }
        }
        for (int64_t t = taps; t < groups * 4; t++) tp[t] = NULL;
        uint8_t *y = yrow + ow * p->c;
        for (int64_t cb = 0; cb < nb; cb++) {
            const int64_t c0 = cb * 64, cnt = p->c - c0 < 64 ? p->c - c0 : 64;
            const __mmask64 mask = cnt == 64 ? ~(__mmask64)0 : (((__mmask64)1 << cnt) - 1);
            __m512i acc0 = _mm512_loadu_si512(p->bias + cb * 64), acc1 = _mm512_loadu_si512(p->bias + cb * 64 + 16);
            __m512i acc2 = _mm512_loadu_si512(p->bias + cb * 64 + 32), acc3 = _mm512_loadu_si512(p->bias + cb * 64 + 48);
            for (int64_t g = 0; g < groups; g++) {
                __m512i xv[4];
                for (int j = 0; j < 4; j++) {
                    const uint8_t *q = tp[g * 4 + j];
                    xv[j] = q ? _mm512_maskz_loadu_epi8(mask, q + c0) : padv;
                }
                __m512i p01l = _mm512_unpacklo_epi8(xv[0], xv[1]), p01h = _mm512_unpackhi_epi8(xv[0], xv[1]);
                __m512i p23l = _mm512_unpacklo_epi8(xv[2], xv[3]), p23h = _mm512_unpackhi_epi8(xv[2], xv[3]);
                const int8_t *w = p->wt + (g * nb + cb) * 256;
                acc0 = _mm512_dpbusd_epi32(acc0, _mm512_unpacklo_epi16(p01l, p23l), _mm512_loadu_si512(w));
                acc1 = _mm512_dpbusd_epi32(acc1, _mm512_unpackhi_epi16(p01l, p23l), _mm512_loadu_si512(w + 64));
                acc2 = _mm512_dpbusd_epi32(acc2, _mm512_unpacklo_epi16(p01h, p23h), _mm512_loadu_si512(w + 128));
                acc3 = _mm512_dpbusd_epi32(acc3, _mm512_unpackhi_epi16(p01h, p23h), _mm512_loadu_si512(w + 192));
            }
            const int64_t pb = cb * 64;
            __m128i r0 = requant16(acc0, p->mul + pb, p->shift + pb, zy, lo, hi);
            __m128i r1 = requant16(acc1, p->mul + pb + 16, p->shift + pb + 16, zy, lo, hi);
            __m128i r2 = requant16(acc2, p->mul + pb + 32, p->shift + pb + 32, zy, lo, hi);
            __m128i r3 = requant16(acc3, p->mul + pb + 48, p->shift + pb + 48, zy, lo, hi);
            __m128i t0 = _mm_unpacklo_epi32(r0, r1), t1 = _mm_unpacklo_epi32(r2, r3);
            __m128i t2 = _mm_unpackhi_epi32(r0, r1), t3 = _mm_unpackhi_epi32(r2, r3);
            __m512i out = _mm512_castsi128_si512(_mm_unpacklo_epi64(t0, t1));
            out = _mm512_inserti32x4(out, _mm_unpackhi_epi64(t0, t1), 1);
            out = _mm512_inserti32x4(out, _mm_unpacklo_epi64(t2, t3), 2);
            out = _mm512_inserti32x4(out, _mm_unpackhi_epi64(t2, t3), 3);
            _mm512_mask_storeu_epi8(y + c0, mask, out);
        }
    }
}

void me_qadd_u8__avx512vnni(const me_qadd_u8_args *p, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n) {
    const __m512i oa = _mm512_set1_epi64(p->oa), ob = _mm512_set1_epi64(p->ob);
    const __m512i ma = _mm512_set1_epi64(p->ma), mb = _mm512_set1_epi64(p->mb), zy = _mm512_set1_epi64(p->zy);
    const __m128i la = _mm_cvtsi32_si128(p->la), lb = _mm_cvtsi32_si128(p->lb), s = _mm_cvtsi32_si128(p->s);
    const __m512i half = _mm512_set1_epi64((long long)((uint64_t)1 << (p->s - 1)));
    const __m512i zero = _mm512_setzero_si512(), top = _mm512_set1_epi64(255);
    for (int64_t i = 0; i < n; i += 8) {
        const __mmask8 mask = n - i >= 8 ? 0xff : (__mmask8)((1u << (n - i)) - 1);
        __m512i xa = _mm512_add_epi64(_mm512_cvtepu8_epi64(_mm_maskz_loadu_epi8(mask, a + i)), oa);
        __m512i xb = _mm512_add_epi64(_mm512_cvtepu8_epi64(_mm_maskz_loadu_epi8(mask, b + i)), ob);
        __m512i v = _mm512_add_epi64(_mm512_sll_epi64(_mm512_mul_epi32(xa, ma), la),
                                     _mm512_sll_epi64(_mm512_mul_epi32(xb, mb), lb));
        __m512i r = _mm512_srl_epi64(_mm512_add_epi64(_mm512_abs_epi64(v), half), s);
        r = _mm512_mask_sub_epi64(r, _mm512_movepi64_mask(v), zero, r);
        r = _mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(r, zy), zero), top);
        _mm512_mask_cvtepi64_storeu_epi8(y + i, mask, r);
    }
}

void me_quant_u8__avx512vnni(const float *x, uint8_t *y, int64_t n, float scale, int32_t off) {
    const __m512 sc = _mm512_set1_ps(scale), fo = _mm512_set1_ps((float)off);
    const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(255.0f);
    const int32_t nanq = -off < 0 ? 0 : -off > 255 ? 255 : -off;
    const __m512i nanv = _mm512_set1_epi32(nanq);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mask = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(mask, x + i);
        __m512 r = _mm512_roundscale_ps(_mm512_div_ps(v, sc), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        r = _mm512_min_ps(_mm512_max_ps(_mm512_sub_ps(r, fo), zero), top);
        __m512i q = _mm512_mask_blend_epi32(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), _mm512_cvttps_epi32(r), nanv);
        _mm512_mask_cvtepi32_storeu_epi8(y + i, mask, q);
    }
}
#endif
