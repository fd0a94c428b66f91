/* Threaded entry points over the chosen kernel variants (see dispatch.h). */
#include "dispatch.h"

/* Below this many multiply-adds a GEMM is not worth waking the workers. */
enum { PAR_MIN_MACS = 1 << 18, PAR_MIN_ELEMS = 1 << 15 };

typedef struct gemm_job {
    me_gemm_f32_fn fn;
    int64_t M, N, K, lda, ldb, ldc;
    const float *A, *B;
    float *C;
    int by_rows;
    int nt;
} gemm_job;

static void gemm_chunk(void *v, int64_t b, int64_t e) {
    const gemm_job *j = v;
    if (j->by_rows) {
        j->fn(e - b, j->N, j->K, j->A + b * j->lda, j->lda, j->B, j->ldb, j->C + b * j->ldc, j->ldc);
    } else {
        /* a slice of columns: for nt they are rows of B, for nn columns */
        const float *B = j->nt ? j->B + b * j->ldb : j->B + b;
        j->fn(j->M, e - b, j->K, j->A, j->lda, B, j->ldb, j->C + b, j->ldc);
    }
}

static void sgemm(me_threadpool *tp, const me_gemm_f32_kernel *kern, int nt, int64_t M, int64_t N, int64_t K,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    if (!kern) kern = me_gemm_f32_select();
    gemm_job j = {nt ? kern->nt : kern->nn, M, N, K, lda, ldb, ldc, A, B, C, 0, nt};
    int threads = me_threadpool_threads(tp);
    if (threads < 2 || (double)M * (double)N * (double)K < PAR_MIN_MACS) {
        j.fn(M, N, K, A, lda, B, ldb, C, ldc);
        return;
    }
    int64_t mr = nt ? 4 : kern->mr, nr = nt ? 16 : kern->nr;
    /* Each thread reads all of the operand it does not split, so split the
     * larger one: rows when A (M x K) outweighs B (K x N) or B is too narrow. */
    j.by_rows = (M > N && M >= (int64_t)threads * mr) || N < (int64_t)threads * nr;
    if (j.by_rows) me_parallel_for(tp, M, mr, gemm_chunk, &j);
    else me_parallel_for(tp, N, nr, gemm_chunk, &j);
}

void me_sgemm_nn(me_threadpool *tp, const me_gemm_f32_kernel *kern, int64_t M, int64_t N, int64_t K,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
    sgemm(tp, kern, 0, M, N, K, A, lda, B, ldb, C, ldc);
}

void me_sgemm_nt(me_threadpool *tp, const me_gemm_f32_kernel *kern, int64_t M, int64_t N, int64_t K,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
    sgemm(tp, kern, 1, M, N, K, A, lda, B, ldb, C, ldc);
}

typedef struct dw_job {
    me_dwconv_f32_row_fn fn;
    const me_dwconv_f32_args *a;
    int64_t oh, image_in, image_out;
    float *y;
} dw_job;

static void dw_chunk(void *v, int64_t b, int64_t e) {
    const dw_job *j = v;
    me_dwconv_f32_args a = *j->a;
    for (int64_t r = b; r < e; r++) {
        int64_t n = r / j->oh;
        a.x = j->a->x + n * j->image_in;
        j->fn(&a, r % j->oh, j->y + r * j->a->ow * j->a->c);
    }
}

void me_dwconv_f32_rows(me_threadpool *tp, const me_dwconv_f32_kernel *kern, const me_dwconv_f32_args *a,
                        int64_t batch, int64_t oh, float *y) {
    dw_job j = {(kern ? kern : me_dwconv_f32_select())->row, a, oh, a->h * a->w_in * a->c, oh * a->ow * a->c, y};
    int64_t rows = batch * oh;
    if ((double)rows * (double)j.image_out / (double)(oh ? oh : 1) * (double)(a->fh * a->fw) < PAR_MIN_MACS)
        dw_chunk(&j, 0, rows);
    else
        me_parallel_for(tp, rows, 1, dw_chunk, &j);
}

typedef struct bin_job {
    me_binary_f32_row_fn fn;
    const float *a, *b;
    int64_t sa, sb;
    float *o;
} bin_job;

static void bin_chunk(void *v, int64_t b, int64_t e) {
    const bin_job *j = v;
    j->fn(j->a + b * j->sa, j->sa, j->b + b * j->sb, j->sb, j->o + b, e - b);
}

static void binary(me_threadpool *tp, me_binary_f32_row_fn fn, const float *a, int64_t sa, const float *b,
                   int64_t sb, float *o, int64_t n) {
    bin_job j = {fn, a, b, sa, sb, o};
    if (n < PAR_MIN_ELEMS) fn(a, sa, b, sb, o, n);
    else me_parallel_for(tp, n, 64, bin_chunk, &j);
}

/* me_add_f32, me_mul_f32, me_max_f32, me_min_f32: the row of that name */
#define BINARY_ENTRY(op)                                                                                    \
    void me_##op##_f32(me_threadpool *tp, const me_eltwise_f32_kernel *kern, const float *a, int64_t sa,    \
                       const float *b, int64_t sb, float *o, int64_t n) {                                   \
        binary(tp, (kern ? kern : me_eltwise_f32_select())->op, a, sa, b, sb, o, n);                        \
    }
BINARY_ENTRY(add)
BINARY_ENTRY(mul)
BINARY_ENTRY(max)
BINARY_ENTRY(min)
#undef BINARY_ENTRY
