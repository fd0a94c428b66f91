/* Conv2d and DepthWiseConv2d (NHWC activations, HWIO weights).
 *
 * Conv2d:  in[0] [N,H,W,Cin], in[1] [fh,fw,Cin/group,Cout], in[2] bias [Cout] (optional)
 * DepthWiseConv2d: in[1] [fh,fw,1,Cout] with Cout == Cin, no group param.
 * Params: stride U32[2], pad_amount U32[2,2] ([[top,bottom],[left,right]]),
 * dilation U32[2] ([1,1]), group U32 (1, Conv2d only).
 * Output [N,OH,OW,Cout], OH = floor((top + H + bottom - ((fh-1)*dil+1)) / stride + 1).
 *
 * The Conv2d kernel is a GEMM per block of output pixels (flattened over
 * N, OH, OW, so a block spans rows and images): the block's receptive fields
 * are gathered into a [pixels, fh*fw*Cin/group] patch matrix (zeros for
 * padding) and multiplied by the weights viewed as [fh*fw*Cin/group, Cout]
 * (HWIO is already that matrix). A 1x1/stride-1/unpadded conv multiplies the
 * input directly, without a patch. Gathering and the GEMM are split over the
 * kernel context's threads by pixels (src/kernels/dispatch.h). Both ops take the optional fused activation
 * params (fused_activation.h), applied to each finished output row. */
#include <string.h>

#include "../core/util.h"
#include "../kernels/dispatch.h"
#include "../kernels/gemm_f32_packed.h"
#include "fused_activation.h"
#include "gemm_epi.h"
#include "gemm_f32.h"
#include "ops.h"
#include "param_read.h"

typedef struct conv_geom {
    int64_t n, h, w, c;          /* input */
    int64_t fh, fw, cin_g, cout; /* weights */
    int64_t group, cout_g;
    int64_t stride[2], pad[4], dil[2]; /* pad: top, bottom, left, right */
    int64_t oh, ow;
} conv_geom;

static const int64_t one_one[2] = {1, 1};

/* Output length along one axis; -1 when the dilated filter does not fit. */
static int64_t conv_out_len(int64_t in, int64_t p0, int64_t p1, int64_t f, int64_t dil, int64_t stride) {
    int64_t dk, span;
    if (!me_mul_i64(f - 1, dil, &dk) || !me_add_i64(dk, 1, &dk)) return -1;
    if (!me_add_i64(in, p0, &span) || !me_add_i64(span, p1, &span)) return -1;
    if (span < dk) return -1;
    return (span - dk) / stride + 1;
}

/* Validates shapes and params of a Conv2d / DepthWiseConv2d node. Used by
 * both infer and run (the kernel re-derives the geometry from the node). */
static me_status conv_geometry(const me_node *nd, const me_tensor *x, const me_tensor *wt, const me_tensor *b,
                               bool depthwise, conv_geom *g, me_diag *d) {
    const char *op = param_op_name(nd);
    if (!x || !wt)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): needs an input and weights", nd->name, op);
    if (x->dtype != ME_DT_F32 || wt->dtype != ME_DT_F32 || (b && b->dtype != ME_DT_F32))
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): only float32 input, weights and bias are supported",
                       nd->name, op);
    if (x->rank != 4)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input must be 4-D NHWC, has rank %d", nd->name, op, x->rank);
    if (wt->rank != 4)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): weights must be 4-D [fh,fw,cin/group,cout], has rank %d",
                       nd->name, op, wt->rank);
    g->n = x->dims[0]; g->h = x->dims[1]; g->w = x->dims[2]; g->c = x->dims[3];
    g->fh = wt->dims[0]; g->fw = wt->dims[1]; g->cin_g = wt->dims[2]; g->cout = wt->dims[3];
    if (g->fh < 1 || g->fw < 1 || g->cin_g < 1 || g->cout < 1)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): weights have an empty dimension", nd->name, op);
    me_status st;
    int64_t group = 1;
    if (depthwise) {
        if (g->cin_g != 1 || g->cout != g->c)
            return me_fail(d, ME_ERR_FORMAT,
                           "node '%s' (%s): weights [%lld,%lld,%lld,%lld] must be [fh,fw,1,%lld] for %lld input channels",
                           nd->name, op, (long long)g->fh, (long long)g->fw, (long long)g->cin_g, (long long)g->cout,
                           (long long)g->c, (long long)g->c);
        group = g->c;
    } else {
        if ((st = param_get_int(nd, "group", false, 1, 1, UINT32_MAX, &group, d))) return st;
        if (g->c % group != 0 || g->cout % group != 0)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): group %lld does not divide Cin %lld and Cout %lld",
                           nd->name, op, (long long)group, (long long)g->c, (long long)g->cout);
        if (g->cin_g * group != g->c)
            return me_fail(d, ME_ERR_FORMAT,
                           "node '%s' (%s): weights expect %lld input channels per group, input has %lld / group %lld",
                           nd->name, op, (long long)g->cin_g, (long long)g->c, (long long)group);
    }
    g->group = group;
    g->cout_g = g->cout / group;
    if (b && me_tensor_numel(b) != g->cout)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): bias must have %lld elements", nd->name, op,
                       (long long)g->cout);
    if ((st = param_get_ints(nd, "stride", 2, false, NULL, 1, g->stride, d))) return st;
    if ((st = param_get_ints(nd, "pad_amount", 4, true, NULL, 0, g->pad, d))) return st;
    if ((st = param_get_ints(nd, "dilation", 2, false, one_one, 1, g->dil, d))) return st;
    if ((st = param_check_fused_activation(nd, d))) return st;
    g->oh = conv_out_len(g->h, g->pad[0], g->pad[1], g->fh, g->dil[0], g->stride[0]);
    g->ow = conv_out_len(g->w, g->pad[2], g->pad[3], g->fw, g->dil[1], g->stride[1]);
    if (g->oh < 1 || g->ow < 1)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): the dilated %lldx%lld filter is larger than the padded input %lldx%lld",
                       nd->name, op, (long long)g->fh, (long long)g->fw, (long long)g->h, (long long)g->w);
    return ME_OK;
}

static me_status conv_infer_common(me_graph *gr, me_node *nd, bool depthwise, me_diag *d) {
    me_status st;
    if ((st = input_check_f32(gr, nd, 0, false, d)) || (st = input_check_f32(gr, nd, 1, false, d)) ||
        (st = input_check_f32(gr, nd, 2, true, d)))
        return st;
    conv_geom g;
    if ((st = conv_geometry(nd, input_tensor(gr, nd, 0), input_tensor(gr, nd, 1), input_tensor(gr, nd, 2), depthwise,
                            &g, d)))
        return st;
    int64_t dims[4] = {g.n, g.oh, g.ow, g.cout};
    return me_set_output(gr, nd, 0, ME_DT_F32, 4, dims, d);
}

static me_status conv_infer(me_graph *gr, me_node *nd, me_diag *d) { return conv_infer_common(gr, nd, false, d); }
static me_status dwconv_infer(me_graph *gr, me_node *nd, me_diag *d) { return conv_infer_common(gr, nd, true, d); }

static bool conv_is_pointwise(const conv_geom *g) {
    return g->fh == 1 && g->fw == 1 && g->stride[0] == 1 && g->stride[1] == 1 && g->pad[0] == 0 && g->pad[1] == 0 &&
           g->pad[2] == 0 && g->pad[3] == 0;
}

/* Output pixels per patch block: a few MB of patch, so that a conv makes
 * few parallel calls (the packed path gathers and multiplies each thread's
 * rows in L2-sized pieces, conv_gemm_rows). */
static int64_t conv_block_pixels(const conv_geom *g) {
    int64_t kg, p = 0;
    if (me_mul_i64(g->fh, g->fw, &kg) && me_mul_i64(kg, g->cin_g, &kg) && kg > 0 && kg < INT64_MAX / 4)
        p = (2048 * 1024) / (kg * (int64_t)sizeof(float));
    if (p < 64) p = 64;
    p = (p + 167) / 168 * 168; /* whole register tiles of every variant (14, 8, 6, 4 rows) */
    int64_t total = g->n * g->oh * g->ow;
    return p < total ? p : total;
}

/* Patch matrix bytes: one block of output pixels' receptive fields for one group. */
static size_t conv_patch_bytes(const conv_geom *g) {
    if (conv_is_pointwise(g)) return 0;
    size_t k, b;
    if (!me_mul_size((size_t)g->fh, (size_t)g->fw, &k) || !me_mul_size(k, (size_t)g->cin_g, &k) ||
        !me_mul_size(k, (size_t)conv_block_pixels(g), &b) || !me_mul_size(b, sizeof(float), &b))
        return 0;
    return b;
}

static size_t conv_scratch(const me_graph *gr, const me_node *nd) {
    conv_geom g;
    if (conv_geometry(nd, input_tensor(gr, nd, 0), input_tensor(gr, nd, 1), input_tensor(gr, nd, 2), false, &g,
                      NULL) != ME_OK)
        return 0;
    return conv_patch_bytes(&g);
}

/* Pre-packed weights: each group's [fh*fw*cin_g, cout_g] weight matrix in
 * the GEMM variant's panels (kernels/gemm_f32_packed.h), group after group.
 * Not for groups narrower than a vector (a panel would be mostly padding). */
static const me_gemm_f32_kernel *conv_gemm_kernel(const void *variant) {
    return variant ? (const me_gemm_f32_kernel *)variant : me_gemm_f32_select();
}

static bool conv_group_packed_bytes(const conv_geom *g, const me_gemm_f32_kernel *kern, size_t *bytes) {
    int64_t kg;
    if (g->group != 1 && g->cout_g < 16) return false;
    if (!me_mul_i64(g->fh, g->fw, &kg) || !me_mul_i64(kg, g->cin_g, &kg)) return false;
    return me_gemm_f32_packed_size(g->cout_g, kg, kern->pnr, bytes) && *bytes > 0;
}

static size_t conv_packed_bytes(const me_graph *gr, const me_node *nd, const void *variant) {
    const me_tensor *w = input_tensor(gr, nd, 1);
    conv_geom g;
    size_t b;
    if (!w || !(w->flags & ME_TF_STATIC) || !w->data ||
        conv_geometry(nd, input_tensor(gr, nd, 0), w, input_tensor(gr, nd, 2), false, &g, NULL) != ME_OK ||
        !conv_group_packed_bytes(&g, conv_gemm_kernel(variant), &b) || !me_mul_size(b, (size_t)g.group, &b))
        return 0;
    return b;
}

static me_status conv_pack(const me_graph *gr, const me_node *nd, const void *variant, void *dst, me_diag *d) {
    const me_tensor *w = input_tensor(gr, nd, 1);
    conv_geom g;
    me_status st = conv_geometry(nd, input_tensor(gr, nd, 0), w, input_tensor(gr, nd, 2), false, &g, d);
    if (st) return st;
    const me_gemm_f32_kernel *kern = conv_gemm_kernel(variant);
    size_t gb;
    if (!(w->flags & ME_TF_STATIC) || !w->data || w->nbytes / sizeof(float) < (size_t)me_tensor_numel(w) ||
        !conv_group_packed_bytes(&g, kern, &gb))
        return me_fail(d, ME_ERR_INTERNAL, "node '%s': Conv2d weights cannot be packed", nd->name);
    for (int64_t gi = 0; gi < g.group; gi++)
        me_gemm_f32_pack_b(kern->pnr, g.cout_g, g.fh * g.fw * g.cin_g, (const float *)w->data + gi * g.cout_g, g.cout,
                           1, (float *)dst + (size_t)gi * (gb / sizeof(float)));
    return ME_OK;
}

/* Fetches geometry and data pointers for a kernel call; *empty when there is
 * nothing to compute. */
static me_status conv_prepare(const me_kernel_ctx *k, bool depthwise, conv_geom *g, bool *empty, me_diag *d) {
    if (k->n_in < 2 || k->n_out < 1 || !k->in[0] || !k->in[1] || !k->out[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': convolution needs an input, weights and an output", k->node->name);
    const me_tensor *b = k->n_in > 2 ? k->in[2] : NULL;
    me_status st = conv_geometry(k->node, k->in[0], k->in[1], b, depthwise, g, d);
    if (st) return st;
    *empty = me_tensor_numel(k->out[0]) == 0;
    if (!*empty && (!k->in_data[0] || !k->in_data[1] || !k->out_data[0] || (b && !k->in_data[2])))
        return me_fail(d, ME_ERR_FORMAT, "node '%s': missing tensor data", k->node->name);
    return ME_OK;
}

/* Gathers patch rows [b, e) of one block (pixel p0 + r for row r). */
typedef struct im2col_job {
    const conv_geom *g;
    const float *x;
    float *patch;
    int64_t p0, gi, kg;
} im2col_job;

static void im2col_rows(void *v, int64_t b, int64_t e) {
    const im2col_job *j = v;
    const conv_geom *g = j->g;
    const int64_t cin_g = g->cin_g;
    for (int64_t r = b; r < e; r++) {
        int64_t p = j->p0 + r;
        int64_t ow = p % g->ow, oh = (p / g->ow) % g->oh, n = p / (g->ow * g->oh);
        float *dst = j->patch + r * j->kg;
        const int64_t iw0 = ow * g->stride[1] - g->pad[2];
        for (int64_t kh = 0; kh < g->fh; kh++) {
            int64_t ih = oh * g->stride[0] - g->pad[0] + kh * g->dil[0];
            if (g->dil[1] == 1 && g->group == 1) {
                /* the taps of a filter row are one contiguous run of the input row */
                int64_t lo = iw0 < 0 ? -iw0 : 0, hi = g->w - iw0 < g->fw ? g->w - iw0 : g->fw;
                if (ih < 0 || ih >= g->h || hi <= lo) {
                    memset(dst, 0, (size_t)(g->fw * cin_g) * sizeof(float));
                } else {
                    if (lo > 0) memset(dst, 0, (size_t)(lo * cin_g) * sizeof(float));
                    memcpy(dst + lo * cin_g, j->x + ((n * g->h + ih) * g->w + iw0 + lo) * g->c,
                           (size_t)((hi - lo) * cin_g) * sizeof(float));
                    if (hi < g->fw) memset(dst + hi * cin_g, 0, (size_t)((g->fw - hi) * cin_g) * sizeof(float));
                }
                dst += g->fw * cin_g;
                continue;
            }
            for (int64_t kw = 0; kw < g->fw; kw++, dst += cin_g) {
                int64_t iw = iw0 + kw * g->dil[1];
                if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)
                    memset(dst, 0, (size_t)cin_g * sizeof(float));
                else
                    memcpy(dst, j->x + ((n * g->h + ih) * g->w + iw) * g->c + j->gi * cin_g,
                           (size_t)cin_g * sizeof(float));
            }
        }
    }
}

/* Gathers patch rows [b, e) of a block and multiplies them by one group's
 * packed weights: one pass per thread's rows while the patch rows are hot. */
typedef struct conv_gemm_job {
    im2col_job ij;
    const me_gemm_f32_kernel *kern;
    const float *bp;
    float *yb;
    int64_t cout_g, ldy;
    me_gemm_f32_epi e;
} conv_gemm_job;

static void conv_gemm_rows(void *v, int64_t b, int64_t e) {
    const conv_gemm_job *j = v;
    const int64_t kg = j->ij.kg, mr = j->kern->pmr;
    /* ~256 KB of patch rows at a time, but enough rows to reuse each weight panel */
    int64_t sub = (256 * 1024) / (kg * (int64_t)sizeof(float)) / mr * mr;
    if (sub < 8 * mr) sub = 8 * mr;
    for (int64_t r0 = b; r0 < e; r0 += sub) {
        int64_t r1 = e - r0 < sub ? e : r0 + sub;
        im2col_rows((void *)&j->ij, r0, r1);
        j->kern->packed(r1 - r0, j->cout_g, kg, j->ij.patch + r0 * kg, kg, j->bp, j->yb + r0 * j->ldy, j->ldy, &j->e);
    }
}

static me_status conv_run(const me_kernel_ctx *k, me_diag *d) {
    conv_geom g;
    bool empty;
    me_status st = conv_prepare(k, false, &g, &empty, d);
    if (st || empty) return st;
    const float *x = k->in_data[0], *w = k->in_data[1];
    const float *bias = k->n_in > 2 && k->in[2] ? k->in_data[2] : NULL;
    float *y = k->out_data[0];
    const int64_t cin_g = g.cin_g, cout_g = g.cout_g, cout = g.cout;
    const me_gemm_f32_kernel *kern = conv_gemm_kernel(k->variant);
    size_t gbytes;
    if (k->packed && conv_group_packed_bytes(&g, kern, &gbytes)) {
        /* pre-packed weights: bias and activation in the GEMM's store */
        const float *bp = k->packed;
        const int64_t gfl = (int64_t)(gbytes / sizeof(float));
        me_gemm_f32_epi e;
        bool post = me_gemm_epi_for_node(k->node, NULL, &e);
        if (conv_is_pointwise(&g)) {
            int64_t rows = g.n * g.h * g.w;
            for (int64_t gi = 0; gi < g.group; gi++) {
                e.bias = bias ? bias + gi * cout_g : NULL;
                me_sgemm_packed(k->pool, kern, rows, cout_g, cin_g, x + gi * cin_g, g.c, bp + gi * gfl, y + gi * cout_g,
                                cout, &e);
            }
            if (post) me_apply_fused_activation_mt(k->pool, k->node, y, rows * cout);
            return ME_OK;
        }
        if (!k->scratch) return me_fail(d, ME_ERR_INTERNAL, "node '%s': convolution scratch is missing", k->node->name);
        const int64_t kg = g.fh * g.fw * cin_g, total = g.n * g.oh * g.ow, block = conv_block_pixels(&g);
        const int threads = me_threadpool_threads(k->pool);
        conv_gemm_job cj = {{&g, x, k->scratch, 0, 0, kg}, kern, NULL, NULL, cout_g, cout, e};
        for (int64_t p0 = 0; p0 < total; p0 += block) {
            int64_t rows = total - p0 < block ? total - p0 : block;
            float *yb = y + p0 * cout;
            for (int64_t gi = 0; gi < g.group; gi++) {
                cj.ij.p0 = p0;
                cj.ij.gi = gi;
                cj.bp = bp + gi * gfl;
                cj.yb = yb + gi * cout_g;
                cj.e.bias = bias ? bias + gi * cout_g : NULL;
                if (rows >= cout_g && rows >= 2 * threads * (int64_t)kern->pmr) {
                    /* each thread gathers and multiplies its own rows */
                    if (threads < 2) conv_gemm_rows(&cj, 0, rows);
                    else me_parallel_for(k->pool, rows, kern->pmr, conv_gemm_rows, &cj);
                } else {
                    /* few rows (weights larger than the patch): gather, then one GEMM
                     * that streams the weights once, split by columns too */
                    if (rows * kg >= (1 << 16)) me_parallel_for(k->pool, rows, 8, im2col_rows, &cj.ij);
                    else im2col_rows(&cj.ij, 0, rows);
                    me_sgemm_packed(k->pool, kern, rows, cout_g, kg, cj.ij.patch, kg, cj.bp, cj.yb, cout, &cj.e);
                }
            }
            if (post) me_apply_fused_activation_mt(k->pool, k->node, yb, rows * cout);
        }
        return ME_OK;
    }

    if (conv_is_pointwise(&g)) {
        int64_t rows = g.n * g.h * g.w;
        me_gemm_f32_init(rows, cout, y, cout, bias);
        for (int64_t gi = 0; gi < g.group; gi++)
            me_sgemm_nn(k->pool, k->variant, rows, cout_g, cin_g, x + gi * cin_g, g.c, w + gi * cout_g, cout,
                        y + gi * cout_g, cout);
        me_apply_fused_activation_mt(k->pool, k->node, y, rows * cout);
        return ME_OK;
    }
    if (!k->scratch) return me_fail(d, ME_ERR_INTERNAL, "node '%s': convolution scratch is missing", k->node->name);
    const int64_t kg = g.fh * g.fw * cin_g, total = g.n * g.oh * g.ow, block = conv_block_pixels(&g);
    im2col_job job = {&g, x, k->scratch, 0, 0, kg};
    for (int64_t p0 = 0; p0 < total; p0 += block) {
        int64_t rows = total - p0 < block ? total - p0 : block;
        float *yb = y + p0 * cout;
        me_gemm_f32_init(rows, cout, yb, cout, bias);
        for (int64_t gi = 0; gi < g.group; gi++) {
            job.p0 = p0;
            job.gi = gi;
            me_parallel_for(k->pool, rows, 8, im2col_rows, &job);
            me_sgemm_nn(k->pool, k->variant, rows, cout_g, kg, job.patch, kg, w + gi * cout_g, cout,
                        yb + gi * cout_g, cout);
        }
        me_apply_fused_activation_mt(k->pool, k->node, yb, rows * cout);
    }
    return ME_OK;
}

static me_status dwconv_run(const me_kernel_ctx *k, me_diag *d) {
    conv_geom g;
    bool empty;
    me_status st = conv_prepare(k, true, &g, &empty, d);
    if (st || empty) return st;
    const float *bias = k->n_in > 2 && k->in[2] ? k->in_data[2] : NULL;
    float *y = k->out_data[0];
    me_dwconv_f32_args a = {k->in_data[0], k->in_data[1], bias, g.h, g.w, g.c, g.fh, g.fw,
                            g.stride[0], g.stride[1], g.pad[0], g.pad[2], g.dil[0], g.dil[1], g.ow};
    me_dwconv_f32_rows(k->pool, k->variant, &a, g.n, g.oh, y);
    me_apply_fused_activation_mt(k->pool, k->node, y, g.n * g.oh * g.ow * g.c);
    return ME_OK;
}

static const me_param_schema conv_params[] = {
    {"stride", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"pad_amount", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"group", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"dilation", ME_PARAM_TENSOR, ME_DT_U32, false},
    ME_FUSED_ACTIVATION_PARAMS,
    {NULL},
};

static const me_param_schema dwconv_params[] = {
    {"stride", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"pad_amount", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"dilation", ME_PARAM_TENSOR, ME_DT_U32, false},
    ME_FUSED_ACTIVATION_PARAMS,
    {NULL},
};

const me_opdef me_opdef_CONV2D = {
    "Conv2d", "qti.aisw", 2, 3, 1, 1, conv_params, conv_infer, conv_run, conv_scratch, conv_packed_bytes, conv_pack,
};

const me_opdef me_opdef_DEPTHWISE_CONV2D = {
    "DepthWiseConv2d", "qti.aisw", 2, 3, 1, 1, dwconv_params, dwconv_infer, dwconv_run, NULL,
};
