/* Every blockq_dot variant (src/kernels/blockq_dot.inc) against an independent
 * per-block formula: the integer block sums are exact, so a variant may differ
 * from the double-precision sum of d_w*d_a*isum only by float accumulation, bounded
 * by 1e-5 * sum |d_w*d_a*isum|. Edge sizes: 1 block, odd block counts, across the
 * 8-block groups, 1..13 activation rows (tiles of 4 plus tails), fp16 scales
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

static int run_case(const me_blockq_dot_kernel *k, int type, int64_t nb, int rows, int extreme) {
    const int bytes = type == Q4_0 ? 18 : 34;
    const size_t arow = (size_t)nb * 34 + 2 * (size_t)(rows & 1); /* Q8_0 rows, odd rows padded */
    uint8_t *w = malloc((size_t)nb * bytes), *act = malloc(arow * (size_t)rows);
    float *all = malloc(sizeof(float) * (size_t)rows);
    fill_weights(type, w, 1, nb, extreme);
    for (int r = 0; r < rows; r++) /* Q8_0 activation blocks: scale, then quants in -127..127 */
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *blk = act + arow * (size_t)r + 34 * b;
            put_half(blk, b % 11 == 10 ? 1 : 0);
            for (int e = 0; e < 32; e++)
                blk[2 + e] = (uint8_t)(int8_t)(extreme ? (e & 2 ? -127 : 127) : (int)(next() % 255) - 127);
        }
    float *ad = malloc(sizeof(float) * (size_t)(rows * nb)); /* the activation scales as floats */
    for (int r = 0; r < rows; r++)
        for (int64_t b = 0; b < nb; b++) ad[r * nb + b] = (float)get_half(act + arow * (size_t)r + 34 * b);
    const me_blockq_dot_fn fn = type == Q4_0 ? k->q4_0 : k->q8_0;
    int bad = 0;
    for (int r0 = 0; r0 < rows; r0 += ME_BLOCKQ_DOT_MAX_ROWS) {
        int nr = rows - r0 < ME_BLOCKQ_DOT_MAX_ROWS ? rows - r0 : ME_BLOCKQ_DOT_MAX_ROWS;
        fn(nb, w, act + arow * (size_t)r0, arow, ad + r0 * nb, nr, all + r0);
    }
    for (int r = 0; r < rows; r++) {
        const uint8_t *a = act + arow * (size_t)r;
        double ref = 0.0, mag = 0.0;
        for (int64_t b = 0; b < nb; b++) {
            long isum = 0;
            for (int e = 0; e < 32; e++) isum += (long)weight_at(type, w + b * bytes, e) * (int8_t)a[34 * b + 2 + e];
            const double t = get_half(w + b * bytes) * get_half(a + 34 * b) * (double)isum;
            ref += t, mag += fabs(t);
        }
        float one;
        fn(nb, w, a, arow, NULL, 1, &one); /* alone, scales read from the fp16 */
        if (memcmp(&one, &all[r], sizeof one) != 0) bad = 1; /* independent of the tile */
        if (!(fabs((double)all[r] - ref) <= 1e-5 * mag + 1e-30)) bad = 1;
        if (bad) {
            printf("FAIL %s type %d nb %lld row %d/%d: got %.9g want %.9g (mag %.3g)\n", k->id, type, (long long)nb, r,
                   rows, (double)all[r], ref, mag);
            break;
        }
    }
    free(w), free(act), free(all), free(ad);
    return bad;
}

int main(void) {
    static const int64_t nbs[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 96};
    static const int rowcounts[] = {1, 2, 3, 4, 5, 7, 8, 13};
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
        }
        CHECK(fails == 0);
        printf("ok %s\n", k->id);
    }
    CHECK(me_blockq_dot_select() != NULL);
    return check_exit();
}
