/* Helpers shared by the integer reference kernels (src/quant/qk_*.c). */
#ifndef ME_QK_COMMON_H
#define ME_QK_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "../ops/ops.h"
#include "requant.h"

/* A quantised activation: U8/U16/I8/I16 with a per-tensor scale/offset
 * encoding whose scale is positive and finite. */
bool me_qk_is_qact(const me_tensor *t);
/* A quantised static weight: I8/I4/I16/U8/U16/U4, per tensor or per axis
 * `axis` (one entry per element along it), positive finite scales. */
bool me_qk_is_qweight(const me_tensor *t, int axis);
/* Any present input or output carries an integer dtype with an encoding. */
bool me_qk_node_has_qtensor(const me_kernel_ctx *k);

/* Quantise as the Quantize op does: round_half_even(float32(x / scale)) -
 * offset, clamped; NaN gives -offset clamped. */
int64_t me_qk_quantize_f32(float x, float scale, int64_t offset, int64_t qmin, int64_t qmax);

/* Store code v (already in range) as element i of dtype dt. */
void me_qk_store(void *data, me_dtype dt, int64_t i, int64_t v);

/* Quantised clamp bounds [lo, hi] of output tensor y for a fused activation
 * (fused_activation.h params of node n) or a Relu/ReluMinMax: the bounds are
 * the quantised activation limits, intersected with the dtype range. */
void me_qk_act_bounds(const me_node *n, const me_tensor *y, int64_t *lo, int64_t *hi);

/* Real multiplier -> requant, failing with a reason naming the node. */
me_status me_qk_requant(const me_node *n, double m, me_requant *r, me_diag *d);

/* Run the node's float reference kernel on dequantised inputs and quantise
 * its quantised outputs (docs/quantized-arithmetic.md §6 "float-internal"). */
me_status me_qk_run_float_internal(const me_kernel_ctx *k, me_diag *d);

/* The reference's prepared values of a Conv2d / DepthWiseConv2d /
 * FullyConnected node (qk_linear.c), for the packed fast kernels
 * (quant_pack.c): weights plus their offsets in the weight tensor's element
 * order, bias in accumulator units, per-channel requantisation, output
 * offset and clamp bounds, and whether int32 accumulation is exact. */
typedef struct me_qk_lin_info {
    int64_t cout, klen;
    int32_t ox;
    int32_t *wv;
    int64_t *bias;
    me_requant *rq;
    int64_t oy, lo, hi;
    bool acc32;
} me_qk_lin_info;
me_status me_qk_lin_info_get(const me_kernel_ctx *k, me_qk_lin_info *li, me_diag *d);
void me_qk_lin_info_free(me_qk_lin_info *li);

/* The packed fast kernels (quant_pack.c): a node whose k->packed was made by
 * me_qnode_pack, and U8 -> U8 Relu / ReluMinMax / PoolMax2d through a table of
 * the reference's output codes. Bit-exact with the reference kernels. */
me_status me_qk_run_packed(const me_kernel_ctx *k, me_diag *d);
/* Every field of a packed record that sizes a read or sets a shift, against
 * node k->node (once, when an untrusted record is attached: me_exec_use_packed;
 * the header is checked again on each run). */
me_status me_qk_packed_check(const me_kernel_ctx *k, const void *packed, me_diag *d);
bool me_qk_u8_unary(const me_kernel_ctx *k);
/* y[i] = table[x[i]] for the first n bytes of in_data[0] -> out_data[0], split over k->pool. */
void me_qk_map_u8(const me_kernel_ctx *k, const uint8_t table[256], int64_t n);
me_status me_qk_clamp_u8(const me_kernel_ctx *k, me_diag *d);
me_status me_qk_maxpool_u8(const me_kernel_ctx *k, me_diag *d);
me_status me_qk_avgpool_u8(const me_kernel_ctx *k, me_diag *d);
bool me_qk_quantize_u8_ok(const me_kernel_ctx *k);
me_status me_qk_quantize_u8(const me_kernel_ctx *k, me_diag *d);

/* Kernels (each checks its tensors and fails with a reason if unsupported). */
me_status me_qk_conv2d(const me_kernel_ctx *k, me_diag *d);
me_status me_qk_dwconv2d(const me_kernel_ctx *k, me_diag *d);
me_status me_qk_fully_connected(const me_kernel_ctx *k, me_diag *d);
me_status me_qk_matmul(const me_kernel_ctx *k, me_diag *d);
me_status me_qk_eltwise(const me_kernel_ctx *k, me_diag *d);
me_status me_qk_clamp(const me_kernel_ctx *k, me_diag *d);
me_status me_qk_lut(const me_kernel_ctx *k, me_diag *d);
me_status me_qk_maxpool(const me_kernel_ctx *k, me_diag *d);
me_status me_qk_avgpool(const me_kernel_ctx *k, me_diag *d);
me_status me_qk_concat(const me_kernel_ctx *k, me_diag *d);

#endif
