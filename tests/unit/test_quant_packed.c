/* The pre-packed A8W8 fast path (src/quant/quant_pack.c + the qint8 kernel
 * family) against the integer reference kernels (src/quant/qk_*.c, the
 * definition of docs/quantized-arithmetic.md, checked on their own in
 * test_quant_kernels.c): for every qint8 variant this CPU runs, at 1 and 2
 * threads, the output bytes must be identical. Edge cases: K not a multiple
 * of 4, odd and single channel counts, output channels below / at / above
 * the 16- and 32-column tiles, rows below / at / above the 8-row tile, direct
 * 1x1 and im2col convolutions with padding, stride and dilation, input and
 * output zero points 0 and 255, saturating and vanishing multipliers, fused
 * Relu / ReluMinMax, broadcast element-wise operands. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/kernels.h"
#include "ops/ops.h"
#include "quant/qk_common.h"
#include "quant/quant_kernels.h"
#include "runtime/threadpool.h"

typedef struct qh {
    me_graph g;
    me_diag d;
    int node, names;
} qh;

static uint32_t rng = 777;
static uint32_t rnd(void) {
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

static me_qenc *enc(qh *h, int bw, bool sgn, int n, const float *scales, const int32_t *offsets, int axis) {
    me_qenc *q = me_arena_calloc(&h->g.arena, 1, sizeof *q);
    q->kind = axis >= 0 ? ME_QENC_AXIS_SCALE_OFFSET : ME_QENC_SCALE_OFFSET;
    q->bitwidth = bw;
    q->is_signed = sgn;
    q->axis = axis < 0 ? 0 : axis;
    q->n = n;
    q->scales = me_arena_calloc(&h->g.arena, (size_t)n, sizeof(float));
    q->offsets = me_arena_calloc(&h->g.arena, (size_t)n, sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        q->scales[i] = scales[i];
        q->offsets[i] = offsets ? offsets[i] : 0;
    }
    return q;
}

static int qin(qh *h, me_dtype dt, int rank, const int64_t *dims, const void *data, size_t nbytes, me_qenc *q) {
    char name[16];
    snprintf(name, sizeof name, "t%d", h->names++);
    int t = data ? me_graph_add_static_copy(&h->g, name, dt, rank, dims, data, nbytes, &h->d)
                 : me_graph_add_tensor(&h->g, name, dt, rank, dims, &h->d);
    if (t >= 0) h->g.tensors[t].qenc = q;
    if (t >= 0 && data == NULL && rank > 0) me_graph_add_input(&h->g, t); /* an activation input */
    return t;
}

static me_qenc *act(qh *h, float s, int32_t off) { return enc(h, 8, false, 1, &s, &off, -1); }

/* Runs the node: the reference kernel `ref`, then me_node_run with the packed
 * copy for each variant at 1 and 2 threads; compares bytes. Returns the
 * number of mismatching runs (or 1 when the node got no packed copy while
 * `want_packed`). `xs` are the non-static inputs' codes. */
static int run_compare(qh *h, me_status (*ref)(const me_kernel_ctx *, me_diag *), const uint8_t *const *xs,
                       bool want_packed, me_threadpool *pool) {
    me_node *n = &h->g.nodes[h->node];
    me_status st = me_node_infer(&h->g, n, &h->d);
    if (st == ME_OK) st = me_graph_verify(&h->g, &h->d);
    if (st != ME_OK) {
        fprintf(stderr, "setup: %s\n", me_diag_text(&h->d));
        return 1;
    }
    CHECK(n->op == ME_OP_QUANTIZE || me_op_has_quant_kernel(&h->g, n));
    const me_tensor *ins[3] = {NULL, NULL, NULL};
    const void *din[3] = {NULL, NULL, NULL};
    for (int i = 0, xi = 0; i < n->n_in; i++) {
        ins[i] = &h->g.tensors[n->in[i]];
        din[i] = ins[i]->flags & ME_TF_STATIC ? ins[i]->data : xs[xi++];
    }
    const me_tensor *outs[1] = {&h->g.tensors[n->out[0]]};
    size_t ny = me_tensor_nbytes(outs[0]);
    uint8_t *want = calloc(1, ny + 1), *got = calloc(1, ny + 1);
    void *dout[1] = {want};
    me_kernel_ctx k;
    memset(&k, 0, sizeof k);
    k.node = n;
    k.in = ins;
    k.out = outs;
    k.in_data = din;
    k.out_data = dout;
    k.n_in = n->n_in;
    k.n_out = 1;
    int bad = 0;
    if ((st = ref(&k, &h->d)) != ME_OK) {
        fprintf(stderr, "reference: %s\n", me_diag_text(&h->d));
        bad++;
    }
    size_t pb = me_qnode_packed_bytes(&h->g, n, NULL);
    void *packed = NULL;
    if (pb) {
        packed = aligned_alloc(64, (pb + 63) / 64 * 64);
        if (me_qnode_pack(&h->g, n, NULL, packed, &h->d) != ME_OK) bad++;
        /* packing is deterministic */
        void *again = aligned_alloc(64, (pb + 63) / 64 * 64);
        if (me_qnode_pack(&h->g, n, NULL, again, &h->d) != ME_OK || memcmp(packed, again, pb)) bad++;
        free(again);
    } else if (want_packed) {
        fprintf(stderr, "node got no packed copy\n");
        bad++;
    }
    dout[0] = got;
    k.packed = packed;
    for (int v = 0; v < me_qint8_kernel_count; v++) {
        if (!me_cpu_has(me_qint8_kernels[v].isa)) continue;
        k.variant = pb ? &me_qint8_kernels[v] : NULL;
        for (int t = 0; t < 2; t++) {
            k.pool = t ? pool : NULL;
            memset(got, 0xA5, ny);
            if (me_node_run(&k, &h->d) != ME_OK) {
                fprintf(stderr, "fast: %s\n", me_diag_text(&h->d));
                bad++;
            } else if (memcmp(got, want, ny)) {
                size_t i = 0;
                while (got[i] == want[i]) i++;
                fprintf(stderr, "%s, %d thread(s): byte %zu is %u, the reference gives %u\n", me_qint8_kernels[v].id,
                        t + 1, i, got[i], want[i]);
                bad++;
            }
        }
        if (!pb) break;
    }
    /* a damaged record (as a context binary can carry one): a field that sizes
     * a read or a shift out of range is refused, never run (fuzzing found a
     * forged channel count reading past the record). Header: u32 magic, kind;
     * i64 n, k, cp, op, wbytes, spare[2]; GEMM/DW then weights, bias, mul, shift. */
    if (pb) {
        void *bent = aligned_alloc(64, (pb + 63) / 64 * 64);
        const int64_t fields[] = {8, 16, 24, 40, 48, 56}; /* n, k, cp, wbytes, spare */
        k.packed = bent;
        k.variant = NULL;
        k.pool = NULL;
        for (size_t f = 0; f < sizeof fields / sizeof *fields + 1; f++) {
            memcpy(bent, packed, pb);
            uint32_t kind;
            memcpy(&kind, (uint8_t *)bent + 4, 4);
            if (f < sizeof fields / sizeof *fields) {
                int64_t v;
                memcpy(&v, (uint8_t *)bent + fields[f], 8);
                v = v ? v * 16777217 : 7; /* e.g. cp 16 -> 268435472 */
                memcpy((uint8_t *)bent + fields[f], &v, 8);
            } else if (kind == 1 || kind == 2) { /* the last channel's shift */
                int32_t s = 64;
                memcpy((uint8_t *)bent + pb - 4, &s, 4);
            } else {
                continue;
            }
            /* the check made when a record is attached (me_exec_use_packed) finds
             * every damage; a run re-checks the header fields itself */
            me_diag_clear(&h->d);
            if (me_qk_packed_check(&k, bent, &h->d) != ME_ERR_FORMAT || !strstr(me_diag_text(&h->d), "packed")) {
                fprintf(stderr, "damaged packed record (field %zu) passed the check: %s\n", f, me_diag_text(&h->d));
                bad++;
            }
            me_diag_clear(&h->d);
            if (f < sizeof fields / sizeof *fields &&
                (me_node_run(&k, &h->d) != ME_ERR_FORMAT || !strstr(me_diag_text(&h->d), "packed"))) {
                fprintf(stderr, "damaged packed record (field %zu) was run: %s\n", f, me_diag_text(&h->d));
                bad++;
            }
        }
        free(bent);
    }
    free(packed);
    free(want);
    free(got);
    return bad;
}

typedef struct conv_case {
    int dw;
    int64_t n, h, w, c, fh, fw, co, s, pad, dil;
    int32_t ox, oy;
    int act;       /* 0 none, 1 relu, 2 relu_min_max */
    int ysat;      /* 0 normal output scale, 1 tiny (saturating), 2 huge (vanishing) */
    int extreme;   /* weights -128 / 127 and inputs 0 / 255 */
} conv_case;

static void conv_case_run(const conv_case *cc, me_threadpool *pool) {
    qh h;
    memset(&h, 0, sizeof h);
    me_diag_init(&h.d);
    me_graph_init(&h.g, &h.d);
    int64_t ci = cc->dw ? 1 : cc->c, co = cc->dw ? cc->c : cc->co;
    int64_t xd[4] = {cc->n, cc->h, cc->w, cc->c}, wd[4] = {cc->fh, cc->fw, ci, co}, bd[1] = {co};
    int64_t xn = me_shape_numel(4, xd), wn = me_shape_numel(4, wd);
    uint8_t *x = malloc((size_t)xn);
    int8_t *w = malloc((size_t)wn);
    int32_t *bias = malloc((size_t)co * 4);
    float *sw = malloc((size_t)co * 4), *sb = malloc((size_t)co * 4);
    for (int64_t i = 0; i < xn; i++) x[i] = (uint8_t)(cc->extreme ? (i % 3 ? 255 : 0) : rnd() & 255);
    for (int64_t i = 0; i < wn; i++) w[i] = (int8_t)(cc->extreme ? (i % 5 ? -128 : 127) : (int)(rnd() % 256) - 128);
    float sx = 0.02f, sy = cc->ysat == 1 ? 1e-4f : cc->ysat == 2 ? 1e6f : 0.5f;
    for (int64_t c = 0; c < co; c++) {
        sw[c] = 0.001f * (float)(1 + rnd() % 50);
        sb[c] = sx * sw[c];
        bias[c] = (int32_t)(rnd() % 200001) - 100000;
    }
    int tx = qin(&h, ME_DT_U8, 4, xd, NULL, 0, act(&h, sx, cc->ox));
    int tw = qin(&h, ME_DT_I8, 4, wd, w, (size_t)wn, enc(&h, 8, true, (int)co, sw, NULL, 3));
    int tb = qin(&h, ME_DT_I32, 1, bd, bias, (size_t)co * 4, enc(&h, 32, true, (int)co, sb, NULL, 0));
    int ty = qin(&h, ME_DT_U8, 0, NULL, NULL, 0, act(&h, sy, cc->oy));
    int out = ty;
    h.node = me_graph_add_node(&h.g, "n", cc->dw ? ME_OP_DEPTHWISE_CONV2D : ME_OP_CONV2D, (int[]){tx, tw, tb}, 3,
                               &out, 1, "", &h.d);
    int nd = h.node;
    me_node_set_tensor_int(&h.g, nd, "stride", ME_DT_U32, 1, (int64_t[]){2}, (int64_t[]){cc->s, cc->s});
    me_node_set_tensor_int(&h.g, nd, "pad_amount", ME_DT_U32, 2, (int64_t[]){2, 2},
                           (int64_t[]){cc->pad, cc->pad + (cc->s > 1), cc->pad, cc->pad});
    me_node_set_tensor_int(&h.g, nd, "dilation", ME_DT_U32, 1, (int64_t[]){2}, (int64_t[]){cc->dil, cc->dil});
    if (cc->act) me_node_set_scalar_u32(&h.g, nd, "activation", (uint32_t)cc->act);
    if (cc->act == 2) {
        me_node_set_scalar_f32(&h.g, nd, "activation_min", 0.5f);
        me_node_set_scalar_f32(&h.g, nd, "activation_max", 60.0f);
    }
    const uint8_t *xs[1] = {x};
    int bad = run_compare(&h, cc->dw ? me_qk_dwconv2d : me_qk_conv2d, xs, true, pool);
    if (bad)
        fprintf(stderr, "  conv case dw=%d %lldx%lldx%lldx%lld f%lldx%lld co=%lld s=%lld pad=%lld dil=%lld ox=%d oy=%d act=%d sat=%d ext=%d\n",
                cc->dw, (long long)cc->n, (long long)cc->h, (long long)cc->w, (long long)cc->c, (long long)cc->fh,
                (long long)cc->fw, (long long)co, (long long)cc->s, (long long)cc->pad, (long long)cc->dil, cc->ox,
                cc->oy, cc->act, cc->ysat, cc->extreme);
    CHECK(bad == 0);
    free(x), free(w), free(bias), free(sw), free(sb);
    me_graph_free(&h.g);
    me_diag_free(&h.d);
}

static void test_conv(me_threadpool *pool) {
    static const conv_case cases[] = {
        /* dw  n  h  w   c  fh fw co s pad dil  ox    oy  act sat ext */
        {0, 1, 5, 7, 13, 1, 1, 17, 1, 0, 1, -128, -10, 0, 0, 0},   /* direct 1x1, K=13, M=35 */
        {0, 1, 3, 3, 64, 1, 1, 33, 1, 0, 1, -3, -128, 1, 0, 0},    /* 3 column blocks, M=9 */
        {0, 2, 4, 2, 16, 1, 1, 32, 1, 0, 1, 0, 0, 0, 0, 0},        /* batch 2, exactly 2 blocks, M=16 */
        {0, 1, 9, 8, 5, 3, 3, 16, 2, 1, 1, -255, -255, 0, 0, 0},   /* im2col, K=45 */
        {0, 1, 15, 15, 3, 7, 7, 8, 2, 3, 1, -114, 0, 1, 0, 0},     /* stem-like, K=147 */
        {0, 1, 8, 8, 8, 3, 3, 40, 1, 2, 2, -60, -20, 2, 0, 0},     /* dilation, relu_min_max */
        {0, 1, 6, 6, 7, 1, 1, 15, 2, 0, 1, -7, -3, 0, 0, 0},       /* 1x1 stride 2 (im2col) */
        {0, 1, 4, 5, 9, 3, 3, 1, 1, 1, 1, -200, -100, 0, 0, 0},    /* one output channel */
        {0, 1, 4, 4, 300, 3, 3, 20, 1, 1, 1, 0, -255, 0, 0, 1},    /* extreme codes, K=2700 */
        {0, 1, 5, 5, 10, 3, 3, 18, 1, 1, 1, -90, -40, 0, 1, 0},    /* saturating multiplier */
        {0, 1, 5, 5, 10, 3, 3, 18, 1, 1, 1, -90, -40, 0, 2, 0},    /* vanishing multiplier */
        {0, 1, 10, 10, 16, 3, 3, 96, 1, 1, 1, -31, -9, 1, 0, 0},   /* few pixels, threads split columns */
        {0, 1, 8, 8, 256, 1, 1, 80, 1, 0, 1, -250, -1, 0, 0, 0},   /* the same, direct 1x1 */
        {1, 1, 7, 6, 1, 3, 3, 0, 1, 1, 1, -128, -5, 0, 0, 0},      /* depthwise, one channel */
        {1, 1, 7, 9, 17, 3, 3, 0, 2, 1, 1, -255, -250, 1, 0, 0},   /* depthwise, odd channels, stride 2 */
        {1, 2, 6, 6, 35, 5, 5, 0, 1, 2, 1, 0, 0, 2, 0, 0},         /* depthwise 5x5, batch 2 */
        {1, 1, 5, 5, 64, 3, 3, 0, 1, 2, 2, -77, -77, 0, 0, 1},     /* depthwise, dilation, extreme */
        {1, 1, 4, 4, 24, 3, 3, 0, 1, 1, 1, -90, -40, 0, 1, 0},     /* depthwise, saturating */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) conv_case_run(&cases[i], pool);
}

static void test_fc(me_threadpool *pool) {
    static const int64_t shapes[][3] = {{1, 7, 1}, {1, 64, 16}, {3, 130, 17}, {20, 33, 100}, {17, 2048, 48}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int64_t B = shapes[si][0], K = shapes[si][1], N = shapes[si][2];
        qh h;
        memset(&h, 0, sizeof h);
        me_diag_init(&h.d);
        me_graph_init(&h.g, &h.d);
        uint8_t *x = malloc((size_t)(B * K));
        int8_t *w = malloc((size_t)(N * K));
        int32_t *bias = malloc((size_t)N * 4);
        float *sw = malloc((size_t)N * 4), *sb = malloc((size_t)N * 4);
        for (int64_t i = 0; i < B * K; i++) x[i] = (uint8_t)(rnd() & 255);
        for (int64_t i = 0; i < N * K; i++) w[i] = (int8_t)((int)(rnd() % 256) - 128);
        float sx = 0.03f, sy = 0.8f;
        for (int64_t c = 0; c < N; c++) {
            sw[c] = 0.002f * (float)(1 + rnd() % 20);
            sb[c] = sx * sw[c];
            bias[c] = (int32_t)(rnd() % 20001) - 10000;
        }
        int tx = qin(&h, ME_DT_U8, 2, (int64_t[]){B, K}, NULL, 0, act(&h, sx, -(int32_t)(si * 50)));
        int tw = qin(&h, ME_DT_I8, 2, (int64_t[]){N, K}, w, (size_t)(N * K), enc(&h, 8, true, (int)N, sw, NULL, 0));
        int tb = qin(&h, ME_DT_I32, 1, (int64_t[]){N}, bias, (size_t)N * 4, enc(&h, 32, true, (int)N, sb, NULL, 0));
        int out = qin(&h, ME_DT_U8, 0, NULL, NULL, 0, act(&h, sy, -(int32_t)(si * 60)));
        h.node = me_graph_add_node(&h.g, "fc", ME_OP_FULLY_CONNECTED, (int[]){tx, tw, tb}, 3, &out, 1, "", &h.d);
        const uint8_t *xs[1] = {x};
        int bad = run_compare(&h, me_qk_fully_connected, xs, true, pool);
        if (bad) fprintf(stderr, "  fc case %lld x %lld -> %lld\n", (long long)B, (long long)K, (long long)N);
        CHECK(bad == 0);
        free(x), free(w), free(bias), free(sw), free(sb);
        me_graph_free(&h.g);
        me_diag_free(&h.d);
    }
}

static void test_eltwise(me_threadpool *pool) {
    static const int ops[] = {ME_OP_ADD, ME_OP_SUBTRACT, ME_OP_MULTIPLY};
    for (int oi = 0; oi < 3; oi++)
        for (int bc = 0; bc < 4; bc++) { /* same shape, row broadcast, scalar-per-row broadcast, far scales */
            qh h;
            memset(&h, 0, sizeof h);
            me_diag_init(&h.d);
            me_graph_init(&h.g, &h.d);
            int64_t ad[4] = {1, 3, 5, 7}, bd[4] = {1, 1, 1, 7};
            if (bc == 2) bd[1] = 3, bd[2] = 5, bd[3] = 1;
            uint8_t a[105], b[105];
            for (int i = 0; i < 105; i++) a[i] = (uint8_t)(rnd() & 255), b[i] = (uint8_t)(rnd() & 255);
            a[0] = 0, a[1] = 255, b[0] = 255, b[1] = 0;
            int ta = qin(&h, ME_DT_U8, 4, ad, NULL, 0, act(&h, 0.05f, -17));
            int tb = qin(&h, ME_DT_U8, 4, bc == 1 || bc == 2 ? bd : ad, NULL, 0, act(&h, bc == 3 ? 3e-9f : 0.11f, -240));
            int out = qin(&h, ME_DT_U8, 0, NULL, NULL, 0, act(&h, ops[oi] == ME_OP_MULTIPLY ? 0.9f : 0.07f, -100));
            h.node = me_graph_add_node(&h.g, "e", ops[oi], (int[]){ta, tb}, 2, &out, 1, "", &h.d);
            const uint8_t *xs[2] = {a, b};
            int bad = run_compare(&h, me_qk_eltwise, xs, true, pool);
            if (bad) fprintf(stderr, "  eltwise op %d broadcast %d\n", ops[oi], bc);
            CHECK(bad == 0);
            me_graph_free(&h.g);
            me_diag_free(&h.d);
        }
}

/* Relu / ReluMinMax / PoolMax2d on U8 take the table path without packing. */
static void test_unary(me_threadpool *pool) {
    for (int kind = 0; kind < 7; kind++) {
        qh h;
        memset(&h, 0, sizeof h);
        me_diag_init(&h.d);
        me_graph_init(&h.g, &h.d);
        int64_t xd[4] = {1, 6, 5, 11};
        uint8_t x[330];
        for (int i = 0; i < 330; i++) x[i] = (uint8_t)(rnd() & 255);
        int tx = qin(&h, ME_DT_U8, 4, xd, NULL, 0, act(&h, 0.1f, -120));
        int out = qin(&h, ME_DT_U8, 0, NULL, NULL, 0, kind == 0 ? act(&h, 0.1f, -120) : act(&h, 0.07f, -3));
        int op = kind < 2 ? ME_OP_RELU : kind == 2 ? ME_OP_RELU_MIN_MAX : kind == 3 ? ME_OP_POOL_MAX2D : ME_OP_POOL_AVG2D;
        h.node = me_graph_add_node(&h.g, "u", op, (int[]){tx}, 1, &out, 1, "", &h.d);
        if (op == ME_OP_RELU_MIN_MAX) {
            me_node_set_scalar_f32(&h.g, h.node, "min_value", -1.0f);
            me_node_set_scalar_f32(&h.g, h.node, "max_value", 6.0f);
        }
        if (op == ME_OP_POOL_MAX2D || op == ME_OP_POOL_AVG2D) {
            bool global = kind == 6;
            me_node_set_tensor_int(&h.g, h.node, "filter_size", ME_DT_U32, 1, (int64_t[]){2},
                                   global ? (int64_t[]){6, 5} : (int64_t[]){3, 3});
            me_node_set_tensor_int(&h.g, h.node, "stride", ME_DT_U32, 1, (int64_t[]){2}, (int64_t[]){2, 2});
            me_node_set_tensor_int(&h.g, h.node, "pad_amount", ME_DT_U32, 2, (int64_t[]){2, 2},
                                   global ? (int64_t[]){0, 0, 0, 0} : (int64_t[]){1, 1, 1, 1});
            if (kind == 5) me_node_set_scalar_bool(&h.g, h.node, "count_pad_for_edges", true);
        }
        const uint8_t *xs[1] = {x};
        int bad = run_compare(&h, op == ME_OP_POOL_MAX2D ? me_qk_maxpool : op == ME_OP_POOL_AVG2D ? me_qk_avgpool : me_qk_clamp,
                              xs, false, pool);
        if (bad) fprintf(stderr, "  unary kind %d\n", kind);
        CHECK(bad == 0);
        me_graph_free(&h.g);
        me_diag_free(&h.d);
    }
}

static me_status quantize_ref(const me_kernel_ctx *k, me_diag *d) { return me_opdefs[ME_OP_QUANTIZE]->run(k, d); }

/* Quantize F32 -> U8 (per tensor) takes a faster loop in me_node_run. */
static void test_quantize(me_threadpool *pool) {
    for (int big = 0; big < 2; big++) {
        qh h;
        memset(&h, 0, sizeof h);
        me_diag_init(&h.d);
        me_graph_init(&h.g, &h.d);
        int64_t n = big ? 40000 : 64;
        float *x = malloc((size_t)n * sizeof *x);
        const float s = 0.25f;
        for (int64_t i = 0; i < n; i++) x[i] = ((float)(rnd() % 4001) - 2000.0f) * 0.0625f; /* many exact ties */
        x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = 0.125f, x[4] = 0.375f, x[5] = 1e30f, x[6] = -1e30f;
        x[7] = 3.1e9f, x[8] = -0.0f, x[9] = 63.625f;
        int tx = qin(&h, ME_DT_F32, 2, (int64_t[]){1, n}, NULL, 0, NULL);
        int out = qin(&h, ME_DT_U8, 0, NULL, NULL, 0, act(&h, s, big ? -7 : -128));
        h.node = me_graph_add_node(&h.g, "q", ME_OP_QUANTIZE, (int[]){tx}, 1, &out, 1, "", &h.d);
        const uint8_t *xs[1] = {(const uint8_t *)x};
        int bad = run_compare(&h, quantize_ref, xs, false, pool);
        CHECK(bad == 0);
        free(x);
        me_graph_free(&h.g);
        me_diag_free(&h.d);
    }
}

int main(void) {
    me_threadpool *pool = me_threadpool_create(2);
    test_conv(pool);
    test_fc(pool);
    test_eltwise(pool);
    test_unary(pool);
    test_quantize(pool);
    me_threadpool_destroy(pool);
    return check_exit();
}
