/* Shared op helpers: see eltwise_util.h. */
#include "eltwise_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

me_status me_op_fail(me_diag *d, me_status st, const me_node *n, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *op = (n->op >= 0 && n->op < ME_OP_COUNT) ? me_op_names[n->op] : "?";
    return me_fail(d, st, "node '%s' (%s): %s", n->name ? n->name : "", op, msg);
}

const char *me_shape_str(char *buf, int rank, const int64_t *dims) {
    size_t len = 0;
    buf[len++] = '[';
    for (int i = 0; i < rank && i < ME_MAX_RANK; i++) {
        int w = snprintf(buf + len, ME_SHAPE_STR_MAX - len, i ? ",%lld" : "%lld", (long long)dims[i]);
        if (w < 0 || (size_t)w >= ME_SHAPE_STR_MAX - len - 1) break;
        len += (size_t)w;
    }
    buf[len++] = ']';
    buf[len] = 0;
    return buf;
}

static const char *param_dtype_name(const me_param_schema *s) {
    return s->kind == ME_PARAM_TENSOR ? "tensor" : me_dtype_name(s->dtype);
}

me_status me_op_check_node(const me_graph *g, const me_node *n, int n_required, me_diag *d) {
    if (n->op < 0 || n->op >= ME_OP_COUNT) return me_fail(d, ME_ERR_INTERNAL, "node '%s': bad op id", n->name);
    const me_opdef *def = me_opdefs[n->op];
    if (n->n_in < def->min_in || (def->max_in >= 0 && n->n_in > def->max_in))
        return me_op_fail(d, ME_ERR_FORMAT, n, "has %d inputs, expected %d..%d", n->n_in, def->min_in, def->max_in);
    if (n->n_out < def->min_out || n->n_out > def->max_out)
        return me_op_fail(d, ME_ERR_FORMAT, n, "has %d outputs, expected %d..%d", n->n_out, def->min_out, def->max_out);
    for (int i = 0; i < n->n_in; i++) {
        if (n->in[i] < -1 || n->in[i] >= g->n_tensors) return me_op_fail(d, ME_ERR_FORMAT, n, "input %d is not a tensor", i);
        if (n->in[i] < 0 && i < n_required) return me_op_fail(d, ME_ERR_FORMAT, n, "input %d is missing", i);
    }
    for (int i = 0; i < n->n_out; i++)
        if (n->out[i] < 0 || n->out[i] >= g->n_tensors) return me_op_fail(d, ME_ERR_FORMAT, n, "output %d is not a tensor", i);
    const me_param_schema *schema = def->params;
    for (const me_param_schema *s = schema; s && s->name; s++) {
        const me_param *p = me_node_param(n, s->name);
        if (!p) {
            if (s->required) return me_op_fail(d, ME_ERR_FORMAT, n, "required param '%s' is missing", s->name);
            continue;
        }
        if (p->kind != s->kind || p->dtype != s->dtype)
            return me_op_fail(d, ME_ERR_FORMAT, n, "param '%s' must be a %s %s", s->name,
                              s->kind == ME_PARAM_TENSOR ? me_dtype_name(s->dtype) : "scalar", param_dtype_name(s));
    }
    for (int i = 0; i < n->n_params; i++) {
        bool known = false;
        for (const me_param_schema *s = schema; s && s->name; s++)
            if (strcmp(s->name, n->params[i].name) == 0) known = true;
        if (!known) return me_op_fail(d, ME_ERR_FORMAT, n, "unknown param '%s'", n->params[i].name);
    }
    return ME_OK;
}

me_status me_op_axis_param(const me_node *n, const char *name, int rank, int dflt, int *axis, me_diag *d) {
    const me_param *p = me_node_param(n, name);
    int64_t v;
    if (!p) {
        if (dflt < 0) return me_op_fail(d, ME_ERR_FORMAT, n, "param '%s' is required", name);
        v = dflt;
    } else {
        if (p->kind != ME_PARAM_SCALAR || (p->dtype != ME_DT_U32 && p->dtype != ME_DT_I32))
            return me_op_fail(d, ME_ERR_FORMAT, n, "param '%s' must be a U32 scalar", name);
        v = p->s.i;
    }
    if (v < 0 || v >= rank)
        return me_op_fail(d, ME_ERR_FORMAT, n, "%s %lld is out of range for rank %d", name, (long long)v, rank);
    *axis = (int)v;
    return ME_OK;
}

void me_axis_split(int rank, const int64_t *dims, int axis, int64_t *outer, int64_t *len, int64_t *inner) {
    int64_t o = 1, in = 1;
    for (int i = 0; i < axis; i++) o *= dims[i];
    for (int i = axis + 1; i < rank; i++) in *= dims[i];
    *outer = o;
    *len = axis < rank ? dims[axis] : 1;
    *inner = in;
}

bool me_dtype_is_signed_int(me_dtype dt) {
    return dt == ME_DT_I64 || dt == ME_DT_I32 || dt == ME_DT_I16 || dt == ME_DT_I8;
}

bool me_dtype_is_unsigned_int(me_dtype dt) {
    return dt == ME_DT_U64 || dt == ME_DT_U32 || dt == ME_DT_U16 || dt == ME_DT_U8;
}

int64_t me_dtype_int_min(me_dtype dt) {
    switch (dt) {
    case ME_DT_I64: return INT64_MIN;
    case ME_DT_I32: return INT32_MIN;
    case ME_DT_I16: return INT16_MIN;
    case ME_DT_I8: return INT8_MIN;
    default: return 0;
    }
}

uint64_t me_dtype_int_max(me_dtype dt) {
    switch (dt) {
    case ME_DT_I64: return INT64_MAX;
    case ME_DT_I32: return INT32_MAX;
    case ME_DT_I16: return INT16_MAX;
    case ME_DT_I8: return INT8_MAX;
    case ME_DT_U64: return UINT64_MAX;
    case ME_DT_U32: return UINT32_MAX;
    case ME_DT_U16: return UINT16_MAX;
    case ME_DT_U8: return UINT8_MAX;
    case ME_DT_BOOL: return 1;
    default: return 0;
    }
}

void me_bcast_plan(me_bcast *b, int n_in, const int *ranks, const int64_t *const *dims, int ro,
                   const int64_t *dout) {
    memset(b, 0, sizeof *b);
    b->n_in = n_in;
    int64_t numel = 1;
    for (int i = 0; i < ro; i++) numel *= dout[i];
    b->numel = numel;

    /* Per-input strides aligned to the output dims (0 where broadcast). */
    int64_t st[ME_BCAST_MAX_IN][ME_MAX_RANK];
    for (int k = 0; k < n_in; k++) {
        int64_t s = 1;
        for (int i = ro - 1; i >= 0; i--) {
            int j = i - (ro - ranks[k]);
            int64_t dim = j >= 0 ? dims[k][j] : 1;
            st[k][i] = dim == 1 ? 0 : s;
            s *= dim;
        }
    }
    /* Keep output dims > 1 (a size-0 dim is kept: it empties the iteration),
     * merging a dim into the previous kept one when every input allows it. */
    int r = 0;
    for (int i = 0; i < ro; i++) {
        if (dout[i] == 1) continue;
        bool merge = r > 0;
        for (int k = 0; merge && k < n_in; k++)
            if (b->stride[k][r - 1] != st[k][i] * dout[i]) merge = false;
        if (merge) {
            b->dims[r - 1] *= dout[i];
            for (int k = 0; k < n_in; k++) b->stride[k][r - 1] = st[k][i];
        } else {
            b->dims[r] = dout[i];
            for (int k = 0; k < n_in; k++) b->stride[k][r] = st[k][i];
            r++;
        }
    }
    if (r == 0) {
        b->dims[0] = 1;
        r = 1;
    }
    b->rank = r;
    b->row_len = b->dims[r - 1];
    for (int k = 0; k < n_in; k++) b->inner[k] = b->stride[k][r - 1];
}

void me_bcast_plan_ctx(me_bcast *b, const me_kernel_ctx *k, int n_in) {
    int ranks[ME_BCAST_MAX_IN];
    const int64_t *dims[ME_BCAST_MAX_IN];
    for (int i = 0; i < n_in; i++) {
        ranks[i] = k->in[i]->rank;
        dims[i] = k->in[i]->dims;
    }
    me_bcast_plan(b, n_in, ranks, dims, k->out[0]->rank, k->out[0]->dims);
}

void me_bcast_begin(const me_bcast *b, me_bcast_it *it) {
    memset(it, 0, sizeof *it);
    it->rows = b->row_len > 0 ? b->numel / b->row_len : 0;
}

void me_bcast_seek(const me_bcast *b, me_bcast_it *it, int64_t row) {
    me_bcast_begin(b, it);
    it->out_off = row * b->row_len;
    for (int d = b->rank - 2; d >= 0; d--) {
        int64_t i = row % b->dims[d];
        row /= b->dims[d];
        it->idx[d] = i;
        for (int k = 0; k < b->n_in; k++) it->off[k] += i * b->stride[k][d];
    }
}
