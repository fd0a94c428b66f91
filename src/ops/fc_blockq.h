/* FullyConnected and Gather with weights kept as stored in a GGUF:
 * ME_DT_BLOCKQ (GGML blocks, qenc ME_QENC_BLOCK), ME_DT_F16 or ME_DT_BF16.
 *
 * The matmul computes as llama.cpp's CPU backend does (gguf.md §8): each
 * activation row is quantised to the weight type's companion type (Q8_0, Q8_1,
 * Q8_K; fp16 / bf16 for half weights), then integer (or exact-product) dot
 * products follow ggml's generic vec_dot order. */
#ifndef ME_FC_BLOCKQ_H
#define ME_FC_BLOCKQ_H

#include "ops.h"

/* ggml type id of a low-precision weight tensor (BLOCKQ with a known block type and
 * a consistent encoding, F16 or BF16), or -1. */
int me_lowp_ggml_type(const me_tensor *w);

/* y[batch][m] = x[batch][n] . W[m][n]^T (+ bias[m]) with W stored as w describes;
 * output channels are split over pool (NULL: one thread). */
struct me_threadpool;
me_status me_fc_lowp(const me_node *nd, const me_tensor *w, const float *x, const void *wdata, const float *bias,
                     int64_t batch, int64_t m, int64_t n, float *y, struct me_threadpool *pool, me_diag *d);

/* Pre-packed GGUF weights (Q4_0 and Q8_0; kernels.h ME_BLOCKQ_P4_* / P8_*): the bytes the packed
 * layout of W [m, n] takes (0: not packable), packing it, and the FullyConnected over it
 * (same contract as me_fc_lowp, each result within float rounding of it). */
size_t me_fc_blockq_packed_bytes(const me_tensor *w, int64_t m, int64_t n);
me_status me_fc_blockq_pack(const me_node *nd, const me_tensor *w, int64_t m, int64_t n, void *dst, me_diag *d);
me_status me_fc_lowp_packed(const me_node *nd, const me_tensor *w, const float *x, const void *packed,
                            const float *bias, int64_t batch, int64_t m, int64_t n, float *y,
                            struct me_threadpool *pool, me_diag *d);

/* Quantise one activation row of n floats to the vec_dot companion of weight type
 * wtype, in ggml's block layout (out: me_fc_act_bytes(wtype, n) bytes). */
size_t me_fc_act_bytes(int wtype, int64_t n);
void me_fc_quantize_act(int wtype, const float *x, int64_t n, void *out);
/* One dot product of a weight row (n weights of wtype) with a quantised activation row. */
float me_fc_vec_dot(int wtype, const void *wrow, const void *act, int64_t n);

/* Gather on a GGUF table, output float32 (rows dequantised exactly): data BLOCKQ, or
 * F16/BF16 when the node's output tensor is preset to float32 by its creator (set
 * the output dtype to ME_DT_F32 when adding the tensor; ONNX Gathers keep f16).
 * axis < rank-1, so whole rows are taken. */
bool me_gather_lowp_applies(const me_tensor *data, const me_tensor *out);
me_status me_gather_lowp_infer(me_graph *g, me_node *n, me_diag *d);
me_status me_gather_lowp_run(const me_kernel_ctx *k, me_diag *d);

#endif
