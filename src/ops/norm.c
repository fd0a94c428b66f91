/* Normalisation ops (channel-last, QNN semantics).
 *
 * Batchnorm:    in[0] [..., C] (rank >= 2), in[1] weights [C], in[2] bias [C] (optional);
 *               y = x * w[c] + b[c] (QNN's folded form; w/b may be computed tensors).
 * LayerNorm:    in[0], gamma in[1] (optional), beta in[2] (optional); `epsilon` F32 (0.001),
 *               `axes` U32[M] (required): y = (x - mean) / sqrt(var + eps) * gamma + beta,
 *               population statistics over `axes`.
 * RmsNorm:      same inputs/params, epsilon (1e-6): y = x / sqrt(mean(x^2) + eps) * gamma + beta.
 *   gamma/beta of LayerNorm/RmsNorm are shaped like the normalised dims (in
 *   axis order) or broadcast to them numpy-style; a gamma of higher rank is
 *   aligned with the whole input, with size-1 dims on the other axes.
 * InstanceNorm: [N, spatial..., C], gamma [C] (required), beta [C] (optional);
 *               `epsilon` (1e-12); only mode MU_SIGMA (0), normalize_variance 1 and
 *               region ACROSS_SPATIAL (0) are implemented, others are refused.
 * GroupNorm:    [N, spatial..., C], gamma [C], beta [C] (both optional); `epsilon` and
 *               `group` required; statistics over (spatial, channels of the group).
 * Statistics are accumulated in double, mean first, then the centred second
 * moment (two passes), so large offsets do not cost precision. */
#include <math.h>
#include <string.h>

#include "../core/util.h"
#include "../kernels/kernels.h"
#include "../runtime/threadpool.h"
#include "ops.h"
#include "param_read.h"

/* ---------------------------------------------------------------- common */

static me_status norm_prepare_io(const me_kernel_ctx *k, int min_in, bool *empty, me_diag *d) {
    if (k->n_in < min_in || k->n_out < 1 || !k->in[0] || !k->out[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': missing input or output", k->node->name);
    *empty = me_tensor_numel(k->out[0]) == 0;
    if (*empty) return ME_OK;
    if (!k->in_data[0] || !k->out_data[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': missing tensor data", k->node->name);
    for (int i = 1; i < k->n_in; i++)
        if (k->in[i] && !k->in_data[i])
            return me_fail(d, ME_ERR_FORMAT, "node '%s': missing data of input %d", k->node->name, i);
    return ME_OK;
}

static const me_tensor *ctx_input(const me_kernel_ctx *k, int i) { return i < k->n_in ? k->in[i] : NULL; }
static const float *ctx_data(const me_kernel_ctx *k, int i) {
    return i < k->n_in && k->in[i] ? k->in_data[i] : NULL;
}

static me_status norm_check_inputs(me_graph *gr, me_node *nd, int n_required, me_diag *d) {
    me_status st;
    for (int i = 0; i < 3; i++)
        if ((st = input_check_f32(gr, nd, i, i >= n_required, d))) return st;
    return ME_OK;
}

/* A per-channel vector input (gamma/beta/weights) of C elements, or absent. */
static me_status check_channel_vec(const me_node *nd, const me_tensor *t, const char *what, int64_t c, me_diag *d) {
    if (!t) return ME_OK;
    if (t->dtype != ME_DT_F32)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): %s must be float32", nd->name, param_op_name(nd), what);
    if (me_tensor_numel(t) != c)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): %s must have %lld elements (one per channel)", nd->name,
                       param_op_name(nd), what, (long long)c);
    return ME_OK;
}

static me_status check_input0(const me_node *nd, const me_tensor *x, int min_rank, me_diag *d) {
    if (!x) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input is missing", nd->name, param_op_name(nd));
    if (x->dtype != ME_DT_F32)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): only float32 input is supported", nd->name,
                       param_op_name(nd));
    if (x->rank < min_rank)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input must have rank >= %d, has %d", nd->name,
                       param_op_name(nd), min_rank, x->rank);
    return ME_OK;
}

static me_status same_shape_output(me_graph *gr, me_node *nd, me_diag *d) {
    const me_tensor *x = input_tensor(gr, nd, 0);
    return me_set_output(gr, nd, 0, ME_DT_F32, x->rank, x->dims, d);
}

/* ---------------------------------------------------------------- Batchnorm */

static me_status batchnorm_check(const me_node *nd, const me_tensor *x, const me_tensor *w, const me_tensor *b,
                                 me_diag *d) {
    me_status st;
    if ((st = check_input0(nd, x, 2, d))) return st;
    if (!w) return me_fail(d, ME_ERR_FORMAT, "node '%s' (Batchnorm): weights are missing", nd->name);
    int64_t c = x->dims[x->rank - 1];
    if ((st = check_channel_vec(nd, w, "weights", c, d)) || (st = check_channel_vec(nd, b, "bias", c, d))) return st;
    return ME_OK;
}

static me_status batchnorm_infer(me_graph *gr, me_node *nd, me_diag *d) {
    me_status st;
    if ((st = norm_check_inputs(gr, nd, 2, d))) return st;
    if ((st = batchnorm_check(nd, input_tensor(gr, nd, 0), input_tensor(gr, nd, 1), input_tensor(gr, nd, 2), d)))
        return st;
    return same_shape_output(gr, nd, d);
}

static me_status batchnorm_run(const me_kernel_ctx *k, me_diag *d) {
    bool empty;
    me_status st = norm_prepare_io(k, 2, &empty, d);
    if (st) return st;
    if ((st = batchnorm_check(k->node, k->in[0], ctx_input(k, 1), ctx_input(k, 2), d)) || empty) return st;
    const float *x = k->in_data[0], *w = ctx_data(k, 1), *b = ctx_data(k, 2);
    float *y = k->out_data[0];
    int64_t c = k->in[0]->dims[k->in[0]->rank - 1];
    int64_t rows = me_tensor_numel(k->in[0]) / c;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        if (b)
            for (int64_t i = 0; i < c; i++) yr[i] = xr[i] * w[i] + b[i];
        else
            for (int64_t i = 0; i < c; i++) yr[i] = xr[i] * w[i];
    }
    return ME_OK;
}

/* ---------------------------------------------------------------- LayerNorm / RmsNorm */

/* Iteration plan: the input split into outer axes (one statistic each) and
 * normalised inner axes, with the strides of x, gamma and beta along each
 * inner axis (0 where gamma/beta broadcast). Adjacent inner axes that are
 * contiguous for all three are merged, so the common "last axes, full gamma"
 * case becomes a single run. */
typedef struct axes_plan {
    int n_outer, n_inner;
    int64_t outer_dim[ME_MAX_RANK], outer_stride[ME_MAX_RANK];
    int64_t inner_dim[ME_MAX_RANK], inner_x[ME_MAX_RANK], inner_g[ME_MAX_RANK], inner_b[ME_MAX_RANK];
    int64_t inner_count;
    double eps;
} axes_plan;

/* Per-input-axis strides of an affine tensor (gamma/beta) broadcast over the
 * normalised axes. */
static me_status affine_strides(const me_node *nd, const me_tensor *x, const bool *is_norm, int n_norm,
                                const me_tensor *t, const char *what, int64_t *stride, me_diag *d) {
    for (int a = 0; a < x->rank; a++) stride[a] = 0;
    if (!t) return ME_OK;
    if (t->dtype != ME_DT_F32)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): %s must be float32", nd->name, param_op_name(nd), what);
    /* map each dim of t (right-aligned) to an input axis */
    int axis_of[ME_MAX_RANK];
    if (t->rank <= n_norm) {
        int j = t->rank - 1;
        for (int a = x->rank - 1; a >= 0 && j >= 0; a--)
            if (is_norm[a]) axis_of[j--] = a;
    } else if (t->rank <= x->rank) {
        for (int j = 0; j < t->rank; j++) axis_of[j] = x->rank - t->rank + j;
    } else {
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): %s has rank %d, more than the input", nd->name,
                       param_op_name(nd), what, t->rank);
    }
    int64_t s = 1;
    for (int j = t->rank - 1; j >= 0; j--) {
        int a = axis_of[j];
        int64_t td = t->dims[j];
        if (td != 1 && (!is_norm[a] || td != x->dims[a]))
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): %s dim %d (%lld) does not broadcast to the normalised dims",
                           nd->name, param_op_name(nd), what, j, (long long)td);
        stride[a] = td == 1 ? 0 : s;
        s *= td;
    }
    return ME_OK;
}

static me_status axes_plan_make(const me_node *nd, const me_tensor *x, const me_tensor *gamma, const me_tensor *beta,
                                double eps_default, axes_plan *p, me_diag *d) {
    me_status st;
    if ((st = check_input0(nd, x, 1, d))) return st;
    const me_param *ap = me_node_param(nd, "axes");
    if (!ap) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): required param 'axes' is missing", nd->name, param_op_name(nd));
    if (ap->kind != ME_PARAM_TENSOR || !ap->ivals || ap->count < 1 || ap->count > x->rank)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): 'axes' must list 1 to %d axes", nd->name, param_op_name(nd),
                       x->rank);
    bool is_norm[ME_MAX_RANK] = {false};
    for (int64_t i = 0; i < ap->count; i++) {
        int64_t a = ap->ivals[i];
        if (a < 0 || a >= x->rank || is_norm[a])
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): axis %lld is out of range or repeated", nd->name,
                           param_op_name(nd), (long long)a);
        is_norm[a] = true;
    }
    if ((st = param_get_float(nd, "epsilon", false, eps_default, &p->eps, d))) return st;
    int64_t gs[ME_MAX_RANK], bs[ME_MAX_RANK];
    if ((st = affine_strides(nd, x, is_norm, (int)ap->count, gamma, "gamma", gs, d)) ||
        (st = affine_strides(nd, x, is_norm, (int)ap->count, beta, "beta", bs, d)))
        return st;
    int64_t xs[ME_MAX_RANK], s = 1;
    for (int a = x->rank - 1; a >= 0; a--) { xs[a] = s; s *= x->dims[a]; }
    p->n_outer = p->n_inner = 0;
    p->inner_count = 1;
    for (int a = 0; a < x->rank; a++) {
        if (!is_norm[a]) {
            p->outer_dim[p->n_outer] = x->dims[a];
            p->outer_stride[p->n_outer++] = xs[a];
            continue;
        }
        p->inner_count *= x->dims[a];
        int m = p->n_inner;
        if (m > 0 && p->inner_x[m - 1] == xs[a] * x->dims[a] && p->inner_g[m - 1] == gs[a] * x->dims[a] &&
            p->inner_b[m - 1] == bs[a] * x->dims[a]) {
            /* merge into the previous (outer-more) inner axis */
            p->inner_dim[m - 1] *= x->dims[a];
            p->inner_x[m - 1] = xs[a];
            p->inner_g[m - 1] = gs[a];
            p->inner_b[m - 1] = bs[a];
            continue;
        }
        p->inner_dim[m] = x->dims[a];
        p->inner_x[m] = xs[a];
        p->inner_g[m] = gs[a];
        p->inner_b[m] = bs[a];
        p->n_inner++;
    }
    return ME_OK;
}

/* Walks the inner (normalised) elements of one outer position. */
typedef struct inner_iter { int64_t idx[ME_MAX_RANK]; int64_t xo, go, bo; } inner_iter;

static void inner_next(const axes_plan *p, inner_iter *it) {
    for (int a = p->n_inner - 1; a >= 0; a--) {
        it->xo += p->inner_x[a]; it->go += p->inner_g[a]; it->bo += p->inner_b[a];
        if (++it->idx[a] < p->inner_dim[a]) return;
        it->xo -= p->inner_x[a] * it->idx[a];
        it->go -= p->inner_g[a] * it->idx[a];
        it->bo -= p->inner_b[a] * it->idx[a];
        it->idx[a] = 0;
    }
}

/* rms = false: LayerNorm; true: RmsNorm. */
static void axes_norm_run(const axes_plan *p, bool rms, const float *x, const float *gamma, const float *beta,
                          float *y) {
    int64_t outer_idx[ME_MAX_RANK] = {0};
    int64_t base = 0;
    int64_t n_outer_total = 1;
    for (int a = 0; a < p->n_outer; a++) n_outer_total *= p->outer_dim[a];
    const double inv_n = 1.0 / (double)p->inner_count;
    for (int64_t o = 0; o < n_outer_total; o++) {
        const float *xb = x + base;
        float *yb = y + base;
        inner_iter it;
        double mean = 0.0;
        if (!rms) {
            double sum = 0.0;
            memset(&it, 0, sizeof it);
            for (int64_t i = 0; i < p->inner_count; i++, inner_next(p, &it)) sum += xb[it.xo];
            mean = sum * inv_n;
        }
        double sq = 0.0;
        memset(&it, 0, sizeof it);
        for (int64_t i = 0; i < p->inner_count; i++, inner_next(p, &it)) {
            double v = xb[it.xo] - mean;
            sq += v * v;
        }
        double inv_std = 1.0 / sqrt(sq * inv_n + p->eps);
        memset(&it, 0, sizeof it);
        for (int64_t i = 0; i < p->inner_count; i++, inner_next(p, &it)) {
            float v = (float)((xb[it.xo] - mean) * inv_std);
            if (gamma) v *= gamma[it.go];
            if (beta) v += beta[it.bo];
            yb[it.xo] = v;
        }
        for (int a = p->n_outer - 1; a >= 0; a--) {
            base += p->outer_stride[a];
            if (++outer_idx[a] < p->outer_dim[a]) break;
            base -= p->outer_stride[a] * outer_idx[a];
            outer_idx[a] = 0;
        }
    }
}

/* The common case, one contiguous normalised block per outer position (the
 * last axes): row after row, the rows split over threads. The statistics are
 * double sums in 8 interleaved partial sums (a fixed order per row, so the
 * result does not depend on the thread count); the output formula is the one
 * of axes_norm_run. */
typedef struct norm_rows_job {
    const float *x, *gamma, *beta;
    float *y;
    int64_t len, gs, bs;
    double eps;
    bool rms;
    const me_norm_f32_kernel *kern; /* the node's norm_f32 variant (kernels/kernels.h) */
} norm_rows_job;

static void norm_rows(void *v, int64_t begin, int64_t end) {
    const norm_rows_job *j = v;
    const int64_t len = j->len;
    const double inv_n = 1.0 / (double)len;
    for (int64_t o = begin; o < end; o++) {
        const float *x = j->x + o * len;
        double mean = j->rms ? 0.0 : j->kern->sum(x, len, 0.0, 0) * inv_n;
        double inv_std = 1.0 / sqrt(j->kern->sum(x, len, mean, 1) * inv_n + j->eps);
        j->kern->apply(x, len, mean, inv_std, j->gamma, j->gs, j->beta, j->bs, j->y + o * len);
    }
}

static me_status axes_norm_infer(me_graph *gr, me_node *nd, double eps_default, me_diag *d) {
    me_status st;
    if ((st = norm_check_inputs(gr, nd, 1, d))) return st;
    axes_plan p;
    if ((st = axes_plan_make(nd, input_tensor(gr, nd, 0), input_tensor(gr, nd, 1), input_tensor(gr, nd, 2),
                             eps_default, &p, d)))
        return st;
    return same_shape_output(gr, nd, d);
}

static me_status axes_norm_kernel(const me_kernel_ctx *k, bool rms, double eps_default, me_diag *d) {
    bool empty;
    me_status st = norm_prepare_io(k, 1, &empty, d);
    if (st) return st;
    axes_plan p;
    if ((st = axes_plan_make(k->node, k->in[0], ctx_input(k, 1), ctx_input(k, 2), eps_default, &p, d)) || empty)
        return st;
    const float *gamma = ctx_data(k, 1), *beta = ctx_data(k, 2);
    if (p.n_inner == 1 && p.inner_x[0] == 1 && p.inner_g[0] <= 1 && p.inner_b[0] <= 1) {
        /* contiguous trailing block: outer position o starts at o * inner_count */
        int64_t rows = me_tensor_numel(k->in[0]) / p.inner_count;
        norm_rows_job j = {k->in_data[0], gamma, beta, k->out_data[0], p.inner_count, p.inner_g[0], p.inner_b[0],
                           p.eps, rms, k->variant ? k->variant : me_norm_f32_select()};
        if ((double)rows * (double)p.inner_count < 16384.0) norm_rows(&j, 0, rows);
        else me_parallel_for(k->pool, rows, 1, norm_rows, &j);
        return ME_OK;
    }
    axes_norm_run(&p, rms, k->in_data[0], gamma, beta, k->out_data[0]);
    return ME_OK;
}

#define LAYER_NORM_EPS 0.001
#define RMS_NORM_EPS 1e-6

static me_status layernorm_infer(me_graph *gr, me_node *nd, me_diag *d) {
    return axes_norm_infer(gr, nd, LAYER_NORM_EPS, d);
}
static me_status rmsnorm_infer(me_graph *gr, me_node *nd, me_diag *d) { return axes_norm_infer(gr, nd, RMS_NORM_EPS, d); }
static me_status layernorm_run(const me_kernel_ctx *k, me_diag *d) { return axes_norm_kernel(k, false, LAYER_NORM_EPS, d); }
static me_status rmsnorm_run(const me_kernel_ctx *k, me_diag *d) { return axes_norm_kernel(k, true, RMS_NORM_EPS, d); }

/* ---------------------------------------------------------------- InstanceNorm / GroupNorm */

/* [N, S, C] view with G channel groups. */
typedef struct group_plan { int64_t n, s, c, groups; double eps; } group_plan;

static me_status group_plan_make(const me_node *nd, const me_tensor *x, const me_tensor *gamma, const me_tensor *beta,
                                 bool instance, group_plan *p, me_diag *d) {
    me_status st;
    if ((st = check_input0(nd, x, 2, d))) return st;
    p->n = x->dims[0];
    p->c = x->dims[x->rank - 1];
    p->s = me_shape_numel(x->rank - 2, x->dims + 1);
    if (instance) {
        int64_t mode = 0, normvar = 1, region = 0;
        if ((st = param_get_float(nd, "epsilon", false, 1e-12, &p->eps, d)) ||
            (st = param_get_int(nd, "mode", false, 0, 0, UINT32_MAX, &mode, d)) ||
            (st = param_get_int(nd, "normalize_variance", false, 1, 0, 1, &normvar, d)) ||
            (st = param_get_int(nd, "region", false, 0, 0, UINT32_MAX, &region, d)))
            return st;
        if (mode != 0 || normvar != 1 || region != 0)
            return me_fail(d, ME_ERR_UNSUPPORTED,
                           "node '%s' (InstanceNorm): only mode MU_SIGMA, normalize_variance 1 and region ACROSS_SPATIAL "
                           "are supported (have mode %lld, normalize_variance %lld, region %lld)",
                           nd->name, (long long)mode, (long long)normvar, (long long)region);
        if (!gamma) return me_fail(d, ME_ERR_FORMAT, "node '%s' (InstanceNorm): gamma is missing", nd->name);
        p->groups = p->c;
    } else {
        if ((st = param_get_float(nd, "epsilon", true, 0, &p->eps, d)) ||
            (st = param_get_int(nd, "group", true, 1, 1, UINT32_MAX, &p->groups, d)))
            return st;
        if (p->c % p->groups != 0)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (GroupNorm): group %lld does not divide %lld channels", nd->name,
                           (long long)p->groups, (long long)p->c);
    }
    if ((st = check_channel_vec(nd, gamma, "gamma", p->c, d)) || (st = check_channel_vec(nd, beta, "beta", p->c, d)))
        return st;
    return ME_OK;
}

/* Scratch: per-channel sums, then per-group mean and 1/std (doubles). */
static size_t group_scratch_doubles(const group_plan *p) { return (size_t)p->c + 2 * (size_t)p->groups; }

static void group_norm_run(const group_plan *p, const float *x, const float *gamma, const float *beta, float *y,
                           double *scratch) {
    const int64_t c = p->c, cg = c / p->groups;
    double *acc = scratch, *gmean = scratch + c, *ginv = gmean + p->groups;
    const double inv_count = 1.0 / ((double)p->s * (double)cg);
    for (int64_t n = 0; n < p->n; n++) {
        const float *xb = x + n * p->s * c;
        float *yb = y + n * p->s * c;
        for (int64_t ch = 0; ch < c; ch++) acc[ch] = 0.0;
        for (int64_t s = 0; s < p->s; s++)
            for (int64_t ch = 0; ch < c; ch++) acc[ch] += xb[s * c + ch];
        for (int64_t g = 0; g < p->groups; g++) {
            double sum = 0.0;
            for (int64_t ch = g * cg; ch < (g + 1) * cg; ch++) sum += acc[ch];
            gmean[g] = sum * inv_count;
        }
        for (int64_t ch = 0; ch < c; ch++) acc[ch] = 0.0;
        for (int64_t s = 0; s < p->s; s++)
            for (int64_t ch = 0; ch < c; ch++) {
                double v = xb[s * c + ch] - gmean[ch / cg];
                acc[ch] += v * v;
            }
        for (int64_t g = 0; g < p->groups; g++) {
            double sq = 0.0;
            for (int64_t ch = g * cg; ch < (g + 1) * cg; ch++) sq += acc[ch];
            ginv[g] = 1.0 / sqrt(sq * inv_count + p->eps);
        }
        for (int64_t s = 0; s < p->s; s++)
            for (int64_t ch = 0; ch < c; ch++) {
                int64_t g = ch / cg;
                float v = (float)((xb[s * c + ch] - gmean[g]) * ginv[g]);
                if (gamma) v *= gamma[ch];
                if (beta) v += beta[ch];
                yb[s * c + ch] = v;
            }
    }
}

static me_status group_infer_common(me_graph *gr, me_node *nd, bool instance, me_diag *d) {
    me_status st;
    if ((st = norm_check_inputs(gr, nd, instance ? 2 : 1, d))) return st;
    group_plan p;
    if ((st = group_plan_make(nd, input_tensor(gr, nd, 0), input_tensor(gr, nd, 1), input_tensor(gr, nd, 2), instance,
                              &p, d)))
        return st;
    return same_shape_output(gr, nd, d);
}

static size_t group_scratch_common(const me_graph *gr, const me_node *nd, bool instance) {
    group_plan p;
    if (group_plan_make(nd, input_tensor(gr, nd, 0), input_tensor(gr, nd, 1), input_tensor(gr, nd, 2), instance, &p,
                        NULL) != ME_OK)
        return 0;
    size_t b;
    if (!me_mul_size(group_scratch_doubles(&p), sizeof(double), &b)) return 0;
    return b;
}

static me_status group_run_common(const me_kernel_ctx *k, bool instance, me_diag *d) {
    bool empty;
    me_status st = norm_prepare_io(k, instance ? 2 : 1, &empty, d);
    if (st) return st;
    group_plan p;
    if ((st = group_plan_make(k->node, k->in[0], ctx_input(k, 1), ctx_input(k, 2), instance, &p, d)) || empty)
        return st;
    if (!k->scratch) return me_fail(d, ME_ERR_INTERNAL, "node '%s': normalisation scratch is missing", k->node->name);
    group_norm_run(&p, k->in_data[0], ctx_data(k, 1), ctx_data(k, 2), k->out_data[0], k->scratch);
    return ME_OK;
}

static me_status instnorm_infer(me_graph *gr, me_node *nd, me_diag *d) { return group_infer_common(gr, nd, true, d); }
static me_status groupnorm_infer(me_graph *gr, me_node *nd, me_diag *d) { return group_infer_common(gr, nd, false, d); }
static size_t instnorm_scratch(const me_graph *gr, const me_node *nd) { return group_scratch_common(gr, nd, true); }
static size_t groupnorm_scratch(const me_graph *gr, const me_node *nd) { return group_scratch_common(gr, nd, false); }
static me_status instnorm_run(const me_kernel_ctx *k, me_diag *d) { return group_run_common(k, true, d); }
static me_status groupnorm_run(const me_kernel_ctx *k, me_diag *d) { return group_run_common(k, false, d); }

/* ---------------------------------------------------------------- definitions */

static const me_param_schema batchnorm_params[] = {{NULL}};

static const me_param_schema layernorm_params[] = {
    {"epsilon", ME_PARAM_SCALAR, ME_DT_F32, false},
    {"axes", ME_PARAM_TENSOR, ME_DT_U32, true},
    {NULL},
};

static const me_param_schema instnorm_params[] = {
    {"epsilon", ME_PARAM_SCALAR, ME_DT_F32, false},
    {"mode", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"normalize_variance", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    {"region", ME_PARAM_SCALAR, ME_DT_U32, false},
    {NULL},
};

static const me_param_schema groupnorm_params[] = {
    {"epsilon", ME_PARAM_SCALAR, ME_DT_F32, true},
    {"group", ME_PARAM_SCALAR, ME_DT_U32, true},
    {NULL},
};

const me_opdef me_opdef_BATCHNORM = {
    "Batchnorm", "qti.aisw", 2, 3, 1, 1, batchnorm_params, batchnorm_infer, batchnorm_run, NULL,
};
const me_opdef me_opdef_LAYER_NORM = {
    "LayerNorm", "qti.aisw", 1, 3, 1, 1, layernorm_params, layernorm_infer, layernorm_run, NULL,
};
const me_opdef me_opdef_RMS_NORM = {
    "RmsNorm", "qti.aisw", 1, 3, 1, 1, layernorm_params, rmsnorm_infer, rmsnorm_run, NULL,
};
const me_opdef me_opdef_INSTANCE_NORM = {
    "InstanceNorm", "qti.aisw", 2, 3, 1, 1, instnorm_params, instnorm_infer, instnorm_run, instnorm_scratch,
};
const me_opdef me_opdef_GROUP_NORM = {
    "GroupNorm", "qti.aisw", 1, 3, 1, 1, groupnorm_params, groupnorm_infer, groupnorm_run, groupnorm_scratch,
};
