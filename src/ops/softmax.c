/* Softmax / LogSoftmax of beta*x along any axis (default the last), f32.
 * The maximum is subtracted first; the sum of exponentials is accumulated
 * in double. Along the last axis the exponentials use the unary_f32 vector
 * exp row (src/kernels, error bound in unary_f32_simd.h). LogSoftmax is (z - max) - log(sum exp(z - max)). */
#include <math.h>

#include "../kernels/dispatch.h"
#include "../runtime/threadpool.h"
#include "eltwise_util.h"

static me_status softmax_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 1, d);
    if (st != ME_OK) return st;
    const me_tensor *x = &g->tensors[n->in[0]];
    if (x->dtype != ME_DT_F32)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "unsupported dtype %s", me_dtype_name(x->dtype));
    if (x->rank < 1) return me_op_fail(d, ME_ERR_FORMAT, n, "input must have rank >= 1");
    int axis;
    st = me_op_axis_param(n, "axis", x->rank, x->rank - 1, &axis, d);
    if (st != ME_OK) return st;
    double beta = me_param_float(n, "beta", 1.0);
    if (!isfinite(beta)) return me_op_fail(d, ME_ERR_FORMAT, n, "beta must be finite");
    return me_set_output(g, n, 0, ME_DT_F32, x->rank, x->dims, d);
}

typedef struct softmax_job {
    const float *x;
    float *y;
    int64_t len, inner;
    float beta;
    bool log_out;
    me_unary_f32_fn exp_row; /* unary_f32 exp row of the node's variant */
} softmax_job;

/* The largest of n >= 1 floats through the eltwise_f32 max row, 64 lanes at a
 * time (a branch per element was most of the row's time with masked scores).
 * A NaN may or may not win here; either way the row's exponentials then sum
 * to NaN and every output is NaN, as with a NaN maximum. */
static float row_max(const me_eltwise_f32_kernel *ek, const float *x, int64_t n) {
    float acc[64];
    int64_t c = n < 64 ? n : 64;
    for (int64_t i = 0; i < 64; i++) acc[i] = i < c ? x[i] : x[0];
    for (int64_t i = 64; i < n; i += 64) ek->max(x + i, 1, acc, 1, acc, n - i < 64 ? n - i : 64);
    float m = acc[0];
    for (int i = 1; i < 64; i++) m = acc[i] > m ? acc[i] : m;
    return m;
}

/* Softmax along a contiguous axis: y = beta*x - max, exponentials in place
 * with the vector exp row, then scaled by 1/sum (the element-wise steps on
 * the exact eltwise_f32 rows). */
static void softmax_contig_row(const softmax_job *jb, const float *xs, float *ys) {
    const int64_t len = jb->len;
    const float beta = jb->beta;
    const me_eltwise_f32_kernel *ek = me_eltwise_f32_select();
    const float *z = xs;
    if (beta != 1.0f) { /* z = beta * x, rounded as before */
        ek->mul(&beta, 0, xs, 1, ys, len);
        z = ys;
    }
    const float neg_m = -row_max(ek, z, len);
    ek->add(z, 1, &neg_m, 0, ys, len); /* z - max */
    if (jb->log_out) {
        /* the exponentials go through a bounded stack buffer so ys keeps z - max */
        float buf[256];
        double sum = 0.0;
        for (int64_t i = 0; i < len; i += 256) {
            int64_t c = len - i < 256 ? len - i : 256;
            jb->exp_row(ys + i, buf, c);
            sum += me_sum8_f64(buf, c);
        }
        const float neg_ls = -(float)log(sum);
        ek->add(ys, 1, &neg_ls, 0, ys, len);
        return;
    }
    jb->exp_row(ys, ys, len);
    const float inv = (float)(1.0 / me_sum8_f64(ys, len));
    ek->mul(ys, 1, &inv, 0, ys, len);
}

/* Outer rows [begin, end); each output element is computed by one call. */
static void softmax_rows(void *v, int64_t begin, int64_t end) {
    const softmax_job *jb = v;
    const float *x = jb->x;
    float *y = jb->y;
    const int64_t len = jb->len, inner = jb->inner;
    const float beta = jb->beta;
    const bool log_out = jb->log_out;
    for (int64_t o = begin; o < end; o++) {
        if (inner == 1) {
            softmax_contig_row(jb, x + o * len, y + o * len);
            continue;
        }
        for (int64_t j = 0; j < inner; j++) {
            const float *xs = x + o * len * inner + j;
            float *ys = y + o * len * inner + j;
            float m = -INFINITY;
            for (int64_t i = 0; i < len; i++) {
                float z = beta * xs[i * inner];
                if (z > m || isnan(z)) m = z;
            }
            double sum = 0.0;
            for (int64_t i = 0; i < len; i++) {
                float e = expf(beta * xs[i * inner] - m);
                if (!log_out) ys[i * inner] = e;
                sum += e;
            }
            if (log_out) {
                float ls = (float)log(sum);
                for (int64_t i = 0; i < len; i++) ys[i * inner] = (beta * xs[i * inner] - m) - ls;
            } else {
                float inv = (float)(1.0 / sum);
                for (int64_t i = 0; i < len; i++) ys[i * inner] *= inv;
            }
        }
    }
}

static me_status softmax_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *t = k->in[0];
    int axis;
    me_status st = me_op_axis_param(k->node, "axis", t->rank, t->rank - 1, &axis, d);
    if (st != ME_OK) return st;
    float beta = (float)me_param_float(k->node, "beta", 1.0);
    bool log_out = k->node->op == ME_OP_LOG_SOFTMAX;
    int64_t outer, len, inner;
    me_axis_split(t->rank, t->dims, axis, &outer, &len, &inner);
    if (len == 0) return ME_OK;
    softmax_job job = {k->in_data[0], k->out_data[0], len, inner, beta, log_out,
                       me_unary_f32_fn_of(k->variant, ME_UNARY_EXP)};
    /* threads over outer rows, only when there is enough work to wake them */
    if ((double)outer * (double)len * (double)inner < 16384.0) softmax_rows(&job, 0, outer);
    else me_parallel_for(k->pool, outer, 1, softmax_rows, &job);
    return ME_OK;
}

static const me_param_schema softmax_params[] = {
    {"axis", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"beta", ME_PARAM_SCALAR, ME_DT_F32, false},
    {NULL}};

const me_opdef me_opdef_SOFTMAX = {"Softmax", "qti.aisw", 1, 1, 1, 1, softmax_params, softmax_infer, softmax_run, NULL};
const me_opdef me_opdef_LOG_SOFTMAX = {"LogSoftmax", "qti.aisw", 1, 1, 1, 1, softmax_params, softmax_infer, softmax_run, NULL};
