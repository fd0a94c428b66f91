/* FullyConnected with GGUF-stored weights (BLOCKQ / F16 / BF16) and Gather on a
 * block-quantised table: against hand-computed values, and against a
 * dequantise-then-float reference within the activation-quantisation bound. */
#include "check.h"
#include "core/blockq.h"
#include "core/util.h"
#include "op_harness.h"
#include "kernels/kernels.h"
#include "ops/fc_blockq.h"
#include "runtime/threadpool.h"

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static float rndf(void) { return (float)(rnd() % 20001) / 10000.0f - 1.0f; }

static void put_f16(uint8_t *p, float f) {
    uint16_t h = me_f32_to_f16(f);
    p[0] = (uint8_t)h, p[1] = (uint8_t)(h >> 8);
}

/* Weight tensor for the harness: static BLOCKQ with a block encoding, or F16/BF16. */
static int add_weights(oh_ctx *c, int type, int64_t m, int64_t n, const void *data) {
    int64_t dims[2] = {m, n};
    if (type == ME_GGML_F16 || type == ME_GGML_BF16)
        return me_graph_add_static_copy(&c->g, "w", type == ME_GGML_F16 ? ME_DT_F16 : ME_DT_BF16, 2, dims, data,
                                        (size_t)(m * n * 2), &c->d);
    /* the byte size of a BLOCKQ tensor follows from its encoding: set it before the data */
    size_t nbytes = (size_t)m * me_blockq_row_bytes(type, n);
    int t = me_graph_add_tensor(&c->g, "w", ME_DT_BLOCKQ, 2, dims, &c->d);
    void *copy = me_arena_alloc(&c->g.arena, nbytes);
    if (t < 0 || !copy) return -1;
    memcpy(copy, data, nbytes);
    me_qenc *q = me_arena_calloc(&c->g.arena, 1, sizeof *q);
    q->kind = ME_QENC_BLOCK;
    q->block_type = type;
    q->block_size = me_blockq_get(type)->block_size;
    q->axis = 1;
    me_tensor *wt = &c->g.tensors[t];
    wt->qenc = q;
    wt->flags |= ME_TF_STATIC;
    wt->data = copy;
    wt->nbytes = nbytes;
    CHECK(me_tensor_nbytes(wt) == nbytes);
    return t;
}

static me_status run_fc(int type, int64_t batch, int64_t m, int64_t n, const void *w, const float *x,
                        const float *bias, float *y) {
    oh_ctx c;
    oh_init(&c);
    int xi = oh_in(&c, ME_DT_F32, 2, (int64_t[]){batch, n}, x);
    int wi = add_weights(&c, type, m, n, w);
    int bi = bias ? oh_in(&c, ME_DT_F32, 1, (int64_t[]){m}, bias) : -1;
    int yo = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_FULLY_CONNECTED, (int[]){xi, wi, bi}, bias ? 3 : 2, &yo, 1);
    me_status st = oh_run(&c);
    if (st == ME_OK) memcpy(y, oh_data(&c, 0), (size_t)(batch * m) * sizeof(float));
    else fprintf(stderr, "%s\n", oh_msg(&c));
    oh_free(&c);
    return st;
}

/* One Q8_0 block, d = 1, q_j = j + 1; x all ones: activations quantise to 127 with
 * scale fp16(1/127), so y = 127 * (1 + ... + 32) * fp16(1/127). */
static void test_q8_0_hand(void) {
    uint8_t w[34];
    put_f16(w, 1.0f);
    for (int j = 0; j < 32; j++) w[2 + j] = (uint8_t)(j + 1);
    float x[32], y[1];
    for (int j = 0; j < 32; j++) x[j] = 1.0f;
    CHECK(run_fc(ME_GGML_Q8_0, 1, 1, 32, w, x, NULL, y) == ME_OK);
    float da = me_f16_to_f32(me_f32_to_f16(1.0f / 127.0f));
    CHECK(y[0] == (float)(127 * 528) * da);
    CHECK_NEAR(y[0], 528.0, 0.2);
}

/* One Q4_0 block with d = 0.5 and every nibble 9 (weight +0.5); x_j = j - 16 and a bias 2:
 * activation q_j = rint((j-16) * 127/16), scale fp16(16/127). */
static void test_q4_0_hand(void) {
    uint8_t w[18];
    put_f16(w, 0.5f);
    memset(w + 2, 0x99, 16);
    float x[32], y[1], bias[1] = {2.0f};
    int sumq = 0;
    for (int j = 0; j < 32; j++) {
        x[j] = (float)(j - 16);
        sumq += (int)nearbyintf((float)(j - 16) * (127.0f / 16.0f));
    }
    CHECK(run_fc(ME_GGML_Q4_0, 1, 1, 32, w, x, bias, y) == ME_OK);
    float da = me_f16_to_f32(me_f32_to_f16(16.0f / 127.0f));
    CHECK(y[0] == (float)sumq * 0.5f * da + 2.0f);
    CHECK_NEAR(y[0], 0.5 * -16 + 2.0, 0.1); /* sum of (j-16) for j < 32 is -16 */
}

/* Random blocks with sane scales for every type. */
static void random_weights(int type, int64_t m, int64_t n, uint8_t *w) {
    if (type == ME_GGML_F16 || type == ME_GGML_BF16) {
        for (int64_t i = 0; i < m * n; i++) {
            uint16_t h = type == ME_GGML_F16 ? me_f32_to_f16(rndf()) : me_f32_to_bf16(rndf());
            w[2 * i] = (uint8_t)h, w[2 * i + 1] = (uint8_t)(h >> 8);
        }
        return;
    }
    const me_blockq_traits *t = me_blockq_get(type);
    size_t bytes = (size_t)(m * n / t->block_size) * (size_t)t->block_bytes;
    for (size_t i = 0; i < bytes; i++) w[i] = (uint8_t)rnd();
    /* fp16 scale fields: small positive values so weights stay around +-1 */
    static const struct { int type, off[2], n; float s; } f16s[] = {
        {ME_GGML_Q4_0, {0}, 1, 0.1f},       {ME_GGML_Q4_1, {0, 2}, 2, 0.1f},  {ME_GGML_Q5_0, {0}, 1, 0.05f},
        {ME_GGML_Q5_1, {0, 2}, 2, 0.05f},   {ME_GGML_Q8_0, {0}, 1, 0.01f},    {ME_GGML_Q2_K, {80, 82}, 2, 0.05f},
        {ME_GGML_Q3_K, {108}, 1, 0.01f},    {ME_GGML_Q4_K, {0, 2}, 2, 0.01f}, {ME_GGML_Q5_K, {0, 2}, 2, 0.005f},
        {ME_GGML_Q6_K, {208}, 1, 0.001f},
    };
    for (unsigned k = 0; k < ME_ARRAY_LEN(f16s); k++)
        if (f16s[k].type == type)
            for (size_t b = 0; b < bytes; b += (size_t)t->block_bytes)
                for (int j = 0; j < f16s[k].n; j++) put_f16(w + b + f16s[k].off[j], f16s[k].s * (0.5f + rndf() * 0.25f));
}

/* Against dequantised weights times the float activations: the only difference is the
 * rounding of the activations, at most half a step (amax/127, or amax/2^11 for fp16)
 * per element, times |w|; plus float summation noise. */
static void test_vs_float(int type) {
    enum { B = 3, M = 5, N = 512 };
    static uint8_t w[M * N * 2];
    static float wf[M * N], x[B * N], y[B * M];
    random_weights(type, M, N, w);
    CHECK(me_ggml_to_float(type, w, wf, M * N));
    for (int i = 0; i < B * N; i++) x[i] = rndf() * 3.0f;
    float bias[M];
    for (int o = 0; o < M; o++) bias[o] = rndf();
    CHECK(run_fc(type, B, M, N, w, x, bias, y) == ME_OK);
    int group = type == ME_GGML_F16 || type == ME_GGML_BF16 ? 1 : me_blockq_get(type)->block_size > 32 ? 256 : 32;
    double worst = 0;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < M; o++) {
            double ref = bias[o], bound = 1e-4;
            for (int i0 = 0; i0 < N; i0 += group) {
                double amax = 0;
                for (int i = i0; i < i0 + group; i++) amax = fmax(amax, fabs(x[b * N + i]));
                double step = type == ME_GGML_F16 ? amax / 2048 : type == ME_GGML_BF16 ? amax / 256 : amax / 127 * 1.002;
                for (int i = i0; i < i0 + group; i++) {
                    ref += (double)wf[o * N + i] * x[b * N + i];
                    bound += fabs(wf[o * N + i]) * (0.5 * step + 1e-3 * fabs(x[b * N + i]));
                }
            }
            double err = fabs(y[b * M + o] - ref);
            worst = fmax(worst, err / bound);
            CHECK(err <= bound);
        }
    printf("type %-4s: worst error / bound = %.3f\n", type == ME_GGML_F16 ? "F16" : type == ME_GGML_BF16 ? "BF16"
                                                                                    : me_blockq_get(type)->name, worst);
}

/* Gather rows 2 and 0 of a 3-row Q8_0 table: q * d per element. */
static void test_gather_q8_0(void) {
    uint8_t tab[3][34];
    for (int r = 0; r < 3; r++) {
        put_f16(tab[r], 0.25f * (float)(r + 1));
        for (int j = 0; j < 32; j++) tab[r][2 + j] = (uint8_t)(int8_t)(j - 16 + r);
    }
    oh_ctx c;
    oh_init(&c);
    int ti = add_weights(&c, ME_GGML_Q8_0, 3, 32, tab);
    int32_t idx[2] = {2, -3};
    int ii = oh_in(&c, ME_DT_I32, 1, (int64_t[]){2}, idx);
    int yo = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, ME_OP_GATHER, (int[]){ti, ii}, 2, &yo, 1);
    me_node_set_scalar_i32(&c.g, c.node, "axis", 0);
    CHECK(oh_run(&c) == ME_OK);
    const me_tensor *out = &c.g.tensors[yo];
    CHECK(out->dtype == ME_DT_F32 && out->rank == 2 && out->dims[0] == 2 && out->dims[1] == 32);
    const float *o = oh_data(&c, 0);
    if (o) {
        for (int j = 0; j < 32; j++) {
            CHECK(o[j] == 0.75f * (float)(j - 14));
            CHECK(o[32 + j] == 0.25f * (float)(j - 16));
        }
    }
    oh_free(&c);
}

/* Splitting output channels over threads gives the same bits as one thread. */
static void test_threads_same_bits(int type) {
    enum { B = 4, M = 37, N = 512 };
    static uint8_t w[M * N * 2];
    static float x[B * N], y1[B * M], y3[B * M];
    random_weights(type, M, N, w);
    for (int i = 0; i < B * N; i++) x[i] = rndf();
    me_qenc q = {.kind = ME_QENC_BLOCK, .block_type = type, .block_size = me_blockq_get(type)->block_size};
    me_tensor wt = {.name = "w", .dtype = ME_DT_BLOCKQ, .rank = 2, .dims = {M, N}, .qenc = &q};
    me_node nd = {.name = "fc"};
    me_threadpool *pool = me_threadpool_create(3);
    CHECK(me_fc_lowp(&nd, &wt, x, w, NULL, B, M, N, y1, NULL, NULL) == ME_OK);
    CHECK(me_fc_lowp(&nd, &wt, x, w, NULL, B, M, N, y3, pool, NULL) == ME_OK);
    CHECK(memcmp(y1, y3, sizeof y1) == 0);
    me_threadpool_destroy(pool);
}

/* Pre-packed Q4_0 / Q8_0 (me_fc_blockq_pack + me_fc_lowp_packed): weight rows not a multiple of
 * the 16-row groups, odd block counts, 1 and 9 activation rows, a bias; the same bits for
 * 1 and 3 threads, and within the activation-rounding bound of the dequantised weights
 * times the float activations (as test_vs_float). Not packable: other types, no data. */
static void test_packed(int wtype, int64_t M, int64_t N, int64_t B) {
    uint8_t *w = malloc((size_t)(M * N / 32 * 34)), *packed;
    float *wf = malloc(sizeof(float) * (size_t)(M * N)), *x = malloc(sizeof(float) * (size_t)(B * N));
    float *y1 = malloc(sizeof(float) * (size_t)(B * M)), *y3 = malloc(sizeof(float) * (size_t)(B * M));
    float *bias = malloc(sizeof(float) * (size_t)M);
    random_weights(wtype, M, N, w);
    CHECK(me_ggml_to_float(wtype, w, wf, M * N));
    for (int64_t i = 0; i < B * N; i++) x[i] = rndf() * 3.0f;
    for (int64_t o = 0; o < M; o++) bias[o] = rndf();
    me_qenc q = {.kind = ME_QENC_BLOCK, .block_type = wtype, .block_size = 32};
    me_tensor wt = {.name = "w", .dtype = ME_DT_BLOCKQ, .rank = 2, .dims = {M, N}, .qenc = &q, .flags = ME_TF_STATIC,
                    .data = w, .nbytes = (size_t)(M * N / 32 * (wtype == ME_GGML_Q8_0 ? 34 : 18))};
    me_node nd = {.name = "fc"};
    const size_t bytes = me_fc_blockq_packed_bytes(&wt, M, N);
    CHECK(bytes == (size_t)((M + 15) / 16) *
                       (wtype == ME_GGML_Q8_0 ? ME_BLOCKQ_P8_GROUP_BYTES(N / 32) : ME_BLOCKQ_P4_GROUP_BYTES(N / 32)));
    packed = aligned_alloc(64, (bytes + 63) / 64 * 64);
    CHECK(me_fc_blockq_pack(&nd, &wt, M, N, packed, NULL) == ME_OK);
    me_threadpool *pool = me_threadpool_create(3);
    CHECK(me_fc_lowp_packed(&nd, &wt, x, packed, bias, B, M, N, y1, NULL, NULL) == ME_OK);
    CHECK(me_fc_lowp_packed(&nd, &wt, x, packed, bias, B, M, N, y3, pool, NULL) == ME_OK);
    CHECK(memcmp(y1, y3, sizeof(float) * (size_t)(B * M)) == 0);
    for (int64_t b = 0; b < B; b++)
        for (int64_t o = 0; o < M; o++) {
            double ref = bias[o], bound = 1e-4;
            for (int64_t i0 = 0; i0 < N; i0 += 32) {
                double amax = 0;
                for (int64_t i = i0; i < i0 + 32; i++) amax = fmax(amax, fabs(x[b * N + i]));
                for (int64_t i = i0; i < i0 + 32; i++) {
                    ref += (double)wf[o * N + i] * x[b * N + i];
                    bound += fabs(wf[o * N + i]) * (0.5 * amax / 127 * 1.002 + 1e-3 * fabs(x[b * N + i]));
                }
            }
            CHECK(fabs(y1[b * M + o] - ref) <= bound);
        }
    wt.data = NULL;
    CHECK(me_fc_blockq_packed_bytes(&wt, M, N) == 0);
    q.block_type = ME_GGML_Q4_1;
    wt.data = w;
    CHECK(me_fc_blockq_packed_bytes(&wt, M, N) == 0);
    me_threadpool_destroy(pool);
    free(w), free(packed), free(wf), free(x), free(y1), free(y3), free(bias);
}

int main(void) {
    test_q8_0_hand();
    test_q4_0_hand();
    const int types[] = {ME_GGML_Q4_0, ME_GGML_Q4_1, ME_GGML_Q5_0, ME_GGML_Q5_1, ME_GGML_Q8_0, ME_GGML_Q2_K,
                         ME_GGML_Q3_K, ME_GGML_Q4_K, ME_GGML_Q5_K, ME_GGML_Q6_K, ME_GGML_F16, ME_GGML_BF16};
    for (unsigned i = 0; i < ME_ARRAY_LEN(types); i++) test_vs_float(types[i]);
    test_gather_q8_0();
    test_threads_same_bits(ME_GGML_Q4_0);
    test_threads_same_bits(ME_GGML_Q4_K);
    for (int q8 = 0; q8 < 2; q8++) {
        const int wt = q8 ? ME_GGML_Q8_0 : ME_GGML_Q4_0;
        test_packed(wt, 37, 512, 9);
        test_packed(wt, 16, 96, 1);
        test_packed(wt, 1, 32, 2);
    }
    return check_exit();
}
