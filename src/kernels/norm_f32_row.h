/* The scalar pieces every norm_f32 variant shares (kernels.h): the tail of
 * the statistic (element i to partial sum i % 8, as the reference) and the
 * fixed combination of the 8 partial sums. */
#ifndef ME_KERNELS_NORM_F32_ROW_H
#define ME_KERNELS_NORM_F32_ROW_H

#include <stdint.h>

static inline void me_norm_f32_sum_tail(const float *x, int64_t i, int64_t n, double mean, int sq, double s[8]) {
    for (; i < n; i++) {
        double v = x[i];
        if (sq) {
            v -= mean;
            v *= v;
        }
        s[i & 7] += v;
    }
}

static inline double me_norm_f32_combine8(const double s[8]) {
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

#endif
