/* Body of the AVX2 blockq_dot variant (see kernels.h): the including file
 * defines BQ_NAME_Q4_0 / BQ_NAME_Q8_0 and the two integer block products
 *     __m256i BQ_DOT_Q4(__m256i q, __m256i a)  q: 32 nibbles 0..15 (element order), a: int8
 *     __m256i BQ_DOT_Q8(__m256i w, __m256i a)  w, a: int8
 * each giving eight int32 lanes whose sum is the block's exact integer dot product
 * (Q4_0's -8 offset included). Blocks go in groups of 8: the 8 lane vectors are
 * reduced to the 8 exact block sums, scaled by d_w*d_a and accumulated in 8 float
 * lanes. A weight group is unpacked once and used for every activation row. */
#ifndef ME_BLOCKQ_DOT_X86_H
#define ME_BLOCKQ_DOT_X86_H

#include <immintrin.h>

#include "kernels.h"

/* Halves in the low 16 bits of 8 int32 lanes to floats, exactly (AVX2 integer
 * ops, no F16C needed): the exponent/mantissa shifted into place is the value
 * times 2^-112, which one exact multiply undoes (subnormal halves included);
 * Inf/NaN get an all-ones exponent. */
static inline __m256 bq_halves_to_ps(__m256i v) {
    const __m256i mag = _mm256_and_si256(v, _mm256_set1_epi32(0x7fff));
    __m256 f = _mm256_mul_ps(_mm256_castsi256_ps(_mm256_slli_epi32(mag, 13)), _mm256_set1_ps(0x1p112f));
    const __m256i special = _mm256_cmpgt_epi32(mag, _mm256_set1_epi32(0x7bff));
    f = _mm256_or_ps(f, _mm256_castsi256_ps(_mm256_and_si256(special, _mm256_set1_epi32(0x7f800000))));
    const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0x8000)), 16);
    return _mm256_or_ps(f, _mm256_castsi256_ps(sign));
}

/* the fp16 scales (first 2 bytes) of blocks k < g, `stride` bytes apart, as floats (0 past g) */
static inline __m256 bq_scales(const uint8_t *p, int stride, int g) {
    const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
    const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(g), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i raw = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), (const int *)p, idx, live, 1);
    return bq_halves_to_ps(_mm256_and_si256(raw, _mm256_set1_epi32(0xffff)));
}

/* lane k of the result = sum of the 8 lanes of v[k] (exact integer adds) */
static inline __m256i bq_hsum8(const __m256i v[8]) {
    __m256i a0 = _mm256_hadd_epi32(v[0], v[1]), a1 = _mm256_hadd_epi32(v[2], v[3]);
    __m256i a2 = _mm256_hadd_epi32(v[4], v[5]), a3 = _mm256_hadd_epi32(v[6], v[7]);
    __m256i b0 = _mm256_hadd_epi32(a0, a1), b1 = _mm256_hadd_epi32(a2, a3);
    return _mm256_add_epi32(_mm256_permute2x128_si256(b0, b1, 0x20), _mm256_permute2x128_si256(b0, b1, 0x31));
}

static inline float bq_hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256i bq_unpack_q4(const uint8_t *qs) {
    const __m128i b = _mm_loadu_si128((const __m128i *)qs), lo4 = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(b, lo4), hi = _mm_and_si128(_mm_srli_epi16(b, 4), lo4);
    return _mm256_set_m128i(hi, lo);
}

#define BQ_INLINE static inline __attribute__((always_inline))

/* g (1..8) blocks of the weight row against nr prepared activation rows (kernels.h
 * layout); q4: nibble weights. act points at block b0's quants of row 0, ad at
 * block b0's expanded scales of row 0 (both advance by act_stride per row). */
BQ_INLINE void bq_group(int q4, int g, const uint8_t *w, const uint8_t *act, const uint8_t *ad, size_t act_stride,
                        int nr, __m256 *acc) {
    const int wbytes = q4 ? 18 : 34;
    __m256i wv[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++)
        wv[k] = k >= g ? _mm256_setzero_si256()
                : q4   ? bq_unpack_q4(w + k * wbytes + 2)
                       : _mm256_loadu_si256((const __m256i *)(w + k * wbytes + 2));
    const __m256 dw = bq_scales(w, wbytes, g); /* 0 past the last block */
    const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(g), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i didx = _mm256_setr_epi32(0, 8, 16, 24, 32, 40, 48, 56);
    const __m256i flip = _mm256_set1_epi8((char)0x80);
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++) {
        const uint8_t *a = act + (size_t)r * act_stride;
        __m256i iv[8];
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            if (k < g) {
                const __m256i av = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(a + 32 * k)), flip);
                iv[k] = q4 ? BQ_DOT_Q4(wv[k], av) : BQ_DOT_Q8(wv[k], av);
            } else {
                iv[k] = _mm256_setzero_si256();
            }
        }
        const __m256 da = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), (const float *)(ad + (size_t)r * act_stride),
                                                   didx, _mm256_castsi256_ps(live), 4);
        const __m256 s = _mm256_cvtepi32_ps(bq_hsum8(iv)); /* |block sum| < 2^24: exact */
        acc[r] = _mm256_fmadd_ps(s, _mm256_mul_ps(dw, da), acc[r]);
    }
}

BQ_INLINE void bq_dot_rows(int q4, int64_t nb, const uint8_t *w, const uint8_t *act, size_t act_stride, int nr,
                           float *out) {
    const int wbytes = q4 ? 18 : 34;
    const uint8_t *ad = act + (size_t)nb * 32;
    __m256 acc[ME_BLOCKQ_DOT_MAX_ROWS];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++) acc[r] = _mm256_setzero_ps();
    int64_t b0 = 0;
    for (; b0 + 8 <= nb; b0 += 8)
        bq_group(q4, 8, w + (size_t)b0 * wbytes, act + (size_t)b0 * 32, ad + (size_t)b0 * 32, act_stride, nr, acc);
    if (b0 < nb)
        bq_group(q4, (int)(nb - b0), w + (size_t)b0 * wbytes, act + (size_t)b0 * 32, ad + (size_t)b0 * 32, act_stride,
                 nr, acc);
    for (int r = 0; r < nr; r++) out[r] = bq_hsum_ps(acc[r]);
}

/* nr as a constant, so the row loop unrolls and the accumulators stay in registers */
#define BQ_ENTRY(NAME, Q4)                                                                                      \
    void NAME(int64_t nb, const void *wrow, const void *act, size_t act_stride, int nr, float *out) {           \
        switch (nr) {                                                                                           \
        case 8: bq_dot_rows(Q4, nb, wrow, act, act_stride, 8, out); break;                                      \
        case 7: bq_dot_rows(Q4, nb, wrow, act, act_stride, 7, out); break;                                      \
        case 6: bq_dot_rows(Q4, nb, wrow, act, act_stride, 6, out); break;                                      \
        case 5: bq_dot_rows(Q4, nb, wrow, act, act_stride, 5, out); break;                                      \
        case 4: bq_dot_rows(Q4, nb, wrow, act, act_stride, 4, out); break;                                      \
        case 3: bq_dot_rows(Q4, nb, wrow, act, act_stride, 3, out); break;                                      \
        case 2: bq_dot_rows(Q4, nb, wrow, act, act_stride, 2, out); break;                                      \
        default: bq_dot_rows(Q4, nb, wrow, act, act_stride, 1, out); break;                                     \
        }                                                                                                       \
    }
BQ_ENTRY(BQ_NAME_Q4_0, 1)
BQ_ENTRY(BQ_NAME_Q8_0, 0)

#endif
