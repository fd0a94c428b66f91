/* Dense ops: FullyConnected and MatMul. Expected values are hand-computed or
 * computed by a naive triple loop written here. */
#include <stdint.h>

#include "check.h"
#include "op_harness.h"

#define DIMS(...) ((int64_t[]){__VA_ARGS__})

static void fill(float *p, int64_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* ---------------------------------------------------------------- FullyConnected */

static void test_fc_hand(void) {
    /* x [2,3], W [2,3] (out, in), b [2]:
     * row 0: [1,2,3].[1,0,-1] + 10 = 8,  [1,2,3].[2,1,0] + 20 = 24
     * row 1: [4,5,6].[1,0,-1] + 10 = 8,  [4,5,6].[2,1,0] + 20 = 33 */
    oh_ctx c; oh_init(&c);
    int in[3] = {oh_in(&c, ME_DT_F32, 2, DIMS(2, 3), (float[]){1, 2, 3, 4, 5, 6}),
                 oh_in(&c, ME_DT_F32, 2, DIMS(2, 3), (float[]){1, 0, -1, 2, 1, 0}),
                 oh_in(&c, ME_DT_F32, 1, DIMS(2), (float[]){10, 20})};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_FULLY_CONNECTED, in, 3, &y, 1);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(2, 2)));
        CHECK(oh_close_f32(oh_data(&c, 0), (float[]){8, 24, 8, 33}, 4, 0));
    }
    oh_free(&c);

    /* rank 3 input flattened; keep_dims 0 -> [B, m], keep_dims 1 -> [..., m] */
    for (int keep = 0; keep <= 1; keep++) {
        oh_init(&c);
        float x[12];
        for (int i = 0; i < 12; i++) x[i] = (float)i;
        int in2[2] = {oh_in(&c, ME_DT_F32, 3, DIMS(2, 3, 2), x),
                      oh_in(&c, ME_DT_F32, 2, DIMS(1, 2), (float[]){1, 1})};
        y = oh_out(&c, ME_DT_UNDEFINED);
        oh_node(&c, ME_OP_FULLY_CONNECTED, in2, 2, &y, 1);
        CHECK(me_node_set_scalar_bool(&c.g, c.node, "keep_dims", keep) == ME_OK);
        if (oh_run_ok(&c) == ME_OK) {
            if (keep) CHECK(oh_shape_is(oh_tensor(&c, 0), 3, DIMS(2, 3, 1)));
            else CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(6, 1)));
            /* pair sums: 0+1, 2+3, ... */
            CHECK(oh_close_f32(oh_data(&c, 0), (float[]){1, 5, 9, 13, 17, 21}, 6, 0));
        }
        oh_free(&c);
    }

    /* feature mismatch */
    oh_init(&c);
    int in3[2] = {oh_in(&c, ME_DT_F32, 2, DIMS(1, 3), (float[]){1, 2, 3}),
                  oh_in(&c, ME_DT_F32, 2, DIMS(1, 2), (float[]){1, 1})};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_FULLY_CONNECTED, in3, 2, &y, 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    CHECK(strstr(oh_msg(&c), "n0") != NULL);
    oh_free(&c);
}

static void check_fc(int64_t b, int64_t n, int64_t m, bool bias) {
    float *x = malloc(b * n * sizeof(float)), *w = malloc(m * n * sizeof(float)), *bv = malloc(m * sizeof(float));
    fill(x, b * n, 1);
    fill(w, m * n, 2);
    fill(bv, m, 3);
    oh_ctx c; oh_init(&c);
    int in[3] = {oh_in(&c, ME_DT_F32, 2, DIMS(b, n), x), oh_in(&c, ME_DT_F32, 2, DIMS(m, n), w),
                 bias ? oh_in(&c, ME_DT_F32, 1, DIMS(m), bv) : -1};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_FULLY_CONNECTED, in, 3, &y, 1);
    if (oh_run_ok(&c) == ME_OK) {
        float *want = malloc(b * m * sizeof(float) + 1);
        for (int64_t i = 0; i < b; i++)
            for (int64_t j = 0; j < m; j++) {
                double s = bias ? bv[j] : 0.0;
                for (int64_t k = 0; k < n; k++) s += (double)x[i * n + k] * w[j * n + k];
                want[i * m + j] = (float)s;
            }
        CHECK(oh_close_f32(oh_data(&c, 0), want, b * m, 1e-5));
        free(want);
    }
    oh_free(&c);
    free(x); free(w); free(bv);
}

/* ---------------------------------------------------------------- MatMul */

typedef struct mm_case {
    int ra, rb;
    int64_t ad[6], bd[6]; /* operand shapes as stored */
    int t0, t1;
    bool bias;
} mm_case;

static void check_matmul(const mm_case *k) {
    int64_t na = me_shape_numel(k->ra, k->ad), nb = me_shape_numel(k->rb, k->bd);
    float *a = malloc(na * sizeof(float) + 4), *b = malloc(nb * sizeof(float) + 4), bias[64];
    fill(a, na, 5);
    fill(b, nb, 6);
    int64_t M = k->t0 ? k->ad[k->ra - 1] : k->ad[k->ra - 2], K = k->t0 ? k->ad[k->ra - 2] : k->ad[k->ra - 1];
    int64_t N = k->t1 ? k->bd[k->rb - 2] : k->bd[k->rb - 1];
    fill(bias, N, 7);
    /* broadcast batch shape */
    int ob = (k->ra > k->rb ? k->ra : k->rb) - 2;
    int64_t od[8], batch = 1;
    for (int i = 0; i < ob; i++) {
        int ia = i - (ob - (k->ra - 2)), ib = i - (ob - (k->rb - 2));
        int64_t da = ia >= 0 ? k->ad[ia] : 1, db = ib >= 0 ? k->bd[ib] : 1;
        od[i] = da > db ? da : db;
        batch *= od[i];
    }
    od[ob] = M;
    od[ob + 1] = N;

    oh_ctx c; oh_init(&c);
    int in[3] = {oh_in(&c, ME_DT_F32, k->ra, k->ad, a), oh_in(&c, ME_DT_F32, k->rb, k->bd, b),
                 k->bias ? oh_in(&c, ME_DT_F32, 1, DIMS(N), bias) : -1};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_MATMUL, in, 3, &y, 1);
    if (k->t0) CHECK(me_node_set_scalar_bool(&c.g, c.node, "transpose_in0", true) == ME_OK);
    if (k->t1) CHECK(me_node_set_scalar_bool(&c.g, c.node, "transpose_in1", true) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) {
        CHECK(oh_shape_is(oh_tensor(&c, 0), ob + 2, od));
        float *want = malloc(batch * M * N * sizeof(float) + 4);
        for (int64_t bi = 0; bi < batch; bi++) {
            /* index of this batch in each operand (size-1 dims repeat) */
            int64_t rem = bi, aoff = 0, boff = 0, as = 1, bs = 1;
            for (int i = ob - 1; i >= 0; i--) {
                int64_t idx = rem % od[i];
                rem /= od[i];
                int ia = i - (ob - (k->ra - 2)), ib = i - (ob - (k->rb - 2));
                if (ia >= 0) { aoff += (k->ad[ia] == 1 ? 0 : idx) * as; as *= k->ad[ia]; }
                if (ib >= 0) { boff += (k->bd[ib] == 1 ? 0 : idx) * bs; bs *= k->bd[ib]; }
            }
            const float *am = a + aoff * M * K, *bm = b + boff * K * N;
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    double s = k->bias ? bias[j] : 0.0;
                    for (int64_t q = 0; q < K; q++) {
                        double av = k->t0 ? am[q * M + i] : am[i * K + q];
                        double bv = k->t1 ? bm[j * K + q] : bm[q * N + j];
                        s += av * bv;
                    }
                    want[(bi * M + i) * N + j] = (float)s;
                }
        }
        CHECK(oh_close_f32(oh_data(&c, 0), want, batch * M * N, 1e-5));
        free(want);
    }
    oh_free(&c);
    free(a); free(b);
}

static void test_matmul_hand(void) {
    /* [2,2] x [2,2]: [[1,2],[3,4]] * [[5,6],[7,8]] = [[19,22],[43,50]];
     * with transpose_in1 the second operand is read as [[5,7],[6,8]]: [[17,23],[39,53]] */
    for (int t1 = 0; t1 <= 1; t1++) {
        oh_ctx c; oh_init(&c);
        int in[2] = {oh_in(&c, ME_DT_F32, 2, DIMS(2, 2), (float[]){1, 2, 3, 4}),
                     oh_in(&c, ME_DT_F32, 2, DIMS(2, 2), (float[]){5, 6, 7, 8})};
        int y = oh_out(&c, ME_DT_UNDEFINED);
        oh_node(&c, ME_OP_MATMUL, in, 2, &y, 1);
        CHECK(me_node_set_scalar_bool(&c.g, c.node, "transpose_in1", t1) == ME_OK);
        if (oh_run_ok(&c) == ME_OK)
            CHECK(oh_close_f32(oh_data(&c, 0), t1 ? (float[]){17, 23, 39, 53} : (float[]){19, 22, 43, 50}, 4, 0));
        oh_free(&c);
    }
    /* inner dims differ */
    oh_ctx c; oh_init(&c);
    int in[2] = {oh_in(&c, ME_DT_F32, 2, DIMS(2, 3), (float[]){0, 0, 0, 0, 0, 0}),
                 oh_in(&c, ME_DT_F32, 2, DIMS(2, 2), (float[]){0, 0, 0, 0})};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_MATMUL, in, 2, &y, 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
    /* batch dims that do not broadcast */
    oh_init(&c);
    float z[12] = {0};
    int in2[2] = {oh_in(&c, ME_DT_F32, 3, DIMS(2, 1, 2), z), oh_in(&c, ME_DT_F32, 3, DIMS(3, 2, 1), z)};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_MATMUL, in2, 2, &y, 1);
    CHECK(oh_run(&c) == ME_ERR_FORMAT);
    oh_free(&c);
}

static void test_matmul_vs_naive(void) {
    check_matmul(&(mm_case){2, 2, {5, 19}, {19, 37}, 0, 0, true});
    check_matmul(&(mm_case){2, 2, {5, 19}, {37, 19}, 0, 1, false});
    check_matmul(&(mm_case){2, 2, {19, 5}, {19, 37}, 1, 0, true});
    check_matmul(&(mm_case){2, 2, {19, 5}, {37, 19}, 1, 1, false});
    /* shared weights: [2,3,K] x [K,N] is one tall GEMM */
    check_matmul(&(mm_case){3, 2, {2, 3, 20}, {20, 33}, 0, 0, true});
    /* broadcast batch: [2,1,4,6] x [3,6,5] -> [2,3,4,5] */
    check_matmul(&(mm_case){4, 3, {2, 1, 4, 6}, {3, 6, 5}, 0, 0, false});
    check_matmul(&(mm_case){4, 3, {2, 1, 6, 4}, {3, 5, 6}, 1, 1, true});
    /* [1,K,N] operand broadcast over a batch of 3 */
    check_matmul(&(mm_case){3, 3, {3, 7, 9}, {1, 9, 17}, 0, 0, false});
    check_matmul(&(mm_case){3, 3, {1, 7, 9}, {4, 17, 9}, 0, 1, false});
}

static void test_dense_empty(void) {
    /* K = 0: the result is the bias */
    oh_ctx c; oh_init(&c);
    int in[3] = {oh_in(&c, ME_DT_F32, 2, DIMS(2, 0), NULL), oh_in(&c, ME_DT_F32, 2, DIMS(0, 3), NULL),
                 oh_in(&c, ME_DT_F32, 1, DIMS(3), (float[]){1, 2, 3})};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_MATMUL, in, 3, &y, 1);
    if (oh_run_ok(&c) == ME_OK) CHECK(oh_close_f32(oh_data(&c, 0), (float[]){1, 2, 3, 1, 2, 3}, 6, 0));
    oh_free(&c);
    /* empty batch */
    oh_init(&c);
    int in2[2] = {oh_in(&c, ME_DT_F32, 2, DIMS(0, 4), NULL), oh_in(&c, ME_DT_F32, 2, DIMS(3, 4), (float[12]){0})};
    y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_FULLY_CONNECTED, in2, 2, &y, 1);
    if (oh_run_ok(&c) == ME_OK) CHECK(oh_shape_is(oh_tensor(&c, 0), 2, DIMS(0, 3)));
    oh_free(&c);
}

static void test_fc_fused_relu_min_max(void) {
    oh_ctx c; oh_init(&c);
    int in[2] = {oh_in(&c, ME_DT_F32, 2, DIMS(1, 1), (float[]){1}),
                 oh_in(&c, ME_DT_F32, 2, DIMS(3, 1), (float[]){-5, 0.5f, 9})};
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_FULLY_CONNECTED, in, 2, &y, 1);
    CHECK(me_node_set_scalar_u32(&c.g, c.node, "activation", 2) == ME_OK);
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "activation_min", 0) == ME_OK);
    CHECK(me_node_set_scalar_f32(&c.g, c.node, "activation_max", 6) == ME_OK);
    if (oh_run_ok(&c) == ME_OK) CHECK(oh_close_f32(oh_data(&c, 0), (float[]){0, 0.5f, 6}, 3, 0));
    oh_free(&c);
}

int main(void) {
    test_fc_hand();
    check_fc(1, 2048, 10, true);
    check_fc(7, 33, 21, true);
    check_fc(6, 3, 5, false);
    test_matmul_hand();
    test_matmul_vs_naive();
    test_dense_empty();
    test_fc_fused_relu_min_max();
    return check_exit();
}
