/* DepthToSpace and SpaceToDepth on NHWC tensors [N, H, W, C].
 * `block_size` U32 [2] = [bh, bw]; `mode` U32: DCR=0 (default), CRD=1.
 * Results equal ONNX's ops applied to the NCHW transpose of the input
 * (ONNX SpaceToDepth is DCR-ordered). In NHWC the channel of a block
 * position (i, j) and inner channel c is:
 *   DCR: (i * bw + j) * C' + c        CRD: c * bh * bw + i * bw + j
 * where C' is the channel count on the space side. Both ops are thus one
 * permutation of a 6-D view:
 *   DepthToSpace DCR: in [N,H,W,bh,bw,C'] -> out [N,H,bh,W,bw,C'] perm 0,1,3,2,4,5
 *   DepthToSpace CRD: in [N,H,W,C',bh,bw] -> out [N,H,bh,W,bw,C'] perm 0,1,4,2,5,3
 *   SpaceToDepth DCR: in [N,H',bh,W',bw,C] -> out [N,H',W',bh,bw,C] perm 0,1,3,2,4,5
 *   SpaceToDepth CRD: in [N,H',bh,W',bw,C] -> out [N,H',W',C,bh,bw] perm 0,1,3,5,2,4 */
#include "../core/util.h"
#include "movement.h"

enum { MODE_DCR = 0, MODE_CRD = 1 };

static const me_param_schema depth_space_params[] = {
    {"block_size", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"mode", ME_PARAM_SCALAR, ME_DT_U32, false},
    {NULL},
};

typedef struct ds_plan {
    int64_t out_dims[4];
    int64_t view[6]; /* input viewed as 6-D */
    int perm[6];
} ds_plan;

static me_status ds_plan_make(const me_node *n, const me_tensor *in, ds_plan *p, me_diag *d) {
    bool to_space = n->op == ME_OP_DEPTH_TO_SPACE;
    const char *op = me_op_names[n->op];
    if (in->rank != 4)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input must be NHWC rank 4, has rank %d", n->name, op, in->rank);
    const me_param *bs = me_mv_int_tensor(n, "block_size", ME_DT_U32, 1, 2, 0, d);
    if (!bs) return ME_ERR_FORMAT;
    int64_t bh = bs->ivals[0], bw = bs->ivals[1], mode;
    me_status st = me_mv_scalar_int(n, "mode", false, MODE_DCR, &mode, d);
    if (st != ME_OK) return st;
    if (mode != MODE_DCR && mode != MODE_CRD)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): mode %lld is not DCR (0) or CRD (1)", n->name, op, (long long)mode);
    if (bh < 1 || bw < 1 || bh > UINT32_MAX || bw > UINT32_MAX)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): block_size must be >= 1", n->name, op);
    int64_t N = in->dims[0], H = in->dims[1], W = in->dims[2], C = in->dims[3], bb;
    if (!me_mul_i64(bh, bw, &bb))
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): block_size is too large", n->name, op);
    static const int perm_swap[6] = {0, 1, 3, 2, 4, 5};
    static const int perm_d2s_crd[6] = {0, 1, 4, 2, 5, 3};
    static const int perm_s2d_crd[6] = {0, 1, 3, 5, 2, 4};
    const int *perm = perm_swap;
    if (to_space) {
        if (C % bb != 0)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): channels %lld are not divisible by %lld*%lld", n->name,
                           op, (long long)C, (long long)bh, (long long)bw);
        int64_t Cs = C / bb;
        if (!me_mul_i64(H, bh, &p->out_dims[1]) || !me_mul_i64(W, bw, &p->out_dims[2]))
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): output is too large", n->name, op);
        p->out_dims[0] = N;
        p->out_dims[3] = Cs;
        int64_t dcr[6] = {N, H, W, bh, bw, Cs}, crd[6] = {N, H, W, Cs, bh, bw};
        for (int i = 0; i < 6; i++) p->view[i] = mode == MODE_DCR ? dcr[i] : crd[i];
        if (mode == MODE_CRD) perm = perm_d2s_crd;
    } else {
        if (H % bh != 0 || W % bw != 0)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): height %lld / width %lld are not divisible by block %lldx%lld",
                           n->name, op, (long long)H, (long long)W, (long long)bh, (long long)bw);
        if (!me_mul_i64(C, bb, &p->out_dims[3]))
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): output is too large", n->name, op);
        p->out_dims[0] = N;
        p->out_dims[1] = H / bh;
        p->out_dims[2] = W / bw;
        int64_t v[6] = {N, H / bh, bh, W / bw, bw, C};
        for (int i = 0; i < 6; i++) p->view[i] = v[i];
        if (mode == MODE_CRD) perm = perm_s2d_crd;
    }
    for (int i = 0; i < 6; i++) p->perm[i] = perm[i];
    return ME_OK;
}

static me_status ds_infer(me_graph *g, me_node *n, me_diag *d) {
    const me_tensor *in = me_mv_input(g, n, 0, d);
    if (!in) return ME_ERR_FORMAT;
    if (!me_mv_elem_size(n, in->dtype, d)) return ME_ERR_UNSUPPORTED;
    ds_plan p;
    me_status st = ds_plan_make(n, in, &p, d);
    if (st != ME_OK) return st;
    return me_set_output(g, n, 0, in->dtype, 4, p.out_dims, d);
}

static me_status ds_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *in = k->in[0];
    size_t es = me_mv_elem_size(k->node, in->dtype, d);
    if (!es) return ME_ERR_UNSUPPORTED;
    ds_plan p;
    me_status st = ds_plan_make(k->node, in, &p, d);
    if (st == ME_OK) st = me_mv_check_out(k, 0, 4, p.out_dims, es, d);
    if (st != ME_OK) return st;
    me_mv_permute_copy(k->out_data[0], k->in_data[0], 6, p.view, p.perm, es);
    return ME_OK;
}

const me_opdef me_opdef_DEPTH_TO_SPACE = {
    .name = "DepthToSpace", .package = "qti.aisw",
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .params = depth_space_params,
    .infer = ds_infer, .run = ds_run,
};

const me_opdef me_opdef_SPACE_TO_DEPTH = {
    .name = "SpaceToDepth", .package = "qti.aisw",
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .params = depth_space_params,
    .infer = ds_infer, .run = ds_run,
};
