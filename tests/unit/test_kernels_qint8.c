/* Every qint8 variant (src/kernels/qint8.inc) against a naive loop written
 * here from the definition in kernels.h: exact int32 accumulation of u8 x s8
 * products, then round_half_away(acc * mul / 2^shift) on 128-bit integers,
 * plus the output offset, clamped. Bit-exact. Edge sizes: K from 1 to past the
 * 4-byte groups, N below / at / above the 16- and 32-column tiles, M below /
 * at / above the 8-row tile, row strides larger than K; extreme codes (255 x
 * -128 everywhere, accumulators near the int32 limits), multipliers from
 * saturating (shift 1, mul 2^31-1) to vanishing (shift 63), zero points and
 * clamp bounds at the ends of the range. Depthwise rows: 1 and odd channel
 * counts (up to and past the 32-channel two-pixel path), stride, padding,
 * dilation; shifts all >= 33 (the 32-bit requantisation form) and mixed;
 * requantisation edges (ties, |acc| = 2^31, shifts 33 and 63, mul 0); Add,
 * Multiply and byte tables. Self-contained (only the registry) so the aarch64
 * cross build runs it too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/kernels.h"

static uint32_t rng = 99;
static uint32_t next(void) {
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

/* the definition: one rounding of the exact product, then offset and clamp */
static uint8_t ref_out(int64_t acc, int32_t mul, int32_t shift, int32_t zy, int32_t lo, int32_t hi) {
    __int128 p = (__int128)acc * mul, half = (__int128)1 << (shift - 1);
    __int128 r = p >= 0 ? (p + half) >> shift : -((-p + half) >> shift);
    __int128 v = r + zy;
    return (uint8_t)(v < lo ? lo : v > hi ? hi : v);
}

typedef struct rq_set {
    int32_t *bias, *mul, *shift;
} rq_set;

static void make_rq(rq_set *s, int64_t n, int mode, int64_t K) {
    s->bias = calloc((size_t)n, 4), s->mul = calloc((size_t)n, 4), s->shift = calloc((size_t)n, 4);
    for (int64_t i = 0; i < n; i++) {
        s->bias[i] = mode == 3 ? (int32_t)(next() % 2 ? 2000000000 - 255 * 128 * (int32_t)K : -2000000000)
                               : (int32_t)(next() % 2000001) - 1000000;
        s->mul[i] = mode == 1 ? 0x7fffffff : mode == 4 && i % 3 == 0 ? 0 : (int32_t)((1u << 30) + next() % (1u << 30));
        s->shift[i] = mode == 1 ? 1 + (int32_t)(i % 3) : mode == 2 ? 60 + (int32_t)(i % 4)
                      : mode == 5 ? 36 + (int32_t)(next() % 10) /* all >= 33, codes mostly inside [0, 255] */
                                  : 20 + (int32_t)(next() % 20);
        if (s->mul[i] == 0) s->shift[i] = 1;
    }
}
static void free_rq(rq_set *s) { free(s->bias), free(s->mul), free(s->shift); }

static int gemm_case(const me_qint8_kernel *k, int64_t M, int64_t N, int64_t K, int mode) {
    const int64_t lda = K + (M & 1) * 3, ldy = N + 2, kg = (K + 3) / 4, nblk = (N + 15) / 16;
    uint8_t *a = malloc((size_t)(M * lda)), *y = malloc((size_t)(M * ldy)), *want = malloc((size_t)(M * ldy));
    int8_t *wd = malloc((size_t)(K * N)), *wp = calloc((size_t)(nblk * kg * 64), 1);
    int extreme = mode == 3;
    for (int64_t i = 0; i < M * lda; i++) a[i] = (uint8_t)(extreme ? 255 : next() & 255);
    for (int64_t i = 0; i < K * N; i++) wd[i] = (int8_t)(extreme ? (i % 2 ? -128 : 127) : (int)(next() % 256) - 128);
    for (int64_t kk = 0; kk < K; kk++)
        for (int64_t n = 0; n < N; n++)
            wp[((n / 16) * kg + kk / 4) * 64 + (n % 16) * 4 + kk % 4] = wd[kk * N + n];
    rq_set s;
    make_rq(&s, nblk * 16, mode, K);
    int32_t zy = mode == 2 ? 255 : (int32_t)(next() % 256), lo = mode == 4 ? 3 : 0, hi = mode == 4 ? 200 : 255;
    me_qgemm_u8s8_args p = {a, lda, M, K, N, wp, s.bias, s.mul, s.shift, zy, lo, hi, y, ldy};
    memset(y, 0x5A, (size_t)(M * ldy));
    memcpy(want, y, (size_t)(M * ldy));
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            int64_t acc = s.bias[n];
            for (int64_t kk = 0; kk < K; kk++) acc += (int64_t)a[m * lda + kk] * wd[kk * N + n];
            want[m * ldy + n] = ref_out(acc, s.mul[n], s.shift[n], zy, lo, hi);
        }
    k->gemm(&p);
    int bad = memcmp(y, want, (size_t)(M * ldy)) != 0;
    if (bad) {
        int64_t i = 0;
        while (y[i] == want[i]) i++;
        fprintf(stderr, "%s gemm M=%lld N=%lld K=%lld mode %d: element (%lld, %lld) is %u, want %u\n", k->id,
                (long long)M, (long long)N, (long long)K, mode, (long long)(i / ldy), (long long)(i % ldy), y[i],
                want[i]);
    }
    free(a), free(y), free(want), free(wd), free(wp);
    free_rq(&s);
    return bad;
}

/* The requantisation on chosen accumulators: K = 1 with zero codes, so each
 * column's accumulator is its bias. Blocks of 16 columns share a shift (the
 * SIMD variants' 32-bit form needs every shift of a block >= 33; mul 0
 * columns count as any shift), and hold exact ties x.5 of both signs with
 * their neighbours (mul 2^30: acc / 2^(s-30)), |acc| = 2^31 and 2^31 - 1,
 * results far beyond the 2^24 cap, and mul 2^31 - 1. */
static int requant_edges(const me_qint8_kernel *k) {
    static const int32_t shifts[] = {1, 2, 31, 32, 33, 34, 35, 40, 47, 55, 62, 63};
    static const int32_t muls[] = {1 << 30, (1 << 30) + 12345, 0x7fffffff, 0x5a5a5a5a};
    enum { NS = sizeof shifts / sizeof shifts[0], NM = sizeof muls / sizeof muls[0] };
    const int64_t N = (int64_t)NS * NM * 2 * 16;
    int32_t *bias = calloc((size_t)N, 4), *mul = calloc((size_t)N, 4), *sh = calloc((size_t)N, 4);
    int8_t *wp = calloc((size_t)(N / 16 * 64), 1);
    uint8_t a[4] = {0, 0, 0, 0}, *y = malloc((size_t)N), *want = malloc((size_t)N);
    int64_t n = 0;
    for (int si = 0; si < NS; si++)
        for (int mi = 0; mi < NM; mi++)
            for (int half = 0; half < 2; half++)
                for (int j = 0; j < 16; j++, n++) {
                    int32_t s = shifts[si], m = muls[mi];
                    /* a tie of mul 2^30: acc = (2t + 1) * 2^(s-31), t small, both signs, +-1 around it */
                    int64_t unit = s >= 31 ? (int64_t)1 << (s - 31) : 1, t = (int64_t)(j % 5) - 2;
                    int64_t acc = (2 * t + 1) * unit + (half ? (j % 3) - 1 : 0);
                    if (j == 15) acc = half ? INT32_MIN : INT32_MAX;
                    if (j == 14 && half) acc = -INT32_MAX;
                    if (j == 13 && !half) m = 0; /* mul 0 inside a block of large shifts */
                    if (acc > INT32_MAX || acc < INT32_MIN) acc = acc > 0 ? INT32_MAX : INT32_MIN;
                    bias[n] = (int32_t)acc, mul[n] = m, sh[n] = m == 0 ? 1 : s;
                }
    const int32_t zy = 128, lo = 0, hi = 255;
    for (int64_t i = 0; i < N; i++) want[i] = ref_out(bias[i], mul[i], sh[i], zy, lo, hi);
    me_qgemm_u8s8_args p = {a, 1, 1, 1, N, wp, bias, mul, sh, zy, lo, hi, y, N};
    k->gemm(&p);
    int bad = 0;
    for (int64_t i = 0; i < N && !bad; i++)
        if (y[i] != want[i]) {
            fprintf(stderr, "%s requant acc=%d mul=%d shift=%d: %u, want %u\n", k->id, bias[i], mul[i], sh[i], y[i],
                    want[i]);
            bad = 1;
        }
    /* the same with a shifted output offset and a narrow clamp */
    p.zy = -3, p.lo = 1, p.hi = 7;
    for (int64_t i = 0; i < N; i++) want[i] = ref_out(bias[i], mul[i], sh[i], p.zy, p.lo, p.hi);
    k->gemm(&p);
    if (!bad && memcmp(y, want, (size_t)N)) {
        fprintf(stderr, "%s requant (narrow clamp) differs\n", k->id);
        bad = 1;
    }
    free(bias), free(mul), free(sh), free(wp), free(y), free(want);
    return bad;
}

static int dw_case(const me_qint8_kernel *k, int64_t c, int64_t f, int64_t stride, int64_t pad, int64_t dil, int mode) {
    const int64_t h = 7, w = 6, cp = (c + 63) / 64 * 64, taps = f * f, groups = (taps + 3) / 4;
    const int64_t oh = (h + 2 * pad - dil * (f - 1) - 1) / stride + 1, ow = (w + 2 * pad - dil * (f - 1) - 1) / stride + 1;
    uint8_t *x = malloc((size_t)(h * w * c)), *y = malloc((size_t)(ow * c)), *want = malloc((size_t)(ow * c));
    int8_t *wd = malloc((size_t)(taps * c)), *wt = calloc((size_t)(groups * 4 * cp), 1);
    for (int64_t i = 0; i < h * w * c; i++) x[i] = (uint8_t)(mode == 3 ? (i % 2 ? 255 : 0) : next() & 255);
    for (int64_t i = 0; i < taps * c; i++) wd[i] = (int8_t)(mode == 3 ? -128 : (int)(next() % 256) - 128);
    rq_set s;
    make_rq(&s, c, mode == 3 ? 0 : mode, taps);
    int32_t ox = mode == 3 ? -255 : -(int32_t)(next() % 256);
    /* the kernel's layout: weights interleaved, parameters permuted, ox * sum w folded into the bias */
    int32_t *kb = calloc((size_t)cp, 4), *km = calloc((size_t)cp, 4), *ks = calloc((size_t)cp, 4);
    for (int64_t i = 0; i < cp; i++) ks[i] = 1;
    for (int64_t ch = 0; ch < c; ch++) {
        int64_t sum = 0;
        for (int64_t t = 0; t < taps; t++) {
            wt[me_qdw_w_at(t, ch, cp)] = wd[t * c + ch];
            sum += wd[t * c + ch];
        }
        kb[me_qdw_p_at(ch)] = (int32_t)(s.bias[ch] + ox * sum);
        km[me_qdw_p_at(ch)] = s.mul[ch];
        ks[me_qdw_p_at(ch)] = s.shift[ch];
    }
    me_qdw_u8_args p = {x, h, w, c, cp, f, f, stride, stride, pad, pad, dil, dil, ow, ox, wt, kb, km, ks,
                        (int32_t)(next() % 256), mode == 4 ? 10 : mode == 6 ? -3 : 0, mode == 4 ? 100 : mode == 6 ? 300 : 255};
    int bad = 0;
    for (int64_t r = 0; r < oh && !bad; r++) {
        for (int64_t o = 0; o < ow; o++)
            for (int64_t ch = 0; ch < c; ch++) {
                int64_t acc = s.bias[ch];
                for (int64_t kh = 0; kh < f; kh++)
                    for (int64_t kw = 0; kw < f; kw++) {
                        int64_t ih = r * stride - pad + kh * dil, iw = o * stride - pad + kw * dil;
                        if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                        acc += (int64_t)(x[(ih * w + iw) * c + ch] + ox) * wd[(kh * f + kw) * c + ch];
                    }
                want[o * c + ch] = ref_out(acc, s.mul[ch], s.shift[ch], p.zy, p.lo, p.hi);
            }
        k->dw(&p, r, y);
        if (memcmp(y, want, (size_t)(ow * c))) {
            fprintf(stderr, "%s dw c=%lld f=%lld s=%lld pad=%lld dil=%lld mode %d: row %lld differs\n", k->id,
                    (long long)c, (long long)f, (long long)stride, (long long)pad, (long long)dil, mode, (long long)r);
            bad = 1;
        }
    }
    free(x), free(y), free(want), free(wd), free(wt), free(kb), free(km), free(ks);
    free_rq(&s);
    return bad;
}

static int add_case(const me_qint8_kernel *k, int64_t n, int mode) {
    uint8_t *a = malloc((size_t)n), *b = malloc((size_t)n), *y = malloc((size_t)n + 1), *want = malloc((size_t)n + 1);
    for (int64_t i = 0; i < n; i++) a[i] = (uint8_t)(mode == 3 ? 255 : next()), b[i] = (uint8_t)(mode == 3 ? 0 : next());
    me_qadd_u8_args p;
    p.oa = mode == 3 ? 255 : (int32_t)(next() % 511) - 255;
    p.ob = mode == 3 ? -255 : (int32_t)(next() % 511) - 255;
    p.ma = (int32_t)((1u << 30) + next() % (1u << 30));
    p.mb = (int32_t)((1u << 30) + next() % (1u << 30)) * (next() % 2 ? -1 : 1);
    if (mode == 4) p.ma = 0;
    int l = (int)(next() % 23);
    p.la = next() % 2 ? l : 0;
    p.lb = p.la ? 0 : l;
    p.s = mode == 1 ? 1 + (int32_t)(next() % 3) : mode == 2 ? 60 + (int32_t)(next() % 5) : 25 + (int32_t)(next() % 30);
    p.zy = (int32_t)(next() % 601) - 300;
    for (int64_t i = 0; i < n; i++) {
        /* multiplications, not shifts: left shifts of negative values are undefined */
        __int128 v = (__int128)(a[i] + p.oa) * p.ma * ((__int128)1 << p.la) +
                     (__int128)(b[i] + p.ob) * p.mb * ((__int128)1 << p.lb);
        __int128 half = (__int128)1 << (p.s - 1), r = v >= 0 ? (v + half) >> p.s : -((-v + half) >> p.s);
        __int128 q = r + p.zy;
        want[i] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
    }
    y[n] = want[n] = 0x77;
    k->add(&p, a, b, y, n);
    int bad = memcmp(y, want, (size_t)n + 1) != 0;
    if (bad) fprintf(stderr, "%s add n=%lld mode %d differs\n", k->id, (long long)n, mode);
    free(a), free(b), free(y), free(want);
    return bad;
}

/* mul: (a + oa) * (b + ob) rounded once (128-bit), plus zy, clamped to [0, 255] */
static int mul_case(const me_qint8_kernel *k, int64_t n, int mode) {
    uint8_t *a = malloc((size_t)n), *b = malloc((size_t)n), *y = malloc((size_t)n + 1), *want = malloc((size_t)n + 1);
    for (int64_t i = 0; i < n; i++) a[i] = (uint8_t)(mode == 3 ? (i % 2 ? 255 : 0) : next()), b[i] = (uint8_t)(mode == 3 ? 255 : next());
    me_qmul_u8_args p;
    p.oa = mode == 3 ? 255 : (int32_t)(next() % 511) - 255;
    p.ob = mode == 3 ? -255 : (int32_t)(next() % 511) - 255;
    p.mul = mode == 4 ? 0 : mode == 1 ? 0x7fffffff : (int32_t)((1u << 30) + next() % (1u << 30));
    p.shift = mode == 4 ? 1 : mode == 1 ? 1 + (int32_t)(next() % 3) : mode == 2 ? 60 + (int32_t)(next() % 4)
                                                                    : 33 + (int32_t)(next() % 12);
    if (mode == 0 && next() % 2) p.shift = 20 + (int32_t)(next() % 13); /* below 33: the 64-bit form */
    p.zy = (int32_t)(next() % 601) - 300;
    for (int64_t i = 0; i < n; i++) want[i] = ref_out((int64_t)(a[i] + p.oa) * (b[i] + p.ob), p.mul, p.shift, p.zy, 0, 255);
    y[n] = want[n] = 0x77;
    k->mul(&p, a, b, y, n);
    int bad = memcmp(y, want, (size_t)n + 1) != 0;
    if (bad) fprintf(stderr, "%s mul n=%lld mode %d differs\n", k->id, (long long)n, mode);
    free(a), free(b), free(y), free(want);
    return bad;
}

/* lut: every code through a random table, also in place */
static int lut_case(const me_qint8_kernel *k, int64_t n) {
    uint8_t table[256], *x = malloc((size_t)n + 1), *y = malloc((size_t)n + 1), *want = malloc((size_t)n + 1);
    for (int i = 0; i < 256; i++) table[i] = (uint8_t)next();
    for (int64_t i = 0; i < n; i++) x[i] = (uint8_t)(i < 256 ? i : next());
    for (int64_t i = 0; i < n; i++) want[i] = table[x[i]];
    y[n] = want[n] = 0x77;
    k->lut(table, x, y, n);
    int bad = memcmp(y, want, (size_t)n + 1) != 0;
    k->lut(table, x, x, n);
    bad |= memcmp(x, want, (size_t)n) != 0;
    if (bad) fprintf(stderr, "%s lut n=%lld differs\n", k->id, (long long)n);
    free(x), free(y), free(want);
    return bad;
}

/* round half to even of a float, written out */
static float rhe(float v) {
    float f = floorf(v), diff = v - f;
    if (diff > 0.5f) return f + 1.0f;
    if (diff < 0.5f) return f;
    return fmodf(f, 2.0f) != 0.0f ? f + 1.0f : f;
}

static int quant_case(const me_qint8_kernel *k, int64_t n, float scale, int32_t off) {
    float *x = malloc((size_t)n * sizeof *x);
    uint8_t *y = malloc((size_t)n + 1), *want = malloc((size_t)n + 1);
    for (int64_t i = 0; i < n; i++) x[i] = ((float)(next() % 8001) - 4000.0f) * 0.125f * scale;
    const float special[] = {NAN, INFINITY, -INFINITY, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 1e30f, -1e30f, -0.0f, 3e9f};
    for (int64_t i = 0; i < n && i < 12; i++) x[i] = i < 3 || i >= 8 ? special[i] : special[i] * scale;
    for (int64_t i = 0; i < n; i++) {
        double r = isnan(x[i]) ? -(double)off : (isinf(x[i]) ? (double)x[i] : (double)rhe(x[i] / scale)) - off;
        want[i] = (uint8_t)(r <= 0 ? 0 : r >= 255 ? 255 : (int)r);
    }
    y[n] = want[n] = 0x77;
    k->quant(x, y, n, scale, off);
    int bad = memcmp(y, want, (size_t)n + 1) != 0;
    if (bad) fprintf(stderr, "%s quant n=%lld scale %g off %d differs\n", k->id, (long long)n, scale, off);
    free(x), free(y), free(want);
    return bad;
}

int main(void) {
    static const int64_t Ms[] = {1, 2, 4, 5, 7, 8, 9, 12, 17};
    static const int64_t Ns[] = {1, 5, 15, 16, 17, 31, 32, 33, 48, 50};
    static const int64_t Ks[] = {1, 2, 3, 4, 5, 7, 8, 13, 64, 67, 300};
    static const int64_t Cs[] = {1, 7, 8, 16, 17, 31, 32, 33, 35, 64, 65, 96, 100, 144};
    for (int v = 0; v < me_qint8_kernel_count; v++) {
        const me_qint8_kernel *k = &me_qint8_kernels[v];
        if (!me_cpu_has(k->isa)) {
            printf("skip %s (CPU lacks it)\n", k->id);
            continue;
        }
        int bad = 0;
        for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++)
            for (size_t ni = 0; ni < sizeof Ns / sizeof Ns[0]; ni++)
                for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
                    bad += gemm_case(k, Ms[mi], Ns[ni], Ks[ki], (int)((mi + ni + ki) % 6));
        for (int mode = 0; mode < 6; mode++) bad += gemm_case(k, 9, 33, 1000, mode);
        bad += requant_edges(k);
        for (size_t ci = 0; ci < sizeof Cs / sizeof Cs[0]; ci++)
            for (int mode = 0; mode < 7; mode++) { /* 6: bounds outside [0, 255] (codes stored mod 256) */
                bad += dw_case(k, Cs[ci], 3, 1, 1, 1, mode);
                bad += dw_case(k, Cs[ci], 3, 2, 1, 1, mode);
                bad += dw_case(k, Cs[ci], 5, 1, 2, 1, mode);
                bad += dw_case(k, Cs[ci], 3, 1, 2, 2, mode);
                bad += dw_case(k, Cs[ci], 1, 1, 0, 1, mode);
                bad += dw_case(k, Cs[ci], 2, 2, 1, 1, mode);
            }
        static const int64_t Ls[] = {1, 7, 8, 9, 16, 33, 100, 1000};
        for (size_t li = 0; li < sizeof Ls / sizeof Ls[0]; li++)
            for (int mode = 0; mode < 5; mode++) {
                for (int rep = 0; rep < 4; rep++) bad += add_case(k, Ls[li], mode) + mul_case(k, Ls[li], mode);
                bad += lut_case(k, Ls[li] + mode * 61);
                bad += quant_case(k, Ls[li], mode == 0 ? 0.25f : mode == 1 ? 0.0173f : 3.0f,
                                  mode == 2 ? 0 : mode == 3 ? -255 : mode == 4 ? 100 : -128);
            }
        CHECK(bad == 0);
        printf("%s: %s\n", k->id, bad ? "MISMATCH" : "bit-exact");
    }
    return check_exit();
}
