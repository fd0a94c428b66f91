/* Helpers shared by the data-movement ops (reshape, transpose, concat, split,
 * strided_slice, pad, tile, depth_space, gather). These ops never look at
 * element values, only at element byte sizes, so one kernel serves every dtype
 * whose elements are whole bytes. Implemented in movement.c. */
#ifndef ME_OPS_MOVEMENT_H
#define ME_OPS_MOVEMENT_H

#include "ops.h"

/* Byte size of one element for a data-movement op, or 0 (with a reason in d)
 * when dt is undefined or packed 4-bit. */
size_t me_mv_elem_size(const me_node *n, me_dtype dt, me_diag *d);

/* Input i of node n, or NULL (with a reason) if the node has no such input. */
const me_tensor *me_mv_input(const me_graph *g, const me_node *n, int i, me_diag *d);

/* Integer tensor param `name` (dtype dt, `rank` dims; dims[1] checked only for
 * rank 2); want0 < 0 accepts any first dim. NULL with a reason when absent or
 * malformed. */
const me_param *me_mv_int_tensor(const me_node *n, const char *name, me_dtype dt, int rank,
                                 int64_t want0, int64_t want1, me_diag *d);

/* Integer scalar param: *out = value, or dflt when absent and !required. */
me_status me_mv_scalar_int(const me_node *n, const char *name, bool required, int64_t dflt,
                           int64_t *out, me_diag *d);

/* In a kernel: check output i has exactly this shape and the element size
 * esize (guards against a graph whose stored shapes bypassed inference). */
me_status me_mv_check_out(const me_kernel_ctx *k, int i, int rank, const int64_t *dims,
                          size_t esize, me_diag *d);

/* Copy the elements src[sum_k idx_k * stride[k]] for idx over the box size[]
 * (row-major, last axis fastest) into contiguous dst. Strides are in
 * elements and may be negative or zero. Adjacent axes that form one linear run
 * are merged and contiguous inner runs are copied with memcpy. */
void me_mv_strided_copy(void *dst, const void *src, int rank, const int64_t *size,
                        const int64_t *stride, size_t esize);

/* dst[i_0..i_{r-1}] = src[j] where j_perm[k] = i_k: out.dims[k] = dims[perm[k]]. */
void me_mv_permute_copy(void *dst, const void *src, int rank, const int64_t *dims,
                        const int *perm, size_t esize);

/* Fill `count` elements at dst with the esize-byte pattern `elem`. */
void me_mv_fill(void *dst, const void *elem, size_t esize, size_t count);

/* One axis of StridedSlice (semantics in strided_slice.c's header comment):
 * the number of indices taken, and in *first the first one (valid when the
 * count is non-zero). Shared with the ONNX exporter so both read ranges alike. */
int64_t me_strided_slice_axis(int64_t dim, int64_t begin, int64_t end, int64_t stride, bool begin_masked,
                              bool end_masked, int64_t *first);

#endif
