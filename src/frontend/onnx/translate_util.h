/* Helpers shared by translate_eltwise.c, translate_conv.c and translate_shape.c. */
#ifndef ME_ONNX_TRANSLATE_UTIL_H
#define ME_ONNX_TRANSLATE_UTIL_H

#include "onnx_import.h"

/* Status for a building block that answered -1 (its reason is in the diag). */
#define MT_TRY(expr)                              \
    do {                                          \
        if ((expr) < 0) return ME_ERR_FORMAT;     \
    } while (0)
#define MT_OK(expr)                               \
    do {                                          \
        me_status st_ = (expr);                   \
        if (st_ != ME_OK) return st_;             \
    } while (0)

/* The IR dtype an ONNX element type is computed in (float16/bfloat16 -> f32);
 * ME_DT_UNDEFINED when unsupported. */
me_dtype mt_compute_dtype(int onnx_type);

/* Normalise axis into [0, rank); error naming the node. */
me_status mt_axis(mo_ctx *c, const onnx_node *n, int64_t axis, int rank, int *out);

/* A rank-0 constant of dtype dt holding v (BOOL: v != 0). */
int mt_scalar(mo_ctx *c, me_dtype dt, double v);
/* A constant of shape dims with every element v. */
int mt_fill(mo_ctx *c, me_dtype dt, int rank, const int64_t *dims, double v);

/* Params. */
me_status mt_u32s(mo_ctx *c, int node, const char *name, int count, const int64_t *vals);
me_status mt_pad_amount(mo_ctx *c, int node, int n_axes, const int64_t *before, const int64_t *after);

/* Emit a one-output node after params were set. Returns the output or -1. */
int mt_finish1(mo_ctx *c, int node);

/* Common ops with params. */
int mt_reduce(mo_ctx *c, const onnx_node *n, me_op_id op, int x, const int64_t *axes, int n_axes, bool keep,
              const char *suffix);
int mt_strided_slice(mo_ctx *c, const onnx_node *n, int x, const int64_t *begin, const int64_t *end,
                     const int64_t *step, const char *suffix);
int mt_concat(mo_ctx *c, const onnx_node *n, const int *ins, int n_in, int axis, const char *suffix);

/* Reads the constant integer inputs listed in `inputs` (-1 or an omitted
 * input: vals[i] = NULL, counts[i] = -1). Keeps going after a failure so
 * every graph input that must be frozen is named; returns the first failure. */
me_status mt_const_ints_n(mo_ctx *c, const onnx_node *n, int count, const int *inputs, int64_t **vals, int64_t *counts);

/* Bind output i to a tensor (mo_bind with a status for -1). */
me_status mt_bind(mo_ctx *c, const onnx_node *n, int i, int t);

/* Byte size of one element of an IR dtype (packed 4-bit: 0). */
static inline size_t mt_esize(me_dtype dt) { return me_dtype_size(dt); }

#endif
