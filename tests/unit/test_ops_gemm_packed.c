/* Conv2d, FullyConnected and MatMul with pre-packed weights (me_opdef
 * packed_bytes / pack, the kernels' packed GEMM): for every gemm_f32 variant
 * this CPU has, with 1, 2 and 3 threads, the outputs are bit-identical across
 * thread counts and match a naive double-precision formula written here,
 * including the bias and the fused activation applied in the GEMM's store
 * (relu, relu_min_max) or after it (silu). */
#include <stdint.h>

#include "check.h"
#include "kernels/kernels.h"
#include "op_harness.h"
#include "ops/fused_activation.h"
#include "runtime/threadpool.h"

#define DIMS(...) ((int64_t[]){__VA_ARGS__})

static void fill(float *p, int64_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* oh_run with the node's weights packed for `variant`; returns the packed byte count (0: not packed). */
static size_t run_packed(oh_ctx *c, const me_gemm_f32_kernel *variant, me_threadpool *pool, me_status *st) {
    me_node *n = &c->g.nodes[c->node];
    const me_opdef *def = me_opdefs[n->op];
    *st = def->infer(&c->g, n, &c->d);
    if (*st != ME_OK) return 0;
    const me_tensor *ins[3];
    const void *in_data[3];
    for (int i = 0; i < n->n_in; i++) {
        ins[i] = n->in[i] >= 0 ? &c->g.tensors[n->in[i]] : NULL;
        in_data[i] = ins[i] ? ins[i]->data : NULL;
    }
    const me_tensor *outs[1] = {&c->g.tensors[n->out[0]]};
    size_t nb = me_tensor_nbytes(outs[0]);
    free(c->out[0]);
    c->out[0] = calloc(1, nb ? nb : 1);
    c->out_nbytes[0] = nb;
    void *out_data[1] = {c->out[0]};
    size_t sb = def->scratch_bytes ? def->scratch_bytes(&c->g, n) : 0;
    void *scratch = sb ? aligned_alloc(64, (sb + 63) & ~(size_t)63) : NULL;
    size_t pb = def->packed_bytes ? def->packed_bytes(&c->g, n, variant) : 0;
    void *packed = pb ? aligned_alloc(64, (pb + 63) & ~(size_t)63) : NULL;
    if (pb) CHECK(def->pack(&c->g, n, variant, packed, &c->d) == ME_OK);
    me_kernel_ctx k = {n, ins, outs, in_data, out_data, n->n_in, 1, scratch, pool, variant, packed};
    *st = def->run(&k, &c->d);
    free(scratch);
    free(packed);
    return pb;
}

typedef struct gcase {
    int op;
    int n_in;
    int rank[3];
    int64_t dims[3][4];
    int64_t stride, pad, group;   /* conv */
    int t0, t1;                   /* matmul */
    int act;                      /* fused activation kind */
} gcase;

static void set_params(oh_ctx *c, const gcase *k) {
    if (k->op == ME_OP_CONV2D) {
        CHECK(me_node_set_tensor_int(&c->g, c->node, "stride", ME_DT_U32, 1, DIMS(2), DIMS(k->stride, k->stride)) ==
              ME_OK);
        CHECK(me_node_set_tensor_int(&c->g, c->node, "pad_amount", ME_DT_U32, 2, DIMS(2, 2),
                                     DIMS(k->pad, k->pad, k->pad, k->pad)) == ME_OK);
        if (k->group > 1) CHECK(me_node_set_scalar_u32(&c->g, c->node, "group", (uint32_t)k->group) == ME_OK);
    }
    if (k->op == ME_OP_MATMUL) {
        if (k->t0) CHECK(me_node_set_scalar_bool(&c->g, c->node, "transpose_in0", true) == ME_OK);
        if (k->t1) CHECK(me_node_set_scalar_bool(&c->g, c->node, "transpose_in1", true) == ME_OK);
    }
    if (k->act) {
        CHECK(me_node_set_scalar_u32(&c->g, c->node, "activation", (uint32_t)k->act) == ME_OK);
        if (k->act == ME_FUSED_ACT_RELU_MIN_MAX) {
            CHECK(me_node_set_scalar_f32(&c->g, c->node, "activation_min", -0.5f) == ME_OK);
            CHECK(me_node_set_scalar_f32(&c->g, c->node, "activation_max", 0.75f) == ME_OK);
        }
    }
}

static float *run_case(const gcase *k, float *const *data, const me_gemm_f32_kernel *v, int threads, int64_t *numel) {
    oh_ctx c;
    oh_init(&c);
    me_threadpool *pool = me_threadpool_create(threads);
    CHECK(pool != NULL);
    int in[3];
    for (int i = 0; i < k->n_in; i++) in[i] = oh_in(&c, ME_DT_F32, k->rank[i], k->dims[i], data[i]);
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, k->op, in, k->n_in, &y, 1);
    set_params(&c, k);
    me_status st;
    size_t pb = run_packed(&c, v, pool, &st);
    CHECK(pb > 0); /* every case here has packable weights */
    CHECK(st == ME_OK);
    float *out = NULL;
    if (st == ME_OK) {
        *numel = me_tensor_numel(&c.g.tensors[c.g.nodes[c.node].out[0]]);
        out = malloc(c.out_nbytes[0]);
        memcpy(out, c.out[0], c.out_nbytes[0]);
    } else {
        fprintf(stderr, "  %s\n", oh_msg(&c));
    }
    oh_free(&c);
    me_threadpool_destroy(pool);
    return out;
}

static double act_ref(int act, double v) {
    if (act == ME_FUSED_ACT_RELU) return v < 0 ? 0 : v;
    if (act == ME_FUSED_ACT_RELU_MIN_MAX) return v < -0.5 ? -0.5 : v > 0.75 ? 0.75 : v;
    if (act == ME_FUSED_ACT_SILU) return v / (1.0 + exp(-v));
    return v;
}

/* Conv2d: x [n,h,w,cin], w [f,f,cin/group,cout], bias [cout]. */
static void test_conv(const me_gemm_f32_kernel *v, int64_t n, int64_t h, int64_t w, int64_t cin, int64_t cout,
                      int64_t f, int64_t s, int64_t p, int64_t group, int act) {
    int64_t cg = cin / group, og = cout / group;
    gcase k = {ME_OP_CONV2D, 3, {4, 4, 1}, {{n, h, w, cin}, {f, f, cg, cout}, {cout}}, s, p, group, 0, 0, act};
    float *x = malloc(sizeof(float) * (size_t)(n * h * w * cin)), *wt = malloc(sizeof(float) * (size_t)(f * f * cg * cout));
    float *b = malloc(sizeof(float) * (size_t)cout);
    fill(x, n * h * w * cin, 1);
    fill(wt, f * f * cg * cout, 2);
    fill(b, cout, 3);
    float *data[3] = {x, wt, b};
    int64_t numel = 0, n2 = 0;
    float *y = run_case(&k, data, v, 1, &numel);
    for (int t = 2; t <= 3 && y; t++) {
        float *o = run_case(&k, data, v, t, &n2);
        CHECK(o && n2 == numel && memcmp(o, y, sizeof(float) * (size_t)numel) == 0);
        free(o);
    }
    int64_t oh = (h + 2 * p - f) / s + 1, ow = (w + 2 * p - f) / s + 1;
    CHECK(numel == n * oh * ow * cout);
    int bad = 0;
    for (int64_t i = 0; y && i < numel && !bad; i++) {
        int64_t co = i % cout, q = (i / cout) % ow, r = (i / cout / ow) % oh, im = i / cout / ow / oh, gi = co / og;
        double acc = b[co], mag = fabs(b[co]);
        for (int64_t kh = 0; kh < f; kh++)
            for (int64_t kw = 0; kw < f; kw++) {
                int64_t ih = r * s - p + kh, iw = q * s - p + kw;
                if (ih < 0 || iw < 0 || ih >= h || iw >= w) continue;
                for (int64_t ci = 0; ci < cg; ci++) {
                    double t = (double)x[((im * h + ih) * w + iw) * cin + gi * cg + ci] * wt[((kh * f + kw) * cg + ci) * cout + co];
                    acc += t;
                    mag += fabs(t);
                }
            }
        double want = act_ref(act, acc);
        if (!(fabs(y[i] - want) <= 1e-5 * mag + 1e-6)) {
            fprintf(stderr, "  %s conv %lldx%lld g%lld element %lld: %g want %g\n", v->id, (long long)f, (long long)f,
                    (long long)group, (long long)i, y[i], want);
            bad = 1;
        }
    }
    CHECK(!bad);
    free(y); free(x); free(wt); free(b);
}

/* FullyConnected x [m,kk] W [nn,kk] bias; MatMul a ([batch,]m,kk) (t0: [kk,m]) b [kk,nn] (t1: [nn,kk]). */
static void test_dense(const me_gemm_f32_kernel *v, int op, int64_t batch, int64_t m, int64_t kk, int64_t nn, int t0,
                       int t1, int act) {
    gcase c = {op, 3, {2, 2, 1}, {{m, kk}, {kk, nn}, {nn}}, 0, 0, 1, t0, t1, act};
    if (op == ME_OP_FULLY_CONNECTED) { c.dims[1][0] = nn; c.dims[1][1] = kk; t1 = 1; }
    if (op == ME_OP_MATMUL) {
        if (t0) { c.dims[0][0] = kk; c.dims[0][1] = m; }
        if (t1) { c.dims[1][0] = nn; c.dims[1][1] = kk; }
        if (batch > 1) { c.rank[0] = 3; c.dims[0][2] = c.dims[0][1]; c.dims[0][1] = c.dims[0][0]; c.dims[0][0] = batch; }
    }
    float *a = malloc(sizeof(float) * (size_t)(batch * m * kk)), *bm = malloc(sizeof(float) * (size_t)(kk * nn));
    float *bias = malloc(sizeof(float) * (size_t)nn);
    fill(a, batch * m * kk, 4);
    fill(bm, kk * nn, 5);
    fill(bias, nn, 6);
    float *data[3] = {a, bm, bias};
    int64_t numel = 0, n2 = 0;
    float *y = run_case(&c, data, v, 1, &numel);
    for (int t = 2; t <= 3 && y; t++) {
        float *o = run_case(&c, data, v, t, &n2);
        CHECK(o && n2 == numel && memcmp(o, y, sizeof(float) * (size_t)numel) == 0);
        free(o);
    }
    CHECK(numel == batch * m * nn);
    int bad = 0;
    for (int64_t bi = 0; y && bi < batch && !bad; bi++)
        for (int64_t i = 0; i < m && !bad; i++)
            for (int64_t j = 0; j < nn; j++) {
                double acc = bias[j], mag = fabs(acc);
                for (int64_t t = 0; t < kk; t++) {
                    double av = t0 ? a[bi * m * kk + t * m + i] : a[bi * m * kk + i * kk + t];
                    double p = av * (t1 ? bm[j * kk + t] : bm[t * nn + j]);
                    acc += p;
                    mag += fabs(p);
                }
                double want = act_ref(act, acc), got = y[(bi * m + i) * nn + j];
                if (!(fabs(got - want) <= 1e-5 * mag + 1e-6)) {
                    fprintf(stderr, "  %s %s [%lld,%lld,%lld]: %g want %g\n", v->id, me_op_names[op], (long long)bi,
                            (long long)i, (long long)j, got, want);
                    bad = 1;
                    break;
                }
            }
    CHECK(!bad);
    free(y); free(a); free(bm); free(bias);
}

int main(void) {
    int tested = 0;
    for (int vi = 0; vi < me_gemm_f32_kernel_count; vi++) {
        const me_gemm_f32_kernel *v = &me_gemm_f32_kernels[vi];
        if (!me_cpu_has(v->isa)) {
            printf("skip %s: this CPU (or ME_ISA) lacks its ISA\n", v->id);
            continue;
        }
        test_conv(v, 2, 20, 20, 64, 40, 3, 1, 1, 1, ME_FUSED_ACT_RELU);        /* patch path, several blocks */
        test_conv(v, 1, 15, 13, 9, 33, 3, 2, 1, 1, ME_FUSED_ACT_RELU_MIN_MAX); /* odd channels, stride */
        test_conv(v, 1, 9, 7, 5, 17, 7, 2, 3, 1, ME_FUSED_ACT_NONE);            /* 7x7 stem-like, tiny */
        test_conv(v, 2, 28, 28, 24, 70, 1, 1, 0, 1, ME_FUSED_ACT_SILU);        /* pointwise, activation after */
        test_conv(v, 1, 3, 3, 300, 520, 1, 1, 0, 1, ME_FUSED_ACT_RELU);        /* few rows, wide: column split */
        test_conv(v, 1, 4, 4, 130, 530, 3, 1, 1, 1, ME_FUSED_ACT_NONE);        /* few rows, patch, column split */
        test_conv(v, 1, 10, 10, 64, 64, 3, 1, 1, 2, ME_FUSED_ACT_RELU);        /* groups of 32 */
        test_conv(v, 1, 10, 10, 32, 32, 1, 1, 0, 2, ME_FUSED_ACT_NONE);        /* pointwise groups of 16 */
        test_dense(v, ME_OP_FULLY_CONNECTED, 1, 1, 300, 517, 0, 1, ME_FUSED_ACT_NONE);
        test_dense(v, ME_OP_FULLY_CONNECTED, 1, 97, 130, 75, 0, 1, ME_FUSED_ACT_RELU);
        test_dense(v, ME_OP_MATMUL, 1, 197, 64, 197, 0, 0, ME_FUSED_ACT_RELU_MIN_MAX);
        test_dense(v, ME_OP_MATMUL, 1, 3, 129, 300, 0, 1, ME_FUSED_ACT_SILU);
        test_dense(v, ME_OP_MATMUL, 3, 17, 40, 33, 0, 0, ME_FUSED_ACT_NONE);   /* batched A, one B: one tall GEMM */
        test_dense(v, ME_OP_MATMUL, 2, 19, 23, 45, 1, 1, ME_FUSED_ACT_RELU);   /* transposed A per batch */
        printf("checked %s (packed ops)\n", v->id);
        tested++;
    }
    CHECK(tested >= 1);
    return check_exit();
}
