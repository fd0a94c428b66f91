/* GGML block types: sizes (gguf.md §3) and exact dequantisation (gguf.md §4).
 * Each to_float computes in float32 in the order ggml's reference dequantisers
 * do, so results are bit-identical to ggml's to_float (checked by
 * tests/tools/ggml_dequant_check.py). FP contraction is off: a fused
 * multiply-add would round differently from ggml's separate mul and add. */
#pragma GCC optimize("fp-contract=off")
#include "blockq.h"

#include <string.h>

#include "util.h"

static float h2f(const uint8_t *p) { return me_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

static void q4_0_to_float(const void *src, float *y, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 32; i++, b += 18, y += 32) {
        const float d = h2f(b);
        const uint8_t *qs = b + 2;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((qs[j] & 0x0F) - 8) * d;
            y[j + 16] = (float)((qs[j] >> 4) - 8) * d;
        }
    }
}

static void q4_1_to_float(const void *src, float *y, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 32; i++, b += 20, y += 32) {
        const float d = h2f(b), m = h2f(b + 2);
        const uint8_t *qs = b + 4;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(qs[j] & 0x0F) * d + m;
            y[j + 16] = (float)(qs[j] >> 4) * d + m;
        }
    }
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static void q5_0_to_float(const void *src, float *y, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 32; i++, b += 22, y += 32) {
        const float d = h2f(b);
        const uint32_t qh = le32(b + 2);
        const uint8_t *qs = b + 6;
        for (int j = 0; j < 16; j++) {
            int lo = (qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            int hi = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)(lo - 16) * d;
            y[j + 16] = (float)(hi - 16) * d;
        }
    }
}

static void q5_1_to_float(const void *src, float *y, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 32; i++, b += 24, y += 32) {
        const float d = h2f(b), m = h2f(b + 2);
        const uint32_t qh = le32(b + 4);
        const uint8_t *qs = b + 8;
        for (int j = 0; j < 16; j++) {
            int lo = (qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            int hi = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)lo * d + m;
            y[j + 16] = (float)hi * d + m;
        }
    }
}

static void q8_0_to_float(const void *src, float *y, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 32; i++, b += 34, y += 32) {
        const float d = h2f(b);
        for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)b[2 + j] * d;
    }
}

static void q2_k_to_float(const void *src, float *y, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 256; i++, b += 84) {
        const uint8_t *sc = b, *q = b + 16;
        const float d = h2f(b + 80), dmin = h2f(b + 82);
        int is = 0;
        for (int h = 0; h < 2; h++, q += 32)
            for (int shift = 0; shift < 8; shift += 2)
                for (int g = 0; g < 2; g++) {
                    const uint8_t s = sc[is++];
                    const float dl = d * (float)(s & 0xF), ml = dmin * (float)(s >> 4);
                    for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[16 * g + l] >> shift) & 3) - ml;
                }
    }
}

/* The sixteen 6-bit Q3_K scales, as signed values (sc - 32). */
static void q3_k_scales(const uint8_t *s, int *out) {
    for (int i = 0; i < 16; i++) {
        int low4 = i < 8 ? s[i] & 0xF : s[i - 8] >> 4;
        int high2 = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
        out[i] = (low4 | high2 << 4) - 32;
    }
}

static void q3_k_to_float(const void *src, float *y, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 256; i++, b += 110) {
        const uint8_t *hm = b, *q = b + 32;
        const float d = h2f(b + 108);
        int sc[16], is = 0;
        q3_k_scales(b + 96, sc);
        uint8_t m = 1;
        for (int h = 0; h < 2; h++, q += 32)
            for (int shift = 0; shift < 8; shift += 2, m <<= 1)
                for (int g = 0; g < 2; g++) {
                    const float dl = d * (float)sc[is++];
                    for (int l = 0; l < 16; l++) {
                        int v = ((q[16 * g + l] >> shift) & 3) - ((hm[16 * g + l] & m) ? 0 : 4);
                        *y++ = dl * (float)v;
                    }
                }
    }
}

/* 6-bit scale and min j (0..7) of Q4_K / Q5_K. */
static void k4_scale_min(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | (s[j - 4] >> 6) << 4;
        *m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

static void q4_k_to_float(const void *src, float *y, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 256; i++, b += 144) {
        const float d = h2f(b), dmin = h2f(b + 2);
        const uint8_t *q = b + 16;
        for (int c = 0; c < 4; c++, q += 32) {
            int sc, m;
            k4_scale_min(b + 4, 2 * c, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            k4_scale_min(b + 4, 2 * c + 1, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

static void q5_k_to_float(const void *src, float *y, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 256; i++, b += 176) {
        const float d = h2f(b), dmin = h2f(b + 2);
        const uint8_t *qh = b + 16, *ql = b + 48;
        for (int c = 0; c < 4; c++, ql += 32) {
            int sc, m;
            k4_scale_min(b + 4, 2 * c, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            k4_scale_min(b + 4, 2 * c + 1, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)((ql[l] & 0xF) + 16 * ((qh[l] >> (2 * c)) & 1)) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)((ql[l] >> 4) + 16 * ((qh[l] >> (2 * c + 1)) & 1)) - m2;
        }
    }
}

static void q6_k_to_float(const void *src, float *y, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 256; i++, b += 210) {
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        const float d = h2f(b + 208);
        for (int h = 0; h < 2; h++, ql += 64, qh += 32, sc += 8, y += 128)
            for (int l = 0; l < 32; l++) {
                int s = l / 16;
                int q1 = ((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32;
                int q2 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
                int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                y[l] = d * (float)sc[s] * (float)q1;
                y[l + 32] = d * (float)sc[s + 2] * (float)q2;
                y[l + 64] = d * (float)sc[s + 4] * (float)q3;
                y[l + 96] = d * (float)sc[s + 6] * (float)q4;
            }
    }
}

static const me_blockq_traits traits[] = {
    {"Q4_0", 32, 18, q4_0_to_float},   {"Q4_1", 32, 20, q4_1_to_float},   {"Q5_0", 32, 22, q5_0_to_float},
    {"Q5_1", 32, 24, q5_1_to_float},   {"Q8_0", 32, 34, q8_0_to_float},   {"Q2_K", 256, 84, q2_k_to_float},
    {"Q3_K", 256, 110, q3_k_to_float}, {"Q4_K", 256, 144, q4_k_to_float}, {"Q5_K", 256, 176, q5_k_to_float},
    {"Q6_K", 256, 210, q6_k_to_float},
};
static const int trait_type[] = {ME_GGML_Q4_0, ME_GGML_Q4_1, ME_GGML_Q5_0, ME_GGML_Q5_1, ME_GGML_Q8_0,
                                 ME_GGML_Q2_K, ME_GGML_Q3_K, ME_GGML_Q4_K, ME_GGML_Q5_K, ME_GGML_Q6_K};

const me_blockq_traits *me_blockq_get(int ggml_type) {
    for (unsigned i = 0; i < sizeof trait_type / sizeof trait_type[0]; i++)
        if (trait_type[i] == ggml_type) return &traits[i];
    return NULL;
}

size_t me_blockq_row_bytes(int ggml_type, int64_t ncols) {
    const me_blockq_traits *t = me_blockq_get(ggml_type);
    if (!t || ncols <= 0 || ncols % t->block_size) return 0;
    return (size_t)(ncols / t->block_size) * (size_t)t->block_bytes;
}

void me_f16_row_to_f32(const void *src, float *y, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) y[i] = h2f(p + 2 * i);
}

void me_bf16_row_to_f32(const void *src, float *y, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) y[i] = me_bf16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
}

bool me_ggml_to_float(int ggml_type, const void *src, float *y, int64_t n) {
    if (n < 0) return false;
    switch (ggml_type) {
    case ME_GGML_F32: memcpy(y, src, (size_t)n * sizeof(float)); return true;
    case ME_GGML_F16: me_f16_row_to_f32(src, y, n); return true;
    case ME_GGML_BF16: me_bf16_row_to_f32(src, y, n); return true;
    default: break;
    }
    const me_blockq_traits *t = me_blockq_get(ggml_type);
    if (!t || n % t->block_size) return false;
    t->to_float(src, y, n);
    return true;
}
