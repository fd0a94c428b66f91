/* FP16 mode: float16 storage of the float tensors inside a graph. */
#ifndef ME_FP16_PASS_H
#define ME_FP16_PASS_H

#include "../ir/ir.h"

/* Run after the graph passes and quantisation
 * (me_compile_options.float_bitwidth == 16): converts the float tensors
 * (all of them without --quantize; with it those of the ops left in float). */
me_status me_fp16_convert(me_graph *g, me_diag *d);

/* The float_bitwidth option: 32 leaves the graph alone,
 * 16 converts it and verifies the result, anything else is an error. */
me_status me_fp16_apply_option(int float_bitwidth, me_graph *g, me_diag *d);

#endif
