/* FullyConnected: y = x * W^T + bias.
 *
 * in[0] [..., n] (rank >= 2; the leading dims are flattened to a batch B),
 * in[1] weights [m, n] (PyTorch Linear / Gemm transB=1 layout),
 * in[2] bias [m] (optional). Param keep_dims BOOL (0): the output is [B, m],
 * or with keep_dims=1 the input's dims with the last replaced by m.
 * Both operands are n-contiguous, so the kernel is a GEMM of dot products.
 * Takes the optional fused activation params (fused_activation.h). */
#include "../core/util.h"
#include "../kernels/dispatch.h"
#include "../kernels/gemm_f32_packed.h"
#include "fc_blockq.h"
#include "fused_activation.h"
#include "gemm_epi.h"
#include "gemm_f32.h"
#include "ops.h"
#include "param_read.h"

typedef struct fc_geom { int64_t batch, n, m; int64_t keep_dims; } fc_geom;

static me_status fc_geometry(const me_node *nd, const me_tensor *x, const me_tensor *wt, const me_tensor *b,
                             fc_geom *g, me_diag *d) {
    const char *op = param_op_name(nd);
    if (!x || !wt) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): needs an input and weights", nd->name, op);
    if (x->dtype != ME_DT_F32 || (wt->dtype != ME_DT_F32 && me_lowp_ggml_type(wt) < 0) || (b && b->dtype != ME_DT_F32))
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): only float32 input, weights and bias are supported",
                       nd->name, op);
    if (x->rank < 2)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input must have rank >= 2, has %d", nd->name, op, x->rank);
    if (wt->rank != 2)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): weights must be 2-D [out, in], have rank %d", nd->name, op,
                       wt->rank);
    g->n = x->dims[x->rank - 1];
    g->m = wt->dims[0];
    if (wt->dims[1] != g->n)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): weights take %lld input features, input has %lld", nd->name,
                       op, (long long)wt->dims[1], (long long)g->n);
    g->batch = me_shape_numel(x->rank - 1, x->dims);
    if (g->batch < 0) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input shape is invalid", nd->name, op);
    if (b && me_tensor_numel(b) != g->m)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): bias must have %lld elements", nd->name, op, (long long)g->m);
    me_status st = param_check_fused_activation(nd, d);
    if (st) return st;
    return param_get_int(nd, "keep_dims", false, 0, 0, 1, &g->keep_dims, d);
}

static me_status fc_infer(me_graph *gr, me_node *nd, me_diag *d) {
    me_status st;
    if ((st = input_check_f32(gr, nd, 0, false, d)) ||
        (me_lowp_ggml_type(input_tensor(gr, nd, 1)) < 0 && (st = input_check_f32(gr, nd, 1, false, d))) ||
        (st = input_check_f32(gr, nd, 2, true, d)))
        return st;
    const me_tensor *x = input_tensor(gr, nd, 0);
    fc_geom g;
    if ((st = fc_geometry(nd, x, input_tensor(gr, nd, 1), input_tensor(gr, nd, 2), &g, d))) return st;
    if (g.keep_dims) {
        int64_t dims[ME_MAX_RANK];
        for (int i = 0; i < x->rank; i++) dims[i] = x->dims[i];
        dims[x->rank - 1] = g.m;
        return me_set_output(gr, nd, 0, ME_DT_F32, x->rank, dims, d);
    }
    int64_t dims[2] = {g.batch, g.m};
    return me_set_output(gr, nd, 0, ME_DT_F32, 2, dims, d);
}

/* Pre-packed float32 weights: W [m, n] is B^T of the GEMM, packed into the
 * variant's panels (kernels/gemm_f32_packed.h). */
static const me_gemm_f32_kernel *fc_gemm_kernel(const void *variant) {
    return variant ? (const me_gemm_f32_kernel *)variant : me_gemm_f32_select();
}

static size_t fc_packed_bytes(const me_graph *gr, const me_node *nd, const void *variant) {
    const me_tensor *w = input_tensor(gr, nd, 1);
    fc_geom g;
    size_t b;
    if (w && w->dtype != ME_DT_F32) /* GGUF weights: their own packed layout (fc_blockq.h), Q4_0 / Q8_0 */
        return fc_geometry(nd, input_tensor(gr, nd, 0), w, input_tensor(gr, nd, 2), &g, NULL) == ME_OK
                   ? me_fc_blockq_packed_bytes(w, g.m, g.n)
                   : 0;
    if (!w || w->dtype != ME_DT_F32 || !(w->flags & ME_TF_STATIC) || !w->data ||
        fc_geometry(nd, input_tensor(gr, nd, 0), w, input_tensor(gr, nd, 2), &g, NULL) != ME_OK ||
        !me_gemm_f32_packed_size(g.m, g.n, fc_gemm_kernel(variant)->pnr, &b))
        return 0;
    return b;
}

static me_status fc_pack(const me_graph *gr, const me_node *nd, const void *variant, void *dst, me_diag *d) {
    const me_tensor *w = input_tensor(gr, nd, 1);
    fc_geom g;
    me_status st = fc_geometry(nd, input_tensor(gr, nd, 0), w, input_tensor(gr, nd, 2), &g, d);
    if (st) return st;
    if (w->dtype != ME_DT_F32) return me_fc_blockq_pack(nd, w, g.m, g.n, dst, d);
    if (w->dtype != ME_DT_F32 || !(w->flags & ME_TF_STATIC) || !w->data ||
        w->nbytes / sizeof(float) < (size_t)me_tensor_numel(w))
        return me_fail(d, ME_ERR_INTERNAL, "node '%s': FullyConnected weights cannot be packed", nd->name);
    me_gemm_f32_pack_b(fc_gemm_kernel(variant)->pnr, g.m, g.n, w->data, 1, g.n, dst);
    return ME_OK;
}

static me_status fc_run(const me_kernel_ctx *k, me_diag *d) {
    if (k->n_in < 2 || k->n_out < 1 || !k->in[0] || !k->in[1] || !k->out[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': FullyConnected needs an input, weights and an output",
                       k->node->name);
    const me_tensor *bt = k->n_in > 2 ? k->in[2] : NULL;
    fc_geom g;
    me_status st = fc_geometry(k->node, k->in[0], k->in[1], bt, &g, d);
    if (st) return st;
    if (g.batch == 0 || g.m == 0) return ME_OK;
    if (!k->out_data[0] || (bt && !k->in_data[2]) || (g.n > 0 && (!k->in_data[0] || !k->in_data[1])))
        return me_fail(d, ME_ERR_FORMAT, "node '%s': missing tensor data", k->node->name);
    float *y = k->out_data[0];
    if (k->packed && k->in[1]->dtype != ME_DT_F32) { /* pre-packed GGUF Q4_0 / Q8_0 weights (fc_blockq.c) */
        if ((st = me_fc_lowp_packed(k->node, k->in[1], k->in_data[0], k->packed, bt ? k->in_data[2] : NULL, g.batch, g.m, g.n, y,
                                    k->pool, d)))
            return st;
        me_apply_fused_activation_mt(k->pool, k->node, y, g.batch * g.m);
        return ME_OK;
    }
    if (k->packed && k->in[1]->dtype == ME_DT_F32) {
        me_gemm_f32_epi e;
        bool post = me_gemm_epi_for_node(k->node, bt ? k->in_data[2] : NULL, &e);
        me_sgemm_packed(k->pool, fc_gemm_kernel(k->variant), g.batch, g.m, g.n, k->in_data[0], g.n, k->packed, y, g.m,
                        &e);
        if (post) me_apply_fused_activation_mt(k->pool, k->node, y, g.batch * g.m);
        return ME_OK;
    }
    me_gemm_f32_init(g.batch, g.m, y, g.m, bt ? k->in_data[2] : NULL);
    if (k->in[1]->dtype != ME_DT_F32) { /* weights as stored in a GGUF (fc_blockq.c) */
        if ((st = me_fc_lowp(k->node, k->in[1], k->in_data[0], k->in_data[1], bt ? k->in_data[2] : NULL, g.batch, g.m, g.n, y, k->pool, d))) return st;
    } else if (g.n > 0) {
        me_sgemm_nt(k->pool, k->variant, g.batch, g.m, g.n, k->in_data[0], g.n, k->in_data[1], g.n, y, g.m);
    }
    me_apply_fused_activation_mt(k->pool, k->node, y, g.batch * g.m);
    return ME_OK;
}

static const me_param_schema fc_params[] = {
    {"keep_dims", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    ME_FUSED_ACTIVATION_PARAMS,
    {NULL},
};

const me_opdef me_opdef_FULLY_CONNECTED = {
    "FullyConnected", "qti.aisw", 2, 3, 1, 1, fc_params, fc_infer, fc_run, NULL, fc_packed_bytes, fc_pack,
};
