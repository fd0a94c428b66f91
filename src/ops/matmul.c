/* MatMul: y = op(in0) * op(in1) (+ bias), batched.
 *
 * in[0] [..., M, K] ([..., K, M] with transpose_in0), in[1] [..., K, N]
 * ([..., N, K] with transpose_in1), in[2] bias [N] (optional). Ranks >= 2 (the
 * frontend reshapes 1-D operands); batch dims broadcast numpy-style.
 * Output [batch..., M, N].
 *
 * Kernel: one GEMM per batch matrix; a transposed in[0] is first copied to
 * [M, K] in scratch so both kernels read it K-contiguously. When in[1] has no
 * batch of its own, the whole batch of in[0] is one tall GEMM. Takes the
 * optional fused activation params (fused_activation.h). */

#include "../core/util.h"
#include "../kernels/dispatch.h"
#include "../kernels/gemm_f32_packed.h"
#include "fused_activation.h"
#include "gemm_epi.h"
#include "gemm_f32.h"
#include "ops.h"
#include "param_read.h"

typedef struct matmul_geom {
    int64_t m, k, n;
    int64_t t0, t1;
    int out_rank, batch_rank;
    int64_t out_dims[ME_MAX_RANK];
    int64_t a_bstride[ME_MAX_RANK], b_bstride[ME_MAX_RANK]; /* per output batch axis, in matrices */
    int64_t batch;                                           /* number of output matrices */
    bool b_shared;                                           /* in[1] is one matrix for all batches */
    bool a_dense;                                            /* in[0] batch equals the output batch */
} matmul_geom;

/* Strides (in whole matrices) of an operand's batch dims against the output batch. */
static void matmul_batch_strides(const me_tensor *t, int batch_rank, const int64_t *out_dims, int64_t *stride) {
    int tb = t->rank - 2;
    int64_t s = 1;
    for (int i = batch_rank - 1; i >= 0; i--) {
        int ti = i - (batch_rank - tb);
        int64_t dim = ti >= 0 ? t->dims[ti] : 1;
        stride[i] = (dim == 1 && out_dims[i] != 1) ? 0 : s;
        s *= dim;
    }
}

static me_status matmul_geometry(const me_node *nd, const me_tensor *a, const me_tensor *b, const me_tensor *bias,
                                 matmul_geom *g, me_diag *d) {
    const char *op = param_op_name(nd);
    if (!a || !b) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): needs two inputs", nd->name, op);
    if (a->dtype != ME_DT_F32 || b->dtype != ME_DT_F32 || (bias && bias->dtype != ME_DT_F32))
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): only float32 operands are supported", nd->name, op);
    if (a->rank < 2 || b->rank < 2)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): operands must have rank >= 2 (have %d and %d)", nd->name, op,
                       a->rank, b->rank);
    me_status st;
    if ((st = param_get_int(nd, "transpose_in0", false, 0, 0, 1, &g->t0, d)) ||
        (st = param_get_int(nd, "transpose_in1", false, 0, 0, 1, &g->t1, d)))
        return st;
    int64_t ar = a->dims[a->rank - 2], ac = a->dims[a->rank - 1];
    int64_t br = b->dims[b->rank - 2], bc = b->dims[b->rank - 1];
    g->m = g->t0 ? ac : ar;
    g->k = g->t0 ? ar : ac;
    int64_t kb = g->t1 ? bc : br;
    g->n = g->t1 ? br : bc;
    if (kb != g->k)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): inner dimensions differ (%lld vs %lld)", nd->name, op,
                       (long long)g->k, (long long)kb);
    int brank;
    if (me_broadcast_shape(a->rank - 2, a->dims, b->rank - 2, b->dims, &brank, g->out_dims) != ME_OK)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): batch dimensions do not broadcast", nd->name, op);
    g->batch_rank = brank;
    g->out_rank = brank + 2;
    g->out_dims[brank] = g->m;
    g->out_dims[brank + 1] = g->n;
    g->batch = me_shape_numel(brank, g->out_dims);
    if (g->batch < 0) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): batch shape is invalid", nd->name, op);
    if (bias && me_tensor_numel(bias) != g->n)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): bias must have %lld elements", nd->name, op, (long long)g->n);
    matmul_batch_strides(a, brank, g->out_dims, g->a_bstride);
    matmul_batch_strides(b, brank, g->out_dims, g->b_bstride);
    if ((st = param_check_fused_activation(nd, d))) return st;
    g->b_shared = me_shape_numel(b->rank - 2, b->dims) == 1;
    g->a_dense = me_shape_numel(a->rank - 2, a->dims) == g->batch;
    return ME_OK;
}

static me_status matmul_infer(me_graph *gr, me_node *nd, me_diag *d) {
    me_status st;
    if ((st = input_check_f32(gr, nd, 0, false, d)) || (st = input_check_f32(gr, nd, 1, false, d)) ||
        (st = input_check_f32(gr, nd, 2, true, d)))
        return st;
    matmul_geom g;
    if ((st = matmul_geometry(nd, input_tensor(gr, nd, 0), input_tensor(gr, nd, 1), input_tensor(gr, nd, 2), &g, d)))
        return st;
    return me_set_output(gr, nd, 0, ME_DT_F32, g.out_rank, g.out_dims, d);
}

static size_t matmul_scratch(const me_graph *gr, const me_node *nd) {
    matmul_geom g;
    if (matmul_geometry(nd, input_tensor(gr, nd, 0), input_tensor(gr, nd, 1), input_tensor(gr, nd, 2), &g, NULL) !=
            ME_OK ||
        !g.t0)
        return 0;
    size_t b;
    if (!me_mul_size((size_t)g.m, (size_t)g.k, &b) || !me_mul_size(b, sizeof(float), &b)) return 0;
    return b;
}

/* Pre-packed weights when in[1] is one constant matrix (no batch of its
 * own): op(B) [K, N] in the GEMM variant's panels (kernels/gemm_f32_packed.h). */
static const me_gemm_f32_kernel *matmul_gemm_kernel(const void *variant) {
    return variant ? (const me_gemm_f32_kernel *)variant : me_gemm_f32_select();
}

static size_t matmul_packed_bytes(const me_graph *gr, const me_node *nd, const void *variant) {
    const me_tensor *b = input_tensor(gr, nd, 1);
    matmul_geom g;
    size_t bytes;
    if (!b || !(b->flags & ME_TF_STATIC) || !b->data ||
        matmul_geometry(nd, input_tensor(gr, nd, 0), b, input_tensor(gr, nd, 2), &g, NULL) != ME_OK ||
        !g.b_shared || !me_gemm_f32_packed_size(g.n, g.k, matmul_gemm_kernel(variant)->pnr, &bytes))
        return 0;
    return bytes;
}

static me_status matmul_pack(const me_graph *gr, const me_node *nd, const void *variant, void *dst, me_diag *d) {
    const me_tensor *b = input_tensor(gr, nd, 1);
    matmul_geom g;
    me_status st = matmul_geometry(nd, input_tensor(gr, nd, 0), b, input_tensor(gr, nd, 2), &g, d);
    if (st) return st;
    if (!(b->flags & ME_TF_STATIC) || !b->data || !g.b_shared || b->nbytes / sizeof(float) < (size_t)me_tensor_numel(b))
        return me_fail(d, ME_ERR_INTERNAL, "node '%s': MatMul weights cannot be packed", nd->name);
    if (g.t1) me_gemm_f32_pack_b(matmul_gemm_kernel(variant)->pnr, g.n, g.k, b->data, 1, g.k, dst);
    else me_gemm_f32_pack_b(matmul_gemm_kernel(variant)->pnr, g.n, g.k, b->data, g.n, 1, dst);
    return ME_OK;
}

/* C[M,N] += A[M,K] * op(B) for one batch matrix. */
static void matmul_one(const matmul_geom *g, const me_kernel_ctx *k, int64_t m, const float *a, const float *b,
                       float *c) {
    if (g->t1) me_sgemm_nt(k->pool, k->variant, m, g->n, g->k, a, g->k, b, g->k, c, g->n);
    else me_sgemm_nn(k->pool, k->variant, m, g->n, g->k, a, g->k, b, g->n, c, g->n);
}

static me_status matmul_run(const me_kernel_ctx *k, me_diag *d) {
    if (k->n_in < 2 || k->n_out < 1 || !k->in[0] || !k->in[1] || !k->out[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': MatMul needs two inputs and an output", k->node->name);
    const me_tensor *bt = k->n_in > 2 ? k->in[2] : NULL;
    matmul_geom g;
    me_status st = matmul_geometry(k->node, k->in[0], k->in[1], bt, &g, d);
    if (st) return st;
    if (g.batch == 0 || g.m == 0 || g.n == 0) return ME_OK;
    if (!k->out_data[0] || (bt && !k->in_data[2]) || (g.k > 0 && (!k->in_data[0] || !k->in_data[1])))
        return me_fail(d, ME_ERR_FORMAT, "node '%s': missing tensor data", k->node->name);
    const float *a = k->in_data[0], *b = k->in_data[1];
    const float *bias = bt ? k->in_data[2] : NULL;
    float *y = k->out_data[0];
    const int64_t mk = g.m * g.k, kn = g.k * g.n, mn = g.m * g.n;

    if (k->packed && g.b_shared && g.k > 0) {
        /* pre-packed op(B): bias and activation in the GEMM's store */
        const me_gemm_f32_kernel *kern = matmul_gemm_kernel(k->variant);
        me_gemm_f32_epi e;
        bool post = me_gemm_epi_for_node(k->node, bias, &e);
        if (g.a_dense && !g.t0) {
            me_sgemm_packed(k->pool, kern, g.batch * g.m, g.n, g.k, a, g.k, k->packed, y, g.n, &e);
        } else {
            if (g.t0 && !k->scratch)
                return me_fail(d, ME_ERR_INTERNAL, "node '%s': MatMul scratch is missing", k->node->name);
            int64_t idx[ME_MAX_RANK] = {0};
            int64_t aoff = 0;
            for (int64_t bi = 0; bi < g.batch; bi++) {
                const float *am = a + aoff * mk;
                if (g.t0) {
                    float *tr = k->scratch;
                    for (int64_t kk = 0; kk < g.k; kk++)
                        for (int64_t i = 0; i < g.m; i++) tr[i * g.k + kk] = am[kk * g.m + i];
                    am = tr;
                }
                me_sgemm_packed(k->pool, kern, g.m, g.n, g.k, am, g.k, k->packed, y + bi * mn, g.n, &e);
                for (int ax = g.batch_rank - 1; ax >= 0; ax--) {
                    aoff += g.a_bstride[ax];
                    if (++idx[ax] < g.out_dims[ax]) break;
                    aoff -= g.a_bstride[ax] * idx[ax];
                    idx[ax] = 0;
                }
            }
        }
        if (post) me_apply_fused_activation_mt(k->pool, k->node, y, g.batch * mn);
        return ME_OK;
    }
    me_gemm_f32_init(g.batch * g.m, g.n, y, g.n, bias);
    if (g.k == 0) {
        me_apply_fused_activation_mt(k->pool, k->node, y, g.batch * mn);
        return ME_OK;
    }
    if (g.b_shared && g.a_dense && !g.t0) {
        matmul_one(&g, k, g.batch * g.m, a, b, y);
        me_apply_fused_activation_mt(k->pool, k->node, y, g.batch * mn);
        return ME_OK;
    }
    if (g.t0 && !k->scratch) return me_fail(d, ME_ERR_INTERNAL, "node '%s': MatMul scratch is missing", k->node->name);
    int64_t idx[ME_MAX_RANK] = {0};
    int64_t aoff = 0, boff = 0;
    for (int64_t bi = 0; bi < g.batch; bi++) {
        const float *am = a + aoff * mk;
        if (g.t0) {
            /* [K, M] -> [M, K] */
            float *packed = k->scratch;
            for (int64_t kk = 0; kk < g.k; kk++)
                for (int64_t i = 0; i < g.m; i++) packed[i * g.k + kk] = am[kk * g.m + i];
            am = packed;
        }
        matmul_one(&g, k, g.m, am, b + boff * kn, y + bi * mn);
        for (int ax = g.batch_rank - 1; ax >= 0; ax--) {
            aoff += g.a_bstride[ax];
            boff += g.b_bstride[ax];
            if (++idx[ax] < g.out_dims[ax]) break;
            aoff -= g.a_bstride[ax] * idx[ax];
            boff -= g.b_bstride[ax] * idx[ax];
            idx[ax] = 0;
        }
    }
    me_apply_fused_activation_mt(k->pool, k->node, y, g.batch * mn);
    return ME_OK;
}

static const me_param_schema matmul_params[] = {
    {"transpose_in0", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    {"transpose_in1", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    ME_FUSED_ACTIVATION_PARAMS,
    {NULL},
};

const me_opdef me_opdef_MATMUL = {
    "MatMul", "qti.aisw", 2, 3, 1, 1, matmul_params, matmul_infer, matmul_run, matmul_scratch, matmul_packed_bytes,
    matmul_pack,
};
