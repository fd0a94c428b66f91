/* Helpers shared by op files: node-prefixed failures, param-schema checks,
 * axis/shape utilities and the broadcast row iterator used by element-wise
 * kernels.
 *
 * Broadcast iteration: me_bcast_plan aligns up to ME_BCAST_MAX_IN input
 * shapes to the output shape (numpy rules), gives every input an element
 * stride per output dim (0 where it is broadcast), drops size-1 output dims
 * and merges adjacent dims that every input walks contiguously (or not at
 * all). Same-shape operands thus become one flat row, a scalar a row with
 * stride 0, a bias [C] against [N,C] N rows of C. The kernel then walks rows:
 *
 *     me_bcast b; me_bcast_plan_ctx(&b, k, 2);
 *     me_bcast_it it; me_bcast_begin(&b, &it);
 *     for (int64_t r = 0; r < it.rows; r++, me_bcast_step(&b, &it))
 *         row(a + it.off[0], b.inner[0], c + it.off[1], b.inner[1], o + it.out_off, b.row_len);
 *
 * Inputs are dense row-major, so an inner stride is always 0 or 1. */
#ifndef ME_ELTWISE_UTIL_H
#define ME_ELTWISE_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "ops.h"

/* ---- diagnostics ---- */
/* me_fail with the prefix "node '<name>' (<QnnOp>): ". */
me_status me_op_fail(me_diag *d, me_status st, const me_node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "[2,3,4]" into buf (ME_SHAPE_STR_MAX bytes); returns buf. */
#define ME_SHAPE_STR_MAX 192
const char *me_shape_str(char *buf, int rank, const int64_t *dims);

/* ---- infer-time checks ---- */
/* Input count within the opdef's [min_in, max_in], the first `n_required`
 * inputs present (not -1), every present input a valid tensor; and the params
 * against the schema: required ones present, kind/dtype as declared, no
 * unknown names. */
me_status me_op_check_node(const me_graph *g, const me_node *n, int n_required, me_diag *d);

/* A scalar U32 param `name` as an axis in [0, rank). When absent: `dflt` if
 * dflt >= 0, else an error (required). */
me_status me_op_axis_param(const me_node *n, const char *name, int rank, int dflt, int *axis,
                           me_diag *d);

/* Dims before / at / after `axis` of a shape (outer * len * inner = numel). */
void me_axis_split(int rank, const int64_t *dims, int axis, int64_t *outer, int64_t *len,
                   int64_t *inner);

bool me_dtype_is_signed_int(me_dtype dt);
bool me_dtype_is_unsigned_int(me_dtype dt);

/* ---- broadcast iteration ---- */
#define ME_BCAST_MAX_IN 3

typedef struct me_bcast {
    int n_in;
    int rank;                                      /* after merging, >= 1 */
    int64_t dims[ME_MAX_RANK];
    int64_t stride[ME_BCAST_MAX_IN][ME_MAX_RANK];  /* elements; 0 = broadcast */
    int64_t row_len;                               /* dims[rank-1] */
    int64_t inner[ME_BCAST_MAX_IN];                /* stride[k][rank-1]: 0 or 1 */
    int64_t numel;                                 /* output elements */
} me_bcast;

typedef struct me_bcast_it {
    int64_t rows;                                  /* number of rows to visit */
    int64_t idx[ME_MAX_RANK];
    int64_t off[ME_BCAST_MAX_IN];                  /* element offset of the row in each input */
    int64_t out_off;                               /* element offset of the row in the output */
} me_bcast_it;

/* Each input shape must broadcast to (ro, dout); infer has checked that. */
void me_bcast_plan(me_bcast *b, int n_in, const int *ranks, const int64_t *const *dims, int ro,
                   const int64_t *dout);
/* Inputs 0..n_in-1 of the kernel against its output 0. */
void me_bcast_plan_ctx(me_bcast *b, const me_kernel_ctx *k, int n_in);
void me_bcast_begin(const me_bcast *b, me_bcast_it *it);
/* The iterator positioned at row `row` (0 <= row < rows), as if stepped there. */
void me_bcast_seek(const me_bcast *b, me_bcast_it *it, int64_t row);

static inline void me_bcast_step(const me_bcast *b, me_bcast_it *it) {
    it->out_off += b->row_len;
    for (int d = b->rank - 2; d >= 0; d--) {
        if (++it->idx[d] < b->dims[d]) {
            for (int k = 0; k < b->n_in; k++) it->off[k] += b->stride[k][d];
            return;
        }
        it->idx[d] = 0;
        for (int k = 0; k < b->n_in; k++) it->off[k] -= b->stride[k][d] * (b->dims[d] - 1);
    }
}

/* ---- element conversion ---- */
/* Round half to even (ONNX Round, QuantizeLinear), independent of the FP mode. */
/* Sum in double with 8 partial sums (a fixed order, so a row's result does
 * not depend on anything but the row): the softmax denominators. */
static inline double me_sum8_f64(const float *v, int64_t n) {
    double s[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += v[i + k];
    for (; i < n; i++) s[i & 7] += v[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static inline float me_round_half_even(float x) {
    float f = __builtin_floorf(x);
    float diff = x - f;
    if (diff > 0.5f) return f + 1.0f;
    if (diff == 0.5f) return __builtin_fmodf(f, 2.0f) != 0.0f ? f + 1.0f : f;
    return f;
}

/* double -> integer with NaN -> 0 and clamping to [lo, hi] (C leaves
 * out-of-range conversions undefined). */
static inline int64_t me_sat_f64_i64(double v, int64_t lo, int64_t hi) {
    if (v != v) return 0;
    if (v <= (double)lo) return lo;
    if (v >= (double)hi) return hi;
    return (int64_t)v;
}
static inline uint64_t me_sat_f64_u64(double v, uint64_t hi) {
    if (v != v || v <= 0.0) return 0;
    if (v >= (double)hi) return hi;
    return (uint64_t)v;
}

/* Smallest / largest value of an integer dtype (0 for others). */
int64_t me_dtype_int_min(me_dtype dt);
uint64_t me_dtype_int_max(me_dtype dt);

#endif
