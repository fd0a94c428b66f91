/* Reference blockq_dot variant: ggml's generic vec_dot order, one activation row
 * at a time. me_fc_vec_dot (src/ops/fc_blockq.c) uses it for Q4_0 / Q8_0. */
#pragma GCC optimize("fp-contract=off")
#include <math.h>

#include "kernels.h"

/* IEEE half to float, exactly */
static float half_to_float(const uint8_t *p) {
    const unsigned h = (unsigned)(p[0] | p[1] << 8), e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 1024), (int)e - 25);
    return h & 0x8000 ? -v : v;
}

void me_blockq_dot_q4_0__generic(int64_t nb, const void *wrow, const void *act, size_t act_stride,
                                 const float *act_d, int nr, float *out) {
    for (int r = 0; r < nr; r++) {
        const uint8_t *w = wrow, *a = (const uint8_t *)act + (size_t)r * act_stride;
        float sumf = 0.0f;
        for (int64_t ib = 0; ib < nb; ib++, w += 18, a += 34) {
            const int8_t *q8 = (const int8_t *)(a + 2);
            int sumi = 0;
            for (int j = 0; j < 16; j++) sumi += ((w[2 + j] & 0x0F) - 8) * q8[j] + ((w[2 + j] >> 4) - 8) * q8[j + 16];
            sumf += (float)sumi * half_to_float(w) * half_to_float(a);
        }
        out[r] = sumf;
    }
}

void me_blockq_dot_q8_0__generic(int64_t nb, const void *wrow, const void *act, size_t act_stride,
                                 const float *act_d, int nr, float *out) {
    for (int r = 0; r < nr; r++) {
        const uint8_t *w = wrow, *a = (const uint8_t *)act + (size_t)r * act_stride;
        float sumf = 0.0f;
        for (int64_t ib = 0; ib < nb; ib++, w += 34, a += 34) {
            const int8_t *qw = (const int8_t *)(w + 2), *q8 = (const int8_t *)(a + 2);
            int sumi = 0;
            for (int j = 0; j < 32; j++) sumi += qw[j] * q8[j];
            sumf += (float)sumi * (half_to_float(w) * half_to_float(a));
        }
        out[r] = sumf;
    }
}
