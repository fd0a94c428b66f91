/* qint8 (kernels.h) with AVX-512 VNNI: vpdpbusd multiplies 4 u8 activation
 * codes by 4 s8 weights and adds the exact sum to an int32 lane (no
 * saturation); an 8 x 32 register tile of accumulators, requantised in the
 * store (32-bit lanes when every shift of the 16 columns is >= 33, else
 * 64-bit lanes; both exact, see rq16_apply). */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "qint8_scalar.h"

/* 16 accumulators -> 16 output codes (kernels.h: out()), in 64-bit lanes:
 * any shift in [1, 63]. */
static inline __m512i requant16_32(__m512i acc, const int32_t *mulp, const int32_t *shp, __m512i zy, __m512i lo,
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
    return _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(r, zy), lo), hi);
}

static inline __m128i requant16(__m512i acc, const int32_t *mulp, const int32_t *shp, __m512i zy, __m512i lo,
                                __m512i hi) {
    return _mm512_cvtepi32_epi8(requant16_32(acc, mulp, shp, zy, lo, hi));
}

/* The same requantisation in 32-bit lanes, for 16 columns whose shifts are
 * all >= 33 (columns with mul 0 count as shift 33: their result is 0 for any
 * shift). Exactness, for one lane with |acc| <= 2^31, mul < 2^31, s in
 * [33, 63]:
 *   P = |acc| * mul < 2^62 (vpmuludq, exact), P = H * 2^32 + L, 0 <= L < 2^32.
 *   The definition is r = floor((P + 2^(s-1)) / 2^s)
 *                      = floor((H + 2^(s-33) + L / 2^32) / 2^(s-32)).
 *   With N = H + 2^(s-33) an integer and D = 2^(s-32) a positive integer,
 *   floor((N + f) / D) = floor(N / D) for every f in [0, 1) (floor(x / D) =
 *   floor(floor(x) / D)), so r = (H + 2^(s-33)) >> (s-32): L never matters.
 *   H < 2^30 and 2^(s-33) <= 2^30, so N < 2^31 fits the lane; shift counts
 *   s-32 are in [1, 31].
 *   The 2^24 cap of the definition is not applied: r < 2^30, so r + zy
 *   (|zy| <= 2^23) cannot overflow, and when r > 2^24, +-r + zy lies beyond
 *   +-2^23 just as +-2^24 + zy does, so the clamp to [lo, hi] (within
 *   [-2^23, 2^23]) gives the same code as the capped value.
 * Round half away from zero comes from rounding |acc| and restoring the
 * sign, as in the 64-bit form. test_kernels_qint8.c checks both forms bit
 * for bit against a 128-bit evaluation (ties, |acc| = 2^31, shifts 33 and 63). */
typedef struct rq16 {
    __m512i mul, mulo, rnd, sh;
} rq16;

/* Prepares 16 columns' constants; 1 when the 32-bit form applies to all. */
static inline int rq16_make(const int32_t *mulp, const int32_t *shp, rq16 *q) {
    const __m512i s33 = _mm512_set1_epi32(33);
    __m512i mul = _mm512_loadu_si512(mulp), sh = _mm512_loadu_si512(shp);
    sh = _mm512_mask_mov_epi32(sh, _mm512_cmpeq_epi32_mask(mul, _mm512_setzero_si512()), s33);
    q->mul = mul;
    q->mulo = _mm512_srli_epi64(mul, 32);
    q->sh = _mm512_sub_epi32(sh, _mm512_set1_epi32(32));
    q->rnd = _mm512_sllv_epi32(_mm512_set1_epi32(1), _mm512_sub_epi32(sh, s33));
    return _mm512_cmplt_epi32_mask(sh, s33) == 0;
}

static inline __m512i rq16_apply32(__m512i acc, const rq16 *q, __m512i zy, __m512i lo, __m512i hi) {
    __m512i mag = _mm512_abs_epi32(acc);
    __m512i pe = _mm512_mul_epu32(mag, q->mul);
    __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(mag, 32), q->mulo);
    __m512i h = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
    __m512i r = _mm512_srlv_epi32(_mm512_add_epi32(h, q->rnd), q->sh);
    r = _mm512_mask_sub_epi32(r, _mm512_movepi32_mask(acc), _mm512_setzero_si512(), r);
    return _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(r, zy), lo), hi);
}

static inline __m128i rq16_apply(__m512i acc, const rq16 *q, __m512i zy, __m512i lo, __m512i hi) {
    return _mm512_cvtepi32_epi8(rq16_apply32(acc, q, zy, lo, hi));
}

static inline int32_t load4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline int32_t loadn(const uint8_t *p, int64_t n) { /* n in 1..3 */
    uint32_t v = p[0];
    if (n > 1) v |= (uint32_t)p[1] << 8;
    if (n > 2) v |= (uint32_t)p[2] << 16;
    return (int32_t)v;
}

static inline void store_rows(const me_qgemm_u8s8_args *p, int64_t m, int mr, int64_t n0, const __m512i *acc,
                              __m512i zy, __m512i lo, __m512i hi) {
    if (n0 >= p->N) return;
    int64_t cnt = p->N - n0 < ME_QINT8_NB ? p->N - n0 : ME_QINT8_NB;
    __mmask16 mask = (__mmask16)((1u << cnt) - 1);
    rq16 q;
    if (rq16_make(p->mul + n0, p->shift + n0, &q)) {
        for (int r = 0; r < mr; r++)
            _mm_mask_storeu_epi8(p->y + (m + r) * p->ldy + n0, mask, rq16_apply(acc[r], &q, zy, lo, hi));
        return;
    }
    for (int r = 0; r < mr; r++) {
        __m128i out = requant16(acc[r], p->mul + n0, p->shift + n0, zy, lo, hi);
        _mm_mask_storeu_epi8(p->y + (m + r) * p->ldy + n0, mask, out);
    }
}

/* A tile of up to NR (8, 4, 2 or 1) rows x 2 (TWO) or 1 column blocks: rows
 * [m, m+mr) (missing rows of a tail tile repeat row m and are not stored) x
 * column blocks nb (and nb+1). */
static inline __attribute__((always_inline)) void tile(const me_qgemm_u8s8_args *p, int64_t m, int mr, int64_t nb,
                                                       const int NR, const int TWO) {
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
    if (NR > 1) ROW(1, _mm512_set1_epi32(LOAD(a1))) \
    if (NR > 2) {                                  \
        ROW(2, _mm512_set1_epi32(LOAD(a2)))        \
        ROW(3, _mm512_set1_epi32(LOAD(a3)))        \
    }                                              \
    if (NR > 4) {                                  \
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

#define TILE_FN(nr, two) \
    static void tile##nr##x##two(const me_qgemm_u8s8_args *p, int64_t m, int mr, int64_t nb) { tile(p, m, mr, nb, nr, two == 2); }
TILE_FN(8, 2) TILE_FN(8, 1) TILE_FN(4, 2) TILE_FN(4, 1) TILE_FN(2, 2) TILE_FN(2, 1) TILE_FN(1, 2) TILE_FN(1, 1)
#undef TILE_FN

void me_qgemm_u8s8__avx512vnni(const me_qgemm_u8s8_args *p) {
    const int64_t nblk = (p->N + ME_QINT8_NB - 1) / ME_QINT8_NB;
    for (int64_t nb = 0; nb < nblk; nb += 2) {
        const int two = nb + 1 < nblk;
        for (int64_t m = 0; m < p->M;) {
            const int64_t left = p->M - m;
            const int mr = left < 8 ? (int)left : 8;
            /* the smallest tile that holds the rows left (a short tail repeats row m) */
            if (mr > 4) two ? tile8x2(p, m, mr, nb) : tile8x1(p, m, mr, nb);
            else if (mr > 2) two ? tile4x2(p, m, mr, nb) : tile4x1(p, m, mr, nb);
            else if (mr == 2) two ? tile2x2(p, m, mr, nb) : tile2x1(p, m, mr, nb);
            else two ? tile1x2(p, m, mr, nb) : tile1x1(p, m, mr, nb);
            m += mr;
        }
    }
}

/* Depthwise: 4 taps of 64 channels are interleaved byte-wise (two unpack
 * levels) so that each int32 lane holds one channel's 4 taps, in the
 * channel order the packed weights and parameters use (kernels.h); a 4x4
 * dword transpose restores the natural order of the output bytes. The row
 * is walked block of 64 channels by block (the block's requantisation
 * constants are made once), pixel by pixel; with at most 32 channels two
 * pixels share one vector (the upper 256 bits hold the second pixel and a
 * copy of the weights and constants of channels 0..31). */
enum { DW_MAX_TAPS = 64 };

/* Tap pointers of output column ow (NULL: outside the input, reads the code
 * of a real zero); toff[t] is tap t's byte offset from the column's origin
 * when its row is inside (hv[kh]). */
static inline void dw_taps(const me_qdw_u8_args *p, const int64_t *toff, const uint8_t *hv, int64_t ow,
                           const uint8_t **tp) {
    const int64_t iw0 = ow * p->stride_w - p->pad_left;
    if (iw0 >= 0 && iw0 + (p->fw - 1) * p->dil_w < p->w_in) { /* interior column: only the rows can be outside */
        const uint8_t *base = p->x + iw0 * p->c;
        for (int64_t t = 0, kh = 0; kh < p->fh; kh++)
            for (int64_t kw = 0; kw < p->fw; kw++, t++) tp[t] = hv[kh] ? base + toff[t] : NULL;
        return;
    }
    for (int64_t t = 0, kh = 0; kh < p->fh; kh++)
        for (int64_t kw = 0; kw < p->fw; kw++, t++) {
            int64_t iw = iw0 + kw * p->dil_w;
            tp[t] = hv[kh] && iw >= 0 && iw < p->w_in ? p->x + iw0 * p->c + toff[t] : NULL;
        }
}

/* 4 accumulators of one 64-channel block; xload(g, j) gives tap 4g+j's codes */
#define DW_ACCUMULATE(acc, groups, wblk, wstride, XLOAD, WLOAD)                                            \
    for (int64_t g = 0; g < (groups); g++) {                                                            \
        __m512i x0 = XLOAD(g, 0), x1 = XLOAD(g, 1), x2 = XLOAD(g, 2), x3 = XLOAD(g, 3);                 \
        __m512i p01l = _mm512_unpacklo_epi8(x0, x1), p01h = _mm512_unpackhi_epi8(x0, x1);               \
        __m512i p23l = _mm512_unpacklo_epi8(x2, x3), p23h = _mm512_unpackhi_epi8(x2, x3);               \
        const int8_t *w_ = (wblk) + g * (wstride);                                                      \
        acc[0] = _mm512_dpbusd_epi32(acc[0], _mm512_unpacklo_epi16(p01l, p23l), WLOAD(w_, 0));          \
        acc[1] = _mm512_dpbusd_epi32(acc[1], _mm512_unpackhi_epi16(p01l, p23l), WLOAD(w_, 1));          \
        acc[2] = _mm512_dpbusd_epi32(acc[2], _mm512_unpacklo_epi16(p01h, p23h), WLOAD(w_, 2));          \
        acc[3] = _mm512_dpbusd_epi32(acc[3], _mm512_unpackhi_epi16(p01h, p23h), WLOAD(w_, 3));          \
    }

/* requantised codes of 4 accumulators -> 64 bytes in natural channel order.
 * bytes: lo >= 0 and hi <= 255, so every clamped code is in [0, 255] and the
 * saturating packs keep it: per 128-bit lane, vpackssdw + vpackuswb put
 * accumulator 0..3's four channels one after the other, which is the
 * natural order (channel 16L + 4i + j sits in lane L, dword j of acc[i]). */
static inline __m512i dw_out(const __m512i *acc, const rq16 *q, int fast, int bytes, const int32_t *mul,
                             const int32_t *shift, __m512i zy, __m512i lo, __m512i hi) {
    if (bytes) {
        __m512i v[4];
        for (int i = 0; i < 4; i++)
            v[i] = fast ? rq16_apply32(acc[i], &q[i], zy, lo, hi) : requant16_32(acc[i], mul + 16 * i, shift + 16 * i, zy, lo, hi);
        return _mm512_packus_epi16(_mm512_packs_epi32(v[0], v[1]), _mm512_packs_epi32(v[2], v[3]));
    }
    __m128i r[4];
    for (int i = 0; i < 4; i++)
        r[i] = fast ? rq16_apply(acc[i], &q[i], zy, lo, hi) : requant16(acc[i], mul + 16 * i, shift + 16 * i, zy, lo, hi);
    __m128i t0 = _mm_unpacklo_epi32(r[0], r[1]), t1 = _mm_unpacklo_epi32(r[2], r[3]);
    __m128i t2 = _mm_unpackhi_epi32(r[0], r[1]), t3 = _mm_unpackhi_epi32(r[2], r[3]);
    __m512i out = _mm512_castsi128_si512(_mm_unpacklo_epi64(t0, t1));
    out = _mm512_inserti32x4(out, _mm_unpackhi_epi64(t0, t1), 1);
    out = _mm512_inserti32x4(out, _mm_unpacklo_epi64(t2, t3), 2);
    return _mm512_inserti32x4(out, _mm_unpackhi_epi64(t2, t3), 3);
}

/* lanes 0..1 (channels 0..31 of the block) copied to lanes 2..3 */
static inline __m512i dup256(__m512i v) { return _mm512_shuffle_i64x2(v, v, 0x44); }

/* Block cb (at most 32 channels: lanes 0..1 of its vectors) of a depthwise row,
 * two pixels per vector: the upper 256 bits hold the second pixel and a copy
 * of the block's weights and constants. */
static void dw_pairs(const me_qdw_u8_args *p, int64_t cb, int64_t taps, int64_t groups, const int64_t *toff,
                     const uint8_t *hv, int64_t ow_lo, int64_t ow_hi, int bytes, uint8_t *yrow) {
    const int64_t c = p->c;
    const __m512i zy = _mm512_set1_epi32(p->zy), lo = _mm512_set1_epi32(p->lo), hi = _mm512_set1_epi32(p->hi);
    const __m512i padv = _mm512_set1_epi8((char)(uint8_t)(-p->ox));
    const uint8_t *tp[DW_MAX_TAPS + 3], *tq[DW_MAX_TAPS + 3];
    for (int64_t t = taps; t < groups * 4; t++) tp[t] = tq[t] = NULL;
    const int64_t c0 = cb * 64, cnt = c - c0, nb = p->cp / 64;
    const __mmask32 m32 = cnt == 32 ? ~(__mmask32)0 : (((__mmask32)1 << cnt) - 1);
    __m512i wv[DW_MAX_TAPS]; /* groups * 4 vectors, lanes 0..1 duplicated */
    for (int64_t i = 0; i < groups * 4; i++) wv[i] = dup256(_mm512_loadu_si512(p->wt + ((i / 4) * nb + cb) * 256 + (i % 4) * 64));
    int32_t pm[64], ps[64];
    __m512i bias[4];
    rq16 q[4];
    int fast = 1;
    for (int i = 0; i < 4; i++) {
        bias[i] = dup256(_mm512_loadu_si512(p->bias + c0 + 16 * i));
        _mm512_storeu_si512(pm + 16 * i, dup256(_mm512_loadu_si512(p->mul + c0 + 16 * i)));
        _mm512_storeu_si512(ps + 16 * i, dup256(_mm512_loadu_si512(p->shift + c0 + 16 * i)));
        fast &= rq16_make(pm + 16 * i, ps + 16 * i, &q[i]);
    }
    for (int64_t ow = 0; ow < p->ow; ow += 2) {
        const int two = ow + 1 < p->ow;
        if (two && ow >= ow_lo && ow + 1 <= ow_hi) {
            const uint8_t *xa = p->x + (ow * p->stride_w - p->pad_left) * c + c0, *xb = xa + p->stride_w * c;
            __m512i acc[4] = {bias[0], bias[1], bias[2], bias[3]};
#define XIN(g, j)                                                                                              \
((g) * 4 + (j) < taps ? _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_maskz_loadu_epi8(m32, xa + toff[(g) * 4 + (j)])), \
                                           _mm256_maskz_loadu_epi8(m32, xb + toff[(g) * 4 + (j)]), 1)             \
                      : padv)
#define WPAIR(w_, i) wv[(w_ - p->wt) / 64 + (i)]
            DW_ACCUMULATE(acc, groups, p->wt, 256, XIN, WPAIR)
#undef XIN
#undef WPAIR
            __m512i out = dw_out(acc, q, fast, bytes, pm, ps, zy, lo, hi);
            if (c == 32) {
                _mm512_storeu_si512(yrow + ow * c, out);
            } else {
                _mm256_mask_storeu_epi8(yrow + ow * c + c0, m32, _mm512_castsi512_si256(out));
                _mm256_mask_storeu_epi8(yrow + ow * c + c0 + c, m32, _mm512_extracti64x4_epi64(out, 1));
            }
            continue;
        }
        dw_taps(p, toff, hv, ow, tp);
        if (two) dw_taps(p, toff, hv, ow + 1, tq);
        else memcpy(tq, tp, sizeof tp);
        __m512i acc[4] = {bias[0], bias[1], bias[2], bias[3]};
#define XPAIR(g, j)                                                                                        \
(tp[(g) * 4 + (j)] ? (tq[(g) * 4 + (j)] ? _mm512_inserti64x4(_mm512_castsi256_si512(                    \
                                              _mm256_maskz_loadu_epi8(m32, tp[(g) * 4 + (j)] + c0)),           \
                                          _mm256_maskz_loadu_epi8(m32, tq[(g) * 4 + (j)] + c0), 1)            \
                                    : _mm512_inserti64x4(_mm512_castsi256_si512(                          \
                                              _mm256_maskz_loadu_epi8(m32, tp[(g) * 4 + (j)] + c0)),           \
                                          _mm512_castsi512_si256(padv), 1))                              \
                   : (tq[(g) * 4 + (j)] ? _mm512_inserti64x4(padv, _mm256_maskz_loadu_epi8(m32, tq[(g) * 4 + (j)] + c0), 1) \
                                        : padv))
#define WPAIR(w_, i) wv[(w_ - p->wt) / 64 + (i)]
        DW_ACCUMULATE(acc, groups, p->wt, 256, XPAIR, WPAIR)
#undef XPAIR
#undef WPAIR
        __m512i out = dw_out(acc, q, fast, bytes, pm, ps, zy, lo, hi);
        uint8_t *ya = yrow + ow * c + c0;
        if (two && c == 32) {
            _mm512_storeu_si512(ya, out);
        } else {
            _mm256_mask_storeu_epi8(ya, m32, _mm512_castsi512_si256(out));
            if (two) _mm256_mask_storeu_epi8(ya + c, m32, _mm512_extracti64x4_epi64(out, 1));
        }
    }
}

void me_qdw_u8_row__avx512vnni(const me_qdw_u8_args *p, int64_t oh, uint8_t *yrow) {
    const int64_t taps = p->fh * p->fw, groups = (taps + 3) / 4, nb = p->cp / 64, c = p->c;
    if (taps > DW_MAX_TAPS || p->fh > DW_MAX_TAPS) {
        for (int64_t ow = 0; ow < p->ow; ow++) me_qint8_dw_px(p, oh, ow, 0, c, yrow + ow * c);
        return;
    }
    const __m512i zy = _mm512_set1_epi32(p->zy), lo = _mm512_set1_epi32(p->lo), hi = _mm512_set1_epi32(p->hi);
    const __m512i padv = _mm512_set1_epi8((char)(uint8_t)(-p->ox));
    const int bytes = p->lo >= 0 && p->hi <= 255;
    int64_t toff[DW_MAX_TAPS];
    uint8_t hv[DW_MAX_TAPS];
    for (int64_t kh = 0; kh < p->fh; kh++) {
        int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
        hv[kh] = ih >= 0 && ih < p->h;
        for (int64_t kw = 0; kw < p->fw; kw++) toff[kh * p->fw + kw] = (ih * p->w_in + kw * p->dil_w) * c;
    }
    /* interior pixels (every tap inside) load straight from x + column + toff[t] */
    int allrows = 1;
    for (int64_t kh = 0; kh < p->fh; kh++) allrows &= hv[kh];
    const int64_t ow_lo = (p->pad_left + p->stride_w - 1) / p->stride_w;
    const int64_t hnum = p->w_in - 1 - (p->fw - 1) * p->dil_w + p->pad_left;
    const int64_t ow_hi = !allrows || hnum < 0 ? -1 : hnum / p->stride_w; /* inclusive */
    const int64_t lcnt = c - (nb - 1) * 64; /* channels of the last block */
    if (lcnt <= 32) { /* the last (or only) block two pixels per vector */
        dw_pairs(p, nb - 1, taps, groups, toff, hv, ow_lo, ow_hi, bytes, yrow);
        if (nb == 1) return;
    }
    const int64_t nfull = lcnt <= 32 ? nb - 1 : nb;
    /* pixels in runs of DW_PX: their tap pointers once, then block by block */
    enum { DW_PX = 16 };
    const uint8_t *tpx[DW_PX * (DW_MAX_TAPS + 4)];
    const int64_t ts = groups * 4;
    for (int64_t ow0 = 0; ow0 < p->ow; ow0 += DW_PX) {
        const int64_t npx = p->ow - ow0 < DW_PX ? p->ow - ow0 : DW_PX;
        for (int64_t i = 0; i < npx; i++) {
            if (ow0 + i >= ow_lo && ow0 + i <= ow_hi) continue; /* interior: read directly */
            dw_taps(p, toff, hv, ow0 + i, tpx + i * ts);
            for (int64_t t = taps; t < ts; t++) tpx[i * ts + t] = NULL;
        }
        for (int64_t cb = 0; cb < nfull; cb++) {
            const int64_t c0 = cb * 64, cnt = c - c0 < 64 ? c - c0 : 64, pb = cb * 64;
            const __mmask64 mask = cnt == 64 ? ~(__mmask64)0 : (((__mmask64)1 << cnt) - 1);
            rq16 q[4];
            int fast = 1;
            for (int i = 0; i < 4; i++) fast &= rq16_make(p->mul + pb + 16 * i, p->shift + pb + 16 * i, &q[i]);
            const __m512i b0 = _mm512_loadu_si512(p->bias + pb), b1 = _mm512_loadu_si512(p->bias + pb + 16);
            const __m512i b2 = _mm512_loadu_si512(p->bias + pb + 32), b3 = _mm512_loadu_si512(p->bias + pb + 48);
            for (int64_t i = 0; i < npx; i++) {
                const uint8_t *const *tb = tpx + i * ts;
                __m512i acc[4] = {b0, b1, b2, b3};
                if (ow0 + i >= ow_lo && ow0 + i <= ow_hi) {
                    const uint8_t *xr = p->x + ((ow0 + i) * p->stride_w - p->pad_left) * c + c0;
#define XIN(g, j) ((g) * 4 + (j) < taps ? _mm512_maskz_loadu_epi8(mask, xr + toff[(g) * 4 + (j)]) : padv)
#define WBLK(w_, i) _mm512_loadu_si512((w_) + 64 * (i))
                    DW_ACCUMULATE(acc, groups, p->wt + cb * 256, nb * 256, XIN, WBLK)
#undef XIN
#undef WBLK
                    _mm512_mask_storeu_epi8(yrow + (ow0 + i) * c + c0, mask,
                                            dw_out(acc, q, fast, bytes, p->mul + pb, p->shift + pb, zy, lo, hi));
                    continue;
                }
#define XBLK(g, j) (tb[(g) * 4 + (j)] ? _mm512_maskz_loadu_epi8(mask, tb[(g) * 4 + (j)] + c0) : padv)
#define WBLK(w_, i) _mm512_loadu_si512((w_) + 64 * (i))
                DW_ACCUMULATE(acc, groups, p->wt + cb * 256, nb * 256, XBLK, WBLK)
#undef XBLK
#undef WBLK
                _mm512_mask_storeu_epi8(yrow + (ow0 + i) * c + c0, mask,
                                        dw_out(acc, q, fast, bytes, p->mul + pb, p->shift + pb, zy, lo, hi));
            }
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

void me_qmul_u8__avx512vnni(const me_qmul_u8_args *p, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n) {
    int32_t mv[16], sv[16];
    for (int i = 0; i < 16; i++) mv[i] = p->mul, sv[i] = p->shift;
    rq16 q;
    const int fast = rq16_make(mv, sv, &q);
    const __m512i oa = _mm512_set1_epi32(p->oa), ob = _mm512_set1_epi32(p->ob), zy = _mm512_set1_epi32(p->zy);
    const __m512i lo = _mm512_setzero_si512(), hi = _mm512_set1_epi32(255);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mask = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512i xa = _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, a + i)), oa);
        __m512i xb = _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, b + i)), ob);
        __m512i acc = _mm512_mullo_epi32(xa, xb); /* |acc| <= 510^2: exact */
        __m128i out = fast ? rq16_apply(acc, &q, zy, lo, hi) : requant16(acc, mv, sv, zy, lo, hi);
        _mm_mask_storeu_epi8(y + i, mask, out);
    }
}

/* 256-entry byte table without VBMI: 16 in-lane vpshufb lookups of 16 entries
 * each (index = low nibble), each kept where the high nibble selects it. */
void me_qlut_u8__avx512vnni(const uint8_t *table, const uint8_t *x, uint8_t *y, int64_t n) {
    __m512i t[16];
    for (int h = 0; h < 16; h++) t[h] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(table + 16 * h)));
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    for (int64_t i = 0; i < n; i += 64) {
        const __mmask64 mask = n - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (n - i)) - 1);
        const __m512i v = _mm512_maskz_loadu_epi8(mask, x + i);
        const __m512i idx = _mm512_and_si512(v, low4), hn = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
        __m512i r = _mm512_setzero_si512();
        for (int h = 0; h < 16; h++)
            r = _mm512_mask_shuffle_epi8(r, _mm512_cmpeq_epi8_mask(hn, _mm512_set1_epi8((char)h)), t[h], idx);
        _mm512_mask_storeu_epi8(y + i, mask, r);
    }
}
#endif
