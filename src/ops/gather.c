/* Gather and GatherElements (ONNX semantics, QNN params).
 * Gather: in[0] data, in[1] indices (INT32, INT64 or UINT32, any rank incl.
 * scalar); `axis` I32 (required; negative counts from the end).
 * out.shape = data.shape[:axis] + indices.shape + data.shape[axis+1:].
 * GatherElements: data and indices of the same rank; `axis` U32 (default 0);
 * out.shape = indices.shape; out[i] = data[i with i[axis] = indices[i]];
 * indices may be smaller than data on the other axes.
 * Negative indices count from the end of the axis; an index outside
 * [-dim, dim) is a data error (ME_ERR_FORMAT) reported by the kernel. */
#include <string.h>

#include "fc_blockq.h"
#include "movement.h"

static const me_param_schema gather_params[] = {
    {"axis", ME_PARAM_SCALAR, ME_DT_I32, true},
    {NULL},
};

static const me_param_schema gather_elements_params[] = {
    {"axis", ME_PARAM_SCALAR, ME_DT_U32, false},
    {NULL},
};

static bool index_dtype_ok(me_dtype dt) { return dt == ME_DT_I32 || dt == ME_DT_I64 || dt == ME_DT_U32; }

static int64_t load_index(const void *base, int64_t i, me_dtype dt) {
    const char *p = base;
    if (dt == ME_DT_I64) { int64_t v; memcpy(&v, p + i * 8, 8); return v; }
    if (dt == ME_DT_U32) { uint32_t v; memcpy(&v, p + i * 4, 4); return v; }
    int32_t v;
    memcpy(&v, p + i * 4, 4);
    return v;
}

/* Checks common to both ops; *axis gets the normalised axis. */
static me_status gather_common(const me_node *n, const me_tensor *data, const me_tensor *idx, bool elements,
                               int *axis, me_diag *d) {
    const char *op = me_op_names[n->op];
    if (!me_mv_elem_size(n, data->dtype, d)) return ME_ERR_UNSUPPORTED;
    if (!index_dtype_ok(idx->dtype))
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): indices dtype %s is not int32, int64 or uint32",
                       n->name, op, me_dtype_name(idx->dtype));
    if (data->rank < 1) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): data must have rank >= 1", n->name, op);
    int64_t a;
    me_status st = me_mv_scalar_int(n, "axis", !elements, 0, &a, d);
    if (st != ME_OK) return st;
    if (!elements && a < 0) a += data->rank;
    if (a < 0 || a >= data->rank)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): axis %lld is outside 0..%d", n->name, op, (long long)a,
                       data->rank - 1);
    *axis = (int)a;
    return ME_OK;
}

static me_status gather_shape(const me_node *n, const me_tensor *data, const me_tensor *idx, int *axis,
                              int *rank, int64_t *dims, me_diag *d) {
    me_status st = gather_common(n, data, idx, false, axis, d);
    if (st != ME_OK) return st;
    int r = data->rank - 1 + idx->rank;
    if (r > ME_MAX_RANK)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (Gather): output rank %d exceeds %d", n->name, r, ME_MAX_RANK);
    int k = 0;
    for (int a = 0; a < *axis; a++) dims[k++] = data->dims[a];
    for (int a = 0; a < idx->rank; a++) dims[k++] = idx->dims[a];
    for (int a = *axis + 1; a < data->rank; a++) dims[k++] = data->dims[a];
    *rank = r;
    return ME_OK;
}

static me_status gather_infer(me_graph *g, me_node *n, me_diag *d) {
    const me_tensor *data = me_mv_input(g, n, 0, d), *idx = me_mv_input(g, n, 1, d);
    if (!data || !idx) return ME_ERR_FORMAT;
    if (me_gather_lowp_applies(data, n->n_out > 0 && n->out[0] >= 0 ? &g->tensors[n->out[0]] : NULL)) return me_gather_lowp_infer(g, n, d); /* fc_blockq.h */
    int axis, rank;
    int64_t dims[ME_MAX_RANK];
    me_status st = gather_shape(n, data, idx, &axis, &rank, dims, d);
    if (st != ME_OK) return st;
    return me_set_output(g, n, 0, data->dtype, rank, dims, d);
}

static me_status index_error(const me_node *n, int64_t v, int64_t dim, me_diag *d) {
    return me_fail(d, ME_ERR_FORMAT, "node '%s': %s index %lld out of range [%lld, %lld)", n->name,
                   n->op == ME_OP_GATHER ? "gather" : "gather_elements", (long long)v, (long long)-dim,
                   (long long)dim);
}

static me_status gather_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *data = k->in[0], *idx = k->in[1];
    if (me_gather_lowp_applies(data, k->n_out > 0 ? k->out[0] : NULL)) return me_gather_lowp_run(k, d);
    int axis, rank;
    int64_t dims[ME_MAX_RANK];
    me_status st = gather_shape(k->node, data, idx, &axis, &rank, dims, d);
    if (st != ME_OK) return st;
    size_t es = me_dtype_size(data->dtype);
    if ((st = me_mv_check_out(k, 0, rank, dims, es, d)) != ME_OK) return st;
    int64_t outer = 1, inner = (int64_t)es, dim = data->dims[axis], n_idx = me_tensor_numel(idx);
    for (int a = 0; a < axis; a++) outer *= data->dims[a];
    for (int a = axis + 1; a < data->rank; a++) inner *= data->dims[a];
    /* validate every index before writing anything */
    for (int64_t j = 0; j < n_idx; j++) {
        int64_t v = load_index(k->in_data[1], j, idx->dtype);
        if (v < -dim || v >= dim) return index_error(k->node, v, dim, d);
    }
    if (inner == 0 || n_idx == 0 || outer == 0) return ME_OK;
    const char *src = k->in_data[0];
    char *o = k->out_data[0];
    for (int64_t r = 0; r < outer; r++) {
        const char *block = src + r * dim * inner;
        for (int64_t j = 0; j < n_idx; j++) {
            int64_t v = load_index(k->in_data[1], j, idx->dtype);
            if (v < 0) v += dim;
            memcpy(o, block + v * inner, (size_t)inner);
            o += inner;
        }
    }
    return ME_OK;
}

static me_status gather_elements_check(const me_node *n, const me_tensor *data, const me_tensor *idx, int *axis,
                                       me_diag *d) {
    me_status st = gather_common(n, data, idx, true, axis, d);
    if (st != ME_OK) return st;
    if (idx->rank != data->rank)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (GatherElements): indices rank %d differs from data rank %d",
                       n->name, idx->rank, data->rank);
    for (int a = 0; a < data->rank; a++)
        if (a != *axis && idx->dims[a] > data->dims[a])
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (GatherElements): indices dim %d (%lld) exceeds data's (%lld)",
                           n->name, a, (long long)idx->dims[a], (long long)data->dims[a]);
    return ME_OK;
}

static me_status gather_elements_infer(me_graph *g, me_node *n, me_diag *d) {
    const me_tensor *data = me_mv_input(g, n, 0, d), *idx = me_mv_input(g, n, 1, d);
    if (!data || !idx) return ME_ERR_FORMAT;
    int axis;
    me_status st = gather_elements_check(n, data, idx, &axis, d);
    if (st != ME_OK) return st;
    return me_set_output(g, n, 0, data->dtype, idx->rank, idx->dims, d);
}

static me_status gather_elements_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *data = k->in[0], *idx = k->in[1];
    int axis;
    me_status st = gather_elements_check(k->node, data, idx, &axis, d);
    if (st != ME_OK) return st;
    size_t es = me_dtype_size(data->dtype);
    if ((st = me_mv_check_out(k, 0, idx->rank, idx->dims, es, d)) != ME_OK) return st;
    int64_t n_idx = me_tensor_numel(idx);
    if (n_idx == 0) return ME_OK;
    int rank = data->rank;
    int64_t dstr[ME_MAX_RANK], s = 1; /* data strides in elements */
    for (int a = rank - 1; a >= 0; a--) {
        dstr[a] = s;
        s *= data->dims[a];
    }
    int64_t dim = data->dims[axis];
    int64_t pos[ME_MAX_RANK] = {0};
    int64_t base = 0; /* data offset of pos with pos[axis] taken as 0 */
    const char *src = k->in_data[0];
    char *o = k->out_data[0];
    for (int64_t j = 0; j < n_idx; j++) {
        int64_t v = load_index(k->in_data[1], j, idx->dtype);
        if (v < -dim || v >= dim) return index_error(k->node, v, dim, d);
        if (v < 0) v += dim;
        memcpy(o + j * (int64_t)es, src + (base + v * dstr[axis]) * (int64_t)es, es);
        for (int a = rank - 1; a >= 0; a--) {
            if (++pos[a] < idx->dims[a]) {
                if (a != axis) base += dstr[a];
                break;
            }
            if (a != axis) base -= dstr[a] * (idx->dims[a] - 1);
            pos[a] = 0;
        }
    }
    return ME_OK;
}

const me_opdef me_opdef_GATHER = {
    .name = "Gather", .package = "qti.aisw",
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .params = gather_params,
    .infer = gather_infer, .run = gather_run,
};

const me_opdef me_opdef_GATHER_ELEMENTS = {
    .name = "GatherElements", .package = "qti.aisw",
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .params = gather_elements_params,
    .infer = gather_elements_infer, .run = gather_elements_run,
};
