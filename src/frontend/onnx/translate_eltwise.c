/* Translators: element-wise ops, activations, variadic ops, softmax
 * (mapped as ONNX Runtime's QNN EP does; qnn.md §1.8). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../core/util.h"
#include "translate_util.h"

typedef struct op_map { const char *onnx; me_op_id op; } op_map;

static const op_map unary_ops[] = {
    {"Abs", ME_OP_ABS},   {"Ceil", ME_OP_CEIL},     {"Cos", ME_OP_COS},          {"Exp", ME_OP_EXP},
    {"Floor", ME_OP_FLOOR}, {"Log", ME_OP_LOG},     {"Neg", ME_OP_NEG},          {"Not", ME_OP_NOT},
    {"Round", ME_OP_ROUND}, {"Sign", ME_OP_SIGN},   {"Sin", ME_OP_SIN},          {"Sqrt", ME_OP_SQRT},
    {"Reciprocal", ME_OP_RECIPROCAL}, {"Erf", ME_OP_ERF}, {"Relu", ME_OP_RELU}, {"Sigmoid", ME_OP_SIGMOID},
    {"Tanh", ME_OP_TANH},
};

static const op_map binary_ops[] = {
    {"Add", ME_OP_ADD},         {"Sub", ME_OP_SUBTRACT},    {"Mul", ME_OP_MULTIPLY},
    {"Div", ME_OP_DIVIDE},      {"Pow", ME_OP_POWER},       {"Equal", ME_OP_EQUAL},
    {"Greater", ME_OP_GREATER}, {"GreaterOrEqual", ME_OP_GREATER_EQUAL}, {"Less", ME_OP_LESS},
    {"LessOrEqual", ME_OP_LESS_EQUAL}, {"And", ME_OP_AND}, {"Or", ME_OP_OR}, {"Xor", ME_OP_XOR},
};

static int find_op(const op_map *m, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].onnx, name) == 0) return (int)m[i].op;
    return -1;
}

static me_status need_input(mo_ctx *c, const onnx_node *n, int i, int *t) {
    *t = mo_in(c, n, i);
    if (*t < 0) return mo_error(c, n, ME_ERR_FORMAT, "input %d is missing", i);
    return ME_OK;
}

me_status mo_tr_unary(mo_ctx *c, const onnx_node *n) {
    int op = find_op(unary_ops, ME_ARRAY_LEN(unary_ops), n->op_type);
    if (op < 0) return mo_error(c, n, ME_ERR_INTERNAL, "no IR op for this unary op");
    int x;
    MT_OK(need_input(c, n, 0, &x));
    return mt_bind(c, n, 0, mo_unary(c, n, (me_op_id)op, x, NULL));
}

me_status mo_tr_binary(mo_ctx *c, const onnx_node *n) {
    int a, b;
    MT_OK(need_input(c, n, 0, &a));
    MT_OK(need_input(c, n, 1, &b));
    if (mo_opset(c) < 7 && mo_attr_int(n, "broadcast", 0))
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "legacy broadcast attributes (opset < 7) are not supported");
    int op;
    if (strcmp(n->op_type, "Mod") == 0) op = mo_attr_int(n, "fmod", 0) ? ME_OP_FMOD : ME_OP_MOD;
    else op = find_op(binary_ops, ME_ARRAY_LEN(binary_ops), n->op_type);
    if (op < 0) return mo_error(c, n, ME_ERR_INTERNAL, "no IR op for this binary op");
    return mt_bind(c, n, 0, mo_binary(c, n, (me_op_id)op, a, b, NULL));
}

/* Max/Min/Sum/Mean: a chain of binary ops over all inputs. */
me_status mo_tr_variadic(mo_ctx *c, const onnx_node *n) {
    me_op_id op;
    bool mean = false;
    if (strcmp(n->op_type, "Max") == 0) op = ME_OP_MAXIMUM;
    else if (strcmp(n->op_type, "Min") == 0) op = ME_OP_MINIMUM;
    else if (strcmp(n->op_type, "Sum") == 0) op = ME_OP_ADD;
    else { op = ME_OP_ADD; mean = true; }
    int acc = -1, count = 0;
    for (int i = 0; i < n->n_in; i++) {
        int t = mo_in(c, n, i);
        if (t < 0) continue;
        count++;
        if (acc < 0) { acc = t; continue; }
        char sfx[32];
        snprintf(sfx, sizeof sfx, "acc%d", i);
        acc = mo_binary(c, n, op, acc, t, sfx);
        MT_TRY(acc);
    }
    if (acc < 0) return mo_error(c, n, ME_ERR_FORMAT, "needs at least one input");
    if (mean && count > 1) {
        int k = mt_scalar(c, mo_t(c, acc)->dtype, count);
        MT_TRY(k);
        acc = mo_binary(c, n, ME_OP_DIVIDE, acc, k, "mean");
    }
    return mt_bind(c, n, 0, acc);
}

me_status mo_tr_where(mo_ctx *c, const onnx_node *n) {
    int in[3];
    for (int i = 0; i < 3; i++) MT_OK(need_input(c, n, i, &in[i]));
    return mt_bind(c, n, 0, mo_emit1(c, n, ME_OP_SELECT, in, 3, NULL));
}

/* Clip: ReluMinMax for float data with constant bounds, else Maximum/Minimum. */
me_status mo_tr_clip(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    me_dtype dt = mo_t(c, x)->dtype;
    bool is_float = dt == ME_DT_F32;
    if (mo_opset(c) < 11) {
        float lo = mo_attr_float(n, "min", -INFINITY), hi = mo_attr_float(n, "max", INFINITY);
        int node = mo_node(c, n, ME_OP_RELU_MIN_MAX, &x, 1, 1, NULL);
        MT_TRY(node);
        me_node_set_scalar_f32(mo_graph(c), node, "min_value", lo);
        me_node_set_scalar_f32(mo_graph(c), node, "max_value", hi);
        return mt_bind(c, n, 0, mt_finish1(c, node));
    }
    int tmin = mo_in(c, n, 1), tmax = mo_in(c, n, 2);
    if (is_float && (tmin < 0 || mo_is_const(c, tmin)) && (tmax < 0 || mo_is_const(c, tmax))) {
        float lo = -INFINITY, hi = INFINITY;
        float *v;
        int64_t cnt;
        if (tmin >= 0) {
            MT_OK(mo_const_floats(c, n, 1, &v, &cnt));
            if (cnt != 1) return mo_error(c, n, ME_ERR_FORMAT, "min must hold one value, not %lld", (long long)cnt);
            lo = v[0];
        }
        if (tmax >= 0) {
            MT_OK(mo_const_floats(c, n, 2, &v, &cnt));
            if (cnt != 1) return mo_error(c, n, ME_ERR_FORMAT, "max must hold one value, not %lld", (long long)cnt);
            hi = v[0];
        }
        int node = mo_node(c, n, ME_OP_RELU_MIN_MAX, &x, 1, 1, NULL);
        MT_TRY(node);
        me_node_set_scalar_f32(mo_graph(c), node, "min_value", lo);
        me_node_set_scalar_f32(mo_graph(c), node, "max_value", hi);
        return mt_bind(c, n, 0, mt_finish1(c, node));
    }
    int y = x;
    if (tmin >= 0) MT_TRY(y = mo_binary(c, n, ME_OP_MAXIMUM, y, tmin, "min"));
    if (tmax >= 0) MT_TRY(y = mo_binary(c, n, ME_OP_MINIMUM, y, tmax, "max"));
    return mt_bind(c, n, 0, y);
}

static int scalar_like(mo_ctx *c, int x, double v) { return mt_scalar(c, mo_t(c, x)->dtype, v); }

/* x * sigmoid(alpha * x) */
static int swish(mo_ctx *c, const onnx_node *n, int x, float alpha) {
    int ax = x;
    if (alpha != 1.0f) {
        int k = scalar_like(c, x, alpha);
        if (k < 0) return -1;
        ax = mo_binary(c, n, ME_OP_MULTIPLY, x, k, "scale");
        if (ax < 0) return -1;
    }
    int s = mo_unary(c, n, ME_OP_SIGMOID, ax, "sigmoid");
    if (s < 0) return -1;
    return mo_binary(c, n, ME_OP_MULTIPLY, x, s, "mul");
}

/* 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))) */
static int gelu_tanh(mo_ctx *c, const onnx_node *n, int x) {
    int x2 = mo_binary(c, n, ME_OP_MULTIPLY, x, x, "x2");
    if (x2 < 0) return -1;
    int x3 = mo_binary(c, n, ME_OP_MULTIPLY, x2, x, "x3");
    int k1 = scalar_like(c, x, 0.044715);
    if (x3 < 0 || k1 < 0) return -1;
    int t = mo_binary(c, n, ME_OP_MULTIPLY, x3, k1, "cubic");
    if (t < 0 || (t = mo_binary(c, n, ME_OP_ADD, x, t, "inner")) < 0) return -1;
    int k2 = scalar_like(c, x, 0.7978845608028654); /* sqrt(2/pi) */
    if (k2 < 0 || (t = mo_binary(c, n, ME_OP_MULTIPLY, t, k2, "scaled")) < 0) return -1;
    if ((t = mo_unary(c, n, ME_OP_TANH, t, "tanh")) < 0) return -1;
    int one = scalar_like(c, x, 1.0);
    if (one < 0 || (t = mo_binary(c, n, ME_OP_ADD, t, one, "plus1")) < 0) return -1;
    if ((t = mo_binary(c, n, ME_OP_MULTIPLY, x, t, "xmul")) < 0) return -1;
    int half = scalar_like(c, x, 0.5);
    if (half < 0) return -1;
    return mo_binary(c, n, ME_OP_MULTIPLY, t, half, "half");
}

me_status mo_tr_activation(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    me_graph *g = mo_graph(c);
    const char *op = n->op_type;
    int y = -1;
    if (strcmp(op, "Elu") == 0) {
        int node = mo_node(c, n, ME_OP_ELU, &x, 1, 1, NULL);
        MT_TRY(node);
        me_node_set_scalar_f32(g, node, "alpha", mo_attr_float(n, "alpha", 1.0f));
        y = mt_finish1(c, node);
    } else if (strcmp(op, "Selu") == 0) {
        float alpha = mo_attr_float(n, "alpha", 1.67326319217681884765625f);
        float gamma = mo_attr_float(n, "gamma", 1.05070102214813232421875f);
        int node = mo_node(c, n, ME_OP_ELU, &x, 1, 1, "elu");
        MT_TRY(node);
        me_node_set_scalar_f32(g, node, "alpha", alpha);
        int e = mt_finish1(c, node);
        MT_TRY(e);
        int k = scalar_like(c, e, gamma);
        MT_TRY(k);
        y = mo_binary(c, n, ME_OP_MULTIPLY, e, k, "gamma");
    } else if (strcmp(op, "LeakyRelu") == 0) {
        int slope = scalar_like(c, x, mo_attr_float(n, "alpha", 0.01f));
        MT_TRY(slope);
        y = mo_binary(c, n, ME_OP_PRELU, x, slope, NULL);
    } else if (strcmp(op, "PRelu") == 0) {
        int slope;
        MT_OK(need_input(c, n, 1, &slope));
        y = mo_binary(c, n, ME_OP_PRELU, x, slope, NULL);
    } else if (strcmp(op, "HardSigmoid") == 0) {
        int node = mo_node(c, n, ME_OP_NEURON, &x, 1, 1, NULL);
        MT_TRY(node);
        me_node_set_scalar_u32(g, node, "operation", 2);
        me_node_set_scalar_f32(g, node, "alpha", mo_attr_float(n, "alpha", 0.2f));
        me_node_set_scalar_f32(g, node, "beta", mo_attr_float(n, "beta", 0.5f));
        y = mt_finish1(c, node);
    } else if (strcmp(op, "HardSwish") == 0) {
        y = mo_unary(c, n, ME_OP_HARD_SWISH, x, NULL);
    } else if (strcmp(op, "Softplus") == 0) {
        y = mo_unary(c, n, ME_OP_SOFTPLUS, x, NULL);
    } else if (strcmp(op, "Mish") == 0) {
        int sp = mo_unary(c, n, ME_OP_SOFTPLUS, x, "softplus");
        MT_TRY(sp);
        int th = mo_unary(c, n, ME_OP_TANH, sp, "tanh");
        MT_TRY(th);
        y = mo_binary(c, n, ME_OP_MULTIPLY, x, th, "mul");
    } else if (strcmp(op, "Swish") == 0) {
        y = swish(c, n, x, mo_attr_float(n, "alpha", 1.0f));
    } else if (strcmp(op, "Gelu") == 0) {
        const char *approx = mo_attr_str(n, "approximate", "none");
        if (strcmp(approx, "tanh") == 0) y = gelu_tanh(c, n, x);
        else if (strcmp(approx, "none") == 0) y = mo_unary(c, n, ME_OP_GELU, x, NULL);
        else return mo_error(c, n, ME_ERR_UNSUPPORTED, "approximate='%s' is not supported", approx);
    } else {
        return mo_error(c, n, ME_ERR_INTERNAL, "no translation for this activation");
    }
    return mt_bind(c, n, 0, y);
}

/* Softmax/LogSoftmax. Before opset 13 the input is coerced to 2-D at `axis`
 * (default 1) and normalised over the second dimension. */
me_status mo_tr_softmax(mo_ctx *c, const onnx_node *n) {
    int x;
    MT_OK(need_input(c, n, 0, &x));
    me_op_id op = strcmp(n->op_type, "LogSoftmax") == 0 ? ME_OP_LOG_SOFTMAX : ME_OP_SOFTMAX;
    const me_tensor *tx = mo_t(c, x);
    int rank = tx->rank;
    if (rank == 0) return mo_error(c, n, ME_ERR_FORMAT, "input must have rank >= 1");
    int64_t in_dims[ME_MAX_RANK];
    memcpy(in_dims, tx->dims, sizeof in_dims);
    int axis;
    if (mo_opset(c) < 13) {
        MT_OK(mt_axis(c, n, mo_attr_int(n, "axis", 1), rank, &axis));
        int64_t outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= in_dims[i];
        for (int i = axis; i < rank; i++) inner *= in_dims[i];
        int64_t d2[2] = {outer, inner};
        int x2 = mo_reshape(c, n, x, 2, d2, "to2d");
        MT_TRY(x2);
        int node = mo_node(c, n, op, &x2, 1, 1, NULL);
        MT_TRY(node);
        me_node_set_scalar_u32(mo_graph(c), node, "axis", 1);
        int y = mt_finish1(c, node);
        MT_TRY(y);
        return mt_bind(c, n, 0, mo_reshape(c, n, y, rank, in_dims, "from2d"));
    }
    MT_OK(mt_axis(c, n, mo_attr_int(n, "axis", -1), rank, &axis));
    int node = mo_node(c, n, op, &x, 1, 1, NULL);
    MT_TRY(node);
    me_node_set_scalar_u32(mo_graph(c), node, "axis", (uint32_t)axis);
    return mt_bind(c, n, 0, mt_finish1(c, node));
}
