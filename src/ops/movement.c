/* Shared helpers of the data-movement ops: param checks and the strided copy
 * that transpose, strided_slice and depth_space are built on. */
#include "movement.h"

#include <string.h>

#include "../core/util.h"

size_t me_mv_elem_size(const me_node *n, me_dtype dt, me_diag *d) {
    size_t es = me_dtype_size(dt);
    if (es == 0)
        me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): dtype %s is not supported (whole-byte elements only)",
                n->name, me_op_names[n->op], me_dtype_name(dt));
    return es;
}

const me_tensor *me_mv_input(const me_graph *g, const me_node *n, int i, me_diag *d) {
    if (i >= n->n_in || n->in[i] < 0 || n->in[i] >= g->n_tensors) {
        me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input %d is missing", n->name, me_op_names[n->op], i);
        return NULL;
    }
    return &g->tensors[n->in[i]];
}

const me_param *me_mv_int_tensor(const me_node *n, const char *name, me_dtype dt, int rank,
                                 int64_t want0, int64_t want1, me_diag *d) {
    const char *op = me_op_names[n->op];
    const me_param *p = me_node_param(n, name);
    if (!p) {
        me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): required param '%s' is missing", n->name, op, name);
        return NULL;
    }
    if (p->kind != ME_PARAM_TENSOR || p->dtype != dt || !p->ivals || p->rank != rank) {
        me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): param '%s' must be a rank-%d %s tensor", n->name, op, name,
                rank, me_dtype_name(dt));
        return NULL;
    }
    bool ok = (want0 < 0 || p->dims[0] == want0) && p->dims[0] >= 0;
    if (rank == 2 && p->dims[1] != want1) ok = false;
    int64_t count = p->dims[0];
    if (ok && rank == 2 && !me_mul_i64(p->dims[0], p->dims[1], &count)) ok = false;
    if (p->count != count) ok = false;
    if (!ok) {
        if (rank == 2)
            me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): param '%s' has shape [%lld, %lld], expected [%lld, %lld]",
                    n->name, op, name, (long long)p->dims[0], (long long)p->dims[1], (long long)want0,
                    (long long)want1);
        else
            me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): param '%s' has %lld values, expected %lld", n->name, op,
                    name, (long long)p->dims[0], (long long)want0);
        return NULL;
    }
    return p;
}

me_status me_mv_scalar_int(const me_node *n, const char *name, bool required, int64_t dflt,
                           int64_t *out, me_diag *d) {
    const me_param *p = me_node_param(n, name);
    if (!p) {
        if (required)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): required param '%s' is missing", n->name,
                           me_op_names[n->op], name);
        *out = dflt;
        return ME_OK;
    }
    if (p->kind != ME_PARAM_SCALAR || !(me_dtype_is_int(p->dtype) || p->dtype == ME_DT_BOOL))
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): param '%s' must be an integer scalar", n->name,
                       me_op_names[n->op], name);
    *out = p->s.i;
    return ME_OK;
}

me_status me_mv_check_out(const me_kernel_ctx *k, int i, int rank, const int64_t *dims,
                          size_t esize, me_diag *d) {
    const me_tensor *t = i < k->n_out ? k->out[i] : NULL;
    bool ok = t && t->rank == rank && me_dtype_size(t->dtype) == esize;
    for (int a = 0; ok && a < rank; a++) ok = t->dims[a] == dims[a];
    /* a zero-size output may have no buffer */
    if (ok && !k->out_data[i] && me_shape_numel(rank, dims) != 0) ok = false;
    if (!ok)
        return me_fail(d, ME_ERR_INTERNAL, "node '%s' (%s): output %d does not have the inferred shape",
                       k->node->name, me_op_names[k->node->op], i);
    return ME_OK;
}

/* Inner loop with a compile-time element size so the memcpy becomes one move. */
#define STRIDED_ROW(ES)                                                          \
    static void strided_row_##ES(char *dst, const char *src, int64_t n, int64_t step) { \
        for (int64_t j = 0; j < n; j++) memcpy(dst + j * ES, src + j * step * ES, ES); \
    }
STRIDED_ROW(1)
STRIDED_ROW(2)
STRIDED_ROW(4)
STRIDED_ROW(8)
#undef STRIDED_ROW

/* Two axes left and a short inner run (channels to last, e.g. an NCHW input
 * with 3 channels to NHWC): column by column, so the source is read along the
 * outer axis instead of 3-element rows one call each. */
#define NARROW_2D(ES)                                                                                  \
    static void narrow_2d_##ES(char *dst, const char *src, int64_t n0, int64_t s0, int64_t n1, int64_t s1) { \
        for (int64_t j = 0; j < n1; j++)                                                               \
            for (int64_t i = 0; i < n0; i++) memcpy(dst + (i * n1 + j) * ES, src + (i * s0 + j * s1) * ES, ES); \
    }
NARROW_2D(1)
NARROW_2D(2)
NARROW_2D(4)
NARROW_2D(8)
#undef NARROW_2D

static void strided_row(char *dst, const char *src, int64_t n, int64_t step, size_t esize) {
    if (step == 1) {
        memcpy(dst, src, (size_t)n * esize);
        return;
    }
    switch (esize) {
    case 1: strided_row_1(dst, src, n, step); break;
    case 2: strided_row_2(dst, src, n, step); break;
    case 4: strided_row_4(dst, src, n, step); break;
    case 8: strided_row_8(dst, src, n, step); break;
    default:
        for (int64_t j = 0; j < n; j++) memcpy(dst + j * (int64_t)esize, src + j * step * (int64_t)esize, esize);
    }
}

void me_mv_strided_copy(void *dst, const void *src, int rank, const int64_t *size,
                        const int64_t *stride, size_t esize) {
    int64_t sz[ME_MAX_RANK], st[ME_MAX_RANK];
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (size[i] == 0) return;
        if (size[i] == 1) continue;
        /* outer axis r-1 and this one walk one linear run: merge them */
        if (r > 0 && st[r - 1] == stride[i] * size[i]) {
            sz[r - 1] *= size[i];
            st[r - 1] = stride[i];
        } else {
            sz[r] = size[i];
            st[r] = stride[i];
            r++;
        }
    }
    char *o = dst;
    const char *s = src;
    if (r == 0) {
        memcpy(o, s, esize);
        return;
    }
    int64_t inner = sz[r - 1], step = st[r - 1];
    if (r == 2 && inner <= 8 && step != 1 && sz[0] >= 64) {
        switch (esize) {
        case 1: narrow_2d_1(o, s, sz[0], st[0], inner, step); return;
        case 2: narrow_2d_2(o, s, sz[0], st[0], inner, step); return;
        case 4: narrow_2d_4(o, s, sz[0], st[0], inner, step); return;
        case 8: narrow_2d_8(o, s, sz[0], st[0], inner, step); return;
        default: break;
        }
    }
    size_t row_bytes = (size_t)inner * esize;
    int64_t idx[ME_MAX_RANK] = {0};
    int64_t off = 0; /* element offset of the current row start in src */
    for (;;) {
        strided_row(o, s + off * (int64_t)esize, inner, step, esize);
        o += row_bytes;
        int k = r - 2;
        for (; k >= 0; k--) {
            off += st[k];
            if (++idx[k] < sz[k]) break;
            off -= st[k] * sz[k];
            idx[k] = 0;
        }
        if (k < 0) break;
    }
}

void me_mv_permute_copy(void *dst, const void *src, int rank, const int64_t *dims,
                        const int *perm, size_t esize) {
    int64_t in_stride[ME_MAX_RANK], size[ME_MAX_RANK], stride[ME_MAX_RANK];
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        in_stride[i] = s;
        s *= dims[i];
    }
    for (int i = 0; i < rank; i++) {
        size[i] = dims[perm[i]];
        stride[i] = in_stride[perm[i]];
    }
    me_mv_strided_copy(dst, src, rank, size, stride, esize);
}

void me_mv_fill(void *dst, const void *elem, size_t esize, size_t count) {
    size_t total = count * esize;
    if (total == 0) return;
    char *o = dst;
    memcpy(o, elem, esize);
    /* double the filled prefix until the whole range is covered */
    for (size_t done = esize; done < total;) {
        size_t n = done < total - done ? done : total - done;
        memcpy(o + done, o, n);
        done += n;
    }
}
