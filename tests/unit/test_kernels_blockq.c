/* Every blockq_dot variant (src/kernels/blockq_dot.inc) against an independent
 * per-block formula: the integer block sums are exact, so a variant may differ
 * from the double-precision sum of d_w*d_a*isum only by float accumulation, bounded
 * by 1e-5 * sum |d_w*d_a*isum| plus 1e-6 * sum |d_w*d_a| * sum |w*a| (variants that
 * scale partial block sums). The GEMM form keeps the tight bound. Edge sizes: 1
 * block, odd block counts, across the 8-block groups, 1..17 activation rows
 * (tiles of 8 plus tails), fp16 scales; the pre-packed Q4_0 form on 1..48 weight rows
 * (groups of 16 plus partial ones),
 * normal, subnormal, zero and large. A row's result must not depend on how many
 * rows were computed with it. Variants whose ISA the CPU lacks are skipped.
 * Self-contained (no library code besides the registry) so the aarch64 cross
 * build runs it too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/kernels.h"

enum { Q4_0, Q8_0 };

static uint32_t rng = 4242;
static uint32_t next(void) {
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

/* a random finite half: kind 0 normal (|v| in [2^-10, 2^5)), 1 subnormal, 2 signed zero */
static void put_half(uint8_t *p, int kind) {
    unsigned h = (next() & 1) << 15;
    if (kind == 0) h |= (5 + next() % 15) << 10 | (next() & 1023);
    if (kind == 1) h |= 1 + next() % 1023;
    p[0] = (uint8_t)h, p[1] = (uint8_t)(h >> 8);
}
static double get_half(const uint8_t *p) {
    const unsigned h = (unsigned)(p[0] | p[1] << 8), e = (h >> 10) & 31, m = h & 1023;
    const double v = e ? ldexp(1024.0 + m, (int)e - 25) : ldexp((double)m, -24);
    return h & 0x8000 ? -v : v;
}

/* weight element e of a block, from the layout (Q4_0: byte e%16, low nibble for e < 16) */
static int weight_at(int type, const uint8_t *blk, int e) {
    if (type == Q4_0) return (e < 16 ? blk[2 + e] & 15 : blk[2 + e - 16] >> 4) - 8;
    return (int8_t)blk[2 + e];
}

static void fill_weights(int type, uint8_t *w, int64_t rows, int64_t nb, int extreme) {
    const int bytes = type == Q4_0 ? 18 : 34;
    for (int64_t i = 0; i < rows * nb; i++) {
        uint8_t *blk = w + i * bytes;
        put_half(blk, i % 5 == 4 ? 1 : i % 7 == 6 ? 2 : 0); /* some subnormal and zero scales */
        for (int j = 2; j < bytes; j++) blk[j] = (uint8_t)(extreme ? (j & 1 ? 0x80 : 0x7F) : next());
    }
}

/* activation row r in the kernels' layout (kernels.h): quants + 128, then each scale 8 times */
static int act_quant(const uint8_t *row, int64_t b, int e) { return (int)row[32 * b + e] - 128; }
static double act_scale(const uint8_t *row, int64_t nb, int64_t b) {
    float f;
    memcpy(&f, row + 32 * nb + 32 * b, sizeof f);
    return f;
}

static int run_case(const me_blockq_dot_kernel *k, int type, int64_t nb, int rows, int extreme) {
    const int bytes = type == Q4_0 ? 18 : 34;
    const size_t arow = (size_t)nb * 64 + 64 * (size_t)(rows & 1); /* odd rows padded */
    uint8_t *w = malloc((size_t)nb * bytes), *act = malloc(arow * (size_t)rows);
    float *all = malloc(sizeof(float) * (size_t)rows);
    fill_weights(type, w, 1, nb, extreme);
    for (int r = 0; r < rows; r++) /* Q8_0 activation blocks: scale, then quants in -127..127 */
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *row = act + arow * (size_t)r, h[2];
            put_half(h, b % 11 == 10 ? 1 : 0);
            const float d = (float)get_half(h);
            for (int e = 0; e < 8; e++) memcpy(row + 32 * nb + 32 * b + 4 * e, &d, sizeof d);
            for (int e = 0; e < 32; e++)
                row[32 * b + e] = (uint8_t)(128 + (extreme ? (e & 2 ? -127 : 127) : (int)(next() % 255) - 127));
        }
    const me_blockq_dot_fn fn = type == Q4_0 ? k->q4_0 : k->q8_0;
    int bad = 0;
    for (int r0 = 0; r0 < rows; r0 += ME_BLOCKQ_DOT_MAX_ROWS) {
        int nr = rows - r0 < ME_BLOCKQ_DOT_MAX_ROWS ? rows - r0 : ME_BLOCKQ_DOT_MAX_ROWS;
        fn(nb, w, act + arow * (size_t)r0, arow, nr, all + r0);
    }
    for (int r = 0; r < rows; r++) {
        const uint8_t *a = act + arow * (size_t)r;
        double ref = 0.0, mag = 0.0, pmag = 0.0;
        for (int64_t b = 0; b < nb; b++) {
            long isum = 0, asum = 0;
            for (int e = 0; e < 32; e++) {
                const long p = (long)weight_at(type, w + b * bytes, e) * act_quant(a, b, e);
                isum += p, asum += labs(p);
            }
            const double s = get_half(w + b * bytes) * act_scale(a, nb, b);
            ref += s * (double)isum, mag += fabs(s * (double)isum), pmag += fabs(s) * (double)asum;
        }
        float one;
        fn(nb, w, a, arow, 1, &one); /* alone */
        if (memcmp(&one, &all[r], sizeof one) != 0) bad = 1; /* independent of the tile */
        /* a variant may scale partial block sums (SIMD lanes) before adding them, as ggml's
         * x86 vec_dots do: the float error is then bounded by the products' magnitude pmag */
        if (!(fabs((double)all[r] - ref) <= 1e-5 * mag + 1e-6 * pmag + 1e-30)) bad = 1;
        if (bad) {
            printf("FAIL %s type %d nb %lld row %d/%d: got %.9g want %.9g (mag %.3g)\n", k->id, type, (long long)nb, r,
                   rows, (double)all[r], ref, mag);
            break;
        }
    }
    free(w), free(act), free(all);
    return bad;
}

/* The GEMM form: nw weight rows (row stride padded) against nr activation rows;
 * each result within 1e-5 * magnitude of the double sum, equal bit for bit to the
 * same row computed alone (nw = 1, nr = 1), and nothing written past nw. */
static int run_gemm(const me_blockq_dot_kernel *k, int type, int64_t nb, int nw, int nr) {
    const int bytes = type == Q4_0 ? 18 : 34;
    const size_t ws = (size_t)nb * bytes + 6, arow = (size_t)nb * 64 + 64, ys = (size_t)nw + 3;
    uint8_t *w = calloc((size_t)nw, ws), *act = malloc(arow * (size_t)nr);
    float *y = malloc(sizeof(float) * ys * (size_t)nr), one;
    void *scratch = aligned_alloc(64, ME_BLOCKQ_GEMM_SCRATCH(nb));
    for (int j = 0; j < nw; j++) fill_weights(type, w + (size_t)j * ws, 1, nb, 0);
    for (int r = 0; r < nr; r++)
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *row = act + arow * (size_t)r, h[2];
            put_half(h, b % 11 == 10 ? 1 : 0);
            const float d = (float)get_half(h);
            for (int e = 0; e < 8; e++) memcpy(row + 32 * nb + 32 * b + 4 * e, &d, sizeof d);
            for (int e = 0; e < 32; e++) row[32 * b + e] = (uint8_t)(128 + (int)(next() % 255) - 127);
        }
    for (size_t i = 0; i < ys * (size_t)nr; i++) y[i] = -12345.0f;
    const me_blockq_gemm_fn fn = type == Q4_0 ? k->gemm_q4_0 : k->gemm_q8_0;
    fn(nb, w, ws, nw, act, arow, nr, y, ys, scratch);
    int bad = 0;
    for (int r = 0; r < nr && !bad; r++) {
        for (size_t j = (size_t)nw; j < ys; j++) bad |= y[(size_t)r * ys + j] != -12345.0f;
        for (int j = 0; j < nw && !bad; j++) {
            const uint8_t *a = act + arow * (size_t)r, *wr = w + (size_t)j * ws;
            double ref = 0.0, mag = 0.0;
            for (int64_t b = 0; b < nb; b++) {
                long isum = 0;
                for (int e = 0; e < 32; e++) isum += (long)weight_at(type, wr + b * bytes, e) * act_quant(a, b, e);
                const double t = get_half(wr + b * bytes) * act_scale(a, nb, b) * (double)isum;
                ref += t, mag += fabs(t);
            }
            const float got = y[(size_t)r * ys + (size_t)j];
            fn(nb, wr, ws, 1, a, arow, 1, &one, 1, scratch);
            if (memcmp(&one, &got, sizeof one) != 0 || !(fabs((double)got - ref) <= 1e-5 * mag + 1e-30)) {
                printf("FAIL gemm %s type %d nb %lld nw %d nr %d at %d,%d: got %.9g alone %.9g want %.9g\n", k->id, type,
                       (long long)nb, nw, nr, r, j, (double)got, (double)one, ref);
                bad = 1;
            }
        }
    }
    free(w), free(act), free(y), free(scratch);
    return bad;
}

/* The pre-packed Q4_0 form (q8: Q8_0, p8): m random rows packed with me_blockq_p4_pack (p8_pack), nr
 * activation rows in the p4 layout (signed quants, scales, -8 * sums computed here);
 * each result within 1e-5 * magnitude of the double sum decoded from the unpacked
 * blocks, equal bit for bit to the same row computed alone (its group only, one
 * activation row) and group by group, and nothing written outside the m columns. */
static int run_p4(const me_blockq_dot_kernel *k, int q8, int64_t nb, int64_t m, int64_t nr) {
    const int type = q8 ? Q8_0 : Q4_0;
    const me_blockq_p4_fn fn = q8 ? k->p8_0 : k->p4_0;
    const size_t bw = q8 ? 34 : 18, rb = (size_t)nb * bw, arow = ME_BLOCKQ_P4_ACT_BYTES(nb) + 24, ys = (size_t)m + 5;
    const int64_t ng = (m + ME_BLOCKQ_P4_ROWS - 1) / ME_BLOCKQ_P4_ROWS;
    const size_t gs = q8 ? ME_BLOCKQ_P8_GROUP_BYTES(nb) : ME_BLOCKQ_P4_GROUP_BYTES(nb);
    uint8_t *w = malloc(rb * (size_t)m), *act = malloc(arow * (size_t)nr);
    void *pk = aligned_alloc(64, gs * (size_t)ng);
    float *y = malloc(sizeof(float) * ys * (size_t)nr), *y2 = malloc(sizeof(float) * ys * (size_t)nr), one;
    fill_weights(type, w, m, nb, 0);
    (q8 ? me_blockq_p8_pack : me_blockq_p4_pack)(w, rb, m, nb, pk);
    for (int64_t r = 0; r < nr; r++) {
        uint8_t *row = act + arow * (size_t)r, h[2];
        for (int64_t b = 0; b < nb; b++) {
            put_half(h, b % 11 == 10 ? 1 : 0);
            const float d = (float)get_half(h);
            int32_t sum = 0;
            for (int e = 0; e < 32; e++) {
                const int q = nr == 2 ? (e & 1 ? -127 : 127) : (int)(next() % 255) - 127;
                row[32 * b + e] = (uint8_t)(int8_t)q;
                sum += q;
            }
            const int32_t c = -8 * sum;
            memcpy(row + 32 * nb + 4 * b, &d, 4);
            memcpy(row + 36 * nb + 4 * b, &c, 4);
        }
    }
    for (size_t i = 0; i < ys * (size_t)nr; i++) y[i] = y2[i] = -12345.0f;
    const int nw_last = (int)(m - (ng - 1) * ME_BLOCKQ_P4_ROWS);
    fn(nb, pk, ng, nw_last, act, arow, nr, y, ys);
    for (int64_t g = 0; g < ng; g++) /* group by group, as threads split the work */
        fn(nb, (const uint8_t *)pk + (size_t)g * gs, 1, g == ng - 1 ? nw_last : ME_BLOCKQ_P4_ROWS, act, arow, nr,
                y2 + g * ME_BLOCKQ_P4_ROWS, ys);
    int bad = 0;
    for (int64_t r = 0; r < nr && !bad; r++) {
        for (size_t j = (size_t)m; j < ys; j++) bad |= y[(size_t)r * ys + j] != -12345.0f;
        if (bad) printf("FAIL p%d %s nb %lld m %lld nr %lld: wrote past column %lld\n", q8 ? 8 : 4, k->id, (long long)nb,
                        (long long)m, (long long)nr, (long long)m);
        for (int64_t j = 0; j < m && !bad; j++) {
            const uint8_t *a = act + arow * (size_t)r, *wr = w + (size_t)j * rb;
            double ref = 0.0, mag = 0.0;
            for (int64_t b = 0; b < nb; b++) {
                long isum = 0;
                for (int e = 0; e < 32; e++) isum += (long)weight_at(type, wr + b * bw, e) * (int8_t)a[32 * b + e];
                float da;
                memcpy(&da, a + 32 * nb + 4 * b, 4);
                const double t = get_half(wr + b * bw) * da * (double)isum;
                ref += t, mag += fabs(t);
            }
            const int64_t g = j / ME_BLOCKQ_P4_ROWS;
            const float got = y[(size_t)r * ys + (size_t)j], split = y2[(size_t)r * ys + (size_t)j];
            float alone[ME_BLOCKQ_P4_ROWS];
            fn(nb, (const uint8_t *)pk + (size_t)g * gs, 1, g == ng - 1 ? nw_last : ME_BLOCKQ_P4_ROWS, a, arow, 1,
                    alone, ME_BLOCKQ_P4_ROWS);
            one = alone[j % ME_BLOCKQ_P4_ROWS];
            if (memcmp(&one, &got, sizeof one) != 0 || memcmp(&split, &got, sizeof one) != 0 ||
                !(fabs((double)got - ref) <= 1e-5 * mag + 1e-30)) {
                printf("FAIL p%d %s nb %lld m %lld nr %lld at %lld,%lld: got %.9g alone %.9g split %.9g want %.9g\n",
                       q8 ? 8 : 4, k->id, (long long)nb, (long long)m, (long long)nr, (long long)r, (long long)j, (double)got,
                       (double)one, (double)split, ref);
                bad = 1;
            }
        }
    }
    free(w), free(act), free(pk), free(y), free(y2);
    return bad;
}

/* p4 activation quantisation, bit for bit against a naive Q8_0 quantiser written here
 * (fp16 rounding through _Float16, rounding by nearbyintf) on random rows with zero
 * blocks, NaN, infinities, subnormals and huge values. */
static int run_p4q(const me_blockq_dot_kernel *k, int64_t nb) {
    float *x = malloc(sizeof(float) * 32 * (size_t)nb);
    uint8_t *got = malloc(ME_BLOCKQ_P4_ACT_BYTES(nb)), *want = malloc(ME_BLOCKQ_P4_ACT_BYTES(nb));
    for (int64_t i = 0; i < 32 * nb; i++) {
        const int64_t b = i / 32;
        const uint32_t r = next();
        float v = (float)ldexp((double)(int)(r % 20001) - 10000.0, -(int)(r % 13) - 2);
        if (b % 5 == 3) v = 0.0f;                                    /* an all-zero block */
        if (b % 7 == 4 && i % 32 == 5) v = NAN;                      /* NaN never wins amax */
        if (b % 7 == 5 && i % 32 == 9) v = -INFINITY;                /* amax infinite: all q 0 */
        if (b % 7 == 6) v = (float)ldexp((double)(int)(r % 201) - 100.0, -140); /* subnormal */
        if (b % 11 == 8 && i % 32 == 0) v = 3.0e38f;
        x[i] = v;
    }
    for (int64_t b = 0; b < nb; b++) {
        float amax = 0.0f;
        for (int e = 0; e < 32; e++)
            if (!isnan(x[32 * b + e]) && fabsf(x[32 * b + e]) > amax) amax = fabsf(x[32 * b + e]);
        const float d = (float)(_Float16)(amax / 127.0f), id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int32_t sum = 0;
        for (int e = 0; e < 32; e++) {
            const float v = nearbyintf(x[32 * b + e] * id);
            const int q = fabsf(v) <= 127.0f ? (int)v : 0; /* NaN: 0 */
            want[32 * b + e] = (uint8_t)(int8_t)q;
            sum += q;
        }
        const int32_t c = -8 * sum;
        memcpy(want + 32 * nb + 4 * b, &d, 4);
        memcpy(want + 36 * nb + 4 * b, &c, 4);
    }
    k->p4q(x, nb, got);
    const int bad = memcmp(got, want, ME_BLOCKQ_P4_ACT_BYTES(nb)) != 0;
    if (bad) printf("FAIL p4q %s nb %lld\n", k->id, (long long)nb);
    free(x), free(got), free(want);
    return bad;
}

/* K-quant form: random Q4_K / Q6_K super-blocks (random bytes, normal fp16 scales)
 * against random Q8_K rows (bsums consistent with the quants), decoded here from
 * the layout, summed in double; within 1e-5 of the magnitude. */
static int run_kdot(const me_blockq_dot_kernel *k, int q6, int64_t nsb) {
    const int bytes = q6 ? 210 : 144;
    uint8_t *w = malloc((size_t)nsb * bytes), *a = malloc((size_t)nsb * 292);
    for (int64_t i = 0; i < nsb; i++) {
        uint8_t *b = w + i * bytes, *y = a + i * 292;
        for (int j = 0; j < bytes; j++) b[j] = (uint8_t)next();
        put_half(q6 ? b + 208 : b, 0);
        if (!q6) put_half(b + 2, 0);
        const float d = (float)ldexp(1.0 + (next() % 1024) / 1024.0, -(int)(next() % 12));
        memcpy(y, &d, 4);
        int8_t *q = (int8_t *)(y + 4);
        for (int e = 0; e < 256; e++) q[e] = (int8_t)((int)(next() % 255) - 127);
        for (int g = 0; g < 16; g++) {
            int16_t s = 0;
            for (int e = 0; e < 16; e++) s = (int16_t)(s + q[16 * g + e]);
            memcpy(y + 260 + 2 * g, &s, 2);
        }
    }
    double ref = 0.0, mag = 0.0;
    for (int64_t i = 0; i < nsb; i++) {
        const uint8_t *b = w + i * bytes, *y = a + i * 292;
        float yd;
        memcpy(&yd, y, 4);
        const int8_t *q = (const int8_t *)(y + 4);
        for (int e = 0; e < 256; e++) {
            double wv; /* the dequantised weight */
            if (q6) {
                const int h = e / 128, r = e % 128, l = r % 32, part = r / 32;
                const uint8_t *ql = b + 64 * h, *qh = b + 128 + 32 * h;
                const int lo = part == 0 ? ql[l] & 15 : part == 1 ? ql[l + 32] & 15 : part == 2 ? ql[l] >> 4 : ql[l + 32] >> 4;
                const int hi = (qh[l] >> (2 * part)) & 3;
                wv = get_half(b + 208) * (int8_t)b[192 + e / 16] * ((lo | hi << 4) - 32);
            } else {
                const int c = e / 64, r = e % 64, j = 2 * c + (r >= 32);
                const int qv = r < 32 ? b[16 + 32 * c + r] & 15 : b[16 + 32 * c + r - 32] >> 4;
                const uint8_t *s = b + 4;
                const int sc = j < 4 ? s[j] & 63 : (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
                const int m = j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | (s[j] >> 6) << 4;
                wv = get_half(b) * sc * qv - get_half(b + 2) * m;
            }
            const double t = wv * yd * q[e];
            ref += t, mag += fabs(t);
        }
    }
    const float got = (q6 ? k->q6_k : k->q4_k)(nsb, w, a);
    const int bad = !(fabs((double)got - ref) <= 1e-5 * mag + 1e-30);
    if (bad) printf("FAIL %s %s nsb %lld: got %.9g want %.9g (mag %.3g)\n", k->id, q6 ? "q6_k" : "q4_k", (long long)nsb,
                    (double)got, ref, mag);
    free(w), free(a);
    return bad;
}

int main(void) {
    static const int64_t nbs[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 96};
    static const int rowcounts[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 17};
    static const int types[] = {Q4_0, Q8_0};
    CHECK(me_blockq_dot_kernel_count >= 1);
    CHECK(me_blockq_dot_kernels[me_blockq_dot_kernel_count - 1].isa == 0);
    for (int v = 0; v < me_blockq_dot_kernel_count; v++) {
        const me_blockq_dot_kernel *k = &me_blockq_dot_kernels[v];
        if (!me_cpu_has(k->isa)) {
            printf("skip %s (CPU lacks its ISA)\n", k->id);
            continue;
        }
        CHECK(me_blockq_dot_find(k->id) == k);
        int fails = 0;
        for (int t = 0; t < 2; t++) {
            for (size_t i = 0; i < sizeof nbs / sizeof nbs[0]; i++)
                for (size_t j = 0; j < sizeof rowcounts / sizeof rowcounts[0]; j++)
                    fails += run_case(k, types[t], nbs[i], rowcounts[j], 0);
            fails += run_case(k, types[t], 9, 5, 1);
            fails += run_case(k, types[t], 1, 1, 1);
            if (!(types[t] == Q4_0 ? k->gemm_q4_0 : k->gemm_q8_0)) continue;
            static const int nws[] = {1, 5, 15, 16}, nrs[] = {1, 4, 6, 7, 13};
            for (size_t i = 0; i < 5; i++)
                for (size_t a = 0; a < 4; a++)
                    for (size_t b = 0; b < 5; b++) fails += run_gemm(k, types[t], nbs[i * 2], nws[a], nrs[b]);
        }
        if (k->p4q)
            for (size_t i = 0; i < sizeof nbs / sizeof nbs[0]; i++) fails += run_p4q(k, nbs[i]);
        for (int q8 = 0; q8 < 2; q8++) {
            if (!(q8 ? k->p8_0 : k->p4_0)) continue;
            static const int64_t p4m[] = {1, 5, 16, 17, 33, 48}, p4r[] = {1, 2, 3, 8, 9, 13};
            for (size_t i = 0; i < 6; i++)
                for (size_t a = 0; a < 6; a++)
                    for (size_t b = 0; b < 6; b++) fails += run_p4(k, q8, nbs[i * 2 % 11], p4m[a], p4r[b]);
        }
        for (int q6 = 0; q6 < 2; q6++)
            for (int64_t nsb = 1; nsb <= 5; nsb += 2)
                if (q6 ? k->q6_k : k->q4_k)
                    for (int rep = 0; rep < 20; rep++) fails += run_kdot(k, q6, nsb);
        CHECK(fails == 0);
        printf("ok %s\n", k->id);
    }
    CHECK(me_blockq_dot_select() != NULL);
    return check_exit();
}
