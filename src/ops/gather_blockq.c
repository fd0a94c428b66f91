/* Gather on a block-quantised table (token embeddings kept as stored in a GGUF):
 * data ME_DT_BLOCKQ, or F16/BF16 with the output declared float32; axis < rank-1 so every gathered slice is a run
 * of whole rows; the slices are dequantised exactly (blockq.c) into float32. */
#include <string.h>

#include "../core/blockq.h"
#include "fc_blockq.h"
#include "movement.h"

/* Block-quantised tables always; F16/BF16 tables only when the creator declared the
 * output float32 (ONNX's Gather keeps the data dtype, so its outputs never are). */
bool me_gather_lowp_applies(const me_tensor *data, const me_tensor *out) {
    if (!data) return false;
    if (data->dtype == ME_DT_BLOCKQ) return true;
    return (data->dtype == ME_DT_F16 || data->dtype == ME_DT_BF16) && out && out->dtype == ME_DT_F32;
}

static int64_t load_index(const void *base, int64_t i, me_dtype dt) {
    const char *p = base;
    if (dt == ME_DT_I64) { int64_t v; memcpy(&v, p + i * 8, 8); return v; }
    if (dt == ME_DT_U32) { uint32_t v; memcpy(&v, p + i * 4, 4); return v; }
    int32_t v;
    memcpy(&v, p + i * 4, 4);
    return v;
}

typedef struct lowp_gather {
    int axis, rank, wtype;
    int64_t dims[ME_MAX_RANK];
    int64_t outer, dim, inner; /* inner: float elements per gathered slice */
    size_t slice_bytes;        /* stored bytes per gathered slice */
} lowp_gather;

static me_status plan(const me_node *n, const me_tensor *data, const me_tensor *idx, lowp_gather *p, me_diag *d) {
    p->wtype = me_lowp_ggml_type(data);
    if (p->wtype < 0)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (Gather): table '%s' has an unsupported storage", n->name,
                       data->name ? data->name : "?");
    if (idx->dtype != ME_DT_I32 && idx->dtype != ME_DT_I64 && idx->dtype != ME_DT_U32)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (Gather): indices dtype %s is not int32, int64 or uint32",
                       n->name, me_dtype_name(idx->dtype));
    int64_t a;
    me_status st = me_mv_scalar_int(n, "axis", true, 0, &a, d);
    if (st) return st;
    if (a < 0) a += data->rank;
    if (a < 0 || a >= data->rank - 1)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (Gather): a block-quantised table is gathered along whole "
                       "rows only (axis < %d), axis is %lld", n->name, data->rank - 1, (long long)a);
    int r = data->rank - 1 + idx->rank;
    if (r > ME_MAX_RANK)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (Gather): output rank %d exceeds %d", n->name, r, ME_MAX_RANK);
    p->axis = (int)a;
    p->rank = r;
    int k = 0;
    for (int i = 0; i < p->axis; i++) p->dims[k++] = data->dims[i];
    for (int i = 0; i < idx->rank; i++) p->dims[k++] = idx->dims[i];
    for (int i = p->axis + 1; i < data->rank; i++) p->dims[k++] = data->dims[i];
    p->outer = 1, p->inner = 1, p->dim = data->dims[p->axis];
    for (int i = 0; i < p->axis; i++) p->outer *= data->dims[i];
    for (int i = p->axis + 1; i < data->rank; i++) p->inner *= data->dims[i];
    int64_t ncols = data->dims[data->rank - 1];
    size_t row = p->wtype == ME_GGML_F16 || p->wtype == ME_GGML_BF16 ? (size_t)ncols * 2
                                                                     : me_blockq_row_bytes(p->wtype, ncols);
    if (!row) return me_fail(d, ME_ERR_FORMAT, "node '%s' (Gather): table rows are not whole blocks", n->name);
    p->slice_bytes = (size_t)(p->inner / ncols) * row;
    return ME_OK;
}

me_status me_gather_lowp_infer(me_graph *g, me_node *n, me_diag *d) {
    const me_tensor *data = me_mv_input(g, n, 0, d), *idx = me_mv_input(g, n, 1, d);
    if (!data || !idx) return ME_ERR_FORMAT;
    lowp_gather p;
    me_status st = plan(n, data, idx, &p, d);
    if (st) return st;
    return me_set_output(g, n, 0, ME_DT_F32, p.rank, p.dims, d);
}

me_status me_gather_lowp_run(const me_kernel_ctx *k, me_diag *d) {
    if (k->n_in < 2 || k->n_out < 1 || !k->in[0] || !k->in[1] || !k->out[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': Gather needs data, indices and an output", k->node->name);
    const me_tensor *data = k->in[0], *idx = k->in[1], *out = k->out[0];
    lowp_gather p;
    me_status st = plan(k->node, data, idx, &p, d);
    if (st) return st;
    bool same = out->dtype == ME_DT_F32 && out->rank == p.rank;
    for (int i = 0; same && i < p.rank; i++) same = out->dims[i] == p.dims[i];
    if (!same) return me_fail(d, ME_ERR_FORMAT, "node '%s' (Gather): output shape does not match", k->node->name);
    int64_t n_idx = me_tensor_numel(idx);
    for (int64_t j = 0; j < n_idx; j++) {
        int64_t v = load_index(k->in_data[1], j, idx->dtype);
        if (v < -p.dim || v >= p.dim)
            return me_fail(d, ME_ERR_FORMAT, "node '%s': gather index %lld out of range [%lld, %lld)", k->node->name,
                           (long long)v, (long long)-p.dim, (long long)p.dim);
    }
    if (n_idx == 0 || p.inner == 0 || p.outer == 0) return ME_OK;
    if (!k->in_data[0] || !k->out_data[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': missing tensor data", k->node->name);
    const uint8_t *src = k->in_data[0];
    float *o = k->out_data[0];
    for (int64_t r = 0; r < p.outer; r++)
        for (int64_t j = 0; j < n_idx; j++, o += p.inner) {
            int64_t v = load_index(k->in_data[1], j, idx->dtype);
            if (v < 0) v += p.dim;
            me_ggml_to_float(p.wtype, src + (size_t)(r * p.dim + v) * p.slice_bytes, o, p.inner);
        }
    return ME_OK;
}
