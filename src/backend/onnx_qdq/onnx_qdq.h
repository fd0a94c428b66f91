/* `--format onnx-qdq`: the compiled IR written back as a standard ONNX model.
 *
 * Layout: graph inputs and outputs keep the IR's (= the source model's) names,
 * dtypes and shapes. The IR is NHWC inside; each layout-sensitive op becomes
 * its ONNX NCHW op between Transposes (ONNX Runtime cancels adjacent pairs).
 *
 * Quantisation: every quantised IR tensor (an integer tensor with an
 * encoding) is an integer ONNX tensor; an op reads it through a
 * DequantizeLinear and writes its float result through a QuantizeLinear with
 * the output's encoding (zero_point = -offset, per-axis scales with the axis
 * moved to the ONNX layout), so ONNX Runtime runs our quantisation. Static
 * weights are integer initializers behind DequantizeLinear; int4 weights are
 * ONNX INT4 initializers. Opset 17 / IR version 8, or opset 21 / IR version
 * 10 when a 16-bit or 4-bit encoding needs it.
 *
 * The file is written through a temporary file and renamed: a failure
 * leaves nothing at `path`. Static data is streamed, never copied whole. */
#ifndef ME_ONNX_QDQ_H
#define ME_ONNX_QDQ_H

#include "../../ir/ir.h"

me_status me_onnx_qdq_write(const me_graph *g, const char *path, me_diag *d);

#endif
