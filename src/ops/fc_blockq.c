/* FullyConnected with GGML block-quantised / half weights (see fc_blockq.h).
 * Activation quantisation follows what the x86 build of ggml-cpu does (Q8_0 and
 * Q8_1: scale amax/127, inverse 127/amax, round half to even; Q8_K: ggml's
 * reference quantiser); the dot products follow ggml's generic vec_dot. */
#pragma GCC optimize("fp-contract=off")
#include "fc_blockq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/blockq.h"
#include "../core/util.h"
#include "../kernels/kernels.h"
#include "../runtime/threadpool.h"

int me_lowp_ggml_type(const me_tensor *w) {
    if (!w || w->rank < 1) return -1;
    if (w->dtype == ME_DT_F16) return ME_GGML_F16;
    if (w->dtype == ME_DT_BF16) return ME_GGML_BF16;
    if (w->dtype != ME_DT_BLOCKQ || !w->qenc || w->qenc->kind != ME_QENC_BLOCK) return -1;
    const me_blockq_traits *t = me_blockq_get(w->qenc->block_type);
    if (!t || w->qenc->block_size != t->block_size || w->dims[w->rank - 1] % t->block_size) return -1;
    return w->qenc->block_type;
}

static float h2f(const uint8_t *p) { return me_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }
static void f2h(uint8_t *p, float f) {
    uint16_t h = me_f32_to_f16(f);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* vec_dot companion type of each weight type */
static int act_type(int wtype) {
    switch (wtype) {
    case ME_GGML_Q4_1: case ME_GGML_Q5_1: return ME_GGML_Q8_1;
    case ME_GGML_Q2_K: case ME_GGML_Q3_K: case ME_GGML_Q4_K: case ME_GGML_Q5_K: case ME_GGML_Q6_K:
        return ME_GGML_Q8_K;
    case ME_GGML_F16: return ME_GGML_F16;
    case ME_GGML_BF16: return ME_GGML_BF16;
    default: return ME_GGML_Q8_0;
    }
}

size_t me_fc_act_bytes(int wtype, int64_t n) {
    switch (act_type(wtype)) {
    case ME_GGML_Q8_1: return (size_t)(n / 32) * 36;
    case ME_GGML_Q8_K: return (size_t)(n / 256) * 292;
    case ME_GGML_F16: case ME_GGML_BF16: return (size_t)n * 2;
    default: return (size_t)(n / 32) * 34;
    }
}

/* Q8_0 (34 bytes: fp16 d, int8[32]) or Q8_1 (36 bytes: fp16 d, fp16 d*sum, int8[32]). */
static void quantize_q8_01(const float *x, int64_t n, uint8_t *out, bool with_sum) {
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int8_t *qs = (int8_t *)(out + (with_sum ? 4 : 2));
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            const float v = nearbyintf(x[j] * id);
            qs[j] = (int8_t)(v >= -127.0f && v <= 127.0f ? v : 0.0f); /* NaN/Inf inputs: no UB cast */
            sum += qs[j];
        }
        f2h(out, d);
        if (with_sum) f2h(out + 2, d * (float)sum);
        out += with_sum ? 36 : 34;
    }
}

/* ggml's nearest_int: round half to even through the float mantissa (|v| < 2^22). */
static int nearest_int(float v) {
    float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}

/* Q8_K (292 bytes: f32 d, int8[256], int16 bsums[16]). */
static void quantize_q8_k(const float *x, int64_t n, uint8_t *out) {
    for (int64_t i = 0; i < n / 256; i++, x += 256, out += 292) {
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < 256; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        int8_t *qs = (int8_t *)(out + 4);
        memset(out, 0, 292);
        if (amax == 0.0f) continue;
        const float iscale = -127.0f / max;
        for (int j = 0; j < 256; j++) {
            int v = nearest_int(iscale * x[j]);
            qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < 16; j++) {
            int16_t s = 0;
            for (int l = 0; l < 16; l++) s = (int16_t)(s + qs[16 * j + l]);
            memcpy(out + 260 + 2 * j, &s, 2);
        }
        const float d = 1.0f / iscale;
        memcpy(out, &d, 4);
    }
}

void me_fc_quantize_act(int wtype, const float *x, int64_t n, void *out) {
    uint8_t *o = out;
    switch (act_type(wtype)) {
    case ME_GGML_Q8_1: quantize_q8_01(x, n, o, true); break;
    case ME_GGML_Q8_K: quantize_q8_k(x, n, o); break;
    case ME_GGML_F16:
        for (int64_t i = 0; i < n; i++) f2h(o + 2 * i, x[i]);
        break;
    case ME_GGML_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = me_f32_to_bf16(x[i]);
            o[2 * i] = (uint8_t)h;
            o[2 * i + 1] = (uint8_t)(h >> 8);
        }
        break;
    default: quantize_q8_01(x, n, o, false); break;
    }
}

/* ---- Q4_1 / Q5_0 / Q5_1 against Q8_0 / Q8_1 (Q4_0 and Q8_0: src/kernels/blockq_dot*) ---- */

static float dot_q32(int wtype, const uint8_t *w, const uint8_t *a, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < nb; ib++) {
        int sumi = 0;
        switch (wtype) {
        case ME_GGML_Q4_1: {
            const int8_t *q8 = (const int8_t *)(a + 4);
            const uint8_t *qs = w + 4;
            for (int j = 0; j < 16; j++) sumi += (qs[j] & 0x0F) * q8[j] + (qs[j] >> 4) * q8[j + 16];
            sumf += (h2f(w) * h2f(a)) * (float)sumi + h2f(w + 2) * h2f(a + 2);
            w += 20, a += 36;
            break;
        }
        case ME_GGML_Q5_0: {
            const int8_t *q8 = (const int8_t *)(a + 2);
            const uint8_t *qs = w + 6;
            const uint32_t qh = le32(w + 2);
            for (int j = 0; j < 16; j++)
                sumi += (((qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4) - 16) * q8[j] +
                        (((qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - 16) * q8[j + 16];
            sumf += (h2f(w) * h2f(a)) * (float)sumi;
            w += 22, a += 34;
            break;
        }
        case ME_GGML_Q5_1: {
            const int8_t *q8 = (const int8_t *)(a + 4);
            const uint8_t *qs = w + 8;
            const uint32_t qh = le32(w + 4);
            for (int j = 0; j < 16; j++)
                sumi += ((qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4) * q8[j] +
                        ((qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) * q8[j + 16];
            sumf += (h2f(w) * h2f(a)) * (float)sumi + h2f(w + 2) * h2f(a + 2);
            w += 24, a += 36;
            break;
        }
        default: /* Q4_0 and Q8_0 go through the kernel registry (src/kernels/blockq_dot*) */
            return 0.0f;
        }
    }
    return sumf;
}

/* ---- K-quants against Q8_K ---- */

/* One super-block unpacked: integer weights in element order, a scale and a min
 * per 16 weights, and the float super-scales. */
typedef struct kblock {
    int8_t q[256];
    int sc[16], mn[16];
    float d, dmin;
} kblock;

static void k4_scale_min(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | (s[j - 4] >> 6) << 4;
        *m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

static void unpack_k(int wtype, const uint8_t *b, kblock *k) {
    int e = 0;
    switch (wtype) {
    case ME_GGML_Q2_K:
        for (int h = 0; h < 2; h++)
            for (int shift = 0; shift < 8; shift += 2)
                for (int l = 0; l < 32; l++) k->q[e++] = (int8_t)((b[16 + 32 * h + l] >> shift) & 3);
        for (int s = 0; s < 16; s++) k->sc[s] = b[s] & 0xF, k->mn[s] = b[s] >> 4;
        k->d = h2f(b + 80), k->dmin = h2f(b + 82);
        break;
    case ME_GGML_Q3_K: {
        uint8_t m = 1;
        for (int h = 0; h < 2; h++)
            for (int shift = 0; shift < 8; shift += 2, m <<= 1)
                for (int l = 0; l < 32; l++)
                    k->q[e++] = (int8_t)(((b[32 + 32 * h + l] >> shift) & 3) - ((b[l] & m) ? 0 : 4));
        const uint8_t *s = b + 96;
        for (int i = 0; i < 16; i++) {
            int low4 = i < 8 ? s[i] & 0xF : s[i - 8] >> 4;
            int high2 = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
            k->sc[i] = (low4 | high2 << 4) - 32, k->mn[i] = 0;
        }
        k->d = h2f(b + 108), k->dmin = 0.0f;
        break;
    }
    case ME_GGML_Q4_K:
    case ME_GGML_Q5_K: {
        const bool five = wtype == ME_GGML_Q5_K;
        const uint8_t *qs = b + (five ? 48 : 16), *qh = b + 16;
        for (int c = 0; c < 4; c++)
            for (int half = 0; half < 2; half++)
                for (int l = 0; l < 32; l++) {
                    int v = half ? qs[32 * c + l] >> 4 : qs[32 * c + l] & 0xF;
                    if (five) v += 16 * ((qh[l] >> (2 * c + half)) & 1);
                    k->q[e++] = (int8_t)v;
                }
        for (int j = 0; j < 8; j++) {
            int sc, m;
            k4_scale_min(b + 4, j, &sc, &m);
            k->sc[2 * j] = k->sc[2 * j + 1] = sc;
            k->mn[2 * j] = k->mn[2 * j + 1] = m;
        }
        k->d = h2f(b), k->dmin = h2f(b + 2);
        break;
    }
    default: { /* Q6_K */
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = b + 64 * h, *qh = b + 128 + 32 * h;
            for (int l = 0; l < 32; l++) {
                k->q[128 * h + l] = (int8_t)(((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32);
                k->q[128 * h + l + 32] = (int8_t)(((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32);
                k->q[128 * h + l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
                k->q[128 * h + l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
            }
        }
        for (int s = 0; s < 16; s++) k->sc[s] = (int8_t)b[192 + s], k->mn[s] = 0;
        k->d = h2f(b + 208), k->dmin = 0.0f;
        break;
    }
    }
}

static void unpack_k_row(int wtype, const void *wrow, int64_t nb, kblock *kb) {
    const int bytes = me_blockq_get(wtype)->block_bytes;
    for (int64_t i = 0; i < nb; i++) unpack_k(wtype, (const uint8_t *)wrow + i * bytes, &kb[i]);
}

/* kb: the row unpacked, or NULL to unpack block by block from wraw (no allocation). */
static float dot_k(int wtype, const kblock *kb, const uint8_t *wraw, const uint8_t *a, int64_t nb) {
    float sumf = 0.0f, sums[8] = {0};
    kblock one;
    const int bytes = me_blockq_get(wtype)->block_bytes;
    for (int64_t i = 0; i < nb; i++, a += 292) {
        const kblock *k = kb ? &kb[i] : &one;
        if (!kb) unpack_k(wtype, wraw + i * bytes, &one);
        float yd;
        memcpy(&yd, a, 4);
        const int8_t *q8 = (const int8_t *)(a + 4);
        int16_t bsums[16];
        memcpy(bsums, a + 260, sizeof bsums);
        if (wtype == ME_GGML_Q2_K) { /* ggml's Q2_K dot sums whole 16-blocks, no lanes */
            int summs = 0, isum = 0;
            for (int s = 0; s < 16; s++) {
                summs += bsums[s] * k->mn[s];
                int isuml = 0;
                for (int l = 0; l < 16; l++) isuml += q8[16 * s + l] * k->q[16 * s + l];
                isum += k->sc[s] * isuml;
            }
            const float dall = yd * k->d, dmin = yd * k->dmin;
            sumf += dall * (float)isum - dmin * (float)summs;
            continue;
        }
        /* 8 lanes, as ggml's generic Q3_K..Q6_K dots accumulate */
        int32_t aux32[8] = {0};
        for (int e = 0; e < 256; e += 8)
            for (int l = 0; l < 8; l++) aux32[l] += k->sc[e / 16] * (int16_t)(q8[e + l] * k->q[e + l]);
        const float dd = k->d * yd;
        for (int l = 0; l < 8; l++) sums[l] += dd * (float)aux32[l];
        if (wtype == ME_GGML_Q4_K || wtype == ME_GGML_Q5_K) {
            int sumi = 0;
            for (int j = 0; j < 16; j++) sumi += bsums[j] * k->mn[j];
            const float dmin = k->dmin * yd;
            sumf -= dmin * (float)sumi;
        }
    }
    for (int l = 0; l < 8; l++) sumf += sums[l];
    return sumf;
}

/* ---- half weights: products exact in float, summed in double ---- */
static float dot_half(int wtype, const uint8_t *w, const uint8_t *a, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        uint16_t hw = (uint16_t)(w[2 * i] | w[2 * i + 1] << 8), ha = (uint16_t)(a[2 * i] | a[2 * i + 1] << 8);
        float p = wtype == ME_GGML_F16 ? me_f16_to_f32(hw) * me_f16_to_f32(ha)
                                       : me_bf16_to_f32(hw) * me_bf16_to_f32(ha);
        sum += (double)p;
    }
    return (float)sum;
}

/* One activation row of nb blocks straight into the blockq_dot layout: the same
 * Q8_0 quantisation as quantize_q8_01 (scale amax/127, round half to even), written
 * so the compiler vectorises it: ggml's MAX for amax (NaN never wins), and rounding by
 * adding and subtracting 1.5*2^23 (exact half-to-even for |v| < 2^22, NaN stays NaN). */
static void quantize_pack_row(const float *x, int64_t nb, uint8_t *row) {
    for (int64_t ib = 0; ib < nb; ib++, x += 32) {
        const float amax = me_blockq_amax32(x);
        const float d = me_f16_to_f32(me_f32_to_f16(amax / 127.0f)), id = amax != 0.0f ? 127.0f / amax : 0.0f;
        uint8_t *qs = row + ib * 32;
        for (int j = 0; j < 32; j++) {
            const float v = (x[j] * id + 12582912.0f) - 12582912.0f;
            qs[j] = (uint8_t)(v >= -127.0f && v <= 127.0f ? (int)v + 128 : 128);
        }
        uint8_t *ds = row + (size_t)nb * 32 + (size_t)ib * 32;
        for (int j = 0; j < 8; j++) memcpy(ds + 4 * j, &d, sizeof d);
    }
}

/* Q8_0 block ib of an activation row (34 bytes at q) into the blockq_dot layout of
 * a row of nb blocks (kernels.h): quants + 128, the scale 8 times. */
static void pack_act_block(const uint8_t *q, int64_t nb, int64_t ib, uint8_t *row) {
    uint8_t *qs = row + ib * 32;
    for (int j = 0; j < 32; j++) qs[j] = (uint8_t)(q[2 + j] ^ 0x80);
    const float d = h2f(q);
    uint8_t *ds = row + (size_t)nb * 32 + (size_t)ib * 32;
    for (int j = 0; j < 8; j++) memcpy(ds + 4 * j, &d, sizeof d);
}

float me_fc_vec_dot(int wtype, const void *wrow, const void *act, int64_t n) {
    switch (act_type(wtype)) {
    case ME_GGML_F16: case ME_GGML_BF16: return dot_half(wtype, wrow, act, n);
    case ME_GGML_Q8_K: return dot_k(wtype, NULL, wrow, act, n / 256);
    default:
        if (wtype == ME_GGML_Q4_0 || wtype == ME_GGML_Q8_0) {
            /* the registry's reference variant, block by block through its activation layout */
            const me_blockq_dot_fn ref = wtype == ME_GGML_Q4_0 ? me_blockq_dot_q4_0__generic : me_blockq_dot_q8_0__generic;
            const uint8_t *w = wrow, *a = act;
            float sumf = 0.0f;
            for (int64_t ib = 0; ib < n / 32; ib++, a += 34, w += wtype == ME_GGML_Q4_0 ? 18 : 34) {
                uint8_t one[ME_BLOCKQ_ACT_BYTES(1)];
                pack_act_block(a, 1, 0, one);
                float v;
                ref(1, w, one, 0, 1, &v);
                sumf += v;
            }
            return sumf;
        }
        return dot_q32(wtype, wrow, act, n / 32);
    }
}

/* activation rows from which a FullyConnected uses the GEMM form of blockq_dot */
enum { ME_FC_GEMM_MIN_ROWS = 4 };

typedef struct fc_job {
    int wtype;
    bool kq;
    const uint8_t *w, *act;
    size_t row, act_row;
    int64_t batch, m, n;
    const float *bias;
    float *y;
} fc_job;

/* Output channels [o0, o1) for every batch row; each y element is computed the same
 * way whatever the split, so results do not depend on the thread count. */
static void fc_rows(void *arg, int64_t o0, int64_t o1) {
    const fc_job *j = arg;
    if (j->wtype == ME_GGML_Q4_0 || j->wtype == ME_GGML_Q8_0) {
        /* SIMD variant (src/kernels blockq_dot): up to ME_BLOCKQ_DOT_MAX_ROWS activation rows per
         * pass over a weight row; a band of weight rows is run against one activation tile at a time
         * so the tile stays in cache */
        const me_blockq_dot_kernel *kern = me_blockq_dot_select();
        const me_blockq_dot_fn fn = j->wtype == ME_GGML_Q4_0 ? kern->q4_0 : kern->q8_0;
        const me_blockq_gemm_fn gemm = j->wtype == ME_GGML_Q4_0 ? kern->gemm_q4_0 : kern->gemm_q8_0;
        if (gemm && j->batch >= ME_FC_GEMM_MIN_ROWS && j->row <= (size_t)INT32_MAX / 16) {
            /* many activation rows: the GEMM form, bands of 16 weight rows (its scratch: one per call) */
            const size_t sb = ME_BLOCKQ_GEMM_SCRATCH(j->n / 32);
            void *scratch = aligned_alloc(64, (sb + 63) / 64 * 64);
            if (scratch) {
                for (int64_t ob = o0; ob < o1; ob += 16) {
                    const int nw = o1 - ob < 16 ? (int)(o1 - ob) : 16;
                    gemm(j->n / 32, j->w + (size_t)ob * j->row, j->row, nw, j->act, j->act_row, j->batch, j->y + ob,
                         (size_t)j->m, scratch);
                    if (j->bias)
                        for (int64_t b = 0; b < j->batch; b++)
                            for (int k = 0; k < nw; k++) j->y[b * j->m + ob + k] += j->bias[ob + k];
                }
                free(scratch);
                return;
            }
        }
        float v[ME_BLOCKQ_DOT_MAX_ROWS];
        const int64_t band = 16;
        for (int64_t ob = o0; ob < o1; ob += band) {
            const int64_t oe = o1 - ob < band ? o1 : ob + band;
            for (int64_t b = 0; b < j->batch; b += ME_BLOCKQ_DOT_MAX_ROWS) {
                const int nr = j->batch - b < ME_BLOCKQ_DOT_MAX_ROWS ? (int)(j->batch - b) : ME_BLOCKQ_DOT_MAX_ROWS;
                for (int64_t o = ob; o < oe; o++) {
                    fn(j->n / 32, j->w + (size_t)o * j->row, j->act + (size_t)b * j->act_row, j->act_row, nr, v);
                    for (int r = 0; r < nr; r++) j->y[(b + r) * j->m + o] = j->bias ? v[r] + j->bias[o] : v[r];
                }
            }
        }
        return;
    }
    if (j->wtype == ME_GGML_Q4_K || j->wtype == ME_GGML_Q6_K) {
        /* a SIMD variant of the registry when the CPU has one (the portable path is below) */
        const me_blockq_dot_kernel *kern = me_blockq_dot_select();
        const me_blockq_kdot_fn kd = j->wtype == ME_GGML_Q4_K ? kern->q4_k : kern->q6_k;
        if (kern->isa && kd) {
            for (int64_t o = o0; o < o1; o++)
                for (int64_t b = 0; b < j->batch; b++) {
                    const float v = kd(j->n / 256, j->w + (size_t)o * j->row, j->act + (size_t)b * j->act_row);
                    j->y[b * j->m + o] = j->bias ? v + j->bias[o] : v;
                }
            return;
        }
    }
    /* a K-quant weight row is unpacked once for the whole batch (block by block if no memory) */
    kblock *kb = j->kq && j->batch > 1 ? malloc((size_t)(j->n / 256) * sizeof *kb) : NULL;
    for (int64_t o = o0; o < o1; o++) {
        const uint8_t *wr = j->w + (size_t)o * j->row;
        if (kb) unpack_k_row(j->wtype, wr, j->n / 256, kb);
        for (int64_t b = 0; b < j->batch; b++) {
            const uint8_t *a = j->act + (size_t)b * j->act_row;
            float v = j->kq ? dot_k(j->wtype, kb, wr, a, j->n / 256) : me_fc_vec_dot(j->wtype, wr, a, j->n);
            j->y[b * j->m + o] = j->bias ? v + j->bias[o] : v;
        }
    }
    free(kb);
}

/* ---- pre-packed Q4_0 / Q8_0 weights (kernels.h ME_BLOCKQ_P4_* / P8_*) ---- */

static size_t packed_group_bytes(int wtype, int64_t nb) {
    return ME_BLOCKQ_PQ_GROUP_BYTES(wtype == ME_GGML_Q8_0, nb);
}

size_t me_fc_blockq_packed_bytes(const me_tensor *w, int64_t m, int64_t n) {
    const int wtype = me_lowp_ggml_type(w);
    if ((wtype != ME_GGML_Q4_0 && wtype != ME_GGML_Q8_0) || !(w->flags & ME_TF_STATIC) || !w->data || m <= 0 ||
        n <= 0 || n % 32)
        return 0;
    const size_t nb = (size_t)n / 32, row = me_blockq_row_bytes(wtype, n);
    size_t raw, total;
    if (!row || !me_mul_size(row, (size_t)m, &raw) || w->nbytes < raw || nb > (SIZE_MAX - 64) / 576 ||
        !me_mul_size((size_t)(m + ME_BLOCKQ_P4_ROWS - 1) / ME_BLOCKQ_P4_ROWS, packed_group_bytes(wtype, (int64_t)nb),
                     &total))
        return 0;
    return total;
}

me_status me_fc_blockq_pack(const me_node *nd, const me_tensor *w, int64_t m, int64_t n, void *dst, me_diag *d) {
    if (!me_fc_blockq_packed_bytes(w, m, n))
        return me_fail(d, ME_ERR_INTERNAL, "node '%s': FullyConnected weights cannot be packed", nd->name);
    const int wtype = me_lowp_ggml_type(w);
    (wtype == ME_GGML_Q8_0 ? me_blockq_p8_pack : me_blockq_p4_pack)(w->data, me_blockq_row_bytes(wtype, n), m, n / 32,
                                                                   dst);
    return ME_OK;
}

typedef struct p4_job {
    me_blockq_p4_fn fn;
    me_blockq_p4_quant_fn quant;
    const uint8_t *w;
    uint8_t *act;
    const float *x, *bias;
    float *y;
    size_t gs, act_row;
    int64_t nb, ng, batch, m;
} p4_job;

static void p4_quant_rows(void *arg, int64_t r0, int64_t r1) {
    const p4_job *j = arg;
    for (int64_t r = r0; r < r1; r++) j->quant(j->x + r * j->nb * 32, j->nb, j->act + (size_t)r * j->act_row);
}

/* weight row groups [g0, g1) against every activation row */
static void p4_rows(void *arg, int64_t g0, int64_t g1) {
    const p4_job *j = arg;
    const int nw_last = g1 == j->ng ? (int)(j->m - (j->ng - 1) * ME_BLOCKQ_P4_ROWS) : ME_BLOCKQ_P4_ROWS;
    j->fn(j->nb, j->w + (size_t)g0 * j->gs, g1 - g0, nw_last, j->act, j->act_row, j->batch,
          j->y + g0 * ME_BLOCKQ_P4_ROWS, (size_t)j->m);
    if (!j->bias) return;
    const int64_t o1 = g1 * ME_BLOCKQ_P4_ROWS < j->m ? g1 * ME_BLOCKQ_P4_ROWS : j->m;
    for (int64_t b = 0; b < j->batch; b++)
        for (int64_t o = g0 * ME_BLOCKQ_P4_ROWS; o < o1; o++) j->y[b * j->m + o] += j->bias[o];
}

me_status me_fc_lowp_packed(const me_node *nd, const me_tensor *w, const float *x, const void *packed,
                            const float *bias, int64_t batch, int64_t m, int64_t n, float *y,
                            struct me_threadpool *pool, me_diag *d) {
    if (m <= 0 || n <= 0 || n % 32)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (FullyConnected): %lld input features do not fill whole blocks",
                       nd->name, (long long)n);
    const int64_t nb = n / 32;
    const int wtype = me_lowp_ggml_type(w);
    if (wtype != ME_GGML_Q4_0 && wtype != ME_GGML_Q8_0)
        return me_fail(d, ME_ERR_INTERNAL, "node '%s' (FullyConnected): packed weights of an unpackable type", nd->name);
    const me_blockq_dot_kernel *kern = me_blockq_dot_select();
    p4_job j = {wtype == ME_GGML_Q8_0 ? kern->p8_0 : kern->p4_0, kern->p4q, packed, NULL, x, bias, y,
                packed_group_bytes(wtype, nb),
                me_align_up(ME_BLOCKQ_P4_ACT_BYTES(nb), 64), nb, (m + ME_BLOCKQ_P4_ROWS - 1) / ME_BLOCKQ_P4_ROWS,
                batch, m};
    size_t act_bytes;
    if (!me_mul_size(j.act_row, (size_t)batch, &act_bytes) || act_bytes > SIZE_MAX - 64)
        return me_fail(d, ME_ERR_NOMEM, "node '%s' (FullyConnected): activations too large", nd->name);
    j.act = aligned_alloc(64, act_bytes + 64);
    if (!j.act) return me_fail(d, ME_ERR_NOMEM, "node '%s' (FullyConnected): out of memory", nd->name);
    if (batch >= 8) me_parallel_for(pool, batch, 1, p4_quant_rows, &j);
    else p4_quant_rows(&j, 0, batch);
    me_parallel_for(pool, j.ng, 1, p4_rows, &j);
    free(j.act);
    return ME_OK;
}

me_status me_fc_lowp(const me_node *nd, const me_tensor *w, const float *x, const void *wdata, const float *bias,
                     int64_t batch, int64_t m, int64_t n, float *y, struct me_threadpool *pool, me_diag *d) {
    const int wtype = me_lowp_ggml_type(w);
    if (wtype < 0)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (FullyConnected): weights '%s' have an unsupported storage",
                       nd->name, w->name ? w->name : "?");
    size_t row = wtype == ME_GGML_F16 || wtype == ME_GGML_BF16 ? (size_t)n * 2 : me_blockq_row_bytes(wtype, n);
    if (!row || n <= 0)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (FullyConnected): %lld input features do not fill whole blocks",
                       nd->name, (long long)n);
    /* all activation rows are quantised once, up front (Q4_0 / Q8_0: in the blockq_dot layout) */
    const bool bq = wtype == ME_GGML_Q4_0 || wtype == ME_GGML_Q8_0;
    fc_job j = {wtype, act_type(wtype) == ME_GGML_Q8_K, wdata, NULL, row,
                bq ? ME_BLOCKQ_ACT_BYTES(n / 32) : me_fc_act_bytes(wtype, n), batch, m, n, bias, y};
    size_t act_bytes;
    if (!me_mul_size(j.act_row, (size_t)batch, &act_bytes) || act_bytes > SIZE_MAX - 64)
        return me_fail(d, ME_ERR_NOMEM, "node '%s' (FullyConnected): activations too large", nd->name);
    uint8_t *act = aligned_alloc(64, (act_bytes + 63) / 64 * 64 + 64);
    if (!act) return me_fail(d, ME_ERR_NOMEM, "node '%s' (FullyConnected): out of memory", nd->name);
    for (int64_t b = 0; b < batch; b++) {
        if (bq) {
            quantize_pack_row(x + b * n, n / 32, act + (size_t)b * j.act_row);
        } else {
            me_fc_quantize_act(wtype, x + b * n, n, act + (size_t)b * j.act_row);
        }
    }
    j.act = act;
    me_parallel_for(pool, m, 1, fc_rows, &j);
    free(act);
    return ME_OK;
}
