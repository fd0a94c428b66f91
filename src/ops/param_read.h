/* Checked param readers for op files: each validates kind, dtype, count and
 * range before reading, so infer and run can share them and never trust a
 * malformed node (e.g. from a damaged artifact). Errors name the node. */
#ifndef ME_OPS_PARAM_READ_H
#define ME_OPS_PARAM_READ_H

#include <math.h>

#include "ops.h"

static inline const char *param_op_name(const me_node *n) {
    return (n->op >= 0 && n->op < ME_OP_COUNT) ? me_op_names[n->op] : "?";
}

/* Integer scalar (U32/I32/BOOL) in [lo, hi]; absent -> dflt unless required. */
static inline me_status param_get_int(const me_node *n, const char *name, bool required, int64_t dflt,
                                      int64_t lo, int64_t hi, int64_t *out, me_diag *d) {
    const me_param *p = me_node_param(n, name);
    if (!p) {
        if (required)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): required param '%s' is missing", n->name,
                           param_op_name(n), name);
        *out = dflt;
        return ME_OK;
    }
    if (p->kind != ME_PARAM_SCALAR || p->dtype == ME_DT_F32)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): param '%s' must be an integer scalar", n->name,
                       param_op_name(n), name);
    if (p->s.i < lo || p->s.i > hi)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): param '%s' = %lld is out of range [%lld, %lld]", n->name,
                       param_op_name(n), name, (long long)p->s.i, (long long)lo, (long long)hi);
    *out = p->s.i;
    return ME_OK;
}

/* Finite F32 scalar; absent -> dflt unless required. */
static inline me_status param_get_float(const me_node *n, const char *name, bool required, double dflt,
                                        double *out, me_diag *d) {
    const me_param *p = me_node_param(n, name);
    if (!p) {
        if (required)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): required param '%s' is missing", n->name,
                           param_op_name(n), name);
        *out = dflt;
        return ME_OK;
    }
    if (p->kind != ME_PARAM_SCALAR || p->dtype != ME_DT_F32)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): param '%s' must be an F32 scalar", n->name,
                       param_op_name(n), name);
    if (!isfinite(p->s.f))
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): param '%s' is not finite", n->name, param_op_name(n), name);
    *out = p->s.f;
    return ME_OK;
}

/* Integer tensor param of `count` elements (shape [count], or [count/2, 2]
 * when `pairs`), each >= lo. Absent -> dflt[] (NULL dflt = required). */
static inline me_status param_get_ints(const me_node *n, const char *name, int64_t count, bool pairs,
                                       const int64_t *dflt, int64_t lo, int64_t *out, me_diag *d) {
    const me_param *p = me_node_param(n, name);
    if (!p) {
        if (!dflt)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): required param '%s' is missing", n->name,
                           param_op_name(n), name);
        for (int64_t i = 0; i < count; i++) out[i] = dflt[i];
        return ME_OK;
    }
    bool shape_ok = pairs ? (p->rank == 2 && p->dims[0] == count / 2 && p->dims[1] == 2)
                          : (p->rank == 1 && p->dims[0] == count);
    if (p->kind != ME_PARAM_TENSOR || (p->dtype != ME_DT_U32 && p->dtype != ME_DT_I32) || !p->ivals ||
        p->count != count || !shape_ok)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): param '%s' must be an integer tensor of shape [%lld%s",
                       n->name, param_op_name(n), name, (long long)(pairs ? count / 2 : count), pairs ? ", 2]" : "]");
    for (int64_t i = 0; i < count; i++) {
        if (p->ivals[i] < lo || p->ivals[i] > UINT32_MAX)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): param '%s' value %lld is out of range", n->name,
                           param_op_name(n), name, (long long)p->ivals[i]);
        out[i] = p->ivals[i];
    }
    return ME_OK;
}

/* The optional fused activation params (fused_activation.h): a known kind,
 * and both bounds for RELU_MIN_MAX (2). */
static inline me_status param_check_fused_activation(const me_node *n, me_diag *d) {
    int64_t act = 0;
    double bound;
    me_status st = param_get_int(n, "activation", false, 0, 0, 5 /* ME_FUSED_ACT_MAX */, &act, d);
    if (st || act != 2) return st;
    if ((st = param_get_float(n, "activation_min", true, 0, &bound, d))) return st;
    return param_get_float(n, "activation_max", true, 0, &bound, d);
}

/* Float input `i` that must be present (or may be absent when `optional`). */
static inline me_status input_check_f32(const me_graph *g, const me_node *n, int i, bool optional, me_diag *d) {
    if (i >= n->n_in || n->in[i] < 0) {
        if (optional) return ME_OK;
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input %d is missing", n->name, param_op_name(n), i);
    }
    if (n->in[i] >= g->n_tensors)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input %d is not a tensor", n->name, param_op_name(n), i);
    return me_expect_dtype(g, n, i, ME_DT_F32, d);
}

/* Tensor of input i, or NULL when the optional input is omitted. */
static inline const me_tensor *input_tensor(const me_graph *g, const me_node *n, int i) {
    return (i < n->n_in && n->in[i] >= 0) ? &g->tensors[n->in[i]] : NULL;
}

#endif
