/* Reference LayerNorm / RmsNorm rows (see kernels.h): the statistics in 8
 * interleaved double partial sums, the output in double then float. */
#pragma GCC optimize("fp-contract=off")
#include "kernels.h"
#include "norm_f32_row.h"

double me_norm_f32_sum__generic(const float *x, int64_t n, double mean, int sq) {
    double s[8] = {0};
    int64_t i = 0;
    if (sq) {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) {
                double v = x[i + k] - mean;
                s[k] += v * v;
            }
    } else {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) s[k] += x[i + k];
    }
    me_norm_f32_sum_tail(x, i, n, mean, sq, s);
    return me_norm_f32_combine8(s);
}

void me_norm_f32_apply__generic(const float *x, int64_t n, double mean, double inv_std, const float *gamma, int64_t gs,
                                const float *beta, int64_t bs, float *y) {
    for (int64_t i = 0; i < n; i++) {
        float r = (float)((x[i] - mean) * inv_std);
        if (gamma) r *= gamma[i * gs];
        if (beta) r += beta[i * bs];
        y[i] = r;
    }
}
