/* StridedSlice: per axis, the indices begin, begin+stride, ... while
 * (stride > 0 ? i < end : i > end). `ranges` is I32 [rank, 3] of
 * (begin, end, stride); `begin_mask`, `end_mask`, `shrink_axes`,
 * `new_axes_mask` are U32 bit masks (bit k = axis k), default 0.
 *
 * Value conventions (what our frontend emits; anything else is still
 * well-defined):
 *  - begin: normally in [0, dim] (stride > 0) or [0, dim-1] (stride < 0).
 *    A negative begin counts from the end (begin + dim).
 *  - end: normally in [0, dim]. For a negative stride, end == -1 is the
 *    special value "past the beginning" (the slice runs through index 0),
 *    as QNN documents; any other negative end counts from the end (end + dim).
 *  - After that, begin and end are clamped to [0, dim] for a positive stride
 *    and to [-1, dim-1] for a negative one.
 *  - begin_mask bit k: begin = 0 (stride > 0) or dim-1 (stride < 0).
 *    end_mask bit k: end = dim (stride > 0) or past the beginning.
 *  - shrink_axes bit k: take the single index begin (which must lie in
 *    [0, dim) after adding dim to a negative value) and drop axis k.
 *  - new_axes_mask != 0 is refused (ME_ERR_UNSUPPORTED); stride 0 is an error. */
#include "movement.h"

static const me_param_schema strided_slice_params[] = {
    {"ranges", ME_PARAM_TENSOR, ME_DT_I32, true},
    {"begin_mask", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"end_mask", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"shrink_axes", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"new_axes_mask", ME_PARAM_SCALAR, ME_DT_U32, false},
    {NULL},
};

typedef struct slice_plan {
    int64_t begin[ME_MAX_RANK], step[ME_MAX_RANK], count[ME_MAX_RANK];
    bool shrink[ME_MAX_RANK];
    int out_rank;
    int64_t out_dims[ME_MAX_RANK];
} slice_plan;

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

int64_t me_strided_slice_axis(int64_t dim, int64_t b, int64_t e, int64_t s, bool begin_masked,
                              bool end_masked, int64_t *first) {
    int64_t cnt;
    if (s > 0) {
        if (begin_masked) b = 0;
        else if (b < 0) b += dim;
        if (end_masked) e = dim;
        else if (e < 0) e += dim;
        b = clamp64(b, 0, dim);
        e = clamp64(e, 0, dim);
        cnt = e > b ? (e - b + s - 1) / s : 0;
    } else {
        if (begin_masked) b = dim - 1;
        else if (b < 0) b += dim;
        if (end_masked) e = -1;
        else if (e < -1) e += dim;
        b = clamp64(b, -1, dim - 1);
        e = clamp64(e, -1, dim - 1);
        cnt = b > e ? (b - e + (-s) - 1) / (-s) : 0;
    }
    *first = b;
    return cnt;
}

static me_status slice_plan_make(const me_node *n, const me_tensor *in, slice_plan *sp, me_diag *d) {
    int rank = in->rank;
    const me_param *ranges = me_mv_int_tensor(n, "ranges", ME_DT_I32, 2, rank, 3, d);
    if (!ranges) return ME_ERR_FORMAT;
    int64_t bm, em, sm, nm;
    me_status st;
    if ((st = me_mv_scalar_int(n, "begin_mask", false, 0, &bm, d)) != ME_OK) return st;
    if ((st = me_mv_scalar_int(n, "end_mask", false, 0, &em, d)) != ME_OK) return st;
    if ((st = me_mv_scalar_int(n, "shrink_axes", false, 0, &sm, d)) != ME_OK) return st;
    if ((st = me_mv_scalar_int(n, "new_axes_mask", false, 0, &nm, d)) != ME_OK) return st;
    if (nm != 0)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (StridedSlice): new_axes_mask is not supported", n->name);
    int64_t valid = (int64_t)((1u << rank) - 1);
    if ((bm | em | sm) & ~valid)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (StridedSlice): a mask has bits beyond rank %d", n->name, rank);

    sp->out_rank = 0;
    for (int a = 0; a < rank; a++) {
        int64_t dim = in->dims[a];
        int64_t b = ranges->ivals[3 * a], e = ranges->ivals[3 * a + 1], s = ranges->ivals[3 * a + 2];
        if (b < INT32_MIN || b > INT32_MAX || e < INT32_MIN || e > INT32_MAX || s < INT32_MIN || s > INT32_MAX)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (StridedSlice): ranges row %d is not INT32", n->name, a);
        if (s == 0) return me_fail(d, ME_ERR_FORMAT, "node '%s' (StridedSlice): axis %d has stride 0", n->name, a);
        sp->shrink[a] = (sm >> a) & 1;
        if (sp->shrink[a]) {
            if ((bm >> a) & 1) b = 0;
            if (b < 0) b += dim;
            if (b < 0 || b >= dim)
                return me_fail(d, ME_ERR_FORMAT, "node '%s' (StridedSlice): shrink index %lld on axis %d is outside [0, %lld)",
                               n->name, (long long)ranges->ivals[3 * a], a, (long long)dim);
            sp->begin[a] = b;
            sp->step[a] = 1;
            sp->count[a] = 1;
            continue;
        }
        int64_t cnt = me_strided_slice_axis(dim, b, e, s, (bm >> a) & 1, (em >> a) & 1, &b);
        sp->begin[a] = cnt ? b : 0;
        sp->step[a] = s;
        sp->count[a] = cnt;
        sp->out_dims[sp->out_rank++] = cnt;
    }
    return ME_OK;
}

static me_status strided_slice_infer(me_graph *g, me_node *n, me_diag *d) {
    const me_tensor *in = me_mv_input(g, n, 0, d);
    if (!in) return ME_ERR_FORMAT;
    if (!me_mv_elem_size(n, in->dtype, d)) return ME_ERR_UNSUPPORTED;
    slice_plan sp;
    me_status st = slice_plan_make(n, in, &sp, d);
    if (st != ME_OK) return st;
    return me_set_output(g, n, 0, in->dtype, sp.out_rank, sp.out_dims, d);
}

static me_status strided_slice_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *in = k->in[0];
    size_t es = me_mv_elem_size(k->node, in->dtype, d);
    if (!es) return ME_ERR_UNSUPPORTED;
    slice_plan sp;
    me_status st = slice_plan_make(k->node, in, &sp, d);
    if (st == ME_OK) st = me_mv_check_out(k, 0, sp.out_rank, sp.out_dims, es, d);
    if (st != ME_OK) return st;
    if (me_shape_numel(sp.out_rank, sp.out_dims) == 0) return ME_OK;

    /* Shrunk axes have count 1, so the box over all input axes is the output. */
    int64_t in_stride = 1, base = 0, stride[ME_MAX_RANK];
    for (int a = in->rank - 1; a >= 0; a--) {
        base += sp.begin[a] * in_stride;
        stride[a] = sp.step[a] * in_stride;
        in_stride *= in->dims[a];
    }
    me_mv_strided_copy(k->out_data[0], (const char *)k->in_data[0] + base * (int64_t)es, in->rank, sp.count,
                       stride, es);
    return ME_OK;
}

const me_opdef me_opdef_STRIDED_SLICE = {
    .name = "StridedSlice", .package = "qti.aisw",
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .params = strided_slice_params,
    .infer = strided_slice_infer, .run = strided_slice_run,
};
