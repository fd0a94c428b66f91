/* Every unary_f32 variant (src/kernels/unary_f32.inc) against the function
 * computed in double with libm, in ulps of the float result, over a sweep of
 * float bit patterns covering the whole range (both signs, subnormals, large
 * |x|, +-inf, NaN; 0.5*(-inf)*0 is NaN for gelu in both), on row lengths around the vector widths and in place.
 * The bounds are the ones stated in src/kernels/unary_f32_simd.h. Also the
 * threaded entry point: the same bits for 1, 2 and 3 threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/dispatch.h"

static double ref_exp(double x) { return exp(x); }
static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double ref_silu(double x) { return x / (1.0 + exp(-x)); }
static double ref_tanh(double x) { return tanh(x); }
static double ref_erf(double x) { return erf(x); }
static double ref_gelu(double x) { return 0.5 * x * erfc(-x * 0.70710678118654752440); }

/* Distance of y from the exact r in units of the float spacing at r, but at
 * least `floor` (silu: x times the smallest subnormal, as x * sigmoid(x) has
 * only the subnormal precision of sigmoid(x) for x below about -87). */
static double ulps_floor(float y, double r, double floor) {
    if (isnan(r)) return isnan(y) ? 0.0 : INFINITY;
    if (isnan(y)) return INFINITY;
    float rf = (float)r;
    if (isinf(rf) || isinf(y)) return y == rf ? 0.0 : INFINITY;
    int e;
    frexp(rf != 0.0f ? (double)rf : 1e-45, &e);
    double spacing = ldexp(1.0, e - 24);
    if (spacing < 0x1p-149) spacing = 0x1p-149;
    if (spacing < floor) spacing = floor;
    return fabs((double)y - r) / spacing;
}
/* gelu: also at least |x| 2^-25, the precision of x times 1 + erf(x/sqrt2)
 * when that is computed in float (the libm reference and the vector rows). */
static double err_of(me_unary_op op, float y, double r, float x) {
    double floor = op == ME_UNARY_SILU ? fabs((double)x) * 0x1p-149 : op == ME_UNARY_GELU ? fabs((double)x) * 0x1p-25 : 0.0;
    return ulps_floor(y, r, floor);
}

typedef struct fn_case {
    const char *name;
    me_unary_op op;
    double (*ref)(double);
    double max_ulps;
} fn_case;

static const fn_case cases[] = {
    {"exp", ME_UNARY_EXP, ref_exp, 2.0},
    {"sigmoid", ME_UNARY_SIGMOID, ref_sigmoid, 3.0},
    {"silu", ME_UNARY_SILU, ref_silu, 3.0},
    {"tanh", ME_UNARY_TANH, ref_tanh, 3.0},
    {"erf", ME_UNARY_ERF, ref_erf, 3.0},
    {"gelu", ME_UNARY_GELU, ref_gelu, 4.0},
};

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

enum { SWEEP = 1 << 20 };

int main(void) {
    float *x = malloc(SWEEP * sizeof(float)), *y = malloc(SWEEP * sizeof(float));
    CHECK(x && y);
    if (!x || !y) return check_exit();
    /* every 4096th bit pattern plus a dense band around 0 and the special values */
    int64_t n = 0;
    for (uint64_t u = 0; u < (1ull << 32) && n < SWEEP - 4096; u += 4093) x[n++] = from_bits((uint32_t)u);
    for (int i = -1500; i <= 1500 && n < SWEEP - 16; i++) x[n++] = (float)i / 100.0f;
    static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 88.72f, 88.73f, -87.4f, -103.9f, -104.5f,
                                    0.624f, 0.626f, -0.625f, 1e-30f, -1e-30f};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++) x[n++] = special[i];

    for (int v = 0; v < me_unary_f32_kernel_count; v++) {
        const me_unary_f32_kernel *kern = &me_unary_f32_kernels[v];
        if (!me_cpu_has(kern->isa)) { printf("skip %s: this CPU (or ME_ISA) lacks its ISA\n", kern->id); continue; }
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            me_unary_f32_fn fn = me_unary_f32_fn_of(kern, cases[c].op);
            fn(x, y, n);
            double worst = 0.0;
            float worst_x = 0.0f;
            for (int64_t i = 0; i < n; i++) {
                double e = err_of(cases[c].op, y[i], cases[c].ref((double)x[i]), x[i]);
                if (e > worst) worst = e, worst_x = x[i];
            }
            printf("%s %s: max error %.2f ulp (at x = %g)\n", kern->id, cases[c].name, worst, worst_x);
            CHECK(worst <= cases[c].max_ulps);
            /* short rows (tails) and in place: the same values as the long row */
            int bad = 0;
            for (int64_t len = 0; len <= 35; len++) {
                float a[40], b[40];
                for (int64_t i = 0; i < len; i++) a[i] = x[SWEEP / 2 - 4096 + i * 7], b[i] = a[i];
                b[len] = a[len] = 12345.0f;
                fn(a, a, len);
                for (int64_t i = 0; i < len; i++) {
                    float one;
                    fn(&b[i], &one, 1);
                    bad += memcmp(&one, &a[i], sizeof one) != 0 && !(isnan(one) && isnan(a[i]));
                    bad += err_of(cases[c].op, a[i], cases[c].ref((double)b[i]), b[i]) > cases[c].max_ulps;
                }
                bad += a[len] != 12345.0f;
            }
            CHECK(bad == 0);
        }
    }
    CHECK(me_unary_f32_kernels[me_unary_f32_kernel_count - 1].isa == 0);

    /* the threaded entry point gives the same bits for any thread count */
    float *y1 = malloc(SWEEP * sizeof(float));
    CHECK(y1 != NULL);
    if (y1) {
        me_unary_f32(NULL, NULL, ME_UNARY_SILU, x, y1, n);
        for (int t = 2; t <= 3; t++) {
            me_threadpool *p = me_threadpool_create(t);
            CHECK(p != NULL);
            memset(y, 0, (size_t)n * sizeof(float));
            me_unary_f32(p, NULL, ME_UNARY_SILU, x, y, n);
            CHECK(memcmp(y, y1, (size_t)n * sizeof(float)) == 0);
            me_threadpool_destroy(p);
        }
    }
    free(y1);
    free(x);
    free(y);
    return check_exit();
}
