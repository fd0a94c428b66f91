/* qint8 (kernels.h) with AVX2. No vpmaddubsw (its 16-bit saturation would
 * break exactness): activation codes and weights are widened to 16 bits and
 * multiplied with vpmaddwd (2 products per int32 lane, at most 2*255*128).
 * A 4 x 8 register tile; requantisation in 64-bit lanes in the store. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "qint8_scalar.h"

static inline __m256i requant8(__m256i acc, const int32_t *mulp, const int32_t *shp, __m256i zy, __m256i lo,
                               __m256i hi) {
    const __m256i one = _mm256_set1_epi64x(1), cap = _mm256_set1_epi64x(ME_QINT8_CAP);
    const __m256i lo32 = _mm256_set1_epi64x(0xffffffff);
    __m256i mul = _mm256_loadu_si256((const __m256i *)mulp), sh = _mm256_loadu_si256((const __m256i *)shp);
    __m256i mag = _mm256_abs_epi32(acc);
    __m256i she = _mm256_and_si256(sh, lo32), sho = _mm256_srli_epi64(sh, 32);
    __m256i pe = _mm256_mul_epu32(mag, mul);
    __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(mag, 32), _mm256_srli_epi64(mul, 32));
    pe = _mm256_srlv_epi64(_mm256_add_epi64(pe, _mm256_sllv_epi64(one, _mm256_sub_epi64(she, one))), she);
    po = _mm256_srlv_epi64(_mm256_add_epi64(po, _mm256_sllv_epi64(one, _mm256_sub_epi64(sho, one))), sho);
    pe = _mm256_blendv_epi8(pe, cap, _mm256_cmpgt_epi64(pe, cap));
    po = _mm256_blendv_epi8(po, cap, _mm256_cmpgt_epi64(po, cap));
    __m256i r = _mm256_or_si256(pe, _mm256_slli_epi64(po, 32));
    r = _mm256_sign_epi32(r, acc);
    return _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(r, zy), lo), hi);
}

/* codes in [0, 255] (int32 lanes) -> 8 bytes, stored for the first cnt */
static inline void store8(uint8_t *y, __m256i r, int64_t cnt) {
    __m256i t = _mm256_packus_epi16(_mm256_packus_epi32(r, r), _mm256_packus_epi32(r, r));
    __m128i b = _mm_unpacklo_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    if (cnt >= 8) {
        _mm_storel_epi64((__m128i *)y, b);
    } else {
        uint8_t tmp[16];
        _mm_storeu_si128((__m128i *)tmp, b);
        memcpy(y, tmp, (size_t)cnt);
    }
}

static inline __m256i bcast4(const uint8_t *p, int64_t n) {
    int32_t v = 0;
    memcpy(&v, p, (size_t)n);
    return _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(v)));
}

/* rows [m, m+MR) x columns [n0, n0+8) (n0 a multiple of 8) */
static inline __attribute__((always_inline)) void tile(const me_qgemm_u8s8_args *p, int64_t m, const int MR,
                                                       int64_t n0) {
    const int64_t kg = (p->K + 3) / 4, kfull = p->K / 4, ktail = p->K % 4, lda = p->lda;
    __m256i acc0[4], acc1[4];
    for (int r = 0; r < MR; r++) acc0[r] = acc1[r] = _mm256_setzero_si256();
    const uint8_t *a = p->a + m * lda;
    const int8_t *w = p->w + (n0 / ME_QINT8_NB) * kg * 64 + (n0 % ME_QINT8_NB) * 4;
    for (int64_t g = 0; g < kg; g++) {
        __m256i wl = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + g * 64)));
        __m256i wh = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + g * 64 + 16)));
        int64_t nb = g < kfull ? 4 : ktail;
        for (int r = 0; r < MR; r++) {
            __m256i av = bcast4(a + r * lda + 4 * g, nb);
            acc0[r] = _mm256_add_epi32(acc0[r], _mm256_madd_epi16(av, wl));
            acc1[r] = _mm256_add_epi32(acc1[r], _mm256_madd_epi16(av, wh));
        }
    }
    const __m256i zy = _mm256_set1_epi32(p->zy), lo = _mm256_set1_epi32(p->lo), hi = _mm256_set1_epi32(p->hi);
    const __m256i bias = _mm256_loadu_si256((const __m256i *)(p->bias + n0));
    int64_t cnt = p->N - n0 < 8 ? p->N - n0 : 8;
    for (int r = 0; r < MR; r++) {
        __m256i s = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc0[r], acc1[r]), _MM_SHUFFLE(3, 1, 2, 0));
        s = _mm256_add_epi32(s, bias);
        store8(p->y + (m + r) * p->ldy + n0, requant8(s, p->mul + n0, p->shift + n0, zy, lo, hi), cnt);
    }
}

void me_qgemm_u8s8__avx2(const me_qgemm_u8s8_args *p) {
    for (int64_t n0 = 0; n0 < p->N; n0 += 8) {
        for (int64_t m = 0; m < p->M; m += 4) {
            switch (p->M - m < 4 ? p->M - m : 4) {
            case 4: tile(p, m, 4, n0); break;
            case 3: tile(p, m, 3, n0); break;
            case 2: tile(p, m, 2, n0); break;
            default: tile(p, m, 1, n0); break;
            }
        }
    }
}

/* Depthwise rows are a small share of the work: the portable loop. */
void me_qdw_u8_row__avx2(const me_qdw_u8_args *p, int64_t oh, uint8_t *yrow) {
    for (int64_t ow = 0; ow < p->ow; ow++) me_qint8_dw_px(p, oh, ow, 0, p->c, yrow + ow * p->c);
}
#endif
