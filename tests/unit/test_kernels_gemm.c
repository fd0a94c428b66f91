/* Every gemm_f32 variant in src/kernels/gemm_f32.inc against a naive
 * double-precision product, on sizes below, at and above each tile and
 * vector width; and the threaded entry point gives bit-identical results for
 * 1, 2 and 3 threads. Variants whose ISA this CPU lacks are skipped (printed). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/dispatch.h"

static uint32_t rng = 12345;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* C0 + A*B (nn) or C0 + A*B^T (nt), with the error bound's scale. */
static void naive(int nt, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                  const float *C0, int64_t ldc, double *ref, double *scale) {
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = C0[i * ldc + j], mag = fabs(s);
            for (int64_t k = 0; k < K; k++) {
                double p = (double)A[i * lda + k] * (nt ? B[j * ldb + k] : B[k * ldb + j]);
                s += p;
                mag += fabs(p);
            }
            ref[i * N + j] = s;
            scale[i * N + j] = mag;
        }
}

static int check_one(const me_gemm_f32_kernel *kern, int nt, int64_t M, int64_t N, int64_t K) {
    /* padded leading dimensions catch reads/writes outside the block */
    int64_t lda = K + 3, ldb = (nt ? K : N) + 5, ldc = N + 7;
    int64_t brows = nt ? N : K;
    float *A = malloc(sizeof(float) * (size_t)(M * lda + 1)), *B = malloc(sizeof(float) * (size_t)(brows * ldb + 1));
    float *C = malloc(sizeof(float) * (size_t)(M * ldc + 1)), *C0 = malloc(sizeof(float) * (size_t)(M * ldc + 1));
    double *ref = malloc(sizeof(double) * (size_t)(M * N + 1)), *scale = malloc(sizeof(double) * (size_t)(M * N + 1));
    for (int64_t i = 0; i < M * lda; i++) A[i] = frand();
    for (int64_t i = 0; i < brows * ldb; i++) B[i] = frand();
    for (int64_t i = 0; i < M * ldc; i++) C0[i] = C[i] = frand();
    naive(nt, M, N, K, A, lda, B, ldb, C0, ldc, ref, scale);
    (nt ? kern->nt : kern->nn)(M, N, K, A, lda, B, ldb, C, ldc);
    int bad = 0;
    for (int64_t i = 0; i < M && !bad; i++)
        for (int64_t j = 0; j < ldc; j++) {
            if (j >= N) { /* padding untouched */
                if (C[i * ldc + j] != C0[i * ldc + j]) bad = 1;
                continue;
            }
            double err = fabs(C[i * ldc + j] - ref[i * N + j]);
            if (!(err <= 1e-5 * scale[i * N + j] + 1e-30)) {
                fprintf(stderr, "%s %s M=%lld N=%lld K=%lld: C[%lld][%lld]=%g want %g\n", kern->id, nt ? "nt" : "nn",
                        (long long)M, (long long)N, (long long)K, (long long)i, (long long)j, C[i * ldc + j],
                        ref[i * N + j]);
                bad = 1;
                break;
            }
        }
    free(A); free(B); free(C); free(C0); free(ref); free(scale);
    return bad;
}

/* Each row computed alone (M = 1) equals the same row computed inside a
 * larger call: the per-element arithmetic does not depend on the tile, which
 * is what makes thread splits bit-exact. */
static int rows_identical(const me_gemm_f32_kernel *kern, int nt, int64_t M, int64_t N, int64_t K) {
    float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(N * K));
    float *C = malloc(sizeof(float) * (size_t)(M * N)), *R = malloc(sizeof(float) * (size_t)(M * N));
    for (int64_t i = 0; i < M * K; i++) A[i] = frand();
    for (int64_t i = 0; i < N * K; i++) B[i] = frand();
    for (int64_t i = 0; i < M * N; i++) C[i] = R[i] = frand();
    me_gemm_f32_fn fn = nt ? kern->nt : kern->nn;
    int64_t ldb = nt ? K : N;
    fn(M, N, K, A, K, B, ldb, C, N);
    for (int64_t i = 0; i < M; i++) fn(1, N, K, A + i * K, K, B, ldb, R + i * N, N);
    int same = memcmp(C, R, sizeof(float) * (size_t)(M * N)) == 0;
    if (!same) fprintf(stderr, "%s %s M=%lld: rows differ from single-row calls\n", kern->id, nt ? "nt" : "nn", (long long)M);
    free(A); free(B); free(C); free(R);
    return !same;
}

static void threads_identical(int nt, int64_t M, int64_t N, int64_t K) {
    float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(N * K));
    float *C[3];
    for (int64_t i = 0; i < M * K; i++) A[i] = frand();
    for (int64_t i = 0; i < N * K; i++) B[i] = frand();
    for (int t = 0; t < 3; t++) {
        C[t] = calloc((size_t)(M * N), sizeof(float));
        me_threadpool *p = me_threadpool_create(t + 1);
        CHECK(p != NULL);
        if (nt) me_sgemm_nt(p, NULL, M, N, K, A, K, B, K, C[t], N);
        else me_sgemm_nn(p, NULL, M, N, K, A, K, B, N, C[t], N);
        me_threadpool_destroy(p);
    }
    CHECK(memcmp(C[0], C[1], sizeof(float) * (size_t)(M * N)) == 0);
    CHECK(memcmp(C[0], C[2], sizeof(float) * (size_t)(M * N)) == 0);
    for (int t = 0; t < 3; t++) free(C[t]);
    free(A); free(B);
}

int main(void) {
    static const int64_t ms[] = {1, 2, 5, 6, 7, 8, 9, 13, 17, 150};
    static const int64_t ns[] = {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 70};
    static const int64_t ks[] = {0, 1, 3, 7, 8, 9, 16, 17, 33, 100, 300};
    int tested = 0;
    for (int v = 0; v < me_gemm_f32_kernel_count; v++) {
        const me_gemm_f32_kernel *kern = &me_gemm_f32_kernels[v];
        if (!me_cpu_has(kern->isa)) {
            printf("skip %s: this CPU (or ME_ISA) lacks its ISA\n", kern->id);
            continue;
        }
        int bad = 0;
        for (int nt = 0; nt < 2; nt++)
            for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
                for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
                    for (size_t c = 0; c < sizeof ks / sizeof *ks; c++) bad += check_one(kern, nt, ms[a], ns[b], ks[c]);
        CHECK(bad == 0);
        for (int nt = 0; nt < 2; nt++) {
            CHECK(rows_identical(kern, nt, 7, 37, 300) == 0);
            CHECK(rows_identical(kern, nt, 29, 70, 65) == 0);
        }
        printf("checked %s\n", kern->id);
        tested++;
    }
    CHECK(tested >= 1);
    /* the list ends with the portable reference, always runnable */
    CHECK(me_gemm_f32_kernels[me_gemm_f32_kernel_count - 1].isa == 0);
    CHECK(me_gemm_f32_find("gemm_f32__generic") != NULL);
    CHECK(me_gemm_f32_find("no_such_kernel") == NULL);
    CHECK(me_cpu_has(me_gemm_f32_select()->isa));
    threads_identical(0, 301, 70, 65);
    threads_identical(0, 7, 200, 129);
    threads_identical(1, 301, 70, 65);
    threads_identical(1, 3, 300, 129);
    return check_exit();
}
