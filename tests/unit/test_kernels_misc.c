/* Every dwconv_f32 and eltwise_f32 variant (the src/kernels lists) against naive
 * formulas: depthwise conv in double with a magnitude-scaled bound over odd
 * and vector-width channel counts, strides, padding and dilation; add and
 * multiply exactly, in all four broadcast stride cases. Variants whose ISA
 * this CPU lacks are skipped (printed). Also the thread pool's chunking. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/dispatch.h"

static uint32_t rng = 777;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static int dw_case(const me_dwconv_f32_kernel *kern, int64_t c, int64_t h, int64_t w, int64_t f, int64_t s,
                   int64_t p, int64_t dil, int with_bias) {
    int64_t span = (f - 1) * dil + 1;
    if (h + 2 * p < span || w + 2 * p < span) return 0;
    int64_t oh = (h + 2 * p - span) / s + 1, ow = (w + 2 * p - span) / s + 1;
    float *x = malloc(sizeof(float) * (size_t)(h * w * c)), *wt = malloc(sizeof(float) * (size_t)(f * f * c));
    float *bias = malloc(sizeof(float) * (size_t)c), *y = malloc(sizeof(float) * (size_t)(ow * c + 1));
    for (int64_t i = 0; i < h * w * c; i++) x[i] = frand();
    for (int64_t i = 0; i < f * f * c; i++) wt[i] = frand();
    for (int64_t i = 0; i < c; i++) bias[i] = frand();
    me_dwconv_f32_args a = {x, wt, with_bias ? bias : NULL, h, w, c, f, f, s, s, p, p, dil, dil, ow};
    int bad = 0;
    for (int64_t r = 0; r < oh && !bad; r++) {
        y[ow * c] = 12345.0f; /* sentinel past the row */
        kern->row(&a, r, y);
        if (y[ow * c] != 12345.0f) bad = 1;
        for (int64_t q = 0; q < ow && !bad; q++)
            for (int64_t ch = 0; ch < c; ch++) {
                double ref = with_bias ? bias[ch] : 0.0, mag = fabs(ref);
                for (int64_t i = 0; i < f; i++)
                    for (int64_t j = 0; j < f; j++) {
                        int64_t ih = r * s - p + i * dil, iw = q * s - p + j * dil;
                        if (ih < 0 || iw < 0 || ih >= h || iw >= w) continue;
                        double t = (double)x[(ih * w + iw) * c + ch] * wt[(i * f + j) * c + ch];
                        ref += t;
                        mag += fabs(t);
                    }
                if (!(fabs(y[q * c + ch] - ref) <= 1e-5 * mag + 1e-30)) {
                    fprintf(stderr, "%s c=%lld f=%lld s=%lld p=%lld d=%lld: y[%lld][%lld][%lld]=%g want %g\n", kern->id,
                            (long long)c, (long long)f, (long long)s, (long long)p, (long long)dil, (long long)r,
                            (long long)q, (long long)ch, y[q * c + ch], ref);
                    bad = 1;
                    break;
                }
            }
    }
    free(x); free(wt); free(bias); free(y);
    return bad;
}

static int elt_case(const me_eltwise_f32_kernel *kern, int64_t n, int64_t sa, int64_t sb) {
    float *a = malloc(sizeof(float) * (size_t)(n + 1)), *b = malloc(sizeof(float) * (size_t)(n + 1));
    float *o = malloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t i = 0; i <= n; i++) { a[i] = frand() * 3.0f; b[i] = frand() * 5.0f; }
    /* max / min: ties, signed zeros and NaN on either side (the rule gives b) */
    if (n > 5) { a[1] = b[1]; a[2] = -0.0f; b[2] = 0.0f; a[3] = NAN; b[4] = NAN; }
    int bad = 0;
    const me_binary_f32_row_fn fns[4] = {kern->add, kern->mul, kern->max, kern->min};
    for (int op = 0; op < 4; op++) {
        o[n] = -7.0f;
        fns[op](a, sa, b, sb, o, n);
        if (o[n] != -7.0f) bad = 1;
        for (int64_t i = 0; i < n; i++) {
            double x = a[sa ? i : 0], y = b[sb ? i : 0];
            float want = op == 3   ? (x < y ? (float)x : (float)y)
                         : op == 2 ? (x > y ? (float)x : (float)y)
                                   : (float)(op ? x * y : x + y); /* exact in double, rounded once */
            if (memcmp(&o[i], &want, sizeof want) != 0 && !(isnan(o[i]) && isnan(want))) { bad = 1; break; }
        }
    }
    /* in place, as the pooling accumulators use it: o == b */
    if (sa && sb) {
        float *acc = malloc(sizeof(float) * (size_t)(n + 1));
        for (int64_t i = 0; i < n; i++) acc[i] = b[i];
        kern->max(a, 1, acc, 1, acc, n);
        for (int64_t i = 0; i < n; i++) {
            float want = a[i] > b[i] ? a[i] : b[i];
            if (memcmp(&acc[i], &want, sizeof want) != 0 && !(isnan(acc[i]) && isnan(want))) bad = 1;
        }
        free(acc);
    }
    free(a); free(b); free(o);
    return bad;
}

/* norm_f32: a variant against the reference rows of the list's last entry, bit
 * for bit: both statistics and the output with and without gamma / beta, as
 * vectors and broadcast scalars. */
static int norm_case(const me_norm_f32_kernel *kern, int64_t n) {
    const me_norm_f32_kernel *ref = &me_norm_f32_kernels[me_norm_f32_kernel_count - 1];
    float *x = malloc(sizeof(float) * (size_t)(n + 1)), *g = malloc(sizeof(float) * (size_t)(n + 1));
    float *b = malloc(sizeof(float) * (size_t)(n + 1)), *y0 = malloc(sizeof(float) * (size_t)(n + 1));
    float *y1 = malloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t i = 0; i <= n; i++) { x[i] = frand() * 40.0f + 3.0f; g[i] = frand() * 2.0f; b[i] = frand(); }
    int bad = 0;
    for (int sq = 0; sq < 2; sq++) {
        double want = ref->sum(x, n, 2.5, sq), got = kern->sum(x, n, 2.5, sq);
        if (memcmp(&want, &got, sizeof got) != 0) bad = 1;
    }
    for (int m = 0; m < 6; m++) {
        const float *gp = m & 1 ? g : NULL, *bp = m & 2 ? b : NULL;
        int64_t gs = m < 4, bs = m < 4;
        y0[n] = y1[n] = -7.0f;
        ref->apply(x, n, 3.25, 0.37, gp, gs, bp, bs, y0);
        kern->apply(x, n, 3.25, 0.37, gp, gs, bp, bs, y1);
        if (memcmp(y0, y1, sizeof(float) * (size_t)(n + 1)) != 0) bad = 1;
    }
    free(x); free(g); free(b); free(y0); free(y1);
    return bad;
}

typedef struct cover { int *hits; } cover;
static void mark(void *v, int64_t b, int64_t e) {
    cover *c = v;
    for (int64_t i = b; i < e; i++) __atomic_add_fetch(&c->hits[i], 1, __ATOMIC_RELAXED);
}

int main(void) {
    static const int64_t cs[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 96};
    for (int v = 0; v < me_dwconv_f32_kernel_count; v++) {
        const me_dwconv_f32_kernel *kern = &me_dwconv_f32_kernels[v];
        if (!me_cpu_has(kern->isa)) { printf("skip %s: this CPU (or ME_ISA) lacks its ISA\n", kern->id); continue; }
        int bad = 0;
        for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
            bad += dw_case(kern, cs[i], 7, 9, 3, 1, 1, 1, 1);
            bad += dw_case(kern, cs[i], 8, 8, 3, 2, 1, 1, 0);
            bad += dw_case(kern, cs[i], 9, 6, 5, 2, 2, 1, 1);
            bad += dw_case(kern, cs[i], 9, 9, 3, 1, 2, 2, 1);
            bad += dw_case(kern, cs[i], 4, 5, 1, 1, 0, 1, 1);
            /* wide rows: the interior columns in blocks of pixels */
            bad += dw_case(kern, cs[i], 5, 23, 3, 1, 1, 1, 1);
            bad += dw_case(kern, cs[i], 6, 27, 5, 2, 2, 1, 0);
            bad += dw_case(kern, cs[i], 4, 30, 3, 2, 0, 2, 1);
        }
        CHECK(bad == 0);
        printf("checked %s\n", kern->id);
    }
    static const int64_t ns[] = {0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 100};
    for (int v = 0; v < me_eltwise_f32_kernel_count; v++) {
        const me_eltwise_f32_kernel *kern = &me_eltwise_f32_kernels[v];
        if (!me_cpu_has(kern->isa)) { printf("skip %s: this CPU (or ME_ISA) lacks its ISA\n", kern->id); continue; }
        int bad = 0;
        for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
            for (int s = 0; s < 4; s++) bad += elt_case(kern, ns[i], s & 1, s >> 1);
        CHECK(bad == 0);
        printf("checked %s\n", kern->id);
    }
    for (int v = 0; v < me_norm_f32_kernel_count; v++) {
        const me_norm_f32_kernel *kern = &me_norm_f32_kernels[v];
        if (!me_cpu_has(kern->isa)) { printf("skip %s: this CPU (or ME_ISA) lacks its ISA\n", kern->id); continue; }
        int bad = 0;
        for (int64_t n = 1; n <= 40; n++) bad += norm_case(kern, n);
        bad += norm_case(kern, 384) + norm_case(kern, 771);
        CHECK(bad == 0);
        printf("checked %s\n", kern->id);
    }
    /* the reference against a naive loop: the statistic and one output */
    {
        float xs[13];
        double s = 0, q = 0;
        for (int i = 0; i < 13; i++) { xs[i] = (float)i * 0.75f - 2.0f; s += xs[i]; }
        for (int i = 0; i < 13; i++) q += ((double)xs[i] - 1.5) * ((double)xs[i] - 1.5);
        const me_norm_f32_kernel *ref = &me_norm_f32_kernels[me_norm_f32_kernel_count - 1];
        CHECK(fabs(ref->sum(xs, 13, 0.0, 0) - s) < 1e-12 && fabs(ref->sum(xs, 13, 1.5, 1) - q) < 1e-12);
        float y[13], gm = 2.0f, bt = 0.5f;
        ref->apply(xs, 13, 1.5, 0.25, &gm, 0, &bt, 0, y);
        CHECK(y[5] == (float)(((double)xs[5] - 1.5) * 0.25) * 2.0f + 0.5f);
    }
    CHECK(me_norm_f32_kernels[me_norm_f32_kernel_count - 1].isa == 0);
    CHECK(me_dwconv_f32_kernels[me_dwconv_f32_kernel_count - 1].isa == 0);
    CHECK(me_eltwise_f32_kernels[me_eltwise_f32_kernel_count - 1].isa == 0);

    /* parallel_for: every index exactly once, for several sizes and pools */
    for (int t = 1; t <= 4; t++) {
        me_threadpool *p = me_threadpool_create(t);
        CHECK(p != NULL && me_threadpool_threads(p) == t);
        for (int64_t n = 1; n <= 70; n += 23)
            for (int64_t align = 1; align <= 16; align *= 4) {
                int hits[80] = {0};
                cover c = {hits};
                me_parallel_for(p, n, align, mark, &c);
                int ok = 1;
                for (int64_t i = 0; i < 80; i++) ok &= hits[i] == (i < n);
                CHECK(ok);
            }
        me_threadpool_destroy(p);
    }
    CHECK(me_cpu_count() >= 1);
    return check_exit();
}
