/* Small IR-building helpers shared by translate_nn.c and translate_seq.c:
 * each emits one IR op with its QNN params set (the translation API of
 * onnx_import.h covers only param-less ops and a few building blocks).
 * Functions returning a tensor return -1 on failure; the reason is then
 * already in the diagnostics (mo_build_failed turns that into a status). */
#ifndef ME_ONNX_TRANSLATE_BUILD_H
#define ME_ONNX_TRANSLATE_BUILD_H

#include "onnx_import.h"

/* Status to return after a helper answered -1 (adds a message if none was given). */
me_status mo_build_failed(mo_ctx *c, const onnx_node *n);

/* A rank-0 constant of dtype dt holding v (converted; BOOL: v != 0). */
int mo_build_scalar(mo_ctx *c, me_dtype dt, double v);
/* An F32 constant of the given shape with every element v. */
int mo_build_fill_f32(mo_ctx *c, const char *hint, int rank, const int64_t *dims, float v);
/* An F32 constant from values (copied). */
int mo_build_const_f32(mo_ctx *c, const char *hint, int rank, const int64_t *dims, const float *vals);

int mo_build_reduce(mo_ctx *c, const onnx_node *n, me_op_id op, int x, const int64_t *axes, int n_axes,
                    bool keep_dims, const char *suffix);
int mo_build_concat(mo_ctx *c, const onnx_node *n, const int *ins, int n_in, int axis, const char *suffix);
/* Split x along axis into n_parts pieces of the given sizes (sum = dim). */
me_status mo_build_split(mo_ctx *c, const onnx_node *n, int x, int axis, const int64_t *sizes, int n_parts,
                         int *outs, const char *suffix);
/* x[..., begin:end, ...] along one axis (0 <= begin < end <= dim). */
int mo_build_slice(mo_ctx *c, const onnx_node *n, int x, int axis, int64_t begin, int64_t end,
                   const char *suffix);
int mo_build_matmul(mo_ctx *c, const onnx_node *n, int a, int b, bool transpose_a, bool transpose_b,
                    const char *suffix);
int mo_build_softmax(mo_ctx *c, const onnx_node *n, int x, int axis, const char *suffix);
int mo_build_tile(mo_ctx *c, const onnx_node *n, int x, const int64_t *multiples, const char *suffix);
int mo_build_select(mo_ctx *c, const onnx_node *n, int cond, int a, int b, const char *suffix);
/* ReluMinMax: clamp to [lo, hi]. */
int mo_build_clamp(mo_ctx *c, const onnx_node *n, int x, float lo, float hi, const char *suffix);
/* x * a + b with scalar constants (either step skipped when it is the identity). */
int mo_build_affine(mo_ctx *c, const onnx_node *n, int x, float a, float b, const char *suffix);

/* Arena copy helpers (graph arena). */
void *mo_build_alloc(mo_ctx *c, size_t n, size_t elem);

/* Early returns for translators (which name their context `c` and node `n`):
 * a failed build step, or a failed status. */
#define TRY_T(t) \
    do { \
        if ((t) < 0) return mo_build_failed(c, n); \
    } while (0)
#define TRY_ST(e) \
    do { \
        me_status st_ = (e); \
        if (st_ != ME_OK) return st_; \
    } while (0)

/* True when ONNX output i of n exists and is consumed by name. */
static inline bool output_used(const onnx_node *n, int i) {
    return i < n->n_out && n->outputs[i] != NULL && n->outputs[i][0] != '\0';
}

#endif
