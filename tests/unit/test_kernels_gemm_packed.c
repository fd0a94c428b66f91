/* The packed-weights entry of every gemm_f32 variant (kernels.h,
 * gemm_f32_packed.h): B packed from a [K, N] and from an [N, K] matrix, then
 * act(A*B + bias) against a naive double-precision loop, on sizes below, at
 * and above each register tile, panel width and K block; each row computed
 * alone equals the same row in a larger call; the threaded driver gives
 * bit-identical results for 1, 2 and 3 threads. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/gemm_f32_packed.h"

static uint32_t rng = 777;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *pack(const me_gemm_f32_kernel *kern, int trans, int64_t N, int64_t K, const float *B, int64_t ldb) {
    size_t bytes;
    CHECK(me_gemm_f32_packed_size(N, K, kern->pnr, &bytes));
    float *bp = malloc(bytes + 64);
    if (trans) me_gemm_f32_pack_b(kern->pnr, N, K, B, 1, ldb, bp);
    else me_gemm_f32_pack_b(kern->pnr, N, K, B, ldb, 1, bp);
    return bp;
}

static int check_one(const me_gemm_f32_kernel *kern, int trans, int act, int use_bias, int64_t M, int64_t N,
                     int64_t K) {
    int64_t lda = K + 3, ldb = (trans ? K : N) + 5, ldc = N + 7, brows = trans ? N : K;
    float *A = malloc(sizeof(float) * (size_t)(M * lda + 1)), *B = malloc(sizeof(float) * (size_t)(brows * ldb + 1));
    float *C = malloc(sizeof(float) * (size_t)(M * ldc + 1)), *C0 = malloc(sizeof(float) * (size_t)(M * ldc + 1));
    float *bias = malloc(sizeof(float) * (size_t)(N + 1));
    for (int64_t i = 0; i < M * lda; i++) A[i] = frand();
    for (int64_t i = 0; i < brows * ldb; i++) B[i] = frand();
    for (int64_t i = 0; i < M * ldc; i++) C0[i] = C[i] = frand();
    for (int64_t i = 0; i < N; i++) bias[i] = frand();
    float *bp = pack(kern, trans, N, K, B, ldb);
    me_gemm_f32_epi e = {use_bias ? bias : NULL, act, -0.25f, 0.5f};
    kern->packed(M, N, K, A, lda, bp, C, ldc, &e);
    int bad = 0;
    for (int64_t i = 0; i < M && !bad; i++)
        for (int64_t j = 0; j < ldc; j++) {
            if (j >= N) { /* padding untouched */
                if (C[i * ldc + j] != C0[i * ldc + j]) bad = 1;
                continue;
            }
            double s = use_bias ? bias[j] : 0.0, mag = fabs(s);
            for (int64_t k = 0; k < K; k++) {
                double p = (double)A[i * lda + k] * (trans ? B[j * ldb + k] : B[k * ldb + j]);
                s += p;
                mag += fabs(p);
            }
            if (act == 1 && s < 0) s = 0;
            if (act == 2) s = s < -0.25 ? -0.25 : s > 0.5 ? 0.5 : s;
            double err = fabs(C[i * ldc + j] - s);
            if (!(err <= 1e-5 * mag + 1e-30)) {
                fprintf(stderr, "%s packed trans=%d act=%d M=%lld N=%lld K=%lld: C[%lld][%lld]=%g want %g\n", kern->id,
                        trans, act, (long long)M, (long long)N, (long long)K, (long long)i, (long long)j,
                        C[i * ldc + j], s);
                bad = 1;
                break;
            }
        }
    free(A); free(B); free(C); free(C0); free(bias); free(bp);
    return bad;
}

static int rows_identical(const me_gemm_f32_kernel *kern, int64_t M, int64_t N, int64_t K) {
    float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(N * K));
    float *C = malloc(sizeof(float) * (size_t)(M * N)), *R = malloc(sizeof(float) * (size_t)(M * N));
    float *bias = malloc(sizeof(float) * (size_t)N);
    for (int64_t i = 0; i < M * K; i++) A[i] = frand();
    for (int64_t i = 0; i < N * K; i++) B[i] = frand();
    for (int64_t i = 0; i < N; i++) bias[i] = frand();
    float *bp = pack(kern, 0, N, K, B, N);
    me_gemm_f32_epi e = {bias, 1, 0, 0};
    kern->packed(M, N, K, A, K, bp, C, N, &e);
    for (int64_t i = 0; i < M; i++) kern->packed(1, N, K, A + i * K, K, bp, R + i * N, N, &e);
    int same = memcmp(C, R, sizeof(float) * (size_t)(M * N)) == 0;
    if (!same) fprintf(stderr, "%s packed M=%lld: rows differ from single-row calls\n", kern->id, (long long)M);
    free(A); free(B); free(C); free(R); free(bias); free(bp);
    return !same;
}

static void threads_identical(int64_t M, int64_t N, int64_t K) {
    const me_gemm_f32_kernel *kern = me_gemm_f32_select();
    float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(N * K));
    float *bias = malloc(sizeof(float) * (size_t)N);
    float *C[3];
    for (int64_t i = 0; i < M * K; i++) A[i] = frand();
    for (int64_t i = 0; i < N * K; i++) B[i] = frand();
    for (int64_t i = 0; i < N; i++) bias[i] = frand();
    float *bp = pack(kern, 1, N, K, B, K);
    me_gemm_f32_epi e = {bias, 2, -0.5f, 0.75f};
    for (int t = 0; t < 3; t++) {
        C[t] = calloc((size_t)(M * N), sizeof(float));
        me_threadpool *p = me_threadpool_create(t + 1);
        CHECK(p != NULL);
        me_sgemm_packed(p, NULL, M, N, K, A, K, bp, C[t], N, &e);
        me_threadpool_destroy(p);
    }
    CHECK(memcmp(C[0], C[1], sizeof(float) * (size_t)(M * N)) == 0);
    CHECK(memcmp(C[0], C[2], sizeof(float) * (size_t)(M * N)) == 0);
    for (int t = 0; t < 3; t++) free(C[t]);
    free(A); free(B); free(bias); free(bp);
}

int main(void) {
    static const int64_t ms[] = {1, 2, 5, 6, 7, 13, 14, 15, 29, 150};
    static const int64_t ns[] = {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 70, 530};
    static const int64_t ks[] = {0, 1, 7, 16, 17, 255, 256, 257, 321, 700};
    int tested = 0;
    for (int v = 0; v < me_gemm_f32_kernel_count; v++) {
        const me_gemm_f32_kernel *kern = &me_gemm_f32_kernels[v];
        if (!me_cpu_has(kern->isa)) {
            printf("skip %s: this CPU (or ME_ISA) lacks its ISA\n", kern->id);
            continue;
        }
        CHECK(kern->packed != NULL && kern->pmr >= 1 && kern->pnr >= 1);
        /* one panel layout for all: weights packed for one variant run with any */
        CHECK(kern->pnr == me_gemm_f32_kernels[0].pnr);
        int bad = 0, combo = 0;
        for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
            for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
                for (size_t c = 0; c < sizeof ks / sizeof *ks; c++, combo++)
                    if (ms[a] * ns[b] * ks[c] <= 12000000) /* the naive check is slow under qemu */
                        bad += check_one(kern, combo & 1, combo % 3, (combo >> 1) & 1, ms[a], ns[b], ks[c]);
        CHECK(bad == 0);
        CHECK(rows_identical(kern, 29, 70, 300) == 0);
        CHECK(rows_identical(kern, 15, 33, 700) == 0);
        printf("checked %s (packed)\n", kern->id);
        tested++;
    }
    CHECK(tested >= 1);
    size_t bytes;
    CHECK(me_gemm_f32_packed_size(17, 3, 16, &bytes) && bytes == 32 * 3 * sizeof(float));
    CHECK(!me_gemm_f32_packed_size(INT64_MAX / 2, INT64_MAX / 4, 16, &bytes));
    threads_identical(301, 70, 65);   /* rows */
    threads_identical(7, 600, 129);   /* panels */
    threads_identical(30, 40, 300);   /* grid */
    threads_identical(3000, 64, 70);
    return check_exit();
}
