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
