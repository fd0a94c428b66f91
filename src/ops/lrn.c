/* Lrn: local response normalisation across channels (channel last).
 *
 * y[c] = x[c] / (bias + alpha * sum_{j = c-radius .. c+radius, clipped} x[j]^2) ^ beta
 *
 * `alpha` is the per-element coefficient (the ONNX frontend passes
 * alpha/size). Params: alpha F32 (1), beta F32 (0.5), bias F32 (1),
 * radius U32 (required), region U32 (ACROSS_CHANNEL=0; WITHIN_CHANNEL is refused).
 * The window sum of squares is kept as a running sum in double. */
#include <math.h>

#include "ops.h"
#include "param_read.h"

typedef struct lrn_params { double alpha, beta, bias; int64_t radius; } lrn_params;

static me_status lrn_check(const me_node *nd, const me_tensor *x, lrn_params *p, me_diag *d) {
    if (!x) return me_fail(d, ME_ERR_FORMAT, "node '%s' (Lrn): input is missing", nd->name);
    if (x->dtype != ME_DT_F32)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (Lrn): only float32 input is supported", nd->name);
    if (x->rank < 1) return me_fail(d, ME_ERR_FORMAT, "node '%s' (Lrn): input must have a channel axis", nd->name);
    me_status st;
    int64_t region = 0;
    if ((st = param_get_float(nd, "alpha", false, 1.0, &p->alpha, d)) ||
        (st = param_get_float(nd, "beta", false, 0.5, &p->beta, d)) ||
        (st = param_get_float(nd, "bias", false, 1.0, &p->bias, d)) ||
        (st = param_get_int(nd, "radius", true, 0, 0, UINT32_MAX, &p->radius, d)) ||
        (st = param_get_int(nd, "region", false, 0, 0, UINT32_MAX, &region, d)))
        return st;
    if (region != 0)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (Lrn): only region ACROSS_CHANNEL (0) is supported, have %lld",
                       nd->name, (long long)region);
    return ME_OK;
}

static me_status lrn_infer(me_graph *gr, me_node *nd, me_diag *d) {
    me_status st = input_check_f32(gr, nd, 0, false, d);
    if (st) return st;
    const me_tensor *x = input_tensor(gr, nd, 0);
    lrn_params p;
    if ((st = lrn_check(nd, x, &p, d))) return st;
    return me_set_output(gr, nd, 0, ME_DT_F32, x->rank, x->dims, d);
}

static me_status lrn_run(const me_kernel_ctx *k, me_diag *d) {
    if (k->n_in < 1 || k->n_out < 1 || !k->in[0] || !k->out[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': Lrn needs an input and an output", k->node->name);
    lrn_params p = {0};
    me_status st = lrn_check(k->node, k->in[0], &p, d);
    if (st) return st;
    int64_t total = me_tensor_numel(k->in[0]);
    if (total == 0) return ME_OK;
    if (!k->in_data[0] || !k->out_data[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': missing tensor data", k->node->name);
    const float *x = k->in_data[0];
    float *y = k->out_data[0];
    const int64_t c = k->in[0]->dims[k->in[0]->rank - 1], r = p.radius;
    for (int64_t row = 0; row < total / c; row++) {
        const float *xr = x + row * c;
        float *yr = y + row * c;
        /* running sum over [ch - r, ch + r] clipped to [0, c) */
        double sum = 0.0;
        for (int64_t j = 0; j < c && j <= r; j++) sum += (double)xr[j] * xr[j];
        for (int64_t ch = 0; ch < c; ch++) {
            double s = sum > 0.0 ? sum : 0.0;
            yr[ch] = (float)(xr[ch] / pow(p.bias + p.alpha * s, p.beta));
            if (ch + r + 1 < c) sum += (double)xr[ch + r + 1] * xr[ch + r + 1];
            if (ch - r >= 0) sum -= (double)xr[ch - r] * xr[ch - r];
        }
    }
    return ME_OK;
}

static const me_param_schema lrn_schema[] = {
    {"alpha", ME_PARAM_SCALAR, ME_DT_F32, false},
    {"beta", ME_PARAM_SCALAR, ME_DT_F32, false},
    {"bias", ME_PARAM_SCALAR, ME_DT_F32, false},
    {"radius", ME_PARAM_SCALAR, ME_DT_U32, true},
    {"region", ME_PARAM_SCALAR, ME_DT_U32, false},
    {NULL},
};

const me_opdef me_opdef_LRN = {
    "Lrn", "qti.aisw", 1, 1, 1, 1, lrn_schema, lrn_infer, lrn_run, NULL,
};
