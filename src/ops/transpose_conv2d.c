/* TransposeConv2d (NHWC activations).
 *
 * in[0] [N,H,W,Cin], in[1] weights [fh,fw,Cin,Cout/group], in[2] bias [Cout] (optional).
 * Params: stride U32[2], pad_amount U32[2,2], group U32 (1), output_padding U32[2] ([0,0]),
 * and `dilation` U32[2] ([1,1]) -- our extension: QNN's 2-D op has no
 * dilation (only TransposeConv3d does), but ONNX ConvTranspose does.
 * Output H = stride*(H-1) + output_padding + (fh-1)*dilation + 1 - top - bottom (same for W).
 *
 * Kernel: each input pixel scatters x[ci] * w[kh,kw,ci,:] into output pixel
 * (ih*stride - top + kh*dil, ...). For one input row and one filter tap the
 * targets form a strided run of output pixels, so each (row, tap, group) is
 * one GEMM whose output rows are `stride` pixels apart. The optional fused
 * activation params (fused_activation.h) are applied at the end. */
#include "../core/util.h"
#include "fused_activation.h"
#include "gemm_f32.h"
#include "ops.h"
#include "param_read.h"

typedef struct tconv_geom {
    int64_t n, h, w, cin;
    int64_t fh, fw, cout_g, cout, cin_g, group;
    int64_t stride[2], pad[4], dil[2], out_pad[2];
    int64_t oh, ow;
} tconv_geom;

static const int64_t one_one[2] = {1, 1};
static const int64_t zero_zero[2] = {0, 0};

/* stride*(in-1) + out_pad + (f-1)*dil + 1 - p0 - p1, or -1 on overflow. */
static int64_t tconv_out_len(int64_t in, int64_t stride, int64_t out_pad, int64_t f, int64_t dil, int64_t p0,
                             int64_t p1) {
    int64_t a, b;
    if (!me_mul_i64(stride, in - 1, &a) || !me_mul_i64(f - 1, dil, &b) || !me_add_i64(a, b, &a) ||
        !me_add_i64(a, out_pad + 1, &a))
        return -1;
    return a - p0 - p1;
}

static me_status tconv_geometry(const me_node *nd, const me_tensor *x, const me_tensor *wt, const me_tensor *b,
                                tconv_geom *g, me_diag *d) {
    const char *op = param_op_name(nd);
    if (!x || !wt) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): needs an input and weights", nd->name, op);
    if (x->dtype != ME_DT_F32 || wt->dtype != ME_DT_F32 || (b && b->dtype != ME_DT_F32))
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): only float32 input, weights and bias are supported",
                       nd->name, op);
    if (x->rank != 4 || wt->rank != 4)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input must be 4-D NHWC and weights 4-D [fh,fw,cin,cout/group]",
                       nd->name, op);
    g->n = x->dims[0]; g->h = x->dims[1]; g->w = x->dims[2]; g->cin = x->dims[3];
    g->fh = wt->dims[0]; g->fw = wt->dims[1]; g->cout_g = wt->dims[3];
    if (g->fh < 1 || g->fw < 1 || g->cout_g < 1)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): weights have an empty dimension", nd->name, op);
    if (g->h < 1 || g->w < 1 || g->cin < 1)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input has an empty spatial or channel dimension", nd->name, op);
    if (wt->dims[2] != g->cin)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): weights have %lld input channels, input has %lld", nd->name, op,
                       (long long)wt->dims[2], (long long)g->cin);
    me_status st;
    if ((st = param_get_int(nd, "group", false, 1, 1, UINT32_MAX, &g->group, d))) return st;
    if (g->cin % g->group != 0)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): group %lld does not divide Cin %lld", nd->name, op,
                       (long long)g->group, (long long)g->cin);
    g->cin_g = g->cin / g->group;
    if (!me_mul_i64(g->cout_g, g->group, &g->cout))
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): output channel count overflows", nd->name, op);
    if (b && me_tensor_numel(b) != g->cout)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): bias must have %lld elements", nd->name, op, (long long)g->cout);
    if ((st = param_get_ints(nd, "stride", 2, false, NULL, 1, g->stride, d))) return st;
    if ((st = param_get_ints(nd, "pad_amount", 4, true, NULL, 0, g->pad, d))) return st;
    if ((st = param_get_ints(nd, "dilation", 2, false, one_one, 1, g->dil, d))) return st;
    if ((st = param_get_ints(nd, "output_padding", 2, false, zero_zero, 0, g->out_pad, d))) return st;
    if ((st = param_check_fused_activation(nd, d))) return st;
    g->oh = tconv_out_len(g->h, g->stride[0], g->out_pad[0], g->fh, g->dil[0], g->pad[0], g->pad[1]);
    g->ow = tconv_out_len(g->w, g->stride[1], g->out_pad[1], g->fw, g->dil[1], g->pad[2], g->pad[3]);
    if (g->oh < 1 || g->ow < 1)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): padding leaves no output (output %lldx%lld)", nd->name, op,
                       (long long)g->oh, (long long)g->ow);
    return ME_OK;
}

static me_status tconv_infer(me_graph *gr, me_node *nd, me_diag *d) {
    me_status st;
    if ((st = input_check_f32(gr, nd, 0, false, d)) || (st = input_check_f32(gr, nd, 1, false, d)) ||
        (st = input_check_f32(gr, nd, 2, true, d)))
        return st;
    tconv_geom g;
    if ((st = tconv_geometry(nd, input_tensor(gr, nd, 0), input_tensor(gr, nd, 1), input_tensor(gr, nd, 2), &g, d)))
        return st;
    int64_t dims[4] = {g.n, g.oh, g.ow, g.cout};
    return me_set_output(gr, nd, 0, ME_DT_F32, 4, dims, d);
}

/* Input positions i in [0, in) whose target i*stride + off lies in [0, out). */
static void tconv_input_range(int64_t in, int64_t out, int64_t stride, int64_t off, int64_t *lo, int64_t *hi) {
    *lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int64_t last = out - 1 - off;
    *hi = last < 0 ? -1 : ME_MIN(last / stride, in - 1);
}

static me_status tconv_run(const me_kernel_ctx *k, me_diag *d) {
    if (k->n_in < 2 || k->n_out < 1 || !k->in[0] || !k->in[1] || !k->out[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': TransposeConv2d needs an input, weights and an output",
                       k->node->name);
    const me_tensor *bt = k->n_in > 2 ? k->in[2] : NULL;
    tconv_geom g;
    me_status st = tconv_geometry(k->node, k->in[0], k->in[1], bt, &g, d);
    if (st) return st;
    if (me_tensor_numel(k->out[0]) == 0) return ME_OK;
    if (!k->in_data[0] || !k->in_data[1] || !k->out_data[0] || (bt && !k->in_data[2]))
        return me_fail(d, ME_ERR_FORMAT, "node '%s': missing tensor data", k->node->name);
    const float *x = k->in_data[0], *w = k->in_data[1];
    const float *bias = bt ? k->in_data[2] : NULL;
    float *y = k->out_data[0];

    me_gemm_f32_init(g.n * g.oh * g.ow, g.cout, y, g.cout, bias);
    for (int64_t n = 0; n < g.n; n++)
        for (int64_t ih = 0; ih < g.h; ih++)
            for (int64_t kh = 0; kh < g.fh; kh++) {
                int64_t oh = ih * g.stride[0] - g.pad[0] + kh * g.dil[0];
                if (oh < 0 || oh >= g.oh) continue;
                for (int64_t kw = 0; kw < g.fw; kw++) {
                    int64_t lo, hi;
                    tconv_input_range(g.w, g.ow, g.stride[1], kw * g.dil[1] - g.pad[2], &lo, &hi);
                    if (hi < lo) continue;
                    int64_t ow_lo = lo * g.stride[1] - g.pad[2] + kw * g.dil[1];
                    const float *xr = x + ((n * g.h + ih) * g.w + lo) * g.cin;
                    float *yr = y + ((n * g.oh + oh) * g.ow + ow_lo) * g.cout;
                    const float *wk = w + (kh * g.fw + kw) * g.cin * g.cout_g;
                    /* consecutive inputs land `stride` output pixels apart (only used when hi > lo,
                     * where stride*(hi-lo) < OW keeps the product in range) */
                    int64_t ldc = hi > lo ? g.stride[1] * g.cout : g.cout;
                    for (int64_t gi = 0; gi < g.group; gi++)
                        me_gemm_f32_nn(hi - lo + 1, g.cout_g, g.cin_g, xr + gi * g.cin_g, g.cin,
                                       wk + gi * g.cin_g * g.cout_g, g.cout_g, yr + gi * g.cout_g, ldc);
                }
            }
    me_apply_fused_activation_mt(k->pool, k->node, y, me_tensor_numel(k->out[0]));
    return ME_OK;
}

static const me_param_schema tconv_params[] = {
    {"stride", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"pad_amount", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"group", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"output_padding", ME_PARAM_TENSOR, ME_DT_U32, false},
    {"dilation", ME_PARAM_TENSOR, ME_DT_U32, false},
    ME_FUSED_ACTIVATION_PARAMS,
    {NULL},
};

const me_opdef me_opdef_TRANSPOSE_CONV2D = {
    "TransposeConv2d", "qti.aisw", 2, 3, 1, 1, tconv_params, tconv_infer, tconv_run, NULL,
};
