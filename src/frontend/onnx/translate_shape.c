/* Translators: shape and data movement, constants, reductions, arg-min/max.
 * Shape-valued inputs (Reshape's shape, Slice's starts, Pad's pads...) must
 * be constants at import; mo_const_ints reports graph inputs that would have
 * to be frozen. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/util.h"
#include "onnx_ctx.h"
#include "translate_util.h"

static me_status need_input(mo_ctx *c, const onnx_node *n, int i, int *t) {
    *t = mo_in(c, n, i);
    if (*t < 0) return mo_error(c, n, ME_ERR_FORMAT, "input %d is missing", i);
    return ME_OK;
}

/* Axes from the attribute (older opsets) or from input `input` (newer);
 * *count = -1 when absent. */
static me_status read_axes(mo_ctx *c, const onnx_node *n, bool from_input, int input, int64_t **axes, int64_t *count) {
    *count = -1;
    *axes = NULL;
    if (from_input) {
        if (mo_in(c, n, input) < 0) return ME_OK;
        return mo_const_ints(c, n, input, axes, count);
    }
    const int64_t *v;
    int cnt = mo_attr_ints(n, "axes", &v);
    if (cnt < 0) return ME_OK;
    int64_t *copy = me_arena_calloc(&mo_graph(c)->arena, (size_t)(cnt ? cnt : 1), sizeof(int64_t));
    if (!copy) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
    memcpy(copy, v, (size_t)cnt * sizeof(int64_t));
    *axes = copy;
    *count = cnt;
    return ME_OK;
}

/* Normalises axes against rank, checking duplicates; marks them in `mask`. */
static me_status norm_axes(mo_ctx *c, const onnx_node *n, const int64_t *axes, int64_t count, int rank, bool *mask) {
    for (int i = 0; i < ME_MAX_RANK; i++) mask[i] = false;
    for (int64_t i = 0; i < count; i++) {
        int a;
        MT_OK(mt_axis(c, n, axes[i], rank, &a));
        if (mask[a]) return mo_error(c, n, ME_ERR_FORMAT, "axis %lld is listed twice", (long long)axes[i]);
        mask[a] = true;
    }
    return ME_OK;
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze ---- */
me_status mo_tr_reshape(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    const me_tensor *tx = mo_t(c, x);
    int rank = tx->rank;
    int64_t in_dims[ME_MAX_RANK];
    memcpy(in_dims, tx->dims, sizeof in_dims);
    int64_t numel = me_tensor_numel(tx);
    int64_t out[ME_MAX_RANK];
    int out_rank = 0;
    const char *op = n->op_type;
    if (strcmp(op, "Reshape") == 0) {
        int64_t *shape, cnt;
        if (mo_opset(c) < 5) {
            const int64_t *v;
            int k = mo_attr_ints(n, "shape", &v);
            if (k < 0) return mo_error(c, n, ME_ERR_FORMAT, "attribute 'shape' is missing");
            shape = (int64_t *)v;
            cnt = k;
        } else {
            MT_OK(mo_const_ints(c, n, 1, &shape, &cnt));
        }
        if (cnt > ME_MAX_RANK) return mo_error(c, n, ME_ERR_UNSUPPORTED, "output rank %lld exceeds %d", (long long)cnt, ME_MAX_RANK);
        bool allowzero = mo_attr_int(n, "allowzero", 0) != 0;
        int infer_at = -1;
        int64_t known = 1;
        for (int i = 0; i < cnt; i++) {
            int64_t d = shape[i];
            if (d == 0 && !allowzero) {
                if (i >= rank) return mo_error(c, n, ME_ERR_FORMAT, "shape[%d] = 0 copies a dimension the input lacks", i);
                d = in_dims[i];
            } else if (d == -1) {
                if (infer_at >= 0) return mo_error(c, n, ME_ERR_FORMAT, "shape has more than one -1");
                infer_at = i;
                out[i] = 1;
                continue;
            } else if (d < -1) {
                return mo_error(c, n, ME_ERR_FORMAT, "shape[%d] = %lld is invalid", i, (long long)d);
            }
            out[i] = d;
            if (!me_mul_i64(known, d, &known)) return mo_error(c, n, ME_ERR_FORMAT, "shape overflows");
        }
        out_rank = (int)cnt;
        if (infer_at >= 0) {
            if (known == 0 || numel % known)
                return mo_error(c, n, ME_ERR_FORMAT, "cannot infer the -1 dimension (%lld elements into %lld)",
                                (long long)numel, (long long)known);
            out[infer_at] = numel / known;
        }
    } else if (strcmp(op, "Flatten") == 0) {
        int axis;
        int64_t a = mo_attr_int(n, "axis", 1);
        if (a < 0) a += rank;
        if (a < 0 || a > rank) return mo_error(c, n, ME_ERR_FORMAT, "axis %lld is out of range", (long long)mo_attr_int(n, "axis", 1));
        axis = (int)a;
        int64_t outer = 1;
        for (int i = 0; i < axis; i++) outer *= in_dims[i];
        out[0] = outer;
        int64_t inner = 1;
        for (int i = axis; i < rank; i++) inner *= in_dims[i];
        out[1] = inner;
        out_rank = 2;
    } else if (strcmp(op, "Squeeze") == 0) {
        int64_t *axes, cnt;
        MT_OK(read_axes(c, n, mo_opset(c) >= 13, 1, &axes, &cnt));
        bool mask[ME_MAX_RANK];
        if (cnt >= 0) {
            MT_OK(norm_axes(c, n, axes, cnt, rank, mask));
            for (int i = 0; i < rank; i++)
                if (mask[i] && in_dims[i] != 1)
                    return mo_error(c, n, ME_ERR_FORMAT, "cannot squeeze axis %d of size %lld", i, (long long)in_dims[i]);
        } else {
            for (int i = 0; i < rank; i++) mask[i] = in_dims[i] == 1;
        }
        for (int i = 0; i < rank; i++)
            if (!mask[i]) out[out_rank++] = in_dims[i];
    } else { /* Unsqueeze */
        int64_t *axes, cnt;
        MT_OK(read_axes(c, n, mo_opset(c) >= 13, 1, &axes, &cnt));
        if (cnt < 0) return mo_error(c, n, ME_ERR_FORMAT, "axes are required");
        int64_t r = rank + cnt;
        if (r > ME_MAX_RANK) return mo_error(c, n, ME_ERR_UNSUPPORTED, "output rank %lld exceeds %d", (long long)r, ME_MAX_RANK);
        bool mask[ME_MAX_RANK];
        MT_OK(norm_axes(c, n, axes, cnt, (int)r, mask));
        int k = 0;
        for (int i = 0; i < r; i++) out[i] = mask[i] ? 1 : in_dims[k++];
        out_rank = (int)r;
    }
    if (me_shape_numel(out_rank, out) != numel)
        return mo_error(c, n, ME_ERR_FORMAT, "the new shape has %lld elements, the input %lld",
                        (long long)me_shape_numel(out_rank, out), (long long)numel);
    return mt_bind(c, n, 0, mo_reshape(c, n, x, out_rank, out, NULL));
}

/* Identity / Dropout (inference): the output is the input tensor. */
me_status mo_tr_identity(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    if (strcmp(n->op_type, "Dropout") == 0) {
        int tm = mo_in(c, n, 2);
        if (tm >= 0) {
            int64_t *v, cnt;
            MT_OK(mo_const_ints(c, n, 2, &v, &cnt));
            if (cnt == 1 && v[0] != 0) return mo_error(c, n, ME_ERR_UNSUPPORTED, "training_mode=true is not supported");
        }
        if (n->n_out > 1 && n->outputs[1][0]) {
            const me_tensor *tx = mo_t(c, x);
            int mask = mt_fill(c, ME_DT_BOOL, tx->rank, tx->dims, 1);
            MT_TRY(mask);
            MT_OK(mo_bind(c, n, 1, mask));
        }
    }
    return mo_bind(c, n, 0, x);
}

me_status mo_tr_transpose(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    int rank = mo_t(c, x)->rank;
    int perm[ME_MAX_RANK];
    const int64_t *p;
    int cnt = mo_attr_ints(n, "perm", &p);
    if (cnt < 0) {
        for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
    } else {
        if (cnt != rank) return mo_error(c, n, ME_ERR_FORMAT, "perm has %d entries, the input rank is %d", cnt, rank);
        bool seen[ME_MAX_RANK] = {0};
        for (int i = 0; i < rank; i++) {
            int a;
            MT_OK(mt_axis(c, n, p[i], rank, &a));
            if (seen[a]) return mo_error(c, n, ME_ERR_FORMAT, "perm is not a permutation");
            seen[a] = true;
            perm[i] = a;
        }
    }
    return mt_bind(c, n, 0, mo_transpose(c, n, x, perm, NULL));
}

me_status mo_tr_concat(mo_ctx *c, const onnx_node *n) {
    int *ins = me_arena_calloc(&mo_graph(c)->arena, (size_t)(n->n_in ? n->n_in : 1), sizeof(int));
    if (!ins) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
    int k = 0;
    for (int i = 0; i < n->n_in; i++) {
        int t = mo_in(c, n, i);
        if (t >= 0) ins[k++] = t;
    }
    if (k == 0) return mo_error(c, n, ME_ERR_FORMAT, "needs at least one input");
    int rank = mo_t(c, ins[0])->rank;
    int axis;
    MT_OK(mt_axis(c, n, mo_attr_int(n, "axis", mo_opset(c) < 4 ? 1 : 0), rank, &axis));
    if (k == 1) return mo_bind(c, n, 0, ins[0]);
    return mt_bind(c, n, 0, mt_concat(c, n, ins, k, axis, NULL));
}

me_status mo_tr_split(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    const me_tensor *tx = mo_t(c, x);
    int axis;
    MT_OK(mt_axis(c, n, mo_attr_int(n, "axis", 0), tx->rank, &axis));
    int64_t dim = tx->dims[axis];
    int nout = n->n_out;
    if (nout < 1) return mo_error(c, n, ME_ERR_FORMAT, "has no outputs");
    int64_t *sizes = me_arena_calloc(&mo_graph(c)->arena, (size_t)nout, sizeof(int64_t));
    if (!sizes) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
    int64_t *sv = NULL, cnt = -1;
    if (mo_opset(c) >= 13) {
        if (mo_in(c, n, 1) >= 0) MT_OK(mo_const_ints(c, n, 1, &sv, &cnt));
    } else {
        const int64_t *v;
        int k = mo_attr_ints(n, "split", &v);
        if (k >= 0) { sv = (int64_t *)v; cnt = k; }
    }
    if (cnt >= 0) {
        if (cnt != nout) return mo_error(c, n, ME_ERR_FORMAT, "split has %lld entries for %d outputs", (long long)cnt, nout);
        int64_t sum = 0;
        for (int i = 0; i < nout; i++) {
            if (sv[i] < 0) return mo_error(c, n, ME_ERR_FORMAT, "split sizes must be >= 0");
            sizes[i] = sv[i];
            sum += sv[i];
        }
        if (sum != dim) return mo_error(c, n, ME_ERR_FORMAT, "split sizes add up to %lld, the axis has %lld", (long long)sum, (long long)dim);
    } else {
        int64_t num = mo_attr_int(n, "num_outputs", nout);
        if (num != nout) return mo_error(c, n, ME_ERR_FORMAT, "num_outputs is %lld but the node has %d outputs", (long long)num, nout);
        if (mo_attr(n, "num_outputs")) {
            int64_t chunk = (dim + nout - 1) / nout; /* the last chunk may be smaller */
            int64_t left = dim;
            for (int i = 0; i < nout; i++) { sizes[i] = ME_MIN(chunk, left); left -= sizes[i]; }
        } else {
            if (dim % nout) return mo_error(c, n, ME_ERR_FORMAT, "axis of size %lld does not split evenly into %d", (long long)dim, nout);
            for (int i = 0; i < nout; i++) sizes[i] = dim / nout;
        }
    }
    if (nout == 1) return mo_bind(c, n, 0, x);
    int64_t *idx = me_arena_calloc(&mo_graph(c)->arena, (size_t)nout, sizeof(int64_t));
    int *outs = me_arena_calloc(&mo_graph(c)->arena, (size_t)nout, sizeof(int));
    if (!idx || !outs) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
    int64_t off = 0;
    for (int i = 0; i < nout - 1; i++) { off += sizes[i]; idx[i] = off; }
    int node = mo_node(c, n, ME_OP_SPLIT, &x, 1, nout, NULL);
    MT_TRY(node);
    me_node_set_scalar_u32(mo_graph(c), node, "axis", (uint32_t)axis);
    MT_OK(mt_u32s(c, node, "split_index", nout - 1, idx));
    MT_OK(mo_finish(c, node, outs));
    for (int i = 0; i < nout; i++) MT_OK(mo_bind(c, n, i, outs[i]));
    return ME_OK;
}

/* ONNX Slice index normalisation: returns begin/end for the kernel's
 * conventions (stride > 0: [0, dim]; stride < 0: [-1, dim-1], -1 = before 0). */
static void slice_norm(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *b, int64_t *e) {
    if (start < 0) start = start < -dim ? -dim - 1 : start + dim; /* keeps far-negative below every clamp */
    if (end < 0) end = end < -dim ? -dim - 1 : end + dim;
    if (step > 0) {
        *b = start < 0 ? 0 : start > dim ? dim : start;
        *e = end < 0 ? 0 : end > dim ? dim : end;
    } else {
        *b = start < 0 ? -1 : start > dim - 1 ? dim - 1 : start;
        *e = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
    }
}

me_status mo_tr_slice(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    const me_tensor *tx = mo_t(c, x);
    int rank = tx->rank;
    int64_t dims[ME_MAX_RANK];
    memcpy(dims, tx->dims, sizeof dims);
    int64_t *starts, *ends, *axes = NULL, *steps = NULL, ns, ne, na = -1, nst = -1;
    if (mo_opset(c) < 10) {
        const int64_t *v;
        int k = mo_attr_ints(n, "starts", &v);
        starts = (int64_t *)v; ns = k;
        k = mo_attr_ints(n, "ends", &v);
        ends = (int64_t *)v; ne = k;
        k = mo_attr_ints(n, "axes", &v);
        if (k >= 0) { axes = (int64_t *)v; na = k; }
        if (ns < 0 || ne < 0) return mo_error(c, n, ME_ERR_FORMAT, "starts and ends are required");
    } else {
        static const int ids[4] = {1, 2, 3, 4};
        int64_t *v[4], k[4];
        MT_OK(mt_const_ints_n(c, n, 4, ids, v, k));
        if (!v[0] || !v[1]) return mo_error(c, n, ME_ERR_FORMAT, "starts and ends are required");
        starts = v[0]; ns = k[0];
        ends = v[1]; ne = k[1];
        axes = v[2]; na = k[2];
        steps = v[3]; nst = k[3];
    }
    if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return mo_error(c, n, ME_ERR_FORMAT, "starts, ends, axes and steps differ in length");
    int64_t b[ME_MAX_RANK], e[ME_MAX_RANK], s[ME_MAX_RANK];
    bool seen[ME_MAX_RANK] = {0};
    for (int i = 0; i < rank; i++) { b[i] = 0; e[i] = dims[i]; s[i] = 1; }
    for (int64_t i = 0; i < ns; i++) {
        int a;
        MT_OK(mt_axis(c, n, axes ? axes[i] : i, rank, &a));
        if (seen[a]) return mo_error(c, n, ME_ERR_FORMAT, "axis %d is sliced twice", a);
        seen[a] = true;
        int64_t st = steps ? steps[i] : 1;
        if (st == 0) return mo_error(c, n, ME_ERR_FORMAT, "step 0 is invalid");
        slice_norm(dims[a], starts[i], ends[i], st, &b[a], &e[a]);
        if (st > INT32_MAX) st = INT32_MAX;
        if (st < -INT32_MAX) st = -INT32_MAX;
        s[a] = st;
        if (b[a] > INT32_MAX || e[a] > INT32_MAX)
            return mo_error(c, n, ME_ERR_UNSUPPORTED, "axis %d is too long for a 32-bit slice", a);
    }
    bool identity = true;
    for (int i = 0; i < rank; i++) identity &= b[i] == 0 && e[i] == dims[i] && s[i] == 1;
    if (identity) return mo_bind(c, n, 0, x);
    return mt_bind(c, n, 0, mt_strided_slice(c, n, x, b, e, s, NULL));
}

me_status mo_tr_pad(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    const me_tensor *tx = mo_t(c, x);
    int rank = tx->rank;
    int64_t dims[ME_MAX_RANK];
    memcpy(dims, tx->dims, sizeof dims);
    const char *mode = mo_attr_str(n, "mode", "constant");
    int64_t *pads, np;
    float value = 0;
    int64_t *axes = NULL, na = -1;
    if (mo_opset(c) < 11) {
        const int64_t *v;
        int k = mo_attr_ints(n, mo_opset(c) < 2 ? "paddings" : "pads", &v);
        if (k < 0) return mo_error(c, n, ME_ERR_FORMAT, "attribute 'pads' is missing");
        pads = (int64_t *)v; np = k;
        value = mo_attr_float(n, "value", 0.0f);
    } else {
        static const int ids[3] = {1, -1, 3};
        int64_t *v[3], k[3];
        me_status pst = mt_const_ints_n(c, n, 3, ids, v, k);
        if (mo_in(c, n, 2) >= 0 && !mo_is_const(c, mo_in(c, n, 2))) {
            float *cv;
            int64_t cnt;
            if (mo_const_floats(c, n, 2, &cv, &cnt) != ME_OK && pst == ME_OK) pst = ME_ERR_UNSUPPORTED;
        }
        MT_OK(pst);
        if (!v[0]) return mo_error(c, n, ME_ERR_FORMAT, "pads are required");
        pads = v[0]; np = k[0];
        axes = v[2]; na = k[2];
        if (mo_in(c, n, 2) >= 0) {
            float *cv;
            int64_t cnt;
            MT_OK(mo_const_floats(c, n, 2, &cv, &cnt));
            if (cnt > 1) return mo_error(c, n, ME_ERR_FORMAT, "constant_value must be a scalar");
            if (cnt == 1) value = cv[0];
        }
    }
    int n_axes = na >= 0 ? (int)na : rank;
    if (np != 2 * n_axes) return mo_error(c, n, ME_ERR_FORMAT, "pads has %lld values, expected %d", (long long)np, 2 * n_axes);
    int64_t before[ME_MAX_RANK] = {0}, after[ME_MAX_RANK] = {0};
    for (int i = 0; i < n_axes; i++) {
        int a = i;
        if (axes) MT_OK(mt_axis(c, n, axes[i], rank, &a));
        before[a] = pads[i];
        after[a] = pads[n_axes + i];
    }
    int scheme;
    if (strcmp(mode, "constant") == 0) scheme = 0;
    else if (strcmp(mode, "reflect") == 0) scheme = 2;
    else if (strcmp(mode, "edge") == 0) scheme = 3;
    else if (strcmp(mode, "wrap") == 0) scheme = 4;
    else return mo_error(c, n, ME_ERR_UNSUPPORTED, "pad mode '%s' is not supported", mode);
    /* negative pads crop first */
    bool crop = false, pad = false;
    int64_t cb[ME_MAX_RANK], ce[ME_MAX_RANK], cs[ME_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        cb[i] = before[i] < 0 ? -before[i] : 0;
        ce[i] = dims[i] - (after[i] < 0 ? -after[i] : 0);
        cs[i] = 1;
        if (before[i] < 0 || after[i] < 0) crop = true;
        if (before[i] > 0 || after[i] > 0) pad = true;
        if (ce[i] < cb[i]) return mo_error(c, n, ME_ERR_FORMAT, "negative pads remove more than axis %d holds", i);
        if (before[i] < 0) before[i] = 0;
        if (after[i] < 0) after[i] = 0;
    }
    if (crop) MT_TRY(x = mt_strided_slice(c, n, x, cb, ce, cs, "crop"));
    if (!pad) return mo_bind(c, n, 0, x);
    int node = mo_node(c, n, ME_OP_PAD, &x, 1, 1, NULL);
    MT_TRY(node);
    me_node_set_scalar_u32(mo_graph(c), node, "scheme", (uint32_t)scheme);
    MT_OK(mt_pad_amount(c, node, rank, before, after));
    if (value != 0) me_node_set_scalar_f32(mo_graph(c), node, "pad_constant_value", value);
    return mt_bind(c, n, 0, mt_finish1(c, node));
}

me_status mo_tr_tile(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    int rank = mo_t(c, x)->rank;
    int64_t *rep, cnt;
    MT_OK(mo_const_ints(c, n, 1, &rep, &cnt));
    if (cnt != rank) return mo_error(c, n, ME_ERR_FORMAT, "repeats has %lld values for rank %d", (long long)cnt, rank);
    bool identity = true;
    for (int i = 0; i < rank; i++) {
        if (rep[i] < 0) return mo_error(c, n, ME_ERR_FORMAT, "repeats must be >= 0");
        identity &= rep[i] == 1;
    }
    if (identity) return mo_bind(c, n, 0, x);
    int node = mo_node(c, n, ME_OP_TILE, &x, 1, 1, NULL);
    MT_TRY(node);
    MT_OK(mt_u32s(c, node, "multiples", rank, rep));
    return mt_bind(c, n, 0, mt_finish1(c, node));
}

/* Expand: multiply by ones of the broadcast shape (And with true for bool). */
me_status mo_tr_expand(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    int64_t *shape, cnt;
    MT_OK(mo_const_ints(c, n, 1, &shape, &cnt));
    if (cnt > ME_MAX_RANK) return mo_error(c, n, ME_ERR_UNSUPPORTED, "rank %lld exceeds %d", (long long)cnt, ME_MAX_RANK);
    const me_tensor *tx = mo_t(c, x);
    int r;
    int64_t out[ME_MAX_RANK];
    if (me_broadcast_shape(tx->rank, tx->dims, (int)cnt, shape, &r, out) != ME_OK)
        return mo_error(c, n, ME_ERR_FORMAT, "shape does not broadcast with the input");
    bool same = r == tx->rank;
    for (int i = 0; same && i < r; i++) same = out[i] == tx->dims[i];
    if (same) return mo_bind(c, n, 0, x);
    me_dtype dt = tx->dtype;
    int ones = mt_fill(c, dt, r, out, 1);
    MT_TRY(ones);
    return mt_bind(c, n, 0, mo_binary(c, n, dt == ME_DT_BOOL ? ME_OP_AND : ME_OP_MULTIPLY, x, ones, NULL));
}

me_status mo_tr_gather(mo_ctx *c, const onnx_node *n) {
    int x, idx;
    MT_OK(need_input(c, n, 0, &x));
    MT_OK(need_input(c, n, 1, &idx));
    int rank = mo_t(c, x)->rank;
    int axis;
    MT_OK(mt_axis(c, n, mo_attr_int(n, "axis", 0), rank, &axis));
    bool elements = strcmp(n->op_type, "GatherElements") == 0;
    int ins[2] = {x, idx};
    int node = mo_node(c, n, elements ? ME_OP_GATHER_ELEMENTS : ME_OP_GATHER, ins, 2, 1, NULL);
    MT_TRY(node);
    if (elements) me_node_set_scalar_u32(mo_graph(c), node, "axis", (uint32_t)axis);
    else me_node_set_scalar_i32(mo_graph(c), node, "axis", axis);
    return mt_bind(c, n, 0, mt_finish1(c, node));
}

me_status mo_tr_cast(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    int to = (int)mo_attr_int(n, "to", 0);
    me_dtype dt = onnx_to_me_dtype(to);
    if (to == ONNX_DOUBLE || dt == ME_DT_UNDEFINED || dt == ME_DT_I4 || dt == ME_DT_U4)
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "cast to %s is not supported", onnx_dtype_name(to));
    int y;
    if (dt == ME_DT_F16 || dt == ME_DT_BF16) {
        /* computed in float32: round through the narrow type */
        MT_TRY(y = mo_cast(c, n, x, ME_DT_F32, "to_f32"));
        MT_TRY(y = mo_cast(c, n, y, dt, "narrow"));
        MT_TRY(y = mo_cast(c, n, y, ME_DT_F32, "widen"));
    } else {
        MT_TRY(y = mo_cast(c, n, x, dt, NULL));
    }
    return mo_bind(c, n, 0, y);
}

/* A static tensor from an ONNX tensor (attribute value), named after the output. */
static int tensor_const(mo_ctx *c, const char *name, const onnx_tensor *src, int rank, const int64_t *dims) {
    onnx_tensor t = *src;
    t.name = name;
    t.rank = rank;
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
    return mo_make_initializer(c, &t);
}

me_status mo_tr_constant(mo_ctx *c, const onnx_node *n) {
    const onnx_attr *a;
    int t = -1;
    if ((a = mo_attr(n, "value")) && a->type == ONNX_ATTR_TENSOR) {
        if (a->t->data_type == ONNX_STRING) return mo_error(c, n, ME_ERR_UNSUPPORTED, "string constants are not supported");
        t = tensor_const(c, n->n_out > 0 && n->outputs[0][0] ? n->outputs[0] : n->name, a->t, a->t->rank, a->t->dims);
    } else if ((a = mo_attr(n, "value_float")) && a->type == ONNX_ATTR_FLOAT) {
        t = mo_const(c, "value", ME_DT_F32, 0, NULL, &a->f);
    } else if ((a = mo_attr(n, "value_floats")) && a->type == ONNX_ATTR_FLOATS) {
        int64_t d[1] = {a->n};
        t = mo_const(c, "value", ME_DT_F32, 1, d, a->floats);
    } else if ((a = mo_attr(n, "value_int")) && a->type == ONNX_ATTR_INT) {
        t = mo_const(c, "value", ME_DT_I64, 0, NULL, &a->i);
    } else if ((a = mo_attr(n, "value_ints")) && a->type == ONNX_ATTR_INTS) {
        int64_t d[1] = {a->n};
        t = mo_const(c, "value", ME_DT_I64, 1, d, a->ints);
    } else if (mo_attr(n, "sparse_value")) {
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "sparse constants are not supported");
    } else if (mo_attr(n, "value_string") || mo_attr(n, "value_strings")) {
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "string constants are not supported");
    } else {
        return mo_error(c, n, ME_ERR_FORMAT, "has no value attribute");
    }
    if (t < 0) return mo_error(c, n, ME_ERR_UNSUPPORTED, "cannot use its value");
    return mo_bind(c, n, 0, t);
}

me_status mo_tr_constant_of_shape(mo_ctx *c, const onnx_node *n) {
    int64_t *shape, cnt;
    MT_OK(mo_const_ints(c, n, 0, &shape, &cnt));
    if (cnt > ME_MAX_RANK) return mo_error(c, n, ME_ERR_UNSUPPORTED, "rank %lld exceeds %d", (long long)cnt, ME_MAX_RANK);
    for (int i = 0; i < cnt; i++)
        if (shape[i] < 0) return mo_error(c, n, ME_ERR_FORMAT, "shape has a negative dimension");
    const onnx_attr *a = mo_attr(n, "value");
    me_dtype dt = ME_DT_F32;
    double v = 0;
    if (a && a->type == ONNX_ATTR_TENSOR) {
        const onnx_tensor *vt = a->t;
        if (me_shape_numel(vt->rank, vt->dims) != 1 || !vt->data)
            return mo_error(c, n, ME_ERR_FORMAT, "value must hold exactly one element");
        /* read the one element through a tiny static tensor */
        int64_t one = 1;
        const char *vn = mo_unique_name(c, "value");
        int s = vn ? tensor_const(c, vn, vt, 0, &one) : -1;
        MT_TRY(s);
        const me_tensor *ts = mo_t(c, s);
        dt = ts->dtype;
        switch (dt) {
        case ME_DT_F32: { float f; memcpy(&f, ts->data, 4); v = f; break; }
        case ME_DT_I64: { int64_t i; memcpy(&i, ts->data, 8); v = (double)i; break; }
        case ME_DT_I32: { int32_t i; memcpy(&i, ts->data, 4); v = i; break; }
        case ME_DT_I16: { int16_t i; memcpy(&i, ts->data, 2); v = i; break; }
        case ME_DT_U16: { uint16_t i; memcpy(&i, ts->data, 2); v = i; break; }
        case ME_DT_U32: { uint32_t i; memcpy(&i, ts->data, 4); v = i; break; }
        case ME_DT_U64: { uint64_t i; memcpy(&i, ts->data, 8); v = (double)i; break; }
        case ME_DT_I8: v = *(const int8_t *)ts->data; break;
        case ME_DT_U8: case ME_DT_BOOL: v = *(const uint8_t *)ts->data; break;
        default: return mo_error(c, n, ME_ERR_UNSUPPORTED, "value of type %s is not supported", me_dtype_name(dt));
        }
        if (dt == ME_DT_I64 || dt == ME_DT_U64) {
            /* exact for any 64-bit value: copy the element bytes */
            int t = mo_const(c, "value", dt, (int)cnt, shape, NULL);
            MT_TRY(t);
            uint8_t *p = (uint8_t *)mo_t(c, t)->data;
            int64_t numel = me_shape_numel((int)cnt, shape);
            for (int64_t i = 0; i < numel; i++) memcpy(p + i * 8, mo_t(c, s)->data, 8);
            return mo_bind(c, n, 0, t);
        }
    }
    return mt_bind(c, n, 0, mt_fill(c, dt, (int)cnt, shape, v));
}

me_status mo_tr_shape(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    const me_tensor *tx = mo_t(c, x);
    int rank = tx->rank;
    if (strcmp(n->op_type, "Size") == 0) {
        int64_t numel = me_tensor_numel(tx);
        return mt_bind(c, n, 0, mo_const(c, "size", ME_DT_I64, 0, NULL, &numel));
    }
    int64_t start = mo_attr_int(n, "start", 0), end = mo_attr_int(n, "end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = start < 0 ? 0 : start > rank ? rank : start;
    end = end < 0 ? 0 : end > rank ? rank : end;
    int64_t len = end > start ? end - start : 0;
    int64_t vals[ME_MAX_RANK];
    for (int64_t i = 0; i < len; i++) vals[i] = tx->dims[start + i];
    return mt_bind(c, n, 0, mo_const(c, "shape", ME_DT_I64, 1, &len, vals));
}

me_status mo_tr_range(mo_ctx *c, const onnx_node *n) {
    int s0;
    MT_OK(need_input(c, n, 0, &s0));
    me_dtype dt = mo_t(c, s0)->dtype;
    {
        /* name every non-constant bound at once */
        me_status first = ME_OK;
        for (int i = 0; i < 3; i++) {
            float *v;
            int64_t k;
            if (!mo_is_const(c, mo_in(c, n, i))) {
                me_status st = mo_const_floats(c, n, i, &v, &k);
                if (st != ME_OK && first == ME_OK) first = st;
            }
        }
        MT_OK(first);
    }
    if (dt == ME_DT_F32) {
        float *a, *b, *d;
        int64_t k;
        MT_OK(mo_const_floats(c, n, 0, &a, &k));
        MT_OK(mo_const_floats(c, n, 1, &b, &k));
        MT_OK(mo_const_floats(c, n, 2, &d, &k));
        if (d[0] == 0) return mo_error(c, n, ME_ERR_FORMAT, "delta is 0");
        double cntd = ceil(((double)b[0] - (double)a[0]) / (double)d[0]);
        if (!(cntd >= 0)) cntd = 0;
        if (cntd > (double)(ME_MAX_TENSOR_BYTES / 4)) return mo_error(c, n, ME_ERR_FORMAT, "range is too long");
        int64_t cnt = (int64_t)cntd;
        int t = mo_const(c, "range", ME_DT_F32, 1, &cnt, NULL);
        MT_TRY(t);
        float *p = (float *)mo_t(c, t)->data;
        float v = a[0];
        for (int64_t i = 0; i < cnt; i++) { p[i] = v; v += d[0]; } /* accumulate as ONNX's reference does */
        return mo_bind(c, n, 0, t);
    }
    int64_t *a, *b, *d, k;
    MT_OK(mo_const_ints(c, n, 0, &a, &k));
    MT_OK(mo_const_ints(c, n, 1, &b, &k));
    MT_OK(mo_const_ints(c, n, 2, &d, &k));
    if (d[0] == 0) return mo_error(c, n, ME_ERR_FORMAT, "delta is 0");
    int64_t span = b[0] - a[0];
    int64_t cnt = d[0] > 0 ? (span > 0 ? (span + d[0] - 1) / d[0] : 0) : (span < 0 ? (-span + (-d[0]) - 1) / (-d[0]) : 0);
    size_t es = me_dtype_size(dt);
    if (es == 0 || cnt > ME_MAX_TENSOR_BYTES / (int64_t)es) return mo_error(c, n, ME_ERR_FORMAT, "range is too long");
    int t = mo_const(c, "range", dt, 1, &cnt, NULL);
    MT_TRY(t);
    uint8_t *p = (uint8_t *)mo_t(c, t)->data;
    for (int64_t i = 0; i < cnt; i++) {
        int64_t v = a[0] + i * d[0];
        switch (dt) {
        case ME_DT_I64: memcpy(p + 8 * i, &v, 8); break;
        case ME_DT_I32: { int32_t x = (int32_t)v; memcpy(p + 4 * i, &x, 4); break; }
        case ME_DT_I16: { int16_t x = (int16_t)v; memcpy(p + 2 * i, &x, 2); break; }
        default: return mo_error(c, n, ME_ERR_UNSUPPORTED, "Range of %s is not supported", me_dtype_name(dt));
        }
    }
    return mo_bind(c, n, 0, t);
}

me_status mo_tr_reduce(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    int rank = mo_t(c, x)->rank;
    const char *op = n->op_type;
    me_op_id irop;
    bool l2 = false;
    if (strcmp(op, "ReduceMax") == 0) irop = ME_OP_REDUCE_MAX;
    else if (strcmp(op, "ReduceMin") == 0) irop = ME_OP_REDUCE_MIN;
    else if (strcmp(op, "ReduceMean") == 0) irop = ME_OP_REDUCE_MEAN;
    else if (strcmp(op, "ReduceSum") == 0) irop = ME_OP_REDUCE_SUM;
    else if (strcmp(op, "ReduceProd") == 0) irop = ME_OP_REDUCE_PROD;
    else if (strcmp(op, "ReduceSumSquare") == 0) irop = ME_OP_REDUCE_SUM_SQUARE;
    else { irop = ME_OP_REDUCE_SUM_SQUARE; l2 = true; }
    /* axes moved from attribute to input: ReduceSum at 13, the others at 18 */
    bool from_input = mo_opset(c) >= (irop == ME_OP_REDUCE_SUM && !l2 ? 13 : 18);
    int64_t *axes, cnt;
    MT_OK(read_axes(c, n, from_input, 1, &axes, &cnt));
    bool keep = mo_attr_int(n, "keepdims", 1) != 0;
    bool noop = mo_attr_int(n, "noop_with_empty_axes", 0) != 0;
    int64_t list[ME_MAX_RANK];
    int k = 0;
    if (cnt <= 0) {
        if (noop) {
            if (!l2 && irop != ME_OP_REDUCE_SUM_SQUARE) return mo_bind(c, n, 0, x);
            /* SumSquare/L2 over no axes still square (and root) each element */
        } else {
            for (int i = 0; i < rank; i++) list[k++] = i;
        }
    } else {
        bool mask[ME_MAX_RANK];
        MT_OK(norm_axes(c, n, axes, cnt, rank, mask));
        for (int i = 0; i < rank; i++)
            if (mask[i]) list[k++] = i;
    }
    int y = mt_reduce(c, n, irop, x, list, k, keep, l2 ? "sumsq" : NULL);
    MT_TRY(y);
    if (l2) MT_TRY(y = mo_unary(c, n, ME_OP_SQRT, y, "sqrt"));
    return mo_bind(c, n, 0, y);
}

me_status mo_tr_argminmax(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    const me_tensor *tx = mo_t(c, x);
    int rank = tx->rank;
    int axis;
    MT_OK(mt_axis(c, n, mo_attr_int(n, "axis", 0), rank, &axis));
    int64_t dim = tx->dims[axis];
    bool keep = mo_attr_int(n, "keepdims", 1) != 0;
    bool last = mo_attr_int(n, "select_last_index", 0) != 0;
    me_op_id op = strcmp(n->op_type, "ArgMax") == 0 ? ME_OP_ARGMAX : ME_OP_ARGMIN;
    int src = x;
    if (last) {
        /* reverse the axis, take the first extreme, map i -> dim-1-i */
        int64_t b[ME_MAX_RANK], e[ME_MAX_RANK], s[ME_MAX_RANK];
        for (int i = 0; i < rank; i++) { b[i] = 0; e[i] = tx->dims[i]; s[i] = 1; }
        b[axis] = dim - 1;
        e[axis] = -1;
        s[axis] = -1;
        MT_TRY(src = mt_strided_slice(c, n, x, b, e, s, "reverse"));
    }
    int node = mo_node(c, n, op, &src, 1, 1, NULL);
    MT_TRY(node);
    me_node_set_scalar_u32(mo_graph(c), node, "axis", (uint32_t)axis);
    me_node_set_scalar_bool(mo_graph(c), node, "keep_dims", keep);
    int y = mt_finish1(c, node);
    MT_TRY(y);
    MT_TRY(y = mo_cast(c, n, y, ME_DT_I64, "to_i64"));
    if (last) {
        int k = mt_scalar(c, ME_DT_I64, (double)(dim - 1));
        MT_TRY(k);
        MT_TRY(y = mo_binary(c, n, ME_OP_SUBTRACT, k, y, "from_end"));
    }
    return mo_bind(c, n, 0, y);
}
