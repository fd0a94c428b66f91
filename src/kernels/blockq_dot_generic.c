/* Reference blockq_dot variant: ggml's generic vec_dot order, one activation row
 * at a time, reading the prepared activation layout of kernels.h.
 * me_fc_vec_dot (src/ops/fc_blockq.c) uses it for Q4_0 / Q8_0. */
#pragma GCC optimize("fp-contract=off")
#include <math.h>
#include <string.h>

#include "kernels.h"

/* IEEE half to float, exactly */
static float half_to_float(const uint8_t *p) {
    const unsigned h = (unsigned)(p[0] | p[1] << 8), e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 1024), (int)e - 25);
    return h & 0x8000 ? -v : v;
}

static float act_scale(const uint8_t *row, int64_t nb, int64_t ib) {
    float d;
    memcpy(&d, row + (size_t)nb * 32 + (size_t)ib * 32, sizeof d);
    return d;
}

void me_blockq_dot_q4_0__generic(int64_t nb, const void *wrow, const void *act, size_t act_stride, int nr,
                                 float *out) {
    for (int r = 0; r < nr; r++) {
        const uint8_t *w = wrow, *row = (const uint8_t *)act + (size_t)r * act_stride;
        float sumf = 0.0f;
        for (int64_t ib = 0; ib < nb; ib++, w += 18) {
            const uint8_t *q8 = row + ib * 32;
            int sumi = 0;
            for (int j = 0; j < 16; j++)
                sumi += ((w[2 + j] & 0x0F) - 8) * (q8[j] - 128) + ((w[2 + j] >> 4) - 8) * (q8[j + 16] - 128);
            sumf += (float)sumi * half_to_float(w) * act_scale(row, nb, ib);
        }
        out[r] = sumf;
    }
}

void me_blockq_dot_q8_0__generic(int64_t nb, const void *wrow, const void *act, size_t act_stride, int nr,
                                 float *out) {
    for (int r = 0; r < nr; r++) {
        const uint8_t *w = wrow, *row = (const uint8_t *)act + (size_t)r * act_stride;
        float sumf = 0.0f;
        for (int64_t ib = 0; ib < nb; ib++, w += 34) {
            const int8_t *qw = (const int8_t *)(w + 2);
            const uint8_t *q8 = row + ib * 32;
            int sumi = 0;
            for (int j = 0; j < 32; j++) sumi += qw[j] * (q8[j] - 128);
            sumf += (float)sumi * (half_to_float(w) * act_scale(row, nb, ib));
        }
        out[r] = sumf;
    }
}

/* GEMM form (kernels.h): per block (float)isum * (d_w * d_a), blocks in order. */
static void gemm_ref(int q4, int64_t nb, const uint8_t *w, size_t ws, int nw, const uint8_t *act, size_t as,
                     int64_t nr, float *y, size_t ys) {
    const int wb = q4 ? 18 : 34;
    for (int64_t r = 0; r < nr; r++)
        for (int j = 0; j < nw; j++) {
            const uint8_t *row = act + (size_t)r * as, *wr = w + (size_t)j * ws;
            float sumf = 0.0f;
            for (int64_t ib = 0; ib < nb; ib++) {
                const uint8_t *blk = wr + ib * wb, *q8 = row + ib * 32;
                int sumi = 0;
                for (int e = 0; e < 32; e++) {
                    const int wq = q4 ? (e < 16 ? blk[2 + e] & 0x0F : blk[2 + e - 16] >> 4) - 8 : (int8_t)blk[2 + e];
                    sumi += wq * (q8[e] - 128);
                }
                sumf += (float)sumi * (half_to_float(blk) * act_scale(row, nb, ib));
            }
            y[(size_t)r * ys + (size_t)j] = sumf;
        }
}

void me_blockq_gemm_q4_0__generic(int64_t nb, const void *w, size_t w_stride, int nw, const void *act,
                                  size_t act_stride, int64_t nr, float *y, size_t y_stride, void *scratch) {
    (void)scratch;
    gemm_ref(1, nb, w, w_stride, nw, act, act_stride, nr, y, y_stride);
}

void me_blockq_gemm_q8_0__generic(int64_t nb, const void *w, size_t w_stride, int nw, const void *act,
                                  size_t act_stride, int64_t nr, float *y, size_t y_stride, void *scratch) {
    (void)scratch;
    gemm_ref(0, nb, w, w_stride, nw, act, act_stride, nr, y, y_stride);
}

/* ---- pre-packed Q4_0 / Q8_0 (kernels.h): the layouts and their reference kernel ---- */

/* p4 (q8 0: 16 quant bytes of nibbles per row and block) or p8 (q8 1: 32 quants + 128) */
static void pack_groups(int q8, const void *w, size_t row_bytes, int64_t m, int64_t nb, void *dst) {
    const size_t gs = ME_BLOCKQ_PQ_GROUP_BYTES(q8, nb), bb = q8 ? 512 : 256;
    const size_t wb = q8 ? 34 : 18;
    const int64_t ng = (m + ME_BLOCKQ_P4_ROWS - 1) / ME_BLOCKQ_P4_ROWS;
    for (int64_t g = 0; g < ng; g++) {
        uint8_t *grp = (uint8_t *)dst + (size_t)g * gs, *sc = grp + (size_t)nb * bb;
        const int nw = m - g * ME_BLOCKQ_P4_ROWS < ME_BLOCKQ_P4_ROWS ? (int)(m - g * ME_BLOCKQ_P4_ROWS) : ME_BLOCKQ_P4_ROWS;
        const uint8_t *rows = (const uint8_t *)w + (size_t)(g * ME_BLOCKQ_P4_ROWS) * row_bytes;
        if (nw < ME_BLOCKQ_P4_ROWS) memset(grp, 0, gs); /* rows past the matrix (scale 0) */
        memset(sc + (size_t)nb * 32, 0, gs - (size_t)nb * (bb + 32)); /* padding after the scales */
        for (int64_t k = 0; k < nb; k++) {
            uint8_t *blk = grp + k * bb;
            for (int j = 0; j < nw; j++) {
                const uint8_t *src = rows + (size_t)j * row_bytes + (size_t)k * wb;
                for (int p = 0; p < (q8 ? 8 : 4); p++)
                    for (int i = 0; i < 4; i++)
                        blk[64 * p + 4 * j + i] = (uint8_t)(q8 ? src[2 + 4 * p + i] ^ 0x80u : src[2 + 4 * p + i]);
                memcpy(sc + k * 32 + 2 * j, src, 2);
            }
        }
    }
}

void me_blockq_p4_pack(const void *w, size_t row_bytes, int64_t m, int64_t nb, void *dst) {
    pack_groups(0, w, row_bytes, m, nb, dst);
}

void me_blockq_p8_pack(const void *w, size_t row_bytes, int64_t m, int64_t nb, void *dst) {
    pack_groups(1, w, row_bytes, m, nb, dst);
}

/* p4 (q8 0) and p8 (q8 1): the exact isum of each block, then the float sum in order */
static void pq_ref(int q8, int64_t nb, const void *w, int64_t ng, int nw_last, const void *act, size_t act_stride,
                   int64_t nr, float *y, size_t y_stride) {
    const size_t gs = ME_BLOCKQ_PQ_GROUP_BYTES(q8, nb), bb = q8 ? 512 : 256;
    for (int64_t g = 0; g < ng; g++) {
        const uint8_t *grp = (const uint8_t *)w + (size_t)g * gs, *sc = grp + (size_t)nb * bb;
        const int nw = g == ng - 1 ? nw_last : ME_BLOCKQ_P4_ROWS;
        for (int64_t r = 0; r < nr; r++) {
            const uint8_t *row = (const uint8_t *)act + (size_t)r * act_stride;
            const int8_t *q = (const int8_t *)row;
            for (int j = 0; j < nw; j++) {
                float sumf = 0.0f;
                for (int64_t k = 0; k < nb; k++) {
                    float da;
                    int32_t isum;
                    memcpy(&da, row + (size_t)nb * 32 + (size_t)k * 4, 4);
                    memcpy(&isum, row + (size_t)nb * 36 + (size_t)k * 4, 4);
                    const uint8_t *blk = grp + k * bb;
                    const int8_t *qa = q + k * 32;
                    if (q8) {
                        isum *= 16;
                        for (int p = 0; p < 8; p++)
                            for (int i = 0; i < 4; i++) isum += blk[64 * p + 4 * j + i] * qa[4 * p + i];
                    } else {
                        for (int p = 0; p < 4; p++)
                            for (int i = 0; i < 4; i++) {
                                const int b = blk[64 * p + 4 * j + i];
                                isum += (b & 15) * qa[4 * p + i] + (b >> 4) * qa[16 + 4 * p + i];
                            }
                    }
                    sumf += (float)isum * (half_to_float(sc + k * 32 + 2 * j) * da);
                }
                y[(size_t)r * y_stride + (size_t)(g * ME_BLOCKQ_P4_ROWS + j)] = sumf;
            }
        }
    }
}

ME_BLOCKQ_PQ_ENTRIES(generic, pq_ref)

float me_blockq_round_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff;
    uint32_t man = x & 0x7fffff, h;
    const int e = (int)exp - 127 + 15;
    if (exp == 0xff) {
        h = sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0);
    } else if (e >= 31) {
        h = sign | 0x7c00;
    } else if (e <= 0) {
        if (e < -10) {
            h = sign;
        } else { /* a subnormal half */
            man |= 0x800000;
            const int shift = 14 - e;
            const uint32_t half = 1u << (shift - 1), rem = man & ((1u << shift) - 1);
            uint32_t r = man >> shift;
            if (rem > half || (rem == half && (r & 1))) r++;
            h = sign | r;
        }
    } else {
        uint32_t r = ((uint32_t)e << 10) | (man >> 13);
        const uint32_t rem = man & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++; /* a carry into the exponent is right */
        h = sign | r;
    }
    const uint8_t b[2] = {(uint8_t)h, (uint8_t)(h >> 8)};
    return half_to_float(b);
}

void me_blockq_p4_quant__generic(const float *x, int64_t nb, void *out) {
    uint8_t *row = out;
    for (int64_t ib = 0; ib < nb; ib++, x += 32) {
        const float amax = me_blockq_amax32(x);
        const float d = me_blockq_round_half(amax / 127.0f), id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int8_t *qs = (int8_t *)(row + ib * 32);
        int32_t sum = 0;
        for (int j = 0; j < 32; j++) {
            const float v = (x[j] * id + 12582912.0f) - 12582912.0f; /* round half to even, |v| < 2^22 */
            const int q = v >= -127.0f && v <= 127.0f ? (int)v : 0;
            qs[j] = (int8_t)q;
            sum += q;
        }
        const int32_t c = -8 * sum;
        memcpy(row + (size_t)nb * 32 + (size_t)ib * 4, &d, 4);
        memcpy(row + (size_t)nb * 36 + (size_t)ib * 4, &c, 4);
    }
}

/* ---- K-quants against Q8_K (kernels.h): exact integer sums per super-block ---- */

static void q4k_scale_min(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | (s[j - 4] >> 6) << 4;
        *m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

static int16_t bsum_at(const uint8_t *a, int i) {
    int16_t v;
    memcpy(&v, a + 260 + 2 * i, 2);
    return v;
}

float me_blockq_kdot_q4_k__generic(int64_t nsb, const void *wrow, const void *act) {
    const uint8_t *w = wrow, *a = act;
    float sumf = 0.0f;
    for (int64_t i = 0; i < nsb; i++, w += 144, a += 292) {
        float yd;
        memcpy(&yd, a, 4);
        const int8_t *q8 = (const int8_t *)(a + 4);
        int isum = 0, msum = 0;
        for (int j = 0; j < 8; j++) {
            int sc, m, s = 0;
            q4k_scale_min(w + 4, j, &sc, &m);
            const uint8_t *qs = w + 16 + 32 * (j / 2);
            for (int l = 0; l < 32; l++) s += (j & 1 ? qs[l] >> 4 : qs[l] & 0xF) * q8[32 * j + l];
            isum += sc * s;
            msum += m * (bsum_at(a, 2 * j) + bsum_at(a, 2 * j + 1));
        }
        sumf += (half_to_float(w) * yd) * (float)isum - (half_to_float(w + 2) * yd) * (float)msum;
    }
    return sumf;
}

float me_blockq_kdot_q6_k__generic(int64_t nsb, const void *wrow, const void *act) {
    const uint8_t *w = wrow, *a = act;
    float sumf = 0.0f;
    for (int64_t i = 0; i < nsb; i++, w += 210, a += 292) {
        float yd;
        memcpy(&yd, a, 4);
        const int8_t *q8 = (const int8_t *)(a + 4), *sc = (const int8_t *)(w + 192);
        int isum = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
            for (int l = 0; l < 32; l++) {
                const int e = 128 * h + l;
                const int q0 = ((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32;
                const int q1 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
                const int q2 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                const int q3 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                isum += sc[e / 16] * q0 * q8[e] + sc[(e + 32) / 16] * q1 * q8[e + 32] +
                        sc[(e + 64) / 16] * q2 * q8[e + 64] + sc[(e + 96) / 16] * q3 * q8[e + 96];
            }
        }
        sumf += (half_to_float(w + 208) * yd) * (float)isum;
    }
    return sumf;
}
