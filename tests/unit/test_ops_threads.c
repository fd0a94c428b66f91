/* The threaded float kernels through their ops (Conv2d on both paths,
 * DepthWiseConv2d, FullyConnected, MatMul, ElementWiseAdd/Multiply, PoolMax2d,
 * PoolAvg2d (also global), Softmax, LayerNorm, Sigmoid, Tanh, Gelu): with
 * 1, 2 and 3 threads the outputs are bit-identical, and they match a naive
 * double-precision formula written here. Sizes are large enough that the
 * work really is split (several patch blocks, rows and columns). */
#include <stdint.h>

#include "check.h"
#include "op_harness.h"
#include "runtime/threadpool.h"

#define DIMS(...) ((int64_t[]){__VA_ARGS__})

static void fill(float *p, int64_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

typedef struct op_case {
    int op;
    int n_in;
    int rank[3];
    int64_t dims[3][4];
    /* conv params */
    int64_t stride, pad;
    int64_t filter; /* pooling window (square); 0 = 3 */
} op_case;

/* Runs the case with `threads` threads; returns a malloc'd copy of the output. */
static float *run_case(const op_case *k, float *const *data, int threads, int64_t *numel) {
    oh_ctx c;
    oh_init(&c);
    me_threadpool *pool = me_threadpool_create(threads);
    CHECK(pool != NULL);
    c.pool = pool;
    int in[3];
    for (int i = 0; i < k->n_in; i++) in[i] = oh_in(&c, ME_DT_F32, k->rank[i], k->dims[i], data[i]);
    int y = oh_out(&c, ME_DT_UNDEFINED);
    oh_node(&c, k->op, in, k->n_in, &y, 1);
    if (k->op == ME_OP_POOL_MAX2D || k->op == ME_OP_POOL_AVG2D)
        CHECK(me_node_set_tensor_int(&c.g, c.node, "filter_size", ME_DT_U32, 1, DIMS(2),
                                     DIMS(k->filter ? k->filter : 3, k->filter ? k->filter : 3)) == ME_OK);
    if (k->op == ME_OP_CONV2D || k->op == ME_OP_DEPTHWISE_CONV2D || k->op == ME_OP_POOL_MAX2D ||
        k->op == ME_OP_POOL_AVG2D) {
        CHECK(me_node_set_tensor_int(&c.g, c.node, "stride", ME_DT_U32, 1, DIMS(2), DIMS(k->stride, k->stride)) ==
              ME_OK);
        CHECK(me_node_set_tensor_int(&c.g, c.node, "pad_amount", ME_DT_U32, 2, DIMS(2, 2),
                                     DIMS(k->pad, k->pad, k->pad, k->pad)) == ME_OK);
    }
    if (k->op == ME_OP_LAYER_NORM)
        CHECK(me_node_set_tensor_int(&c.g, c.node, "axes", ME_DT_U32, 1, DIMS(1), DIMS(k->rank[0] - 1)) == ME_OK);
    float *out = NULL;
    me_status st = oh_run(&c);
    CHECK(st == ME_OK);
    if (st == ME_OK) {
        *numel = me_tensor_numel(oh_tensor(&c, 0));
        out = malloc(c.out_nbytes[0]);
        memcpy(out, oh_data(&c, 0), c.out_nbytes[0]);
    } else {
        fprintf(stderr, "  %s\n", oh_msg(&c));
    }
    oh_free(&c);
    me_threadpool_destroy(pool);
    return out;
}

/* Same output for 1, 2, 3 threads; returns the 1-thread one (or NULL). */
static float *run_all(const op_case *k, float *const *data, int64_t *numel) {
    float *ref = run_case(k, data, 1, numel);
    for (int t = 2; t <= 3 && ref; t++) {
        int64_t n2 = 0;
        float *o = run_case(k, data, t, &n2);
        CHECK(o && n2 == *numel && memcmp(o, ref, sizeof(float) * (size_t)n2) == 0);
        free(o);
    }
    return ref;
}

static int near(double got, double want, double mag) { return fabs(got - want) <= 1e-5 * mag + 1e-30; }

static void test_conv(int64_t n, int64_t h, int64_t w, int64_t cin, int64_t cout, int64_t f, int64_t s, int64_t p,
                      int depthwise) {
    int64_t wc = depthwise ? 1 : cin;
    op_case k = {depthwise ? ME_OP_DEPTHWISE_CONV2D : ME_OP_CONV2D, 3, {4, 4, 1},
                 {{n, h, w, cin}, {f, f, wc, cout}, {cout}}, s, p};
    float *x = malloc(sizeof(float) * (size_t)(n * h * w * cin));
    float *wt = malloc(sizeof(float) * (size_t)(f * f * wc * cout));
    float *b = malloc(sizeof(float) * (size_t)cout);
    fill(x, n * h * w * cin, 11);
    fill(wt, f * f * wc * cout, 12);
    fill(b, cout, 13);
    float *data[3] = {x, wt, b};
    int64_t numel = 0;
    float *y = run_all(&k, data, &numel);
    int64_t oh = (h + 2 * p - f) / s + 1, ow = (w + 2 * p - f) / s + 1;
    CHECK(numel == n * oh * ow * cout);
    int bad = 0;
    for (int64_t i = 0; y && i < numel && !bad; i++) {
        int64_t co = i % cout, q = (i / cout) % ow, r = (i / cout / ow) % oh, im = i / cout / ow / oh;
        double acc = b[co], mag = fabs(b[co]);
        for (int64_t kh = 0; kh < f; kh++)
            for (int64_t kw = 0; kw < f; kw++) {
                int64_t ih = r * s - p + kh, iw = q * s - p + kw;
                if (ih < 0 || iw < 0 || ih >= h || iw >= w) continue;
                for (int64_t ci = depthwise ? co : 0; ci < (depthwise ? co + 1 : cin); ci++) {
                    double t = (double)x[((im * h + ih) * w + iw) * cin + ci] *
                               wt[((kh * f + kw) * wc + (depthwise ? 0 : ci)) * cout + co];
                    acc += t;
                    mag += fabs(t);
                }
            }
        if (!near(y[i], acc, mag)) {
            fprintf(stderr, "  conv element %lld: %g want %g\n", (long long)i, y[i], acc);
            bad = 1;
        }
    }
    CHECK(!bad);
    free(y); free(x); free(wt); free(b);
}

static void test_fc_matmul(int op, int64_t m, int64_t kk, int64_t nn) {
    /* FullyConnected: x [m,kk], W [nn,kk], bias [nn]; MatMul: a [m,kk] b [kk,nn] */
    op_case c = {op, op == ME_OP_FULLY_CONNECTED ? 3 : 2, {2, 2, 1}, {{m, kk}, {0, 0}, {nn}}, 0, 0};
    if (op == ME_OP_FULLY_CONNECTED) { c.dims[1][0] = nn; c.dims[1][1] = kk; }
    else { c.dims[1][0] = kk; c.dims[1][1] = nn; }
    float *a = malloc(sizeof(float) * (size_t)(m * kk)), *bm = malloc(sizeof(float) * (size_t)(kk * nn));
    float *bias = malloc(sizeof(float) * (size_t)nn);
    fill(a, m * kk, 21);
    fill(bm, kk * nn, 22);
    fill(bias, nn, 23);
    float *data[3] = {a, bm, bias};
    int64_t numel = 0;
    float *y = run_all(&c, data, &numel);
    CHECK(numel == m * nn);
    int bad = 0;
    for (int64_t i = 0; y && i < m && !bad; i++)
        for (int64_t j = 0; j < nn; j++) {
            double acc = op == ME_OP_FULLY_CONNECTED ? bias[j] : 0.0, mag = fabs(acc);
            for (int64_t t = 0; t < kk; t++) {
                double v = (double)a[i * kk + t] * (op == ME_OP_FULLY_CONNECTED ? bm[j * kk + t] : bm[t * nn + j]);
                acc += v;
                mag += fabs(v);
            }
            if (!near(y[i * nn + j], acc, mag)) {
                fprintf(stderr, "  gemm [%lld,%lld]: %g want %g\n", (long long)i, (long long)j, y[i * nn + j], acc);
                bad = 1;
                break;
            }
        }
    CHECK(!bad);
    free(y); free(a); free(bm); free(bias);
}

static void test_eltwise(int op, int64_t rows, int64_t cols, int bcast_row) {
    op_case c = {op, 2, {2, 2}, {{rows, cols}, {bcast_row ? 1 : rows, cols}}, 0, 0};
    float *a = malloc(sizeof(float) * (size_t)(rows * cols)), *b = malloc(sizeof(float) * (size_t)(rows * cols));
    fill(a, rows * cols, 31);
    fill(b, rows * cols, 32);
    float *data[2] = {a, b};
    int64_t numel = 0;
    float *y = run_all(&c, data, &numel);
    int bad = 0;
    for (int64_t i = 0; y && i < rows * cols; i++) {
        double x = a[i], z = b[bcast_row ? i % cols : i];
        if (y[i] != (float)(op == ME_OP_ADD ? x + z : x * z)) bad = 1;
    }
    CHECK(y && !bad);
    free(y); free(a); free(b);
}

/* 3x3 pooling, stride 2, pad 1 (average: padding not counted). */
static void test_pool(int avg, int64_t n, int64_t h, int64_t w, int64_t c) {
    op_case k = {avg ? ME_OP_POOL_AVG2D : ME_OP_POOL_MAX2D, 1, {4}, {{n, h, w, c}}, 2, 1};
    float *x = malloc(sizeof(float) * (size_t)(n * h * w * c));
    fill(x, n * h * w * c, 41);
    float *data[1] = {x};
    int64_t numel = 0;
    float *y = run_all(&k, data, &numel);
    int64_t oh = (h + 2 - 3) / 2 + 1, ow = (w + 2 - 3) / 2 + 1;
    CHECK(numel == n * oh * ow * c);
    int bad = 0;
    for (int64_t i = 0; y && i < numel && !bad; i++) {
        int64_t ch = i % c, q = (i / c) % ow, r = (i / c / ow) % oh, im = i / c / ow / oh;
        double best = -1e30, sum = 0;
        int cnt = 0;
        for (int64_t a = 0; a < 3; a++)
            for (int64_t bb = 0; bb < 3; bb++) {
                int64_t ih = r * 2 - 1 + a, iw = q * 2 - 1 + bb;
                if (ih < 0 || iw < 0 || ih >= h || iw >= w) continue;
                double v = x[((im * h + ih) * w + iw) * c + ch];
                if (v > best) best = v;
                sum += v;
                cnt++;
            }
        double want = avg ? sum / cnt : best;
        if (!(fabs(y[i] - want) <= (avg ? 1e-6 : 0.0))) {
            fprintf(stderr, "  pool element %lld: %g want %g\n", (long long)i, y[i], want);
            bad = 1;
        }
    }
    CHECK(!bad);
    free(y); free(x);
}

/* Global average / max pool (window = the whole image): few output rows, so
 * the channels are split over threads. */
static void test_global_pool(int avg, int64_t n, int64_t hw, int64_t c) {
    op_case k = {avg ? ME_OP_POOL_AVG2D : ME_OP_POOL_MAX2D, 1, {4}, {{n, hw, hw, c}}, 1, 0, hw};
    float *x = malloc(sizeof(float) * (size_t)(n * hw * hw * c));
    fill(x, n * hw * hw * c, 43);
    float *data[1] = {x};
    int64_t numel = 0;
    float *y = run_all(&k, data, &numel);
    CHECK(numel == n * c);
    int bad = 0;
    for (int64_t i = 0; y && i < numel && !bad; i++) {
        int64_t ch = i % c, im = i / c;
        double best = -1e30, sum = 0;
        for (int64_t p = 0; p < hw * hw; p++) {
            double v = x[(im * hw * hw + p) * c + ch];
            best = v > best ? v : best;
            sum += v;
        }
        double want = avg ? sum / (double)(hw * hw) : best;
        if (!(fabs(y[i] - want) <= (avg ? 1e-5 : 0.0))) bad = 1;
    }
    CHECK(y && !bad);
    free(y); free(x);
}

/* LayerNorm over the last axis with gamma and beta (rows split over threads). */
static void test_layernorm(int64_t rows, int64_t len) {
    op_case k = {ME_OP_LAYER_NORM, 3, {2, 1, 1}, {{rows, len}, {len}, {len}}, 0, 0, 0};
    float *x = malloc(sizeof(float) * (size_t)(rows * len)), *gm = malloc(sizeof(float) * (size_t)len),
          *bt = malloc(sizeof(float) * (size_t)len);
    fill(x, rows * len, 61);
    for (int64_t i = 0; i < rows * len; i++) x[i] = x[i] * 3.0f + 5.0f;
    fill(gm, len, 62);
    fill(bt, len, 63);
    float *data[3] = {x, gm, bt};
    int64_t numel = 0;
    float *y = run_all(&k, data, &numel);
    int bad = 0;
    for (int64_t r = 0; y && r < rows && !bad; r++) {
        double mean = 0, var = 0;
        for (int64_t i = 0; i < len; i++) mean += x[r * len + i];
        mean /= (double)len;
        for (int64_t i = 0; i < len; i++) var += (x[r * len + i] - mean) * (x[r * len + i] - mean);
        var /= (double)len;
        for (int64_t i = 0; i < len; i++) {
            double want = (x[r * len + i] - mean) / sqrt(var + 0.001) * gm[i] + bt[i];
            if (!(fabs(y[r * len + i] - want) <= 1e-5 * (1.0 + fabs(want)))) { bad = 1; break; }
        }
    }
    CHECK(y && !bad);
    free(y); free(x); free(gm); free(bt);
}

/* Sigmoid / Tanh / Gelu on a large tensor (element chunks over threads). */
static void test_activation(int op, int64_t n) {
    op_case k = {op, 1, {1}, {{n}}, 0, 0, 0};
    float *x = malloc(sizeof(float) * (size_t)n);
    fill(x, n, 71);
    for (int64_t i = 0; i < n; i++) x[i] *= 12.0f;
    float *data[1] = {x};
    int64_t numel = 0;
    float *y = run_all(&k, data, &numel);
    int bad = 0;
    for (int64_t i = 0; y && i < n && !bad; i++) {
        double v = x[i];
        double want = op == ME_OP_SIGMOID ? 1.0 / (1.0 + exp(-v)) : op == ME_OP_TANH ? tanh(v)
                                                                    : 0.5 * v * erfc(-v / sqrt(2.0));
        if (!(fabs(y[i] - want) <= 1e-6 * fabs(want) + 1e-7 * fabs(v) + 1e-30)) bad = 1;
    }
    CHECK(y && !bad);
    free(y); free(x);
}

static void test_softmax(int64_t rows, int64_t len) {
    op_case k = {ME_OP_SOFTMAX, 1, {2}, {{rows, len}}, 0, 0};
    float *x = malloc(sizeof(float) * (size_t)(rows * len));
    fill(x, rows * len, 51);
    for (int64_t i = 0; i < rows * len; i++) x[i] *= 8.0f;
    float *data[1] = {x};
    int64_t numel = 0;
    float *y = run_all(&k, data, &numel);
    int bad = 0;
    for (int64_t r = 0; y && r < rows && !bad; r++) {
        double mx = -1e30, s = 0;
        for (int64_t i = 0; i < len; i++) mx = x[r * len + i] > mx ? x[r * len + i] : mx;
        for (int64_t i = 0; i < len; i++) s += exp((double)x[r * len + i] - mx);
        for (int64_t i = 0; i < len; i++) {
            double want = exp((double)x[r * len + i] - mx) / s;
            if (!(fabs(y[r * len + i] - want) <= 1e-6 * want + 1e-9)) { bad = 1; break; }
        }
    }
    CHECK(y && !bad);
    free(y); free(x);
}

int main(void) {
    test_conv(2, 20, 20, 64, 40, 3, 1, 1, 0);   /* patch path, several blocks */
    test_conv(1, 15, 13, 9, 33, 3, 2, 1, 0);    /* odd channels, stride */
    test_conv(2, 28, 28, 24, 70, 1, 1, 0, 0);   /* pointwise */
    test_conv(2, 30, 30, 37, 37, 3, 1, 1, 1);   /* depthwise, odd channels */
    test_conv(1, 40, 40, 96, 96, 3, 2, 1, 1);   /* depthwise, stride 2 */
    test_fc_matmul(ME_OP_FULLY_CONNECTED, 1, 300, 517);
    test_fc_matmul(ME_OP_FULLY_CONNECTED, 97, 130, 75);
    test_fc_matmul(ME_OP_MATMUL, 197, 64, 197);
    test_fc_matmul(ME_OP_MATMUL, 3, 129, 300);
    test_eltwise(ME_OP_ADD, 300, 257, 0);
    test_eltwise(ME_OP_MULTIPLY, 300, 257, 1);
    test_eltwise(ME_OP_ADD, 200, 97, 1);
    test_pool(0, 2, 33, 31, 19);
    test_pool(1, 1, 40, 40, 64);
    test_global_pool(1, 1, 14, 200);
    test_global_pool(0, 1, 7, 1001);
    test_layernorm(300, 384);
    test_layernorm(5, 7);
    test_activation(ME_OP_SIGMOID, 50001);
    test_activation(ME_OP_TANH, 30001);
    test_activation(ME_OP_GELU, 40001);
    test_softmax(600, 197);
    test_softmax(3, 10);
    return check_exit();
}
