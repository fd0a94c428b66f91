/* TopK along the last axis (QNN; the frontend transposes other axes there):
 * outputs the k largest (largest=1, default) or smallest values, sorted, and
 * their INT32 indices. Ties keep the lower index first. NaN counts as larger
 * than every number (numpy's sort order), so it comes first for largest and
 * last for smallest.
 * Each row is a stable bottom-up merge sort of indices in the scratch
 * buffer (2 * row length int32). */
#include <math.h>
#include <string.h>

#include "eltwise_util.h"

#define GT_PLAIN(a, b) ((a) > (b))
#define GT_FLOAT(a, b) ((a) > (b) || (isnan(a) && !isnan(b)))

/* Merge-sort idx[0..n) (tmp has n entries) so that "before" elements come
 * first; returns the buffer holding the result. */
#define DEF_SORT(NAME, T, GT)                                                                  \
    static int32_t *NAME(const T *v, int32_t *idx, int32_t *tmp, int64_t n, bool largest) {     \
        int32_t *src = idx, *dst = tmp;                                                        \
        for (int64_t w = 1; w < n; w *= 2) {                                                   \
            for (int64_t lo = 0; lo < n; lo += 2 * w) {                                        \
                int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;   \
                int64_t i = lo, j = mid, o = lo;                                               \
                while (i < mid && j < hi) {                                                    \
                    T a = v[src[i]], b = v[src[j]];                                            \
                    bool take_right = largest ? GT(b, a) : GT(a, b);                           \
                    dst[o++] = take_right ? src[j++] : src[i++];                               \
                }                                                                              \
                while (i < mid) dst[o++] = src[i++];                                           \
                while (j < hi) dst[o++] = src[j++];                                            \
            }                                                                                  \
            int32_t *t = src; src = dst; dst = t;                                              \
        }                                                                                      \
        return src;                                                                            \
    }

typedef void (*topk_fn)(const void *x, void *vals, int32_t *inds, int64_t rows, int64_t len, int64_t k,
                        bool largest, int32_t *scratch);

#define DEF_TOPK(DT, T, GT)                                                                          \
    DEF_SORT(sort_##DT, T, GT)                                                                       \
    static void topk_##DT(const void *px, void *pv, int32_t *inds, int64_t rows, int64_t len, int64_t k, \
                          bool largest, int32_t *scratch) {                                          \
        const T *x = px;                                                                             \
        T *vals = pv;                                                                                \
        for (int64_t r = 0; r < rows; r++) {                                                         \
            const T *row = x + r * len;                                                              \
            for (int64_t i = 0; i < len; i++) scratch[i] = (int32_t)i;                               \
            int32_t *order = sort_##DT(row, scratch, scratch + len, len, largest);                   \
            for (int64_t i = 0; i < k; i++) {                                                        \
                vals[r * k + i] = row[order[i]];                                                     \
                inds[r * k + i] = order[i];                                                          \
            }                                                                                        \
        }                                                                                            \
    }

DEF_TOPK(F32, float, GT_FLOAT)
DEF_TOPK(I64, int64_t, GT_PLAIN)
DEF_TOPK(I32, int32_t, GT_PLAIN)
DEF_TOPK(I16, int16_t, GT_PLAIN)
DEF_TOPK(I8, int8_t, GT_PLAIN)
DEF_TOPK(U64, uint64_t, GT_PLAIN)
DEF_TOPK(U32, uint32_t, GT_PLAIN)
DEF_TOPK(U16, uint16_t, GT_PLAIN)
DEF_TOPK(U8, uint8_t, GT_PLAIN)

static const topk_fn tbl_topk[ME_DT_COUNT] = {
    [ME_DT_F32] = topk_F32, [ME_DT_I64] = topk_I64, [ME_DT_I32] = topk_I32, [ME_DT_I16] = topk_I16,
    [ME_DT_I8] = topk_I8,   [ME_DT_U64] = topk_U64, [ME_DT_U32] = topk_U32, [ME_DT_U16] = topk_U16,
    [ME_DT_U8] = topk_U8,
};

static me_status topk_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 1, d);
    if (st != ME_OK) return st;
    const me_tensor *x = &g->tensors[n->in[0]];
    if ((unsigned)x->dtype >= ME_DT_COUNT || !tbl_topk[x->dtype])
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "unsupported dtype %s", me_dtype_name(x->dtype));
    if (x->rank < 1) return me_op_fail(d, ME_ERR_FORMAT, n, "input must have rank >= 1");
    int64_t len = x->dims[x->rank - 1];
    int64_t kv = me_param_int(n, "k", -1);
    if (kv < 0) return me_op_fail(d, ME_ERR_FORMAT, n, "param 'k' is required");
    if (kv > len)
        return me_op_fail(d, ME_ERR_FORMAT, n, "k = %lld exceeds the last dimension %lld", (long long)kv, (long long)len);
    if (len > INT32_MAX / 2) return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "last dimension %lld is too long", (long long)len);
    int64_t dims[ME_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[x->rank - 1] = kv;
    st = me_set_output(g, n, 0, x->dtype, x->rank, dims, d);
    if (st != ME_OK) return st;
    return me_set_output(g, n, 1, ME_DT_I32, x->rank, dims, d);
}

static size_t topk_scratch(const me_graph *g, const me_node *n) {
    if (n->n_in < 1 || n->in[0] < 0 || n->in[0] >= g->n_tensors) return 0;
    const me_tensor *x = &g->tensors[n->in[0]];
    if (x->rank < 1 || x->dims[x->rank - 1] < 0 || x->dims[x->rank - 1] > INT32_MAX / 2) return 0;
    return (size_t)x->dims[x->rank - 1] * 2 * sizeof(int32_t);
}

static me_status topk_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *x = k->in[0];
    topk_fn fn = (unsigned)x->dtype < ME_DT_COUNT ? tbl_topk[x->dtype] : NULL;
    if (!fn) return me_fail(d, ME_ERR_UNSUPPORTED, "TopK: no kernel for dtype %s", me_dtype_name(x->dtype));
    int64_t len = x->dims[x->rank - 1];
    int64_t kv = k->out[0]->dims[k->out[0]->rank - 1];
    if (kv > len) return me_fail(d, ME_ERR_FORMAT, "node '%s' (TopK): k exceeds the last dimension", k->node->name);
    int64_t rows = len ? me_tensor_numel(x) / len : 0;
    if (rows == 0 || kv == 0) return ME_OK;
    if (!k->scratch) return me_fail(d, ME_ERR_INTERNAL, "node '%s' (TopK): no scratch buffer", k->node->name);
    bool largest = me_param_int(k->node, "largest", 1) != 0;
    fn(k->in_data[0], k->out_data[0], k->out_data[1], rows, len, kv, largest, k->scratch);
    return ME_OK;
}

static const me_param_schema topk_params[] = {
    {"k", ME_PARAM_SCALAR, ME_DT_U32, true},
    {"largest", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    {NULL}};

const me_opdef me_opdef_TOPK = {"TopK", "qti.aisw", 1, 1, 2, 2, topk_params, topk_infer, topk_run, topk_scratch};
