/* Frontends: a model file in, a verified-shape IR graph out. */
#ifndef ME_FRONTEND_H
#define ME_FRONTEND_H

#include "../ir/ir.h"

/* Import an .onnx file into `g` (initialised by the caller with me_graph_init).
 * The file and any external-data files are mapped and adopted by the graph;
 * static tensors point into them. Options used: input_dims, frozen_inputs,
 * notice. Unsupported ops are all reported in one error. */
me_status me_import_onnx(const char *path, const me_compile_options *opts, me_graph *g, me_diag *d);

#endif
