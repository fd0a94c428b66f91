/* Packed-weights float32 GEMM: B packing, the threaded driver and the
 * portable packed kernel (see gemm_f32_packed.h and kernels.h). */
#include "gemm_f32_packed.h"

#include <string.h>

bool me_gemm_f32_packed_size(int64_t N, int64_t K, int pnr, size_t *bytes) {
    if (N < 0 || K < 0 || pnr < 1) return false;
    uint64_t panels = ((uint64_t)N + (uint64_t)pnr - 1) / (uint64_t)pnr;
    uint64_t cols = panels * (uint64_t)pnr; /* N < 2^63, pnr small: no overflow */
    if (K != 0 && cols > SIZE_MAX / sizeof(float) / (uint64_t)K) return false;
    *bytes = (size_t)(cols * (uint64_t)K * sizeof(float));
    return true;
}

void me_gemm_f32_pack_b(int pnr, int64_t N, int64_t K, const float *B, int64_t sk, int64_t sn, float *dst) {
    for (int64_t j = 0; j < N; j += pnr) {
        int64_t w = N - j < pnr ? N - j : pnr;
        for (int64_t k = 0; k < K; k++, dst += pnr) {
            const float *b = B + k * sk + j * sn;
            for (int64_t t = 0; t < w; t++) dst[t] = b[t * sn];
            for (int64_t t = w; t < pnr; t++) dst[t] = 0.0f;
        }
    }
}

/* ---- threaded driver ---- */
enum { PAR_MIN_MACS = 1 << 17 };

typedef struct packed_job {
    const me_gemm_f32_kernel *kern;
    int64_t M, N, K, lda, ldc;
    const float *A, *Bp;
    float *C;
    const me_gemm_f32_epi *e;
    int64_t mt, mstep, pstep, pchunks; /* 2-D grid: mt row chunks of mstep rows, pchunks of pstep panels */
    int mode;                          /* 0 rows, 1 panels, 2 grid */
} packed_job;

static void packed_call(const packed_job *j, int64_t r0, int64_t r1, int64_t p0, int64_t p1) {
    int64_t pnr = j->kern->pnr, c0 = p0 * pnr, c1 = p1 * pnr < j->N ? p1 * pnr : j->N;
    if (r1 <= r0 || c1 <= c0) return;
    me_gemm_f32_epi e = *j->e;
    if (e.bias) e.bias += c0;
    j->kern->packed(r1 - r0, c1 - c0, j->K, j->A + r0 * j->lda, j->lda, j->Bp + p0 * j->K * pnr,
                    j->C + r0 * j->ldc + c0, j->ldc, &e);
}

static void packed_chunk(void *v, int64_t b, int64_t e) {
    const packed_job *j = v;
    int64_t np = (j->N + j->kern->pnr - 1) / j->kern->pnr;
    if (j->mode == 0) {
        packed_call(j, b, e, 0, np);
    } else if (j->mode == 1) {
        packed_call(j, 0, j->M, b, e);
    } else {
        for (int64_t t = b; t < e; t++) {
            int64_t mi = t % j->mt, pi = t / j->mt;
            int64_t r0 = mi * j->mstep, r1 = r0 + j->mstep < j->M ? r0 + j->mstep : j->M;
            int64_t p0 = pi * j->pstep, p1 = p0 + j->pstep < np ? p0 + j->pstep : np;
            packed_call(j, r0, r1, p0, p1);
        }
    }
}

void me_sgemm_packed(me_threadpool *tp, const me_gemm_f32_kernel *kern, int64_t M, int64_t N, int64_t K,
                     const float *A, int64_t lda, const float *Bp, float *C, int64_t ldc, const me_gemm_f32_epi *e) {
    if (M <= 0 || N <= 0) return;
    if (!kern) kern = me_gemm_f32_select();
    int threads = me_threadpool_threads(tp);
    if (threads < 2 || (double)M * (double)N * (double)(K > 0 ? K : 1) < PAR_MIN_MACS) {
        kern->packed(M, N, K, A, lda, Bp, C, ldc, e);
        return;
    }
    packed_job j = {kern, M, N, K, lda, ldc, A, Bp, C, e, 0, 0, 0, 0, 0};
    int64_t mr = kern->pmr, np = (N + kern->pnr - 1) / kern->pnr, mt = (M + mr - 1) / mr;
    /* Every thread reads all of the operand it does not split: split the
     * columns (the weights) when they are the larger operand, else the rows;
     * a grid when neither alone gives each thread a few chunks. */
    /* column splits in whole register tiles (the nn tile is as wide as the packed one) */
    int64_t pal = kern->nr > kern->pnr ? kern->nr / kern->pnr : 1;
    if (N >= M && np >= 2 * threads * pal) {
        j.mode = 1;
        me_parallel_for(tp, np, pal, packed_chunk, &j);
    } else if (mt >= 2 * threads) {
        j.mode = 0;
        me_parallel_for(tp, M, mr, packed_chunk, &j);
    } else {
        j.mode = 2;
        j.mt = mt;
        j.mstep = mr;
        int64_t want = 4 * (int64_t)threads, pc = (want + mt - 1) / mt;
        if (pc > np) pc = np;
        j.pstep = ((np + pc - 1) / pc + pal - 1) / pal * pal;
        j.pchunks = (np + j.pstep - 1) / j.pstep;
        me_parallel_for(tp, mt * j.pchunks, 1, packed_chunk, &j);
    }
}

/* ---- portable packed kernel: 4 x 16 tiles ---- */
enum { G_MR = 4, G_NR = 16, G_KC = 256 };

static inline float act_f32(const me_gemm_f32_epi *e, float v) {
    if (e->act == 1) return v < 0.0f ? 0.0f : v;
    if (e->act == 2) {
        v = v < e->lo ? e->lo : v;
        return v > e->hi ? e->hi : v;
    }
    return v;
}

void me_gemm_f32_packed__generic(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *Bp,
                                 float *C, int64_t ldc, const me_gemm_f32_epi *e) {
    int64_t nkb = K > 0 ? (K + G_KC - 1) / G_KC : 1;
    for (int64_t kb = 0; kb < nkb; kb++) {
        int64_t k0 = kb * G_KC, kc = K - k0 < G_KC ? K - k0 : G_KC;
        int first = kb == 0, last = kb == nkb - 1;
        if (kc < 0) kc = 0;
        for (int64_t j = 0; j < N; j += G_NR) {
            int64_t w = N - j < G_NR ? N - j : G_NR;
            const float *bp = Bp + j * K + k0 * G_NR; /* panel j / G_NR starts at (j / G_NR) * K * G_NR */
            for (int64_t i = 0; i < M; i += G_MR) {
                int64_t rows = M - i < G_MR ? M - i : G_MR;
                const float *ar[G_MR];
                float acc[G_MR][G_NR];
                for (int r = 0; r < G_MR; r++) {
                    ar[r] = A + (i + (r < rows ? r : rows - 1)) * lda + k0; /* extra rows recompute the last */
                    for (int t = 0; t < G_NR; t++)
                        acc[r][t] = (!first && r < rows && t < w) ? C[(i + r) * ldc + j + t] : 0.0f;
                }
                const float *b = bp;
                for (int64_t k = 0; k < kc; k++, b += G_NR)
                    for (int r = 0; r < G_MR; r++) {
                        float a = ar[r][k];
                        for (int t = 0; t < G_NR; t++) acc[r][t] += a * b[t];
                    }
                for (int64_t r = 0; r < rows; r++) {
                    float *c = C + (i + r) * ldc + j;
                    if (last) {
                        for (int64_t t = 0; t < w; t++)
                            c[t] = act_f32(e, e->bias ? acc[r][t] + e->bias[j + t] : acc[r][t]);
                    } else {
                        for (int64_t t = 0; t < w; t++) c[t] = acc[r][t];
                    }
                }
            }
        }
    }
}
