/* Portable reference of the qint8 family (kernels.h). */
#include <math.h>

#include "qint8_scalar.h"

void me_qgemm_u8s8__generic(const me_qgemm_u8s8_args *p) {
    for (int64_t m = 0; m < p->M; m++) {
        const uint8_t *a = p->a + m * p->lda;
        uint8_t *y = p->y + m * p->ldy;
        for (int64_t n = 0; n < p->N; n++)
            y[n] = me_qint8_out((uint32_t)p->bias[n] + me_qint8_dot(a, p->K, p->w, n), p->mul[n], p->shift[n], p->zy,
                                p->lo, p->hi);
    }
}

void me_qdw_u8_row__generic(const me_qdw_u8_args *p, int64_t oh, uint8_t *yrow) {
    for (int64_t ow = 0; ow < p->ow; ow++) me_qint8_dw_px(p, oh, ow, 0, p->c, yrow + ow * p->c);
}

void me_qadd_u8__generic(const me_qadd_u8_args *p, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n) {
    const uint64_t half = (uint64_t)1 << (p->s - 1);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = (int64_t)((uint64_t)((int64_t)(a[i] + p->oa) * p->ma) << p->la) +
                    (int64_t)((uint64_t)((int64_t)(b[i] + p->ob) * p->mb) << p->lb);
        uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        uint64_t r = p->s >= 64 ? (mag + half) >> 63 >> 1 : (mag + half) >> p->s;
        int64_t q = (v < 0 ? -(int64_t)r : (int64_t)r) + p->zy;
        y[i] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
    }
}

void me_quant_u8__generic(const float *x, uint8_t *y, int64_t n, float scale, int32_t off) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        double r = isnan(v) ? -(double)off : (double)nearbyintf(v / scale) - off;
        y[i] = (uint8_t)(r <= 0.0 ? 0 : r >= 255.0 ? 255 : (int)r);
    }
}

void me_qmul_u8__generic(const me_qmul_u8_args *p, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        int32_t acc = ((int32_t)a[i] + p->oa) * ((int32_t)b[i] + p->ob); /* |acc| <= 510^2 */
        y[i] = me_qint8_out((uint32_t)acc, p->mul, p->shift, p->zy, 0, 255);
    }
}

void me_qlut_u8__generic(const uint8_t *table, const uint8_t *x, uint8_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = table[x[i]];
}
