/* Encoding algorithms (qnn.md §4). Encodings are in QNN's unsigned view:
 * real = (q + offset) * scale with q in [0, 2^bw - 1] and offset <= 0, so
 * min = offset*scale and max = (2^bw - 1 + offset)*scale. A symmetric
 * encoding has offset -2^(bw-1); stored signed it becomes offset 0.
 *
 * Choices where QNN's documentation leaves room (recorded in --help):
 *  - minimum range R = 1e-4 (QNN's docs; AIMET uses 0.01);
 *  - adjusted: like tf, but instead of sliding the window to put zero on the
 *    grid it widens max or lowers min so both observed ends stay inside;
 *  - enhanced: AIMET's TF-enhanced search on a 512-bin histogram, quantisation
 *    noise delta^2/12 per in-range mass plus GAMMA=3 x clipping noise;
 *  - sqnr / mse: the clip window [a*min, b*max], a, b in 0.05..1 (step 0.05),
 *    minimising noise (delta^2/12 in range plus clipping noise weighted 3 for
 *    sqnr, 1 for mse);
 *  - entropy: the window [f*min, f*max], f in (0, 1] (64 steps), minimising the
 *    KL divergence between the clipped histogram and its 2^bw-level version. */
#ifndef ME_QUANT_ALGO_H
#define ME_QUANT_ALGO_H

#include <stdbool.h>
#include <stdint.h>

#include "calib.h"
#include "modelexport.h"

#define ME_QUANT_MIN_RANGE 1e-4
/* Activations whose calibrated range reaches this magnitude (mask sentinels
 * such as -FLT_MAX) are left in float. */
#define ME_QUANT_SENTINEL 1e30

typedef struct me_enc1 {
    int bw;
    float scale;
    int32_t offset;   /* QNN sign, <= 0 */
    double min, max;  /* the represented range */
    bool sym;
} me_enc1;

me_enc1 me_algo_tf(double min, double max, int bw);
me_enc1 me_algo_adjusted(double min, double max, int bw);
me_enc1 me_algo_symmetric(double min, double max, int bw);
/* TF-enhanced over a histogram (symmetric: only symmetric candidates). */
me_enc1 me_algo_enhanced(const me_calib_tensor *c, int bw, bool symmetric);
/* The range a calibration method picks from a histogram. */
void me_algo_calib_range(const me_calib_tensor *c, me_calibration cal, double percentile, int bw, double *lo,
                         double *hi);
/* Activation encoding: calibration picks the range (min-max, percentile,
 * mse, sqnr, entropy), then the quantizer turns it into scale/offset
 * (enhanced searches the histogram itself, restricted to that range). */
me_enc1 me_algo_activation(const me_calib_tensor *c, me_quantizer q, me_calibration cal, double percentile, int bw);
/* From scale/offset (e.g. an override): fills min/max. */
me_enc1 me_enc1_from_scale(float scale, int32_t offset, int bw, bool sym);

/* Signed symmetric weight scale for values with absolute maximum `absmax`
 * (scale = absmax / (2^(bw-1) - 1); never 0). */
float me_algo_weight_scale(double absmax, int bw);
/* Weight scale by quantizer: tf/symmetric/adjusted use absmax; enhanced
 * searches symmetric candidates on the histogram of x. */
float me_algo_weight_scale_of(const float *x, int64_t n, me_quantizer q, int bw);

#endif
