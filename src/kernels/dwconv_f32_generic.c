/* Reference depthwise-conv row (see kernels.h): bias, then each valid tap
 * multiplied and added in (kh, kw) order. */
#include <string.h>

#include "kernels.h"

void me_dwconv_f32_row__generic(const me_dwconv_f32_args *a, int64_t oh, float *yrow) {
    const int64_t c = a->c;
    const int64_t ih0 = oh * a->stride_h - a->pad_top;
    for (int64_t ow = 0; ow < a->ow; ow++) {
        float *y = yrow + ow * c;
        if (a->bias) memcpy(y, a->bias, (size_t)c * sizeof(float));
        else memset(y, 0, (size_t)c * sizeof(float));
        const int64_t iw0 = ow * a->stride_w - a->pad_left;
        for (int64_t kh = 0; kh < a->fh; kh++) {
            int64_t ih = ih0 + kh * a->dil_h;
            if (ih < 0 || ih >= a->h) continue;
            for (int64_t kw = 0; kw < a->fw; kw++) {
                int64_t iw = iw0 + kw * a->dil_w;
                if (iw < 0 || iw >= a->w_in) continue;
                const float *x = a->x + (ih * a->w_in + iw) * c, *w = a->w + (kh * a->fw + kw) * c;
                for (int64_t ch = 0; ch < c; ch++) y[ch] += x[ch] * w[ch];
            }
        }
    }
}
