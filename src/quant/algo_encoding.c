/* tf, adjusted, symmetric, enhanced and the calibration range pickers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"

static double steps_of(int bw) { return ldexp(1.0, bw) - 1.0; }

me_enc1 me_enc1_from_scale(float scale, int32_t offset, int bw, bool sym) {
    me_enc1 e = {bw, scale, offset, 0, 0, sym};
    e.min = (double)offset * scale;
    e.max = (steps_of(bw) + offset) * scale;
    return e;
}

me_enc1 me_algo_tf(double min, double max, int bw) {
    double steps = steps_of(bw);
    if (!isfinite(min) || !isfinite(max)) min = max = 0;
    if (min > 0) min = 0;
    if (max < 0) max = 0;
    if (max < min + ME_QUANT_MIN_RANGE) max = min + ME_QUANT_MIN_RANGE;
    double scale = (max - min) / steps;
    double zp = round(-min / scale);
    if (zp < 0) zp = 0;
    if (zp > steps) zp = steps;
    return me_enc1_from_scale((float)scale, (int32_t)-zp, bw, false);
}

me_enc1 me_algo_adjusted(double min, double max, int bw) {
    double steps = steps_of(bw);
    if (!isfinite(min) || !isfinite(max)) min = max = 0;
    if (min > 0) min = 0;
    if (max < 0) max = 0;
    if (max < min + ME_QUANT_MIN_RANGE) max = min + ME_QUANT_MIN_RANGE;
    double scale = (max - min) / steps;
    double zp = round(-min / scale);
    if (zp > 0 && zp < steps) {
        /* zero at code zp; widen whichever end would otherwise be cut */
        double s1 = -min / zp, s2 = max / (steps - zp);
        scale = s1 > s2 ? s1 : s2;
    }
    if (zp < 0) zp = 0;
    if (zp > steps) zp = steps;
    return me_enc1_from_scale((float)scale, (int32_t)-zp, bw, false);
}

me_enc1 me_algo_symmetric(double min, double max, int bw) {
    double steps = steps_of(bw);
    double absmax = fmax(fabs(min), fabs(max));
    if (!isfinite(absmax)) absmax = 0;
    if (absmax < ME_QUANT_MIN_RANGE / 2) absmax = ME_QUANT_MIN_RANGE / 2;
    double delta = absmax / floor(steps / 2);
    return me_enc1_from_scale((float)delta, (int32_t)-ceil(steps / 2), bw, true);
}

/* ---- histogram helpers ---- */
#define PDF_BINS 512
#define GAMMA 3.0

typedef struct pdf {
    int n;
    double lo, width;   /* bin i covers [lo + i*width, lo + (i+1)*width) */
    double p[ME_CALIB_BINS];
} pdf;

/* Normalised histogram with `n` bins (n divides ME_CALIB_BINS). */
static void make_pdf(const me_calib_tensor *c, int n, pdf *out) {
    int m = ME_CALIB_BINS / n;
    out->n = n;
    out->lo = c->min;
    out->width = (c->max - c->min) / n;
    double tot = c->count ? (double)c->count : 1;
    for (int i = 0; i < n; i++) {
        uint64_t s = 0;
        for (int j = 0; j < m; j++) s += c->hist ? c->hist[i * m + j] : 0;
        out->p[i] = (double)s / tot;
    }
}

/* Expected squared error of quantising the distribution to the grid
 * [min, max] with step delta, clipping noise weighted by gamma. */
static double cost(const pdf *h, double min, double max, double delta, double gamma) {
    double c = 0;
    for (int i = 0; i < h->n; i++) {
        if (h->p[i] == 0) continue;
        double x = h->lo + (i + 0.5) * h->width;
        if (x < min) c += gamma * h->p[i] * (x - min) * (x - min);
        else if (x > max) c += gamma * h->p[i] * (x - max) * (x - max);
        else c += h->p[i] * delta * delta / 12.0;
    }
    return c;
}

/* First/last non-empty bin edges, with zero included and the minimum range. */
static void observed_range(const pdf *h, double *lo, double *hi) {
    int a = 0, b = h->n - 1;
    while (a < h->n && h->p[a] == 0) a++;
    while (b >= 0 && h->p[b] == 0) b--;
    if (a > b) { *lo = 0; *hi = 0; }
    else { *lo = h->lo + a * h->width; *hi = h->lo + (b + 1) * h->width; }
    if (*lo > 0) *lo = 0;
    if (*hi < 0) *hi = 0;
    if (*hi < *lo + ME_QUANT_MIN_RANGE) *hi = *lo + ME_QUANT_MIN_RANGE;
}

static me_enc1 enhanced_on(const pdf *h, double obs_lo, double obs_hi, int bw, bool symmetric) {
    double steps = steps_of(bw);
    double best = INFINITY, bmin = obs_lo, bmax = obs_hi;
    if (symmetric) {
        double absmax = fmax(fabs(obs_lo), fabs(obs_hi));
        double dmax = 2 * absmax / steps, off = floor(-steps / 2);
        for (int i = 0; i <= 100; i++) {
            double delta = (0.01 + 0.01 * i) * dmax;
            double mn = delta * off, mx = mn + delta * steps;
            double c = cost(h, mn, mx, delta, GAMMA);
            if (c < best) { best = c; bmin = delta; }
        }
        return me_enc1_from_scale((float)bmin, (int32_t)off, bw, true);
    }
    double d0 = (obs_hi - obs_lo) / steps;
    double o0 = round(obs_lo / d0);
    {   /* the observed range itself, snapped to the grid */
        double mn = o0 * d0, mx = mn + d0 * steps;
        best = cost(h, mn, mx, d0, GAMMA);
        bmin = mn;
        bmax = mx;
    }
    for (int f = 1; f <= 17; f++) {
        double delta = d0 * f / 16.0;
        for (int i = 0; i <= 20; i++) {
            double off = round(-steps + i * steps / 20.0);
            double mn = delta * off, mx = mn + delta * steps;
            if (mn < obs_lo && mx > obs_hi) continue;
            mn = fmax(mn, obs_lo);
            mx = fmin(mx, obs_hi);
            if (mx - mn < ME_QUANT_MIN_RANGE) continue;
            double dd = (mx - mn) / steps;
            double oo = round(mn / dd);
            mn = oo * dd;
            mx = mn + dd * steps;
            double c = cost(h, mn, mx, dd, GAMMA);
            if (c < best) { best = c; bmin = mn; bmax = mx; }
        }
    }
    return me_algo_tf(bmin, bmax, bw);
}

me_enc1 me_algo_enhanced(const me_calib_tensor *c, int bw, bool symmetric) {
    pdf *h = malloc(sizeof *h);
    if (!h) return symmetric ? me_algo_symmetric(c->min, c->max, bw) : me_algo_tf(c->min, c->max, bw);
    make_pdf(c, PDF_BINS, h);
    double lo, hi;
    observed_range(h, &lo, &hi);
    me_enc1 e = enhanced_on(h, lo, hi, bw, symmetric);
    free(h);
    return e;
}

static void percentile_range(const me_calib_tensor *c, double p, double *lo, double *hi) {
    double w = (c->max - c->min) / ME_CALIB_BINS;
    if (!c->hist || c->count == 0 || p >= 100 || w <= 0) { *lo = c->min; *hi = c->max; return; }
    double tot = (double)c->count, lo_q = 1 - p / 100, hi_q = p / 100, cdf = 0;
    int a = -1, b = ME_CALIB_BINS - 1;
    for (int i = 0; i < ME_CALIB_BINS; i++) {
        cdf += (double)c->hist[i] / tot;
        if (a < 0 && cdf >= lo_q) a = i;
        if (cdf >= hi_q) { b = i; break; }
    }
    if (a < 0) a = 0;
    if (b < a) b = a;
    *lo = c->min + a * w;
    *hi = c->min + (b + 1) * w;
    if (*hi <= *lo) *hi = *lo + w;
}

/* sqnr / mse: grid over the two clip factors. */
static void clip_search(const me_calib_tensor *c, int bw, double gamma, double *lo, double *hi) {
    pdf *h = malloc(sizeof *h);
    if (!h) { *lo = c->min; *hi = c->max; return; }
    make_pdf(c, ME_CALIB_BINS, h);
    double mn0 = fmin(c->min, 0), mx0 = fmax(c->max, 0), steps = steps_of(bw), best = INFINITY;
    *lo = mn0;
    *hi = mx0;
    for (int a = 1; a <= 20; a++)
        for (int b = 1; b <= 20; b++) {
            double mn = mn0 * a / 20.0, mx = mx0 * b / 20.0;
            if (mx - mn < ME_QUANT_MIN_RANGE) continue;
            double cst = cost(h, mn, mx, (mx - mn) / steps, gamma);
            if (cst < best) { best = cst; *lo = mn; *hi = mx; }
        }
    free(h);
}

/* entropy (TensorRT-style): P is the clipped histogram with the clipped mass
 * folded into its edge bins, Q the same window without the outliers merged
 * into 2^bw levels and spread back over its non-empty bins (the bin holding
 * zero kept on its own); minimise KL(P||Q). */
static void entropy_search(const me_calib_tensor *c, int bw, double *lo, double *hi) {
    *lo = c->min;
    *hi = c->max;
    if (!c->hist || c->count == 0 || c->max <= c->min) return;
    double levels = ldexp(1.0, bw), w = (c->max - c->min) / ME_CALIB_BINS, best = INFINITY;
    double *p = malloc(ME_CALIB_BINS * sizeof *p);
    if (!p) return;
    for (int k = 64; k >= 1; k--) {
        double f = k / 64.0, mn = fmin(c->min, 0) * f, mx = fmax(c->max, 0) * f;
        int a = (int)floor((mn - c->min) / w), b = (int)ceil((mx - c->min) / w) - 1;
        if (a < 0) a = 0;
        if (b > ME_CALIB_BINS - 1) b = ME_CALIB_BINS - 1;
        if (b < a) continue;
        int nb = b - a + 1;
        const uint64_t *r = c->hist + a;
        double ptot = 0, qtot = 0;
        for (int i = 0; i < nb; i++) { p[i] = (double)r[i]; qtot += (double)r[i]; }
        for (int i = 0; i < a; i++) p[0] += (double)c->hist[i];
        for (int i = b + 1; i < ME_CALIB_BINS; i++) p[nb - 1] += (double)c->hist[i];
        for (int i = 0; i < nb; i++) ptot += p[i];
        if (qtot <= 0) continue;
        double kl = 0, per = nb / levels < 1 ? 1 : nb / levels;
        /* zero is exactly representable: its bin (often a spike after ReLU) is not merged */
        int zb = (int)floor((0 - c->min) / w) - a;
        for (double g0 = 0; g0 < nb; g0 += per) {
            int s0 = (int)g0, e0 = (int)(g0 + per);
            if (e0 > nb) e0 = nb;
            if (e0 <= s0) e0 = s0 + 1;
            double mass = 0;
            int nz = 0;
            for (int i = s0; i < e0; i++)
                if (i != zb) { mass += (double)r[i]; nz += r[i] > 0; }
            for (int i = s0; i < e0; i++) {
                if (p[i] <= 0) continue;
                double pi = p[i] / ptot;
                double qi = i == zb ? (double)r[i] / qtot : r[i] > 0 ? mass / nz / qtot : 1e-12;
                if (qi <= 0) qi = 1e-12;
                kl += pi * log(pi / qi);
            }
        }
        if (kl < best - 1e-12) { best = kl; *lo = mn; *hi = mx; }
    }
    free(p);
}

void me_algo_calib_range(const me_calib_tensor *c, me_calibration cal, double percentile, int bw, double *lo,
                         double *hi) {
    switch (cal) {
    case ME_CALIB_PERCENTILE: percentile_range(c, percentile, lo, hi); break;
    case ME_CALIB_SQNR: clip_search(c, bw, GAMMA, lo, hi); break;
    case ME_CALIB_MSE: clip_search(c, bw, 1.0, lo, hi); break;
    case ME_CALIB_ENTROPY: entropy_search(c, bw, lo, hi); break;
    default: *lo = c->min; *hi = c->max; break;
    }
}

me_enc1 me_algo_activation(const me_calib_tensor *c, me_quantizer q, me_calibration cal, double percentile, int bw) {
    double lo, hi;
    me_algo_calib_range(c, cal, percentile, bw, &lo, &hi);
    switch (q) {
    case ME_QUANTIZER_ENHANCED: {
        if (cal == ME_CALIB_MIN_MAX) return me_algo_enhanced(c, bw, false);
        pdf *h = malloc(sizeof *h);
        if (!h) return me_algo_tf(lo, hi, bw);
        make_pdf(c, PDF_BINS, h);
        double olo = fmin(lo, 0), ohi = fmax(hi, 0);
        if (ohi < olo + ME_QUANT_MIN_RANGE) ohi = olo + ME_QUANT_MIN_RANGE;
        me_enc1 e = enhanced_on(h, olo, ohi, bw, false);
        free(h);
        return e;
    }
    case ME_QUANTIZER_ADJUSTED: return me_algo_adjusted(lo, hi, bw);
    case ME_QUANTIZER_SYMMETRIC: return me_algo_symmetric(lo, hi, bw);
    default: return me_algo_tf(lo, hi, bw);
    }
}

float me_algo_weight_scale(double absmax, int bw) {
    double qmax = ldexp(1.0, bw - 1) - 1;
    if (!isfinite(absmax) || absmax < ME_QUANT_MIN_RANGE / 2) absmax = ME_QUANT_MIN_RANGE / 2;
    return (float)(absmax / qmax);
}

float me_algo_weight_scale_of(const float *x, int64_t n, me_quantizer q, int bw) {
    double absmax = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(x[i]) && fabs(x[i]) > absmax) absmax = fabs(x[i]);
    if (q != ME_QUANTIZER_ENHANCED || n < 2) return me_algo_weight_scale(absmax, bw);
    me_calib_tensor c;
    if (me_calib_of_data(x, n, &c, NULL) != ME_OK) return me_algo_weight_scale(absmax, bw);
    me_enc1 e = me_algo_enhanced(&c, bw, true);
    free(c.hist);
    return e.scale;
}
