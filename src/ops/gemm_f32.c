/* Float32 GEMM building blocks (see gemm_f32.h).
 *
 * Register tiles keep a small block of C in local arrays across the whole K
 * loop, so each loaded element of A and B is used several times. The tile
 * loops have constant trip counts, which lets the compiler vectorise them at
 * -O2 without any intrinsics. Accumulation is in float, in K order per lane. */
#include "gemm_f32.h"

#include <string.h>

void me_gemm_f32_init(int64_t M, int64_t N, float *C, int64_t ldc, const float *bias) {
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (bias) memcpy(c, bias, (size_t)N * sizeof(float));
        else memset(c, 0, (size_t)N * sizeof(float));
    }
}

void me_axpy_f32(int64_t n, float a, const float *restrict x, float *restrict y) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int t = 0; t < 8; t++) y[i + t] += a * x[i + t];
    for (; i < n; i++) y[i] += a * x[i];
}

/* ---- C += A * B, B is [K, N] ---- */
enum { NN_COLS = 16 };

/* Two rows of C, NN_COLS columns. */
static void nn_tile2(int64_t K, const float *restrict a0, const float *restrict a1, const float *restrict b,
                     int64_t ldb, float *restrict c0, float *restrict c1) {
    float s0[NN_COLS], s1[NN_COLS];
    for (int t = 0; t < NN_COLS; t++) { s0[t] = c0[t]; s1[t] = c1[t]; }
    for (int64_t k = 0; k < K; k++, b += ldb) {
        float x0 = a0[k], x1 = a1[k];
        for (int t = 0; t < NN_COLS; t++) {
            s0[t] += x0 * b[t];
            s1[t] += x1 * b[t];
        }
    }
    for (int t = 0; t < NN_COLS; t++) { c0[t] = s0[t]; c1[t] = s1[t]; }
}

static void nn_tile1(int64_t K, const float *restrict a0, const float *restrict b, int64_t ldb,
                     float *restrict c0) {
    float s0[NN_COLS];
    for (int t = 0; t < NN_COLS; t++) s0[t] = c0[t];
    for (int64_t k = 0; k < K; k++, b += ldb) {
        float x0 = a0[k];
        for (int t = 0; t < NN_COLS; t++) s0[t] += x0 * b[t];
    }
    for (int t = 0; t < NN_COLS; t++) c0[t] = s0[t];
}

void me_gemm_f32_nn(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc) {
    int64_t j = 0;
    for (; j + NN_COLS <= N; j += NN_COLS) {
        int64_t i = 0;
        for (; i + 2 <= M; i += 2)
            nn_tile2(K, A + i * lda, A + (i + 1) * lda, B + j, ldb, C + i * ldc + j, C + (i + 1) * ldc + j);
        if (i < M) nn_tile1(K, A + i * lda, B + j, ldb, C + i * ldc + j);
    }
    /* narrow remainder: 4-column tiles, then single columns */
    for (; j + 4 <= N; j += 4)
        for (int64_t i = 0; i < M; i++) {
            float s0[4];
            float *c = C + i * ldc + j;
            const float *a = A + i * lda, *b = B + j;
            for (int t = 0; t < 4; t++) s0[t] = c[t];
            for (int64_t k = 0; k < K; k++, b += ldb)
                for (int t = 0; t < 4; t++) s0[t] += a[k] * b[t];
            for (int t = 0; t < 4; t++) c[t] = s0[t];
        }
    if (j < N) {
        int64_t w = N - j;
        for (int64_t i = 0; i < M; i++) {
            float *c = C + i * ldc + j;
            const float *a = A + i * lda;
            for (int64_t k = 0; k < K; k++) {
                const float *b = B + k * ldb + j;
                float x = a[k];
                for (int64_t t = 0; t < w; t++) c[t] += x * b[t];
            }
        }
    }
}

/* ---- C += A * B^T, B is [N, K] ---- */
enum { NT_LANES = 4 };

static inline float hsum4(const float *s) { return (s[0] + s[1]) + (s[2] + s[3]); }

/* One row of A against four rows of B. */
static void nt_tile1x4(int64_t K, const float *restrict a, const float *restrict b0, const float *restrict b1,
                       const float *restrict b2, const float *restrict b3, float *out) {
    float s0[NT_LANES] = {0}, s1[NT_LANES] = {0}, s2[NT_LANES] = {0}, s3[NT_LANES] = {0};
    int64_t k = 0;
    for (; k + NT_LANES <= K; k += NT_LANES)
        for (int l = 0; l < NT_LANES; l++) {
            float x = a[k + l];
            s0[l] += x * b0[k + l];
            s1[l] += x * b1[k + l];
            s2[l] += x * b2[k + l];
            s3[l] += x * b3[k + l];
        }
    float t0 = hsum4(s0), t1 = hsum4(s1), t2 = hsum4(s2), t3 = hsum4(s3);
    for (; k < K; k++) {
        float x = a[k];
        t0 += x * b0[k]; t1 += x * b1[k]; t2 += x * b2[k]; t3 += x * b3[k];
    }
    out[0] += t0; out[1] += t1; out[2] += t2; out[3] += t3;
}

/* Two rows of A against four rows of B. */
static void nt_tile2x4(int64_t K, const float *restrict a0, const float *restrict a1, const float *restrict b0,
                       const float *restrict b1, const float *restrict b2, const float *restrict b3, float *out0,
                       float *out1) {
    float s00[NT_LANES] = {0}, s01[NT_LANES] = {0}, s02[NT_LANES] = {0}, s03[NT_LANES] = {0};
    float s10[NT_LANES] = {0}, s11[NT_LANES] = {0}, s12[NT_LANES] = {0}, s13[NT_LANES] = {0};
    int64_t k = 0;
    for (; k + NT_LANES <= K; k += NT_LANES)
        for (int l = 0; l < NT_LANES; l++) {
            float x0 = a0[k + l], x1 = a1[k + l];
            float y0 = b0[k + l], y1 = b1[k + l], y2 = b2[k + l], y3 = b3[k + l];
            s00[l] += x0 * y0; s01[l] += x0 * y1; s02[l] += x0 * y2; s03[l] += x0 * y3;
            s10[l] += x1 * y0; s11[l] += x1 * y1; s12[l] += x1 * y2; s13[l] += x1 * y3;
        }
    float t00 = hsum4(s00), t01 = hsum4(s01), t02 = hsum4(s02), t03 = hsum4(s03);
    float t10 = hsum4(s10), t11 = hsum4(s11), t12 = hsum4(s12), t13 = hsum4(s13);
    for (; k < K; k++) {
        float x0 = a0[k], x1 = a1[k];
        t00 += x0 * b0[k]; t01 += x0 * b1[k]; t02 += x0 * b2[k]; t03 += x0 * b3[k];
        t10 += x1 * b0[k]; t11 += x1 * b1[k]; t12 += x1 * b2[k]; t13 += x1 * b3[k];
    }
    out0[0] += t00; out0[1] += t01; out0[2] += t02; out0[3] += t03;
    out1[0] += t10; out1[1] += t11; out1[2] += t12; out1[3] += t13;
}

static float dot_f32(int64_t K, const float *restrict a, const float *restrict b) {
    float s[NT_LANES] = {0};
    int64_t k = 0;
    for (; k + NT_LANES <= K; k += NT_LANES)
        for (int l = 0; l < NT_LANES; l++) s[l] += a[k + l] * b[k + l];
    float t = hsum4(s);
    for (; k < K; k++) t += a[k] * b[k];
    return t;
}

void me_gemm_f32_nt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc) {
    int64_t j = 0;
    for (; j + 4 <= N; j += 4) {
        const float *b0 = B + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
        int64_t i = 0;
        for (; i + 2 <= M; i += 2)
            nt_tile2x4(K, A + i * lda, A + (i + 1) * lda, b0, b1, b2, b3, C + i * ldc + j, C + (i + 1) * ldc + j);
        if (i < M) nt_tile1x4(K, A + i * lda, b0, b1, b2, b3, C + i * ldc + j);
    }
    for (; j < N; j++)
        for (int64_t i = 0; i < M; i++) C[i * ldc + j] += dot_f32(K, A + i * lda, B + j * ldb);
}
