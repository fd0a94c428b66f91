/* Q4_0 / Q8_0 weight rows against prepared activation rows (kernels.h) with
 * AVX-512 VNNI, two blocks per 512-bit vector. vpdpbusd multiplies unsigned by
 * signed bytes: the activations are stored as quant + 128 (unsigned), the
 * weights are signed (Q4_0: nibble - 8), and the accumulator starts at
 * -128 * (the weight block's sum) spread over the block's lanes, so the 8 lanes
 * of a block sum to its exact integer dot product. Each block's lanes are
 * converted to float and accumulated with the scale d_w*d_a (16 float lanes per
 * row); the weight pair is prepared once for up to ME_BLOCKQ_DOT_MAX_ROWS rows.
 * A single trailing block uses the 256-bit forms of the same steps. */
#pragma GCC optimize("fp-contract=off")
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "kernels.h"

#define BQ_INLINE static inline __attribute__((always_inline))

/* an fp16 value to float, exactly and without branches (the signs of the scales are
 * random; F16C is not assumed): the magnitude shifted into place is the value times
 * 2^-112, which one exact multiply undoes; Inf/NaN get an all-ones exponent. */
static inline float bq_half(const uint8_t *p) {
    const uint32_t h = (uint32_t)(p[0] | p[1] << 8), mag = h & 0x7fff, sign = (h & 0x8000) << 16;
    const uint32_t special = 0u - (uint32_t)(mag > 0x7bff);
    float f;
    uint32_t u = mag << 13;
    memcpy(&f, &u, 4);
    f *= 0x1p112f;
    memcpy(&u, &f, 4);
    u = (u & ~special) | (((mag << 13) | 0x7f800000u) & special) | sign;
    memcpy(&f, &u, 4);
    return f;
}

/* 32 Q4_0 nibbles (16 bytes) as signed bytes in element order: low nibbles, then high, minus 8 */
BQ_INLINE __m256i bq_q4_256(const uint8_t *qs) {
    const __m128i b = _mm_loadu_si128((const __m128i *)qs), m = _mm_set1_epi8(0x0F);
    const __m256i u = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
    return _mm256_sub_epi8(u, _mm256_set1_epi8(8));
}
/* two Q4_0 blocks (quants at qs and qs + wb) as 64 signed bytes */
BQ_INLINE __m512i bq_q4_pair(const uint8_t *qs, int wb) {
    const __m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)qs)),
                                              _mm_loadu_si128((const __m128i *)(qs + wb)), 1);
    __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(b), _mm256_srli_epi16(b, 4), 1); /* lo0 lo1 hi0 hi1 */
    z = _mm512_and_si512(z, _mm512_set1_epi8(0x0F));
    z = _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0)); /* lo0 hi0 lo1 hi1 */
    return _mm512_sub_epi8(z, _mm512_set1_epi8(8));
}

/* the fp16 scales (first 2 bytes) of blocks i < g (<= 16), wb bytes apart, as floats (0 past g) */
BQ_INLINE __m512 bq_scales16(const uint8_t *w, int wb, int g) {
    const __mmask16 live = (__mmask16)((1u << g) - 1u);
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(wb));
    const __m512i raw = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, idx, (const void *)w, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(raw));
}

/* -128 * the weight block sums, as lanes that add up per block */
BQ_INLINE __m512i bq_corr512(__m512i w) {
    return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), w));
}
BQ_INLINE __m256i bq_corr256(__m256i w) {
    return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)0x80), w));
}

BQ_INLINE void bq_rows(int q4, int64_t nb, const uint8_t *w, const uint8_t *act, size_t stride, int nr, float *out) {
    const int wb = q4 ? 18 : 34;
    const size_t doff = (size_t)nb * 32;
    __m512 acc[ME_BLOCKQ_DOT_MAX_ROWS];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++) acc[r] = _mm512_setzero_ps();
    int64_t k = 0;
    __m512 dw16 = _mm512_setzero_ps();
    __m512i pidx = _mm512_setzero_si512();
    const __m512i pair0 = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    for (; k + 2 <= nb; k += 2, w += 2 * wb) {
        if ((k & 15) == 0) { /* the next 16 weight scales, converted together */
            dw16 = bq_scales16(w, wb, nb - k < 16 ? (int)(nb - k) : 16);
            pidx = pair0;
        }
        const __m512i wv = q4 ? bq_q4_pair(w + 2, wb)
                              : _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(w + 2))),
                                                   _mm256_loadu_si256((const __m256i *)(w + wb + 2)), 1);
        const __m512i corr = bq_corr512(wv);
        const __m512 dw = _mm512_permutexvar_ps(pidx, dw16);
        pidx = _mm512_add_epi32(pidx, _mm512_set1_epi32(2));
        const uint8_t *a = act + (size_t)k * 32, *d = act + doff + (size_t)k * 32;
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            const __m512i av = _mm512_loadu_si512((const void *)(a + (size_t)r * stride));
            const __m512i iv = _mm512_dpbusd_epi32(corr, av, wv);
            const __m512 da = _mm512_loadu_ps((const float *)(d + (size_t)r * stride));
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iv), _mm512_mul_ps(dw, da), acc[r]);
        }
    }
    __m256 tail[ME_BLOCKQ_DOT_MAX_ROWS];
    const int has_tail = k < nb;
    if (has_tail) {
        const __m256i wv = q4 ? bq_q4_256(w + 2) : _mm256_loadu_si256((const __m256i *)(w + 2));
        const __m256i corr = bq_corr256(wv);
        const __m256 dw = _mm256_set1_ps(bq_half(w));
        const uint8_t *a = act + (size_t)k * 32, *d = act + doff + (size_t)k * 32;
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            const __m256i iv = _mm256_dpbusd_epi32(corr, _mm256_loadu_si256((const __m256i *)(a + (size_t)r * stride)), wv);
            const __m256 da = _mm256_loadu_ps((const float *)(d + (size_t)r * stride));
            tail[r] = _mm256_mul_ps(_mm256_cvtepi32_ps(iv), _mm256_mul_ps(dw, da)); /* added after the pairs */
        }
    }
    for (int r = 0; r < nr; r++) {
        __m256 s = _mm256_add_ps(_mm512_castps512_ps256(acc[r]), _mm512_extractf32x8_ps(acc[r], 1));
        if (has_tail) s = _mm256_add_ps(s, tail[r]);
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        out[r] = _mm_cvtss_f32(h);
    }
}

/* nr as a constant, so the row loop unrolls and the accumulators stay in registers */
#define BQ_ENTRY(NAME, Q4)                                                                              \
    void NAME(int64_t nb, const void *wrow, const void *act, size_t stride, int nr, float *out) {      \
        switch (nr) {                                                                                   \
        case 8: bq_rows(Q4, nb, wrow, act, stride, 8, out); break;                                      \
        case 7: bq_rows(Q4, nb, wrow, act, stride, 7, out); break;                                      \
        case 6: bq_rows(Q4, nb, wrow, act, stride, 6, out); break;                                      \
        case 5: bq_rows(Q4, nb, wrow, act, stride, 5, out); break;                                      \
        case 4: bq_rows(Q4, nb, wrow, act, stride, 4, out); break;                                      \
        case 3: bq_rows(Q4, nb, wrow, act, stride, 3, out); break;                                      \
        case 2: bq_rows(Q4, nb, wrow, act, stride, 2, out); break;                                      \
        default: bq_rows(Q4, nb, wrow, act, stride, 1, out); break;                                     \
        }                                                                                               \
    }
BQ_ENTRY(me_blockq_dot_q4_0__avx512vnni, 1)
BQ_ENTRY(me_blockq_dot_q8_0__avx512vnni, 0)
/* ---- GEMM form: 16 weight rows in the 16 lanes ----
 * The band of nw <= 16 weight rows is packed once into scratch, per block 640 bytes:
 * 8 groups of 64 bytes (group g: elements 4g..4g+3 of each row, row j in lane j, signed),
 * the 16 weight scales as floats, and -128 * each row's block sum. Each activation row's
 * 4-byte group is broadcast against a group vector, so one vpdpbusd does 4 elements of
 * 16 rows; the lanes hold whole block sums of 16 rows, scaled and accumulated per block. */
/* 16 rows' 16-byte pieces (row j at p[j]) transposed to 4 vectors: o[g] lane j = dword g of row j.
 * Rows are put 4 to a vector, each vector's dwords regrouped by g, then the 128-bit lanes
 * transposed across the 4 vectors. */
BQ_INLINE void bq_t16x4(const uint8_t *const p[16], __m512i o[4]) {
    const __m512i perm = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    __m512i t[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p[4 * q]));
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p[4 * q + 1]), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p[4 * q + 2]), 2);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p[4 * q + 3]), 3);
        t[q] = _mm512_permutexvar_epi32(perm, v); /* 128-bit lane g: rows 4q..4q+3, dword g */
    }
    const __m512i u0 = _mm512_shuffle_i32x4(t[0], t[1], 0x44), u1 = _mm512_shuffle_i32x4(t[0], t[1], 0xEE);
    const __m512i u2 = _mm512_shuffle_i32x4(t[2], t[3], 0x44), u3 = _mm512_shuffle_i32x4(t[2], t[3], 0xEE);
    o[0] = _mm512_shuffle_i32x4(u0, u2, 0x88);
    o[1] = _mm512_shuffle_i32x4(u0, u2, 0xDD);
    o[2] = _mm512_shuffle_i32x4(u1, u3, 0x88);
    o[3] = _mm512_shuffle_i32x4(u1, u3, 0xDD);
}

BQ_INLINE void bq_pack16(int q4, int64_t nb, const uint8_t *w, size_t ws, int nw, uint8_t *pk) {
    const int wb = q4 ? 18 : 34;
    static const uint8_t zero[48];
    const __mmask16 live = (__mmask16)((1u << nw) - 1u);
    const __m512i ridx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32((int)ws));
    const __m512i m4 = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(8), hb = _mm512_set1_epi8((char)0x80);
    for (int64_t k = 0; k < nb; k++, pk += 640) {
        const uint8_t *b = w + k * wb;
        const uint8_t *p[16];
        for (int j = 0; j < 16; j++) p[j] = j < nw ? b + (size_t)j * ws + 2 : zero;
        __m512i corr = _mm512_setzero_si512(), o[4];
        bq_t16x4(p, o);
        if (q4) {
#pragma GCC unroll 4
            for (int g = 0; g < 4; g++) {
                const __m512i lo = _mm512_sub_epi8(_mm512_and_si512(o[g], m4), eight);
                const __m512i hi = _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(o[g], 4), m4), eight);
                _mm512_store_si512((void *)(pk + 64 * g), lo);
                _mm512_store_si512((void *)(pk + 64 * (g + 4)), hi);
                corr = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(corr, hb, lo), hb, hi);
            }
        } else {
#pragma GCC unroll 4
            for (int g = 0; g < 4; g++) {
                _mm512_store_si512((void *)(pk + 64 * g), o[g]);
                corr = _mm512_dpbusd_epi32(corr, hb, o[g]);
            }
            for (int j = 0; j < 16; j++) p[j] += 16;
            bq_t16x4(p, o);
#pragma GCC unroll 4
            for (int g = 0; g < 4; g++) {
                _mm512_store_si512((void *)(pk + 64 * (g + 4)), o[g]);
                corr = _mm512_dpbusd_epi32(corr, hb, o[g]);
            }
        }
        const __m512i hd = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, ridx, (const void *)b, 1);
        _mm512_store_ps((void *)(pk + 512), _mm512_cvtph_ps(_mm512_cvtepi32_epi16(hd)));
        _mm512_store_si512((void *)(pk + 576), _mm512_sub_epi32(_mm512_setzero_si512(), corr));
    }
}

BQ_INLINE void bq_gemm_tile(int64_t nb, const uint8_t *pk, const uint8_t *act, size_t as, int R, __mmask16 live,
                            float *y, size_t ys) {
    __m512 facc[8];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) facc[r] = _mm512_setzero_ps();
    const uint8_t *ad = act + (size_t)nb * 32;
    for (int64_t k = 0; k < nb; k++, pk += 640) {
        const __m512i corr = _mm512_load_si512((const void *)(pk + 576));
        __m512i iacc[8];
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) iacc[r] = corr;
#pragma GCC unroll 8
        for (int g = 0; g < 8; g++) {
            const __m512i wv = _mm512_load_si512((const void *)(pk + 64 * g));
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) {
                int32_t a4;
                memcpy(&a4, act + (size_t)r * as + (size_t)k * 32 + 4 * g, 4);
                iacc[r] = _mm512_dpbusd_epi32(iacc[r], _mm512_set1_epi32(a4), wv);
            }
        }
        const __m512 dw = _mm512_load_ps((const void *)(pk + 512));
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            float da;
            memcpy(&da, ad + (size_t)r * as + (size_t)k * 32, 4);
            facc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[r]), _mm512_mul_ps(dw, _mm512_set1_ps(da)), facc[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) _mm512_mask_storeu_ps(y + (size_t)r * ys, live, facc[r]);
}

BQ_INLINE void bq_gemm(int q4, int64_t nb, const uint8_t *w, size_t ws, int nw, const uint8_t *act, size_t as,
                       int64_t nr, float *y, size_t ys, uint8_t *scratch) {
    if (nw <= 0 || nr <= 0 || nb <= 0) return;
    bq_pack16(q4, nb, w, ws, nw, scratch);
    const __mmask16 live = (__mmask16)((1u << nw) - 1u);
    int64_t r = 0;
    for (; r + 6 <= nr; r += 6) bq_gemm_tile(nb, scratch, act + (size_t)r * as, as, 6, live, y + (size_t)r * ys, ys);
    switch (nr - r) {
    case 5: bq_gemm_tile(nb, scratch, act + (size_t)r * as, as, 5, live, y + (size_t)r * ys, ys); break;
    case 4: bq_gemm_tile(nb, scratch, act + (size_t)r * as, as, 4, live, y + (size_t)r * ys, ys); break;
    case 3: bq_gemm_tile(nb, scratch, act + (size_t)r * as, as, 3, live, y + (size_t)r * ys, ys); break;
    case 2: bq_gemm_tile(nb, scratch, act + (size_t)r * as, as, 2, live, y + (size_t)r * ys, ys); break;
    case 1: bq_gemm_tile(nb, scratch, act + (size_t)r * as, as, 1, live, y + (size_t)r * ys, ys); break;
    default: break;
    }
}

void me_blockq_gemm_q4_0__avx512vnni(int64_t nb, const void *w, size_t w_stride, int nw, const void *act,
                                     size_t act_stride, int64_t nr, float *y, size_t y_stride, void *scratch) {
    bq_gemm(1, nb, w, w_stride, nw, act, act_stride, nr, y, y_stride, scratch);
}
void me_blockq_gemm_q8_0__avx512vnni(int64_t nb, const void *w, size_t w_stride, int nw, const void *act,
                                     size_t act_stride, int64_t nr, float *y, size_t y_stride, void *scratch) {
    bq_gemm(0, nb, w, w_stride, nw, act, act_stride, nr, y, y_stride, scratch);
}
/* ---- pre-packed Q4_0 (kernels.h): 16 weight rows in the 16 lanes ----
 * Per block, the group's 4 quant vectors give the low and high nibbles (elements
 * 4p..4p+3 and 16+4p..16+4p+3 of each row) with one AND and one shift + AND; each
 * activation row's matching 4 quants are broadcast into one vpdpbusd (unsigned
 * nibbles x signed quants), the lanes starting from the activation block's -8 * sum:
 * 8 vpdpbusd give the exact block sums of 16 rows. The nibbles are unpacked once per
 * block for up to 8 activation rows. */
/* Q8: the p8 form instead (kernels.h): 8 quant vectors per block, unsigned quants + 128,
 * the lanes starting from 16 * c = -128 * the activation block's sum */
BQ_INLINE void p4_tile(const int Q8, int64_t nb, const uint8_t *grp, const uint8_t *act, size_t as, int R,
                       __mmask16 live, float *y, size_t ys, size_t pf) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const size_t bb = Q8 ? 512 : 256;
    const uint8_t *sc = grp + (size_t)nb * bb;
    const size_t doff = (size_t)nb * 32, coff = (size_t)nb * 36;
    __m512 facc[8];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) facc[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < nb; k++) {
        const uint8_t *b = grp + (size_t)k * bb;
        __m512i lo[4], hi[4];
        /* the same block of the next group: the hardware prefetchers do not run far enough ahead */
        if (pf) {
#pragma GCC unroll 8
            for (int p = 0; p < 8; p++)
                if (Q8 || p < 4) _mm_prefetch((const char *)(b + pf + 64 * p), _MM_HINT_T0);
            if (!(k & 1)) _mm_prefetch((const char *)(sc + pf + (size_t)k * 32), _MM_HINT_T0);
        }
#pragma GCC unroll 4
        for (int p = 0; p < 4; p++) {
            if (Q8) { /* elements 4p..4p+3 and 16+4p..16+4p+3, as the nibbles below */
                lo[p] = _mm512_load_si512((const void *)(b + 64 * p));
                hi[p] = _mm512_load_si512((const void *)(b + 256 + 64 * p));
            } else {
                const __m512i v = _mm512_load_si512((const void *)(b + 64 * p));
                lo[p] = _mm512_and_si512(v, m4);
                hi[p] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            }
        }
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(sc + (size_t)k * 32)));
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            const uint8_t *a = act + (size_t)r * as, *qa = a + (size_t)k * 32;
            int32_t cv;
            float da;
            memcpy(&cv, a + coff + (size_t)k * 4, 4);
            memcpy(&da, a + doff + (size_t)k * 4, 4);
            __m512i i0 = _mm512_set1_epi32(Q8 ? 16 * cv : cv), i1 = _mm512_setzero_si512();
#pragma GCC unroll 4
            for (int p = 0; p < 4; p++) {
                int32_t a0, a1;
                memcpy(&a0, qa + 4 * p, 4);
                memcpy(&a1, qa + 16 + 4 * p, 4);
                i0 = _mm512_dpbusd_epi32(i0, lo[p], _mm512_set1_epi32(a0));
                i1 = _mm512_dpbusd_epi32(i1, hi[p], _mm512_set1_epi32(a1));
            }
            /* |isum| < 2^24: the conversion is exact */
            facc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1)), _mm512_mul_ps(dw, _mm512_set1_ps(da)),
                                      facc[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) _mm512_mask_storeu_ps(y + (size_t)r * ys, live, facc[r]);
}

/* p4 activation quantisation (kernels.h): the generic one's arithmetic 16 lanes at a time
 * (the same IEEE operations, so bit-identical) */
void me_blockq_p4_quant__avx512vnni(const float *x, int64_t nb, void *out) {
    uint8_t *row = out;
    const __m512i absm = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    const __m512 magic = _mm512_set1_ps(12582912.0f), lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
    for (int64_t ib = 0; ib < nb; ib++, x += 32) {
        const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        __m512i u0 = _mm512_and_si512(_mm512_castps_si512(x0), absm), u1 = _mm512_and_si512(_mm512_castps_si512(x1), absm);
        u0 = _mm512_maskz_mov_epi32(_mm512_cmple_epi32_mask(u0, inf), u0); /* NaN counts as 0 */
        u1 = _mm512_maskz_mov_epi32(_mm512_cmple_epi32_mask(u1, inf), u1);
        const int32_t bmax = _mm512_reduce_max_epi32(_mm512_max_epi32(u0, u1));
        float amax;
        memcpy(&amax, &bmax, 4);
        const float d = _mm_cvtss_f32(_mm512_castps512_ps128(
                        _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_set1_ps(amax / 127.0f), _MM_FROUND_TO_NEAREST_INT))));
        const __m512 id = _mm512_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        const __m512 v0 = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(x0, id), magic), magic);
        const __m512 v1 = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(x1, id), magic), magic);
        const __m512i q0 = _mm512_maskz_cvttps_epi32(
            _mm512_cmp_ps_mask(v0, lo, _CMP_GE_OQ) & _mm512_cmp_ps_mask(v0, hi, _CMP_LE_OQ), v0);
        const __m512i q1 = _mm512_maskz_cvttps_epi32(
            _mm512_cmp_ps_mask(v1, lo, _CMP_GE_OQ) & _mm512_cmp_ps_mask(v1, hi, _CMP_LE_OQ), v1);
        _mm_storeu_si128((__m128i *)(row + ib * 32), _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(row + ib * 32 + 16), _mm512_cvtepi32_epi8(q1));
        const int32_t c = -8 * _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
        memcpy(row + (size_t)nb * 32 + (size_t)ib * 4, &d, 4);
        memcpy(row + (size_t)nb * 36 + (size_t)ib * 4, &c, 4);
    }
}

BQ_INLINE void pq_groups(const int Q8, int64_t nb, const void *w, int64_t ng, int nw_last, const void *act, size_t as,
                         int64_t nr, float *y, size_t ys) {
    const size_t gs = ME_BLOCKQ_PQ_GROUP_BYTES(Q8, nb);
    const uint8_t *a = act;
    for (int64_t g = 0; g < ng; g++) {
        const uint8_t *grp = (const uint8_t *)w + (size_t)g * gs;
        const int nw = g == ng - 1 ? nw_last : ME_BLOCKQ_P4_ROWS;
        const __mmask16 live = (__mmask16)((1u << nw) - 1u);
        float *yg = y + (size_t)g * ME_BLOCKQ_P4_ROWS;
        int64_t r = 0;
        for (; r + 8 <= nr; r += 8) p4_tile(Q8, nb, grp, a + (size_t)r * as, as, 8, live, yg + (size_t)r * ys, ys, r ? 0 : gs);
        switch (nr - r) {
        case 7: p4_tile(Q8, nb, grp, a + (size_t)r * as, as, 7, live, yg + (size_t)r * ys, ys, r ? 0 : gs); break;
        case 6: p4_tile(Q8, nb, grp, a + (size_t)r * as, as, 6, live, yg + (size_t)r * ys, ys, r ? 0 : gs); break;
        case 5: p4_tile(Q8, nb, grp, a + (size_t)r * as, as, 5, live, yg + (size_t)r * ys, ys, r ? 0 : gs); break;
        case 4: p4_tile(Q8, nb, grp, a + (size_t)r * as, as, 4, live, yg + (size_t)r * ys, ys, r ? 0 : gs); break;
        case 3: p4_tile(Q8, nb, grp, a + (size_t)r * as, as, 3, live, yg + (size_t)r * ys, ys, r ? 0 : gs); break;
        case 2: p4_tile(Q8, nb, grp, a + (size_t)r * as, as, 2, live, yg + (size_t)r * ys, ys, r ? 0 : gs); break;
        case 1: p4_tile(Q8, nb, grp, a + (size_t)r * as, as, 1, live, yg + (size_t)r * ys, ys, r ? 0 : gs); break;
        default: break;
        }
    }
}

ME_BLOCKQ_PQ_ENTRIES(avx512vnni, pq_groups)

/* ---- K-quants against Q8_K (256-bit VNNI): per super-block exact integer sums ----
 * The weights are the unsigned operand (Q4_K nibbles 0..15; Q6_K quants + 32, 0..63),
 * the activations the signed one; each 32-element chunk's 8 lanes are multiplied by
 * the chunk's scales (Q6_K: one per 16 elements, 4 lanes each) and summed in int32.
 * Q6_K's +32 is taken back as 32 * sum of scale * bsum. */
BQ_INLINE int bq_hsum_epi32(__m256i v) {
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4E));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xB1));
    return _mm_cvtsi128_si32(x);
}

float me_blockq_kdot_q4_k__avx512vnni(int64_t nsb, const void *wrow, const void *act) {
    const uint8_t *w = wrow, *a = act;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    float sumf = 0.0f;
    for (int64_t i = 0; i < nsb; i++, w += 144, a += 292) {
        const uint8_t *s = w + 4;
        int sc[8], mn[8];
        for (int j = 0; j < 4; j++) {
            sc[j] = s[j] & 63, mn[j] = s[j + 4] & 63;
            sc[j + 4] = (s[j + 8] & 0xF) | (s[j] >> 6) << 4;
            mn[j + 4] = (s[j + 8] >> 4) | (s[j + 4] >> 6) << 4;
        }
        __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            const __m256i b = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * c));
            const __m256i lo = _mm256_and_si256(b, m4), hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), m4);
            const __m256i plo = _mm256_dpbusd_epi32(_mm256_setzero_si256(), lo,
                                                    _mm256_loadu_si256((const __m256i *)(a + 4 + 64 * c)));
            const __m256i phi = _mm256_dpbusd_epi32(_mm256_setzero_si256(), hi,
                                                    _mm256_loadu_si256((const __m256i *)(a + 4 + 64 * c + 32)));
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(plo, _mm256_set1_epi32(sc[2 * c])));
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(phi, _mm256_set1_epi32(sc[2 * c + 1])));
        }
        int16_t bs[16];
        memcpy(bs, a + 260, sizeof bs);
        int msum = 0;
        for (int j = 0; j < 8; j++) msum += mn[j] * (bs[2 * j] + bs[2 * j + 1]);
        float yd;
        memcpy(&yd, a, 4);
        sumf += (bq_half(w) * yd) * (float)bq_hsum_epi32(acc) - (bq_half(w + 2) * yd) * (float)msum;
    }
    return sumf;
}

float me_blockq_kdot_q6_k__avx512vnni(int64_t nsb, const void *wrow, const void *act) {
    const uint8_t *w = wrow, *a = act;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    float sumf = 0.0f;
    for (int64_t i = 0; i < nsb; i++, w += 210, a += 292) {
        const int8_t *sc = (const int8_t *)(w + 192);
        const __m128i sc16 = _mm_loadu_si128((const __m128i *)sc);
        __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(w + 64 * h));
            const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(w + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(w + 128 + 32 * h));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
            q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
#pragma GCC unroll 4
            for (int t = 0; t < 4; t++) {
                const int k = 4 * h + t; /* chunk of 32: scales 2k (lanes 0-3) and 2k+1 (lanes 4-7) */
                const __m128i sel = _mm_setr_epi8((char)(2 * k), (char)(2 * k), (char)(2 * k), (char)(2 * k),
                                                  (char)(2 * k + 1), (char)(2 * k + 1), (char)(2 * k + 1),
                                                  (char)(2 * k + 1), 0, 0, 0, 0, 0, 0, 0, 0);
                const __m256i scv = _mm256_cvtepi8_epi32(_mm_shuffle_epi8(sc16, sel));
                const __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q[t],
                                                      _mm256_loadu_si256((const __m256i *)(a + 4 + 32 * k)));
                acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(p, scv));
            }
        }
        int16_t bs[16];
        memcpy(bs, a + 260, sizeof bs);
        int corr = 0;
        for (int j = 0; j < 16; j++) corr += sc[j] * bs[j];
        float yd;
        memcpy(&yd, a, 4);
        sumf += (bq_half(w + 208) * yd) * (float)(bq_hsum_epi32(acc) - 32 * corr);
    }
    return sumf;
}
#endif
