/* Reference LayerNorm / RmsNorm rows (see kernels.h): the statistics in 8
 * interleaved double partial sums, the output in double then float. */
#pragma GCC optimize("fp-contract=off")
#include "kernels.h"

double me_norm_f32_sum__generic(const float *x, int64_t n, double mean, int sq) {
    double s[8] = {0};
    int64_t i = 0;
    if (sq) {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) {
                double v = x[i + k] - mean;
                s[k] += v * v;
            }
        for (; i < n; i++) {
            double v = x[i] - mean;
            s[i & 7] += v * v;
        }
    } else {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) s[k] += x[i + k];
        for (; i < n; i++) s[i & 7] += x[i];
    }
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
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
