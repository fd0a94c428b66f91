/* The scalar requantisation of the qint8 family (kernels.h), shared by the
 * generic variant and the tails of the SIMD ones. */
#ifndef ME_KERNELS_QINT8_SCALAR_H
#define ME_KERNELS_QINT8_SCALAR_H

#include <stdint.h>

#include "kernels.h"

static inline uint8_t me_qint8_out(uint32_t acc_bits, int32_t mul, int32_t shift, int32_t zy, int32_t lo, int32_t hi) {
    int32_t acc = (int32_t)acc_bits;
    uint64_t mag = acc < 0 ? (uint64_t)0 - (uint64_t)(int64_t)acc : (uint64_t)acc;
    uint64_t r = (mag * (uint64_t)(uint32_t)mul + ((uint64_t)1 << (shift - 1))) >> shift;
    if (r > ME_QINT8_CAP) r = ME_QINT8_CAP;
    int32_t v = (acc < 0 ? -(int32_t)r : (int32_t)r) + zy;
    return (uint8_t)(v < lo ? lo : v > hi ? hi : v);
}

/* Accumulator of output column n of a gemm row (packed layout of kernels.h). */
static inline uint32_t me_qint8_dot(const uint8_t *a, int64_t K, const int8_t *w, int64_t n) {
    int64_t kg = (K + 3) / 4;
    const int8_t *wb = w + (n / ME_QINT8_NB) * kg * 64 + (n % ME_QINT8_NB) * 4;
    uint32_t acc = 0;
    for (int64_t k = 0; k < K; k++) acc += (uint32_t)((int32_t)a[k] * wb[(k / 4) * 64 + k % 4]);
    return acc;
}

/* One output position of a depthwise row, channels [c0, c1) (layout: kernels.h). */
static inline void me_qint8_dw_px(const me_qdw_u8_args *p, int64_t oh, int64_t ow, int64_t c0, int64_t c1,
                                  uint8_t *y) {
    for (int64_t c = c0; c < c1; c++) {
        int64_t pc = me_qdw_p_at(c);
        uint32_t acc = (uint32_t)p->bias[pc];
        for (int64_t kh = 0; kh < p->fh; kh++) {
            int64_t ih = oh * p->stride_h - p->pad_top + kh * p->dil_h;
            for (int64_t kw = 0; kw < p->fw; kw++) {
                int64_t iw = ow * p->stride_w - p->pad_left + kw * p->dil_w;
                int32_t xq = ih < 0 || ih >= p->h || iw < 0 || iw >= p->w_in ? -p->ox
                                                                               : p->x[(ih * p->w_in + iw) * p->c + c];
                acc += (uint32_t)(xq * p->wt[me_qdw_w_at(kh * p->fw + kw, c, p->cp)]);
            }
        }
        y[c] = me_qint8_out(acc, p->mul[pc], p->shift[pc], p->zy, p->lo, p->hi);
    }
}

#endif
