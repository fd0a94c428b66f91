/* Q4_0 / Q8_0 rows against Q8_0 activations for AVX2 (see blockq_dot_x86.h). */
#pragma GCC optimize("fp-contract=off")
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

/* Q4_0: unsigned nibbles times int8 (maddubs), minus 8 * the activations' pair sums */
static inline __m256i bq_dot_q4_avx2(__m256i q, __m256i a) {
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, a), _mm256_maddubs_epi16(_mm256_set1_epi8(8), a));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}
/* Q8_0: maddubs needs unsigned x signed: |w| times a with w's sign moved onto a */
static inline __m256i bq_dot_q8_avx2(__m256i w, __m256i a) {
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}
#define BQ_DOT_Q4 bq_dot_q4_avx2
#define BQ_DOT_Q8 bq_dot_q8_avx2
#define BQ_NAME_Q4_0 me_blockq_dot_q4_0__avx2
#define BQ_NAME_Q8_0 me_blockq_dot_q8_0__avx2
#include "blockq_dot_x86.h"

/* ---- pre-packed Q4_0 (kernels.h): a 16-row group as two halves of 8 rows (one row per
 * 32-bit lane). Per block the 8 vpmaddubsw of nibbles (0..15) x quants (|q| <= 128) sum
 * in 16 bits without overflow (8 * 2 * 15 * 128 < 2^15), vpmaddwd makes the row sums,
 * and the activation block's -8 * sum is added. Up to 4 activation rows share an unpack. */
/* Q8: the p8 form (kernels.h). Its unsigned quants + 128 would overflow vpmaddubsw's
 * 16-bit pair sums, so they go back to signed (xor 0x80) and the signs move onto the
 * activations as in the Q8_0 row kernel (|w| <= 128, |q| <= 127: a pair sum fits), each
 * vector's pairs widened by vpmaddwd; no -128 * sum correction is needed then. */
BQ_INLINE void p4_tile_avx2(const int Q8, int64_t nb, const uint8_t *grp, int h, const uint8_t *act, size_t as, int R,
                            __m256i live, float *y, size_t ys, size_t pf) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8((char)0x80);
    const size_t bb = Q8 ? 512 : 256;
    const uint8_t *sc = grp + (size_t)nb * bb + 16 * h;
    const size_t doff = (size_t)nb * 32, coff = (size_t)nb * 36;
    __m256 facc[4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) facc[r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < nb; k++) {
        const uint8_t *b = grp + (size_t)k * bb + 32 * h;
        __m256i lo[8], hi[4];
        if (pf) { /* the same block of the next group (see the AVX-512 variant) */
#pragma GCC unroll 8
            for (int p = 0; p < 8; p++)
                if (Q8 || p < 4) _mm_prefetch((const char *)(b + pf + 64 * p), _MM_HINT_T0);
            if (!(k & 1)) _mm_prefetch((const char *)(sc + pf + (size_t)k * 32), _MM_HINT_T0);
        }
        if (Q8) { /* lo: the signed quants of vector p (elements 4p..4p+3); hi unused */
#pragma GCC unroll 8
            for (int p = 0; p < 8; p++) lo[p] = _mm256_xor_si256(_mm256_load_si256((const __m256i *)(b + 64 * p)), flip);
        } else {
#pragma GCC unroll 4
            for (int p = 0; p < 4; p++) {
                const __m256i v = _mm256_load_si256((const __m256i *)(b + 64 * p));
                lo[p] = _mm256_and_si256(v, m4);
                hi[p] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            }
        }
        const __m256 dw = bq_halves_to_ps(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(sc + (size_t)k * 32))));
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const uint8_t *a = act + (size_t)r * as, *qa = a + (size_t)k * 32;
            int32_t cv;
            float da;
            memcpy(&cv, a + coff + (size_t)k * 4, 4);
            memcpy(&da, a + doff + (size_t)k * 4, 4);
            __m256i isum;
            if (Q8) {
                isum = _mm256_setzero_si256();
#pragma GCC unroll 8
                for (int p = 0; p < 8; p++) {
                    int32_t a0;
                    memcpy(&a0, qa + 4 * p, 4);
                    const __m256i pr = _mm256_maddubs_epi16(_mm256_sign_epi8(lo[p], lo[p]),
                                                            _mm256_sign_epi8(_mm256_set1_epi32(a0), lo[p]));
                    isum = _mm256_add_epi32(isum, _mm256_madd_epi16(pr, ones));
                }
            } else {
                __m256i s16 = _mm256_setzero_si256();
#pragma GCC unroll 4
                for (int p = 0; p < 4; p++) {
                    int32_t a0, a1;
                    memcpy(&a0, qa + 4 * p, 4);
                    memcpy(&a1, qa + 16 + 4 * p, 4);
                    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(lo[p], _mm256_set1_epi32(a0)));
                    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(hi[p], _mm256_set1_epi32(a1)));
                }
                isum = _mm256_add_epi32(_mm256_madd_epi16(s16, ones), _mm256_set1_epi32(cv));
            }
            facc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, _mm256_set1_ps(da)), facc[r]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) _mm256_maskstore_ps(y + (size_t)r * ys, live, facc[r]);
}

/* p4 activation quantisation (kernels.h): the generic one's arithmetic 8 lanes at a time
 * (bit-identical; the fp16 rounding of the scale is the generic scalar one: no F16C assumed) */
static inline int32_t p4_hmax_epi32(__m256i v) {
    __m128i x = _mm_max_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_max_epi32(x, _mm_shuffle_epi32(x, 0x4E));
    x = _mm_max_epi32(x, _mm_shuffle_epi32(x, 0xB1));
    return _mm_cvtsi128_si32(x);
}
static inline int32_t p4_hsum_epi32(__m256i v) {
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4E));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xB1));
    return _mm_cvtsi128_si32(x);
}
void me_blockq_p4_quant__avx2(const float *x, int64_t nb, void *out) {
    uint8_t *row = out;
    const __m256i absm = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256 magic = _mm256_set1_ps(12582912.0f), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    for (int64_t ib = 0; ib < nb; ib++, x += 32) {
        __m256 xv[4];
        __m256i m = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            xv[i] = _mm256_loadu_ps(x + 8 * i);
            const __m256i u = _mm256_and_si256(_mm256_castps_si256(xv[i]), absm);
            m = _mm256_max_epi32(m, _mm256_andnot_si256(_mm256_cmpgt_epi32(u, inf), u)); /* NaN counts as 0 */
        }
        const int32_t bmax = p4_hmax_epi32(m);
        float amax;
        memcpy(&amax, &bmax, 4);
        const float d = me_blockq_round_half(amax / 127.0f);
        const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        __m256i q[4], sum = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            const __m256 v = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(xv[i], id), magic), magic);
            const __m256 ok = _mm256_and_ps(_mm256_cmp_ps(v, lo, _CMP_GE_OQ), _mm256_cmp_ps(v, hi, _CMP_LE_OQ));
            q[i] = _mm256_and_si256(_mm256_cvttps_epi32(v), _mm256_castps_si256(ok));
            sum = _mm256_add_epi32(sum, q[i]);
        }
        /* int32 -> int8 (values in -127..127, so the saturating packs are exact), in order */
        const __m256i w01 = _mm256_packs_epi32(q[0], q[1]), w23 = _mm256_packs_epi32(q[2], q[3]);
        const __m256i b = _mm256_packs_epi16(w01, w23);
        const __m256i ord = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(row + ib * 32), ord);
        const int32_t c = -8 * p4_hsum_epi32(sum);
        memcpy(row + (size_t)nb * 32 + (size_t)ib * 4, &d, 4);
        memcpy(row + (size_t)nb * 36 + (size_t)ib * 4, &c, 4);
    }
}

BQ_INLINE void pq_groups_avx2(const int Q8, int64_t nb, const void *w, int64_t ng, int nw_last, const void *act, size_t as,
                              int64_t nr, float *y, size_t ys) {
    const size_t gs = ME_BLOCKQ_PQ_GROUP_BYTES(Q8, nb);
    const uint8_t *a = act;
    for (int64_t g = 0; g < ng; g++) {
        const uint8_t *grp = (const uint8_t *)w + (size_t)g * gs;
        const int nw = g == ng - 1 ? nw_last : ME_BLOCKQ_P4_ROWS;
        for (int h = 0; h < 2 && 8 * h < nw; h++) {
            const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(nw - 8 * h), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            float *yg = y + (size_t)g * ME_BLOCKQ_P4_ROWS + 8 * h;
            int64_t r = 0;
            for (; r + 4 <= nr; r += 4) p4_tile_avx2(Q8, nb, grp, h, a + (size_t)r * as, as, 4, live, yg + (size_t)r * ys, ys, r || h ? 0 : gs);
            switch (nr - r) {
            case 3: p4_tile_avx2(Q8, nb, grp, h, a + (size_t)r * as, as, 3, live, yg + (size_t)r * ys, ys, r || h ? 0 : gs); break;
            case 2: p4_tile_avx2(Q8, nb, grp, h, a + (size_t)r * as, as, 2, live, yg + (size_t)r * ys, ys, r || h ? 0 : gs); break;
            case 1: p4_tile_avx2(Q8, nb, grp, h, a + (size_t)r * as, as, 1, live, yg + (size_t)r * ys, ys, r || h ? 0 : gs); break;
            default: break;
            }
        }
    }
}

ME_BLOCKQ_PQ_ENTRIES(avx2, pq_groups_avx2)
#endif
